"""peep's records are plain dataclasses, and ``import peep`` gives a library
caller working classes and functions with no hidden set-up call."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

import peep
from helpers import hermetic_env


def test_peeps_records_are_dataclasses() -> None:
    requirement = peep.parse_requirement("alpha==1.0", peep.COMMAND_LINE)
    assert dataclasses.is_dataclass(peep.Requirement) and dataclasses.is_dataclass(requirement)
    assert requirement == peep.parse_requirement("alpha==1.0", peep.COMMAND_LINE)
    assert requirement != peep.parse_requirement("alpha==2.0", peep.COMMAND_LINE)
    assert repr(requirement).startswith("Requirement(text='alpha==1.0', ")
    with pytest.raises(dataclasses.FrozenInstanceError):
        requirement.text = "beta"  # type: ignore[misc]
    assert hash(requirement) == hash(peep.parse_requirement("alpha==1.0", peep.COMMAND_LINE))
    assert peep.replace(requirement, text="x").text == "x"
    # a default_factory field gives each record its own value
    assert requirement.hashes == peep.Hashes() and requirement.hashes is not peep.Hashes()


def test_a_library_caller_needs_no_set_up_call() -> None:
    # A fresh interpreter that only imports peep can parse, compare versions
    # and build records at once: nothing is bound later by a hidden call.
    program = (
        "import peep\n"
        "r = peep.parse_requirement('Alpha[x]>=1.0', peep.COMMAND_LINE)\n"
        "print(r.key, peep.Version('1.0') < peep.Version('1.1'),\n"
        "      peep.canonicalize_name('A_B'), type(peep.SpecifierSet('>1')).__name__)\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                            cwd=str(Path(peep.__file__).parent), env=hermetic_env())
    assert result.stdout.split() == ["alpha", "True", "a-b", "SpecifierSet"], result.stderr


def test_packaging_names_all_come_from_one_copy() -> None:
    # A Tag of one copy never equals a Tag of the other: every name peep
    # binds must come from the package that packaging_modules() chose.
    modules = peep.packaging_modules()
    package = modules[0].__name__.rsplit(".", 1)[0]
    for name in ("Version", "SpecifierSet", "Marker", "Tag", "canonicalize_name",
                 "PackagingRequirement", "parse_wheel_filename"):
        assert getattr(peep, name).__module__.startswith(package + "."), name
