"""The package's import graph: no loops between modules or folders, no arrows that run back up, no internal
imports through shims, and logic only in the few top-level modules that hold it.

The graph is read from the source with :mod:`ast`, every ``import`` counted, also those inside functions
(a lazy import still ties the two modules together).
"""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "extensions"

# Top-level modules that only re-export (a public name or a ``python -m`` entry point); nothing inside
# the package may import them. config and errors are home modules, not shims; the package's __init__
# hands out the handful of names a user needs. These three are the only top-level modules with logic.
HOMES_AT_TOP = {"extensions", "extensions.config", "extensions.errors"}
RETIRED = ["checkpoint.py", "logging_enhanced.py", "tiny.py"]  # moved to extensions.training

# Layers from the bottom up; a module may import its own layer or one below, never one above.
# ``defaults`` holds, as data, what several layers share (preset names, clause weights, tool limits).
LAYERS = {
    "_util": 0,
    "errors": 0,
    "defaults": 0,
    "sql": 1,
    "execution": 2,
    "config": 3,
    "tool": 3,
    "data": 4,
    "rewards": 5,
    "integrations": 6,
    "training": 7,
    "cli": 7,
}
APPS = {"training", "cli"}  # the two applications on top: neither imports the other
CORE = {"sql", "execution", "rewards", "config"}
ABOVE_CORE = {"integrations", "training", "cli"}


def _modules() -> dict[str, pathlib.Path]:
    mods = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


def _owner(name: str, mods: dict[str, pathlib.Path]) -> str | None:
    """The module of ours that ``name`` (a module or a name inside one) belongs to."""
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name or None


def _targets(node: ast.AST, module: str, is_package: bool, mods: dict[str, pathlib.Path]) -> set[str]:
    if isinstance(node, ast.Import):
        return {t for a in node.names if (t := _owner(a.name, mods))}
    if not isinstance(node, ast.ImportFrom):
        return set()
    base = node.module or ""
    if node.level:
        pkg = module.split(".") if is_package else module.split(".")[:-1]
        pkg = pkg[: len(pkg) - (node.level - 1)]
        base = ".".join(pkg + ([base] if base else []))
    out = set()
    for alias in node.names:
        full = f"{base}.{alias.name}"
        target = full if full in mods else _owner(base, mods)
        if target:
            out.add(target)
    return out


def import_graph() -> dict[str, set[str]]:
    """Each module of the package mapped to the modules of the package it imports."""
    mods = _modules()
    graph = {}
    for module, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        targets = set().union(*(_targets(n, module, is_package, mods) for n in ast.walk(tree)))
        graph[module] = {t for t in targets if t.startswith("extensions") and t != module}
    return graph


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def _is_shim(module: str) -> bool:
    return module.count(".") == 1 and module not in HOMES_AT_TOP and _layer(module) is None


def _folder(module: str) -> str:
    """The folder (sub-package) a module lives in, or the top-level module itself (``extensions`` for __init__)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def folder_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Each folder mapped to the other folders its modules import."""
    out: dict[str, set[str]] = {}
    for m, ts in graph.items():
        out.setdefault(_folder(m), set()).update(_folder(t) for t in ts if _folder(t) != _folder(m))
    return out


