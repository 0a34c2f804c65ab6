"""The requirements-file pipeline, item by item against REQFILE.md."""

from __future__ import annotations

import codecs
import hashlib
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple, Union

import pytest
from helpers import settings_after

import peep

H1 = hashlib.sha256(b"one").hexdigest()
H2 = hashlib.sha256(b"two").hexdigest()
H3 = hashlib.sha256(b"three").hexdigest()
P1, P2, P3 = (peep.hex_to_peep(h) for h in (H1, H2, H3))
S512 = hashlib.sha512(b"one").hexdigest()


def parse(
    tmp_path: Path,
    text: Union[str, bytes],
    environ: Optional[Mapping[str, str]] = None,
    name: str = "requirements.txt",
    warnings: Optional[List[str]] = None,
) -> List[Union[peep.Requirement, peep.FileOption]]:
    """Parse ``text`` as a file; a warning fails the test unless ``warnings`` collects it."""
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)

    def unexpected(message: str) -> None:
        raise AssertionError(f"unexpected warning: {message}")

    warn = unexpected if warnings is None else warnings.append
    return list(peep.parse_requirements_file(str(path), environ=environ or {}, warn=warn))


def summary(record: Union[peep.Requirement, peep.FileOption]) -> Tuple[object, ...]:
    """A compact, comparable picture of a record (line number last)."""
    if isinstance(record, peep.FileOption):
        return ("option", record.name, record.value, record.origin.line)
    return (
        record.name,
        str(record.specifier),
        record.url,
        ",".join(sorted(record.extras)),
        str(record.marker) if record.marker else None,
        tuple(sorted(record.hashes.sha256)),
        record.origin.line,
    )


def requirement(
    name: Optional[str],
    spec: str = "",
    *,
    url: Optional[str] = None,
    extras: str = "",
    marker: Optional[str] = None,
    sha256: Tuple[str, ...] = (),
    line: int = 1,
) -> Tuple[object, ...]:
    return (name, spec, url, extras, marker, tuple(sorted(sha256)), line)


# --- What parses, and into what -------------------------------------------------

