"""PEP 751 lock files: reading, selection, install, check and conversion.

Lock files are written here from fixture archives served on the loopback
index; a few tests compare with what pip 26.x and uv write and install, and
skip when those are not installed.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import pytest
from helpers import (
    Deploy,
    LoopbackIndex,
    Served,
    basic,
    block,
    hermetic_env,
    installed_in,
    peep_hash,
    run_peep,
    sdist_bytes,
    sha256_hex,
    wheel_bytes,
)

import peep

# --- Writing lock files ------------------------------------------------------------


def toml_value(value: Any) -> str:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"


def lock_text(packages: Sequence[Mapping[str, Any]], **top: Any) -> str:
    head = {"lock-version": "1.0", "created-by": "peep-tests", **top}
    lines = [f"{k} = {toml_value(v)}" for k, v in head.items()]
    for package in packages:
        lines += ["", "[[packages]]"] + [f"{k} = {toml_value(v)}" for k, v in package.items()]
    return "\n".join(lines) + "\n"


def file_entry(index: LoopbackIndex, served: Served, **extra: Any) -> Dict[str, Any]:
    entry: Dict[str, Any] = {
        "name": served.filename,
        "url": index.files_url + served.filename,
        "size": len(served.data),
        "hashes": {"sha256": sha256_hex(served.data)},
    }
    entry.update(extra)
    return entry


def package(name: str, version: str, *, wheels: Sequence[Dict[str, Any]] = (), sdist: Optional[Dict[str, Any]] = None, **extra: Any) -> Dict[str, Any]:
    entry: Dict[str, Any] = {"name": name, "version": version}
    entry.update(extra)
    if wheels:
        entry["wheels"] = list(wheels)
    if sdist is not None:
        entry["sdist"] = sdist
    return entry


@pytest.fixture
def lock(tmp_path: Path, index: LoopbackIndex) -> Deploy:
    """A lock file and a --target dir, installed with --no-index unless a test says otherwise."""
    return Deploy(tmp_path, index, requirements="pylock.toml", finder=["--no-index"])


# --- Recognising and reading -------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("pylock.toml", True),
        ("deploy/pylock.prod.toml", True),
        ("https://example.invalid/locks/pylock.toml?x=1", True),
        ("https://example.invalid/locks/pylock.toml#frag", True),
        ("http://[x/pylock.toml", True),  # then "Could not open lock file", not a crash
        ("pylock.a.b.toml", False),
        ("requirements.txt", False),
        ("pylock.toml.txt", False),
        ("mypylock.toml", False),
    ],
)
def test_lock_files_are_known_by_name(location: str, expected: bool) -> None:
    assert peep.is_lock_file(location) is expected


GOOD_WHEEL = {"name": "a-1.0-py3-none-any.whl", "url": "http://127.0.0.1:9/a-1.0-py3-none-any.whl", "hashes": {"sha256": "0" * 64}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('created-by = "x"\npackages = []\n', "Missing required value in 'lock-version'"),
        ('lock-version = "1.0"\npackages = []\n', "Missing required value in 'created-by'"),
        ('lock-version = "2.0"\ncreated-by = "x"\npackages = []\n', "pylock version 2.0 is not supported"),
        ('lock-version = "1.0"\ncreated-by = "x"\npackages = [{name = "a", version = 1}]\n', "'packages[0].version'"),
        ('lock-version = "1.0"\ncreated-by = "x"\npackages = [{name = "a", version = "1.0"}]\n', "Exactly one of vcs, directory, archive"),
        ('lock-version = "1.0"\ncreated-by = "x"\npackages = [{name = "a", wheels = [{name = "a-1.0-py3-none-any.whl"}]}]\n', "'packages[0].wheels[0].hashes'"),
        ("lock-version = \n", "is not valid TOML"),
    ],
)
def test_invalid_lock_files_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "pylock.toml"
    path.write_text(text)
    with pytest.raises(peep.RequirementsFileError) as caught:
        peep.lock_file_requirements(str(path), peep.read_requirements_source)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


# --- Selection ---------------------------------------------------------------------


def selected(tmp_path: Path, packages: Sequence[Mapping[str, Any]], **kw: Any) -> Dict[str, Any]:
    top = kw.pop("top", {})
    path = tmp_path / "pylock.toml"
    path.write_text(lock_text(packages, **top))
    records = peep.lock_file_requirements(str(path), peep.read_requirements_source, peep.LockSelection(**kw))
    return {r.name: (r.unsupported or peep.url_filename(r.url or "")) for r in records}


def wheel(name: str, version: str, tag: str = "py3-none-any") -> Dict[str, Any]:
    filename = f"{name}-{version}-{tag}.whl"
    return {"name": filename, "url": f"http://127.0.0.1:9/{filename}", "hashes": {"sha256": hashlib.sha256(filename.encode()).hexdigest()}}


def sdist(name: str, version: str) -> Dict[str, Any]:
    filename = f"{name}-{version}.tar.gz"
    return {"url": f"http://127.0.0.1:9/{filename}", "hashes": {"sha256": hashlib.sha256(filename.encode()).hexdigest()}}


def test_selection_follows_markers_extras_and_groups(tmp_path: Path) -> None:
    packages = [
        package("a", "1.0", wheels=[wheel("a", "1.0")]),
        package("b", "1.0", wheels=[wheel("b", "1.0")], marker='sys_platform == "no-such-platform"'),
        package("c", "1.0", wheels=[wheel("c", "1.0")], marker="'fast' in extras"),
        package("d", "1.0", wheels=[wheel("d", "1.0")], marker="'dev' in dependency_groups"),
        package("e", "1.0", wheels=[wheel("e", "1.0")], marker="'docs' in dependency_groups"),
    ]
    top = {"extras": ["fast"], "dependency-groups": ["dev", "docs"], "default-groups": ["dev"]}
    assert sorted(selected(tmp_path, packages, top=top)) == ["a", "d"]
    assert sorted(selected(tmp_path, packages, top=top, extras=["fast"], groups=["docs"])) == ["a", "c", "e"]


def test_selection_takes_the_best_wheel_else_the_sdist(tmp_path: Path) -> None:
    packages = [
        package("a", "1.0", wheels=[wheel("a", "1.0", "py2-none-any"), wheel("a", "1.0", "py3-none-any")], sdist=sdist("a", "1.0")),
        package("b", "1.0", wheels=[wheel("b", "1.0", "cp27-cp27m-win32")], sdist=sdist("b", "1.0")),
    ]
    assert selected(tmp_path, packages) == {"a": "a-1.0-py3-none-any.whl", "b": "b-1.0.tar.gz"}


def test_selection_honours_binary_options(tmp_path: Path) -> None:
    packages = [
        package("a", "1.0", wheels=[wheel("a", "1.0")], sdist=sdist("a", "1.0")),
        package("b", "1.0", wheels=[wheel("b", "1.0", "cp27-cp27m-win32")], sdist=sdist("b", "1.0")),
        package("c", "1.0", wheels=[wheel("c", "1.0")]),
    ]
    no_binary = peep.FinderSettings().with_option("no-binary", ":all:")
    assert selected(tmp_path, packages, settings=no_binary) == {
        "a": "a-1.0.tar.gz", "b": "b-1.0.tar.gz", "c": "--no-binary, but the lock has no sdist"}
    only_binary = peep.FinderSettings().with_option("only-binary", "b")
    assert selected(tmp_path, packages, settings=only_binary)["b"] == (
        "--only-binary, but the lock has no wheel for this interpreter")


def test_every_selection_problem_is_kept(tmp_path: Path) -> None:
    packages = [
        package("a", "1.0", wheels=[wheel("a", "1.0", "cp27-cp27m-win32")]),
        package("b", "1.0", wheels=[wheel("b", "1.0")]),
        package("c", "1.0", wheels=[wheel("c", "1.0")], **{"requires-python": "<3"}),
        {"name": "d", "vcs": {"type": "git", "url": "https://127.0.0.1:9/d.git", "commit-id": "0" * 40}},
        {"name": "e", "directory": {"path": "src/e"}},
        package("f", "1.0", wheels=[{**wheel("f", "1.0"), "hashes": {"md5": "0" * 32}}]),
    ]
    found = selected(tmp_path, packages)
    assert found["b"] == "b-1.0-py3-none-any.whl"
    assert "No wheel found matching the provided tags for package 'a' at packages[0]" in found["a"]
    assert "requirement '<3' for package 'c' at packages[2]" in found["c"]
    assert found["d"].startswith("a VCS checkout has no archive to hash")
    assert found["e"].startswith("a local directory has no archive to hash")
    assert found["f"].startswith("its only hashes (md5)")


def test_lock_wide_requirements_stop_everything(tmp_path: Path) -> None:
    with pytest.raises(peep.RequirementsFileError, match="cannot be installed here"):
        selected(tmp_path, [package("a", "1.0", wheels=[wheel("a", "1.0")])], top={"requires-python": "<3"})
    with pytest.raises(peep.RequirementsFileError, match="is ambiguous here"):
        selected(tmp_path, [package("a", "1.0", wheels=[wheel("a", "1.0")]), package("a", "2.0", wheels=[wheel("a", "2.0")])])


def test_a_lock_url_that_does_not_split_is_an_error_not_a_crash(tmp_path: Path) -> None:
    result = run_peep("install", "-r", "http://[x/pylock.toml", "--target", str(tmp_path / "t"), env=hermetic_env())
    assert result.returncode == 1, result.stderr
    assert "http://[x/pylock.toml: Could not open lock file (Invalid IPv6 URL)" in result.stderr


def test_records_are_like_requirements_lines(tmp_path: Path) -> None:
    entry = wheel("a", "1.0")
    (tmp_path / "dist").mkdir()
    path_entry = {"name": "b-2.0-py3-none-any.whl", "path": "dist/b-2.0-py3-none-any.whl", "size": 7, "hashes": {"sha256": "1" * 64, "sha512": "2" * 128}}
    lock_path = tmp_path / "pylock.toml"
    lock_path.write_text(lock_text([package("a", "1.0", wheels=[entry]), package("b", "2.0", wheels=[path_entry])]))
    a, b = peep.lock_file_requirements(str(lock_path), peep.read_requirements_source)
    assert (a.name, a.text, str(a.specifier), a.url, a.hashes.sha256, a.locked) == (
        "a", "a==1.0", "==1.0", entry["url"], frozenset({entry["hashes"]["sha256"]}), True)
    assert str(a.origin) == f"{lock_path}: packages[0].wheels[0]"
    assert b.url == (tmp_path / "dist" / "b-2.0-py3-none-any.whl").as_uri()
    assert (b.size, b.hashes.sha512) == (7, frozenset({"2" * 128}))


def test_without_a_pylock_module_say_what_to_upgrade(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "packaging.pylock", None)
    monkeypatch.setitem(sys.modules, "pip._vendor.packaging.pylock", None)
    path = tmp_path / "pylock.toml"
    path.write_text(lock_text([]))
    assert peep.main(["install", "-r", str(path)]) == peep.EXIT_FAILED
    message = capsys.readouterr().err
    assert "needs packaging 26.1 or newer" in message
    assert "python -m pip install --upgrade \"packaging>=26.1\"" in message
    # pip 26.1, which vendors a packaging that can, needs Python 3.10.
    upgrade_pip = "python -m pip install --upgrade \"pip>=26.1\""
    assert (upgrade_pip in message) == (sys.version_info >= (3, 10))
    assert "Traceback" not in message


# --- Install, end to end -----------------------------------------------------------


def test_install_from_a_lock_builds_only_verified_sdists(lock: Deploy) -> None:
    alpha = lock.index.add(wheel_bytes("alpha", "1.0"))
    beta = lock.index.add(sdist_bytes("beta", "2.0"))
    skipped = lock.index.add(wheel_bytes("gamma", "3.0"))
    lock.write(lock_text([
        package("alpha", "1.0", wheels=[file_entry(lock.index, alpha)]),
        package("beta", "2.0", sdist=file_entry(lock.index, beta)),
        package("gamma", "3.0", wheels=[file_entry(lock.index, skipped)], marker='sys_platform == "nowhere"'),
    ]))
    result = lock.install()
    assert result.returncode == 0, result.stderr
    assert lock.installed() == {"alpha": "1.0", "beta": "2.0"}
    assert lock.ran() == ["beta-2.0.ran"]
    assert sorted(lock.index.file_requests()) == ["/files/alpha-1.0-py3-none-any.whl", "/files/beta-2.0.tar.gz"]


def test_tampered_lock_files_install_nothing_and_report_everything(lock: Deploy) -> None:
    alpha = lock.index.add(wheel_bytes("alpha", "1.0"))
    beta = lock.index.add(sdist_bytes("beta", "2.0"))
    good = lock.index.add(wheel_bytes("delta", "1.0"))
    lock.index.corrupt[alpha.filename] = wheel_bytes("alpha", "1.0", payload="import os  # evil")[1]
    lock.index.corrupt[beta.filename] = sdist_bytes("beta", "2.0", payload="# evil")[1]
    lock.write(lock_text([
        package("alpha", "1.0", wheels=[file_entry(lock.index, alpha)]),
        package("beta", "2.0", sdist=file_entry(lock.index, beta)),
        package("delta", "1.0", wheels=[file_entry(lock.index, good)]),
        {"name": "zeta", "vcs": {"type": "git", "url": "https://127.0.0.1:9/z.git", "commit-id": "0" * 40}},
    ]))
    result = lock.install()
    assert result.returncode == 1
    assert lock.installed() == {}
    assert lock.ran() == []  # the tampered sdist's build code never ran
    # Both tampered files are longer than the lock's size for them.
    assert "could not be fetched" in result.stderr and "larger than" in result.stderr
    for origin in ("packages[0].wheels[0]", "packages[1].sdist", "packages[3]"):
        assert f"pylock.toml: {origin}" in result.stderr
    assert "a VCS checkout has no archive to hash" in result.stderr


def test_a_wrong_size_in_the_lock_is_reported(lock: Deploy) -> None:
    alpha = lock.index.add(wheel_bytes("alpha", "1.0"))
    lock.write(lock_text([package("alpha", "1.0", wheels=[file_entry(lock.index, alpha, size=len(alpha.data) + 1)])]))
    result = lock.install()
    assert result.returncode == 1
    assert f"the lock says {len(alpha.data) + 1} bytes, the file has {len(alpha.data)}" in result.stderr
    assert lock.installed() == {}


def test_a_locks_size_never_lifts_the_download_cap(lock: Deploy, monkeypatch: pytest.MonkeyPatch) -> None:
    """A size caps a lock file's download below the cap on every archive, never above it."""
    monkeypatch.setattr(peep, "MAX_ARCHIVE_BYTES", 1000)
    alpha = lock.index.add(("alpha-1.0-py3-none-any.whl", b"x" * 5000))
    transport = peep.Transport(peep.FinderSettings(), peep.NetworkSettings(retries=0))
    with pytest.raises(peep.TooLarge, match="larger than 1000 bytes"):
        transport.download(lock.index.files_url + alpha.filename, str(lock.root / "a.whl"), (), max_bytes=10**30)


