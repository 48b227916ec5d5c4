"""The package's shape: a core a student reads in one sitting, and helpers that build on it."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "nst_teach"
#: image -> features -> losses -> objective -> optimiser -> image, and the loop that runs it.
CORE = ("images", "features", "losses", "objective", "settings", "lbfgs", "engine")
#: Helpers for notebooks, the classroom and the command line: the core must not need them.
HELPERS = ("animation", "assignments", "bench", "checks", "cli", "data", "lesson", "live", "loop_checks", "panel",
           "plots", "scale", "spatial", "color", "tasks")


def _imports(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("nst_teach"):
            names |= {node.module.split(".")[1]} if "." in node.module else {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {a.name.split(".")[1] for a in node.names if a.name.startswith("nst_teach.")}
    return names


def test_the_core_path_reads_in_one_sitting():
    lines = {m: len((PACKAGE / f"{m}.py").read_text().splitlines()) for m in CORE}
    assert sum(lines.values()) < 1000, lines


def test_the_core_needs_no_notebook_classroom_or_command_line_helper():
    for module in CORE:
        assert not _imports(module) & set(HELPERS), module


def test_no_module_reaches_for_another_modules_private_names():
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("nst_teach"):
                assert not [a.name for a in node.names if a.name.startswith("_")], path.name
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.attr.startswith("_"):
                assert node.value.id in ("self", "cls", "ctx", "torch", "os", "sys", "np") or not (
                    (PACKAGE / f"{node.value.id}.py").exists()), f"{path.name}: {node.value.id}.{node.attr}"
