"""Measure peep against pip in the same run, and print ratios.

Run by hand (it needs the public package index), from the repository root:

    python bench/bench.py [--rounds 3] [--requirements bench/requirements.txt]

Installs (each into a fresh virtual environment, created outside the timing):

    pip cold    pip install --require-hashes -r REQS, empty pip cache
    pip warm    the same, with pip's cache already filled
    peep cold   peep install -r REQS, empty peep cache
    peep warm   the same, with peep's verified cache already filled
    floor       pip install --no-index --find-links DOWNLOADED --require-hashes -r REQS:
                pip installing the very same files, already on disk
    peep warm --no-compile, floor --no-compile
                the same two with --no-compile on both sides: peep's own cost
                over pip's, without the byte-compiling that peep does in parallel

The scenarios alternate within each round, so a noisy machine disturbs them
alike; each figure is the median over the rounds. Then peep hash on a large
file against hashlib on the same file, with peep's peak memory.

Then start-up (--only startup): peep hash on a 1 MB file, peep --version
and a command handed to pip (peep list), against python -c pass, a
hashlib script and pip list, with peep run as an installed module (bytecode
cached) and as a script (compiled on every run); and peep hash against the
hashlib script on 200 MB.

Then the same packages as a PEP 751 lock written by pip 26's ``pip lock``,
installed cold and warm by peep and by pip 26 (``pip install -r pylock.toml``),
every venv holding pip 26 (--skip-pylock to leave this out).

Then peep check on the installed stack (its verified cache warm) beside
pip check, in one virtual environment (--skip-check).

Then peep lock of the stack's top-level names (bench/requirements.in) into
an empty file, cold and warm, beside pip's own resolve (pip install
--dry-run --report, cold and warm) and pip-compile --generate-hashes, from
pip-tools installed in a throwaway venv (left out if that install fails),
and uv pip compile --generate-hashes, cold, if uv is on PATH (stated, no goal)
(--skip-lock).

Then five sdists that share one build backend (setuptools, downloaded
once; the sdists are made here), installed from a local find-links
directory by pip install --require-hashes and by peep install, each into a
fresh virtual environment: peep builds each sdist in an environment of
verified wheels, pip in its own isolated one.

Goals: warm peep / floor <= 0.90 (peep byte-compiles on every CPU, pip on one);
warm peep / floor, both --no-compile, <= 1.10; warm peep / pip warm <= 0.60;
cold peep <= cold pip; lock files: cold peep <= cold pip 26, warm peep <=
1.10 x warm pip 26; peep lock <= 1.5 x pip's resolve and <= 0.5 x pip-compile; 5 sdists peep / pip <= 1.20; peep hash / hashlib <= 1.15
with peak RSS < 40 MB; start-up: peep hash FILE <= 80 ms over python -c
pass, peep --version <= 80 ms over it, peep list <= 60 ms over pip list,
peep hash / hashlib on 200 MB <= 1.10.
The hash comparison runs at two sizes, so that the per-byte cost (the
streaming loop) can be told apart from start-up (compiling and importing).
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
PEEP = ROOT / "peep.py"


def clean_environment() -> Dict[str, str]:
    """No pip configuration at all: every scenario sees the default index."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


CPU_SECONDS: Dict[str, List[float]] = {}  # user + system time of each scenario's whole tree


def run_measured(command: Sequence[str], env: Dict[str, str], label: str = "",
                 cwd: Path | None = None) -> Tuple[float, int]:
    """Run a command; return its wall time and the peak RSS (kB) of its children."""
    started = time.perf_counter()
    process = subprocess.Popen(list(command), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               cwd=cwd)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{stderr[-3000:]}")
    if label:  # the usage covers every descendant waited for: pip, builds, compile workers
        CPU_SECONDS.setdefault(label, []).append(usage.ru_utime + usage.ru_stime)
    return elapsed, usage.ru_maxrss


def fresh_venv(parent: Path, python: str) -> str:
    location = Path(tempfile.mkdtemp(dir=parent, prefix="venv-"))
    subprocess.run([python, "-m", "venv", str(location)], check=True)
    return str(location / "bin" / "python")


