"""Pure parts of install: settings, index pages, choosing a file, merging, reports."""

from __future__ import annotations

import dataclasses

import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import List, Optional, Sequence

import pytest
from helpers import (ROOT, Deploy, accepted, peep_hash, sdist_bytes, serve_upload_times, settings_after,
                     wheel_bytes)

import peep

# --- Finder settings ------------------------------------------------------------------


def test_index_options_apply_like_pips() -> None:
    settings = settings_after(
        ("extra-index-url", "https://x/simple"),
        ("index-url", "https://a/simple"),  # replaces the list
        ("extra-index-url", "https://b/simple"),
        ("find-links", "links"),
        ("trusted-host", "b"),
    )
    assert settings.index_urls(lambda: "unused") == ("https://a/simple", "https://b/simple")
    assert settings.find_links == ("links",)
    assert settings.trusted_hosts == frozenset({"b"})
    assert settings_after(("index-url", "https://a/simple"), ("no-index", True)).index_urls(lambda: "unused") == ()


@pytest.mark.parametrize(
    ("options", "name", "allowed"),
    [
        ([], "foo", {"binary", "source"}),
        ([("no-binary", ":all:")], "foo", {"source"}),
        ([("only-binary", ":all:")], "foo", {"binary"}),
        ([("only-binary", ":all:"), ("no-binary", "Foo_Bar")], "foo-bar", {"source"}),
        ([("only-binary", ":all:"), ("no-binary", "foo")], "other", {"binary"}),
        ([("no-binary", ":all:"), ("no-binary", ":none:")], "foo", {"binary", "source"}),
        ([("no-binary", "foo,bar"), ("only-binary", "foo")], "foo", {"binary"}),
        ([("no-binary", "foo,bar"), ("only-binary", "foo")], "bar", {"source"}),
    ],
)
def test_format_control(options: List[tuple], name: str, allowed: set) -> None:
    assert settings_after(*options).allowed_formats(name) == frozenset(allowed)


def test_pip_default_index_comes_from_pip() -> None:
    url = peep.pip_default_index()
    assert url.startswith("https://") and url.rstrip("/").endswith("/simple")


# --- Index pages ------------------------------------------------------------------------


def test_html_links_with_base_attributes_and_fragments() -> None:
    html = (
        '<html><head><base href="https://files.example/root/"></head><body>'
        f'<a href="foo-1.0.tar.gz#sha256={"ABCDEF" * 10}ABCD">foo-1.0.tar.gz</a>'
        '<a href="../foo-2.0-py3-none-any.whl" data-requires-python="&gt;=3.8" data-yanked="">w</a>'
        '<a href="foo-3.0.zip" data-yanked="bad build">z</a>'
        "<a>no href</a></body></html>"
    )
    links = peep.parse_html_links(html, "https://index.example/simple/foo/")
    assert links == [
        peep.Link(f"https://files.example/root/foo-1.0.tar.gz#sha256={'ABCDEF' * 10}ABCD", None, None,
                  (("sha256", "abcdef" * 10 + "abcd"),)),
        peep.Link("https://files.example/foo-2.0-py3-none-any.whl", ">=3.8", "", ()),
        peep.Link("https://files.example/root/foo-3.0.zip", None, "bad build", ()),
    ]


@pytest.mark.parametrize("base", ["file:///etc/", "FILE:/etc/", " file:///etc/", "javascript:x/",
                                  "data:text/html,", "http://[x/"])
def test_a_remote_pages_base_leads_only_to_http_links(base: str) -> None:
    html = f'<base href="{base}"><a href="alpha-1.0.tar.gz">a</a><a href="https://h/alpha-2.0.tar.gz">b'
    links = peep.parse_html_links(html, "https://index.example/simple/alpha/")
    assert [link.url for link in links] == ["https://h/alpha-2.0.tar.gz"]


