# Two commands set up everything on a fresh machine (see README.md):
#   make lab    create .venv if missing, install, open the lessons in JupyterLab
#   make test   create .venv if missing, install, lint (ruff), type-check (mypy), run every test
#               (unit, doctests, CLI, notebooks, browser), the 20 slowest listed at the end
#   make check  the same without the integration tests (notebooks, browser, site, wheel, benchmark, subprocesses):
#               the check to run while working, under 2 minutes on 2 cores
#   make lesson-times   run each lesson once in full mode and list its cells by time (README, "Lesson times")
#   make lessons-full   run each lesson in full mode and check every sentence that says what an experiment shows
#   make mutants        mutation testing of the modules the lessons teach, with their scores (tests/README.md)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# pytest-xdist workers: each takes whole files (--dist loadscope in pyproject.toml) and a share of the cores.
JOBS   ?= 2

.PHONY: setup lab check test browser notebooks students bench figures site site-instructor site-quick \
        site-instructor-quick lesson-times lessons-full mutants

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

# The end-to-end test drives Debian's Chromium; install it when it is missing and we can.
browser:
	@command -v chromium >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

check: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest -n $(JOBS) -m "not integration" tests nst_teach

test: $(STAMP) browser
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest -n $(JOBS) --durations=20

# The notebooks from their MyST sources (lessons/*.md, assignments/*.md), then the student versions.
notebooks: $(STAMP)
	$(PY) tools/notebooks.py
	$(PY) tools/student_versions.py

students: $(STAMP)
	$(PY) tools/student_versions.py

# Mutation testing: each mutant of the modules the lessons teach (pyproject.toml, [tool.mutmut]) against the fast unit
# tests that cover it, then the scores and every survivor (tests/README.md). About an hour on 2 cores; not in CI.
# One thread per test process, and the networks built once before the forks (tests/conftest.py, PRELOAD).
mutants: $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,mutation]'
	OMP_NUM_THREADS=1 NST_TEACH_PRELOAD_NETWORKS=1 $(VENV)/bin/mutmut run
	$(PY) tools/mutation_scores.py --survivors

bench: $(STAMP)
	$(VENV)/bin/nst-teach bench

# Where each lesson's time goes: every lesson run once in full mode, its cells listed by time (LESSONS="4 5" for
# some). The README's tables: run with the laptop switch, NST_TEACH_BFLOAT16=0 ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2.
LESSONS ?=
lesson-times: $(STAMP)
	$(PY) tools/lesson_times.py $(LESSONS)

# Every stated outcome checked where it is meant to hold: the five lessons (LESSONS="2 3" for some) in full mode,
# each check's sentence and value listed, exit 1 if one did not hold (tools/lessons_full.py; README, "Lesson checks").
lessons-full: $(STAMP)
	$(PY) tools/lessons_full.py $(LESSONS)

# The README's pictures on the paper's network (docs/*.png), with the settings that made them.
figures: $(STAMP)
	$(PY) tools/figures.py

# The rendered course (Sphinx + myst-nb), two sites (site/conf.py). make site: what students are given, the lessons
# with their outputs run in full CPU mode (cached: an unchanged lesson is not run again), the student assignments,
# the API reference; no answer key. Open site/_build/html/index.html. make site-instructor: the same plus the model
# answers and the assignments' instructor versions, in site/_build/html-instructor (it reuses make site's runs).
site: $(STAMP)
	$(VENV)/bin/sphinx-build -q -b html -c site . site/_build/html

site-instructor: $(STAMP)
	$(VENV)/bin/sphinx-build -q -b html -c site -t instructor . site/_build/html-instructor

# The same in quick mode (small images, few steps), as the tests build them.
site-quick: $(STAMP)
	NST_TEACH_QUICK=1 $(VENV)/bin/sphinx-build -q -b html -c site . site/_build/html-quick

site-instructor-quick: $(STAMP)
	NST_TEACH_QUICK=1 $(VENV)/bin/sphinx-build -q -b html -c site -t instructor . site/_build/html-instructor-quick
