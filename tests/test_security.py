"""Smaller promises of the Security section, tried as an attacker would:
which hosts count as loopback, secrets in messages, credentials and origins,
links planted in the cache, and what ``peep check`` sees in site-packages."""

from __future__ import annotations

import concurrent.futures
import hashlib
import importlib.machinery
import importlib.util
import marshal
import os
import py_compile
import sys
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
from helpers import (
    Deploy,
    LoopbackIndex,
    LoopbackProxy,
    basic,
    block,
    hermetic_env,
    installed_in,
    record_row,
    run_peep,
    sdist_bytes,
    sha256_hex,
    wheel_bytes,
)

import peep

SECRET = "s3cret-never-shown"


# --- Loopback is decided by address, not by spelling ---------------------------------------


@pytest.mark.parametrize(
    ("url", "secure"),
    [
        ("http://127.0.0.1/", True),
        ("http://127.8.9.10:8000/", True),
        ("http://[::1]:8000/", True),
        ("http://localhost/", True),
        ("http://LOCALHOST:81/", True),
        ("http://127.example.net/", False),
        ("http://127.0.0.1.example.net/", False),
        ("http://localhost.example.net/", False),
        ("http://example-localhost/", False),
        ("http://127.1/", False),  # not an address ipaddress accepts: a name, resolved by DNS
        ("http://2130706433/", False),
        ("http://[::2]/", False),
        ("http://10.0.0.1/", False),
        ("http:///", False),
    ],
)
def test_loopback_is_an_address_not_a_spelling(url: str, secure: bool) -> None:
    assert peep._is_secure_origin(url, frozenset()) is secure


def test_a_host_named_like_loopback_gets_no_plain_http(tmp_path: Path, index: LoopbackIndex) -> None:
    wheel = index.add(wheel_bytes("alpha", "1.0"))
    index.pages["/reqs/r.txt"] = block(wheel.data, "alpha==1.0").encode()
    proxy = LoopbackProxy(only_to=index)
    try:
        result = run_peep(
            "install", "-r", f"http://127.example.net:{index.port}/reqs/r.txt", "-i", index.url,
            "--target", str(tmp_path / "target"), env=hermetic_env(http_proxy=proxy.url),
        )
    finally:
        proxy.stop()
    assert result.returncode == 1, result.stderr
    assert f"refusing plain-HTTP http://127.example.net:{index.port}/reqs/r.txt" in result.stderr
    assert proxy.seen == []
    assert installed_in(tmp_path / "target") == {}


# --- One redaction for every printed URL and requirement ------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://TOKEN@h/simple/", "https://****@h/simple/"),
        ("https://user:pw@h:8443/x", "https://user:****@h:8443/x"),
        ("https://user:@h/x", "https://user:****@h/x"),
        ("https://us%40er:p%40ss@h/x", "https://us%40er:****@h/x"),
        ("https://a@b:pw@h/x", "https://a@b:****@h/x"),
        ("https://h/simple/", "https://h/simple/"),
        ("https://h/a@b/c", "https://h/a@b/c"),
        ("file:///home/me/a@b.whl", "file:///home/me/a@b.whl"),
        ("alpha @ https://u:pw@h/alpha-1.0.whl ; python_version > '3'",
         "alpha @ https://u:****@h/alpha-1.0.whl ; python_version > '3'"),
        ("-e git+https://TOKEN@h/r.git#egg=x", "-e git+https://****@h/r.git#egg=x"),
        ("looked in https://T@a/, http://u:p@b/", "looked in https://****@a/, http://u:****@b/"),
        ("user@example: no URL here", "user@example: no URL here"),
    ],
)
def test_redaction(text: str, shown: str) -> None:
    assert peep.redact_url(text) == shown
    assert peep.redact_url(shown) == shown


def _secret_requirement() -> peep.Requirement:
    return peep.parse_requirement(
        f"alpha @ https://deploy:{SECRET}@h/alpha-1.0-py3-none-any.whl", peep.Origin("r.txt", 1)
    )


