"""peep.py reads like its table of contents: these check that it still does.

The map at the top names the sections in the order their banners appear,
every section holds code, no section uses a name that a later one defines
(main's dispatch is the one place that looks forward), and no function is
longer than a screen."""

import ast
import re
from pathlib import Path
from typing import Dict, List, Tuple

import peep

SOURCE = Path(peep.__file__).read_text(encoding="utf-8")
BANNER = re.compile(r"^# --- (.+?) -+$")
MAP_ENTRY = re.compile(r"^#   (\S.*?)  +\S")
LONGEST_FUNCTION = 50


def banners(source: str) -> List[Tuple[int, str]]:
    """Return (line number, title) of each section banner."""
    found = []
    for number, line in enumerate(source.splitlines(), 1):
        match = BANNER.match(line)
        if match:
            found.append((number, match.group(1)))
    return found


def map_titles(source: str) -> List[str]:
    """Return the section names the map above the first banner lists."""
    first = banners(source)[0][0]
    lines = source.splitlines()[:first]
    return [match.group(1) for match in map(MAP_ENTRY.match, lines) if match]


def section_of(line: int, starts: List[int]) -> int:
    return sum(1 for start in starts if start <= line) - 1


def defined_names(node: ast.stmt) -> List[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [target.id for target in node.targets if isinstance(target, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def forward_uses(source: str) -> List[str]:
    """Every use, annotations included, of a top-level name a later section defines."""
    tree = ast.parse(source)
    found = banners(source)
    starts = [start for start, _ in found]
    where: Dict[str, int] = {}
    for node in tree.body:
        for name in defined_names(node):
            where.setdefault(name, section_of(node.lineno, starts))
    forward = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "main":
            continue  # the dispatch
        here = section_of(node.lineno, starts)
        for child in ast.walk(node):
            if (isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load)
                    and where.get(child.id, -1) > here):
                forward.append(f"line {child.lineno}: {found[here][1]!r} uses {child.id} "
                               f"from {found[where[child.id]][1]!r}")
    return forward


def long_functions(source: str) -> List[str]:
    return [
        f"{node.name} (line {node.lineno}): {node.end_lineno - node.lineno + 1} lines"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > LONGEST_FUNCTION
    ]


def test_the_map_names_every_section_in_order() -> None:
    titles = [title for _, title in banners(SOURCE)]
    assert len(titles) >= 10
    assert map_titles(SOURCE) == titles


def test_every_section_holds_code() -> None:
    tree = ast.parse(SOURCE)
    found = banners(SOURCE)
    ends = [start for start, _ in found[1:]] + [len(SOURCE.splitlines()) + 1]
    for (start, title), end in zip(found, ends):  # noqa: B905 (3.9 has no strict=)
        assert any(start < node.lineno < end for node in tree.body), f"{title!r} is empty"


def test_no_section_uses_a_name_from_a_later_section() -> None:
    assert forward_uses(SOURCE) == []


def test_no_function_is_longer_than_a_screen() -> None:
    assert long_functions(SOURCE) == []


def test_the_checks_see_what_they_look_for() -> None:
    sample = (
        "# --- First ---\n\n"
        "def early() -> 'Later':\n    return late()\n\n\n"
        "# --- Second ---\n\n"
        "class Later:\n    pass\n\n\n"
        "def late():\n" + "    x = 1\n" * LONGEST_FUNCTION + "    return Later()\n"
    )
    assert forward_uses(sample) == [
        "line 4: 'First' uses late from 'Second'",
    ]
    assert long_functions(sample) == ["late (line 13): 52 lines"]


def trust_sections(source: str) -> Dict[str, int]:
    """Return the length in lines of each section whose banner says [trust]."""
    found = banners(source) + [(len(source.splitlines()) + 1, "end")]
    return {title: end - start for (start, title), (end, _) in zip(found, found[1:])  # noqa: B905 (3.9 has no strict)
            if title.endswith("[trust]")}


def test_only_accept_makes_a_verified_record() -> None:
    # The trust path's choke point: a reviewer reads accept() to know when a
    # file becomes Verified, because nothing else builds one.
    makers = sorted({
        function.name
        for function in ast.walk(ast.parse(SOURCE)) if isinstance(function, ast.FunctionDef)
        for call in ast.walk(function)
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "Verified"
    })
    assert makers == ["accept"]
    assert "Accepting [trust]" in trust_sections(SOURCE)


def test_the_map_marks_the_trust_path() -> None:
    marked = [title for title in map_titles(SOURCE) if title.endswith("[trust]")]
    assert marked == list(trust_sections(SOURCE)) and len(marked) >= 5


# Methods whose signature the standard library sets (urllib's redirect hook).
STDLIB_SIGNATURES = {"redirect_request"}
WIDEST_SIGNATURE = 5


def wide_functions(source: str) -> List[str]:
    """Every function taking more than five parameters (self aside, keyword-only counted)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name not in STDLIB_SIGNATURES:
            arguments = node.args
            names = [a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs]
            names += [a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None]
            if names[:1] in (["self"], ["cls"]):
                names = names[1:]
            if len(names) > WIDEST_SIGNATURE:
                found.append(f"{node.name} (line {node.lineno}): {len(names)} parameters")
    return found


def test_no_function_takes_more_than_five_parameters() -> None:
    assert wide_functions(SOURCE) == []
    assert wide_functions("def f(a, b, c, *, d, e, g):\n    pass\n") == ["f (line 1): 6 parameters"]


# The trust path is what a reviewer must read. Its goal is about 2,500 lines;
# this ceiling only ever comes down.
TRUST_PATH_CEILING = 2500


def test_the_trust_path_stays_within_its_ceiling() -> None:
    assert sum(trust_sections(SOURCE).values()) <= TRUST_PATH_CEILING
