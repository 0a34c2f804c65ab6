"""Byte-compiling after pip: the installed tree is what pip's own compiling leaves.

peep runs pip with --no-compile and then compiles the .py files of the wheels
it handed pip, in parallel. These tests install the same wheels once with pip
compiling (the reference, from a find-links directory as peep hands them) and
once with peep, and compare the two trees file by file: the same files, the
same RECORD rows, and .pyc files that hold the same code under the same header
flags. Only what differs by nature is left out: the source mtime inside a
timestamp-checked .pyc header and the file name Python stamps into code
objects (import replaces it with the real one).
"""

from __future__ import annotations

import csv
import io
import marshal
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import pytest
from conftest import site_venv
from helpers import LoopbackIndex, block, hermetic_env, record_row, run_peep

import peep

# --- Fixture wheels -------------------------------------------------------------


def wheel_with(
    name: str, version: str, files: Dict[str, bytes], *, purelib: bool = True, extra_rows: Sequence[str] = ()
) -> Tuple[str, bytes]:
    """A wheel holding ``files`` besides its metadata, with a console script."""
    dist_info = f"{name}-{version}.dist-info"
    files = dict(files)
    files[f"{dist_info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    files[f"{dist_info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: peep-tests\nRoot-Is-Purelib: {str(purelib).lower()}\n"
        "Tag: py3-none-any\n"
    ).encode()
    files[f"{dist_info}/entry_points.txt"] = f"[console_scripts]\n{name}-cli = {name}:main\n".encode()
    rows = [record_row(path, data) for path, data in files.items()] + [f"{dist_info}/RECORD,,", *extra_rows]
    files[f"{dist_info}/RECORD"] = ("\n".join(rows) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return f"{name}-{version}-py3-none-any.whl", buffer.getvalue()


# Packages, a subpackage, a namespace package that two distributions share
# (no __init__.py), a file that does not compile, one that warns while
# compiling, asserts and docstrings (so the optimisation level shows), and
# .py files among scripts, data and purelib in the wheel's .data directory.
ALPHA = wheel_with("alpha", "1.0", {
    "alpha/__init__.py": b'"""Alpha."""\n\ndef main():\n    assert main, "kept unless -O"\n',
    "alpha/sub/__init__.py": b"",
    "alpha/sub/mod.py": b"PATTERN = '\\d+'  # an invalid escape: a SyntaxWarning or DeprecationWarning\n",
    "alpha/broken.py": b"def broken(:\n",
    "alpha/data.txt": b"not python\n",
    "nsroot/alpha_part/x.py": b"X = 1\n",
    "alpha-1.0.data/scripts/tool.py": b"#!python\nprint('tool')\n",
    "alpha-1.0.data/data/share/alpha/extra.py": b"EXTRA = 2\n",
    "alpha-1.0.data/purelib/alpha_pure.py": b"PURE = 3\n",
})  # fmt: skip
BETA = wheel_with("beta", "2.0", {
    "beta.py": b"def main():\n    '''Beta.'''\n",
    "nsroot/beta_part/__init__.py": b"Y = [i for i in range(3)]\n",
}, purelib=False)  # fmt: skip


# --- Comparing trees --------------------------------------------------------------


def _pyc_summary(data: bytes) -> Tuple[object, ...]:
    """What a .pyc says, apart from the source mtime and the file name Python stamps in it."""
    magic, flags = data[:4], int.from_bytes(data[4:8], "little")
    # Timestamp-checked: bytes 8-12 are the source's mtime (left out), 12-16 its size.
    # Hash-based (SOURCE_DATE_EPOCH): bytes 8-16 are the source's hash.
    checked = data[12:16] if flags == 0 else data[8:16]
    return magic, flags, checked, marshal.loads(data[16:])  # code objects compare by content


def _record_rows(data: bytes, pyc_rows: bool) -> List[Tuple[str, ...]]:
    rows = [tuple(row) for row in csv.reader(io.StringIO(data.decode("utf-8"), newline=""))]
    rows = [row for row in rows if pyc_rows or not row[0].endswith(".pyc")]
    # A script's #! line may name the root: its hash and size differ (the files are compared).
    return [row[:1] + ("", "") if "bin/" in row[0] else row for row in rows]


def tree(root: Path, *, ignore: Sequence[str] = (), pyc_rows: bool = True) -> Dict[str, object]:
    """Map each file under ``root`` to a comparable summary of its content.

    ``pyc_rows`` false leaves out RECORD's .pyc rows: with --target, pip
    writes them relative to the temporary directory it installed into.
    """
    found: Dict[str, object] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_dir() or relative in ignore:
            continue
        data = path.read_bytes()
        if path.suffix == ".pyc":
            found[relative] = _pyc_summary(data)
        elif path.name == "RECORD":
            found[relative] = ("RECORD", _record_rows(data, pyc_rows))
        else:  # a script's #! line names the root
            found[relative] = data.replace(bytes(root), b"ROOT")
    return found


# --- Installing both ways ---------------------------------------------------------


class Installs:
    """The same wheels installed by pip compiling, and by peep, at a location kind."""

    def __init__(self, tmp_path: Path, index: LoopbackIndex, location: str) -> None:
        self.tmp_path = tmp_path
        self.index = index
        self.location = location
        self.wheels = tmp_path / "wheels"
        self.wheels.mkdir()

    def add(self, *wheels: Tuple[str, bytes]) -> None:
        for filename, data in wheels:
            self.index.add((filename, data))
            (self.wheels / filename).write_bytes(data)

    def _place(self, label: str) -> Tuple[Path, str, List[str]]:
        """Return the tree's root, the Python to run and the location options."""
        root = self.tmp_path / f"{label:-<5}installed"  # one length: scripts' #! lines name it
        if self.location == "venv":
            return root, site_venv(root), []
        return root, sys.executable, [self.location, str(root)]

    def by_pip(self, env: Dict[str, str]) -> Tuple[Path, List[str]]:
        root, python, options = self._place("pip")
        before = tree(root) if root.exists() else {}
        requirements = self.tmp_path / "pip-requirements.txt"
        requirements.write_text("".join(
            f"{filename.split('-')[0]}=={filename.split('-')[1]}\n"
            for filename in sorted(os.listdir(self.wheels))))  # fmt: skip
        subprocess.run(
            [python, "-m", "pip", "install", "--no-deps", "--no-index", "--disable-pip-version-check",
             "--find-links", str(self.wheels), "-q", *options, "-r", str(requirements)],
            check=True, env=env, capture_output=True,
        )  # fmt: skip
        return root, sorted(before)

    def by_peep(self, env: Dict[str, str], *extra: str) -> Tuple[Path, "subprocess.CompletedProcess[str]"]:
        root, python, options = self._place("peep")
        requirements = self.tmp_path / "requirements.txt"
        requirements.write_text("".join(
            block((self.wheels / filename).read_bytes(), f"{filename.split('-')[0]}=={filename.split('-')[1]}")
            for filename in sorted(os.listdir(self.wheels))))  # fmt: skip
        result = run_peep("install", "-r", str(requirements), "-i", self.index.url, *options, *extra,
                          python=python, env=env)  # fmt: skip
        return root, result


@pytest.mark.parametrize(
    "location, settings",
    [
        ("--target", {}),
        ("--target", {"SOURCE_DATE_EPOCH": "1600000000"}),  # checked-hash .pyc files
        ("--target", {"PYTHONOPTIMIZE": "2"}),  # opt-2 .pyc files, no asserts or docstrings
        ("--prefix", {}),
        ("--root", {}),
        ("venv", {}),
    ],
)
def test_installed_tree_is_what_pip_compiling_leaves(
    tmp_path: Path, index: LoopbackIndex, location: str, settings: Dict[str, str]
) -> None:
    installs = Installs(tmp_path, index, location)
    installs.add(ALPHA, BETA)
    env = hermetic_env(**settings)
    pip_root, existing = installs.by_pip(env)
    peep_root, result = installs.by_peep(env)
    assert result.returncode == 0, result.stderr
    pyc_rows = location != "--target"
    expected = tree(pip_root, ignore=existing, pyc_rows=pyc_rows)
    got = tree(peep_root, ignore=existing, pyc_rows=pyc_rows)
    pycs = sorted(path for path in expected if path.endswith(".pyc"))
    assert len(pycs) == 9  # every .py file but broken.py, wherever pip put it
    assert all(("opt-2" in path) == ("PYTHONOPTIMIZE" in settings) for path in pycs)
    assert not any("broken" in path for path in pycs)
    assert sorted(got) == sorted(expected)
    for path in expected:
        assert got[path] == expected[path], path
    records = list(peep_root.rglob("*.dist-info/RECORD"))
    assert len(records) == 2  # alpha's and beta's
    for record in records:  # every .pyc row names its file
        pycs = [row[0] for row in csv.reader(io.StringIO(record.read_text())) if row[0].endswith(".pyc")]
        assert pycs and all((record.parent.parent / pyc).is_file() for pyc in pycs), record


def test_a_record_row_for_a_file_outside_the_install_is_not_compiled(tmp_path: Path, index: LoopbackIndex) -> None:
    # pip keeps a wheel's own RECORD rows for files it did not hold; such a row
    # must not make peep write a .pyc next to a file elsewhere on the machine.
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "evil.py").write_text("X = 1\n")
    installs = Installs(tmp_path, index, "--prefix")
    root = installs._place("peep")[0]
    library = sysconfig.get_path("purelib", vars={"base": str(root), "platbase": str(root)})
    row = os.path.relpath(victim / "evil.py", library).replace(os.sep, "/")
    installs.add(wheel_with("gamma", "1.0", {"gamma.py": b"G = 1\n"}, extra_rows=[f"{row},sha256=x,6"]))
    _, result = installs.by_peep(hermetic_env())
    assert result.returncode == 0, result.stderr
    record = (Path(library) / "gamma-1.0.dist-info" / "RECORD").read_text()
    assert f"{row},sha256=x,6" in record  # the row is there ...
    assert list(victim.iterdir()) == [victim / "evil.py"]  # ... and nothing was written there
    assert f"gamma.{sys.implementation.cache_tag}.pyc" in record


def test_no_compile_leaves_no_pyc(tmp_path: Path, index: LoopbackIndex) -> None:
    installs = Installs(tmp_path, index, "--target")
    installs.add(ALPHA, BETA)
    root, result = installs.by_peep(hermetic_env(), "--no-compile")
    assert result.returncode == 0, result.stderr
    files = tree(root)
    assert "alpha/__init__.py" in files
    assert not [path for path in files if "__pycache__" in path or path.endswith(".pyc")]
    record = (root / "alpha-1.0.dist-info" / "RECORD").read_text()
    assert ".pyc" not in record


def test_compile_after_no_compile_compiles(tmp_path: Path, index: LoopbackIndex) -> None:
    installs = Installs(tmp_path, index, "--target")
    installs.add(BETA)
    root, result = installs.by_peep(hermetic_env(), "--no-compile", "--compile", "-v")
    assert result.returncode == 0, result.stderr
    assert "peep: byte-compiling 2 file(s)" in result.stderr
    assert (root / "__pycache__" / f"beta.{sys.implementation.cache_tag}.pyc").is_file()


# --- In-process: which installs, which files, how RECORD is rewritten ------------


@pytest.mark.parametrize(
    "words, compiles",
    [
        ((), True),
        (("--no-compile",), False),
        (("--compile",), True),
        (("--no-compile", "--compile"), True),
        (("--compile", "--no-compile"), False),
        (("--dry-run",), False),
        (("--target", "/t", "-v"), True),
    ],
)
def test_pip_would_compile(words: Tuple[str, ...], compiles: bool) -> None:
    options = peep.parse_install_arguments(["-r", "r.txt", *words])
    assert peep.pip_would_compile(options) is compiles


def test_a_record_row_naming_another_distributions_file_is_not_compiled(tmp_path: Path, index: LoopbackIndex) -> None:
    # Only the wheel's own .py members are compiled, never what its RECORD names.
    installs = Installs(tmp_path, index, "--target")
    root = installs._place("peep")[0]
    root.mkdir()
    (root / "other.py").write_text("O = 1\n")  # another distribution's file, not compiled
    installs.add(wheel_with("gamma", "1.0", {"gamma.py": b"G = 1\n"}, extra_rows=["other.py,sha256=x,6"]))
    _, result = installs.by_peep(hermetic_env())
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (root / "__pycache__").iterdir()) == [f"gamma.{sys.implementation.cache_tag}.pyc"]


