"""peep hash, peep port, fall-through, --help/--version and the crash handler."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import venv_python
from helpers import (
    LoopbackIndex,
    hermetic_env,
    installed_in,
    peep_hash,
    run_peep,
    sha256_hex,
    wheel_bytes,
)

import peep

# --- hash ---------------------------------------------------------------------------


def test_hash_prints_one_line_per_file_in_order(tmp_path: Path) -> None:
    (tmp_path / "a.whl").write_bytes(b"first")
    (tmp_path / "b.tar.gz").write_bytes(b"second")
    result = run_peep("hash", str(tmp_path / "a.whl"), str(tmp_path / "b.tar.gz"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"# sha256: {peep_hash(b'first')}\n# sha256: {peep_hash(b'second')}\n"


@pytest.mark.parametrize("algorithm", ["sha256", "sha384", "sha512"])
def test_hash_pip_format(tmp_path: Path, algorithm: str) -> None:
    (tmp_path / "a.whl").write_bytes(b"first")
    result = run_peep("hash", "--format", "pip", "--algorithm", algorithm, str(tmp_path / "a.whl"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"--hash={algorithm}:{hashlib.new(algorithm, b'first').hexdigest()}\n"


def test_hash_streams_a_file_bigger_than_a_chunk(tmp_path: Path) -> None:
    data = bytes(range(256)) * 10000  # 2.5 MiB: several chunks
    (tmp_path / "big.whl").write_bytes(data)
    result = run_peep("hash", str(tmp_path / "big.whl"))
    assert result.stdout == f"# sha256: {peep_hash(data)}\n"


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        ([], 2, "peep hash: the following arguments are required: FILE"),
        (["--algorithm", "md5", "x"], 2, "invalid choice: 'md5'"),
        (["--algorithm", "sha512", "x"], 2, "peep's comment format holds sha256 only; use --format pip for sha512"),
        (["--format", "yaml", "x"], 2, "invalid choice: 'yaml'"),
    ],
)
def test_hash_usage_errors(args: list, status: int, message: str) -> None:
    result = run_peep("hash", *args)
    assert (result.returncode, result.stdout) == (status, "")
    assert message in result.stderr


def test_hash_missing_and_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "ok.whl").write_bytes(b"ok")
    result = run_peep("hash", str(tmp_path / "nope.whl"), str(tmp_path), str(tmp_path / "ok.whl"))
    assert result.returncode == 1
    assert result.stdout == f"# sha256: {peep_hash(b'ok')}\n"  # the good one still hashed
    assert result.stderr.splitlines() == [
        f"peep hash: cannot read {str(tmp_path / 'nope.whl')!r}: No such file or directory",
        f"peep hash: cannot read {str(tmp_path)!r}: Is a directory",
    ]


# --- port ---------------------------------------------------------------------------


def test_port_text_keeps_everything_the_user_wrote() -> None:
    h1, h2 = sha256_hex(b"1"), sha256_hex(b"2")
    text = (
        "# Our web stack\n"
        "--index-url https://example.invalid/simple\n"
        "\n"
        f"# sha256: {peep.hex_to_peep(h1)}\n"
        "# vetted 2026-01-01\n"
        f"# sha256: {peep.hex_to_peep(h2)}  # the wheel\n"
        "foo==1.0  # pinned for a reason\n"
        "unhashed==2.0\n"
        f"https://example.invalid/bar-1.0.tar.gz#egg=bar&sha256={h1}\n"
        f"# sha256: {peep.hex_to_peep(h1)}\n"
        "baz==3 \\\n"
        f"    --hash=sha256:{h1}\n"
        f"# sha256: {peep.hex_to_peep(h2)}\n"
    )
    ported, notes = peep.port_text(text, "r.txt")
    assert ported == (
        "# Our web stack\n"
        "--index-url https://example.invalid/simple\n"
        "\n"
        "# vetted 2026-01-01\n"
        "# the wheel\n"
        "foo==1.0 \\\n"
        f"    --hash=sha256:{h1} \\\n"
        f"    --hash=sha256:{h2}  # pinned for a reason\n"
        "unhashed==2.0\n"
        f"https://example.invalid/bar-1.0.tar.gz#egg=bar&sha256={h1}\n"
        "baz==3 \\\n"
        f"    --hash=sha256:{h1}\n"  # already there: not repeated
        f"# sha256: {peep.hex_to_peep(h2)}\n"
    )
    assert notes == ["r.txt line 13: kept a '# sha256:' line that no requirement follows (it was not in effect)"]


def test_port_is_idempotent_on_pip_format() -> None:
    text = f"foo==1.0 \\\n    --hash=sha256:{sha256_hex(b'1')}\n"
    assert peep.port_text(text, "r.txt") == (text, [])


def test_port_names_nested_files_that_need_porting(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text(f"# sha256: {peep_hash(b'x')}\nbase==1.0\n")
    (tmp_path / "plain.txt").write_text("plain==1.0\n")
    (tmp_path / "top.txt").write_text("-r base.txt\n-r plain.txt\n")
    result = run_peep("port", str(tmp_path / "top.txt"))
    assert result.returncode == 0
    assert result.stdout == "-r base.txt\n-r plain.txt\n"
    assert result.stderr == (
        f"peep port: {tmp_path / 'top.txt'} line 1: {tmp_path / 'base.txt'} has peep-style hashes too; "
        f"port it as well (peep port {tmp_path / 'base.txt'})\n"
    )


def test_port_errors(tmp_path: Path) -> None:
    result = run_peep("port", str(tmp_path / "nope.txt"))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"{tmp_path / 'nope.txt'}: cannot read it (No such file or directory)\n"
    (tmp_path / "bad.txt").write_text("# sha256: tooshort\nfoo==1\n")
    result = run_peep("port", str(tmp_path / "bad.txt"))
    assert result.returncode == 1
    assert result.stderr.startswith(f"{tmp_path / 'bad.txt'} line 1: 'tooshort' is not a sha256 hash")
    assert run_peep("port").returncode == 2


def _pip_install_require_hashes(requirements: Path, index: LoopbackIndex, target: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pip", "install", "--require-hashes", "--no-cache-dir",
         "--index-url", index.url, "--target", str(target), "-r", str(requirements)],
        env=hermetic_env(), capture_output=True, text=True, check=False,
    )


def _port_then_pip_install(source: Path, index: LoopbackIndex, target: Path) -> subprocess.CompletedProcess:
    """Port ``source``; pip --require-hashes must install what it names (alpha and beta) from it."""
    result = run_peep("port", str(source))
    assert result.returncode == 0, result.stderr
    ported = source.with_name("ported.txt")
    ported.write_text(result.stdout)
    installed = _pip_install_require_hashes(ported, index, target)
    assert installed.returncode == 0, installed.stderr
    assert installed_in(target) == {"alpha": "1.0", "beta": "2.0"}
    return result


def test_ported_peep_file_installs_with_pip_require_hashes(tmp_path: Path, index: LoopbackIndex) -> None:
    alpha = index.add(wheel_bytes("alpha", "1.0"))
    beta = index.add(wheel_bytes("beta", "2.0"))
    peep_style = tmp_path / "requirements.txt"
    peep_style.write_text(
        "# production pins\n"
        f"# sha256: {peep_hash(alpha.data)}\n"
        f"# sha256: {peep_hash(b'some other file of the release')}\n"
        "alpha==1.0  # the first\n"
        "\n"
        f"# sha256: {peep_hash(beta.data)}\n"
        "beta==2.0\n"
    )
    result = _port_then_pip_install(peep_style, index, tmp_path / "target")

    # And the port really carries the hashes: a wrong one makes pip refuse.
    (tmp_path / "tampered.txt").write_text(result.stdout.replace(sha256_hex(beta.data), sha256_hex(b"evil")))
    refused = _pip_install_require_hashes(tmp_path / "tampered.txt", index, tmp_path / "target2")
    assert refused.returncode != 0
    assert "DO NOT MATCH THE HASHES" in refused.stderr
    assert not (tmp_path / "target2").exists() or installed_in(tmp_path / "target2") == {}


def test_ported_pip_compile_file_installs_with_pip_require_hashes(tmp_path: Path, index: LoopbackIndex) -> None:
    alpha = index.add(wheel_bytes("alpha", "1.0"))
    beta = index.add(wheel_bytes("beta", "2.0"))
    compiled = tmp_path / "requirements.txt"
    compiled.write_text(
        "#\n# This file is autogenerated by pip-compile with Python 3.11\n#\n"
        "alpha==1.0 \\\n"
        f"    --hash=sha256:{sha256_hex(alpha.data)} \\\n"
        f"    --hash=sha256:{sha256_hex(b'the sdist')}\n"
        "    # via -r requirements.in\n"
        f"beta==2.0 --hash=sha256:{sha256_hex(beta.data)}\n"
    )
    result = _port_then_pip_install(compiled, index, tmp_path / "target")
    assert result.stdout == compiled.read_text()  # nothing to change


# --- fall-through, help, version ---------------------------------------------------


def test_other_commands_fall_through_to_pip_with_its_status() -> None:
    result = run_peep("--version")
    assert result.returncode == 0
    assert result.stdout.startswith(f"peep {peep.__version__} from ")
    assert result.stdout.splitlines()[1].startswith("pip ")

    shown = run_peep("show", "pip")
    assert shown.returncode == 0
    assert "Name: pip" in shown.stdout

    missing = run_peep("show", "no-such-project-anywhere")
    assert missing.returncode == 1  # pip's own status, not peep's
    assert "not found" in missing.stderr.lower()

    unknown = run_peep("frobnicate")
    assert unknown.returncode == 1
    assert 'unknown command "frobnicate"' in unknown.stderr


def test_unknown_peep_option_goes_to_pip_unchanged() -> None:
    result = run_peep("--no-such-pip-option")
    assert result.returncode == 2  # pip's usage error
    assert "no such option: --no-such-pip-option" in result.stderr


def test_no_command_is_peeps_usage() -> None:
    result = run_peep()
    assert result.returncode == 0
    assert result.stdout == peep.HELP and "pip <command>" not in result.stdout


def test_help_lists_peeps_commands_and_points_at_pip() -> None:
    result = run_peep("--help")
    assert result.returncode == 0
    for command in ("peep install", "peep hash", "peep port"):
        assert command in result.stdout
    assert "Every other command and option is pip's" in result.stdout


def test_command_after_general_pip_options_is_still_peeps(tmp_path: Path) -> None:
    # pip has a "hash" command of its own; peep must not hand this one over.
    (tmp_path / "a.whl").write_bytes(b"x")
    result = run_peep("--log", str(tmp_path / "log.txt"), "hash", str(tmp_path / "a.whl"))
    assert (result.returncode, result.stdout) == (2, "")
    assert "peep hash: unrecognized arguments: --log" in result.stderr
    assert not (tmp_path / "log.txt").exists()


# --- exit codes and the crash handler ---------------------------------------------


def test_unexpected_exception_prints_bug_report_and_exits_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def explode(argv, out, err):  # type: ignore[no-untyped-def]
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(peep, "run", explode)
    assert peep.main(["hash", "x"]) == peep.EXIT_BUG
    err = capsys.readouterr().err
    assert "This is a bug in peep" in err
    assert f"peep: {peep.__version__}" in err
    assert "argv: ['hash', 'x']" in err
    assert "pip: pip " in err
    assert "ZeroDivisionError: boom" in err


def test_exit_code_constants() -> None:
    assert (peep.EXIT_OK, peep.EXIT_FAILED, peep.EXIT_USAGE, peep.EXIT_BUG) == (0, 1, 2, 3)


def test_importing_peep_does_nothing(tmp_path: Path) -> None:
    probe = (
        "import subprocess, sys\n"
        "calls = []\n"
        "subprocess.Popen.__init__ = lambda *a, **k: calls.append(a)\n"
        "import peep\n"
        "print(len(calls))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=str(Path(peep.__file__).parent),
                            capture_output=True, text=True, env=hermetic_env())
    assert result.stdout.strip() == "0", result.stderr


# --- runs with nothing but pip ------------------------------------------------------


def test_embedded_copy_runs_in_a_venv_with_only_pip(tmp_path: Path, bare_venv: Path) -> None:
    python = venv_python(bare_venv)
    has_packaging = subprocess.run([python, "-c", "import packaging"], capture_output=True).returncode == 0
    assert not has_packaging, "the bare venv must not have a top-level packaging"
    elsewhere = tmp_path / "deploy" / "tools"
    elsewhere.mkdir(parents=True)
    shutil.copy(peep.__file__, elsewhere / "peep.py")
    (tmp_path / "pkg.whl").write_bytes(b"vetted bytes")
    result = run_peep("hash", str(tmp_path / "pkg.whl"), python=python, peep=elsewhere / "peep.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"# sha256: {peep_hash(b'vetted bytes')}\n"
    vendored = subprocess.run(
        [python, "-c", "import peep; print(peep.Version.__module__)"],
        cwd=elsewhere, capture_output=True, text=True, env=hermetic_env(),
    )
    assert vendored.stdout.strip() == "pip._vendor.packaging.version", vendored.stderr


def test_setup_py_takes_its_version_from_peep_py_without_importing_it(tmp_path: Path) -> None:
    root = Path(peep.__file__).parent
    result = subprocess.run([sys.executable, str(root / "setup.py"), "--version"], cwd=tmp_path,
                            capture_output=True, text=True, env=hermetic_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == peep.__version__
