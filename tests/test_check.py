"""peep check: an auditor without false alarms, blind spots or hangs."""

from __future__ import annotations

import dis
import json
import marshal
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, Tuple

import pytest
from conftest import make_bare_venv, venv_python
from helpers import (
    LoopbackIndex, hermetic_env, record_row, run_peep, sdist_bytes, sha256_hex, wheel_bytes,
)

import peep

ENTRY_POINTS = b"[console_scripts]\ngam = gamma:main\n"


def gamma_wheel(tmp_path: Path) -> Tuple[Path, bytes]:
    """A wheel with a console script and a #!python data script, written to ``tmp_path``."""
    name, data = wheel_bytes("gamma", "1.0", payload="def main():\n    return 0\n", extra_files={
        "gamma-1.0.dist-info/entry_points.txt": ENTRY_POINTS,
        "gamma-1.0.data/scripts/gs": b"#!python\nprint(1)\n",
    })
    (tmp_path / name).write_bytes(data)
    return tmp_path / name, data


def pip_target(tmp_path: Path, wheel: Path) -> Path:
    """Install ``wheel`` with pip itself into a --target directory."""
    target = tmp_path / "target"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--target", str(target), str(wheel)], env=hermetic_env(), check=True,
                   capture_output=True)
    return target


def requirements(tmp_path: Path, text: str) -> str:
    (tmp_path / "r.txt").write_text(text)
    return str(tmp_path / "r.txt")


def check_target(tmp_path: Path, target: Path, *args: str, text: str = "gamma==1.0\n",
                 env: Dict[str, str] = {}) -> subprocess.CompletedProcess:  # noqa: B006
    """Run peep check on a --target directory, with no index unless ``args`` name one."""
    offline = () if "-i" in args else ("--no-index",)
    return run_peep("check", "-r", requirements(tmp_path, text), "--target", str(target), *args,
                    *offline, env=hermetic_env(**env), timeout=120)


def rewrite_with_record(target: Path, relative: str, data: bytes) -> None:
    """Write a file and give it a RECORD row (replacing any), as an attacker would."""
    (target / relative).write_bytes(data)
    record = target / "gamma-1.0.dist-info" / "RECORD"
    rows = [row for row in record.read_text().splitlines() if not row.startswith(relative + ",")]
    record.write_text("\n".join(rows + [record_row(relative, data)]) + "\n")


# --- no false alarms ---------------------------------------------------------------------


def test_check_strict_passes_a_fresh_venv_and_lists_its_installers_apart(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True)
    python = str(tmp_path / "venv" / "bin" / "python")
    result = run_peep("check", "-r", requirements(tmp_path, ""), "--strict", python=python)
    assert result.returncode == 0, result.stderr
    assert "The following are listed apart, not errors" in result.stderr
    pip_version = subprocess.run([python, "-c", "import importlib.metadata as m; print(m.version('pip'))"],
                                 capture_output=True, text=True, check=True).stdout.strip()
    assert f"    pip=={pip_version}: an installer; checked against the wheel Python bundles" in result.stderr


def test_check_accounts_for_start_up_hooks_outside_the_site(tmp_path: Path, bare_venv: Path) -> None:
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text("import os\n")
    result = run_peep("check", "-r", requirements(tmp_path, ""), "--no-index",
                      python=str(bare_venv / "bin" / "python"), env=hermetic_env(PYTHONPATH=str(hooks)))
    assert result.returncode == 0, result.stderr
    assert "The following are listed apart, not errors" in result.stderr
    assert f"    {hooks / 'sitecustomize.py'}: a start-up hook outside the checked site" in result.stderr


def test_check_target_finds_console_and_data_scripts(tmp_path: Path) -> None:
    target = pip_target(tmp_path, gamma_wheel(tmp_path)[0])
    assert (target / "bin" / "gam").exists()
    result = check_target(tmp_path, target, "--strict")
    assert result.returncode == 0, result.stderr
    (target / "bin" / "gam").write_text("#!/bin/sh\nrm -rf ~\n")
    changed = check_target(tmp_path, target)
    assert changed.returncode == 1
    assert "    gamma==1.0: ../../bin/gam (sha256 is " in changed.stderr


def test_check_user_site(tmp_path: Path) -> None:
    # A virtual environment has no user site: use the interpreter it was made from.
    python = sys.executable
    if sys.prefix != sys.base_prefix:
        python = os.path.join(sys.base_prefix, "bin", "python%d.%d" % sys.version_info[:2])
    if subprocess.run([python, "-m", "pip", "--version"], capture_output=True).returncode != 0:
        pytest.skip(f"no pip for {python}, the interpreter with a user site")
    wheel, _ = gamma_wheel(tmp_path)
    env = hermetic_env(PYTHONUSERBASE=str(tmp_path / "userbase"))
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--user",
                    "--break-system-packages", str(wheel)], env=env, check=True, capture_output=True)
    args = ("check", "-r", requirements(tmp_path, "gamma==1.0\n"), "--user")
    result = run_peep(*args, env=env, python=python)
    assert result.returncode == 0, result.stderr
    assert "all 1 requirement(s) are installed" in result.stdout
    empty = hermetic_env(PYTHONUSERBASE=str(tmp_path / "empty"))
    assert run_peep(*args, env=empty, python=python).returncode == 1