H64 = "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("url", "egg", "sha256", "sha512"),
    [
        ("https://h/foo-1.0.tar.gz", None, (), ()),
        (f"https://h/foo-1.0.tar.gz#sha256={H64.upper()}", None, (H64,), ()),
        (f"https://h/foo-1.0.tar.gz#egg=foo&sha256={H64}", "foo", (H64,), ()),
        (f"https://h/foo-1.0.tar.gz#sha256={H64}&egg=foo", "foo", (H64,), ()),
        (f"https://h/f.zip#sha512={'e' * 128}", None, (), ("e" * 128,)),
        # A key peep does not read, an empty fragment.
        ("https://h/f.zip#x=y", None, (), ()),
        ("https://h/f.zip#", None, (), ()),
    ],
)
def test_url_fragment(url: str, egg: object, sha256: tuple, sha512: tuple) -> None:
    assert peep.read_url_fragment(url, peep.COMMAND_LINE) == (
        egg, peep.Hashes(sha256=frozenset(sha256), sha512=frozenset(sha512))
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://h/f.zip#sha256=ABCDEF", "'ABCDEF' is not a sha256 hash (expected 64 hex digits)"),
        (f"https://h/f.zip#sha256={'g' * 64}", f"'{'g' * 64}' is not a sha256 hash (expected 64 hex digits)"),
        (f"https://h/f.zip#sha256={H64}0", "is not a sha256 hash (expected 64 hex digits)"),
        (f"https://h/f.zip#sha512={H64}", "is not a sha512 hash (expected 128 hex digits)"),
        # pip checks only a URL's first hash (md5 too): several are refused, not OR'ed.
        (f"https://h/f.zip#sha256={H64}&sha256={'f' * 64}", "the URL names more than one hash"),
        ("https://h/f.zip#md5=d41d8cd98f00b204e9800998ecf8427e", "'md5' is not an allowed hash algorithm"),
        (f"https://h/f.zip#egg=foo==1.0&sha256={H64}", "'#egg=foo==1.0' is not a project name"),
        ("https://h/f.zip#subdirectory=x", "not from its subdirectory 'x'"),
    ],
)
def test_url_fragment_refused(url: str, message: str) -> None:
    with pytest.raises(peep.RequirementsFileError, match=re.escape(message)) as caught:
        peep.read_url_fragment(url, peep.COMMAND_LINE)
    assert str(caught.value).startswith("the command line: ")


def test_a_links_malformed_hash_claim_matches_nothing_and_erases_nothing() -> None:
    # A link's claim is checked against the bytes, never trusted alone: a
    # malformed one stays a claim that no bytes match, and neither it nor an
    # odd #egg= erases the link's well-formed claims (tests/test_review.py).
    html = f'<a href="foo-1.0.tar.gz#sha256=ABCDEF">a</a><a href="foo-2.0.tar.gz#egg=x==1&sha256={H64}">b</a>'
    links = peep.parse_html_links(html, "https://index.example/simple/foo/")
    assert [link.hashes for link in links] == [(("sha256", "abcdef"),), (("sha256", H64.lower()),)]


@pytest.mark.parametrize(
    ("filename", "project", "expected"),
    [
        ("Foo_Bar-1.0-py3-none-any.whl", None, ("foo-bar", "1.0", True)),
        ("Foo_Bar-1.0-py3-none-any.whl", "other", ("foo-bar", "1.0", True)),  # a wheel names itself
        ("foo-1.0-1-py3-none-any.whl", None, ("foo", "1.0", True)),
        ("foo-1.0-py3-none.whl", None, None),
        ("foo-1.0.tar.gz", None, ("foo", "1.0", False)),
        ("foo-1.0.zip", None, ("foo", "1.0", False)),
        ("foo-1.0.tar.bz2", None, None),  # packaging reads only the PEP 625 endings
        ("foo-1.0.tar.bz2", "foo", ("foo", "1.0", False)),
        ("foo-bar-1.0-2.tar.gz", "Foo.Bar", ("foo-bar", "1.0.post2", False)),  # split after the project
        ("foo-bar-1.0.tar.gz", "foo", None),
        ("foo-1.0.TAR.GZ", "foo", ("foo", "1.0", False)),
        ("foo-latest.tar.gz", "foo", None),
        ("foo-1.0.exe", "foo", None),
    ],
)
def test_parse_archive_name(filename: str, project: Optional[str], expected: Optional[tuple]) -> None:
    parsed = peep.parse_archive_name(filename, project)
    assert (parsed and (parsed.name, str(parsed.version), parsed.is_wheel)) == expected


