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
    peep hash FILE...          print a "# sha256:" line for each archive
    peep port FILE...          rewrite peep's hash comments as pip's --hash options
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

from __future__ import annotations

__version__ = "4.0.0.dev1"

import argparse
import base64
import codecs
import dataclasses
import hashlib
import locale
import optparse
import os
import platform
import re
import shlex
import subprocess
import sys
import traceback
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import (
    IO,
    Callable,
    Dict,
    FrozenSet,
    Iterable,
    Iterator,
    List,
    Mapping,
    TYPE_CHECKING,
    NoReturn,
    Optional,
    Sequence,
    Tuple,
    Union,
)

# packaging does the PEP 440/508 work. It is imported from the top level when
# it is there and new enough, else from the copy pip vendors, so that peep runs
# with nothing but pip installed. Only these pure data modules are borrowed
# from pip; none of pip's own logic is (see "pip-version independent" in the
# README).
if TYPE_CHECKING:  # type-check against the real thing
    from packaging.markers import InvalidMarker, Marker
    from packaging.requirements import InvalidRequirement
    from packaging.requirements import Requirement as PackagingRequirement
    from packaging.specifiers import SpecifierSet
    from packaging.utils import (
        InvalidSdistFilename,
        InvalidWheelFilename,
        canonicalize_name,
        parse_sdist_filename,
        parse_wheel_filename,
    )
    from packaging.version import InvalidVersion, Version
else:
    try:
        from packaging.markers import InvalidMarker, Marker
        from packaging.requirements import InvalidRequirement
        from packaging.requirements import Requirement as PackagingRequirement
        from packaging.specifiers import SpecifierSet
        from packaging.utils import (
            InvalidSdistFilename,
            InvalidWheelFilename,
            canonicalize_name,
            parse_sdist_filename,
            parse_wheel_filename,
        )
        from packaging.version import InvalidVersion, Version
    except ImportError:
        from pip._vendor.packaging.markers import InvalidMarker, Marker
        from pip._vendor.packaging.requirements import InvalidRequirement
        from pip._vendor.packaging.requirements import Requirement as PackagingRequirement
        from pip._vendor.packaging.specifiers import SpecifierSet
        from pip._vendor.packaging.utils import (
            InvalidSdistFilename,
            InvalidWheelFilename,
            canonicalize_name,
            parse_sdist_filename,
            parse_wheel_filename,
        )
        from pip._vendor.packaging.version import InvalidVersion, Version


# --- Exit codes and constants ------------------------------------------------

EXIT_OK = 0  # everything asked for was done
EXIT_FAILED = 1  # verification or installation failed; the report says why
EXIT_USAGE = 2  # the command line was wrong
EXIT_BUG = 3  # peep itself broke; the bug report block says how

HASH_ALGORITHMS = ("sha256", "sha384", "sha512")
CHUNK_SIZE = 1 << 20  # large enough for hashlib's speed, small enough for flat memory

# Archive endings pip will install from (wheels plus every sdist form it reads).
WHEEL_EXTENSION = ".whl"
SDIST_EXTENSIONS = (
    ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tlz",
    ".tar.lz", ".tar.lzma", ".tar", ".zip",
)  # fmt: skip
ARCHIVE_EXTENSIONS = (WHEEL_EXTENSION,) + SDIST_EXTENSIONS
VCS_SCHEMES = ("git", "hg", "svn", "bzr")


# --- Errors -------------------------------------------------------------------


class PeepError(Exception):
    """A problem peep reports to the user in its own words (never a bug)."""

    exit_code = EXIT_FAILED


class UsageError(PeepError):
    """The command line asked for something peep cannot do as written."""

    exit_code = EXIT_USAGE


class RequirementsFileError(PeepError):
    """A requirements file could not be read or says something invalid."""

    def __init__(self, origin: Origin | str, message: str) -> None:
        super().__init__(f"{origin}: {message}")
        self.origin = origin
        self.message = message


class InvalidHash(ValueError):
    """A hash is not of the form its algorithm requires."""


# --- Hashes -------------------------------------------------------------------

_DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_PEEP_HASH_RE = re.compile(r"[A-Za-z0-9_-]{43}")


def hex_to_peep(hexdigest: str) -> str:
    """Encode a hex sha256 digest the way peep's comments write it."""
    digest = bytes.fromhex(hexdigest)
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def peep_to_hex(encoded: str) -> str:
    """Decode a peep-style sha256 (urlsafe base64, padding stripped) to hex."""
    unpadded = encoded.rstrip("=")
    if not _PEEP_HASH_RE.fullmatch(unpadded):
        raise InvalidHash(
            f"{encoded!r} is not a sha256 hash (expected 43 characters of "
            "URL-safe base64, as 'peep hash' prints)"
        )
    hexdigest = base64.urlsafe_b64decode(unpadded + "=").hex()
    # A different last character can decode to the same bytes; only the
    # canonical spelling is accepted so that a typo there is not hidden.
    if hex_to_peep(hexdigest) != unpadded:
        raise InvalidHash(f"{encoded!r} is not a sha256 hash (its last character is off)")
    return hexdigest