# --- blind spots ---------------------------------------------------------------------------


@pytest.mark.parametrize("shadow", ["dir", "file"])
def test_check_reports_a_shadow_egg_info(tmp_path: Path, shadow: str) -> None:
    target = pip_target(tmp_path, gamma_wheel(tmp_path)[0])
    info = b"Metadata-Version: 1.1\nName: gamma\nVersion: 9.0\n"
    if shadow == "dir":
        (target / "gamma.egg-info").mkdir()
        (target / "gamma.egg-info" / "PKG-INFO").write_bytes(info)
    else:
        (target / "gamma.egg-info").write_bytes(info)
    result = check_target(tmp_path, target)
    assert result.returncode == 1
    assert "installed more than once" in result.stderr
    assert "    gamma==1.0: gamma-1.0.dist-info, gamma.egg-info" in result.stderr


def test_check_a_planted_pip_is_not_exempt(tmp_path: Path) -> None:
    name, data = wheel_bytes("pip", "0.1", payload="import os\n")
    (tmp_path / name).write_bytes(data)
    target = pip_target(tmp_path, tmp_path / name)
    planted = check_target(tmp_path, target, "--strict", text="")
    assert planted.returncode == 1  # no wheel Python bundles is pip 0.1: unlisted, not apart
    assert "named by no requirement:\n\n    pip==0.1\n" in planted.stderr, planted.stderr
    assert "an installer" not in planted.stderr
    (target / "pip.py").write_text("import os  # changed\n")
    result = check_target(tmp_path, target, "--strict", text="")
    assert result.returncode == 1
    assert "    pip==0.1: pip.py (sha256 is " in result.stderr


def test_check_virtualenv_files_are_not_exempt_where_no_virtualenv_made_the_site(tmp_path: Path) -> None:
    target = pip_target(tmp_path, gamma_wheel(tmp_path)[0])
    (target / "_virtualenv.pth").write_text("import _virtualenv")
    (target / "_virtualenv.py").write_text("print('patched')\n")
    result = check_target(tmp_path, target, "--strict")
    assert result.returncode == 1
    assert "    _virtualenv.pth\n\n    _virtualenv.py\n" in result.stderr
    assert "virtualenv's start-up patch" not in result.stderr


@pytest.mark.parametrize("row", ["/dev/zero", "fifo", "../../../outside.py", "link", "directory"])
def test_check_reads_only_regular_files_inside_the_site(tmp_path: Path, row: str) -> None:
    target = pip_target(tmp_path, gamma_wheel(tmp_path)[0])
    if row == "fifo":
        os.mkfifo(target / "fifo")
    if row == "directory":
        (target / "directory").mkdir()
    if row == "link":
        os.symlink("/dev/zero", target / "link")
    with open(target / "gamma-1.0.dist-info" / "RECORD", "a") as record:
        record.write(f"{row},sha256=AAAA,1\n")
    result = check_target(tmp_path, target)
    assert result.returncode == 1
    why = {"fifo": "not a regular file, so not read", "link": "a link, not followed",
           "directory": "not a regular file, so not read"}
    assert f"    gamma==1.0: {row} ({why.get(row, 'outside the checked installation, so not read')})" in result.stderr


# --- .pyc ----------------------------------------------------------------------------------


@pytest.mark.skipif(sys.version_info < (3, 11), reason="specialized instructions are 3.11+")
def test_check_finds_a_pyc_differing_by_a_specialized_instruction(tmp_path: Path) -> None:
    name, data = wheel_bytes("gamma", "1.0", payload="def add(a, b):\n    return a + b\n")
    (tmp_path / name).write_bytes(data)
    target = pip_target(tmp_path, tmp_path / name)
    assert check_target(tmp_path, target).returncode == 0
    pyc = next((target / "__pycache__").glob("gamma.*.pyc"))
    add = next(c for c in marshal.loads(pyc.read_bytes()[16:]).co_consts if hasattr(c, "co_code"))
    body = pyc.read_bytes()
    at = body.index(add.co_code) + add.co_code.index(bytes([dis.opmap["BINARY_OP"]]))
    specialized = dis._all_opmap["BINARY_OP_ADD_INT"]  # type: ignore[attr-defined]
    pyc.write_bytes(body[:at] + bytes([specialized]) + body[at + 1:])
    assert marshal.loads(pyc.read_bytes()[16:]) == marshal.loads(body[16:])  # why == is not enough
    result = check_target(tmp_path, target)
    assert result.returncode == 1
    assert f"gamma==1.0: __pycache__/{pyc.name} (not what its recorded source compiles to)" in result.stderr


