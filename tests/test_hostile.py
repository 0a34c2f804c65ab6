"""A hostile index, bad input, interruption and concurrency.

Every case asserts a clear outcome, an exit status of 0 or 1 (never 3, a
crash), and that nothing was written outside peep's own directories.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import signal
import ssl
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import pytest
import trustme
from helpers import (
    JSON_TYPE,
    PEEP,
    TELLTALE_ENV,
    Deploy,
    LoopbackIndex,
    block,
    hermetic_env,
    installed_in,
    respond,
    run_peep,
    sdist_bytes,
    sha256_hex,
    wait_for,
    wheel_bytes,
)
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import peep

# --- A sandbox that notices stray writes ------------------------------------------


class Sandbox:
    """Directories for one peep run; everything else under tmp_path is watched."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path
        for name in ("cwd", "tmp", "home", "target", "cache"):
            (tmp_path / name).mkdir()
        self.requirements = tmp_path / "cwd" / "requirements.txt"
        self.before = self._snapshot()

    def _snapshot(self) -> List[str]:
        return sorted(
            str(p.relative_to(self.root)) for p in self.root.rglob("*")
            # target and cache are peep's to write; HOME is pip's (its own
            # caches, and whatever the machine's tools keep there).
            if p.relative_to(self.root).parts[0] not in ("target", "cache", "home")
        )

    def env(self, **extra: str) -> Dict[str, str]:
        return hermetic_env(TMPDIR=str(self.root / "tmp"), HOME=str(self.root / "home"), **extra)

    def install(self, index: LoopbackIndex, *args: str) -> subprocess.CompletedProcess:
        self.before = self._snapshot()
        result = run_peep("install", "-r", str(self.requirements), "--target", str(self.root / "target"),
                          "--cache-dir", str(self.root / "cache"), "-i", index.url, *args,
                          cwd=self.root / "cwd", env=self.env())
        assert "This is a bug in peep" not in result.stderr, result.stderr
        assert result.returncode in (0, 1), result.stderr
        return result

    def assert_nothing_written_outside(self) -> None:
        after = self._snapshot()
        assert after == self.before, set(after) ^ set(self.before)
        assert list((self.root / "tmp").iterdir()) == []  # no temporary directory left behind
        assert not list((self.root / "cache").rglob(".partial-*"))


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path)


def page(*hrefs: str) -> bytes:
    return ("<html><body>" + "".join(f'<a href="{h}">x</a>' for h in hrefs) + "</body></html>").encode()


def on_files(index: LoopbackIndex, answer: Callable[[BaseHTTPRequestHandler], None]) -> None:
    """Have the index answer every request for an archive with ``answer``."""
    def hook(handler: BaseHTTPRequestHandler) -> bool:
        if handler.path.startswith("/files/"):
            answer(handler)
            return True
        return False

    index.hook = hook


def serve_page(index: LoopbackIndex, project: str, body: bytes, headers: Optional[Dict[str, str]] = None) -> None:
    previous = index.hook

    def hook(handler: BaseHTTPRequestHandler) -> bool:
        if handler.path == f"/simple/{project}/":
            respond(handler, 200, body, dict({"Content-Type": "text/html"}, **(headers or {})))
            return True
        return previous(handler) if previous else False

    index.hook = hook


# --- Hostile file names and links ---------------------------------------------------


@pytest.mark.parametrize(
    "href",
    [
        "../../files/..%2F..%2Fevil-1.0-py3-none-any.whl",
        "../../files/..%5Cevil-1.0-py3-none-any.whl",
        "../../files/evil-1.0-py3-none-any.whl%00.txt",
        "javascript:alert(1)//evil-1.0-py3-none-any.whl",
        "data:application/octet-stream;base64,AAAA#evil-1.0-py3-none-any.whl",
        "FILE_URL",
    ],
    ids=["dotdot-slash", "backslash", "nul", "javascript", "data", "file-url"],
)
def test_hostile_links_are_not_followed(sandbox: Sandbox, index: LoopbackIndex, href: str) -> None:
    name, data = wheel_bytes("evil", "1.0")
    local = sandbox.root / "home" / name
    local.write_bytes(data)
    serve_page(index, "evil", page(local.as_uri() if href == "FILE_URL" else href))
    sandbox.requirements.write_text(block(data, "evil==1.0"))
    result = sandbox.install(index)
    assert result.returncode == 1
    assert "The following requirements matched no usable file" in result.stderr
    assert installed_in(sandbox.root / "target") == {}
    sandbox.assert_nothing_written_outside()