def _holds_logic(path: pathlib.Path) -> bool:
    """True when the module defines a function or a class (a shim only imports and re-exports)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) for n in ast.walk(tree))


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import loop, as the list of modules around it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for t in sorted(graph.get(m, ())):
            if state.get(t) == 1:
                return path[path.index(t) :] + [t]
            if t not in state and (found := visit(t)):
                return found
        path.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


GRAPH = import_graph()


def test_the_graph_sees_the_package():
    """The scan finds known arrows, so the checks below cannot pass on an empty graph."""
    assert "extensions.sql.normalize" in GRAPH["extensions.execution.compare"]
    assert "extensions.execution.engine" in GRAPH["extensions.tool.sql_tool"]
    assert "extensions.integrations.verl.hook" in GRAPH["extensions.verl_hook"]
    assert _is_shim("extensions.verl_hook") and not _is_shim("extensions.config")


def test_no_import_loops():
    assert _cycle(GRAPH) is None, " -> ".join(_cycle(GRAPH) or [])


def test_no_folder_imports_a_folder_that_imports_it_back():
    folders = folder_graph(GRAPH)
    assert _cycle(folders) is None, " -> ".join(_cycle(folders) or [])


def test_the_loop_check_finds_a_folder_level_loop():
    """Two modules that do not import each other, in folders that do: a loop of folders, not of modules."""
    graph = {"extensions.a.x": {"extensions.b.y"}, "extensions.b.z": {"extensions.a.w"}}
    assert _cycle(graph) is None
    assert _cycle(folder_graph(graph)) == ["a", "b", "a"]


def test_every_package_has_a_layer():
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert packages - set(LAYERS) == set()
    assert set(LAYERS) - packages == {"errors", "config"}  # the two top-level home modules


def test_config_reads_shared_defaults_from_the_bottom():
    """config imports nothing from rewards or tool, which both import it."""
    assert {_layer(t) for t in GRAPH["extensions.config"]} <= {"errors", "defaults", "execution"}


def test_at_most_three_top_level_modules_hold_logic():
    with_logic = {f"extensions.{p.stem}".removesuffix(".__init__") for p in PACKAGE.glob("*.py") if _holds_logic(p)}
    assert with_logic <= HOMES_AT_TOP and len(with_logic) <= 3, with_logic


def test_every_other_top_level_module_is_a_thin_shim():
    """Docstring, imports, ``__all__``, a ``__main__`` guard (and verl_hook's sys.path line for a bare checkout)."""
    for path in PACKAGE.glob("*.py"):
        if f"extensions.{path.stem}" in HOMES_AT_TOP or path.stem == "__init__":
            continue
        body = ast.parse(path.read_text(encoding="utf-8")).body
        kinds = {type(n).__name__ for n in body}
        assert kinds <= {"Expr", "Import", "ImportFrom", "Assign", "If"}, (path.name, kinds)
        assigned = {t.id for n in body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
        assert assigned <= {"__all__"}, (path.name, assigned)
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 25, path.name
        homes = {_folder(t) for t in GRAPH[f"extensions.{path.stem}"]}
        assert len(homes) == 1, (path.name, homes)  # it re-exports from one folder


def test_no_module_of_the_package_imports_a_top_level_shim():
    bad = [f"{m} -> {t}" for m, ts in GRAPH.items() if not _is_shim(m) for t in ts if _is_shim(t)]
    assert bad == []


def test_no_arrow_runs_back_up():
    bad = [
        f"{m} -> {t}"
        for m, ts in GRAPH.items()
        for t in ts
        if _layer(m) and _layer(t) and LAYERS[_layer(t)] > LAYERS[_layer(m)]
    ]
    assert bad == []


def test_the_core_never_imports_an_adapter_training_or_a_cli():
    bad = [f"{m} -> {t}" for m, ts in GRAPH.items() if _layer(m) in CORE for t in ts if _layer(t) in ABOVE_CORE]
    assert bad == []


def test_the_applications_do_not_import_each_other():
    bad = [
        f"{m} -> {t}"
        for m, ts in GRAPH.items()
        for t in ts
        if _layer(m) in APPS and _layer(t) in APPS and _layer(m) != _layer(t)
    ]
    assert bad == []


def test_sql_never_imports_execution():
    bad = [f"{m} -> {t}" for m, ts in GRAPH.items() if _layer(m) == "sql" for t in ts if _layer(t) == "execution"]
    assert bad == []


@pytest.mark.parametrize("name", RETIRED)
def test_retired_shims_are_gone(name):
    assert not (PACKAGE / name).exists()