def test_a_cooldown_holds_back_a_locks_files_by_the_upload_time_the_lock_gives(lock: Deploy) -> None:
    """As in pip 26: under --uploaded-prior-to a lock's wheel or sdist installs only if the lock
    says it was uploaded before then (a hash pins a hijacked upload as faithfully as a good one)."""
    utc = datetime.timezone.utc
    alpha = lock.index.add(wheel_bytes("alpha", "1.0"))
    beta = lock.index.add(sdist_bytes("beta", "2.0"))
    gamma = lock.index.add(wheel_bytes("gamma", "3.0"))
    lock.write(lock_text([
        package("alpha", "1.0", wheels=[file_entry(lock.index, alpha, **{"upload-time": datetime.datetime(2026, 3, 1, tzinfo=utc)})]),
        package("beta", "2.0", sdist=file_entry(lock.index, beta, **{"upload-time": datetime.datetime(2026, 3, 24, 10, 39, tzinfo=utc)})),
        package("gamma", "3.0", wheels=[file_entry(lock.index, gamma)]),
    ]))
    result = lock.install("--uploaded-prior-to", "2026-03-10T00:00:00Z")
    assert result.returncode == 1
    assert "packages[1].sdist):\n        upload-time 2026-03-24 10:39:00+00:00 is not before --uploaded-prior-to" in result.stderr
    assert "packages[2].wheels[0]):\n        upload-time (none in the lock) is not before --uploaded-prior-to" in result.stderr
    assert "packages[0]" not in result.stderr
    assert lock.ran() == [] and lock.installed() == {}
    python = pip_with_locks()
    if python is not None:  # pip 26 refuses the lock too (at the first of those two files)
        pip = subprocess.run([python, "-m", "pip", "install", "-r", str(lock.requirements), "--target", str(lock.root / "by-pip"),
                              "--no-index", "--uploaded-prior-to", "2026-03-10T00:00:00Z"], capture_output=True, text=True, env=hermetic_env(), check=False)
        assert pip.returncode == 1 and re.search("not prior to|does not provide upload-time", pip.stderr), pip.stderr


