"""Byte-compiling after pip: the installed tree is what pip's own compiling leaves.

peep runs pip with --no-compile and compiles the installed .py files itself,
in parallel. These tests install the same wheels once with pip compiling
(the reference) and once with peep, and compare the two trees file by file:
the same files, the same RECORD rows, and .pyc files that hold the same code
under the same header flags. Only what differs by nature is left out: the
source mtime inside a timestamp-checked .pyc header, the file name Python
stamps into code objects (import replaces it with the real one), and
direct_url.json, which names the path each installer read the wheel from.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.util
import io
import marshal
import os
import signal
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import pytest
from conftest import venv_python
from helpers import LoopbackIndex, block, hermetic_env, run_peep

import peep

# --- Fixture wheels -------------------------------------------------------------


def _record_row(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")
    return f"{path},sha256={digest},{len(data)}"


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
    rows = [_record_row(path, data) for path, data in files.items()] + [f"{dist_info}/RECORD,,", *extra_rows]
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


def _record_rows(data: bytes) -> List[Tuple[str, ...]]:
    rows = [tuple(row) for row in csv.reader(io.StringIO(data.decode("utf-8"), newline=""))]
    # direct_url.json names where each installer read the wheel, and a script's #! line
    # may name the root: their hashes and sizes differ (the files are compared themselves).
    return [row[:1] + ("", "") if row[0].endswith("/direct_url.json") or "bin/" in row[0] else row
            for row in rows]  # fmt: skip


def tree(root: Path, *, ignore: Sequence[str] = ()) -> Dict[str, object]:
    """Map each file under ``root`` to a comparable summary of its content."""
    found: Dict[str, object] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_dir() or relative in ignore:
            continue
        data = path.read_bytes()
        if path.suffix == ".pyc":
            found[relative] = _pyc_summary(data)
        elif path.name == "RECORD":
            found[relative] = ("RECORD", data.count(b"\r\n"), _record_rows(data))
        elif path.name == "direct_url.json":
            found[relative] = "direct_url.json"
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
            subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(root)], check=True)
            return root, venv_python(root), []
        return root, sys.executable, [self.location, str(root)]

    def by_pip(self, env: Dict[str, str]) -> Tuple[Path, List[str]]:
        root, python, options = self._place("pip")
        before = tree(root) if root.exists() else {}
        requirements = self.tmp_path / "pip-requirements.txt"
        requirements.write_text("".join(
            f"{filename.split('-')[0]} @ {(self.wheels / filename).as_uri()}\n"
            for filename in sorted(os.listdir(self.wheels))))  # fmt: skip
        subprocess.run(
            [python, "-m", "pip", "install", "--no-deps", "--no-index", "--disable-pip-version-check",
             "-q", *options, "-r", str(requirements)],
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
    expected, got = tree(pip_root, ignore=existing), tree(peep_root, ignore=existing)
    pycs = sorted(path for path in expected if path.endswith(".pyc"))
    assert len(pycs) == 9  # every .py file but broken.py, wherever pip put it
    assert all(("opt-2" in path) == ("PYTHONOPTIMIZE" in settings) for path in pycs)
    assert not any("broken" in path for path in pycs)
    assert sorted(got) == sorted(expected)
    for path in expected:
        assert got[path] == expected[path], path


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
    assert "peep: byte-compiled 2 of 2 .py file(s) with" in result.stderr
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


def _distribution(library: Path, name: str, version: str, files: Dict[str, str]) -> Path:
    """Lay out an installed distribution, with a RECORD as pip writes them."""
    rows = []
    for relative, text in files.items():
        (library / relative).parent.mkdir(parents=True, exist_ok=True)
        (library / relative).write_text(text)
        rows.append(f"{relative},sha256=x,{len(text)}")
    record = library / f"{name}-{version}.dist-info" / "RECORD"
    record.parent.mkdir(parents=True, exist_ok=True)
    rows.append(f"{name}-{version}.dist-info/RECORD,,")
    record.write_bytes(("\r\n".join(sorted(rows)) + "\r\n").encode())
    return record


def test_only_records_written_since_and_named_are_compiled(tmp_path: Path) -> None:
    library = tmp_path / "site"
    _distribution(library, "old", "1.0", {"old.py": "A = 1\n"})
    rewritten = _distribution(library, "rewritten", "1.0", {"re.py": "B = 1\n"})
    names = frozenset({"old", "rewritten", "new"})
    plan = peep.CompilePlan((str(library), str(tmp_path / "absent")), names, peep.record_identities([str(library)]))
    # pip puts a new RECORD in place (a reinstall of the same version) ...
    replacement = rewritten.with_name("RECORD.new")
    replacement.write_bytes(rewritten.read_bytes())
    os.replace(replacement, rewritten)
    # ... and writes one for a new distribution; "stranger" was not installed by this run.
    new = _distribution(library, "new", "2.0", {"new.py": "C = 1\n"})
    _distribution(library, "stranger", "1.0", {"stranger.py": "D = 1\n"})
    assert sorted(plan.written_records()) == sorted([str(new), str(rewritten)])


def test_rewrite_record_is_sorted_crlf_and_atomic(tmp_path: Path) -> None:
    library = tmp_path / "site"
    record = _distribution(library, "alpha", "1.0", {"alpha/__init__.py": "", "alpha/z.py": ""})
    os.chmod(record, 0o640)
    rows, sources = peep.record_sources(str(record), target=False, bounds=[str(library)])
    assert sources == {str(library / "alpha/__init__.py"): str(library / "alpha/__init__.py"),
                       str(library / "alpha/z.py"): str(library / "alpha/z.py")}  # fmt: skip
    pyc = importlib.util.cache_from_source(str(library / "alpha/z.py"))
    inode = os.stat(record).st_ino
    peep.rewrite_record(str(record), rows, [pyc], target=False)
    assert os.stat(record).st_ino != inode  # a new file put in place, never a half-written one
    assert os.stat(record).st_mode & 0o777 == 0o640
    assert record.read_bytes().decode().split("\r\n") == [
        "alpha-1.0.dist-info/RECORD,,",
        "alpha/__init__.py,sha256=x,0",
        f"alpha/__pycache__/z.{sys.implementation.cache_tag}.pyc,,",
        "alpha/z.py,sha256=x,0",
        "",
    ]
    assert [p.name for p in record.parent.iterdir()] == ["RECORD"]  # no temporary file left


def test_target_rows_are_read_relative_to_pips_temporary_home(tmp_path: Path) -> None:
    target = tmp_path / "target"
    home, library = peep.pip_target_scheme()
    up = os.path.relpath(home, library).replace(os.sep, "/")  # "../.." on POSIX
    record = _distribution(target, "alpha", "1.0", {"alpha/a.py": ""})
    (target / "bin").mkdir()
    (target / "bin" / "tool.py").write_text("")
    with open(record, "ab") as stream:
        stream.write(f"{up}/bin/tool.py,sha256=x,0\r\n{up}/../../escapes.py,sha256=x,0\r\n".encode())
    rows, sources = peep.record_sources(str(record), target=True, bounds=[str(target)])
    assert sources == {
        str(target / "alpha" / "a.py"): os.path.join(library, "alpha/a.py"),
        str(target / "bin" / "tool.py"): os.path.join(library, f"{up}/bin/tool.py"),
    }  # nothing outside the target is compiled


def test_files_outside_the_install_are_never_compiled(tmp_path: Path) -> None:
    library = tmp_path / "prefix" / "lib" / "site-packages"
    (tmp_path / "elsewhere.py").write_text("")
    (tmp_path / "prefix" / "share").mkdir(parents=True)
    (tmp_path / "prefix" / "share" / "data.py").write_text("")
    record = _distribution(library, "alpha", "1.0", {"alpha.py": ""})
    with open(record, "ab") as stream:
        stream.write(b"../../../elsewhere.py,sha256=x,0\r\n../../share/data.py,sha256=x,0\r\n")
    _, sources = peep.record_sources(str(record), target=False, bounds=[str(tmp_path / "prefix")])
    assert sorted(sources) == [str(library / "../../share/data.py"), str(library / "alpha.py")]


@pytest.mark.parametrize(
    "words, bases",
    [
        (("--target", "t"), ["t"]),
        (("--prefix", "p"), ["p"]),
        (("--prefix", "p", "--root", "r"), ["r/p"]),
    ],
)
def test_install_bases(words: Tuple[str, ...], bases: List[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    options = peep.parse_install_arguments(["-r", "r.txt", *words])
    expected = tuple(os.path.normpath(tmp_path / base) for base in bases)
    if "--root" in words:  # the prefix is absolute, then re-rooted
        expected = (os.path.join(str(tmp_path / "r"), str(tmp_path / "p").lstrip(os.sep)),)
    assert peep.install_bases(options) == expected


def _plan_for(library: Path, files: Dict[str, str]) -> Tuple[peep.CompilePlan, Path]:
    plan = peep.CompilePlan((str(library),), frozenset({"alpha"}), {}, bounds=(str(library),))
    return plan, _distribution(library, "alpha", "1.0", files)


def _compile(plan: peep.CompilePlan, workdir: Path, verbosity: int = 0) -> str:
    workdir.mkdir()
    err = io.StringIO()
    peep.BackgroundCompile(plan, str(workdir)).finish(err, verbosity)
    return err.getvalue()


def test_the_wheels_own_record_is_not_taken_for_pips(tmp_path: Path) -> None:
    # pip unpacks the wheel's RECORD with the other files and writes its own
    # (with INSTALLER, scripts, and so on) in its place last; peep watches
    # while pip runs, and must neither miss files nor write the wheel's rows back.
    library = tmp_path / "site"
    plan = peep.CompilePlan((str(library),), frozenset({"alpha"}), {}, bounds=(str(library),))
    (tmp_path / "work").mkdir()
    compiling = peep.BackgroundCompile(plan, str(tmp_path / "work"))
    wheels = _distribution(library, "alpha", "1.0", {"alpha/a.py": "A = 1\n"})
    time.sleep(0.6)  # the watcher looks every 0.2 s
    (library / "alpha" / "b.py").write_text("B = 1\n")
    final = wheels.read_text() + "alpha-1.0.dist-info/INSTALLER,sha256=x,4\r\nalpha/b.py,sha256=x,6\r\n"
    replacement = wheels.with_name("RECORD.new")
    replacement.write_bytes(final.encode())
    os.replace(replacement, wheels)
    err = io.StringIO()
    compiling.finish(err, 0)
    assert err.getvalue() == ""
    rows = wheels.read_text().splitlines()
    assert "alpha-1.0.dist-info/INSTALLER,sha256=x,4" in rows
    tag = sys.implementation.cache_tag
    assert [row for row in rows if ".pyc" in row] == [f"alpha/__pycache__/a.{tag}.pyc,,", f"alpha/__pycache__/b.{tag}.pyc,,"]


LAST_LINE = "report(again, [compile_one(source) for source in again])"


@pytest.mark.parametrize("pool", ["works", "cannot start"])
def test_background_compile_lists_what_compiled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pool: str) -> None:
    if pool == "cannot start":
        monkeypatch.setattr(peep, "_COMPILE_PROGRAM", peep._COMPILE_PROGRAM.replace(
            "concurrent.futures.ProcessPoolExecutor(workers)", "concurrent.futures.NoSuchPool(workers)"))  # fmt: skip
    monkeypatch.setattr(peep, "compile_worker_count", lambda: 2)
    files = {f"alpha/m{i}.py": f"N = {i}\n" for i in range(40)}
    files["alpha/bad.py"] = "def (:\n"
    plan, record = _plan_for(tmp_path / "site", files)
    said = _compile(plan, tmp_path / "work", verbosity=1)
    assert "peep: byte-compiled 40 of 41 .py file(s) with 2 worker(s)" in said
    assert "bad.py" in said and "warning" not in said
    assert ("compiling in one process" in said) == (pool == "cannot start")
    rows = record.read_text().splitlines()
    assert sum(row.endswith(".pyc,,") for row in rows) == 40
    assert not any("bad." in row and ".pyc" in row for row in rows)


def test_a_failed_compile_warns_and_keeps_what_compiled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan, record = _plan_for(tmp_path / "site", {"alpha/a.py": "A = 1\n", "alpha/b.py": "B = 1\n"})
    monkeypatch.setattr(peep, "compile_worker_count", lambda: 1)  # all compiled by LAST_LINE
    # The child compiles the first file, then dies.
    monkeypatch.setattr(peep, "_COMPILE_PROGRAM", peep._COMPILE_PROGRAM.replace(
        LAST_LINE, "report(again[:1], [compile_one(again[0])]); sys.exit(7)"))  # fmt: skip
    said = _compile(plan, tmp_path / "work")
    assert "peep: warning: byte-compiling failed (exit status 7)" in said
    assert "1 of 2 installed .py file(s) have no .pyc" in said
    assert [row for row in record.read_text().splitlines() if ".pyc" in row] == [
        f"alpha/__pycache__/a.{sys.implementation.cache_tag}.pyc,,"
    ]


@pytest.mark.skipif(os.name != "posix", reason="signals and process groups")
def test_an_interrupted_compile_stops_its_workers_and_keeps_what_compiled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan, record = _plan_for(tmp_path / "site", {"alpha/a.py": "A = 1\n", "alpha/b.py": "B = 1\n"})
    pids = tmp_path / "pids"
    monkeypatch.setattr(peep, "compile_worker_count", lambda: 1)
    # The child compiles one file, starts a "worker" and hangs.
    monkeypatch.setattr(peep, "_COMPILE_PROGRAM", peep._COMPILE_PROGRAM.replace(LAST_LINE,
        "report(again[:1], [compile_one(again[0])])\n"
        "import subprocess, time\n"
        "worker = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pids)!r}, 'w').write(str(worker.pid))\n"
        "time.sleep(60)"))  # fmt: skip

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    started = time.monotonic()
    try:
        signal.setitimer(signal.ITIMER_REAL, 3.0)
        said = _compile(plan, tmp_path / "work")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < 30
    assert "peep: warning: byte-compiling was interrupted" in said
    assert [row for row in record.read_text().splitlines() if ".pyc" in row] == [
        f"alpha/__pycache__/a.{sys.implementation.cache_tag}.pyc,,"
    ]
    assert _gone(int(pids.read_text()))


def _gone(pid: int) -> bool:
    """Tell whether a process has ended (a zombie awaiting its reaper counts)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return True
        if "\nState:\tZ" in status:
            return True
        time.sleep(0.05)
    return False


def test_a_missing_record_directory_compiles_nothing(tmp_path: Path) -> None:
    plan = peep.CompilePlan((str(tmp_path / "nowhere"),), frozenset({"alpha"}), {}, bounds=(str(tmp_path),))
    assert _compile(plan, tmp_path / "work") == ""
    said = _compile(plan, tmp_path / "work-v", verbosity=1)
    assert f"peep: pip wrote no RECORD in {tmp_path / 'nowhere'}" in said