def test_check_a_hash_based_pyc_header_must_name_its_source(tmp_path: Path) -> None:
    target = pip_target(tmp_path, gamma_wheel(tmp_path)[0])
    pyc = next((target / "__pycache__").glob("gamma.*.pyc"))
    body = pyc.read_bytes()
    pyc.write_bytes(body[:4] + (1).to_bytes(4, "little") + b"\0" * 8 + body[16:])
    result = check_target(tmp_path, target)
    assert result.returncode == 1
    assert "(its header names other source than the one recorded)" in result.stderr


# --- the vetted archive itself -------------------------------------------------------------


def cached(tmp_path: Path, wheel: Path, data: bytes) -> Dict[str, str]:
    """Put a wheel in a verified cache as install would; return check's environment for it."""
    cache = peep.ArchiveCache(str(tmp_path / "cache"), print)
    cache.store(str(wheel), wheel.name, {"sha256": sha256_hex(data)}, {})
    return {"PIP_CACHE_DIR": str(tmp_path / "cache"), "PIP_NO_CACHE_DIR": ""}


def test_check_compares_with_the_vetted_wheel_not_the_rewritten_record(tmp_path: Path) -> None:
    wheel, data = gamma_wheel(tmp_path)
    target = pip_target(tmp_path, wheel)
    text = f"gamma==1.0 --hash=sha256:{sha256_hex(data)}\n"
    env = cached(tmp_path, wheel, data)
    clean = check_target(tmp_path, target, "--strict", text=text, env=env)
    assert clean.returncode == 0, clean.stderr
    assert "RECORD only" not in clean.stderr
    rewrite_with_record(target, "gamma.py", b"import os\n")
    next((target / "__pycache__").glob("gamma.*.pyc")).unlink()  # else its .pyc gives it away
    assert check_target(tmp_path, target, text=text).returncode == 0  # RECORD alone is fooled
    result = check_target(tmp_path, target, text=text, env=env)
    assert result.returncode == 1
    assert "    gamma==1.0: gamma.py (not the vetted wheel's file)" in result.stderr


def test_check_says_when_it_fell_back_to_record(tmp_path: Path) -> None:
    wheel, data = gamma_wheel(tmp_path)
    target = pip_target(tmp_path, wheel)
    text = f"gamma==1.0 --hash=sha256:{sha256_hex(data)}\n"
    result = check_target(tmp_path, target, text=text, env={"PIP_CACHE_DIR": str(tmp_path / "none"),
                                                            "PIP_NO_CACHE_DIR": ""})
    assert result.returncode == 0
    assert "    gamma==1.0: no vetted wheel to compare with (gamma==1.0 " in result.stderr
    assert "--no-index and no --find-links)): checked against its RECORD only" in result.stderr


def test_check_fetches_and_verifies_a_vetted_wheel_the_cache_lacks(tmp_path: Path, index: LoopbackIndex) -> None:
    wheel, data = gamma_wheel(tmp_path)
    index.add((wheel.name, data))
    target = pip_target(tmp_path, wheel)
    rewrite_with_record(target, "gamma.py", b"import os\n")
    next((target / "__pycache__").glob("gamma.*.pyc")).unlink()
    result = check_target(tmp_path, target, "-i", index.url, text=f"gamma==1.0 --hash=sha256:{sha256_hex(data)}\n")
    assert result.returncode == 1
    assert "    gamma==1.0: gamma.py (not the vetted wheel's file)" in result.stderr
    assert any(path.endswith(wheel.name) for path in index.requests)


# --- output --------------------------------------------------------------------------------


def test_check_json_gives_each_finding_its_kind(tmp_path: Path) -> None:
    target = pip_target(tmp_path, gamma_wheel(tmp_path)[0])
    (target / "evil.pth").write_text("import os\n")
    result = check_target(tmp_path, target, "--json", text="gamma==1.0\nmissing==1.0\n")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    kinds = {(f["kind"], f["subject"], f["error"]) for f in report["findings"]}
    assert kinds == {("not installed", "missing==1.0", True), ("unrecorded", "evil.pth", False),
                     ("record only", "gamma==1.0", False)}


def test_check_accepts_the_scripts_pip_names_for_the_python_installing_it(tmp_path: Path) -> None:
    scripts = b"[console_scripts]\npip = pip:main\npip3 = pip:main\npip3.99 = pip:main\n"
    name, data = wheel_bytes("pip", "0.1", payload="def main():\n    return 0\n",
                             extra_files={"pip-0.1.dist-info/entry_points.txt": scripts})
    (tmp_path / name).write_bytes(data)
    target = pip_target(tmp_path, tmp_path / name)
    assert (target / "bin" / f"pip{sys.version_info[0]}.{sys.version_info[1]}").exists()
    text = f"pip==0.1 --hash=sha256:{sha256_hex(data)}\n"
    result = check_target(tmp_path, target, "--strict", text=text, env=cached(tmp_path, tmp_path / name, data))
    assert result.returncode == 0, result.stderr
    assert "RECORD only" not in result.stderr