VALID = [
    # Named requirements, extras, markers.
    ("foo==1.0", [requirement("foo", "==1.0")]),
    ("Foo_Bar[b,a] >= 1.0, <2 ; python_version >= '3'",
     [requirement("Foo_Bar", "<2,>=1.0", extras="a,b", marker='python_version >= "3"')]),
    ("foo==1.0;", [requirement("foo", "==1.0")]),  # empty marker accepted, as pip does
    ("foo==1.0 ;sys_platform == 'nowhere'", [requirement("foo", "==1.0", marker='sys_platform == "nowhere"')]),
    # peep's hash comments: several, prose and blank lines between, trailing comment.
    (f"# sha256: {P1}\n# sha256: {P2}\nfoo==1.0", [requirement("foo", "==1.0", sha256=(H1, H2), line=3)]),
    (f"# sha256: {P1}\n\n# a prose comment\n   # sha256: {P2}  # from the index\nfoo==1.0",
     [requirement("foo", "==1.0", sha256=(H1, H2), line=5)]),
    (f"  #   sha256:   {P1}   \nfoo==1.0", [requirement("foo", "==1.0", sha256=(H1,), line=2)]),
    # A block attaches to the next requirement only (an option line drops it: see below).
    (f"# sha256: {P1}\nfoo==1.0\nbar==2.0", [requirement("foo", "==1.0", sha256=(H1,), line=2), requirement("bar", "==2.0", line=3)]),
    # pip's --hash options, mixed with peep's; OR'ed; upper-case hex lowered.
    (f"foo==1.0 --hash=sha256:{H1.upper()} --hash sha256:{H2}", [requirement("foo", "==1.0", sha256=(H1, H2))]),
    (f"# sha256: {P1}\nfoo==1.0 --hash=sha256:{H2}", [requirement("foo", "==1.0", sha256=(H1, H2), line=2)]),
    (f"foo==1.0 --ha=sha256:{H1}", [requirement("foo", "==1.0", sha256=(H1,))]),  # unique prefix
    # Continuations.
    (f"foo==1.0 \\\n    --hash=sha256:{H1} \\\n    --hash=sha256:{H2}\nbar==2", [requirement("foo", "==1.0", sha256=(H1, H2)), requirement("bar", "==2", line=4)]),
    ("foo\\\n==1.0", [requirement("foo", "==1.0")]),  # joined with nothing between
    ("foo==1.0 \\\n# a comment ends it\nbar==2", [requirement("foo", "==1.0"), requirement("bar", "==2", line=3)]),
    ("foo==1.0 \\", [requirement("foo", "==1.0")]),  # a backslash on the last line is dropped
    # Comments need whitespace (or line start) before the '#'.
    ("foo==1.0 # pinned", [requirement("foo", "==1.0")]),
    ("https://h/foo-1.0.tar.gz#egg=foo", [requirement("foo", url="https://h/foo-1.0.tar.gz#egg=foo")]),
    # URLs: egg names, wheel names, fragment hashes, name @ URL.
    (f"https://h/p/foo-1.0.tar.gz#egg=foo&sha256={H1}",
     [requirement("foo", url=f"https://h/p/foo-1.0.tar.gz#egg=foo&sha256={H1}", sha256=(H1,))]),
    ("https://h/p/foo_bar-1.0-py3-none-any.whl", [requirement("foo-bar", url="https://h/p/foo_bar-1.0-py3-none-any.whl")]),
    ("https://h/p/foo-1.0.tar.gz#egg=foo ; python_version >= '3'",
     [requirement("foo", url="https://h/p/foo-1.0.tar.gz#egg=foo", marker='python_version >= "3"')]),
    ("foo[x] @ https://h/p/anything.zip", [requirement("foo", url="https://h/p/anything.zip", extras="x")]),
    (f"foo @ https://h/p/a.zip#sha256={H2}", [requirement("foo", url=f"https://h/p/a.zip#sha256={H2}", sha256=(H2,))]),
    # Options, in order.
    ("-i https://a/simple\n--index-url=https://b/simple\n--extra-index-url https://c/simple",
     [("option", "index-url", "https://a/simple", 1), ("option", "index-url", "https://b/simple", 2),
      ("option", "extra-index-url", "https://c/simple", 3)]),
    ("--no-index\n--trusted-host h\n--pre\n--prefer-binary\n--only-binary :all:\n--no-binary=foo,bar\n--require-hashes\n--use-feature fast-deps",
     [("option", "no-index", True, 1), ("option", "trusted-host", "h", 2), ("option", "pre", True, 3),
      ("option", "prefer-binary", True, 4), ("option", "only-binary", ":all:", 5),
      ("option", "no-binary", "foo,bar", 6), ("option", "require-hashes", True, 7),
      ("option", "use-feature", "fast-deps", 8)]),
    ("-f https://h/links", [("option", "find-links", "https://h/links", 1)]),
    # Option values are values, never flags, even when they start with "--".
    ('foo --config-settings "--build-option=--verbose"', [requirement("foo")]),
    ("foo -C --global-option=x", [requirement("foo")]),
    # An editable takes --config-settings on its line (and is reported as unhashable).
    ("-e https://h/p/foo-1.0.tar.gz#egg=foo --config-settings k=v",
     [requirement("foo", url="https://h/p/foo-1.0.tar.gz#egg=foo")]),
    # pip 26's release control.
    ("--all-releases foo,bar\n--only-final=:all:",
     [("option", "all-releases", "foo,bar", 1), ("option", "only-final", ":all:", 2)]),
    # A wheel's own name wins; an #egg= that agrees with it (normalised) is fine.
    ("https://h/p/foo_bar-1.0-py3-none-any.whl#egg=Foo.Bar",
     [requirement("foo-bar", url="https://h/p/foo_bar-1.0-py3-none-any.whl#egg=Foo.Bar")]),
    ("Foo.Bar @ https://h/p/foo_bar-1.0-py3-none-any.whl",
     [requirement("Foo.Bar", url="https://h/p/foo_bar-1.0-py3-none-any.whl")]),
    ("https://h/p/foo-1.0.tar.gz#egg=foo-bar.baz_1",
     [requirement("foo-bar.baz_1", url="https://h/p/foo-1.0.tar.gz#egg=foo-bar.baz_1")]),
    # An empty --index-url= is read (and then ignored by the settings, as pip does).
    ("--index-url=", [("option", "index-url", "", 1)]),
]


@pytest.mark.parametrize(("text", "expected"), VALID, ids=[repr(t[0])[:60] for t in VALID])
def test_parse(tmp_path: Path, text: str, expected: List[Tuple[object, ...]]) -> None:
    assert [summary(r) for r in parse(tmp_path, text)] == expected


@pytest.mark.parametrize(
    ("environ", "expected_url"),
    [
        ({"HOST": "h.example", "VER": "1.0"}, "https://h.example/foo-1.0.tar.gz#egg=foo"),
        ({"HOST": "h.example"}, "https://h.example/foo-${VER}.tar.gz#egg=foo"),  # unset stays
        ({"HOST": "h.example", "VER": ""}, "https://h.example/foo-${VER}.tar.gz#egg=foo"),  # empty stays
    ],
)
def test_env_vars_expand_only_in_braces(tmp_path: Path, environ: Dict[str, str], expected_url: str) -> None:
    [record] = parse(tmp_path, "https://${HOST}/foo-${VER}.tar.gz#egg=foo", environ)
    assert isinstance(record, peep.Requirement)
    assert record.url == expected_url


def test_dollar_and_percent_forms_are_not_expanded(tmp_path: Path) -> None:
    [record] = parse(tmp_path, "https://$HOST/%HOST%/foo.tar.gz#egg=foo", {"HOST": "x"})
    assert isinstance(record, peep.Requirement)
    assert record.url == "https://$HOST/%HOST%/foo.tar.gz#egg=foo"


@pytest.mark.parametrize(
    ("line", "settings"),
    [
        ("foo==1.0 -C a=b --config-settings=c=d=e", (("a", "b"), ("c", "d=e"))),
        ('foo --config-settings "--build-option=--verbose"', (("--build-option", "--verbose"),)),
        ("foo -C --build-option=--install-option", (("--build-option", "--install-option"),)),
    ],
)
def test_config_settings_are_kept_per_requirement(tmp_path: Path, line: str, settings: Tuple[Tuple[str, str], ...]) -> None:
    [record] = parse(tmp_path, line)
    assert isinstance(record, peep.Requirement)
    assert record.config_settings == settings