def install_benchmark(requirements: Path, rounds: int, work: Path, python: str,
                      only: Sequence[str] = ()) -> Dict[str, List[float]]:
    env = clean_environment()
    pip_cache = work / "pip-cache"
    peep_cache = work / "peep-cache"
    downloaded = work / "downloaded"
    print("preparing: filling caches and downloading the files for the floor ...", flush=True)
    subprocess.run([python, "-m", "pip", "download", "--no-deps", "--require-hashes", "-q",
                    "-r", str(requirements), "-d", str(downloaded), "--cache-dir", str(pip_cache)],
                   check=True, env=env)
    run_measured([fresh_venv(work, python), str(PEEP), "install", "-q", "-r", str(requirements),
                  "--cache-dir", str(peep_cache)], env)

    def pip_cold(venv: str) -> List[str]:
        return [venv, "-m", "pip", "install", "-q", "--require-hashes", "--no-deps", "-r", str(requirements),
                "--cache-dir", tempfile.mkdtemp(dir=work, prefix="empty-")]

    def pip_warm(venv: str) -> List[str]:
        return [venv, "-m", "pip", "install", "-q", "--require-hashes", "--no-deps", "-r", str(requirements),
                "--cache-dir", str(pip_cache)]

    def peep_cold(venv: str) -> List[str]:
        return [venv, str(PEEP), "install", "-q", "-r", str(requirements),
                "--cache-dir", tempfile.mkdtemp(dir=work, prefix="empty-")]

    def peep_warm(venv: str) -> List[str]:
        return [venv, str(PEEP), "install", "-q", "-r", str(requirements), "--cache-dir", str(peep_cache)]

    def floor(venv: str) -> List[str]:
        return [venv, "-m", "pip", "install", "-q", "--require-hashes", "--no-deps", "--no-index",
                "--find-links", str(downloaded), "-r", str(requirements), "--cache-dir", str(pip_cache)]

    def no_compile(command: Callable[[str], List[str]]) -> Callable[[str], List[str]]:
        return lambda venv: command(venv) + ["--no-compile"]

    scenarios: Dict[str, Callable[[str], List[str]]] = {
        "pip cold": pip_cold, "peep cold": peep_cold, "pip warm": pip_warm,
        "peep warm": peep_warm, "floor": floor,
        "peep warm --no-compile": no_compile(peep_warm), "floor --no-compile": no_compile(floor),
    }
    scenarios = {name: command for name, command in scenarios.items() if not only or name in only}
    timings: Dict[str, List[float]] = {name: [] for name in scenarios}
    for round_number in range(rounds):
        order = list(scenarios) if round_number % 2 == 0 else list(reversed(scenarios))
        for name in order:
            venv = fresh_venv(work, python)
            seconds, _ = run_measured(scenarios[name](venv), env, name)
            timings[name].append(seconds)
            print(f"  round {round_number + 1}: {name:<22} {seconds:7.2f} s, "
                  f"cpu {CPU_SECONDS[name][-1]:6.2f} s, load {os.getloadavg()[0]:.1f}", flush=True)
            shutil.rmtree(Path(venv).parent.parent, ignore_errors=True)
    return timings


def make_sdists(count: int, directory: Path) -> List[Path]:
    """Write ``count`` setuptools-built sdists of 20 modules each into ``directory``."""
    import io
    import tarfile

    made = []
    for number in range(count):
        name = f"peepbench{number}"
        root = f"{name}-1.0"
        files = {
            f"{root}/PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode(),
            f"{root}/pyproject.toml": (
                '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
                f'[project]\nname = "{name}"\nversion = "1.0"\n'
                f'[tool.setuptools]\npackages = ["{name}"]\n'
            ).encode(),
            f"{root}/{name}/__init__.py": b"",
        }
        for module in range(20):
            files[f"{root}/{name}/m{module}.py"] = ("def f(x):\n    return x + %d\n" % module).encode() * 50
        path = directory / f"{root}.tar.gz"
        with tarfile.open(path, "w:gz") as archive:
            for member, data in files.items():
                info = tarfile.TarInfo(member)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        made.append(path)
    return made