def test_check_lets_the_installed_wheel_tags_choose_among_vetted_wheels(tmp_path: Path, index: LoopbackIndex) -> None:
    wheel, data = gamma_wheel(tmp_path)
    preferred = f"cp{sys.version_info[0]}{sys.version_info[1]}-none-any"  # ranks above py3-none-any here
    other = wheel_bytes("gamma", "1.0", tag=preferred, payload="OTHER = 1\n")
    index.add((wheel.name, data))
    index.add(other)
    target = pip_target(tmp_path, wheel)
    text = f"gamma==1.0 --hash=sha256:{sha256_hex(data)} --hash=sha256:{sha256_hex(other[1])}\n"
    result = check_target(tmp_path, target, "--strict", "-i", index.url, text=text)
    assert result.returncode == 0, result.stderr
    assert not any(path.endswith(other[0]) for path in index.requests)


def test_check_prefix(tmp_path: Path) -> None:
    wheel, _ = gamma_wheel(tmp_path)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--prefix",
                    str(tmp_path / "prefix"), str(wheel)], env=hermetic_env(), check=True, capture_output=True)
    args = ("check", "-r", requirements(tmp_path, "gamma==1.0\n"), "--no-index", "--strict", "--prefix")
    result = run_peep(*args, str(tmp_path / "prefix"))
    assert result.returncode == 0, result.stderr
    assert "all 1 requirement(s) are installed" in result.stdout
    (tmp_path / "prefix" / "bin" / "gs").write_text("#!/bin/sh\n")
    assert run_peep(*args, str(tmp_path / "prefix")).returncode == 1


@pytest.mark.parametrize("algorithm", ["shake_128", "md5", "sha1"])
def test_check_a_record_row_of_another_hash_vouches_for_nothing(tmp_path: Path, algorithm: str) -> None:
    """Only sha256, sha384 and sha512 rows are hashes to check (shake_128 once crashed check)."""
    target = pip_target(tmp_path, gamma_wheel(tmp_path)[0])
    (target / "extra.py").write_text("EVIL = True\n")
    with open(target / "gamma-1.0.dist-info" / "RECORD", "a") as record:
        record.write(f"extra.py,{algorithm}=AAAA,12\n")
    result = check_target(tmp_path, target, "--strict")
    assert result.returncode == 1, result.stderr
    assert "extra.py" in result.stderr


def test_check_compiles_a_pyc_afresh_though_its_record_row_was_given_a_hash(tmp_path: Path) -> None:
    """Whoever rewrites a .pyc can give its RECORD row a hash: the .pyc is still its source's."""
    wheel, data = gamma_wheel(tmp_path)
    target = pip_target(tmp_path, wheel)
    text = f"gamma==1.0 --hash=sha256:{sha256_hex(data)}\n"
    env = cached(tmp_path, wheel, data)
    pyc = next((target / "__pycache__").glob("gamma.*.pyc"))
    evil = pyc.read_bytes()[:16] + marshal.dumps(compile("import os\n", "gamma.py", "exec"))
    rewrite_with_record(target, str(pyc.relative_to(target)), evil)
    result = check_target(tmp_path, target, text=text, env=env)
    assert result.returncode == 1, result.stderr
    assert f"gamma==1.0: __pycache__/{pyc.name} (not what its recorded source" in result.stderr


def _check_vetted(tmp_path: Path, tamper: Callable[[Path], None]) -> subprocess.CompletedProcess:
    """Install gamma, let ``tamper`` change the target (RECORD too), check it against its wheel."""
    wheel, data = gamma_wheel(tmp_path)
    target = pip_target(tmp_path, wheel)
    text = f"gamma==1.0 --hash=sha256:{sha256_hex(data)}\n"
    env = cached(tmp_path, wheel, data)
    assert check_target(tmp_path, target, "--strict", text=text, env=env).returncode == 0
    tamper(target)
    return check_target(tmp_path, target, text=text, env=env)


def _sourceless_pyc(target: Path) -> None:
    pyc = target / "__pycache__" / next((target / "__pycache__").glob("gamma.*.pyc")).name
    evil = pyc.read_bytes()[:16] + marshal.dumps(compile("import os\n", "evil.py", "exec"))
    with open(target / "gamma-1.0.dist-info" / "RECORD", "a") as record:
        record.write(record_row("evil.pyc", evil) + "\n")
    (target / "evil.pyc").write_bytes(evil)  # `import evil` loads it: no source beside it


