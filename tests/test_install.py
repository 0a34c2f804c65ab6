"""peep install, end to end: real peep, real pip, a loopback index, --target dirs.

Each of DESIGN.md's promises has a test here that fails if it breaks:
telltale files prove whether build code ran, --target dirs prove what was
installed, and the index's request log proves what was fetched.
"""

from __future__ import annotations

import functools
import http.server
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Dict, List, Sequence

import pytest
from conftest import site_venv, venv_python
from helpers import (
    ROOT,
    accepted,
    JSON_TYPE,
    Deploy,
    LoopbackIndex,
    block,
    hermetic_env,
    installed_in,
    peep_hash,
    record_row,
    run_peep,
    sdist_bytes,
    sha256_hex,
    wheel_bytes,
)

import peep


# --- Success ----------------------------------------------------------------------


def test_installs_hashed_wheels_and_sdists(deploy: Deploy) -> None:
    wheel = deploy.index.add(wheel_bytes("alpha", "1.0"))
    sdist = deploy.index.add(sdist_bytes("beta", "2.0"))
    deploy.write(block(wheel.data, "alpha==1.0") + block(sdist.data, "beta==2.0"))
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"alpha": "1.0", "beta": "2.0"}
    assert deploy.ran() == ["beta-2.0.ran"]  # the verified sdist was built
    assert (deploy.target / "alpha.py").read_text().startswith("VERSION = '1.0'")


def test_pip_format_and_multiple_hashes(deploy: Deploy) -> None:
    wheel = deploy.index.add(wheel_bytes("alpha", "1.0"))
    deploy.write(
        f"alpha==1.0 --hash=sha256:{sha256_hex(b'the sdist we also vetted')} \\\n"
        f"    --hash=sha256:{sha256_hex(wheel.data)}\n"
    )
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"alpha": "1.0"}


def test_sha512_hash(deploy: Deploy) -> None:
    import hashlib

    wheel = deploy.index.add(wheel_bytes("alpha", "1.0"))
    deploy.write(f"alpha==1.0 --hash=sha512:{hashlib.sha512(wheel.data).hexdigest()}\n")
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"alpha": "1.0"}


def test_decoy_newer_version_is_never_installed_or_fetched(deploy: Deploy) -> None:
    old = deploy.index.add(wheel_bytes("alpha", "1.0"))
    deploy.index.add(wheel_bytes("alpha", "2.0"))
    deploy.index.add(sdist_bytes("alpha", "3.0"))
    deploy.write(block(old.data, "alpha==1.0"))
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"alpha": "1.0"}
    assert deploy.index.file_requests() == ["/files/alpha-1.0-py3-none-any.whl"]
    assert deploy.ran() == []


def test_wheel_preferred_over_sdist_of_the_same_release(deploy: Deploy) -> None:
    wheel = deploy.index.add(wheel_bytes("alpha", "1.0"))
    sdist = deploy.index.add(sdist_bytes("alpha", "1.0"))
    deploy.write(f"# sha256: {peep_hash(sdist.data)}\n" + block(wheel.data, "alpha==1.0"))
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert deploy.index.file_requests() == ["/files/alpha-1.0-py3-none-any.whl"]
    assert deploy.ran() == []


@pytest.mark.parametrize("advertise", [True, False], ids=["advertised", "unadvertised"])
def test_hash_aware_choice_when_the_index_grows_a_wheel(deploy: Deploy, advertise: bool) -> None:
    # The deploy vetted the sdist; later a wheel appears for the same release.
    sdist = deploy.index.add(sdist_bytes("alpha", "1.0"), advertise_hash=advertise)
    deploy.index.add(wheel_bytes("alpha", "1.0"), advertise_hash=advertise)
    deploy.write(block(sdist.data, "alpha==1.0"))
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"alpha": "1.0"}
    assert deploy.ran() == ["alpha-1.0.ran"]  # the vetted sdist was the one built
    if advertise:  # the index said which file matches: only that one is fetched
        assert deploy.index.file_requests() == ["/files/alpha-1.0.tar.gz"]
    else:  # the best file is tried first, its bytes checked, then the next
        assert deploy.index.file_requests() == ["/files/alpha-1.0-py3-none-any.whl", "/files/alpha-1.0.tar.gz"]


def test_index_url_inside_the_requirements_file(deploy: Deploy) -> None:
    wheel = deploy.index.add(wheel_bytes("alpha", "1.0"))
    deploy.write(f"--index-url {deploy.index.url}\n" + block(wheel.data, "alpha==1.0"))
    result = deploy.install(finder=())
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"alpha": "1.0"}


@pytest.mark.parametrize("json_api", [True, False], ids=["json", "html"])
def test_json_and_html_pages_both_work(deploy: Deploy, json_api: bool) -> None:
    deploy.index.json_api = json_api  # without it, the index answers every request with HTML
    wheel = deploy.index.add(wheel_bytes("alpha", "1.0"))
    deploy.write(block(wheel.data, "alpha==1.0"))
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"alpha": "1.0"}
    asked = [headers.get("Accept", "") for path, headers in deploy.index.headers_seen
             if path == "/simple/alpha/"]
    assert asked and all(JSON_TYPE in accept for accept in asked)  # so JSON, where the index has it