def test_sha384_and_sha512_hashes(tmp_path: Path) -> None:
    s384 = hashlib.sha384(b"one").hexdigest()
    [record] = parse(tmp_path, f"foo==1.0 --hash=sha384:{s384} --hash=sha512:{S512}")
    assert isinstance(record, peep.Requirement)
    assert record.hashes == peep.Hashes(sha384=frozenset({s384}), sha512=frozenset({S512}))


# --- Unhashable requirements are records with a reason, not exceptions ---------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("-e git+https://h/r.git#egg=foo", "an editable install is a live checkout"),
        ("-e https://h/foo-1.0.tar.gz#egg=foo --config-settings k=v", "an editable install is a live checkout"),
        ("git+https://h/r.git#egg=foo", "a VCS checkout has no fixed archive to hash"),
        ("foo @ git+https://h/r.git@v1", "a VCS checkout has no fixed archive to hash"),
        ("hg+https://h/r#egg=foo", "a VCS checkout"),
        ("https://h/archive/1234567.zip", "peep cannot tell which project this archive is; add '#egg=NAME'"),
        ("./subdir", "a directory has no fixed archive to hash"),
    ],
)
def test_unsupported_requirements_carry_their_reason(tmp_path: Path, text: str, reason: str) -> None:
    (tmp_path / "subdir").mkdir()
    path = tmp_path / "requirements.txt"
    path.write_text(text)
    import os

    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        [record] = list(peep.parse_requirements_file(str(path), environ={}))
    finally:
        os.chdir(cwd)
    assert isinstance(record, peep.Requirement)
    assert record.unsupported is not None and reason in record.unsupported


def test_local_archive_paths_are_relative_to_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "foo-1.0.tar.gz").write_bytes(b"x")
    (tmp_path / "reqs").mkdir()
    monkeypatch.chdir(tmp_path)
    [record] = parse(tmp_path / "reqs", "./dist/foo-1.0.tar.gz[extra]")
    assert isinstance(record, peep.Requirement)
    assert (record.name, record.extras, record.unsupported) == ("foo", frozenset({"extra"}), None)
    assert record.url == (tmp_path / "dist" / "foo-1.0.tar.gz").as_uri()


# --- Encodings -------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        codecs.BOM_UTF8 + "café==1.0\n".encode("utf-8"),
        codecs.BOM_UTF16_LE + "café==1.0\n".encode("utf-16-le"),
        codecs.BOM_UTF16_BE + "café==1.0\n".encode("utf-16-be"),
        codecs.BOM_UTF32_LE + "café==1.0\n".encode("utf-32-le"),  # not mistaken for UTF-16-LE
        codecs.BOM_UTF32_BE + "café==1.0\n".encode("utf-32-be"),
        "# -*- coding: latin-1 -*-\ncafé==1.0\n".encode("latin-1"),
        "#!/not/really\n# vim: set fileencoding=latin-1 :\ncafé==1.0\n".encode("latin-1"),
        "café==1.0\n".encode("utf-8"),
    ],
)
def test_decoding(data: bytes) -> None:
    text = peep.decode_requirements(data, "r.txt")
    assert "café==1.0" in text
    assert not text.startswith("\ufeff")


def test_unknown_declared_encoding_is_an_error() -> None:
    with pytest.raises(peep.RequirementsFileError) as info:
        peep.decode_requirements(b"# coding: no-such-codec\nfoo\n", "r.txt")
    assert str(info.value) == "r.txt: unknown encoding 'no-such-codec'"


# --- Nesting ----------------------------------------------------------------------


def test_nested_files_relative_to_the_including_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "base.txt").write_text(f"# sha256: {P1}\nbase==1.0\n-c pins.txt\n")
    (tmp_path / "sub" / "pins.txt").write_text("pinned==3.0\n")
    records = parse(tmp_path, "-r sub/base.txt\ntop==2.0\n-r sub/base.txt\n")
    names = [(r.name, r.is_constraint, str(r.origin)) for r in records if isinstance(r, peep.Requirement)]
    base = str(tmp_path / "sub" / "base.txt")
    pins = str(tmp_path / "sub" / "pins.txt")
    assert names == [
        ("base", False, f"{base} line 2"),
        ("pinned", True, f"{pins} line 1"),
        ("top", False, f"{tmp_path / 'requirements.txt'} line 2"),
        ("base", False, f"{base} line 2"),  # including a file twice is fine
        ("pinned", True, f"{pins} line 1"),
    ]


def test_cycle_names_both_files(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("-r b.txt\n")
    (tmp_path / "b.txt").write_text("foo==1\n-r a.txt\n")
    with pytest.raises(peep.RequirementsFileError) as info:
        list(peep.parse_requirements_file(str(tmp_path / "a.txt"), environ={}))
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'b.txt'} line 2: ")
    assert f"{tmp_path / 'a.txt'} is included again while it is being read" in message


def test_missing_nested_file(tmp_path: Path) -> None:
    with pytest.raises(peep.RequirementsFileError) as info:
        parse(tmp_path, "foo==1\n-r nope.txt\n")
    assert str(info.value) == (
        f"{tmp_path / 'requirements.txt'} line 2: Could not open requirements file "
        f"{str(tmp_path / 'nope.txt')!r}: No such file or directory"
    )


