"""peep lock: one run completes a requirements file from a loopback index.

pip's resolver picks the versions (a dry run over wheels only, so no build
code runs); peep writes the closure with '# via' notes and every file's hash.
"""

from __future__ import annotations

import subprocess
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import List, Tuple

import pytest

import peep
from helpers import (
    Deploy,
    LoopbackIndex,
    block,
    respond,
    serve_upload_times,
    sdist_bytes,
    sha256_hex,
    wheel_bytes,
)


def _this_platform() -> str:
    return str(next(iter(peep.sys_tags())).platform)


OTHER_PLATFORM = "macosx_11_0_arm64"
ALPHA = wheel_bytes("alpha", "1.0", requires=["beta>=1"])
ALPHA_2 = wheel_bytes("alpha", "2.0", requires=["beta>=1"])
BETA = wheel_bytes("beta", "1.0")
GAMMA_HERE = wheel_bytes("gamma", "1.0", tag=f"py3-none-{_this_platform()}")
GAMMA_THERE = wheel_bytes("gamma", "1.0", tag=f"py3-none-{OTHER_PLATFORM}")
OMEGA = wheel_bytes("omega", "1.0")


def pip_entry(filename_and_bytes: Tuple[str, bytes], line: str, *more: Tuple[str, bytes]) -> str:
    """A requirement in pip's format with the hashes of these files."""
    digests = sorted(sha256_hex(data) for _, data in (filename_and_bytes,) + more)
    return line + "".join(f" \\\n    --hash=sha256:{digest}" for digest in digests) + "\n"


# What locking alpha and gamma writes: alpha's dependency beta, and both of gamma's wheels.
ALPHA_AND_GAMMA = (pip_entry(ALPHA, "alpha==1.0")
                   + pip_entry(BETA, "beta==1.0") + "    # via alpha\n"
                   + pip_entry(GAMMA_HERE, "gamma==1.0", GAMMA_THERE))


@pytest.fixture
def served(index: LoopbackIndex) -> LoopbackIndex:
    for archive in (ALPHA, BETA, GAMMA_HERE, GAMMA_THERE, OMEGA):
        index.add(archive)
    return index


def test_a_fresh_file_gets_the_closure_and_every_platforms_hash(
    deploy: Deploy, served: LoopbackIndex
) -> None:
    result = deploy.lock("alpha", "gamma")
    assert result.returncode == 0, result.stderr
    assert deploy.requirements.read_text() == ALPHA_AND_GAMMA
    assert "3 added (alpha==1.0, beta==1.0, gamma==1.0)" in result.stderr
    # gamma's other-platform wheel is taken on the index's word; the rest downloaded
    assert "1 hashes taken from the index's digests, 3 files downloaded" in result.stderr
    assert f"/files/{GAMMA_THERE[0]}" not in served.file_requests()


def test_the_locked_file_installs_from_the_same_index(deploy: Deploy, served: LoopbackIndex) -> None:
    assert deploy.lock("alpha", "gamma").returncode == 0
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"alpha": "1.0", "beta": "1.0", "gamma": "1.0"}


def test_peeps_own_format_is_kept(deploy: Deploy, served: LoopbackIndex) -> None:
    original = "# the app\n" + block(ALPHA[1], "alpha==1.0")
    deploy.write(original)
    result = deploy.lock("gamma")
    assert result.returncode == 0, result.stderr
    gamma = [peep.hex_to_peep(d) for d in sorted(sha256_hex(f[1]) for f in (GAMMA_HERE, GAMMA_THERE))]
    assert deploy.requirements.read_text() == (
        original + block(BETA[1], "beta==1.0") + "    # via alpha\n"
        + f"# sha256: {gamma[0]}\n# sha256: {gamma[1]}\ngamma==1.0\n"
    )