def normalize_hex(algorithm: str, value: str) -> str:
    """Check a hex digest of ``algorithm`` and return it lower-cased."""
    if algorithm not in _DIGEST_HEX_LENGTHS:
        raise InvalidHash(
            f"{algorithm!r} is not an allowed hash algorithm "
            f"(use one of {', '.join(HASH_ALGORITHMS)})"
        )
    lowered = value.lower()
    if len(lowered) != _DIGEST_HEX_LENGTHS[algorithm] or not re.fullmatch(
        "[0-9a-f]+", lowered
    ):
        raise InvalidHash(
            f"{value!r} is not a {algorithm} hash "
            f"(expected {_DIGEST_HEX_LENGTHS[algorithm]} hex digits)"
        )
    return lowered


@dataclass(frozen=True)
class Hashes:
    """The digests a requirement's archive may have, by algorithm.

    Any one match is enough (the values are OR'ed). An empty Hashes means
    "no hash given", which peep treats as an error at install time.
    """

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
        return dataclasses.replace(self, **{algorithm: self.allowed(algorithm) | {value}})

    def union(self, other: Hashes) -> Hashes:
        """Return the hashes allowed by either."""
        return Hashes(*(self.allowed(a) | other.allowed(a) for a in HASH_ALGORITHMS))

    def intersection(self, other: Hashes) -> Hashes:
        """Return what both allow, where "no hashes" allows anything.

        Two requirements for one project must both be satisfied by the one
        archive installed, so only digests both accept survive. An algorithm
        only one side uses cannot be compared and is dropped, as pip does.
        """
        if not self:
            return other
        if not other:
            return self
        return Hashes(*(self.allowed(a) & other.allowed(a) for a in HASH_ALGORITHMS))

    def matches(self, digests: Mapping[str, str]) -> bool:
        """Tell whether any computed digest is one of the allowed ones."""
        return any(digests.get(name) in self.allowed(name) for name in self.algorithms())


def hash_stream(
    stream: IO[bytes],
    algorithms: Iterable[str] = ("sha256",),
    *,
    sink: Optional[Callable[[memoryview], object]] = None,
) -> Dict[str, str]:
    """Hash ``stream`` to its end in fixed-size chunks; return hex digests.

    ``sink``, when given, sees every chunk too (to write a download to disk
    while hashing it), so no archive is ever read twice or held whole.
    """
    hashers = {name: hashlib.new(name) for name in dict.fromkeys(algorithms)}
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    readinto = getattr(stream, "readinto", None)
    while True:
        if readinto is not None:
            count = readinto(buffer)
            chunk = view[:count] if count else view[:0]
        else:  # pragma: no cover - every stream peep opens has readinto
            data = stream.read(CHUNK_SIZE)
            count = len(data)
            chunk = memoryview(data)
        if not count:
            break
        for hasher in hashers.values():
            hasher.update(chunk)
        if sink is not None:
            sink(chunk)
    return {name: hasher.hexdigest() for name, hasher in hashers.items()}


def hash_file(path: str, algorithms: Iterable[str] = ("sha256",)) -> Dict[str, str]:
    """Hash the file at ``path`` without reading it into memory."""
    with open(path, "rb", buffering=0) as stream:
        return hash_stream(stream, algorithms)


# --- Requirements -------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """Where something was written: a file (or URL) and a 1-based line."""

    source: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.source} line {self.line}" if self.line else self.source


COMMAND_LINE = Origin("the command line")


@dataclass(frozen=True)
class Requirement:
    """One requirement as written, with everything peep needs to verify it.

    ``unsupported`` holds the reason when peep cannot hash what the line
    names (editable, VCS, a directory, a URL without a project name); such
    records are kept, not raised, so every problem is reported at once.
    """

    text: str
    origin: Origin
    name: Optional[str] = None
    specifier: SpecifierSet = field(default_factory=SpecifierSet)
    url: Optional[str] = None
    extras: FrozenSet[str] = frozenset()
    marker: Optional[Marker] = None
    hashes: Hashes = Hashes()
    config_settings: Tuple[Tuple[str, str], ...] = ()
    is_constraint: bool = False
    unsupported: Optional[str] = None

    @property
    def key(self) -> str:
        """Return the PEP 503 normalised project name (or the text if none)."""
        return canonicalize_name(self.name) if self.name else self.text

    def applies(self, environment: Optional[Mapping[str, str]] = None) -> bool:
        """Tell whether the marker (if any) is true for ``environment``."""
        if self.marker is None:
            return True
        return bool(self.marker.evaluate(dict(environment) if environment else None))

    def pinned_version(self) -> Optional[Version]:
        """Return the version an ``==`` (or ``===``) specifier pins, if one does."""
        for spec in self.specifier:
            if spec.operator in ("==", "===") and "*" not in spec.version:
                try:
                    return Version(spec.version)
                except InvalidVersion:
                    return None
        return None


