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
_STYLE_TRANSFER = {  # the instructor's solutions, less the markers, and three classic mistakes
    "gram_matrix": "def gram_matrix(F):\n    B, N, H, W = F.shape\n    F = F.reshape(B, N, H * W)\n"
                   "    return F @ F.transpose(1, 2)",
    "content_loss": "def content_loss(F, P):\n    return ((F - P) ** 2).sum()  # the 1/2 forgotten",
    "style_layer_loss": "def style_layer_loss(F, A):\n    B, N, H, W = F.shape\n"
                        "    return ((gram_matrix(F) - A) ** 2).sum() / (4 * N**2 * (H * W) ** 2)",
    "style_loss": "def style_loss(F, A, w):\n    return sum(w[l] * style_layer_loss(F[l], A[l]) for l in w)",
    "total_variation": "def total_variation(x):\n    return ((x[..., 1:, :] - x[..., :-1, :]) ** 2).mean() "
                       "+ ((x[..., :, 1:] - x[..., :, :-1]) ** 2).mean()",
    "compute_targets": "def compute_targets(encoder, content, style):\n    with torch.no_grad():\n"
                       "        P = encoder(content, [CONTENT_LAYER])\n"
                       "        A = {l: gram_matrix(F) for l, F in encoder(style, list(STYLE_LAYERS)).items()}\n"
                       "    return P, A",
    "transfer_step": "def transfer_step(encoder, x, optimizer, P, A, alpha, beta):\n    def closure():\n"
                     "        F = encoder(x, [CONTENT_LAYER, *STYLE_LAYERS])  # no optimizer.zero_grad()\n"
                     "        w = {l: 1 / len(STYLE_LAYERS) for l in STYLE_LAYERS}\n"
                     "        loss = alpha * content_loss(F[CONTENT_LAYER], P[CONTENT_LAYER]) + beta * style_loss(F, A, w)\n"
                     "        loss.backward()\n        return loss\n    return optimizer.step(closure)",
}
_LOOP = {
    "make_encoder": "def make_encoder():\n    return nt.load_vgg19_features()  # max pooling",
    "synthesize": "def synthesize(loss_fn, x0, steps):\n    x = x0.detach().clone().requires_grad_(True)\n"
                  "    optimizer = torch.optim.LBFGS([x], max_iter=steps, max_eval=steps, history_size=50, "
                  "tolerance_grad=0.0,\n                                  tolerance_change=0.0, "
                  "line_search_fn=\"strong_wolfe\")\n\n    def closure():\n        optimizer.zero_grad()\n"
                  "        loss = loss_fn(x)\n        loss.backward()\n        return loss\n\n"
                  "    optimizer.step(closure)\n    return x.detach().clamp(0, 1)",
    "texture_loss": "def texture_loss(encoder, style, layers):\n    def loss_fn(x):\n        with torch.no_grad():\n"
                    "            A = {l: nt.gram_matrix(F) for l, F in encoder(style, layers).items()}  # every step\n"
                    "        F = encoder(x, layers)\n"
                    "        return sum(nt.style_layer_loss(F[l], A[l]) for l in layers) / len(layers)\n"
                    "    return loss_fn",
}
SUBMISSIONS: dict[str, dict[str, tuple[dict[str, str], int, dict[str, str]]]] = {"style_transfer": {
    "partly": (_STYLE_TRANSFER, 4, {"content_loss": "did you forget the 1/2 in Eq. 1?", "total_variation":
                                    "a mean where this regulariser has a sum", "transfer_step":
                                    "did you call optimizer.zero_grad() inside the closure?"}),
}, "from_losses_to_pictures": {
    "partly": (_LOOP, 1, {"make_encoder": "forgetting average pooling", "texture_loss":
                          "the targets are recomputed every step"}),
}, "guided_gram": {
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
