"""The rendered course, both sites (site/conf.py): built in quick mode (Sphinx, myst-nb), opened in headless Chromium.

Each lesson runs during the build (a failing cell fails it). In the browser, every lesson page must show
its figures, every page's equations must render (MathJax, shipped with the site), internal links must
lead to files that exist, and the page for the paper's method must link to its code. The student site,
followed link by link through its table of contents, holds no text of an answer key (the texts taken from
the answer files themselves); the instructor site, built from the same runs, reaches every answer page and
shows every answer text there, which is what shows that the student site's check can fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest
from answer_keys import ANSWER_FILES, answer_texts, letters

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted(p.stem for p in (ROOT / "lessons").glob("*.md"))
pytestmark = pytest.mark.integration


def _build(out: Path, cache: Path, *tags: str) -> Path:
    env = {**os.environ, "NST_TEACH_QUICK": "1", "NST_TEACH_OFFLINE": "1", "NST_TEACH_SITE_CACHE": str(cache)}
    command = [sys.executable, "-m", "sphinx", "-q", "-b", "html", "-c", "site", *tags, ".", str(out)]
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def site_cache(tmp_path_factory) -> Path:
    """The lessons' runs, shared by the two sites as make site and make site-instructor share theirs."""
    return tmp_path_factory.mktemp("site-cache")


@pytest.fixture(scope="module")
def site(tmp_path_factory, site_cache):
    """The student site (make site-quick)."""
    return _build(tmp_path_factory.mktemp("site"), site_cache)


@pytest.fixture(scope="module")
def instructor_site(tmp_path_factory, site_cache, site):
    """The instructor site (make site-instructor-quick), after the student site, whose runs it reuses."""
    return _build(tmp_path_factory.mktemp("site-instructor"), site_cache, "-t", "instructor")


def _toc_pages(browser, site: Path) -> dict[str, str]:
    """Every page reached from the root page by following its table of contents (the page's and the sidebar's),
    link by link in the browser: its path in the site and its text, as letters."""
    seen: dict[str, str] = {}
    queue = ["site/index.html"]
    page = browser.new_page()
    while queue:
        name = queue.pop(0)
        if name in seen:
            continue
        page.goto((site / name).as_uri())
        page.wait_for_load_state("load")
        seen[name] = letters(page.inner_text("main"))
        for href in _settled(page, ".toctree-wrapper a[href], nav.bd-docs-nav a[href]", "els => els.map(e => e.href)"):
            link = urlparse(urldefrag(href).url)
            if link.scheme == "file" and link.path.endswith(".html"):
                queue.append(Path(unquote(link.path)).relative_to(site).as_posix())
    page.close()
    return seen


def _leaks(pages: dict[str, str]) -> dict[str, list[str]]:
    """The answer files whose texts a page holds: {page: [answer file, ...]}."""
    texts = answer_texts()
    found = {name: sorted(file for file, runs in texts.items() if any(run in text for run in runs))
             for name, text in pages.items()}
    return {name: files for name, files in found.items() if files}


def _pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if "_modules" not in p.parts and p.name not in ("genindex.html", "search.html"))


def _settled(page, selector: str, script: str):
    """``page.eval_on_selector_all(selector, script)``; once more, when the new document has loaded, if a late
    script's navigation destroyed the page's context while it ran (seen once in two runs on one machine)."""
    from playwright.sync_api import Error

    for attempt in range(3):
        try:
            return page.eval_on_selector_all(selector, script)
        except Error as err:
            if "context was destroyed" not in str(err) or attempt == 2:
                raise
            page.wait_for_load_state("load")  # the new document's