def test_false_marker_needs_no_hash_and_is_skipped(deploy: Deploy) -> None:
    wheel = deploy.index.add(wheel_bytes("alpha", "1.0"))
    deploy.write(block(wheel.data, "alpha==1.0") + 'beta==9.9 ; sys_platform == "nowhere"\n')
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"alpha": "1.0"}
    assert not any("beta" in path for path in deploy.index.requests)


def test_already_installed_is_not_downloaded_again(deploy: Deploy) -> None:
    wheel = deploy.index.add(wheel_bytes("alpha", "1.0"))
    other = deploy.index.add(wheel_bytes("beta", "1.0"))
    deploy.install_first(block(wheel.data, "alpha==1.0"))
    deploy.write(block(wheel.data, "alpha==1.0") + block(other.data, "beta==1.0"))
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert "These packages were already installed, so we didn't need to download or build them again" in result.stderr
    assert "    alpha==1.0" in result.stderr
    assert deploy.index.file_requests() == ["/files/beta-1.0-py3-none-any.whl"]
    assert deploy.installed() == {"alpha": "1.0", "beta": "1.0"}


def test_force_reinstall_fetches_and_verifies_again(deploy: Deploy) -> None:
    wheel = deploy.index.add(wheel_bytes("alpha", "1.0"))
    deploy.install_first(block(wheel.data, "alpha==1.0"))
    result = deploy.install("--upgrade", "--force-reinstall")
    assert result.returncode == 0, result.stderr
    assert deploy.index.file_requests() == ["/files/alpha-1.0-py3-none-any.whl"]


def test_installs_into_a_venv(tmp_path: Path, index: LoopbackIndex) -> None:
    venv = tmp_path / "venv"
    python = site_venv(venv)
    wheel = index.add(wheel_bytes("alpha", "1.0"))
    (tmp_path / "r.txt").write_text(block(wheel.data, "alpha==1.0"))
    # peep runs under the venv's Python; pip is found through system site-packages.
    result = run_peep("install", "-r", str(tmp_path / "r.txt"), "-i", index.url, python=python)
    assert result.returncode == 0, result.stderr
    check = subprocess.run([python, "-c", "import alpha; print(alpha.__file__)"], capture_output=True, text=True)
    assert str(venv) in check.stdout


# --- URL and local archives ---------------------------------------------------------


def test_url_requirements(deploy: Deploy) -> None:
    sdist = deploy.index.add(sdist_bytes("beta", "2.0"))
    wheel = deploy.index.add(wheel_bytes("alpha", "1.0"))
    deploy.write(
        block(sdist.data, f"{deploy.index.files_url}beta-2.0.tar.gz#egg=beta")
        + f"alpha @ {deploy.index.files_url}alpha-1.0-py3-none-any.whl#sha256={sha256_hex(wheel.data)}\n"
    )
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"alpha": "1.0", "beta": "2.0"}
    assert not any(path.startswith("/simple/") for path in deploy.index.requests)