@pytest.mark.parametrize(
    "failure",
    [
        lambda r: peep.missing(r, "a" * 64, peep._pinned_line(r, None)),
        lambda r: peep.mismatch(r, r.url or "", {"sha256": "b" * 64}),
        lambda r: peep.framed("unsupported", r, peep.as_written(r) + ":", "a directory"),
        lambda r: peep.not_found(r, (f"https://{SECRET}@h/simple/alpha/",), ()),
        lambda r: peep.framed("download", r, peep.as_written(r) + ":", "HTTP 500"),
        lambda r: peep.framed("not installed", r, peep.as_written(r)),
        lambda r: peep.framed("wrong version", r, f"{peep.as_written(r)}: 0.9 is installed"),
        lambda r: peep.framed("tampered", r, f"{r.text}: alpha.py (missing)"),
    ],
)
def test_no_report_shows_a_secret(failure: object) -> None:
    report = peep.format_report([failure(_secret_requirement())])  # type: ignore[operator]
    assert SECRET not in report
    assert "deploy:****@h" in report or "https://****@h" in report


def test_a_token_without_password_is_not_shown(tmp_path: Path, index: LoopbackIndex) -> None:
    (tmp_path / "r.txt").write_text(block(b"x", "nothing==1.0"))
    with_token = index.url.replace("http://", f"http://{SECRET}@")
    result = run_peep("install", "-r", str(tmp_path / "r.txt"), "-i", with_token,
                      "--target", str(tmp_path / "target"))
    assert result.returncode == 1
    assert f"looked in http://****@127.0.0.1:{index.port}/simple/nothing/" in result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_a_url_requirement_with_a_password_is_not_shown(tmp_path: Path, index: LoopbackIndex) -> None:
    wheel = index.add(wheel_bytes("alpha", "1.0"))
    url = f"{index.files_url}{wheel.filename}".replace("http://", f"http://deploy:{SECRET}@")
    (tmp_path / "r.txt").write_text(f"alpha @ {url}\n")  # no hash: the report prints the line
    result = run_peep("install", "-r", str(tmp_path / "r.txt"), "--target", str(tmp_path / "target"))
    assert result.returncode == 1
    assert "had no hashes specified" in result.stderr
    assert f"alpha @ http://deploy:****@127.0.0.1:{index.port}/files/" in result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_an_error_naming_a_line_with_a_password_does_not_show_it(tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text(f"alpha @ https://deploy:{SECRET}@h/alpha.whl ; ;;\n")
    result = run_peep("install", "-r", str(tmp_path / "r.txt"), "--target", str(tmp_path / "target"))
    assert result.returncode in (1, 2)
    assert "r.txt line 1" in result.stderr
    assert SECRET not in result.stdout + result.stderr


# --- Credentials belong to an origin -------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "url", "sent"),
    [
        ("http://u:pw@h/simple/", "http://h/files/a.whl", True),
        ("http://u:pw@h/simple/", "http://h:80/files/a.whl", True),
        ("http://u:pw@h:80/simple/", "http://h/files/a.whl", True),
        ("https://u:pw@h/simple/", "https://h:443/files/a.whl", True),
        ("http://u:pw@H/simple/", "http://h/files/a.whl", True),
        ("http://u:pw@h/simple/", "http://h:8702/files/a.whl", False),
        ("http://u:pw@h:8702/simple/", "http://h/files/a.whl", False),
        ("https://u:pw@h/simple/", "http://h/files/a.whl", False),
        ("https://u:pw@h/simple/", "http://h:443/files/a.whl", False),
        ("http://u:pw@h/simple/", "https://h/files/a.whl", False),
        ("http://u:pw@h/simple/", "http://h.evil/files/a.whl", False),
        ("http://h/simple/", "http://u:pw@h2/files/a.whl", True),  # a URL's own, as pip sends
        ("http://x:y@h/simple/", "http://u:pw@h/files/a.whl", True),
    ],
)
def test_credentials_go_only_to_their_origin(given: str, url: str, sent: bool) -> None:
    transport = peep.Transport(peep.FinderSettings(index_url=given), environ={"NETRC": os.devnull})
    request = transport._request(urllib.parse.urlsplit(url), "*/*")
    assert request.get_header("Authorization") == (basic("u", "pw") if sent else None)


