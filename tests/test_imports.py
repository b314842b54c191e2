"""The helpers form layers: no module reaches back up to one that imports it, lazily or not."""

import ast
from pathlib import Path

import helpers

PACKAGE = Path(helpers.__file__).parent


def imports_of(path: Path) -> set[str]:
    """The helpers modules `path` imports anywhere in it (top level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers."):
            found.add(node.module.split(".")[1])
    return found


def test_the_import_graph_has_no_cycle():
    graph = {path.stem: imports_of(path) for path in PACKAGE.glob("*.py") if path.stem != "__init__"}
    state, cycles = {}, []

    def visit(module, trail):
        if state.get(module) == "done":
            return
        if state.get(module) == "open":
            cycles.append(trail[trail.index(module):] + [module])
            return
        state[module] = "open"
        for other in sorted(graph.get(module, ())):
            visit(other, trail + [module])
        state[module] = "done"

    for module in sorted(graph):
        visit(module, [])
    assert graph["run"] >= {"report"} and "sweep" not in graph["report"]  # the runner stands above what it calls
    assert not cycles, " ; ".join(" -> ".join(c) for c in cycles)
