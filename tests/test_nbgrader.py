"""nbgrader for real: generate the student version and autograde it and the solution, in a temporary course folder."""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.integration
ASSIGNMENTS = sorted(p.name for p in (ROOT / "assignments" / "source").iterdir() if p.is_dir())

# Students who hand in the student version with some exercises right and some with a common mistake: each
# {exercise: its code}, the grade autograde must give, and what each failing check must say (in the student's terms).
_INSIDE = """def mask_inside(encoder, mask, layers):
    region = (mask >= 0.5).float()
    noise = torch.rand(2, 3, *mask.shape[-2:]) * region  # noise inside the region: the authors' `all`
    with torch.no_grad():
        F = encoder(noise, list(layers))
    return {l: ((f[0] - f[1]).abs().amax(0) != 0).float()[None, None] for l, f in F.items()}"""
_RIGHT = {
    "mask_at": 'def mask_at(mask, size):\n    return nnf.interpolate(mask, size=tuple(size), mode="area")',
    "guided_gram": "def guided_gram(F, T):\n    B, N = F.shape[:2]\n    F_r = (F * T).reshape(B, N, -1)\n"
                   "    return F_r @ F_r.transpose(1, 2) / (T * T).sum()",
    "guided_targets": "def guided_targets(encoder, painting, S, layers):\n    with torch.no_grad():\n"
                      "        F = encoder(painting, list(layers))\n"
                      "    return {l: guided_gram(F[l], mask_at(S, F[l].shape[-2:])) for l in layers}",
}
SUBMISSIONS: dict[str, dict[str, tuple[dict[str, str], int, dict[str, str]]]] = {"guided_gram": {
    "partly": ({
        **_RIGHT,
        "mask_inside": _INSIDE,
        "two_regions": "def two_regions(sky):\n    return [sky, (sky < 1).float()]  # the border in both",
        "guided_style_loss": "def guided_style_loss(F, T, A, w):\n    total = 0\n    for l, w_l in w.items():\n"
                             "        G = guided_gram(F[l], T)  # the mask as it is, at the image's resolution\n"
                             "        total = total + w_l * ((G - A[l]) ** 2).sum() / (4 * F[l].shape[1] ** 2)\n"
                             "    return total",
    }, 3, {"mask_inside": "the authors' `all`", "two_regions": "the regions overlap", "guided_style_loss":
           "is the mask at the layer's resolution?", "two_region_transfer": "the transfer did not run"}),
    "wrong": ({
        "mask_at": 'def mask_at(mask, size):\n    return nnf.interpolate(mask, size=tuple(size), mode="area")[0, 0]',
        "mask_inside": "def mask_inside(encoder, mask, layers):\n    with torch.no_grad():\n"
                       "        F = encoder(mask.expand(-1, 3, -1, -1), list(layers))\n"
                       '    return {l: (nnf.interpolate(mask, size=f.shape[-2:], mode="area") >= 0.5).float() '
                       "for l, f in F.items()}",
        "guided_gram": "def guided_gram(F, T):\n    B, N = F.shape[:2]\n    F = F.reshape(B, N, -1)\n"
                       "    return F @ F.transpose(1, 2) * T.mean()  # the mask after the Gram matrix",
        "two_regions": "def two_regions(sky):\n    return [sky, (sky == 0).float()]",
        "guided_targets": "def guided_targets(encoder, painting, S, layers):\n    with torch.no_grad():\n"
                          "        F = encoder(painting, list(layers))\n    out = {}\n    for l, f in F.items():\n"
                          "        B, N = f.shape[:2]\n        f_r = (f * S).reshape(B, N, -1)\n"
                          "        out[l] = f_r @ f_r.transpose(1, 2) / (S * S).sum()\n    return out",
        "guided_style_loss": "def guided_style_loss(F, T, A, w):\n    total = 0\n    for l, w_l in w.items():\n"
                             "        B, N, h, wd = F[l].shape\n"
                             '        T_l = nnf.interpolate(T, size=(h, wd), mode="area")\n'
                             "        F_r = (F[l] * T_l).reshape(B, N, -1)\n"
                             "        G = F_r @ F_r.transpose(1, 2) / (T_l * T_l).sum()\n"
                             "        total = total + w_l * ((G - A[l]) ** 2).sum() / (4 * N**2 * (h * wd) ** 2)\n"
                             "    return total",
    }, 0, {"mask_at": "A channel dimension is lost", "mask_inside": "the authors' `simple`", "guided_gram":
           "the mask was applied after the Gram matrix", "two_regions": "pixels are left out", "guided_targets":
           "is the mask at the layer's resolution?", "guided_style_loss": "divided by M_l^2 as well",
           "two_region_transfer": "the transfer did not run"}),
}}

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
    for student, (answers, _, _) in SUBMISSIONS.get(name, {}).items():  # the student version, stubs filled in
        _nbgrader(course, "db", "student", "add", student)
        handed_in = nbformat.read(course / "release" / name / notebook.name, as_version=4)
        for cell in handed_in.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in answers:
                assert "raise NotImplementedError()" in cell.source, grade_id
                cell.source = answers[grade_id]
        assert {c.metadata.get("nbgrader", {}).get("grade_id") for c in handed_in.cells} >= set(answers)
        (course / "submitted" / student / name).mkdir(parents=True, exist_ok=True)
        nbformat.write(handed_in, course / "submitted" / student / name / notebook.name)
    _nbgrader(course, "autograde", name, "--force")
    _nbgrader(course, "export", "--to", "grades.csv")
    expected = {student: float(grade) for student, (_, grade, _) in SUBMISSIONS.get(name, {}).items()}
    handed_in_by = {"solved", "unsolved", *expected}  # the gradebook lists every student under every assignment
    scores = {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader((course / "grades.csv").open())
              if row["assignment"] == name and row["student_id"] in handed_in_by}
    assert auto > 0 and scores == {"solved": auto, "unsolved": 0.0, **expected}
    for student, (_, _, says) in SUBMISSIONS.get(name, {}).items():  # each failing check named the mistake
        graded = nbformat.read(course / "autograded" / student / name / notebook.name, as_version=4)
        out = "".join(o.get("text", "") for c in graded.cells if c.cell_type == "code" for o in c.outputs)
        failed = dict(re.findall(r"^FAIL (\w+): (.*)$", out, re.M))  # the check's line (not the summary's)
        assert set(failed) == set(says), (student, sorted(failed))
        assert {exercise: text for exercise, text in says.items() if text not in failed[exercise]} == {}, failed
        checked = sum(1 for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade")
                      and not c.metadata["nbgrader"].get("solution") and c.cell_type == "code")
        assert f"{checked - len(failed)} of {checked} exercises pass" in out  # the summary cell agrees
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
