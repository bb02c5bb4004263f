"""The package's structure, read from its source: imports form no cycle, and imports
written inside functions are rare and explained.

The layers themselves are checked by ``lint-imports`` (contracts in pyproject.toml).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tapeflow"
LOCAL_IMPORTS_ALLOWED = 10


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imported(node: ast.AST, module: str) -> list[str]:
    """The tapeflow modules an import statement loads (a name may be a submodule)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom):
        if node.level:  # relative: resolve against this module's package
            base = module.split(".")[: -node.level or None]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        # ``from pkg import sub`` loads the submodule; ``from mod import name``, the module.
        names = [
            f"{source}.{a.name}" if f"{source}.{a.name}" in MODULES else source for a in node.names
        ]
    else:
        return []
    found = []
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name.startswith("tapeflow") and name != "tapeflow":
            found.append(name)
    return found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            targets.update(t for t in _imported(node, module) if t != module)
        graph[module] = targets
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the list of modules along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for t in sorted(graph.get(m, ())):
            if state.get(t) == 1:
                return path[path.index(t) :] + [t]
            if t not in state and (found := visit(t)) is not None:
                return found
        path.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)) is not None:
            return found
    return None


def test_no_import_cycle_between_tapeflow_modules() -> None:
    graph = _graph()
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def _local_imports() -> list[tuple[str, int, str]]:
    """(module, line, source line) of every tapeflow import written inside a function."""
    found = []
    for module, path in MODULES.items():
        source = path.read_text()
        lines = source.splitlines()
        for fn in ast.walk(ast.parse(source)):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if _imported(node, module):
                    found.append((module, node.lineno, lines[node.lineno - 1].strip()))
    return found


def test_function_local_imports_are_few_and_explained() -> None:
    local = _local_imports()
    assert len(local) <= LOCAL_IMPORTS_ALLOWED, local
    unexplained = [entry for entry in local if "#" not in entry[2]]
    assert not unexplained, f"give each function-local import a one-line reason: {unexplained}"


@pytest.mark.parametrize("module", ["tapeflow.core.tape", "tapeflow.core.primitive"])
def test_the_graph_sees_the_core_imports(module: str) -> None:
    assert "tapeflow.core.tracer" in _graph()[module]
