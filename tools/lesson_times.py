"""Where a lesson's time goes: run each lesson once, top to bottom, and print its cells by time.

``python tools/lesson_times.py [01 04 ...]`` (or ``make lesson-times``) executes the notebooks in
``notebooks/`` as a student's JupyterLab would (full mode unless ``NST_TEACH_QUICK`` is set), in a
fresh kernel each, and prints one Markdown table a lesson: the whole run's wall time (kernel start
included), then each code cell's time, longest first, with the section it belongs to and its first
line. The README's tables are this command's output, run with the laptop switch
(``NST_TEACH_BFLOAT16=0 ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2``).

``--save DIR`` also writes each executed notebook there, to look at its figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
#: A student's cell may run long; a lesson that takes more than this is a defect to report, not to wait for.
CELL_TIMEOUT_S = 3600


@dataclass(frozen=True)
class CellTime:
    index: int  # the cell's position in the notebook (code and text cells counted)
    seconds: float
    section: str  # the last heading above the cell
    first_line: str


def _seconds(cell: nbformat.NotebookNode) -> float:
    """A code cell's run time from the timestamps nbclient records (execute_input to execute_reply)."""
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    return (datetime.fromisoformat(end.replace("Z", "+00:00"))
            - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()


def cell_times(nb: nbformat.NotebookNode) -> list[CellTime]:
    """Each code cell of an executed notebook, with its time, section and first line, in notebook order."""
    section, times = "(top)", []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            headings = [line.lstrip("#").strip() for line in cell.source.splitlines() if line.startswith("#")]
            section = headings[-1] if headings else section
        elif cell.cell_type == "code":
            first = next((line for line in cell.source.splitlines() if line.strip()), "")
            times.append(CellTime(i, _seconds(cell), section, first.strip()))
    return times


def table(name: str, wall: float, times: list[CellTime], rows: int = 8) -> str:
    """A Markdown table of the longest cells; the rest summed in one row."""
    ranked = sorted(times, key=lambda t: -t.seconds)
    lines = [f"**{name}**: {wall:.0f} s whole notebook ({sum(t.seconds for t in times):.0f} s in its "
             f"{len(times)} code cells)", "", "| cell | section | first line | s |", "|---|---|---|---|"]
    for t in ranked[:rows]:
        first = t.first_line if len(t.first_line) <= 60 else t.first_line[:57] + "..."
        lines.append(f"| {t.index} | {t.section} | `{first.replace('|', '¦')}` | {t.seconds:.1f} |")
    rest = ranked[rows:]
    if rest:
        lines.append(f"| | {len(rest)} other cells | | {sum(t.seconds for t in rest):.1f} |")
    return "\n".join(lines)


def run(path: Path, save: Path | None = None) -> tuple[float, list[CellTime]]:
    """Execute one notebook in a fresh kernel, in its own folder; its wall time and cell times."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", record_timing=True,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    wall = time.perf_counter() - start
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, save / path.name)
    return wall, cell_times(nb)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", help="lesson numbers or name prefixes (default: all five)")
    parser.add_argument("--rows", type=int, default=8, help="cells to list a lesson (default 8)")
    parser.add_argument("--save", type=Path, help="also write the executed notebooks into this folder")
    args = parser.parse_args(argv)
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    if args.lessons:
        paths = [p for p in paths if any(p.name.startswith(prefix.zfill(2)) for prefix in args.lessons)]
    if not paths:
        print(f"no lesson in {NOTEBOOKS} starts with {' or '.join(args.lessons)}", file=sys.stderr)
        return 2
    for path in paths:
        wall, times = run(path, args.save)
        print(table(path.stem, wall, times, args.rows), end="\n\n", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