def test_json_links() -> None:
    document = {
        "meta": {"api-version": "1.0"},
        "name": "foo",
        "files": [
            {"filename": "foo-1.0.tar.gz", "url": "../../f/foo-1.0.tar.gz", "hashes": {"sha256": "AB", "md5": "x"}},
            {"filename": "foo-2.0.tar.gz", "url": "https://cdn/foo-2.0.tar.gz", "hashes": {},
             "requires-python": ">=3", "yanked": "oops"},
            {"filename": "foo-3.0.tar.gz", "url": "f3", "hashes": {}, "yanked": True},
            {"filename": "bad", "url": 5},
        ],
    }
    links = peep.parse_json_links(json.dumps(document).encode(), "https://i/simple/foo/")
    assert links == [
        peep.Link("https://i/f/foo-1.0.tar.gz", None, None, (("sha256", "ab"),)),
        peep.Link("https://cdn/foo-2.0.tar.gz", ">=3", "oops", ()),
        peep.Link("https://i/simple/foo/f3", None, "", ()),
    ]


def test_invalid_json_page_is_an_error_naming_the_page() -> None:
    with pytest.raises(peep.PeepError) as info:
        peep.parse_json_links(b"{not json", "https://user:secret@i/simple/foo/")
    assert "https://user:****@i/simple/foo/ is not a valid PEP 691 page" in str(info.value)


@pytest.mark.parametrize(
    ("filename", "project", "expected"),
    [
        ("foo-1.0.tar.gz", "foo", ("1.0", False)),
        ("Foo_Bar-1.0.zip", "foo-bar", ("1.0", False)),
        ("foo-bar-1.0.tar.gz", "foo-bar", ("1.0", False)),
        ("foo-bar-1.0.tar.gz", "foo", None),  # version "bar-1.0" is invalid
        ("foo_bar-2.0-py3-none-any.whl", "foo-bar", ("2.0", True)),
        ("foo-1.0-py3-none-any.whl", "bar", None),
        ("foo-1.0.exe", "foo", None),
        ("foo-notaversion.tar.gz", "foo", None),
        ("foo-1.0-invalid.whl", "foo", None),
    ],
)
def test_candidate_from_link(filename: str, project: str, expected: Optional[tuple]) -> None:
    candidate = peep.candidate_from_link(peep.Link(f"https://i/{filename}"), project)
    if expected is None:
        assert candidate is None
    else:
        assert candidate is not None
        assert (str(candidate.version), candidate.is_wheel) == expected


# --- Choosing ---------------------------------------------------------------------------

ENV = peep.Environment("3.11.4", tuple(peep.sys_tags()))


def candidates(*filenames: str, advertised: Sequence[str] = ()) -> List[peep.Candidate]:
    found = []
    for filename in filenames:
        fragment = f"#sha256={'a' * 64}" if filename in advertised else ""
        candidate = peep.candidate_from_link(peep.Link(f"https://i/{filename}{fragment}",
                                                       hashes=(("sha256", "a" * 64),) if fragment else ()), "foo")
        assert candidate is not None
        found.append(candidate)
    return found


def chosen(text: str, found: List[peep.Candidate], settings: Optional[peep.FinderSettings] = None) -> List[str]:
    requirement = peep.parse_requirement(text, peep.COMMAND_LINE)
    result = peep.choose_candidates(requirement, found, settings or peep.FinderSettings(), ENV)
    assert not isinstance(result, peep.Rejection), result
    return [c.filename for c in result]