def build_benchmark(rounds: int, work: Path, python: str, count: int = 5) -> Dict[str, List[float]]:
    """Install ``count`` sdists that share setuptools: peep's builds against pip's."""
    env = clean_environment()
    links = work / "build-links"
    links.mkdir()
    subprocess.run([python, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:",
                    "-d", str(links), "setuptools"], check=True)
    lines = []
    for path in make_sdists(count, links) + sorted(links.glob("setuptools-*.whl")):
        digest = subprocess.run([python, str(PEEP), "hash", "--format", "pip", str(path)],
                                capture_output=True, text=True, check=True).stdout.split()[-1]
        name, version = path.name.replace(".tar.gz", "").split("-")[:2]
        lines.append(f"{name}=={version} {digest}")
    requirements = work / "build-requirements.txt"
    requirements.write_text("\n".join(lines) + "\n")
    common = ["-q", "--no-index", "--find-links", str(links), "-r", str(requirements), "--no-cache-dir"]
    scenarios: Dict[str, Callable[[str], List[str]]] = {
        "pip builds": lambda venv: [venv, "-m", "pip", "install", "--require-hashes", "--no-deps", *common],
        "peep builds": lambda venv: [venv, str(PEEP), "install", *common],
    }
    timings: Dict[str, List[float]] = {name: [] for name in scenarios}
    for round_number in range(rounds):
        order = list(scenarios) if round_number % 2 == 0 else list(reversed(scenarios))
        for name in order:
            venv = fresh_venv(work, python)
            seconds, _ = run_measured(scenarios[name](venv), env)
            timings[name].append(seconds)
            print(f"  round {round_number + 1}: {name:<12} {seconds:7.2f} s", flush=True)
            shutil.rmtree(Path(venv).parent.parent, ignore_errors=True)
    return timings


def lock_benchmark(requirements: Path, rounds: int, work: Path, python: str) -> Tuple[Dict[str, List[float]], int]:
    """Install one PEP 751 lock (written by pip lock) with peep and with pip 26, cold and warm.

    Every venv gets pip 26 before the timing starts: pip's side needs it to
    read the lock, and peep's side then uses pip 26's vendored packaging.pylock.
    """
    env = clean_environment()
    wheels = work / "pip26"
    subprocess.run([python, "-m", "pip", "download", "-q", "--no-deps", "pip>=26.1", "-d", str(wheels)], check=True, env=env)
    pip26 = str(next(wheels.glob("pip-*.whl")))

    def venv26() -> str:
        venv = fresh_venv(work, python)
        subprocess.run([venv, "-m", "pip", "install", "-q", "--no-deps", pip26], check=True, env=env)
        return venv

    lock = work / "pylock.toml"
    print("preparing: pip lock, then filling both caches ...", flush=True)
    subprocess.run([venv26(), "-m", "pip", "lock", "-q", "-r", str(requirements), "-o", str(lock)], check=True, env=env)
    packages = lock.read_text().count("[[packages]]")
    pip_cache, peep_cache = work / "pip-lock-cache", work / "peep-lock-cache"
    run_measured([venv26(), "-m", "pip", "install", "-q", "-r", str(lock), "--cache-dir", str(pip_cache)], env)
    run_measured([venv26(), str(PEEP), "install", "-q", "-r", str(lock), "--cache-dir", str(peep_cache)], env)

    def command(tool: str, cache: Path) -> Callable[[str], List[str]]:
        def build(venv: str) -> List[str]:
            head = [venv, "-m", "pip"] if tool == "pip" else [venv, str(PEEP)]
            return head + ["install", "-q", "-r", str(lock), "--cache-dir", str(cache)]
        return build

    scenarios: Dict[str, Callable[[str], List[str]]] = {
        "pip26 lock cold": lambda venv: command("pip", Path(tempfile.mkdtemp(dir=work, prefix="empty-")))(venv),
        "peep lock cold": lambda venv: command("peep", Path(tempfile.mkdtemp(dir=work, prefix="empty-")))(venv),
        "pip26 lock warm": command("pip", pip_cache),
        "peep lock warm": command("peep", peep_cache),
    }
    timings: Dict[str, List[float]] = {name: [] for name in scenarios}
    for round_number in range(rounds):
        order = list(scenarios) if round_number % 2 == 0 else list(reversed(scenarios))
        for name in order:
            venv = venv26()
            seconds, _ = run_measured(scenarios[name](venv), env)
            timings[name].append(seconds)
            print(f"  round {round_number + 1}: {name:<16} {seconds:7.2f} s", flush=True)
            shutil.rmtree(Path(venv).parent.parent, ignore_errors=True)
    return timings, packages