def test_credentials_for_port_80_are_not_sent_to_another_port(index: LoopbackIndex) -> None:
    index.add(wheel_bytes("alpha", "1.0"))
    finder = peep.FinderSettings(index_url=f"http://u:{SECRET}@127.0.0.1/simple/")
    transport = peep.Transport(finder, environ={"NETRC": os.devnull})
    transport.open(f"{index.files_url}alpha-1.0-py3-none-any.whl").close()
    assert index.headers_seen and all("Authorization" not in h for _, h in index.headers_seen)


# --- The cache follows no links ------------------------------------------------------------


def _archive(tmp_path: Path) -> tuple:
    data = b"verified archive bytes"
    path = tmp_path / "alpha-1.0-py3-none-any.whl"
    path.write_bytes(data)
    digests = {"sha256": sha256_hex(data), "sha512": hashlib.sha512(data).hexdigest()}
    return path, data, digests


@pytest.mark.parametrize(
    "planted",
    ["peep-archives", "peep-archives/sha256", "peep-archives/sha256/PREFIX",
     "peep-archives/sha256/PREFIX/SHA256", "peep-archives/sha512"],
)
def test_the_cache_never_writes_through_a_link(tmp_path: Path, planted: str) -> None:
    path, data, digests = _archive(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    link = tmp_path / "cache" / planted.replace("PREFIX", digests["sha256"][:2]).replace("SHA256", digests["sha256"])
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside, target_is_directory=True)
    warnings: List[str] = []
    cache = peep.ArchiveCache(str(tmp_path / "cache"), warnings.append)
    cache.store(str(path), path.name, digests, {"url": "x"})
    assert list(outside.iterdir()) == []
    assert any("not a real directory" in w and "ignor" in w for w in warnings), warnings
    assert link.is_symlink()  # left alone, not removed


def test_the_cache_never_reads_through_a_link(tmp_path: Path) -> None:
    path, data, digests = _archive(tmp_path)
    warnings: List[str] = []
    cache = peep.ArchiveCache(str(tmp_path / "cache"), warnings.append)
    cache.store(str(path), path.name, digests, {"url": "x"})
    hashes = peep.Hashes(sha256=frozenset({digests["sha256"]}))
    (stored_sha, stored, meta), = cache.lookup(hashes)
    assert Path(stored).read_bytes() == data
    outside = tmp_path / "outside.whl"
    outside.write_bytes(data)  # even the right bytes: a link is not a cache entry
    os.remove(stored)
    os.symlink(outside, stored)
    assert cache.lookup(hashes) == []
    assert any("not a regular file" in w for w in warnings), warnings
    meta_path = Path(stored).parent / "meta.json"
    os.remove(stored)
    Path(stored).write_bytes(data)
    (tmp_path / "meta.json").write_text(meta_path.read_text())
    meta_path.unlink()
    meta_path.symlink_to(tmp_path / "meta.json")
    assert cache.lookup(hashes) == []


def test_a_forged_alias_cannot_point_outside_the_cache(tmp_path: Path) -> None:
    path, data, digests = _archive(tmp_path)
    victim = tmp_path / "victim"
    (victim / "precious").mkdir(parents=True)
    (victim / "meta.json").write_text('{"filename": "precious"}')
    cache = peep.ArchiveCache(str(tmp_path / "cache"), lambda message: None)
    cache.store(str(path), path.name, digests, {})
    alias = tmp_path / "cache" / "peep-archives" / "sha512" / digests["sha512"]
    alias.write_text("../../victim")
    found = cache.lookup(peep.Hashes(sha512=frozenset({digests["sha512"]})))
    assert found == []
    for sha256, _, _ in found:
        cache.discard(sha256)
    cache.discard("../../victim")
    assert (victim / "precious").is_dir()


