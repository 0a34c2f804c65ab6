"""Environments peep must cope with: an old top-level packaging, old Pythons."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, LoopbackIndex, block, hermetic_env, installed_in, run_peep, wheel_bytes

import peep

# --- An old top-level packaging -------------------------------------------------------


def _install_with_top_level_packaging(tmp_path: Path, index: LoopbackIndex, packaging_dir: Path) -> None:
    """Install a wheel with ``packaging_dir`` first on the path; peep must use one copy."""
    wheel = index.add(wheel_bytes("alpha", "1.0"))
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(block(wheel.data, "alpha==1.0"))
    env = hermetic_env(PYTHONPATH=str(packaging_dir))
    probe = subprocess.run(
        [sys.executable, "-c", "import packaging, peep; print(packaging.__version__, peep.Tag.__module__, "
         "peep.parse_wheel_filename.__module__, peep.Version.__module__)"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    old_version, *modules = probe.stdout.split()
    assert old_version.startswith("20."), probe.stderr
    assert modules == [
        "pip._vendor.packaging.tags", "pip._vendor.packaging.utils", "pip._vendor.packaging.version"
    ], probe.stderr
    target = tmp_path / "target"
    result = run_peep("install", "-r", str(requirements), "--target", str(target), "-i", index.url, env=env)
    assert result.returncode == 0, result.stderr
    assert installed_in(target) == {"alpha": "1.0"}


def test_a_top_level_packaging_without_parse_wheel_filename_is_not_mixed_in(
    tmp_path: Path, index: LoopbackIndex
) -> None:
    """A copy of the vendored packaging, made old: its own classes, no parse_wheel_filename.

    Had peep taken its tags from this copy and its wheel names from pip's,
    no tag would ever match and the wheel would be "for another platform".
    """
    import pip._vendor.packaging as vendored

    old = tmp_path / "old" / "packaging"
    shutil.copytree(Path(vendored.__file__).parent, old, ignore=shutil.ignore_patterns("__pycache__"))
    utils = (old / "utils.py").read_text()
    utils, removed = re.subn(r"\ndef parse_wheel_filename\(", "\ndef _gone_parse_wheel_filename(", utils)
    assert removed == 1
    (old / "utils.py").write_text(utils)
    init = old / "__init__.py"
    init.write_text(init.read_text() + '\n__version__ = "20.4"\n')
    _install_with_top_level_packaging(tmp_path, index, old.parent)


@pytest.mark.network
def test_a_real_packaging_20_4_is_not_mixed_in(tmp_path: Path, index: LoopbackIndex, request: pytest.FixtureRequest) -> None:
    """The same with the real packaging 20.4, installed once into pytest's cache."""
    cache = request.config.cache
    assert cache is not None
    target = Path(cache.mkdir("packaging-20.4"))
    if not (target / "packaging" / "__init__.py").exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target), "packaging==20.4"],
            check=True,
        )
    _install_with_top_level_packaging(tmp_path, index, target)


# --- Old Pythons ------------------------------------------------------------------------

OLD_PYTHONS = {
    version: Path.home() / ".pyenv" / "versions" / version / "bin" / "python"
    for version in ("3.8.18", "3.7.16", "3.6.15", "2.7.18")
}


