"""Write the notebooks from their MyST Markdown sources: ``python tools/notebooks.py`` (or ``make notebooks``).

Each lesson and each assignment's instructor version is one text file, read by jupytext; the
notebooks beside them are written from it, without outputs, with kernelspec ``python3`` and
stable cell ids, so that they change only where the text does. ``jupytext.toml`` pairs the same
files, so that an edit saved from JupyterLab lands in the text file too. A test checks that the
committed notebooks match their sources; ``make students`` then writes the student versions.
"""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parent.parent

#: source (MyST Markdown) -> notebook, as jupytext.toml pairs them.
PAIRS = {
    **{path: ROOT / "notebooks" / f"{path.stem}.ipynb" for path in sorted((ROOT / "lessons").glob("*.md"))},
    **{path: ROOT / "assignments" / "source" / path.stem / f"{path.stem}.ipynb"
       for path in sorted((ROOT / "assignments").glob("*.md"))},
}


def notebook(source: Path) -> nbformat.NotebookNode:
    """The notebook of a MyST source: its cells and their metadata (nbgrader's, in an assignment), no outputs."""
    nb = jupytext.read(source)
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def write(pairs: dict[Path, Path] = PAIRS) -> list[Path]:
    """Write every notebook of ``pairs`` from its source; returns the notebooks' paths."""
    for source, target in pairs.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook(source), target)
    return list(pairs.values())


if __name__ == "__main__":
    for path in write():
        print("wrote", path.relative_to(ROOT))
    sys.exit(0)
