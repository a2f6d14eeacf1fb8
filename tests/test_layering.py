"""The layers of docs/architecture.md, enforced on the source: who may import whom.

Read with ``ast`` (nothing is imported), so a lazy import inside a function counts for the
"never" rules; only top-level imports (outside ``if TYPE_CHECKING:``) make the graph checked for
cycles, since a lazy import is how a module may legitimately reach "up" at call time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pixclass"
# What store may build on: below it there is only reading files, settings and errors.
STORE_MAY_IMPORT = (
    "pixclass.store",
    "pixclass.io",
    "pixclass.config",
    "pixclass.errors",
    "pixclass.progress",
)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, ast.Module]:
    return {module_name(p): ast.parse(p.read_text(), str(p)) for p in PACKAGE.rglob("*.py")}


def _resolve(node: ast.ImportFrom, current: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = current.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join([*base, node.module] if node.module else base)


def imported(tree: ast.Module, current: str, is_package: bool, *, top_level: bool) -> set[str]:
    """The pixclass modules a module imports (``from a import b`` also counts ``a.b``)."""
    names: set[str] = set()
    nodes = _top_level_nodes(tree) if top_level else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node, current, is_package)
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
    return {n for n in names if n == "pixclass" or n.startswith("pixclass.")}


def _top_level_nodes(tree: ast.Module) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        out.extend(node.body if isinstance(node, ast.If | ast.Try) else [node])
    return out


@pytest.fixture(scope="module")
def graph() -> dict[str, dict[str, set[str]]]:
    trees = modules()
    packages = {module_name(p) for p in PACKAGE.rglob("__init__.py")}
    out: dict[str, dict[str, set[str]]] = {}
    for name, tree in trees.items():
        is_package = name in packages
        out[name] = {
            "all": {m for m in imported(tree, name, is_package, top_level=False) if m in trees},
            "top": {m for m in imported(tree, name, is_package, top_level=True) if m in trees},
        }
    return out


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_store_imports_nothing_above_io_config_errors(
    graph: dict[str, dict[str, set[str]]],
) -> None:
    wrong = {
        f"{name} imports {target}"
        for name, edges in graph.items()
        if _in(name, "pixclass.store")
        for target in edges["all"]
        if target != "pixclass" and not any(_in(target, allowed) for allowed in STORE_MAY_IMPORT)
    }
    assert not wrong, sorted(wrong)


@pytest.mark.parametrize("layer", ["pixclass.web", "pixclass.cli"])
def test_web_and_cli_reach_the_database_only_through_services(
    graph: dict[str, dict[str, set[str]]], layer: str
) -> None:
    wrong = {
        f"{name} imports {target}"
        for name, edges in graph.items()
        if _in(name, layer)
        for target in edges["all"]
        if _in(target, "pixclass.store")
    }
    assert not wrong, sorted(wrong)


def test_services_do_not_reach_up_into_web_cli_or_jobs(
    graph: dict[str, dict[str, set[str]]],
) -> None:
    above = ("pixclass.web", "pixclass.cli", "pixclass.jobs")
    wrong = {
        f"{name} imports {target}"
        for name, edges in graph.items()
        if _in(name, "pixclass.services")
        for target in edges["all"]
        if any(_in(target, layer) for layer in above)
    }
    assert not wrong, sorted(wrong)


def test_no_import_cycle_between_modules(graph: dict[str, dict[str, set[str]]]) -> None:
    # A package importing its own submodules (an __init__ re-exporting) is not a cycle unless a
    # submodule imports the package back: keep the package -> child edges, drop nothing else.
    edges = {name: {t for t in e["top"] if t != name} for name, e in graph.items()}
    cycle = _find_cycle(edges)
    assert cycle is None, " -> ".join(cycle or [])


def _find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None