def test_every_page_renders_with_its_figures_equations_and_links(site, browser):
    pages = _pages(site)
    assert {f"lessons/{name}.html" for name in LESSONS} <= {p.relative_to(site).as_posix() for p in pages}
    seen = {}
    for path in pages:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        name = path.relative_to(site).as_posix()
        if page.locator(".math").count():  # MathJax typesets every equation, none as an error
            page.wait_for_function("() => document.querySelectorAll('mjx-container').length > 0", timeout=30_000)
            assert page.locator("mjx-merror").count() == 0, name
        images = _settled(page, "img", "els => els.map(e => [e.getAttribute('src'), e.naturalWidth])")
        assert all(width > 0 for _, width in images), (name, [src for src, width in images if not width])
        for href in _settled(page, "a[href]", "els => els.map(e => e.href)"):  # resolved by the browser
            link = urlparse(href)
            if link.scheme == "file":  # an internal link: its file must exist
                assert Path(unquote(link.path)).exists(), (name, href)
        assert page.locator(".output.traceback, .output.error").count() == 0, name
        assert not errors, (name, errors)
        seen[name] = {"images": len(images), "equations": page.locator("mjx-container").count()}
        page.close()
    for lesson in LESSONS:
        assert seen[f"lessons/{lesson}.html"]["images"] >= 1, lesson  # each lesson page shows its figures
    assert seen["site/api.html"]["equations"] > 10  # the docstrings' equations, rendered


def test_the_page_for_the_paper_links_to_its_code(site):
    html = (site / "site" / "paper.html").read_text()
    assert "_modules/nst_teach/paper.html" in html and (site / "_modules" / "nst_teach" / "paper.html").is_file()
    assert "synthesize" in html and "Eq. 4" in html


def test_the_student_site_holds_no_answer_key(site, browser):
    pages = _toc_pages(browser, site)
    assert {f"lessons/{name}.html" for name in LESSONS} | {"README.html", "site/api.html"} <= set(pages)
    assert {"assignments/release/style_transfer/style_transfer.html",
            "assignments/release/from_losses_to_pictures/from_losses_to_pictures.html",
            "assignments/release/guided_gram/guided_gram.html"} <= set(pages)  # as handed out
    assert _leaks(pages) == {}
    assert not (site / "instructor").exists() and not list((site / "assignments").glob("*.html"))  # nor off the TOC


def test_the_instructor_site_reaches_every_answer_page_and_shows_every_answer(instructor_site, browser):
    """The same check finds every answer file's texts here, each on its own page: it can fail."""
    pages = _toc_pages(browser, instructor_site)
    rendered = {"instructor/lesson_answers.md": "instructor/lesson_answers.html",
                "assignments/style_transfer.md": "assignments/style_transfer.html",
                "assignments/from_losses_to_pictures.md": "assignments/from_losses_to_pictures.html",
                "assignments/guided_gram.md": "assignments/guided_gram.html"}
    assert set(rendered) == set(ANSWER_FILES) and set(rendered.values()) <= set(pages)
    for file, runs in answer_texts().items():
        missing = [run[:60] for run in runs if run not in pages[rendered[file]]]
        assert not missing, (file, missing)
    assert _leaks(pages) == {page: [file] for file, page in rendered.items()}  # no other page: the lessons are clean


def test_the_static_pages_show_the_panels_still_and_the_animation(site, browser):
    """Lesson 4's live panel needs a kernel: its page shows the still of its default settings and says where the
    panel runs; lesson 5's animated run shows the GIF itself, with more than one frame."""
    from PIL import Image

    page = browser.new_page()
    page.goto((site / "lessons" / "04_style_transfer.html").as_uri())
    page.wait_for_load_state("load")
    still = page.locator(".nst-panel-still")
    assert still.count() == 1 and "JupyterLab" in still.inner_text() and "relu4_2" in still.inner_text()
    widths = _settled(page, ".nst-panel-still img", "els => els.map(e => e.naturalWidth)")
    assert len(widths) == 2 and min(widths) > 0, widths  # the picture and its losses, both loaded
    assert page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count() == 0  # no empty widget
    page.goto((site / "lessons" / "05_controlling_perceptual_factors.html").as_uri())
    page.wait_for_load_state("load")
    gifs = _settled(page, "img", "els => els.filter(e => e.src.endsWith('.gif')).map(e => [e.src, e.naturalWidth])")
    assert len(gifs) == 1 and gifs[0][1] > 0, gifs
    with Image.open(unquote(urlparse(gifs[0][0]).path)) as gif:
        assert gif.n_frames > 2
    page.close()
