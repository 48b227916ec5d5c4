"""The course inside the package: `nst-teach lessons DIR`, and a built wheel that works outside the checkout."""

import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

from nst_teach import NstTeachError
from nst_teach.classroom.course import course_files, write_course
from nst_teach.data import paper_image
from nst_teach.images import save_image

ROOT = Path(__file__).resolve().parent.parent
COURSE = ["01_vgg19_tour.ipynb", "02_content_reconstruction.ipynb", "03_texture_synthesis.ipynb",
          "04_style_transfer.ipynb", "05_controlling_perceptual_factors.ipynb",
          "assignments/from_losses_to_pictures.ipynb", "assignments/guided_gram.ipynb", "assignments/style_transfer.ipynb"]


def test_the_course_is_the_lessons_and_the_student_assignments():
    files = course_files()
    assert list(files) == COURSE
    assert files["01_vgg19_tour.ipynb"] == (ROOT / "notebooks" / "01_vgg19_tour.ipynb").read_bytes()
    release = ROOT / "assignments" / "release" / "style_transfer" / "style_transfer.ipynb"
    assert files["assignments/style_transfer.ipynb"] == release.read_bytes()  # the student version, no solutions


def test_lessons_are_written_and_a_students_work_is_never_overwritten(tmp_path):
    written = write_course(tmp_path / "course")
    assert sorted(p.relative_to(tmp_path / "course").as_posix() for p in written) == sorted(COURSE)
    mine = tmp_path / "course" / "04_style_transfer.ipynb"
    mine.write_text("my answers")
    with pytest.raises(NstTeachError, match="04_style_transfer.ipynb.*your work there is kept.*--force"):
        write_course(tmp_path / "course")
    assert mine.read_text() == "my answers"
    write_course(tmp_path / "course", force=True)
    assert mine.read_bytes() == course_files()["04_style_transfer.ipynb"]


@pytest.fixture(scope="module")
def fresh_environment(tmp_path_factory):
    """The wheel `python -m build` makes, installed into a new virtual environment outside the checkout.

    Its dependencies (torch and the rest, gigabytes) come from this environment's site-packages through a .pth
    line, which adds the folder but runs none of its .pth files: this checkout's editable install stays out."""
    folder = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(folder), str(ROOT)],
                   check=True, capture_output=True, cwd=folder)
    (wheel,) = folder.glob("nst_teach-*.whl")
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True,
                   capture_output=True)
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    (Path(purelib) / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return venv, wheel


def _run(venv: Path, cwd: Path, *args: str, status: int = 0) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run(list(args), cwd=cwd, env={**env, "PATH": f"{venv / 'bin'}{os.pathsep}{env['PATH']}"},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == status, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout + proc.stderr if status else proc.stdout


@pytest.mark.integration
def test_a_built_wheel_works_in_a_fresh_environment_outside_the_checkout(fresh_environment, tmp_path):
    venv, wheel = fresh_environment
    where = _run(venv, tmp_path, "python", "-c", "import nst_teach; print(nst_teach.__file__)")
    assert str(venv) in where and str(ROOT) not in where  # the wheel's copy, not this checkout
    content = save_image(paper_image("tubingen", 48).image, tmp_path / "content.png")
    style = save_image(paper_image("starry_night", 48).image, tmp_path / "style.png")
    out = _run(venv, tmp_path, "nst-teach", "transfer", str(content), str(style), "--size", "32", "--steps", "2",
               "-o", "out.png", "--metrics-json", "m.json")
    assert (tmp_path / "out.png").is_file() and "caffe" in (tmp_path / "m.json").read_text()  # the default network
    _run(venv, tmp_path, "nst-teach", "lessons", "course")
    assert sorted(p.relative_to(tmp_path / "course").as_posix() for p in (tmp_path / "course").rglob("*.ipynb")) == sorted(COURSE)
    mine = tmp_path / "course" / "assignments" / "style_transfer.ipynb"
    mine.write_text("my answers")
    again = _run(venv, tmp_path, "nst-teach", "lessons", "course", status=2)  # a student's work is kept ...
    assert "your work there is kept" in again and "--force" in again and "Traceback" not in again
    assert mine.read_text() == "my answers"
    _run(venv, tmp_path, "nst-teach", "lessons", "course", "--force")  # ... unless they ask for a fresh copy
    assert mine.read_bytes() == course_files()["assignments/style_transfer.ipynb"]
    catalogue = _run(venv, tmp_path, "nst-teach", "images")
    assert "tubingen: Neckarfront in Tübingen" in catalogue and "Praefcke" in catalogue
    checks = _run(venv, tmp_path, "python", "-c", "from nst_teach import losses; from nst_teach.classroom import checks; "
                  "print(checks.check_gram_matrix(losses.gram_matrix), checks.check_style_layer_loss(losses.style_layer_loss))")
    assert checks.strip().endswith("True True")  # the assignment cases (a .npz) travel in the wheel
    assert "finished 2 steps" in out
