"""Applies to every test, the notebooks included: their kernels and subprocesses inherit this environment.

Tests and nbval run in quick mode (small images, few steps), on the CPU (not a Mac's MPS or a GPU that happens to
be there), and never try to download images. Every test starts from the same random state, whichever tests ran
before it.
"""

import os

import pytest

os.environ.setdefault("NST_TEACH_QUICK", "1")
os.environ.setdefault("NST_TEACH_OFFLINE", "1")
os.environ.setdefault("NST_TEACH_DEVICE", "cpu")


@pytest.fixture(autouse=True)
def _same_random_draws():
    """``torch.rand`` in a test draws the same numbers alone, with ``-k``, or after any other test."""
    import torch

    torch.manual_seed(0)


_notebook_seconds: dict[str, float] = {}


def pytest_runtest_logreport(report):
    """Add up each notebook's cell times (nbval makes one test item per cell)."""
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _notebook_seconds[path] = _notebook_seconds.get(path, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    if _notebook_seconds:
        terminalreporter.section("notebook times (quick mode)")
        for path, seconds in sorted(_notebook_seconds.items()):
            terminalreporter.write_line(f"{seconds:7.1f} s  {path}")
