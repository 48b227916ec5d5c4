"""Applies to every test, the notebooks included: their kernels inherit this environment.

Tests and nbval run in quick mode (small images, few steps, random weights) and
never try to download images.
"""

import os

os.environ.setdefault("NST_TEACH_QUICK", "1")
os.environ.setdefault("NST_TEACH_OFFLINE", "1")
