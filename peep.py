#!/usr/bin/env python
"""peep: a "pip install" that is cryptographically guaranteed repeatable.

Record the SHA-256 of every archive you vetted above its requirement::

    # sha256: L9XU_-gfdi3So-WEctaQoNu6N2Z3ZQYAOu4-16qor-8
    requests==2.32.3

then install with::

    peep install -r requirements.txt [pip install options]

peep finds and downloads each archive itself, hashes it, and hands pip only
the files that match: all or nothing.

Commands::

    peep install -r FILE ...   verify everything, then install it with one pip run
                               (FILE may be a PEP 751 lock file, pylock.toml)
    peep hash FILE...          print a "# sha256:" line for each archive
    peep port FILE...          rewrite peep's hash comments as pip's --hash options
    peep lock -r FILE [SPEC]   complete FILE: pins, the dependency closure, hashes
    peep COMMAND ...           anything else is handed to pip unchanged

Embed it: copy this one file into your repository and run
``python peep.py install -r requirements.txt`` from your deploy script. It
needs nothing but pip.
"""

# Copyright (c) 2013-2026 peep's authors
#
# Permission is hereby granted, free of charge, to any person obtaining a copy
# of this software and associated documentation files (the "Software"), to deal
# in the Software without restriction, including without limitation the rights
# to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
# copies of the Software, and to permit persons to whom the Software is
# furnished to do so, subject to the following conditions:
#
# The above copyright notice and this permission notice shall be included in
# all copies or substantial portions of the Software.
#
# THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
# IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
# FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
# AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
# LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
# OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
# SOFTWARE.

# What is where. Each section below uses only what the sections above it
# define (main's dispatch aside), so the file reads top to bottom.
#
# The trust path is the sections marked [trust]: the code whose bug could
# let unverified bytes run or be installed, or let a build out of its
# confinement. Read them alone to know what peep guarantees. Everything else
# only proposes files to accept() or reports on them: a bug there can make
# peep fail or choose badly, never install or run what did not match.
#
#   Imports and helpers used everywhere  exit codes, errors, the printer, pip's command line
#   Hashes [trust]                       the Hashes value, streaming digests, peep's and pip's forms
#   Configuration                        pip's configuration; the tables of pip's options
#   Fetching                             HTTP(S) under pip's TLS, proxy and credential settings
#   Requirements                         requirements files read into frozen line records
#   Lock files (PEP 751)                 pylock.toml read as requirements
#   Command-line options                 install's options; the finder options every command takes
#   Finding                              index pages and find-links into candidates; the choice
#   The verified cache [trust]           archives kept under their hash, link-proof
#   Progress                             progress lines on the error stream
#   Reading archives [trust]             one strict reading of every archive, and extraction
#   Verdicts                             the Problem record, the KINDS table, the grouped report
#   Accepting [trust]                    accept(): the one place a file becomes Verified
#   Verifying                            requirements into accepted archives, all or nothing
#   Planning builds                      build systems, build dependencies, omitted dependencies
#   Building sdists [trust]              PEP 517 hooks, confined, in environments of verified wheels
#   Installing with pip [trust]          where pip installs, what is installed; the one pip run
#   Byte-compiling after pip [trust]     compiling the verified wheels' own .py files
#   Around pip                           installed versions; what pip changed; direct_url.json
#   Commands: install                    peep install
#   Commands: hash                       peep hash
#   Commands: port                       peep port
#   Commands: lock                       peep lock: pip's resolver, dry, wheels only
#   Checking installed files [trust]     an installed site against the vetted wheels themselves
#   Commands: check                      peep check: its command line and its report
#   main                                 the command line, dispatch (the rest to pip), bug reports

from __future__ import annotations  # peep needs Python 3.9 or newer

import sys

# Said before anything else runs, in code that Python 3.7 and 3.8 can read.
# (Older Pythons stop at the line above, whose comment then says why.)
if sys.version_info < (3, 9):
    _TOO_OLD = "peep needs Python 3.9 or newer; this is Python %d.%d.%d (%s)" % (
        sys.version_info[:3] + (sys.executable,)
    )
    if __name__ == "__main__":
        sys.stderr.write(_TOO_OLD + "\n")
        sys.exit(2)  # EXIT_USAGE: the wrong interpreter is a usage error
    raise ImportError(_TOO_OLD)

__version__ = "4.0.0.dev1"


# --- Imports and helpers used everywhere --------------------------------------

# Only what every command needs is imported here; the rest where it is used (a test holds
# each to that), so "peep hash FILE" or a command handed to pip pays nothing for "install".
import argparse
import codecs
import errno
import functools
import hashlib
import importlib
import itertools
import locale
import marshal
import os
import posixpath
import re
import signal
import site
import stat
import time
import types
import weakref
from dataclasses import dataclass, field, replace
from typing import (IO, TYPE_CHECKING, Any, Callable, Dict, FrozenSet, Iterable, Iterator, List,
                    Mapping, NamedTuple, NoReturn, Optional, Sequence, Set, Tuple, Union)
if TYPE_CHECKING:  # modules that annotations name, for the type checker alone
    import concurrent.futures
    import http.client
    import socket
    import ssl
    import subprocess
    import tarfile
    import urllib.parse
    import urllib.request
    import zipfile
    from typing import Self


def packaging_modules() -> Tuple[types.ModuleType, ...]:
    """Import packaging's modules, all from one copy (Tags of two copies never compare equal):
    the top-level one if it has parse_wheel_filename (20.9+), else pip's, so pip is enough."""
    names = ("markers", "requirements", "specifiers", "tags", "utils", "version")
    try:
        modules = tuple(importlib.import_module(f"packaging.{name}") for name in names)
        modules[4].parse_wheel_filename  # noqa: B018 (absent before 20.9)
        return modules
    except (ImportError, AttributeError):
        return tuple(importlib.import_module(f"pip._vendor.packaging.{name}") for name in names)


if TYPE_CHECKING:  # the type checker reads the top-level copy
    from packaging import markers as _markers, requirements as _requirements, tags as _tags
    from packaging import specifiers as _specifiers, utils as _utils, version as _version
else:
    _markers, _requirements, _specifiers, _tags, _utils, _version = packaging_modules()
InvalidMarker, default_environment = _markers.InvalidMarker, _markers.default_environment
Marker = _markers.Marker
InvalidRequirement = _requirements.InvalidRequirement
PackagingRequirement = _requirements.Requirement
InvalidSpecifier, InvalidVersion = _specifiers.InvalidSpecifier, _version.InvalidVersion
SpecifierSet = _specifiers.SpecifierSet
Tag = _tags.Tag
InvalidSdistFilename, sys_tags = _utils.InvalidSdistFilename, _tags.sys_tags
InvalidWheelFilename = _utils.InvalidWheelFilename
parse_wheel_filename = _utils.parse_wheel_filename
canonicalize_name, parse_sdist_filename = _utils.canonicalize_name, _utils.parse_sdist_filename
Version = _version.Version


EXIT_OK = 0  # everything asked for was done
EXIT_FAILED = 1  # verification or installation failed; the report says why
EXIT_USAGE = 2  # the command line was wrong
EXIT_BUG = 3  # peep itself broke; the bug report block says how
HASH_ALGORITHMS = ("sha256", "sha384", "sha512")
CHUNK_SIZE = 1 << 20  # large enough for hashlib's speed, small enough for flat memory


# Archive endings pip will install from (wheels plus every sdist form it reads).
WHEEL_EXTENSION = ".whl"
SDIST_EXTENSIONS = (".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tlz", ".tar.lz",
                    ".tar.lzma", ".tar", ".zip")  # fmt: skip
ARCHIVE_EXTENSIONS = (WHEEL_EXTENSION,) + SDIST_EXTENSIONS


class PeepError(Exception):
    """A problem peep reports to the user in its own words (never a bug)."""

    exit_code = EXIT_FAILED


class UsageError(PeepError):
    """The command line asked for something peep cannot do as written."""

    exit_code = EXIT_USAGE


class Interrupted(BaseException):
    """A signal asked peep to stop; raised in the main thread so that every ``finally`` runs
    (temporary directories go, the cache keeps only whole files)."""

    def __init__(self, signum: int, *, during_pip: bool = False) -> None:
        super().__init__(signum)
        self.signum = signum
        self.during_pip = during_pip


class InvalidHash(ValueError):
    """A hash is not of the form its algorithm requires."""


# The authority of every URL in a text: a short scheme (a long one was sought from every word
# of "a.a.a...": quadratic), "://", up to the path. A password may hold spaces and tabs: "user:",
# words, "@", the host, with no "/?#", quote or line end between ("name @ URL" ends none).
_URL_AUTHORITY_RE = re.compile(
    r"\b(?P<scheme>[A-Za-z][A-Za-z0-9+.-]{0,31}://)(?P<authority>"
    r"[^/?#\s@:]*:[^/?#@\s'\"]+(?:[ \t]+[^/?#@\s'\"]+)*@[^/?#\s]*|[^/?#\s]*)")


# The values requirements files' ${VAR}s were replaced by: printed nowhere (redact_url, so
# printable, shows each as ****). Those under 4 characters stay: masking "1" would garble.
EXPANDED_VALUES: Set[str] = set()


def never_printed(value: str) -> str:
    """Return ``value``, added to EXPANDED_VALUES (if 4 characters or more)."""
    if len(value) >= 4:
        EXPANDED_VALUES.add(value)
    return value


def redact_url(text: str) -> str:
    """Hide EXPANDED_VALUES in ``text``, and each URL's password or lone user name (a token)."""
    for value in sorted(EXPANDED_VALUES, key=len, reverse=True):  # the longest first
        text = text.replace(value, "****")

    def hide(match: "re.Match[str]") -> str:
        userinfo, at, host = match["authority"].rpartition("@")
        if not at:
            return match[0]
        user, colon, _ = userinfo.partition(":")
        return f"{match['scheme']}{user + ':****' if colon else '****'}@{host}"

    return _URL_AUTHORITY_RE.sub(hide, text)


# C0 controls but newline and tab, DEL, and C1: each can move the cursor,
# recolour or retitle a terminal, or hide the text printed before it.
_CONTROL_CHARACTER_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Hide credentials and escape control characters: pages, archives, servers and build logs
    choose much of what peep prints, and every message goes through here."""
    return _CONTROL_CHARACTER_RE.sub(lambda match: ascii(match[0])[1:-1], redact_url(text))


# JSON index pages and TOML lock files nest a few levels deep; their parsers recurse once a
# level, so ten thousand "[" would end in RecursionError: deeper is refused before parsing.
MAX_BRACKET_DEPTH = 64
# A string (one line long in JSON and TOML), a TOML comment, or a bracket: only brackets nest. A '"'
# left open is ordinary, as is every later one on its line (each is open too): read once, unquoted.
_NESTING_TOKEN_RE = re.compile(r""""(?:[^"\\\n]|\\.)*("?)|'[^'\n]*'|#[^\n]*|[\[\]{}]""")
_UNQUOTED_TOKEN_RE = re.compile(r"""'[^'\n]*'|#[^\n]*|[\[\]{}]""")


def check_nesting(text: str) -> None:
    """Raise ValueError if ``text`` nests brackets deeper than MAX_BRACKET_DEPTH (one pass)."""
    depth = 0
    for token in _NESTING_TOKEN_RE.finditer(text):
        left_open = token[0][:1] == '"' and not token[1]
        for found in _UNQUOTED_TOKEN_RE.finditer(token[0], 1) if left_open else [token]:
            depth += (found[0] in "[{") - (found[0] in "]}")
            if depth > MAX_BRACKET_DEPTH:
                raise ValueError(f"nested deeper than {MAX_BRACKET_DEPTH} levels")


class NotRegularFile(OSError):
    """A FIFO, a device or a directory where open_regular_file wants a regular file."""


NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # where the platform has it


def open_regular_file(path: str, *, follow: bool = True) -> IO[bytes]:
    """Open ``path`` if it is a regular file, else raise OSError: without blocking (a FIFO cannot
    hang it), through no link unless ``follow``, then checked by fstat: what is checked is read."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags | (0 if follow else NOFOLLOW))
    try:  # fstat before fdopen, which refuses a directory before the check could close it
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):  # as open() says it
            raise NotRegularFile(errno.EISDIR, os.strerror(errno.EISDIR), path)
        if not stat.S_ISREG(mode):
            raise NotRegularFile(f"{path!r} is not a regular file")
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def forked_workers(count: int) -> Optional[concurrent.futures.ProcessPoolExecutor]:
    """Return a pool of ``count`` forked workers, or None. Never spawned: a new interpreter runs
    the .pth files of the environment peep just installed into, so a package's code."""
    import concurrent.futures
    import multiprocessing
    if count < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    context = multiprocessing.get_context("fork")
    return concurrent.futures.ProcessPoolExecutor(count, mp_context=context)


def refuse_link(path: str) -> None:
    """Raise OSError if ``path`` is a symbolic link: peep writes through none."""
    if os.path.islink(path):
        raise OSError(f"{path!r} is a symbolic link, which peep does not write through")


def write_file_safely(path: str, data: Union[bytes, IO[bytes]], mode: int = 0o644, *,
                      replace_link: bool = False) -> None:
    """Replace ``path`` by a new file of ``data`` (bytes or a stream) made beside it (mkstemp:
    O_EXCL|O_NOFOLLOW) and renamed in place, so a reader sees the old file or the new, never a
    planted link's target: a link at ``path`` is refused (OSError), or replaced if replace_link."""
    import shutil
    import tempfile
    if not replace_link:
        refuse_link(path)
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".partial-")
    try:
        with os.fdopen(handle, "wb") as stream:
            os.fchmod(stream.fileno(), mode)
            if isinstance(data, bytes):
                stream.write(data)
            else:
                shutil.copyfileobj(data, stream, CHUNK_SIZE)
        os.replace(temporary, path)
    except BaseException:
        _remove_quietly(temporary)
        raise


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


class _ArgumentParser(argparse.ArgumentParser):
    """An argparse parser whose errors are UsageErrors; --help's SystemExit main() catches."""

    def error(self, message: str) -> NoReturn:
        # The error comes last, where the eye lands, after a pointer to the usage (not all of it).
        raise UsageError(f"(run '{self.prog} --help' for every option)\n{self.prog}: {message}")


def pip_command() -> List[str]:
    """Return the command that runs this interpreter's pip as ``python -m pip`` does, but without
    the current directory that -m puts first on the path: a pip/ there (in a repository you
    checked out, say) would run in pip's place, as you."""
    return [sys.executable, "-c", "import runpy, sys; getattr(sys.flags, 'safe_path', False) "
            "or sys.path.pop(0); runpy.run_module('pip', run_name='__main__', alter_sys=True)"]


def pip_version() -> str:
    """Return the line ``pip --version`` prints for pip_command()'s pip, or why there is none.
    Read from pip's __init__.py as text: running or importing pip would take most of a second."""
    import importlib.util
    try:
        spec = importlib.util.find_spec("pip")
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            return f"unknown (no pip for {sys.executable})"
        with open(spec.origin, encoding="utf-8") as stream:
            source = stream.read()
    except (ImportError, OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        return f"unknown ({exc})"
    found = re.search(r"^__version__\s*=\s*[\"']([^\"']+)[\"']", source, re.MULTILINE)
    if found is None:
        return f"unknown (no __version__ in {spec.origin})"
    python = "%d.%d" % sys.version_info[:2]
    return f"pip {found.group(1)} from {os.path.dirname(spec.origin)} (python {python})"


# --- Hashes [trust] -----------------------------------------------------------

def hex_to_peep(hexdigest: str) -> str:
    """Encode a hex sha256 digest the way peep's comments write it."""
    import base64
    return base64.urlsafe_b64encode(bytes.fromhex(hexdigest)).decode("ascii").rstrip("=")


def peep_to_hex(encoded: str) -> str:
    """Decode a peep-style sha256 (urlsafe base64, padding stripped) to hex."""
    import base64
    unpadded = encoded.rstrip("=")
    if not re.fullmatch(r"[A-Za-z0-9_-]{43}", unpadded):
        raise InvalidHash(f"{encoded!r} is not a sha256 hash (expected 43 characters of "
                          "URL-safe base64, as 'peep hash' prints)")  # fmt: skip
    hexdigest = base64.urlsafe_b64decode(unpadded + "=").hex()
    # A different last character can decode to the same bytes; only the
    # canonical spelling is accepted so that a typo there is not hidden.
    if hex_to_peep(hexdigest) != unpadded:
        raise InvalidHash(f"{encoded!r} is not a sha256 hash (its last character is off)")
    return hexdigest


def normalize_hex(algorithm: str, value: str) -> str:
    """Check a hex digest of ``algorithm`` and return it lower-cased."""
    if algorithm not in HASH_ALGORITHMS:
        raise InvalidHash(f"{algorithm!r} is not an allowed hash algorithm "
                          f"(use one of {', '.join(HASH_ALGORITHMS)})")  # fmt: skip
    length = hashlib.new(algorithm).digest_size * 2
    if not re.fullmatch("[0-9a-f]{%d}" % length, value.lower()):
        raise InvalidHash(f"{value!r} is not a {algorithm} hash (expected {length} hex digits)")
    return value.lower()


@dataclass(frozen=True)
class Hashes:
    """The digests a requirement's archive may have, by algorithm; any one match is enough.
    An empty Hashes means "no hash given", which peep treats as an error at install time."""

    sha256: FrozenSet[str] = frozenset()
    sha384: FrozenSet[str] = frozenset()
    sha512: FrozenSet[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.sha256 or self.sha384 or self.sha512)

    def allowed(self, algorithm: str) -> FrozenSet[str]:
        """Return the hex digests allowed for ``algorithm``."""
        return getattr(self, algorithm)  # type: ignore[no-any-return]

    def algorithms(self) -> Tuple[str, ...]:
        """Return the algorithms that have at least one allowed digest."""
        return tuple(name for name in HASH_ALGORITHMS if self.allowed(name))

    def with_digest(self, algorithm: str, hexdigest: str) -> Hashes:
        """Return a copy that also allows ``hexdigest``."""
        value = normalize_hex(algorithm, hexdigest)
        return replace(self, **{algorithm: self.allowed(algorithm) | {value}})

    def intersection(self, other: Hashes) -> Hashes:
        """Return what both allow, where "no hashes" allows anything: two requirements for one
        project must both accept its one archive. An algorithm one side lacks is dropped, as pip."""
        if not (self and other):
            return self or other
        return Hashes(*(self.allowed(a) & other.allowed(a) for a in HASH_ALGORITHMS))

    def matches(self, digests: Mapping[str, str]) -> bool:
        """Tell whether any computed digest is one of the allowed ones."""
        return any(digests.get(name) in self.allowed(name) for name in self.algorithms())


def hash_stream(stream: IO[bytes], algorithms: Iterable[str] = ("sha256",), *,
                sink: Optional[Callable[[memoryview], object]] = None) -> Dict[str, str]:
    """Hash ``stream`` to its end in chunks; return hex digests. ``sink`` sees every chunk too
    (to write a download while hashing it), so no archive is ever read twice or held whole."""
    import mmap
    hashers = {name: hashlib.new(name) for name in dict.fromkeys(algorithms)}
    buffer = mmap.mmap(-1, CHUNK_SIZE)  # page-aligned: read into 3x faster than a bytearray
    view = memoryview(buffer)
    for count in iter(lambda: stream.readinto(buffer) or 0, 0):  # type: ignore[attr-defined]
        for hasher in hashers.values():
            hasher.update(view[:count])
        if sink is not None:
            sink(view[:count])
    return {name: hasher.hexdigest() for name, hasher in hashers.items()}


def hash_file(path: str, algorithms: Iterable[str] = ("sha256",)) -> Dict[str, str]:
    """Hash the regular file at ``path`` without reading it into memory (a FIFO: OSError)."""
    with open_regular_file(path) as stream:
        return hash_stream(stream, algorithms)


# --- Configuration ------------------------------------------------------------


class Option(NamedTuple):
    """One of pip install's options, a row of FINDER_OPTIONS (peep's own settings) or PIP_OPTIONS
    (pip's): a row serves command lines, pip's configuration and requirements files. ``kind``:
    how a value is read: "value" (the last wins); "list" (each adds; pip gets each as an option);
    "names" (projects); "flag"; "count" (-v, -q); "inverted" (PIP_NO_COMPILE=0: compile none);
    "peep" (peep's, never pip's)."""

    flags: Tuple[str, ...]
    metavar: Optional[str]  # None for a flag
    help: str
    kind: str = ""  # "" means "value" with a metavar, else "flag"
    refused: Optional[str] = None  # why peep takes it from nowhere ("peep" rows: from no config)
    setting: str = ""  # the field of FinderSettings, or of NetworkSettings when ``network``
    aliases: Tuple[str, ...] = ()  # configuration keys besides the long flags' names
    in_file: bool = False  # allowed on a requirements file's option line
    network: bool = False  # a NetworkSettings value rather than a FinderSettings one
    also_pip: bool = False  # handed to pip too, as written

    @property
    def name(self) -> str:
        """Return the long name, without dashes, that settings and file options go by."""
        return self.config[0]

    @property
    def config(self) -> Tuple[str, ...]:
        """Return the configuration keys read (also as PIP_* variables): pip's, as flags."""
        return tuple(flag[2:] for flag in self.flags if flag.startswith("--")) + self.aliases

    @property
    def how(self) -> str:
        """Return the kind, "value" or "flag" when the row leaves it to the metavar."""
        return self.kind or ("value" if self.metavar else "flag")


_NAMES_HELP = "comma-separated project names, :all: or :none:; repeatable"
FINDER_OPTIONS = (
    Option(("-i", "--index-url"), "URL", "the main package index (default: pip's own)",
        setting="index_url", aliases=("pypi-url",), in_file=True),
    Option(("--extra-index-url",), "URL", "another index, searched after the main one "
        "(repeatable)", "list", setting="extra_index_urls", in_file=True),
    Option(("-f", "--find-links"), "URL|DIR", "also look for archives on this HTML page or in "
        "this directory (repeatable)", "list", setting="find_links", in_file=True),
    Option(("--trusted-host",), "HOST[:PORT]", "let this host use plain HTTP or an unverified "
        "certificate (repeatable)", "list", setting="trusted_hosts", in_file=True),
    Option(("--no-binary",), "PROJECTS", f"take no wheels of these projects ({_NAMES_HELP})",
        "names", setting="no_binary", in_file=True),
    Option(("--only-binary",), "PROJECTS", f"take no sdists of these projects ({_NAMES_HELP})",
        "names", setting="only_binary", in_file=True),
    Option(("--all-releases",), "PROJECTS", f"allow pre-releases of these projects "
        f"({_NAMES_HELP})", "names", setting="all_releases", in_file=True),
    Option(("--only-final",), "PROJECTS", f"allow only final releases of these projects "
        f"({_NAMES_HELP})", "names", setting="only_final", in_file=True),
    Option(("--uploaded-prior-to",), "WHEN", "take only index files uploaded before WHEN: an ISO "
        "8601 date-time (without a zone: local time) or PnD, n days ago",
        setting="uploaded_prior_to"),
    Option(("--no-index",), None, "search no index, only --find-links places",
        setting="no_index", in_file=True),
    Option(("--pre",), None, "allow pre-releases and development releases",
        setting="pre", in_file=True),
    Option(("--prefer-binary",), None, "prefer an older version's wheel to a newer version's "
        "sdist", setting="prefer_binary", in_file=True),
    Option(("--cert",), "PATH", "verify HTTPS against this CA bundle",
        setting="cert", network=True),
    Option(("--client-cert",), "PATH", "present this client certificate (one PEM file with its "
        "key)", setting="client_cert", network=True),
    Option(("--proxy",), "URL", "reach indexes through this proxy ([user:password@]host:port)",
        setting="proxy", network=True),
    Option(("--timeout", "--default-timeout"), "SECONDS", "give up on a silent connection after "
        "SECONDS (default 15)", setting="timeout", network=True),
    Option(("--retries",), "N", "retry a failed request up to N times (default 5)",
        setting="retries", network=True),
    Option(("--cache-dir",), "DIR", "keep verified archives in DIR (given to pip too)",
        setting="cache_dir", network=True, also_pip=True),
    Option(("--no-cache-dir",), None, "use no cache (given to pip too)",
        setting="cache_dir", network=True, also_pip=True),
)  # fmt: skip
_FINDER_OPTION_NAMED = {key: option for option in FINDER_OPTIONS for key in option.config}
_OPPOSITE_NAMES = {"no_binary": "only_binary", "only_binary": "no_binary",
                   "all_releases": "only_final", "only_final": "all_releases"}


def url_problem(text: str) -> Optional[str]:
    """Return why urllib cannot split ``text`` ("Invalid IPv6 URL" for "http://[x/"), or None."""
    import urllib.parse
    try:
        urllib.parse.urlsplit(text)
    except ValueError as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class FinderSettings:
    """Where and how to look for archives."""

    index_url: Optional[str] = None  # None: pip's own default index, asked of pip at run time
    extra_index_urls: Tuple[str, ...] = ()
    no_index: bool = False
    find_links: Tuple[str, ...] = ()
    trusted_hosts: FrozenSet[str] = frozenset()
    pre: bool = False
    prefer_binary: bool = False
    no_binary: FrozenSet[str] = frozenset()
    only_binary: FrozenSet[str] = frozenset()
    all_releases: FrozenSet[str] = frozenset()
    only_final: FrozenSet[str] = frozenset()
    uploaded_prior_to: Optional[float] = None  # POSIX time; see upload_cutoff

    def with_option(self, name: str, value: Union[str, bool],
                    where: Optional[str] = None) -> FinderSettings:
        """Return the settings after one option from ``where``, or from a requirements file.
        As in pip, only a file's (non-empty) ``--index-url`` also drops the extra indexes."""
        option = _FINDER_OPTION_NAMED.get(name)
        if option is None:
            return self  # --require-hashes is always on; --use-feature is pip's business
        text = value if isinstance(value, str) else ""
        problem = url_problem(text)
        if problem:
            raise UsageError(f"peep: {option.flags[-1]} {redact_url(text)!r} (from "
                             f"{where or 'a requirements file'}) is not a valid URL ({problem})")
        if option.name == "index-url" and where is None:
            return replace(self, index_url=text, extra_index_urls=()) if text else self
        if option.name == "uploaded-prior-to":
            return replace(self, uploaded_prior_to=upload_cutoff(text, str(where)))
        if option.how == "names":
            return self._with_names(option.setting, text)
        setting: Any = text
        if option.how == "flag":
            setting = value is not False  # False: pip's configuration said no
        if option.how == "list":  # each adds, to a tuple or to the frozenset of hosts
            current = getattr(self, option.setting)
            setting = current | {text} if isinstance(current, frozenset) else current + (text,)
        return replace(self, **{option.setting: setting})

    def _with_names(self, setting: str, value: str) -> FinderSettings:
        """Apply project names as pip keeps --no-binary/--only-binary (and pip 26
        --all-releases/--only-final): a name given to one leaves its opposite."""
        opposite = _OPPOSITE_NAMES[setting]
        chosen, other = set(getattr(self, setting)), set(getattr(self, opposite))
        for item in value.split(","):
            if item == ":all:":
                chosen, other = {":all:"}, set()
            elif item == ":none:":
                chosen = set()
            elif item:
                other.discard(canonicalize_name(item))
                chosen.add(canonicalize_name(item))
        changes: Dict[str, Any] = {setting: frozenset(chosen), opposite: frozenset(other)}
        return replace(self, **changes)

    def allows_prereleases(self, name: str) -> Optional[bool]:
        """Return True or False if pre-releases of ``name`` are settled, None for the default."""
        for key in (canonicalize_name(name), ":all:"):  # the project's own choice first
            if key in self.all_releases or (key == ":all:" and self.pre):
                return True
            if key in self.only_final:
                return False
        return None

    def allowed_formats(self, name: str) -> FrozenSet[str]:
        """Return which of "binary" and "source" may be used for project ``name``."""
        for key in (canonicalize_name(name), ":all:"):  # the project's own choice first
            if key in self.only_binary:
                return frozenset({"binary"})
            if key in self.no_binary:
                return frozenset({"source"})
        return frozenset({"binary", "source"})

    def index_urls(self, default_index: Callable[[], str]) -> Tuple[str, ...]:
        """Return the indexes to search, in order; ``default_index`` gives pip's."""
        return () if self.no_index else (self.index_url or default_index(),) + self.extra_index_urls


def iso_moment(text: Optional[str], *, utc: bool) -> Optional[float]:
    """Return an ISO 8601 date-time as POSIX time, or None if there is none or it is not one.
    One without a zone is UTC if ``utc``, else local time."""
    import datetime
    try:  # Python before 3.11 reads no "Z"; it means what "+00:00" means
        moment = datetime.datetime.fromisoformat(re.sub(r"[zZ]$", "+00:00", text or ""))
        if utc and moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.timezone.utc)
        return moment.timestamp()  # local time near year 1 has no POSIX time
    except (ValueError, OverflowError, OSError):
        return None


def upload_cutoff(text: str, where: str, now: Optional[float] = None) -> float:
    """Return --uploaded-prior-to's moment (ISO 8601 or ``P<n>D``) as POSIX time, as pip 26 does.
    Waiting out the days in which most hijacked releases are found is the point."""
    days = re.fullmatch(r"P([0-9]{1,6})D", text.strip())
    if days:
        return (time.time() if now is None else now) - int(days.group(1)) * 86400
    moment = iso_moment(text.strip(), utc=False)  # without a zone: local time
    if moment is None:
        raise UsageError(f"peep: --uploaded-prior-to {text!r} (from {where}) is not a moment: "
                         "give an ISO 8601 date-time such as 2026-03-01T12:00:00Z (without a "
                         "zone: local time) or P<n>D for n days ago")
    return moment


def pip_default_index() -> str:
    """Ask the installed pip for its default index (peep names no index itself)."""
    import subprocess
    result = subprocess.run(pip_command() + ["install", "--help"], capture_output=True,
                            text=True, env=scrubbed_pip_environment(), check=False)
    if result.returncode != 0:
        said = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise PeepError(f"pip itself failed (exit status {result.returncode}) when peep ran "
                        f"'{sys.executable} -m pip install --help' to learn its default index:\n"
                        + "".join(f"    {line}\n" for line in said)
                        + "Fix pip, or name an index with --index-url")
    match = re.search(r"--index-url.*?\(default\s+(\S+?)\)", result.stdout, re.DOTALL)
    if match is None:
        raise PeepError("peep could not learn pip's default index from 'pip install --help'; "
                        "name one with --index-url")  # fmt: skip
    return match.group(1)


class Once:
    """Compute a value on first use only, even when threads ask at once."""

    def __init__(self, compute: Callable[[], str]) -> None:
        import threading
        self._compute = functools.cache(compute)
        self._lock = threading.Lock()  # one thread computes while the others wait

    def __call__(self) -> str:
        with self._lock:
            return self._compute()


def scrubbed_pip_environment() -> Dict[str, str]:
    """Return this environment minus PIP_* and pip's config files: pip sees only peep's options."""
    environment = {k: v for k, v in os.environ.items() if not k.upper().startswith("PIP_")}
    environment["PIP_CONFIG_FILE"] = os.devnull
    return environment


# pip's configuration is peep's: the same files, sections and PIP_* variables,
# merged in pip's order, so "peep install" looks where "pip install" would have.
def pip_config_files(environ: Mapping[str, str], *, user: bool) -> List[str]:
    """Return pip's config files in its override order (last wins); the user's only if ``user``."""
    home = os.path.expanduser("~")
    legacy_dir = os.path.join(home, ".pip")
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        global_dirs = [os.path.join(environ.get("PROGRAMDATA", r"C:\ProgramData"), "pip")]
        user_dir = os.path.join(environ.get("APPDATA", home), "pip")
        legacy_dir = os.path.join(home, "pip")
    elif sys.platform == "darwin":  # pragma: no cover - exercised on macOS only
        global_dirs = ["/Library/Application Support/pip"]
        user_dir = os.path.join(home, "Library", "Application Support", "pip")
        if not os.path.isdir(user_dir):
            user_dir = os.path.join(home, ".config", "pip")
    else:
        xdg_dirs = (environ.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(os.pathsep)
        global_dirs = [os.path.join(path, "pip") for path in xdg_dirs if path] + ["/etc"]
        user_dir = os.path.join(environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"),
                                "pip")  # fmt: skip
    dirs = global_dirs + ([legacy_dir, user_dir] if user else []) + [sys.prefix]
    basename = "pip.ini" if os.name == "nt" else "pip.conf"
    return [os.path.join(path, basename) for path in dirs]


def load_pip_configuration(environ: Mapping[str, str], *, isolated: bool = False) -> Dict[str, str]:
    """Return pip's merged configuration as ``{"section.key": value}``, as ``pip config list``."""
    items = pip_configuration_items(environ, isolated=isolated)
    return {key: value for key, (value, _) in items.items()}


def pip_configuration_items(environ: Mapping[str, str], *,
                            isolated: bool = False) -> Dict[str, Tuple[str, str]]:
    """Return pip's merged configuration as ``{"section.key": (value, where it was set)}``:
    files in pip's order ($PIP_CONFIG_FILE last; os.devnull: none), then PIP_* as ``:env:.key``."""
    config_file = environ.get("PIP_CONFIG_FILE")
    merged: Dict[str, Tuple[str, str]] = {}
    if config_file != os.devnull:
        user = not isolated and not (config_file and os.path.exists(config_file))
        for path in pip_config_files(environ, user=user) + ([config_file] if config_file else []):
            for section, name, value in _read_config_file(path):
                merged[f"{section}.{name}"] = (value, f"{name!r} in {path} [{section}]")
    if not isolated:
        for key, value in environ.items():
            if key.startswith("PIP_") and key[4:].lower() not in ("version", "help"):
                merged[f":env:.{key[4:].lower().replace('_', '-')}"] = (value, key)
    return merged


def _read_config_file(path: str) -> List[Tuple[str, str, str]]:
    import configparser
    if not os.path.isfile(path):
        return []
    parser = configparser.RawConfigParser()
    try:
        with open(path, encoding=locale.getpreferredencoding(False)) as stream:
            parser.read_file(stream)
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        raise PeepError(f"{path}: pip's configuration file could not be read ({exc})") from exc
    return [(section, key.replace("_", "-"), value)
            for section in parser.sections() for key, value in parser.items(section)]


def in_pip_order(config: Mapping[str, str]) -> Iterator[Tuple[str, str, str]]:
    """Yield ``(section, key, value)`` set in [global], then [install], then PIP_* (last wins)."""
    for section in ("global", "install", ":env:"):
        for section_key, value in config.items():
            place, _, key = section_key.partition(".")
            if place == section and value:
                yield section, key, value


_TRUE = ("y", "yes", "t", "true", "on", "1")
_FALSE = ("n", "no", "f", "false", "off", "0")


def _config_bool(value: str, where: str, use: str = "yes or no") -> bool:
    """Read a yes or no of pip's configuration as pip does; ``where`` names the setting."""
    lowered = value.strip().lower()
    if lowered not in _TRUE + _FALSE:
        raise PeepError(f"{value!r} is not a valid value for {where} (use {use})")
    return lowered in _TRUE


@dataclass(frozen=True)
class NetworkSettings:
    """How to reach indexes: TLS, proxy, patience and the cache."""

    cert: Optional[str] = None
    client_cert: Optional[str] = None
    proxy: Optional[str] = None
    timeout: float = 15.0
    retries: int = 5
    cache_dir: Optional[str] = None  # None: no cache at all


def default_cache_dir(environ: Mapping[str, str]) -> str:
    """Return pip's default cache directory for this user."""
    home = os.path.expanduser("~")
    if sys.platform == "win32":  # pragma: no cover
        return os.path.join(environ.get("LOCALAPPDATA") or home, "pip", "Cache")
    if sys.platform == "darwin":  # pragma: no cover
        return os.path.join(home, "Library", "Caches", "pip")
    return os.path.join(environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"), "pip")


def _seconds(text: str) -> float:
    """Read a timeout: above 0, and finite (nan, inf and 1e300 overflow the socket's deadline)."""
    seconds = float(text)
    if not 0 < seconds <= 1e9:
        raise ValueError(f"{text!r} is out of range")
    return seconds


def _count(text: str) -> int:
    """Read a number of retries: 0 or more."""
    count = int(text)
    if count < 0:
        raise ValueError(f"{text!r} is below 0")
    return count


# pip's network settings that are not taken as written, each read as pip reads it: numbers
# within what a socket takes, paths with "~" expanded (a proxy is not a path).
_NETWORK_VALUES: Dict[str, Tuple[Callable[[str], object], str]] = {
    "timeout": (_seconds, "a number of seconds above 0"), "retries": (_count, "a count, 0 or more"),
    **dict.fromkeys(("cache_dir", "cert", "client_cert"), (os.path.expanduser, "a path"))}


def settings_from_configuration(config: Mapping[str, str], environ: Mapping[str, str]
                                ) -> Tuple[FinderSettings, NetworkSettings]:
    """Resolve pip's configuration: [global], then [install], then PIP_* (last wins)."""
    finder = FinderSettings()
    network: Dict[str, Any] = {"cache_dir": default_cache_dir(environ)}
    for section, key, value in in_pip_order(config):
        option = _FINDER_OPTION_NAMED.get(key)
        if option is None:
            continue  # pip's business (or unknown to pip too): ignored, as pip does
        where = "the environment" if section == ":env:" else f"pip's configuration [{section}]"
        given = _config_bool(value, f"{key} in {where}") if option.how == "flag" else value
        if option.network:  # --no-cache-dir: pip takes any valid yes/no as turning the cache off
            read = _NETWORK_VALUES.get(option.setting, (str, ""))[0]
            try:  # each value as it is read, as pip checks it, though a later one wins
                network[option.setting] = None if option.how == "flag" else read(value)
            except ValueError as exc:
                raise PeepError(f"{value!r} is not a valid value for {key} in {where}") from exc
        elif option.how == "list":  # from configuration, a list replaces the one before
            finder = replace(finder, **{option.setting: type(getattr(finder, option.setting))()})
            for item in value.split():  # each checked as a URL, as on the command line
                finder = finder.with_option(option.name, item, where)
        else:
            finder = finder.with_option(option.name, given, where)
    return finder, NetworkSettings(**network)


# --- Fetching -----------------------------------------------------------------

USER_AGENT = f"peep/{__version__}"
INDEX_ACCEPT = ("application/vnd.pypi.simple.v1+json, "
                "application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01")  # fmt: skip
_DEFAULT_PORTS = {"http": 80, "https": 443}
_RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_RETRY_AFTER = 60.0
MAX_ARCHIVE_BYTES = 16 * 1024**3  # a cap on endless bodies, far above any real archive
# Requirements and lock files: ten times the largest real one seen, little enough to hold.
MAX_REQUIREMENTS_BYTES = 10 * 1024 * 1024
MAX_PAGE_BYTES = 64 * 1024 * 1024


class FetchError(PeepError):
    """A page or an archive could not be fetched."""


class TooLarge(FetchError):
    """A body longer than any archive, or than the size a lock file records."""


class _BodyError(FetchError):
    """A response body was cut short or overlong; worth one more try."""


def _is_trusted_host(url: str, trusted_hosts: FrozenSet[str]) -> bool:
    """Tell whether --trusted-host names the URL's host; a bad URL or port names none."""
    import urllib.parse
    try:
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return False
    return host in trusted_hosts or (port is not None and f"{host}:{port}" in trusted_hosts)


def _is_secure_origin(url: str, trusted_hosts: FrozenSet[str]) -> bool:
    """Apply pip's rule: https, file:, loopback, or a --trusted-host. Loopback is ``localhost``
    or a literal address: another name (``127.1`` too) resolves wherever its owner likes."""
    import ipaddress
    import urllib.parse
    parts = urllib.parse.urlsplit(url)
    try:
        loopback = ipaddress.ip_address(parts.hostname or "").is_loopback
    except ValueError:  # a name, or no host at all
        loopback = parts.hostname == "localhost"
    if parts.scheme in ("https", "file") or loopback:
        return True
    return bool(parts.hostname) and _is_trusted_host(url, trusted_hosts)


def _origin(parts: urllib.parse.SplitResult) -> Tuple[str, str, Optional[int]]:
    """Return a URL's scheme, host and port, the scheme's default port filled in."""
    try:
        port = parts.port
    except ValueError:
        port = None
    default = _DEFAULT_PORTS.get(parts.scheme)
    return parts.scheme, parts.hostname or "", default if port is None else port


def _backoff(attempt: int, retry_after: Optional[str] = None) -> float:
    """Return seconds to wait before retry ``attempt`` (0-based)."""
    try:
        seconds = float(retry_after or "")
    except ValueError:  # none given, or an HTTP date: the usual backoff
        seconds = -1.0
    # Not nan, nor below 0: either would make the wait none at all.
    return min(seconds, MAX_RETRY_AFTER) if seconds >= 0 else min(0.25 * 2.0**attempt, 10.0)


class Transport:
    """Fetch URLs over HTTP(S) and from the local disk, the way pip would. TLS is verified against
    pip's ``cert``, else the system store, else pip's CAs; only a ``--trusted-host`` may use plain
    HTTP or skip verification. Credentials go only to their host, and never into a message."""

    def __init__(self, finder: FinderSettings, network: Optional[NetworkSettings] = None,
                 environ: Optional[Mapping[str, str]] = None) -> None:
        import socket
        import threading
        import urllib.parse
        self.finder = finder
        self.network = network or NetworkSettings()
        self.environ = os.environ if environ is None else environ
        self.default_index = Once(pip_default_index)  # pip's, asked on first use only
        self.cancelled = threading.Event()
        # the index and find-links URLs that give a user (and password), by origin
        self.credentials: Dict[Tuple[str, str, Optional[int]], urllib.parse.SplitResult] = {}
        for url in [finder.index_url or "", *finder.extra_index_urls, *finder.find_links]:
            parts = urllib.parse.urlsplit(url)
            if parts.username is not None and parts.hostname:
                self.credentials[_origin(parts)] = parts
        self._context = functools.lru_cache(maxsize=None)(self._new_context)  # one per verify
        self._opener = functools.lru_cache(maxsize=None)(self._new_opener)  # made when first used
        # Each host is resolved once per run (urllib looks a host up for every connection: with a
        # slow resolver that cost more than all the downloads); every socket is kept for cancel().
        self._addresses = functools.lru_cache(maxsize=None)(socket.getaddrinfo)
        self._sockets: "weakref.WeakSet[socket.socket]" = weakref.WeakSet()
        self._sockets_lock = threading.Lock()
        # Hosts that refused a connection or have no address fail at once, never after retries.
        self.unreachable: Dict[str, str] = {}

    def _new_opener(self) -> urllib.request.OpenerDirector:
        """Return an opener for http and https URLs over this transport's connections and TLS
        contexts, through its proxy (None: the *_proxy and no_proxy variables)."""
        import http.client
        import urllib.parse
        import urllib.request
        transport, trusted_hosts = self, self.finder.trusted_hosts

        class _SafeRedirects(urllib.request.HTTPRedirectHandler):
            """Follow redirects only to places peep would have fetched from anyway."""

            def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int,
                                 msg: str, headers: http.client.HTTPMessage,
                                 newurl: str) -> Optional[urllib.request.Request]:
                if urllib.parse.urlsplit(newurl).scheme not in ("http", "https"):
                    raise FetchError(redact_url(f"{req.full_url} redirects to {newurl}; refused"))
                if not _is_secure_origin(newurl, trusted_hosts):
                    raise FetchError(f"{redact_url(req.full_url)} redirects to plain-HTTP "
                                     f"{redact_url(newurl)}; refused (mark the host with "
                                     "--trusted-host if you really mean it)")
                # Authorization was added as an unredirected header: it stays behind.
                return super().redirect_request(req, fp, code, msg, headers, newurl)

        class _HTTPConnection(http.client.HTTPConnection):
            """A connection whose sockets come from, and are known to, the transport."""

            def connect(self) -> None:
                self._create_connection = transport._connect
                super().connect()  # for TLS, HTTPSConnection.connect wraps the socket here
                transport._track(self.sock)

        class _HTTPSConnection(_HTTPConnection, http.client.HTTPSConnection):
            """The TLS kind: the wrapped socket is tracked too, once made."""

        class _ResolvingHandler(urllib.request.HTTPHandler, urllib.request.HTTPSHandler):
            def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
                return self.do_open(_HTTPConnection, req)

            def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
                # Each request's own host decides, a redirect's too: a trusted host does not
                # lend its unchecked certificate to the host it sends peep on to.
                verify = not _is_trusted_host(req.full_url, trusted_hosts)
                return self.do_open(_HTTPSConnection, req, context=transport._context(verify))

        proxy = self.network.proxy
        proxies = {"http": proxy, "https": proxy} if proxy else None
        return urllib.request.build_opener(urllib.request.ProxyHandler(proxies),
                                           _ResolvingHandler(), _SafeRedirects())

    def _track(self, sock: socket.socket) -> None:
        with self._sockets_lock:
            self._sockets.add(sock)

    def _connect(self, address: Tuple[str, int], timeout: float,
                 _source_address: object = None) -> socket.socket:
        """Connect as socket.create_connection does, trying each cached address in turn."""
        import socket
        error: Optional[OSError] = None
        for family, kind, protocol, _, sockaddr in self._addresses(*address, 0, socket.SOCK_STREAM):
            sock = socket.socket(family, kind, protocol)
            self._track(sock)
            try:
                sock.settimeout(timeout)  # open() always gives one
                sock.connect(sockaddr)
                return sock
            except OSError as exc:
                error = exc
                sock.close()
        raise error or OSError(f"cannot resolve {address[0]}")

    def _new_context(self, verify: bool) -> ssl.SSLContext:
        import importlib.util
        import ssl
        try:
            context = ssl.create_default_context(cafile=self.network.cert if verify else None)
            if not verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            elif not self.network.cert and not context.get_ca_certs():
                pip = importlib.util.find_spec("pip")  # no system store: pip's own CAs
                for location in (pip.submodule_search_locations if pip else None) or ():
                    bundle = os.path.join(location, "_vendor", "certifi", "cacert.pem")
                    if os.path.isfile(bundle):
                        context.load_verify_locations(bundle)
                        break
            if self.network.client_cert:
                context.load_cert_chain(self.network.client_cert)
        except (OSError, ssl.SSLError) as exc:
            raise PeepError(f"cannot set up TLS ({exc})") from exc
        return context

    def cancel(self) -> None:
        """Stop every download and retry now, shutting down each socket a thread may wait on."""
        import contextlib
        import socket
        self.cancelled.set()
        with self._sockets_lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):  # already closed
                    sock.shutdown(socket.SHUT_RDWR)

    def _pause(self, seconds: float = 0.0) -> None:
        """Wait ``seconds`` (none: only look), raising FetchError if cancelled meanwhile."""
        if self.cancelled.wait(seconds):
            raise FetchError("cancelled")

    def _request(self, parts: urllib.parse.SplitResult, wanted: str) -> urllib.request.Request:
        """Build a request for a URL, its credentials moved out of the URL into a header."""
        import base64
        import urllib.parse
        import urllib.request
        bare_url = urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]))
        # Archives are hashed as sent (as pip does), so never compressed; read_links un-gzips pages.
        encoding = "gzip" if wanted == INDEX_ACCEPT else "identity"
        headers = {"User-Agent": USER_AGENT, "Accept": wanted, "Accept-Encoding": encoding}
        request = urllib.request.Request(bare_url, headers=headers)
        # Credentials from a URL belong to its origin, as a browser's would: not to another
        # port or scheme of the same host. netrc names a machine, and is read as such.
        given = parts if parts.username is not None else self.credentials.get(_origin(parts))
        pair = _netrc_credentials(parts.hostname or "", self.environ) if given is None else (
            urllib.parse.unquote(given.username or ""), urllib.parse.unquote(given.password or ""))
        if pair is not None:
            token = base64.b64encode(f"{pair[0]}:{pair[1]}".encode()).decode("ascii")
            request.add_unredirected_header("Authorization", f"Basic {token}")
        return request

    def open(self, url: str, wanted: str = "*/*") -> IO[bytes]:
        """Open ``url`` for streaming, retrying what is worth retrying."""
        import http.client
        import socket
        import ssl
        import urllib.error
        import urllib.parse
        self._pause()
        parts = urllib.parse.urlsplit(url)
        if parts.scheme == "file":
            try:
                return open_regular_file(_file_url_path(url))
            except OSError as exc:
                raise FetchError(f"cannot read {url}: {exc.strerror or exc}") from exc
        host = parts.netloc.rpartition("@")[2]  # never the credentials
        if host in self.unreachable:
            raise FetchError(self.unreachable[host])
        self._check_url(url, parts)
        for attempt in range(self.network.retries + 1):
            last = attempt == self.network.retries
            try:
                return self._opener().open(  # type: ignore[no-any-return]
                    self._request(parts, wanted), timeout=self.network.timeout
                )
            except urllib.error.HTTPError as exc:
                if exc.code not in _RETRY_STATUSES or last:
                    raise FetchError(f"{redact_url(url)}: HTTP {exc.code} {exc.reason}") from exc
                self._pause(_backoff(attempt, exc.headers.get("Retry-After")))
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                reason = getattr(exc, "reason", None) or exc
                if isinstance(reason, (ConnectionRefusedError, socket.gaierror)):
                    # Retrying cannot help: nothing listens there, or no such name.
                    self.unreachable[host] = f"cannot reach {host}: {reason}"
                    raise FetchError(self.unreachable[host]) from exc
                # A certificate that fails today fails again in a second.
                bad_certificate = isinstance(reason, ssl.SSLCertVerificationError)
                if last or self.cancelled.is_set() or bad_certificate:
                    raise FetchError(f"{redact_url(url)}: {reason}") from exc
                self._pause(_backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _check_url(self, url: str, parts: urllib.parse.SplitResult) -> None:
        """Refuse a URL peep never fetches."""
        if parts.scheme not in ("http", "https"):
            raise FetchError(f"cannot fetch {redact_url(url)}: unsupported URL scheme")
        if not _is_secure_origin(url, self.finder.trusted_hosts):
            raise FetchError(f"refusing plain-HTTP {redact_url(url)}; use https, or mark the "
                             "host with --trusted-host if you really mean it")
        try:
            _ = parts.port
        except ValueError as exc:  # out of range, or not a number
            raise FetchError(f"cannot fetch {redact_url(url)}: {exc}") from exc

    def download(self, url: str, destination: str, algorithms: Iterable[str],
                 on_bytes: Callable[[int], None] = lambda count: None, *,
                 max_bytes: Optional[int] = None) -> Dict[str, str]:
        """Stream ``url`` into the new file ``destination``, hashing as it goes. A body cut short
        is fetched again; one longer than ``max_bytes`` or any archive is refused at once."""
        wanted = ("sha256", *algorithms)  # hash_stream drops a repeat
        limit = MAX_ARCHIVE_BYTES if max_bytes is None else min(max_bytes, MAX_ARCHIVE_BYTES)
        for attempt in range(self.network.retries + 1):
            try:
                return self._download_once(url, destination, wanted, on_bytes, limit)
            except FetchError as exc:
                _remove_quietly(destination)
                if not isinstance(exc, _BodyError) or attempt == self.network.retries:
                    raise
                self._pause(_backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _download_once(self, url: str, destination: str, wanted: Sequence[str],
                       on_bytes: Callable[[int], None], limit: int) -> Dict[str, str]:
        import http.client
        with self.open(url) as response:
            try:  # a local file has no headers
                expected: Optional[int] = int(getattr(response, "headers", {})["Content-Length"])
            except (KeyError, TypeError, ValueError):
                expected = None
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            with os.fdopen(os.open(destination, flags, 0o600), "wb") as sink:

                def write(chunk: memoryview) -> None:
                    self._pause()
                    sink.write(chunk)
                    if expected is not None and sink.tell() > expected:
                        raise _BodyError(f"{redact_url(url)}: more bytes than the "
                                         f"{expected} announced")
                    if sink.tell() > limit:
                        raise TooLarge(f"{redact_url(url)}: larger than {limit} bytes")
                    on_bytes(len(chunk))

                try:
                    digests = hash_stream(response, wanted, sink=write)
                except (OSError, http.client.HTTPException) as exc:
                    raise _BodyError(f"{redact_url(url)}: download failed ({exc})") from exc
                written = sink.tell()
        if expected is not None and written != expected:
            raise _BodyError(f"{redact_url(url)}: got {written} bytes of the {expected} announced")
        return digests


def _netrc_credentials(host: str, environ: Mapping[str, str]) -> Optional[Tuple[str, str]]:
    """Return the netrc login for ``host``, if the user has one."""
    import netrc
    path = environ.get("NETRC") or os.path.join(os.path.expanduser("~"), ".netrc")
    try:
        entry = netrc.netrc(path).authenticators(host) if os.path.isfile(path) else None
    except (OSError, netrc.NetrcParseError):
        return None
    return None if entry is None else (entry[0] or "", entry[2] or "")


def _file_url_path(url: str) -> str:
    import urllib.parse
    import urllib.request
    return urllib.request.url2pathname(urllib.parse.urlsplit(url).path)


def _read_capped(response: IO[bytes], limit: int, url: str) -> bytes:
    """Read a whole response in chunks, refusing more than ``limit`` bytes."""
    import http.client
    data = bytearray()
    try:
        for chunk in iter(functools.partial(response.read, CHUNK_SIZE), b""):
            data += chunk
            if len(data) > limit:
                raise FetchError(f"{redact_url(url)} is larger than {limit} bytes")
    except (OSError, http.client.HTTPException) as exc:  # a timeout, a broken chunk
        raise FetchError(f"{redact_url(url)}: download failed ({exc})") from exc
    return bytes(data)


def safe_filename(name: str) -> str:
    """Return ``name`` if it is safe to create in a directory of peep's, else raise. A control
    character is not: other tools print a name as it is (pip -v)."""
    if name in ("", ".", "..") or re.search(r"[/\\\x00-\x1f\x7f-\x9f]", name):  # "/": absolute too
        raise FetchError(f"refusing the unsafe file name {name!r}")
    return name


# --- Requirements -------------------------------------------------------------


class RequirementsFileError(PeepError):
    """A requirements file could not be read or says something invalid."""

    def __init__(self, origin: Origin | str, message: str) -> None:
        super().__init__(f"{origin}: {message}")
        self.message = message


class Origin(NamedTuple):
    """Where something was written: a file (or URL) and a 1-based line."""

    source: str
    line: int = 0

    def __str__(self) -> str:
        # A file named by URL may carry a password, and every message names its origin.
        source = redact_url(self.source)
        return f"{source} line {self.line}" if self.line else source


COMMAND_LINE = Origin("the command line")


def marker_applies(marker: Marker, environment: Optional[Mapping[str, str]]) -> bool:
    """Evaluate a marker; raise ValueError, saying why, if it cannot be evaluated."""
    try:
        return bool(marker.evaluate(dict(environment) if environment else None))
    except Exception as exc:  # noqa: BLE001 - packaging's errors vary by version
        raise ValueError(f"marker {str(marker)!r} cannot be evaluated here ({exc})") from exc


@dataclass(frozen=True)
class Requirement:
    """A requirement as written; ``unsupported`` (why peep cannot hash it) is kept, not raised."""

    text: str
    origin: Origin
    name: Optional[str] = None
    specifier: SpecifierSet = field(default_factory=lambda: SpecifierSet())
    url: Optional[str] = None
    extras: FrozenSet[str] = frozenset()
    marker: Optional[Marker] = None
    hashes: Hashes = field(default_factory=Hashes)
    config_settings: Tuple[Tuple[str, str], ...] = ()
    is_constraint: bool = False
    unsupported: Optional[str] = None
    size: Optional[int] = None  # bytes, when a lock file says
    locked: bool = False  # one file named by a lock file, which mirrors may serve
    hash_style: str = "peep"  # how its file writes hashes: "peep" comments or "pip" options

    @property
    def key(self) -> str:
        """Return the PEP 503 normalised project name (or the text if none)."""
        return canonicalize_name(self.name) if self.name else self.text

    def applies(self, environment: Optional[Mapping[str, str]] = None) -> bool:
        """Tell whether the marker (if any) is true for ``environment``."""
        try:
            return self.marker is None or marker_applies(self.marker, environment)
        except ValueError as exc:
            raise RequirementsFileError(self.origin, str(exc)) from exc

    def pinned_version(self) -> Optional[Version]:
        """Return the version an ``==`` (or ``===``) specifier pins, if one does."""
        pins = [spec.version for spec in self.specifier
                if spec.operator in ("==", "===") and "*" not in spec.version]
        try:
            return Version(pins[0]) if pins else None
        except InvalidVersion:
            return None


@dataclass(frozen=True)
class FileOption:
    """A finder option on a line of its own; ``name`` is its long form (``index-url``)."""

    name: str
    value: Union[str, bool]
    origin: Origin


# Step 1: decode. UTF-32 comes first: the UTF-16-LE mark is a prefix of the UTF-32-LE one.
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF32_BE, "utf-32-be"),
         (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
         (codecs.BOM_UTF16_LE, "utf-16-le"))  # fmt: skip
_CODING_RE = re.compile(rb"coding[:=]\s*([-\w.]+)")


def decode_requirements(data: bytes, source: str) -> str:
    """Decode a requirements file's bytes the way pip does."""
    bom, encoding = next(((b, name) for b, name in _BOMS if data.startswith(b)), (b"", None))
    data = data[len(bom) :]
    if encoding is None:  # pip reads a coding comment on the first two lines
        found = [_CODING_RE.search(line) for line in data.split(b"\n")[:2] if line[:1] == b"#"]
        encoding = next((match.group(1).decode("ascii") for match in found if match), None)
    if encoding is None:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            encoding = locale.getpreferredencoding(False)
    try:
        text = data.decode(encoding)
    except LookupError as exc:
        raise RequirementsFileError(source, f"unknown encoding {encoding!r}") from exc
    except UnicodeError as exc:  # not only UnicodeDecodeError: "undefined" and punycode
        raise RequirementsFileError(source, f"cannot be decoded as {encoding} ({exc})") from exc
    # UTF-7's "+AAo-" and unicode_escape's "\\n" are newlines a reader of the bytes does not see.
    if not bom and text.encode("ascii", "ignore") != data.translate(None, bytes(range(128, 256))):
        raise RequirementsFileError(source, f"{encoding} reads ASCII bytes as other text, so the "
                                    "file says other than it shows; save it as UTF-8")
    return text


# Steps 2-6: split, collect peep's hash comments, join, strip, expand.

_HASH_COMMENT_RE = re.compile(r"^\s*#\s+sha256:\s+(\S+)\s*(#.*)?$")
# pip strips r"(^|\s+)#.*$", which takes quadratic time on a long run of spaces; this
# finds the same '#' in linear time: one at the start of the line or after whitespace.
_COMMENT_START_RE = re.compile(r"(?:^|(?<=\s))#")
# Anything a person may have meant as a peep hash line ("#sha256: X", "# SHA256: X",
# "# sha256: X and words"): peep reads only the exact form, and says so about the rest.
_NEAR_MISS_HASH_RE = re.compile(r"^\s*#+\s*sha-?256\s*[:=]", re.IGNORECASE)
_ENV_VAR_RE = re.compile(r"\$\{([A-Z0-9_]+)\}")


def near_miss_hash_lines(text: str, source: str) -> List[str]:
    """Return a warning for each line that looks like a hash line but is not read as one."""
    return [
        f"{Origin(source, number)}: {line.strip()!r} is not a hash line, so it is ignored; "
        "peep reads only '# sha256: DIGEST' (DIGEST: 43 characters of URL-safe base64, as "
        "'peep hash' prints)"
        for number, line in enumerate(text.splitlines(), start=1)
        if _NEAR_MISS_HASH_RE.match(line) and not _HASH_COMMENT_RE.match(line)
    ]


def strip_comment(text: str) -> str:
    """Remove a comment the way pip does: from a '#' at line start or after whitespace."""
    match = _COMMENT_START_RE.search(text)
    return text[: match.start()] if match else text


@dataclass(frozen=True)
class HashComment:
    """A peep ``# sha256: ...`` line; it belongs to the next requirement."""

    origin: Origin
    hexdigest: str
    trailing_comment: str = ""


@dataclass(frozen=True)
class LogicalLine:
    """A line after continuations are joined: ``origin.line`` to ``last`` physical lines."""

    origin: Origin
    last: int
    text: str


Line = Union[HashComment, LogicalLine]  # what the line pipeline yields


# Line breaks pip (str.splitlines) makes that a browser or a terminal may not show; marks that
# reorder what a line shows. A reviewer would read "# pinned\x1eevil==6.6" as one comment.
_UNSEEN_RE = re.compile("\r(?![\r\n])|[\x0b\x0c\x1c-\x1e\x85\u2028-\u202e\u2066-\u2069]")


def _physical_lines(text: str, source: str) -> Iterator[Line]:
    """Number the lines and pick out peep's hash comments (before comments go)."""
    unseen = _UNSEEN_RE.search(text)
    if unseen:
        raise RequirementsFileError(Origin(source, len(text[: unseen.end()].splitlines())),
                                    f"{ascii(unseen[0])} breaks or reorders the line where a "
                                    "reader of the file may not see it; remove it")
    for number, line in enumerate(text.splitlines(), start=1):
        origin = Origin(source, number)
        match = _HASH_COMMENT_RE.match(line)
        if match is None:
            yield LogicalLine(origin, number, line)
            continue
        digest = match.group(1)
        try:
            hexdigest = peep_to_hex(digest)
        except InvalidHash as exc:
            message = str(exc)
            if re.fullmatch("[0-9a-f]{64}", digest.lower()):
                message = (f"{digest!r} is a hex digest; a '# sha256:' line takes URL-safe "
                           f"base64: '# sha256: {hex_to_peep(digest.lower())}' (or write "
                           f"--hash=sha256:{digest.lower()} after the requirement)")
            raise RequirementsFileError(origin, message) from exc
        yield HashComment(origin, hexdigest, match.group(2) or "")


def _join_continuations(lines: Iterable[Line]) -> Iterator[Line]:
    """Join lines ending in a backslash to the next; a comment line ends a continuation."""
    pending: List[LogicalLine] = []

    def flush() -> Iterator[LogicalLine]:
        if pending:
            yield LogicalLine(pending[0].origin, pending[-1].last, "".join(p.text for p in pending))
            pending.clear()

    for line in lines:
        if isinstance(line, HashComment) or line.text.lstrip().startswith("#"):
            yield from flush()
            yield line
        elif line.text.endswith("\\"):
            # pip strips backslashes from both ends; so do we, to join alike.
            pending.append(replace(line, text=line.text.strip("\\")))
        else:
            pending.append(line)
            yield from flush()
    yield from flush()


def scan_requirements_text(text: str, source: str, environ: Mapping[str, str]) -> Iterator[Line]:
    """Turn a decoded file into hash comments and logical lines, stripped and expanded."""
    for line in _join_continuations(_physical_lines(text, source)):
        if isinstance(line, HashComment):
            yield line
            continue
        stripped = strip_comment(line.text).strip()  # (no ":=": Python 3.7 must parse the file)
        if stripped:
            yield replace(line, text=_ENV_VAR_RE.sub(
                lambda var: never_printed(environ.get(var[1]) or "") or var[0], stripped))


def split_requirement_and_options(line: str) -> Tuple[str, str]:
    """Split a line into the requirement and the options (only these are shlex-split)."""
    requirement, space, options = (" " + line).partition(" -")  # a line may start with "-"
    return requirement[1:], ("-" + options) if space else ""


# Step 7: options, with pip's option names and unique-prefix matching: the options only a
# requirements file takes (flags, takes a value), then the finder options.
_LINE_OPTIONS = (
    (("-c", "--constraint"), True), (("-r", "--requirement"), True),
    (("-e", "--editable"), True), (("--require-hashes",), False), (("--use-feature",), True),
    (("--hash",), True), (("-C", "--config-settings"), True),
) + tuple((option.flags, option.how != "flag") for option in FINDER_OPTIONS if option.in_file)
_PER_REQUIREMENT_OPTIONS = ("hash", "config-settings")
_REMOVED_OPTIONS = {
    "--install-option": "pip removed it in 23.1",
    "--global-option": "peep cannot pass it through safely; use --config-settings",
    "--build-option": "use --config-settings",
    "--no-use-wheel": "pip removed it; use --no-binary",
    "--no-require-hashes": "peep always checks hashes; nothing turns that off",
    **dict.fromkeys(("--allow-external", "--allow-unverified", "--allow-all-external",
                     "--process-dependency-links"), "pip removed it"),
}


def parse_line_options(options_text: str, origin: Origin) -> List[Tuple[str, Union[str, bool]]]:
    """Parse the options part of a line into ``(long name, value)`` pairs, in order."""
    import optparse
    import shlex

    class LineOptionParser(optparse.OptionParser):
        def error(self, msg: str) -> NoReturn:
            # Only a word in an option's place is an option: the parser has already
            # taken "-C '--build-option=x'" as a value, not a flag.
            for flag, reason in _REMOVED_OPTIONS.items():
                if msg == f"no such option: {flag}":
                    msg = f"{flag} is not supported in requirements files ({reason})"
            raise RequirementsFileError(origin, msg)

    seen: List[Tuple[str, Union[str, bool]]] = []

    def record(option: optparse.Option, flag: str, value: Optional[str], parser: object) -> None:
        seen.append((option.get_opt_string()[2:], True if value is None else value))

    parser = LineOptionParser(add_help_option=False)
    for flags, takes_value in _LINE_OPTIONS:
        parser.add_option(*flags, action="callback", callback=record,
                          type="string" if takes_value else None)
    try:
        words = shlex.split(options_text)
    except ValueError as exc:
        raise RequirementsFileError(origin, f"cannot split options ({exc})") from exc
    leftover = parser.parse_args(words, optparse.Values())[1]
    if leftover:
        message = f"unexpected {leftover[0]!r} after the options (quote it, or put it first)"
        raise RequirementsFileError(origin, message)
    return seen


# Step 8: the requirement itself.

# What pip 26 accepts after "#egg=": a PEP 508 project name and nothing else.
_EGG_NAME_RE = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def _is_vcs_url(url: str) -> bool:
    return url.split(":", 1)[0].lower().split("+", 1)[0] in ("git", "hg", "svn", "bzr")


def _is_url(text: str) -> bool:
    scheme = text.split(":", 1)[0].lower()
    return ":" in text and (scheme in ("http", "https", "file") or _is_vcs_url(text))


def _looks_like_path(text: str) -> bool:
    return os.sep in text or bool(os.altsep and os.altsep in text) or text.startswith(".")


def is_archive_name(filename: str) -> bool:
    """Tell whether a file name has an ending pip installs from (and a length one can have)."""
    # No file system takes a name over 255 bytes, so no real archive has one; and
    # splitting an sdist's name costs the square of its length.
    size = len(filename.encode("utf-8", "surrogatepass"))
    return size <= 255 and filename.lower().endswith(ARCHIVE_EXTENSIONS)


def url_filename(url: str) -> str:
    """Return the unquoted last path segment of ``url``."""
    import urllib.parse
    return urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])


# pip takes a URL's project and hash from the first "#egg=" or "&egg=" (and "#sha256=", ...
# md5 too) anywhere in it, query included, and passes over any later one without a word.
_URL_FIELD_RE = re.compile(r"[#&](egg|subdirectory|sha512|sha384|sha256|sha224|sha1|md5)=([^&]*)")


def read_url_fragment(url: str, origin: Origin) -> Tuple[Optional[str], Hashes]:
    """Return a URL's ``#egg=`` name and ``#sha256=``-style hash as pip reads them (one each)."""
    problem = url_problem(url)
    if problem:
        raise RequirementsFileError(origin, f"{url!r} is not a valid URL ({problem})")
    fields = _URL_FIELD_RE.findall(url)
    for key, value in fields:  # pip builds that directory of the archive: maybe another project
        if key == "subdirectory":
            raise RequirementsFileError(origin, "peep builds an archive from its root, not from "
                                        f"its subdirectory {value!r}")
    eggs = [value for key, value in fields if key == "egg"]
    digests = [(key, value) for key, value in fields if key != "egg"]
    if len(eggs) > 1 or len(digests) > 1:
        raise RequirementsFileError(origin, "the URL names more than one " + ("project (#egg=)" if
                                    len(eggs) > 1 else "hash; pip checks only the first: give "
                                    "the others as --hash options"))  # fmt: skip
    if eggs and not _EGG_NAME_RE.match(eggs[0]):
        raise RequirementsFileError(origin, f"'#egg={eggs[0]}' is not a project name; only the "
                                    "name may follow '#egg=' (write 'NAME[extras] @ URL ; "
                                    "marker' for more, as pip 26 requires)")
    try:
        return (eggs or [None])[0], Hashes().with_digest(*digests[0]) if digests else Hashes()
    except InvalidHash as exc:
        raise RequirementsFileError(origin, str(exc)) from exc


@dataclass(frozen=True)
class ArchiveName:
    """What a wheel's or an sdist's file name says of the archive."""

    name: str  # canonical
    version: Version
    is_wheel: bool
    build: Tuple[object, ...] = ()
    tags: FrozenSet[Tag] = frozenset()


@functools.lru_cache(maxsize=4096)  # an index page's links are parsed to filter, then to use
def parse_archive_name(filename: str, project: Optional[str] = None) -> Optional[ArchiveName]:
    """Return what a wheel's or an sdist's file name says, or None if it does not parse; given
    ``project``, any sdist splits after its name, as in pip's finder ("a-1.0-2.zip": 1.0-2)."""
    if not is_archive_name(filename):
        return None
    try:
        if filename.endswith(WHEEL_EXTENSION):
            name, version, build, tags = parse_wheel_filename(filename)
            return ArchiveName(name=str(name), version=version, is_wheel=True,
                               build=tuple(build), tags=frozenset(tags))  # fmt: skip
        if project is None:
            name, version = parse_sdist_filename(filename)
            return ArchiveName(name=str(name), version=version, is_wheel=False)
        key = canonicalize_name(project)
        ending = next((ext for ext in SDIST_EXTENSIONS if filename.lower().endswith(ext)), None)
        stem = filename[: -len(ending)] if ending else ""
        for index, char in enumerate(stem):
            if char == "-" and canonicalize_name(stem[:index]) == key:
                return ArchiveName(name=key, version=Version(stem[index + 1 :]), is_wheel=False)
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return None


def _refuse_local_in_remote(target: str, origin: Origin) -> None:
    """Refuse a local path named in a file fetched over HTTP(S): it must not read this disk."""
    import urllib.parse
    remote = urllib.parse.urlsplit(origin.source).scheme.lower() in ("http", "https")
    if remote and (urllib.parse.urlsplit(target).scheme.lower() == "file" or not _is_url(target)):
        raise RequirementsFileError(origin, f"{target!r} is on the local disk, which a "
                                    "requirements file fetched over the network may not name")


def _link_requirement(base: Requirement) -> Requirement:
    """Complete the record of a requirement that points at a URL or a path."""
    url, origin = base.url or "", base.origin
    if not _is_url(url):
        raise RequirementsFileError(origin, f"{url!r}: peep cannot fetch {url.split(':', 1)[0]}: "
                                    "URLs (only http, https and file; VCS URLs are reported as "
                                    "unhashable)")
    egg, hashes = read_url_fragment(url, origin)  # first: it refuses a URL that does not split
    _refuse_local_in_remote(url, origin)
    if _is_vcs_url(url):
        return replace(base, unsupported="a VCS checkout has no fixed archive to hash; "
                       "point at a release archive or a wheel instead")  # fmt: skip
    if url.lower().startswith("file:") and os.path.isdir(_file_url_path(url)):
        return replace(base, unsupported="a directory has no fixed archive to hash; "
                       "build an sdist or a wheel and require that")  # fmt: skip
    filename = url_filename(url)
    name = base.name or egg
    if filename.endswith(WHEEL_EXTENSION):
        # pip installs a wheel under the name in its file name. A different name on the
        # line would have peep check one project's hashes and find another's files.
        parsed = parse_archive_name(filename)
        if parsed is None:
            raise RequirementsFileError(origin, f"{filename!r} is not a valid wheel file name "
                                        "(NAME-VERSION[-BUILD]-PYTHON-ABI-PLATFORM.whl)")
        for claimed in (base.name, egg):
            if claimed is not None and canonicalize_name(claimed) != parsed.name:
                raise RequirementsFileError(origin, f"the wheel {filename!r} is project "
                                            f"{parsed.name!r}, but the line names {claimed!r}; "
                                            "a name that disagrees with the wheel is refused")
        name = base.name or parsed.name
    if name is None:
        return replace(base, hashes=hashes, unsupported="peep cannot tell which project this "
                       f"archive is; add '#egg=NAME' to the URL or write 'NAME @ {url}'")
    return replace(base, name=name, hashes=hashes)


def parse_requirement(text: str, origin: Origin) -> Requirement:
    """Parse the requirement part of a line (no options) into a record."""
    body, _, marker_text = text.partition("; " if _is_url(text) else ";")  # "; " after a URL
    body, marker_text = body.strip(), marker_text.strip()
    try:
        marker = Marker(marker_text) if marker_text else None
    except InvalidMarker as exc:
        raise RequirementsFileError(origin, f"invalid marker {marker_text!r} ({exc})") from exc
    if _is_url(body) or _SCHEME_RE.match(body):
        return _link_requirement(Requirement(text, origin, url=body, marker=marker))
    path, extras_text = body, ""
    bracket = body.rfind("[")
    if body.endswith("]") and bracket > 0 and "]" not in body[bracket:-1]:
        if _looks_like_path(body[:bracket]):
            path, extras_text = body[:bracket], body[bracket + 1 : -1]
    extras = frozenset(e.strip() for e in extras_text.split(",") if e.strip())
    is_directory = _looks_like_path(path) and os.path.isdir(path)
    if is_directory or (is_archive_name(path) and os.path.isfile(path)):
        parsed = None if is_directory else parse_archive_name(os.path.basename(path))
        return _link_requirement(Requirement(text, origin, parsed.name if parsed else None,
                                             url=_path_to_url(path), extras=extras, marker=marker))
    # pip takes anything named like an archive as a path, so a missing file is an error now;
    # but "name @ https://.../x.zip" is a PEP 508 URL requirement when "name" is no path.
    before_at, at, _ = body.partition("@")
    if is_archive_name(path) and (not at or _looks_like_path(before_at)):
        raise RequirementsFileError(origin, f"{path!r} looks like an archive file name, but "
                                    f"there is no such file ({os.path.abspath(path)})")
    try:
        named = PackagingRequirement(body)
    except InvalidRequirement as exc:
        hint = ""
        if "=" in body and not any(op in body for op in ("==", "!=", "~=", ">=", "<=", "===")):
            hint = " (= is not a valid operator; did you mean == ?)"
        elif _looks_like_path(body):
            hint = f" (it looks like a path, but {body!r} does not exist)"
        raise RequirementsFileError(origin, f"invalid requirement {body!r}{hint}") from exc
    record = Requirement(text, origin, named.name, named.specifier, url=named.url,
                         extras=frozenset(named.extras), marker=marker)  # fmt: skip
    return _link_requirement(record) if named.url else record


def _path_to_url(path: str) -> str:
    import urllib.parse
    import urllib.request
    return urllib.parse.urljoin("file:", urllib.request.pathname2url(os.path.abspath(path)))


def _requirement_from_line(requirement_text: str, options: Sequence[Tuple[str, Union[str, bool]]],
                           hash_comments: Sequence[HashComment], origin: Origin) -> Requirement:
    """Read a requirement's line: the requirement, its hash comments and its options."""
    for name, _ in options:
        if name not in _PER_REQUIREMENT_OPTIONS:
            raise RequirementsFileError(origin, f"--{name} cannot follow a requirement; put it "
                                        "on a line of its own (only --hash and --config-settings "
                                        "belong on a requirement's line)")
    requirement = parse_requirement(requirement_text.strip(), origin)
    hashes = requirement.hashes
    for comment in hash_comments:
        hashes = hashes.with_digest("sha256", comment.hexdigest)
    settings = []
    for name, value in options:
        text = str(value)  # both per-requirement options take a value
        if name == "hash":
            algorithm, _, digest = text.partition(":")
            try:
                hashes = hashes.with_digest(algorithm, digest)
            except InvalidHash as exc:
                raise RequirementsFileError(origin, f"--hash={text}: {exc}") from exc
        else:
            key, equals, setting = text.partition("=")
            if not equals:
                message = f"--config-settings {text!r} is not of the form KEY=VALUE"
                raise RequirementsFileError(origin, message)
            settings.append((key, setting))
    return replace(requirement, hashes=hashes, config_settings=tuple(settings))


# Files: reading, nesting, and the records they hold.


def read_requirements_source(location: str,
                             transport: Optional[Callable[[], Transport]] = None) -> bytes:
    """Read a requirements file from a path, a ``file:`` URL or an HTTP(S) URL; it holds the
    hashes, so a URL is fetched under the same rules as archives (see Transport)."""
    is_file_url = location.lower().startswith("file:")
    if _is_url(location) and not is_file_url:
        # Given no transport: one set up by pip's configuration alone (files and PIP_*).
        made = transport() if transport is not None else Transport(*settings_from_configuration(
            load_pip_configuration(os.environ), os.environ))
        with made.open(location, wanted="text/plain, */*") as response:
            return _read_capped(response, MAX_REQUIREMENTS_BYTES, location)
    path = _file_url_path(location) if is_file_url else location
    with open_regular_file(path) as stream:
        data = stream.read(MAX_REQUIREMENTS_BYTES + 1)
    if len(data) > MAX_REQUIREMENTS_BYTES:
        raise OSError(f"{path!r} is larger than {MAX_REQUIREMENTS_BYTES} bytes")
    return data


MAX_NESTING = 100  # -r/-c levels; far beyond real use, well within Python's stack


def _nested_location(including: str, name: str) -> str:
    """Resolve a ``-r``/``-c`` argument relative to the file that names it."""
    import urllib.parse
    if _is_url(including):  # urljoin leaves a whole URL as it is
        return urllib.parse.urljoin(including, name)
    return name if _is_url(name) else os.path.join(os.path.dirname(including), name)


class Reading(NamedTuple):
    """How a requirements file is being read: what nested files inherit."""

    environ: Mapping[str, str]
    reader: Callable[[str], bytes]
    warn: Callable[[str], object]
    is_constraint: bool = False
    chain: Mapping[str, str] = {}  # identity: location of each including file (never mutated)


def parse_requirements_file(
    location: str, *, environ: Optional[Mapping[str, str]] = None, is_constraint: bool = False,
    reader: Callable[[str], bytes] = read_requirements_source,
    warn: Optional[Callable[[str], object]] = None,
) -> Iterator[Union[Requirement, FileOption]]:
    """Yield the requirements and finder options of a file, nested files inline."""
    warn = warn or (lambda message: sys.stderr.write(printable(f"peep: warning: {message}\n")))
    reading = Reading(os.environ if environ is None else environ, reader, warn, is_constraint)
    return _read_file(location, reading, None)


def hash_style(text: str, default: str = "peep") -> str:
    """Return the hash form a file uses more: "peep" comments or "pip" options (else default)."""
    comments = sum(1 for line in text.splitlines() if _HASH_COMMENT_RE.match(line))
    options = text.count("--hash=")
    return default if comments == options else "peep" if comments > options else "pip"


def _read_file(location: str, reading: Reading,
               included_at: Optional[Origin]) -> Iterator[Union[Requirement, FileOption]]:
    """Yield a file's records, refusing one nested too deep or in a cycle."""
    where = included_at or location
    if len(reading.chain) >= MAX_NESTING:
        message = f"requirements files are nested more than {MAX_NESTING} deep here"
        raise RequirementsFileError(where, message)
    if "\x00" in location:
        raise RequirementsFileError(where, f"{location!r} is not a file name (it holds a NUL byte)")
    if included_at is not None:
        _refuse_local_in_remote(location, included_at)
    identity = location if _is_url(location) else os.path.realpath(location)
    if identity in reading.chain:
        raise RequirementsFileError(where, f"{location} is included again while it is being "
                                    f"read (a cycle through {reading.chain[identity]})")
    try:
        data = reading.reader(location)
    except (OSError, ValueError, PeepError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        message = f"Could not open requirements file {location!r}: {reason}"
        raise RequirementsFileError(where, message) from exc
    reading = reading._replace(chain={**reading.chain, identity: location})
    text = decode_requirements(data, location)
    for warning in near_miss_hash_lines(text, location):
        reading.warn(warning)
    style = hash_style(text)
    pending: List[HashComment] = []
    for line in scan_requirements_text(text, location, reading.environ):
        if isinstance(line, HashComment):
            pending.append(line)
            continue
        requirement_text, options_text = split_requirement_and_options(line.text)
        options = parse_line_options(options_text, line.origin) if options_text else []
        if requirement_text:
            record = _requirement_from_line(requirement_text, options, pending, line.origin)
            yield replace(record, is_constraint=reading.is_constraint, hash_style=style)
        else:
            _warn_unfollowed(pending, reading)
            yield from _option_line(options, line.origin, reading)
        pending = []
    _warn_unfollowed(pending, reading)


def _warn_unfollowed(pending: Sequence[HashComment], reading: Reading) -> None:
    """Warn about hash lines that an option line or the file's end leaves without a
    requirement: they are not in effect, and a reader of the file might think they are."""
    if pending:
        reading.warn(f"{pending[0].origin}: # sha256: line(s) with no requirement after them: "
                     "ignored")  # fmt: skip


# Options after which pip drops the rest of the line without a word: it reads only the first
# -r/-c and the first -f, and an editable's line only for --config-settings.
_ALONE_ON_A_LINE = ("requirement", "constraint", "editable", "find-links")


def _option_line(options: Sequence[Tuple[str, Union[str, bool]]], origin: Origin,
                 reading: Reading) -> Iterator[Union[Requirement, FileOption]]:
    """Read a line of options; refuse or warn about those pip reads otherwise than they look."""
    names = [name for name, _ in options]
    for name in names:
        others = len(names) - 1 - (names.count("config-settings") if name == "editable" else 0)
        if name in _ALONE_ON_A_LINE and others:
            raise RequirementsFileError(origin, f"{', '.join(f'--{other}' for other in names)} on "
                                        f"one line: pip would act on --{name} and drop the rest "
                                        "without a word; put each on a line of its own")
    if reading.is_constraint and "requirement" in names:
        reading.warn(f"{origin}: -r in a constraints file: peep reads the named file's lines "
                     "as constraints too (pip turns them into requirements)")  # fmt: skip
    for name, value in options:
        if name == "config-settings" and "editable" in names:
            continue  # pip passes it to the editable's build; peep never builds one
        if name in _PER_REQUIREMENT_OPTIONS:
            raise RequirementsFileError(origin, f"--{name} must follow a requirement on the same "
                                        "line (end the requirement's line with a backslash to "
                                        "continue it)")
        problem = url_problem(str(value))  # paths too, where a remote file's URL joins them
        if problem and (name not in ("requirement", "constraint", "editable")
                        or _is_url(origin.source)):
            raise RequirementsFileError(origin, f"--{name} {redact_url(str(value))!r} is not "
                                        f"a valid URL ({problem})")
        if name in ("find-links", "index-url", "extra-index-url") and isinstance(value, str):
            _refuse_local_in_remote(value, origin)  # each names a place peep reads archives from
        if name == "find-links" and isinstance(value, str):
            beside_file = os.path.join(os.path.dirname(os.path.abspath(origin.source)), value)
            if not _is_url(origin.source) and os.path.exists(beside_file):
                value = beside_file
        if name in ("requirement", "constraint"):
            nested = reading._replace(is_constraint=reading.is_constraint or name == "constraint")
            yield from _read_file(_nested_location(origin.source, str(value)), nested, origin)
        elif name == "editable":
            egg = read_url_fragment(str(value), origin)[0] if "#" in str(value) else None
            yield Requirement(f"-e {value}", origin, egg, url=str(value),
                              is_constraint=reading.is_constraint, unsupported="an editable "
                              "install is a live checkout with no archive to hash")
        else:
            yield FileOption(name, value, origin)


def requirements_reader(make: Callable[[], Transport]) -> Callable[[str], bytes]:
    """Return a reader of requirements files that fetches URLs through ``make()``'s transport,
    made at the first URL so that reading local files never depends on network settings."""
    return functools.partial(read_requirements_source, transport=functools.lru_cache()(make))


# --- Lock files (PEP 751) -----------------------------------------------------

# PEP 751 names lock files "pylock.toml" or "pylock.NAME.toml": the name tells them apart.
_LOCK_NAME_RE = re.compile(r"^pylock\.(?:[^.]+\.)?toml$")
LOCK_PACKAGING = "26.1"  # the first packaging whose pylock module can select


def is_lock_file(location: str) -> bool:
    """Tell whether a path or URL names a PEP 751 lock file."""
    path = re.split("[?#]", location, maxsplit=1)[0] if _is_url(location) else location
    return bool(_LOCK_NAME_RE.match(os.path.basename(path.replace("\\", "/"))))


def _module_version(name: str) -> str:
    try:
        return str(getattr(importlib.import_module(name), "__version__", "of unknown version"))
    except ImportError:
        return "not installed"


def pylock_module() -> Any:
    """Return ``packaging.pylock`` (top level, else pip's copy), new enough to select."""
    for package in ("packaging", "pip._vendor.packaging"):
        try:
            module = importlib.import_module(f"{package}.pylock")
        except ImportError:
            continue
        if hasattr(module.Pylock, "select"):
            return module
    packaging = f"'python -m pip install --upgrade \"packaging>={LOCK_PACKAGING}\"'"
    pip = f"'python -m pip install --upgrade \"pip>={LOCK_PACKAGING}\"'"
    upgrade = (f"one of them: {pip} or {packaging}." if sys.version_info >= (3, 10)
               else f"packaging: {packaging}.")  # pip 26.1 and later need Python 3.10
    raise PeepError(f"peep: reading a PEP 751 lock file needs packaging {LOCK_PACKAGING} or "
                    "newer (its pylock module selects what to install), and there is none here: "
                    f"packaging is {_module_version('packaging')}, and pip "
                    f"{_module_version('pip')} vendors packaging "
                    f"{_module_version('pip._vendor.packaging')}. Upgrade {upgrade}")


def _toml_module() -> Any:
    import contextlib
    for name in ("tomllib", "tomli", "pip._vendor.tomli"):  # 3.11+, then the backport
        with contextlib.suppress(ImportError):
            return importlib.import_module(name)
    raise PeepError("peep: reading a lock file needs tomllib (Python 3.11+) or tomli")


def read_lock_file(location: str, reader: Callable[[str], bytes]) -> Any:
    """Read, parse and validate a lock file; return packaging's ``Pylock``."""
    module = pylock_module()
    toml = _toml_module()
    try:
        text = reader(location).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequirementsFileError(location, f"is not UTF-8, as TOML must be ({exc})") from exc
    except (OSError, ValueError) as exc:  # a URL that does not split is a ValueError
        message = f"Could not open lock file ({getattr(exc, 'strerror', None) or exc})"
        raise RequirementsFileError(location, message) from exc
    try:
        check_nesting(text)
        document = toml.loads(text)
    except (ValueError, toml.TOMLDecodeError) as exc:
        raise RequirementsFileError(location, f"is not valid TOML ({exc})") from exc
    try:
        return module.Pylock.from_dict(document)
    except module.PylockValidationError as exc:
        raise RequirementsFileError(location, f"is not a valid PEP 751 lock file: {exc}") from exc


class LockChoice(NamedTuple):
    """What selection made of one package of a lock: a file, or why there is none."""

    number: int  # in packages
    package: Any  # packaging.pylock.Package
    source: Any = None  # PackageWheel, PackageSdist, PackageArchive, PackageVcs, ...
    problem: Optional[str] = None


class LockSelection(NamedTuple):
    """What PEP 751's selection is asked for, and the finder settings that narrow it."""

    environment: Optional[Mapping[str, str]] = None  # PEP 508 markers; None: this interpreter
    extras: Sequence[str] = ()
    groups: Optional[Sequence[str]] = None
    settings: FinderSettings = FinderSettings()


def _select_one_by_one(location: str, lock: Any, module: Any, options: Mapping[str, Any],
                       first: Exception) -> List[LockChoice]:
    try:  # the lock's own requires-python and environments apply to every package
        list(replace(lock, packages=[]).select(**options))
    except module.PylockSelectError as exc:
        raise RequirementsFileError(location, f"cannot be installed here: {exc}") from exc
    choices = []
    for index, package in enumerate(lock.packages):
        alone = replace(lock, packages=[package])
        try:
            choices += [LockChoice(index, p, s) for p, s in alone.select(**options)]
        except Exception as exc:  # noqa: BLE001 - as in lock_file_requirements
            problem = f"packages[{index}] cannot be evaluated here ({exc})"
            if isinstance(exc, module.PylockSelectError):
                problem = str(exc).replace("packages[0]", f"packages[{index}]")
            choices.append(LockChoice(index, package, problem=problem))
    if all(choice.problem is None for choice in choices):  # so it selects one project twice
        raise RequirementsFileError(location, f"is ambiguous here: {first}")
    return choices


def _lock_file_url(location: str, path: str) -> str:
    """Resolve a lock entry's ``path``, which is relative to the lock file."""
    import urllib.parse
    if _is_url(location):
        return urllib.parse.urljoin(location, urllib.parse.quote(path.replace(os.sep, "/")))
    return _path_to_url(os.path.join(os.path.dirname(os.path.abspath(location)), path))


def _lock_entry_url(location: str, source: Any, origin: Origin) -> str:
    """Return a lock entry's URL: without a NUL, one that splits, in a remote lock not on disk."""
    url = source.url  # a remote lock's local path means nothing here, beside a URL
    if "\x00" in f"{url}{source.path}":
        raise RequirementsFileError(origin, "its url or path holds a NUL byte")
    if source.path is not None and (url is None or not _is_url(location)):
        url = _lock_file_url(location, source.path)
    if url_problem(url):
        raise RequirementsFileError(origin, f"{url!r} is not a valid URL ({url_problem(url)})")
    _refuse_local_in_remote(url, origin)
    return str(url)


def lock_requirement(location: str, choice: LockChoice, module: Any,
                     settings: FinderSettings) -> Requirement:
    """Make the requirement record for one selected file, as a requirements line would, with
    --no-binary and --only-binary honoured on what selection chose (a problem has no source)."""
    package, source, problem = choice.package, choice.source, choice.problem
    formats = settings.allowed_formats(package.name)
    if isinstance(source, module.PackageWheel) and "binary" not in formats:
        problem = None if package.sdist else "--no-binary, but the lock has no sdist"
        source = package.sdist or source
    elif isinstance(source, module.PackageSdist) and "source" not in formats:
        problem = "--only-binary, but the lock has no wheel for this interpreter"
    part = "" if source is None else "." + type(source).__name__[len("Package"):].lower()
    for index, wheel in enumerate(package.wheels or ()):
        if wheel is source:  # which wheel, rather than ".wheel"
            part = f".wheels[{index}]"
    origin = Origin(f"{location}: packages[{choice.number}]{part}")
    pin = f"=={package.version}" if package.version is not None else ""
    record = Requirement(text=f"{package.name}{pin}", origin=origin, name=str(package.name),
                         specifier=SpecifierSet(pin))  # fmt: skip
    if problem is not None:
        return replace(record, unsupported=problem)
    if isinstance(source, (module.PackageVcs, module.PackageDirectory)):
        what = "a VCS checkout" if isinstance(source, module.PackageVcs) else "a local directory"
        return replace(record, unsupported=f"{what} has no archive to hash "
                       f"(lock entry {part[1:]!r})")
    if getattr(source, "subdirectory", None):  # pip and uv build that: maybe another project
        return replace(record, unsupported="peep builds an archive from its root, not from its "
                       f"subdirectory {source.subdirectory!r}")
    try:  # the digests of algorithms peep knows
        hashes = Hashes(**{a: frozenset({normalize_hex(a, d)}) for a, d in source.hashes.items()
                           if a in HASH_ALGORITHMS})  # fmt: skip
    except InvalidHash as exc:
        return replace(record, unsupported=f"hashes: {exc}")
    if not hashes:  # then none of them is of an algorithm peep knows
        return replace(record, unsupported=f"its only hashes ({', '.join(source.hashes)}) are "
                       f"of algorithms peep cannot check (it checks {', '.join(HASH_ALGORITHMS)})")
    url = _lock_entry_url(location, source, origin)
    # Selection reads a file's tags from its "name", pip from its URL: they must name one file.
    named = getattr(source, "name", None)
    if named is not None and url_filename(url) != named:
        return replace(record, unsupported=f"its name {named!r} is not the file its URL or "
                       f"path names ({url_filename(url)!r})")
    locked, cutoff = not isinstance(source, module.PackageArchive), settings.uploaded_prior_to
    if locked and cutoff is not None and not url.startswith("file:"):  # an index's file, as pip 26
        if source.upload_time is None or source.upload_time.timestamp() >= cutoff:
            why = f"upload-time {source.upload_time or '(none in the lock)'} is not before"
            return replace(record, unsupported=f"{why} --uploaded-prior-to")
    return replace(record, url=url, hashes=hashes, size=source.size, locked=locked)


def lock_file_requirements(location: str, reader: Callable[[str], bytes],
                           asked: Optional[LockSelection] = None) -> List[Requirement]:
    """Read a lock file; return a record per file PEP 751's selection takes, or per problem
    (packaging stops at the first problem: on failure, each is selected alone to report all)."""
    lock = read_lock_file(location, reader)
    module = pylock_module()
    environment, extras, groups, settings = asked or LockSelection()
    options: Dict[str, Any] = {"environment": None if environment is None else dict(environment),
                               "extras": [canonicalize_name(e) for e in extras],
                               "dependency_groups": None if groups is None else list(groups)}
    where = {id(package): index for index, package in enumerate(lock.packages)}
    try:
        chosen = [LockChoice(where[id(p)], p, s) for p, s in lock.select(**options)]
    except module.PylockSelectError as exc:
        chosen = _select_one_by_one(location, lock, module, options, exc)
    except Exception as exc:  # noqa: BLE001 - markers that parse may still not compare
        raise RequirementsFileError(location, f"cannot be evaluated here ({exc})") from exc
    return [lock_requirement(location, choice, module, settings) for choice in chosen]


# --- Command-line options -----------------------------------------------------


class _Collect(argparse.Action):
    """Collect an option in order into the lists its ``const`` names: "pip_options" takes the
    words as written, the others (finder, network, refused) ``(name, value)`` pairs."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Union[str, Sequence[object], None],
                 option_string: Optional[str] = None) -> None:
        words = [values] if isinstance(values, str) else []  # []: a flag
        pair = (self.dest, words[0] if words else True)
        for into in self.const:
            added = [str(option_string), *words] if into == "pip_options" else [pair]
            setattr(namespace, into, [*getattr(namespace, into), *added])


_OTHER_PYTHON = "peep chooses and verifies files for the Python that runs it"
_SETUP_PY_OPTIONS = ("it is for setup.py, which peep never runs; give the build backend "
                     "-C KEY=VALUE instead")  # fmt: skip
PIP_OPTIONS = (
    Option(("-t", "--target"), "DIR", "install into DIR"),
    Option(("--prefix",), "DIR", "install under this prefix (bin/, lib/, ...)"),
    Option(("--root",), "DIR", "install relative to this root directory"),
    Option(("--src", "--source", "--source-dir", "--source-directory"), "DIR",
        "where pip checks out editables (peep refuses editables)"),
    Option(("-C", "--config-settings"), "KEY=VALUE",
        "a setting for every sdist's build backend (peep's builds take it; repeatable)", "list"),
    Option(("--upgrade-strategy",), "STRATEGY",
        "pip's upgrade strategy (eager, only-if-needed)"),
    Option(("--progress-bar",), "MODE", "pip's progress bar (on, off, raw)"),
    Option(("--root-user-action",), "ACTION", "what pip does when run as root (warn, ignore)"),
    Option(("--log", "--log-file", "--local-log"), "PATH", "append pip's verbose log to PATH"),
    Option(("--report",), "PATH", "write pip's JSON installation report to PATH"),
    Option(("--exists-action",), "ACTION", "what pip does when a path exists (s, i, w, b, a)"),
    Option(("--use-feature",), "FEATURE", "turn on an experimental pip feature", "list"),
    Option(("--use-deprecated",), "FEATURE", "keep a deprecated pip behaviour", "list"),
    Option(("-U", "--upgrade"), None, "upgrade what is installed to the versions asked for"),
    Option(("--force-reinstall",), None, "reinstall even what is already up to date"),
    Option(("-I", "--ignore-installed"), None, "install over what is installed, ignoring it"),
    Option(("--ignore-requires-python",), None, "have pip ignore Requires-Python"),
    Option(("--use-pep517",), None, "build sdists through PEP 517 (peep always does)"),
    Option(("--check-build-dependencies",), None, "have pip check build dependencies"),
    Option(("--break-system-packages",), None, "let pip change an externally managed Python"),
    Option(("--user",), None, "install into your user site-packages"),
    Option(("--no-compile",), None, "byte-compile nothing", "inverted"),
    Option(("--compile",), None, "byte-compile what is installed (the default)"),
    Option(("--no-warn-script-location",), None,
        "no warning for scripts installed outside PATH", "inverted"),
    Option(("--no-warn-conflicts",), None, "no warning about broken dependencies", "inverted"),
    Option(("--no-clean",), None, "keep pip's temporary build directories"),
    Option(("--require-virtualenv", "--require-venv"), None,
        "have pip refuse to run outside a virtual environment"),
    Option(("--isolated",), None, "ignore PIP_* variables and the user's pip configuration"),
    Option(("--no-color",), None, "no colours in pip's output"),
    Option(("--no-input",), None, "have pip never prompt"),
    Option(("--disable-pip-version-check",), None, "have pip not check for a newer pip"),
    Option(("--debug",), None, "let pip's unhandled exceptions propagate"),
    Option(("--dry-run",), None, "verify everything, then have pip install nothing"),
    Option(("-q", "--quiet"), None, "less output, peep's and pip's (repeatable)", "count"),
    Option(("-v", "--verbose"), None, "more output, peep's and pip's (repeatable)", "count"),
    # Refused wherever they are set.
    Option(("--no-build-isolation",), None, "", "inverted", "it lets a build import "
        "whatever is installed; peep builds every sdist in an environment of verified wheels only"),
    Option(("--no-use-pep517",), None, "", "inverted", "it makes pip run setup.py itself, "
        "and setuptools then fetches setup_requires on its own; peep builds every sdist through "
        "PEP 517"),
    Option(("--global-option",), "OPTION", "", "list", _SETUP_PY_OPTIONS),
    Option(("--build-option",), "OPTION", "", "list", _SETUP_PY_OPTIONS),
    Option(("--platform",), "PLATFORM", "", "list", _OTHER_PYTHON),
    Option(("--python-version",), "VERSION", "", refused=_OTHER_PYTHON),
    Option(("--implementation",), "IMPL", "", refused=_OTHER_PYTHON),
    Option(("--abi",), "ABI", "", "list", _OTHER_PYTHON),
    Option(("--python",), "PYTHON", "", refused="run peep with that Python instead"),
    Option(("--keyring-provider",), "PROVIDER", "", refused="peep asks no keyring for "
        "credentials; give them in a .netrc file or as ${VARIABLES} in the index URL"),
    # Read by peep itself; on its command line they are peep's own options.
    Option(("-r", "--requirement"), "FILE", "", "peep"),
    Option(("-c", "--constraint"), "FILE", "", "peep"),
    Option(("--build-constraint",), "FILE", "", "peep"),
    Option(("--no-deps", "--no-dependencies"), None, "", "peep"),  # always on
    Option(("--require-hashes",), None, "", "peep"),  # always on
    Option(("--resume-retries",), "N", "", "peep"),  # peep downloads, pip does not
    Option(("-e", "--editable"), "PATH|URL", "", "peep",
        "an editable install is a live checkout with no archive to hash"),
    Option(("--group",), "GROUP", "", "peep", "peep reads dependency groups from lock "
        "files only, named with --group on its command line"),
)  # fmt: skip
# By every long flag: pip reads a configuration key as the flag of that name ("log-file": --log).
_PIP_OPTION_NAMED = {key: option for option in PIP_OPTIONS for key in option.config}


def add_lock_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options that choose what to take from a PEP 751 lock file."""
    parser.add_argument("--extra", action="append", default=[], dest="lock_extras",
                        metavar="EXTRA", help="from a lock file, also take what extra EXTRA needs")
    parser.add_argument("--group", action="append", default=None, dest="lock_groups",
                        metavar="GROUP", help="from a lock file, take dependency group GROUP "
                        "(instead of its default groups)")


def add_finder_arguments(parser: argparse.ArgumentParser) -> None:
    """Add peep's finder and network options (as ``peep install`` takes them)."""
    group = parser.add_argument_group(
        "finder and network options (peep's own: pip never reaches an index)")
    parser.set_defaults(finder_options=(), network_options=(), pip_options=(), pip_config=None)
    for option in FINDER_OPTIONS:
        into = ("network_options",) if option.network else ("finder_options",)
        group.add_argument(*option.flags, action=_Collect, dest=option.name, metavar=option.metavar,
                           const=into + (("pip_options",) if option.also_pip else ()), default=None,
                           nargs=None if option.metavar else 0, help=option.help)


def install_argument_parser() -> argparse.ArgumentParser:
    """Build the parser for ``peep install``'s command line."""
    parser = _ArgumentParser(
        prog="peep install",
        description="Download every requirement, verify it against the hashes in your "
        "requirements files, and install them all with one pip run, or install nothing.",
        epilog="Other pip install options (--target, --prefix, --user, --upgrade, -q, -v, ...) "
        "are passed to pip. Finder options are peep's: pip itself never reaches an index.",
    )
    parser.add_argument("requirements", nargs="*", metavar="REQUIREMENT",
                        help="a requirement to install, written as in a requirements file")
    parser.add_argument("-r", "--requirement", action="append", default=[], dest="files",
                        metavar="FILE", help="a requirements file or PEP 751 lock file "
                        "(repeatable)")
    parser.add_argument("-c", "--constraint", action="append", default=[], dest="constraints",
                        metavar="FILE", help="a constraints file (repeatable)")
    parser.add_argument("-e", "--editable", action="append", default=[], dest="editables",
                        metavar="PATH|URL", help="refused: an editable install has no archive "
                        "to hash")
    parser.add_argument("--require-hashes", action="store_true", help="always on in peep")
    parser.add_argument("--no-deps", "--no-dependencies", action="store_true",
                        help="always on in peep")
    parser.add_argument("--resume-retries", metavar="N", help="no effect: pip downloads nothing "
                        "(peep's own downloads take --retries)")
    parser.add_argument("--allow-omitted", action="store_true", help="warn, instead of "
                        "failing, when a dependency is missing from the requirements")
    parser.add_argument("--keep-failed", metavar="DIR", help="keep archives that fail "
                        "verification in DIR, each with a note of what happened")
    parser.add_argument("--build-network", choices=("closed", "none"), default="closed",
                        help="closed (default): builds get no index, no pip configuration and "
                        "proxies that lead nowhere; none: also run build code in a network "
                        "namespace with no interfaces (Linux)")
    parser.add_argument("--build-constraint", action="append", default=[],
                        dest="build_constraints", metavar="FILE", help="hashed pins for "
                        "builds only, never installed (repeatable)")
    add_lock_arguments(parser)
    add_finder_arguments(parser)
    group = parser.add_argument_group("pip install options (given to pip as written)")
    parser.set_defaults(refused=())
    for option in [option for option in PIP_OPTIONS if option.how != "peep"]:  # peep's: above
        group.add_argument(*option.flags, action=_Collect, metavar=option.metavar, dest=option.name,
                           const=("refused",) if option.refused else ("pip_options",), default=None,
                           nargs=None if option.metavar else 0,
                           help=argparse.SUPPRESS if option.refused else option.help)
    return parser


@dataclass(frozen=True)
class InstallOptions:
    """``peep install``'s command line, sorted into peep's part and pip's."""

    files: Tuple[str, ...]
    constraints: Tuple[str, ...]
    requirements: Tuple[Requirement, ...]  # given as arguments
    finder_options: Tuple[Tuple[str, Union[str, bool]], ...]
    pip_options: Tuple[str, ...]
    network_options: Tuple[Tuple[str, Union[str, bool]], ...] = ()
    allow_omitted: bool = False
    keep_failed: Optional[str] = None
    build_network: str = "closed"
    lock_extras: Tuple[str, ...] = ()
    lock_groups: Optional[Tuple[str, ...]] = None  # None: the lock's default groups
    build_constraints: Tuple[str, ...] = ()  # hashed pins for builds only
    isolated: bool = False  # --isolated on the command line: the user's pip files and PIP_* unread
    pip_config: Optional[Mapping[str, str]] = field(default=None, compare=False)  # pip's, if read

    def pip_values(self, *flags: str) -> List[str]:
        """Return the values given to one of pip's options, in order."""
        words = self.pip_options
        return [words[index + 1] for index, word in enumerate(words[:-1]) if word in flags]

    def config_settings(self) -> List[Tuple[str, str]]:
        """Return the -C KEY=VALUE settings given on the command line, for every build."""
        pairs = (value.partition("=") for value in self.pip_values("-C", "--config-settings"))
        return [(key, value) for key, _, value in pairs]

    def pip_value(self, *flags: str) -> Optional[str]:
        """Return the last value given to one of pip's options, if any."""
        return next(reversed(self.pip_values(*flags)), None)

    def pip_flag(self, *flags: str) -> bool:
        """Tell whether one of pip's flags was given."""
        return any(word in flags for word in self.pip_options)

    def verbosity(self) -> int:
        """Return -1 for quiet, 0 by default, 1 and up for verbose."""
        quiet = sum(word in ("-q", "--quiet") for word in self.pip_options)
        return sum(word in ("-v", "--verbose") for word in self.pip_options) - quiet


def parse_install_arguments(argv: Sequence[str],
                            environ: Optional[Mapping[str, str]] = None) -> InstallOptions:
    """Split ``peep install``'s arguments into peep's and pip's, atop pip's ``environ`` settings."""
    args = install_argument_parser().parse_args(list(argv))
    for name, _ in args.refused:
        option = _PIP_OPTION_NAMED[name]
        raise UsageError(f"peep install: {option.flags[-1]} is not supported: {option.refused}")
    requirements = [parse_requirement(text, COMMAND_LINE) for text in args.requirements]
    requirements += [Requirement(text=f"-e {value}", origin=COMMAND_LINE, url=value,
                                 unsupported=_PIP_OPTION_NAMED["editable"].refused)
                     for value in args.editables]  # fmt: skip
    options = InstallOptions(
        files=tuple(args.files), constraints=tuple(args.constraints),
        requirements=tuple(requirements), finder_options=tuple(args.finder_options),
        pip_options=tuple(args.pip_options), network_options=tuple(args.network_options),
        allow_omitted=args.allow_omitted, keep_failed=args.keep_failed,
        build_network=args.build_network, lock_extras=tuple(args.lock_extras),
        lock_groups=None if args.lock_groups is None else tuple(args.lock_groups),
        build_constraints=tuple(args.build_constraints),
        isolated="--isolated" in args.pip_options,  # pip too decides it from argv alone
    )
    if environ is not None:
        options = with_pip_configuration(options, environ)
    if not (options.files or options.requirements):
        raise UsageError("peep install: name a requirements file with -r (and hashes in it)\n"
                         + install_argument_parser().format_usage().rstrip())  # fmt: skip
    return options


def with_pip_configuration(options: InstallOptions, environ: Mapping[str, str]) -> InstallOptions:
    """Return ``options`` with pip's install settings from its files and PIP_* beneath them.
    The command line comes last: it wins wherever pip's last word wins; lists add up, as in pip."""
    items = pip_configuration_items(environ, isolated=options.isolated)
    config = {key: value for key, (value, _) in items.items()}  # kept for settle_settings
    rows = _PIP_OPTION_NAMED
    chosen = {rows[key].name: (rows[key], value, items[f"{section}.{key}"][1])  # the last wins
              for section, key, value in in_pip_order(config) if key in rows}
    words: List[str] = []
    for option, value, where in chosen.values():
        if option.refused:
            raise UsageError(f"peep install: {where} ({option.flags[-1]}) is not supported: "
                             f"{option.refused}")
        if option.how != "peep":  # peep's own: files (below), or always on or moot (--no-deps)
            words += _configured_words(option, value, where)
    files = {key: tuple(value.split()) for key, (_, value, _) in chosen.items()}
    return replace(options, files=files.get("requirement", ()) + options.files,
                   constraints=files.get("constraint", ()) + options.constraints,
                   build_constraints=files.get("build-constraint", ()) + options.build_constraints,
                   pip_options=tuple(words) + options.pip_options, pip_config=config)


def _configured_words(option: Option, value: str, where: str) -> List[str]:
    """Return the words that give pip a setting from its configuration."""
    flag = "--" + option.name
    if option.how == "value":
        return [flag, value]
    if option.how == "list":
        return [word for item in value.split() for word in (flag, item)]
    if option.how == "count":  # yes/no or a number, as pip reads it
        if re.fullmatch("[0-9]+", value.strip()):  # ASCII, as int() reads ("²".isdigit() is True)
            return [flag] * min(int(value.strip().lstrip("0")[:2] or "0"), 3)  # pip has 3 levels
        return [flag] if _config_bool(value, where, "a number") else []
    enabled = _config_bool(value, f"{flag} in {where}")
    if option.how == "inverted" and enabled:  # pip reads PIP_NO_X's yes/no as X's
        positive = _PIP_OPTION_NAMED.get(option.name[len("no-"):])
        return ["--" + positive.name] if positive else []
    return [flag] if enabled or option.how == "inverted" else []


def settle_settings(args: Union[argparse.Namespace, InstallOptions], environ: Mapping[str, str],
                    *, isolated: bool = False) -> Tuple[FinderSettings, NetworkSettings]:
    """Settle finder and network settings: pip's files, PIP_*, then the command line."""
    config = args.pip_config  # read once: with an install's command line if it was
    if config is None:
        config = load_pip_configuration(environ, isolated=isolated)
    finder, network = settings_from_configuration(config, environ)
    for name, value in args.finder_options:
        finder = finder.with_option(name, value, "the command line")
    for name, value in args.network_options:
        key = _FINDER_OPTION_NAMED[name].setting
        read, what = _NETWORK_VALUES.get(key, (str, ""))  # a proxy: as written
        try:
            setting: Any = None if name == "no-cache-dir" else read(str(value))
        except ValueError as exc:
            raise UsageError(f"peep: --{name} {value!r} is not {what}") from exc
        network = replace(network, **{key: setting})
    return finder, network


# --- Finding ------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """One archive an index or find-links location offers."""

    filename: str
    url: str
    name: str  # canonical
    version: Version
    is_wheel: bool
    tags: FrozenSet[Tag] = frozenset()
    build: Tuple[object, ...] = ()
    advertised: Tuple[Tuple[str, str], ...] = ()  # (algorithm, hex) the index claims
    requires_python: Optional[str] = None
    yanked: Optional[str] = None  # None: not yanked; else the reason ("" if none given)
    page: str = ""  # the index or find-links location that listed it
    upload_time: Optional[str] = None  # as the index says it (kept with a cached file)

    def advertised_hashes(self) -> Dict[str, str]:
        """Return the digests the index claims, by algorithm (never trusted alone)."""
        return dict(self.advertised)


@dataclass(frozen=True)
class Link:
    """A link found on an index page or a find-links page."""

    url: str
    requires_python: Optional[str] = None
    yanked: Optional[str] = None
    hashes: Tuple[Tuple[str, str], ...] = ()
    upload_time: Optional[str] = None  # PEP 700's, as a PEP 691 page gives it


# Index pages are scanned here, not by html.parser, which is quadratic on malformed pages and
# raises AssertionError on some: each character is looked at a bounded number of times. Only
# start tags matter, and whole comments (an unclosed one runs to the end), where no link is
# found; a tag's attributes run to its ">" or a quote left open, quoted values kept whole.
_START_TAG_RE = re.compile(r"""<!--.*?(?:-->|\Z)|<([A-Za-z][^\s/>]*)"""
                           r"""([^>"']*(?:(?:"[^"]*"|'[^']*')[^>"']*)*)""", re.DOTALL)
_ATTRIBUTE_RE = re.compile(r"""([^\s/>="']+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]*))?""")


def _start_tags(page: str) -> Iterator[Tuple[str, Dict[str, str]]]:
    """Yield each start tag's lower-cased name and attributes, in one pass."""
    from html import unescape
    for tag in _START_TAG_RE.finditer(page):
        if tag.end() >= len(page):
            return  # an unclosed comment or tag hides the rest, as in a browser
        if tag[1] is None:
            continue  # a comment
        attributes = {}
        for name, value in _ATTRIBUTE_RE.findall(tag[2]):  # no value: ""
            quoted = value[:1] in ("'", '"')
            attributes[name.lower()] = unescape(value[1:-1] if quoted else value)
        yield tag[1].lower(), attributes


def _link_url(href: str, base: str, page_url: str, wanted: Callable[[str], bool]) -> Optional[str]:
    """Return the absolute URL of a wanted link the page may send peep to, else None: a remote
    page only http(s) ones (never file:, javascript:, data: ...), a local page local files too."""
    import urllib.parse
    try:
        if not href or not wanted(url_filename(href)):
            return None
        url = urllib.parse.urljoin(base, href)
        scheme = urllib.parse.urlsplit(url).scheme.lower()
    except ValueError:  # "Invalid IPv6 URL": a link no one can follow
        return None
    remote = urllib.parse.urlsplit(page_url).scheme.lower() in ("http", "https")
    return url if scheme in ("http", "https") or (scheme == "file" and not remote) else None


def parse_html_links(html: str, page_url: str,
                     wanted: Callable[[str], bool] = lambda filename: True) -> List[Link]:
    """Return the links of a PEP 503 HTML page (or a plain directory listing)."""
    import urllib.parse
    # Two scans, never a list of every tag: a page of "<a>" would take 60 times its size.
    base_href = next((attrs.get("href") for tag, attrs in _start_tags(html) if tag == "base"), None)
    try:
        base = urllib.parse.urljoin(page_url, base_href) if base_href else page_url
    except ValueError:  # "Invalid IPv6 URL": relative links lead nowhere, absolute ones stay
        base = ""
    links = []
    for anchor in (attrs for tag, attrs in _start_tags(html) if tag == "a"):
        url = _link_url(anchor.get("href", ""), base, page_url, wanted)
        if url is not None:
            # Claims only order the choice and the bytes are always hashed: a malformed
            # digest stays a claim no bytes match, and does not erase the link's others.
            claims = tuple((k, v.lower()) for k, v in _URL_FIELD_RE.findall(url)
                           if k in HASH_ALGORITHMS)  # fmt: skip
            links.append(Link(url, anchor.get("data-requires-python") or None,
                              anchor.get("data-yanked"), claims))
    return links


def parse_json_links(data: bytes, page_url: str,
                     wanted: Callable[[str], bool] = lambda filename: True) -> List[Link]:
    """Return the links of a PEP 691 JSON project page."""
    import json
    try:
        decoded = data.decode(json.detect_encoding(data))  # as json.loads reads bytes: UTF-16 too
        check_nesting(decoded)  # the text json reads: a UTF-8 view of UTF-16 could hide brackets
        files = json.loads(decoded)["files"]
    except (ValueError, KeyError, TypeError) as exc:
        raise PeepError(f"{redact_url(page_url)} is not a valid PEP 691 page ({exc})") from exc
    links = []
    for entry in files if isinstance(files, list) else []:
        if not isinstance(entry, dict):
            continue
        text = {key: value for key, value in entry.items() if isinstance(value, str)}
        url = _link_url(text.get("url", ""), page_url, page_url, wanted)
        if url is None:
            continue
        hashes = entry["hashes"] if isinstance(entry.get("hashes"), dict) else {}
        claims = tuple((name, str(digest).lower()) for name, digest in sorted(hashes.items())
                       if name in HASH_ALGORITHMS)  # fmt: skip
        yanked = entry.get("yanked", False)
        reason = (yanked if isinstance(yanked, str) else "") if yanked else None
        links.append(Link(url, text.get("requires-python"), reason, claims,
                          text.get("upload-time")))
    return links


def candidate_from_link(link: Link, project: str, page: str = "") -> Optional[Candidate]:
    """Make a Candidate of a link to one of ``project``'s archives (on ``page``), else None."""
    filename = url_filename(link.url)
    key = canonicalize_name(project)
    parsed = parse_archive_name(filename, key)
    if parsed is None or parsed.name != key:
        return None
    return Candidate(filename=filename, url=link.url, name=key, version=parsed.version,
                     is_wheel=parsed.is_wheel, tags=parsed.tags, build=parsed.build,
                     advertised=link.hashes, requires_python=link.requires_python,
                     yanked=link.yanked, page=page, upload_time=link.upload_time)


def false_claims(candidate: Candidate, digests: Mapping[str, str]) -> List[str]:
    """Return a warning (no failure) for each digest advertised for ``candidate`` not its own."""
    advertised = candidate.advertised_hashes()
    return [printable(f"peep: warning: {candidate.page} advertises {algorithm} "
                      f"{advertised[algorithm]} for {candidate.filename}, but the bytes sent "
                      f"hash to {digests[algorithm]}")
            for algorithm in sorted(set(advertised) & set(digests))
            if advertised[algorithm] != digests[algorithm]]


@dataclass(frozen=True)
class Environment:
    """What the installing interpreter can use: its version and wheel tags."""

    python_version: str
    tags: Tuple[Tag, ...]

    @classmethod
    def current(cls) -> Environment:
        """Describe the interpreter running peep (the one pip will run under)."""
        return cls(".".join(str(part) for part in sys.version_info[:3]), tuple(sys_tags()))

    def tag_rank(self, tags: Iterable[Tag]) -> Optional[int]:
        """Return the best (lowest) rank among ``tags``, None if none is supported."""
        return min((self._ranks[tag] for tag in tags if tag in self._ranks), default=None)

    @functools.cached_property
    def _ranks(self) -> Dict[Tag, int]:
        return {tag: rank for rank, tag in reversed(list(enumerate(self.tags)))}  # the first wins


@dataclass(frozen=True)
class Rejection:
    """Why the files found for a requirement could not be used, for the report."""

    reasons: Tuple[str, ...]


def choose_candidates(requirement: Requirement, candidates: Iterable[Candidate],
                      settings: FinderSettings,
                      environment: Environment) -> Union[List[Candidate], Rejection]:
    """Return the usable files for ``requirement``, best first, or why there are none. One whose
    advertised hash is vouched for comes first: a wheel added later must not displace it."""
    mine = [c for c in candidates if c.name == requirement.key]
    versions = set(requirement.specifier.filter(
        {c.version for c in mine}, prereleases=settings.allows_prereleases(requirement.key)))
    allowed = settings.allowed_formats(requirement.key)
    pinned = requirement.pinned_version() is not None
    ranked = [(c, _rank_or_rejection(c, versions, allowed, pinned, environment)) for c in mine]
    usable = [(candidate, rank) for candidate, rank in ranked if isinstance(rank, int)]
    if not usable:  # counted in one pass: a page may give every file a reason of its own
        rejected = sorted(reason for _, reason in ranked if isinstance(reason, str))
        counts = (f"{len(list(same))} {reason}" for reason, same in itertools.groupby(rejected))
        return Rejection(tuple(counts) or ("no files at all",))

    def preference(item: Tuple[Candidate, int]) -> Tuple[object, ...]:
        candidate, rank = item
        vouched = requirement.hashes.matches(candidate.advertised_hashes())
        return (vouched, settings.prefer_binary and candidate.is_wheel, candidate.version,
                candidate.is_wheel, -rank, candidate.build)  # fmt: skip

    return [candidate for candidate, _ in sorted(usable, key=preference, reverse=True)]


def _rank_or_rejection(candidate: Candidate, versions: Set[Version], allowed: FrozenSet[str],
                       pinned: bool, environment: Environment) -> Union[int, str]:
    """Return a file's tag rank (0 for an sdist), or why it cannot be used."""
    if candidate.version not in versions:
        return "version not wanted"
    if candidate.yanked is not None and not pinned:
        return "yanked"
    if not _requires_python_allows(candidate.requires_python, environment.python_version):
        return f"needs Python {candidate.requires_python}"
    if ("binary" if candidate.is_wheel else "source") not in allowed:
        return "wheel, and --no-binary" if candidate.is_wheel else "sdist, and --only-binary"
    rank = environment.tag_rank(candidate.tags) if candidate.is_wheel else 0
    return "wheel for another platform or Python" if rank is None else rank


@functools.lru_cache(maxsize=1024)
def _requires_python_allows(requires_python: Optional[str], python_version: str) -> bool:
    if not requires_python:
        return True
    try:
        return SpecifierSet(requires_python).contains(python_version, prereleases=True)
    except InvalidSpecifier:
        return True  # pip ignores a malformed Requires-Python too


def read_links(transport: Transport, url: str, *, is_index_page: bool,
               wanted: Callable[[str], bool] = lambda filename: True) -> List[Link]:
    """Return the links at an index page, a find-links page, or a local directory."""
    import urllib.parse
    import zlib
    if urllib.parse.urlsplit(url).scheme == "file" or not _is_url(url):
        path = _file_url_path(url) if _is_url(url) else url
        index_html = os.path.join(path, "index.html")
        if is_index_page and os.path.isfile(index_html):
            path = index_html
        elif os.path.isdir(path):
            names = [name for name in sorted(os.listdir(path)) if wanted(name)]
            return [Link(_path_to_url(os.path.join(path, name))) for name in names]
        if not os.path.exists(path):
            return []  # pip ignores a missing local location too
        url = _path_to_url(path)
    with transport.open(url, wanted=INDEX_ACCEPT if is_index_page else "text/html") as response:
        data = _read_capped(response, MAX_PAGE_BYTES, url)
        final_url = getattr(response, "url", url) or url
        headers = getattr(response, "headers", None) or {}  # a local file has none
    if "gzip" in headers.get("Content-Encoding", "").lower():
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:  # never past the cap: no gzip bombs
            data = decompressor.decompress(data, MAX_PAGE_BYTES + 1)
        except zlib.error as exc:
            message = f"{redact_url(url)}: gzip body that does not decompress ({exc})"
            raise FetchError(message) from exc
        if len(data) > MAX_PAGE_BYTES or decompressor.unconsumed_tail:
            raise FetchError(f"{redact_url(url)} decompresses to more than {MAX_PAGE_BYTES} bytes")
    if "application/vnd.pypi.simple.v1+json" in headers.get("Content-Type", ""):
        return parse_json_links(data, final_url, wanted)
    return parse_html_links(data.decode("utf-8", "replace"), final_url, wanted)


def find_candidates(transport: Transport, requirement: Requirement, settings: FinderSettings
                    ) -> Tuple[List[Candidate], List[str], int]:  # fmt: skip
    """Return ``requirement``'s files on every index and find-links location, the places looked
    in, and how many files were passed over for their version."""
    import urllib.parse
    candidates: List[Candidate] = []
    wanted = _MayMatch(requirement)
    sources = [(urllib.parse.urljoin(url.rstrip("/") + "/", f"{requirement.key}/"), True)
               for url in settings.index_urls(transport.default_index)]  # fmt: skip
    sources += [(location, False) for location in settings.find_links]
    for url, is_index_page in sources:
        try:
            links = read_links(transport, url, is_index_page=is_index_page, wanted=wanted)
        except FetchError as exc:
            if is_index_page and getattr(exc.__cause__, "code", None) == 404:
                continue  # the index does not have the project: not an error
            raise
        local = not _is_url(url) or url.lower().startswith("file:")
        if settings.uploaded_prior_to is not None and is_index_page and not local:
            links = uploaded_before(links, settings.uploaded_prior_to, url)
        found = (candidate_from_link(link, requirement.key, url) for link in links)
        candidates += [candidate for candidate in found if candidate is not None]
    return candidates, [redact_url(url) for url, _ in sources], wanted.skipped


def uploaded_before(links: Sequence[Link], cutoff: float, page_url: str) -> List[Link]:
    """Keep the links an index says were uploaded before ``cutoff`` (--uploaded-prior-to). No
    upload time (as on HTML pages) is an error, not a guess: the option keeps fresh uploads out."""
    kept = []
    for link in links:
        moment = iso_moment(link.upload_time, utc=True)  # PEP 700's times are UTC, never local
        if moment is None:
            raise PeepError(f"{redact_url(page_url)} gives no upload time for "
                            f"{url_filename(link.url)!r}, so --uploaded-prior-to cannot be "
                            "applied (it needs an index that serves PEP 691 JSON pages with "
                            "PEP 700 upload-time)")
        if moment < cutoff:
            kept.append(link)
    return kept


@functools.lru_cache(maxsize=4096)
def _parse_version(text: str) -> Optional[Version]:
    try:
        return Version(text)
    except ValueError:  # InvalidVersion, or int() refusing a part of over 4,300 digits
        return None


class _MayMatch:
    """A cheap test of whether a file name could satisfy a requirement, counting the misses:
    large projects list thousands of files, and excluded versions' links are never parsed."""

    def __init__(self, requirement: Requirement) -> None:
        self.requirement = requirement
        self.skipped = 0
        self._contains = functools.cache(requirement.specifier.contains)  # by version

    def __call__(self, filename: str) -> bool:
        key, (name, _, rest) = self.requirement.key, filename.partition("-")
        if filename.endswith(WHEEL_EXTENSION) and canonicalize_name(name) == key:
            version = _parse_version(rest.partition("-")[0])  # its tags are read only if wanted
        else:
            parsed = parse_archive_name(filename, key)
            version = parsed.version if parsed is not None and parsed.name == key else None
        if version is None:
            return is_archive_name(filename)  # let the full parse decide
        wanted = self._contains(version, prereleases=True)
        self.skipped += not wanted
        return wanted


# --- The verified cache [trust] -----------------------------------------------


class ArchiveCache:
    """Archives stored under their SHA-256: verified ones, and those fetched only to suggest a
    hash to paste. One is served only to a requirement that vouches for its hash, re-hashed on
    every use, and accept() then takes it or not, as it would a download.
    Layout: ``ROOT/peep-archives/sha256/AB/ABCD.../FILENAME`` with ``meta.json`` beside it;
    ``sha384/HEX`` and ``sha512/HEX`` hold the sha256 of archives known by those digests.
    Entries are renamed into place, so no reader sees half a file. Below ROOT (the user's
    choice, maybe a link) a directory or file that is not a real one is ignored with a warning,
    never read or written through. A cache that cannot be written degrades to none, warning once."""

    def __init__(self, root: Optional[str], warn: Callable[[str], None]) -> None:
        import threading
        self.root = root
        self.base = os.path.join(root, "peep-archives") if root else None
        self.warn = warn
        self._ignored: Set[str] = set()
        self._lock = threading.Lock()

    def _directory(self, *names: str, create: bool) -> Optional[str]:
        """Return ``base/names...`` if every name is one peep gives and every step below ROOT is a
        real directory (lstat), else None; ``create`` makes missing ones (mkdir follows no link)."""
        import contextlib
        if self.base is None or self.root is None or not all(map(_CACHE_NAME_RE.match, names)):
            return None
        if create:
            os.makedirs(self.root, exist_ok=True)
        path = self.root
        for name in ("peep-archives",) + names:
            path = os.path.join(path, name)
            try:
                mode = os.lstat(path).st_mode
            except FileNotFoundError:
                if not create:
                    return None
                with contextlib.suppress(FileExistsError):  # made by a concurrent run, or planted
                    os.mkdir(path)
                mode = os.lstat(path).st_mode
            if not stat.S_ISDIR(mode):
                self._ignore(path, "not a real directory")
                return None
        return path

    def _entry_dir(self, sha256: str, *, create: bool = False) -> Optional[str]:
        if not _SHA256_RE.match(sha256):
            return None  # a forged alias must not name a path
        return self._directory("sha256", sha256[:2], sha256, create=create)

    def _ignore(self, path: str, why: str) -> None:
        with self._lock:
            if path in self._ignored:
                return
            self._ignored.add(path)
        self.warn(f"peep: warning: ignoring {path} in the cache: {why} (a planted link?)")

    def open_file(self, path: str) -> Optional[IO[bytes]]:
        """Open a cache file for reading if it is a regular file, never through a link."""
        try:
            if stat.S_ISREG(os.lstat(path).st_mode):
                return open_regular_file(path, follow=False)  # O_NOFOLLOW and fstat close the gap
        except FileNotFoundError:
            return None
        except NotRegularFile:
            pass  # replaced since the lstat: said below
        except OSError as exc:
            self._ignore(path, f"cannot be opened safely ({exc.strerror or exc})")
            return None
        self._ignore(path, "not a regular file")
        return None

    def lookup(self, hashes: Hashes) -> List[Tuple[str, str, Dict[str, object]]]:
        """Return (sha256, path, metadata) of cached archives ``hashes`` allows."""
        import json
        named = [self._read_entry(algorithm, digest).strip()
                 for algorithm in ("sha384", "sha512") for digest in hashes.allowed(algorithm)]
        # A forged alias names no other path.
        wanted = set(hashes.sha256) | {sha256 for sha256 in named if _SHA256_RE.match(sha256)}
        found = []
        for sha256 in sorted(wanted):
            try:
                meta = json.loads(self._read_entry("sha256", sha256[:2], sha256, "meta.json"))
                directory = self._entry_dir(sha256)
                if directory is None:
                    continue  # a link took the entry's place since meta.json was read
                path = os.path.join(directory, safe_filename(str(meta["filename"])))
            except (OSError, ValueError, KeyError, TypeError, FetchError):
                continue
            stream = self.open_file(path)
            if stream is not None:
                stream.close()
                found.append((sha256, path, meta))
        return found

    def _read_entry(self, *names: str) -> str:
        """Return the text of the small file ``base/names...``, if it is a safe one, else ""."""
        *directories, filename = names
        named = filename == "meta.json" or _CACHE_NAME_RE.match(filename)
        try:
            directory = self._directory(*directories, create=False) if named else None
        except OSError:
            return ""
        stream = None if directory is None else self.open_file(os.path.join(directory, filename))
        if stream is None:
            return ""
        with stream:
            return stream.read(MAX_CACHE_META_BYTES).decode("utf-8", "replace")

    def store(self, path: str, filename: str, digests: Mapping[str, str],
              meta: Dict[str, object]) -> None:
        """Copy a verified archive into the cache, atomically; never raise."""
        import json
        sha256 = digests["sha256"]
        put = functools.partial(write_file_safely, mode=0o600, replace_link=True)
        try:
            directory = self._entry_dir(sha256, create=True)
            if directory is None:  # no cache, or not a real directory
                return
            final = os.path.join(directory, filename)
            kept = self.open_file(final)  # a regular file is kept; anything else is replaced
            if kept is None:
                with open(path, "rb") as source:
                    put(final, source)
            else:
                kept.close()
            meta_text = json.dumps(dict(meta, filename=filename))
            put(os.path.join(directory, "meta.json"), meta_text.encode())
            for algorithm in ("sha384", "sha512"):
                digest = digests.get(algorithm, "")
                named = _CACHE_NAME_RE.match(digest)
                aliases = self._directory(algorithm, create=True) if named else None
                if aliases is not None:
                    put(os.path.join(aliases, digest), sha256.encode())
        except OSError as exc:
            with self._lock:  # warn once, however many threads fail
                if self.base is not None:
                    self.warn(f"peep: warning: cannot write to the cache at {self.base} "
                              f"({exc.strerror or exc}); continuing without a cache")
                self.base = None

    def discard(self, sha256: str) -> None:
        """Remove an entry whose bytes no longer match its name (one it cannot look at stays:
        every use hashes it again)."""
        import shutil
        try:
            directory = self._entry_dir(sha256)
        except OSError:
            return
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)  # rmtree does not follow links within


# The names peep gives below peep-archives: algorithms, two-digit prefixes,
# hex digests. A name read from the cache is used only if it is one.
_CACHE_NAME_RE = re.compile(
    r"(sha256|sha384|sha512|[0-9a-f]{2}|[0-9a-f]{64}|[0-9a-f]{96}|[0-9a-f]{128})\Z")
_SHA256_RE = re.compile(r"[0-9a-f]{64}\Z")
MAX_CACHE_META_BYTES = 64 * 1024


# --- Progress -----------------------------------------------------------------


class Progress:
    """Report downloads: a live line on a terminal, one line per file elsewhere, or nothing."""

    def __init__(self, stream: IO[str], *, quiet: bool = False) -> None:
        import threading
        self.stream = stream
        self.quiet = quiet
        self.live = stream.isatty() and not quiet
        self.total = self.done = self.bytes = 0
        self.started = time.monotonic()
        self._drawn = 0.0
        self._lock = threading.Lock()

    def begin(self, total: int) -> None:
        """Start counting ``total`` more files."""
        with self._lock:
            self.total += total

    def advance(self, count: int) -> None:
        """Count bytes received; redraw the live line now and then."""
        with self._lock:
            self.bytes += count
            if self.live and time.monotonic() - self._drawn > 0.1:
                self._draw()

    def file_done(self, filename: str, size: int, source: str) -> None:
        """Count one file fetched (``source``: "downloaded" or "cached")."""
        with self._lock:
            self.done += 1
            if self.live:
                self._draw()
            elif not self.quiet:
                print(f"peep: {source} {printable(filename)} ({_human_bytes(size)}) "
                      f"[{self.done}/{self.total}]", file=self.stream, flush=True)

    def close(self) -> None:
        """End the live line, if there is one."""
        with self._lock:
            if self.live and self._drawn:
                self._draw(end="\n")

    def _draw(self, end: str = "") -> None:
        rate = self.bytes / max(time.monotonic() - self.started, 1e-6)
        print(f"\r\x1b[Kpeep: {self.done}/{self.total} files, {_human_bytes(self.bytes)} at "
              f"{_human_bytes(int(rate))}/s", end=end, file=self.stream, flush=True)
        self._drawn = time.monotonic()


def _human_bytes(count: int) -> str:
    size, units = count / 1000, ["kB", "MB", "GB"]
    while size >= 1000 and len(units) > 1:
        size, units = size / 1000, units[1:]
    return f"{count} bytes" if count < 1000 else f"{size:.1f} {units[0]}"


# --- Reading archives [trust] -------------------------------------------------
#
# A verified archive is read once, strictly, before anything else looks at it, and the same
# reading is what peep later extracts for a build. An archive that two tools could read
# differently (a second member of the same name, a path that leaves the archive, a link out,
# bytes that are also another archive format) is refused rather than guessed at: pip, a build
# backend and peep must all see one and the same tree. A wheel pip's installer would stop at
# half way is refused here too, before pip runs.

MAX_METADATA_BYTES = 1 << 20  # pyproject.toml, PKG-INFO, METADATA, WHEEL, entry_points.txt
MAX_RECORD_BYTES = 64 << 20  # a RECORD: one row for each of a wheel's files
MAX_MEMBERS = 500_000  # the largest wheels hold some 100,000 files
MAX_UNPACKED_BYTES = 16 << 30  # what an archive's members add up to, as it declares them
MAX_TAR_HEADER_BYTES = 8 << 10  # a tar's long name or pax header: a path of 4,096 bytes, twice
TAR_MODES = ((".tar.gz", "r:gz"), (".tgz", "r:gz"), (".tar.bz2", "r:bz2"), (".tbz", "r:bz2"),
             (".tar.xz", "r:xz"), (".txz", "r:xz"), (".tar", "r:"))  # fmt: skip
SDIST_READS = ("pyproject.toml", "PKG-INFO")  # the files peep reads at an sdist's top
WHEEL_READS = ("METADATA", "WHEEL", "RECORD", "entry_points.txt")  # in a wheel's .dist-info
WHEEL_DATA_KEYS = ("purelib", "platlib", "headers", "scripts", "data")  # KEY in NAME.data/KEY/


class ArchiveError(PeepError):
    """An archive peep will not read, nor let anything else read; the message names it first."""

    def reason(self) -> str:
        """Return the message without the archive's name in front."""
        return str(self).split(": ", 1)[-1]


@dataclass(frozen=True)
class ArchiveFacts:
    """What peep read from a verified archive, once."""

    kind: str  # "wheel" or "sdist"
    name: str  # canonical project name, from the file name
    version: Optional[Version]
    top: str  # an sdist's one top-level directory ("" for wheels)
    pyproject: Optional[bytes] = None  # an sdist's top-level pyproject.toml
    metadata: Optional[bytes] = None  # a wheel's METADATA, an sdist's PKG-INFO

    def headers(self) -> Any:
        """Return the metadata's headers (none for an sdist without PKG-INFO)."""
        import email.parser
        return email.parser.BytesHeaderParser().parsebytes(self.metadata or b"")


def archive_name_version(filename: str, project: Optional[str]) -> Tuple[str, Optional[Version]]:
    """Return the canonical name and version a wheel's or sdist's file name gives; for an sdist
    fetched by URL under any other name (a commit's archive, say), ``project`` and no version."""
    named = parse_archive_name(filename)
    if named is not None:
        return named.name, named.version
    endings = [extension for extension, _ in TAR_MODES] + [".zip"]
    ending = next((ext for ext in endings if filename.lower().endswith(ext)), "")
    name, _, version = filename[: len(filename) - len(ending)].rpartition("-")
    parsed = _parse_version(version) if name else None
    if filename.endswith(WHEEL_EXTENSION) or (parsed is None and project is None):
        raise ArchiveError(f"{filename}: the file name gives no project name and version")
    if parsed is None:
        return canonicalize_name(str(project)), None
    return canonicalize_name(name), parsed


def _member_path(name: str, archive: str) -> str:
    """Return a member's path, normalised, or refuse one that could escape."""
    if "\x00" in name or "\\" in name:
        raise ArchiveError(f"{archive}: member {name!r} has a NUL or a backslash in its name")
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        raise ArchiveError(f"{archive}: member {name!r} has an absolute path")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ArchiveError(f"{archive}: member {name!r} leaves the archive ('..')")
    return "/".join(parts)


def _name_key(path: str) -> str:
    """Return Unicode's canonical caseless form of a path (NFD, casefold, NFD): macOS and Windows
    fold case and macOS normalises Unicode, so two members with one key are one file there.
    Windows also drops the dots and spaces a name ends in: ``x.py.`` is ``x.py`` there."""
    import unicodedata
    key = unicodedata.normalize("NFD", unicodedata.normalize("NFD", path).casefold())
    return "/".join(part.rstrip(". ") or part for part in key.split("/"))


_DIRECTORY_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | NOFOLLOW


class _Extraction:
    """A fresh directory an sdist is extracted into, made by peep, mode 0700 (nothing was planted
    in it, no one else can change it): below it each directory is one peep made, opened relative
    to its parent without following a link; files are created, never opened."""

    def __init__(self, root: str, archive: str) -> None:
        self.archive = archive
        self.made: Set[str] = set()  # the directories peep made below root
        try:
            os.mkdir(root, 0o700)
            self.root = os.open(root, _DIRECTORY_FLAGS)
        except OSError as exc:
            raise ArchiveError(f"{archive}: cannot extract into {root!r} ({exc.strerror}); "
                               "peep extracts only into a directory it has just made") from exc

    def directory(self, path: str) -> None:
        os.close(self._open(path))

    def write(self, path: str, stream: IO[bytes], mode: int) -> None:
        import shutil
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW
        with os.fdopen(self._open(path, flags, 0o755 if mode & 0o111 else 0o644), "wb") as sink:
            shutil.copyfileobj(stream, sink, CHUNK_SIZE)

    def copy(self, path: str, source: str) -> None:
        """Extract a link member as a copy of the file it names."""
        with os.fdopen(self._open(source, os.O_RDONLY | NOFOLLOW), "rb") as stream:
            self.write(path, stream, os.fstat(stream.fileno()).st_mode)

    def _open(self, path: str, flags: Optional[int] = None, mode: int = 0) -> int:
        """Open the directory ``path`` names, making what peep has not made yet; given ``flags``,
        open its last part as a file, with those flags, instead."""
        parts = path.split("/")
        descriptor = os.dup(self.root)
        for depth, part in enumerate(parts, 1):
            made = "/".join(parts[:depth])
            try:
                if flags is not None and depth == len(parts):
                    return os.open(part, flags, mode, dir_fd=descriptor)
                if made not in self.made:
                    os.mkdir(part, 0o755, dir_fd=descriptor)  # fails if anything is there
                    self.made.add(made)
                child = os.open(part, _DIRECTORY_FLAGS, dir_fd=descriptor)
            except OSError as exc:
                raise ArchiveError(f"{self.archive}: cannot extract {made!r} ({exc.strerror}); "
                                   "refusing to write through anything peep did not make") from exc
            finally:
                os.close(descriptor)
            descriptor = child
        return descriptor


def read_archive(path: str, filename: str, *, project: Optional[str] = None,
                 extract_to: Optional[str] = None,
                 read_before: Optional[ArchiveFacts] = None) -> ArchiveFacts:
    """Read a verified archive strictly, or raise ArchiveError; optionally extract what was read.
    ``extract_to`` must not exist: peep makes it. ``read_before``, what reading these same bytes
    returned already, is returned, and nothing is read twice."""
    name, version = archive_name_version(filename, project)
    lowered = filename.lower()
    wheel = lowered.endswith(WHEEL_EXTENSION)
    mode = next((m for extension, m in TAR_MODES if lowered.endswith(extension)), None)
    if mode is None and not (wheel or lowered.endswith(".zip")):
        raise ArchiveError(f"{filename}: not a wheel or an sdist peep knows how to read")
    if _opens_as_other(path, filename, tar=mode is None):
        other = "a tar archive" if mode is None else "a zip archive"
        raise ArchiveError(f"{filename}: the same bytes are also {other}; refusing a polyglot")
    extraction = _Extraction(extract_to, filename) if extract_to else None
    reading = _Reading(filename, wheel, extraction, collect=read_before is None)
    try:
        _read_members(path, mode, reading)
    finally:
        if extraction is not None:
            os.close(extraction.root)
    if read_before is not None:
        return read_before
    if wheel:
        return _read_wheel(reading, name, version)
    if reading.top is None:
        raise ArchiveError(f"{filename}: the archive is empty")
    found = reading.found
    facts = ArchiveFacts(kind="sdist", name=name, version=version, top=reading.top,
                         pyproject=found.get("pyproject.toml"), metadata=found.get("PKG-INFO"))
    _check_metadata(facts, filename)
    return facts


def _tar_headers(filename: str) -> type[tarfile.TarInfo]:
    """Return a TarInfo class for one archive that refuses a header before tarfile reads whole
    the long name or pax records it says follow (and keeps them; before Python 3.11.10, parses
    pax records in quadratic time), and a sparse member, which no sdist holds."""
    import tarfile

    class Header(tarfile.TarInfo):
        read = kept = 0  # bytes of names and pax headers read; of global ones, which members copy

        @classmethod
        def frombuf(cls, buf: Union[bytes, bytearray], encoding: str, errors: str) -> Self:
            header = super().frombuf(buf, encoding, errors)
            Header.read += header.size if header.type in b"LKxgX" else Header.kept
            Header.kept += header.size if header.type == b"g" else 0
            if header.type in b"LKxgX" and header.size > MAX_TAR_HEADER_BYTES or (
                    Header.read > MAX_RECORD_BYTES):
                header.refuse()
            return header

        def refuse(self, *_: object) -> NoReturn:
            raise ArchiveError(f"{filename}: a sparse member, or long names or pax headers "
                               f"over {MAX_TAR_HEADER_BYTES} bytes, or {MAX_RECORD_BYTES} "
                               "in all: more than peep reads")

        # A sparse member's map, in GNU's header or in any of pax's three forms.
        _proc_sparse = _proc_gnusparse_00 = _proc_gnusparse_01 = _proc_gnusparse_10 = refuse
    return Header


def _opens_as_other(path: str, filename: str, *, tar: bool) -> bool:
    """Say whether the bytes also open, with members, as a tar archive (``tar``) or a zip."""
    import tarfile
    import zipfile
    import zlib
    try:
        if tar:
            with tarfile.open(path, tarinfo=_tar_headers(filename)) as archive:
                return archive.next() is not None
        with zipfile.ZipFile(path) as archive:
            return bool(archive.infolist())
    except (tarfile.TarError, zipfile.BadZipFile, OSError, ValueError, OverflowError, EOFError,
            zlib.error):  # fmt: skip
        return False
    except RecursionError:  # tarfile nests chained long-name headers; tar reads them in a loop
        return True


class _Reading:
    """What reading an archive's members has found and extracted so far. It refuses duplicates,
    names a file system merges, paths through links, and more members or bytes than peep reads."""

    def __init__(self, filename: str, wheel: bool, extraction: Optional[_Extraction],
                 collect: bool) -> None:
        self.filename = filename
        self.wheel = wheel
        self.extraction = extraction
        self.collect = collect  # whether to keep the files peep reads itself
        self.names: Dict[str, Tuple[str, str]] = {}  # _name_key(path) -> (path as spelled, kind)
        self.top: Optional[str] = None  # an sdist's one top-level directory
        self.members: List[str] = []  # each member's path, in order
        self.unpacked = 0  # the bytes the members say they hold
        self.found: Dict[str, bytes] = {}  # the files peep reads itself
        self.digests: Dict[str, Tuple[str, int]] = {}  # a wheel's file -> (RECORD's hash, size)
        self.spans: List[Tuple[int, int]] = []  # a zip's members: (start, end)
        self.symlinks: List[Tuple[str, str, str]] = []  # a tar's (member, target, as written)

    def add(self, path: str, kind: str, size: int = 0) -> None:
        if not path:
            if kind == "dir":
                return  # "./": the archive's own root
            raise ArchiveError(f"{self.filename}: a member has an empty name")
        parts = path.split("/")
        if not self.wheel:
            self.top = self.top or parts[0]
            if parts[0] != self.top:
                raise ArchiveError(f"{self.filename}: members lie outside one top-level "
                                   f"directory ({self.top!r} and {parts[0]!r})")
            if len(parts) == 1 and kind != "dir":
                raise ArchiveError(f"{self.filename}: member {path!r} is not in a directory")
        self.members.append(path)
        self.unpacked += size
        if len(self.members) > MAX_MEMBERS or self.unpacked > MAX_UNPACKED_BYTES:
            raise ArchiveError(f"{self.filename}: more than {MAX_MEMBERS} members or "
                               f"{MAX_UNPACKED_BYTES} bytes unpacked, more than peep reads")
        for depth in range(1, len(parts)):
            self._note("/".join(parts[:depth]), "dir", path)
        self._note(path, kind, path)
        if self.extraction and kind == "dir":
            self.extraction.directory(path)

    def _note(self, path: str, kind: str, member: str) -> None:
        """Record ``path`` (``member`` or a directory above it) as ``kind``."""
        key = _name_key(path)
        spelled, seen = self.names.get(key, (path, ""))
        if not seen:
            self.names[key] = (path, kind)
        elif spelled != path:
            raise ArchiveError(f"{self.filename}: member {member!r} appears twice (or differs "
                               f"only in case) as {spelled!r}: one file where file "
                               "systems fold case or normalize Unicode")
        elif path != member and seen != "dir":
            raise ArchiveError(f"{self.filename}: member {member!r} lies under a {seen}, "
                               "not a directory")
        elif path == member and not (kind == "dir" and seen == "dir"):
            raise ArchiveError(f"{self.filename}: member {path!r} appears twice")

    def kind(self, path: str) -> str:
        """Return what ``path``, spelled exactly so, is in the archive ("": nothing)."""
        spelled, kind = self.names.get(_name_key(path), (path, ""))
        return kind if spelled == path else ""

    def wanted(self, path: str) -> Optional[str]:
        """Name a file peep reads itself: at an sdist's top, or in a wheel's .dist-info."""
        top, _, rest = path.partition("/")
        if self.wheel:
            return path if top.casefold().endswith(".dist-info") and rest in WHEEL_READS else None
        return rest if top == (self.top or top) and rest in SDIST_READS else None

    def file(self, path: str, size: int, mode: int, open_member: Callable[[], IO[bytes]]) -> None:
        """Take in a regular file: keep it if peep reads it, hash it for RECORD, extract it."""
        self.add(path, "file", size)
        wanted = self.wanted(path) if self.collect else None
        if wanted:
            limit = MAX_RECORD_BYTES if wanted.endswith("/RECORD") else MAX_METADATA_BYTES
            with open_member() as stream:
                if size > limit:
                    raise ArchiveError(f"{self.filename}: {wanted} is {size} bytes, more than "
                                       f"peep reads ({limit}); refusing rather than guessing at "
                                       "its contents")
                self.found[wanted] = stream.read()
        if self.wheel and self.collect:  # every file, for RECORD to vouch for
            sizes: List[int] = []
            with open_member() as stream:
                digest = hash_stream(stream, sink=lambda chunk: sizes.append(len(chunk)))
            self.digests[path] = (f"sha256={hex_to_peep(digest['sha256'])}", sum(sizes))
        if self.extraction:
            with open_member() as stream:
                self.extraction.write(path, stream, mode)

    def add_tar(self, archive: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        """Take in one member: a directory, a link or a regular file, and nothing else. No link
        is made on disk: each is extracted as a copy of the regular file it names (a symbolic
        link's is checked once every member is known), so no path resolves through one."""
        path, target = _member_path(member.name, self.filename), member.linkname
        if member.isdir():
            self.add(path, "dir")
        elif member.isreg():  # extractfile gives a regular file's stream, never None
            opener = functools.partial(archive.extractfile, member)
            self.file(path, member.size, member.mode, opener)  # type: ignore[arg-type]
        elif not (member.issym() or member.islnk()):
            raise ArchiveError(f"{self.filename}: member {member.name!r} is not a file, "
                               "directory or link")
        elif self.wanted(path):
            raise ArchiveError(f"{self.filename}: member {member.name!r} is a link")
        elif member.islnk():
            self.add(path, "file")
            resolved = _member_path(target, self.filename)
            if resolved == path or self.kind(resolved) != "file":  # itself: taken in already
                raise ArchiveError(f"{self.filename}: hard link {path!r} points at {target!r}, "
                                   "which is not an earlier file of the archive")
            if self.extraction:
                self.extraction.copy(path, resolved)
        else:
            self.add(path, "link")
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
            inside = self.top + "/" if self.top else ""
            if (target.startswith("/") or "\x00" in target or "\\" in target or resolved == ".."
                    or resolved.startswith("../") or not (resolved + "/").startswith(inside)):
                raise ArchiveError(f"{self.filename}: link {path!r} points outside the archive "
                                   f"({target!r})")
            self.symlinks.append((path, resolved, target))

    def add_zip(self, raw: IO[bytes], archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        """Take in one member: a directory or a regular file, and nothing else."""
        self.spans.append((info.header_offset, _check_zip_member(raw, info, self.filename)))
        path = _member_path(info.orig_filename, self.filename)
        if info.is_dir():
            self.add(path, "dir")
        else:
            opener = functools.partial(archive.open, info)
            self.file(path, info.file_size, info.external_attr >> 16, opener)


def _read_members(path: str, mode: Optional[str], reading: _Reading) -> None:
    """Take in every member, of a tar archive opened in ``mode``, or of a zip."""
    import tarfile
    import zipfile
    import zlib
    try:
        from lzma import LZMAError
    except ImportError:  # a Python without lzma reads no .tar.xz at all
        LZMAError = zlib.error  # type: ignore[assignment,misc]
    try:
        if mode is not None:
            headers = _tar_headers(reading.filename)
            with tarfile.open(path, mode, tarinfo=headers) as tar:  # type: ignore[call-overload]
                for member in tar:
                    reading.add_tar(tar, member)
        else:
            with open(path, "rb") as raw:
                if raw.read(4) != b"PK\x03\x04":
                    raise ArchiveError(f"{reading.filename}: does not start with a zip member")
                with zipfile.ZipFile(raw) as archive:
                    for info in archive.infolist():
                        reading.add_zip(raw, archive, info)
                    _check_zip_directory(raw, reading, archive.start_dir)
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError, zlib.error, LZMAError,
            RuntimeError, ValueError, OverflowError) as exc:  # fmt: skip
        raise ArchiveError(f"{reading.filename}: not a readable archive ({exc})") from exc
    # Only now is every member known: a symbolic link must name a file, and is copied.
    for member_path, target, written_as in reading.symlinks:
        if reading.kind(target) != "file":
            raise ArchiveError(f"{reading.filename}: link {member_path!r} points at "
                               f"{written_as!r}, which is not a file of the archive")
        if reading.extraction:
            reading.extraction.copy(member_path, target)


def _check_zip_member(raw: IO[bytes], info: zipfile.ZipInfo, filename: str) -> int:
    """Refuse what zip readers read two ways; return where the member ends (data descriptor too)."""
    import struct
    name, flags = info.orig_filename, info.flag_bits
    member = f"{filename}: member {name!r}"
    if (info.external_attr >> 16) & 0o170000 == 0o120000:
        raise ArchiveError(f"{member} is a symbolic link")
    if flags & 0x1:
        raise ArchiveError(f"{member} is encrypted")
    if not flags & 0x800 and not name.isascii():
        # Without the UTF-8 flag Python reads the name as cp437, unzip in the locale's charset.
        raise ArchiveError(f"{member} has a non-ASCII name not marked UTF-8")
    raw.seek(info.header_offset)
    header = raw.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise ArchiveError(f"{member} has no local header")
    # After the signature: version, flags, method, time, date, CRC, sizes, name and extra lengths.
    _, local_flags, method, _, _, crc, compressed, size, name_length, extra_length = (
        struct.unpack("<4x5H3I2H", header))
    local_name, local_extra = raw.read(name_length), raw.read(extra_length)
    if local_name != name.encode("utf-8" if flags & 0x800 else "cp437", "replace") or (
            (local_flags ^ flags) & 0x800):
        raise ArchiveError(f"{member} has another name in its local header ({local_name!r})")
    # zipfile goes by the central directory's method and flags, unzip by the local header's.
    if method != info.compress_type or (local_flags ^ flags) & 0x9:
        raise ArchiveError(f"{member} has another compression method, encryption or data "
                           "descriptor flag in its local header")
    _check_extra_field(info.extra, member, "central directory")
    zip64 = (crc, *_check_extra_field(local_extra, member, "local header"))
    # A streaming reader goes by the local sizes (a data descriptor's come after the data), and
    # by the local zip64 field's where they are 0xFFFFFFFF: some readers whenever it is there.
    local = zip64 if 0xFFFFFFFF in (compressed, size) else (crc, compressed, size)
    streamed = flags & 0x8  # then each is 0, or the central directory's
    central = (info.CRC, info.compress_size, info.file_size)
    for sizes in (local, zip64) if zip64[1:] != (-1, -1) else (local,):
        if any(sizes[i] not in (central[i], 0 if streamed else central[i]) for i in range(3)):
            raise ArchiveError(f"{member} has other sizes in its local header")
    end = info.header_offset + 30 + len(local_name) + len(local_extra) + info.compress_size
    return end + (_data_descriptor_length(raw, end, info, member) if streamed else 0)


def _data_descriptor_length(raw: IO[bytes], at: int, info: zipfile.ZipInfo, member: str) -> int:
    """Return the length of the data descriptor at ``at``: a streaming reader takes a member's
    CRC and sizes from it, so they must be the central directory's."""
    import struct
    raw.seek(at)
    data = raw.read(24)
    for signature in (b"PK\x07\x08", b""):  # with its optional signature, or without
        body = data[len(signature):] if data.startswith(signature) else b""
        for layout in ("<3I", "<IQQ"):  # zip64's sizes are 8 bytes each
            length = struct.calcsize(layout)
            if len(body) >= length and struct.unpack_from(layout, body) == (
                    info.CRC, info.compress_size, info.file_size):
                return len(signature) + length
    raise ArchiveError(f"{member} has no data descriptor giving the sizes its central "
                       "directory gives")


def _check_zip_directory(raw: IO[bytes], reading: _Reading, end: int) -> None:
    """Refuse bytes the central directory (up to ``end``) does not account for, an end record
    counting other members than it lists, or zip64 records read two ways: pip goes by the central
    directory, streaming readers by local headers in order, others by the count, so a member in a
    gap, an archive in front, shared bytes or a second central directory would fool one only."""
    filename, count = reading.filename, len(reading.spans)  # a span for each member listed
    position = 0
    for start, stop in sorted(reading.spans) + [(end, end)]:
        if start != position:
            raise ArchiveError(f"{filename}: bytes {position} to {start} are not the members "
                               "its central directory lists, one after another")
        position = stop
    size = raw.seek(0, os.SEEK_END)
    raw.seek(max(0, size - 22 - 0xFFFF - 76))  # the end record, and zip64's two before it
    tail = raw.read()
    # The end record zipfile takes: the last 22 bytes if they are one, else the last signature.
    at = len(tail) - 22 if tail[-22:-18] == b"PK\x05\x06" else tail.rfind(b"PK\x05\x06")
    ends = [int.from_bytes(tail[at + i : at + i + n], "little")
            for i, n in ((8, 2), (10, 2), (12, 4), (16, 4), (20, 2))]  # counts, size, offset, and
    if at + 22 + ends[4] > len(tail):  # its comment's length: many take the last that fits
        raise ArchiveError(f"{filename}: its end record's comment runs past the end of the "
                           "file, so zip readers differ on which end record is its")
    counts = ends[:2]
    if tail[at - 20 : at - 16] == b"PK\x06\x07":  # zip64's: zipfile reads the record before it,
        record = tail[at - 76 : at - 20]  # not where it points, and ignores the end record's
        counts = [int.from_bytes(record[i : i + 8], "little") for i in (24, 32, 40, 48)]
        where = size - len(tail) + at - 76  # others go by the end record unless it says 0xFF..
        if (record[:4] != b"PK\x06\x06" or int.from_bytes(tail[at - 12 : at - 4], "little") != where
                or any(ends[i] not in (counts[i], (1 << 8 * n) - 1)
                       for i, n in enumerate((2, 2, 4, 4)))):
            raise ArchiveError(f"{filename}: its zip64 end records disagree with each other, "
                               "so zip readers differ on which central directory is its")
    if counts[:2] != [count, count]:
        raise ArchiveError(f"{filename}: its end record counts {counts[1]} members, but its "
                           f"central directory lists {count}")


def _check_extra_field(extra: bytes, member: str, where: str) -> Tuple[int, int]:
    """Refuse an extra field naming a member again (Info-ZIP's Unicode Path, 0x7075: unzip and
    Python 3.12+ read it, 3.11 not; its Unicode Comment, 0x6375, nothing installs) or whose records
    do not fill it exactly (readers differ); return its first zip64 sizes, compressed first
    ((-1, -1): none)."""
    import struct
    zip64: List[Tuple[int, int]] = []
    offset = 0
    while offset + 4 <= len(extra):  # a record: its id, its size, then that many bytes
        kind, size = struct.unpack_from("<2H", extra, offset)
        if kind == 0x7075:
            raise ArchiveError(f"{member} carries a second name (a Unicode Path extra field, "
                               f"0x7075) in its {where}")
        if kind == 1 and size >= 16:  # zip64's: the uncompressed size first, then compressed
            body = extra[offset + 4 : offset + 20]
            zip64.append((int.from_bytes(body[8:], "little"), int.from_bytes(body[:8], "little")))
        offset += 4 + size
    if offset != len(extra):  # a record cut short, or bytes too few for one
        raise ArchiveError(f"{member} has a malformed extra field in its {where}")
    return zip64[0] if zip64 else (-1, -1)


def _read_wheel(reading: _Reading, name: str, version: Optional[Version]) -> ArchiveFacts:
    """Return a wheel's facts; refuse one pip's installer would stop at part way, or install
    unchecked: peep checks before pip runs, and that RECORD vouches for every file's hash."""
    filename, found = reading.filename, reading.found
    # One .dist-info, for the name and version the file name gives; a file of that name counts
    # too, as pip counts every top-level name.
    dist_infos = sorted(path for path, _ in reading.names.values()
                        if "/" not in path and path.casefold().endswith(".dist-info"))
    if len(dist_infos) != 1:
        raise ArchiveError(f"{filename}: a wheel needs exactly one .dist-info directory, "
                           f"not {len(dist_infos)}")
    dist_info = dist_infos[0]
    if not dist_info.endswith(".dist-info"):  # pip looks for this spelling only
        raise ArchiveError(f"{filename}: its .dist-info directory is spelled {dist_info!r}")
    dist_name, _, dist_version = dist_info[: -len(".dist-info")].rpartition("-")
    if canonicalize_name(dist_name) != name or _parse_version(dist_version) != version:
        raise ArchiveError(f"{filename}: its .dist-info directory is for {dist_name} "
                           f"{dist_version}, not the project and version its file name gives")

    def needed(name: str) -> bytes:
        if f"{dist_info}/{name}" not in found:
            raise ArchiveError(f"{filename}: its .dist-info directory has no {name}")
        return found[f"{dist_info}/{name}"]

    metadata = needed("METADATA")
    _member_text(filename, f"{dist_info}/METADATA", metadata)  # pip refuses it if not UTF-8
    facts = ArchiveFacts(kind="wheel", name=name, version=version, top="", metadata=metadata)
    _check_metadata(facts, filename)
    _check_wheel_version(filename, f"{dist_info}/WHEEL", needed("WHEEL"))
    _check_wheel_data(reading, filename, dist_info[: -len(".dist-info")] + ".data")
    entry_points = f"{dist_info}/entry_points.txt"
    _check_entry_points(filename, entry_points, found.get(entry_points, b""))
    _check_requires_python(filename, f"{dist_info}/METADATA", facts.headers())
    _check_record(filename, f"{dist_info}/RECORD", needed("RECORD"), reading.digests)
    return facts


def _member_text(filename: str, path: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArchiveError(f"{filename}: member {path!r} is not UTF-8 ({exc})") from exc


def _check_wheel_version(filename: str, path: str, data: bytes) -> None:
    """Refuse a WHEEL whose Wheel-Version pip does not install (not 1.x)."""
    import email.parser
    message = email.parser.HeaderParser().parsestr(_member_text(filename, path, data))
    versions = [str(value).strip() for value in message.get_all("Wheel-Version") or []]
    if len(versions) != 1 or not re.fullmatch(r"1(\.[0-9]+)*", versions[0]):
        raise ArchiveError(f"{filename}: member {path!r} gives Wheel-Version "
                           f"{', '.join(versions) or 'none'}, not one 1.x")


def _check_wheel_data(reading: _Reading, filename: str, data_dir: str) -> None:
    """Refuse .data members pip cannot place: each goes in ``data_dir/KEY/``, KEY a scheme's
    (pip stops part way through at an unknown key, and installs another's .data as a package)."""
    for path in reading.members:
        parts = path.split("/")
        if len(parts) < 2 or not parts[0].casefold().endswith(".data"):
            continue
        if parts[0] != data_dir:
            raise ArchiveError(f"{filename}: member {path!r} is in a .data directory "
                               f"not named {data_dir!r}")
        if parts[1] not in WHEEL_DATA_KEYS:
            keys = ", ".join(data_dir + "/" + key for key in WHEEL_DATA_KEYS)
            raise ArchiveError(f"{filename}: member {path!r} is not under one of {keys}")
        if len(parts) == 2 and reading.kind(path) != "dir":
            raise ArchiveError(f"{filename}: member {path!r} is a file; pip needs a directory")


def _check_entry_points(filename: str, path: str, data: bytes) -> None:
    """Refuse console and GUI scripts pip cannot make: each is 'name = module:attr' (pip stops
    part way through at an entry without ':'); a name, a file in the scripts dir, has no '/'."""
    section = ""
    for line in _member_text(filename, path, data).splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line.strip("[]").strip()
        elif line[:1] not in ("", "#", ";") and section in ("console_scripts", "gui_scripts"):
            name, _, value = (part.strip() for part in line.partition("="))
            script = re.fullmatch(r"[\w.+-]+", name) and name.strip(".")  # not only dots
            entry = re.fullmatch(r"\w+(\.\w+)*\s*:\s*\w+(\.\w+)*\s*(\[[\w\s,.-]*\])?", value)
            if not (script and entry):
                raise ArchiveError(f"{filename}: member {path!r} has {section} entry {line!r}, "
                                   "not 'name = module:attr'")


def _check_requires_python(filename: str, path: str, message: Any) -> None:
    """Refuse a Requires-Python that is not one version specifier: tools differ on what
    they do with one they cannot parse (whether it admits this Python is asked elsewhere)."""
    values = [str(value).strip() for value in message.get_all("Requires-Python") or []]
    if len(values) > 1:
        raise ArchiveError(f"{filename}: member {path!r} gives Requires-Python more than once")
    for value in values:
        try:
            SpecifierSet(value)
        except InvalidSpecifier as exc:
            raise ArchiveError(f"{filename}: member {path!r} gives Requires-Python {value!r}, "
                               "which is not a version specifier") from exc


def _check_record(filename: str, record: str, data: bytes,
                  digests: Mapping[str, Tuple[str, int]]) -> None:
    """Refuse a RECORD read two ways, or a file it does not vouch for by its sha256 and size."""
    import csv
    rows: Dict[str, Tuple[str, str]] = {}
    try:
        for row in csv.reader(_member_text(filename, record, data).splitlines()):
            if len(row) != 3:
                raise ArchiveError(f"{filename}: member {record!r} has a row {row!r}, not 3 fields")
            if row[0] in rows:
                raise ArchiveError(f"{filename}: member {record!r} lists {row[0]!r} twice")
            rows[row[0]] = (row[1], row[2])
    except csv.Error as exc:
        raise ArchiveError(f"{filename}: member {record!r} is not a CSV file ({exc})") from exc
    unhashed = (record, f"{record}.jws", f"{record}.p7s")  # they cannot hash themselves
    for path, (digest, size) in digests.items():
        if path in unhashed:
            continue
        if path not in rows:
            raise ArchiveError(f"{filename}: member {path!r} is not in its RECORD")
        recorded_hash, recorded_size = rows[path]
        if recorded_hash.rstrip("=") != digest:
            raise ArchiveError(f"{filename}: member {path!r} has {digest}, "
                               f"but its RECORD says {recorded_hash!r}")
        if recorded_size not in ("", str(size)):
            raise ArchiveError(f"{filename}: member {path!r} is {size} bytes, "
                               f"but its RECORD says {recorded_size!r}")


def _check_metadata(facts: ArchiveFacts, filename: str) -> None:
    """Refuse metadata whose Name or Version disagrees with the file name."""
    if facts.metadata is None:
        return  # an sdist without PKG-INFO: nothing to disagree with
    message = facts.headers()
    label = "METADATA" if facts.kind == "wheel" else "PKG-INFO"
    if message.get("Name") is None or message.get("Version") is None:
        raise ArchiveError(f"{filename}: its {label} has no Name or no Version")
    declared_name, declared_version = (str(message[key]).strip() for key in ("Name", "Version"))
    if canonicalize_name(declared_name) != facts.name:
        raise ArchiveError(f"{filename}: its {label} names the project {declared_name!r}, "
                           "not the one its file name gives")
    if facts.version is not None and _parse_version(declared_version) != facts.version:
        raise ArchiveError(f"{filename}: its {label} gives version {declared_version!r}, "
                           "not the one its file name gives")


# --- Verdicts -----------------------------------------------------------------


@dataclass(frozen=True)
class Verified:
    """An archive peep accepted: only accept() makes one."""

    requirement: Requirement
    path: str
    filename: str
    sha256: str
    version: Optional[Version]
    facts: ArchiveFacts  # what peep's one strict reading of it found
    provenance: str  # where its trust comes from: "FILE line N", "built from verified S"
    install: bool = True  # False: only a build dependency of something else


class Kind(NamedTuple):
    """A kind of problem: its place in the report, and its heading, which says what to do."""

    order: int
    heading: str


# Every kind of problem peep reports, each defined here once. Install's are all reported before
# anything installs; check's once it has looked at everything. Each makes peep exit EXIT_FAILED.
KINDS: Dict[str, Kind] = {
    "mismatch": Kind(1, "THE FOLLOWING PACKAGES DIDN'T MATCH THE HASHES SPECIFIED IN THE "
        "REQUIREMENTS FILE. If you have updated the package versions, update the hashes. If "
        "not, freak out, because someone has tampered with the packages."),
    "wrong size": Kind(2, "The following files matched their hashes but not the sizes their "
        "lock file records, so the lock file contradicts itself; regenerate it or find out who "
        "edited it:"),
    "other platforms": Kind(13, "The following requirements were vetted only as files for other "
        "platforms or Pythons; no vetted file installs here (nothing was tampered with). Vet a "
        "file that fits this one too, and add its hash:"),
    "missing": Kind(3, 'The following packages had no hashes specified in the requirements '
        'file, which leaves them open to tampering. Vet these packages to your satisfaction, '
        'then add these "sha256" lines like so:'),
    "unsupported": Kind(4, "The following requirements can't be verified by hash, so peep won't "
        "install them:"),
    "not found": Kind(5, "The following requirements matched no usable file on any index or "
        "find-links:"),
    "download": Kind(6, "The following requirements could not be fetched:"),
    "conflict": Kind(7, "The following requirements contradict each other:"),
    "refused archive": Kind(8, "The following archives matched their hashes, but peep refuses "
        "them because they are not well-formed, or could be read differently by different tools:"),
    "build dependency": Kind(9, "The following sdists need build dependencies that are not "
        "among the verified files (build dependencies must be wheels). Vet them, then add lines "
        "like these (they will be installed too), or install a wheel of the package instead:"),
    "refused build": Kind(10, "The following sdists can't be built safely, so peep won't build "
        "them:"),
    "omitted": Kind(11, "The following dependencies are needed by packages being installed but "
        "are missing from the requirements files, or pinned there to a version that does not "
        "satisfy them (peep installs with --no-deps, so nothing else would install them). Vet "
        "them, then add lines like these:"),
    "build failed": Kind(12, "The following sdists failed to build:"),
    # peep check
    "not installed": Kind(21, "The following requirements are not installed:"),
    "wrong version": Kind(22, "The following requirements are installed at a version they don't "
        "allow:"),
    "unlisted": Kind(23, "The following installed distributions are named by no requirement:"),
    "tampered": Kind(24, "The following installed files no longer match the hashes their "
        "distribution recorded at install time (RECORD). Something changed them after "
        "installation: find out what before trusting this environment:"),
    "unrecorded": Kind(25, "The following files in the checked site-packages can run code (.pth "
        "files at every start, modules when imported), but no installed distribution's RECORD "
        "lists them with a hash. Find out where they came from:"),
    "shadowed": Kind(26, "The following distributions are installed more than once (a second "
        ".dist-info or .egg-info beside the first): tools and imports may see either, so remove "
        "the one that should not be there:"),
    "listed apart": Kind(27, "The following are listed apart, not errors (--strict or not): "
        "installers no requirement names, files the tool that made this environment wrote, and "
        "start-up hooks outside the checked site. Each says what peep checked:"),
    "record only": Kind(28, "The following were compared with their installed RECORD only, "
        "which whoever changed a file could have rewritten too; peep check compares with the "
        "vetted wheel itself when it is in peep's verified cache:"),
}  # fmt: skip


@dataclass(frozen=True)
class Problem:
    """Something that stops the install (or that check found): one entry of the report."""

    kind: str  # a key of KINDS
    requirement: Requirement
    text: str  # the entry's lines under its kind's heading
    sha256: str = ""  # for a missing hash: the hash its archive had
    pinned_line: str = ""
    dependency: str = ""  # the project a build or an archive needs
    facts: Optional[ArchiveFacts] = None  # for a missing hash: its archive, read, never run


def framed(kind: str, requirement: Requirement, what: str, *below: str,
           dependency: str = "") -> Problem:
    """Return a problem shown as ``what``, with each line of ``below`` indented under it."""
    text = f"    {what}" + "".join(f"\n        {line}" for line in below)
    return Problem(kind, requirement, text, dependency=dependency)


def as_written(requirement: Requirement) -> str:
    """Return a requirement as the user wrote it, and where."""
    return f"{requirement.text} ({requirement.origin})"


def mismatch(requirement: Requirement, url: str, got: Mapping[str, str]) -> Problem:
    """Return the fearsome entry: what the user vouched for, and what the bytes hash to."""
    name = requirement.name or requirement.text
    pad = " " * len(name)
    hashes = requirement.hashes
    expected = [(a, digest) for a in hashes.algorithms() for digest in sorted(hashes.allowed(a))]
    shown = [a for a in hashes.algorithms() if a in got] or ["sha256"]
    labelled = [(f"{name}: expected", f"{pad}        or", expected),  # the first line, the others
                (f"{pad}  got     ", f"{pad}    and   ", [(a, got[a]) for a in shown])]
    lines = [f"    {then if index else first} "
             + (hex_to_peep(digest) if algorithm == "sha256" else f"{algorithm}:{digest}")
             for first, then, digests in labelled
             for index, (algorithm, digest) in enumerate(digests)]
    lines.append(f"    {pad}  ({requirement.origin}; {redact_url(url)})")
    return Problem("mismatch", requirement, "\n".join(lines))


def not_found(requirement: Requirement, places: Sequence[str], skipped: Sequence[str]) -> Problem:
    """Return why no file would do: where peep looked, and what it passed over."""
    where = ", ".join(places) or "nowhere (--no-index and no --find-links)"
    reasons = [f"looked in {where}"] + ([f"files skipped: {'; '.join(skipped)}"] if skipped else [])
    return framed("not found", requirement, f"{as_written(requirement)}:", *reasons)


def hash_lines(head: str, digests: Sequence[str], style: str, algorithm: str = "sha256"
               ) -> List[str]:  # fmt: skip
    """Write a requirement with its hashes: "peep" comment lines above it, or "pip" options."""
    if style == "peep":
        return [f"# sha256: {hex_to_peep(digest)}" for digest in digests] + [head]
    lines = [head] + [f"    --hash={algorithm}:{digest}" for digest in digests]
    return [line + " \\" for line in lines[:-1]] + lines[-1:]


def missing(requirement: Requirement, sha256: str, pinned_line: str) -> Problem:
    """Return the paste-ready hash block for a requirement with no hash, in its file's format."""
    lines = hash_lines(pinned_line, [sha256], requirement.hash_style)
    text = "".join(f"    {line}\n" for line in lines) + f"    (for {requirement.origin})"
    return Problem("missing", requirement, text, sha256=sha256, pinned_line=pinned_line)


Verdict = Union[Verified, Problem]


def format_report(problems: Sequence[Problem],
                  closing: Optional[str] = "Not proceeding to installation.") -> str:
    """Group problems by kind, each heading once, in KINDS' order, then ``closing``."""
    blocks = []
    for kind in sorted({p.kind for p in problems}, key=lambda kind: KINDS[kind].order):
        # Entries that give the same reason under them merge (one unreachable index, one entry);
        # a whole entry given twice is said once.
        merged: Dict[str, List[str]] = {}  # a reason under entries (or a whole entry): first lines
        for text in [p.text for p in problems if p.kind == kind]:
            first, _, below = text.partition("\n")
            merged.setdefault(below if below.startswith(" " * 8) else text, []).append(first)
        entries = []
        for key, firsts in merged.items():
            if len(firsts) > 1:  # one first line names them all
                firsts = [",\n".join(first.rstrip(":") for first in firsts) + ":"]
            entries.append(f"{firsts[0]}\n{key}" if key.startswith(" " * 8) else key)
        blocks.append(KINDS[kind].heading + "\n\n" + "\n\n".join(entries))
    # Entries quote requirement lines, URLs and names from pages and archives.
    ending = "\n" if closing is None else f"\n\n{closing}\n"
    return printable("\n\n".join(blocks) + ending)


# --- Accepting [trust] --------------------------------------------------------
#
# The one place a file becomes Verified. Finding, downloading and the cache only propose files;
# builds and pip take only Verified records. A file in peep's private directory is accepted when
# the digests of its bytes, taken as they were written there, match a hash the user vouched for
# (a built wheel: when the sdist it was built from was accepted), it has the size a lock file
# records, and peep's one strict reading of it succeeds.


@dataclass(frozen=True)
class Arrived:
    """A file written into peep's private directory, and the digests of its bytes."""

    requirement: Requirement
    path: str
    filename: str
    digests: Mapping[str, str]  # at least sha256, and every algorithm the requirement uses
    version: Optional[Version]
    install: bool = True
    url: str = ""  # where it came from, for the report


def accept(arrived: Arrived, built_from: Optional[Verified] = None) -> Union[Verified, Problem]:
    """Return ``arrived`` as Verified, or the problem that stops it: the only way to Verified."""
    requirement = arrived.requirement
    if built_from is not None:
        provenance = f"built from verified {built_from.filename} ({built_from.provenance})"
    elif not requirement.hashes:  # read all the same (strictly, never run) to tell what it needs
        problem = missing(requirement, arrived.digests["sha256"],
                          _pinned_line(requirement, arrived.version))
        try:
            return replace(problem, facts=read_archive(arrived.path, arrived.filename,
                                                       project=requirement.name))
        except ArchiveError:
            return problem
    elif not requirement.hashes.matches(arrived.digests):
        return mismatch(requirement, arrived.url, arrived.digests)
    else:
        provenance = str(requirement.origin)
    size = os.path.getsize(arrived.path)
    if built_from is None and requirement.size not in (None, size):
        says = f"the lock says {requirement.size} bytes, the file has {size}"
        return framed("wrong size", requirement, f"{as_written(requirement)}: {says}")
    try:
        facts = read_archive(arrived.path, arrived.filename, project=requirement.name)
        _check_archive_is_wanted(arrived, facts, built_from)
    except ArchiveError as exc:
        return framed("refused archive", requirement, str(exc), f"({provenance})")
    return Verified(requirement, arrived.path, arrived.filename, arrived.digests["sha256"],
                    arrived.version, facts, provenance, arrived.install)


def _check_archive_is_wanted(arrived: Arrived, facts: ArchiveFacts,
                             built_from: Optional[Verified]) -> None:
    """Refuse an archive of another project or version than the one asked for."""
    requirement, version = arrived.requirement, facts.version
    if built_from is not None:
        sdist = built_from.facts
        if facts.name != sdist.name or sdist.version not in (None, version):
            raise ArchiveError(f"{arrived.filename} is not {sdist.name} {sdist.version}")
    elif requirement.name is not None and canonicalize_name(requirement.name) != facts.name:
        raise ArchiveError(f"{arrived.filename}: it is a file of {facts.name!r}, but was found "
                           f"for {requirement.name!r}")
    elif version is not None and not requirement.specifier.contains(version, prereleases=True):
        raise ArchiveError(f"{arrived.filename}: version {version} does not satisfy "
                           f"{requirement.text!r}")


def _pinned_line(requirement: Requirement, version: Optional[Version]) -> str:
    """Return a paste-ready requirement line pinned to what was downloaded."""
    if requirement.url is not None or version is None:
        return requirement.text
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    marker = f"; {requirement.marker}" if requirement.marker is not None else ""
    return f"{requirement.name}{extras}=={version}{marker}"


# --- Verifying ----------------------------------------------------------------


def load_requirements(options: InstallOptions, environ: Mapping[str, str],
                      warn: Optional[Callable[[str], object]] = None
                      ) -> Tuple[List[Requirement], FinderSettings, NetworkSettings]:  # fmt: skip
    """Read every requirement; settings from pip's files, PIP_*, the command line, then files."""
    settings, network = settle_settings(options, environ, isolated=options.isolated)
    # Requirements files named by URL: the same TLS, proxy, trusted-host and credential rules.
    reader = requirements_reader(functools.partial(Transport, settings, network, environ))
    requirements = list(options.requirements)
    sources = [(path, False) for path in options.files] + [(p, True) for p in options.constraints]
    for path, is_constraint in sources:
        if is_lock_file(path) and not is_constraint:
            asked = LockSelection(None, options.lock_extras, options.lock_groups, settings)
            requirements += lock_file_requirements(path, reader, asked)
            continue
        for record in parse_requirements_file(path, environ=environ, is_constraint=is_constraint,
                                              reader=reader, warn=warn):
            if isinstance(record, FileOption):
                settings = settings.with_option(record.name, record.value)
            else:
                requirements.append(record)
    return requirements, settings, network


def load_build_pins(options: InstallOptions, settings: FinderSettings,
                    network: NetworkSettings) -> Tuple[Requirement, ...]:
    """Read --build-constraint files (as in pip 25.3): hashed pins for builds, never installed."""
    reader = requirements_reader(functools.partial(Transport, settings, network, os.environ))
    markers = marker_environment()
    pins = []
    for path in options.build_constraints:
        for record in parse_requirements_file(path, environ=os.environ, reader=reader):
            if isinstance(record, FileOption):
                raise PeepError(f"{record.origin}: --{record.name} in a build-constraint "
                                "file: peep reads only hashed pins from it")  # fmt: skip
            if record.unsupported is not None:
                raise PeepError(f"{record.origin}: {record.text!r}: {record.unsupported}")
            if record.applies(markers):
                pins.append(record)
    return tuple(pins)


def marker_environment() -> Dict[str, str]:
    """Return the PEP 508 environment of the running interpreter (no extra)."""
    return dict({key: str(value) for key, value in default_environment().items()}, extra="")


def prepare_requirements(records: Sequence[Requirement], environment: Mapping[str, str]
                         ) -> Tuple[List[Requirement], List[Problem]]:
    """Drop what does not apply here, refuse what cannot be hashed, merge duplicates."""
    applying = [record for record in records if record.applies(environment)]
    failures = [framed("unsupported", r, f"{as_written(r)}:", str(r.unsupported))
                for r in applying if r.unsupported is not None and not r.is_constraint]
    merged: Dict[str, Requirement] = {}
    # Constraints come last: they narrow what is wanted, but install nothing.
    for record in sorted(applying, key=lambda record: record.is_constraint):
        if record.unsupported is not None or (record.is_constraint and record.key not in merged):
            continue
        combined = _merge(merged[record.key], record) if record.key in merged else record
        if isinstance(combined, Problem):
            failures.append(combined)
        else:
            merged[record.key] = combined
    return list(merged.values()), failures


def _merge(first: Requirement, second: Requirement) -> Union[Requirement, Problem]:
    """Combine two requirements for one project, or say why they cannot be."""
    where = f"{first.text} ({first.origin}) and {second.text} ({second.origin})"
    if first.url and second.url and first.url != second.url:
        return framed("conflict", first, f"{where} name different archives")
    pins = {v for v in (first.pinned_version(), second.pinned_version()) if v is not None}
    if len(pins) > 1:
        return framed("conflict", first, f"{where} pin different versions")
    hashes = first.hashes.intersection(second.hashes)
    if first.hashes and second.hashes and not hashes:
        return framed("conflict", first, f"{where} have no hash in common")
    return replace(first, url=first.url or second.url, specifier=first.specifier & second.specifier,
                   extras=first.extras | second.extras, hashes=hashes,
                   config_settings=first.config_settings + second.config_settings)  # fmt: skip


def archive_version(requirement: Requirement) -> Optional[Version]:
    """Return the version a requirement's archive will install, if peep can tell."""
    if requirement.url is None:
        return requirement.pinned_version()
    filename = url_filename(requirement.url)
    ending = next((ext for ext in ARCHIVE_EXTENSIONS if filename.lower().endswith(ext)), "")
    if re.match(r"^[0-9a-f]{7,40}$", filename[: len(filename) - len(ending)]):
        return None  # named after a commit (.../archive/1234567.zip): no version worth trusting
    parsed = parse_archive_name(filename, requirement.key)
    return parsed.version if parsed else None


MAX_TRIES = 10  # files tried per requirement when the index advertises no hashes


@dataclass
class Fetcher:
    """Find, download and verify requirements into a private directory, the verified cache first."""

    transport: Transport
    settings: FinderSettings
    environment: Environment
    workdir: str
    progress: Progress
    cache: ArchiveCache
    warn: Callable[[str], None]
    keep_failed: Optional[str] = None
    build_pins: Tuple[Requirement, ...] = ()  # --build-constraint: for builds, never installed

    def verify(self, number: int, requirement: Requirement, *, install: bool = True) -> Verdict:
        """Return the verdict for one requirement (never raises for the network)."""
        directory = os.path.join(self.workdir, "downloads", str(number))
        os.makedirs(directory, exist_ok=True)
        try:
            return (self._from_cache(directory, requirement, install)
                    or self._from_mirrors(directory, requirement, install)
                    or self._from_network(directory, requirement, install))
        except FetchError as exc:
            return framed("download", requirement, f"{as_written(requirement)}:", str(exc))

    def _from_mirrors(self, directory: str, requirement: Requirement,
                      install: bool) -> Optional[Verdict]:
        """Fetch a lock file's file from the configured indexes, by its file name. A mirror that
        lacks it leaves the lock's URL to try; one serving other bytes fails, as tampering must."""
        if not requirement.locked or requirement.url is None:
            return None
        settings = self.settings  # to reach only the indexes and find-links the user set
        indexes = ((settings.index_url,) if settings.index_url else ()) + settings.extra_index_urls
        settings = (replace(settings, no_index=True) if settings.no_index or not indexes
                    else replace(settings, index_url=indexes[0], extra_index_urls=indexes[1:]))
        filename = url_filename(requirement.url)
        unpinned = replace(requirement, url=None)
        try:
            found, _, _ = find_candidates(self.transport, unpinned, settings)
        except FetchError as exc:
            self.warn(f"peep: warning: no mirror for {filename} ({exc}); using the lock's URL")
            return None
        version = archive_version(requirement)
        served = [(c.url, filename, version, None) for c in found if c.filename == filename]
        if not served:
            return None
        try:
            return self._download(directory, requirement, install, served[:1])
        except TooLarge:
            raise  # other bytes than the lock's: tampering, not to be routed around
        except FetchError as exc:
            self.warn(f"peep: warning: mirror failed for {filename} ({exc}); "
                      "using the lock's URL")  # fmt: skip
            return None

    def _settle(self, arrived: Arrived, meta: Dict[str, object]) -> Verdict:
        """Accept a downloaded file and cache it, or keep it aside and remove it."""
        verdict = accept(arrived)
        # One fetched only to suggest its hash is cached under it too, so the run after the user
        # pastes it needs no network (accept() still decides).
        if isinstance(verdict, Verified) or verdict.kind == "missing":
            self.cache.store(arrived.path, arrived.filename, arrived.digests, meta)
        if isinstance(verdict, Verified):
            return verdict
        if verdict.kind == "mismatch" and self.keep_failed:
            self._keep_failed(arrived.path, self.keep_failed, verdict)
        _remove_quietly(arrived.path)  # never leave unverified bytes where pip could see them
        return verdict

    def _from_cache(self, directory: str, requirement: Requirement,
                    install: bool) -> Optional[Verdict]:
        """Copy the cached archive pip would choose, hashing it again as it goes, and accept it.
        Under --uploaded-prior-to, an index file only if the index said it came before then."""
        entries = self.cache.lookup(requirement.hashes) if requirement.hashes else []
        if requirement.url is not None:
            filename, version = url_filename(requirement.url), archive_version(requirement)
            named = [(sha256, path) for sha256, path, _ in entries
                     if os.path.basename(path) == filename]  # fmt: skip
            if not named:
                return None
            sha256, source = named[0]
        else:
            found: Dict[Candidate, Tuple[str, str]] = {}  # each with its (sha256, cached path)
            cutoff = self.settings.uploaded_prior_to
            for sha256, path, meta in entries:
                python, uploaded = meta.get("requires_python"), meta.get("upload_time")
                moment = iso_moment(uploaded if isinstance(uploaded, str) else None, utc=True)
                if cutoff is not None and (moment is None or moment >= cutoff):
                    continue  # too new, or from where no upload time is given
                link = Link(_path_to_url(path), hashes=(("sha256", sha256),),
                            requires_python=python if isinstance(python, str) else None)
                candidate = candidate_from_link(link, requirement.key)
                if candidate is not None:
                    found[candidate] = (sha256, path)
            chosen = choose_candidates(requirement, found, self.settings, self.environment)
            if isinstance(chosen, Rejection):
                return None
            sha256, source = found[chosen[0]]
            filename, version = chosen[0].filename, chosen[0].version
        stream = self.cache.open_file(source)
        if stream is None:
            return None
        destination = os.path.join(directory, safe_filename(filename))
        algorithms = ("sha256",) + requirement.hashes.algorithms()
        with stream, open(destination, "wb") as sink:
            digests = hash_stream(stream, algorithms, sink=sink.write)
        if digests["sha256"] != sha256 or not requirement.hashes.matches(digests):
            self.warn(f"peep: warning: the cached {filename} no longer matches its hash "
                      "(changed on disk); discarded it and fetching it again")  # fmt: skip
            self.cache.discard(sha256)
            os.remove(destination)
            return None
        self.progress.file_done(filename, os.path.getsize(destination), "cached")
        return accept(Arrived(requirement, destination, filename, digests, version, install))

    def _from_network(self, directory: str, requirement: Requirement, install: bool) -> Verdict:
        if requirement.url is not None:
            url = requirement.url
            return self._download(directory, requirement, install,
                                  [(url, url_filename(url), archive_version(requirement), None)])
        found, places, skipped = find_candidates(self.transport, requirement, self.settings)
        chosen = choose_candidates(requirement, found, self.settings, self.environment)
        if isinstance(chosen, Rejection):
            reasons = [r for r in chosen.reasons if r != "no files at all"]
            if skipped:
                reasons.append(f"{skipped} version not wanted")
            return not_found(requirement, places, sorted(reasons))
        # Worth fetching: the files vouched for, then those of unknown hash (every file, if
        # the requirement has no hash: the first then settles it, as a missing hash).
        algorithms = requirement.hashes.algorithms()
        worth = [c for c in chosen if requirement.hashes.matches(c.advertised_hashes())]
        worth += [c for c in chosen if not any(a in c.advertised_hashes() for a in algorithms)]
        vetted = [] if worth else [c.filename for c in found
                                   if requirement.hashes.matches(c.advertised_hashes())]
        if vetted:  # what fits here is unvetted: say so rather than "tampered"
            return vetted_elsewhere(requirement, vetted, chosen[0].version, self.environment)
        # Else the best file, though the index says it hashes to something
        # else: the report then shows what its bytes really hash to.
        tries = [(c.url, c.filename, c.version, c) for c in worth or chosen[:1]]
        return self._download(directory, requirement, install, tries)

    def _download(self, directory: str, requirement: Requirement, install: bool,
                  tries: Sequence[Tuple[str, str, Optional[Version], Optional[Candidate]]]
                  ) -> Verdict:  # fmt: skip
        """Download and settle each file in turn until one is not a mismatch."""
        mismatches = []
        for link, filename, version, candidate in tries[:MAX_TRIES]:
            url = link.split("#", 1)[0]
            path = os.path.join(directory, safe_filename(filename))
            _remove_quietly(path)
            digests = self.transport.download(url, path, requirement.hashes.algorithms(),
                                              self.progress.advance, max_bytes=requirement.size)
            self.progress.file_done(filename, os.path.getsize(path), "downloaded")
            if candidate is not None:  # a URL requirement's file has no index to claim a hash
                for claim in false_claims(candidate, digests):
                    self.warn(claim)
            arrived = Arrived(requirement, path, filename, digests, version, install, url)
            meta = {key: getattr(candidate, key, None)
                    for key in ("requires_python", "upload_time")}  # fmt: skip
            verdict = self._settle(arrived, meta)
            if not isinstance(verdict, Problem) or verdict.kind != "mismatch":
                return verdict
            mismatches.append(verdict)  # another file may be the vetted one
        return mismatches[0]

    def _keep_failed(self, path: str, directory: str, refused: Problem) -> None:
        """Move an archive that failed verification aside, with a note of why."""
        import shutil
        name = os.path.basename(path)
        try:
            os.makedirs(directory, exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW
            for number in itertools.count():
                destination = os.path.join(directory, f"{name}.{number}" if number else name)
                try:  # made anew, never through a link put there (shutil.move would follow it)
                    kept = os.fdopen(os.open(destination, flags, 0o644), "wb")
                    break
                except FileExistsError:
                    continue
            with kept, open(path, "rb") as stream:
                shutil.copyfileobj(stream, kept)
            note = (f"peep {__version__} kept this archive because it failed verification.\n"
                    f"file: {os.path.basename(destination)}\n"
                    f"when: {time.strftime('%Y-%m-%d %H:%M:%S %z')}\n\n"
                    f"{KINDS[refused.kind].heading}\n\n{refused.text}\n")  # fmt: skip
            write_file_safely(destination + ".peep.txt", note.encode("utf-8"))
        except OSError as exc:
            self.warn(f"peep: warning: could not keep {name} in {directory} ({exc})")


def vetted_elsewhere(requirement: Requirement, vetted: Sequence[str], version: Version,
                     environment: Environment) -> Problem:
    """Return the entry for a requirement whose vetted files are all for other platforms."""
    here = ", ".join([f"Python {environment.python_version}", *map(str, environment.tags[:1])])
    form = " --format pip" if requirement.hash_style == "pip" else ""  # the file's own form
    release = f"{requirement.name}=={version}"
    return framed("other platforms", requirement, f"{as_written(requirement)}:",
                  f"vetted: {', '.join(sorted(vetted))}", f"none of them installs on {here}",
                  f"'peep hash{form} {release}' prints a hash for every file of the release")


def verify_all(fetcher: Fetcher, requirements: Sequence[Requirement], *,
               install: bool = True) -> List[Verdict]:
    """Verify requirements in parallel; return verdicts in requirement order."""
    import concurrent.futures
    fetcher.progress.begin(len(requirements))
    offset = len(os.listdir(os.path.join(fetcher.workdir, "downloads")))
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        try:
            futures = [pool.submit(fetcher.verify, offset + number, requirement, install=install)
                       for number, requirement in enumerate(requirements)]  # fmt: skip
            return [future.result() for future in futures]
        except BaseException:  # interrupted: stop the downloads in flight, then let cleanup run
            fetcher.transport.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            raise


# --- Planning builds ----------------------------------------------------------

# What pip assumes an sdist needs when it says nothing (no [build-system]), and the
# backend it then uses: setuptools through PEP 517, never setup.py run directly.
DEFAULT_BUILD_REQUIRES = ("setuptools>=40.8.0",)
LEGACY_BACKEND = "setuptools.build_meta:__legacy__"


@dataclass(frozen=True)
class BuildSystem:
    """An sdist's [build-system], as read from its pyproject.toml."""

    requires: Tuple[str, ...]
    backend: str
    backend_path: Tuple[str, ...]
    source: str  # where the requirements came from, for messages


def read_build_system(facts: ArchiveFacts, filename: str) -> BuildSystem:
    """Return an sdist's build system; raise ArchiveError if it is not usable."""
    tomllib = _toml_module()
    try:
        document = {} if facts.pyproject is None else tomllib.loads(facts.pyproject.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ArchiveError(f"{filename}: its pyproject.toml is invalid ({exc})") from exc
    build_system = document.get("build-system")
    if build_system is None:  # pip's default then
        why = ("it has no pyproject.toml" if facts.pyproject is None
               else "its pyproject.toml has no [build-system]")
        return BuildSystem(DEFAULT_BUILD_REQUIRES, LEGACY_BACKEND, (), f"pip's default, as {why}")
    requires = build_system.get("requires") if isinstance(build_system, dict) else None
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        raise ArchiveError(f"{filename}: build-system.requires in its pyproject.toml is missing "
                           "or not a list of strings")  # fmt: skip
    backend = build_system.get("build-backend", LEGACY_BACKEND)
    if not isinstance(backend, str) or not re.fullmatch(r"\s*[\w.]+\s*(:\s*[\w.]+\s*)?", backend):
        raise ArchiveError(f"{filename}: build-system.build-backend {backend!r} is not valid")
    backend_path = build_system.get("backend-path", [])
    if not isinstance(backend_path, list) or not all(isinstance(p, str) for p in backend_path):
        raise ArchiveError(f"{filename}: build-system.backend-path is not a list of strings")
    for entry in backend_path:
        if os.path.isabs(entry) or ".." in re.split(r"[\\/]", entry):
            raise ArchiveError(f"{filename}: build-system.backend-path {entry!r} leaves the "
                               "source tree")  # fmt: skip
    return BuildSystem(tuple(requires), backend, tuple(backend_path), "its pyproject.toml")


def static_dependencies(facts: Optional[ArchiveFacts]) -> Optional[Tuple[str, ...]]:
    """Return an archive's Requires-Dist, or None if it cannot be known unbuilt (PEP 643)."""
    if facts is None:
        return None
    message = facts.headers()  # no PKG-INFO: no headers, so Metadata-Version "0" below
    if facts.kind == "sdist":
        version = _parse_version(str(message.get("Metadata-Version", "0")))
        dynamic = [str(field).strip().lower() for field in message.get_all("Dynamic") or []]
        if version is None or version < Version("2.2") or "requires-dist" in dynamic:
            return None
    return tuple(str(value) for value in message.get_all("Requires-Dist") or [])


def _requires_dist(facts: Optional[ArchiveFacts]) -> List[PackagingRequirement]:
    """Return the static dependencies that parse (pip skips a malformed one too)."""
    found = []
    for text in static_dependencies(facts) or ():
        try:
            found.append(PackagingRequirement(text))
        except InvalidRequirement:
            continue
    return found


def _dependency_applies(dependency: PackagingRequirement, extras: Iterable[str],
                        markers: Mapping[str, str]) -> bool:
    """Say whether a dependency's marker holds here, with any of ``extras`` asked for."""
    if dependency.marker is None:
        return True
    for extra in [""] + sorted(extras):
        try:
            if marker_applies(dependency.marker, dict(markers, extra=extra)):
                return True
        except ValueError:
            continue  # the package's metadata is broken; pip skips such a line too
    return False


def fitting_wheels(available: Mapping[str, Sequence[Verified]],
                   needed: PackagingRequirement) -> List[Verified]:
    """Return the verified wheels that satisfy ``needed``: what a build can use."""
    return [wheel for wheel in available.get(canonicalize_name(needed.name), [])
            if wheel.facts.version is not None
            and needed.specifier.contains(wheel.facts.version, prereleases=True)]


@dataclass
class BuildPlan:
    """The verified wheels one sdist's build environment holds, and what is missing."""

    wheels: Dict[str, Verified] = field(default_factory=dict)  # key -> wheel
    missing: List[Tuple[str, str]] = field(default_factory=list)  # (requirement, why)
    refused: List[str] = field(default_factory=list)


def _wheels_by_project(verified: Sequence[Verified]) -> Dict[str, List[Verified]]:
    """Return the verified wheels of each project, oldest version first."""
    by_key: Dict[str, List[Verified]] = {}
    for wheel in sorted(verified, key=lambda w: w.facts.version or Version("0")):
        if wheel.facts.kind == "wheel":
            by_key.setdefault(wheel.facts.name, []).append(wheel)
    return by_key


def plan_build(requires: Iterable[Tuple[str, str]], verified: Sequence[Verified],
               markers: Mapping[str, str]) -> BuildPlan:
    """Choose the newest verified wheel that fits, once per project, for build requirements and
    all they depend on (installed with --no-deps); refuse a direct URL anywhere in the chain."""
    available = _wheels_by_project(verified)
    sdist_keys = {v.requirement.key for v in verified if v.facts.kind == "sdist"}
    plan = BuildPlan()
    expanded: Set[Tuple[str, FrozenSet[str]]] = set()
    pending: List[Tuple[str, str, FrozenSet[str]]] = [(t, why, frozenset()) for t, why in requires]
    while pending:
        text, why, extras = pending.pop(0)
        try:
            needed = PackagingRequirement(text)
        except InvalidRequirement as exc:
            plan.refused.append(f"build requirement {text!r} ({why}) is not valid: {exc}")
            continue
        if not _dependency_applies(needed, extras, markers):
            continue
        if needed.url:
            plan.refused.append(f"build requirement {text!r} ({why}) is a direct URL, which would "
                                f"be fetched unverified; list {needed.name} in your requirements "
                                "with its hash instead, and name it without a URL")  # fmt: skip
            continue
        key = canonicalize_name(needed.name)
        chosen = plan.wheels.get(key)
        if chosen is None:
            fitting = fitting_wheels(available, needed)
            if not fitting:
                only_sdist = "; only an sdist of it was verified" if key in sdist_keys else ""
                plan.missing.append((text, why + only_sdist))
                continue
            chosen = plan.wheels[key] = fitting[-1]
        elif chosen.version and not needed.specifier.contains(chosen.version, prereleases=True):
            plan.missing.append((text, f"{why}; {needed.name} {chosen.version} is chosen already"))
            continue
        wanted = (key, frozenset(needed.extras))
        if wanted not in expanded:
            expanded.add(wanted)
            label = f"a dependency of {needed.name} {chosen.version}"
            pending += [(str(d), label, wanted[1]) for d in _requires_dist(chosen.facts)]
    return plan


# Omitted dependencies: peep installs with --no-deps, so one left out of the requirements would
# break the environment silently. Each verified archive's metadata is read (never run) instead.


def _dependency_met(dependency: PackagingRequirement, provided: Mapping[str, Optional[Version]],
                    installed: Mapping[str, str]) -> bool:
    """Say whether what is provided, or else installed, satisfies a dependency."""
    key = canonicalize_name(dependency.name)
    if key in provided:  # what the requirements provide replaces what is installed
        version = provided[key]
        return version is None or dependency.specifier.contains(version, prereleases=True)
    have = _parse_version(installed[key]) if key in installed else None
    return have is not None and dependency.specifier.contains(have, prereleases=True)


def _omitted(requirement: Requirement, dependency: PackagingRequirement, needed_by: str) -> Problem:
    """Return the entry for a dependency that nothing provides."""
    extras = f"[{','.join(sorted(dependency.extras))}]" if dependency.extras else ""
    wanted = f"{dependency.name}{extras}{dependency.specifier}"
    needs = f"{wanted}, needed by {needed_by} ({requirement.origin})"
    return framed("omitted", requirement, needs, dependency=wanted)


class Suggesting(NamedTuple):
    """What counts as provided, and what with_suggestions asks of the index, and by whom."""

    fetcher: Fetcher
    is_met: Callable[[PackagingRequirement], object]  # true if provided
    markers: Mapping[str, str]
    binary_from: FinderSettings = FinderSettings()  # the file's settings: --only-binary if needed


def omitted_dependency_failures(verified: Sequence[Verified], asking: Suggesting) -> List[Problem]:
    """Report each dependency of what is to be installed that nothing provides."""
    markers = asking.markers
    installing = [item for item in verified if item.install]
    parsed = {item.requirement.key: _requires_dist(item.facts) for item in installing}
    extras: Dict[str, Set[str]] = {key: set() for key in parsed}  # asked of each project
    for item in verified:
        extras.setdefault(item.requirement.key, set()).update(item.requirement.extras)
    # Extras flow along dependencies that apply, and they in turn make more
    # dependencies apply: repeat until nothing changes (extras are finite).
    while True:
        flowing = [(canonicalize_name(d.name), set(d.extras)) for key, needs in parsed.items()
                   for d in needs if d.extras and _dependency_applies(d, extras[key], markers)]
        if all(wanted <= extras.get(name, set()) for name, wanted in flowing):
            break
        for name, wanted in flowing:
            extras.setdefault(name, set()).update(wanted)
    return [_omitted(item.requirement, dependency,
                     f"{item.requirement.name}=={item.version}" if item.version else item.filename)
            for item in installing for dependency in parsed[item.requirement.key]
            if _dependency_applies(dependency, extras[item.requirement.key], markers)
            and not asking.is_met(dependency)]  # fmt: skip


def _missing_key(text: str) -> Optional[str]:
    """Return the project a missing requirement asks an index for: None if invalid or a URL."""
    try:
        needed = PackagingRequirement(text)
    except InvalidRequirement:
        return None
    return None if needed.url else canonicalize_name(needed.name)  # only a URL's file will do


def _unmet_needs(asking: Suggesting, facts: Optional[ArchiveFacts],
                 extras: Set[str]) -> List[PackagingRequirement]:
    """Return what an unvetted file's own metadata needs that nothing provides."""
    return [dependency for dependency in _requires_dist(facts) if not asking.is_met(dependency)
            and _dependency_applies(dependency, extras, asking.markers)]  # fmt: skip


def _suggested(verdict: Verdict, hash_style: str) -> str:
    """Return the hash block of a file fetched for its hash, in ``hash_style`` (or why none)."""
    if not isinstance(verdict, Problem):
        return "(it is vetted already)"
    if verdict.kind == "missing":
        return "\n".join(hash_lines(verdict.pinned_line, [verdict.sha256], hash_style))
    if verdict.kind == "not found":
        return f"(no file on the indexes satisfies {verdict.requirement.text})"
    return f"(could not fetch it: {verdict.text.splitlines()[-1].strip()})"


def _suggestion_verdicts(asking: Suggesting, pending: Dict[str, PackagingRequirement],
                         parents: Dict[str, Problem]) -> Tuple[Dict[str, Verdict], List[Problem]]:
    """Return a verdict per project, and an entry for each project the suggested files need in
    turn (rounds of downloads, never runs), under the kind and requirement of what led to it."""
    verdicts: Dict[str, Verdict] = {}
    more: List[Problem] = []
    while pending:
        this_round = sorted(pending.items())
        asked = [Requirement(text=f"{needed.name}{needed.specifier}", name=needed.name,
                             origin=parents[key].requirement.origin, specifier=needed.specifier,
                             extras=frozenset(needed.extras))
                 for key, needed in this_round]  # fmt: skip
        following: Dict[str, PackagingRequirement] = {}
        verdicts_now = verify_all(asking.fetcher, asked, install=False)
        for (key, needed), verdict in zip(this_round, verdicts_now):  # noqa: B905 (3.9)
            verdicts[key] = verdict
            facts = verdict.facts if isinstance(verdict, Problem) else None
            for dependency in _unmet_needs(asking, facts, set(needed.extras)):
                name = canonicalize_name(dependency.name)
                if name not in verdicts and name not in pending and name not in following:
                    following[name] = dependency
                    label = f"{facts.name} {facts.version}" if facts is not None else key
                    wanted = f"{dependency.name}{dependency.specifier}"
                    what = f"{wanted}, a dependency of {label} (suggested above)"
                    parent = parents[key]
                    parents[name] = framed(parent.kind, parent.requirement, what, dependency=wanted)
                    more.append(parents[name])
        pending = following
    return verdicts, more


def with_suggestions(asking: Suggesting, failures: Sequence[Problem]) -> List[Problem]:
    """Give each missing project one hash block (of the newest file that fits every failure naming
    it, in that failure's file's format); report what its file needs, with blocks."""
    parents: Dict[str, Problem] = {}  # the first failure naming each project
    pending: Dict[str, PackagingRequirement] = {}  # one allowing what every failure allows
    split = set()  # builds share one version of a build dependency: it may fit none of them all
    for failure in failures:
        key = _missing_key(failure.dependency)
        if key is None:
            continue  # invalid, or a direct URL: no block for it
        needed = PackagingRequirement(failure.dependency)
        if parents.setdefault(key, failure).dependency != failure.dependency:
            split.add(key)
        merged = pending.setdefault(key, needed)  # the first, then narrowed by each other
        merged.specifier &= needed.specifier
        merged.extras |= needed.extras
    verdicts, more = _suggestion_verdicts(asking, pending, parents)
    shown = []  # each with its project's block to paste indented under it
    for failure in list(failures) + more:
        project = _missing_key(failure.dependency) or ""
        if project not in verdicts:
            shown.append(failure)
            continue
        block = _suggested(verdicts[project], failure.requirement.hash_style)
        if "binary" not in asking.binary_from.allowed_formats(project):
            block = f"--only-binary {verdicts[project].requirement.name}\n{block}"
        elif project in split and block.startswith("(no"):
            block = (f"(no one version fits them all, {pending[project]}: vet a wheel of one of "
                     "these instead)")
        below = "".join(f"\n        {line}" for line in block.splitlines())
        shown.append(replace(failure, text=f"{failure.text}:{below}"))
    return shown


def config_settings(item: Verified, options: InstallOptions) -> Dict[str, Union[str, List[str]]]:
    """Merge the command line's -C KEY=VALUE settings and the requirement's as pip does."""
    values: Dict[str, List[str]] = {}
    for key, value in options.config_settings() + list(item.requirement.config_settings):
        values.setdefault(key, []).append(value)
    return {key: found if len(found) > 1 else found[0] for key, found in values.items()}


BUILD_LOG_TAIL = 30  # lines of a failed build's output shown in the report
BUILD_LOG_TAIL_BYTES = 8 << 10  # at most, however long its lines (a build writes up to 4 GiB)


def _log_tail(log_path: str) -> str:
    """Return the last lines of a build's log, read from its last BUILD_LOG_TAIL_BYTES only."""
    try:
        with open(log_path, "rb") as stream:
            stream.seek(max(0, os.fstat(stream.fileno()).st_size - BUILD_LOG_TAIL_BYTES))
            lines = stream.read(BUILD_LOG_TAIL_BYTES).decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    return "\n".join(f"        | {line}" for line in lines[-BUILD_LOG_TAIL:])


def refused_build(item: Verified, reason: str) -> Problem:
    """Return why peep will not build a verified sdist: its build could reach unverified code."""
    return framed("refused build", item.requirement, f"{item.filename}: {reason}",
                  f"({item.requirement.origin})")


def build_failed(item: Verified, reason: str, log: str = "") -> Problem:
    """Return a verified sdist's failed build, with the tail of what it printed."""
    text = f"    {item.filename}: {reason}" + (f"\n{log}" if log else "")
    return Problem("build failed", item.requirement, text)


# --- Building sdists [trust] --------------------------------------------------
#
# peep is the build frontend: pip never builds anything. peep extracts each verified sdist as read
# and calls its PEP 517 hooks with the interpreter of a bare virtual environment (no pip, no system
# site-packages) holding only the verified wheels the build needs: every Python process the build
# starts sees those and the standard library only. Builds get an allowlist of your variables, no
# index, no pip configuration, and proxies that lead to a closed port. _HOOK_RUNNER confines each
# hook before anything of its environment runs (a session of its own, rlimits, seccomp; under
# --build-network=none namespaces and a read-only file system), and stops what it leaves running.

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "ftp_proxy", "no_proxy")
HOOK_REPLY_LIMIT = 16 << 20  # bytes: a list of requirements, a file name
# Every pip peep runs takes only the files it is handed, by their hashes, as wheels.
PIP_VERIFIED_ONLY = ("--no-deps", "--no-index", "--require-hashes", "--only-binary", ":all:",
                     "--disable-pip-version-check")

# Run by the build environment's interpreter as ``python -I -S``: without site,
# nothing of the environment (its .pth files) runs before the runner has
# confined itself. Standard library only; every number for the kernel is named.
_HOOK_RUNNER = r"""
import ctypes, json, os, signal, struct, sys

# peep stops a hook with SIGINT: one ignored since peep started (a shell's background job) is not.
signal.signal(signal.SIGINT, signal.default_int_handler)

with open(sys.argv[1], encoding="utf-8") as stream:
    spec = json.load(stream)

# Opened before confine(): a step that fails once / is read-only and /tmp covered can say why.
reply_stream = open(spec["output"], "w", encoding="utf-8")

def answer(**reply):
    json.dump(reply, reply_stream)
    reply_stream.close()
    sys.exit(0)

# Limits real builds survive: no core files (holding the build's memory), no file over 4 GiB, a
# sane number of open files. No memory or process caps: compilers and parallel builds use both.
LIMITS = (("RLIMIT_CORE", 0), ("RLIMIT_FSIZE", 4 << 30), ("RLIMIT_NOFILE", 65536))

# Linux's names for what the namespaces and mounts below ask for.
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000
CLONE_NEWPID, CLONE_NEWIPC, PR_SET_CHILD_SUBREAPER = 0x20000000, 0x08000000, 36
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x8, 0x1000, 0x4000, 0x40000
MOUNT_SETATTR, AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY = 442, -100, 0x8000, 0x1
PR_CAPBSET_DROP, CAPABILITY_VERSION_3 = 24, 0x20080522
CAPABILITY_SETS = 2 * 3 * 4  # effective, permitted, inheritable: two 32-bit words each
libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None

class Unavailable(Exception):
    pass  # this system cannot confine the build as asked: no hook runs

def check(result, what):
    if result != 0:
        raise Unavailable(what + ": " + os.strerror(ctypes.get_errno()))

def enter_user_namespace():
    # Keep our own ids; without a mapping they would read as nobody.
    uid, gid = os.geteuid(), os.getegid()
    namespaces = CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC
    check(libc.unshare(namespaces), "no user namespace")
    try:
        for name, text in (("setgroups", "deny"), ("uid_map", "%d %d 1" % (uid, uid)),
                           ("gid_map", "%d %d 1" % (gid, gid))):
            with open("/proc/self/" + name, "w") as stream:
                stream.write(text)
    except OSError as exc:
        raise Unavailable("cannot map ids in a user namespace: " + exc.strerror) from None

def set_read_only(path, read_only, flags):
    attributes = struct.pack("QQQQ", MOUNT_ATTR_RDONLY if read_only else 0,
                             0 if read_only else MOUNT_ATTR_RDONLY, 0, 0)
    check(libc.syscall(MOUNT_SETATTR, AT_FDCWD, path.encode(), flags, attributes, len(attributes)),
          "cannot make %s %s (Linux 5.12 or later is needed)"
          % (path, "read-only" if read_only else "writable"))

def mount(source, target, kind, flags, data=None):
    check(libc.mount(source and source.encode(), target.encode(), kind and kind.encode(), flags,
                     data and data.encode()), "cannot mount " + target)

# The devices builds use; the rest of /dev (disks, consoles, the kernel log) is not there at
# all: root may open them for writing, read-only mounts or not.
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
DEVICE_LINKS = (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx"))

def private_devices():
    handles = [(name, os.open("/dev/" + name, os.O_PATH)) for name in DEVICES
               if os.path.exists("/dev/" + name)]
    mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755")
    for name, handle in handles:
        open("/dev/" + name, "w").close()
        mount("/proc/self/fd/%d" % handle, "/dev/" + name, None, MS_BIND)
        os.close(handle)
    for name, target in DEVICE_LINKS:
        os.symlink(target, "/dev/" + name)
    for name in ("pts", "shm"):
        os.mkdir("/dev/" + name)

def confine_file_system():
    # Everything read-only, a private /tmp and /dev/shm, and the build's own
    # directories (opened before /tmp was covered) mounted again at their own
    # paths: its workspace writable; its environment and stdlib read-only.
    readable = spec["readable"] + [sys.base_prefix, sys.base_exec_prefix]
    os.chdir("/")  # not peep's directory, maybe in your /tmp: reached through /proc/PID/cwd
    keep = [(path, False) for path in readable if path != "/"]
    keep += [(path, True) for path in spec["writable"]]
    keep.sort(key=lambda item: (len(item[0]), item[1]))  # parents first
    handles = [(path, writable, os.open(path, os.O_PATH)) for path, writable in keep]
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    set_read_only("/", True, AT_RECURSIVE)
    private_devices()
    for private in ("/tmp", "/dev/shm"):
        if os.path.isdir(private):
            mount("tmpfs", private, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    # Terminals of its own: yours (/dev/pts/N) are out of its sight, so it cannot write escape
    # sequences that make your terminal type a reply.
    mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
          "newinstance,ptmxmode=0666,mode=0620")
    for path, writable, handle in handles:
        os.makedirs(path, exist_ok=True)
        mount("/proc/self/fd/%d" % handle, path, None, MS_BIND | MS_REC)
        if writable:
            set_read_only(path, False, 0)
        os.close(handle)

def drop_capabilities():
    # The user namespace gave this process every capability over its mounts, enough to make them
    # writable again. The bounding set goes too, so that nothing it runs (as root, when peep runs
    # as root) gets them back; a namespace the build makes itself has copies of them, locked.
    with open("/proc/sys/kernel/cap_last_cap") as stream:
        for capability in range(int(stream.read()) + 1):
            check(libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0), "cannot drop capabilities")
    header = struct.pack("Ii", CAPABILITY_VERSION_3, 0)  # this process
    check(libc.capset(header, bytes(CAPABILITY_SETS)), "cannot drop capabilities")

# The seccomp filter, in BPF: load a 32-bit word of the seccomp data, compare it, jump, return.
BPF_LOAD, BPF_JEQ, BPF_JSET, BPF_AND, BPF_RETURN = 0x20, 0x15, 0x45, 0x54, 0x06
ALLOW, REFUSE = 0x7FFF0000, 0x00050000 | 1  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | EPERM
# Steps (code, value, jump if true, jump if false) that load the call's number, its
# architecture, the low word of its 64-bit arguments 0 and 1 (little-endian); then verdicts.
LOAD_NR, LOAD_ARCH, LOAD_ARG_0, LOAD_ARG_1 = [(BPF_LOAD, at, None, None) for at in (0, 4, 16, 24)]
ALLOWED, REFUSED = (BPF_RETURN, ALLOW, None, None), (BPF_RETURN, REFUSE, None, None)
X32_CALL = 0x40000000  # x86-64's x32 ABI, another table; no call has it elsewhere
TIOCSTI, TIOCLINUX = 0x5412, 0x541C  # push input into a terminal; Linux console commands
AF_UNIX, AF_INET, AF_INET6, AF_NETLINK = 1, 2, 10, 16
SOCK_STREAM, SOCK_FLAGS = 1, 0o4000 | 0o2000000  # SOCK_NONBLOCK | SOCK_CLOEXEC
IO_URING = (425, 426, 427)  # setup, enter, register: the same numbers on both
PIDFD_GETFD = 438  # take a descriptor from another process: the same on both
SYSTEM_CALLS = {  # AUDIT_ARCH_*, then the calls numbered per architecture
    "x86_64": dict(arch=0xC000003E, ioctl=16, socket=41, socketpair=53, ptrace=101,
                   process_vm_readv=310, process_vm_writev=311, keyrings=(248, 249, 250)),
    "aarch64": dict(arch=0xC00000B7, ioctl=29, socket=198, socketpair=199, ptrace=117,
                    process_vm_readv=270, process_vm_writev=271, keyrings=(217, 218, 219)),
}
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2

def refuse_if(value):
    return (BPF_JEQ, value, "refuse", None)

def filter_steps(calls, no_network):
    # Both modes: only this architecture's calls; no io_uring (its requests are calls the filter
    # never sees); no TIOCSTI or TIOCLINUX (argument 1's low word). --build-network=none also:
    # sockets only of the families the network namespace isolates; stream socketpairs only (a
    # datagram pair can sendto() a path); no reaching into another of your processes, which has the
    # network. Both modes again: no kernel keyrings (add_key, request_key, keyctl): no namespace
    # holds them, and yours (Kerberos tickets, say) are credentials.
    refused, checked = IO_URING + calls["keyrings"], ["ioctl"]
    if no_network:
        refused += (calls["ptrace"], calls["process_vm_readv"], calls["process_vm_writev"],
                    PIDFD_GETFD)
        checked += ["socket", "socketpair"]
    steps = [LOAD_ARCH, (BPF_JEQ, calls["arch"], None, "refuse"),
             LOAD_NR, (BPF_JSET, X32_CALL, "refuse", None)]
    steps += [refuse_if(number) for number in refused]
    steps += [(BPF_JEQ, calls[name], name, None) for name in checked]
    return steps + [
        ALLOWED,  # then the checks of arguments, socket's reached under none only
        "ioctl", LOAD_ARG_1, refuse_if(TIOCSTI), refuse_if(TIOCLINUX), ALLOWED,
        "socket", LOAD_ARG_0,
        *[(BPF_JEQ, family, "allow", None) for family in (AF_INET, AF_INET6, AF_NETLINK)], REFUSED,
        "socketpair", LOAD_ARG_0, (BPF_JEQ, AF_UNIX, None, "refuse"),
        LOAD_ARG_1, (BPF_AND, 0xFFFFFFFF & ~SOCK_FLAGS, None, None),
        (BPF_JEQ, SOCK_STREAM, "allow", "refuse"),
        "allow", ALLOWED, "refuse", REFUSED]

def assemble(steps):
    # A string names the next step; a jump names a step, or None: the next.
    labels, program = {}, []
    for step in steps:
        if isinstance(step, str):
            labels[step] = len(program)
        else:
            program.append(step)

    def offset(label, here):
        return 0 if label is None else labels[label] - here - 1
    return [struct.pack("HBBI", code, offset(yes, here), offset(no, here), value)
            for here, (code, value, yes, no) in enumerate(program)]

def install_filter(no_network):
    calls = SYSTEM_CALLS.get(os.uname().machine)
    if calls is None:
        raise Unavailable("no seccomp filter for " + os.uname().machine)
    program = assemble(filter_steps(calls, no_network))
    code = ctypes.create_string_buffer(b"".join(program))
    header = struct.pack("HxxxxxxP", len(program), ctypes.addressof(code))
    check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no seccomp filter")
    check(libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.c_char_p(header), 0, 0),
          "no seccomp filter")

def confine():
    # peep started this process in a session of its own, stdin /dev/null.
    no_network = spec["network"] == "none"
    if os.name == "posix":
        import resource
        for name, cap in LIMITS:
            which = getattr(resource, name)
            soft, hard = resource.getrlimit(which)
            capped = [cap if v == resource.RLIM_INFINITY else min(v, cap) for v in (soft, hard)]
            resource.setrlimit(which, tuple(capped))
    if not sys.platform.startswith("linux"):
        if no_network:
            raise Unavailable("namespaces and seccomp are Linux's")
    elif no_network:
        # A user namespace even for root, who could otherwise setns() back into peep's network.
        try:
            enter_user_namespace()
            confine_file_system()
            drop_capabilities()
        except OSError as exc:
            raise Unavailable("cannot confine the file system: " + str(exc)) from None
        install_filter(True)
    elif os.uname().machine in SYSTEM_CALLS:
        install_filter(False)  # else the new session alone stops TIOCSTI, unless peep is root

def children():
    mine = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/stat" % entry) as stream:
                if int(stream.read().rpartition(")")[2].split()[1]) == os.getpid():
                    mine.append(int(entry))
        except (OSError, IndexError, ValueError):
            pass  # gone
    return mine

def supervise():
    # The hook runs in a child; this process waits, then stops whatever the build left running,
    # even what left the session (setsid): what is orphaned comes to this process (a subreaper).
    # Under none the child is the first process of a PID namespace of its own: when it ends, every
    # process in it ends, and none of them sees this one, or any of yours.
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    child = os.fork()
    if child == 0:
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # peep's interrupt is the hook's to act on
    status = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
    for _ in range(1000):  # a round for each generation that forks while it is stopped
        left = children()
        if not left:
            break
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass
    os._exit(status if status >= 0 else 128 - status)

try:
    confine()
except Unavailable as exc:
    answer(unavailable=str(exc), network=spec["network"])
if libc is not None:
    supervise()
import site  # the build environment's site-packages, and its .pth files, now
site.main()
if spec["hook"] is None:
    answer(result=None)
import importlib
sys.path[:0] = spec["backend_path"]
os.chdir(spec["source"])
module, _, attributes = spec["backend"].partition(":")
backend = importlib.import_module(module.strip())
for attribute in filter(None, attributes.strip().split(".")):
    backend = getattr(backend, attribute)
hook = getattr(backend, spec["hook"], None)
if hook is None:
    answer(missing=True)
answer(result=hook(**spec["kwargs"]))
"""


def pip_runner() -> str:
    """Return what runs this interpreter's pip (found, not imported) under another interpreter."""
    import importlib.util
    spec = importlib.util.find_spec("pip")
    if spec is None or not spec.submodule_search_locations:
        raise BuildError("pip is not importable by the Python running peep")
    location = list(spec.submodule_search_locations)[0]
    runner = os.path.join(location, "__pip-runner__.py")  # pip 22.3+: puts only pip on the path
    return runner if os.path.exists(runner) else location


def closed_network(environment: Mapping[str, str], port: int) -> Dict[str, str]:
    """Return ``environment`` with no index, no pip configuration, no retries and no way out."""
    closed = {key: value for key, value in environment.items()
              if key.lower() not in PROXY_VARIABLES}  # fmt: skip
    closed.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_RETRIES="0",
                  PYTHONNOUSERSITE="1")  # fmt: skip
    for key in PROXY_VARIABLES:
        closed[key] = closed[key.upper()] = "" if key == "no_proxy" else f"http://127.0.0.1:{port}"
    return closed


def closed_network_environment(port: int) -> Dict[str, str]:
    """Return the environment of the pip that installs: yours, its network closed."""
    return closed_network({key: value for key, value in scrubbed_pip_environment().items()
                           if key not in ("PYTHONPATH", "PYTHONSTARTUP")}, port)  # fmt: skip


# A build's environment is made from this allowlist of your variables (and
# those you name in PEEP_BUILD_ENV), never from the whole of yours: your
# tokens, cloud credentials and agent sockets stay out of every build.
BUILD_VARIABLES = frozenset((
    # where things are, who you are, how text is shown
    "PATH HOME USER LOGNAME LANG LANGUAGE TZ TERM LD_LIBRARY_PATH SOURCE_DATE_EPOCH "
    # compilers and build tools
    "CC CXX CPP LD AR ARFLAGS RANLIB NM STRIP FC CFLAGS CXXFLAGS CPPFLAGS FFLAGS LDFLAGS LDSHARED "
    "MAKEFLAGS PKG_CONFIG PKG_CONFIG_PATH CMAKE_ARGS CMAKE_GENERATOR CMAKE_BUILD_PARALLEL_LEVEL "
    "CMAKE_PREFIX_PATH MACOSX_DEPLOYMENT_TARGET ARCHFLAGS CARGO_HOME RUSTUP_HOME "
    # what Windows programs need to start, and where MSVC's files are
    "SYSTEMROOT WINDIR COMSPEC PATHEXT USERPROFILE APPDATA LOCALAPPDATA PROGRAMDATA PROGRAMFILES "
    "PROGRAMFILES(X86) NUMBER_OF_PROCESSORS PROCESSOR_ARCHITECTURE INCLUDE LIB LIBPATH"
).split())


def build_variables(port: int, private_tmp: str) -> Dict[str, str]:
    """Return the environment of a build, and of the pip that prepares one."""
    named = BUILD_VARIABLES | set(os.environ.get("PEEP_BUILD_ENV", "").replace(",", " ").split())
    yours = {key: value for key, value in os.environ.items()
             if (key in named or key.startswith("LC_"))
             and not key.upper().startswith(("PIP_", "PYTHON"))}  # never, even if named
    return dict(closed_network(yours, port), TMPDIR=private_tmp, TEMP=private_tmp, TMP=private_tmp)


def _waited(process: subprocess.Popen[Any], wait: Callable[[], int], *, group: bool = False,
            during_pip: bool = False) -> int:  # fmt: skip
    """Return ``wait()``, the child's status. A signal raises Interrupted, any other error itself,
    once the child is stopped and waited for: nothing outlives peep (``group``: its session too)."""
    import contextlib
    import subprocess

    def send(signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):  # gone, group and all
            (os.killpg if group else os.kill)(process.pid, signum)  # never reaped when sent

    try:
        return wait()
    except (Interrupted, KeyboardInterrupt) as exc:
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        raise Interrupted(signum, during_pip=during_pip) from exc
    finally:
        if process.poll() is None:
            send(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                send(signal.SIGKILL)
                process.wait()
        if group:  # what the build started and left behind, ignoring SIGINT or not
            send(signal.SIGKILL)


def run_logged(command: Sequence[str], environment: Mapping[str, str], log_path: str, *,
               session: bool = False) -> int:  # fmt: skip
    """Run a command, its output to a log file; return its status. ``session``: its own, with
    no terminal to type into (TIOCSTI); what it leaves is stopped."""
    import subprocess
    with open(log_path, "ab") as log:
        process = subprocess.Popen(list(command), env=dict(environment), stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=session)
        return _waited(process, process.wait, group=session)  # all stopped before pip runs


class BuildError(PeepError):
    """A build step failed; ``log`` holds what it printed."""

    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message)
        self.log = log


def _private_directory(parent: str, name: str) -> str:
    directory = os.path.join(parent, name)
    os.makedirs(directory, exist_ok=True)
    return directory


# Where a PEP 517 hook runs: its source tree, its build system, its writable workspace.
HookPlace = Tuple[str, BuildSystem, str]


class Builder:
    """Build environments (shared between sdists that need the same wheels) and hooks."""

    def __init__(self, workdir: str, *, network: str, port: int, say: Callable[[str], None],
                 echo: Optional[Callable[[str], None]]) -> None:  # fmt: skip
        self.root = _private_directory(workdir, "build")
        self.network, self.port, self.say = network, port, say
        self.echo = echo  # where build output goes as it is made (-v), if anywhere
        self._environments: Dict[Tuple[str, ...], str] = {}
        self._counter = itertools.count()

    def new_directory(self, kind: str) -> str:
        directory = os.path.join(self.root, f"{kind}-{next(self._counter)}")
        os.makedirs(directory)  # never one that is there already
        return directory

    def check_isolation(self) -> Optional[str]:
        """Return why --build-network=none cannot work here, or None if it can."""
        try:
            probe = (self.root, BuildSystem((), "", (), ""), self.new_directory("probe"))
            self.call_hook({}, probe, None, {})
        except BuildError as exc:
            return str(exc)
        return None

    def build_environment(self, wheels: Mapping[str, Verified]) -> str:
        """Return a bare virtual environment holding exactly these verified wheels."""
        key = tuple(sorted(wheel.sha256 for wheel in wheels.values()))
        if key in self._environments:
            return self._environments[key]
        import venv  # only builds need it
        directory = self.new_directory("env")
        bare = os.path.join(directory, "venv")  # no pip, no system site-packages
        venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(bare)
        scripts = ("Scripts", "python.exe") if os.name == "nt" else ("bin", "python")
        python = os.path.join(bare, *scripts)
        log_path = os.path.join(directory, "pip.log")
        if wheels:
            pinned = sorted(wheels.items())
            self.say("peep: preparing a build environment with "
                     + ", ".join(f"{name} {wheel.version}" for name, wheel in pinned))
            listing = os.path.join(directory, "requirements.txt")
            with open(listing, "w", encoding="utf-8") as stream:
                stream.writelines(f"{name} @ {_path_to_url(wheel.path)} "
                                  f"--hash=sha256:{wheel.sha256}\n" for name, wheel in pinned)
            # The environment's own interpreter runs pip, so the wheels and their scripts land
            # in it; --ignore-installed, since pip's own directory is on that pip's path.
            status = run_logged(
                [python, "-I", pip_runner(), "install", "--ignore-installed", *PIP_VERIFIED_ONLY,
                 "--no-compile", "-r", listing],
                build_variables(self.port, _private_directory(directory, "tmp")), log_path)
            if status != 0:
                raise BuildError(f"pip could not install the build dependencies (exit status "
                                 f"{status})", _log_tail(log_path))
        self._environments[key] = python
        return python

    def call_hook(self, wheels: Mapping[str, Verified], place: HookPlace, hook: Optional[str],
                  kwargs: Mapping[str, object]) -> object:  # fmt: skip
        """Call one PEP 517 hook (None: only confine) in the environment of these wheels."""
        import json
        python = self.build_environment(wheels)
        source, system, workspace = place
        # The spec and the log lie outside the workspace, which the build may write: a process it
        # left behind cannot loosen the next hook's confinement, nor hang peep's reading on a FIFO.
        stem = os.path.join(self.root, f"hook-{next(self._counter)}")
        readable, link = [os.path.dirname(os.path.dirname(python))], python  # its environment
        while os.path.islink(link) and len(readable) < 40:  # and each place its python links to
            link = os.path.join(os.path.dirname(link), os.readlink(link))  # (peep's, on 3.9)
            readable.append(os.path.dirname(link))
        output = os.path.join(workspace, "hook-output.json")
        _remove_quietly(output)
        spec = {"output": output, "network": self.network, "hook": hook, "kwargs": dict(kwargs),
                "writable": [workspace],  # source, wheel directory, reply, private tmp and home
                "readable": readable,  # under none, all else of /tmp is out of sight
                "backend_path": [os.path.join(source, entry) for entry in system.backend_path],
                "source": source, "backend": system.backend}  # fmt: skip
        with open(stem + ".json", "w", encoding="utf-8") as stream:
            json.dump(spec, stream)
        try:  # the build's own directories, where its hooks before may have left anything
            tmp, home, _ = [_private_directory(workspace, sub) for sub in ("tmp", "home", "wheel")]
        except OSError as exc:
            raise BuildError(f"its workspace is unusable ({exc})") from exc
        variables = build_variables(self.port, tmp)
        if self.network == "none":  # your home is read-only: the build gets one of its own
            variables["HOME"] = home
        variables["PATH"] = os.path.dirname(python) + os.pathsep + variables.get("PATH", os.defpath)
        # -S: the runner confines itself before site runs anything (see above).
        status = run_logged([python, "-I", "-S", "-c", _HOOK_RUNNER, stem + ".json"], variables,
                            stem + ".log", session=os.name == "posix")  # fmt: skip
        if self.echo is not None and os.path.exists(stem + ".log"):
            with open(stem + ".log", encoding="utf-8", errors="replace") as stream:
                for line in iter(lambda: stream.readline(BUILD_LOG_TAIL_BYTES), ""):  # bounded
                    self.echo(line.rstrip("\n"))
        return _hook_result(hook, system.backend, status, output, stem + ".log")


def _hook_result(hook: Optional[str], backend: str, status: int, output: str,
                 log_path: str) -> object:  # fmt: skip
    """Return what a hook's run answered, or raise BuildError saying why it did not."""
    import json
    reply: object = None
    try:  # the build could have replaced its reply with a link, a FIFO or endless nesting
        with open_regular_file(output, follow=False) as stream:
            reply = json.loads(stream.read(HOOK_REPLY_LIMIT).decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        pass  # no reply: the hook failed
    if status != 0 or not isinstance(reply, dict):
        raise BuildError(f"{hook or 'confining a build'} failed (exit status {status})",
                         _log_tail(log_path))
    if "unavailable" in reply:
        raise BuildError(f"--build-network={reply.get('network')} cannot isolate builds on this "
                         f"system ({reply['unavailable']})")
    if reply.get("missing"):
        if hook == "get_requires_for_build_wheel":
            return []
        raise BuildError(f"the backend {backend!r} has no {hook} hook")
    return reply.get("result")


@dataclass
class PendingBuild:
    """A verified sdist on its way to a wheel."""

    item: Verified
    system: BuildSystem
    workspace: str
    settings: Mapping[str, object]  # -C KEY=VALUE, for every hook
    source: str = ""
    dynamic: Tuple[str, ...] = ()
    plan: BuildPlan = field(default_factory=BuildPlan)

    def requires(self) -> List[Tuple[str, str]]:
        static = [(text, self.system.source) for text in self.system.requires]
        hook = "its backend's get_requires_for_build_wheel"
        return static + [(text, hook) for text in self.dynamic]

    def place(self) -> HookPlace:
        return self.source, self.system, self.workspace


def discover_dynamic_requirements(builder: Builder, build: PendingBuild) -> List[Problem]:
    """Extract the sdist and ask its backend what else it needs (PEP 517)."""
    item = build.item
    try:
        extracted = os.path.join(build.workspace, "src")
        read_archive(item.path, item.filename, project=item.requirement.name,
                     extract_to=extracted, read_before=item.facts)  # fmt: skip
        build.source = os.path.join(extracted, item.facts.top)
        tree = os.path.realpath(build.source)
        for entry in build.system.backend_path:
            resolved = os.path.realpath(os.path.join(build.source, entry))
            if os.path.commonpath([resolved, tree]) != tree:
                raise ArchiveError(f"{item.filename}: build-system.backend-path {entry!r} "
                                   "leaves the source tree")
        found = builder.call_hook(build.plan.wheels, build.place(), "get_requires_for_build_wheel",
                                  {"config_settings": dict(build.settings)})  # fmt: skip
    except ArchiveError as exc:
        return [refused_build(item, exc.reason())]
    except BuildError as exc:
        return [build_failed(item, str(exc), exc.log)]
    if not isinstance(found, list) or not all(isinstance(text, str) for text in found):
        reason = f"get_requires_for_build_wheel returned {found!r}, not a list of strings"
        return [refused_build(item, reason)]
    build.dynamic = tuple(found)
    return []


def build_wheel(builder: Builder, build: PendingBuild) -> Union[Verified, Problem]:
    """Build one sdist into a wheel; check it is the project and version asked for."""
    item = build.item
    output = os.path.join(build.workspace, "wheel")  # made by call_hook
    try:
        name = builder.call_hook(build.plan.wheels, build.place(), "build_wheel", {
            "wheel_directory": output, "config_settings": dict(build.settings),
            "metadata_directory": None})  # fmt: skip
    except BuildError as exc:
        return build_failed(item, str(exc), exc.log)
    if not (isinstance(name, str) and os.path.basename(name) == name
            and name.endswith(WHEEL_EXTENSION) and not os.path.islink(output)):
        return build_failed(item, f"build_wheel returned {name!r}, not a wheel it made")
    path = os.path.join(output, name)
    try:  # a regular file it made there, never read through a link (to /proc/self/mem, say)
        with open_regular_file(path, follow=False) as stream:
            digests = hash_stream(stream)
    except OSError as exc:
        return build_failed(item, f"build_wheel returned {name!r}, not a wheel it made ({exc})")
    built = Arrived(item.requirement, path, name, digests, item.version, item.install)
    verdict = accept(built, built_from=item)
    if isinstance(verdict, Problem):
        return build_failed(item, "it built a bad wheel: " + verdict.text.splitlines()[0].strip())
    return verdict


# --- Installing with pip [trust] ----------------------------------------------
#
# pip is handed the verified wheels the way its own index install sees them: one private find-links
# directory and ``name==VERSION --hash=sha256:HEX`` lines, so it records what an index install
# records: no direct_url.json (for URL requirements peep writes pip's own once pip is done: see
# "Around pip"), and `pip freeze` says name==VERSION, never a path of peep's temporary files.


def stage_verified(verified: Sequence[Verified], workdir: str) -> Tuple[str, List[Problem]]:
    """Gather verified archives into the one directory pip may look in."""
    directory = _private_directory(workdir, "verified")
    staged: Dict[str, str] = {}  # file name: the sha256 of the archive staged under it
    for item in verified:
        if item.filename not in staged:
            destination = os.path.join(directory, item.filename)
            try:
                os.link(item.path, destination)  # fails, never follows, if the name is taken
            except OSError:  # no hard links here, or a foreign entry: a private copy replaces it
                with open(item.path, "rb") as source:
                    write_file_safely(destination, source, replace_link=True)
            staged[item.filename] = item.sha256
    return directory, [framed("conflict", item.requirement,
                              f"two archives differ but are both {item.filename}")
                       for item in verified if staged[item.filename] != item.sha256]


def pip_install_command(verified: Sequence[Verified], options: InstallOptions, find_links: str,
                        requirements_file: str) -> List[str]:
    """Build pip's command line: no index, no dependencies, each wheel by name, version, hash."""
    import shlex
    lines = []
    for item in [item for item in verified if item.install]:
        named = parse_archive_name(item.filename)
        if named is None or not named.is_wheel:  # peep built every sdist; reading refused the rest
            raise AssertionError(f"not a wheel's file name: {item.filename!r}")
        settings = "".join(f" --config-settings={shlex.quote(f'{key}={value}')}"
                           for key, value in item.requirement.config_settings)  # fmt: skip
        lines.append(f"{named.name}=={named.version} --hash=sha256:{item.sha256}{settings}")
    with open(requirements_file, "w", encoding="utf-8") as stream:
        stream.write("\n".join(lines) + "\n")
    return [*pip_command(), "install", "--find-links", find_links,
            *PIP_VERIFIED_ONLY,  # pip builds nothing
            *(["--quiet"] if options.verbosity() == 0 else []),  # peep's summary line says it
            *options.pip_options,
            "--no-compile",  # last, so it wins: peep compiles afterwards (see below)
            "-r", requirements_file]  # fmt: skip


def run_pip(command: Sequence[str], err: IO[str], environment: Mapping[str, str]) -> int:
    """Run pip with its stderr streaming through to ``err``; return its status."""
    import subprocess
    process = subprocess.Popen(list(command), stderr=subprocess.PIPE, text=True,
                               errors="replace", env=dict(environment))  # fmt: skip
    stderr = process.stderr
    assert stderr is not None

    def stream() -> int:
        for line in stderr:  # naming the archives' files, as pip's warnings do
            err.write(printable(line))
            err.flush()
        return process.wait()

    with stderr:
        return _waited(process, stream, during_pip=True)


def update_record(dist_info: str, rows: Mapping[str, Tuple[str, str]]) -> None:
    """Add or replace RECORD rows {site-relative path: (hash, size)}, sorted, as pip writes them."""
    import csv
    import io
    record = os.path.join(dist_info, "RECORD")
    with open(record, encoding="utf-8", newline="") as stream:
        kept = [(row + ["", ""])[:3] for row in csv.reader(stream) if row and row[0] not in rows]
    text = io.StringIO()
    csv.writer(text).writerows(sorted(kept + [[path, *entry] for path, entry in rows.items()]))
    mode = stat.S_IMODE(os.stat(record).st_mode)
    write_file_safely(record, text.getvalue().encode("utf-8"), mode, replace_link=True)


# Where pip installs, and what is installed there: install reads it to skip what is satisfied and
# to say what pip changed, check to audit it. Only regular files are read, never through a link.


def install_scheme(target: Optional[str], prefix: Optional[str], user: bool,
                   root: Optional[str] = None) -> Tuple[Dict[str, str], List[str]]:
    """Return the directory pip installs each part of a wheel into (headers left out), and the
    site directories whose distributions count as installed: the scheme's, or the user's site as
    site.py names it, which outside a virtual environment is imported beside the default's."""
    import sysconfig
    if target:  # pip installs into a "home" scheme, then moves lib, bin and the rest here
        base = os.path.abspath(target)
        home = dict(purelib=base, platlib=base, scripts=os.path.join(base, "bin"), data=base)
        return home, [base]
    kind = "user" if user and not prefix else "prefix"
    preferred = getattr(sysconfig, "get_preferred_scheme", None)
    if preferred is not None:
        scheme = preferred(kind)
    else:  # Python 3.9, whose sysconfig names its default schemes only privately
        scheme = f"{os.name}_user" if kind == "user" else (
            "posix_prefix" if os.name == "posix" else os.name)
    bases = {"base": os.path.abspath(prefix), "platbase": os.path.abspath(prefix)} if prefix else {}
    paths = sysconfig.get_paths(scheme, vars=bases)
    sites = [paths["purelib"], paths["platlib"]] if kind == "prefix" else []
    if kind == "user" or (not prefix and site.ENABLE_USER_SITE and sys.prefix == sys.base_prefix):
        sites.append(site.getusersitepackages())

    def rooted(path: str) -> str:
        return os.path.join(os.path.abspath(root), path.lstrip(os.sep)) if root else path

    return ({key: rooted(paths[key]) for key in ("purelib", "platlib", "scripts", "data")},
            list(dict.fromkeys(map(rooted, sites))))


CHECK_READ_LIMIT = 1 << 31  # no installed file peep reads is larger
_METADATA_LIMIT = 16 << 20  # METADATA, RECORD, .pth, .py and .pyc files


def _open_regular(path: str) -> Tuple[Optional[IO[bytes]], str]:
    """Open ``path`` if it is a regular file, not through a link: (stream, "") or (None, why)."""
    try:
        stream = open_regular_file(path, follow=False)
    except FileNotFoundError:
        return None, "missing"
    except NotRegularFile:
        return None, "not a regular file, so not read"
    except OSError as exc:
        if os.path.islink(path):
            return None, "a link, not followed"
        return None, f"unreadable: {exc.strerror or exc}"
    if os.fstat(stream.fileno()).st_size > CHECK_READ_LIMIT:
        stream.close()
        return None, "too large, so not read"
    return stream, ""


def _read_regular(path: str, limit: int = _METADATA_LIMIT) -> Tuple[Optional[bytes], str]:
    """Return the bytes of a small regular file, or (None, why not)."""
    stream, why = _open_regular(path)
    if stream is None:
        return None, why
    with stream:
        data = stream.read(limit + 1)
    return (None, "too large, so not read") if len(data) > limit else (data, "")


@dataclass(frozen=True)
class Installed:
    """One installed distribution's metadata directory (.dist-info or .egg-info)."""

    name: str  # canonical
    label: str  # NAME==VERSION as its metadata says
    version: str
    site_dir: str
    metadata_dir: str

    def read(self, filename: str) -> Optional[str]:
        """Return the text of a file in the metadata directory, if it is a regular file."""
        if os.path.isfile(self.metadata_dir):  # a bare NAME.egg-info file is PKG-INFO, no RECORD
            data = _read_regular(self.metadata_dir)[0] if filename == "PKG-INFO" else None
        else:
            data = _read_regular(os.path.join(self.metadata_dir, filename))[0]
        return None if data is None else data.decode("utf-8", "replace")

    def record_rows(self) -> Iterator[Tuple[str, str]]:
        """Yield (path, hash field) for each row of RECORD."""
        import csv
        for row in csv.reader((self.read("RECORD") or "").splitlines()):
            if row and row[0]:
                yield row[0], (row + [""])[1]


def metadata_dirs(site_dirs: Sequence[str]) -> Iterator[Tuple[str, str]]:
    """Yield (site directory, path) of each .dist-info and .egg-info in ``site_dirs``, in order."""
    for site_dir in site_dirs:
        try:
            names = sorted(os.listdir(site_dir))
        except OSError:
            continue
        yield from ((site_dir, os.path.join(site_dir, name)) for name in names
                    if name.endswith((".dist-info", ".egg-info")))


def installed_distributions(site_dirs: Sequence[str]) -> Dict[str, List[Installed]]:
    """Map each project to every copy of its metadata in ``site_dirs``, first the one imported."""
    import email.parser
    found: Dict[str, List[Installed]] = {}
    for site_dir, path in metadata_dirs(site_dirs):
        text = Installed("", "", "", site_dir, path).read(
            "METADATA" if path.endswith(".dist-info") else "PKG-INFO") or ""
        headers = email.parser.HeaderParser().parsestr(text)
        name, version = headers.get("Name"), headers.get("Version") or "?"
        if not name:
            continue  # no distribution to Python's importlib or to pip: it provides nothing
        copy = Installed(canonicalize_name(name), f"{name}=={version}", version, site_dir, path)
        found.setdefault(copy.name, []).append(copy)
    return found


# --- Byte-compiling after pip [trust] -----------------------------------------
#
# pip compiles one file after another; peep runs it with --no-compile, then compiles on every CPU
# as pip would (_compile_quietly), and lists each .pyc in its RECORD with no hash or size, as pip
# does. What is compiled comes from the verified wheels themselves, mapped through the install
# scheme: never from a RECORD, which may name any file at all.


def pip_would_compile(options: InstallOptions) -> bool:
    """Tell whether pip would byte-compile: the last of --compile/--no-compile wins."""
    chosen = [word for word in options.pip_options if word in ("--compile", "--no-compile")]
    return (not chosen or chosen[-1] == "--compile") and not options.pip_flag("--dry-run")


# Where pip put one verified wheel: its .dist-info directory and its .py files.
InstalledWheel = NamedTuple("InstalledWheel", [("dist_info", str), ("sources", Tuple[str, ...])])


def installed_wheel(wheel: str, scheme: Mapping[str, str]) -> InstalledWheel:
    """Map a verified wheel's .py members to where pip installed them, as pip maps them:
    root members to purelib or platlib (Root-Is-Purelib), ``NAME.data/KEY/`` to KEY."""
    import zipfile
    with zipfile.ZipFile(wheel) as archive:
        members = archive.namelist()
        dist_info = next(m.split("/")[0] for m in members if m.split("/")[0].endswith(".dist-info"))
        facts = archive.read(f"{dist_info}/WHEEL").decode("utf-8", "replace").lower()
    root = "purelib" if re.search(r"^root-is-purelib:\s*true\s*$", facts, re.M) else "platlib"
    data_dir = dist_info[: -len("dist-info")] + "data"
    sources = []
    for member in members:
        top, _, rest = member.partition("/")
        key, _, rest = rest.partition("/") if top == data_dir else (root, "", member)
        if member.endswith(".py") and key in scheme:
            installed = os.path.normpath(os.path.join(scheme[key], rest))
            inside = installed.startswith(scheme[key].rstrip(os.sep) + os.sep)  # no "../"
            if inside and os.path.isfile(installed):
                sources.append(installed)
    # A root member and a .data/purelib one may land on the same file: compile it once.
    return InstalledWheel(os.path.join(scheme[root], dist_info), tuple(dict.fromkeys(sources)))


def _compile_quietly(source: str) -> bool:
    """Compile one file as pip does: its errors printed nowhere, its warnings ignored."""
    import compileall
    import contextlib
    import io
    from warnings import catch_warnings, simplefilter
    with catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        simplefilter("ignore")
        return bool(compileall.compile_file(source, force=True, quiet=1))


def on_every_cpu(work: Callable[[Any], Any], items: Sequence[Any], per_worker: int) -> List[Any]:
    """Map ``work`` over ``items``: in a forked worker for every ``per_worker`` of them, up to
    one a CPU, when that makes two or more; else, or if no workers can be had, in this process."""
    affinity = getattr(os, "sched_getaffinity", None)  # the CPUs this process may run on
    cpus = len(affinity(0)) if affinity else os.cpu_count() or 1
    try:
        pool = forked_workers(min(cpus, len(items) // per_worker))
        if pool is not None:
            with pool:
                return list(pool.map(work, items, chunksize=max(1, per_worker // 2)))
    except Exception:  # no worker processes here (no /dev/shm, say): work alone
        pass
    return list(map(work, items))


def compile_installed(wheels: Sequence[InstalledWheel], say: Callable[[str], None]) -> None:
    """Byte-compile the installed wheels' .py files; list each .pyc in its RECORD as pip does."""
    import importlib.util
    sources = [source for wheel in wheels for source in wheel.sources]
    if not sources:
        return
    say(f"peep: byte-compiling {len(sources)} file(s)")
    compiled = set(itertools.compress(sources, on_every_cpu(_compile_quietly, sources, 32)))
    for wheel in wheels:
        library = os.path.dirname(wheel.dist_info)
        pycs = map(importlib.util.cache_from_source, compiled.intersection(wheel.sources))
        rows = {os.path.relpath(pyc, library).replace(os.sep, "/"): ("", "")
                for pyc in pycs if os.path.isfile(pyc)}  # fmt: skip
        if rows:
            update_record(wheel.dist_info, rows)


# --- Around pip ---------------------------------------------------------------
#
# What is installed already (to find requirements satisfied, and whether pip must replace one),
# what pip changed, the direct_url.json pip would have written for a URL requirement, install's
# messages. Nothing here hands pip a file: a bug here can misreport, or leave an installed
# distribution in place, never install what did not match.


def installed_here(site_paths: Sequence[str]) -> Tuple[Dict[str, str], Dict[str, Dict[str, str]]]:
    """Map each distribution in ``site_paths`` (the first directory's copy wins; two in one
    directory give none) to its version, and to the hashes its direct_url.json holds: none for
    an earlier peep's temporary file, reinstalled once."""
    import json
    distributions = installed_distributions(site_paths)
    url_hashes: Dict[str, Dict[str, str]] = {}
    for name, copies in distributions.items():
        try:
            recorded = json.loads(copies[0].read("direct_url.json") or "{}")
            url = str(recorded.get("url", ""))  # an earlier peep's temporary file is gone
            left_by_peep = re.match(r"file:///.*/peep-[^/]+/", url) and not os.path.exists(
                _file_url_path(url))
            url_hashes[name] = {} if left_by_peep else dict(recorded["archive_info"]["hashes"])
        except (ValueError, KeyError, TypeError, OSError, AttributeError):
            continue
    # Two copies in one directory: which one tools see depends on how it lists them, so neither.
    return {name: copies[0].version for name, copies in distributions.items()
            if [copy.site_dir for copy in copies].count(copies[0].site_dir) == 1}, url_hashes


def reinstall_needed(verified: Sequence[Verified], by_url: Set[str],
                     installed: Mapping[str, str]) -> bool:  # fmt: skip
    """Tell whether a wheel of ``by_url`` is at its version already, so pip must replace it: it
    got this far by its direct_url.json alone; pip, handed ``name==VERSION``, would keep it."""
    return any(_parse_version(installed.get(item.requirement.key, "")) == item.facts.version
               for item in verified if item.install and item.requirement.key in by_url)


RecordState = Tuple[str, int, int]  # a RECORD's sha256, inode and mtime


def snapshot_distributions(site_paths: Sequence[str]) -> Dict[str, RecordState]:
    """Map each .dist-info directory in ``site_paths`` to its RECORD's content and identity,
    which tells a reinstall (same content, new file), even if pip stopped halfway."""
    found: Dict[str, RecordState] = {}
    for _, path in metadata_dirs(site_paths):
        if path.endswith(".dist-info"):
            record = os.path.join(path, "RECORD")
            try:
                status = os.stat(record)
                found[path] = hash_file(record)["sha256"], status.st_ino, status.st_mtime_ns
            except OSError:
                found[path] = ("", 0, 0)  # pip writes it last: stopped while installing
    return found


def describe_changes(before: Mapping[str, RecordState], site_paths: Sequence[str]) -> str:
    """Say which distributions pip added, removed or rewrote in ``site_paths`` since ``before``."""
    after = snapshot_distributions(site_paths)

    def label(path: str) -> str:
        name, _, version = os.path.basename(path)[: -len(".dist-info")].rpartition("-")
        return f"{name} {version}" + (" (no RECORD)" if after.get(path, "x")[0] == "" else "")

    groups = (("added", [label(p) for p in sorted(after) if p not in before]),
              ("removed", [label(p) for p in sorted(before) if p not in after]),
              ("reinstalled", [label(p) for p in sorted(after) if p in before
                               and before[p] != after[p]]))
    parts = [f"{word} {', '.join(labels)}" for word, labels in groups if labels]
    if not parts:
        return f"peep: pip changed no installed distribution (checked {', '.join(site_paths)})"
    return "peep: pip changed: " + "; ".join(parts)


# PEP 610's env-var user (``${USER}`` or ``${USER}:${PASSWORD}``), which pip keeps in a URL.
_ENV_VAR_USERINFO_RE = re.compile(r"^\$\{[A-Za-z0-9-_]+\}(:\$\{[A-Za-z0-9-_]+\})?$")


def record_direct_url(dist_info: str, url: str, sha256: str) -> None:
    """Write the direct_url.json pip writes for ``url`` (no fragment, keys sorted, credentials
    dropped unless PEP 610's ``${VAR}``: peep installs no VCS URL); list it in RECORD."""
    import json
    import urllib.parse
    parts = urllib.parse.urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    netloc = parts.netloc if not at or _ENV_VAR_USERINFO_RE.match(userinfo) else host
    clean = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    info = {"hash": f"sha256={sha256}", "hashes": {"sha256": sha256}}
    data = json.dumps({"archive_info": info, "url": clean}, sort_keys=True).encode()
    mode = stat.S_IMODE(os.stat(os.path.join(dist_info, "RECORD")).st_mode)
    write_file_safely(os.path.join(dist_info, "direct_url.json"), data, mode, replace_link=True)
    digest = hex_to_peep(hashlib.sha256(data).hexdigest())  # RECORD's form: urlsafe, unpadded
    row = f"{os.path.basename(dist_info)}/direct_url.json"
    update_record(dist_info, {row: (f"sha256={digest}", str(len(data)))})


def message_writer(err: IO[str], quiet: bool) -> Callable[[str], None]:
    """Return what writes install's messages to ``err``, credentials masked; quiet drops them."""

    def say(message: str) -> None:
        if not quiet:
            err.write(f"{printable(message)}\n")
            err.flush()

    return say


# --- Commands: install --------------------------------------------------------
#
# InstallRun walks the steps in order. The build steps (plan, the backends' dynamic round, build)
# see only Verified archives, run every hook through the Builder and send every wheel built
# through accept(): a bug there can fail a build, never run or install a mismatch.


def install_fetcher(options: InstallOptions, transport: Transport, workdir: str,
                    progress: Progress, say: Callable[[str], None]) -> Fetcher:
    """Return one install's fetcher: the transport's settings, its downloads below ``workdir``."""
    settings, network = transport.finder, transport.network
    os.makedirs(os.path.join(workdir, "downloads"))
    return Fetcher(transport=transport, settings=settings, environment=Environment.current(),
                   workdir=workdir, progress=progress, cache=ArchiveCache(network.cache_dir, say),
                   warn=say, keep_failed=options.keep_failed,
                   build_pins=load_build_pins(options, settings, network))


class InstallRun:
    """One ``peep install``: run() walks its steps in order. A step whose input has a problem
    does not run: no backend runs for an install that won't."""

    def __init__(self, options: InstallOptions, err: IO[str], workdir: str, port: int) -> None:
        self.options, self.err, self.workdir, self.port = options, err, workdir, port
        quiet = options.verbosity() < 0
        self.say = message_writer(err, quiet=quiet)
        self.progress = Progress(err, quiet=quiet)
        echo = message_writer(err, quiet=False) if options.verbosity() > 0 else None
        self.builder = Builder(workdir, network=options.build_network, port=port, say=self.say,
                               echo=echo)  # fmt: skip
        self.markers = marker_environment()
        self.scheme, self.site_paths = install_scheme(
            options.pip_value("-t", "--target"), options.pip_value("--prefix"),
            options.pip_flag("--user"), options.pip_value("--root"))
        self.installed: Dict[str, str] = {}  # in site_paths, with their versions
        self.stale: Set[str] = set()  # installed from an earlier peep's temporary file
        self.problems: List[Problem] = []
        self.verified: List[Verified] = []
        self.builds: List[PendingBuild] = []
        self.offered: Dict[str, Requirement] = {}  # installed or --build-constraint: not fetched

    def read(self) -> Tuple[List[Tuple[Requirement, str]], List[Requirement], Transport]:
        """Read every requirement; split off what is installed already at its pin (with the
        version installed): not downloaded, not reinstalled."""
        records, settings, network = load_requirements(
            self.options, os.environ,
            warn=lambda message: self.err.write(printable(f"peep: warning: {message}") + "\n"))
        requirements, self.problems = prepare_requirements(records, self.markers)
        self.installed, url_hashes = installed_here(self.site_paths)
        self.stale = {key for key, hashes in url_hashes.items() if not hashes}
        reinstall = self.options.pip_flag("--force-reinstall", "-I", "--ignore-installed")
        satisfied = []
        to_fetch: List[Requirement] = []
        for requirement in requirements:
            key, wanted = requirement.key, archive_version(requirement)
            have = self.installed.get(key, "")
            from_url = requirement.url is not None and not requirement.locked
            # Another archive, or an earlier peep's temporary file, may be what is installed.
            if (reinstall or key in self.stale or wanted is None or _parse_version(have) != wanted
                    or from_url and not requirement.hashes.matches(url_hashes.get(key, {}))):
                to_fetch.append(requirement)
            else:
                satisfied.append((requirement, have))
        return satisfied, to_fetch, Transport(settings, network)

    def plan(self, fetcher: Fetcher, satisfied: Sequence[Tuple[Requirement, str]]) -> None:
        """Plan each sdist's build from its static requirements; find omitted dependencies:
        read from archives, never run, so every problem is found before any build runs."""
        reported = {problem.requirement.key for problem in self.problems}
        for item in [v for v in self.verified if v.facts.kind == "sdist"]:
            try:
                system = read_build_system(item.facts, item.filename)
            except ArchiveError as exc:  # its build system cannot be used
                self.problems.append(refused_build(item, exc.reason()))
            else:
                self.builds.append(PendingBuild(item, system, self.builder.new_directory("sdist"),
                                                config_settings(item, self.options)))
        if self.builds and fetcher.settings.no_binary:
            self.say("peep: build dependencies are taken as wheels even under --no-binary")
        self.offered = {requirement.key: requirement for requirement, _ in satisfied}
        self.offered.update((pin.key, pin) for pin in fetcher.build_pins)
        self.problems += self.plan_round(fetcher, reported)
        # A requirement with a problem of its own provides its project (its
        # version is not known yet); a build dependency alone provides none.
        provided: Dict[str, Optional[Version]] = dict.fromkeys(reported)
        provided.update((requirement.key, _parse_version(have)) for requirement, have in satisfied)
        provided.update((v.requirement.key, v.version) for v in self.verified if v.install)
        met = functools.partial(_dependency_met, provided=provided, installed=self.installed)
        asking = Suggesting(fetcher, met, self.markers)
        omitted = omitted_dependency_failures(self.verified, asking)
        # And what files fetched for missing hashes need (read as they arrived, never run).
        omitted += [_omitted(p.requirement, dependency, p.pinned_line)
                    for p in self.problems if p.kind == "missing"
                    for dependency in _unmet_needs(asking, p.facts, set(p.requirement.extras))]
        omitted = with_suggestions(asking, omitted)
        if omitted and self.options.allow_omitted:
            self.say("peep: warning (--allow-omitted): " + format_report(omitted, closing=None))
        else:
            self.problems += omitted

    def plan_round(self, fetcher: Fetcher, reported: Set[str]) -> List[Problem]:
        """Choose verified wheels for every build; return what is missing, with blocks to paste.
        Build dependencies are always wheels, even under --no-binary: a backend needs a backend."""
        wheels = replace(fetcher, settings=fetcher.settings.with_option("only-binary", ":all:"))
        problems: List[Problem] = []
        pinned = {pin.key: pin for pin in fetcher.build_pins}.get  # pinned: the pin's file only
        while True:  # what ``offered`` holds is fetched and verified (not installed), then planned
            pool = [v for v in self.verified if pinned(v.requirement.key) in (None, v.requirement)]
            for build in self.builds:
                build.plan = plan_build(build.requires(), pool, self.markers)
            wanted = {key for build in self.builds for text, _ in build.plan.missing
                      for key in [_missing_key(text)] if key in self.offered}  # fmt: skip
            if not wanted:
                break
            asked = [self.offered.pop(key) for key in sorted(wanted)]
            fetched = verify_all(wheels, asked, install=False)
            problems += [v for v in fetched if isinstance(v, Problem)]
            self.verified = self.verified + [v for v in fetched if isinstance(v, Verified)]
        missing = []  # what each plan refused, and each build dependency not yet reported
        for build in self.builds:
            item = build.item
            missing += [refused_build(item, reason) for reason in build.plan.refused]
            missing += [framed("build dependency", item.requirement,
                               f"{item.filename} needs {text} ({why})", dependency=text)
                        for text, why in build.plan.missing if _missing_key(text) not in reported]
        met = functools.partial(fitting_wheels, _wheels_by_project(pool))
        asking = Suggesting(wheels, met, self.markers, fetcher.settings)
        return problems + with_suggestions(asking, missing)

    def build(self) -> str:
        """Build the planned sdists; stage every wheel pip is to see; return that directory."""
        if self.builds:
            self.say(f"peep: building {len(self.builds)} sdist(s) "
                     "with verified build dependencies only")  # fmt: skip
            outcomes = {id(build.item): build_wheel(self.builder, build) for build in self.builds}
            self.problems += [found for found in outcomes.values() if isinstance(found, Problem)]
            built = {key: found for key, found in outcomes.items() if isinstance(found, Verified)}
            self.verified = [built.get(id(item), item) for item in self.verified]  # wheels only
            if self.problems:
                return ""
        find_links, self.problems = stage_verified(self.verified, self.workdir)
        return find_links

    def install(self, find_links: str, urls: Mapping[str, Tuple[str, str]]) -> int:
        """Hand the verified wheels to pip once, finish what it left; say what was done."""
        started = time.monotonic()
        command = pip_install_command(self.verified, self.options, find_links,
                                      os.path.join(self.workdir, "install-requirements.txt"))
        if reinstall_needed(self.verified, set(urls) | self.stale, self.installed):
            # It changes nothing for the other wheels: none is installed at its version (else peep
            # found it satisfied). (With --target pip ignores what is installed; --upgrade decides.)
            command[-2:-2] = ["--force-reinstall"]
        before = snapshot_distributions(self.site_paths)
        self.say(f"peep: all {len(self.verified)} archive(s) verified; installing with pip")
        try:
            status = run_pip(command, self.err, closed_network_environment(self.port))
            if status == 0:
                after = snapshot_distributions(self.site_paths)
                written = {path for path, state in after.items() if before.get(path) != state}
                self.finish(find_links, urls, written)
        except BaseException as exc:  # pip ran, and may be stopped: never "nothing installed"
            self.err.write(f"\n{describe_changes(before, self.site_paths)}\n")
            if not isinstance(exc, (Interrupted, KeyboardInterrupt)):
                raise
            signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
            raise Interrupted(signum, during_pip=True) from exc
        if status != 0:
            self.err.write(f"peep: pip's install step failed (exit status {status}). Every "
                           "archive it was given had been verified; pip's output above says what "
                           f"went wrong.\n{describe_changes(before, self.site_paths)}\n")
            return EXIT_FAILED
        wheels = [item for item in self.verified if item.install]
        names = ", ".join(f"{item.facts.name} {item.facts.version}" for item in wheels)
        size = sum(os.path.getsize(item.path) for item in wheels)
        self.say(f"peep: installed {names} ({len(wheels)} verified, {size / 1e6:.1f} MB, "
                 f"{time.monotonic() - started:.1f} s)")  # fmt: skip
        return EXIT_OK

    def finish(self, find_links: str, urls: Mapping[str, Tuple[str, str]],
               written: Set[str]) -> None:  # fmt: skip
        """Record URL requirements' direct_url.json and byte-compile, in what pip wrote only:
        what pip left alone (--target without --upgrade, --dry-run) keeps what it had."""
        wheels = []
        for item in [item for item in self.verified if item.install]:
            wheel = installed_wheel(os.path.join(find_links, item.filename), self.scheme)
            if wheel.dist_info in written:
                wheels.append(wheel)
                if item.requirement.key in urls:
                    record_direct_url(wheel.dist_info, *urls[item.requirement.key])
        if pip_would_compile(self.options):
            compile_installed(wheels, self.say)

    def run(self) -> int:
        """Walk the steps; report every problem at once, or install."""
        satisfied, to_fetch, transport = self.read()
        fetcher = install_fetcher(self.options, transport, self.workdir, self.progress, self.say)
        if to_fetch:
            self.say(f"peep: verifying {len(to_fetch)} requirement(s)")
        verdicts = verify_all(fetcher, to_fetch)  # what matches is accepted, whatever else failed
        self.progress.close()
        self.verified = [v for v in verdicts if isinstance(v, Verified)]
        self.problems += [v for v in verdicts if isinstance(v, Problem)]
        self.plan(fetcher, satisfied)
        if not self.problems:  # ask each backend, confined, what else it needs (runs verified code)
            for build in self.builds:
                self.problems += discover_dynamic_requirements(self.builder, build)
            self.problems += self.plan_round(fetcher, set())
        # Each URL requirement's URL and archive hash, taken before building so that an sdist's
        # own hash is recorded, as pip does. A lock file's entries are index files, however named.
        urls = {item.requirement.key: (item.requirement.url, item.sha256)
                for item in self.verified if item.install and item.requirement.url is not None
                and not item.requirement.locked}  # fmt: skip
        find_links = self.build() if not self.problems else ""
        if self.problems:
            self.err.write(format_report(self.problems))
            return EXIT_FAILED
        if satisfied:
            pins = "\n".join(f"    {requirement.name}=={have}" for requirement, have in satisfied)
            self.say("These packages were already installed, so we didn't need to download or "
                     "build them again. If you installed them with peep in the first place, you "
                     "should be safe. If not, uninstall them, then re-attempt your install with "
                     f"peep.\n\n{pins}\n")
        if not any(item.install for item in self.verified):
            self.say("peep: nothing to install.")
            return EXIT_OK
        return self.install(find_links, urls)


def command_install(argv: Sequence[str], out: IO[str], err: IO[str]) -> int:
    """Verify every requirement, then install them all with one pip run."""
    import shutil
    import socket
    import tempfile
    options = parse_install_arguments(argv, os.environ)
    workdir = tempfile.mkdtemp(prefix="peep-")
    closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:  # a loopback port held for the whole run, bound but never listening: it refuses all
        closed.bind(("127.0.0.1", 0))
        install = InstallRun(options, err, workdir, closed.getsockname()[1])
        problem = install.builder.check_isolation() if options.build_network == "none" else None
        if problem is not None:
            err.write(f"peep: {problem}\n")
            return EXIT_FAILED
        return install.run()
    finally:
        closed.close()
        shutil.rmtree(workdir, ignore_errors=True)


# --- Commands: hash -----------------------------------------------------------


def _tags_fit_python(candidate: Candidate, version: Tuple[int, int]) -> bool:
    """Tell whether a file could install on Python ``version`` (sdists always could)."""
    major, minor = version
    exact = (f"py{major}", f"py{major}{minor}", f"cp{major}{minor}")
    abi3_minors = [tag.interpreter[len(f"cp{major}") :] for tag in candidate.tags
                   if tag.abi == "abi3" and tag.interpreter.startswith(f"cp{major}")]
    return (not candidate.is_wheel or any(tag.interpreter in exact for tag in candidate.tags)
            or any(text.isdigit() and int(text) <= minor for text in abi3_minors))


def select_release_files(
    candidates: Sequence[Candidate], *, python_versions: Sequence[Tuple[int, int]] = (),
    platforms: Sequence[str] = (), compatible: bool = False,
) -> List[Candidate]:
    """Keep the files of a release that pass hashin-style filters."""
    kept = list(candidates)
    if python_versions:
        kept = [c for c in kept if any(_tags_fit_python(c, v) for v in python_versions)]
    if platforms:  # an sdist is for every platform
        kept = [c for c in kept
                if not c.is_wheel or any(t.platform in ("any", *platforms) for t in c.tags)]
    if compatible:
        here = Environment.current()
        kept = [c for c in kept if not (c.is_wheel and here.tag_rank(c.tags) is None)
                and _requires_python_allows(c.requires_python, here.python_version)]
    return kept


def _python_version_argument(text: str) -> Tuple[int, int]:
    match = re.fullmatch(r"(\d+)\.(\d+)", text)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not of the form X.Y (3.11, say)")
    return int(match.group(1)), int(match.group(2))


def _one_per_filename(candidates: Sequence[Candidate], err: Optional[IO[str]],
                      command: str = "peep hash") -> List[Candidate]:
    """Keep each name's first file, as pip would; warn ``err`` of indexes that disagree."""
    first: Dict[str, Candidate] = {}
    for candidate in candidates:
        kept = first.setdefault(candidate.filename, candidate)
        theirs, ours = candidate.advertised_hashes(), kept.advertised_hashes()
        if err is not None and any(theirs[a] != ours[a] for a in theirs.keys() & ours.keys()):
            err.write(f"{command}: {printable(candidate.url)} advertises other bytes for "
                      f"{candidate.filename} than {printable(kept.url)}; only the latter is "
                      "hashed\n")
    return list(first.values())


def hash_downloads(transport: Transport, chosen: Sequence[Candidate], algorithm: str,
                   progress: Progress, command: str) -> Tuple[List[Tuple[Candidate, str]], int]:
    """Download the files at once, hashing as they arrive; return those whose bytes match what
    the index says, with their digests, and EXIT_FAILED if any did not (said on progress.stream)."""
    import concurrent.futures
    import shutil
    import tempfile
    workdir = tempfile.mkdtemp(prefix="peep-")
    progress.begin(len(chosen))

    def fetch(candidate: Candidate) -> Tuple[Candidate, str, str]:
        """Return the file, its digest or "", and why it is left out or ""."""
        # A directory of its own: two files may share a name.
        destination = os.path.join(tempfile.mkdtemp(dir=workdir), safe_filename(candidate.filename))
        try:
            digests = transport.download(candidate.url.split("#", 1)[0], destination,
                                         (algorithm,), progress.advance)  # fmt: skip
        except FetchError as exc:
            return candidate, "", printable(f"{command}: {candidate.filename}: {exc}")
        progress.file_done(candidate.filename, os.path.getsize(destination), "downloaded")
        advertised = candidate.advertised_hashes()
        wrong = [a for a in advertised if a in digests and advertised[a] != digests[a]]
        if wrong:
            return candidate, "", (f"{command}: {candidate.filename}: the index says {wrong[0]} "
                                   f"{advertised[wrong[0]]}, but its bytes hash to "
                                   f"{digests[wrong[0]]}; left out (someone may have tampered "
                                   "with it)")
        return candidate, digests[algorithm], ""

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            try:
                results = list(pool.map(fetch, chosen))
            except BaseException:
                transport.cancel()  # interrupted: stop the downloads in flight
                raise
    finally:
        progress.close()
        shutil.rmtree(workdir, ignore_errors=True)
    # Failures are said where progress is, in the files' order, once every download is done.
    progress.stream.writelines(problem + "\n" for _, _, problem in results if problem)
    found = [(candidate, digest) for candidate, digest, problem in results if not problem]
    return found, EXIT_OK if len(found) == len(results) else EXIT_FAILED


def hash_release(text: str, args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Download and hash every file of a pinned release; print one paste-ready block."""
    try:
        requirement = parse_requirement(text, COMMAND_LINE)
    except RequirementsFileError as exc:
        raise UsageError(f"peep hash: {exc.message}") from exc
    pinned = requirement.pinned_version()
    if requirement.name is None or requirement.url is not None or pinned is None:
        raise UsageError(f"peep hash: {text!r} is neither a file nor a pinned requirement "
                         "(write NAME==VERSION, e.g. requests==2.32.3)")  # fmt: skip
    finder, network = settle_settings(args, os.environ)
    transport = Transport(finder, network)
    found, places, _ = find_candidates(transport, requirement, finder)
    chosen = _one_per_filename(select_release_files(
        [c for c in found if c.version == pinned], python_versions=args.python_version or (),
        platforms=args.platform or (), compatible=args.compatible), err)  # fmt: skip
    if not chosen:
        where = ", ".join(places) or "nowhere (--no-index and no --find-links)"
        err.write(f"peep hash: no files of {requirement.name}=={pinned} match; looked in {where}\n")
        return EXIT_FAILED
    hashed, status = hash_downloads(transport, chosen, args.algorithm,
                                    Progress(err, quiet=args.quiet), "peep hash")
    lines = hash_lines(f"{requirement.name}=={pinned}", sorted({d for _, d in hashed}),
                       args.format, args.algorithm)  # fmt: skip
    out.write("".join(line + "\n" for line in lines))
    return status


def hash_argument_parser() -> argparse.ArgumentParser:
    """Build the parser for ``peep hash``'s command line."""
    parser = _ArgumentParser(prog="peep hash", description=(
        "Print a hash line for each FILE, to paste above its requirement; or, for NAME==VERSION, "
        "download every file of that release from the index and print one block to paste."))
    parser.add_argument("files", nargs="+", metavar="FILE|NAME==VERSION",
                        help="an archive to hash, or a pinned release to download and hash")
    parser.add_argument("-a", "--algorithm", choices=HASH_ALGORITHMS, default="sha256",
                        help="the digest to print (default sha256; others need --format pip)")
    parser.add_argument("--format", choices=("peep", "pip"), default="peep", help="peep: "
                        "'# sha256: ...' comment lines (the default); pip: '--hash=ALGO:HEX'")
    parser.add_argument("--python-version", action="append", type=_python_version_argument,
                        metavar="X.Y", help="for a release: only files that could install "
                        "on this Python (repeatable)")
    parser.add_argument("--platform", action="append", metavar="TAG", help="for a release: "
                        "only wheels for this platform tag, and sdists (repeatable)")
    parser.add_argument("--compatible", action="store_true", help="for a release: only files "
                        "the Python running peep could install")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    add_finder_arguments(parser)
    return parser


def command_hash(argv: Sequence[str], out: IO[str], err: IO[str]) -> int:
    """Print a hash line for each archive, or a block for each pinned release."""
    args = hash_argument_parser().parse_args(argv)
    if args.format == "peep" and args.algorithm != "sha256":
        raise UsageError("peep hash: peep's comment format holds sha256 only; "
                         f"use --format pip for {args.algorithm}")  # fmt: skip
    status = EXIT_OK
    for path in args.files:
        if not os.path.exists(path) and not _looks_like_path(path):
            status = max(status, hash_release(path, args, out, err))
            continue
        try:
            digest = hash_file(path, (args.algorithm,))[args.algorithm]
        except OSError as exc:
            err.write(f"peep hash: cannot read {path!r}: {exc.strerror or exc}\n")
            status = EXIT_FAILED
            continue
        out.write(f"--hash={args.algorithm}:{digest}\n" if args.format == "pip"
                  else f"# sha256: {hex_to_peep(digest)}\n")
    return status


# --- Commands: port -----------------------------------------------------------


def port_text(text: str, source: str) -> Tuple[str, List[str]]:
    """Move each hash comment onto its requirement as a ``--hash`` line; return notes too."""
    physical = text.splitlines()
    newline = "\r\n" if "\r\n" in text else "\n"  # the file's own line ending
    replacements: Dict[int, List[str]] = {}  # 1-based physical line -> new lines
    notes: List[str] = near_miss_hash_lines(text, source)
    unfollowed = "kept a '# sha256:' line that no requirement follows (it was not in effect)"
    pending: List[HashComment] = []
    for line in scan_requirements_text(text, source, environ={}):
        if isinstance(line, HashComment):
            pending.append(line)
            continue
        requirement_text, options_text = split_requirement_and_options(line.text)
        if not requirement_text:
            notes += [f"{comment.origin}: {unfollowed}" for comment in pending]
            notes += _nested_notes(options_text, source, line.origin)
        elif pending:
            present = {d.lower() for d in re.findall(r"sha256:([0-9a-fA-F]{64})", options_text)}
            new = list(dict.fromkeys(c.hexdigest for c in pending if c.hexdigest not in present))
            replacements.update((c.origin.line, [c.trailing_comment] if c.trailing_comment else [])
                                for c in pending)  # fmt: skip
            if new:
                replacements[line.last] = _with_hash_lines(physical[line.last - 1], new)
        pending = []
    notes += [f"{comment.origin}: {unfollowed}" for comment in pending]
    return "".join(new + newline for number, old in enumerate(physical, start=1)
                   for new in replacements.get(number, [old])), notes  # fmt: skip


def _with_hash_lines(last_line: str, hexdigests: Sequence[str]) -> List[str]:
    """Append ``--hash`` continuation lines (at least one) to a requirement's last line."""
    code = strip_comment(last_line)
    comment = last_line[len(code) :].strip() if code.strip() else ""
    # A trailing backslash is a continuation that a comment line ended.
    lines = hash_lines(code.rstrip().rstrip("\\").rstrip(), hexdigests, "pip")
    return lines[:-1] + [lines[-1] + (f"  {comment}" if comment else "")]


def _nested_notes(options_text: str, source: str, origin: Origin) -> List[str]:
    """Point at nested -r/-c files that still hold peep-style hashes."""
    try:
        options = parse_line_options(options_text, origin)
    except RequirementsFileError:
        return []
    notes = []
    for name, value in options:
        if name in ("requirement", "constraint") and isinstance(value, str):
            nested = _nested_location(source, value)
            try:
                nested_text = decode_requirements(read_requirements_source(nested), nested)
            except (OSError, ValueError, PeepError):
                continue
            if any(_HASH_COMMENT_RE.match(line) for line in nested_text.splitlines()):
                notes.append(f"{origin}: {nested} has peep-style hashes too; "
                             f"port it as well (peep port {nested})")  # fmt: skip
    return notes


def _unportable(package: Any, files: Sequence[Any]) -> Optional[str]:
    """Say why a lock's package cannot be a hashed requirement line, if it cannot."""
    if package.vcs is not None or package.directory is not None:
        return "a VCS checkout or a directory has no archive to hash"
    url = package.archive.url if package.archive is not None else None
    if getattr(package.archive, "subdirectory", None):
        return "peep builds an archive from its root, not from its subdirectory"
    if url is not None and re.search(r"[\s#\x00-\x1f\x7f-\x9f]", url):
        return "its URL holds whitespace, a control character or '#', which a line cannot hold"
    try:  # each digest goes onto the line as it is written
        hashes = [normalize_hex(a, d) for f in files for a, d in f.hashes.items()
                  if a in HASH_ALGORITHMS]  # fmt: skip
    except InvalidHash as exc:
        return str(exc)
    marker = str(package.marker) if package.marker is not None else ""
    if re.search(r"\b(extras|dependency_groups)\b", marker):
        return (f"its marker {marker!r} tests extras or dependency groups, which a "
                "requirements file cannot express")  # fmt: skip
    return None if hashes else f"none of its hashes is of {', '.join(HASH_ALGORITHMS)}"


def lock_to_requirements(location: str, reader: Callable[[str], bytes]) -> str:
    """Write a lock file as hashed requirements, a line per package; name all that cannot be."""
    lock = read_lock_file(location, reader)
    lines = [f"# Ported from {location} by peep {__version__}; every file's hash is kept."]
    if lock.requires_python is not None:
        lines.append(f"# The lock requires Python {lock.requires_python}.")
    lines += [f"# The lock is for environments where: {m}" for m in lock.environments or ()]
    problems = []
    for index, package in enumerate(lock.packages):
        files = [f for f in (*(package.wheels or ()), package.sdist, package.archive) if f]
        options = [f"--hash={a}:{d.lower()}" for f in files for a, d in sorted(f.hashes.items())
                   if a in HASH_ALGORITHMS]  # fmt: skip
        problem = _unportable(package, files)
        if problem is not None:
            problems.append(f"packages[{index}] ({package.name}): {problem}")
            continue
        if package.archive is not None:
            url = package.archive.url or _lock_file_url(location, str(package.archive.path))
            head = f"{package.name} @ {url}"
        elif package.version is not None:
            head = f"{package.name}=={package.version}"
        else:  # the version a file's name gives
            parsed = parse_archive_name(files[0].filename)
            version = parsed.version if parsed else parse_sdist_filename(files[0].filename)[1]
            head = f"{package.name}=={version}"
        head += f" ; {package.marker}" if package.marker is not None else ""
        lines.append(" \\\n    ".join([head] + list(dict.fromkeys(options))))
    if problems:
        raise RequirementsFileError(location, "cannot be written as a requirements file:\n    "
                                    + "\n    ".join(problems))  # fmt: skip
    return "\n".join(lines) + "\n"


def pylock_file(filename: str, url: str, size: Optional[int], digests: Mapping[str, str]
                ) -> Dict[str, Any]:  # fmt: skip
    """Describe one file of a release for a lock file."""
    import urllib.parse
    sized = {} if size is None else {"size": size}
    parts = urllib.parse.urlsplit(url)  # no user:password@ (a lock is shared), as Transport sends
    bare = urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]))
    if redact_url(bare) != bare:  # a ${VAR}'s value in its path or query: a lock expands none
        raise PeepError(f"{redact_url(bare)}: a lock file would show everyone its ${{VAR}}'s value")
    return {"name": filename, "url": bare, **sized, "hashes": dict(sorted(digests.items()))}


def pylock_package(name: str, version: str, files: Sequence[Dict[str, Any]],
                   more: Mapping[str, Any]) -> Dict[str, Any]:  # fmt: skip
    """Describe one release for a lock file: ``more``'s keys, its sdist, its wheels."""
    package = {"name": name, "version": version, **more}
    files = sorted(files, key=lambda file: str(file["name"]))
    sdists = [f for f in files if not f["name"].endswith(WHEEL_EXTENSION)]
    if sdists:
        package["sdist"] = sdists[0]  # a lock holds one sdist per release
    wheels = [f for f in files if f["name"].endswith(WHEEL_EXTENSION)]
    return dict(package, wheels=wheels) if wheels else package


@dataclass
class LockWriter:
    """Find every hashed file of pinned requirements on the indexes, for a lock file."""

    transport: Transport
    cache: ArchiveCache

    def package(self, requirement: Requirement) -> Union[Dict[str, Any], str]:
        """Return the lock entry for one requirement, or what is wrong with it."""
        where = f"{requirement.origin}: {requirement.text!r}"
        if requirement.unsupported is not None:
            return f"{where}: {requirement.unsupported}"
        if not requirement.hashes:
            return f"{where} has no hash, so there is nothing to lock"
        version = archive_version(requirement)
        if version is None:
            return f"{where} is not pinned (write NAME==VERSION)"
        if requirement.url is not None:
            url = requirement.url.split("#", 1)[0]
            filename = url_filename(url)
            offers = [Candidate(filename, url, "", version, filename.endswith(WHEEL_EXTENSION))]
            places = [redact_url(url)]
        else:
            found, places, _ = find_candidates(self.transport, requirement, self.transport.finder)
            offers = _one_per_filename([c for c in found if c.version == version], None)
        files = [f for f in (self._locked(requirement, c) for c in offers) if f]
        unserved = [f"{algorithm}:{digest}" for algorithm in requirement.hashes.algorithms()
                    for digest in sorted(requirement.hashes.allowed(algorithm))
                    if not any(f["hashes"].get(algorithm) == digest for f in files)]  # fmt: skip
        if unserved:
            return (f"{where}: no index or find-links serves a file with hash "
                    f"{', '.join(unserved)} (looked in {', '.join(places) or 'nowhere'})")
        sdists = [f for f in files if not f["name"].endswith(WHEEL_EXTENSION)]
        if len(sdists) > 1:
            return f"{where}: hashes name {len(sdists)} sdists, and a lock holds one"
        marker = {"marker": str(requirement.marker)} if requirement.marker is not None else {}
        return pylock_package(canonicalize_name(str(requirement.name)), str(version), files, marker)

    def _locked(self, requirement: Requirement, offer: Candidate) -> Optional[Dict[str, Any]]:
        """Describe one file if it is vouched for: by the index's digests when they
        settle it, else by its bytes (cache first). Every install checks them again."""
        import tempfile
        url, filename = offer.url.split("#", 1)[0], offer.filename
        advertised = {a: d for a, d in offer.advertised_hashes().items() if a in HASH_ALGORITHMS}
        if any(a in advertised for a in requirement.hashes.algorithms()):
            # Only the digests the requirement vouches for: the index's others are its word alone.
            vouched = {a: d for a, d in advertised.items() if d in requirement.hashes.allowed(a)}
            return pylock_file(filename, url, None, vouched) if vouched else None
        algorithms = ("sha256",) + requirement.hashes.algorithms()  # hashing drops a repeat
        for sha256, path, _ in self.cache.lookup(requirement.hashes):
            if os.path.basename(path) != safe_filename(filename):
                continue
            stream = self.cache.open_file(path)  # never through a link put there since
            if stream is None:
                continue
            with stream:  # as for a download: its hashes decide
                digests = hash_stream(stream, algorithms)
                size = os.fstat(stream.fileno()).st_size
            if digests["sha256"] == sha256 and requirement.hashes.matches(digests):
                return pylock_file(filename, url, size, digests)
        with tempfile.TemporaryDirectory(prefix="peep-port-") as workdir:
            path = os.path.join(workdir, safe_filename(filename))
            digests = self.transport.download(url, path, algorithms)
            if not requirement.hashes.matches(digests):
                return None
            self.cache.store(path, filename, digests, {})
            return pylock_file(filename, url, os.path.getsize(path), digests)


def _toml(value: Any) -> str:
    import json
    if isinstance(value, (bool, int, str)):
        return json.dumps(value)  # JSON's escapes are all valid in TOML basic strings
    if isinstance(value, list):
        return "[\n" + "".join(f"    {_toml(item)},\n" for item in value) + "]"
    return "{ " + ", ".join(f"{key} = {_toml(item)}" for key, item in value.items()) + " }"


def format_lock(packages: Sequence[Mapping[str, Any]], header: Mapping[str, Any] = {},
                tool: str = "") -> str:  # fmt: skip
    """Render lock entries, top-level keys and a TOML tail as a ``pylock.toml``; check it."""
    lines = ['lock-version = "1.0"'] + [f"{k} = {_toml(v)}" for k, v in header.items()]
    lines += [f"created-by = {_toml(f'peep {__version__}')}"]
    for package in sorted(packages, key=lambda p: (p["name"], Version(p["version"]))):
        lines += ["", "[[packages]]"] + [f"{k} = {_toml(v)}" for k, v in package.items()]
    text = "\n".join(lines) + "\n" + tool
    pylock_module().Pylock.from_dict(_toml_module().loads(text))
    return text


def read_requirement_files(paths: Sequence[str], args: argparse.Namespace
                           ) -> Tuple[List[Requirement], FinderSettings, NetworkSettings]:
    """Read requirements files (and nested ones), their finder options on top of peep's."""
    options = InstallOptions(tuple(paths), (), (), tuple(args.finder_options), (),
                             network_options=tuple(args.network_options))
    return load_requirements(options, os.environ)


def port_argument_parser() -> argparse.ArgumentParser:
    """Build the parser for ``peep port``'s command line."""
    parser = _ArgumentParser(prog="peep port", description=(
        "Print each file with its '# sha256:' comments rewritten as pip's --hash options. "
        "Nested -r/-c files are not rewritten: each is named on stderr if it needs porting too."))
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="a requirements file, or one PEP 751 lock file, to port")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true",
                      help="rewrite each FILE in place, keeping FILE.bak")
    mode.add_argument("--dry-run", action="store_true", help="print a unified diff; change nothing")
    parser.add_argument("--to", choices=("requirements", "pylock"), default="requirements",
                        help="pylock: write the requirements files as one PEP 751 lock file")
    parser.add_argument("-o", "--output", metavar="FILE", help="with --to pylock: write FILE")
    add_finder_arguments(parser)
    return parser


def command_port(argv: Sequence[str], out: IO[str], err: IO[str]) -> int:
    """Print (or rewrite) requirements files with peep's hash comments as pip options."""
    args = port_argument_parser().parse_args(argv)
    reader = requirements_reader(lambda: Transport(*settle_settings(args, os.environ)))
    if args.to == "pylock" or any(is_lock_file(path) for path in args.files):
        return port_lock(args, reader, out, err)
    for index, path in enumerate(args.files):
        try:
            data = reader(path)
        except OSError as exc:
            raise RequirementsFileError(path, f"cannot read it ({exc.strerror or exc})") from exc
        original = decode_requirements(data, path)
        ported, notes = port_text(original, path)
        if args.dry_run:
            write_diff(out, path, (original, ported), "ported")
        elif args.write and ported != original:
            rewrite_in_place(path, data, ported)
            err.write(f"peep port: rewrote {path} (the original is in {path}.bak)\n")
        elif args.write:
            err.write(f"peep port: {path} needs no change\n")
        else:
            if len(args.files) > 1:
                out.write(f"{'' if index == 0 else chr(10)}# peep port: {path}\n")
            out.write(ported)
        err.writelines(printable(f"peep port: {note}\n") for note in notes)
    return EXIT_OK


def port_lock(args: argparse.Namespace, reader: Callable[[str], bytes], out: IO[str],
              err: IO[str]) -> int:  # fmt: skip
    """Convert between lock files and requirements files, one way or the other."""
    if args.write or args.dry_run:
        raise UsageError("peep port: --write and --dry-run are for requirements files only")
    if args.to == "pylock":  # find each file of the requirements by its hash
        if any(is_lock_file(path) for path in args.files):
            raise UsageError("peep port --to pylock: give requirements files, not lock files")
        pylock_module()  # fail early, before any download, if the output cannot be checked
        records, finder, network = read_requirement_files(args.files, args)
        cache = ArchiveCache(network.cache_dir, lambda m: print(m, file=err))
        writer = LockWriter(Transport(finder, network), cache)
        results = [writer.package(record) for record in records if not record.is_constraint]
        problems = [r for r in results if isinstance(r, str)]
        if problems:
            raise PeepError("peep port: cannot write a lock file:\n    " + "\n    ".join(problems))
        text = format_lock([r for r in results if not isinstance(r, str)])
    elif len(args.files) > 1:  # and one of them is a lock file
        raise UsageError("peep port: give one lock file, or requirements files only")
    else:
        text = lock_to_requirements(args.files[0], reader)
    if args.output:
        try:
            write_file_safely(args.output, text.encode("utf-8"))
        except OSError as exc:
            message = f"peep port: cannot write {args.output!r} ({exc.strerror or exc})"
            raise PeepError(message) from exc
        err.write(f"peep port: wrote {args.output}\n")
    else:
        out.write(text)
    return EXIT_OK


def write_diff(out: IO[str], path: str, texts: Tuple[str, str], label: str) -> None:
    """Print how a file's text changes, as a unified diff."""
    import difflib
    old, new = (text.splitlines(keepends=True) for text in texts)
    out.writelines(difflib.unified_diff(old, new, fromfile=path, tofile=f"{path} ({label})"))


def write_text_keeping_mode(path: str, original: bytes, text: str) -> None:
    """Replace a file's text at once, keeping its BOM and mode (a new file's follows umask)."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0o022)
        os.umask(umask)
        mode = 0o666 & ~umask
    bom = codecs.BOM_UTF8 if original.startswith(codecs.BOM_UTF8) else b""
    write_file_safely(path, bom + text.encode("utf-8"), mode)


def rewrite_in_place(path: str, original: bytes, text: str) -> None:
    """Replace a UTF-8 file's text atomically (so it reads as before), saving it as FILE.bak."""
    try:
        original.decode("utf-8")
        refuse_link(path)  # before FILE.bak is written
        write_file_safely(path + ".bak", original, stat.S_IMODE(os.stat(path).st_mode))
        write_text_keeping_mode(path, original, text)
    except UnicodeDecodeError as exc:
        raise RequirementsFileError(path, "is not UTF-8, so peep will not rewrite it; port it "
                                    "to stdout instead") from exc  # fmt: skip
    except OSError as exc:
        raise RequirementsFileError(path, f"cannot rewrite it ({exc.strerror or exc})") from exc


# --- Commands: lock -----------------------------------------------------------

# "peep lock" learns the dependency closure from "pip install --dry-run --only-binary :all:",
# which reads wheels' metadata and runs no project's code (else it builds sdists, unconfined).
# Nothing here makes a file verified: every install checks what lock writes, byte by byte.

_VIA_RE = re.compile(r"^\s*#\s*via(?:\s+(\S.*?))?\s*$")
_VIA_MORE_RE = re.compile(r"^\s*#\s{2,}(\S.*?)\s*$")
_NO_MATCH_RE = re.compile(r"No matching distribution found for ([^\n]+)")


@dataclass(frozen=True)
class LockEntry:
    """A requirement of the file being locked, with the physical lines it spans."""

    requirement: Requirement
    first: int  # the requirement's first and last physical lines (1-based)
    last: int
    hash_lines: Tuple[int, ...]  # its '# sha256:' comment lines
    via: Tuple[str, ...]  # what its '# via' notes name: only dependencies have them
    via_lines: Tuple[int, ...]

    @property
    def top_level(self) -> bool:
        """Tell whether the user asked for it (pip-compile's "-r FILE" notes say so too)."""
        return not self.via or any(parent.startswith(("-r", "-c")) for parent in self.via)


@dataclass(frozen=True)
class Pin:
    """One release pip's resolver picked, from its installation report."""

    key: str  # the project's canonical name
    version: Version
    url: str  # the file pip would install here
    extras: FrozenSet[str]
    requires: Tuple[str, ...]
    digest: Optional[str] = None  # that file's sha256, as the index told pip
    direct: bool = False  # a direct URL's file: the index's file of its name may differ
    build_requires: Tuple[str, ...] = ()  # an sdist's [build-system] requires


def _via_notes(physical: Sequence[str], last: int) -> Tuple[Tuple[str, ...], Tuple[int, ...]]:
    """Read the '# via' notes (pip-compile's forms) right after a requirement's lines."""
    match = _VIA_RE.match(physical[last]) if last < len(physical) else None
    if match is None:
        return (), ()
    if match.group(1):  # "# via PARENT", on one line
        return (match.group(1),), (last + 1,)
    parents: List[str] = []
    for index in range(last + 1, len(physical)):
        more = _VIA_MORE_RE.match(physical[index])
        if more is None or _HASH_COMMENT_RE.match(physical[index]):
            break
        parents.append(more.group(1))
    return tuple(parents), tuple(range(last + 1, last + 2 + len(parents)))  # "# via", then each


def lock_entries(text: str, path: str, records: Sequence[Requirement]) -> List[LockEntry]:
    """Find each of the file's own requirements in its text, with its hash and via lines."""
    physical = text.splitlines()
    by_line = {r.origin.line: r for r in records if r.origin.source == path}
    entries = []
    pending: List[int] = []
    for line in scan_requirements_text(text, path, os.environ):
        if isinstance(line, HashComment):
            pending.append(line.origin.line)
            continue
        record = by_line.get(line.origin.line)
        if record is not None:
            notes = _via_notes(physical, line.last)
            entries.append(LockEntry(record, line.origin.line, line.last, tuple(pending), *notes))
        pending = []
    return entries


def _requirement_text(record: Requirement, pinned: Optional[str] = None) -> str:
    """Write a requirement for pip or for the file: name, extras, version or URL, marker."""
    extras = f"[{','.join(sorted(record.extras))}]" if record.extras else ""
    version = f" @ {record.url}" if record.url is not None else (
        str(record.specifier) if pinned is None else f"=={pinned}")
    marker = f" ; {record.marker}" if record.marker is not None else ""
    return f"{record.name}{extras}{version}{marker}"


LockInput = Tuple[Tuple[str, ...], Tuple[str, ...]]  # what pip must install, and pins to keep


def resolution_input(entries: Sequence[LockEntry], specs: Sequence[Requirement],
                     moving: FrozenSet[str], elsewhere: Sequence[Requirement]) -> LockInput:
    """Ask for every top-level requirement and SPEC; keep every pin that is not ``moving``."""
    asked = {spec.key for spec in specs}
    requirements = [_requirement_text(spec) for spec in specs]
    constraints = []
    for entry in entries:
        record = entry.requirement
        pinned = record.pinned_version()
        if entry.top_level and record.key not in asked:
            moves = pinned is not None and record.key in moving
            keep = replace(record, specifier=SpecifierSet()) if moves else record
            requirements.append(_requirement_text(keep))
        if pinned is not None and not entry.top_level and record.key not in moving:
            constraints.append(f"{record.name}=={pinned}")
    for record in elsewhere:
        (constraints if record.is_constraint else requirements).append(_requirement_text(record))
    return tuple(requirements), tuple(constraints)


def _refuse_for_pip(lines: Sequence[str]) -> None:
    """Refuse what pip would act on unconfined: a URL of no wheel (pip builds it to resolve), a
    path, or a ${VAR} peep left (pip expands it from its environment, which holds the index)."""
    for line in lines:
        try:
            parsed = PackagingRequirement(line)
            # pip reads a name that ends as an archive does ("x-1.0.tar.gz[e]") as a file
            url = "" if parsed.name.lower().endswith(ARCHIVE_EXTENSIONS) else parsed.url
        except InvalidRequirement:
            url = ""  # then pip would read it as a path, or fail
        variable = _ENV_VAR_RE.search(line)
        if variable or (url is not None and not url_filename(url).endswith(WHEEL_EXTENSION)):
            why = f"pip would expand {variable[0]}" if variable else "pip would build or read it"
            raise PeepError(f"peep lock: cannot hand pip's resolver {line.split(' ')[0]!r}: "
                            f"{why}; nothing was written")


def resolve_with_pip(wanted: LockInput, finder: FinderSettings, network: NetworkSettings,
                     workdir: str) -> Union[List[Pin], str]:
    """Ask pip's resolver what it would install here; return its picks, or what pip said."""
    import json
    import subprocess
    if not wanted[0]:
        return []  # pip refuses to resolve nothing
    _refuse_for_pip(wanted[0] + wanted[1])
    report = os.path.join(workdir, "report.json")
    command = pip_command() + ["install", "--dry-run", "--ignore-installed", "--only-binary",
                               ":all:", "--disable-pip-version-check", "--no-input"]  # fmt: skip
    command += ["--no-index"] if finder.no_index else []
    # pip reads PIP_FIND_LINKS as words: a location with a space (a path: a URL has none, nor a
    # password then) stays on the command line; the rest go in the environment, below.
    spaced = [place for place in finder.find_links if len(place.split()) != 1]
    plain = [place for place in finder.find_links if place not in spaced]
    command += [word for location in spaced for word in ("--find-links", location)]
    command += [word for host in sorted(finder.trusted_hosts) for word in ("--trusted-host", host)]
    command += ["--pre"] if finder.pre else []
    for flag, value in (("--cert", network.cert), ("--client-cert", network.client_cert)):
        command += [flag, value] if value else []
    command += ["--timeout", str(network.timeout), "--retries", str(network.retries)]
    pip_release = re.match(r"pip (\d+)\.", pip_version())
    if finder.uploaded_prior_to is not None and pip_release and int(pip_release[1]) >= 26:
        # pip 26 keeps later uploads out of its resolve; an older pip's picks are checked after.
        cutoff = time.gmtime(max(finder.uploaded_prior_to, 0.0))  # none were uploaded before 1970
        command += ["--uploaded-prior-to", time.strftime("%Y-%m-%dT%H:%M:%SZ", cutoff)]
    cache = ["--no-cache-dir"] if network.cache_dir is None else ["--cache-dir", network.cache_dir]
    command += cache + ["--report", report]
    for flag, name, lines in (("-r", "requirements", wanted[0]), ("-c", "constraints", wanted[1])):
        path = os.path.join(workdir, f"{name}.txt")
        with open(path, "w", encoding="utf-8") as stream:
            stream.write("".join(f"{line}\n" for line in lines))
        command += [flag, path]
    # URLs may carry credentials: other users can read a command line, not the environment.
    environment = scrubbed_pip_environment()
    for name, value in (("PIP_INDEX_URL", finder.index_url),  # none: pip's own default
                        ("PIP_EXTRA_INDEX_URL", " ".join(finder.extra_index_urls)),
                        ("PIP_FIND_LINKS", " ".join(plain)),
                        ("PIP_PROXY", network.proxy)):  # fmt: skip
        if value:
            environment[name] = value
    result = subprocess.run(command, capture_output=True, text=True, check=False,
                            env=environment, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        return result.stdout + result.stderr  # why a conflict is, is on stdout
    with open(report, encoding="utf-8") as stream:
        return [_pin_from_report(item) for item in json.load(stream).get("install", [])]


def _pin_from_report(item: Mapping[str, Any]) -> Pin:
    metadata = item["metadata"]
    archive = item["download_info"].get("archive_info") or {}
    said = (archive.get("hashes") or {}).get("sha256") or archive.get("hash", "=")
    return Pin(
        key=canonicalize_name(str(metadata["name"])), version=Version(str(metadata["version"])),
        url=str(item["download_info"]["url"]), extras=frozenset(item.get("requested_extras") or ()),
        requires=tuple(str(text) for text in metadata.get("requires_dist") or ()),
        digest=str(said).rpartition("sha256=")[2].lower() or None,
        direct=bool(item.get("is_direct")),
    )  # fmt: skip


def dependency_parents(pins: Sequence[Pin]) -> Dict[str, List[str]]:
    """Map each pinned project to the pinned projects that need it, for '# via' notes."""
    markers = {key: str(value) for key, value in default_environment().items()}
    parents: Dict[str, List[str]] = {pin.key: [] for pin in pins}
    for pin in sorted(pins, key=lambda p: p.key):
        for text in pin.requires:
            dependency = PackagingRequirement(text)
            key = canonicalize_name(dependency.name)
            if key in parents and key != pin.key and pin.key not in parents[key] and (
                    _dependency_applies(dependency, pin.extras, markers)):
                parents[key].append(pin.key)
    return parents


def _no_wheel_error(name: str) -> PeepError:
    return PeepError(f"peep lock: {name} has no wheel, and its sdist does not declare its "
                     "dependencies statically (PKG-INFO 2.2+ without 'Dynamic: Requires-Dist'); "
                     f"peep lock does not build sdists to learn them (that would run {name}'s "
                     f"build code unvetted): pin {name} in FILE with its hashes ('peep hash "
                     f"{name}==VERSION') and add its dependencies by hand, or choose a version of "
                     f"{name} that has a wheel. Nothing was written.")


def _metadata_stub(directory: str, name: str, version: Version, message: Any,
                   requires: Sequence[str]) -> None:  # fmt: skip
    """Write a wheel of metadata alone, for pip's resolver to read (it never installs)."""
    import zipfile
    dist = f"{re.sub(r'[-_.]+', '_', name)}-{version}"
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Python: {v}" for v in message.get_all("Requires-Python") or []]
    lines += [f"Provides-Extra: {v}" for v in message.get_all("Provides-Extra") or []]
    lines += [f"Requires-Dist: {v}" for v in requires]
    os.makedirs(directory, exist_ok=True)
    with zipfile.ZipFile(os.path.join(directory, f"{dist}-py3-none-any.whl"), "w") as stub:
        stub.writestr(f"{dist}.dist-info/METADATA", "\n".join(lines) + "\n")
        stub.writestr(f"{dist}.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n"
                      "Tag: py3-none-any\n")  # fmt: skip
        stub.writestr(f"{dist}.dist-info/RECORD", "")


@dataclass
class LockHashes:
    """Every file of each release with its digest, and where the digests came from."""

    files: Dict[str, List[Tuple[Candidate, str]]]  # project -> (file, hex sha256)
    from_index: int = 0
    downloaded: int = 0

    def digests(self, key: str) -> List[str]:
        """Return a project's digests, sorted, each once."""
        return sorted({digest for _, digest in self.files[key]})


def _via_text(parents: Sequence[str]) -> List[str]:
    """Write '# via' notes the way pip-compile does."""
    if len(parents) == 1:
        return [f"    # via {parents[0]}"]
    return ["    # via"] + [f"    #   {parent}" for parent in parents] if parents else []


@dataclass
class LockPlan:
    """The edits that complete a file: lines deleted, lines inserted, and what changed."""

    deleted: Set[int] = field(default_factory=set)
    inserts: Dict[int, List[str]] = field(default_factory=dict)  # before physical line N
    appended: List[str] = field(default_factory=list)
    added: List[str] = field(default_factory=list)
    updated: List[str] = field(default_factory=list)
    removed: List[str] = field(default_factory=list)

    def drop(self, entry: LockEntry) -> None:
        self.deleted |= {*entry.hash_lines, *entry.via_lines, *range(entry.first, entry.last + 1)}

    def apply(self, physical: Sequence[str]) -> List[str]:
        """Return the file's lines with the edits made."""
        lines = [new for number, line in enumerate(physical, start=1) for new in
                 self.inserts.get(number, []) + ([] if number in self.deleted else [line])]
        return lines + self.inserts.get(len(physical) + 1, []) + self.appended


def _read_lock_target(path: str) -> Tuple[bytes, str]:
    """Read the file to complete (absent is empty); refuse links, FIFOs, huge files, non-UTF-8."""
    if os.path.islink(path):
        raise UsageError(f"peep lock: {path!r} is a symbolic link; peep lock writes no file "
                         "through a link (name the file it points to)")  # fmt: skip
    try:
        data = read_requirements_source(os.path.join(os.curdir, path))  # a path, never a URL
        data.decode("utf-8")
    except FileNotFoundError:
        return b"", ""
    except OSError as exc:
        raise RequirementsFileError(path, f"cannot read it ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise RequirementsFileError(path, "is not UTF-8, so peep lock will not rewrite it") from exc
    return data, decode_requirements(data, path)


@dataclass
class Locking:
    """One run of ``peep lock``: pip's resolver, the hashing of releases, the files written."""

    args: argparse.Namespace
    transport: Transport
    out: IO[str]
    err: IO[str]

    def resolve(self, wanted: LockInput, pinned: Mapping[str, Version],
                by_hand: FrozenSet[str]) -> List[Pin]:  # fmt: skip
        """Resolve with pip; for each project with only sdists, retry with its static metadata."""
        import tempfile
        stubbed: Dict[str, Dict[str, Any]] = {}  # project -> what its pick takes from its sdist
        finder, network = self.transport.finder, self.transport.network
        with tempfile.TemporaryDirectory(prefix="peep-lock-") as workdir:
            stubs = replace(finder, find_links=(*finder.find_links, os.path.join(workdir, "stubs")))
            while True:
                picks = resolve_with_pip(wanted, stubs if stubbed else finder, network, workdir)
                if not isinstance(picks, str):
                    return [replace(pick, **stubbed.get(pick.key, {})) for pick in picks]
                missing = [m for m in self._missing_wheels(picks, pinned)
                           if canonicalize_name(m[0].name) not in stubbed]
                if not missing:
                    said = [f"    {line}" for line in picks.strip().splitlines()[-30:]]
                    raise PeepError("peep lock: pip's resolver found no set of wheels that fits; "
                                    "nothing was written. pip said:\n" + "\n".join(said).rstrip())
                stubbed.update(self._stub_sdist_only(project, pinned, by_hand, workdir)
                               for project in missing)  # fmt: skip

    def _missing_wheels(self, pip_said: str, pinned: Mapping[str, Version]
                        ) -> List[Tuple[PackagingRequirement, List[Candidate]]]:  # fmt: skip
        """Return each project pip's failure may be about that has only sdists, with its files."""
        import concurrent.futures
        match = _NO_MATCH_RE.search(pip_said)
        # pip 26 adds who needs it: "... found for sdonly (from needs-sdonly)".
        named = match.group(1).split(" (from ")[0].strip() if match else ""
        asked = [named] if match else [f"{k}=={v}" for k, v in pinned.items()]

        def sdists_only(text: str) -> Optional[Tuple[PackagingRequirement, List[Candidate]]]:
            try:
                wanted = PackagingRequirement(text)
            except InvalidRequirement:
                return None
            requirement = parse_requirement(wanted.name, COMMAND_LINE)
            found, _, _ = find_candidates(self.transport, requirement, self.transport.finder)
            fits = [c for c in found if wanted.specifier.contains(c.version, prereleases=True)]
            return (wanted, found) if fits and not any(c.is_wheel for c in fits) else None

        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            return [found for found in pool.map(sdists_only, asked) if found is not None]

    def _stub_sdist_only(self, missing: Tuple[PackagingRequirement, List[Candidate]],
                         pinned: Mapping[str, Version], by_hand: FrozenSet[str],
                         workdir: str) -> Tuple[str, Dict[str, Any]]:
        """Give pip a metadata-only wheel of an sdist's PKG-INFO 2.2+ dependencies (none if FILE
        pins and hashes it): the sdist is read, never built. Return what its pick takes from it."""
        wanted, found = missing
        key = canonicalize_name(wanted.name)
        pin = pinned.get(key)
        # The sdist pip would take: the pinned version, else the newest that fits here.
        fitting = [c for c in select_release_files(found, compatible=True) if c.yanked is None
                   and (c.version == pin if pin else c.version in wanted.specifier)]  # fmt: skip
        sdist = max(fitting, key=lambda candidate: candidate.version, default=None)
        if sdist is None:
            raise _no_wheel_error(wanted.name)
        path = os.path.join(workdir, safe_filename(sdist.filename))
        digests = self.transport.download(sdist.url.split("#", 1)[0], path, ("sha256",))
        advertised = sdist.advertised_hashes().get("sha256")
        if advertised and advertised != digests["sha256"]:
            raise PeepError(f"peep lock: {sdist.filename}: the index says sha256 {advertised}, "
                            f"but its bytes hash to {digests['sha256']}; nothing was written")
        # Read strictly, never run; nothing is installed from it, and the lock
        # records its hash for every later install to check.
        facts = read_archive(path, sdist.filename, project=key)
        requires = static_dependencies(facts)
        if requires is None and key not in by_hand:
            raise _no_wheel_error(wanted.name)
        _metadata_stub(os.path.join(workdir, "stubs"), key, sdist.version, facts.headers(),
                       requires or ())
        build = read_build_system(facts, sdist.filename).requires
        return key, {"url": sdist.url.split("#", 1)[0], "digest": None, "build_requires": build}

    def _release_files(self, pin: Pin) -> List[Candidate]:
        """Return a pinned release's files, with the one pip chose in place of any of its name."""
        requirement = parse_requirement(f"{pin.key}=={pin.version}", COMMAND_LINE)
        found, _, _ = find_candidates(self.transport, requirement, self.transport.finder)
        release = [candidate for candidate in found if candidate.version == pin.version]
        release = _one_per_filename(release, self.err, command="peep lock")
        picked = url_filename(pin.url)
        listed = any(candidate.filename == picked for candidate in release)
        # A cooldown holds in locks too, for index files as in pip (a URL you named is yours),
        # but a later file of a release listed in time is no reason to give the release up.
        if not listed and not pin.direct and self.transport.finder.uploaded_prior_to is not None:
            instead = "" if release else f"add '{pin.key}<{pin.version}' to {self.args.file}, or "
            raise PeepError(
                f"peep lock: pip's resolver picked {picked!r}, which no index lists as uploaded "
                "before --uploaded-prior-to; nothing was written. pip older than 26.0 cannot "
                f"keep such uploads out: {instead}use pip 26 or newer")
        if pin.direct or not listed:  # a direct URL's file is not the index's, whatever its name
            chosen = candidate_from_link(Link(url=pin.url), pin.key)
            release = [c for c in release if c.filename != picked]
            release += [chosen] if chosen is not None else []
        return release

    def hash_releases(self, pins: Sequence[Pin]) -> LockHashes:
        """Hash every file of each release: the index's digests where it gives them, else
        a download; the file this machine installs is always downloaded and checked."""
        import concurrent.futures
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            releases = list(pool.map(lambda pin: (pin, self._release_files(pin)), pins))
        hashes = LockHashes({pin.key: [] for pin in pins})
        fetch: List[Candidate] = []
        for pin, release in releases:
            for candidate in release:
                advertised = candidate.advertised_hashes().get("sha256")
                if advertised and candidate.filename != url_filename(pin.url):
                    hashes.files[pin.key].append((candidate, advertised))
                    hashes.from_index += 1
                else:
                    fetch.append(candidate)
        progress = Progress(self.err, quiet=self.args.quiet)
        found, status = hash_downloads(self.transport, fetch, "sha256", progress, "peep lock")
        if status != EXIT_OK:
            raise PeepError("peep lock: some files could not be hashed (above); "
                            "nothing was written")
        for candidate, digest in found:
            hashes.files[candidate.name].append((candidate, digest))  # the name is the pin's key
        hashes.downloaded = len(found)
        return hashes

    def write_build_constraints(self, picks: Sequence[Pin]) -> bool:
        """Pin the build needs of the closure's sdists (and theirs) in --build-constraint FILE."""
        requires: Set[str] = set()
        builds: List[Pin] = []
        more = {text for pin in picks for text in pin.build_requires}
        while not more <= requires:  # until the builds' own build needs add nothing
            requires |= more
            builds = self.resolve((tuple(sorted(requires)), ()), {}, frozenset())
            more = {text for pin in builds for text in pin.build_requires}
        hashes = self.hash_releases(builds)
        path = self.args.build_constraint
        read = _read_lock_target(path)
        style = hash_style(read[1], default="pip")
        lines = ["# Build dependencies of the sdists peep lock pinned, for --build-constraint:",
                 "# builds use them; they are never installed into the target."]  # fmt: skip
        for pin in sorted(builds, key=lambda p: p.key):
            lines += hash_lines(f"{pin.key}=={pin.version}", hashes.digests(pin.key), style)
        changed = self._write_or_diff(path, read, "".join(line + "\n" for line in lines))
        self.err.write(f"peep lock: {path}: {len(builds)} build dependencies pinned\n")
        return changed

    def _write_or_diff(self, path: str, read: Tuple[bytes, str], new_text: str) -> bool:
        """Print the diff (--dry-run) or write the file if it changes; tell whether it does."""
        if self.args.dry_run:
            write_diff(self.out, path, (read[1], new_text), "locked")
        elif new_text != read[1]:
            if os.path.islink(path):
                raise UsageError(f"peep lock: {path!r} became a symbolic link; not written")
            write_text_keeping_mode(path, read[0], new_text)
        return new_text != read[1]

    def finish(self, read: Tuple[bytes, str], new_text: str, plan: LockPlan,
               hashes: LockHashes, picks: Sequence[Pin]) -> int:  # fmt: skip
        """Write --build-constraint FILE and FILE, or show their diffs; say what changed."""
        args = self.args
        builds_changed = args.build_constraint is not None and self.write_build_constraints(picks)
        changed = self._write_or_diff(args.file, read, new_text)
        lists = (("added", plan.added), ("updated", plan.updated), ("removed", plan.removed))
        parts = [f"{len(items)} {verb} ({', '.join(items)})" for verb, items in lists if items]
        changes = "; ".join(parts) or "no requirement changed"
        self.err.write(f"peep lock: {args.file}{' (dry run)' if args.dry_run else ''}: {changes}; "
                       f"{hashes.from_index} hashes taken from the index's digests, "
                       f"{hashes.downloaded} files downloaded and hashed by peep\n")
        return EXIT_FAILED if args.dry_run and (changed or builds_changed) else EXIT_OK


def _kept_as_written(entry: LockEntry, pin: Pin) -> bool:
    """Tell whether an entry stands as written: a URL, or pip's pick with this machine's hash."""
    record = entry.requirement
    return record.url is not None or (
        bool(record.hashes) and record.pinned_version() == pin.version
        and (pin.digest is None or record.hashes.matches({"sha256": pin.digest})))


def plan_lock(entries: Sequence[LockEntry], specs: Sequence[Requirement], picks: Sequence[Pin],
              hashes: LockHashes, style: str) -> LockPlan:  # fmt: skip
    """Decide every edit: pins moved, orphans dropped, new dependencies added at the end."""
    plan = LockPlan()
    asked = {spec.key: spec for spec in specs}
    pins = {pick.key: pick for pick in picks}
    parents = dependency_parents(picks)
    for entry in entries:
        record = entry.requirement
        pin = pins.get(record.key)
        top_level = entry.top_level or record.key in asked
        via = list(entry.via) if entry.top_level else [] if top_level else (
            parents.get(record.key, []))  # fmt: skip
        if pin is None and not top_level:
            plan.drop(entry)
            plan.removed.append(_requirement_text(record).strip())
        elif pin is None or _kept_as_written(entry, pin):
            if tuple(via) != entry.via and pin is not None:
                plan.deleted.update(entry.via_lines)
                plan.inserts.setdefault(entry.last + 1, []).extend(_via_text(via))
        else:
            head = _requirement_text(asked.get(record.key, record), str(pin.version))
            plan.drop(entry)
            plan.inserts.setdefault(entry.first, []).extend(
                hash_lines(head, hashes.digests(pin.key), style) + _via_text(via))
            was = record.pinned_version() or (record.specifier or "unpinned")
            plan.updated.append(f"{record.name}=={pin.version} (hashes)" if was == pin.version
                                else f"{record.name} {was} -> {pin.version}")  # fmt: skip
    # New to FILE: each release hashed (none that a nested file holds) that FILE does not name.
    for key in sorted(set(hashes.files) - {entry.requirement.key for entry in entries}):
        pin = pins[key]
        head = _requirement_text(asked[key], str(pin.version)) if key in asked else (
            f"{key}=={pin.version}")  # fmt: skip
        via = [] if key in asked else parents.get(key, [])
        plan.appended += hash_lines(head, hashes.digests(key), style) + _via_text(via)
        plan.added.append(f"{key}=={pin.version}")
    return plan


def lock_argument_parser() -> argparse.ArgumentParser:
    """Build the parser for ``peep lock``'s command line."""
    parser = _ArgumentParser(prog="peep lock", description="Complete FILE in place: add each "
                             "SPEC, pin what pip's resolver picks for this environment, add the "
                             "whole dependency closure with '# via' notes, and hash every file of "
                             "each pinned release, in FILE's own hash format.")  # fmt: skip
    parser.add_argument("-r", "--requirement", dest="file", metavar="FILE", required=True,
                        help="the requirements file to complete (made if it does not exist)")
    parser.add_argument("specs", nargs="*", metavar="SPEC",
                        help="a requirement to add to FILE, such as 'requests>=2'")
    parser.add_argument("-P", "--upgrade-package", action="append", default=[], metavar="NAME",
                        help="let NAME move to the newest version that fits (repeatable)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print a unified diff and write nothing; exit 1 if FILE would change")
    parser.add_argument("--build-constraint", metavar="FILE",
                        help="write the build dependencies of every sdist in the closure, "
                        "pinned and hashed, to FILE (for install's --build-constraint)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    add_finder_arguments(parser)
    return parser


def _lockable(record: Requirement) -> Optional[str]:
    """Say why a requirement cannot be locked, if it cannot."""
    if record.url is None or url_filename(record.url).endswith(WHEEL_EXTENSION):
        return record.unsupported
    return record.unsupported or "pip would build this URL's archive to learn its dependencies"


def command_lock(argv: Sequence[str], out: IO[str], err: IO[str]) -> int:
    """Complete a requirements file: pins, the dependency closure, every file's hash."""
    args = lock_argument_parser().parse_args(argv)
    specs = [parse_requirement(text, COMMAND_LINE) for text in args.specs]
    for spec in specs:
        if spec.name is None or spec.url is not None:
            raise UsageError(f"peep lock: {spec.text!r} is not a requirement by name (write NAME "
                             "or NAME>=VERSION, e.g. requests>=2)")  # fmt: skip
    read = _read_lock_target(args.file)
    files = [args.file] if os.path.exists(args.file) and not is_lock_file(args.file) else []
    records, finder, network = read_requirement_files(files, args)
    problems = [f"{r.origin}: {r.text!r}: {_lockable(r)}" for r in records if _lockable(r)]
    if problems:
        raise PeepError("peep lock: cannot lock these requirements:\n    " + "\n    ".join(
            problems))  # fmt: skip
    locking = Locking(args, Transport(finder, network), out, err)
    if is_lock_file(args.file):
        return lock_pylock(locking, specs, read)
    return lock_requirements(locking, specs, records, read)


def lock_requirements(locking: Locking, specs: Sequence[Requirement],
                      records: Sequence[Requirement], read: Tuple[bytes, str]) -> int:
    """Pin what pip picks, add the dependency closure, hash each moved pin's release."""
    path, text = locking.args.file, read[1]
    entries = lock_entries(text, path, records)
    nested = [r for r in records if r.origin.source != path]
    upgrade = frozenset(canonicalize_name(name) for name in locking.args.upgrade_package)
    moving = upgrade | {spec.key for spec in specs}
    pins = {e.requirement.key: e.requirement.pinned_version() for e in entries}
    pinned = {k: v for k, v in pins.items() if v is not None and k not in moving}
    by_hand = frozenset(e.requirement.key for e in entries
                        if e.top_level and e.requirement.hashes and e.requirement.key in pinned)
    picks = locking.resolve(resolution_input(entries, specs, moving, nested), pinned, by_hand)
    elsewhere = frozenset(r.key for r in nested if not r.is_constraint)
    written = {entry.requirement.key: entry for entry in entries}
    # What a nested file holds stays there, unless FILE names it too: FILE's entries are its own.
    moved = [p for p in picks if (not _kept_as_written(written[p.key], p) if p.key in written
                                  else p.key not in elsewhere)]  # fmt: skip
    hashes = locking.hash_releases(moved)
    plan = plan_lock(entries, specs, picks, hashes, hash_style(text, default="pip"))
    newline = "\r\n" if "\r\n" in text else "\n"
    new_text = "".join(line + newline for line in plan.apply(text.splitlines()))
    edited = plan.deleted or plan.inserts or plan.appended
    return locking.finish(read, new_text if edited else text, plan, hashes, picks)


def _pylock_packages(picks: Sequence[Pin], hashes: LockHashes) -> List[Dict[str, Any]]:
    """Describe each pinned release for a lock file: what it needs, every file's hash."""
    parents = dependency_parents(picks)
    packages = []
    for pin in picks:
        files = [pylock_file(c.filename, c.url.split("#", 1)[0], None, {"sha256": digest})
                 for c, digest in hashes.files[pin.key]]  # fmt: skip
        needs = sorted(child for child, theirs in parents.items() if pin.key in theirs)
        more = {"dependencies": [{"name": name} for name in needs]} if needs else {}
        packages.append(pylock_package(pin.key, str(pin.version), files, more))
    return packages


def _pylock_kept(location: str, old: Any) -> List[Requirement]:
    """Read the requirements a lock's ``[tool.peep]`` keeps (none: every package it lists) as
    peep lock reads a requirements file's; a lock is data, so pip may not expand '$' in them."""
    ours = (old.tool or {}).get("peep") or {}
    kept = ours.get("requirements", []) if isinstance(ours, dict) else None
    origin = Origin(f"{location}: [tool.peep] requirements")
    if not isinstance(kept, list) or not all(isinstance(text, str) for text in kept):
        raise RequirementsFileError(origin, "must be a list of strings")
    records = [parse_requirement(text, origin) for text in kept]
    for record in records:
        problem = "'$' (pip would expand ${VAR} in it)" if "$" in record.text else (
            _lockable(record) or (None if record.name else "it names no project"))
        if problem:
            raise RequirementsFileError(origin, f"{record.text!r}: {problem}")
    return records or [parse_requirement(str(canonicalize_name(p.name)), origin)
                       for p in old.packages]  # another tool's lock: all asked for


def lock_pylock(locking: Locking, specs: Sequence[Requirement], read: Tuple[bytes, str]) -> int:
    """Write a PEP 751 lock of the SPECs and the requirements its ``[tool.peep]`` keeps."""
    args = locking.args
    old = read_lock_file(args.file, lambda _: read[0]) if read[1] else None
    packages = old.packages if old else []
    was: Dict[str, Any] = {str(canonicalize_name(p.name)): p.version for p in packages}
    asked = {spec.key for spec in specs}
    top = [_requirement_text(s) for s in specs] + [
        r.text for r in (_pylock_kept(args.file, old) if old else []) if r.key not in asked]
    moving = asked | {canonicalize_name(name) for name in args.upgrade_package}
    keep = tuple(f"{k}=={v}" for k, v in was.items() if v is not None and k not in moving)
    picks = locking.resolve((tuple(top), keep), {}, frozenset())
    if not picks:  # PEP 751 wants "packages"; an empty lock would lock nothing anyway
        raise PeepError(f"peep lock: {args.file}: pip's resolver picked nothing to install here "
                        "(no SPEC, or no requirement whose marker holds here); nothing was written")
    hashes = locking.hash_releases(picks)
    tool = "\n[tool.peep]\nrequirements = " + _toml(top) + "\n"
    here = default_environment()  # a marker that holds where this lock was resolved
    header = {"environments": [" and ".join(
        f"{key} == {_toml(str(here[key]))}".replace('"', "'") for key in
        ("implementation_name", "sys_platform", "platform_machine", "python_version"))]}
    new_text = format_lock(_pylock_packages(picks, hashes), header, tool)
    now = {p.key: p.version for p in picks}
    plan = LockPlan(added=[f"{k}=={v}" for k, v in sorted(now.items()) if k not in was],
                    updated=[f"{k} {was[k]} -> {v}" for k, v in sorted(now.items())
                             if k in was and was[k] != v],
                    removed=[f"{k}=={v}" for k, v in sorted(was.items()) if k not in now])
    return locking.finish(read, new_text, plan, hashes, picks)


# --- Checking installed files [trust] -----------------------------------------
#
# What check trusts, most first: the members of the vetted wheel itself (from
# the verified cache, re-hashed as read); else the installed RECORD, which whoever
# rewrote a file could rewrite too (a note says so); for .pyc files, what their
# source compiles to. Every file of code and every start-up hook must be vouched
# for by one of these. It reads only regular files, never through a link.


# Installers a site holds though no requirement names them, seeded by `python -m
# venv` (ensurepip): listed apart, not errors (--strict too), when a wheel this
# interpreter bundles is theirs, and their files are compared with it. Any other
# copy (a planted pip==0.1, one upgraded in place) is unlisted, like any project.
_INSTALLER_TOOLS = frozenset({"pip", "setuptools", "wheel"})

# Findings that only say what check could not vouch for; --strict makes the first two errors.
_STRICT_KINDS = frozenset({"unlisted", "unrecorded"})
_NOTE_KINDS = _STRICT_KINDS | {"listed apart", "record only"}

@dataclass(frozen=True)
class CheckedSite:
    """Where check looks, and where the files a RECORD names may lie."""

    paths: Tuple[str, ...]  # site directories: imported from, their .pth files run
    roots: Tuple[str, ...]  # a RECORD path outside every one of these is not read
    target: Optional[str] = None  # a pip --target directory
    hook_files: Tuple[str, ...] = ()  # start-up hooks elsewhere that Python runs
    virtualenv: bool = False  # virtualenv made it: the files it writes are its own

    def locate(self, site_dir: str, path: str) -> Optional[str]:
        """Return the file a RECORD path in ``site_dir`` names; None if it lies outside."""
        # pip --target installs into a temporary home scheme, then moves its
        # lib/python and its other directories (bin, share) into the target:
        # RECORD paths are relative to that lib/python, so bin/x is ../../bin/x.
        base = site_dir if self.target is None else os.path.join(self.target, "lib", "python")
        located = os.path.normpath(os.path.join(base, path))
        if self.target is not None and located.startswith(base + os.sep):
            located = os.path.join(self.target, located[len(base) + 1 :])
        inside = any(located.startswith(os.path.join(root, "")) for root in self.roots)
        return located if inside else None


def checked_site(args: argparse.Namespace) -> CheckedSite:
    """Return the site the options name: --target, --path, --prefix, --user, else this one."""
    import importlib.machinery
    if args.path:
        directory = os.path.abspath(args.path)
        parts = directory.split(os.sep)  # to the prefix above .../lib/pythonX.Y/site-packages
        while len(parts) > 2 and (parts[-1].startswith("python") or parts[-1] in (
                "site-packages", "dist-packages", "lib", "lib64", "Lib")):
            parts.pop()
        return CheckedSite((directory,), (os.sep.join(parts) or os.sep,))
    paths = tuple(install_scheme(args.target, args.prefix, args.user)[1])
    if args.target:
        return CheckedSite(paths, paths, target=paths[0])
    if args.prefix:
        return CheckedSite(paths, (os.path.abspath(args.prefix),))
    if args.user:
        return CheckedSite(paths, (site.getuserbase(),))
    roots = [sys.prefix, sys.exec_prefix]
    if site.ENABLE_USER_SITE and sys.prefix == sys.base_prefix:
        roots.append(site.getuserbase())
    normal = tuple(dict.fromkeys(os.path.normpath(os.path.abspath(p)) for p in paths))
    # The start-up hooks this interpreter runs from elsewhere: the .pth files of every site
    # directory (a venv's system site-packages), the first sitecustomize and usercustomize.
    hooks = [os.path.join(directory, name) for directory in site.getsitepackages()
             if os.path.normpath(directory) not in normal and os.path.isdir(directory)
             for name in sorted(os.listdir(directory)) if name.endswith(".pth")]
    for module in ("sitecustomize", "usercustomize"):
        spec = importlib.machinery.PathFinder.find_spec(module)
        if spec and spec.origin and os.path.dirname(os.path.normpath(spec.origin)) not in normal:
            hooks.append(spec.origin)
    return CheckedSite(normal, tuple(os.path.normpath(r) for r in dict.fromkeys(roots)),
                       hook_files=tuple(hooks), virtualenv=_made_by_virtualenv())  # fmt: skip


def _digest_regular(path: str, algorithm: str = "sha256") -> Tuple[str, str]:
    """Return (hex digest, "") of a regular file, or ("", why not)."""
    stream, why = _open_regular(path)
    if stream is None:
        return "", why
    with stream:
        return hash_stream(stream, (algorithm,))[algorithm], ""


def verify_record(copy: Installed, site: CheckedSite) -> List[Tuple[str, str]]:
    """Return (path, problem) for each RECORDed file that is gone or changed, and for a .dist-info
    RECORD that cannot be read whole (then no file of it would be compared at all)."""
    problems = []
    if copy.metadata_dir.endswith(".dist-info"):
        record, why = _read_regular(os.path.join(copy.metadata_dir, "RECORD"))
        if record is None:
            problems.append((posixpath.join(os.path.basename(copy.metadata_dir), "RECORD"), why))
    for path, hash_field in copy.record_rows():
        located = site.locate(copy.site_dir, path)
        if located is None:
            problems.append((path, "outside the checked installation, so not read"))
            continue
        mode, _, expected = hash_field.partition("=")
        if mode not in HASH_ALGORITHMS:
            continue  # RECORD itself, .pyc files and weak hashes vouch for nothing (_code_problems)
        digest, why = _digest_regular(located, mode)
        encoded = hex_to_peep(digest)  # RECORD's form: urlsafe base64, unpadded
        if why or encoded != expected:
            problems.append((path, why or f"{mode} is {encoded}, RECORD says {expected}"))
    return problems


PYC_CHECKS_A_WORKER = 32  # each compiles a module afresh: some 3 ms

# What Python imports or runs at start-up: where code would be hidden to persist.
_CODE_SUFFIXES = (".py", ".pyw", ".pyc", ".pyo", ".so", ".pyd", ".pth")

# What virtualenv writes into a site that no RECORD lists, exempt only in the environment
# virtualenv made: the .pth is known by its content; _virtualenv.py varies with virtualenv's
# version, so it is listed apart as unvouched for.
_VIRTUALENV_PTH = b"import _virtualenv"


def _code_problems(distributions: Mapping[str, Sequence[Installed]],
                   site: CheckedSite) -> List[Problem]:
    """Report code no RECORD's hash vouches for, .pyc files that are not their source's, hooks.
    pip records .pyc files without a hash, Python writes more: each is compiled afresh."""
    recorded = _recorded_files(distributions, site)
    compiled: List[Tuple[str, str, str, str, int, str]] = []  # owner, relative, pyc, source...
    unrecorded: List[Tuple[str, str]] = []
    seeded: List[str] = []
    walked: Set[str] = set()
    for site_dir in site.paths:
        if os.path.realpath(site_dir) in walked:
            continue  # purelib and platlib are often one directory
        walked.add(os.path.realpath(site_dir))
        for path, relative in _site_code_files(site_dir, unrecorded):
            owner, hashed = recorded.get(_path_key(path), ("", False))
            # A .pyc of vouched-for source is compiled afresh, whatever hash its row was given.
            source = _pyc_source(path)
            if source is not None:
                source_owner, source_hashed = recorded.get(_path_key(source[0]), ("", False))
                if source_hashed or site.virtualenv and _virtualenv_file(site_dir, source[0], []):
                    compiled.append((source_owner or owner, relative, path) + source)
                    continue
            if hashed or site.virtualenv and _virtualenv_file(site_dir, path, seeded):
                continue  # verify_record checks its hash
            unrecorded.append((relative, "listed in RECORD without a hash" if owner else ""))
    pyc_problems = on_every_cpu(_pyc_problem, [job[2:] for job in compiled], PYC_CHECKS_A_WORKER)
    problems = [framed("tampered", _about(job[0]), f"{job[0]}: {job[1]} ({why})")
                for job, why in zip(compiled, pyc_problems) if why]  # noqa: B905 (3.9)
    problems += [framed("unrecorded", _about(path), path + (f" ({why})" if why else ""))
                 for path, why in unrecorded]  # fmt: skip
    problems += [framed("listed apart", _about(text), text) for text in seeded]
    problems += [framed("listed apart", _about(path), f"{path}: a start-up hook outside the "
                        "checked site, so no RECORD peep read vouches for it")
                 for path in site.hook_files]  # fmt: skip
    return problems


def _made_by_virtualenv() -> bool:
    """Say whether virtualenv made this interpreter's environment: it writes a virtualenv key
    into pyvenv.cfg, which venv does not (read as site.py reads it)."""
    data = _read_regular(os.path.join(sys.prefix, "pyvenv.cfg"))[0] or b""
    return "virtualenv" in {line.partition("=")[0].strip().lower() for line in
                            data.decode("utf-8", "replace").splitlines() if "=" in line}


def _virtualenv_file(site_dir: str, path: str, seeded: List[str]) -> bool:
    """Say whether ``path`` is a file virtualenv writes; note it in ``seeded`` if unvouched."""
    name = os.path.basename(path)
    if os.path.dirname(path) != site_dir or name not in ("_virtualenv.pth", "_virtualenv.py"):
        return False
    data, _ = _read_regular(path)
    if name == "_virtualenv.py" and data is not None:
        seeded.append(f"{name}: virtualenv's start-up patch, by its name; peep cannot "
                      "know its content, so read it")  # fmt: skip
    return data is not None and (name == "_virtualenv.py" or data.strip() == _VIRTUALENV_PTH)


def _site_code_files(site_dir: str, unrecorded: List[Tuple[str, str]]) -> Iterator[Tuple[str, str]]:
    """Yield (path, relative path) of each file of code under ``site_dir``, depth first in name
    order; note dir links and directories it cannot list. A stack, not recursion: a deep tree
    must not exhaust Python's."""
    stack = [site_dir]
    while stack:
        directory = stack.pop()
        try:
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except FileNotFoundError:
            continue  # a site directory this scheme lacks, or one gone since
        except OSError:  # mode 0111 stops a listing, not an import
            unrecorded.append((os.path.relpath(directory, site_dir),
                               "a directory peep check cannot list, so not read"))
            continue
        links = [e.path for e in entries if e.is_symlink() and os.path.isdir(e.path)]
        unrecorded.extend((os.path.relpath(path, site_dir), "a link to a directory, not followed")
                          for path in links)
        below = [e.path for e in entries if _is_directory(e)]
        stack.extend(reversed(below))
        skipped = set(links).union(below)
        yield from ((e.path, os.path.relpath(e.path, site_dir)) for e in entries
                    if e.name.endswith(_CODE_SUFFIXES) and e.path not in skipped)


def _is_directory(entry: "os.DirEntry[str]") -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:  # as os.walk: an entry that cannot be looked at is no directory
        return False


def _path_key(path: str) -> str:
    return os.path.normcase(os.path.abspath(path))


def _recorded_files(distributions: Mapping[str, Sequence[Installed]],
                    site: CheckedSite) -> Dict[str, Tuple[str, bool]]:
    """Map every RECORDed file to (its distribution, whether it has a hash)."""
    recorded: Dict[str, Tuple[str, bool]] = {}
    for copies in distributions.values():
        for copy in copies:
            for path, hash_field in copy.record_rows():
                located = site.locate(copy.site_dir, path)
                if located is None:
                    continue  # verify_record reports it
                key = _path_key(located)
                hashed = hash_field.partition("=")[0] in HASH_ALGORITHMS
                if key not in recorded or hashed:
                    recorded[key] = (copy.label, hashed)
    return recorded


def _pyc_source(path: str) -> Optional[Tuple[str, int, str]]:
    """Return (source path, optimisation level, cache tag) for ``__pycache__/M.TAG[.opt-N].pyc``."""
    directory, name = os.path.split(path)
    match = re.fullmatch(r"([^.]*)\.([^.]*)(?:\.opt-([12]))?\.pyc", name)
    if os.path.basename(directory) != "__pycache__" or match is None:
        return None
    return os.path.join(os.path.dirname(directory), match[1] + ".py"), int(match[3] or 0), match[2]


def _pyc_problem(job: Tuple[str, str, int, str]) -> str:
    """Say how a .pyc (path, source, level, tag) differs from what its source compiles to ("": not).
    First the bytes compileall writes; they vary by process and path, so then the code objects."""
    import importlib.util
    path, source, level, tag = job
    if tag != sys.implementation.cache_tag:
        return f"compiled for {tag}, so this interpreter cannot check it; run peep check with it"
    data, why = _read_regular(path)
    text, source_why = _read_regular(source)
    if data is None or text is None:
        return why or f"its source is {source_why}"
    # A timestamp header that does not match makes Python recompile rather than
    # load the file, so only its form is checked; a hash-based one that does not
    # match would be loaded (unchecked) or trusted by tools, so it must match.
    flags = int.from_bytes(data[4:8], "little")
    if len(data) < 16 or data[:4] != importlib.util.MAGIC_NUMBER or flags not in (0, 1, 3):
        return "not a .pyc file of this interpreter"
    if flags and data[8:16] != importlib.util.source_hash(text):
        return "its header names other source than the one recorded"
    try:
        fresh = compile(text, source, "exec", dont_inherit=True, optimize=level)
    except (SyntaxError, ValueError):
        return "its recorded source does not compile, so nothing should have compiled it"
    if data[16:] == marshal.dumps(fresh):
        return ""
    try:
        loaded = marshal.loads(data[16:])  # as the loader does with this very file at import
    except (EOFError, ValueError, TypeError):
        return "not a .pyc file of this interpreter"
    return "" if _same_constant(loaded, fresh) else "not what its recorded source compiles to"


# Every field of a code object but co_filename (where it was compiled, which
# differs under pip --target) and those derived from these; co_lnotab only
# where co_linetable (its successor, 3.10+) is missing.
_CODE_FIELDS = tuple(name for name in (
    "co_argcount", "co_posonlyargcount", "co_kwonlyargcount", "co_nlocals", "co_stacksize",
    "co_flags", "co_firstlineno", "co_code", "_co_code_adaptive", "co_names", "co_varnames",
    "co_freevars", "co_cellvars", "co_name", "co_qualname", "co_linetable", "co_exceptiontable",
    *(() if hasattr(types.CodeType, "co_linetable") else ("co_lnotab",)),
) if hasattr(types.CodeType, name))  # fmt: skip


def _same_constant(loaded: object, fresh: object) -> bool:
    """Compare by type and value (-0.0 is not 0.0, nor 1 True); code objects by raw fields and
    constants: == compares deoptimized bytecode on 3.11+, which a specialized .pyc would pass."""
    if type(loaded) is not type(fresh):
        return False
    if isinstance(fresh, types.CodeType) and isinstance(loaded, types.CodeType):
        same_fields = all(getattr(loaded, name) == getattr(fresh, name) for name in _CODE_FIELDS)
        return same_fields and _same_constant(loaded.co_consts, fresh.co_consts)
    if isinstance(fresh, tuple) and isinstance(loaded, tuple):
        return len(loaded) == len(fresh) and all(map(_same_constant, loaded, fresh))
    if isinstance(fresh, frozenset) and isinstance(loaded, frozenset):
        return sorted(map(repr, loaded)) == sorted(map(repr, fresh))
    if isinstance(fresh, (float, complex)):
        return repr(loaded) == repr(fresh)
    return loaded == fresh


# What pip writes into a metadata directory itself: no wheel holds it.
_PIP_WRITTEN = ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")

# The console-script wrappers pip writes for an entry point, after its #! line:
# distlib's (older pips add a coding line first), and the one newer pips write.
_SCRIPT_WRAPPERS: Tuple[str, ...] = (
    "import re\nimport sys\nfrom {module} import {name}\nif __name__ == '__main__':\n"
    "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
    "    sys.exit({function}())\n",
    "import sys\nfrom {module} import {name}\nif __name__ == '__main__':\n"
    "    sys.argv[0] = sys.argv[0].removesuffix('.exe')\n"
    "    sys.exit({function}())\n",
)
_SCRIPT_WRAPPERS += tuple("# -*- coding: utf-8 -*-\n" + wrapper for wrapper in _SCRIPT_WRAPPERS)
# pip names its own scripts, and setuptools', for the Python installing them.
_VERSIONED_SCRIPT = re.compile(r"^(pip)\d+(?:\.\d+)?$|^(easy_install)-\d+\.\d+$")
_INTERPRETER_LINE = re.compile(rb"#!(/[^\s]*/)?python[\w.]*\s*$")
# pip's form where the interpreter's path is too long for a #! line.
_SH_LAUNCHER = re.compile(rb"#!/bin/sh\n'''exec' (.*) \"\$0\" \"\$@\"\n' '''\n")


def wheel_differences(copy: Installed, site: CheckedSite, wheel_path: str) -> List[Tuple[str, str]]:
    """Return (path, problem) where the installed files differ from a vetted wheel's members.
    What pip generates is checked by its form; every other RECORD row must be a member."""
    import io
    import zipfile
    rows = [path for path, _ in copy.record_rows()]
    metadata_name = os.path.basename(copy.metadata_dir)
    with zipfile.ZipFile(wheel_path) as archive:
        scripts = _entry_point_scripts(archive, metadata_name)
        members = [info for info in archive.infolist() if not info.is_dir()]
        problems, matched = [], set()
        for info in members:
            row = _row_of_member(info.filename, rows, copy, site)
            if row is None or row in matched:
                if info.filename != f"{metadata_name}/RECORD":  # pip writes its own
                    problems.append((info.filename, "in the vetted wheel, not installed"))
                continue
            matched.add(row)
            with archive.open(info) as stream:
                script = stream.read(CHECK_READ_LIMIT) if ".data/scripts/" in info.filename else b""
                digest = hash_stream(io.BytesIO(script) if script else stream)["sha256"]
            why = _member_problem(site, site.locate(copy.site_dir, row), digest, script)
            problems += [(row, why)] if why else []
    problems += [(row, "not in the vetted wheel") for row in rows
                 if row not in matched and not _pip_generated(row, copy, site, scripts)]
    return problems + _unrecorded_scripts(rows, copy, site, scripts)


def _unrecorded_scripts(rows: Sequence[str], copy: Installed, site: CheckedSite,
                        scripts: Mapping[str, Tuple[bytes, ...]]) -> List[Tuple[str, str]]:
    """Return (name, problem) for each entry point with no RECORD row at its script's place.
    pip names its own and setuptools' scripts for the Python installing them (or not at all)."""
    place = _scheme_dir(site, copy.site_dir, "scripts") or ""
    installed = {site.locate(copy.site_dir, row) for row in rows}
    return [(name, "an entry point of the vetted wheel, with no script in RECORD")
            for name in scripts if _VERSIONED_SCRIPT.sub(r"\1\2", name) not in (
                "pip", "easy_install") and os.path.join(place, name) not in installed]


def _row_of_member(member: str, rows: Sequence[str], copy: Installed,
                   site: CheckedSite) -> Optional[str]:
    """Return the RECORD row a wheel member was installed as, if any: a scripts or data member
    only as the file at its place in the site's scheme, not as any row merely ending its way."""
    if member == f"{os.path.basename(copy.metadata_dir)}/RECORD":
        return None
    head, _, rest = member.partition("/")
    if not head.endswith(".data") or "/" not in rest:
        return member if member in rows else None
    scheme, _, rest = rest.partition("/")
    if scheme in ("purelib", "platlib"):
        return rest if rest in rows else None
    if scheme not in ("scripts", "data"):  # headers: a directory named for the project, anywhere
        return next((r for r in rows if _outside_site(r) and r.endswith("/" + rest)), None)
    place = _scheme_dir(site, copy.site_dir, scheme)
    wanted = place and os.path.normpath(os.path.join(place, *rest.split("/")))
    return next((r for r in rows if _outside_site(r) and site.locate(copy.site_dir, r) == wanted),
                None)


def _scheme_dir(site: CheckedSite, site_dir: str, key: str) -> Optional[str]:
    """Return where pip puts a wheel's .data/KEY files ("scripts", "data") for ``site_dir``: the
    KEY path of the install scheme whose purelib or platlib, under a root of the site, it is."""
    import sysconfig
    if site.target is not None:  # pip's home scheme, moved there: bin, share beside lib
        return os.path.join(site.target, "bin") if key == "scripts" else site.target
    bases: List[Dict[str, str]] = [{}]  # this interpreter's own, then the site's roots
    bases += [{"base": root, "platbase": root, "userbase": root} for root in site.roots]
    for scheme in sysconfig.get_scheme_names():
        for variables in bases:
            paths = sysconfig.get_paths(scheme, vars=variables)
            libs = (paths["purelib"], paths["platlib"])
            if os.path.normpath(site_dir) in map(os.path.normpath, libs):
                return os.path.normpath(paths[key])
    return None


def _outside_site(row: str) -> bool:
    return row.startswith("../") or os.path.isabs(row)


def _member_problem(site: CheckedSite, located: Optional[str], digest: str, script: bytes) -> str:
    """Compare one installed file with its member: by hash, or a script after its #! line."""
    if located is None:
        return "outside the checked installation, so not read"
    if script.startswith(b"#!python"):  # pip rewrites it to name the interpreter
        data, why = _read_regular(located, CHECK_READ_LIMIT)
        same = _pip_wrote(site, data, (script.partition(b"\n")[2],))
        return why or ("" if same else "not the vetted wheel's script (its #! line rewritten)")
    found, why = _digest_regular(located)
    return why or ("" if found == digest else "not the vetted wheel's file")


def _pip_wrote(site: CheckedSite, data: Optional[bytes], bodies: Sequence[bytes]) -> bool:
    """Say whether ``data`` is one of ``bodies`` under an interpreter line pip wrote: naming, in
    this interpreter's directory or the site's bin, this very Python (a file named python* there
    could be a shell script; a Python elsewhere reads another pyvenv.cfg), and nothing else."""
    if data is None:
        return False
    first, _, rest = data.partition(b"\n")
    launcher = _SH_LAUNCHER.match(data)
    if launcher:
        first, rest = b"#!" + launcher[1], data[launcher.end() :]
    if not _INTERPRETER_LINE.match(first) or rest not in bodies:
        return False
    dirs = [os.path.dirname(os.path.abspath(sys.executable))]
    dirs += [os.path.join(root, name) for root in site.roots for name in ("bin", "Scripts")]
    interpreter = os.path.normpath(os.fsdecode(first[2:].rstrip()))
    here = os.path.dirname(interpreter) in {os.path.normpath(directory) for directory in dirs}
    return here and _this_python(interpreter)


@functools.lru_cache(maxsize=None)
def _this_python(path: str) -> bool:
    """Say whether ``path`` runs the Python that checks: it, a link to it, or a copy of it (as
    ``python -m venv --copies`` makes one for each name)."""
    executable = os.path.realpath(sys.executable)
    if os.path.realpath(path) == executable:
        return True
    digest = _digest_regular(path)[0]  # a link elsewhere is not followed: not this Python
    return digest != "" and digest == _digest_regular(executable)[0]


def _entry_point_scripts(archive: Any, metadata_name: str) -> Dict[str, Tuple[bytes, ...]]:
    """Map each console and GUI script a wheel declares to its wrappers' texts after #!."""
    import configparser
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        with archive.open(f"{metadata_name}/entry_points.txt") as stream:
            parser.read_string(stream.read(_METADATA_LIMIT).decode("utf-8"))
    except (KeyError, UnicodeDecodeError, configparser.Error):
        return {}
    wrappers = {}
    for section in ("console_scripts", "gui_scripts"):
        for script, value in (parser.items(section) if parser.has_section(section) else []):
            module, _, function = value.split("[")[0].strip().partition(":")
            wrappers[script] = tuple(template.format(
                module=module.strip(), name=function.strip().split(".")[0],
                function=function.strip()).encode() for template in _SCRIPT_WRAPPERS)  # fmt: skip
    return wrappers


def _pip_generated(row: str, copy: Installed, site: CheckedSite,
                   scripts: Mapping[str, Tuple[bytes, ...]]) -> bool:
    """Say whether a RECORD row no wheel member explains is one pip writes, in its form."""
    name = posixpath.basename(row)
    if _pyc_source(row) is not None or row == f"{os.path.basename(copy.metadata_dir)}/{name}" and (
            name in _PIP_WRITTEN):
        return True  # pip's, in __pycache__, compared with their source's compilation
    wrapper = scripts.get(_VERSIONED_SCRIPT.sub(r"\1\2", name)) or scripts.get(name)
    if wrapper is None or not _outside_site(row):
        return False
    located = site.locate(copy.site_dir, row)
    place = _scheme_dir(site, copy.site_dir, "scripts")  # where pip writes them, not elsewhere
    if located is None or place is None or located != os.path.join(place, name):
        return False
    return _pip_wrote(site, _read_regular(located)[0], wrapper)


def bundled_wheels() -> Dict[Tuple[str, str], str]:
    """Map (project, version) to each wheel this interpreter bundles for ensurepip, found by
    path, never imported: ensurepip's _bundled directory, or a distribution's WHEEL_PKG_DIR."""
    import importlib.util
    import sysconfig
    spec = importlib.util.find_spec("ensurepip")
    places = [sysconfig.get_config_var("WHEEL_PKG_DIR") or ""]
    if spec is not None and spec.origin:
        places.append(os.path.join(os.path.dirname(spec.origin), "_bundled"))
    found: Dict[Tuple[str, str], str] = {}
    for place in filter(os.path.isdir, places):
        for filename in sorted(os.listdir(place)):
            named = parse_archive_name(filename)
            if named is not None and named.is_wheel:
                found.setdefault((named.name, str(named.version)), os.path.join(place, filename))
    return found


class _AnyTag(Environment):
    """Wheels of every tag, those the installed WHEEL names first: a WHEEL rewritten in the site
    may choose among the vetted wheels, never choose none (it is a member, so compared too)."""

    def tag_rank(self, tags: Iterable[Tag]) -> Optional[int]:
        rank = super().tag_rank(tags)
        return len(self.tags) if rank is None else rank


def vetted_wheel(requirement: Requirement, copy: Installed, fetcher: Fetcher,
                 number: int) -> Tuple[Optional[str], Union[str, Problem]]:
    """Return (the vetted wheel installed as ``copy``, "") or (None, why it has none: a Problem if
    the index sent other bytes). Found as install finds it, among wheels only, of any tag: those
    the installed WHEEL names first."""
    tags = [Tag(*line.partition(":")[2].strip().split("-"))
            for line in (copy.read("WHEEL") or "").splitlines()
            if line.startswith("Tag:") and line.count("-") == 2]  # fmt: skip
    if not requirement.hashes:
        return None, "no hash to find its vetted wheel by: checked against its RECORD only"
    environment = _AnyTag(fetcher.environment.python_version, tuple(tags))
    finder = replace(fetcher, environment=environment,
                     settings=fetcher.settings.with_option("only-binary", ":all:"))
    verdict = finder.verify(number, requirement)
    if isinstance(verdict, Verified):
        return verdict.path, ""
    cached = fetcher.cache.lookup(requirement.hashes)
    if any(not str(meta.get("filename", "")).endswith(".whl") for _, _, meta in cached):
        return None, "built from an sdist: checked against its RECORD only"
    if isinstance(verdict, Problem) and verdict.kind == "mismatch":
        # Bytes that are not the vetted ones: tampering, as install says, unless what install
        # takes here is a vetted sdist (no wheel was vetted, and the index names no hashes).
        built = fetcher.verify(number, requirement)
        if isinstance(built, Problem) or built.filename.endswith(WHEEL_EXTENSION):
            return None, verdict
        return None, "built from an sdist: checked against its RECORD only"
    why = " ".join(verdict.text.split()) if isinstance(verdict, Problem) else "none found"
    return None, f"no vetted wheel to compare with ({why}): checked against its RECORD only"


def check_environment(requirements: Sequence[Requirement], site: CheckedSite, *, strict: bool,
                      fetcher: Optional[Fetcher] = None) -> Tuple[List[Problem], List[Problem]]:
    """Compare what is installed in ``site`` with the requirements: (errors, notes)."""
    distributions = installed_distributions(site.paths)
    findings: List[Problem] = []
    for requirement in requirements:
        copies = distributions.get(requirement.key)
        if not copies:
            findings.append(framed("not installed", requirement, as_written(requirement)))
            continue
        wanted = archive_version(requirement) if requirement.url else None
        version = _parse_version(copies[0].version)
        allowed = version is not None and requirement.specifier.contains(version, prereleases=True)
        if not allowed or wanted is not None and version != wanted:
            findings.append(framed("wrong version", requirement,
                                   f"{as_written(requirement)}: {copies[0].version} is installed"))
    named = {requirement.key: requirement for requirement in requirements}
    for number, (name, copies) in enumerate(sorted(distributions.items())):
        findings += _distribution_problems(named.get(name), copies, site, (fetcher, number))
    findings += _code_problems(distributions, site)
    notes = _NOTE_KINDS - _STRICT_KINDS if strict else _NOTE_KINDS
    return [p for p in findings if p.kind not in notes], [p for p in findings if p.kind in notes]


def _about(text: str) -> Requirement:
    return Requirement(text=text, origin=Origin(""))


def _distribution_problems(requirement: Optional[Requirement], copies: Sequence[Installed],
                           site: CheckedSite,
                           vetting: Tuple[Optional[Fetcher], int]) -> List[Problem]:
    """Check one project's installed copies: how many, named or not, and their files."""
    first = copies[0]
    about = _about(first.label)
    problems = []
    if len(copies) > 1:
        where = ", ".join(os.path.relpath(c.metadata_dir, c.site_dir) for c in copies)
        problems.append(framed("shadowed", about, f"{first.label}: {where}"))
    differences = [why for copy in copies for why in verify_record(copy, site)]
    wheel: Optional[str] = None
    how: Union[str, Problem] = "checked against its RECORD only"
    fetcher, number = vetting
    if requirement is not None and fetcher is not None:
        wheel, how = vetted_wheel(requirement, first, fetcher, number)
    elif requirement is None and first.name in _INSTALLER_TOOLS:
        wheel = bundled_wheels().get((first.name, first.version))
        how = "checked against the wheel Python bundles" if wheel else how
    if wheel is not None:
        differences += wheel_differences(first, site, wheel)
    problems += [framed("tampered", about, f"{first.label}: {path} ({why})")
                 for path, why in dict.fromkeys(differences)]
    if requirement is None and first.name in _INSTALLER_TOOLS and wheel is not None:
        problems.append(framed("listed apart", about, f"{first.label}: an installer; {how}"))
    elif requirement is None:
        problems.append(framed("unlisted", about, first.label))
    elif isinstance(how, Problem):
        problems.append(how)  # the index sent other bytes than the vetted wheel's
    elif wheel is None and fetcher is not None:
        problems.append(framed("record only", about, f"{first.label}: {how}"))
    return problems


# --- Commands: check ----------------------------------------------------------


def check_argument_parser() -> argparse.ArgumentParser:
    """Build the parser for ``peep check``'s command line."""
    parser = _ArgumentParser(prog="peep check", description="Check an installed environment "
                             "against requirements files: missing or wrong versions, unlisted or "
                             "doubled distributions, installed files that differ from the vetted "
                             "wheels (from peep's cache, else fetched and verified again; RECORD "
                             "for what was built from an sdist), .pyc files that are not their "
                             "source's compilation, and code that no RECORD lists. "
                             "Installs nothing.")
    parser.add_argument("-r", "--requirement", action="append", required=True, dest="files",
                        metavar="FILE", help="a requirements file or PEP 751 lock file to "
                        "check against (repeatable; at least one)")
    parser.add_argument("-c", "--constraint", action="append", default=[], dest="constraints",
                        metavar="FILE", help="a constraints file (repeatable)")
    location = parser.add_mutually_exclusive_group()
    location.add_argument("-t", "--target", metavar="DIR", help="check a pip --target directory")
    location.add_argument("--prefix", metavar="DIR", help="check a pip --prefix installation")
    location.add_argument("--user", action="store_true", help="check the user site-packages")
    location.add_argument("--path", metavar="DIR", help="check the distributions in DIR")
    parser.add_argument("--strict", action="store_true", help="make installed distributions "
                        "that no requirement names, and code in site-packages that no RECORD "
                        "lists, an error")
    parser.add_argument("--json", action="store_true",
                        help="print the findings as JSON, one object per finding")
    add_lock_arguments(parser)
    add_finder_arguments(parser)
    return parser


def command_check(argv: Sequence[str], out: IO[str], err: IO[str]) -> int:
    """Report, without installing anything, how an environment differs from its files."""
    import json
    import tempfile
    args = check_argument_parser().parse_args(argv)
    options = InstallOptions(
        tuple(args.files), tuple(args.constraints), (), tuple(args.finder_options), (),
        network_options=tuple(args.network_options), lock_extras=tuple(args.lock_extras),
        lock_groups=args.lock_groups)
    records, settings, network = load_requirements(
        options, os.environ,
        warn=lambda message: err.write(printable(f"peep check: warning: {message}") + "\n"))
    requirements, errors = prepare_requirements(records, marker_environment())
    with tempfile.TemporaryDirectory(prefix="peep-check-") as workdir:
        fetcher = install_fetcher(options, Transport(settings, network), workdir,
                                  Progress(err, quiet=True), message_writer(err, quiet=False))
        found, notes = check_environment([r for r in requirements if r.name],
                                         checked_site(args), strict=args.strict, fetcher=fetcher)
    errors += found
    if args.json:
        findings = [{"kind": p.kind, "error": n < len(errors),
                     "subject": redact_url(p.requirement.text),
                     "text": redact_url(" ".join(p.text.split()))}
                    for n, p in enumerate([*errors, *notes])]
        out.write(json.dumps({"ok": not errors, "findings": findings}, indent=1) + "\n")
        return EXIT_FAILED if errors else EXIT_OK
    if notes:
        err.write(format_report(notes, closing="(Notes, not errors.)") + "\n")
    if errors:
        err.write(format_report(errors, closing="peep check found problems.") + "\n")
        return EXIT_FAILED
    out.write(f"peep check: all {len(requirements)} requirement(s) are installed as written, "
              "and every installed file matches its RECORD.\n")  # fmt: skip
    return EXIT_OK


# --- main ---------------------------------------------------------------------


PEEP_COMMANDS: Dict[str, Callable[[Sequence[str], IO[str], IO[str]], int]] = dict(
    install=command_install, check=command_check, hash=command_hash, port=command_port,
    lock=command_lock)
HELP = f"""\
peep {__version__}: a "pip install" that is cryptographically guaranteed repeatable

Usage:
  peep install -r FILE [pip install options]
                         download, verify against the hashes in FILE, then install
                         (FILE may be a PEP 751 pylock.toml: --extra, --group)
  peep hash FILE...      print a '# sha256:' line for each archive
                         (--algorithm sha256|sha384|sha512, --format peep|pip)
  peep hash NAME==VER    download every file of a release; print one block to paste
                         (--python-version X.Y, --platform TAG, --compatible)
  peep check -r FILE     report how the installed environment differs from FILE,
                         and installed files changed since installation
  peep port FILE...      print FILE with its '# sha256:' comments as pip --hash options
                         (--write: rewrite in place, keeping FILE.bak; --dry-run: diff)
  peep port pylock.toml  print a PEP 751 lock file as a hashed requirements file;
                         --to pylock FILE... writes requirements files as a lock file
  peep lock -r FILE [SPEC...]
                         complete FILE: add SPECs, pin the dependency closure pip's
                         resolver picks here, hash every file of each release
                         (--upgrade-package NAME; --dry-run: diff, exit 1 if changed;
                         FILE may be a PEP 751 pylock.toml)
  peep --version         print peep's and pip's versions
  peep [COMMAND] --help  print this help, or every option of a command
  peep help [COMMAND]    the same

Every other command and option is pip's: peep hands it to pip unchanged
("peep help list" shows pip's help for "pip list").
"""


# pip's general options that take a separate value, so that the value is not
# mistaken for the command in "peep --log x install ...".
_PIP_GENERAL_OPTIONS_WITH_VALUE = frozenset(
    "--python --log --log-file --local-log --proxy --retries --timeout --default-timeout "
    "--exists-action --trusted-host --cert --client-cert --cache-dir --resume-retries "
    "--use-feature --use-deprecated --keyring-provider".split())


def run(argv: Sequence[str], out: IO[str], err: IO[str]) -> int:
    """Dispatch one command line; errors propagate to main(); the rest is pip's, unchanged."""
    import subprocess
    if list(argv) in ([], ["-h"], ["--help"], ["help"]):
        out.write(HELP)
        return EXIT_OK
    if len(argv) == 2 and argv[0] == "help" and argv[1] in PEEP_COMMANDS:
        argv = [argv[1], "--help"]  # peep's own help for its own commands
    if list(argv) in (["-V"], ["--version"]):
        out.write(f"peep {__version__} from {os.path.abspath(__file__)}\n{pip_version()}\n")
        return EXIT_OK
    index = 0  # of the command word, after pip's general options
    while index < len(argv) and argv[index].startswith("-"):
        # pip takes any unambiguous prefix of a long option ("--cache DIR"); "--" ends them.
        word = argv[index]
        takes_value = len(word) > 2 and any(
            option.startswith(word) for option in _PIP_GENERAL_OPTIONS_WITH_VALUE)
        index += 2 if takes_value else 1
    if index < len(argv) and argv[index] in PEEP_COMMANDS:
        # pip's general options before the command stay valid after it.
        rest = list(argv[index + 1 :]) + list(argv[:index])
        return PEEP_COMMANDS[argv[index]](rest, out, err)
    return subprocess.call(pip_command() + list(argv))


def _raise_interrupted(signum: int, frame: object) -> None:
    raise Interrupted(signum)


def interruption_message(exc: BaseException) -> str:
    """Say what an interruption left behind."""
    name = signal.Signals(getattr(exc, "signum", signal.SIGINT)).name  # KeyboardInterrupt: SIGINT
    if getattr(exc, "during_pip", False):
        return (f"peep: interrupted ({name}) in the install step; pip was stopped if it was "
                "still running. What pip changed is listed above: run peep again to finish.")
    return (f"peep: interrupted ({name}); nothing was installed, temporary files were "
            "removed, and the cache holds only whole, verified files.")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run peep with ``argv`` (default: the process's) and return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        # SIGTERM would otherwise end the process without running cleanup.
        previous = signal.signal(signal.SIGTERM, _raise_interrupted)
    except ValueError:  # not the main thread, whose signals are not ours to take
        previous = None
    try:
        return run(argv, sys.stdout, sys.stderr)
    except SystemExit as exc:  # --help, from argparse: always an int
        return int(exc.code or EXIT_OK)
    except PeepError as exc:
        sys.stderr.write(f"{printable(str(exc))}\n")
        return exc.exit_code
    except (Interrupted, KeyboardInterrupt) as exc:
        sys.stderr.write("\n" + interruption_message(exc) + "\n")
        return 128 + int(getattr(exc, "signum", signal.SIGINT))
    except Exception:  # a bug: describe it well enough to fix it
        import platform
        import traceback
        # --proxy takes [user:password@]host:port: no scheme for redact_url to find it by.
        shown = re.sub(r"(?<=[\"'=])[^\s\"'/@:=]*:[^\s/@]*@", "****@", repr(list(argv)))
        sys.stderr.write("peep hit an unexpected error. This is a bug in peep, not in your files: "
                         "please report it, with everything below.\n\n"
                         f"peep: {__version__}\n"
                         f"python: {platform.python_version()} ({sys.executable})\n"
                         f"platform: {platform.platform()}\n"
                         f"pip: {pip_version()}\n"
                         f"argv: {printable(shown)}\n\n"
                         f"{printable(traceback.format_exc())}")
        return EXIT_BUG
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
