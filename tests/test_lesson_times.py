"""tools/lesson_times.py: a lesson's cells by time, from the timestamps nbclient records."""

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import lesson_times  # noqa: E402


def _executed(seconds: list[float]) -> nbformat.NotebookNode:
    """A notebook as nbclient leaves it: a heading, then code cells that took ``seconds`` each."""
    cells = [nbformat.v4.new_markdown_cell("# Lesson\n\n## First part")]
    for i, s in enumerate(seconds):
        cell = nbformat.v4.new_code_cell(f"\nrun({i})  # cell {i}\nmore()")
        cell.metadata["execution"] = {"iopub.execute_input": "2026-12-06T12:00:00.000000Z",
                                      "shell.execute_reply": f"2026-12-06T12:{int(s) // 60:02d}:{s % 60:09.6f}Z"}
        cells.append(cell)
        if i == 1:
            cells.append(nbformat.v4.new_markdown_cell("Text.\n\n## Second part\n\nMore text."))
    return nbformat.v4.new_notebook(cells=cells)


def test_cell_times_reads_each_cells_time_section_and_first_line():
    times = lesson_times.cell_times(_executed([1.5, 70.25, 3.0]))
    assert [t.seconds for t in times] == [1.5, 70.25, 3.0]
    assert [t.section for t in times] == ["First part", "First part", "Second part"]
    assert [t.first_line for t in times] == ["run(0)  # cell 0", "run(1)  # cell 1", "run(2)  # cell 2"]
    assert [t.index for t in times] == [1, 2, 4]


def test_a_cell_that_did_not_run_takes_no_time():
    nb = _executed([2.0])
    nb.cells[1].metadata = {}
    assert lesson_times.cell_times(nb)[0].seconds == 0.0


def test_the_table_lists_the_longest_cells_first_and_sums_the_rest():
    times = lesson_times.cell_times(_executed([1.5, 70.25, 3.0, 0.5]))
    text = lesson_times.table("04_x", 80.0, times, rows=2)
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert rows[0] == "| cell | section | first line | s |"
    assert rows[1].startswith("| 2 | First part | `run(1)") and rows[1].endswith("| 70.2 |")
    assert rows[2].startswith("| 4 | Second part") and rows[2].endswith("| 3.0 |")
    assert rows[3] == "| | 2 other cells | | 2.0 |"
    assert text.startswith("**04_x**: 80 s whole notebook (75 s in its 4 code cells)")


def test_an_unknown_lesson_is_one_message(capsys):
    assert lesson_times.main(["9"]) == 2
    assert "no lesson" in capsys.readouterr().err


@pytest.mark.integration
def test_it_runs_a_notebook_and_times_its_cells(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("## Wait"),
                                         nbformat.v4.new_code_cell("import time\ntime.sleep(0.6)"),
                                         nbformat.v4.new_code_cell("x = 1")])
    path = tmp_path / "01_wait.ipynb"
    nbformat.write(nb, path)
    wall, times = lesson_times.run(path, save=tmp_path / "out")
    assert [t.first_line for t in times] == ["import time", "x = 1"]
    assert 0.6 <= times[0].seconds < wall and times[1].seconds < 0.5
    assert (tmp_path / "out" / "01_wait.ipynb").exists()
