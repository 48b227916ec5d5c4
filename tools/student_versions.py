"""Generate student notebooks from instructor versions (nbgrader's markers): a tool of the repository, which has
the instructor versions (an installed package has only the student versions, ``nst-teach lessons``).

    python tools/student_versions.py           # assignments/source -> assignments/release
    make students                              # the same

Instructor notebooks mark answers as nbgrader does:

* ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` in code becomes
  ``# YOUR CODE HERE`` / ``raise NotImplementedError()``; in markdown,
  ``YOUR ANSWER HERE``;
* ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` is removed.

Outputs are stripped. The result is deterministic, so regenerating reproduces
the committed files exactly. Instructors who use nbgrader can run
``nbgrader generate_assignment`` on the same sources instead.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

__all__ = ["generate", "student_cell_source"]

ROOT = Path(__file__).resolve().parent.parent / "assignments"
_SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION[^\n]*\n.*?^[ \t]*### END SOLUTION[^\n]*(\n|$)", re.M | re.S)
_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[^\n]*\n.*?^[ \t]*### END HIDDEN TESTS[^\n]*(\n|$)", re.M | re.S)


def student_cell_source(source: str, cell_type: str) -> str:
    """One cell's source with solutions replaced by stubs and hidden tests removed."""
    if cell_type == "markdown":
        source = _SOLUTION.sub(lambda m: "YOUR ANSWER HERE" + m.group(2), source)
    else:
        source = _SOLUTION.sub(
            lambda m: f"{m.group(1)}# YOUR CODE HERE\n{m.group(1)}raise NotImplementedError(){m.group(2)}", source)
    return _HIDDEN.sub("", source).rstrip("\n")


def generate(source: Path = ROOT / "source", release: Path = ROOT / "release") -> list[Path]:
    """Write a student version of every ``source/<assignment>/<name>.ipynb`` under ``release/``."""
    written = []
    for path in sorted(source.glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            cell.source = student_cell_source(cell.source, cell.cell_type)
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        target = release / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
        written.append(target)
    return written


if __name__ == "__main__":
    for p in generate(*(Path(a) for a in sys.argv[1:3])):
        print("wrote", p)