def test_find_links_relative_to_the_file_when_it_exists_there(tmp_path: Path) -> None:
    (tmp_path / "wheels").mkdir()
    records = parse(tmp_path, "-f wheels\n-f elsewhere\n")
    assert [r.value for r in records if isinstance(r, peep.FileOption)] == [
        str(tmp_path / "wheels"),
        "elsewhere",
    ]


# --- Errors: file, line, and what is wrong ----------------------------------------


INVALID = [
    ("foo=1.0", "line 1: invalid requirement 'foo=1.0' (= is not a valid operator; did you mean == ?)"),
    ("\n\nfoo bar", "line 3: invalid requirement 'foo bar'"),
    ("./not/there", "line 1: invalid requirement './not/there' (it looks like a path, but './not/there' does not exist)"),
    ("foo==1.0; python_version >>> '3'", "line 1: invalid marker \"python_version >>> '3'\""),
    ("foo==1.0 --install-option=x", "line 1: --install-option is not supported in requirements files (pip removed it in 23.1)"),
    ("--global-option x", "line 1: --global-option is not supported in requirements files"),
    ("--no-use-wheel", "line 1: --no-use-wheel is not supported in requirements files (pip removed it; use --no-binary)"),
    ("--frobnicate", "line 1: no such option: --frobnicate"),
    ("foo==1.0 --pre", "line 1: --pre cannot follow a requirement; put it on a line of its own"),
    (f"--hash=sha256:{H1}", "line 1: --hash must follow a requirement on the same line"),
    ("foo==1.0 --hash=md5:abc", "line 1: --hash=md5:abc: 'md5' is not an allowed hash algorithm (use one of sha256, sha384, sha512)"),
    ("foo==1.0 --hash=sha256:abc", "line 1: --hash=sha256:abc: 'abc' is not a sha256 hash (expected 64 hex digits)"),
    # Unsupported URL schemes are refused by name, never taken as paths.
    ("ftp://host/pub/foo-1.0.tar.gz", "line 1: 'ftp://host/pub/foo-1.0.tar.gz': peep cannot fetch ftp: URLs (only http, https and file; VCS URLs are reported as unhashable)"),
    ("foo @ ftp://host/pub/foo-1.0.tar.gz", "line 1: 'ftp://host/pub/foo-1.0.tar.gz': peep cannot fetch ftp: URLs"),
    ("sftp://host/foo-1.0-py3-none-any.whl", "line 1: 'sftp://host/foo-1.0-py3-none-any.whl': peep cannot fetch sftp: URLs"),
    # A bare archive file name is a path, as in pip, never a project name.
    ("simple-0.1-py2.py3-none-any.whl", "line 1: 'simple-0.1-py2.py3-none-any.whl' looks like an archive file name, but there is no such file ("),
    ("sampleproject-1.0.tar.gz", "line 1: 'sampleproject-1.0.tar.gz' looks like an archive file name, but there is no such file ("),
    ("./dist/foo-1.0.tar.gz", "line 1: './dist/foo-1.0.tar.gz' looks like an archive file name, but there is no such file ("),
    ("https://h/p/notawheel.whl", "line 1: 'notawheel.whl' is not a valid wheel file name (NAME-VERSION[-BUILD]-PYTHON-ABI-PLATFORM.whl)"),
    # A wheel's name wins; a line that names another project is refused.
    ("https://h/test-0.4-py2.py3-none-any.whl#egg=other", "line 1: the wheel 'test-0.4-py2.py3-none-any.whl' is project 'test', but the line names 'other'; a name that disagrees with the wheel is refused"),
    ("other @ https://h/test-0.4-py2.py3-none-any.whl", "line 1: the wheel 'test-0.4-py2.py3-none-any.whl' is project 'test', but the line names 'other'"),
    # #egg= holds a project name and nothing else (pip 26 refuses the rest too).
    ("https://h/foo-1.0.tar.gz#egg=name==1.2.1", "line 1: '#egg=name==1.2.1' is not a project name; only the name may follow '#egg=' (write 'NAME[extras] @ URL ; marker' for more, as pip 26 requires)"),
    ("https://h/foo-1.0.tar.gz#egg=name[extra]", "line 1: '#egg=name[extra]' is not a project name"),
    ("https://h/foo-1.0.tar.gz#egg=name;python_version>'3'", "line 1: '#egg=name;python_version>'3'' is not a project name"),
    ("-e git+https://h/r.git#egg=foo==1.0", "line 1: '#egg=foo==1.0' is not a project name"),
    ("http://[x/a-1.0.tar.gz", "line 1: 'http://[x/a-1.0.tar.gz' is not a valid URL (Invalid IPv6 URL)"),
    ("a @ https://[::1/a-1.0.tar.gz", "line 1: 'https://[::1/a-1.0.tar.gz' is not a valid URL (Invalid IPv6 URL)"),
    ("-e http://[x#egg=y", "line 1: 'http://[x#egg=y' is not a valid URL (Invalid IPv6 URL)"),
    ("-i http://u:pw@[x/simple/", "line 1: --index-url 'http://u:****@[x/simple/' is not a valid URL (Invalid IPv6 URL)"),
    ("-f http://[x/", "line 1: --find-links 'http://[x/' is not a valid URL (Invalid IPv6 URL)"),
    # pip 26's --no-require-hashes has no place in peep.
    ("--no-require-hashes", "line 1: --no-require-hashes is not supported in requirements files (peep always checks hashes; nothing turns that off)"),
    # Lines whose later options pip drops without a word.
    ("-r a.txt -r b.txt", "line 1: --requirement, --requirement on one line: pip would act on --requirement and drop the rest without a word; put each on a line of its own"),
    ("-f https://a/links -f https://b/links", "line 1: --find-links, --find-links on one line: pip would act on --find-links and drop the rest"),
    ("-c pins.txt --pre", "line 1: --constraint, --pre on one line: pip would act on --constraint and drop the rest"),
    ("-e https://h/foo.tar.gz#egg=foo --pre", "line 1: --editable, --pre on one line: pip would act on --editable and drop the rest"),
    # A hex digest on a '# sha256:' line: say how to write it.
    (f"# sha256: {H1}\nfoo", f"line 1: '{H1}' is a hex digest; a '# sha256:' line takes URL-safe base64: '# sha256: {P1}' (or write --hash=sha256:{H1} after the requirement)"),
    ("foo==1.0 --hash", "line 1: --hash option requires 1 argument"),
    ("foo==1.0 -C novalue", "line 1: --config-settings 'novalue' is not of the form KEY=VALUE"),
    ("# sha256: notahash\nfoo", "line 1: 'notahash' is not a sha256 hash"),
    ("foo==1.0 --hash='unclosed", "line 1: cannot split options (No closing quotation)"),
    (f"https://h/foo.tar.gz#egg=foo&sha256={H1[:-2]}", "line 1: '" + H1[:-2] + "' is not a sha256 hash"),
]


