"""What counts as installed: the metadata directories install reads to skip what is satisfied.

A metadata directory pip itself would not take for a distribution (no Name in its METADATA)
provides nothing: not the requirement it looks like, not a dependency. Of two copies of one
project's metadata in one directory, install counts neither: which one a tool sees depends
on the order the directory lists them in.
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path
from typing import Callable, List

import pytest
from helpers import Deploy, block, wheel_bytes

import peep

OMITTED = "The following dependencies are needed by packages being installed but are"


def nameless_metadata(site: Path, directory: str, version: str) -> Path:
    """Write a metadata directory whose METADATA gives a Version but no Name."""
    path = site / directory
    path.mkdir(parents=True)
    (path / "METADATA").write_text(f"Metadata-Version: 2.1\nVersion: {version}\n")
    (path / "RECORD").write_text("")
    return path


def test_a_dist_info_without_a_name_does_not_make_a_requirement_installed(deploy: Deploy) -> None:
    wheel = deploy.index.add(wheel_bytes("alpha", "1.0"))
    nameless_metadata(deploy.target, "alpha-1.0.dist-info", "1.0")
    deploy.write(block(wheel.data, "alpha==1.0"))
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert "These packages were already installed" not in result.stderr
    assert deploy.index.file_requests() == ["/files/alpha-1.0-py3-none-any.whl"]
    assert (deploy.target / "alpha.py").is_file()


def test_an_egg_info_without_a_name_does_not_make_a_requirement_installed(deploy: Deploy) -> None:
    wheel = deploy.index.add(wheel_bytes("alpha", "1.0"))
    path = deploy.target / "alpha-1.0-py3.egg-info"
    path.mkdir(parents=True)
    (path / "PKG-INFO").write_text("Metadata-Version: 1.1\nVersion: 1.0\n")
    deploy.write(block(wheel.data, "alpha==1.0"))
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert "These packages were already installed" not in result.stderr
    assert (deploy.target / "alpha.py").is_file()


def test_a_dist_info_without_a_name_provides_no_dependency(deploy: Deploy) -> None:
    """All or nothing: a dependency that only a nameless metadata directory claims is omitted,
    and nothing is installed."""
    app = deploy.index.add(wheel_bytes("app", "1.0", requires=["helper"]))
    deploy.index.add(wheel_bytes("helper", "1.0"))
    nameless_metadata(deploy.target, "helper-1.0.dist-info", "1.0")
    deploy.write(block(app.data, "app==1.0"))
    result = deploy.install()
    assert result.returncode == 1, result.stderr
    assert OMITTED in result.stderr
    assert "    helper, needed by app==1.0 (" in result.stderr
    assert not (deploy.target / "app.py").exists()


def test_a_nameless_copy_does_not_hide_the_version_installed(tmp_path: Path) -> None:
    site = tmp_path / "site"
    real = site / "alpha-2.0.dist-info"
    real.mkdir(parents=True)
    (real / "METADATA").write_text("Metadata-Version: 2.1\nName: alpha\nVersion: 2.0\n")
    nameless_metadata(site, "Alpha-1.0.dist-info", "1.0")  # sorts before the real one
    versions, _ = peep.installed_here([str(site)])
    assert versions == {"alpha": "2.0"}


@pytest.mark.parametrize("listed", [sorted, functools.partial(sorted, reverse=True)])
def test_of_two_copies_in_one_directory_install_counts_neither(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, listed: Callable[[List[str]], List[str]]
) -> None:
    """Which copy importlib (and so pip) finds first is the order the directory lists them in,
    which differs between file systems: either may be the one seen, so neither satisfies."""
    site = tmp_path / "site"
    (site / "alpha-2.0.dist-info").mkdir(parents=True)
    (site / "alpha-2.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: alpha\nVersion: 2.0\n")
    (site / "alpha-1.0-py3.egg-info").mkdir()
    (site / "alpha-1.0-py3.egg-info" / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: alpha\nVersion: 1.0\n")
    (site / "beta-1.0.dist-info").mkdir()
    (site / "beta-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: beta\nVersion: 1.0\n")
    listdir = os.listdir
    monkeypatch.setattr(os, "listdir", lambda path=".": listed(listdir(path)))
    versions, _ = peep.installed_here([str(site)])
    assert versions == {"beta": "1.0"}
    other = tmp_path / "other"  # a copy in a later directory is shadowed by the first: it counts
    other.mkdir()
    shutil.move(str(site / "alpha-1.0-py3.egg-info"), str(other / "alpha-1.0-py3.egg-info"))
    assert peep.installed_here([str(site), str(other)])[0] == {"alpha": "2.0", "beta": "1.0"}