# Other versions' names: Python 3.9 splits "http://[zz]/" (3.11 refuses it), so whether the link
# is dropped or kept, alpha 1.0 is what gets installed.
@pytest.mark.parametrize("href", ["http://[x/alpha-0.9-py3-none-any.whl", "http://[zz]/alpha-0.9-py3-none-any.whl",
                                  f"/files/alpha-{'1' * 5000}-py3-none-any.whl"],
                         ids=["unclosed-bracket", "bad-ipv6", "5000-digit-version"])
def test_links_no_one_can_follow_or_parse_are_passed_over(deploy: Deploy, href: str) -> None:
    """urllib and int() raise ValueError on these: a page that lists one is not a crash."""
    good = deploy.index.add(wheel_bytes("alpha", "1.0"))
    serve_page(deploy.index, "alpha", page(href, f"/files/{good.filename}"))
    deploy.write(block(good.data, "alpha==1.0"))
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"alpha": "1.0"}


def test_unsafe_name_in_a_url_requirement_is_refused(sandbox: Sandbox, index: LoopbackIndex) -> None:
    sandbox.requirements.write_text(f"evil @ {index.files_url}..%2F..%2Fevil-1.0.tar.gz --hash=sha256:{'a' * 64}\n")
    result = sandbox.install(index)
    assert result.returncode == 1
    assert "refusing the unsafe file name '../../evil-1.0.tar.gz'" in result.stderr
    sandbox.assert_nothing_written_outside()


def test_unsafe_wheel_name_in_a_url_is_refused_before_any_request(sandbox: Sandbox, index: LoopbackIndex) -> None:
    sandbox.requirements.write_text(f"evil @ {index.files_url}..%2F..%2Fevil.whl --hash=sha256:{'a' * 64}\n")
    result = sandbox.install(index)
    assert result.returncode == 1
    assert "'../../evil.whl' is not a valid wheel file name" in result.stderr
    assert index.file_requests() == []
    sandbox.assert_nothing_written_outside()


def test_content_disposition_is_ignored(sandbox: Sandbox, index: LoopbackIndex) -> None:
    served = index.add(wheel_bytes("alpha", "1.0"))

    on_files(index, lambda handler: respond(
        handler, 200, served.data, {"Content-Disposition": 'attachment; filename="../../../cwd/evil.whl"'}))
    sandbox.requirements.write_text(block(served.data, "alpha==1.0"))
    result = sandbox.install(index)
    assert result.returncode == 0, result.stderr
    assert installed_in(sandbox.root / "target") == {"alpha": "1.0"}
    sandbox.assert_nothing_written_outside()


# --- Redirects -------------------------------------------------------------------------


def redirect_files_to(index: LoopbackIndex, location: Callable[[str], str]) -> None:
    on_files(index, lambda handler: respond(handler, 302, headers={"Location": location(handler.path)}))


def test_redirect_to_another_host_is_followed(
    sandbox: Sandbox, index: LoopbackIndex, other_index: LoopbackIndex
) -> None:
    served = other_index.add(wheel_bytes("alpha", "1.0"))
    index.add(wheel_bytes("alpha", "1.0"))
    redirect_files_to(index, lambda path: f"http://localhost:{other_index.port}{path}")
    sandbox.requirements.write_text(block(served.data, "alpha==1.0"))
    result = sandbox.install(index)
    assert result.returncode == 0, result.stderr
    sandbox.assert_nothing_written_outside()


def test_redirect_from_https_to_plain_http_is_refused(sandbox: Sandbox) -> None:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    index = LoopbackIndex(tls=context).start()
    try:
        served = index.add(wheel_bytes("alpha", "1.0"))
        redirect_files_to(index, lambda path: f"http://peep-hostile.invalid{path}")
        ca_file = sandbox.root / "home" / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        sandbox.requirements.write_text(block(served.data, "alpha==1.0"))
        result = sandbox.install(index, "--cert", str(ca_file))
    finally:
        index.stop()
    assert result.returncode == 1
    assert "redirects to plain-HTTP http://peep-hostile.invalid/files/alpha-1.0-py3-none-any.whl; refused" in result.stderr
    sandbox.assert_nothing_written_outside()