def _extension_in_pycache(target: Path) -> None:
    evil = b"\x7fELF not really, but importable by its name"
    with open(target / "gamma-1.0.dist-info" / "RECORD", "a") as record:
        record.write(record_row("__pycache__/evil.abi3.so", evil) + "\n")
    (target / "__pycache__" / "evil.abi3.so").write_bytes(evil)  # `import __pycache__.evil`


def _script_line(new: bytes) -> Callable[[Path], None]:
    """Give both scripts pip wrote another interpreter line, and their RECORD rows its hash."""
    def tamper(target: Path) -> None:
        for script in ("gs", "gam"):
            data = (target / "bin" / script).read_bytes()
            assert data.startswith(f"#!{sys.executable}\n".encode()), data
            (target / "bin" / script).write_bytes(new + data.partition(b"\n")[2])
            record = target / "gamma-1.0.dist-info" / "RECORD"
            rows = record.read_text().splitlines()
            row = f"../../bin/{script}"
            record.write_text("\n".join(record_row(row, new + data.partition(b"\n")[2])
                                        if r.startswith(row + ",") else r for r in rows) + "\n")
    return tamper


@pytest.mark.parametrize("case, tamper, message", [
    ("a sourceless .pyc, which pip never writes", _sourceless_pyc, "evil.pyc (not in the vetted wheel)"),
    ("an extension module in __pycache__, where pip writes .pyc files only", _extension_in_pycache,
     "__pycache__/evil.abi3.so (not in the vetted wheel)"),
])
def test_check_refuses_what_pip_never_writes(tmp_path: Path, case: str,
                                             tamper: Callable[[Path], None], message: str) -> None:
    result = _check_vetted(tmp_path, tamper)
    assert result.returncode == 1, result.stderr
    assert message in result.stderr


@pytest.mark.parametrize("line", [
    b"#!/tmp/elsewhere/python3\n",
    b"#!/bin/sh\n'''exec' " + sys.executable.encode() + b' "$0" "$@" $(touch /tmp/pwned)\n' + b"' '''\n",
    b"#!/bin/sh\n'''exec' /$(touch${IFS}/tmp/pwned)/python \"$0\" \"$@\"\n' '''\n",
], ids=["another interpreter", "a command after pip's long form", "a command in its path"])
def test_check_a_script_runs_only_the_interpreter_pip_named(tmp_path: Path, line: bytes) -> None:
    result = _check_vetted(tmp_path, _script_line(line))
    assert result.returncode == 1, result.stderr
    assert "gamma==1.0: ../../bin/gs (not the vetted wheel's script (its #! line rewritten))" in result.stderr
    assert "gamma==1.0: ../../bin/gam (not in the vetted wheel)" in result.stderr


@pytest.mark.parametrize("how", ["removed", "fifo", "link", "padded"])
def test_check_a_dist_info_without_a_readable_record_is_tampered(tmp_path: Path, how: str) -> None:
    """Without its RECORD no file of a distribution would be compared: that is no clean bill."""
    target = pip_target(tmp_path, gamma_wheel(tmp_path)[0])
    record = target / "gamma-1.0.dist-info" / "RECORD"
    (tmp_path / "elsewhere").write_bytes(record.read_bytes())
    record.unlink()
    if how == "fifo":
        os.mkfifo(record)
    elif how == "link":
        record.symlink_to(tmp_path / "elsewhere")
    elif how == "padded":  # past what check reads of a RECORD, so no row of it would be read
        record.write_bytes((tmp_path / "elsewhere").read_bytes() + b"#" * (16 << 20))
    result = check_target(tmp_path, target)
    assert result.returncode == 1, result.stdout
    assert "gamma==1.0: gamma-1.0.dist-info/RECORD (" in result.stderr


def test_check_excuses_only_the_wheels_own_record_as_pips_to_write(tmp_path: Path) -> None:
    """A member that is merely named RECORD is a file like any other: removing it is a change."""
    name, data = wheel_bytes("gamma", "1.0", extra_files={"gamma_files/RECORD": b"data\n"})
    (tmp_path / name).write_bytes(data)
    target = pip_target(tmp_path, tmp_path / name)
    text = f"gamma==1.0 --hash=sha256:{sha256_hex(data)}\n"
    env = cached(tmp_path, tmp_path / name, data)
    assert check_target(tmp_path, target, "--strict", text=text, env=env).returncode == 0
    (target / "gamma_files" / "RECORD").unlink()
    record = target / "gamma-1.0.dist-info" / "RECORD"
    record.write_text("".join(row + "\n" for row in record.read_text().splitlines()
                              if not row.startswith("gamma_files/RECORD,")))
    result = check_target(tmp_path, target, text=text, env=env)
    assert result.returncode == 1, result.stderr
    assert "gamma==1.0: gamma_files/RECORD (in the vetted wheel, not installed)" in result.stderr