def test_warm_lock_install_makes_no_request(lock: Deploy, tmp_path: Path) -> None:
    alpha = lock.index.add(wheel_bytes("alpha", "1.0"))
    beta = lock.index.add(sdist_bytes("beta", "2.0"))
    lock.write(lock_text([
        package("alpha", "1.0", wheels=[file_entry(lock.index, alpha)]),
        package("beta", "2.0", sdist=file_entry(lock.index, beta)),
    ]))
    cold = lock.install("--cache-dir", str(lock.cache))
    assert cold.returncode == 0, cold.stderr
    seen = len(lock.index.requests)
    lock.target = tmp_path / "target2"
    warm = lock.install("--cache-dir", str(lock.cache))
    assert warm.returncode == 0, warm.stderr
    assert lock.installed() == {"alpha": "1.0", "beta": "2.0"}
    assert len(lock.index.requests) == seen


def test_paths_are_relative_to_the_lock_file(tmp_path: Path, index: LoopbackIndex) -> None:
    deploy = Deploy(tmp_path, index, requirements="deploy/pylock.prod.toml")
    (tmp_path / "deploy" / "dist").mkdir(parents=True)
    filename, data = wheel_bytes("alpha", "1.0")
    (tmp_path / "deploy" / "dist" / filename).write_bytes(data)
    deploy.write(lock_text([package("alpha", "1.0", wheels=[{"path": f"dist/{filename}", "hashes": {"sha256": sha256_hex(data)}}])]))
    result = run_peep("install", "-r", "deploy/pylock.prod.toml", "--target", str(deploy.target), "--no-index", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"alpha": "1.0"}