def test_pips_format_is_kept(deploy: Deploy, served: LoopbackIndex) -> None:
    original = pip_entry(ALPHA, "alpha==1.0")
    deploy.write(original)
    assert deploy.lock().returncode == 0
    assert deploy.requirements.read_text() == (
        original + pip_entry(BETA, "beta==1.0") + "    # via alpha\n"
    )


def test_comments_order_and_hashed_entries_stay_byte_for_byte(
    deploy: Deploy, served: LoopbackIndex
) -> None:
    original = (
        "# Production requirements.\n\n"
        + "# the fast one\n" + pip_entry(GAMMA_HERE, "gamma==1.0", GAMMA_THERE)
        + "\n# web\n"
        + block(ALPHA[1], "alpha==1.0")
        + "# sha256: " + peep.hex_to_peep(sha256_hex(BETA[1])) + "\n"
        + "beta==1.0\n    # via alpha\n"
        + "# the end\n"
    )
    deploy.write(original)
    result = deploy.lock("omega")
    assert result.returncode == 0, result.stderr
    assert deploy.requirements.read_text() == original + pip_entry(OMEGA, "omega==1.0")
    assert "1 added (omega==1.0)" in result.stderr and "updated" not in result.stderr


def test_an_orphan_goes_and_unneeded_top_level_stays(deploy: Deploy, served: LoopbackIndex) -> None:
    deploy.write(
        pip_entry(ALPHA, "alpha==1.0")
        + pip_entry(OMEGA, "omega==1.0") + "    # via\n    #   alpha\n    #   gone\n"
        + pip_entry(BETA, "beta==1.0") + "    # via alpha\n"
        + pip_entry(GAMMA_HERE, "gamma==1.0", GAMMA_THERE)
    )
    result = deploy.lock()
    assert result.returncode == 0, result.stderr
    assert deploy.requirements.read_text() == ALPHA_AND_GAMMA
    assert "1 removed (omega==1.0)" in result.stderr


def test_a_kept_pins_via_notes_follow_its_parents(deploy: Deploy, served: LoopbackIndex) -> None:
    """beta stays as written, hashes and all; only its notes change, to the parent it has now."""
    around = pip_entry(ALPHA, "alpha==1.0") + "# kept\n", "# the end\n"
    deploy.write(around[0] + pip_entry(BETA, "beta==1.0") + "    # via\n    #   alpha\n"
                 "    #   gone\n" + around[1])
    result = deploy.lock()
    assert result.returncode == 0, result.stderr
    assert deploy.requirements.read_text() == (
        around[0] + pip_entry(BETA, "beta==1.0") + "    # via alpha\n" + around[1])
    assert "updated" not in result.stderr and "removed" not in result.stderr


def test_dry_run_prints_a_diff_writes_nothing_and_exits_1_only_on_change(
    deploy: Deploy, served: LoopbackIndex
) -> None:
    original = pip_entry(ALPHA, "alpha==1.0")
    deploy.write(original)
    result = deploy.lock("--dry-run")
    assert result.returncode == 1, result.stderr
    assert deploy.requirements.read_text() == original
    assert "+beta==1.0 \\\n" in result.stdout
    assert "+    # via alpha\n" in result.stdout
    assert result.stdout.startswith(f"--- {deploy.requirements}\n")
    assert deploy.lock().returncode == 0
    again = deploy.lock("--dry-run")
    assert (again.returncode, again.stdout) == (0, "")


def test_upgrade_package_moves_only_that_pin(deploy: Deploy, served: LoopbackIndex) -> None:
    served.add(ALPHA_2)
    served.add(wheel_bytes("beta", "2.0"))
    original = pip_entry(ALPHA, "alpha==1.0") + pip_entry(BETA, "beta==1.0") + "    # via alpha\n"
    deploy.write(original)
    assert deploy.lock().returncode == 0
    assert deploy.requirements.read_text() == original
    result = deploy.lock("--upgrade-package", "alpha")
    assert result.returncode == 0, result.stderr
    assert deploy.requirements.read_text() == (
        pip_entry(ALPHA_2, "alpha==2.0") + pip_entry(BETA, "beta==1.0") + "    # via alpha\n"
    )
    assert "1 updated (alpha 1.0 -> 2.0)" in result.stderr