def test_newest_matching_version_then_wheel_over_sdist() -> None:
    found = candidates("foo-1.0.tar.gz", "foo-1.0-py3-none-any.whl", "foo-2.0.tar.gz", "foo-3.0b1.tar.gz")
    assert chosen("foo", found) == ["foo-2.0.tar.gz", "foo-1.0-py3-none-any.whl", "foo-1.0.tar.gz"]
    assert chosen("foo", found, settings_after(("pre", True)))[0] == "foo-3.0b1.tar.gz"
    assert chosen("foo==3.0b1", found) == ["foo-3.0b1.tar.gz"]  # an explicit pre-release pin
    assert chosen("foo", found, settings_after(("prefer-binary", True)))[0] == "foo-1.0-py3-none-any.whl"


def test_more_specific_wheel_tags_win() -> None:
    found = candidates("foo-1.0-py3-none-any.whl", "foo-1.0-py2.py3-none-any.whl", f"foo-1.0-{ENV.tags[0]}.whl")
    assert chosen("foo==1.0", found)[0] == f"foo-1.0-{ENV.tags[0]}.whl"


def test_a_vouched_for_file_comes_first() -> None:
    found = candidates("foo-1.0.tar.gz", "foo-1.0-py3-none-any.whl", advertised=["foo-1.0.tar.gz"])
    requirement = peep.parse_requirement("foo==1.0", peep.COMMAND_LINE)
    vouched = dataclasses.replace(requirement, hashes=peep.Hashes(sha256=frozenset({"a" * 64})))
    result = peep.choose_candidates(vouched, found, peep.FinderSettings(), ENV)
    assert [c.filename for c in result] == ["foo-1.0.tar.gz", "foo-1.0-py3-none-any.whl"]  # type: ignore[union-attr]


def test_rejection_counts_reasons() -> None:
    found = candidates("foo-1.0-cp27-cp27m-win32.whl", "foo-2.0.tar.gz")
    requirement = peep.parse_requirement("foo<2", peep.COMMAND_LINE)
    result = peep.choose_candidates(requirement, found, peep.FinderSettings(), ENV)
    assert result == peep.Rejection(("1 version not wanted", "1 wheel for another platform or Python"))
    assert peep.choose_candidates(requirement, [], peep.FinderSettings(), ENV) == peep.Rejection(("no files at all",))


_MANY_REASONS = """
import peep
found = [peep.Candidate("foo-1.0.tar.gz", "https://i/foo-1.0.tar.gz", "foo", peep.Version("1.0"),
                        False, requires_python=f"<0.{n}") for n in range(200000)]
rejection = peep.choose_candidates(peep.parse_requirement("foo==1.0", peep.COMMAND_LINE), found,
                                   peep.FinderSettings(), peep.Environment("3.11.4", ()))
print(len(rejection.reasons), rejection.reasons[0])
"""


