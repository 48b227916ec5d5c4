"""The rendered course: `make site` (full CPU mode) or `make site-quick` (quick mode, as CI builds it).

Sphinx with myst-nb reads the lessons' MyST sources (lessons/*.md) where they are, runs them (the
execution is cached, per mode, so an unchanged lesson is not run again), and renders them with
their outputs; the API reference comes from the docstrings, equations rendered by a MathJax that
ships with the site (no network). The source folder is the repository's root, so that the README,
the lessons and the instructor pages are read in place: nothing is copied.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUICK = os.environ.get("NST_TEACH_QUICK", "") not in ("", "0", "false", "False")

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
    "site/*.md", "lessons/*.md", "instructor/*.md", "README.md",
    "benchmarks/*.md", "benchmarks/*.jpg", "docs/*.md", "docs/*.png",
]
exclude_patterns = ["site/_build/**"]

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
nb_execution_mode = "cache"  # run a lesson only when its source changed since the last build of this mode
nb_execution_cache_path = os.environ.get("NST_TEACH_SITE_CACHE") or str(
    ROOT / "site" / "_build" / (".jupyter_cache-quick" if QUICK else ".jupyter_cache-full"))
nb_execution_timeout = 600 if QUICK else 7200
nb_execution_raise_on_error = True  # a lesson that fails is a failed build
nb_execution_show_tb = True
nb_merge_streams = True

autodoc_member_order = "bysource"
autodoc_inherit_docstrings = False  # torch's own docstrings (nn.Module, autograd.Function) are not ours to render
autodoc_typehints = "description"
napoleon_google_docstring = True

html_theme = "sphinx_book_theme"
html_title = "nst-teach: neural style transfer, by doing it" + (" (quick mode)" if QUICK else "")
html_theme_options = {"show_toc_level": 2, "use_download_button": True}
html_static_path: list[str] = []
html_extra_path = ["_extra"]  # index.html at the top, leading to site/index.html
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type"]