@pytest.mark.parametrize(("text", "message"), INVALID, ids=[t[0][:40] for t in INVALID])
def test_invalid_input_names_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(peep.RequirementsFileError) as info:
        parse(tmp_path, text)
    assert str(info.value).startswith(f"{tmp_path / 'requirements.txt'} {message}")


def test_an_invalid_local_wheel_name_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "foo.whl").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(peep.RequirementsFileError) as info:
        parse(tmp_path, "foo.whl")
    assert str(info.value).endswith("line 1: 'foo.whl' is not a valid wheel file name (NAME-VERSION[-BUILD]-PYTHON-ABI-PLATFORM.whl)")


def test_a_bare_archive_name_that_exists_is_a_local_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "simple-0.1-py2.py3-none-any.whl").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    [record] = parse(tmp_path, "simple-0.1-py2.py3-none-any.whl")
    assert isinstance(record, peep.Requirement)
    assert (record.name, record.url) == ("simple", (tmp_path / "simple-0.1-py2.py3-none-any.whl").as_uri())


# --- Warnings: near-miss hash lines and known differences from pip -----------------

NEAR_MISS = [
    f"#sha256: {P1}",
    f"# sha256:{P1}",
    f"# SHA256: {P1}",
    f"# Sha256: {P1}",
    f"# sha256: {P1} trailing words",
    f"# sha256: {P1} {P2}",
    f"## sha256: {P1}",
    f"# sha-256: {P1}",
    f"# sha256 = {P1}",
]


@pytest.mark.parametrize("line", NEAR_MISS)
def test_near_miss_hash_lines_are_warned_about_never_read(tmp_path: Path, line: str) -> None:
    warnings: List[str] = []
    records = parse(tmp_path, f"# a prose comment\n{line}\nfoo==1.0\n", warnings=warnings)
    assert [summary(r) for r in records] == [requirement("foo", "==1.0", line=3)]
    assert warnings == [
        f"{tmp_path / 'requirements.txt'} line 2: {line!r} is not a hash line, so it is ignored; "
        "peep reads only '# sha256: DIGEST' (DIGEST: 43 characters of URL-safe base64, as 'peep hash' prints)"
    ]


@pytest.mark.parametrize(
    "line",
    [f"# sha256: {P1}", f"  #   sha256:   {P1}  # from the index", "# sha256 hashes are below", "# the sha256: of it", "#"],
)
def test_hash_lines_and_prose_are_not_near_misses(line: str) -> None:
    assert peep.near_miss_hash_lines(f"{line}\nfoo==1.0\n", "r.txt") == []


def test_port_notes_near_miss_hash_lines() -> None:
    _, notes = peep.port_text(f"#sha256: {P1}\nfoo==1.0\n", "r.txt")
    assert notes == [f"r.txt line 1: '#sha256: {P1}' is not a hash line, so it is ignored; peep reads only '# sha256: DIGEST' (DIGEST: 43 characters of URL-safe base64, as 'peep hash' prints)"]


def test_near_miss_warnings_reach_stderr_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "r.txt"
    path.write_text(f"# sha256:{P1}\nfoo==1.0\n")
    list(peep.parse_requirements_file(str(path), environ={}))
    assert capsys.readouterr().err.startswith(f"peep: warning: {path} line 1: '# sha256:{P1}' is not a hash line")