def test_an_archive_entry_installs_as_a_url_requirement_does(lock: Deploy) -> None:
    """pip records a lock's archive entry as the URL it came from, and peep reinstalls a URL
    archive with new content at the same version: an archive is no index file."""
    first = lock.index.add(wheel_bytes("alpha", "1.0", payload="FLAVOR = 'first'\n"))
    second = lock.index.add(wheel_bytes("alpha", "1.0", tag="py2.py3-none-any", payload="FLAVOR = 'second'\n"))
    for served in (first, second):
        entry = {k: v for k, v in file_entry(lock.index, served).items() if k != "name"}
        lock.write(lock_text([{"name": "alpha", "version": "1.0", "archive": entry}]))
        result = lock.install("--upgrade")  # (under --target, what pip replaces)
        assert result.returncode == 0, result.stderr
        assert "already installed" not in result.stderr
    assert "FLAVOR = 'second'" in (lock.target / "alpha.py").read_text()
    digest = sha256_hex(second.data)
    assert json.loads((lock.target / "alpha-1.0.dist-info" / "direct_url.json").read_text()) == {
        "archive_info": {"hash": f"sha256={digest}", "hashes": {"sha256": digest}},
        "url": f"{lock.index.files_url}{second.filename}"}


def test_an_archive_subdirectory_is_refused_not_built_from_the_archive_root(lock: Deploy) -> None:
    """pip and uv build the project in an archive's subdirectory; peep would build its root."""
    inner = b'[project]\nname = "alpha"\nversion = "1.0"\n'
    monorepo = lock.index.add(sdist_bytes("alpha", "1.0", extra_files={"sub/pyproject.toml": inner}))
    archive = {**file_entry(lock.index, monorepo), "subdirectory": "sub"}
    del archive["name"]
    lock.write(lock_text([{"name": "alpha", "version": "1.0", "archive": archive}]))
    result = lock.install()
    assert result.returncode == 1
    assert "pylock.toml: packages[0].archive" in result.stderr
    assert "peep builds an archive from its root, not from its subdirectory 'sub'" in result.stderr
    assert lock.ran() == [] and lock.installed() == {}


def test_a_lock_and_a_requirements_file_together(lock: Deploy, tmp_path: Path) -> None:
    # The lock holds an sdist; its build dependency is vetted in a requirements file.
    tool = lock.index.add(wheel_bytes("buildtool", "1.0"))
    beta = lock.index.add(sdist_bytes("beta", "2.0", build_requires=["buildtool"]))
    lock.write(lock_text([package("beta", "2.0", sdist=file_entry(lock.index, beta))]))
    alone = lock.install("-i", lock.index.url, finder=())
    assert alone.returncode == 1
    assert "buildtool" in alone.stderr and lock.ran() == []
    build = tmp_path / "build.txt"
    build.write_text(block(tool.data, "buildtool==1.0"))
    both = lock.install("-r", str(build), "-i", lock.index.url, finder=())
    assert both.returncode == 0, both.stderr
    assert lock.installed() == {"beta": "2.0", "buildtool": "1.0"}


def test_a_lock_file_by_url(lock: Deploy) -> None:
    alpha = lock.index.add(wheel_bytes("alpha", "1.0"))
    text = lock_text([package("alpha", "1.0", wheels=[{"name": alpha.filename, "path": f"../files/{alpha.filename}", "hashes": {"sha256": sha256_hex(alpha.data)}}])])
    lock.index.pages["/locks/pylock.toml"] = text.encode()
    url = lock.index.files_url.replace("/files/", "/locks/pylock.toml")
    result = run_peep("install", "-r", url, "--target", str(lock.target), "--no-index")
    assert result.returncode == 0, result.stderr
    assert lock.installed() == {"alpha": "1.0"}
    assert lock.index.file_requests() == [f"/files/{alpha.filename}"]


def test_pips_vendored_pylock_serves_when_the_top_level_one_cannot(monkeypatch: pytest.MonkeyPatch) -> None:
    import packaging.pylock as real

    class Old:  # packaging 25.x: a reader, but no selection
        class Pylock:
            pass

    monkeypatch.setitem(sys.modules, "packaging.pylock", Old)
    monkeypatch.setitem(sys.modules, "pip._vendor.packaging.pylock", real)
    assert peep.pylock_module() is real


# --- peep check ---------------------------------------------------------------------


