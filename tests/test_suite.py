"""How the suite splits and orders itself (the root conftest.py): make check leaves out every test that runs a whole
program, and make test's workers take the longest files first, each with its share of the cores."""

import importlib.util
import inspect
import os
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
WHOLE_PROGRAMS = {"browser", "nbgrader_starts", "fresh_environment", "site", "instructor_site", "lab"}  # fixtures that start one


def _root_conftest():
    spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SUITE = _root_conftest()


def test_the_longest_files_are_there():
    """A file renamed or gone would silently fall out of the order."""
    missing = [path for path in SUITE.LONGEST_FIRST if not (ROOT / path).is_file()]
    assert not missing, missing


def _starts_a_program(item) -> bool:
    if SUITE.file_of(item).endswith(".ipynb") or WHOLE_PROGRAMS & set(getattr(item, "fixturenames", ())):
        return True
    function = getattr(item, "function", None)
    return function is not None and "subprocess.run(" in inspect.getsource(function)


def test_whole_programs_are_integration_tests(request):
    """Whatever this run selected: no notebook cell, browser, site, nbgrader, wheel or fresh Python process outside
    ``integration`` (make check leaves those out)."""
    for item in request.session.items:
        if _starts_a_program(item):
            assert item.get_closest_marker("integration"), item.nodeid


def test_the_longest_files_come_first(request):
    files = list(dict.fromkeys(SUITE.file_of(item) for item in request.session.items))
    ranked = [path for path in SUITE.LONGEST_FIRST if path in files]
    assert files[:len(ranked)] == ranked


def test_workers_share_the_cores():
    share = SUITE.threads_per_worker
    assert (share(2, 2), share(16, 2), share(1, 2), share(2, 1)) == (1, 8, 1, 2)
    expected = os.environ.get("OMP_NUM_THREADS") or min(2, os.cpu_count() or 1)  # set per worker under -n
    assert torch.get_num_threads() == int(expected)
