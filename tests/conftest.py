from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import settings

# The same examples on every run: a property test must not pass or fail by luck.
settings.register_profile("repeatable", derandomize=True, database=None)
settings.load_profile("repeatable")

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers import Deploy, LoopbackIndex, hermetic_env  # noqa: E402
import peep  # noqa: E402 (imported once, before any test imports it)


def _serving() -> Iterator[LoopbackIndex]:
    server = LoopbackIndex().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def index() -> Iterator[LoopbackIndex]:
    """A fresh loopback index for one test."""
    yield from _serving()


@pytest.fixture
def other_index() -> Iterator[LoopbackIndex]:
    """A second loopback index, on a port of its own: another host, a mirror's origin."""
    yield from _serving()


@pytest.fixture
def deploy(tmp_path: Path, index: LoopbackIndex) -> Deploy:
    """A requirements file, a --target dir and a telltale dir, installed from ``index``."""
    return Deploy(tmp_path, index)


@pytest.fixture(autouse=True)
def _no_user_pip_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's pip configuration out of in-process tests."""
    for key in list(os.environ):
        if key.startswith("PIP_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    # The ${VAR} values one in-process test expanded are masked in the output of every later one.
    monkeypatch.setattr(peep, "EXPANDED_VALUES", set())


@pytest.fixture(scope="session")
def bare_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment with nothing in it but the pip running these tests."""
    return make_bare_venv(tmp_path_factory.mktemp("bare-venv"))


def make_bare_venv(location: Path) -> Path:
    """Make a virtual environment at ``location`` holding only the pip running these tests.

    That pip (not the one venv would bundle) is linked in, so that a tox
    environment pinned to the oldest or newest pip tests peep with that pip.
    """
    import pip

    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(location)],
        check=True,
        env=hermetic_env(),
        capture_output=True,
    )
    purelib = subprocess.run(
        [venv_python(location), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, env=hermetic_env(), capture_output=True, text=True,
    ).stdout.strip()
    only_pip = location / "only-pip"
    only_pip.mkdir()
    (only_pip / "pip").symlink_to(Path(pip.__file__).parent, target_is_directory=True)
    Path(purelib, "only-pip.pth").write_text(str(only_pip) + "\n")
    return location


def site_venv(location: Path) -> str:
    """Make a virtual environment at ``location`` that sees this Python's site-packages, pip
    among them; return its Python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages",
                    str(location)], check=True)
    return venv_python(location)


def venv_python(venv: Path) -> str:
    if os.name == "nt":  # pragma: no cover
        return str(venv / "Scripts" / "python.exe")
    return str(venv / "bin" / "python")