def test_check_an_environment_against_its_lock(lock: Deploy) -> None:
    alpha = lock.index.add(wheel_bytes("alpha", "1.0"))
    beta = lock.index.add(wheel_bytes("beta", "2.0"))
    lock.write(lock_text([package("alpha", "1.0", wheels=[file_entry(lock.index, alpha)]),
                          package("beta", "2.0", wheels=[file_entry(lock.index, beta)])]))
    assert lock.install().returncode == 0
    check = ["check", "-r", str(lock.requirements), "--target", str(lock.target)]
    ok = run_peep(*check)
    assert ok.returncode == 0, ok.stderr
    assert "all 2 requirement(s) are installed as written" in ok.stdout
    (lock.target / "alpha.py").write_text("changed after installation\n")
    newer = lock.index.add(wheel_bytes("beta", "3.0"))
    gamma = lock.index.add(wheel_bytes("gamma", "1.0"))
    lock.write(lock_text([package("alpha", "1.0", wheels=[file_entry(lock.index, alpha)]),
                          package("beta", "3.0", wheels=[file_entry(lock.index, newer)]),
                          package("gamma", "1.0", wheels=[file_entry(lock.index, gamma)])]))
    bad = run_peep(*check)
    assert bad.returncode == 1
    assert "beta==3.0 (" in bad.stderr and "2.0 is installed" in bad.stderr
    assert "gamma==1.0 (" in bad.stderr and "pylock.toml: packages[2].wheels[0]" in bad.stderr
    assert "alpha.py (sha256 is" in bad.stderr
    lock.write(lock_text([package("alpha", "1.0", wheels=[file_entry(lock.index, alpha)])]))
    strict = run_peep(*check, "--strict")
    assert strict.returncode == 1 and "beta==2.0" in strict.stderr


# --- peep port, both ways -------------------------------------------------------------


def test_port_a_lock_to_a_requirements_file_pip_installs(lock: Deploy, tmp_path: Path) -> None:
    alpha_wheel = lock.index.add(wheel_bytes("alpha", "1.0"))
    alpha_sdist = lock.index.add(sdist_bytes("alpha", "1.0"))
    beta = lock.index.add(wheel_bytes("beta", "2.0"))
    lock.write(lock_text([
        package("alpha", "1.0", wheels=[file_entry(lock.index, alpha_wheel)], sdist=file_entry(lock.index, alpha_sdist)),
        package("beta", "2.0", wheels=[file_entry(lock.index, beta)], marker='python_version >= "3"'),
    ], **{"requires-python": ">=3.9"}))
    result = run_peep("port", str(lock.requirements))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [
        "# The lock requires Python >=3.9.",
        "alpha==1.0 \\",
        f"    --hash=sha256:{sha256_hex(alpha_wheel.data)} \\",
        f"    --hash=sha256:{sha256_hex(alpha_sdist.data)}",
        'beta==2.0 ; python_version >= "3" \\',
        f"    --hash=sha256:{sha256_hex(beta.data)}",
    ]
    ported = tmp_path / "requirements.txt"
    ported.write_text(result.stdout)
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--require-hashes", "--no-deps", "-r", str(ported),
         "--target", str(lock.target), "--index-url", lock.index.url, "--only-binary", ":all:"],
        env=hermetic_env(), capture_output=True, text=True, check=False)
    assert pip.returncode == 0, pip.stderr
    assert lock.installed() == {"alpha": "1.0", "beta": "2.0"}


def test_port_names_every_package_a_requirements_file_cannot_hold(lock: Deploy) -> None:
    alpha = lock.index.add(wheel_bytes("alpha", "1.0"))
    lock.write(lock_text([
        {"name": "zeta", "vcs": {"type": "git", "url": "https://127.0.0.1:9/z.git", "commit-id": "0" * 40}},
        package("alpha", "1.0", wheels=[file_entry(lock.index, alpha)], marker="'dev' in dependency_groups"),
    ]))
    result = run_peep("port", str(lock.requirements))
    assert result.returncode == 1
    assert "packages[0] (zeta): a VCS checkout" in result.stderr
    assert "packages[1] (alpha): its marker" in result.stderr
    assert result.stdout == ""


def test_port_requirements_to_a_lock_that_installs(lock: Deploy, tmp_path: Path) -> None:
    alpha_wheel = lock.index.add(wheel_bytes("alpha", "1.0"))
    alpha_sdist = lock.index.add(sdist_bytes("alpha", "1.0"), advertise_hash=False)
    lock.index.add(wheel_bytes("alpha", "1.0", tag="py2-none-any"))  # not vetted: not locked
    beta = lock.index.add(wheel_bytes("beta", "2.0"))
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        f"# sha256: {peep_hash(alpha_sdist.data)}\n" + block(alpha_wheel.data, "alpha==1.0")
        + f'beta==2.0 ; python_version >= "3" --hash=sha256:{sha256_hex(beta.data)}\n'
    )
    result = run_peep("port", "--to", "pylock", str(requirements), "-i", lock.index.url,
                      "-o", str(lock.requirements), "--no-cache-dir")
    assert result.returncode == 0, result.stderr
    from packaging.pylock import Pylock
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib  # type: ignore[no-redef]
    document = tomllib.loads(lock.requirements.read_text())
    parsed = Pylock.from_dict(document)
    alpha, beta_entry = parsed.packages
    assert [w.name for w in alpha.wheels or ()] == [alpha_wheel.filename]
    assert alpha.sdist is not None and alpha.sdist.size == len(alpha_sdist.data)
    assert alpha.sdist.url == lock.index.files_url + alpha_sdist.filename
    assert str(beta_entry.marker) == 'python_version >= "3"'
    installed = lock.install()
    assert installed.returncode == 0, installed.stderr
    assert lock.installed() == {"alpha": "1.0", "beta": "2.0"}


