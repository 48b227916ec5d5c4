"""Applies to every test, the notebooks included: their kernels inherit this environment.

Tests and nbval run in quick mode (small images, few steps, random weights) and
never try to download images.
"""

import os

os.environ.setdefault("NST_TEACH_QUICK", "1")
os.environ.setdefault("NST_TEACH_OFFLINE", "1")

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
