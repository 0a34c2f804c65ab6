from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers import LoopbackIndex, hermetic_env  # noqa: E402


@pytest.fixture
def index() -> Iterator[LoopbackIndex]:
    """A fresh loopback index for one test."""
    server = LoopbackIndex().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _no_user_pip_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's pip configuration out of in-process tests."""
    for key in list(os.environ):
        if key.startswith("PIP_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)


@pytest.fixture(scope="session")
def bare_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment with nothing in it but pip (and what venv adds)."""
    location = tmp_path_factory.mktemp("bare-venv")
    subprocess.run(
        [sys.executable, "-m", "venv", str(location)],
        check=True,
        env=hermetic_env(),
        capture_output=True,
    )
    return location


def venv_python(venv: Path) -> str:
    if os.name == "nt":  # pragma: no cover
        return str(venv / "Scripts" / "python.exe")
    return str(venv / "bin" / "python")