@dataclass(frozen=True)
class FileOption:
    """A finder option given on a line of its own in a requirements file.

    ``name`` is the option's long form without dashes (``index-url``).
    """

    name: str
    value: Union[str, bool]
    origin: Origin


# Step 1: decode.

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    # UTF-32 first: the UTF-16-LE mark is a prefix of the UTF-32-LE one.
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)
_CODING_RE = re.compile(rb"coding[:=]\s*([-\w.]+)")


def decode_requirements(data: bytes, source: str) -> str:
    """Decode a requirements file's bytes the way pip does."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _decode_as(data[len(bom) :], encoding, source)
    for line in data.split(b"\n")[:2]:
        match = _CODING_RE.search(line)
        if line[:1] == b"#" and match:
            return _decode_as(data, match.group(1).decode("ascii"), source)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _decode_as(data, locale.getpreferredencoding(False), source)


def _decode_as(data: bytes, encoding: str, source: str) -> str:
    try:
        return data.decode(encoding)
    except LookupError as exc:
        raise RequirementsFileError(source, f"unknown encoding {encoding!r}") from exc
    except UnicodeDecodeError as exc:
        raise RequirementsFileError(
            source, f"cannot be decoded as {encoding} ({exc.reason} at byte {exc.start})"
        ) from exc


# Steps 2-6: split, collect peep's hash comments, join, strip, expand.

_HASH_COMMENT_RE = re.compile(r"^\s*#\s+sha256:\s+(\S+)\s*(#.*)?$")
_COMMENT_RE = re.compile(r"(^|\s+)#.*$")
_ENV_VAR_RE = re.compile(r"\$\{([A-Z0-9_]+)\}")


@dataclass(frozen=True)
class HashComment:
    """A peep ``# sha256: ...`` line; it belongs to the next requirement."""

    origin: Origin
    hexdigest: str
    trailing_comment: str = ""


@dataclass(frozen=True)
class LogicalLine:
    """A line after continuations are joined: ``first`` to ``last`` physical lines."""

    origin: Origin
    last: int
    text: str


def _physical_lines(text: str, source: str) -> Iterator[Union[HashComment, LogicalLine]]:
    """Number the lines and pick out peep's hash comments (before comments go)."""
    for number, line in enumerate(text.splitlines(), start=1):
        origin = Origin(source, number)
        match = _HASH_COMMENT_RE.match(line)
        if match:
            try:
                hexdigest = peep_to_hex(match.group(1))
            except InvalidHash as exc:
                raise RequirementsFileError(origin, str(exc)) from exc
            yield HashComment(origin, hexdigest, match.group(2) or "")
        else:
            yield LogicalLine(origin, number, line)


def _join_continuations(
    lines: Iterable[Union[HashComment, LogicalLine]],
) -> Iterator[Union[HashComment, LogicalLine]]:
    """Join lines ending in a backslash to the next, as pip does.

    A comment line never continues and ends a pending continuation; a
    backslash on the last line is dropped.
    """
    pending: List[LogicalLine] = []

    def flush() -> Iterator[LogicalLine]:
        if pending:
            yield LogicalLine(
                pending[0].origin, pending[-1].last, "".join(p.text for p in pending)
            )
            pending.clear()

    for line in lines:
        if isinstance(line, HashComment) or _COMMENT_RE.match(line.text):
            yield from flush()
            yield line
        elif line.text.endswith("\\"):
            # pip strips backslashes from both ends; so do we, to join alike.
            pending.append(dataclasses.replace(line, text=line.text.strip("\\")))
        elif pending:
            pending.append(line)
            yield from flush()
        else:
            yield line
    yield from flush()


def _clean_lines(
    lines: Iterable[Union[HashComment, LogicalLine]], environ: Mapping[str, str]
) -> Iterator[Union[HashComment, LogicalLine]]:
    """Strip comments and blank lines, then expand ``${VAR}`` from ``environ``."""
    for line in lines:
        if isinstance(line, HashComment):
            yield line
            continue
        text = _COMMENT_RE.sub("", line.text).strip()
        if not text:
            continue

        def expand(match: re.Match[str]) -> str:
            return environ.get(match.group(1)) or match.group(0)

        yield dataclasses.replace(line, text=_ENV_VAR_RE.sub(expand, text))


def scan_requirements_text(
    text: str, source: str, environ: Mapping[str, str]
) -> Iterator[Union[HashComment, LogicalLine]]:
    """Turn a decoded requirements file into hash comments and logical lines."""
    return _clean_lines(_join_continuations(_physical_lines(text, source)), environ)


def split_requirement_and_options(line: str) -> Tuple[str, str]:
    """Split a line into the requirement part and the options after it.

    Only the options are shlex-split, so markers with quotes survive.
    """
    tokens = line.split(" ")
    for index, token in enumerate(tokens):
        if token.startswith("-"):
            return " ".join(tokens[:index]), " ".join(tokens[index:])
    return line, ""


# Step 7: options, with pip's option names and unique-prefix matching.


class _OptionError(Exception):
    pass