def test_redirect_loop(sandbox: Sandbox, index: LoopbackIndex) -> None:
    served = index.add(wheel_bytes("alpha", "1.0"))
    redirect_files_to(index, lambda path: path)
    sandbox.requirements.write_text(block(served.data, "alpha==1.0"))
    result = sandbox.install(index, "--retries", "0")
    assert result.returncode == 1
    assert "redirect" in result.stderr and "could not be fetched" in result.stderr
    sandbox.assert_nothing_written_outside()


# --- Bodies -------------------------------------------------------------------------------


def test_body_longer_than_its_content_length_is_cut_to_it(sandbox: Sandbox, index: LoopbackIndex) -> None:
    served = index.add(wheel_bytes("alpha", "1.0"))

    on_files(index, lambda handler: respond(handler, 200, served.data + b"trailing junk" * 1000,
                                            {"Content-Length": str(len(served.data)), "Connection": "close"}))
    sandbox.requirements.write_text(block(served.data, "alpha==1.0"))
    result = sandbox.install(index)
    assert result.returncode == 0, result.stderr


def test_truncated_body_is_an_error(sandbox: Sandbox, index: LoopbackIndex) -> None:
    served = index.add(wheel_bytes("alpha", "1.0"))
    index.truncate[served.filename] = 100
    sandbox.requirements.write_text(block(served.data, "alpha==1.0"))
    result = sandbox.install(index, "--retries", "1")
    assert result.returncode == 1
    assert f"got {len(served.data) // 2} bytes of the {len(served.data)} announced" in result.stderr
    sandbox.assert_nothing_written_outside()