UNFOLLOWED = "# sha256: line(s) with no requirement after them: ignored"


def test_a_hash_block_an_option_line_drops_is_warned_about(tmp_path: Path) -> None:
    warnings: List[str] = []
    records = parse(tmp_path, f"# sha256: {P1}\n# sha256: {P2}\n--pre\nfoo==1.0", warnings=warnings)
    assert [summary(r) for r in records] == [("option", "pre", True, 3), requirement("foo", "==1.0", line=4)]
    assert warnings == [f"{tmp_path / 'requirements.txt'} line 1: {UNFOLLOWED}"]


def test_a_hash_block_at_the_end_of_a_file_is_warned_about(tmp_path: Path) -> None:
    warnings: List[str] = []
    records = parse(tmp_path, f"foo==1.0\n# a prose comment\n# sha256: {P1}\n\n", warnings=warnings)
    assert [summary(r) for r in records] == [requirement("foo", "==1.0")]
    assert warnings == [f"{tmp_path / 'requirements.txt'} line 3: {UNFOLLOWED}"]


def test_a_hash_block_before_a_nested_file_is_warned_about_before_that_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "more.txt").write_text(f"# sha256: {P2}\n")
    warnings: List[str] = []
    records = parse(tmp_path, f"# sha256: {P1}\n-r more.txt\nfoo==1.0\n", warnings=warnings)
    assert [summary(r) for r in records] == [requirement("foo", "==1.0", line=3)]
    assert warnings == [f"{tmp_path / 'requirements.txt'} line 1: {UNFOLLOWED}",
                        f"{tmp_path / 'more.txt'} line 1: {UNFOLLOWED}"]


def test_requirement_file_named_by_a_constraints_file_stays_constraints_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "pins.txt").write_text("-r more.txt\n")
    (tmp_path / "more.txt").write_text("bar==2.0\n")
    warnings: List[str] = []
    records = parse(tmp_path, "foo==1.0\n-c pins.txt\n", warnings=warnings)
    assert [(r.name, r.is_constraint) for r in records if isinstance(r, peep.Requirement)] == [("foo", False), ("bar", True)]
    assert warnings == [
        f"{tmp_path / 'pins.txt'} line 1: -r in a constraints file: peep reads the named file's lines "
        "as constraints too (pip turns them into requirements)"
    ]


# --- Finder settings from file options ----------------------------------------------------


@pytest.mark.parametrize(
    ("options", "indexes"),
    [
        ((("extra-index-url", "X"), ("index-url", "")), ("DEFAULT", "X")),  # empty is ignored, as pip does
        ((("extra-index-url", "X"), ("index-url", "I")), ("I",)),  # a real one replaces the list
        ((("index-url", "I"), ("index-url", ""), ("extra-index-url", "X")), ("I", "X")),
    ],
)
def test_index_options_in_files(options: Tuple[Tuple[str, str], ...], indexes: Tuple[str, ...]) -> None:
    assert settings_after(*options).index_urls(lambda: "DEFAULT") == indexes


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ((), {"foo": None, "bar": None}),
        ((("pre", True),), {"foo": True, "bar": True}),
        ((("all-releases", "FOO"),), {"foo": True, "bar": None}),
        ((("only-final", ":all:"),), {"foo": False, "bar": False}),
        ((("only-final", ":all:"), ("all-releases", "foo")), {"foo": True, "bar": False}),
        ((("all-releases", ":all:"), ("only-final", "bar")), {"foo": True, "bar": False}),
        ((("all-releases", "foo"), ("all-releases", ":none:")), {"foo": None, "bar": None}),
        ((("pre", True), ("only-final", "bar")), {"foo": True, "bar": False}),
    ],
)
def test_release_control(options: Tuple[Tuple[str, Union[str, bool]], ...], expected: Dict[str, Optional[bool]]) -> None:
    settings = settings_after(*options)
    assert {name: settings.allows_prereleases(name) for name in expected} == expected


def test_only_final_keeps_pre_releases_out_of_the_choice() -> None:
    requirement = peep.parse_requirement("foo", peep.COMMAND_LINE)
    candidates = [
        peep.Candidate(filename=f"foo-{v}.tar.gz", url=f"https://h/foo-{v}.tar.gz", name="foo", version=peep.Version(v), is_wheel=False)
        for v in ("1.0", "2.0b1")
    ]
    environment = peep.Environment.current()
    for options, best in (((), "1.0"), ((("all-releases", "foo"),), "2.0b1"), ((("pre", True), ("only-final", "foo")), "1.0")):
        chosen = peep.choose_candidates(requirement, candidates, settings_after(*options), environment)
        assert isinstance(chosen, list) and str(chosen[0].version) == best, options


# --- Helpers used by install --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "version"),
    [("foo==1.0", "1.0"), ("foo===1.0", "1.0"), ("foo>=1.0", None), ("foo==1.*", None), ("foo", None)],
)
def test_pinned_version(tmp_path: Path, text: str, version: Optional[str]) -> None:
    [record] = parse(tmp_path, text)
    assert isinstance(record, peep.Requirement)
    pinned = record.pinned_version()
    assert (str(pinned) if pinned else None) == version


