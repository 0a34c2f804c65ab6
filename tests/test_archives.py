"""Archives two tools could read differently, and wheels pip would reject.

Each case is a tiny archive built here with zipfile or tarfile that breaks
one rule. The table tests call read_archive directly; the end-to-end tests
serve each bad wheel beside a good one on the loopback index and check that
peep installs neither.
"""

from __future__ import annotations

import gzip
import io
import os
import random
import stat
import tarfile
import unicodedata
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import pytest
from helpers import Deploy, block, record_row, refusal, tar_gz_bytes, wheel_bytes

import peep

DIST_INFO = "alpha-1.0.dist-info"
WHEEL_NAME = "alpha-1.0-py3-none-any.whl"
GOOD_WHEEL = b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
NFC = unicodedata.normalize("NFC", "alpha/caf\u00e9.py")
NFD = unicodedata.normalize("NFD", NFC)


def _wheel_files(**changes: Optional[bytes]) -> Dict[str, bytes]:
    """The files of a good wheel of alpha 1.0, with ``changes`` (None: left out)."""
    files: Dict[str, Optional[bytes]] = {
        "alpha.py": b"X = 1\n",
        f"{DIST_INFO}/METADATA": b"Metadata-Version: 2.1\nName: alpha\nVersion: 1.0\n",
        f"{DIST_INFO}/WHEEL": GOOD_WHEEL,
    }
    files.update(changes)
    return {path: data for path, data in files.items() if data is not None}


def _record(files: Mapping[str, bytes], *extra_rows: str) -> bytes:
    rows = [record_row(path, data) for path, data in files.items()]
    return ("\n".join([*rows, f"{DIST_INFO}/RECORD,,", *extra_rows]) + "\n").encode()