def test_discarding_an_entry_the_cache_cannot_look_at_is_no_crash(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry whose directory cannot be looked at (EACCES, or changed under the run) stays: a
    later run hashes it again before any use, so leaving it is safe, and crashing is not."""
    path, _, digests = _archive(tmp_path)
    cache = peep.ArchiveCache(str(tmp_path / "cache"), lambda message: None)
    cache.store(str(path), path.name, digests, {})
    lstat = os.lstat

    def refused(name: "os.PathLike[str] | str", *args: object, **kwargs: object) -> os.stat_result:
        if digests["sha256"] in os.fspath(name):
            raise PermissionError(13, "Permission denied", os.fspath(name))
        return lstat(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "lstat", refused)
    cache.discard(digests["sha256"])
    monkeypatch.setattr(os, "lstat", lstat)
    assert [sha256 for sha256, _, _ in cache.lookup(peep.Hashes(sha256=frozenset({digests["sha256"]})))] == [digests["sha256"]]


def test_a_forged_alias_of_the_wrong_length_names_no_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An alias holding a longer hex string, with a planted meta.json for it, opens nothing."""
    path, data, digests = _archive(tmp_path)
    cache = peep.ArchiveCache(str(tmp_path / "cache"), lambda message: None)
    cache.store(str(path), path.name, digests, {})
    forged = "ab" * 48
    planted = tmp_path / "cache" / "peep-archives" / "sha256" / forged[:2] / forged
    planted.mkdir(parents=True)
    (planted / "meta.json").write_text('{"filename": "precious"}')
    (tmp_path / "cache" / "peep-archives" / "sha512" / digests["sha512"]).write_text(forged)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "None").mkdir()
    (tmp_path / "None" / "precious").write_bytes(data)  # where a path built from None would lead
    assert cache.lookup(peep.Hashes(sha512=frozenset({digests["sha512"]}))) == []


def test_install_with_a_link_planted_in_the_cache(tmp_path: Path, index: LoopbackIndex) -> None:
    wheel = index.add(wheel_bytes("alpha", "1.0"))
    (tmp_path / "r.txt").write_text(block(wheel.data, "alpha==1.0"))
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "cache" / "peep-archives").mkdir(parents=True)
    (tmp_path / "cache" / "peep-archives" / "sha256").symlink_to(outside, target_is_directory=True)
    result = run_peep("install", "-r", str(tmp_path / "r.txt"), "-i", index.url, "--target",
                      str(tmp_path / "target"), "--cache-dir", str(tmp_path / "cache"))
    assert result.returncode == 0, result.stderr
    assert installed_in(tmp_path / "target") == {"alpha": "1.0"}
    assert list(outside.iterdir()) == []
    assert "not a real directory" in result.stderr


# --- peep check: what no RECORD lists, and .pyc files ---------------------------------------


SOURCE = b'"""Docstring."""\nVERSION = "1.0"\nassert VERSION\n\ndef f():\n    return 1\n'


def make_site(site: Path, *, levels: tuple = (0, 1, 2), invalidation: str = "TIMESTAMP") -> Path:
    """Install 'alpha' 1.0 into ``site`` the way pip would: RECORD, .pyc files without hashes."""
    site.mkdir(parents=True, exist_ok=True)
    dist_info = "alpha-1.0.dist-info"
    (site / dist_info).mkdir()
    files: Dict[str, bytes] = {
        "alpha/__init__.py": SOURCE,
        "alpha/data.txt": b"not code",
        f"{dist_info}/METADATA": b"Metadata-Version: 2.1\nName: alpha\nVersion: 1.0\n",
        f"{dist_info}/INSTALLER": b"pip\n",
    }
    for relative, data in files.items():
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_bytes(data)
    rows = [record_row(relative, data) for relative, data in files.items()]
    source = site / "alpha" / "__init__.py"
    for level in levels:
        cached = importlib.util.cache_from_source(str(source), optimization="" if level == 0 else level)
        py_compile.compile(str(source), cfile=cached, optimize=level, doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode[invalidation])
        rows.append(record_row(os.path.relpath(cached, site), None))
    rows.append(f"{dist_info}/RECORD,,")
    (site / dist_info / "RECORD").write_text("\n".join(rows) + "\n")
    return site


def run_check(site: Path, *, strict: bool = True) -> tuple:
    requirement = peep.parse_requirement("alpha==1.0", peep.Origin("r.txt", 1))
    checked = peep.CheckedSite((str(site),), (str(site),))
    errors, notes = peep.check_environment([requirement], checked, strict=strict)
    return peep.format_report(errors) if errors else "", peep.format_report(notes) if notes else ""


@pytest.mark.parametrize("invalidation", ["TIMESTAMP", "CHECKED_HASH", "UNCHECKED_HASH"])
def test_check_accepts_a_faithful_site(tmp_path: Path, invalidation: str) -> None:
    site = make_site(tmp_path / "site", invalidation=invalidation)
    assert run_check(site) == ("", "")


