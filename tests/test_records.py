"""peep's records become dataclasses when first built: they must behave
exactly as if they had been made when the module loaded."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any, List, Tuple

import pytest

import peep
from helpers import hermetic_env


def test_peeps_records_are_dataclasses_once_built() -> None:
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


def test_every_record_class_is_made_as_declared() -> None:
    """Each record class of peep, made now, has the options its decorator gave."""
    unmade = dict(peep._UNMADE)
    made = [cls for cls in vars(peep).values()
            if isinstance(cls, type) and cls.__module__ == "peep"
            and (cls in unmade or "__dataclass_fields__" in vars(cls))]
    assert len(made) > 30
    peep.make_records()
    assert peep._UNMADE == {}
    for cls in made:
        assert dataclasses.is_dataclass(cls), cls
        assert vars(cls).get("__init__") is not peep._make_then_init, cls
        if cls in unmade:
            assert vars(cls)["__dataclass_params__"].frozen == unmade[cls].get("frozen", False)


@pytest.mark.parametrize("argv", [["check", "-r", "missing.txt"], ["port", "missing.txt"],
                                  ["install", "-r", "missing.txt"], ["hash", "alpha=="]])
def test_commands_make_every_record_before_any_thread_starts(argv: List[str]) -> None:
    # Making a class while another thread builds one could show that thread a
    # class half made; so every command that may start threads makes them all
    # first, on the main thread, and only "peep hash FILE" leaves them unmade.
    program = (
        "import io, peep\n"
        "try:\n"
        f"    peep.run({argv!r}, io.StringIO(), io.StringIO())\n"
        "except Exception:\n"
        "    pass  # each fails on its missing file, after the records are made\n"
        "print(len(peep._UNMADE))\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                            cwd=str(Path(peep.__file__).parent), env=hermetic_env())
    assert result.stdout.strip() == "0", result.stderr
    lazy = subprocess.run(
        [sys.executable, "-c", program.replace(repr(argv), repr(["hash", peep.__file__]))],
        capture_output=True, text=True, cwd=str(Path(peep.__file__).parent), env=hermetic_env())
    assert int(lazy.stdout.strip()) > 30, lazy.stderr


def _records() -> Tuple[Any, Any]:
    """A base and a subclass, as peep declares its records, not yet made."""

    @peep.dataclass(frozen=True)
    class Base:
        name: str
        tags: List[str] = peep.field(default_factory=list)

    @peep.dataclass(frozen=True)
    class Child(Base):
        size: int = 0

    return Base, Child


def test_a_subclass_built_first_makes_its_base_first() -> None:
    Base, Child = _records()
    assert not dataclasses.is_dataclass(Base)
    child = Child("a", size=3)
    assert dataclasses.is_dataclass(Base) and dataclasses.is_dataclass(Child)
    assert [f.name for f in dataclasses.fields(Child)] == ["name", "tags", "size"]
    assert child == Child("a", [], 3) and child != Base("a")
    assert Base("b").tags is not Base("c").tags  # a fresh list each
    with pytest.raises(TypeError):
        Child()  # the made __init__ checks its arguments as a dataclass's does


def test_a_record_with_its_own_init_is_made_at_once() -> None:
    @peep.dataclass
    class Own:
        value: int = 0

        def __init__(self, value: int) -> None:
            self.value = value * 2

    assert dataclasses.is_dataclass(Own) and Own(2).value == 4
    assert Own not in peep._UNMADE
