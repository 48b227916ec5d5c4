"""Shared fixtures. Every test runs offline, on the CPU, with random weights unless it says otherwise."""

from __future__ import annotations

import os

import pytest
import torch

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

from nst_teach import load_vgg19_features  # noqa: E402
from nst_teach.data import paper_image  # noqa: E402


@pytest.fixture(scope="session")
def encoder():
    """Random, seeded VGG19 with average pooling (the paper's choice for synthesis)."""
    return load_vgg19_features("random", pooling="avg", seed=0)


@pytest.fixture(scope="session")
def photo():
    """A real photograph at 128 px: Tübingen from $NST_TEACH_IMAGES, else scikit-image's astronaut."""
    return paper_image("tubingen", 128).image


@pytest.fixture(scope="session")
def texture():
    """A real texture at 96 px (scikit-image's brick)."""
    return paper_image("brick", 96).image
