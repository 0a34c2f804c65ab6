"""Attacks on peep's promises, each written as the attacker would try it.

Every test here fails if its attack works: it counts telltale files, the
requests the loopback server saw, what was installed and what was printed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import List

import pytest
from conftest import make_bare_venv
from helpers import (
    PEEP,
    TELLTALE_ENV,
    Deploy,
    LoopbackIndex,
    block,
    reports,
    respond,
    run_peep,
    sdist_bytes,
    sha256_hex,
    wheel_bytes,
)

import peep


def _pip_line(name_version: str, data: bytes, algorithm: str = "sha256", upper: bool = False) -> str:
    digest = hashlib.new(algorithm, data).hexdigest()
    return f"{name_version} --hash={algorithm}:{digest.upper() if upper else digest}\n"


# --- The bytes pip gets are the bytes that were hashed ------------------------


def test_a_file_served_differently_to_a_second_request_is_never_what_pip_installs(
    deploy: Deploy, index: LoopbackIndex
) -> None:
    """The index serves the vetted bytes once, then other bytes under the same name."""
    good = wheel_bytes("swap", "1.0", payload="GOOD = True\n")
    _, evil = wheel_bytes("swap", "1.0", payload="EVIL = True\n")
    index.add(good)
    served: List[int] = []

    def hook(handler: BaseHTTPRequestHandler) -> bool:
        if handler.path.startswith("/files/"):
            served.append(1)
            if len(served) > 1:
                respond(handler, 200, evil)
                return True
        return False

    index.hook = hook
    deploy.write(block(good[1], "swap==1.0"))
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert len(index.file_requests()) == 1
    installed = (deploy.target / "swap.py").read_text()
    assert "GOOD" in installed and "EVIL" not in installed


def test_a_wheel_whose_metadata_gives_another_version_is_refused(tmp_path: Path) -> None:
    """The file name says 1.0 (what the requirement pins), METADATA says 2.0; RECORD agrees."""
    metadata = b"Metadata-Version: 2.1\nName: meta\nVersion: 2.0\n"
    filename, data = wheel_bytes("meta", "1.0", extra_files={"meta-1.0.dist-info/METADATA": metadata})
    path = tmp_path / filename
    path.write_bytes(data)
    requirement = peep.replace(
        peep.parse_requirement("meta==1.0", peep.Origin("r.txt", 1)),
        hashes=peep.Hashes(sha256=frozenset({sha256_hex(data)})),
    )
    verdict = peep.accept(peep.Arrived(requirement, str(path), filename, {"sha256": sha256_hex(data)}, None))
    assert isinstance(verdict, peep.Problem)
    assert "METADATA" in verdict.text


def test_an_sdist_whose_pkg_info_names_another_project_is_refused_before_it_builds(
    deploy: Deploy, index: LoopbackIndex
) -> None:
    sdist = sdist_bytes("honest", "1.0", pkg_info="Metadata-Version: 2.1\nName: other\nVersion: 1.0\n")
    index.add(sdist)
    deploy.write(block(sdist[1], "honest==1.0"))
    result = deploy.install()
    assert result.returncode == 1
    assert deploy.ran() == []
    assert deploy.installed() == {}


_OTHER_BACKEND = '''
import base64, hashlib, os, zipfile
def get_requires_for_build_wheel(config_settings=None):
    return []
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = {wheel_name!r}
    dist, version = {dist!r}, {version!r}
    info = dist + "-" + version + ".dist-info"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as archive:
        rows = []
        files = {{dist + ".py": b"EVIL = True\\n",
                 info + "/METADATA": ("Metadata-Version: 2.1\\nName: %s\\nVersion: %s\\n" % (dist, version)).encode(),
                 info + "/WHEEL": b"Wheel-Version: 1.0\\nGenerator: x\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"}}
        for path, data in files.items():
            archive.writestr(path, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")
            rows.append("%s,sha256=%s,%d" % (path, digest, len(data)))
        rows.append(info + "/RECORD,,")
        archive.writestr(info + "/RECORD", "\\n".join(rows) + "\\n")
    return name
'''


@pytest.mark.parametrize("dist, version", [("evilproj", "1.0"), ("builds", "9.0")])
def test_a_build_that_outputs_a_wheel_of_another_project_or_version_installs_nothing(
    deploy: Deploy, index: LoopbackIndex, dist: str, version: str
) -> None:
    backend = _OTHER_BACKEND.format(wheel_name=f"{dist}-{version}-py3-none-any.whl", dist=dist, version=version)
    sdist = sdist_bytes(
        "builds", "1.0",
        pyproject='[build-system]\nrequires = []\nbuild-backend = "other_backend"\nbackend-path = ["."]\n',
        extra_files={"other_backend.py": backend.encode()},
    )
    index.add(sdist)
    deploy.write(block(sdist[1], "builds==1.0"))
    result = deploy.install()
    assert result.returncode == 1, result.stderr
    assert deploy.installed() == {}
    assert not (deploy.target / f"{dist}.py").exists()


# --- Redirects, self-inclusion, credentials, escapes --------------------------


def test_a_requirements_url_that_redirects_to_a_local_file_reads_nothing(
    tmp_path: Path, index: LoopbackIndex
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-LINE==1.0\n")
    index.hook = lambda h: h.path == "/req.txt" and (
        respond(h, 302, headers={"Location": secret.as_uri()}) or True)
    result = run_peep("install", "-r", f"http://127.0.0.1:{index.port}/req.txt",
                      "--target", str(tmp_path / "t"), "--index-url", index.url)
    assert result.returncode != 0
    assert "TOPSECRET" not in result.stdout + result.stderr
    assert not (tmp_path / "t").exists() or not any((tmp_path / "t").iterdir())


def test_an_archive_redirecting_to_a_local_file_is_refused(deploy: Deploy, index: LoopbackIndex,
                                                             tmp_path: Path) -> None:
    """The vetted wheel sits on the local disk; a redirect must still not reach file:."""
    good = wheel_bytes("redir", "1.0")
    local = tmp_path / good[0]
    local.write_bytes(good[1])
    index.add(good)
    index.hook = lambda h: h.path.startswith("/files/") and (
        respond(h, 302, headers={"Location": local.as_uri()}) or True)
    deploy.write(block(good[1], "redir==1.0"))
    result = deploy.install()
    assert result.returncode == 1
    assert deploy.installed() == {}


def test_a_requirements_file_including_itself_by_url_ends(tmp_path: Path, index: LoopbackIndex) -> None:
    url = f"http://127.0.0.1:{index.port}/loop.txt"
    index.pages["/loop.txt"] = f"-r {url}\n".encode()
    result = run_peep("install", "-r", url, "--target", str(tmp_path / "t"), "--index-url", index.url,
                      timeout=60)
    assert result.returncode in (1, 2), result.stderr
    assert index.requests.count("/loop.txt") <= 2


def test_credentials_in_a_lock_files_url_are_never_printed(tmp_path: Path, index: LoopbackIndex) -> None:
    filename, data = wheel_bytes("locked", "1.0")
    index.add((filename, data))
    url = f"http://alice:hunter2secret@127.0.0.1:{index.port}/files/{filename}"
    lock = tmp_path / "pylock.toml"
    lock.write_text(
        'lock-version = "1.0"\ncreated-by = "x"\n\n[[packages]]\nname = "locked"\nversion = "1.0"\n'
        f'wheels = [{{name = "{filename}", url = "{url}", hashes = {{sha256 = "{"0" * 64}"}}}}]\n'
    )
    for extra in ((), ("-v",)):
        result = run_peep("install", "-r", str(lock), "--target", str(tmp_path / "t"), *extra)
        assert result.returncode == 1, result.stderr
        assert "hunter2secret" not in result.stdout + result.stderr


def test_escape_sequences_from_an_index_never_reach_the_terminal(deploy: Deploy, index: LoopbackIndex) -> None:
    """A yanked reason, a requires-python and a reason phrase chosen by the server."""
    good = wheel_bytes("esc", "1.0")
    index.add(good, yanked="\x1b]0;owned\x07\x1b[2J", requires_python=">=3\x1b[31m")
    index.add(wheel_bytes("esc", "2.0"), yanked="\x1b[31mred")

    def hook(handler: BaseHTTPRequestHandler) -> bool:
        if handler.path.startswith("/simple/other"):
            handler.send_response(503, "Down \x1b[2J\x1b]0;owned\x07")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return True
        return False

    index.hook = hook
    deploy.write(block(good[1], "esc==1.0") + block(b"x", "other==1.0"))
    for extra in ((), ("-v",)):
        result = deploy.install(*extra)
        assert result.returncode == 1
        assert "\x1b" not in result.stdout + result.stderr
        assert "\x07" not in result.stdout + result.stderr


# --- Hashes and the cache ------------------------------------------------------


def test_uppercase_hex_and_sha512_only_hashes_install_the_vetted_file(
    deploy: Deploy, index: LoopbackIndex
) -> None:
    one = wheel_bytes("upper", "1.0")
    two = wheel_bytes("only512", "1.0")
    index.add(one)
    index.add(two)
    deploy.write(_pip_line("upper==1.0", one[1], upper=True) + _pip_line("only512==1.0", two[1], "sha512"))
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"upper": "1.0", "only512": "1.0"}


def test_a_planted_sha512_alias_cannot_swap_a_cached_archive(deploy: Deploy, index: LoopbackIndex) -> None:
    """The cache names evil's sha256 under good's sha512: the evil bytes must not install."""
    good = wheel_bytes("alias", "1.0", payload="GOOD = True\n")
    evil = wheel_bytes("alias", "1.0", payload="EVIL = True\n")
    index.add(evil)
    cache = ["--cache-dir", str(deploy.cache)]
    deploy.write(_pip_line("alias==1.0", evil[1]))  # someone once vetted evil into this cache
    assert deploy.install(*cache).returncode == 0
    import shutil
    shutil.rmtree(deploy.target)
    index.files.clear()
    index.add(good)
    aliases = deploy.cache / "peep-archives" / "sha512"
    aliases.mkdir(parents=True, exist_ok=True)
    (aliases / hashlib.sha512(good[1]).hexdigest()).write_text(sha256_hex(evil[1]))
    deploy.write(_pip_line("alias==1.0", good[1], "sha512"))
    result = deploy.install(*cache)
    assert result.returncode == 0, result.stderr
    assert "GOOD" in (deploy.target / "alias.py").read_text()


def test_peep_hash_of_a_fifo_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "x-1.0-py3-none-any.whl"
    os.mkfifo(fifo)
    result = run_peep("hash", str(fifo), timeout=15)
    assert result.returncode != 0


# --- A verified wheel's start-up hook does not run during peep's own run ------


_LAUNCHER = """
import multiprocessing, sys
multiprocessing.set_start_method(sys.argv.pop(1))
sys.path.insert(0, sys.argv.pop(1))
import peep
sys.exit(peep.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("start_method", [
    "fork",
    "spawn",
    "forkserver",
])
def test_a_verified_wheels_pth_does_not_run_while_peep_installs_and_compiles(
    deploy: Deploy, index: LoopbackIndex, tmp_path: Path, start_method: str
) -> None:
    """Enough modules that peep compiles them in worker processes.

    Python 3.14 starts those workers with forkserver on Linux, and macOS
    with spawn: fresh interpreters, whose site runs the .pth pip just
    installed. The wheel was vetted, so it may install; it must not run
    inside peep.
    """
    hook = (f"import os; d = os.environ.get({TELLTALE_ENV!r}); "
            "d and open(os.path.join(d, 'pth.ran'), 'w').write('ran')\n")
    modules = {f"hooked_mod/m{i}.py": b"X = 1\n" for i in range(80)}
    modules["hooked_mod/__init__.py"] = b""
    modules["zz_hooked.pth"] = hook.encode()
    good = wheel_bytes("hooked", "1.0", extra_files=modules)
    index.add(good)
    deploy.write(block(good[1], "hooked==1.0"))
    venv = make_bare_venv(tmp_path / "venv")
    launcher = tmp_path / "launcher.py"
    launcher.write_text(_LAUNCHER)
    python = str(venv / "bin" / "python")
    result = subprocess.run(
        [python, str(launcher), start_method, str(PEEP.parent), "install", "-r", str(deploy.requirements),
         "--index-url", index.url],
        env=deploy.env(), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert deploy.ran() == [], "the installed .pth ran inside peep's own run"


def test_a_fifo_planted_as_a_record_in_the_target_does_not_hang_install(
    deploy: Deploy, index: LoopbackIndex
) -> None:
    good = wheel_bytes("fifoed", "1.0")
    index.add(good)
    planted = deploy.target / "planted-1.0.dist-info"
    planted.mkdir(parents=True)
    os.mkfifo(planted / "RECORD")
    deploy.write(block(good[1], "fifoed==1.0"))
    result = subprocess.run(
        [sys.executable, str(PEEP), "install", "-r", str(deploy.requirements), "--target",
         str(deploy.target), "--index-url", index.url],
        env=deploy.env(), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode in (0, 1)


_TAMPERING_BACKEND = '''
import os
def _tamper():
    here = os.path.abspath(os.getcwd())
    while here != "/" and not os.path.basename(here).startswith("peep-"):
        here = os.path.dirname(here)
    if here == "/":
        return
    for directory, _, names in os.walk(here):
        for name in names:
            if name.endswith(".whl") and "tamper" not in name:
                print("peep-test-report rewrote", repr(name), flush=True)
                path = os.path.join(directory, name)
                try:
                    os.remove(path)
                    with open(path, "wb") as f:
                        f.write(EVIL)
                except OSError:
                    pass
    for sub in ("verified", "downloads"):
        try:
            os.makedirs(os.path.join(here, sub), exist_ok=True)
            with open(os.path.join(here, sub, EVIL_NAME), "wb") as f:
                f.write(EXTRA)
        except OSError:
            pass
_tamper()
'''


def test_a_build_under_closed_that_rewrites_peeps_verified_files_installs_nothing_unverified(
    deploy: Deploy, index: LoopbackIndex
) -> None:
    """`closed` leaves the file system open: the build rewrites every wheel it finds."""
    victim = wheel_bytes("victim", "1.0", payload="GOOD = True\n")
    _, evil = wheel_bytes("victim", "1.0", payload="EVIL = True\n")
    extra_name, extra = wheel_bytes("stowaway", "1.0")
    code = f"EVIL = {evil!r}\nEVIL_NAME = {extra_name!r}\nEXTRA = {extra!r}\n" + _TAMPERING_BACKEND
    sdist = sdist_bytes("tamper", "1.0", backend_code=code)
    index.add(victim)
    index.add(sdist)
    deploy.write(block(victim[1], "victim==1.0") + block(sdist[1], "tamper==1.0"))
    result = deploy.install("--build-network=closed", "-v")
    assert deploy.ran() == ["tamper-1.0.ran"]
    assert "rewrote" in reports(result.stdout + result.stderr), "the build found nothing to rewrite"
    assert "stowaway" not in deploy.installed()
    if result.returncode == 0:  # peep or pip noticed, and installed the vetted bytes
        assert "GOOD" in (deploy.target / "victim.py").read_text()
    else:  # pip's hash check refused the rewritten file, before installing anything
        assert result.returncode == 1, result.stderr
        assert deploy.installed() == {}