class _LineOptionParser(optparse.OptionParser):
    """An optparse parser that raises instead of exiting."""

    def error(self, msg: str) -> NoReturn:
        raise _OptionError(msg)

    def exit(self, status: int = 0, msg: Optional[str] = None) -> NoReturn:
        raise _OptionError(msg or "")


# (flags, takes a value, allowed on a requirement's own line)
_LINE_OPTIONS = (
    (("-i", "--index-url"), True, False),
    (("--extra-index-url",), True, False),
    (("--no-index",), False, False),
    (("-c", "--constraint"), True, False),
    (("-r", "--requirement"), True, False),
    (("-e", "--editable"), True, False),
    (("-f", "--find-links"), True, False),
    (("--no-binary",), True, False),
    (("--only-binary",), True, False),
    (("--prefer-binary",), False, False),
    (("--require-hashes",), False, False),
    (("--pre",), False, False),
    (("--trusted-host",), True, False),
    (("--use-feature",), True, False),
    (("--hash",), True, True),
    (("-C", "--config-settings"), True, True),
)
_REMOVED_OPTIONS = {
    "--install-option": "pip removed it in 23.1",
    "--global-option": "peep cannot pass it through safely; use --config-settings",
    "--build-option": "use --config-settings",
    "--no-use-wheel": "pip removed it; use --no-binary",
    "--allow-external": "pip removed it",
    "--allow-unverified": "pip removed it",
    "--allow-all-external": "pip removed it",
    "--process-dependency-links": "pip removed it",
}


def _line_option_parser() -> _LineOptionParser:
    parser = _LineOptionParser(add_help_option=False)

    def record(
        option: optparse.Option, flag: str, value: object, parser: optparse.OptionParser
    ) -> None:
        seen = getattr(parser.values, "seen")  # noqa: B009 - set by parse_line_options
        seen.append((option.get_opt_string()[2:], value))

    for flags, takes_value, _ in _LINE_OPTIONS:
        parser.add_option(
            *flags,
            action="callback",
            callback=record,
            type="string" if takes_value else None,
        )
    return parser


_PER_REQUIREMENT_OPTIONS = {flags[-1][2:] for flags, _, per_req in _LINE_OPTIONS if per_req}


def parse_line_options(options_text: str, origin: Origin) -> List[Tuple[str, Union[str, bool]]]:
    """Parse the options part of a line into ``(long name, value)`` pairs, in order."""
    try:
        words = shlex.split(options_text)
    except ValueError as exc:
        raise RequirementsFileError(origin, f"cannot split options ({exc})") from exc
    for word in words:
        flag = word.split("=", 1)[0]
        if flag in _REMOVED_OPTIONS:
            raise RequirementsFileError(
                origin, f"{flag} is not supported in requirements files ({_REMOVED_OPTIONS[flag]})"
            )
    parser = _line_option_parser()
    values = optparse.Values({"seen": []})
    try:
        _, leftover = parser.parse_args(words, values)
    except _OptionError as exc:
        raise RequirementsFileError(origin, str(exc)) from exc
    if leftover:
        raise RequirementsFileError(
            origin, f"unexpected {leftover[0]!r} after the options (quote it, or put it first)"
        )
    return [(name, True if value is None else value) for name, value in values.seen]


# Step 8: the requirement itself.

_EGG_RE = re.compile(r"^([A-Za-z0-9._-]+)")
_EXTRAS_RE = re.compile(r"^(.+?)(\[[^\]]*\])$")


def _is_url(text: str) -> bool:
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""
    return scheme in ("http", "https", "file") or any(
        scheme.startswith(f"{vcs}+") or scheme == vcs for vcs in VCS_SCHEMES
    )


def _is_vcs_url(url: str) -> bool:
    scheme = url.split(":", 1)[0].lower()
    return any(scheme.startswith(f"{vcs}+") or scheme == vcs for vcs in VCS_SCHEMES)


def _looks_like_path(text: str) -> bool:
    return os.sep in text or bool(os.altsep and os.altsep in text) or text.startswith(".")


def is_archive_name(filename: str) -> bool:
    """Tell whether a file name has an ending pip installs from."""
    return filename.lower().endswith(ARCHIVE_EXTENSIONS)


def url_filename(url: str) -> str:
    """Return the unquoted last path segment of ``url``."""
    return urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])


def _fragment_hashes(url: str, origin: Origin) -> Tuple[Optional[str], Hashes]:
    """Return the ``#egg=`` name and the ``#sha256=``-style hashes of a URL."""
    fragment = urllib.parse.urlsplit(url).fragment
    egg: Optional[str] = None
    hashes = Hashes()
    for key, value in urllib.parse.parse_qsl(fragment):
        if key == "egg":
            match = _EGG_RE.match(value)
            egg = match.group(1) if match else None
        elif key in HASH_ALGORITHMS:
            try:
                hashes = hashes.with_digest(key, value)
            except InvalidHash as exc:
                raise RequirementsFileError(origin, str(exc)) from exc
    return egg, hashes