def _zip(
    members: Sequence[Tuple[str, bytes]], extras: Optional[Mapping[str, bytes]] = None
) -> bytes:
    """Zip ``members`` in order; ``extras`` gives a member's extra field (local and central)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
        warnings.simplefilter("ignore")  # a duplicate name is the point of some cases
        for path, data in members:
            info = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            info.extra = (extras or {}).get(path, b"")
            archive.writestr(info, data)
    return buffer.getvalue()


def wheel(
    changes: Optional[Mapping[str, Optional[bytes]]] = None,
    *,
    record: Optional[bytes] = None,
    unrecorded: Optional[Mapping[str, bytes]] = None,
    extras: Optional[Mapping[str, bytes]] = None,
) -> bytes:
    """A wheel of alpha 1.0: ``changes`` recorded in RECORD, ``unrecorded`` files not."""
    files = _wheel_files(**(changes or {}))
    record = record if record is not None else _record(files)
    members = [*files.items(), (f"{DIST_INFO}/RECORD", record)]
    return _zip(members + list((unrecorded or {}).items()), extras)


def _unicode_path(name: str) -> bytes:
    """An Info-ZIP Unicode Path extra field (0x7075) giving ``name``."""
    encoded = name.encode()
    body = b"\x01" + zlib.crc32(encoded).to_bytes(4, "little") + encoded
    return b"\x75\x70" + len(body).to_bytes(2, "little") + body


def _replace_nth(data: bytes, old: bytes, new: bytes, nth: int) -> bytes:
    """Replace the ``nth`` occurrence of ``old`` (0: the local header's, 1: the central one's)."""
    assert len(old) == len(new) and data.count(old) == 2
    at = data.find(old)
    if nth:
        at = data.find(old, at + 1)
    return data[:at] + new + data[at + len(old):]


UNICODE_PATH = {"alpha.py": _unicode_path("evil.py")}
SECOND_NAME = "carries a second name (a Unicode Path extra field, 0x7075)"
TWICE = "appears twice (or differs only in case) as"
UNICODE_COMMENT = {"alpha.py": b"\x75\x63\x05\x00\x01abcd"}
UNKNOWN_FIELD = b"\x99\x99"


def _unicode_path_in_one_header(nth: int) -> bytes:
    """A wheel whose 0x7075 field is in one header only: the other has an unknown id."""
    data = wheel(extras=UNICODE_PATH)
    field = UNICODE_PATH["alpha.py"]
    return _replace_nth(data, b"alpha.py" + field, b"alpha.py" + UNKNOWN_FIELD + field[2:], 1 - nth)


def _local_extra_overruns() -> bytes:
    """A wheel whose local extra field says its record is longer than the field."""
    data = wheel(extras={"alpha.py": b"\x99\x99\x04\x00abcd"})
    return _replace_nth(data, b"alpha.py\x99\x99\x04\x00", b"alpha.py\x99\x99\x09\x00", 0)


def _cp437_name() -> bytes:
    """A wheel with a non-ASCII name not flagged UTF-8: cp437 to Python, raw bytes to unzip."""
    files = _wheel_files(**{"alpha/cafX.py": b""})
    data = _zip([*files.items(), (f"{DIST_INFO}/RECORD", _record(files))])
    return data.replace(b"alpha/cafX.py", b"alpha/caf\x82.py")


def _utf8_flag_only_in_central() -> bytes:
    """A wheel whose local header does not mark its name UTF-8, though its directory does."""
    data = bytearray(wheel({NFC: b""}))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        offset = archive.getinfo(NFC).header_offset
    data[offset + 7] &= ~0x08  # general purpose flag bit 11, 0x800
    return bytes(data)


def _hidden_member() -> bytes:
    """A wheel with a member between two others that its central directory does not list."""
    files = _wheel_files()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("alpha.py", files["alpha.py"])
        archive.writestr("alpha/hidden.py", b"evil()\n")
        hidden = archive.filelist.pop()  # its bytes stay; the directory will not list them
        del archive.NameToInfo[hidden.filename]
        for path, data in files.items():
            if path != "alpha.py":
                archive.writestr(path, data)
        archive.writestr(f"{DIST_INFO}/RECORD", _record(files))
    return buffer.getvalue()


def _local_size_differs() -> bytes:
    """A wheel whose local header gives alpha.py another compressed size than its directory."""
    data = bytearray(wheel())
    data[18:22] = (2).to_bytes(4, "little")  # alpha.py is the first member, at offset 0
    return bytes(data)


class _Unseekable(io.RawIOBase):
    """A stream zipfile cannot seek in, so that it writes data descriptors."""

    def __init__(self) -> None:
        self.written = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.written += data
        return len(data)


def _streamed() -> bytes:
    """A good wheel as a streaming writer makes it: each member followed by a data descriptor."""
    files = _wheel_files()
    files[f"{DIST_INFO}/RECORD"] = _record(files)
    sink = _Unseekable()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0)), data)
    data = bytes(sink.written)
    assert all(info.flag_bits & 0x8 for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
    return data


def _streamed_sizes_given(*fields: int) -> bytes:
    """A streamed wheel whose local headers give what the writer knew before the data after all:
    the uncompressed size (at 22; zip to a pipe), and the compressed one (at 18; bsdtar)."""
    data = bytearray(_streamed())
    for info in zipfile.ZipFile(io.BytesIO(bytes(data))).infolist():
        for at in fields:
            size = info.compress_size if at == 18 else info.file_size
            data[info.header_offset + at : info.header_offset + at + 4] = size.to_bytes(4, "little")
    return bytes(data)


def _zip64_local_size(size: int) -> bytes:
    """A zip64 wheel whose local header's zip64 field gives alpha.py (6 bytes) ``size``: if
    another, a streaming reader, going by the local header, reads another member there."""
    files = _wheel_files()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in [*files.items(), (f"{DIST_INFO}/RECORD", _record(files))]:
            info = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            with archive.open(info, "w", force_zip64=True) as sink:
                sink.write(data)
    data = bytearray(buffer.getvalue())
    field = 30 + len("alpha.py")  # alpha.py is the first member; its extra field follows its name
    assert data[field : field + 2] == b"\x01\x00"  # zip64: uncompressed, then compressed size
    data[field + 4 : field + 12] = size.to_bytes(8, "little")
    return bytes(data)


def _name_not_utf8() -> bytes:
    """A wheel whose member name is marked UTF-8 but is not."""
    name = "alpha/x\u00e9.py"
    return wheel({name: b""}).replace(name.encode(), b"alpha/x\xff\xfe.py")


def _descriptor_differs() -> bytes:
    """A streamed wheel whose data descriptor after alpha.py gives another uncompressed size."""
    data = bytearray(_streamed())
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("alpha.py")
    at = info.header_offset + 30 + len("alpha.py") + info.compress_size  # no local extra field
    assert data[at : at + 4] == b"PK\x07\x08"  # signature, CRC, compressed, uncompressed size
    data[at + 12 : at + 16] = (info.file_size + 1).to_bytes(4, "little")
    return bytes(data)


def _end_record_counts(change: int) -> bytes:
    """A wheel whose end record counts ``change`` more members than its central directory lists:
    zipfile (and pip) read them all, readers that go by the count list fewer or more."""
    data = bytearray(wheel())
    at = data.rfind(b"PK\x05\x06")
    count = int.from_bytes(data[at + 10 : at + 12], "little") + change
    data[at + 8 : at + 12] = count.to_bytes(2, "little") * 2  # on this disk, and in all
    return bytes(data)


def _local_header_says(offset: int, value: bytes) -> bytes:
    """A good wheel whose local header of alpha.py (the first member) has ``value`` at ``offset``:
    zipfile goes by the central directory's method and flags, unzip by the local header's."""
    data = bytearray(wheel())
    data[offset : offset + len(value)] = value
    return bytes(data)


def _zip64_record(count: int, size: int, offset: int) -> bytes:
    """A zip64 end record: ``count`` members, a central directory of ``size`` bytes at
    ``offset``."""
    head = b"PK\x06\x06" + (44).to_bytes(8, "little") + bytes([45, 0, 45, 0]) + bytes(8)
    return head + b"".join(value.to_bytes(8, "little") for value in (count, count, size, offset))


def _locator(at: int) -> bytes:
    return b"PK\x06\x07" + bytes(4) + at.to_bytes(8, "little") + (1).to_bytes(4, "little")


def _end_record(count: int, size: int, offset: int, comment: int = 0) -> bytes:
    """An end record; ``comment``, the length it gives its comment (written after it, if at all)."""
    return (b"PK\x05\x06" + bytes(4) + count.to_bytes(2, "little") * 2
            + size.to_bytes(4, "little") + offset.to_bytes(4, "little")
            + comment.to_bytes(2, "little"))


def _end_record_in_a_comment() -> bytes:
    """A wheel zipfile (so pip) reads as it is, and Go's archive/zip as one file, _evil.py:
    zipfile takes the last end record whatever length it gives its comment, Go the last whose
    comment fits in the file: here one hidden, after a central directory of its own, in the
    last entry's comment, while the last end record's comment would run past the end."""
    data = bytearray(wheel())
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        count, start = len(archive.infolist()), archive.start_dir
    at, last = data.rfind(b"PK\x05\x06"), data.rfind(b"PK\x01\x02")
    hidden = data[start : data.index(b"PK\x01\x02", start + 4)]  # alpha.py's entry, the first
    hidden[46:54] = b"_evil.py"  # the same member, by another name
    comment = hidden + _end_record(1, len(hidden), at, comment=22)  # its comment: the last one
    data[last + 32 : last + 34] = len(comment).to_bytes(2, "little")
    return bytes(data[:at] + comment + _end_record(count, at + len(comment) - start, start, 1))


SATURATED = (0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF)


def _zip64_ended(ends: Optional[Tuple[int, int, int]] = None) -> bytes:
    """A good wheel ended as a zip64 writer ends it: its end record gives ``ends`` (by default
    the zip64 end record's count, size and offset) for the central directory."""
    data = wheel()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        count, start = len(archive.infolist()), archive.start_dir
    at = data.rfind(b"PK\x05\x06")
    zip64 = _zip64_record(count, at - start, start) + _locator(at)
    return data[:at] + zip64 + _end_record(*(ends or (count, at - start, start)))


def _second_central_directory() -> bytes:
    """A wheel zipfile (so pip) reads as alpha.py 'EVIL', and unzip as alpha.py 'GOOD': zipfile
    takes the zip64 end record just before the locator, unzip the one the locator points at,
    which, with a second wheel and its central directory, hides in the last entry's comment."""
    hidden = wheel({"alpha.py": b"GOOD = 1\n"})
    with zipfile.ZipFile(io.BytesIO(hidden)) as archive:
        count, hidden_start = len(archive.infolist()), archive.start_dir
    hidden = hidden[: hidden.rfind(b"PK\x05\x06")]  # its members and central directory
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        files = _wheel_files(**{"alpha.py": b"EVIL = 1\n"})
        for path, data in [*files.items(), (f"{DIST_INFO}/RECORD", _record(files))]:
            info = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            archive.writestr(info, data)
        info.comment = bytes(len(hidden) + 56)  # written with the central directory, at close
        start = archive.start_dir
    shown = buffer.getvalue()
    at = shown.rfind(b"PK\x05\x06")
    comment_at = at - len(info.comment)
    moved = bytearray(hidden)
    entry = hidden_start
    while entry < len(moved):  # each central entry points at its member, comment_at further on
        offset = int.from_bytes(moved[entry + 42 : entry + 46], "little") + comment_at
        moved[entry + 42 : entry + 46] = offset.to_bytes(4, "little")
        entry += 46 + sum(int.from_bytes(moved[entry + i : entry + i + 2], "little")
                          for i in (28, 30, 32))
    second = _zip64_record(count, len(hidden) - hidden_start, comment_at + hidden_start)
    first = _zip64_record(count, at - start, start)
    return (shown[:comment_at] + moved + second + first + _locator(comment_at + len(hidden))
            + _end_record(*SATURATED))


def _tar_header_in_front(kind: bytes, size: int) -> bytes:
    """A good wheel whose first 512 bytes, with alpha.py's local extra field, are also a tar
    header of ``kind`` saying ``size`` bytes follow: what peep's polyglot check reads first."""
    data = bytearray(wheel(extras={"alpha.py": b"\x99\x99" + (512 - 42).to_bytes(2, "little")
                                   + bytes(512 - 42)}))
    header = tarfile.TarInfo("x")
    header.type, header.size = kind, size
    block = bytearray(header.tobuf(tarfile.USTAR_FORMAT))
    block[:42] = data[:42]  # the local header, alpha.py's name, its extra field's id and size
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    data[:512] = block
    return bytes(data)


IN_FRONT = _zip([("alpha/evil.py", b"evil()\n")])


def _rows(**replace: str) -> bytes:
    """RECORD for the good files, each row replaced by ``replace[name]`` (keys: alpha_py, ...)."""
    files = _wheel_files()
    rows = [
        replace.get(path.replace(".", "_"), record_row(path, data))
        for path, data in files.items()
    ]
    return ("\n".join([*rows, f"{DIST_INFO}/RECORD,,"]) + "\n").encode()


GOOD_ROW = record_row("alpha.py", b"X = 1\n")
META = f"{DIST_INFO}/METADATA"
ENTRY_POINTS = f"{DIST_INFO}/entry_points.txt"

# (what is wrong, the wheel, what peep says)
BAD_WHEELS: List[Tuple[str, bytes, str]] = [
    # Names two tools read differently.
    ("0x7075 in both headers", wheel(extras=UNICODE_PATH),
     f"member 'alpha.py' {SECOND_NAME} in its central directory"),
    ("0x7075 in the central directory only", _unicode_path_in_one_header(1),
     f"member 'alpha.py' {SECOND_NAME} in its central directory"),
    ("0x7075 in the local header only", _unicode_path_in_one_header(0),
     f"member 'alpha.py' {SECOND_NAME} in its local header"),
    ("local extra field overruns", _local_extra_overruns(),
     "member 'alpha.py' has a malformed extra field in its local header"),
    ("non-ASCII name not marked UTF-8", _cp437_name(),
     "member 'alpha/café.py' has a non-ASCII name not marked UTF-8"),
    ("UTF-8 flag only in the central directory", _utf8_flag_only_in_central(),
     f"member {NFC!r} has another name in its local header"),
    ("NFC and NFD", wheel({NFC: b"", NFD: b""}),
     f"member {NFD!r} appears twice (or differs only in case) as {NFC!r}"),
    ("A.py and a.py", wheel({"alpha/A.py": b"", "alpha/a.py": b""}),
     "member 'alpha/a.py' appears twice (or differs only in case) as 'alpha/A.py'"),
    ("x.py and x.py., one file on Windows", wheel({"alpha/x.py": b"", "alpha/x.py. ": b""}),
     "member 'alpha/x.py. ' appears twice (or differs only in case) as 'alpha/x.py'"),
    ("a directory and its name with a dot, one on Windows",
     wheel({"alpha/x.py": b"", "alpha./y.py": b""}),
     "member 'alpha./y.py' appears twice (or differs only in case) as 'alpha'"),
    ("two directories differing in case", wheel({"Alpha/x.py": b"", "alpha/y.py": b""}),
     "member 'alpha/y.py' appears twice (or differs only in case) as 'Alpha'"),
    ("dist-info twice, differing in case", wheel({"Alpha-1.0.dist-info/LICENSE": b""}),
     f"member 'Alpha-1.0.dist-info/LICENSE' {TWICE} 'alpha-1.0.dist-info'"),
    ("a member twice", _zip([*_wheel_files().items(), ("alpha.py", b"Y = 2\n")]),
     "member 'alpha.py' appears twice"),
    # Bytes only a streaming reader, going by local headers, would see.
    ("a zip in front of the wheel", IN_FRONT + wheel(),
     f"bytes 0 to {len(IN_FRONT)} are not the members its central directory lists, one after"),
    ("a local header with another size", _local_size_differs(),
     "member 'alpha.py' has other sizes in its local header"),
    ("a streamed member whose local header gives sizes after all",
     _streamed()[:18] + (2).to_bytes(4, "little") + _streamed()[22:],
     "member 'alpha.py' has other sizes in its local header"),
    ("a data descriptor with another size", _descriptor_differs(),
     "member 'alpha.py' has no data descriptor giving the sizes its central directory gives"),
    ("an end record counting fewer members", _end_record_counts(-1),
     "its end record counts 3 members, but its central directory lists 4"),
    ("an end record counting more members", _end_record_counts(1),
     "its end record counts 5 members, but its central directory lists 4"),
    ("a local zip64 field with another size", _zip64_local_size(5),
     "member 'alpha.py' has other sizes in its local header"),
    ("a name marked UTF-8 that is not", _name_not_utf8(),
     "not a readable archive ('utf-8' codec can't decode"),
    ("a member the central directory does not list", _hidden_member(),
     "bytes 44 to 96 are not the members its central directory lists"),  # 30 + 15 + 7 bytes
    ("a local header with another compression method", _local_header_says(8, b"\x08"),
     "member 'alpha.py' has another compression method, encryption or data descriptor flag"),
    ("a local header flagged encrypted", _local_header_says(6, b"\x01"),
     "member 'alpha.py' has another compression method, encryption or data descriptor flag"),
    ("a second central directory, where the zip64 locator points", _second_central_directory(),
     "its zip64 end records disagree with each other, so zip readers differ on which central"),
    ("an end record giving another central directory than zip64's", _zip64_ended((4, 1, 0)),
     "its zip64 end records disagree with each other"),
    ("an end record whose comment runs past the end, another hidden before it",
     _end_record_in_a_comment(), "its end record's comment runs past the end of the file"),
    ("bytes a tar reader takes for a pax header too long to read",
     _tar_header_in_front(tarfile.XHDTYPE, 1 << 30),
     "a sparse member, or long names or pax headers over 8192 bytes"),
    # The wheel spec's rules pip applies while it installs.
    ("a top-level file named like a .dist-info directory", wheel({"beta-1.0.dist-info": b""}),
     "a wheel needs exactly one .dist-info directory, not 2"),
    (".dist-info in capitals, which pip does not find",
     _zip([(path.replace(DIST_INFO, "alpha-1.0.DIST-INFO"), data)
           for path, data in [*_wheel_files().items(), (f"{DIST_INFO}/RECORD", b"")]]),
     "its .dist-info directory is spelled 'alpha-1.0.DIST-INFO'"),
    ("two .dist-info directories", wheel({"beta-1.0.dist-info/METADATA": b"Name: beta\n"}),
     "a wheel needs exactly one .dist-info directory, not 2"),
    ("no WHEEL", wheel({f"{DIST_INFO}/WHEEL": None}), "its .dist-info directory has no WHEEL"),
    ("Wheel-Version 2.0", wheel({f"{DIST_INFO}/WHEEL": b"Wheel-Version: 2.0\n"}),
     f"member '{DIST_INFO}/WHEEL' gives Wheel-Version 2.0, not one 1.x"),
    ("no Wheel-Version", wheel({f"{DIST_INFO}/WHEEL": b"Generator: x\n"}),
     f"member '{DIST_INFO}/WHEEL' gives Wheel-Version none, not one 1.x"),
    ("Wheel-Version twice",
     wheel({f"{DIST_INFO}/WHEEL": b"Wheel-Version: 1.0\nWheel-Version: 2.0\n"}),
     f"member '{DIST_INFO}/WHEEL' gives Wheel-Version 1.0, 2.0, not one 1.x"),
    ("unknown .data key", wheel({"alpha-1.0.data/lib/x.py": b""}),
     "member 'alpha-1.0.data/lib/x.py' is not under one of alpha-1.0.data/purelib"),
    ("a file where a .data key goes", wheel({"alpha-1.0.data/scripts": b""}),
     "member 'alpha-1.0.data/scripts' is a file; pip needs a directory"),
    ("another wheel's .data", wheel({"beta-1.0.data/purelib/x.py": b""}),
     "member 'beta-1.0.data/purelib/x.py' is in a .data directory not named 'alpha-1.0.data'"),
    ("'..' inside .data", wheel({"alpha-1.0.data/purelib/../../evil.py": b""}),
     "member 'alpha-1.0.data/purelib/../../evil.py' leaves the archive ('..')"),
    ("an absolute path", wheel({"/tmp/evil.py": b""}),
     "member '/tmp/evil.py' has an absolute path"),
    ("a backslash", wheel({"alpha\\evil.py": b""}),
     "member 'alpha\\\\evil.py' has a NUL or a backslash"),
    ("console script without ':'", wheel({ENTRY_POINTS: b"[console_scripts]\nalpha = alpha\n"}),
     f"member '{ENTRY_POINTS}' has console_scripts entry 'alpha = alpha', not 'name = "),
    ("gui script without '='", wheel({ENTRY_POINTS: b"[gui_scripts]\nalpha\n"}),
     f"member '{ENTRY_POINTS}' has gui_scripts entry 'alpha', not 'name = module:attr'"),
    ("console script named out of the scripts directory",
     wheel({ENTRY_POINTS: b"[console_scripts]\n../../evil = alpha:main\n"}),
     f"member '{ENTRY_POINTS}' has console_scripts entry '../../evil = alpha:main'"),
    ("Requires-Python that does not parse",
     wheel({META: b"Metadata-Version: 2.1\nName: alpha\nVersion: 1.0\nRequires-Python: >=3.x\n"}),
     f"member '{META}' gives Requires-Python '>=3.x', which is not a version specifier"),
    ("METADATA not UTF-8, which pip refuses",
     wheel({META: b"Metadata-Version: 2.1\nName: alpha\nVersion: 1.0\nSummary: caf\xe9\n"}),
     f"member '{META}' is not UTF-8"),
    ("Requires-Python twice",
     wheel({META: b"Name: alpha\nVersion: 1.0\nRequires-Python: >=3\nRequires-Python: <3\n"}),
     f"member '{META}' gives Requires-Python more than once"),
    # RECORD: every file, with its own hash, once.
    ("no RECORD", _zip(list(_wheel_files().items())), "its .dist-info directory has no RECORD"),
    ("a member not in RECORD", wheel(unrecorded={"alpha/evil.py": b"evil()\n"}),
     "member 'alpha/evil.py' is not in its RECORD"),
    ("RECORD with another hash", wheel(record=_rows(alpha_py=record_row("alpha.py", b"X = 2\n"))),
     "member 'alpha.py' has sha256="),
    ("RECORD with another size", wheel(record=_rows(alpha_py=GOOD_ROW.replace(",6", ",7"))),
     "member 'alpha.py' is 6 bytes, but its RECORD says '7'"),
    ("RECORD with no hash for a member", wheel(record=_rows(alpha_py="alpha.py,,")),
     "member 'alpha.py' has sha256="),
    ("RECORD with sha512 only", wheel(record=_rows(alpha_py="alpha.py,sha512=abc,6")),
     "but its RECORD says 'sha512=abc'"),
    ("duplicate RECORD rows", wheel(record=_rows(alpha_py=GOOD_ROW + "\n" + GOOD_ROW)),
     f"member '{DIST_INFO}/RECORD' lists 'alpha.py' twice"),
    ("RECORD rows for one file with two hashes",
     wheel(record=_rows(alpha_py=GOOD_ROW + "\n" + record_row("alpha.py", b"X = 2\n"))),
     f"member '{DIST_INFO}/RECORD' lists 'alpha.py' twice"),
    ("a RECORD row of two fields", wheel(record=_rows(alpha_py="alpha.py,sha256=x")),
     f"member '{DIST_INFO}/RECORD' has a row ['alpha.py', 'sha256=x'], not 3 fields"),
    ("RECORD not UTF-8", wheel(record=b"\xff\xfe"), f"member '{DIST_INFO}/RECORD' is not UTF-8"),
]


@pytest.mark.parametrize(
    "data, message", [case[1:] for case in BAD_WHEELS], ids=[case[0] for case in BAD_WHEELS]
)
def test_bad_wheels_are_refused(tmp_path: Path, data: bytes, message: str) -> None:
    assert message in refusal(tmp_path, WHEEL_NAME, data)


GOOD_WHEELS = [
    ("a good wheel", wheel()),
    ("a Unicode Comment field (0x6375): no name in it", wheel(extras=UNICODE_COMMENT)),
    ("NFC name alone, marked UTF-8", wheel({NFC: b""})),
    ("data descriptors after members, as a streaming writer makes them", _streamed()),
    ("data descriptors, local headers giving uncompressed sizes, as zip to a pipe writes them",
     _streamed_sizes_given(22)),
    ("data descriptors, local headers giving both sizes, as bsdtar writes them",
     _streamed_sizes_given(18, 22)),
    ("zip64 local fields that agree with the directory",
     _zip64_local_size(6)),
    ("zip64 end records as a zip64 writer makes them", _zip64_ended()),
    ("a comment at the end, as zip -z writes it",
     wheel()[:-2] + (12).to_bytes(2, "little") + b"PK a comment"),
    ("zeros after the end record, as bsdtar writing to a pipe pads its last block",
     wheel() + bytes(2032)),
    ("zip64 end records, the end record's values all 0xFF..", _zip64_ended(SATURATED)),
    ("Requires-Python this Python does not meet: another verdict's question",
     wheel({META: b"Metadata-Version: 2.1\nName: alpha\nVersion: 1.0\nRequires-Python: <3\n"})),
    ("Wheel-Version 1.9", wheel({f"{DIST_INFO}/WHEEL": b"Wheel-Version: 1.9\n"})),
    ("entry points with extras, and sections pip does not make scripts of",
     wheel({ENTRY_POINTS: b"# comment\n[console_scripts]\nalpha-cli = alpha.cli:main [extra]\n"
                          b"[alpha.plugins]\nanything = goes here\n"})),
    ("every .data key", wheel({f"alpha-1.0.data/{key}/x": b"" for key in peep.WHEEL_DATA_KEYS})),
    ("RECORD's signature, not in RECORD", wheel(unrecorded={f"{DIST_INFO}/RECORD.jws": b"{}"})),
    ("RECORD rows without sizes, and for files the wheel lacks",
     wheel(record=_rows(alpha_py=GOOD_ROW.rsplit(",", 1)[0] + ",") + b"gone.py,sha256=x,1\n")),
]


@pytest.mark.parametrize(
    "data", [case[1] for case in GOOD_WHEELS], ids=[case[0] for case in GOOD_WHEELS]
)
def test_wheels_pip_installs_are_read(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / WHEEL_NAME
    path.write_bytes(data)
    facts = peep.read_archive(str(path), WHEEL_NAME)
    assert (facts.kind, facts.name, str(facts.version)) == ("wheel", "alpha", "1.0")


def test_helper_wheels_are_read(tmp_path: Path) -> None:
    """The wheels other tests build pass every rule: the rules do not refuse good wheels."""
    script = {"beta-1.0.data/scripts/beta": b"#!python\n"}
    filename, data = wheel_bytes("beta", "1.0", extra_files=script)
    (tmp_path / filename).write_bytes(data)
    assert peep.read_archive(str(tmp_path / filename), filename).name == "beta"


# The end-to-end cases: one for each rule, served beside a good wheel.
END_TO_END = [
    "0x7075 in the central directory only", "0x7075 in the local header only", "NFC and NFD",
    "A.py and a.py", "dist-info twice, differing in case", "a member the central directory does "
    "not list", "no WHEEL", "Wheel-Version 2.0",
    "unknown .data key", "'..' inside .data", "console script without ':'",
    "Requires-Python that does not parse", "a member not in RECORD", "RECORD with another hash",
    "duplicate RECORD rows", "a second central directory, where the zip64 locator points",
]


@pytest.mark.parametrize("case", END_TO_END)
def test_a_bad_wheel_installs_nothing_at_all(deploy: Deploy, case: str) -> None:
    _, data, message = next(bad for bad in BAD_WHEELS if bad[0] == case)
    bad = deploy.index.add((WHEEL_NAME, data))
    good = deploy.index.add(wheel_bytes("beta", "1.0"))
    deploy.write(block(good.data, "beta==1.0") + block(bad.data, "alpha==1.0"))
    result = deploy.install()
    assert result.returncode == 1, result.stderr
    assert "matched their hashes, but peep refuses them" in result.stderr
    assert f"{WHEEL_NAME}: {message}" in result.stderr
    assert deploy.installed() == {}
    assert not deploy.target.exists() or not any(deploy.target.iterdir())


# --- Sdists: names two tools read differently ------------------------------------------------


def _tar_member(name: str, kind: bytes = tarfile.REGTYPE) -> Tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    return info, b"x = 1\n"


def _tar(*names: str) -> bytes:
    return tar_gz_bytes([_tar_member(name) for name in names])


def _damaged(compression: str) -> bytes:
    """Return a compressed tar whose compressed data is damaged after its header."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=f"w:{compression}") as tar:
        for number in range(20):
            info, _ = _tar_member(f"beta-2.0/x{number}.py")
            data = random.Random(number).randbytes(4096)  # incompressible, and the same each run
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    data = bytearray(buffer.getvalue())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(64)
    return bytes(data)


def _headed(kind: bytes, body: bytes) -> bytes:
    """An uncompressed sdist whose one file, beta-2.0/x.py, a header of ``kind`` holding ``body``
    comes before (a GNU sparse member ``kind`` is the file itself)."""
    info = tarfile.TarInfo("beta-2.0/x.py" if kind == tarfile.GNUTYPE_SPARSE else "././@Header")
    info.type, info.size = kind, len(body)
    member = tarfile.TarInfo("beta-2.0/x.py").tobuf(tarfile.GNU_FORMAT)
    head = info.tobuf(tarfile.GNU_FORMAT) + body + bytes(-len(body) % 512)
    return head + (b"" if kind == tarfile.GNUTYPE_SPARSE else member) + bytes(1024)



# One pax record, of the most bytes peep reads in one header: a record Python 3.13 parses too.
PAX_RECORD = b"8192 comment=" + b"x" * 8178 + b"\n"


def _many_headed() -> bytes:
    """A .tar.gz of files each with a pax header of the most bytes peep reads, one too many."""
    body = PAX_RECORD
    header = tarfile.TarInfo("././@PaxHeader")
    header.type, header.size = tarfile.XHDTYPE, len(body)
    head = header.tobuf(tarfile.GNU_FORMAT) + body
    count = peep.MAX_RECORD_BYTES // len(body) + 1
    members = (head + tarfile.TarInfo(f"beta-2.0/x{n}.py").tobuf(tarfile.GNU_FORMAT)
               for n in range(count))
    return gzip.compress(b"".join(members) + bytes(1024), compresslevel=1)


def _sparse(pax: Dict[str, str], data: bytes) -> bytes:
    """A .tar.gz whose one file is sparse, as one of pax's forms says: tarfile reads a 1.0 map
    from the member's data, keeping every number however many its first line says there are."""
    info = tarfile.TarInfo("beta-2.0/GNUSparseFile.0/x.py")
    info.pax_headers = dict(pax, **{"GNU.sparse.name": "beta-2.0/x.py"})
    return tar_gz_bytes([(info, data)])


def _global_headed() -> bytes:
    """A .tar.gz whose global pax header, of the most bytes peep reads, comes before more
    members than peep reads that many bytes for: tarfile keeps a copy of every global record
    with each member after it (and members are what a compressed tar holds most cheaply)."""
    body = PAX_RECORD
    header = tarfile.TarInfo("././@PaxHeader")
    header.type, header.size = tarfile.XGLTYPE, len(body)
    count = peep.MAX_RECORD_BYTES // len(body) + 1
    members = b"".join(tarfile.TarInfo(f"beta-2.0/x{n}.py").tobuf(tarfile.GNU_FORMAT)
                       for n in range(count))
    return gzip.compress(header.tobuf(tarfile.GNU_FORMAT) + body + members + bytes(1024), 1)


LONG_HEADER = "a sparse member, or long names or pax headers over 8192 bytes, or 67108864 in all"

BAD_SDISTS = [
    ("beta-2.0.tar.gz", _tar("beta-2.0/x.py", "beta-2.0/x.py"),
     "member 'beta-2.0/x.py' appears twice"),
    ("beta-2.0.tar.gz", _tar("beta-2.0/" + NFC, "beta-2.0/" + NFD),
     "appears twice (or differs only in case) as 'beta-2.0/alpha/café.py'"),
    ("beta-2.0.tar.gz", _tar("beta-2.0/Setup.py", "beta-2.0/setup.py"),
     "member 'beta-2.0/setup.py' appears twice (or differs only in case) as 'beta-2.0/Setup.py'"),
    ("beta-2.0.zip", _zip([("beta-2.0/x.py", b""), ("beta-2.0/X.py", b"")]),
     "member 'beta-2.0/X.py' appears twice (or differs only in case) as 'beta-2.0/x.py'"),
    ("beta-2.0.zip",
     _zip([("beta-2.0/x.py", b"")], {"beta-2.0/x.py": _unicode_path("beta-2.0/y.py")}),
     "member 'beta-2.0/x.py' carries a second name"),
    # Damaged compressed data is refused like any unreadable archive, whatever its compression
    # (gzip checks its CRC only at the end, which tarfile need not reach).
    pytest.param("beta-2.0.tar.xz", _damaged("xz"), "beta-2.0.tar.xz: not a readable archive",
                 id="damaged-xz"),
    pytest.param("beta-2.0.tar.bz2", _damaged("bz2"), "beta-2.0.tar.bz2: not a readable archive",
                 id="damaged-bz2"),
    # tarfile's own errors, from a number in a pax record, are an archive peep will not read
    # (a ValueError for 5,000 digits before Python 3.13, an invalid header since).
    pytest.param("beta-2.0.tar", _headed(tarfile.XHDTYPE, b"1" * 5000 + b" path=x\n"),
                 "beta-2.0.tar: not a readable archive (", id="pax-length-digits"),
    # What tarfile reads whole (and before 3.11.10 parses in quadratic time) is bounded.
    pytest.param("beta-2.0.tar", _headed(tarfile.XHDTYPE, b"1" * (peep.MAX_TAR_HEADER_BYTES + 1)),
                 LONG_HEADER, id="pax-header-over-the-limit"),
    pytest.param("beta-2.0.tar", _headed(tarfile.GNUTYPE_LONGNAME, b"beta-2.0/" + b"x" * 9000),
                 LONG_HEADER, id="long-name-over-the-limit"),
    pytest.param("beta-2.0.tar.gz", _many_headed(), LONG_HEADER,
                 id="pax-headers-over-the-limit-in-all"),
    pytest.param("beta-2.0.tar", _headed(tarfile.GNUTYPE_SPARSE, b""), LONG_HEADER,
                 id="gnu-sparse-member"),
    pytest.param("beta-2.0.tar.gz", _sparse({"GNU.sparse.size": "2", "GNU.sparse.numblocks": "1",
                                             "GNU.sparse.offset": "0", "GNU.sparse.numbytes": "2"},
                                            b"x\n"), LONG_HEADER, id="pax-sparse-member-0.0"),
    pytest.param("beta-2.0.tar.gz", _sparse({"GNU.sparse.major": "1", "GNU.sparse.minor": "0",
                                             "GNU.sparse.realsize": "2"},
                                            b"1\n0\n2\n".ljust(512, b"\0") + b"x\n"),
                 LONG_HEADER, id="pax-sparse-member-1.0"),
    pytest.param("beta-2.0.tar.gz", _sparse({"GNU.sparse.map": "0,2", "GNU.sparse.size": "2"},
                                            b"x\n"), LONG_HEADER, id="pax-sparse-member-0.1"),
    pytest.param("beta-2.0.tar.gz", _global_headed(), LONG_HEADER,
                 id="a-global-pax-header-copied-to-members-over-the-limit"),
]


@pytest.mark.parametrize("filename, data, message", BAD_SDISTS)
def test_bad_sdists_are_refused(tmp_path: Path, filename: str, data: bytes, message: str) -> None:
    assert message in refusal(tmp_path, filename, data)


@pytest.mark.parametrize("filename", ["beta-2.0.tar", "beta-2.0-py3-none-any.whl", "beta-2.0.zip"])
def test_chained_long_name_headers_are_refused_not_a_crash(tmp_path: Path, filename: str) -> None:
    """tarfile reads empty GNU long-name headers one inside another: 3,000 exhaust its stack."""
    empty = tarfile.TarInfo("././@LongLink")
    empty.type = tarfile.GNUTYPE_LONGNAME
    data = empty.tobuf(tarfile.GNU_FORMAT) * 3000 + _headed(tarfile.GNUTYPE_LONGNAME, b"")
    assert "beta-2.0" in refusal(tmp_path, filename, data)


@pytest.mark.parametrize("form", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_long_names_within_the_limit_are_read(tmp_path: Path, form: int) -> None:
    """A path or link of 4,096 bytes, as GNU tar and pax write it, is no header too long."""
    long = "beta-2.0/" + "/".join("d" * 199 for _ in range(20))  # 4,008 bytes
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=form) as archive:
        info = tarfile.TarInfo(long)
        archive.addfile(info, io.BytesIO())
        link = tarfile.TarInfo("beta-2.0/" + "l" * 200)
        link.type, link.linkname, link.mtime = tarfile.SYMTYPE, long[9:], 1.5
        archive.addfile(link)
    path = tmp_path / "beta-2.0.tar"
    path.write_bytes(buffer.getvalue())
    peep.read_archive(str(path), path.name, extract_to=str(tmp_path / "out"))
    assert (tmp_path / "out" / long).exists()


def test_a_global_pax_header_as_git_archive_writes_it_is_read(tmp_path: Path) -> None:
    """git archive starts with a global pax header naming the commit: each member's copy of it
    counts, and the most members peep reads stay far below the limit."""
    assert 52 * peep.MAX_MEMBERS < peep.MAX_RECORD_BYTES
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT,
                      pax_headers={"comment": "0" * 40}) as archive:
        for n in range(100):
            archive.addfile(tarfile.TarInfo(f"beta-2.0/x{n}.py"), io.BytesIO())
    assert b" comment=" + b"0" * 40 in gzip.decompress(buffer.getvalue())[:1024]
    path = tmp_path / "beta-2.0.tar.gz"
    path.write_bytes(buffer.getvalue())
    assert peep.read_archive(str(path), path.name).top == "beta-2.0"


# --- Sdists: extracting into a directory peep makes, never through a link ------------------


SDIST = tar_gz_bytes([
    _tar_member("beta-2.0", tarfile.DIRTYPE),
    _tar_member("beta-2.0/sub", tarfile.DIRTYPE),
    _tar_member("beta-2.0/sub/x.py"),
])


def _extract(tmp_path: Path, out: Path) -> peep.ArchiveFacts:
    path = tmp_path / "beta-2.0.tar.gz"
    path.write_bytes(SDIST)
    return peep.read_archive(str(path), path.name, extract_to=str(out))


def test_extraction_makes_its_own_private_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _extract(tmp_path, out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert (out / "beta-2.0" / "sub" / "x.py").read_bytes() == b"x = 1\n"


@pytest.mark.parametrize("plant", ["symlink", "directory"])
def test_extraction_into_a_path_already_there_is_refused(tmp_path: Path, plant: str) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    if plant == "symlink":
        out.symlink_to(elsewhere)
    else:
        out.mkdir()
    with pytest.raises(peep.ArchiveError, match="only into a directory it has just made"):
        _extract(tmp_path, out)
    assert list(elsewhere.iterdir()) == [] and (plant == "symlink" or list(out.iterdir()) == [])


Swap = Callable[[Path, Path], None]


def _to_link(path: Path, elsewhere: Path) -> None:
    if path.exists():
        os.rename(path, path.with_name("moved-away"))
    path.symlink_to(elsewhere, target_is_directory=True)


def _to_foreign_directory(path: Path, elsewhere: Path) -> None:
    if path.exists():
        os.rename(path, path.with_name("moved-away"))
    path.mkdir()


@pytest.mark.parametrize("swap", [_to_link, _to_foreign_directory])
@pytest.mark.parametrize("when", ["before peep makes it", "after peep made it"])
def test_a_directory_swapped_during_extraction_is_never_written_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, swap: Swap, when: str
) -> None:
    """Another process swaps beta-2.0/sub just before peep makes it, or writes into it."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    method = "directory" if when == "before peep makes it" else "write"
    original = getattr(peep._Extraction, method)

    def racing(self: peep._Extraction, path: str, *args: object) -> None:
        if path.startswith("beta-2.0/sub"):
            swap(out / "beta-2.0" / "sub", elsewhere)
        original(self, path, *args)

    monkeypatch.setattr(peep._Extraction, method, racing)
    if swap is _to_foreign_directory and when == "after peep made it":
        _extract(tmp_path, out)  # a directory, not a link: peep may write in it, never outside
    else:
        with pytest.raises(peep.ArchiveError, match="refusing to write through anything"):
            _extract(tmp_path, out)
    assert list(elsewhere.iterdir()) == []


def test_a_link_member_is_copied_without_following_a_swapped_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file a link member names is swapped for a link to a secret before it is copied."""
    secret = tmp_path / "secret"
    secret.write_bytes(b"secret")
    members = [_tar_member("beta-2.0/x.py"), (_link("beta-2.0/copy.py", "x.py"), b"")]
    path = tmp_path / "beta-2.0.tar.gz"
    path.write_bytes(tar_gz_bytes(members))
    out = tmp_path / "out"
    original = peep._Extraction.copy

    def racing(self: peep._Extraction, member: str, source: str) -> None:
        os.unlink(out / source)
        (out / source).symlink_to(secret)
        original(self, member, source)

    monkeypatch.setattr(peep._Extraction, "copy", racing)
    with pytest.raises(peep.ArchiveError, match="cannot extract 'beta-2.0/x.py'"):
        peep.read_archive(str(path), path.name, extract_to=str(out))
    assert not (out / "beta-2.0" / "copy.py").exists()


def _link(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info