@pytest.mark.parametrize("wanted", ["sdonly", "needs-sdonly"])
def test_a_project_with_only_an_sdist_is_reported_and_no_build_code_runs(
    deploy: Deploy, served: LoopbackIndex, wanted: str
) -> None:
    served.add(sdist_bytes("sdonly", "1.0"))
    served.add(wheel_bytes("needs-sdonly", "1.0", requires=["sdonly"]), project="needs-sdonly")
    result = deploy.lock("alpha", wanted)
    assert result.returncode == 1
    assert "sdonly has no wheel, and its sdist does not declare its dependencies" in result.stderr
    assert "peep lock does not build sdists" in result.stderr
    assert "Nothing was written" in result.stderr
    assert not deploy.requirements.exists()
    assert deploy.ran() == []


def _serve_other_bytes_to_peep(index: LoopbackIndex, filename: str, data: bytes) -> None:
    """pip gets the real file (and checks it); peep, asking later, gets ``data``."""

    def hook(handler: BaseHTTPRequestHandler) -> bool:
        if handler.path != f"/files/{filename}" or "pip/" in handler.headers.get("User-Agent", ""):
            return False
        respond(handler, 200, data)
        return True

    index.hook = hook


def test_bytes_that_differ_from_the_advertised_digest_fail_the_lock(
    deploy: Deploy, served: LoopbackIndex
) -> None:
    _serve_other_bytes_to_peep(served, GAMMA_HERE[0], wheel_bytes("gamma", "1.0", payload="x=1")[1])
    result = deploy.lock("gamma")
    assert result.returncode == 1
    assert f"{GAMMA_HERE[0]}: the index says sha256 {sha256_hex(GAMMA_HERE[1])}" in result.stderr
    assert "nothing was written" in result.stderr
    assert not deploy.requirements.exists()