def test_check_a_bare_egg_info_file_has_no_record_to_vouch_with(tmp_path: Path) -> None:
    """A bare NAME.egg-info file is PKG-INFO alone: its lines are no RECORD rows."""
    target = pip_target(tmp_path, gamma_wheel(tmp_path)[0])
    code = b"import os\n"
    (target / "delta.py").write_bytes(code)
    (target / "delta.egg-info").write_text("Metadata-Version: 1.1\nName: delta\nVersion: 2.0\n"
                                           + record_row("delta.py", code) + "\n")
    result = check_target(tmp_path, target, "--strict", text="gamma==1.0\ndelta==2.0\n")
    assert result.returncode == 1, result.stderr
    assert "but no installed distribution's RECORD lists them with a hash" in result.stderr
    assert "\n    delta.py\n" in result.stderr


def test_check_compares_a_wheel_whose_installed_wheel_file_names_no_tag(tmp_path: Path) -> None:
    wheel, data = gamma_wheel(tmp_path)
    target = pip_target(tmp_path, wheel)
    metadata = target / "gamma-1.0.dist-info" / "WHEEL"
    metadata.write_text("".join(line + "\n" for line in metadata.read_text().splitlines()
                                if not line.startswith("Tag:")))
    text = f"gamma==1.0 --hash=sha256:{sha256_hex(data)}\n"
    result = check_target(tmp_path, target, text=text, env=cached(tmp_path, wheel, data))
    assert result.returncode == 1, result.stderr
    assert "RECORD only" not in result.stderr
    assert "gamma==1.0: gamma-1.0.dist-info/WHEEL (not the vetted wheel's file)" in result.stderr
    assert "no hash to find" not in result.stderr