def _name_from_archive(filename: str) -> Optional[Tuple[str, Optional[Version]]]:
    """Return (name, version) from a wheel's or sdist's file name, if it parses."""
    try:
        if filename.endswith(WHEEL_EXTENSION):
            name, version, _, _ = parse_wheel_filename(filename)
            return str(name), version
        if filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
            return str(name), version
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return None


def _link_requirement(
    text: str,
    url: str,
    origin: Origin,
    *,
    name: Optional[str],
    extras: FrozenSet[str],
    marker: Optional[Marker],
) -> Requirement:
    """Build the record of a requirement that points at a URL or a path."""
    base = Requirement(text=text, origin=origin, name=name, url=url, extras=extras, marker=marker)
    if _is_vcs_url(url):
        return dataclasses.replace(
            base,
            unsupported="a VCS checkout has no fixed archive to hash; "
            "point at a release archive or a wheel instead",
        )
    if url.lower().startswith("file:"):
        path = urllib.request.url2pathname(urllib.parse.urlsplit(url).path)
        if os.path.isdir(path):
            return dataclasses.replace(
                base,
                unsupported="a directory has no fixed archive to hash; "
                "build an sdist or a wheel and require that",
            )
    egg, hashes = _fragment_hashes(url, origin)
    filename = url_filename(url)
    if name is None:
        name = egg
    if name is None and filename.endswith(WHEEL_EXTENSION):
        parsed = _name_from_archive(filename)
        name = parsed[0] if parsed else None
    if name is None:
        return dataclasses.replace(
            base,
            hashes=hashes,
            unsupported="peep cannot tell which project this archive is; "
            f"add '#egg=NAME' to the URL or write 'NAME @ {url}'",
        )
    return dataclasses.replace(base, name=name, hashes=hashes)


def parse_requirement(text: str, origin: Origin) -> Requirement:
    """Parse the requirement part of a line (no options) into a record."""
    marker_separator = "; " if _is_url(text) else ";"
    marker: Optional[Marker] = None
    body = text
    if marker_separator in text:
        body, marker_text = text.split(marker_separator, 1)
        if marker_text.strip():
            try:
                marker = Marker(marker_text.strip())
            except InvalidMarker as exc:
                raise RequirementsFileError(
                    origin, f"invalid marker {marker_text.strip()!r} ({exc})"
                ) from exc
    body = body.strip()
    if _is_url(body):
        return _link_requirement(text, body, origin, name=None, extras=frozenset(), marker=marker)
    path, extras_text = body, ""
    extras_match = _EXTRAS_RE.match(body)
    if extras_match and _looks_like_path(extras_match.group(1)):
        path, extras_text = extras_match.groups()
    extras = frozenset(e.strip() for e in extras_text.strip("[]").split(",") if e.strip())
    if _looks_like_path(path) and os.path.isdir(path):
        return _link_requirement(
            text, _path_to_url(path), origin, name=None, extras=extras, marker=marker
        )
    if is_archive_name(path) and not os.path.isfile(path):
        # "name @ https://.../x.zip" looks like a path too; pip takes it as a
        # PEP 508 URL requirement when the part before the "@" is no path.
        before_at, at, _ = body.partition("@")
        if at and not _looks_like_path(before_at):
            return _named_requirement(text, body, marker, origin)
    if is_archive_name(path) and (os.path.isfile(path) or _looks_like_path(path)):
        parsed = _name_from_archive(os.path.basename(path))
        return _link_requirement(
            text,
            _path_to_url(path),
            origin,
            name=parsed[0] if parsed else None,
            extras=extras,
            marker=marker,
        )
    return _named_requirement(text, body, marker, origin)


def _path_to_url(path: str) -> str:
    return urllib.parse.urljoin("file:", urllib.request.pathname2url(os.path.abspath(path)))


def _named_requirement(
    text: str, body: str, marker: Optional[Marker], origin: Origin
) -> Requirement:
    try:
        parsed = PackagingRequirement(body)
    except InvalidRequirement as exc:
        hint = ""
        if "=" in body and not any(op in body for op in ("==", "!=", "~=", ">=", "<=", "===")):
            hint = " (= is not a valid operator; did you mean == ?)"
        elif _looks_like_path(body):
            hint = f" (it looks like a path, but {body!r} does not exist)"
        raise RequirementsFileError(origin, f"invalid requirement {body!r}{hint}") from exc
    if parsed.marker is not None:  # only when packaging split it (never here)
        marker = parsed.marker  # pragma: no cover
    if parsed.url:
        return _link_requirement(
            text,
            parsed.url,
            origin,
            name=parsed.name,
            extras=frozenset(parsed.extras),
            marker=marker,
        )
    return Requirement(
        text=text,
        origin=origin,
        name=parsed.name,
        specifier=parsed.specifier,
        extras=frozenset(parsed.extras),
        marker=marker,
    )