def test_python_uses_the_pyc_files_as_written(tmp_path: Path, index: LoopbackIndex) -> None:
    installs = Installs(tmp_path, index, "--target")
    installs.add(ALPHA, BETA)
    root, result = installs.by_peep(hermetic_env())
    assert result.returncode == 0, result.stderr
    assert "peep: byte-compiling 10 file(s)" in result.stderr  # broken.py too, which makes no .pyc
    pycs = {path: path.stat().st_mtime_ns for path in root.rglob("*.pyc")}
    assert len(pycs) == 9
    modules = "alpha, alpha.sub.mod, alpha_pure, beta, nsroot.alpha_part.x, nsroot.beta_part"
    subprocess.run([sys.executable, "-c", f"import {modules}"], env=hermetic_env(PYTHONPATH=str(root)), check=True)
    # A .pyc Python did not accept would have been written again.
    assert {path: path.stat().st_mtime_ns for path in root.rglob("*.pyc")} == pycs


@pytest.mark.parametrize(
    "words, keys",
    [
        (("--target", "t"), {"purelib": "t", "platlib": "t", "scripts": "t/bin", "data": "t"}),
        (("--prefix", "p"), {"purelib": "p/LIB", "scripts": "p/bin", "data": "p"}),
        (("--prefix", "p", "--root", "r"), {"purelib": "r/ABS/p/LIB", "data": "r/ABS/p"}),
    ],
)
def test_install_scheme(words: Tuple[str, ...], keys: Dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    options = peep.parse_install_arguments(["-r", "r.txt", *words])
    scheme = peep.InstallRun(options, io.StringIO(), str(tmp_path), 9).scheme
    library = os.path.relpath(sysconfig.get_path("purelib"), sysconfig.get_path("data"))
    for key, expected in keys.items():
        expected = expected.replace("ABS", str(tmp_path).lstrip(os.sep)).replace("LIB", library)
        assert scheme[key] == str(tmp_path / expected), key