def _pyc(site: Path, level: int = 0) -> Path:
    source = site / "alpha" / "__init__.py"
    return Path(importlib.util.cache_from_source(str(source), optimization="" if level == 0 else level))


@pytest.mark.parametrize("level", [0, 1, 2])
def test_check_finds_a_rewritten_pyc_that_keeps_its_header(tmp_path: Path, level: int) -> None:
    site = make_site(tmp_path / "site")
    pyc = _pyc(site, level)
    header = pyc.read_bytes()[:16]
    evil = compile(SOURCE + b"import os\n", str(site / "alpha" / "__init__.py"), "exec",
                   dont_inherit=True, optimize=level)
    pyc.write_bytes(header + marshal.dumps(evil))
    errors, _ = run_check(site, strict=False)
    assert f"alpha==1.0: {os.path.relpath(pyc, site)} (not what its recorded source compiles to)" in errors


def test_check_compares_each_pyc_at_its_own_optimisation_level(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    # The level-2 code (no docstring, no assert) in the level-0 file: it loads, but is not the same.
    _pyc(site, 0).write_bytes(_pyc(site, 0).read_bytes()[:16] + _pyc(site, 2).read_bytes()[16:])
    errors, _ = run_check(site, strict=False)
    assert os.path.relpath(_pyc(site, 0), site) in errors


def test_check_finds_a_pyc_that_is_not_a_pyc(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    _pyc(site, 1).write_bytes(b"garbage")
    errors, _ = run_check(site, strict=False)
    assert os.path.relpath(_pyc(site, 1), site) in errors


def test_check_compares_an_unrecorded_pyc_with_its_source(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", levels=())  # installed with --no-compile
    source = site / "alpha" / "__init__.py"
    py_compile.compile(str(source), doraise=True)  # what Python writes at first import
    assert run_check(site) == ("", "")
    pyc = _pyc(site)
    pyc.write_bytes(pyc.read_bytes()[:16] + marshal.dumps(compile("import os", "x", "exec")))
    errors, _ = run_check(site, strict=False)
    assert os.path.relpath(pyc, site) in errors


@pytest.mark.parametrize(
    "planted",
    ["evil.pth", "sitecustomize.py", "alpha/extra.py", "sneaky.pyc", f"__pycache__/sneaky.{sys.implementation.cache_tag}.pyc",
     f"native{importlib.machinery.EXTENSION_SUFFIXES[0]}"],
)
def test_check_reports_importable_files_no_record_lists(tmp_path: Path, planted: str) -> None:
    site = make_site(tmp_path / "site")
    (site / planted).parent.mkdir(parents=True, exist_ok=True)
    (site / planted).write_bytes(b"import os\n")
    errors, notes = run_check(site, strict=False)
    assert errors == ""
    assert f"    {planted}\n" in notes + "\n" or f"    {planted} (" in notes
    errors, _ = run_check(site, strict=True)
    assert planted in errors


def test_check_reports_an_importable_file_recorded_without_a_hash(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    record = site / "alpha-1.0.dist-info" / "RECORD"
    rows = [row if not row.startswith("alpha/__init__.py,") else "alpha/__init__.py,," for row in record.read_text().splitlines()]
    record.write_text("\n".join(rows) + "\n")
    (site / "alpha" / "__init__.py").write_bytes(b"import os\n")
    errors, _ = run_check(site, strict=True)
    assert "alpha/__init__.py" in errors


def test_check_ignores_data_files_and_the_allow_list(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    (site / "README.txt").write_text("This directory exists so that 3rd party packages can be installed here.\n")
    (site / "alpha" / "notes.json").write_text("{}")
    assert run_check(site) == ("", "")


def test_check_end_to_end_after_a_real_install(tmp_path: Path, index: LoopbackIndex) -> None:
    wheel = index.add(wheel_bytes("alpha", "1.0", payload="def f():\n    return 1\n"))
    (tmp_path / "r.txt").write_text(block(wheel.data, "alpha==1.0"))
    target = tmp_path / "target"
    installed = run_peep("install", "-r", str(tmp_path / "r.txt"), "-i", index.url, "--target", str(target))
    assert installed.returncode == 0, installed.stderr
    check = ("check", "-r", str(tmp_path / "r.txt"), "--target", str(target), "--strict", "-i", index.url)
    clean = run_peep(*check)
    assert clean.returncode == 0, clean.stderr
    pyc, = (target / "__pycache__").glob(f"alpha.{sys.implementation.cache_tag}.pyc")
    code = compile((target / "alpha.py").read_bytes() + b"\nimport os\n", str(target / "alpha.py"), "exec", dont_inherit=True)
    pyc.write_bytes(pyc.read_bytes()[:16] + marshal.dumps(code))
    (target / "evil.pth").write_text("import os\n")
    tampered = run_peep(*check)
    assert tampered.returncode == 1
    assert f"alpha==1.0: __pycache__/{pyc.name} (not what its recorded source compiles to)" in tampered.stderr
    assert "    evil.pth" in tampered.stderr


def test_check_compares_pyc_files_in_parallel_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = make_site(tmp_path / "site")
    pyc = _pyc(site, 1)
    pyc.write_bytes(pyc.read_bytes()[:16] + marshal.dumps(compile("import os", "x", "exec", optimize=1)))
    serial, _ = run_check(site, strict=False)
    pools: List[object] = []

    class CountedPool(concurrent.futures.ProcessPoolExecutor):
        def map(self, *args: object, **kwargs: object) -> Iterator[object]:  # type: ignore[override]
            pools.append(self)
            return super().map(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(peep, "PYC_CHECKS_A_WORKER", 1)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", CountedPool)
    assert run_check(site, strict=False)[0] == serial
    assert len(pools) == 1
    assert os.path.relpath(pyc, site) in serial


def test_check_finds_a_pyc_with_a_smaller_stack(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", levels=(0,))
    pyc = _pyc(site)
    code = marshal.loads(pyc.read_bytes()[16:])
    pyc.write_bytes(pyc.read_bytes()[:16] + marshal.dumps(code.replace(co_stacksize=code.co_stacksize + 1)))
    errors, _ = run_check(site, strict=False)
    assert os.path.relpath(pyc, site) in errors


def test_check_reports_a_module_recorded_with_a_made_up_algorithm(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    record = site / "alpha-1.0.dist-info" / "RECORD"
    record.write_text(record.read_text().replace("alpha/__init__.py,sha256=", "alpha/__init__.py,nohash="))
    errors, _ = run_check(site, strict=True)
    assert "alpha/__init__.py (listed in RECORD without a hash)" in errors


# --- What peep prints: every secret masked, every control character escaped -----------------


def test_check_json_never_shows_a_requirements_password_or_variable(tmp_path: Path) -> None:
    """A finding's "subject" was the requirement's line as written, password and ${VAR}'s value
    in it, where its "text" was masked."""
    zeros = "0" * 64
    (tmp_path / "r.txt").write_text(
        f"alpha @ https://deploy:{SECRET}@127.0.0.1:1/alpha-1.0.tar.gz --hash=sha256:{zeros}\n"
        f"beta @ https://127.0.0.1:1/${{TOKEN}}/beta-1.0.tar.gz --hash=sha256:{zeros}\n")
    result = run_peep("check", "--json", "-r", str(tmp_path / "r.txt"), "--target",
                      str(tmp_path / "target"), env=hermetic_env(TOKEN="tok-" + SECRET))
    assert result.returncode == 1, result.stderr
    assert '"subject": "alpha @ https://deploy:****@127.0.0.1:1/' in result.stdout
    assert SECRET not in result.stdout + result.stderr


def test_peep_hash_escapes_a_servers_reason_phrase(index: LoopbackIndex) -> None:
    """A failed download's "HTTP 500 <reason>" went to the terminal as the server wrote it."""
    index.add(wheel_bytes("alpha", "1.0"))

    def hook(handler: BaseHTTPRequestHandler) -> bool:
        if not handler.path.startswith("/files/"):
            return False
        handler.send_response(500, "bad \x1b]0;owned\x07")
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        return True

    index.hook = hook
    result = run_peep("hash", "alpha==1.0", "--index-url", index.url, "--retries", "0")
    assert result.returncode == 1, result.stderr
    assert "HTTP 500 bad \\x1b]0;owned\\x07" in result.stderr
    assert "\x1b" not in result.stdout + result.stderr


def test_the_bug_report_hides_a_proxy_password_given_without_a_scheme(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--proxy takes [user:password@]host:port, with no "scheme://" for redact_url to find: the
    report of a crash printed the password with the rest of the command line."""
    def explode(argv, out, err):  # type: ignore[no-untyped-def]
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(peep, "run", explode)
    argv = ["install", "--proxy", f"deploy:{SECRET}@127.0.0.1:1", f"--proxy=me:{SECRET}@h:1",
            "-i", f"https://deploy:{SECRET}@127.0.0.1:1/simple/", "-r", "r.txt"]
    assert peep.main(argv) == peep.EXIT_BUG
    err = capsys.readouterr().err
    assert "'--proxy', '****@127.0.0.1:1', '--proxy=****@h:1'" in err
    assert "'https://deploy:****@127.0.0.1:1/simple/'" in err
    assert SECRET not in err


def test_a_lock_file_never_holds_a_variables_value(index: LoopbackIndex, tmp_path: Path) -> None:
    """A URL's ${TOKEN} in its query (or path) was written expanded into the lock file, which is
    shared and committed; a lock expands no variable, so port refuses to write it."""
    served = index.add(wheel_bytes("alpha", "1.0"))
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"alpha @ {index.files_url}{served.filename}?token=${{MYTOKEN}}"
                            f" --hash=sha256:{sha256_hex(served.data)}\n")
    result = run_peep("port", "--to", "pylock", str(requirements), "--no-cache-dir",
                      env=hermetic_env(MYTOKEN=SECRET))
    assert result.returncode == 1, result.stderr
    assert f"{served.filename}?token=****: a lock file would show everyone" in result.stderr
    assert SECRET not in result.stdout + result.stderr



def test_a_keep_failed_note_never_shows_a_password_or_variable(deploy: Deploy,
                                                              tmp_path: Path) -> None:
    """The note beside an archive --keep-failed kept is read by people, like the report."""
    served = deploy.index.add(wheel_bytes("alpha", "1.0"))
    url = f"{deploy.index.files_url}{served.filename}".replace("http://", f"http://deploy:{SECRET}@")
    deploy.write(block(b"what we vetted", f"alpha @ {url}?t=${{TOKEN}}"))
    result = deploy.install("--keep-failed", str(tmp_path / "kept"),
                            env=deploy.env(TOKEN="tok-" + SECRET))
    assert result.returncode == 1, result.stderr
    note = (tmp_path / "kept" / f"{served.filename}.peep.txt").read_text()
    where = f"http://deploy:****@127.0.0.1:{deploy.index.port}/files/{served.filename}?t=****"
    assert f"line 2; {where})" in note
    assert SECRET not in note + result.stdout + result.stderr


@pytest.mark.parametrize("kind", ["wheel", "sdist", "not an archive"])
def test_a_file_with_no_hash_is_never_verified_and_nothing_in_it_runs(tmp_path: Path, kind: str) -> None:
    """accept() reads a file fetched for a requirement with no hash only to say what it needs:
    its verdict is the paste-ready 'missing' entry, whatever the file holds, and no code runs."""
    telltales = tmp_path / "telltales"
    telltales.mkdir()
    if kind == "wheel":
        filename, data = wheel_bytes("alpha", "1.0", payload="import os\nopen('/nonexistent/x', 'w')\n")
    elif kind == "sdist":
        filename, data = sdist_bytes("alpha", "1.0", backend_code=(
            f"open({str(telltales / 'imported')!r}, 'w').close()\n"))
    else:
        filename, data = "alpha-1.0.tar.gz", b"not an archive at all"
    path = tmp_path / filename
    path.write_bytes(data)
    requirement = peep.parse_requirement("alpha==1.0", peep.Origin("r.txt", 1))
    assert not requirement.hashes
    verdict = peep.accept(peep.Arrived(requirement, str(path), filename, {"sha256": sha256_hex(data)}, None))
    assert isinstance(verdict, peep.Problem) and verdict.kind == "missing"
    assert verdict.sha256 == sha256_hex(data)
    assert "alpha==1.0" in verdict.pinned_line
    assert list(telltales.iterdir()) == []
    assert path.read_bytes() == data  # read, not changed