def _apply_requirement_options(
    requirement: Requirement, options: Sequence[Tuple[str, Union[str, bool]]], origin: Origin
) -> Requirement:
    hashes = requirement.hashes
    settings = list(requirement.config_settings)
    for name, value in options:
        assert isinstance(value, str)  # both per-requirement options take a value
        if name == "hash":
            algorithm, _, digest = value.partition(":")
            try:
                hashes = hashes.with_digest(algorithm, digest)
            except InvalidHash as exc:
                raise RequirementsFileError(origin, f"--hash={value}: {exc}") from exc
        elif name == "config-settings":
            key, equals, setting = value.partition("=")
            if not equals:
                raise RequirementsFileError(
                    origin, f"--config-settings {value!r} is not of the form KEY=VALUE"
                )
            settings.append((key, setting))
    return dataclasses.replace(requirement, hashes=hashes, config_settings=tuple(settings))


# Files: reading, nesting, and the records they hold.


def read_requirements_source(location: str) -> bytes:
    """Read a requirements file from a path, a ``file:`` URL or an HTTP(S) URL."""
    if _is_url(location) and not location.lower().startswith("file:"):
        with urllib.request.urlopen(location, timeout=60) as response:  # noqa: S310
            return response.read()  # type: ignore[no-any-return]
    path = location
    if location.lower().startswith("file:"):
        path = urllib.request.url2pathname(urllib.parse.urlsplit(location).path)
    with open(path, "rb") as stream:
        return stream.read()


def _nested_location(including: str, name: str) -> str:
    """Resolve a ``-r``/``-c`` argument relative to the file that names it."""
    if _is_url(name):
        return name
    if _is_url(including):
        return urllib.parse.urljoin(including, name)
    return os.path.join(os.path.dirname(including), name)


def _identity(location: str) -> str:
    return location if _is_url(location) else os.path.realpath(location)


def parse_requirements_file(
    location: str,
    *,
    environ: Optional[Mapping[str, str]] = None,
    is_constraint: bool = False,
    reader: Callable[[str], bytes] = read_requirements_source,
    _chain: Tuple[Tuple[str, str], ...] = (),
    _included_at: Optional[Origin] = None,
) -> Iterator[Union[Requirement, FileOption]]:
    """Yield the requirements and finder options of a file, nested files inline.

    Errors name the file and line; a ``-r`` cycle names both files.
    """
    environ = os.environ if environ is None else environ
    identity = _identity(location)
    for previous_identity, previous_location in _chain:
        if previous_identity == identity:
            raise RequirementsFileError(
                _included_at or location,
                f"{location} is included again while it is being read "
                f"(a cycle through {previous_location})",
            )
    try:
        data = reader(location)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise RequirementsFileError(
            _included_at or location, f"Could not open requirements file {location!r}: {reason}"
        ) from exc
    chain = _chain + ((identity, location),)
    text = decode_requirements(data, location)
    pending: List[HashComment] = []
    for line in scan_requirements_text(text, location, environ):
        if isinstance(line, HashComment):
            pending.append(line)
            continue
        requirement_text, options_text = split_requirement_and_options(line.text)
        options = parse_line_options(options_text, line.origin) if options_text else []
        if requirement_text:
            yield _requirement_from_line(
                requirement_text, options, pending, line.origin, is_constraint
            )
        else:
            yield from _option_line(
                options, line.origin, location, environ, reader, chain, is_constraint
            )
        pending = []


def _requirement_from_line(
    requirement_text: str,
    options: Sequence[Tuple[str, Union[str, bool]]],
    hash_comments: Sequence[HashComment],
    origin: Origin,
    is_constraint: bool,
) -> Requirement:
    for name, _ in options:
        if name not in _PER_REQUIREMENT_OPTIONS:
            raise RequirementsFileError(
                origin,
                f"--{name} cannot follow a requirement; put it on a line of its own "
                "(only --hash and --config-settings belong on a requirement's line)",
            )
    requirement = parse_requirement(requirement_text.strip(), origin)
    hashes = requirement.hashes
    for comment in hash_comments:
        hashes = hashes.with_digest("sha256", comment.hexdigest)
    requirement = dataclasses.replace(requirement, hashes=hashes, is_constraint=is_constraint)
    return _apply_requirement_options(requirement, options, origin)


def _option_line(
    options: Sequence[Tuple[str, Union[str, bool]]],
    origin: Origin,
    location: str,
    environ: Mapping[str, str],
    reader: Callable[[str], bytes],
    chain: Tuple[Tuple[str, str], ...],
    is_constraint: bool,
) -> Iterator[Union[Requirement, FileOption]]:
    for name, value in options:
        if name in _PER_REQUIREMENT_OPTIONS:
            raise RequirementsFileError(
                origin,
                f"--{name} must follow a requirement on the same line "
                "(end the requirement's line with a backslash to continue it)",
            )
        if name in ("requirement", "constraint"):
            assert isinstance(value, str)
            yield from parse_requirements_file(
                _nested_location(location, value),
                environ=environ,
                is_constraint=is_constraint or name == "constraint",
                reader=reader,
                _chain=chain,
                _included_at=origin,
            )
        elif name == "editable":
            assert isinstance(value, str)
            egg = _fragment_hashes(value, origin)[0] if "#" in value else None
            yield Requirement(
                text=f"-e {value}",
                origin=origin,
                name=egg,
                url=value,
                is_constraint=is_constraint,
                unsupported="an editable install is a live checkout with no archive to hash",
            )
        elif name == "find-links" and isinstance(value, str) and not _is_url(location):
            beside_file = os.path.join(os.path.dirname(os.path.abspath(location)), value)
            yield FileOption(name, beside_file if os.path.exists(beside_file) else value, origin)
        else:
            yield FileOption(name, value, origin)


