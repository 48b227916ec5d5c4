"""The assignments: instructor sources, and the student versions generated from them (nbgrader's markers)."""

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from student_versions import generate, student_cell_source  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent / "assignments"
SOURCES = sorted((ROOT / "source").glob("*/*.ipynb"))


def test_regenerating_reproduces_the_committed_student_versions(tmp_path):
    written = generate(ROOT / "source", tmp_path)
    assert written
    for path in written:
        committed = ROOT / "release" / path.relative_to(tmp_path)
        assert path.read_text() == committed.read_text(), "run: make students"


def test_no_solution_line_in_any_student_version():
    for source in SOURCES:
        student = (ROOT / "release" / source.relative_to(ROOT / "source")).read_text()
        assert "BEGIN SOLUTION" not in student and "HIDDEN TESTS" not in student
        for cell in json.loads(source.read_text())["cells"]:
            text = "".join(cell["source"])
            for region in re.findall(r"### BEGIN (?:SOLUTION|HIDDEN TESTS)\n(.*?)### END", text, re.S):
                for line in region.splitlines():
                    if len(line.strip()) > 12:  # skip trivial lines such as "return P, A"
                        assert json.dumps(line.strip())[1:-1] not in student, line


def test_stub_generation():
    src = "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n"
    assert student_cell_source(src, "code") == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    assert student_cell_source("a\n### BEGIN HIDDEN TESTS\nassert 0\n### END HIDDEN TESTS\n", "code") == "a"
    assert student_cell_source("### BEGIN SOLUTION\nanswer\n### END SOLUTION", "markdown") == "YOUR ANSWER HERE"