def endless(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.end_headers()
    try:
        for _ in range(100000):
            handler.wfile.write(b"<!-- endless -->" * 4096)
    except OSError:
        pass  # the client hung up, as it should


def test_endless_archive_body_is_capped(index: LoopbackIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(peep, "MAX_ARCHIVE_BYTES", 1 << 20)
    index.hook = lambda handler: endless(handler) or True  # type: ignore[func-returns-value]
    transport = peep.Transport(peep.FinderSettings(), peep.NetworkSettings(retries=0))
    with pytest.raises(peep.FetchError) as info:
        transport.download(f"{index.files_url}x.whl", str(tmp_path / "x.whl"), ())
    assert f"{index.files_url}x.whl: larger than 1048576 bytes" == str(info.value)
    assert not (tmp_path / "x.whl").exists()


def test_endless_index_page_is_capped(index: LoopbackIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(peep, "MAX_PAGE_BYTES", 1 << 20)
    index.hook = lambda handler: endless(handler) or True  # type: ignore[func-returns-value]
    transport = peep.Transport(peep.FinderSettings(), peep.NetworkSettings(retries=0))
    with pytest.raises(peep.FetchError) as info:
        peep.read_links(transport, f"{index.url}alpha/", is_index_page=True)
    assert "is larger than 1048576 bytes" in str(info.value)


def test_gzip_encoded_page_and_gzip_bomb(sandbox: Sandbox, index: LoopbackIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    served = index.add(wheel_bytes("alpha", "1.0"))
    serve_page(index, "alpha", gzip.compress(page(f"../../files/{served.filename}")),
               {"Content-Encoding": "gzip"})
    sandbox.requirements.write_text(block(served.data, "alpha==1.0"))
    result = sandbox.install(index)
    assert result.returncode == 0, result.stderr

    monkeypatch.setattr(peep, "MAX_PAGE_BYTES", 1 << 20)
    serve_page(index, "bomb", gzip.compress(b"<!--" + b" " * (50 << 20) + b"-->"), {"Content-Encoding": "gzip"})
    transport = peep.Transport(peep.FinderSettings())
    with pytest.raises(peep.FetchError) as info:
        peep.read_links(transport, f"{index.url}bomb/", is_index_page=True)
    assert "decompresses to more than 1048576 bytes" in str(info.value)


def test_stalled_server_times_out(sandbox: Sandbox, index: LoopbackIndex) -> None:
    served = index.add(wheel_bytes("alpha", "1.0"))
    index.file_delay = 5
    sandbox.requirements.write_text(block(served.data, "alpha==1.0"))
    result = sandbox.install(index, "--timeout", "0.3", "--retries", "1")
    assert result.returncode == 1 and "timed out" in result.stderr
    sandbox.assert_nothing_written_outside()


def test_server_errors_then_success(sandbox: Sandbox, index: LoopbackIndex) -> None:
    served = index.add(wheel_bytes("alpha", "1.0"))
    calls: List[int] = []

    def hook(handler: BaseHTTPRequestHandler) -> bool:
        if handler.path.startswith("/files/") and len(calls) < 2:
            calls.append(1)
            headers = {"Retry-After": "1"} if len(calls) == 2 else {}
            respond(handler, 500 if len(calls) == 1 else 429, headers=headers)
            return True
        return False

    index.hook = hook
    sandbox.requirements.write_text(block(served.data, "alpha==1.0"))
    started = time.monotonic()
    result = sandbox.install(index)
    assert result.returncode == 0, result.stderr
    # A lower bound, never an upper one: only a retry that ignored Retry-After comes sooner.
    assert time.monotonic() - started >= 1.0
    assert index.requests.count(f"/files/{served.filename}") == 3


def test_huge_index_page_and_thousands_of_files(sandbox: Sandbox, index: LoopbackIndex) -> None:
    served = index.add(wheel_bytes("alpha", "1.0"))
    decoys = [f"../../files/alpha-{n}.{m}-py3-none-any.whl" for n in range(2, 102) for m in range(50)]
    body = page(*decoys, f"../../files/{served.filename}") + b"<!--" + b"x" * (50 << 20) + b"-->"
    serve_page(index, "alpha", body)
    sandbox.requirements.write_text(block(served.data, "alpha==1.0"))
    result = sandbox.install(index)
    assert result.returncode == 0, result.stderr
    assert index.file_requests() == [f"/files/{served.filename}"]


def test_a_utf16_json_page_cannot_hide_its_depth(deploy: Deploy) -> None:
    """json.loads reads UTF-16 too; the depth check read the same bytes as UTF-8, where the
    0x22 of a U+4E22 looked like a quote and hid the brackets after it (RecursionError, exit 3)."""
    served = deploy.index.add(wheel_bytes("alpha", "1.0"))
    body = '{"x": "\u4e22", "files": ' + "[" * 5000 + "]" * 5000 + ', "y": "\u4e22"}'
    serve_page(deploy.index, "alpha", body.encode("utf-16-le"), {"Content-Type": JSON_TYPE})
    deploy.write(block(served.data, "alpha==1.0"))
    result = deploy.install()
    assert result.returncode == 1, result.stderr
    assert "/alpha/ is not a valid PEP 691 page (nested deeper than 64 levels)" in result.stderr


def _page_that_breaks_off(how: str) -> Callable[[BaseHTTPRequestHandler], bool]:
    def hook(handler: BaseHTTPRequestHandler) -> bool:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        if how == "stalls":  # half a page, then silence past --timeout
            handler.send_header("Content-Length", "1000")
            handler.end_headers()
            handler.wfile.write(b"<html>")
            handler.wfile.flush()
            time.sleep(3)
        else:  # a chunk whose size is not a number
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            handler.wfile.write(b"zz\r\n<html>")
        handler.close_connection = True
        return True
    return hook


@pytest.mark.parametrize("how, reason", [("stalls", "timed out"), ("bad-chunk", "IncompleteRead")])
def test_a_page_that_breaks_off_is_a_download_error(deploy: Deploy, how: str, reason: str) -> None:
    """A page's body, not only its headers: a timeout or a broken chunk was a crash (exit 3)."""
    served = deploy.index.add(wheel_bytes("alpha", "1.0"))
    deploy.index.hook = _page_that_breaks_off(how)
    deploy.write(block(served.data, "alpha==1.0"))
    result = deploy.install("--timeout", "0.5", "--retries", "0")
    assert result.returncode == 1, result.stderr
    assert f"{deploy.index.url}alpha/: download failed ({reason}" in result.stderr
    assert deploy.installed() == {}


def test_a_file_name_with_control_characters_is_refused(deploy: Deploy) -> None:
    """The vetted bytes under a name that retitles the terminal: pip -v printed the name as it
    was, where peep escapes it."""
    filename, data = wheel_bytes("alpha", "1.0")
    on_files(deploy.index, lambda handler: respond(handler, 200, data))
    serve_page(deploy.index, "alpha", page("/files/alpha-1.0-py3-none-any.x%1b]0;owned%07.whl"))
    deploy.write(block(data, "alpha==1.0"))
    result = deploy.install("-v")
    assert result.returncode == 1, result.stderr
    assert "unsafe file name 'alpha-1.0-py3-none-any.x\\x1b]0;owned\\x07.whl'" in result.stderr
    assert "\x1b" not in result.stdout + result.stderr
    assert deploy.installed() == {}


def test_a_page_of_empty_tags_takes_memory_in_proportion_to_its_links() -> None:
    """Every start tag was kept, with its attributes, until the page ended: sixty times the
    page's size in memory (4 GB for a 64 MB page of '<a>')."""
    import tracemalloc
    body = "<a>" * (1 << 18) + '<a href="alpha-1.0.tar.gz">'
    tracemalloc.start()
    try:
        links = peep.parse_html_links(body, "https://127.0.0.1:9/simple/alpha/")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [link.url for link in links] == ["https://127.0.0.1:9/simple/alpha/alpha-1.0.tar.gz"]
    assert peak < 4 * len(body)


def test_a_long_url_is_redacted_in_linear_time() -> None:
    """A page's link can be megabytes long, and a report shows it: finding each URL's scheme was
    tried at every word boundary to the end of the run ("a.a.a..."), minutes for 1 MB. The
    bound is a hundred times what one pass takes."""
    code = 'import peep; print(len(peep.printable("a." * 500000 + " https://u:p@h/x")))'
    result = subprocess.run([sys.executable, "-c", code], cwd=PEEP.parent, capture_output=True,
                            text=True, timeout=60, env={"PYTHONPATH": str(PEEP.parent), "PATH": ""})
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{1000001 + len('https://u:****@h/x')}\n"


_UNCLOSED_STRINGS = """
import peep
try:
    peep.parse_json_links(b'"' + b'\\\\"' * 500000, "https://127.0.0.1:9/simple/alpha/")
except peep.PeepError as exc:
    print(str(exc)[:66])
"""


def test_a_json_page_of_unclosed_strings_is_checked_in_linear_time() -> None:
    """Each escaped quote of '"\\"\\"\\"...' began a string that ran to the end of the line
    unclosed, and the depth check read it again from each: an hour for 1 MB. The bound is a
    hundred times what one pass takes."""
    result = subprocess.run([sys.executable, "-c", _UNCLOSED_STRINGS], cwd=PEEP.parent,
                            capture_output=True, text=True, timeout=60,
                            env={"PYTHONPATH": str(PEEP.parent), "PATH": ""})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "https://127.0.0.1:9/simple/alpha/ is not a valid PEP 691 page (Unt\n"


# --- Bad input ------------------------------------------------------------------------------

TOKENS = st.sampled_from([
    "foo", "Foo_Bar", "==", "1.0", ">=", "[x]", ";", " python_version < '3'", "@", "https://h/p/x-1.0.tar.gz",
    "#egg=x", "#sha256=" + "a" * 64, " # c", "#", "# sha256: ", peep.hex_to_peep("b" * 64), "\\", "\n", " ",
    "-r", "-c", "-e", "-i", "--hash=sha256:", "a" * 64, "--pre", "--hash", "-C", "k=v", "${VAR}", "./", "..",
    "\x00", "\x0c", "\u2028", "é", "'", '"', "--no-binary", ":all:", "git+https://h/r", "file:", "--ha=",
])


def _local_only(location: str) -> bytes:
    """Read a nested file from disk; refuse a URL, so that no fuzzed ``-r`` leaves the machine."""
    if peep._is_url(location) and not location.lower().startswith("file:"):
        raise OSError(f"no network in this test: {location}")
    return peep.read_requirements_source(location)


def run_main(*argv: str) -> Tuple[int, str, str]:
    """Run ``peep.main`` in this process; return its exit status and what it wrote."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = peep.main(list(argv))
    return status, out.getvalue(), err.getvalue()


def assert_handled(status: int, err: str, statuses: Sequence[int] = (0, 1, 2)) -> None:
    """An outcome peep chose: a known exit status, no crash report, and a reason for failing."""
    assert status in statuses, err
    assert "Traceback" not in err and "This is a bug in peep" not in err, err
    assert status == 0 or err.strip()


# st.text() draws no surrogates, so every example can be written as UTF-8.
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.lists(TOKENS, max_size=40).map("".join) | st.text(max_size=200))
@example(text="-r\x00")  # once crashed os.path.realpath
@example(text="\r\n")  # the second porting must keep the line endings the first kept
def test_parser_and_port_never_crash(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.txt"
    path.write_text(text, encoding="utf-8")
    try:
        records = list(peep.parse_requirements_file(str(path), environ={"VAR": "x"}, reader=_local_only,
                                                    warn=lambda message: None))
    except peep.PeepError as exc:
        assert exc.exit_code in (1, 2) and str(exc).strip()
    else:
        assert all(isinstance(record, (peep.Requirement, peep.FileOption)) for record in records)
    status, ported, err = run_main("port", str(path))
    assert_handled(status, err, statuses=(0, 1))
    if status == 0:  # a ported file needs no second porting
        path.write_bytes(ported.encode("utf-8"))
        assert run_main("port", str(path))[:2] == (0, ported)


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=300))
def test_binary_garbage_never_crashes_the_decoder(data: bytes) -> None:
    try:
        lines = list(peep.scan_requirements_text(peep.decode_requirements(data, "garbage.txt"), "garbage.txt", {}))
    except peep.PeepError as exc:
        assert exc.exit_code in (1, 2) and "garbage.txt" in str(exc)
    else:
        assert all(isinstance(line, (peep.HashComment, peep.LogicalLine)) for line in lines)
        assert all(line.origin.source == "garbage.txt" for line in lines)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.lists(TOKENS, max_size=25).map("".join))
def test_install_no_index_exits_0_1_or_2_with_a_message(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.txt"
    path.write_text(text)
    target = tmp_path / "t"
    # A fuzzed URL goes to a proxy on a closed loopback port: nothing leaves the machine.
    offline = hermetic_env(http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9")
    result = run_peep("install", "--no-index", "-r", str(path), "--target", str(target), "--retries", "0",
                      env=offline)
    assert_handled(result.returncode, result.stderr)
    assert installed_in(target) == {}  # with no index, nothing the fuzz names can be fetched


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d, "Is a directory"),
        (lambda d: d / "file" / "below-a-file.txt", "Not a directory"),
        (lambda d: d / "missing.txt", "No such file or directory"),
    ],
    ids=["directory", "below-a-file", "missing"],
)
def test_unreadable_requirements_files(tmp_path: Path, make: Callable[[Path], Path], message: str) -> None:
    (tmp_path / "file").write_text("x")
    for command in (["install", "--no-index", "-r"], ["port"], ["check", "-r"]):
        result = run_peep(*command, str(make(tmp_path)))
        assert result.returncode == 1, (command, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr


def test_huge_lines_and_binary_files(tmp_path: Path) -> None:
    (tmp_path / "huge.txt").write_text("foo==1.0" + " " * 2_000_000 + "# comment\n" + "x=" * 1_000_000 + "\n")
    # Read in quadratic time, these lines would take hours: the run would never end.
    result = run_peep("install", "--no-index", "-r", str(tmp_path / "huge.txt"))
    assert result.returncode == 1 and "line 2: invalid requirement" in result.stderr
    (tmp_path / "binary.txt").write_bytes(os.urandom(4096))
    result = run_peep("install", "--no-index", "-r", str(tmp_path / "binary.txt"))
    assert result.returncode in (1, 2) and "Traceback" not in result.stderr


def test_deeply_nested_and_cyclic_files(tmp_path: Path) -> None:
    for n in range(150):
        (tmp_path / f"r{n}.txt").write_text(f"-r r{n + 1}.txt\n")
    (tmp_path / "r150.txt").write_text("foo==1.0\n")
    result = run_peep("install", "--no-index", "-r", str(tmp_path / "r0.txt"))
    assert result.returncode == 1
    assert f"requirements files are nested more than {peep.MAX_NESTING} deep here" in result.stderr
    (tmp_path / "r150.txt").write_text("-r r0.txt\n")
    result = run_peep("port", str(tmp_path / "r149.txt"))
    assert result.returncode == 0  # port does not follow -r
    (tmp_path / "a.txt").write_text("-r a.txt\n")
    result = run_peep("install", "--no-index", "-r", str(tmp_path / "a.txt"))
    assert result.returncode == 1 and "is included again while it is being read" in result.stderr


# --- Interruption -----------------------------------------------------------------------------


def start_peep(sandbox: Sandbox, index: LoopbackIndex, **env: str) -> subprocess.Popen:
    # peep is started as from a terminal, with SIGINT at its default. Run as
    # a shell's background job, these tests would hand on an ignored SIGINT,
    # which Python (and so peep) rightly keeps ignoring.
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return subprocess.Popen(
            [sys.executable, str(PEEP), "install", "-r", str(sandbox.requirements), "--target",
             str(sandbox.root / "target"), "--cache-dir", str(sandbox.root / "cache"), "-i", index.url],
            cwd=sandbox.root / "cwd", env=sandbox.env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("stage", ["download", "streaming", "build"])
def test_interruption_leaves_nothing_behind(sandbox: Sandbox, index: LoopbackIndex, signum: int, stage: str) -> None:
    quick = index.add(wheel_bytes("quick", "1.0"))
    slow = index.add(sdist_bytes("slow", "1.0")) if stage == "build" else None
    big = index.add(wheel_bytes("big", "1.0", payload="# " + os.urandom(3 << 20).hex() + "\n"))
    sandbox.requirements.write_text(block(quick.data, "quick==1.0") + block(big.data, "big==1.0")
                                    + (block(slow.data, "slow==1.0") if slow else ""))
    env: Dict[str, str] = {}
    if stage == "download":
        index.file_delay = 30
    elif stage == "streaming":
        def trickle(handler: BaseHTTPRequestHandler) -> bool:
            if handler.path == "/files/big-1.0-py3-none-any.whl":
                handler.send_response(200)
                handler.send_header("Content-Length", str(len(big.data)))
                handler.end_headers()
                try:
                    for start in range(0, len(big.data), 64 << 10):
                        handler.wfile.write(big.data[start:start + (64 << 10)])
                        time.sleep(0.5)
                except OSError:
                    pass
                return True
            return False
        index.hook = trickle
    else:  # the sdist's build drops its telltale, then takes its time
        env.update({TELLTALE_ENV: str(sandbox.root / "home"), "PEEP_TEST_BUILD_SLEEP": "60"})
    process = start_peep(sandbox, index, **env)
    try:
        if stage == "build":
            assert wait_for(lambda: (sandbox.root / "home" / "slow-1.0.ran").exists(), timeout=60)
        else:
            assert wait_for(lambda: "/files/big-1.0-py3-none-any.whl" in index.requests, timeout=60)
            time.sleep(0.5)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + signum, stderr
    assert "Traceback" not in stderr
    assert f"peep: interrupted ({signal.Signals(signum).name})" in stderr
    # Builds happen before pip runs: an interrupted build leaves nothing installed.
    assert "nothing was installed, temporary files were removed" in stderr
    assert installed_in(sandbox.root / "target") == {}
    assert list((sandbox.root / "tmp").iterdir()) == []
    assert not list((sandbox.root / "cache").rglob(".partial-*"))
    cached = list((sandbox.root / "cache").rglob("*.whl"))
    if stage != "build":  # big was cut off mid-download: it must not be in the cache
        assert not [path for path in cached if path.name.startswith("big")]
    for path in cached:  # whatever is cached is whole and stored under its own hash
        assert sha256_hex(path.read_bytes()) == path.parent.name
    # The next run succeeds.
    index.file_delay = 0
    index.hook = None
    (sandbox.root / "home" / "slow-1.0.ran").unlink(missing_ok=True)
    result = sandbox.install(index)
    assert result.returncode == 0, result.stderr


# --- Concurrency -------------------------------------------------------------------------------


def test_concurrent_installs_share_one_cache(tmp_path: Path, index: LoopbackIndex) -> None:
    served = [index.add(wheel_bytes(f"pkg{n}", "1.0", payload="x = 1\n" * 20000)) for n in range(6)]
    requirements = tmp_path / "r.txt"
    requirements.write_text("".join(block(s.data, f"pkg{n}==1.0") for n, s in enumerate(served)))
    cache = tmp_path / "cache"
    processes = [
        subprocess.Popen([sys.executable, str(PEEP), "install", "-q", "-r", str(requirements), "--target",
                          str(tmp_path / f"t{n}"), "--cache-dir", str(cache), "-i", index.url],
                         env=hermetic_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for n in range(4)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
    for n in range(4):
        assert installed_in(tmp_path / f"t{n}") == {f"pkg{m}": "1.0" for m in range(6)}
    assert not list(cache.rglob(".partial-*"))
    entries = list(cache.rglob("pkg*-1.0-py3-none-any.whl"))
    assert len(entries) == 6 and all(sha256_hex(e.read_bytes()) == sha256_hex(served[int(e.name[3])].data) for e in entries)
    index.requests.clear()
    result = run_peep("install", "-r", str(requirements), "--target", str(tmp_path / "warm"), "--cache-dir", str(cache),
                      "-i", index.url)
    assert result.returncode == 0 and index.requests == []


def test_full_disk_degrades_to_no_cache_with_one_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import shutil

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    warnings: List[str] = []
    cache = peep.ArchiveCache(str(tmp_path / "cache"), warnings.append)
    (tmp_path / "a.whl").write_bytes(b"archive")
    monkeypatch.setattr(shutil, "copyfileobj", full)
    cache.store(str(tmp_path / "a.whl"), "a.whl", {"sha256": sha256_hex(b"archive")}, {})
    cache.store(str(tmp_path / "a.whl"), "b.whl", {"sha256": sha256_hex(b"other")}, {})
    assert warnings == [f"peep: warning: cannot write to the cache at {tmp_path / 'cache' / 'peep-archives'} "
                        "(No space left on device); continuing without a cache"]
    assert not list((tmp_path / "cache").rglob(".partial-*"))
    assert cache.lookup(peep.Hashes(sha256=frozenset({sha256_hex(b"archive")}))) == []


def test_a_cache_entry_that_turns_into_a_link_is_not_looked_for_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the entry's directory is swapped for a link after its meta.json is read, the lookup
    finds nothing: it must not build a path of its own, such as "None/a.whl" here."""
    cache = peep.ArchiveCache(str(tmp_path / "cache"), lambda message: None)
    (tmp_path / "a.whl").write_bytes(b"archive")
    cache.store(str(tmp_path / "a.whl"), "a.whl", {"sha256": sha256_hex(b"archive")}, {})
    (tmp_path / "None").mkdir()
    (tmp_path / "None" / "a.whl").write_bytes(b"planted")
    monkeypatch.chdir(tmp_path)
    wanted = peep.Hashes(sha256=frozenset({sha256_hex(b"archive")}))
    assert [path for _, path, _ in cache.lookup(wanted)] != []
    monkeypatch.setattr(peep.ArchiveCache, "_entry_dir", lambda self, sha256, create=False: None)
    assert cache.lookup(wanted) == []


def test_pips_messages_are_escaped_as_they_are_relayed(deploy: Deploy) -> None:
    """pip names an archive's files in its warnings: a directory a vetted wheel installs, named
    to retitle the terminal, already in --target (another project's) was sent on raw."""
    evil = "evil\x1b]0;owned\x07"
    for name in ("alpha", "beta"):
        served = deploy.index.add(wheel_bytes(name, "1.0",
                                              extra_files={f"{evil}/__init__.py": b""}))
        deploy.write(block(served.data, f"{name}==1.0"))
        result = deploy.install()
        assert result.returncode == 0, result.stderr
    assert "target/evil\\x1b]0;owned" in result.stderr  # pip's "already exists" warning
    assert "\x1b" not in result.stdout + result.stderr


def test_peep_hash_escapes_the_urls_of_files_an_index_lists_twice(index: LoopbackIndex) -> None:
    """Two links to one file name with other digests: the warning gave each URL as the page
    wrote it, an escape sequence in its query too."""
    name, data = wheel_bytes("alpha", "1.0")
    index.add((name, data))
    serve_page(index, "alpha", page(f"/files/{name}#sha256={sha256_hex(data)}",
                                    f"/files/{name}?\x1b]0;owned\x07#sha256={'1' * 64}"))
    result = run_peep("hash", "alpha==1.0", "--index-url", index.url)
    assert result.returncode == 0, result.stderr
    assert f"/files/{name}?\\x1b]0;owned\\x07#sha256=" in result.stderr
    assert "\x1b" not in result.stdout + result.stderr