def test_port_to_a_lock_takes_from_the_cache_only_files_the_requirement_vouches_for(
        index: LoopbackIndex, tmp_path: Path) -> None:
    """A cache entry is re-hashed and held to the requirement's hashes, as a download is: a
    forged sha512 alias naming an unvetted wheel must not put that wheel in the lock."""
    wheel = index.add(wheel_bytes("alpha", "1.0"), advertise_hash=False)  # never vetted
    sdist = index.add(sdist_bytes("alpha", "1.0"), advertise_hash=False)
    vetted = hashlib.sha512(sdist.data).hexdigest()
    (tmp_path / wheel.filename).write_bytes(wheel.data)
    cache = peep.ArchiveCache(str(tmp_path / "cache"), print)
    cache.store(str(tmp_path / wheel.filename), wheel.filename,
                {"sha256": sha256_hex(wheel.data), "sha512": vetted}, {})  # the forged alias
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"alpha==1.0 --hash=sha512:{vetted}\n")
    env = hermetic_env(PIP_CACHE_DIR=str(tmp_path / "cache"))
    del env["PIP_NO_CACHE_DIR"]
    result = run_peep("port", "--to", "pylock", str(requirements), "-i", index.url, env=env)
    assert result.returncode == 0, result.stderr
    assert sdist.filename in result.stdout
    assert wheel.filename not in result.stdout and sha256_hex(wheel.data) not in result.stdout


def cache_only_from_the_environment(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    """For peep run in this process: no pip configuration or PIP_* but this cache directory."""
    for key in list(os.environ):
        if key.startswith("PIP_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_CACHE_DIR", str(cache))


@pytest.mark.parametrize("linked", [False, True])
def test_port_to_a_lock_reads_a_cached_file_never_through_a_link(
        index: LoopbackIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], linked: bool) -> None:
    """The cache's lookup found a regular file; a link put in its place since is not read: the
    file is fetched again instead (a link could lead anywhere, and reading it is not peep's)."""
    sdist = index.add(sdist_bytes("alpha", "1.0"), advertise_hash=False)
    (tmp_path / sdist.filename).write_bytes(sdist.data)
    cache = peep.ArchiveCache(str(tmp_path / "cache"), print)
    cache.store(str(tmp_path / sdist.filename), sdist.filename,
                {"sha256": sha256_hex(sdist.data)}, {})
    outside = tmp_path / "outside"
    outside.write_bytes(sdist.data)
    lookup = peep.ArchiveCache.lookup

    def swapped(self: peep.ArchiveCache, hashes: peep.Hashes) -> Any:
        found = lookup(self, hashes)
        for _, path, _ in found if linked else ():
            os.remove(path)
            os.symlink(outside, path)
        return found

    monkeypatch.setattr(peep.ArchiveCache, "lookup", swapped)
    cache_only_from_the_environment(monkeypatch, tmp_path / "cache")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"alpha==1.0 --hash=sha256:{sha256_hex(sdist.data)}\n")
    assert peep.main(["port", "--to", "pylock", str(requirements), "-i", index.url]) == 0
    assert f"size = {len(sdist.data)}" in capsys.readouterr().out
    assert index.file_requests() == (["/files/" + sdist.filename] if linked else [])


