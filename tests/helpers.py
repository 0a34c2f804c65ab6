"""Fixture archives and a loopback package index, built at test time.

Nothing here touches the network beyond 127.0.0.1: wheels are written with
zipfile, sdists carry a tiny in-tree PEP 517 backend (so building needs no
setuptools and no index), and the index is a real HTTP server on port 0.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import ssl
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
PEEP = ROOT / "peep.py"

# The environment variable the fixture backend reads to know where to drop
# its telltale file. Deliberately not PIP_*: peep strips those.
TELLTALE_ENV = "PEEP_TEST_TELLTALE_DIR"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def peep_hash(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")


def block(data: bytes, line: str) -> str:
    """A requirement line with a peep hash comment for ``data`` above it."""
    return f"# sha256: {peep_hash(data)}\n{line}\n"


def record_row(path: str, data: Optional[bytes]) -> str:
    """A wheel RECORD row for ``data`` at ``path``; for no data, a row with no hash or size."""
    if data is None:
        return f"{path},,"
    return f"{path},sha256={peep_hash(data)},{len(data)}"


def basic(user: str, password: str) -> str:
    """The Authorization header of HTTP Basic authentication."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def wheel_bytes(
    name: str,
    version: str,
    *,
    tag: str = "py3-none-any",
    requires: Sequence[str] = (),
    requires_python: Optional[str] = None,
    payload: str = "",
    extra_files: Optional[Dict[str, bytes]] = None,
) -> Tuple[str, bytes]:
    """Return (filename, bytes) of a minimal, valid, pure-Python wheel."""
    dist = name.replace("-", "_")
    dist_info = f"{dist}-{version}.dist-info"
    metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if requires_python:
        metadata.append(f"Requires-Python: {requires_python}")
    metadata += [f"Requires-Dist: {req}" for req in requires]
    files = {
        f"{dist}.py": f"VERSION = {version!r}\n{payload}".encode(),
        f"{dist_info}/METADATA": ("\n".join(metadata) + "\n").encode(),
        f"{dist_info}/WHEEL": (
            f"Wheel-Version: 1.0\nGenerator: peep-tests\nRoot-Is-Purelib: true\nTag: {tag}\n"
        ).encode(),
    }
    files.update(extra_files or {})
    record = [record_row(path, data) for path, data in files.items()]
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            info = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            if ".data/scripts/" in path:  # as wheel builders mark commands
                info.external_attr = 0o100755 << 16
            archive.writestr(info, data)
    return f"{dist}-{version}-{tag}.whl", buffer.getvalue()


# The PEP 517 backend every fixture sdist carries. Importing it is "running
# the build", so it drops its telltale at import time: if the file exists,
# code from the archive ran.
_BACKEND = '''
import base64, hashlib, io, os, zipfile

NAME = {name!r}
VERSION = {version!r}
EXTRA_BUILD_REQUIRES = {extra_build_requires!r}

{backend_code}
_telltale_dir = os.environ.get({telltale_env!r})
if _telltale_dir:
    with open(os.path.join(_telltale_dir, NAME + "-" + VERSION + ".ran"), "w") as f:
        f.write("build code ran\\n")
if os.environ.get("PEEP_TEST_BUILD_SLEEP"):
    import time
    time.sleep(float(os.environ["PEEP_TEST_BUILD_SLEEP"]))


def get_requires_for_build_wheel(config_settings=None):
    return list(EXTRA_BUILD_REQUIRES)


def _dist():
    return NAME.replace("-", "_")


def _files():
    dist_info = _dist() + "-" + VERSION + ".dist-info"
    metadata = "Metadata-Version: 2.1\\nName: %s\\nVersion: %s\\n" % (NAME, VERSION)
    with open(_dist() + ".py", "rb") as f:
        module = f.read()
    return dist_info, {{
        _dist() + ".py": module,
        dist_info + "/METADATA": metadata.encode(),
        dist_info + "/WHEEL": b"Wheel-Version: 1.0\\nGenerator: fixture\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    }}


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    dist_info, files = _files()
    os.makedirs(os.path.join(metadata_directory, dist_info))
    for path, data in files.items():
        if path.startswith(dist_info):
            with open(os.path.join(metadata_directory, path), "wb") as f:
                f.write(data)
    return dist_info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    dist_info, files = _files()
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")
        record.append("%s,sha256=%s,%d" % (path, digest, len(data)))
    record.append(dist_info + "/RECORD,,")
    files[dist_info + "/RECORD"] = ("\\n".join(record) + "\\n").encode()
    filename = "%s-%s-py3-none-any.whl" % (_dist(), VERSION)
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return filename
'''