def test_a_symlink_is_never_written_through(deploy: Deploy, served: LoopbackIndex, tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_text("")
    deploy.requirements.symlink_to(real)
    result = deploy.lock("alpha")
    assert result.returncode == 2
    assert "symbolic link" in result.stderr
    assert real.read_text() == ""


@pytest.mark.parametrize("argv", [["lock", "--help"], ["help", "lock"]])
def test_help(argv: List[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert peep.main(argv) == peep.EXIT_OK
    text = capsys.readouterr().out
    assert text.startswith("usage: peep lock ")
    for flag in ("--dry-run", "--upgrade-package", "--index-url"):
        assert flag in text
    assert "peep lock -r FILE" in peep.HELP


STATIC = sdist_bytes("static", "1.0", pkg_info="Metadata-Version: 2.2\nName: static\nVersion: 1.0\n"
                     "Requires-Dist: beta\n")


def test_an_sdist_with_static_metadata_is_locked_unbuilt(deploy: Deploy, served: LoopbackIndex) -> None:
    served.add(STATIC)
    result = deploy.lock("static")
    assert result.returncode == 0, result.stderr
    assert deploy.requirements.read_text() == (
        pip_entry(BETA, "beta==1.0") + "    # via static\n" + pip_entry(STATIC, "static==1.0")
    )
    served.add(wheel_bytes("needs-static", "1.0", requires=["static"]), project="needs-static")
    again = deploy.lock("needs-static", "--dry-run")  # static==1.0 is now a pin to keep
    assert again.returncode == 1, again.stderr
    assert "1 added (needs-static==1.0)" in again.stderr and "updated" not in again.stderr
    assert again.stdout.count("\n-") == 0 and "+needs-static==1.0" in again.stdout
    assert deploy.ran() == []


def test_an_sdist_pinned_by_hand_is_kept_with_its_dependencies_by_hand(
    deploy: Deploy, served: LoopbackIndex
) -> None:
    served.add(sdist_bytes("sdonly", "1.0"))
    original = pip_entry(sdist_bytes("sdonly", "1.0"), "sdonly==1.0") + pip_entry(BETA, "beta==1.0")
    deploy.write(original)
    result = deploy.lock("alpha")
    assert result.returncode == 0, result.stderr
    assert deploy.requirements.read_text() == original + pip_entry(ALPHA, "alpha==1.0")
    assert deploy.ran() == []


def test_a_pin_without_the_hash_of_the_file_installed_here_gets_every_hash(
    deploy: Deploy, served: LoopbackIndex
) -> None:
    deploy.write(pip_entry(GAMMA_THERE, "gamma==1.0"))
    result = deploy.lock()
    assert result.returncode == 0, result.stderr
    assert deploy.requirements.read_text() == pip_entry(GAMMA_HERE, "gamma==1.0", GAMMA_THERE)
    assert "1 updated (gamma==1.0 (hashes))" in result.stderr


def test_a_constraints_file_does_not_keep_a_dependency_out(deploy: Deploy, served: LoopbackIndex) -> None:
    (deploy.root / "constraints.txt").write_text("beta==1.0\n")
    deploy.write("-c constraints.txt\n" + pip_entry(ALPHA, "alpha==1.0"))
    assert deploy.lock().returncode == 0
    assert deploy.requirements.read_text().endswith(pip_entry(BETA, "beta==1.0") + "    # via alpha\n")


def test_a_complete_file_without_a_final_newline_is_unchanged(deploy: Deploy, served: LoopbackIndex) -> None:
    deploy.write(pip_entry(OMEGA, "omega==1.0").rstrip("\n"))
    result = deploy.lock("--dry-run")
    assert (result.returncode, result.stdout) == (0, ""), result.stderr
    assert "no requirement changed" in result.stderr


def test_a_conflict_is_explained_and_nothing_written(deploy: Deploy, served: LoopbackIndex) -> None:
    served.add(wheel_bytes("delta", "1.0", requires=["beta>=2"]))
    result = deploy.lock("alpha", "delta", "beta<2")
    assert result.returncode == 1
    assert "pip's resolver found no set of wheels that fits; nothing was written" in result.stderr
    assert "The conflict is caused by" in result.stderr
    assert not deploy.requirements.exists()


def test_an_empty_file_stays_empty(deploy: Deploy, served: LoopbackIndex) -> None:
    deploy.write("# nothing yet\n")
    result = deploy.lock()
    assert result.returncode == 0, result.stderr
    assert deploy.requirements.read_text() == "# nothing yet\n"


def test_a_pylock_file_is_written_read_back_and_installs(tmp_path: Path, served: LoopbackIndex) -> None:
    deploy = Deploy(tmp_path, served, requirements="pylock.toml")
    result = deploy.lock("alpha", "gamma")
    assert result.returncode == 0, result.stderr
    assert "3 added (alpha==1.0, beta==1.0, gamma==1.0)" in result.stderr
    text = deploy.requirements.read_text()
    assert "environments = [" in text and 'requirements = [\n    "alpha",\n    "gamma",\n]' in text
    for _, data in (ALPHA, BETA, GAMMA_HERE, GAMMA_THERE):
        assert f'sha256 = "{sha256_hex(data)}"' in text
    assert 'dependencies = [\n    { name = "beta" },\n]' in text
    again = deploy.lock("--dry-run")  # the top-level requirements come from the lock
    assert (again.returncode, again.stdout) == (0, ""), again.stderr
    installed = deploy.install()
    assert installed.returncode == 0, installed.stderr
    assert deploy.installed() == {"alpha": "1.0", "beta": "1.0", "gamma": "1.0"}


def test_another_tools_pylock_keeps_every_package(tmp_path: Path, served: LoopbackIndex) -> None:
    deploy = Deploy(tmp_path, served, requirements="pylock.toml")
    assert deploy.lock("alpha").returncode == 0
    text = deploy.requirements.read_text()
    deploy.write(text[: text.index("\n[tool.peep]")] + "\n")  # as a lock from elsewhere
    result = deploy.lock("omega")
    assert result.returncode == 0, result.stderr
    assert "1 added (omega==1.0)" in result.stderr and "removed" not in result.stderr


def lock_after_a_late_upload(deploy: Deploy, served: LoopbackIndex,
                             late: Tuple[str, bytes]) -> Tuple[subprocess.CompletedProcess[str], bool]:
    """Lock alpha with a cutoff that alpha 1.0 and beta 1.0 meet and ``late`` does not; return
    the run and whether this pip (26+) applies the cutoff itself."""
    import pip

    served.add(late)
    serve_upload_times(served, {ALPHA[0]: "2026-01-05T08:00:00Z", BETA[0]: "2026-01-05T08:00:00Z",
                                late[0]: "2026-03-24T10:39:00Z"})  # fmt: skip
    result = deploy.lock("alpha", "--uploaded-prior-to", "2026-03-01T00:00:00Z")
    return result, int(pip.__version__.split(".")[0]) >= 26


def test_a_cooldown_keeps_later_uploads_out_of_the_lock(deploy: Deploy, served: LoopbackIndex) -> None:
    """alpha 2.0 came after --uploaded-prior-to: pip 26 resolves without it; an older pip,
    which cannot, has its pick refused. Either way no lock names 2.0."""
    result, pip_applies_it = lock_after_a_late_upload(deploy, served, ALPHA_2)
    if pip_applies_it:
        assert result.returncode == 0, result.stderr
        assert deploy.requirements.read_text() == (
            pip_entry(ALPHA, "alpha==1.0") + pip_entry(BETA, "beta==1.0") + "    # via alpha\n")
        assert f"/files/{ALPHA_2[0]}" not in served.file_requests()
    else:  # the resolver read 2.0's metadata; the file is neither hashed nor written down
        assert result.returncode == 1
        assert (f"pip's resolver picked {ALPHA_2[0]!r}, which no index lists as uploaded before "
                "--uploaded-prior-to; nothing was written") in result.stderr
        assert f"add 'alpha<2.0' to {deploy.requirements}" in result.stderr
        assert not deploy.requirements.exists()


def test_a_nested_files_pins_stay_there_and_files_own_entries_are_hashed(
    deploy: Deploy, served: LoopbackIndex
) -> None:
    """FILE includes base.txt, which pins and hashes beta and omega: beta, only there, is not
    copied into FILE; omega, which FILE names too, gets its hashes in FILE."""
    base = deploy.requirements.parent / "base.txt"
    base.write_text(pip_entry(BETA, "beta==1.0") + pip_entry(OMEGA, "omega==1.0"))
    deploy.write(f"-r {base.name}\nalpha\nomega\n")
    result = deploy.lock()
    assert result.returncode == 0, result.stderr
    assert deploy.requirements.read_text() == (
        f"-r {base.name}\n" + pip_entry(ALPHA, "alpha==1.0") + pip_entry(OMEGA, "omega==1.0"))
    assert base.read_text() == pip_entry(BETA, "beta==1.0") + pip_entry(OMEGA, "omega==1.0")


def test_a_cooldown_keeps_a_later_wheel_of_an_old_release_out(deploy: Deploy, served: LoopbackIndex) -> None:
    """A wheel added to alpha 1.0 after the cutoff: pip 26 leaves it out; an older pip's pick
    of it is refused without advice to give 1.0 up, since 1.0 itself was uploaded in time."""
    late = wheel_bytes("alpha", "1.0", requires=["beta>=1"], tag=f"py3-none-{_this_platform()}")
    result, pip_applies_it = lock_after_a_late_upload(deploy, served, late)
    if pip_applies_it:
        assert result.returncode == 0, result.stderr
        assert sha256_hex(late[1]) not in deploy.requirements.read_text()
        assert pip_entry(ALPHA, "alpha==1.0") in deploy.requirements.read_text()
    else:
        assert result.returncode == 1
        assert (f"pip's resolver picked {late[0]!r}, which no index lists as uploaded before "
                "--uploaded-prior-to; nothing was written. pip older than 26.0 cannot keep such "
                "uploads out: use pip 26 or newer") in result.stderr
        assert not deploy.requirements.exists()


def test_a_cooldown_leaves_a_direct_url_alone_as_pip_does(deploy: Deploy, served: LoopbackIndex) -> None:
    """--uploaded-prior-to is about index uploads: a URL you named is yours. peep does not
    refuse an older pip's pick of it (pip 26+ applies the cutoff itself: its resolver decides)."""
    import pip
    if int(pip.__version__.split(".")[0]) >= 26:
        pytest.skip("pip 26+ applies the cutoff in its own resolver")
    other = (OMEGA[0], wheel_bytes("omega", "1.0", payload="# from a URL\n")[1])
    serve_upload_times(served, {OMEGA[0]: "2026-03-24T10:39:00Z"})  # the index's copy: late
    base = deploy.requirements.parent / "base.txt"
    base.write_text(f"omega @ {served.plant(other)}\n")
    deploy.write(f"-r {base.name}\nomega\n")
    result = deploy.lock("--uploaded-prior-to", "2026-03-01T00:00:00Z")
    assert result.returncode == 0, result.stderr
    assert deploy.requirements.read_text() == f"-r {base.name}\n" + pip_entry(other, "omega==1.0")


def test_a_nested_url_requirement_is_hashed_from_its_url_not_the_index(
    deploy: Deploy, served: LoopbackIndex
) -> None:
    """base.txt takes omega from a URL whose file name the index lists too, with other bytes:
    FILE's omega gets the hash of the URL's file, the one pip resolved to and installs."""
    other = (OMEGA[0], wheel_bytes("omega", "1.0", payload="# not the index's\n")[1])
    base = deploy.requirements.parent / "base.txt"
    base.write_text(f"omega @ {served.plant(other)}\n")
    deploy.write(f"-r {base.name}\nomega\n")
    result = deploy.lock()
    assert result.returncode == 0, result.stderr
    assert deploy.requirements.read_text() == f"-r {base.name}\n" + pip_entry(other, "omega==1.0")
    again = deploy.lock("--dry-run")  # pip's digest of the URL's file matches the lock's
    assert (again.returncode, again.stdout) == (0, ""), again.stderr
    installed = deploy.install()
    assert installed.returncode == 0, installed.stderr
    assert deploy.installed() == {"omega": "1.0"}


# A lock's [tool.peep] requirements are checked as a requirements file's (no URL pip would
# build, no '$' pip would expand); pip gets no ${VAR} and no buildable URL from any source; a
# remote lock may not name the local disk; malformed locks are errors naming the file.

from helpers import run_peep  # noqa: E402


def _a_lock_of_beta(served: LoopbackIndex, tool: str = "", wheel: str = "") -> str:
    wheel = wheel or f'url = "{served.plant(BETA)}"'
    return ('lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "beta"\n'
            f'version = "1.0"\n[[packages.wheels]]\nname = "{BETA[0]}"\n{wheel}\n'
            f'hashes = {{sha256 = "{sha256_hex(BETA[1])}"}}\n{tool}')


@pytest.mark.parametrize("kept", ["sdonly @ {sdist}", "here @ file://{root}"])
def test_a_locks_requirement_that_pip_would_build_is_refused(
    tmp_path: Path, served: LoopbackIndex, kept: str
) -> None:
    deploy = Deploy(tmp_path, served, requirements="pylock.toml")
    sdist = served.plant(sdist_bytes("sdonly", "1.0"))
    requirement = kept.format(sdist=sdist, root=tmp_path)
    deploy.write(_a_lock_of_beta(served, f'[tool.peep]\nrequirements = ["beta", "{requirement}"]\n'))
    result = deploy.lock("--dry-run")
    assert result.returncode == 1
    assert "pylock.toml: [tool.peep] requirements: " + repr(requirement) in result.stderr
    assert "Traceback" not in result.stderr and deploy.ran() == []


@pytest.mark.parametrize("line", ["evil-1.0.tar.gz[x]", "evil-1.0.zip[x] ; python_version > '3'"])
def test_a_name_that_pip_reads_as_an_archive_here_is_never_handed_to_it(
    deploy: Deploy, served: LoopbackIndex, line: str
) -> None:
    """pip takes "x-1.0.tar.gz[extra]" for the file of that name in its directory, and builds
    it, --only-binary or not: peep lock refuses the line before pip runs."""
    for name in ("evil-1.0.tar.gz", "evil-1.0.zip"):
        (deploy.requirements.parent / name).write_bytes(sdist_bytes("evil", "1.0")[1])
    deploy.write(f"{line}\n")
    result = run_peep("lock", "-r", str(deploy.requirements), *deploy.finder,
                      cwd=deploy.requirements.parent, env=deploy.env())
    assert result.returncode == 1, result.stderr
    assert "pip would build or read it" in result.stderr
    assert deploy.ran() == []


def test_a_locks_requirement_with_a_variable_is_refused_unexpanded(
    tmp_path: Path, served: LoopbackIndex
) -> None:
    deploy = Deploy(tmp_path, served, requirements="pylock.toml")
    url = f"{served.url}x/${{DEPLOY_TOKEN}}/leak-1.0-py3-none-any.whl"
    deploy.write(_a_lock_of_beta(served, f'[tool.peep]\nrequirements = ["leak @ {url}"]\n'))
    result = run_peep("lock", "-r", str(deploy.requirements), "--dry-run", *deploy.finder,
                      env=deploy.env(DEPLOY_TOKEN="TOPSECRET123"))
    assert result.returncode == 1 and "'$' (pip would expand" in result.stderr
    assert "TOPSECRET123" not in result.stdout + result.stderr
    assert not [path for path in served.requests if "/x/" in path]


def test_pip_never_gets_a_variable_peep_left_in_a_requirements_file(
    deploy: Deploy, served: LoopbackIndex
) -> None:
    """pip would expand ${PIP_INDEX_URL} from the environment peep gives it: the index URL."""
    deploy.write(f"omega @ {served.url}x/${{PIP_INDEX_URL}}/omega-1.0-py3-none-any.whl\n")
    result = deploy.lock("--dry-run")
    assert result.returncode == 1 and "pip would expand ${PIP_INDEX_URL}" in result.stderr
    assert not [path for path in served.requests if "/x/" in path]


def test_a_remote_lock_may_not_name_the_local_disk(tmp_path: Path, served: LoopbackIndex) -> None:
    local = tmp_path / BETA[0]
    local.write_bytes(BETA[1])
    served.pages["/remote/pylock.toml"] = _a_lock_of_beta(
        served, wheel=f'url = "{local.as_uri()}"').encode()
    deploy = Deploy(tmp_path, served, requirements="unused")
    result = run_peep("install", "-r", f"{served.url.rsplit('/simple', 1)[0]}/remote/pylock.toml",
                      "--target", str(deploy.target), *deploy.finder, env=deploy.env())
    assert result.returncode == 1, result.stderr
    assert "packages[0].wheels[0]: " + repr(local.as_uri()) + " is on the local disk" in result.stderr
    assert deploy.installed() == {}


@pytest.mark.parametrize("tool, said", [
    ('[tool.peep]\nrequirements = ["beta", "not a requirement!!"]\n',
     "[tool.peep] requirements: invalid requirement 'not a requirement!!'"),
    ('[tool]\npeep = "str"\n', "[tool.peep] requirements: must be a list of strings"),
    ('[tool.peep]\nrequirements = ["beta ; python_version < \'3\'"]\n',
     "pip's resolver picked nothing to install here"),
])
def test_a_malformed_or_empty_lock_is_an_error_naming_it(
    tmp_path: Path, served: LoopbackIndex, tool: str, said: str
) -> None:
    deploy = Deploy(tmp_path, served, requirements="pylock.toml")
    deploy.write(_a_lock_of_beta(served, tool))
    result = deploy.lock("--dry-run")
    assert (result.returncode, "Traceback" in result.stderr) == (1, False), result.stderr
    assert "pylock.toml" in result.stderr and said in result.stderr


def test_no_spec_and_no_lock_is_an_error_not_a_crash(tmp_path: Path, served: LoopbackIndex) -> None:
    result = Deploy(tmp_path, served, requirements="pylock.toml").lock()
    assert result.returncode == 1 and "picked nothing to install here" in result.stderr


@pytest.mark.parametrize("wheel, said", [
    ('url = "http://[::1"', "'http://[::1' is not a valid URL"),
    (f'path = "x\\u0000/{BETA[0]}"', "its url or path holds a NUL byte"),
])
def test_a_lock_entry_whose_url_or_path_cannot_be_used_is_an_error(
    deploy: Deploy, served: LoopbackIndex, wheel: str, said: str, tmp_path: Path
) -> None:
    deploy = Deploy(tmp_path, served, requirements="pylock.toml")
    deploy.write(_a_lock_of_beta(served, wheel=wheel))
    result = deploy.install("--dry-run")
    assert (result.returncode, "Traceback" in result.stderr) == (1, False), result.stderr
    assert "pylock.toml: packages[0].wheels[0]: " + said in result.stderr


# --- What the resolver's command line shows ---------------------------------------------------


def test_the_resolvers_command_line_holds_no_url_a_password_could_be_in(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Other users can read a command line: find-links URLs and the proxy go in pip's
    environment, as index URLs do; only a path with a space (which holds no password) stays."""
    seen: List[Tuple[List[str], dict]] = []

    def run(command: List[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        seen.append((command, kwargs["env"]))  # type: ignore[arg-type]
        return subprocess.CompletedProcess(command, 1, "", "refused")

    monkeypatch.setattr(subprocess, "run", run)
    finder = peep.FinderSettings(index_url="https://u:index-secret@127.0.0.1:1/simple/",
                                 find_links=("https://u:links-secret@127.0.0.1:1/links/",
                                             str(tmp_path / "my wheels")))
    network = peep.NetworkSettings(proxy="http://u:proxy-secret@127.0.0.1:1")
    assert peep.resolve_with_pip((("alpha",), ()), finder, network, str(tmp_path)) == "refused"
    (command, environment), = seen
    assert not [word for word in command if "secret" in word]
    assert ["--find-links", str(tmp_path / "my wheels")] == command[command.index("--find-links"):][:2]
    assert environment["PIP_FIND_LINKS"] == "https://u:links-secret@127.0.0.1:1/links/"
    assert environment["PIP_PROXY"] == "http://u:proxy-secret@127.0.0.1:1"
    assert environment["PIP_INDEX_URL"] == "https://u:index-secret@127.0.0.1:1/simple/"


def test_find_links_in_pips_environment_and_on_its_command_line_both_serve(
        deploy: Deploy, served: LoopbackIndex, tmp_path: Path) -> None:
    spaced = tmp_path / "my wheels"
    spaced.mkdir()
    (spaced / OMEGA[0]).write_bytes(OMEGA[1])
    deploy.write("alpha\nomega\n")
    result = run_peep("lock", "-r", str(deploy.requirements), "--no-index", "-f", str(spaced),
                      "-f", f"{served.url}alpha/", "-f", f"{served.url}beta/", env=deploy.env())
    assert result.returncode == 0, result.stderr
    written = deploy.requirements.read_text()
    assert "alpha==1.0" in written and "beta==1.0" in written and "omega==1.0" in written