def test_local_archive_path_and_file_url(deploy: Deploy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name, data = wheel_bytes("alpha", "1.0")
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / name).write_bytes(data)
    sname, sdata = sdist_bytes("beta", "2.0")
    (tmp_path / "dist" / sname).write_bytes(sdata)
    deploy.write(block(data, f"./dist/{name}") + block(sdata, (tmp_path / "dist" / sname).as_uri() + "#egg=beta"))
    result = deploy.install(finder=["--no-index"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"alpha": "1.0", "beta": "2.0"}


def test_commit_sha_archives_are_always_reinstalled(deploy: Deploy) -> None:
    first = deploy.index.add(sdist_bytes("useless", "0.1", payload="FLAVOR = 'first'\n"), project="x")
    first.filename = "1234567.tar.gz"
    deploy.write(block(first.data, f"{deploy.index.files_url}1234567.tar.gz#egg=useless"))
    assert deploy.install().returncode == 0
    assert "first" in (deploy.target / "useless.py").read_text()
    # Same version number, different commit and contents: installed again.
    second = deploy.index.add(sdist_bytes("useless", "0.1", payload="FLAVOR = 'second'\n"), project="x")
    second.filename = "89abcde.tar.gz"
    deploy.write(block(second.data, f"{deploy.index.files_url}89abcde.tar.gz#egg=useless"))
    result = deploy.install("--upgrade")
    assert result.returncode == 0, result.stderr
    assert "already installed" not in result.stderr
    assert "second" in (deploy.target / "useless.py").read_text()


def test_file_index_find_links_dir_and_a_plain_directory_listing(tmp_path: Path) -> None:
    wheel_name, wheel = wheel_bytes("alpha", "1.0")
    sdist_name, sdist = sdist_bytes("beta", "2.0")
    gamma_name, gamma = wheel_bytes("gamma", "3.0")
    simple = tmp_path / "simple" / "alpha"
    simple.mkdir(parents=True)
    (simple / wheel_name).write_bytes(wheel)  # a file:// index with no index.html
    links = tmp_path / "links"
    links.mkdir()
    (links / sdist_name).write_bytes(sdist)
    served = tmp_path / "served"
    served.mkdir()
    (served / gamma_name).write_bytes(gamma)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        requirements = tmp_path / "r.txt"
        requirements.write_text(
            f"--index-url {(tmp_path / 'simple').as_uri()}\n"
            f"--find-links {links}\n"
            f"--find-links http://127.0.0.1:{server.server_address[1]}/\n"
            + block(wheel, "alpha==1.0") + block(sdist, "beta==2.0") + block(gamma, "gamma==3.0")
        )
        result = run_peep("install", "-r", str(requirements), "--target", str(tmp_path / "t"))
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 0, result.stderr
    assert installed_in(tmp_path / "t") == {"alpha": "1.0", "beta": "2.0", "gamma": "3.0"}


# --- Failures: each verdict, and nothing installed -----------------------------------


def test_mismatch_is_fearsome_and_nothing_runs_or_installs(deploy: Deploy) -> None:
    good = deploy.index.add(wheel_bytes("alpha", "1.0"))
    evil = deploy.index.add(sdist_bytes("beta", "2.0"))
    vetted = sdist_bytes("beta", "2.0", payload="# the bytes we vetted\n")[1]
    deploy.write(block(good.data, "alpha==1.0") + block(vetted, "beta==2.0"))
    result = deploy.install()
    assert result.returncode == 1
    assert "THE FOLLOWING PACKAGES DIDN'T MATCH THE HASHES SPECIFIED IN THE REQUIREMENTS FILE." in result.stderr
    assert f"    beta: expected {peep_hash(vetted)}\n" in result.stderr
    assert f"          got      {peep_hash(evil.data)}\n" in result.stderr
    assert f"({deploy.requirements} line 4; {deploy.index.files_url}beta-2.0.tar.gz)" in result.stderr
    assert result.stderr.endswith("Not proceeding to installation.\n")
    assert deploy.ran() == []  # the tampered sdist's build code never ran
    assert deploy.installed() == {}  # and the good wheel was not installed either


def test_missing_hash_prints_paste_ready_lines_and_installs_nothing(deploy: Deploy) -> None:
    good = deploy.index.add(wheel_bytes("alpha", "1.0"))
    unhashed = deploy.index.add(sdist_bytes("beta", "2.0"))
    deploy.write(block(good.data, "alpha==1.0") + "Beta[extra]>=1.0  # no hash yet\n")
    result = deploy.install()
    assert result.returncode == 1
    assert (
        "The following packages had no hashes specified in the requirements file, which leaves "
        "them open to tampering. Vet these packages to your satisfaction, then add these \"sha256\" "
        "lines like so:\n\n"
        f"    # sha256: {peep_hash(unhashed.data)}\n"
        "    Beta[extra]==2.0\n"
    ) in result.stderr
    assert deploy.ran() == [] and deploy.installed() == {}


def test_every_problem_is_reported_at_once_in_a_fixed_order(deploy: Deploy) -> None:
    deploy.index.add(wheel_bytes("alpha", "1.0"))
    deploy.index.add(wheel_bytes("beta", "1.0"))
    deploy.index.add(wheel_bytes("broken", "1.0"))
    deploy.index.status_for["/files/broken-1.0-py3-none-any.whl"] = [500] * 10
    deploy.write(
        "beta==1.0\n"  # missing
        f"# sha256: {peep_hash(b'not it')}\nalpha==1.0\n"  # mismatch
        "-e git+https://example.invalid/r.git#egg=editable\n"  # unsupported
        f"{deploy.index.files_url}1234567.zip\n"  # malformed: no name
        f"# sha256: {peep_hash(b'x')}\nnowhere==1.0\n"  # not found
        f"# sha256: {peep_hash(b'x')}\nbroken==1.0\n"  # download error
    )
    result = deploy.install("--retries", "1")
    assert result.returncode == 1
    headings = [
        "THE FOLLOWING PACKAGES DIDN'T MATCH",
        "The following packages had no hashes specified",
        "The following requirements can't be verified by hash",
        "The following requirements matched no usable file",
        "The following requirements could not be fetched",
        "Not proceeding to installation.",
    ]
    positions = [result.stderr.index(h) for h in headings]
    assert positions == sorted(positions)
    assert "an editable install is a live checkout" in result.stderr
    assert "add '#egg=NAME' to the URL" in result.stderr
    assert f"looked in {deploy.index.url}nowhere/" in result.stderr
    assert "HTTP 500" in result.stderr
    assert deploy.installed() == {}


def test_not_found_says_why_files_were_skipped(deploy: Deploy) -> None:
    deploy.index.add(wheel_bytes("alpha", "1.0", requires_python="<3"), requires_python="<3")
    deploy.index.add(wheel_bytes("alpha", "1.1", tag="cp27-cp27m-win32"))
    deploy.index.add(wheel_bytes("alpha", "2.0"))
    deploy.index.add(wheel_bytes("alpha", "0.9"), yanked="broken")
    deploy.write(f"# sha256: {peep_hash(b'x')}\nalpha<2\n")
    result = deploy.install()
    assert result.returncode == 1
    assert "files skipped: 1 needs Python <3; 1 version not wanted; 1 wheel for another platform or Python; 1 yanked" in result.stderr


def test_yanked_file_is_used_when_pinned(deploy: Deploy) -> None:
    wheel = deploy.index.add(wheel_bytes("alpha", "1.0"), yanked="")
    deploy.write(block(wheel.data, "alpha==1.0"))
    assert deploy.install().returncode == 0


def test_only_binary_and_no_binary(deploy: Deploy) -> None:
    sdist = deploy.index.add(sdist_bytes("alpha", "1.0"))
    deploy.write("--only-binary :all:\n" + block(sdist.data, "alpha==1.0"))
    result = deploy.install()
    assert result.returncode == 1
    assert "1 sdist, and --only-binary" in result.stderr
    wheel = deploy.index.add(wheel_bytes("beta", "1.0"))
    deploy.write("--no-binary beta\n" + block(wheel.data, "beta==1.0"))
    result = deploy.install()
    assert result.returncode == 1
    assert "1 wheel, and --no-binary" in result.stderr


def test_contradicting_duplicates(deploy: Deploy) -> None:
    deploy.write(f"# sha256: {peep_hash(b'a')}\nalpha==1.0\n# sha256: {peep_hash(b'b')}\nalpha==1.0\nbeta==1\nbeta==2\n")
    result = deploy.install()
    assert result.returncode == 1
    assert "have no hash in common" in result.stderr
    assert "pin different versions" in result.stderr
    assert deploy.index.file_requests() == []


def test_usage_errors(deploy: Deploy) -> None:
    result = run_peep("install")
    assert result.returncode == 2
    assert "name a requirements file with -r" in result.stderr
    result = run_peep("install", "-r", "x.txt", "--platform", "win32")
    assert result.returncode == 2
    assert "--platform is not supported" in result.stderr
    result = run_peep("install", "-r", "x.txt", "--no-such-option")
    assert result.returncode == 2
    assert "unrecognized arguments: --no-such-option" in result.stderr


def test_bad_requirements_file_exits_1_naming_the_line(deploy: Deploy) -> None:
    deploy.write("alpha==1.0\nbeta=2\n")
    result = deploy.install()
    assert result.returncode == 1
    assert result.stderr == f"{deploy.requirements} line 2: invalid requirement 'beta=2' (= is not a valid operator; did you mean == ?)\n"


def test_command_line_requirement_prints_its_hash(deploy: Deploy) -> None:
    wheel = deploy.index.add(wheel_bytes("alpha", "1.0"))
    result = run_peep("install", "alpha", "-i", deploy.index.url, "--target", str(deploy.target))
    assert result.returncode == 1
    assert f"    # sha256: {peep_hash(wheel.data)}\n    alpha==1.0\n" in result.stderr


# --- Build dependencies ------------------------------------------------------------


def test_build_dependency_missing_is_reported_before_anything_runs(deploy: Deploy) -> None:
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", build_requires=["helper>=1.0"]))
    helper = deploy.index.add(wheel_bytes("helper", "1.0"))
    deploy.write(block(sdist.data, "beta==2.0"))
    result = deploy.install()
    assert result.returncode == 1
    assert "The following sdists need build dependencies that are not among the verified files" in result.stderr
    # helper was fetched only to be hashed for the block to paste; nothing ran.
    assert f"    beta-2.0.tar.gz needs helper>=1.0 (its pyproject.toml):\n        # sha256: {peep_hash(helper.data)}\n        helper==1.0\n" in result.stderr
    assert deploy.ran() == [] and deploy.installed() == {}


def test_build_dependency_present_and_verified(deploy: Deploy) -> None:
    helper = deploy.index.add(wheel_bytes("helper", "1.0"))
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", build_requires=["helper>=1.0"]))
    deploy.write(block(sdist.data, "beta==2.0") + block(helper.data, "helper==1.0"))
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert deploy.ran() == ["beta-2.0.ran"]
    assert deploy.installed() == {"beta": "2.0", "helper": "1.0"}


def test_already_installed_build_dependency_is_verified_and_offered_to_the_build(deploy: Deploy) -> None:
    helper = deploy.index.add(wheel_bytes("helper", "1.0"))
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", build_requires=["helper"]))
    deploy.install_first(block(helper.data, "helper==1.0"))
    deploy.write(block(sdist.data, "beta==2.0") + block(helper.data, "helper==1.0"))
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert deploy.ran() == ["beta-2.0.ran"]
    # helper was fetched and verified for the build, but not reinstalled.
    assert "/files/helper-1.0-py3-none-any.whl" in deploy.index.file_requests()
    assert "    helper==1.0" in result.stderr
    assert "\npeep: installed beta 2.0 (1 verified, " in result.stderr  # and not helper


def test_build_cannot_reach_unverified_files_through_pip_config(deploy: Deploy, tmp_path: Path) -> None:
    # The backend asks for "sneaky" at build time (PEP 517 dynamic requires).
    # It sits in a find-links dir that the user's pip settings point at; the
    # build must not be able to use it.
    sneaky_dir = tmp_path / "sneaky"
    sneaky_dir.mkdir()
    name, data = wheel_bytes("sneaky", "1.0")
    (sneaky_dir / name).write_bytes(data)
    config = tmp_path / "pip.conf"
    config.write_text(f"[global]\nfind-links = {sneaky_dir}\n")
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", extra_build_requires=["sneaky"]))
    deploy.write(block(sdist.data, "beta==2.0"))
    env = deploy.env(PIP_FIND_LINKS=str(sneaky_dir), PIP_CONFIG_FILE=str(config), PIP_INDEX_URL=deploy.index.url)
    result = deploy.install(env=env)
    assert result.returncode == 1
    assert "    beta-2.0.tar.gz needs sneaky (its backend's get_requires_for_build_wheel)" in result.stderr
    assert deploy.installed() == {}


# --- The example in the README -----------------------------------------------------


@pytest.mark.network
def test_example_requirements_install_from_the_public_index(tmp_path: Path) -> None:
    import sys

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    result = run_peep("install", "-r", str(ROOT / "examples" / "requirements.txt"), python=venv_python(venv))
    assert result.returncode == 0, result.stderr
    check = subprocess.run([venv_python(venv), "-c", "import six, idna; print(six.__version__, idna.__version__)"],
                           capture_output=True, text=True)
    assert check.stdout.split() == ["1.17.0", "3.10"]


def test_example_requirements_file_parses_and_is_fully_hashed() -> None:
    records = list(peep.parse_requirements_file(str(ROOT / "examples" / "requirements.txt"), environ={}))
    requirements = [r for r in records if isinstance(r, peep.Requirement)]
    assert requirements and all(r.hashes and r.pinned_version() for r in requirements)


def test_requirements_file_by_url_goes_through_the_same_rules(deploy: Deploy) -> None:
    wheel = deploy.index.add(wheel_bytes("alpha", "1.0"))
    deploy.index.pages["/reqs/remote.txt"] = block(wheel.data, "alpha==1.0").encode()
    deploy.write(f"-r http://127.0.0.1:{deploy.index.port}/reqs/remote.txt\n")
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"alpha": "1.0"}

    # Plain HTTP to anywhere but loopback is refused: it would carry the hashes.
    deploy.write("\n-r http://peep-test.invalid/reqs.txt\n")
    result = deploy.install()
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"{deploy.requirements} line 2: Could not open requirements file "
        "'http://peep-test.invalid/reqs.txt': refusing plain-HTTP http://peep-test.invalid/reqs.txt"
    )


