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


def lab_imports(path: Path) -> list[str]:
    """The imports in `path` that reach the lab wing (`helpers.lab`), absolute or relative."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.split(".")[:2] == ["helpers", "lab"]]
        elif isinstance(node, ast.ImportFrom):
            module = [part for part in (node.module or "").split(".") if part]
            names = [alias.name.split(".") for alias in node.names]
            if node.level:  # relative: from .lab import x, from . import lab, from ..lab import x
                reaches = any(parts[:1] == ["lab"] for parts in [module] + [module + name for name in names])
            else:  # absolute: from helpers.lab import x, from helpers import lab
                reaches = module[:2] == ["helpers", "lab"] or module == ["helpers"] and ["lab"] in names
            if reaches:
                found.append("." * node.level + (node.module or ""))
    return found


def lab_imports_in_source(code: str, tmp: Path) -> list[str]:
    """`lab_imports` of a piece of source (a notebook's code cells; IPython magics dropped)."""
    file = tmp / "cells.py"
    file.write_text("\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!"))))
    return lab_imports(file)


def test_the_method_never_imports_the_lab(tmp_path):
    """The lab may import the method; nothing outside helpers/lab (the method, the notebooks) imports the lab."""
    import json

    method = [path for path in PACKAGE.rglob("*.py") if "lab" not in path.relative_to(PACKAGE).parts]
    offenders = {str(path.relative_to(PACKAGE.parent)): found for path in method if (found := lab_imports(path))}
    for notebook in sorted((PACKAGE.parent / "notebooks").glob("*.ipynb")):
        cells = json.loads(notebook.read_text())["cells"]
        code = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")
        if found := lab_imports_in_source(code, tmp_path):
            offenders[notebook.name] = found
    assert len(method) > 20 and not offenders, offenders


def test_the_lab_check_sees_every_form_of_import(tmp_path):
    for code in ("import helpers.lab.sweep", "from helpers.lab import sweep", "from helpers import lab",
                 "from .lab.readme import x", "from . import lab", "from ..lab import sweep"):
        assert lab_imports_in_source(code, tmp_path), code
    for code in ("import helpers.data", "from helpers import labels", "from .labels import x", "from .. import run"):
        assert not lab_imports_in_source(code, tmp_path), code


def test_the_lab_wing_holds_the_experiment_tooling_and_results_hold_no_code():
    tooling = {"sweep", "protocol", "readme", "bench", "gpu_kit"}
    assert tooling <= {path.stem for path in (PACKAGE / "lab").glob("*.py")}
    assert not tooling & {path.stem for path in PACKAGE.glob("*.py")}
    assert not list((PACKAGE.parent / "results").rglob("*.py"))
