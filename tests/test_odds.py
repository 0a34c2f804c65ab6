"""Port to a lock for releases of many files, hash lines in the file's own format, and
build dependencies locked into a --build-constraint file, all against a loopback index."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

from helpers import (
    Deploy,
    LoopbackIndex,
    block,
    peep_hash,
    run_peep,
    sdist_bytes,
    sha256_hex,
    wheel_bytes,
)

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib  # type: ignore[no-redef]


# --- port --to pylock: every vouched file of a release of many files -------------------

PLATFORMS = [
    "manylinux_2_17_x86_64", "manylinux_2_17_aarch64", "manylinux_2_28_ppc64le",
    "manylinux_2_28_s390x", "musllinux_1_1_x86_64", "musllinux_1_1_aarch64",
    "macosx_10_9_x86_64", "macosx_11_0_arm64", "win32", "win_amd64", "win_arm64", "any",
]
BIG_WHEELS = [wheel_bytes("big", "1.0", tag=f"py3-none-{platform}") for platform in PLATFORMS]
BIG_SDIST = sdist_bytes("big", "1.0")
UNADVERTISED = {BIG_WHEELS[0][0], BIG_WHEELS[7][0], BIG_SDIST[0]}


def port_big_release(index: LoopbackIndex, tmp_path: Path) -> Dict[str, Any]:
    """Serve 12 wheels and an sdist, some without digests; port a file hashing all 13."""
    for archive in BIG_WHEELS + [BIG_SDIST]:
        index.add(archive, advertise_hash=archive[0] not in UNADVERTISED)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("".join(f"# sha256: {peep_hash(data)}\n" for _, data in BIG_WHEELS)
                            + block(BIG_SDIST[1], "big==1.0"))
    output = tmp_path / "pylock.toml"
    result = run_peep("port", "--to", "pylock", str(requirements), "-i", index.url,
                      "-o", str(output))
    assert result.returncode == 0, result.stderr
    (package,) = tomllib.loads(output.read_text())["packages"]
    return dict(package)


def test_port_to_pylock_writes_every_vouched_file_of_a_release_of_many(
    index: LoopbackIndex, tmp_path: Path
) -> None:
    package = port_big_release(index, tmp_path)
    wheels = {wheel["name"]: wheel["hashes"]["sha256"] for wheel in package["wheels"]}
    assert wheels == {name: sha256_hex(data) for name, data in BIG_WHEELS}
    assert package["sdist"]["name"] == BIG_SDIST[0]
    assert package["sdist"]["hashes"] == {"sha256": sha256_hex(BIG_SDIST[1])}


def test_port_to_pylock_downloads_only_the_files_without_advertised_digests(
    index: LoopbackIndex, tmp_path: Path
) -> None:
    port_big_release(index, tmp_path)
    assert sorted(index.file_requests()) == sorted(f"/files/{name}" for name in UNADVERTISED)


# --- Hash lines in the file's own format --------------------------------------------------

ALPHA = wheel_bytes("alpha", "1.0")
BETA = wheel_bytes("beta", "1.0")


def test_a_missing_hash_is_suggested_in_the_files_own_format(deploy: Deploy) -> None:
    deploy.index.add(ALPHA)
    deploy.index.add(BETA)
    said: List[str] = []
    for text in (f"alpha==1.0 --hash=sha256:{sha256_hex(ALPHA[1])}\nbeta==1.0\n",
                 block(ALPHA[1], "alpha==1.0") + "beta==1.0\n", "beta==1.0\n"):
        deploy.write(text)
        result = deploy.install()
        assert result.returncode == 1, result.stderr
        said.append(result.stderr)
    pips, peeps, plain = said
    assert f"    beta==1.0 \\\n        --hash=sha256:{sha256_hex(BETA[1])}\n" in pips
    assert "# sha256:" not in pips
    for stderr in (peeps, plain):  # peep's comments, also where the file has no hash yet
        assert f"    # sha256: {peep_hash(BETA[1])}\n    beta==1.0\n" in stderr
    assert deploy.installed() == {}


# --- peep lock --build-constraint ---------------------------------------------------------

BUILT = sdist_bytes("built", "1.0", build_requires=["buildtool>=1"],
                    pkg_info="Metadata-Version: 2.2\nName: built\nVersion: 1.0\n")
BUILDTOOL = wheel_bytes("buildtool", "1.0")


def test_lock_pins_the_closures_build_dependencies_into_the_build_constraint_file(
    deploy: Deploy, tmp_path: Path
) -> None:
    deploy.index.add(BUILT)
    deploy.index.add(BUILDTOOL)
    pins = tmp_path / "build-constraints.txt"
    result = deploy.lock("built", "--build-constraint", str(pins))
    assert result.returncode == 0, result.stderr
    assert pins.read_text().endswith(
        f"buildtool==1.0 \\\n    --hash=sha256:{sha256_hex(BUILDTOOL[1])}\n")
    assert "buildtool" not in deploy.requirements.read_text()
    assert deploy.lock("--build-constraint", str(pins), "--dry-run").returncode == 0
    installed = deploy.install("--build-constraint", str(pins))
    assert installed.returncode == 0, installed.stderr
    assert deploy.ran() == ["built-1.0.ran"]
    assert deploy.installed() == {"built": "1.0"}  # buildtool served the build only
