"""Run the five lessons in full mode and check every sentence that states what an experiment shows.

``python tools/lessons_full.py [01 04 ...]`` (or ``make lessons-full``) executes each lesson's notebook in a
fresh kernel, as a student's JupyterLab would, in full mode (``NST_TEACH_QUICK`` is removed), with
``NST_TEACH_OUTCOMES=report``: a check that fails (``cfg.expect``, ``nst_teach/classroom/outcomes.py``) reports and the
lesson goes on, so that one run lists every sentence. It prints each lesson's time and its checks (lesson,
sentence, value) as a Markdown table, and exits 1 when a check did not hold or a cell raised.

Each executed notebook is written to ``--save DIR`` (default ``$TMPDIR/nst-teach-lessons-full``), to look at its
figures and cell times.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import nbformat
from nbclient.exceptions import CellExecutionError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lesson_times import NOTEBOOKS, run  # noqa: E402

from nst_teach.classroom.outcomes import FAILS, HOLDS, NOT_JUDGED  # noqa: E402

#: One printed check: its mark, the sentence in quotes, what the mode says (quick, random weights), the value.
CHECK = re.compile(rf'^([{HOLDS}{FAILS}{NOT_JUDGED}]) "(.+?)"(?: \((.+?)\))?: (?:NOT SHOWN here: )?(.*)$')


def checks(nb: nbformat.NotebookNode) -> list[tuple[str, str, str]]:
    """Every check an executed notebook printed: (mark, sentence, value), in order."""
    found = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                match = CHECK.match(line)
                if match:
                    found.append((match[1], match[2], match[4]))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", help="lesson numbers or name prefixes (default: all five)")
    parser.add_argument("--save", type=Path, help="where to write the executed notebooks (default: $TMPDIR/nst-teach-lessons-full)")
    args = parser.parse_args(argv)
    os.environ.pop("NST_TEACH_QUICK", None)
    os.environ["NST_TEACH_OUTCOMES"] = "report"
    paths = [p for p in sorted(NOTEBOOKS.glob("*.ipynb"))
             if not args.lessons or any(p.name.startswith(prefix.zfill(2)) for prefix in args.lessons)]
    if not paths:
        print(f"no lesson in {NOTEBOOKS} starts with {' or '.join(args.lessons)}", file=sys.stderr)
        return 2
    save = args.save or Path(os.environ.get("TMPDIR", "/tmp")) / "nst-teach-lessons-full"
    rows, failed, total = [], [], 0.0
    for path in paths:
        try:
            wall, _ = run(path, save)
        except CellExecutionError as error:
            print(f"{path.stem}: a cell raised, the lesson stopped:\n{str(error)[-2000:]}", file=sys.stderr)
            failed.append(f"{path.stem}: a cell raised")
            continue
        total += wall
        found = checks(nbformat.read(save / path.name, as_version=4))  # run() wrote it there
        print(f"{path.stem}: {wall:.0f} s, {len(found)} checks", flush=True)
        for mark, sentence, value in found:
            rows.append(f"| {path.stem[:2]} | {mark} | {sentence.replace('|', '¦')} | {value.replace('|', '¦')} |")
            if mark != HOLDS:
                failed.append(f'{path.stem}: "{sentence}": {value}')
    print(f"\n{len(rows)} checks in {total:.0f} s of lessons\n\n| lesson | | sentence | value |\n|---|---|---|---|")
    print("\n".join(rows))
    if failed:
        print(f"\n{len(failed)} not shown:\n" + "\n".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
