"""The course, shipped inside the package: the five lessons and the three student assignments, as notebooks.

    nst-teach lessons DIR      # then: jupyter lab DIR

``pip install nst-teach`` installs them with the package (``nst_teach.notebooks`` and
``nst_teach.student_assignments`` are the checkout's ``notebooks/`` and ``assignments/release/``),
so that a complete start needs no checkout. Files already in ``DIR`` are never overwritten unless
asked: a student's work is not lost.
"""

from __future__ import annotations

import os
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from nst_teach.errors import NstTeachError
from nst_teach.images import write_atomically

__all__ = ["course_files", "lessons_command", "write_course"]


def _folder(package: str, checkout: str) -> Traversable:
    """The installed package's copy of a course folder; in an editable install, the checkout's own folder."""
    try:
        return files(package)
    except ModuleNotFoundError:  # `pip install -e .` maps only nst_teach itself
        return Path(__file__).resolve().parents[2] / checkout


def course_files() -> dict[str, bytes]:
    """``{relative path: contents}``: ``01_vgg19_tour.ipynb`` ... and ``assignments/<name>.ipynb``."""
    lessons = _folder("nst_teach.notebooks", "notebooks")
    assignments = _folder("nst_teach.student_assignments", "assignments/release")
    out = {entry.name: entry.read_bytes() for entry in lessons.iterdir() if entry.name.endswith(".ipynb")}
    for folder in assignments.iterdir():
        if folder.is_dir():
            out.update({f"assignments/{entry.name}": entry.read_bytes() for entry in folder.iterdir()
                        if entry.name.endswith(".ipynb")})
    return dict(sorted(out.items()))


def write_course(folder: str | os.PathLike[str], force: bool = False) -> list[Path]:
    """Write :func:`course_files` into ``folder`` (made if missing); refuse to overwrite a file unless ``force``."""
    folder = Path(folder).expanduser()
    if folder.exists() and not folder.is_dir():
        raise NstTeachError(f"{folder} is a file: give a folder for the lessons")
    course = course_files()
    existing = [name for name in course if (folder / name).exists()]
    if existing and not force:
        raise NstTeachError(f"{folder} already has {', '.join(existing)}: your work there is kept; choose another "
                            "folder, or add --force to overwrite them")
    return [write_atomically(folder / name, data) for name, data in course.items()]


def lessons_command(folder: str | os.PathLike[str], force: bool = False) -> int:
    """``nst-teach lessons DIR``: :func:`write_course`, each file it wrote named, and how to open them."""
    for path in write_course(folder, force):
        print(f"wrote {path}")
    print(f"Open them with: jupyter lab {folder}")
    return 0
