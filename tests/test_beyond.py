"""What pip does not do: omitted dependencies, release hashing, peep check,
--keep-failed, and port --write/--dry-run."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Dict, List

import pytest
from helpers import (
    Deploy,
    LoopbackIndex,
    block,
    hermetic_env,
    peep_hash,
    run_peep,
    sdist_bytes,
    sha256_hex,
    wheel_bytes,
)

import peep


# --- Omitted dependencies -------------------------------------------------------------


def test_omitted_dependency_is_reported_with_a_paste_ready_block(deploy: Deploy, index: LoopbackIndex) -> None:
    alpha = index.add(wheel_bytes("alpha", "1.0", requires=["beta>=1.0", 'gamma; python_version < "3"']))
    index.add(wheel_bytes("beta", "1.0"))
    newest = index.add(wheel_bytes("beta", "2.0"))
    deploy.write(block(alpha.data, "alpha==1.0"))
    result = deploy.install()
    assert result.returncode == 1
    assert "missing from the requirements files, or pinned there to a version" in result.stderr
    assert f"    beta>=1.0, needed by alpha==1.0 ({deploy.requirements} line 2):\n" in result.stderr
    assert f"        # sha256: {peep_hash(newest.data)}\n        beta==2.0\n" in result.stderr
    assert "gamma" not in result.stderr  # its marker is false here
    assert deploy.installed() == {}


def test_allow_omitted_warns_and_installs(deploy: Deploy, index: LoopbackIndex) -> None:
    alpha = index.add(wheel_bytes("alpha", "1.0", requires=["beta"]))
    index.add(wheel_bytes("beta", "1.0"))
    deploy.write(block(alpha.data, "alpha==1.0"))
    result = deploy.install("--allow-omitted")
    assert result.returncode == 0, result.stderr
    assert "peep: warning (--allow-omitted)" in result.stderr and "beta, needed by alpha==1.0" in result.stderr
    assert "Not proceeding" not in result.stderr
    assert deploy.installed() == {"alpha": "1.0"}


def test_dependencies_met_by_the_set_by_the_target_or_not_by_a_wrong_pin(deploy: Deploy, index: LoopbackIndex) -> None:
    alpha = index.add(wheel_bytes("alpha", "1.0", requires=["beta>=1.0", "delta==3.0"]))
    beta = index.add(wheel_bytes("beta", "1.5"))
    delta = index.add(wheel_bytes("delta", "3.0"))
    deploy.write(block(delta.data, "delta==3.0"))
    assert deploy.install().returncode == 0  # delta now installed in the target
    deploy.write(block(alpha.data, "alpha==1.0") + block(beta.data, "beta==1.5"))
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    old_beta = index.add(wheel_bytes("beta", "0.5"))
    deploy.write(block(alpha.data, "alpha==1.0") + block(old_beta.data, "beta==0.5"))
    result = deploy.install("--force-reinstall")
    assert result.returncode == 1
    assert "beta>=1.0, needed by alpha==1.0" in result.stderr


def test_extras_bring_their_dependencies(deploy: Deploy, index: LoopbackIndex) -> None:
    alpha = index.add(wheel_bytes("alpha", "1.0", requires=['fast; extra == "speed"']))
    index.add(wheel_bytes("fast", "1.0"))
    deploy.write(block(alpha.data, "alpha==1.0"))
    assert deploy.install().returncode == 0
    deploy.write(block(alpha.data, "alpha[speed]==1.0"))
    result = deploy.install("--force-reinstall")
    assert result.returncode == 1
    assert "fast, needed by alpha==1.0" in result.stderr


def test_extras_flow_only_along_dependencies_that_apply(deploy: Deploy, index: LoopbackIndex) -> None:
    # As in real metadata: celery has "kombu[msgpack]; extra == 'msgpack'" and
    # kombu has "msgpack==1.0; extra == 'msgpack'". Without celery[msgpack],
    # msgpack is not needed.
    celery = index.add(wheel_bytes("celery", "1.0", requires=["kombu", 'kombu[msgpack]; extra == "msgpack"']))
    kombu = index.add(wheel_bytes("kombu", "1.0", requires=['msgpack==1.0; extra == "msgpack"']))
    index.add(wheel_bytes("msgpack", "1.0"))
    deploy.write(block(celery.data, "celery==1.0") + block(kombu.data, "kombu==1.0"))
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    deploy.write(block(celery.data, "celery[msgpack]==1.0") + block(kombu.data, "kombu==1.0"))
    result = deploy.install("--force-reinstall")
    assert result.returncode == 1
    assert "msgpack==1.0, needed by kombu==1.0" in result.stderr


@pytest.mark.parametrize(
    ("pkg_info", "checked"),
    [
        ("Metadata-Version: 2.2\nName: beta\nVersion: 2.0\nRequires-Dist: missing-dep\n", True),
        ("Metadata-Version: 2.2\nName: beta\nVersion: 2.0\nDynamic: Requires-Dist\nRequires-Dist: missing-dep\n", False),
        ("Metadata-Version: 2.1\nName: beta\nVersion: 2.0\nRequires-Dist: missing-dep\n", False),
    ],
    ids=["static-2.2", "dynamic", "old-metadata"],
)
def test_sdist_dependencies_only_when_static(deploy: Deploy, index: LoopbackIndex, pkg_info: str, checked: bool) -> None:
    sdist = index.add(sdist_bytes("beta", "2.0", pkg_info=pkg_info))
    deploy.write(block(sdist.data, "beta==2.0"))
    result = deploy.install()
    if checked:
        assert result.returncode == 1
        assert "missing-dep, needed by beta==2.0" in result.stderr
        assert "(no file on the indexes satisfies missing-dep)" in result.stderr
    else:
        assert result.returncode == 0, result.stderr


# --- --keep-failed ------------------------------------------------------------------------


def test_keep_failed_keeps_the_archive_and_a_note(deploy: Deploy, index: LoopbackIndex, tmp_path: Path) -> None:
    evil = index.add(wheel_bytes("alpha", "1.0"))
    deploy.write(block(b"what we vetted", "alpha==1.0"))
    result = deploy.install("--keep-failed", str(tmp_path / "kept"))
    assert result.returncode == 1
    kept = tmp_path / "kept" / "alpha-1.0-py3-none-any.whl"
    assert kept.read_bytes() == evil.data
    note = (tmp_path / "kept" / "alpha-1.0-py3-none-any.whl.peep.txt").read_text()
    assert f"({deploy.requirements} line 2; {index.files_url}alpha-1.0-py3-none-any.whl)" in note
    assert f"alpha: expected {peep_hash(b'what we vetted')}\n" in note
    assert f"got      {peep_hash(evil.data)}\n" in note
    assert deploy.installed() == {}


# --- peep hash NAME==VERSION -----------------------------------------------------------

TAGS = ["py3-none-any", "cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-win_amd64", "cp39-abi3-manylinux_2_17_x86_64"]


@pytest.fixture
def release(index: LoopbackIndex) -> Dict[str, bytes]:
    files = {}
    for tag in TAGS:
        served = index.add(wheel_bytes("alpha", "1.0", tag=tag))
        files[served.filename] = served.data
    served = index.add(sdist_bytes("alpha", "1.0"))
    files[served.filename] = served.data
    index.add(wheel_bytes("alpha", "2.0"))  # another release: never included
    return files


def expected_block(files: Dict[str, bytes], names: List[str]) -> str:
    lines = sorted(f"# sha256: {peep.hex_to_peep(sha256_hex(files[n]))}" for n in names)
    hexes = sorted(sha256_hex(files[n]) for n in names)
    ordered = [f"# sha256: {peep.hex_to_peep(h)}" for h in hexes]
    assert sorted(ordered) == lines
    return "".join(line + "\n" for line in ordered) + "alpha==1.0\n"


def test_hash_release_prints_every_file(index: LoopbackIndex, release: Dict[str, bytes]) -> None:
    result = run_peep("hash", "alpha==1.0", "-i", index.url)
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected_block(release, list(release))
    assert "/files/alpha-2.0-py3-none-any.whl" not in index.requests


@pytest.mark.parametrize(
    ("args", "tags"),
    [
        (["--python-version", "3.10"], ["py3-none-any", "cp39-abi3-manylinux_2_17_x86_64"]),
        (["--python-version", "3.11", "--platform", "win_amd64"], ["py3-none-any", "cp311-cp311-win_amd64"]),
        (["--platform", "manylinux_2_17_x86_64"],
         ["py3-none-any", "cp311-cp311-manylinux_2_17_x86_64", "cp39-abi3-manylinux_2_17_x86_64"]),
    ],
)
def test_hash_release_filters(index: LoopbackIndex, release: Dict[str, bytes], args: List[str], tags: List[str]) -> None:
    result = run_peep("hash", "alpha==1.0", "-i", index.url, *args)
    assert result.returncode == 0, result.stderr
    names = [f"alpha-1.0-{tag}.whl" for tag in tags] + ["alpha-1.0.tar.gz"]
    assert result.stdout == expected_block(release, names)


def test_hash_release_compatible_means_this_interpreter(index: LoopbackIndex, release: Dict[str, bytes]) -> None:
    environment = peep.Environment.current()
    names = ["alpha-1.0.tar.gz"] + [
        f"alpha-1.0-{tag}.whl" for tag in TAGS
        if environment.tag_rank(peep.parse_wheel_filename(f"alpha-1.0-{tag}.whl")[3]) is not None
    ]
    result = run_peep("hash", "alpha==1.0", "-i", index.url, "--compatible")
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected_block(release, names)
    assert "alpha-1.0-cp311-cp311-win_amd64.whl" not in names


def test_hash_release_pip_format(index: LoopbackIndex, release: Dict[str, bytes]) -> None:
    result = run_peep("hash", "alpha==1.0", "-i", index.url, "--format", "pip", "--platform", "none")
    hexes = sorted(sha256_hex(release[n]) for n in ("alpha-1.0-py3-none-any.whl", "alpha-1.0.tar.gz"))
    assert result.stdout == "alpha==1.0" + "".join(f" \\\n    --hash=sha256:{h}" for h in hexes) + "\n"


def test_hash_release_refuses_what_the_index_misdescribes(index: LoopbackIndex, release: Dict[str, bytes]) -> None:
    index.corrupt["alpha-1.0.tar.gz"] = b"swapped after upload"
    result = run_peep("hash", "alpha==1.0", "-i", index.url)
    assert result.returncode == 1
    assert "alpha-1.0.tar.gz: the index says sha256" in result.stderr
    assert "someone may have tampered with it" in result.stderr
    assert peep.hex_to_peep(sha256_hex(b"swapped after upload")) not in result.stdout


@pytest.mark.parametrize("text", ["alpha", "alpha>=1.0", "alpha==1.*"])
def test_hash_release_needs_a_pin(index: LoopbackIndex, text: str) -> None:
    result = run_peep("hash", text, "-i", index.url)
    assert result.returncode == 2
    assert f"{text!r} is neither a file nor a pinned requirement (write NAME==VERSION" in result.stderr


def test_hash_release_not_found(index: LoopbackIndex) -> None:
    result = run_peep("hash", "nothing==1.0", "-i", index.url)
    assert result.returncode == 1
    assert f"no files of nothing==1.0 match; looked in {index.url}nothing/" in result.stderr


# --- peep check ---------------------------------------------------------------------------


@pytest.fixture
def installed_target(deploy: Deploy, index: LoopbackIndex) -> Path:
    alpha = index.add(wheel_bytes("alpha", "1.0"))
    beta = index.add(wheel_bytes("beta", "2.0"))
    deploy.write(block(alpha.data, "alpha==1.0") + block(beta.data, "beta==2.0"))
    assert deploy.install().returncode == 0
    return deploy.target


def check(deploy: Deploy, *args: str) -> subprocess.CompletedProcess:
    return run_peep("check", "-r", str(deploy.requirements), "--target", str(deploy.target), *deploy.finder, *args)


def test_check_passes_on_a_faithful_install(deploy: Deploy, installed_target: Path) -> None:
    result = check(deploy)
    assert result.returncode == 0, result.stderr
    assert "all 2 requirement(s) are installed as written, and every installed file matches its RECORD" in result.stdout


def test_check_reports_missing_and_wrong_versions(deploy: Deploy, installed_target: Path) -> None:
    deploy.write("alpha==2.0\nbeta==2.0\ngamma==1.0\n")
    result = check(deploy)
    assert result.returncode == 1
    assert f"The following requirements are not installed:\n\n    gamma==1.0 ({deploy.requirements} line 3)" in result.stderr
    assert f"    alpha==2.0 ({deploy.requirements} line 1): 1.0 is installed" in result.stderr


def test_check_unlisted_is_an_error_only_when_strict(deploy: Deploy, installed_target: Path) -> None:
    deploy.write("alpha==1.0\n")
    result = check(deploy)
    assert result.returncode == 0
    assert "named by no requirement:\n\n    beta==2.0" in result.stderr
    strict = check(deploy, "--strict")
    assert strict.returncode == 1
    assert "    beta==2.0" in strict.stderr


def test_check_finds_files_changed_after_installation(deploy: Deploy, installed_target: Path) -> None:
    (installed_target / "alpha.py").write_text("import os  # injected\n")
    (installed_target / "beta.py").unlink()
    result = check(deploy)
    assert result.returncode == 1
    assert "no longer match the hashes their distribution recorded at install time" in result.stderr
    assert "    alpha==1.0: alpha.py (sha256 is " in result.stderr
    assert "    beta==2.0: beta.py (missing)" in result.stderr


def test_check_the_running_interpreter(tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text("pip\n")
    result = run_peep("check", "-r", str(tmp_path / "r.txt"))
    assert "The following requirements are not installed" not in result.stderr


# --- port --write and --dry-run --------------------------------------------------------


PEEP_STYLE = f"# top\n# sha256: {peep.hex_to_peep(sha256_hex(b'x'))}\nalpha==1.0  # pinned\n"


def test_port_dry_run_prints_a_diff_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "r.txt"
    path.write_text(PEEP_STYLE)
    result = run_peep("port", "--dry-run", str(path))
    assert result.returncode == 0
    assert result.stdout.startswith(f"--- {path}\n+++ {path} (ported)\n@@ ")
    assert f"-# sha256: {peep.hex_to_peep(sha256_hex(b'x'))}\n" in result.stdout
    assert f"+    --hash=sha256:{sha256_hex(b'x')}  # pinned\n" in result.stdout
    assert path.read_text() == PEEP_STYLE
    assert not (tmp_path / "r.txt.bak").exists()


def test_port_write_keeps_a_backup_and_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "r.txt"
    path.write_text(PEEP_STYLE)
    result = run_peep("port", "--write", str(path))
    assert result.returncode == 0
    assert result.stderr == f"peep port: rewrote {path} (the original is in {path}.bak)\n"
    assert (tmp_path / "r.txt.bak").read_text() == PEEP_STYLE
    assert path.read_text() == f"# top\nalpha==1.0 \\\n    --hash=sha256:{sha256_hex(b'x')}  # pinned\n"
    again = run_peep("port", "--write", str(path))
    assert again.stderr == f"peep port: {path} needs no change\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.txt", "r.txt.bak"]  # no temporary left


def test_port_write_refuses_a_file_it_cannot_rewrite_faithfully(tmp_path: Path) -> None:
    path = tmp_path / "r.txt"
    original = ("# -*- coding: latin-1 -*-\n# café\n" + PEEP_STYLE).encode("latin-1")
    path.write_bytes(original)
    result = run_peep("port", "--write", str(path))
    assert result.returncode == 1
    assert "is not UTF-8, so peep will not rewrite it" in result.stderr
    assert path.read_bytes() == original


def test_port_write_and_dry_run_are_exclusive(tmp_path: Path) -> None:
    result = run_peep("port", "--write", "--dry-run", str(tmp_path / "r.txt"))
    assert result.returncode == 2
    assert "not allowed with argument" in result.stderr


def test_check_needs_a_requirements_file() -> None:
    result = run_peep("check", env=hermetic_env())
    assert result.returncode == 2
    assert "the following arguments are required: -r/--requirement" in result.stderr