# --- Commands: hash -----------------------------------------------------------


class _ArgumentParser(argparse.ArgumentParser):
    """An argparse parser that raises instead of exiting, so main() decides."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}\n{self.format_usage().rstrip()}")

    def exit(self, status: int = 0, message: Optional[str] = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise _EarlyExit(status)


class _EarlyExit(Exception):
    """--help or --version finished the job; carry the status to main()."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def format_hash_line(algorithm: str, hexdigest: str, style: str) -> str:
    """Render one digest as a paste-ready line in peep's or pip's format."""
    if style == "pip":
        return f"--hash={algorithm}:{hexdigest}"
    return f"# sha256: {hex_to_peep(hexdigest)}"


def command_hash(argv: Sequence[str], out: IO[str], err: IO[str]) -> int:
    """Print a hash line for each archive named."""
    parser = _ArgumentParser(
        prog="peep hash",
        description="Print a hash line for each file, to paste above its requirement.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("-a", "--algorithm", choices=HASH_ALGORITHMS, default="sha256")
    parser.add_argument(
        "--format",
        choices=("peep", "pip"),
        default="peep",
        help="peep: '# sha256: ...' comment lines (the default); pip: '--hash=ALGO:HEX'",
    )
    args = parser.parse_args(argv)
    if args.format == "peep" and args.algorithm != "sha256":
        raise UsageError(
            f"peep hash: peep's comment format holds sha256 only; "
            f"use --format pip for {args.algorithm}"
        )
    status = EXIT_OK
    for path in args.files:
        try:
            digest = hash_file(path, (args.algorithm,))[args.algorithm]
        except OSError as exc:
            err.write(f"peep hash: cannot read {path!r}: {exc.strerror or exc}\n")
            status = EXIT_FAILED
            continue
        out.write(format_hash_line(args.algorithm, digest, args.format) + "\n")
    return status


# --- Commands: port -----------------------------------------------------------

_TRAILING_COMMENT_RE = re.compile(r"\s+#.*$")


def port_text(text: str, source: str) -> Tuple[str, List[str]]:
    """Rewrite peep's hash comments as pip ``--hash`` options, losing nothing.

    Returns the new text and a list of notes for the user. Hash comments
    move onto their requirement as continuation lines; prose comments,
    blank lines, options and URLs stay where they were. A trailing comment
    on a requirement moves to its last ``--hash`` line, and one on a hash
    line stays behind as a comment line of its own.
    """
    physical = text.splitlines()
    replacements: Dict[int, List[str]] = {}  # 1-based physical line -> new lines
    notes: List[str] = []
    pending: List[HashComment] = []
    for line in scan_requirements_text(text, source, environ={}):
        if isinstance(line, HashComment):
            pending.append(line)
            continue
        requirement_text, options_text = split_requirement_and_options(line.text)
        if requirement_text and pending:
            present = set(re.findall(r"sha256:([0-9a-fA-F]{64})", options_text))
            present = {digest.lower() for digest in present}
            new = [c.hexdigest for c in pending if c.hexdigest not in present]
            new = list(dict.fromkeys(new))
            for comment in pending:
                replacements[comment.origin.line] = (
                    [comment.trailing_comment] if comment.trailing_comment else []
                )
            if new:
                replacements[line.last] = _with_hash_lines(physical[line.last - 1], new)
        else:
            for comment in pending:
                notes.append(
                    f"{comment.origin}: kept a '# sha256:' line that no requirement "
                    "follows (it was not in effect)"
                )
            if not requirement_text:
                notes.extend(_nested_notes(options_text, source, line.origin))
        pending = []
    for comment in pending:
        notes.append(
            f"{comment.origin}: kept a '# sha256:' line that no requirement "
            "follows (it was not in effect)"
        )
    output: List[str] = []
    for number, original in enumerate(physical, start=1):
        output.extend(replacements.get(number, [original]))
    return "".join(line + "\n" for line in output), notes


def _with_hash_lines(last_line: str, hexdigests: Sequence[str]) -> List[str]:
    """Append ``--hash`` continuation lines to a requirement's last line."""
    trailing = _TRAILING_COMMENT_RE.search(last_line)
    code = last_line[: trailing.start()] if trailing else last_line
    comment = trailing.group(0).strip() if trailing else ""
    code = code.rstrip()
    if code.endswith("\\"):  # a continuation that a comment line ended
        code = code.rstrip("\\").rstrip()
    lines = [f"{code} \\"]
    for index, digest in enumerate(hexdigests):
        last = index == len(hexdigests) - 1
        suffix = (f"  {comment}" if comment else "") if last else " \\"
        lines.append(f"    --hash=sha256:{digest}{suffix}")
    return lines


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
                notes.append(
                    f"{origin}: {nested} has peep-style hashes too; "
                    f"port it as well (peep port {nested})"
                )
    return notes


def command_port(argv: Sequence[str], out: IO[str], err: IO[str]) -> int:
    """Print requirements files with peep's hash comments as pip options."""
    parser = _ArgumentParser(
        prog="peep port",
        description="Print each file with its '# sha256:' comments rewritten as "
        "pip's --hash options. Nested -r/-c files are not rewritten: each is "
        "named on stderr if it needs porting too.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE")
    args = parser.parse_args(argv)
    for index, path in enumerate(args.files):
        try:
            data = read_requirements_source(path)
        except OSError as exc:
            raise RequirementsFileError(path, f"cannot read it ({exc.strerror or exc})") from exc
        ported, notes = port_text(decode_requirements(data, path), path)
        if len(args.files) > 1:
            out.write(f"{'' if index == 0 else chr(10)}# peep port: {path}\n")
        out.write(ported)
        for note in notes:
            err.write(f"peep port: {note}\n")
    return EXIT_OK


# --- Commands: fall-through to pip ------------------------------------------


def pip_command() -> List[str]:
    """Return the command that runs the pip of the interpreter running peep."""
    return [sys.executable, "-m", "pip"]


def pip_version() -> str:
    """Return pip's version line, or why it could not be had."""
    try:
        result = subprocess.run(
            pip_command() + ["--version"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({exc})"
    return result.stdout.strip() or f"unknown (pip exited {result.returncode})"


def command_fall_through(argv: Sequence[str]) -> int:
    """Hand the command line to pip unchanged and return pip's status."""
    return subprocess.call(pip_command() + list(argv))


# --- main ---------------------------------------------------------------------

PEEP_COMMANDS: Dict[str, Callable[[Sequence[str], IO[str], IO[str]], int]] = {
    "hash": command_hash,
    "port": command_port,
}

HELP = f"""\
peep {__version__}: a "pip install" that is cryptographically guaranteed repeatable

Usage:
  peep install -r FILE [pip install options]
                         download, verify against the hashes in FILE, then install
  peep hash FILE...      print a '# sha256:' line for each archive
                         (--algorithm sha256|sha384|sha512, --format peep|pip)
  peep port FILE...      print FILE with its '# sha256:' comments as pip --hash options
  peep --version         print peep's and pip's versions

Every other command and option is pip's: peep hands it to pip unchanged.
"""


def _find_command(argv: Sequence[str]) -> Optional[int]:
    """Return the index of the command word, skipping pip's general options."""
    index = 0
    while index < len(argv):
        word = argv[index]
        if not word.startswith("-"):
            return index
        if word in _PIP_GENERAL_OPTIONS_WITH_VALUE:
            index += 1
        index += 1
    return None


# pip's general options that take a separate value, so that the value is not
# mistaken for the command in "peep --log x install ...".
_PIP_GENERAL_OPTIONS_WITH_VALUE = frozenset(
    "--python --log --log-file --local-log --proxy --retries --timeout "
    "--exists-action --trusted-host --cert --client-cert --cache-dir "
    "--use-feature --use-deprecated --keyring-provider".split()
)


def run(argv: Sequence[str], out: IO[str], err: IO[str]) -> int:
    """Dispatch one command line; errors propagate to main()."""
    if list(argv) in (["-h"], ["--help"], ["help"]):
        out.write(HELP)
        return EXIT_OK
    if list(argv) in (["-V"], ["--version"]):
        out.write(f"peep {__version__} from {os.path.abspath(__file__)}\n{pip_version()}\n")
        return EXIT_OK
    index = _find_command(argv)
    if index is not None and argv[index] == "install":
        # Never let "install" reach pip unverified.
        raise UsageError("peep install: not available in this version of peep")
    if index is not None and argv[index] in PEEP_COMMANDS:
        # pip's general options before the command stay valid after it.
        rest = list(argv[index + 1 :]) + list(argv[:index])
        return PEEP_COMMANDS[argv[index]](rest, out, err)
    return command_fall_through(argv)


def bug_report(argv: Sequence[str]) -> str:
    """Describe the crash in progress well enough to fix it."""
    return (
        "peep hit an unexpected error. This is a bug in peep, not in your files: "
        "please report it, with everything below.\n\n"
        f"peep: {__version__}\n"
        f"python: {platform.python_version()} ({sys.executable})\n"
        f"platform: {platform.platform()}\n"
        f"pip: {pip_version()}\n"
        f"argv: {list(argv)!r}\n\n"
        f"{traceback.format_exc()}"
    )


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run peep with ``argv`` (default: the process's) and return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return run(argv, sys.stdout, sys.stderr)
    except _EarlyExit as exc:
        return exc.status
    except PeepError as exc:
        sys.stderr.write(f"{exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("peep: interrupted; nothing more was done.\n")
        return EXIT_FAILED
    except Exception:
        sys.stderr.write(bug_report(argv))
        return EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
