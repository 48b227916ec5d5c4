"""The rendered course, two sites from one configuration:

* ``make site`` (``site/_build/html``): what students are given. The lessons with their outputs, the
  student versions of the assignments (not run), the README, the code's reference. No answer key,
  no instructor version of an assignment, and no link to one.
* ``make site-instructor`` (``sphinx-build -t instructor``, ``site/_build/html-instructor``): the same
  plus the model answers to the lessons' questions and the assignments' instructor versions.

Both run the lessons in full CPU mode (``make site-quick`` / ``make site-instructor-quick``: quick
mode, as the tests build them). Sphinx with myst-nb reads the lessons' MyST sources (lessons/*.md)
where they are, runs them (the execution is cached per mode and shared by the two sites, so an
unchanged lesson is not run again), and renders them with their outputs; the API reference comes
from the docstrings, equations rendered by a MathJax that ships with the site (no network). The
source folder is the repository's root, so that every page is read in place: nothing is copied.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUICK = os.environ.get("NST_TEACH_QUICK", "") not in ("", "0", "false", "False")
INSTRUCTOR = tags.has("instructor")  # noqa: F821 (sphinx-build -t instructor; Sphinx gives conf.py its tags)

# The instructor site's part of the table of contents, added to the root page (site/index.md) as Sphinx reads it,
# so that the student site's sources hold no link to an answer page.
INSTRUCTOR_TOC = """

```{toctree}
:caption: For instructors
:maxdepth: 1

Model answers to the lessons' questions <../instructor/lesson_answers>
Assignment 1, instructor version <../assignments/style_transfer>
Assignment 2, instructor version <../assignments/from_losses_to_pictures>
Assignment 3, instructor version <../assignments/guided_gram>
```
"""

project = "nst-teach"
author = "the nst-teach authors"
copyright = "2026, the nst-teach authors; photograph by Andreas Praefcke (CC BY 3.0); paintings in the public domain"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx-mathjax-offline",  # MathJax 3 inside the built site: equations render without a network
]

root_doc = "site/index"
include_patterns = [
    "site/*.md", "lessons/*.md", "README.md", "assignments/release/*/*.ipynb",
    "benchmarks/*.md", "benchmarks/*.jpg", "docs/*.md", "docs/*.png",
    *(["instructor/*.md", "assignments/*.md"] if INSTRUCTOR else []),
]
exclude_patterns = ["site/_build/**"]

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
nb_execution_mode = "cache"  # run a lesson only when its source changed since the last build of this mode
nb_execution_cache_path = os.environ.get("NST_TEACH_SITE_CACHE") or str(
    ROOT / "site" / "_build" / (".jupyter_cache-quick" if QUICK else ".jupyter_cache-full"))
nb_execution_excludepatterns = ["assignments/*.md", "assignments/release/*/*.ipynb"]  # exercises, shown as handed out
nb_execution_timeout = 600 if QUICK else 7200
nb_execution_raise_on_error = True  # a lesson that fails is a failed build
nb_execution_show_tb = True
nb_merge_streams = True
# A widget's view needs a live kernel: a static page shows the still its object puts beside it (text/html or an
# image; the lesson 4 panel's picture at its default settings) instead of an empty placeholder.
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]

autodoc_member_order = "bysource"
autodoc_inherit_docstrings = False  # torch's own docstrings (nn.Module, autograd.Function) are not ours to render
autodoc_typehints = "description"
napoleon_google_docstring = True

html_theme = "sphinx_book_theme"
html_title = ("nst-teach: neural style transfer, by doing it" + (" (instructor site)" if INSTRUCTOR else "")
              + (" (quick mode)" if QUICK else ""))
html_theme_options = {"show_toc_level": 2, "use_download_button": True, **({"announcement": (
    "Instructor site: it holds the answer keys. Give students the site that <code>make site</code> builds.")}
    if INSTRUCTOR else {})}
html_static_path: list[str] = []
html_extra_path = ["_extra"]  # index.html at the top, leading to site/index.html
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type"]


def _add_instructor_toc(app, docname: str, source: list[str]) -> None:
    if docname == root_doc:
        source[0] += INSTRUCTOR_TOC


def setup(app) -> None:
    if INSTRUCTOR:
        app.connect("source-read", _add_instructor_toc)