def check_benchmark(requirements: Path, rounds: int, work: Path, python: str) -> Dict[str, List[float]]:
    """Time peep check on the installed stack against pip check, alternating, in one venv."""
    env = clean_environment()
    cache = work / "peep-check-cache"
    venv = fresh_venv(work, python)
    print("preparing: peep install of the stack, for check ...", flush=True)
    run_measured([venv, str(PEEP), "install", "-q", "-r", str(requirements), "--cache-dir", str(cache)], env)
    scenarios: Dict[str, List[str]] = {
        "pip check": [venv, "-m", "pip", "check"],
        "peep check": [venv, str(PEEP), "check", "-r", str(requirements), "--cache-dir", str(cache)],
    }
    timings: Dict[str, List[float]] = {name: [] for name in scenarios}
    for round_number in range(rounds):
        order = list(scenarios) if round_number % 2 == 0 else list(reversed(scenarios))
        for name in order:
            seconds, _ = run_measured(scenarios[name], env, name)
            timings[name].append(seconds)
            print(f"  round {round_number + 1}: {name:<12} {seconds:7.2f} s", flush=True)
    shutil.rmtree(Path(venv).parent.parent, ignore_errors=True)
    return timings


def pip_compile(work: Path, python: str, env: Dict[str, str]) -> str | None:
    """Install pip-tools into a throwaway venv; return its pip-compile, or None if it fails."""
    venv = fresh_venv(work, python)
    installed = subprocess.run([venv, "-m", "pip", "install", "-q", "pip-tools"], env=env,
                               capture_output=True, text=True)
    if installed.returncode != 0:
        print(f"  pip-tools did not install; pip-compile is left out:\n{installed.stderr[-500:]}")
        return None
    return str(Path(venv).parent / "pip-compile")


