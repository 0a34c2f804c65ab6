"""peep's parser against pip's own, on every valid input of the parser's tables.

pip's internals are used here, in a test, so that the two parsers cannot
drift apart silently; peep.py itself never imports them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple, Union

import pytest
import test_requirements
from packaging.utils import canonicalize_name
from packaging.version import Version

import peep

pip = pytest.importorskip("pip")
PIP_VERSION = Version(pip.__version__)
if PIP_VERSION < Version("23"):
    pytest.skip(f"pip {pip.__version__} is older than 23", allow_module_level=True)

from pip._internal.network.session import PipSession  # noqa: E402
from pip._internal.req.constructors import install_req_from_parsed_requirement  # noqa: E402
from pip._internal.req.req_file import (  # noqa: E402
    SUPPORTED_OPTIONS,
    SUPPORTED_OPTIONS_REQ,
    parse_requirements,
)

PIP_FILE_OPTIONS = {option().get_opt_string() for option in SUPPORTED_OPTIONS + SUPPORTED_OPTIONS_REQ}

Picture = Tuple[Optional[str], str, Optional[str], str, Optional[str], Tuple[str, ...], bool]


def pip_picture(path: Path) -> List[Picture]:
    """What pip makes of each requirement of a file: name, specifier, URL, extras, marker, hashes."""
    pictures = []
    for parsed in parse_requirements(str(path), session=PipSession()):
        if parsed.is_editable:
            pictures.append((None, "", parsed.requirement, "", None, (), True))
            continue
        ireq = install_req_from_parsed_requirement(parsed)
        hashes: Set[str] = set(ireq.hash_options.get("sha256", []))
        if ireq.link is not None and ireq.link.hash_name == "sha256" and ireq.link.hash:
            hashes.add(ireq.link.hash)
        marker = ireq.markers if ireq.markers is not None else (ireq.req.marker if ireq.req else None)
        url = ireq.link.url if ireq.link is not None else None
        pictures.append((
            canonicalize_name(ireq.req.name) if ireq.req else None,
            str(ireq.req.specifier) if ireq.req and url is None else "",
            url,
            ",".join(sorted(ireq.req.extras)) if ireq.req else "",
            str(marker) if marker else None,
            tuple(sorted(h.lower() for h in hashes)),
            False,
        ))
    return pictures


def peep_picture(records: List[Union[peep.Requirement, peep.FileOption]], comment_hashes: Set[str]) -> List[Picture]:
    """The same picture of peep's records (hashes from '# sha256:' lines left out: pip ignores them)."""
    return [
        (
            None if r.text.startswith("-e ") else canonicalize_name(r.name) if r.name else None,
            str(r.specifier) if r.url is None else "",
            r.url,
            "" if r.text.startswith("-e ") else ",".join(sorted(r.extras)),
            str(r.marker) if r.marker else None,
            tuple(sorted(r.hashes.sha256 - comment_hashes)),
            r.text.startswith("-e "),
        )
        for r in records
        if isinstance(r, peep.Requirement)
    ]


def pip_knows_every_option(text: str) -> bool:
    return all(
        any(option.startswith(word.split("=", 1)[0]) for option in PIP_FILE_OPTIONS)
        for word in text.split()
        if word.startswith("--") and len(word) > 2 and not word.startswith(("--build-option", "--global-option"))
    )


CASES = [text for text, _ in test_requirements.VALID]


@pytest.mark.parametrize("text", CASES, ids=[repr(t)[:60] for t in CASES])
def test_peep_and_pip_read_each_valid_line_alike(tmp_path: Path, text: str) -> None:
    if not pip_knows_every_option(text):
        pytest.skip(f"pip {pip.__version__} lacks an option of this line")
    path = tmp_path / "requirements.txt"
    path.write_text(text)
    records = list(peep.parse_requirements_file(str(path), environ={}, warn=lambda message: None))
    comments: Dict[str, None] = {}
    for line in peep.scan_requirements_text(text, str(path), {}):
        if isinstance(line, peep.HashComment):
            comments[line.hexdigest] = None
    assert peep_picture(records, set(comments)) == pip_picture(path)


def test_the_differential_test_sees_a_difference() -> None:
    """A difference in any field shows: the picture is not vacuous."""
    assert pip_knows_every_option("foo --hash=sha256:00 --ha=sha256:00")
    assert not pip_knows_every_option("--no-such-option x")
