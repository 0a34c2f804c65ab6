"""What peep imports and runs before it does its work (issue 13: start-up).

No timings here: the benchmark measures those (bench/bench.py --only
startup). These tests pin down the causes instead: which modules a command
imports, and that ``--version`` starts no process.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Set

import pytest

import peep
from helpers import hermetic_env, peep_hash

PEEP = Path(peep.__file__).resolve()

# What only some commands need. None of it may be imported by "peep hash
# FILE", "peep --version" or a command handed to pip. (packaging and
# dataclasses, with platform for packaging.tags, are imported when peep is:
# a library caller gets working names.)
HEAVY = (
    "pip", "urllib.request", "urllib.parse", "http.client", "ssl", "email.parser",
    "html.parser", "concurrent.futures", "tarfile", "zipfile", "importlib.metadata", "json",
    "tempfile", "csv", "configparser", "netrc", "difflib",
)  # fmt: skip

# Runs peep the way each entry point does, then reports what the process
# imported and whether it started another process.
_WRAPPER = r"""
import runpy, sys
spawned = []
def audit(event, args):
    if event in ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork"):
        spawned.append(event)
sys.addaudithook(audit)
how, peep_path, arguments = sys.argv[1], sys.argv[2], sys.argv[3:]
before = set(sys.modules)
status = None
try:
    if how == "script":  # python peep.py ...
        sys.argv = [peep_path] + arguments
        runpy.run_path(peep_path, run_name="__main__")
    elif how == "module":  # python -m peep ...
        sys.argv = [peep_path] + arguments
        sys.path.insert(0, peep_path.rsplit("/", 1)[0])
        runpy.run_module("peep", run_name="__main__", alter_sys=True)
    else:  # the console script: from peep import main; sys.exit(main())
        sys.path.insert(0, peep_path.rsplit("/", 1)[0])
        from peep import main
        status = main(arguments)
except SystemExit as exc:
    status = exc.code
imported = sorted(set(sys.modules) - before)
import json
sys.stdout.flush()
sys.stderr.write("\nSTARTUP-REPORT " + json.dumps(
    {"status": status, "spawned": spawned, "imported": imported}
) + "\n")
"""


def run_wrapped(how: str, *arguments: str, cwd: Path) -> Dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", _WRAPPER, how, str(PEEP), *arguments],
        capture_output=True, text=True, env=hermetic_env(), cwd=cwd, timeout=300,
    )  # fmt: skip
    head, marker, report = result.stderr.rpartition("STARTUP-REPORT ")
    assert marker, result.stderr
    facts: Dict[str, Any] = json.loads(report)
    facts["stdout"], facts["stderr"] = result.stdout, head
    return facts


def heavy_imports(imported: List[str]) -> Set[str]:
    return {name for name in imported for heavy in HEAVY if name == heavy or name.startswith(heavy + ".")}


@pytest.mark.parametrize("how", ["script", "module", "console"])
def test_hash_of_a_file_imports_only_what_hashing_needs(tmp_path: Path, how: str) -> None:
    archive = tmp_path / "pkg-1.0.tar.gz"
    archive.write_bytes(b"vetted bytes")
    facts = run_wrapped(how, "hash", str(archive), cwd=tmp_path)
    assert facts["status"] in (0, None), facts["stderr"]
    assert facts["stdout"] == f"# sha256: {peep_hash(b'vetted bytes')}\n"
    assert heavy_imports(facts["imported"]) == set()
    assert facts["spawned"] == []


def test_hash_of_a_missing_file_reports_it_without_the_heavy_modules(tmp_path: Path) -> None:
    facts = run_wrapped("script", "hash", "-q", "--format", "pip", str(tmp_path / "gone.whl"), cwd=tmp_path)
    assert facts["status"] == peep.EXIT_FAILED
    assert "peep hash: cannot read" in facts["stderr"]
    assert heavy_imports(facts["imported"]) == set()


def test_version_names_both_versions_without_running_pip(tmp_path: Path) -> None:
    facts = run_wrapped("script", "--version", cwd=tmp_path)
    assert facts["status"] == 0, facts["stderr"]
    assert facts["spawned"] == []  # no pip process: that took most of a second
    assert heavy_imports(facts["imported"]) == set()  # pip itself is not imported either
    ours, pips = facts["stdout"].splitlines()
    assert ours == f"peep {peep.__version__} from {PEEP}"
    real = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, text=True,
                          env=hermetic_env(), cwd=tmp_path, check=True)
    assert pips == real.stdout.strip()  # the very line pip prints, for the pip peep would run


def test_version_says_so_when_there_is_no_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert peep.pip_version() == f"unknown (no pip for {sys.executable})"


def test_a_command_for_pip_imports_nothing_of_peeps_own_work(tmp_path: Path) -> None:
    facts = run_wrapped("script", "help", "list", cwd=tmp_path)
    assert facts["status"] == 0, facts["stderr"]
    assert "pip list" in facts["stdout"]  # pip's own help for its list command
    assert facts["spawned"]  # pip ran, as a process
    assert heavy_imports(facts["imported"]) == set()


# --- the source itself: every lazy import is where it is used ----------------------


def _lazy_modules(tree: ast.Module) -> Set[str]:
    """Modules peep.py imports inside functions, or only for the type checker."""
    modules: Set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            modules |= {alias.name for st in node.body if isinstance(st, ast.Import) for alias in st.names}
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            modules |= {alias.name for sub in ast.walk(node) if isinstance(sub, ast.Import)
                        for alias in sub.names}
    return modules


def _dotted(node: ast.expr) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id] + parts[::-1]) if isinstance(node, ast.Name) else ""


class _Uses(ast.NodeVisitor):
    """Collect each run-time use of a lazy module with the functions around it."""

    def __init__(self, modules: Set[str]) -> None:
        self.modules = modules
        self.scopes: List[ast.AST] = []
        self.found: List[tuple[List[ast.AST], str, int]] = []

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        for expression in node.decorator_list + node.args.defaults + [d for d in node.args.kw_defaults if d]:
            self.visit(expression)  # these run where the function is defined
        self.scopes.append(node)
        for statement in node.body:
            self.visit(statement)
        self.scopes.pop()

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        raise AssertionError("peep.py has no async functions")

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.visit(node.body)

    def visit_arg(self, node: ast.arg) -> None:
        pass  # annotations are never evaluated (from __future__ import annotations)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        name = _dotted(node)
        used = [module for module in self.modules if name == module or name.startswith(module + ".")]
        if used:
            self.found.append((list(self.scopes), max(used, key=len), node.lineno))
        else:
            self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in self.modules:
            self.found.append((list(self.scopes), node.id, node.lineno))


def _imports_in(function: ast.AST) -> Set[str]:
    return {alias.name for sub in ast.walk(function) if isinstance(sub, ast.Import) for alias in sub.names}


def test_every_lazily_imported_module_is_imported_by_the_function_that_uses_it() -> None:
    tree = ast.parse(PEEP.read_text(encoding="utf-8"))
    uses = _Uses(_lazy_modules(tree))
    for statement in tree.body:
        if not (isinstance(statement, ast.If) and isinstance(statement.test, ast.Name)
                and statement.test.id == "TYPE_CHECKING"):
            uses.visit(statement)
    missing = [
        f"line {line}: {module} used " + (f"in {getattr(scopes[-1], 'name', '?')}()" if scopes else "at module level")
        for scopes, module, line in uses.found
        if not any(module in _imports_in(scope) for scope in scopes)
    ]
    assert missing == []
    assert len(uses.found) > 100  # the check saw the uses it is about