def resolve_benchmark(top_level: Path, rounds: int, work: Path, python: str) -> Dict[str, List[float]]:
    """Time peep lock of the top-level names, cold and warm, against pip's resolve and pip-compile."""
    env = clean_environment()
    names = [line.strip() for line in top_level.read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    peep_cache, pip_cache = work / "peep-resolve-cache", work / "pip-resolve-cache"
    compile_command = pip_compile(work, python, env)

    def empty(prefix: str) -> str:
        return tempfile.mkdtemp(dir=work, prefix=prefix)

    def peep_lock(cache: Callable[[], str]) -> Callable[[], List[str]]:
        return lambda: [python, str(PEEP), "lock", "-q", "-r", str(Path(empty("out-")) / "requirements.txt"),
                        *names, "--cache-dir", cache()]

    def pip_resolve(cache: Callable[[], str]) -> Callable[[], List[str]]:
        return lambda: [python, "-m", "pip", "install", "-q", "--dry-run", "--ignore-installed",
                        "--report", str(Path(empty("out-")) / "report.json"), *names, "--cache-dir", cache()]

    scenarios: Dict[str, Callable[[], List[str]]] = {
        "pip resolve cold": pip_resolve(lambda: empty("empty-")),
        "peep lock cold": peep_lock(lambda: empty("empty-")),
        "pip resolve warm": pip_resolve(lambda: str(pip_cache)),
        "peep lock warm": peep_lock(lambda: str(peep_cache)),
    }
    if compile_command is not None:
        scenarios["pip-compile --generate-hashes"] = lambda: [
            compile_command, "-q", "--generate-hashes", "--allow-unsafe", "--rebuild",
            "--cache-dir", empty("empty-"), "-o", str(Path(empty("out-")) / "requirements.txt"), str(top_level)]
    uv = shutil.which("uv")
    if uv is not None:  # stated beside the others, with no goal: a resolver of its own, not pip's
        scenarios["uv pip compile --generate-hashes"] = lambda: [
            uv, "pip", "compile", "-q", "--generate-hashes", "--cache-dir", empty("empty-"),
            "-o", str(Path(empty("out-")) / "requirements.txt"), str(top_level)]
    print("preparing: filling the warm caches ...", flush=True)
    run_measured(scenarios["pip resolve warm"](), env)
    run_measured(scenarios["peep lock warm"](), env)
    timings: Dict[str, List[float]] = {name: [] for name in scenarios}
    for round_number in range(rounds):
        order = list(scenarios) if round_number % 2 == 0 else list(reversed(scenarios))
        for name in order:
            seconds, _ = run_measured(scenarios[name](), env, name, cwd=work)
            timings[name].append(seconds)
            print(f"  round {round_number + 1}: {name:<30} {seconds:7.2f} s", flush=True)
    return timings


def hash_benchmark(sizes_mb: Sequence[int], rounds: int, work: Path, python: str) -> Dict[str, List[float]]:
    """Time peep hash and hashlib.file_digest on the same files, alternating."""
    hashlib_code = (
        "import hashlib, sys\n"
        "with open(sys.argv[1], 'rb') as f:\n"
        "    print(hashlib.file_digest(f, 'sha256').hexdigest() if hasattr(hashlib, 'file_digest')"
        " else None)\n"
    )
    results: Dict[str, List[float]] = {}
    env = clean_environment()
    for size in sizes_mb:
        big = work / f"big-{size}.tar.gz"
        with open(big, "wb") as stream:
            for _ in range(size):
                stream.write(os.urandom(1 << 20))
        for round_number in range(rounds):
            pair = [(f"peep {size}", [python, str(PEEP), "hash", str(big)]),
                    (f"hashlib {size}", [python, "-c", hashlib_code, str(big)])]
            for name, command in pair if round_number % 2 == 0 else reversed(pair):
                seconds, rss = run_measured(command, env)
                results.setdefault(name, []).append(seconds)
                if name.startswith("peep"):
                    results.setdefault(f"rss {size}", []).append(float(rss))
        big.unlink()
    return results


# Reads and hashes a file in 1 MiB chunks: what peep hash does, with nothing else.
HASHLIB_CHUNKS = (
    "import hashlib, sys\n"
    "digest = hashlib.sha256()\n"
    "with open(sys.argv[1], 'rb') as f:\n"
    "    for chunk in iter(lambda: f.read(1 << 20), b''):\n"
    "        digest.update(chunk)\n"
    "print(digest.hexdigest())\n"
)


def startup_benchmark(rounds: int, work: Path, python: str, peep: Path) -> Tuple[Dict[str, List[float]], List[str]]:
    """Time what start-up costs: peep's commands against a bare interpreter, hashlib and pip.

    peep is run both ways it is used: as an installed module, whose bytecode
    Python caches in __pycache__ (``python -m peep``; the console script
    imports the same way), and as a script (``python peep.py``), which Python
    compiles on every run.
    """
    env = clean_environment()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    installed = work / "startup"
    installed.mkdir()
    shutil.copy(peep, installed / "peep.py")
    subprocess.run([python, "-c", "import py_compile, sys; py_compile.compile(sys.argv[1], doraise=True)",
                    str(installed / "peep.py")], check=True)  # the __pycache__ an install writes
    small, large = work / "small-1MB.tar.gz", work / "large-200MB.tar.gz"
    small.write_bytes(os.urandom(1 << 20))
    with open(large, "wb") as stream:
        for _ in range(200):
            stream.write(os.urandom(1 << 20))
    module, script = [python, "-m", "peep"], [python, str(installed / "peep.py")]
    scenarios: Dict[str, List[str]] = {
        "python -c pass": [python, "-c", "pass"],
        "hashlib script, 1 MB": [python, "-c", HASHLIB_CHUNKS, str(small)],
        "peep hash 1 MB (-m)": module + ["hash", str(small)],
        "peep hash 1 MB (script)": script + ["hash", str(small)],
        "peep --version (-m)": module + ["--version"],
        "pip list": [python, "-m", "pip", "list"],
        "peep list (-m)": module + ["list"],
        "hashlib script, 200 MB": [python, "-c", HASHLIB_CHUNKS, str(large)],
        "peep hash 200 MB (-m)": module + ["hash", str(large)],
    }
    timings: Dict[str, List[float]] = {name: [] for name in scenarios}
    for round_number in range(rounds):
        order = list(scenarios) if round_number % 2 == 0 else list(reversed(scenarios))
        for name in order:
            seconds, _ = run_measured(scenarios[name], env, f"startup: {name}", cwd=installed)
            timings[name].append(seconds)
        print(f"  startup round {round_number + 1} done, load {os.getloadavg()[0]:.1f}", flush=True)
    code = ("import sys, time\nsource = open(sys.argv[1]).read()\ntimes = []\nfor _ in range(5):\n"
            "    t = time.perf_counter(); compile(source, sys.argv[1], 'exec'); times.append(time.perf_counter() - t)\n"
            "print(sorted(times)[2])")
    compiling = float(subprocess.run([python, "-c", code, str(peep)], capture_output=True, text=True,
                                     check=True).stdout)
    timings["compiling peep.py"] = [compiling]
    imports = subprocess.run(module + ["hash", str(small)], env={**env, "PYTHONPROFILEIMPORTTIME": "1"},
                             capture_output=True, text=True, cwd=installed, check=True).stderr
    top = []
    for line in imports.splitlines():  # "import time: self | cumulative | name", nesting by indent
        fields = line.split("|")
        if len(fields) == 3 and fields[1].strip().isdigit() and not fields[2].startswith("  "):
            top.append((int(fields[1]), fields[2].strip()))
    return timings, [f"{name} {micros / 1000:.1f}" for micros, name in sorted(top, reverse=True)[:8]]


def startup_lines(t: Dict[str, float], imports: List[str]) -> List[str]:
    """Say what start-up costs, and whether the goals are met."""
    bare = t["python -c pass"]

    def cpu(name: str) -> float:
        return statistics.median(CPU_SECONDS[f"startup: {name}"])

    def over(name: str, base: float, goal_ms: float | None, base_name: str = "python -c pass") -> str:
        extra = 1000 * (t[name] - base)
        verdict = "" if goal_ms is None else f"goal <= {goal_ms:.0f} ms: {'met' if extra <= goal_ms else 'MISSED'}"
        return (f"{name:<30} {1000 * t[name]:8.1f} ms, {extra:+6.1f} ms; cpu {1000 * cpu(name):6.1f} ms, "
                f"{1000 * (cpu(name) - cpu(base_name)):+6.1f} ms   {verdict}")

    return [
        f"{'python -c pass':<30} {1000 * bare:8.1f} ms; cpu {1000 * cpu('python -c pass'):6.1f} ms "
        "(medians of wall and of user+system time; +ms: over python -c pass unless said)",
        over("hashlib script, 1 MB", bare, None),
        over("peep hash 1 MB (-m)", bare, 80),
        over("peep hash 1 MB (script)", bare, 80),
        f"{'  of which compiling peep.py':<30} {1000 * t['compiling peep.py']:8.1f} ms (every script run)",
        over("peep --version (-m)", bare, 80),
        f"{'pip list':<30} {1000 * t['pip list']:8.1f} ms; cpu {1000 * cpu('pip list'):6.1f} ms",
        over("peep list (-m)", t["pip list"], 60, "pip list") + " (+ms: over pip list)",
        _ratio("peep hash / hashlib 200 MB", t["peep hash 200 MB (-m)"] / t["hashlib script, 200 MB"], 1.10),
        "imports of peep hash FILE (cumulative ms): " + ", ".join(imports),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requirements", type=Path, default=ROOT / "bench" / "requirements.txt")
    parser.add_argument("--hash-size-mb", type=int, default=200, help="also hashed at 5 times this size")
    parser.add_argument("--skip-install", action="store_true")
    parser.add_argument("--skip-hash", action="store_true")
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--skip-pylock", action="store_true", help="skip the pylock.toml comparison with pip 26")
    parser.add_argument("--skip-check", action="store_true", help="skip peep check beside pip check")
    parser.add_argument("--skip-lock", action="store_true",
                        help="skip peep lock beside pip's resolve and pip-compile")
    parser.add_argument("--top-level", type=Path, default=ROOT / "bench" / "requirements.in",
                        help="the top-level names peep lock resolves")
    parser.add_argument("--skip-startup", action="store_true")
    parser.add_argument("--startup-rounds", type=int, default=15)
    parser.add_argument("--peep", type=Path, default=PEEP, help="the peep.py to time start-up of")
    parser.add_argument("--only", action="append", default=[], metavar="SCENARIO",
                        help="run only this install scenario (repeatable), e.g. 'peep warm'; "
                        "or only this part: install, build, pylock, check, lock, hash, startup")
    args = parser.parse_args(argv)
    parts = {"install", "build", "pylock", "check", "lock", "hash", "startup"}
    if parts & set(args.only):
        for part in parts - set(args.only):
            setattr(args, f"skip_{part}", True)
        args.only = [name for name in args.only if name not in parts]
    python = sys.executable
    pip_version = subprocess.run([python, "-m", "pip", "--version"], capture_output=True, text=True).stdout.split()[1]
    print(f"peep benchmark, {datetime.date.today().isoformat()}, Python {sys.version.split()[0]}, "
          f"pip {pip_version}, {args.rounds} rounds\n", flush=True)
    lines = []
    with tempfile.TemporaryDirectory(prefix="peep-bench-") as temporary:
        work = Path(temporary)
        if not args.skip_install:
            t = {k: statistics.median(v) for k, v in
                 install_benchmark(args.requirements, args.rounds, work, python, args.only).items()}
            lines += [f"{name:<30} {seconds:8.2f} s (median), cpu {statistics.median(CPU_SECONDS[name]):6.2f} s"
                      for name, seconds in t.items()]
            lines.append(f"{'byte-compiling workers':<30} {_workers(python):8d}")
            ratios = [
                ("warm peep / floor", "peep warm", "floor", 0.90),
                ("  the same, --no-compile", "peep warm --no-compile", "floor --no-compile", 1.10),
                ("warm peep / warm pip", "peep warm", "pip warm", 0.60),
                ("cold peep / cold pip", "peep cold", "pip cold", 1.00),
            ]
            lines += [_ratio(name, t[top] / t[bottom], goal)
                      for name, top, bottom, goal in ratios if top in t and bottom in t]
        if not args.skip_build:
            b = {k: statistics.median(v) for k, v in build_benchmark(args.rounds, work, python).items()}
            lines += [f"{name:<30} {seconds:8.2f} s (median)" for name, seconds in b.items()]
            lines.append(_ratio("5 sdists: peep / pip", b["peep builds"] / b["pip builds"], 1.20))
        if not args.skip_pylock:
            timings, packages = lock_benchmark(args.requirements, args.rounds, work, python)
            t = {k: statistics.median(v) for k, v in timings.items()}
            lines.append(f"pylock.toml from pip lock: {packages} packages")
            lines += [f"{name:<30} {seconds:8.2f} s (median)" for name, seconds in t.items()]
            lines += [
                _ratio("lock: cold peep / cold pip26", t["peep lock cold"] / t["pip26 lock cold"], 1.00),
                _ratio("lock: warm peep / warm pip26", t["peep lock warm"] / t["pip26 lock warm"], 1.10),
            ]
        if not args.skip_check:
            c = {k: statistics.median(v) for k, v in check_benchmark(args.requirements, args.rounds, work, python).items()}
            lines += [f"{name:<30} {seconds:8.2f} s (median), cpu {statistics.median(CPU_SECONDS[name]):6.2f} s"
                      for name, seconds in c.items()]
            lines.append(f"{'check: peep / pip':<30} {c['peep check'] / c['pip check']:8.2f}")
        if not args.skip_lock:
            r = {k: statistics.median(v) for k, v in resolve_benchmark(args.top_level, args.rounds, work, python).items()}
            lines += [f"{name:<30} {seconds:8.2f} s (median), cpu {statistics.median(CPU_SECONDS[name]):6.2f} s"
                      for name, seconds in r.items()]
            lines += [_ratio("lock: cold peep / pip resolve", r["peep lock cold"] / r["pip resolve cold"], 1.50),
                      _ratio("lock: warm peep / pip resolve", r["peep lock warm"] / r["pip resolve warm"], 1.50)]
            if "pip-compile --generate-hashes" in r:
                lines.append(_ratio("lock: cold peep / pip-compile",
                                    r["peep lock cold"] / r["pip-compile --generate-hashes"], 0.50))
            if "uv pip compile --generate-hashes" in r:
                lines.append(f"{'lock: cold peep / uv (cold)':<30} "
                             f"{r['peep lock cold'] / r['uv pip compile --generate-hashes']:8.2f}     no goal")
        if not args.skip_hash:
            small, large = args.hash_size_mb, 5 * args.hash_size_mb
            h = {k: statistics.median(v) for k, v in
                 hash_benchmark((small, large), max(args.rounds, 5), work, python).items()}
            marginal = (h[f"peep {large}"] - h[f"peep {small}"]) / (h[f"hashlib {large}"] - h[f"hashlib {small}"])
            startup_ms = 1000 * (h[f"peep {small}"] - h[f"hashlib {small}"])
            for size in (small, large):
                lines.append(f"{'peep hash ' + str(size) + ' MB':<30} {h[f'peep {size}']:8.2f} s   "
                             f"hashlib.file_digest {h[f'hashlib {size}']:.2f} s (medians)")
            lines += [
                _ratio(f"peep hash / hashlib {small} MB", h[f"peep {small}"] / h[f"hashlib {small}"], 1.15),
                _ratio(f"peep hash / hashlib {large} MB", h[f"peep {large}"] / h[f"hashlib {large}"], 1.15),
                _ratio("per-byte (marginal)", marginal, 1.15),
                f"{'fixed start-up cost':<30} {startup_ms:8.0f} ms more than a bare hashlib script",
            ]
            rss_small, rss_large = h[f"rss {small}"] / 1024, h[f"rss {large}"] / 1024
            met = "met" if max(rss_small, rss_large) < 40 else "MISSED"
            lines.append(f"{'peep hash peak RSS':<30} {rss_small:8.1f} MB at {small} MB, "
                         f"{rss_large:.1f} MB at {large} MB   goal < 40 MB: {met}")
        if not args.skip_startup:
            timings, imports = startup_benchmark(args.startup_rounds, work, python, args.peep)
            lines += startup_lines({k: statistics.median(v) for k, v in timings.items()}, imports)
    print("\n" + "\n".join(lines))
    return 0


def _workers(python: str) -> int:
    """The number of processes peep byte-compiles with here: one per CPU it may run on."""
    code = "import os; print(len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count())"
    return int(subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout)


def _ratio(name: str, value: float, goal: float) -> str:
    verdict = "met" if value <= goal else "MISSED"
    return f"{name:<30} {value:8.2f}     goal <= {goal:.2f}: {verdict}"


if __name__ == "__main__":
    sys.exit(main())
