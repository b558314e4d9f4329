"""The package is layered, top-down, with nothing pointing up and no import cycles.

    cli / notebook → render → analysis / check / conventions / importer / bench / spec / graph_source (one way in) /
        torch_build → layers (+ torch_modules, torch_tokens, torch_attention, torch_window, torch_mvit,
        torch_pointwise, torch_convs, torch_positions) → graph / expr / limits / errors /
        units / io

Every import is read from the source with `ast`, module-level and function-level (lazy) imports
alike: a lazy import that points up still closes a cycle, it only hides it from the interpreter.
Imports under `if TYPE_CHECKING:` are annotations only, never executed, and are not counted.
`archcalc/__init__.py` is the public facade (the top); nothing inside the package imports it.
`archcalc/layers/__init__.py` imports every module of its package by discovery (pkgutil), which the
graph records as edges too, so a layer module importing upward is also caught as a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import archcalc

PACKAGE = Path(archcalc.__file__).parent

# Lower number = lower layer. A module may import its own layer (without cycles) or lower ones.
LAYERS = {
    "archcalc": 6,
    "archcalc.cli": 5, "archcalc.notebook": 5,
    "archcalc.render": 4,
    "archcalc.graph_source": 3,
    "archcalc.analysis": 3, "archcalc.check": 3, "archcalc.conventions": 3, "archcalc.importer": 3,
    "archcalc.bench": 3, "archcalc.spec": 3, "archcalc.torch_build": 3, "archcalc.specs": 3,
    "archcalc.layers": 2, "archcalc.torch_modules": 2, "archcalc.torch_tokens": 2, "archcalc.torch_attention": 2,
    "archcalc.torch_mvit": 2, "archcalc.torch_pointwise": 2, "archcalc.torch_window": 2,
    "archcalc.torch_convs": 2, "archcalc.torch_positions": 2,
    "archcalc.graph": 1, "archcalc.expr": 1, "archcalc.limits": 1, "archcalc.errors": 1, "archcalc.units": 1,
    "archcalc.escape": 1, "archcalc.hints": 1, "archcalc.progress": 1, "archcalc.interrupts": 1,
    "archcalc.io": 1,
}  # fmt: skip


def layer_of(module: str) -> int:
    """The layer of a module: its longest listed prefix."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in LAYERS and (end > 1 or module == "archcalc"):
            return LAYERS[prefix]
    raise KeyError(f"{module} is in no layer: add its package to LAYERS")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """archcalc modules imported anywhere in the file (`from archcalc.x import y` may name module x.y)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text(), str(path))
    type_only = {id(inner) for node in ast.walk(tree) if isinstance(node, ast.If) and _is_type_checking(node.test)
                 for inner in ast.walk(node)}  # fmt: skip
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("archcalc"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if not base.startswith("archcalc"):
                continue
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if (PACKAGE.parent / (candidate.replace(".", "/") + ".py")).exists()
                          or (PACKAGE.parent / candidate.replace(".", "/")).is_dir() else base)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


# The one sanctioned way up: `report.to_frame()`, `sweep.to_frame()`, `comparison.to_frame()` and a
# report's `_repr_html_` reach the pandas views at call time. The notebook module sits at the top
# because it renders; the results keep the methods because that is where a notebook user looks.
# Nothing on the report path ever calls them, so pandas never loads there (test_notebook.py).
NOTEBOOK_HOOKS = {
    "archcalc.analysis.results": "archcalc.notebook",
    "archcalc.analysis.sweep": "archcalc.notebook",
    "archcalc.analysis.compare": "archcalc.notebook",
}


def import_graph() -> dict[str, set[str]]:
    graph = {module_name(path): imports_of(path) for path in sorted(PACKAGE.rglob("*.py"))}
    for module, hook in NOTEBOOK_HOOKS.items():
        graph[module] = graph[module] - {hook}
    discovered = {name for name in graph if name.startswith("archcalc.layers.")}
    graph["archcalc.layers"] = graph["archcalc.layers"] | discovered  # imported by pkgutil discovery
    return graph


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{module} (layer {layer_of(module)}) imports {target} (layer {layer_of(target)})"
                  for module, targets in graph.items() for target in targets
                  if target != module and not module.startswith(target + ".") and layer_of(target) > layer_of(module))


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in graph or child == node or node.startswith(child + "."):
                    continue  # a package's own __init__ is not a dependency of its modules
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_nothing_imports_upward():
    assert upward_imports(import_graph()) == []


def test_there_are_no_import_cycles():
    assert cycles(import_graph()) == []


def test_every_module_has_a_layer():
    for module in import_graph():
        layer_of(module)


@pytest.mark.parametrize("source, message", [
    ("archcalc.layers.conv", "archcalc.layers.conv (layer 2) imports archcalc.importer.rules (layer 3)"),
])  # fmt: skip
def test_an_upward_import_is_caught(source, message):
    """The checker itself can fail: a layer importing the importer is reported, and so is the cycle."""
    graph = import_graph()
    graph[source] = graph[source] | {"archcalc.importer.rules"}
    assert message in upward_imports(graph)
    assert any(source in component for component in cycles(graph))