# --- What pip records: as its own install from the index (DESIGN.md promise 4) ----------


def _comparable_tree(root: Path) -> Dict[str, bytes]:
    """Every installed file by content; .pyc files and RECORD's .pyc rows left out.

    pip compiles as it goes, peep after pip (tests/test_compile.py compares those).
    """
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_dir() or path.suffix == ".pyc":
            continue
        data = path.read_bytes()
        if path.name == "RECORD":
            data = b"".join(line for line in data.splitlines(True) if b".pyc," not in line)
        found[path.relative_to(root).as_posix()] = data
    return found


def _freeze(target: Path) -> List[str]:
    command = [sys.executable, "-m", "pip", "freeze", "--path", str(target)]
    return subprocess.run(command, capture_output=True, text=True, check=True, env=hermetic_env()).stdout.splitlines()


def test_installed_files_and_freeze_are_pips_own(deploy: Deploy) -> None:
    alpha = deploy.index.add(wheel_bytes("alpha", "1.0"))
    gamma = deploy.index.add(wheel_bytes("gamma", "3.0"))
    # A URL requirement, with credentials pip must not record.
    url = deploy.index.files_url.replace("://", "://user:secret@") + gamma.filename
    deploy.write(f"alpha==1.0 --hash=sha256:{sha256_hex(alpha.data)}\n"
                 f"gamma @ {url} --hash=sha256:{sha256_hex(gamma.data)}\n")  # fmt: skip
    by_pip = deploy.root / "by-pip"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--index-url", deploy.index.url,
         "--target", str(by_pip), "-r", str(deploy.requirements)],
        check=True, env=hermetic_env(), capture_output=True,
    )  # fmt: skip
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    expected, got = _comparable_tree(by_pip), _comparable_tree(deploy.target)
    assert sorted(got) == sorted(expected)
    assert "alpha-1.0.dist-info/direct_url.json" not in got  # an index file: none
    assert b"secret" not in got["gamma-3.0.dist-info/direct_url.json"]
    direct_url, record = "gamma-3.0.dist-info/direct_url.json", "gamma-3.0.dist-info/RECORD"
    old_pip = json.loads(expected[direct_url])["archive_info"] == {}
    if old_pip:
        # pip before 23 recorded no hash for a URL archive; peep records the one vetted.
        ours, pips = json.loads(got[direct_url]), json.loads(expected[direct_url])
        assert ours["url"] == pips["url"]
        assert ours["archive_info"]["hashes"] == {"sha256": sha256_hex(gamma.data)}
        rows = [{r for r in tree[record].splitlines() if not r.startswith(direct_url.encode())}
                for tree in (got, expected)]
        assert rows[0] == rows[1]
        expected = {path: data for path, data in expected.items() if path not in (direct_url, record)}
    for path in expected:
        assert got[path] == expected[path], path
    ours = [line.split("#sha256=")[0] if old_pip else line for line in _freeze(deploy.target)]
    assert ours == _freeze(by_pip)  # (an old pip shows the hash peep recorded as a fragment)
    assert _freeze(deploy.target)[0] == "alpha==1.0"