def test_rejection_counts_reasons_in_one_pass() -> None:
    """A page can give each file a Requires-Python of its own: counting each reason over the
    whole list was quadratic (minutes for 200,000 files). The bound is twenty times what a
    single pass takes."""
    result = subprocess.run([sys.executable, "-c", _MANY_REASONS], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "200000 1 needs Python <0.0\n"


def test_a_warm_cache_does_not_outrun_uploaded_prior_to(deploy: Deploy) -> None:
    """Under a cooldown a cached file counts only with the upload time its index gave it, so a
    machine whose cache holds the newer release installs what a fresh machine does, and once
    the older is cached too, installs it without asking the index."""
    old = deploy.index.add(wheel_bytes("alpha", "1.0"))
    new = deploy.index.add(wheel_bytes("alpha", "2.0"))
    deploy.write(f"# sha256: {peep_hash(old.data)}\n# sha256: {peep_hash(new.data)}\nalpha\n")
    serve_upload_times(deploy.index, {old.filename: "2000-01-01T00:00:00Z",
                                      new.filename: "2999-01-01T00:00:00Z"})
    cache = ("--cache-dir", str(deploy.cache))
    assert deploy.install(*cache).returncode == 0  # alpha 2.0, now in the cache
    shutil.rmtree(deploy.target)
    for _ in range(2):  # from the index, then from the cache alone
        deploy.index.requests.clear()
        shutil.rmtree(deploy.target, ignore_errors=True)
        result = deploy.install(*cache, "--uploaded-prior-to", "P3D")
        assert result.returncode == 0, result.stderr
        assert deploy.installed() == {"alpha": "1.0"}
    assert deploy.index.requests == []


# --- Merging requirements ------------------------------------------------------------


def merged(tmp_path: Path, text: str) -> tuple:
    path = tmp_path / "r.txt"
    path.write_text(text)
    records = [r for r in peep.parse_requirements_file(str(path), environ={}) if isinstance(r, peep.Requirement)]
    return peep.prepare_requirements(records, peep.marker_environment())


def test_duplicates_intersect_hashes_and_specifiers(tmp_path: Path) -> None:
    a, b = "a" * 64, "b" * 64
    requirements, failures = merged(
        tmp_path, f"foo>=1 --hash=sha256:{a} --hash=sha256:{b}\nFoo<2 --hash=sha256:{b}\n"
    )
    assert failures == []
    [foo] = requirements
    assert foo.hashes == peep.Hashes(sha256=frozenset({b}))
    assert foo.specifier.contains("1.5") and not foo.specifier.contains("2.0")


def test_constraints_narrow_but_are_not_installed(tmp_path: Path) -> None:
    (tmp_path / "c.txt").write_text("foo==1.5\nunrelated==9\n")
    requirements, failures = merged(tmp_path, "-c c.txt\nfoo>=1\n")
    assert failures == []
    assert [(r.name, str(r.pinned_version())) for r in requirements] == [("foo", "1.5")]


# --- Archives are read, never run ------------------------------------------------------


def read_build_system(path: Path) -> "peep.BuildSystem":
    return peep.read_build_system(peep.read_archive(str(path), path.name), path.name)


def test_read_build_system(tmp_path: Path) -> None:
    name, data = sdist_bytes("beta", "2.0", build_requires=["helper>=1", "other; python_version<'3'"])
    (tmp_path / name).write_bytes(data)
    assert read_build_system(tmp_path / name) == peep.BuildSystem(
        ("helper>=1", "other; python_version<'3'"), "fixture_backend", (".",), "its pyproject.toml",
    )
    name, data = sdist_bytes("gamma", "1.0", pyproject="[tool.x]\n")
    (tmp_path / name).write_bytes(data)
    assert read_build_system(tmp_path / name) == peep.BuildSystem(
        ("setuptools>=40.8.0",), "setuptools.build_meta:__legacy__", (),
        "pip's default, as its pyproject.toml has no [build-system]",
    )
    bare = tmp_path / "bare-1.0.tar.gz"
    with tarfile.open(bare, "w:gz") as tar:
        info = tarfile.TarInfo("bare-1.0/setup.py")
        info.size = 0
        tar.addfile(info, io.BytesIO(b""))
    assert read_build_system(bare) == peep.BuildSystem(
        ("setuptools>=40.8.0",), "setuptools.build_meta:__legacy__", (),
        "pip's default, as it has no pyproject.toml",
    )
    (tmp_path / "junk-1.0.tar.gz").write_bytes(b"not an archive")
    with pytest.raises(peep.PeepError) as caught:
        read_build_system(tmp_path / "junk-1.0.tar.gz")
    assert "junk-1.0.tar.gz: not a readable archive" in str(caught.value)


# --- Small guards ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", ".", "..", "../x.whl", "a/b.whl", "a\\b.whl", "x\x00.whl", "/etc/passwd"])
def test_unsafe_file_names_are_refused(name: str) -> None:
    with pytest.raises(peep.FetchError) as info:
        peep.safe_filename(name)
    assert f"refusing the unsafe file name {name!r}" == str(info.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pw@h/simple/", "https://user:****@h/simple/"),
        ("https://user:pw@h:8443/x", "https://user:****@h:8443/x"),
        ("https://h/simple/", "https://h/simple/"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert peep.redact_url(url) == shown


@pytest.mark.parametrize(
    ("url", "trusted", "secure"),
    [
        ("https://h/", (), True),
        ("file:///x", (), True),
        ("http://127.0.0.1:8000/", (), True),
        ("http://localhost/", (), True),
        ("http://h/", (), False),
        ("http://h/", ("h",), True),
        ("http://h:81/", ("h:81",), True),
    ],
)
def test_secure_origins(url: str, trusted: tuple, secure: bool) -> None:
    assert peep._is_secure_origin(url, frozenset(trusted)) is secure


def test_report_groups_kinds_in_order_with_each_heading_once() -> None:
    requirement = peep.parse_requirement("foo==1.0", peep.Origin("r.txt", 3))
    report = peep.format_report([
        peep.not_found(requirement, ("https://i/simple/foo/",), ()),
        peep.missing(requirement, "a" * 64, "foo==1.0"),
        peep.not_found(requirement, (), ()),
    ])
    assert report.count("matched no usable file") == 1
    assert report.index("had no hashes specified") < report.index("matched no usable file")
    assert "looked in nowhere (--no-index and no --find-links)" in report
    assert report.endswith("\n\nNot proceeding to installation.\n")


def _problem_texts(directory: Path) -> list:
    requirement = peep.parse_requirement("foo==1.0", peep.Origin("r.txt", 3))
    sdist = dataclasses.replace(accepted(directory, *sdist_bytes("foo", "1.0"), "foo==1.0"),
                                requirement=requirement)
    return [
        (peep.framed("unsupported", requirement, "foo==1.0 (r.txt line 3):", "it names a directory"),
         "    foo==1.0 (r.txt line 3):\n        it names a directory"),
        (peep.not_found(requirement, ("https://i/simple/foo/",), ("2 wheels for other Pythons",)),
         "    foo==1.0 (r.txt line 3):\n        looked in https://i/simple/foo/"
         "\n        files skipped: 2 wheels for other Pythons"),
        (peep.framed("conflict", requirement, "a and b pin different versions"),
         "    a and b pin different versions"),
        (peep.missing(requirement, "0" * 64, "foo==1.0"),
         "    # sha256: " + peep.hex_to_peep("0" * 64) + "\n    foo==1.0\n    (for r.txt line 3)"),
        (peep.refused_build(sdist, "it says no"), "    foo-1.0.tar.gz: it says no\n        (r.txt line 3)"),
        (peep.build_failed(sdist, "build_wheel failed", "        | boom"),
         "    foo-1.0.tar.gz: build_wheel failed\n        | boom"),
    ]


def test_each_problem_frames_its_lines(tmp_path: Path) -> None:
    for found, text in _problem_texts(tmp_path):
        assert found.text == text, found.kind


def test_every_kind_of_problem_is_one_row_of_the_table() -> None:
    # The report's order is the table's; no two kinds share a place, and
    # every kind peep.py names is a row of it (a typo would be a KeyError
    # at the worst time: while reporting).
    orders = [kind.order for kind in peep.KINDS.values()]
    assert len(set(orders)) == len(orders)
    source = Path(peep.__file__).read_text(encoding="utf-8")
    named = set(re.findall(r'(?:framed|Problem)\(\s*"([a-z ]+)"', source))
    assert named and named <= set(peep.KINDS), named - set(peep.KINDS)
    assert set(peep.KINDS) - named <= {"mismatch", "missing"}  # made by their own functions


def test_report_without_closing_ends_after_its_last_block() -> None:
    requirement = peep.parse_requirement("foo==1.0", peep.Origin("r.txt", 3))
    report = peep.format_report([peep.framed("download", requirement, "foo==1.0 (r.txt line 3):", "HTTP 500")],
                                closing=None)
    assert report == (
        "The following requirements could not be fetched:\n\n"
        "    foo==1.0 (r.txt line 3):\n        HTTP 500\n"
    )
