"""The package's shape, measured: what a reader of ``paper.py`` and of a ``style_transfer`` call must read.

    python tools/layout.py        # the counts the README names instead of typing them

``tests/test_layout.py`` uses these functions for its limits (``paper.py`` with its imports at most 600 lines, the
engine's path at most 3,100, no import cycles, no classroom helper on the engine's path).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "nst_teach"
#: Every module by its name under nst_teach: "tasks", "classroom.lesson".
MODULES = sorted(".".join(path.relative_to(PACKAGE).with_suffix("").parts) for path in PACKAGE.rglob("*.py")
                 if path.stem not in ("__init__", "__main__"))


def source(module: str) -> Path:
    return PACKAGE.joinpath(*module.split(".")).with_suffix(".py")


def imported_by(node: ast.AST) -> set[str]:
    """The package's modules one import statement names: ``from nst_teach.classroom import checks`` -> classroom.checks."""
    if isinstance(node, ast.Import):
        return {a.name.removeprefix("nst_teach.") for a in node.names if a.name.startswith("nst_teach.")}
    if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "nst_teach":
        base = node.module.removeprefix("nst_teach").removeprefix(".")
        names = {f"{base}.{a.name}".lstrip(".") for a in node.names}
        return (names & set(MODULES)) or {base}
    return set()


@cache
def imports(module: str) -> frozenset[str]:
    """The package's modules that ``module`` imports, anywhere in it (inside functions and TYPE_CHECKING too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source(module).read_text())):
        names |= imported_by(node)
    return frozenset(names & set(MODULES))


def closure(module: str) -> set[str]:
    """``module`` and every package module it imports, transitively: what a reader of it must read."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += imports(name)
    return seen


def lines(modules: Iterable[str]) -> int:
    return sum(len(source(m).read_text().splitlines()) for m in modules)


def main() -> None:
    paper, engine = closure("paper"), closure("tasks")
    print(f"paper.py: {lines(['paper'])} lines; with the {len(paper) - 1} modules it imports "
          f"({', '.join(sorted(paper - {'paper'}))}): {lines(paper)} lines")
    print(f"a style_transfer call reads {len(engine)} modules, {lines(engine):,} lines with their docstrings: "
          f"{', '.join(sorted(engine))}")


if __name__ == "__main__":
    main()
