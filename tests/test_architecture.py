"""The import contract: layers that only import downwards, and no import cycles anywhere.

Layers, lowest first: ``core`` (pure) <- ``data`` (files, network) <- ``misp`` (the
misp-modules contract, MISP output, PyMISP) <- ``cli``. A module may import its own
layer and the layers below it. ``version`` is a leaf every layer may import; the
package root (``__init__``, ``__main__``) sits on top and nothing imports it.

Every import counts, wherever it is written: at module level, inside a function (a
deferred import is still a dependency) or under ``TYPE_CHECKING``. The checker reads
the source with ``ast``; nothing is imported, so it also works on the broken package in
``fixtures/import_contract/``, which shows that each rule can fail.
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import FIXTURES, ROOT

LAYERS = ("core", "data", "misp", "cli")
LEAVES = ("version",)           # importable from anywhere; they import nothing of the package
ENTRY = "modules_root/expansion/actor_enrich.py"   # what misp-modules loads: it may only reach misp.module


def module_names(package_dir: Path) -> dict[str, Path]:
    """Dotted name -> file, for every module of the package (modules_root is not a package)."""
    package = package_dir.name
    out: dict[str, Path] = {}
    for path in sorted(package_dir.rglob("*.py")):
        rel = path.relative_to(package_dir)
        if rel.parts[0] == "modules_root" or "__pycache__" in rel.parts:
            continue
        parts = [package, *rel.with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package modules ``path`` imports; ``from X import y`` is X.y when y is a module."""
    is_package = path.name == "__init__.py"
    here = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            targets = [f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in known else origin
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:   # "pkg.mod.Class" -> "pkg.mod"
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    modules = module_names(package_dir)
    known = set(modules)
    return {name: imports_of(name, path, known) for name, path in modules.items()}


def _layer(name: str, package: str) -> str | None:
    """The layer of a module, "leaf", or None for the package root and ``__main__``."""
    parts = name.split(".")[1:]
    if not parts or parts[0] == "__main__":
        return None
    if parts[0] in LEAVES:
        return "leaf"
    return parts[0] if parts[0] in LAYERS else f"unknown:{parts[0]}"


def layer_violations(graph: dict[str, set[str]], package: str) -> list[str]:
    problems: list[str] = []
    for source, targets in sorted(graph.items()):
        source_layer = _layer(source, package)
        if source_layer and source_layer.startswith("unknown:"):
            problems.append(f"{source} is in no layer: put it in one of {', '.join(LAYERS)}")
            continue
        for target in sorted(targets):
            target_layer = _layer(target, package)
            if target_layer is None:
                problems.append(f"{source} imports the package root {target}: import the module it needs")
            elif source_layer == "leaf":
                problems.append(f"{source} is a leaf but imports {target}")
            elif source_layer is None or target_layer == "leaf":
                continue
            elif target_layer.startswith("unknown:") or LAYERS.index(target_layer) > LAYERS.index(source_layer):
                problems.append(f"{source} ({source_layer}) imports {target} ({target_layer}): "
                                f"{source_layer} may only import {', '.join(LAYERS[: LAYERS.index(source_layer) + 1])}")
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


PACKAGE_DIR = ROOT / "misp_actor_enrich"


def test_every_module_is_in_a_layer_and_imports_only_downwards() -> None:
    graph = import_graph(PACKAGE_DIR)
    assert len(graph) > 30 and all(_layer(m, "") != "unknown" for m in graph)
    assert layer_violations(graph, "misp_actor_enrich") == []


def test_no_import_cycles() -> None:
    assert cycles(import_graph(PACKAGE_DIR)) == []


def test_the_core_imports_no_io_or_misp_library() -> None:
    """core is pure: no file, network or MISP library, whatever the layer rule says."""
    forbidden = {"requests", "urllib3", "pymisp", "pymispgalaxies", "yaml", "misp_modules", "socket", "subprocess"}
    for path in (PACKAGE_DIR / "core").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and not n.level}
        assert not names & forbidden, f"{path.name} imports {sorted(names & forbidden)}"


def test_the_misp_modules_entry_file_only_reaches_the_module_contract() -> None:
    tree = ast.parse((PACKAGE_DIR / ENTRY).read_text(encoding="utf-8"))
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert modules == {"misp_actor_enrich.misp.module"}


def test_the_checker_catches_each_kind_of_violation() -> None:
    """fixtures/import_contract/layered breaks every rule once; the checker must say so."""
    graph = import_graph(FIXTURES / "import_contract" / "layered")
    assert layer_violations(graph, "layered") == [
        "layered.cli.main imports the package root layered: import the module it needs",
        "layered.core.names (core) imports layered.misp.output (misp): core may only import core",
        "layered.data.store (data) imports layered.cli.main (cli): data may only import core, data",
    ]
    assert cycles(graph) == [
        ["layered.core.models", "layered.core.names", "layered.misp.output"],
        ["layered.data.cache", "layered.data.store"],
    ]