def test_url_sdist_records_its_url_and_its_own_hash(deploy: Deploy) -> None:
    sdist = deploy.index.add(sdist_bytes("beta", "2.0"))
    url = f"{deploy.index.files_url}beta-2.0.tar.gz"
    deploy.write(block(sdist.data, f"beta @ {url}#egg=beta"))
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    direct_url = deploy.target / "beta-2.0.dist-info" / "direct_url.json"
    digest = sha256_hex(sdist.data)  # the archive vetted, not the wheel peep built from it
    assert json.loads(direct_url.read_text()) == {
        "archive_info": {"hash": f"sha256={digest}", "hashes": {"sha256": digest}},
        "url": url,
    }
    record = (deploy.target / "beta-2.0.dist-info" / "RECORD").read_text()
    row = record_row("beta-2.0.dist-info/direct_url.json", direct_url.read_bytes())
    assert row in record.splitlines()


def test_url_archive_with_new_content_at_the_same_version_is_reinstalled(tmp_path: Path, index: LoopbackIndex) -> None:
    python = site_venv(tmp_path / "venv")
    first = index.add(wheel_bytes("alpha", "1.0", payload="FLAVOR = 'first'\n"))
    second = index.add(wheel_bytes("alpha", "1.0", tag="py2.py3-none-any", payload="FLAVOR = 'second'\n"))
    requirements = tmp_path / "r.txt"
    check = [python, "-c", "import alpha; print(alpha.FLAVOR)"]
    for served, flavor in ((first, "first"), (second, "second")):
        requirements.write_text(block(served.data, f"alpha @ {index.files_url}{served.filename}"))
        result = run_peep("install", "-r", str(requirements), python=python)
        assert result.returncode == 0, result.stderr
        assert "already installed" not in result.stderr
        assert subprocess.run(check, capture_output=True, text=True).stdout == f"{flavor}\n"
    # And once more: now it is the one installed, recorded by its hash.
    result = run_peep("install", "-r", str(requirements), python=python)
    assert result.returncode == 0, result.stderr
    assert "These packages were already installed" in result.stderr