def sdist_bytes(
    name: str,
    version: str,
    *,
    build_requires: Sequence[str] = (),
    extra_build_requires: Sequence[str] = (),
    pyproject: Optional[str] = None,
    payload: str = "",
    pkg_info: Optional[str] = None,
    backend_code: str = "",
    extra_files: Optional[Dict[str, bytes]] = None,
) -> Tuple[str, bytes]:
    """Return (filename, bytes) of an sdist whose in-tree backend drops a telltale.

    ``backend_code`` runs when the backend is imported, before any hook.
    """
    dist = name.replace("-", "_")
    root = f"{dist}-{version}"
    if pyproject is None:
        pyproject = (
            "[build-system]\n"
            f"requires = {json.dumps(list(build_requires))}\n"
            'build-backend = "fixture_backend"\n'
            'backend-path = ["."]\n'
        )
    files = {
        f"{root}/PKG-INFO": (
            pkg_info or f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        ).encode(),
        f"{root}/pyproject.toml": pyproject.encode(),
        f"{root}/fixture_backend.py": _BACKEND.format(
            name=name,
            version=version,
            extra_build_requires=list(extra_build_requires),
            telltale_env=TELLTALE_ENV,
            backend_code=backend_code,
        ).encode(),
        f"{root}/{dist}.py": f"VERSION = {version!r}\n{payload}".encode(),
    }
    files.update({f"{root}/{path}": data for path, data in (extra_files or {}).items()})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mtime = 1577836800
            archive.addfile(info, io.BytesIO(data))
    return f"{root}.tar.gz", buffer.getvalue()


