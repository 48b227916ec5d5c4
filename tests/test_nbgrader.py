"""nbgrader for real: generate the student version and autograde it and the solution, in a temporary course folder."""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.integration
ASSIGNMENTS = sorted(p.name for p in (ROOT / "assignments" / "source").iterdir() if p.is_dir())

def _nbgrader(course: Path, *args: str) -> str:
    # nbgrader runs `alembic` from PATH for its gradebook: the environment's own scripts come first
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def course(tmp_path_factory, nbgrader_starts):
    course = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "assignments" / "source", course / "source")
    (course / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.root = "."\n'
                                               'c.CourseDirectory.course_id = "nst-teach"\n')
    for name in ASSIGNMENTS:
        _nbgrader(course, "generate_assignment", name, "--create", "--force")
    return course


def _cells(path: Path) -> list[tuple[str, str]]:
    return [(c["cell_type"], "".join(c["source"])) for c in json.loads(path.read_text())["cells"]]


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_generate_assignment_gives_the_committed_student_version(course, name):
    for ours in (ROOT / "assignments" / "release" / name).glob("*.ipynb"):
        assert _cells(course / "release" / name / ours.name) == _cells(ours), ours.name


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_autograde_gives_the_solution_full_marks_and_the_release_zero(course, name):
    notebook = next((ROOT / "assignments" / "source" / name).glob("*.ipynb"))
    auto = sum(c.metadata["nbgrader"]["points"] for c in nbformat.read(notebook, as_version=4).cells
               if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution"))
    for student, source in (("solved", course / "source"), ("unsolved", course / "release")):
        _nbgrader(course, "db", "student", "add", student)
        target = course / "submitted" / student / name
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(source / name / notebook.name, target / notebook.name)
    _nbgrader(course, "autograde", name, "--force")
    _nbgrader(course, "export", "--to", "grades.csv")
    scores = {row["student_id"]: float(row["raw_score"])
              for row in csv.DictReader((course / "grades.csv").open()) if row["assignment"] == name}
    assert auto > 0 and scores == {"solved": auto, "unsolved": 0.0}
    # the solution ran top to bottom without an error, every cell of it (as nbval would run it)
    solved = nbformat.read(course / "autograded" / "solved" / name / notebook.name, as_version=4)
    errors = [o for c in solved.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, [e.get("ename") for e in errors]
    # the student version ran top to bottom and its checks said what is still to do
    graded = nbformat.read(course / "autograded" / "unsolved" / name / notebook.name, as_version=4)
    out = "".join(o.get("text", "") for c in graded.cells if c.cell_type == "code" for o in c.outputs)
    checked = sum(1 for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade")
                  and not c.metadata["nbgrader"].get("solution") and c.cell_type == "code")
    assert out.count("not implemented yet") >= checked and f"0 of {checked} exercises pass" in out