def test_a_record_an_earlier_peep_left_is_repaired_by_reinstalling(tmp_path: Path, index: LoopbackIndex) -> None:
    # Earlier peeps handed pip file URLs, so pip recorded peep's deleted
    # temporary file as where a distribution came from. The next install
    # fetches, verifies and reinstalls it, and pip records an index install.
    python = site_venv(tmp_path / "venv")
    alpha = index.add(wheel_bytes("alpha", "1.0"))
    requirements = tmp_path / "r.txt"
    requirements.write_text(block(alpha.data, "alpha==1.0"))
    install = ["install", "-r", str(requirements), "-i", index.url]
    assert run_peep(*install, python=python).returncode == 0
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    record = Path(purelib, "alpha-1.0.dist-info", "direct_url.json")
    stale = {"url": "file:///tmp/peep-k2j4h1/verified/alpha-1.0-py3-none-any.whl",
             "archive_info": {"hashes": {"sha256": sha256_hex(alpha.data)}}}
    record.write_text(json.dumps(stale))
    with open(record.parent / "RECORD", "a") as rows:  # as the pip that wrote it listed it
        rows.write("alpha-1.0.dist-info/direct_url.json,,\n")
    result = run_peep(*install, python=python)
    assert result.returncode == 0, result.stderr
    assert "These packages were already installed" not in result.stderr
    assert not record.exists()  # an index install, as pip records one
    again = run_peep(*install, python=python)
    assert "These packages were already installed" in again.stderr  # repaired once, then kept