@pytest.mark.parametrize("marker", ['python_version ~= "3"', 'os_name === "posix"', 'platform_release ~= "x"'])
def test_markers_that_cannot_be_evaluated_name_the_line(tmp_path: Path, marker: str) -> None:
    [record] = parse(tmp_path, f"\n\nfoo==1.0 ; {marker}\n")
    assert isinstance(record, peep.Requirement)
    with pytest.raises(peep.RequirementsFileError) as info:
        record.applies(peep.marker_environment())
    assert str(info.value).startswith(f"{tmp_path / 'requirements.txt'} line 3: marker ")
    assert "cannot be evaluated here" in str(info.value)


def test_split_requirement_and_options_keeps_quotes_in_markers() -> None:
    assert peep.split_requirement_and_options("foo; os_name == 'x y' --hash=sha256:ab") == (
        "foo; os_name == 'x y'",
        "--hash=sha256:ab",
    )


# --- a requirements file fetched over the network names no local index ------------------


@pytest.mark.parametrize(
    "line",
    ["--index-url file:///srv/simple/", "-i /srv/simple", "--index-url=/srv/simple",
     "--extra-index-url file:///srv/simple/", "--extra-index-url /srv/simple"],
)
def test_a_remote_file_may_not_name_a_local_index(line: str) -> None:
    url = "https://127.0.0.1:1/r.txt"
    pages = {url: f"{line}\nfoo==1.0\n".encode()}
    with pytest.raises(peep.RequirementsFileError, match="fetched over the network may not name"):
        list(peep.parse_requirements_file(url, environ={}, reader=pages.__getitem__))
    pages[url] = b"--index-url https://127.0.0.1:1/simple/\n--extra-index-url https://h/s/\n"
    assert len(list(peep.parse_requirements_file(url, environ={}, reader=pages.__getitem__))) == 2


@pytest.mark.parametrize("line", ["--index-url http://[x/", "--find-links http://[x/",
                                  "-r http://[x/r.txt", "--extra-index-url=https://[::1/"])
def test_a_remote_file_naming_a_url_that_does_not_split_is_an_error(line: str) -> None:
    url = "https://127.0.0.1:1/r.txt"
    pages = {url: f"{line}\nfoo==1.0\n".encode()}
    with pytest.raises(peep.RequirementsFileError, match="line 1.*Invalid IPv6 URL"):
        list(peep.parse_requirements_file(url, environ={}, reader=pages.__getitem__))


def test_a_local_file_may_nest_a_relative_path_that_urllib_cannot_split(tmp_path: Path) -> None:
    """'-r foo://x[/r.txt' in a local file is the relative path foo:/x[/r.txt, not a URL."""
    nested = tmp_path / "foo:" / "x["
    nested.mkdir(parents=True)
    (nested / "r.txt").write_text("six==1.0\n")
    (tmp_path / "requirements.txt").write_text("-r foo://x[/r.txt\n")
    records = list(peep.parse_requirements_file(str(tmp_path / "requirements.txt"), environ={}))
    assert [record.text for record in records] == ["six==1.0"]


def test_a_local_file_nesting_an_unsplittable_url_cannot_open_it(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("-r https://[bad/r.txt\n")
    with pytest.raises(peep.RequirementsFileError) as raised:
        list(peep.parse_requirements_file(str(tmp_path / "requirements.txt"), environ={}))
    assert "Could not open requirements file 'https://[bad/r.txt'" in str(raised.value)


# --- a URL's password is masked even when it holds spaces or tabs -----------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("'https://deploy:my secret@127.0.0.1:1/x'", "'https://deploy:****@127.0.0.1:1/x'"),
        ("https://deploy:a\tb c@h/x and more", "https://deploy:****@h/x and more"),
        ("looked in https://h/simple/ and wrote to me@example.com", None),
        ("looked in https://h and wrote to me@example.com", None),
        ("(r.txt line 2; https://h:8080) foo @ https://h/x", None),
        ("'https://h:1' and 'a@b'", None),
        ("https://u:p@h/x then https://v@h/y", "https://u:****@h/x then https://****@h/y"),
    ],
)
def test_a_password_with_whitespace_is_masked(text: str, shown: Optional[str]) -> None:
    assert peep.printable(text) == (shown or text)


# --- a value substituted for ${VAR} is printed nowhere -----------------------------------


def test_expanded_values_are_masked_wherever_peep_prints(tmp_path: Path) -> None:
    environ = {"TOKEN": "tok-Qz7xW1", "SHORT": "ab9"}
    parse(tmp_path, "--index-url https://h/${TOKEN}/simple/\nfoo @ https://h/foo-1.0-py3-none-any.whl?a=${SHORT}\n", environ)
    said = peep.printable("looked in https://h/tok-Qz7xW1/simple/foo/ (ab9)")
    assert said == "looked in https://h/****/simple/foo/ (ab9)"  # under 4 characters: left alone
    assert peep.redact_url("?auth=tok-Qz7xW1") == "?auth=****"