def tar_gz_bytes(members: Sequence[Tuple[tarfile.TarInfo, bytes]]) -> bytes:
    """Return a .tar.gz holding exactly these members, in this order."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for info, data in members:
            if info.isreg():
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            else:
                archive.addfile(info)
    return buffer.getvalue()


def wheel_from_installed(project: str) -> Tuple[str, bytes]:
    """Return (filename, bytes) of a wheel made from an installed pure-Python project.

    It packs the files its RECORD lists, so tests can offer a real build
    backend (setuptools) as a verified wheel without any index.
    """
    import importlib.metadata

    dist = importlib.metadata.distribution(project)
    version = dist.version
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in dist.files or []:
            text = str(path)
            if text.startswith("..") or "__pycache__" in text or text.endswith((".pyc", "INSTALLER", "REQUESTED", "direct_url.json")):
                continue
            if path.hash is None and not text.endswith("RECORD"):
                continue  # what an installer added (virtualenv's marker), not the wheel's
            located = Path(str(dist.locate_file(path)))
            if located.is_file():
                archive.write(located, text)
    name = dist.metadata["Name"].replace("-", "_")
    return f"{name}-{version}-py3-none-any.whl", buffer.getvalue()


# --- A loopback index ---------------------------------------------------------


@dataclass
class Served:
    """One file the index offers."""

    project: str
    filename: str
    data: bytes
    advertise_hash: bool = True
    requires_python: Optional[str] = None
    yanked: Optional[str] = None


def respond(handler: BaseHTTPRequestHandler, status: int, body: bytes = b"",
            headers: Optional[Dict[str, str]] = None) -> None:
    """Answer one request: ``status``, ``headers`` (with a Content-Length), ``body``."""
    handler.send_response(status)
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    if "Content-Length" not in (headers or {}):
        handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class _QuietServer(ThreadingHTTPServer):
    """A server thread that takes a client hanging up as the client's business.

    peep drops connections on purpose (a refused digest, a capped size, an
    interrupt); the default handler would print a BrokenPipe traceback from
    the server's thread into whatever stderr the test is capturing.
    """

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError)):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def serve_http(answer: Callable[[BaseHTTPRequestHandler], None],
               tls: Optional[ssl.SSLContext] = None) -> ThreadingHTTPServer:
    """Start a server on 127.0.0.1, port 0, that lets ``answer`` reply to every GET."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            answer(self)

    server = _QuietServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stop_http(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()


class LoopbackProxy:
    """An HTTP proxy on 127.0.0.1 that records what it is asked for and relays it.

    With ``only_to``, it relays every request to that loopback index, whatever host it names.
    """

    def __init__(self, only_to: Optional["LoopbackIndex"] = None) -> None:
        self.seen: List[str] = []
        self.only_to = only_to
        self.server = serve_http(self._relay)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _relay(self, handler: BaseHTTPRequestHandler) -> None:
        self.seen.append(handler.path)
        url = handler.path
        if self.only_to is not None:
            url = f"http://127.0.0.1:{self.only_to.port}{urllib.parse.urlsplit(url).path}"
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        request = urllib.request.Request(url, headers={"Accept": handler.headers.get("Accept", "*/*")})
        try:
            with direct.open(request, timeout=10) as upstream:
                body = upstream.read()
                status, content_type = upstream.status, upstream.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            body, status, content_type = exc.read(), exc.code, "text/plain"
        respond(handler, status, body, {"Content-Type": content_type})

    def stop(self) -> None:
        stop_http(self.server)


def _json_page(project: str, entries: Sequence[Served]) -> bytes:
    """A PEP 691 project page."""
    files = []
    for f in entries:
        entry: Dict[str, object] = {
            "filename": f.filename,
            "url": f"../../files/{f.filename}",
            "hashes": {"sha256": sha256_hex(f.data)} if f.advertise_hash else {},
        }
        if f.requires_python:
            entry["requires-python"] = f.requires_python
        if f.yanked is not None:
            entry["yanked"] = f.yanked
        files.append(entry)
    return json.dumps({"meta": {"api-version": "1.0"}, "name": project, "files": files}).encode()


def _html_page(entries: Sequence[Served]) -> bytes:
    """A PEP 503 project page."""
    links = []
    for f in entries:
        href = f"../../files/{f.filename}"
        if f.advertise_hash:
            href += f"#sha256={sha256_hex(f.data)}"
        attributes = ""
        if f.requires_python:
            attributes += f' data-requires-python="{_escape(f.requires_python)}"'
        if f.yanked is not None:
            attributes += f' data-yanked="{_escape(f.yanked)}"'
        links.append(f'<a href="{href}"{attributes}>{f.filename}</a><br>')
    return ("<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>\n").encode()


JSON_TYPE = "application/vnd.pypi.simple.v1+json"


@dataclass
class LoopbackIndex:
    """A PEP 503/691 index on 127.0.0.1 that can misbehave on purpose.

    ``requests`` records every request path; ``corrupt`` maps a file name to
    the bytes served instead of the real ones; ``pages`` maps a path to
    bytes served as they are (a requirements or lock file by URL); files
    ``plant``-ed are served, unverified, under /evil/.
    """

    files: List[Served] = field(default_factory=list)
    json_api: bool = True
    corrupt: Dict[str, bytes] = field(default_factory=dict)
    status_for: Dict[str, List[int]] = field(default_factory=dict)
    requests: List[str] = field(default_factory=list)
    hook: Optional[Callable[[BaseHTTPRequestHandler], bool]] = None
    tls: Optional[ssl.SSLContext] = None  # serve HTTPS with this context
    auth: Optional[str] = None  # the Authorization header every request must carry
    headers_seen: List[Tuple[str, Dict[str, str]]] = field(default_factory=list)
    file_delay: float = 0.0  # seconds before each file response
    truncate: Dict[str, int] = field(default_factory=dict)  # filename -> times to cut short
    pages: Dict[str, bytes] = field(default_factory=dict)  # path -> body, served as is
    planted: Dict[str, bytes] = field(default_factory=dict)  # filename -> bytes at /evil/
    in_flight: int = 0
    most_in_flight: int = 0

    def add(self, filename_and_bytes: Tuple[str, bytes], project: Optional[str] = None, **kw: object) -> Served:
        filename, data = filename_and_bytes
        if project is None:
            project = filename.split("-")[0]
        served = Served(project=_normalize(project), filename=filename, data=data, **kw)  # type: ignore[arg-type]
        self.files.append(served)
        return served

    def plant(self, filename_and_bytes: Tuple[str, bytes]) -> str:
        """Serve an archive nobody hashed at /evil/; return its URL."""
        filename, data = filename_and_bytes
        self.planted[filename] = data
        return self.evil_url(filename)

    def evil_url(self, filename: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/evil/{filename}"

    def evil_requests(self) -> List[str]:
        return [path for path in self.requests if path.startswith("/evil/")]

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/simple/"

    @property
    def files_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/files/"

    def file_requests(self) -> List[str]:
        return [path for path in self.requests if path.startswith("/files/")]

    def start(self) -> "LoopbackIndex":
        self._lock = threading.Lock()
        self.server = serve_http(self._answer, self.tls)
        self.port = self.server.server_address[1]
        return self

    def stop(self) -> None:
        stop_http(self.server)

    # Answering a request: record it, let the test's hook and the misbehaviour
    # it asked for go first, then route by path.

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        self.requests.append(handler.path)
        self.headers_seen.append((handler.path, dict(handler.headers.items())))
        if self.hook is not None and self.hook(handler):
            return
        if self.auth is not None and handler.headers.get("Authorization") != self.auth:
            respond(handler, 401, headers={"WWW-Authenticate": 'Basic realm="test"'})
            return
        statuses = self.status_for.get(handler.path)
        if statuses:
            respond(handler, statuses.pop(0))
            return
        self._route(handler, handler.path.split("?", 1)[0])

    def _route(self, handler: BaseHTTPRequestHandler, path: str) -> None:
        if path in self.pages:
            respond(handler, 200, self.pages[path])
        elif path.startswith("/simple/") and path.count("/") == 3:
            self._project_page(handler, path.split("/")[2])
        elif path.startswith("/files/"):
            self._counting_in_flight(handler, path[len("/files/"):])
        elif path.startswith("/evil/"):
            self._evil(handler, path[len("/evil/"):].strip("/"))
        else:
            respond(handler, 404, b"not found", {"Content-Type": "text/plain"})

    def _project_page(self, handler: BaseHTTPRequestHandler, project: str) -> None:
        entries = [f for f in self.files if f.project == _normalize(project)]
        if not entries:
            respond(handler, 404, b"no such project", {"Content-Type": "text/plain"})
        elif project != _normalize(project):
            respond(handler, 301, headers={"Location": f"/simple/{_normalize(project)}/"})
        elif self.json_api and JSON_TYPE in handler.headers.get("Accept", ""):
            respond(handler, 200, _json_page(project, entries), {"Content-Type": JSON_TYPE})
        else:
            respond(handler, 200, _html_page(entries), {"Content-Type": "text/html"})

    def _counting_in_flight(self, handler: BaseHTTPRequestHandler, filename: str) -> None:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.file_delay:
                time.sleep(self.file_delay)
            self._file(handler, filename)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _file(self, handler: BaseHTTPRequestHandler, filename: str) -> None:
        served = next((f for f in self.files if f.filename == filename), None)
        if served is None:
            respond(handler, 404, b"no such file", {"Content-Type": "text/plain"})
            return
        data = self.corrupt.get(filename, served.data)
        if self.truncate.get(filename):  # announce it all, send half, hang up
            self.truncate[filename] -= 1
            handler.send_response(200)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data[: len(data) // 2])
            handler.close_connection = True
            return
        respond(handler, 200, data, {"Content-Type": "application/octet-stream"})

    def _evil(self, handler: BaseHTTPRequestHandler, name: str) -> None:
        if name in self.planted:
            respond(handler, 200, self.planted[name])
        else:  # a find-links page, or a simple index page, of every planted file
            respond(handler, 200, "".join(f'<a href="/evil/{n}">{n}</a>\n' for n in self.planted).encode())


def _normalize(name: str) -> str:
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


# --- Running things -----------------------------------------------------------


def hermetic_env(**extra: str) -> Dict[str, str]:
    """The environment for peep and pip subprocesses: no user pip config at all."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    # peep reads PIP_* itself: no user cache, netrc or proxy unless a test asks.
    env["PIP_NO_CACHE_DIR"] = "1"
    env["NETRC"] = os.devnull
    for key in list(env):
        if key.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
            del env[key]
    env.pop("PYTHONPATH", None)
    # Builds see an allowlist of variables, and those named here.
    env["PEEP_BUILD_ENV"] = f"{TELLTALE_ENV} PEEP_TEST_BUILD_SLEEP"
    env.update(extra)
    return env


def run_peep(
    *args: str,
    cwd: Optional[Path] = None,
    env: Optional[Dict[str, str]] = None,
    python: str = sys.executable,
    peep: Path = PEEP,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run ``python peep.py ARGS`` and capture what it says."""
    return subprocess.run(
        [python, str(peep), *args],
        cwd=cwd,
        env=env if env is not None else hermetic_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def installed_in(target: Path) -> Dict[str, str]:
    """Map project name -> version for the distributions in a --target dir."""
    found = {}
    if target.is_dir():
        for entry in target.iterdir():
            if entry.name.endswith(".dist-info"):
                stem = entry.name[: -len(".dist-info")]
                name, _, version = stem.rpartition("-")
                found[_normalize(name)] = version
    return found


class Deploy:
    """One ``peep install`` against a loopback index: its files, and what it did.

    A requirements (or lock) file, a --target dir and a telltale dir that
    sdists' build code writes to; ``installed`` says what the target holds,
    ``ran`` which build code ran, ``index.requests`` what the server saw.
    ``finder`` is the index options every install passes (by default the
    loopback index; ``()`` for none, when the file or the test names them).
    """

    def __init__(self, tmp_path: Path, index: LoopbackIndex, *, requirements: str = "requirements.txt",
                 finder: Optional[Sequence[str]] = None) -> None:
        self.root = tmp_path
        self.index = index
        self.target = tmp_path / "target"
        self.telltales = tmp_path / "telltales"
        self.telltales.mkdir(exist_ok=True)
        self.requirements = tmp_path / requirements
        self.cache = tmp_path / "cache"
        self.finder = list(finder) if finder is not None else ["--index-url", index.url]

    def write(self, text: str) -> Path:
        self.requirements.parent.mkdir(parents=True, exist_ok=True)
        self.requirements.write_text(text)
        return self.requirements

    def env(self, **extra: str) -> Dict[str, str]:
        """The hermetic environment, with the telltale dir for build code."""
        return hermetic_env(**{TELLTALE_ENV: str(self.telltales)}, **extra)

    def install(self, *options: str, finder: Optional[Sequence[str]] = None, env: Optional[Dict[str, str]] = None,
                python: str = sys.executable, cwd: Optional[Path] = None) -> subprocess.CompletedProcess[str]:
        """Run ``peep install -r FILE --target DIR`` with the finder options and ``options``."""
        return run_peep(
            "install", "-r", str(self.requirements), "--target", str(self.target),
            *(self.finder if finder is None else finder), *options,
            env=env if env is not None else self.env(), python=python, cwd=cwd,
        )

    def lock(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``peep lock -r FILE`` with the finder options and ``args``."""
        return run_peep("lock", "-r", str(self.requirements), *args, *self.finder, env=self.env())

    def install_first(self, text: str) -> None:
        """Install ``text``, then forget its requests: where a second install starts from."""
        self.write(text)
        result = self.install()
        assert result.returncode == 0, result.stderr
        self.index.requests.clear()

    def installed(self) -> Dict[str, str]:
        return installed_in(self.target)

    def ran(self) -> List[str]:
        return sorted(p.name for p in self.telltales.iterdir())


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


# --- Confined builds ----------------------------------------------------------

# Under --build-network=none a build cannot write outside its own directories,
# the telltale dir included: it reports instead, on its output, which -v shows.
REPORT = "peep-test-report"


def report(name: str, expression: str) -> str:
    """Return build code that reports ``name``'s value where ``reports`` finds it."""
    return f"print({REPORT!r}, {name!r}, repr({expression}), flush=True)\n"


def reports(output: str) -> Dict[str, object]:
    """Return what a build reported (a name's last value wins): -v output in, values out."""
    import ast

    found = {}
    for line in output.splitlines():
        _, marker, rest = line.partition(REPORT + " ")
        if marker:
            name, _, value = rest.partition(" ")
            found[name] = ast.literal_eval(value)
    return found


def confinement_refused() -> Optional[str]:
    """Return why this kernel refuses what --build-network=none needs, or None.

    Asked of the kernel directly, in a child process, not of peep: user,
    network and mount namespaces, and a recursive read-only remount.
    """
    code = """if 1:
        import ctypes, os, struct
        libc = ctypes.CDLL(None, use_errno=True)
        def check(status, what):
            if status != 0:
                raise SystemExit(what + ": " + os.strerror(ctypes.get_errno()))
        check(libc.unshare(0x10000000 | 0x40000000 | 0x00020000), "namespaces")
        check(libc.mount(None, b"/", None, 0x4000 | 0x40000, None), "private mounts")
        attributes = struct.pack("QQQQ", 1, 0, 0, 0)
        check(libc.syscall(442, -100, b"/", 0x8000, attributes, 32), "mount_setattr")
    """
    if sys.platform != "linux":
        return "namespaces are Linux's"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return None if result.returncode == 0 else f"this system refuses {result.stderr.strip()}"


def accepted(directory: Path, filename: str, data: bytes, line: str) -> "peep.Verified":  # noqa: F821
    """Write ``data`` as ``filename`` and have peep accept it for requirement ``line``.

    Tests get their Verified records the one way peep does: the requirement
    carries the file's own hash, and accept() reads the archive strictly.
    """
    import peep

    path = directory / filename
    path.write_bytes(data)
    requirement = peep.replace(peep.parse_requirement(line, peep.Origin("r.txt", 1)),
                               hashes=peep.Hashes(sha256=frozenset({sha256_hex(data)})))
    verdict = peep.accept(peep.Arrived(requirement, str(path), filename, {"sha256": sha256_hex(data)}, None))
    assert isinstance(verdict, peep.Verified), verdict
    return verdict


def settings_after(*options: Tuple[str, object]) -> "peep.FinderSettings":  # noqa: F821
    """The finder settings after pip's options ``(name, value)``, applied in order."""
    import peep

    settings = peep.FinderSettings()
    for name, value in options:
        settings = settings.with_option(name, value)
    return settings


def refusal(directory: Path, filename: str, data: bytes) -> str:
    """Write ``data`` as ``filename``; return why peep.read_archive refuses it, naming it first."""
    import peep

    path = directory / filename
    path.write_bytes(data)
    try:
        peep.read_archive(str(path), filename)
    except peep.ArchiveError as error:
        assert str(error).startswith(f"{filename}: "), error
        return str(error)
    raise AssertionError(f"{filename} was read, not refused")


def serve_upload_times(index: LoopbackIndex, times: Dict[str, str]) -> None:
    """Have the index's PEP 691 pages give each file in ``times`` that upload-time."""

    def hook(handler: BaseHTTPRequestHandler) -> bool:
        parts = handler.path.split("/")
        if len(parts) != 4 or parts[1] != "simple" or JSON_TYPE not in handler.headers.get("Accept", ""):
            return False
        page = json.loads(_json_page(parts[2], [f for f in index.files if f.project == parts[2]]))
        for entry in page["files"]:
            if entry["filename"] in times:
                entry["upload-time"] = times[entry["filename"]]
        respond(handler, 200, json.dumps(page).encode(), {"Content-Type": JSON_TYPE})
        return True

    index.hook = hook