@pytest.mark.parametrize("exists", [False, True])
def test_only_a_vanished_file_of_an_earlier_peep_counts_as_its_record(tmp_path: Path, exists: bool) -> None:
    """A user's own file:///.../peep-tools/x.whl that is still there is theirs, kept as recorded."""
    wheel = tmp_path / "peep-tools" / "alpha-1.0-py3-none-any.whl"
    if exists:
        wheel.parent.mkdir()
        wheel.write_bytes(b"the user's own wheel")
    dist_info = tmp_path / "site" / "alpha-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: alpha\nVersion: 1.0\n")
    (dist_info / "direct_url.json").write_text(json.dumps(
        {"url": wheel.as_uri(), "archive_info": {"hashes": {"sha256": "0" * 64}}}))
    _, found = peep.installed_here([str(tmp_path / "site")])
    assert found == {"alpha": {"sha256": "0" * 64} if exists else {}}


# --- When pip fails: what it changed, exactly (DESIGN.md promise 2) ----------------------


def _dist_infos(site: Path) -> List[str]:
    return sorted(p.name for p in site.glob("*.dist-info")) if site.is_dir() else []


def test_a_failed_pip_run_says_exactly_what_it_changed(deploy: Deploy, tmp_path: Path) -> None:
    import sysconfig

    prefix = tmp_path / "prefix"
    site = Path(sysconfig.get_path("purelib", vars={"base": str(prefix), "platbase": str(prefix)}))
    old = deploy.index.add(wheel_bytes("gamma", "1.0"))
    new = deploy.index.add(wheel_bytes("gamma", "2.0"))
    beta = deploy.index.add(wheel_bytes("beta", "1.0", extra_files={"beta/__init__.py": b""}))
    install = ["install", "-r", str(deploy.requirements), "-i", deploy.index.url, "--prefix", str(prefix)]
    deploy.write(block(old.data, "gamma==1.0"))
    assert run_peep(*install).returncode == 0
    (site / "beta").write_text("a file where pip must make a directory\n")  # pip fails on it
    before = _dist_infos(site)
    deploy.write(block(new.data, "gamma==2.0") + block(beta.data, "beta==1.0"))
    result = run_peep(*install)
    after = _dist_infos(site)
    assert result.returncode == 1, result.stderr
    assert "pip's install step failed" in result.stderr
    label = lambda name: name[: -len(".dist-info")].replace("-", " ") + (  # noqa: E731
        "" if (site / name / "RECORD").exists() else " (no RECORD)")  # fmt: skip
    added = [label(name) for name in after if name not in before]
    removed = [label(name) for name in before if name not in after]
    assert added or removed  # pip got some way before it failed
    parts = [f"{word} {', '.join(names)}" for word, names in (("added", added), ("removed", removed)) if names]
    assert f"peep: pip changed: {'; '.join(parts)}\n" in result.stderr


