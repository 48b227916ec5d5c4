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


# --------------------------------------------------------------------------- make test's two workers (pytest-xdist)

#: The longest files, longest first (pytest --durations on 2 AVX2 cores): under ``-n 2 --dist loadscope
#: --no-loadscope-reorder`` (make test) each file goes whole to one worker, in this order, so that neither worker is
#: left running a long one alone at the end. The rest follow in their own order.
LONGEST_FIRST = ("tests/test_site.py", "tests/test_nbgrader.py", "tests/test_e2e_jupyterlab.py",
                 "notebooks/04_style_transfer.ipynb", "tests/test_tasks.py", "tests/test_course.py",
                 "notebooks/03_texture_synthesis.ipynb", "tests/test_bench.py", "tests/test_features.py",
                 "tests/test_cli.py", "tests/test_paper.py", "tests/test_coarse_to_fine.py", "tests/test_weights.py",
                 "tests/test_engine.py", "tests/test_runtime.py", "tests/test_panel.py")


def threads_per_worker(cores: int, workers: int) -> int:
    """Each worker, with its notebook kernels and subprocesses, takes its share of the cores: two workers that each
    ran two threads on two cores would contend for them."""
    return max(1, cores // workers)


_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:  # tests/conftest.py sets PyTorch's threads from it; kernels and subprocesses inherit it
    os.environ.setdefault("OMP_NUM_THREADS", str(threads_per_worker(os.cpu_count() or 1, _WORKERS)))


def file_of(item: pytest.Item) -> str:
    """The test's file, relative to the repository: ``tests/test_site.py``, ``notebooks/01_vgg19_tour.ipynb``."""
    return item.nodeid.split("::")[0]


def pytest_collection_modifyitems(config, items):
    """nbval's cells are integration tests (a notebook runs); the longest files go first."""
    for item in items:
        if file_of(item).endswith(".ipynb"):
            item.add_marker(pytest.mark.integration)
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(file_of(item), len(rank)))  # stable: the rest keep their order
