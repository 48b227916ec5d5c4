"""The package's shape: the paper in one short file, an engine path with no classroom helpers, no import cycles."""

import ast
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "nst_teach"
MODULES = sorted(path.stem for path in PACKAGE.glob("*.py") if path.stem not in ("__init__", "__main__"))
#: Helpers for notebooks, the classroom, the command line and the benchmark: the engine path must not need them.
HELPERS = {"animation", "assignments", "bench", "bench_worker", "checks", "cli", "data", "lesson", "live", "loop_checks",
           "outcomes", "panel", "plots"}


@cache
def imports(module: str) -> frozenset[str]:
    """The package's modules that ``module`` imports, anywhere in it (inside functions and TYPE_CHECKING too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse((PACKAGE / f"{module}.py").read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "nst_teach":
            names |= {node.module.split(".")[1]} if "." in node.module else {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {a.name.split(".")[1] for a in node.names if a.name.startswith("nst_teach.")}
    return frozenset(names & set(MODULES))


def closure(module: str) -> set[str]:
    """``module`` and every package module it imports, transitively: what a reader of it must read."""
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += imports(name)
    return seen


def lines(modules) -> int:
    return sum(len((PACKAGE / f"{m}.py").read_text().splitlines()) for m in modules)


def test_the_paper_reads_in_one_sitting():
    """nst_teach/paper.py and everything it imports from the package: at most 600 lines."""
    assert closure("paper") == {"paper", "vgg19", "weights", "errors"}
    assert lines(closure("paper")) <= 600, {m: lines([m]) for m in closure("paper")}


def test_the_engine_path_needs_no_notebook_classroom_or_command_line_helper():
    path = closure("tasks")
    assert not path & HELPERS, path & HELPERS
    assert lines(path) <= 3000, {m: lines([m]) for m in sorted(path)}  # the fast path, all of it (README): a budget


def test_no_import_cycle():
    for module in MODULES:
        for other in imports(module):
            assert module not in closure(other), f"{module} -> {other} -> ... -> {module}"


def test_no_module_over_450_lines():
    assert {m: lines([m]) for m in MODULES if lines([m]) > 450} == {}


def test_no_module_reaches_for_another_modules_private_names():
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("nst_teach"):
                assert not [a.name for a in node.names if a.name.startswith("_")], path.name
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.attr.startswith("_"):
                assert node.value.id in ("self", "cls", "ctx", "torch", "os", "sys", "np") or not (
                    (PACKAGE / f"{node.value.id}.py").exists()), f"{path.name}: {node.value.id}.{node.attr}"


def _definitions() -> dict[str, list[str]]:
    """Public name -> the modules that define it at their top level (def, class or assignment)."""
    found: dict[str, list[str]] = {}
    for module in MODULES:
        for node in ast.parse((PACKAGE / f"{module}.py").read_text()).body:
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", node)]
            names = [node.name] if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else [
                t.id for t in targets if isinstance(t, ast.Name)]
            for name in names:
                if not name.startswith("_"):
                    found.setdefault(name, []).append(module)
    return found


def test_a_name_is_defined_in_one_module_unless_paper_py_writes_the_same_equation():
    """paper.py writes the equations plainly beside the engine's (tests/test_paper.py: the same values); bench and cli
    each have their command's check and main. Any other name defined twice (a second STYLE_LAYERS, a second mask_at
    with another signature) is two meanings for one name."""
    twice = {name: modules for name, modules in _definitions().items() if len(modules) > 1}
    assert twice == {"check": ["bench", "cli"], "main": ["bench", "cli"], "content_loss": ["losses", "paper"],
                     "gram_matrix": ["losses", "paper"], "style_layer_loss": ["losses", "paper"],
                     "total_loss": ["losses", "paper"]}


def test_the_readme_gives_the_line_counts_this_test_measures():
    """The README's counts of paper.py and of the engine's path are the ones measured here, not typed once and left."""
    import re

    readme = " ".join((PACKAGE.parent / "README.md").read_text().split())
    paper, with_imports = (int(n.replace(",", "")) for n in re.search(r"(\d[\d,]*) lines, (\d[\d,]*) with the three "
                                                                       r"modules it imports", readme).groups())
    modules, engine = (int(n.replace(",", "")) for n in re.search(r"call reads (\d+) modules, (\d[\d,]*) lines",
                                                                   readme).groups())
    assert (paper, with_imports) == (lines(["paper"]), lines(closure("paper")))
    assert (modules, engine) == (len(closure("tasks")), lines(closure("tasks")))