def test_check_closes_what_it_opens_whatever_it_finds_there(tmp_path: Path) -> None:
    """A directory where a file should be is refused with its descriptor closed: enough of them
    must not run check out of descriptors (which once ended in peep's bug report)."""
    target = pip_target(tmp_path, gamma_wheel(tmp_path)[0])
    with open(target / "gamma-1.0.dist-info" / "RECORD", "a") as record:
        for number in range(300):
            (target / f"d{number}.py").mkdir()
            record.write(f"d{number}.py,sha256=AAAA,1\n")
    limit = "import resource; resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128)); "
    result = subprocess.run(
        [sys.executable, "-c", limit + "import runpy, sys; sys.argv[0] = 'peep'; "
         f"runpy.run_path({str(Path(peep.__file__))!r}, run_name='__main__')", "check", "-r",
         requirements(tmp_path, "gamma==1.0\n"), "--target", str(target), "--no-index"],
        env=hermetic_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "gamma==1.0: d299.py (not a regular file, so not read)" in result.stderr


# --- the installed WHEEL's tags only rank the vetted wheels; an index's other bytes are an error ---


@pytest.mark.parametrize("tags", ["", "Tag: py3-none-bogus\n", "Tag: py3-none-any-x\n"],
                         ids=["removed", "bogus", "malformed"])
def test_check_rewritten_wheel_tags_still_compare_with_the_vetted_wheel(tmp_path: Path, tags: str) -> None:
    wheel, data = gamma_wheel(tmp_path)
    target = pip_target(tmp_path, wheel)
    text = f"gamma==1.0 --hash=sha256:{sha256_hex(data)}\n"
    env = cached(tmp_path, wheel, data)
    metadata = target / "gamma-1.0.dist-info" / "WHEEL"
    kept = [line for line in metadata.read_text().splitlines() if not line.startswith("Tag:")]
    rewrite_with_record(target, "gamma-1.0.dist-info/WHEEL", ("\n".join(kept) + "\n" + tags).encode())
    rewrite_with_record(target, "gamma.py", b"def main():\n    return 0\nimport os\n")
    rewrite_with_record(target, "evil.pth", b"import os\n")
    next((target / "__pycache__").glob("gamma.*.pyc")).unlink()
    result = check_target(tmp_path, target, "--strict", text=text, env=env)
    assert result.returncode == 1, result.stderr
    assert "RECORD only" not in result.stderr
    assert "    gamma==1.0: gamma.py (not the vetted wheel's file)" in result.stderr
    assert "    gamma==1.0: evil.pth (not in the vetted wheel)" in result.stderr
    assert "    gamma==1.0: gamma-1.0.dist-info/WHEEL (not the vetted wheel's file)" in result.stderr


def test_check_rewritten_wheel_tags_find_the_vetted_wheel_on_the_index(tmp_path: Path, index: LoopbackIndex) -> None:
    wheel, data = gamma_wheel(tmp_path)
    index.add((wheel.name, data))
    target = pip_target(tmp_path, wheel)
    metadata = target / "gamma-1.0.dist-info" / "WHEEL"
    rewrite_with_record(target, "gamma-1.0.dist-info/WHEEL",
                        metadata.read_bytes().replace(b"py3-none-any", b"py3-none-bogus"))
    result = check_target(tmp_path, target, "--strict", "-i", index.url,
                          text=f"gamma==1.0 --hash=sha256:{sha256_hex(data)}\n")
    assert result.returncode == 1, result.stderr
    assert "    gamma==1.0: gamma-1.0.dist-info/WHEEL (not the vetted wheel's file)" in result.stderr


def test_check_an_index_serving_other_bytes_is_an_error_not_a_note(tmp_path: Path, index: LoopbackIndex) -> None:
    wheel, data = gamma_wheel(tmp_path)
    index.add((wheel.name, data))
    index.corrupt[wheel.name] = data[:-10] + b"X" * 10
    target = pip_target(tmp_path, wheel)
    rewrite_with_record(target, "gamma.py", b"import os\n")
    next((target / "__pycache__").glob("gamma.*.pyc")).unlink()
    result = check_target(tmp_path, target, "--strict", "-i", index.url,
                          text=f"gamma==1.0 --hash=sha256:{sha256_hex(data)}\n")
    assert result.returncode == 1, result.stderr
    assert "RECORD only" not in result.stderr
    assert "DIDN'T MATCH THE HASHES SPECIFIED IN THE REQUIREMENTS FILE" in result.stderr


def test_check_an_index_with_no_hashes_and_an_unvetted_wheel_is_no_alarm(tmp_path: Path, index: LoopbackIndex) -> None:
    """Only the sdist was vetted (and built): the index's wheel, which no hash vouches for, is no
    evidence of tampering, though it hashes to something else."""
    wheel, data = gamma_wheel(tmp_path)
    sdist = sdist_bytes("gamma", "1.0")
    index.add((wheel.name, data), advertise_hash=False)
    index.add(sdist, advertise_hash=False)
    target = pip_target(tmp_path, wheel)
    result = check_target(tmp_path, target, "--strict", "-i", index.url,
                          text=f"gamma==1.0 --hash=sha256:{sha256_hex(sdist[1])}\n")
    assert result.returncode == 0, result.stderr
    assert "gamma==1.0: built from an sdist: checked against its RECORD only" in result.stderr


# --- scripts at pip's own place, in pip's own form, run by this environment's Python ----------


def _script_rows(target: Path, script: str, *rows: str) -> None:
    """Replace the RECORD row of ``bin/SCRIPT`` by ``rows``."""
    record = target / "gamma-1.0.dist-info" / "RECORD"
    kept = [row for row in record.read_text().splitlines()
            if not row.startswith(f"../../bin/{script},")]
    record.write_text("".join(row + "\n" for row in kept + list(rows)))


def _row_elsewhere(script: str) -> Callable[[Path], None]:
    """Replace bin/SCRIPT by a shell script, and point its RECORD row at a pristine copy
    elsewhere under the target."""

    def tamper(target: Path) -> None:
        pristine = (target / "bin" / script).read_bytes()
        (target / "share").mkdir()
        (target / "share" / script).write_bytes(pristine)
        (target / "bin" / script).write_bytes(b"#!/bin/sh\necho changed\n")
        _script_rows(target, script, record_row(f"../../share/{script}", pristine))

    return tamper


def _planted_interpreter(target: Path) -> None:
    """Point bin/gam's #! line at a shell script named like Python in the same directory."""
    planted = target / "bin" / "pythonx"
    planted.write_bytes(b"#!/bin/sh\necho changed\n")
    planted.chmod(0o755)
    body = (target / "bin" / "gam").read_bytes().partition(b"\n")[2]
    script = b"#!" + bytes(planted) + b"\n" + body
    (target / "bin" / "gam").write_bytes(script)
    _script_rows(target, "gam", record_row("../../bin/gam", script))


def _linked_interpreter_elsewhere(target: Path) -> None:
    """Point bin/gam's #! line at a link to this very Python in another directory, where a
    pyvenv.cfg of the attacker's would choose what that Python imports at start-up."""
    elsewhere = target / "share" / "x" / "bin"
    elsewhere.mkdir(parents=True)
    (elsewhere / "python").symlink_to(os.path.realpath(sys.executable))
    body = (target / "bin" / "gam").read_bytes().partition(b"\n")[2]
    script = b"#!" + bytes(elsewhere / "python") + b"\n" + body
    (target / "bin" / "gam").write_bytes(script)
    _script_rows(target, "gam", record_row("../../bin/gam", script))


@pytest.mark.parametrize("tamper, message", [
    (_row_elsewhere("gs"), "gamma==1.0: gamma-1.0.data/scripts/gs (in the vetted wheel, not installed)"),
    (_row_elsewhere("gam"), "gamma==1.0: gam (an entry point of the vetted wheel"),
    (_planted_interpreter, "gamma==1.0: ../../bin/gam (not in the vetted wheel)"),
    (_linked_interpreter_elsewhere, "gamma==1.0: ../../bin/gam (not in the vetted wheel)"),
], ids=["a data script's row elsewhere", "a console script unrecorded", "a planted interpreter",
        "this Python linked from elsewhere"])
def test_check_scripts_are_pips_where_pip_puts_them(tmp_path: Path, tamper: Callable[[Path], None],
                                                     message: str) -> None:
    result = _check_vetted(tmp_path, tamper)
    assert result.returncode == 1, result.stderr
    assert message in result.stderr


# --- planted installers, deep and unlistable directories, virtualenv's files ---------------


def test_check_walks_a_deep_tree_without_recursion(tmp_path: Path) -> None:
    """More nested directories than Python's recursion limit (os.walk recursed before 3.12)."""
    target = pip_target(tmp_path, gamma_wheel(tmp_path)[0])
    levels = [target / ("a/" * depth) for depth in range(1, 1501)]  # a path far under PATH_MAX
    for level in levels:
        level.mkdir()
    (levels[-1] / "deep.py").write_text("import os\n")
    try:
        result = check_target(tmp_path, target, "--strict")
    finally:
        (levels[-1] / "deep.py").unlink()
        for level in reversed(levels):  # as rmtree would not before 3.12
            level.rmdir()
    assert result.returncode == 1, result.stderr
    assert "\n    " + "a/" * 1500 + "deep.py\n" in result.stderr


def test_check_reports_a_directory_it_cannot_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Python imports from a directory of mode 0111, which check cannot list: no silent skip.
    Root reads through any mode, so here the listing is refused by hand, in process."""
    target = pip_target(tmp_path, gamma_wheel(tmp_path)[0])
    (target / "gamma").mkdir()  # shadows gamma.py at import
    (target / "gamma" / "__init__.py").write_text("import os\n")
    scandir = os.scandir

    def refuse(path: str) -> object:
        if os.path.basename(path) == "gamma":
            raise PermissionError(13, "Permission denied", path)
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refuse)
    site = peep.CheckedSite((str(target),), (str(target),), target=str(target))
    errors, _ = peep.check_environment([], site, strict=True)
    assert [p.text for p in errors if p.kind == "unrecorded"] == [
        "    gamma (a directory peep check cannot list, so not read)"]


def test_check_exempts_virtualenv_files_only_where_virtualenv_made_the_environment(tmp_path: Path) -> None:
    """virtualenv, unlike venv, writes a virtualenv key into pyvenv.cfg; only then are its files
    exempt, and its .pth only as it writes it."""
    venv = make_bare_venv(tmp_path / "venv")
    python = venv_python(venv)
    purelib = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  check=True, capture_output=True, text=True).stdout.strip())
    (purelib / "_virtualenv.pth").write_text("import _virtualenv")
    (purelib / "_virtualenv.py").write_text("PATCHED = True\n")  # it runs at every start

    def findings() -> Dict[str, str]:
        result = run_peep("check", "-r", requirements(tmp_path, ""), "--json", "--no-index", python=python)
        return {f["subject"]: f["kind"] for f in json.loads(result.stdout)["findings"]}
    made = findings()  # by python -m venv
    assert (made["_virtualenv.pth"], made["_virtualenv.py"]) == ("unrecorded", "unrecorded")
    with open(venv / "pyvenv.cfg", "a") as config:
        config.write("virtualenv = 20.26.6\n")
    made = findings()
    assert "_virtualenv.pth" not in made
    assert made["_virtualenv.py: virtualenv's start-up patch, by its name; peep cannot know its "
                "content, so read it"] == "listed apart"
    (purelib / "_virtualenv.pth").write_text("import _virtualenv; import os")
    assert findings()["_virtualenv.pth"] == "unrecorded"


def test_check_a_venv_with_copied_interpreters_raises_no_alarm(tmp_path: Path) -> None:
    """python -m venv --copies makes python, python3 and python3.X separate files: a script pip
    wrote for one of them is this Python's when check runs under another."""
    venv = tmp_path / "copies"
    subprocess.run([sys.executable, "-m", "venv", "--copies", str(venv)],
                   check=True, env=hermetic_env(), capture_output=True)
    names = sorted(p.name for p in (venv / "bin").iterdir() if p.name.startswith("python"))
    assert len(names) > 1 and not any((venv / "bin" / n).is_symlink() for n in names), names
    wheel, _ = gamma_wheel(tmp_path)
    subprocess.run([str(venv / "bin" / names[-1]), "-m", "pip", "install", "-q", "--no-deps",
                    "--no-index", str(wheel)], env=hermetic_env(), check=True, capture_output=True)
    assert (venv / "bin" / "gam").read_bytes().startswith(b"#!" + bytes(venv / "bin" / names[-1]))
    result = run_peep("check", "-r", requirements(tmp_path, "gamma==1.0\n"), "--no-index",
                      "--strict", python=str(venv / "bin" / names[0]), env=hermetic_env())
    assert result.returncode == 0, result.stderr