@pytest.mark.parametrize("stage", ["pip", "compiling"])
def test_an_interrupted_install_step_says_exactly_what_pip_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    import io
    import signal

    target = tmp_path / "target"
    for name in ("old-0.1.dist-info", "kept-1.0.dist-info"):
        (target / name).mkdir(parents=True)
        (target / name / "RECORD").write_text("")

    def pip(command: Sequence[str], err: object, environment: object) -> int:
        (target / "old-0.1.dist-info" / "RECORD").unlink()
        (target / "old-0.1.dist-info").rmdir()
        (target / "alpha-1.0.dist-info").mkdir()  # stopped before it wrote RECORD
        if stage == "pip":
            raise peep.Interrupted(signal.SIGINT, during_pip=True)
        return 0

    def finish(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(peep, "run_pip", pip)
    monkeypatch.setattr(peep.InstallRun, "finish", finish)
    item = accepted(tmp_path, *wheel_bytes("alpha", "1.0"), "alpha==1.0")
    options = peep.parse_install_arguments(["-r", "r.txt", "--target", str(target)])
    err = io.StringIO()
    run = peep.InstallRun(options, err, str(tmp_path), 9)
    run.verified = [item]
    with pytest.raises(peep.Interrupted) as raised:
        run.install(str(tmp_path), {})
    assert err.getvalue().endswith("\npeep: pip changed: added alpha 1.0 (no RECORD); removed old 0.1\n")
    message = peep.interruption_message(raised.value)
    assert "What pip changed is listed above" in message and "nothing was installed" not in message


def test_an_error_relaying_pips_output_is_no_interruption() -> None:
    """An OSError while pip's stderr is passed on is itself, never reported as an interruption;
    pip is stopped first all the same."""
    import errno
    import io
    import os
    import time

    class ClosedStream(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError(errno.EPIPE, "Broken pipe")

    pip = "import sys, time; sys.stderr.write('said\\n'); sys.stderr.flush(); time.sleep(60)"
    started = time.monotonic()
    with pytest.raises(OSError) as raised:
        peep.run_pip([sys.executable, "-c", pip], ClosedStream(), dict(os.environ))
    assert raised.value.errno == errno.EPIPE
    assert time.monotonic() - started < 30  # stopped, not waited out


def test_pip_stopped_because_its_output_cannot_be_passed_on_still_gets_an_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pip stopped part way, because a line of its stderr could not be written (a non-blocking
    stream that is full), is still followed by what pip changed."""
    import errno
    import io

    target = tmp_path / "target"
    target.mkdir()
    added = target / "alpha-1.0.dist-info"
    pip = (f"import os, sys, time; os.mkdir({str(added)!r}); sys.stderr.write('WARNING: pip said\\n'); "
           "sys.stderr.flush(); time.sleep(60)")
    monkeypatch.setattr(peep, "pip_command", lambda: [sys.executable, "-c", pip])

    class FullStream(io.StringIO):
        def write(self, text: str) -> int:
            if "pip said" in text:
                raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
            return super().write(text)

    item = accepted(tmp_path, *wheel_bytes("alpha", "1.0"), "alpha==1.0")
    options = peep.parse_install_arguments(["-r", "r.txt", "--target", str(target)])
    err = FullStream()
    run = peep.InstallRun(options, err, str(tmp_path), 9)
    run.verified = [item]
    with pytest.raises(BlockingIOError):
        run.install(str(tmp_path), {})
    assert "peep: pip changed: added alpha 1.0 (no RECORD)" in err.getvalue()


def test_staging_never_writes_through_a_link_planted_in_the_staging_directory(tmp_path: Path) -> None:
    """An entry already in peep's private find-links directory is foreign: the verified archive
    takes its place, and a link planted there is replaced, never written through."""
    item = accepted(tmp_path, *wheel_bytes("alpha", "1.0"), "alpha==1.0")
    outside = tmp_path / "outside"
    outside.write_bytes(b"precious")
    workdir = tmp_path / "work"
    (workdir / "verified").mkdir(parents=True)
    (workdir / "verified" / item.filename).symlink_to(outside)
    directory, problems = peep.stage_verified([item], str(workdir))
    staged = Path(directory) / item.filename
    assert problems == [] and outside.read_bytes() == b"precious"
    assert not staged.is_symlink() and staged.read_bytes() == Path(item.path).read_bytes()


@pytest.mark.parametrize("style", ["peep", "pip"])
def test_files_vetted_only_for_other_platforms_are_not_called_tampered(deploy: Deploy, style: str) -> None:
    # The user vetted the Windows wheel; this machine would install the pure
    # one, whose digest the index advertises. That is a file to vet, not an
    # attack: say so, and download nothing to find it out.
    vetted = deploy.index.add(wheel_bytes("alpha", "1.0", tag="cp27-cp27m-win32"))
    deploy.index.add(wheel_bytes("alpha", "1.0", tag="py3-none-any"))
    pip_style = f"alpha==1.0 --hash=sha256:{sha256_hex(vetted.data)}\n"
    deploy.write(pip_style if style == "pip" else block(vetted.data, "alpha==1.0"))
    result = deploy.install()
    assert result.returncode == 1
    assert "no vetted file installs here (nothing was tampered with)" in result.stderr
    command = "'peep hash --format pip alpha==1.0'" if style == "pip" else "'peep hash alpha==1.0'"
    assert f"vetted: {vetted.filename}" in result.stderr and command in result.stderr
    assert "DIDN'T MATCH" not in result.stderr
    assert deploy.index.file_requests() == [] and deploy.installed() == {}


def test_a_pip_in_the_current_directory_is_not_the_pip_that_installs(
    deploy: Deploy, tmp_path: Path
) -> None:
    """``python -m pip`` imports pip from the current directory first: a pip/ there is not pip.

    peep is run where a project was checked out; a pip/ package in it (anyone's
    code) would install instead of pip, as you, and peep would report its exit
    status as pip's.
    """
    checkout = tmp_path / "checkout"
    (checkout / "pip").mkdir(parents=True)
    (checkout / "pip" / "__init__.py").write_text("")
    telltale = deploy.telltales / "planted-pip.ran"
    (checkout / "pip" / "__main__.py").write_text(f"open({str(telltale)!r}, 'w').write('ran')\n")
    wheel = deploy.index.add(wheel_bytes("alpha", "1.0"))
    deploy.write(block(wheel.data, "alpha==1.0"))
    result = deploy.install(cwd=checkout)
    assert result.returncode == 0, result.stderr
    assert not telltale.exists()
    assert deploy.installed() == {"alpha": "1.0"}
    # Nor for a command handed to pip, or lock's resolver (which must run nothing unvetted).
    assert run_peep("list", "--path", str(deploy.target), cwd=checkout).returncode == 0
    run_peep("lock", "-r", str(tmp_path / "new.txt"), "alpha", "-i", deploy.index.url, cwd=checkout)
    assert not telltale.exists()