def test_port_to_a_lock_leaves_no_cached_file_open(
        index: LoopbackIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A cached archive of the right hash but under another file name is not the one locked:
    it is passed over, and closed, and the file is fetched by its own name."""
    import gc
    import warnings

    sdist = index.add(sdist_bytes("alpha", "1.0"), advertise_hash=False)
    (tmp_path / "elsewhere.tar.gz").write_bytes(sdist.data)
    cache = peep.ArchiveCache(str(tmp_path / "cache"), print)
    cache.store(str(tmp_path / "elsewhere.tar.gz"), "elsewhere.tar.gz",
                {"sha256": sha256_hex(sdist.data)}, {})
    cache_only_from_the_environment(monkeypatch, tmp_path / "cache")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"alpha==1.0 --hash=sha256:{sha256_hex(sdist.data)}\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert peep.main(["port", "--to", "pylock", str(requirements), "-i", index.url]) == 0
        gc.collect()
    assert f"size = {len(sdist.data)}" in capsys.readouterr().out
    assert index.file_requests() == ["/files/" + sdist.filename]
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert not [text for text in unclosed if "unclosed file" in text], unclosed


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("alpha>=1.0 --hash=sha256:{wheel}", "is not pinned"),
        ("alpha==1.0", "has no hash"),
        ("alpha==1.0 --hash=sha256:{other}", "no index or find-links serves a file with hash sha256:{other}"),
        ("-e ./src", "editable"),
    ],
)
def test_port_to_a_lock_names_the_line(index: LoopbackIndex, tmp_path: Path, line: str, message: str) -> None:
    served = index.add(wheel_bytes("alpha", "1.0"))
    other = sha256_hex(b"nothing serves this")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(line.format(wheel=sha256_hex(served.data), other=other) + "\n")
    result = run_peep("port", "--to", "pylock", str(requirements), "-i", index.url)
    assert result.returncode == 1
    assert f"{requirements} line 1" in result.stderr
    assert message.format(other=other) in result.stderr
    assert result.stdout == ""


# --- Mirrors --------------------------------------------------------------------------


def unreachable(served: Served) -> Dict[str, Any]:
    """A lock entry whose URL nothing answers (port 9 on loopback is closed)."""
    return {"name": served.filename, "url": f"http://127.0.0.1:9/files/{served.filename}",
            "size": len(served.data), "hashes": {"sha256": sha256_hex(served.data)}}


def test_a_configured_mirror_serves_the_lock_by_file_name(lock: Deploy) -> None:
    alpha = lock.index.add(wheel_bytes("alpha", "1.0"))
    beta = lock.index.add(sdist_bytes("beta", "2.0"), advertise_hash=False)
    lock.write(lock_text([package("alpha", "1.0", wheels=[unreachable(alpha)]),
                          package("beta", "2.0", sdist=unreachable(beta))]))
    result = lock.install("-i", lock.index.url, finder=())
    assert result.returncode == 0, result.stderr
    assert lock.installed() == {"alpha": "1.0", "beta": "2.0"}
    assert sorted(lock.index.file_requests()) == [f"/files/{alpha.filename}", f"/files/{beta.filename}"]


def test_find_links_serve_as_a_mirror_too(lock: Deploy, tmp_path: Path) -> None:
    filename, data = wheel_bytes("alpha", "1.0")
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels" / filename).write_bytes(data)
    served = Served("alpha", filename, data)
    lock.write(lock_text([package("alpha", "1.0", wheels=[unreachable(served)])]))
    result = lock.install("--find-links", str(tmp_path / "wheels"))
    assert result.returncode == 0, result.stderr
    assert lock.installed() == {"alpha": "1.0"}


def test_a_mirror_serving_other_bytes_fails_the_install(lock: Deploy, other_index: LoopbackIndex) -> None:
    alpha = other_index.add(wheel_bytes("alpha", "1.0"))
    lock.index.add((alpha.filename, wheel_bytes("alpha", "1.0", payload="# evil")[1]), advertise_hash=False)
    lock.write(lock_text([package("alpha", "1.0", wheels=[file_entry(other_index, alpha)])]))
    result = lock.install("-i", lock.index.url, finder=())
    assert result.returncode == 1
    assert "larger than" in result.stderr and lock.installed() == {}  # than the lock's size
    assert other_index.file_requests() == []  # tampering is reported, not routed around


def test_a_mirror_without_the_file_leaves_the_lock_url(lock: Deploy, other_index: LoopbackIndex) -> None:
    alpha = other_index.add(wheel_bytes("alpha", "1.0"))
    lock.index.add(wheel_bytes("alpha", "1.0", tag="py2-none-any"))  # another file only
    lock.write(lock_text([package("alpha", "1.0", wheels=[file_entry(other_index, alpha)])]))
    result = lock.install("-i", lock.index.url, finder=())
    assert result.returncode == 0, result.stderr
    assert lock.index.file_requests() == [] and other_index.file_requests() == [f"/files/{alpha.filename}"]


# --- Real lock files: pip lock and uv, compared with pip's own install ----------------------


def _pip_version(python: str) -> Optional[Tuple[int, int]]:
    result = subprocess.run([python, "-m", "pip", "--version"], capture_output=True, text=True, env=hermetic_env(), check=False)
    match = re.match(r"pip (\d+)\.(\d+)", result.stdout)
    return (int(match.group(1)), int(match.group(2))) if match else None


@functools.lru_cache(maxsize=None)
def pip_with_locks() -> Optional[str]:
    """A Python whose pip reads and writes lock files (26.1+), if there is one."""
    for python in (sys.executable, os.environ.get("PEEP_TEST_PIP26_PYTHON")):
        if python and (_pip_version(python) or (0, 0)) >= (26, 1):
            return python
    return None


def uv_executable() -> Optional[str]:
    found = os.environ.get("PEEP_TEST_UV") or shutil.which("uv")
    python = pip_with_locks()
    if found is None and python is not None:
        beside = Path(python).parent / "uv"
        found = str(beside) if beside.exists() else None
    return found


needs_pip26 = pytest.mark.skipif(pip_with_locks() is None, reason="needs pip>=26.1 (or PEEP_TEST_PIP26_PYTHON)")


def fixture_project(index: LoopbackIndex) -> None:
    """A small project whose resolution forks on the Python version."""
    index.add(wheel_bytes("alpha", "1.0", requires=['beta<2; python_version < "3.10"', 'beta>=2; python_version >= "3.10"', "gamma"]))
    index.add(wheel_bytes("beta", "1.5"))
    index.add(wheel_bytes("beta", "2.0"))
    index.add(sdist_bytes("beta", "2.0"))
    index.add(wheel_bytes("gamma", "1.0"))


def same_install_as_pip(lock_path: Path, tmp_path: Path) -> Dict[str, str]:
    """Install a lock with peep and with pip 26; return what both installed."""
    python = pip_with_locks()
    assert python is not None
    by_peep, by_pip = tmp_path / "by-peep", tmp_path / "by-pip"
    ours = run_peep("install", "-r", str(lock_path), "--target", str(by_peep), "--no-index")
    assert ours.returncode == 0, ours.stderr
    theirs = subprocess.run([python, "-m", "pip", "install", "-r", str(lock_path), "--target", str(by_pip), "--no-index"],
                            capture_output=True, text=True, env=hermetic_env(), check=False)
    assert theirs.returncode == 0, theirs.stderr
    assert installed_in(by_peep) == installed_in(by_pip)
    files = {p.relative_to(by_peep).as_posix() for p in by_peep.rglob("*.py")}
    assert files == {p.relative_to(by_pip).as_posix() for p in by_pip.rglob("*.py")}
    return installed_in(by_peep)


@needs_pip26
def test_a_lock_written_by_pip_installs_as_pip_installs_it(index: LoopbackIndex, tmp_path: Path) -> None:
    python = pip_with_locks()
    assert python is not None
    fixture_project(index)
    (tmp_path / "requirements.in").write_text("alpha==1.0\n")
    lock_path = tmp_path / "pylock.toml"
    written = subprocess.run([python, "-m", "pip", "lock", "-r", str(tmp_path / "requirements.in"), "--index-url", index.url, "-o", str(lock_path)],
                             capture_output=True, text=True, env=hermetic_env(), check=False)
    assert written.returncode == 0, written.stderr
    assert same_install_as_pip(lock_path, tmp_path) == {"alpha": "1.0", "beta": "2.0", "gamma": "1.0"}


@needs_pip26
@pytest.mark.skipif(uv_executable() is None, reason="needs uv (or PEEP_TEST_UV)")
def test_a_universal_lock_written_by_uv_installs_as_pip_installs_it(index: LoopbackIndex, tmp_path: Path) -> None:
    fixture_project(index)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for served in index.files:
        (wheels / served.filename).write_bytes(served.data)
    (tmp_path / "requirements.in").write_text("alpha==1.0\n")
    lock_path = tmp_path / "pylock.toml"
    env = hermetic_env(UV_NO_CONFIG="1", UV_CACHE_DIR=str(tmp_path / "uv-cache"))
    written = subprocess.run([str(uv_executable()), "pip", "compile", str(tmp_path / "requirements.in"), "--format", "pylock.toml", "--universal",
                              "--python-version", "3.9", "--no-index", "--find-links", str(wheels), "-o", str(lock_path)],
                             capture_output=True, text=True, env=env, check=False)
    assert written.returncode == 0, written.stderr
    text = lock_path.read_text()
    assert text.count('name = "beta"') == 2  # one per fork, each with its marker
    lock_path.write_text(text.replace(wheels.as_uri() + "/", index.files_url))  # serve it from loopback
    assert same_install_as_pip(lock_path, tmp_path) == {"alpha": "1.0", "beta": "2.0", "gamma": "1.0"}
    assert sorted(set(index.file_requests())) == sorted(f"/files/{n}" for n in ("alpha-1.0-py3-none-any.whl", "beta-2.0-py3-none-any.whl", "gamma-1.0-py3-none-any.whl"))


def test_hostile_lock_entries_are_reported_not_crashed_on(tmp_path: Path) -> None:
    bad_hex = package("a", "1.0", wheels=[{**wheel("a", "1.0"), "hashes": {"sha256": "not hex"}}])
    assert "is not a sha256 hash" in selected(tmp_path, [bad_hex])["a"]
    odd_marker = package("b", "1.0", wheels=[wheel("b", "1.0")], marker='python_version ~= "3"')
    with pytest.raises(peep.RequirementsFileError, match="cannot be evaluated here"):
        selected(tmp_path, [odd_marker])
    # With another package's problem first, each is selected alone: the odd one is reported too.
    old_python = package("c", "1.0", wheels=[wheel("c", "1.0")], **{"requires-python": "<3"})
    found = selected(tmp_path, [old_python, odd_marker])
    assert "requirement '<3' for package 'c' at packages[0]" in found["c"]
    assert found["b"].startswith("packages[1] cannot be evaluated here (")


# --- peep port: only vouched-for digests, no line injection, no credentials in a lock ---------


def test_port_to_a_lock_keeps_only_the_digests_the_requirement_vouches_for(index: LoopbackIndex, tmp_path: Path) -> None:
    """An index advertising the vetted sha256 beside another file's sha512 must not get that
    sha512 into the lock: an install from the lock accepts any one of a file's hashes."""
    good_name, good = wheel_bytes("alpha", "1.0")
    evil = hashlib.sha512(wheel_bytes("alpha", "1.0", payload="EVIL = True\n")[1]).hexdigest()
    page = {"meta": {"api-version": "1.0"}, "name": "alpha", "files": [{
        "filename": good_name, "url": f"../../files/{good_name}",
        "hashes": {"sha256": sha256_hex(good), "sha512": evil}}]}

    def hook(handler: Any) -> bool:
        if handler.path.split("?")[0] != "/simple/alpha/":
            return False
        from helpers import JSON_TYPE, respond
        respond(handler, 200, json.dumps(page).encode(), {"Content-Type": JSON_TYPE})
        return True

    index.hook = hook
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"alpha==1.0 --hash=sha256:{sha256_hex(good)}\n")
    result = run_peep("port", "--to", "pylock", str(requirements), "-i", index.url)
    assert result.returncode == 0, result.stderr
    assert sha256_hex(good) in result.stdout
    assert evil not in result.stdout and "sha512" not in result.stdout


