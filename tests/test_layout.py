"""The house rules of the package layout, checked from the code's own imports (function-level ones included).

A frame travels sources → segmenters → matte → effects → sinks, and run/ drives it; each stage may import the
stages before it and the shared nouns, never a later stage. See README, "How it is built".
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bgblur"
SHARED = {"errors", "native", "frames", "imaging", "models", "threads"}
STAGES = ["shared", "sources", "segmenters", "matte", "effects", "sinks", "run", "app"]
MAX_LINES = 350
MAX_FUNCTION = 80


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def stage(module: str) -> str:
    """The stage a module belongs to: the shared nouns, a stage package, or the app on top (build, cli, ...)."""
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in SHARED:
        return "shared"
    return parts[1] if parts[1] in STAGES else "app"


def imports_of(module: str) -> dict[str, list[str]]:
    """Our modules that ``module`` imports (at any depth of its code), each with the names taken from it."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "bgblur":
                    found.setdefault(alias.name, [])
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "bgblur":
            assert node.level == 0, f"{module}: relative import"
            for alias in node.names:
                target = f"{node.module}.{alias.name}"
                if target in MODULES:  # `from bgblur.sources import files` imports a module
                    found.setdefault(target, [])
                else:
                    found.setdefault(node.module, []).append(alias.name)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def test_every_import_names_a_module_of_ours() -> None:
    for module, targets in GRAPH.items():
        for target in targets:
            assert target in MODULES, f"{module} imports {target}, which is not a module of bgblur"


def test_no_import_circle() -> None:
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> None:
        if module in done:
            return
        if module in visiting:
            circle = [*visiting[visiting.index(module) :], module]
            pytest.fail("import circle: " + " -> ".join(circle))
        visiting.append(module)
        for target in GRAPH[module]:
            visit(target)
        visiting.pop()
        done.add(module)

    for module in GRAPH:
        visit(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_stage_imports_only_itself_and_the_stages_before_it(module: str) -> None:
    own = STAGES.index(stage(module))
    later = [t for t in GRAPH[module] if STAGES.index(stage(t)) > own]
    assert not later, f"{module} ({stage(module)}) imports a later stage: {later}"


def test_the_shared_nouns_import_only_errors() -> None:
    for module in MODULES:
        if stage(module) == "shared" and module != "bgblur":
            assert set(GRAPH[module]) <= {"bgblur.errors"}, (module, GRAPH[module])


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_name_is_taken_from_another_module(module: str) -> None:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    taken = [n for names in GRAPH[module].values() for n in names if n.startswith("_") and not n.startswith("__")]
    assert not taken, f"{module} imports private names {taken}"
    # obj._x where obj is not self/cls: reaching into another object's private state.
    reached = [
        f"line {node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
    ]
    assert not reached, f"{module} reaches into private attributes: {reached}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_350_lines(module: str) -> None:
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module}: {lines} lines"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_function_is_over_80_lines_and_nothing_is_keyed_by_id(module: str) -> None:
    """A function fits on a screen; what a frame's analysis found travels as data, never looked up by ``id()``."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    long = {f.name: f.end_lineno - f.lineno + 1 for f in functions if f.end_lineno - f.lineno + 1 > MAX_FUNCTION}
    assert not long, f"{module}: functions over {MAX_FUNCTION} lines: {long}"
    calls = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "id"]
    assert not calls, f"{module}: id() at lines {calls}"


def test_the_layout_has_the_stage_packages() -> None:
    for package in STAGES[1:-1]:
        assert f"bgblur.{package}" in MODULES, package
    assert {"bgblur.build", "bgblur.cli"} <= set(MODULES)
