"""Bounded input: sizes, depth and time of what peep reads, and what it prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path
from typing import List

import pytest

import peep
from helpers import (
    JSON_TYPE, ROOT, Deploy, LoopbackIndex, block, peep_hash, respond, run_peep, serve_http,
    sha256_hex,
    sdist_bytes, stop_http, wheel_bytes,
)


# --- Printing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain\ttext\n", "plain\ttext\n"),
        ("\x1b]0;owned\x07", "\\x1b]0;owned\\x07"),
        ("a\rb\x7fc\x9bd\x00", "a\\rb\\x7fc\\x9bd\\x00"),
        ("see https://user:secret@host/x", "see https://user:****@host/x"),
        ("https://TOKEN@host/\x1b[2J", "https://****@host/\\x1b[2J"),
        ("caf\u00e9 \u2713", "caf\u00e9 \u2713"),
    ],
)
def test_printable_escapes_controls_and_hides_secrets(text: str, shown: str) -> None:
    assert peep.printable(text) == shown


def test_report_escapes_what_a_server_says() -> None:
    requirement = peep.Requirement(text="foo==1", origin=peep.Origin("r.txt", 1), name="foo")
    failure = peep.framed("download", requirement, "https://u:pw@host/f: HTTP 500 \x1b[31mred\x1b[0m")
    report = peep.format_report([failure])
    assert "\x1b" not in report and "\\x1b[31m" in report and "pw" not in report


# --- Parsing in linear time ---------------------------------------------------

_HOSTILE_PAGES = """
import peep
size = 512 * 1024
for unit in ('<a href="x', '<a ', "<a x='", '<!--', '<![', '</', '<a' ):
    page = unit * (size // len(unit))
    peep.parse_html_links(page, "https://host/simple/a/", lambda name: True)
name = "a-" * (size // 2) + "1.0.tar.gz"
assert not peep.is_archive_name(name)
assert peep.parse_archive_name(name, "b") is None
page = "".join('<a href="%s">x</a>' % ("a-" * 200 + str(i) + ".tar.gz") for i in range(600))
links = peep.parse_html_links(page, "https://host/simple/a/", peep._MayMatch(
    peep.Requirement(text="a-a", origin=peep.Origin("r.txt", 1), name="a-a")))
print("done")
"""


def test_hostile_pages_and_names_parse_in_bounded_work() -> None:
    # Before: html.parser took minutes on these (quadratic), and the names'
    # split was quadratic in their length. The timeout is ten times what a
    # slow machine needs now, and a fraction of what the old code needed.
    result = subprocess.run(
        [sys.executable, "-c", _HOSTILE_PAGES], cwd=ROOT, capture_output=True, text=True,
        timeout=60, env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "done\n"


def test_page_scan_reads_tags_like_html() -> None:
    page = textwrap.dedent("""\
        <!-- <a href="/commented-1.0.tar.gz"> -->
        <BASE href="/files/">
        <img alt='<a href="/in-attribute-1.0.tar.gz">'>
        <A HREF="a-1.0.tar.gz#sha256=AB" data-requires-python="&gt;=3.8" data-yanked>a</A>
        <a href=b-1.0.zip>b</a>
        <a href="c-1.0.tar.gz
    """)
    links = peep.parse_html_links(page, "https://host/simple/a/")
    assert [(link.url, link.requires_python, link.yanked) for link in links] == [
        ("https://host/files/a-1.0.tar.gz#sha256=AB", ">=3.8", ""),
        ("https://host/files/b-1.0.zip", None, None),
    ]


# --- Depth, and values of the wrong type --------------------------------------


def _json_page_hook(path: str, body: bytes):
    def hook(handler) -> bool:
        if handler.path != path:
            return False
        respond(handler, 200, body, {"Content-Type": JSON_TYPE})
        return True
    return hook


def _clean_failure(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode in (1, 2), result.stderr
    assert "Traceback" not in result.stderr and "bug in peep" not in result.stderr


def test_deep_json_page_is_a_clean_error(tmp_path: Path, index: LoopbackIndex) -> None:
    index.add(wheel_bytes("foo", "1.0"))
    deep = b"[" * 100000 + b"]" * 100000
    index.hook = _json_page_hook("/simple/foo/", b"{\"files\": " + deep + b"}")
    deploy = Deploy(tmp_path, index)
    deploy.write(block(index.files[0].data, "foo==1.0"))
    result = deploy.install()
    _clean_failure(result)
    assert "/simple/foo/" in result.stderr and "nested deeper than 64" in result.stderr
    assert deploy.installed() == {}


def test_list_valued_requires_python_is_ignored(tmp_path: Path, index: LoopbackIndex) -> None:
    filename, data = wheel_bytes("foo", "1.0")
    index.add((filename, data))
    page = {"meta": {"api-version": "1.0"}, "name": "foo", "files": [{
        "filename": filename, "url": f"../../files/{filename}",
        "hashes": {"sha256": sha256_hex(data)}, "requires-python": [">=3"]}]}
    index.hook = _json_page_hook("/simple/foo/", json.dumps(page).encode())
    deploy = Deploy(tmp_path, index)
    deploy.write(block(data, "foo==1.0"))
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"foo": "1.0"}


def test_deep_lock_file_is_a_clean_error(tmp_path: Path) -> None:
    lock = tmp_path / "pylock.toml"
    lock.write_text('lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "a"\n'
                    'x = ' + "[" * 100000 + "]" * 100000 + "\n")
    result = run_peep("install", "-r", str(lock), "--target", str(tmp_path / "t"))
    _clean_failure(result)
    assert "pylock.toml" in result.stderr and "nested deeper than 64" in result.stderr


def test_nesting_check_ignores_brackets_in_strings() -> None:
    peep.check_nesting('{"a": "' + "[" * 100 + '", "b": [\'{{{{\'], "c": "\\\\\\"["}')
    peep.check_nesting("# " + "[" * 100 + "\nx = [[1], [2]]\n")
    with pytest.raises(ValueError, match="nested deeper than 64"):
        peep.check_nesting("[" * 65)


def test_out_of_range_port_is_a_clean_error(tmp_path: Path) -> None:
    result = run_peep("install", "--index-url", "http://127.0.0.1:99999/", "--target",
                      str(tmp_path / "t"), "foo==1.0")
    _clean_failure(result)
    assert "127.0.0.1:99999" in result.stderr


# --- Files that are not files -------------------------------------------------


@pytest.mark.parametrize("name", ["requirements.txt", "pylock.toml"])
def test_fifo_and_device_are_refused_not_read(tmp_path: Path, name: str) -> None:
    fifo = tmp_path / name
    os.mkfifo(fifo)  # nobody writes: reading it would wait forever
    for path in (str(fifo), "/dev/zero"):
        result = run_peep("install", "-r", path, "--target", str(tmp_path / "t"), timeout=60)
        _clean_failure(result)
        assert "is not a regular file" in result.stderr and path in result.stderr


def test_requirements_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "requirements.txt"
    with open(big, "wb") as stream:
        stream.truncate(peep.MAX_REQUIREMENTS_BYTES + 1)  # sparse: costs no disk
    result = run_peep("install", "-r", str(big), "--target", str(tmp_path / "t"))
    _clean_failure(result)
    assert f"larger than {peep.MAX_REQUIREMENTS_BYTES} bytes" in result.stderr


@pytest.mark.parametrize("name", ["requirements.txt", "pylock.toml"])
def test_lock_refuses_a_fifo_or_an_oversized_file_to_complete(tmp_path: Path, name: str) -> None:
    fifo, big = tmp_path / "fifo" / name, tmp_path / "big" / name
    fifo.parent.mkdir()
    big.parent.mkdir()
    os.mkfifo(fifo)  # nobody writes: reading it would wait forever
    with open(big, "wb") as stream:
        stream.truncate(peep.MAX_REQUIREMENTS_BYTES + 1)  # sparse: costs no disk
    for path, why in ((fifo, "is not a regular file"),
                      (big, f"larger than {peep.MAX_REQUIREMENTS_BYTES} bytes")):
        result = run_peep("lock", "-r", str(path), "--no-index", "alpha", timeout=60)
        _clean_failure(result)
        assert f"{path}: cannot read it (" in result.stderr and why in result.stderr
    assert big.stat().st_size == peep.MAX_REQUIREMENTS_BYTES + 1 and fifo.is_fifo()


# --- A lock's size caps its download ------------------------------------------


def one_wheel_lock(tmp_path: Path, wheel_keys: str, data: bytes) -> Path:
    """Write a pylock.toml of one package, alpha 1.0, whose one wheel has ``wheel_keys``."""
    lock = tmp_path / "pylock.toml"
    lock.write_text('lock-version = "1.0"\ncreated-by = "tests"\n[[packages]]\nname = "alpha"\n'
                    f'version = "1.0"\n[[packages.wheels]]\n{wheel_keys}\n'
                    f'hashes = {{sha256 = "{sha256_hex(data)}"}}\n')
    return lock




def test_lock_size_caps_the_download(tmp_path: Path, index: LoopbackIndex) -> None:
    filename, data = wheel_bytes("alpha", "1.0", payload="x" * 4096)
    index.add((filename, data))
    lock = one_wheel_lock(tmp_path, f'url = "{index.files_url}{filename}"\nsize = 100', data)
    result = run_peep("install", "-r", str(lock), "--target", str(tmp_path / "t"), "--no-index")
    assert result.returncode == 1, result.stderr
    assert "could not be fetched" in result.stderr
    assert "larger than 100 bytes" in result.stderr
    assert not (tmp_path / "t").exists() or not any((tmp_path / "t").iterdir())


def test_download_stops_at_max_bytes(tmp_path: Path) -> None:
    sent = b"x" * (8 * 1024 * 1024)
    server = serve_http(lambda handler: respond(handler, 200, sent))
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/f.whl"
        transport = peep.Transport(peep.FinderSettings())
        destination = tmp_path / "f.whl"
        with pytest.raises(peep.FetchError, match="larger than 1000 bytes"):
            transport.download(url, str(destination), ["sha256"], max_bytes=1000)
        assert not destination.exists()
    finally:
        stop_http(server)


# --- What a remote requirements file may name ---------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "-r file:///etc/hostname",
        "-c file:///etc/hostname",
        "-r C:\\\\reqs\\\\local.txt",
        "foo @ file:///tmp/foo-1.0.tar.gz",
        "file:///tmp/foo-1.0.tar.gz#egg=foo",
        "-f file:///tmp/wheels",
        "-f /tmp/wheels",
    ],
)
def test_remote_file_may_not_name_local_files(
    tmp_path: Path, index: LoopbackIndex, line: str
) -> None:
    index.pages["/reqs/r.txt"] = f"# a remote file\n{line}\n".encode()
    url = index.files_url.replace("/files/", "/reqs/r.txt")
    result = run_peep("install", "-r", url, "--target", str(tmp_path / "t"))
    _clean_failure(result)
    assert f"{url} line 2" in result.stderr
    assert "which a requirements file fetched over the network may not name" in result.stderr


def test_remote_file_may_include_remote_files(tmp_path: Path, index: LoopbackIndex) -> None:
    filename, data = wheel_bytes("foo", "1.0")
    index.add((filename, data))
    index.pages["/reqs/r.txt"] = b"-r more.txt\n"
    index.pages["/reqs/more.txt"] = block(data, "foo==1.0").encode()
    url = index.files_url.replace("/files/", "/reqs/r.txt")
    result = run_peep("install", "-r", url, "--target", str(tmp_path / "t"), "-i", index.url)
    assert result.returncode == 0, result.stderr


def test_nested_url_credentials_never_printed(tmp_path: Path, index: LoopbackIndex) -> None:
    filename, data = wheel_bytes("foo", "1.0")
    index.add((filename, data))
    nested = index.files_url.replace("/files/", "/reqs/more.txt").replace("://", "://me:s3cret@")
    index.pages["/reqs/more.txt"] = ("#sha256: near-miss\n" + block(data, "foo==1.0")).encode()
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"-r {nested}\n")
    result = run_peep("install", "-r", str(requirements), "--target", str(tmp_path / "t"),
                      "-i", index.url)
    assert result.returncode == 0, result.stderr
    assert "warning" in result.stderr and "me:****@" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout


# --- An index that lies about its files ---------------------------------------


def test_false_advertised_digest_is_warned_about(tmp_path: Path, index: LoopbackIndex) -> None:
    wheel = index.add(wheel_bytes("foo", "1.0"))
    sdist = index.add(sdist_bytes("foo", "1.0"))
    index.corrupt[wheel.filename] = wheel_bytes("foo", "1.0", payload="# evil")[1]
    deploy = Deploy(tmp_path, index, finder=["-i", index.url.replace("://", "://me:pw@")])
    deploy.write(f"foo==1.0 --hash=sha256:{sha256_hex(wheel.data)} "
                 f"--hash=sha256:{sha256_hex(sdist.data)}\n")
    result = deploy.install()
    assert result.returncode == 0, result.stderr  # routed around to the sdist, as vouched
    assert deploy.installed() == {"foo": "1.0"}
    warning = f"advertises sha256 {sha256_hex(wheel.data)} for {wheel.filename}, but"
    assert warning in result.stderr
    assert "me:****@127.0.0.1" in result.stderr and ":pw@" not in result.stderr


# --- Writes never follow a planted link ---------------------------------------

PEEP_STYLE = f"# sha256: {peep_hash(b'x')}\nalpha==1.0\n"


def test_port_write_does_not_follow_a_planted_backup_link(tmp_path: Path) -> None:
    mine = tmp_path / "mine.txt"
    mine.write_text("my own file\n")
    path = tmp_path / "r.txt"
    path.write_text(PEEP_STYLE)
    (tmp_path / "r.txt.bak").symlink_to(mine)
    result = run_peep("port", "--write", str(path))
    assert result.returncode == 1
    assert "is a symbolic link, which peep does not write through" in result.stderr
    assert mine.read_text() == "my own file\n" and path.read_text() == PEEP_STYLE


_LOCK = textwrap.dedent(f"""\
    lock-version = "1.0"
    created-by = "tests"
    [[packages]]
    name = "alpha"
    version = "1.0"
    [[packages.wheels]]
    url = "https://127.0.0.1:9/alpha-1.0-py3-none-any.whl"
    hashes = {{sha256 = "{"0" * 64}"}}
""")


@pytest.mark.parametrize("planted", ["r.txt", "out.txt"])
def test_port_output_and_write_refuse_a_link(tmp_path: Path, planted: str) -> None:
    mine = tmp_path / "mine.txt"
    mine.write_text("my own file\n")
    path = tmp_path / "r.txt"
    if planted == "r.txt":
        path.symlink_to(mine)
        args = ["--write", str(path)]
        mine.write_text(PEEP_STYLE)
    else:
        lock = tmp_path / "pylock.toml"
        lock.write_text(_LOCK)
        (tmp_path / planted).symlink_to(mine)
        args = ["--output", str(tmp_path / planted), str(lock)]
    before = mine.read_text()
    result = run_peep("port", *args)
    _clean_failure(result)
    assert "symbolic link" in result.stderr and mine.read_text() == before
    assert not (tmp_path / "r.txt.bak").exists()  # nothing written before the refusal


def test_keep_failed_note_does_not_follow_a_planted_link(
    tmp_path: Path, index: LoopbackIndex
) -> None:
    index.add(wheel_bytes("alpha", "1.0"))
    mine = tmp_path / "mine.txt"
    mine.write_text("my own file\n")
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "alpha-1.0-py3-none-any.whl.peep.txt").symlink_to(mine)
    deploy = Deploy(tmp_path, index)
    deploy.write(block(b"what we vetted", "alpha==1.0"))
    result = deploy.install("--keep-failed", str(kept))
    assert result.returncode == 1
    assert mine.read_text() == "my own file\n"
    assert deploy.installed() == {}


def test_keep_failed_never_writes_through_a_link_that_appears_after_a_look(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A link to another directory, put at the kept name between a look and the move, must
    not take the archive there: the kept file is made with O_EXCL, so no look can race."""
    elsewhere, kept = tmp_path / "elsewhere", tmp_path / "kept"
    elsewhere.mkdir()
    kept.mkdir()
    (kept / "alpha-1.0-py3-none-any.whl").symlink_to(elsewhere)
    monkeypatch.setattr(os.path, "lexists", lambda path: False)  # the look, lost to the race
    archive = tmp_path / "alpha-1.0-py3-none-any.whl"
    archive.write_bytes(b"attacker's bytes")
    requirement = peep.parse_requirement("alpha==1.0", peep.COMMAND_LINE)
    warnings: List[str] = []
    fetcher = types.SimpleNamespace(warn=warnings.append)
    peep.Fetcher._keep_failed(fetcher, str(archive), str(kept), peep.Problem("mismatch", requirement, "x"))
    assert list(elsewhere.iterdir()) == [] and warnings == []
    assert (kept / "alpha-1.0-py3-none-any.whl.1").read_bytes() == b"attacker's bytes"


# --- A lock's file names ------------------------------------------------------


def test_lock_wheel_name_must_be_the_file_its_url_names(
    tmp_path: Path, index: LoopbackIndex
) -> None:
    filename, data = wheel_bytes("alpha", "1.0", tag="cp27-cp27m-win32")
    index.add((filename, data))
    wheel = f'name = "alpha-1.0-py3-none-any.whl"\nurl = "{index.files_url}{filename}"'
    lock = one_wheel_lock(tmp_path, wheel, data)
    result = run_peep("install", "-r", str(lock), "--target", str(tmp_path / "t"), "--no-index")
    assert result.returncode == 1, result.stderr
    assert "its name 'alpha-1.0-py3-none-any.whl' is not the file its URL or path names " \
        f"('{filename}')" in result.stderr
    assert index.file_requests() == []