def test_expanded_values_are_masked_in_reports(tmp_path: Path, index: object) -> None:
    from helpers import LoopbackIndex, hermetic_env, run_peep, wheel_bytes

    assert isinstance(index, LoopbackIndex)
    filename, data = wheel_bytes("demo", "1.0")
    index.add((filename, data))
    base, wrong = f"http://127.0.0.1:{index.port}", "0" * 64
    lines = {
        "looked in": f"--index-url {base}/${{TOKEN}}/simple/\nother==1.0 --hash=sha256:{wrong}\n",
        "got": f"demo @ {base}/files/{filename}?auth=${{TOKEN}} --hash=sha256:{wrong}\n",
    }
    for said, text in lines.items():
        (tmp_path / "r.txt").write_text(f"--trusted-host 127.0.0.1\n{text}")
        result = run_peep("install", "-r", str(tmp_path / "r.txt"), "--target", str(tmp_path / "t"),
                          env=hermetic_env(TOKEN="tok-Qz7xW2"))
        assert result.returncode == 1 and said in result.stderr, result.stderr
        assert "tok-Qz7xW2" not in result.stdout + result.stderr and "****" in result.stderr


# --- a file says to pip and peep what it shows a reader -----------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"# coding: utf-7\nfoo==1.0 # pinned+AAo-evil==6.6\n",  # "+AAo-" is a newline in UTF-7
        b"# coding: unicode_escape\nfoo==1.0 # pinned\\nevil==6.6\n",
        b"# coding: cp037\n" + "foo==1.0\n".encode("cp037"),
        b"# coding: shift_jis\nfoo==1.0 # " + "\u8868".encode("shift_jis") + b"\nbar==2.0\n",  # ends in b"\\"
    ],
)
def test_an_encoding_that_reads_ascii_bytes_as_other_text_is_refused(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(peep.RequirementsFileError, match="reads ASCII bytes as other text"):
        parse(tmp_path, data)


@pytest.mark.parametrize("data", [b"# coding: undefined\nfoo==1.0\n", b"# coding: punycode\nfoo==1.0\n"])
def test_a_codec_that_raises_unicode_error_itself_is_an_error_not_a_crash(data: bytes) -> None:
    with pytest.raises(peep.RequirementsFileError, match="^r.txt: cannot be decoded as "):
        peep.decode_requirements(data, "r.txt")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        # A line break a browser or a terminal does not show: pip (str.splitlines) starts a
        # new requirement there, in what a reviewer reads as a comment.
        ("foo==1.0 # pinned\x1eevil==6.6\n", 1),
        ("foo==1.0 # pinned\x85evil==6.6\n", 1),
        ("foo==1.0 # pinned\u2028evil==6.6\n", 1),
        ("foo==1.0\n# pinned\x0cevil==6.6\n", 2),
        ("foo==1.0\n# pinned\x0bevil==6.6\n", 2),
        ("foo==1.0 # pinned\revil==6.6\n", 1),  # a terminal prints the second over the first
        ("foo==1.0\n\nevil==6.6 # \u202eenod\n", 3),  # a mark that reorders what a line shows
    ],
)
def test_a_line_break_or_mark_a_reader_may_not_see_is_refused(tmp_path: Path, text: str, line: int) -> None:
    with pytest.raises(peep.RequirementsFileError) as info:
        parse(tmp_path, text)
    assert str(info.value).startswith(f"{tmp_path / 'requirements.txt'} line {line}: ")
    assert "a reader of the file may not see" in str(info.value)


def test_windows_line_endings_are_still_read(tmp_path: Path) -> None:
    records = parse(tmp_path, f"foo==1.0 \\\r\n  --hash=sha256:{H1}\r\r\nbar==2.0\r\n")
    assert [summary(r) for r in records] == [requirement("foo", "==1.0", sha256=(H1,)), requirement("bar", "==2.0", line=4)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # pip reads the first of each and drops the rest without a word.
        ("https://h/p/foo-1.0.tar.gz#egg=foo&egg=bar", "the URL names more than one project"),
        (f"https://h/p/foo-1.0.tar.gz#egg=foo&sha256={H1}&sha256={H2}", "the URL names more than one hash"),
        (f"https://h/p/foo-1.0.tar.gz#egg=foo&sha256={H1}&sha512={S512}", "the URL names more than one hash"),
        # pip reads them in the query too, ahead of the fragment's.
        (f"https://h/p/foo-1.0.tar.gz?dl=1&sha256={H1}#egg=foo&sha256={H2}", "the URL names more than one hash"),
        ("https://h/p/dl?f=1&egg=bar&x=1#egg=foo", "the URL names more than one project"),
        # pip checks an md5 from a URL; peep does not drop it without a word.
        (f"https://h/p/foo-1.0.tar.gz#egg=foo&md5={H1[:32]}", "'md5' is not an allowed hash algorithm"),
        ("https://h/p/foo-1.0.tar.gz#egg=foo%2Dbar", "'#egg=foo%2Dbar' is not a project name"),
        # pip builds that directory of the archive, maybe another project; peep builds its root.
        ("foo @ https://h/p/mono-1.0.tar.gz#subdirectory=foo", "not from its subdirectory 'foo'"),
        ("https://h/p/mono-1.0.tar.gz#egg=foo&subdirectory=foo", "not from its subdirectory 'foo'"),
    ],
)
def test_url_fields_pip_reads_otherwise_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(peep.RequirementsFileError) as info:
        parse(tmp_path, text)
    assert str(info.value).startswith(f"{tmp_path / 'requirements.txt'} line 1: ") and message in str(info.value)