def _run_old(version: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    python = OLD_PYTHONS[version]
    if not python.exists():
        pytest.skip(f"{python} is not installed here")
    return subprocess.run([str(python), str(ROOT / "peep.py"), "install", "-r", "r.txt"],
                          cwd=tmp_path, capture_output=True, text=True, env=hermetic_env())


@pytest.mark.parametrize("version", ["3.8.18", "3.7.16"])
def test_pythons_that_read_the_first_lines_exit_2_saying_peep_needs_3_9(tmp_path: Path, version: str) -> None:
    result = _run_old(version, tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"peep needs Python 3.9 or newer; this is Python {version} ({OLD_PYTHONS[version]})\n"


def test_python_3_6_stops_at_the_first_line_and_shows_why(tmp_path: Path) -> None:
    result = _run_old("3.6.15", tmp_path)
    assert result.returncode == 1
    assert "from __future__ import annotations  # peep needs Python 3.9 or newer" in result.stderr
    assert "SyntaxError: future feature annotations is not defined" in result.stderr


def test_importing_peep_on_an_old_python_is_an_import_error(tmp_path: Path) -> None:
    python = OLD_PYTHONS["3.8.18"]
    if not python.exists():
        pytest.skip(f"{python} is not installed here")
    result = subprocess.run([str(python), "-c", "import peep"], cwd=ROOT, capture_output=True, text=True, env=hermetic_env())
    assert result.returncode == 1
    assert result.stderr.rstrip().endswith(f"ImportError: peep needs Python 3.9 or newer; this is Python 3.8.18 ({python})")


def test_the_version_check_comes_before_anything_that_needs_3_9() -> None:
    text = (ROOT / "peep.py").read_text()
    check = text.index("if sys.version_info < (3, 9):")
    assert text.index("from __future__ import annotations") < check < text.index("__version__ =")
    assert text.index("import argparse") > check
    assert peep.sys.version_info >= (3, 9)


# --- Small things: pipes, duplicate files, a broken pip ---------------------------------


def test_run_pip_closes_its_stderr_pipe() -> None:
    import gc
    import io
    import os
    import warnings

    err = io.StringIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        status = peep.run_pip([sys.executable, "-c", "import sys; sys.stderr.write('said\\n')"], err, dict(os.environ))
        gc.collect()
    assert (status, err.getvalue()) == (0, "said\n")
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_hash_release_fetches_a_file_two_indexes_serve_once(
    index: LoopbackIndex, other_index: LoopbackIndex
) -> None:
    wheel = wheel_bytes("alpha", "1.0")
    index.add(wheel)
    other_index.add(wheel)
    result = run_peep("hash", "alpha==1.0", "-i", index.url, "--extra-index-url", other_index.url)
    assert result.returncode == 0, result.stderr
    assert result.stdout == block(wheel[1], "alpha==1.0")
    assert result.stderr.count("alpha-1.0-py3-none-any.whl") == 1, result.stderr
    assert (index.file_requests(), other_index.file_requests()) == (["/files/alpha-1.0-py3-none-any.whl"], [])


def test_two_indexes_advertising_different_bytes_for_one_file_are_named() -> None:
    import io

    def candidate(url: str, digest: str) -> peep.Candidate:
        return peep.Candidate(filename="a-1.0.tar.gz", url=url, name="a", version=peep.Version("1.0"),
                              is_wheel=False, advertised=(("sha256", digest),))

    err = io.StringIO()
    kept = peep._one_per_filename([candidate("https://one/a-1.0.tar.gz", "1" * 64),
                                   candidate("https://two/a-1.0.tar.gz", "2" * 64)], err)
    assert [c.url for c in kept] == ["https://one/a-1.0.tar.gz"]
    assert err.getvalue() == (
        "peep hash: https://two/a-1.0.tar.gz advertises other bytes for a-1.0.tar.gz "
        "than https://one/a-1.0.tar.gz; only the latter is hashed\n"
    )


def test_a_broken_pip_is_named_as_the_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = [sys.executable, "-c", "import sys; sys.stderr.write('ImportError: pip is broken\\n'); sys.exit(1)"]
    monkeypatch.setattr(peep, "pip_command", lambda: broken)
    with pytest.raises(peep.PeepError) as info:
        peep.pip_default_index()
    assert str(info.value) == (
        f"pip itself failed (exit status 1) when peep ran '{sys.executable} -m pip install --help' "
        "to learn its default index:\n    ImportError: pip is broken\nFix pip, or name an index with --index-url"
    )


def test_a_near_miss_hash_line_vouches_for_nothing_and_install_says_why(tmp_path: Path, index: LoopbackIndex) -> None:
    wheel = index.add(wheel_bytes("alpha", "1.0"))
    near_miss = block(wheel.data, "alpha==1.0").replace("# sha256: ", "#sha256: ")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(near_miss)
    target = tmp_path / "target"
    result = run_peep("install", "-r", str(requirements), "--target", str(target), "-i", index.url)
    assert result.returncode == 1
    assert result.stderr.startswith(f"peep: warning: {requirements} line 1: '#sha256: "), result.stderr
    assert "had no hashes specified" in result.stderr
    assert installed_in(target) == {}