@pytest.mark.parametrize(
    "archive",
    [
        {"url": "http://127.0.0.1:1/demo-1.0.tar.gz --hash=sha256:" + "b" * 64 + "\n-i http://127.0.0.1:2/evil/\n#", "hashes": {"sha256": "a" * 64}},
        {"url": "http://127.0.0.1:1/demo-1.0.tar.gz#sha256=" + "b" * 64, "hashes": {"sha256": "a" * 64}},
        {"url": "http://127.0.0.1:1/demo-1.0.tar.gz\x1b[2K", "hashes": {"sha256": "a" * 64}},
        {"url": "http://127.0.0.1:1/demo-1.0.tar.gz", "hashes": {"sha256": "a" * 64 + "\n-i http://127.0.0.1:2/evil/"}},
        # Not a line too many, but a line that would install the archive's root, not "sub".
        {"url": "http://127.0.0.1:1/demo-1.0.tar.gz", "hashes": {"sha256": "a" * 64}, "subdirectory": "sub"},
    ],
)
def test_port_a_lock_refuses_urls_and_hashes_that_would_add_lines(tmp_path: Path, archive: Dict[str, Any]) -> None:
    path = tmp_path / "pylock.toml"
    path.write_text(lock_text([{"name": "demo", "version": "1.0", "archive": archive}]))
    result = run_peep("port", str(path))
    assert result.returncode == 1
    assert "packages[0] (demo): " in result.stderr
    assert result.stdout == ""


def test_port_a_lock_checks_every_wheels_hash(tmp_path: Path) -> None:
    forged = {**wheel("demo", "1.0"), "hashes": {"sha256": "a" * 64 + "\nextra==6.6 --hash=sha256:" + "b" * 64}}
    path = tmp_path / "pylock.toml"
    path.write_text(lock_text([package("demo", "1.0", wheels=[forged])]))
    result = run_peep("port", str(path))
    assert result.returncode == 1
    assert "packages[0] (demo): " in result.stderr and "is not a sha256 hash" in result.stderr
    assert result.stdout == ""


def test_port_to_a_lock_writes_no_credentials_of_a_url_requirement(index: LoopbackIndex, tmp_path: Path) -> None:
    served = index.add(wheel_bytes("alpha", "1.0"))
    index.auth = basic("tok", "s3cr3tT0ken")  # still sent to fetch it
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"alpha @ http://tok:${{MYTOKEN}}@127.0.0.1:{index.port}/files/{served.filename}"
                            f" --hash=sha256:{sha256_hex(served.data)}\n")
    result = run_peep("port", "--to", "pylock", str(requirements), "--no-cache-dir",
                      env=hermetic_env(MYTOKEN="s3cr3tT0ken"))
    assert result.returncode == 0, result.stderr
    assert f'url = "{index.files_url}{served.filename}"' in result.stdout
    assert "s3cr3tT0ken" not in result.stdout and "tok:" not in result.stdout
