"""How a picture compares with its sources: PSNR, and the figure scores (layout kept? the painting's colours?)."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from nst_teach import palette, psnr, save_image, structure
from nst_teach.data import paper_image
from nst_teach.metrics import high_frequency_share, roughness


def test_psnr_measures_a_reconstruction_against_the_photograph():
    photo = torch.rand(1, 3, 8, 8)
    assert psnr(photo + 0.1, photo) == pytest.approx(20.0, abs=1e-3)  # 10 log10(1 / 0.01)
    assert psnr(photo + 0.01, photo) > psnr(photo + 0.1, photo)


def test_the_figure_scores_mean_what_they_say(photo, painting):
    assert structure(photo, photo) == pytest.approx(1.0)
    assert structure(photo, photo.flip(-1)) < 0.5  # the layout mirrored
    assert palette(photo, painting, photo) == pytest.approx(0.0, abs=1e-6)
    assert palette(photo, painting, painting) == pytest.approx(1.0, abs=1e-6)
    mixed = (photo + torch.nn.functional.interpolate(painting, size=photo.shape[-2:])) / 2
    assert 0.2 < palette(photo, painting, mixed) < 0.8


def test_the_same_numbers_as_the_courses_figure_scores(tmp_path, figure_scores):
    tool = figure_scores
    photo, painting = paper_image("tubingen", 96).image, paper_image("the_scream", 96).image
    picture = 0.6 * photo + 0.4 * torch.nn.functional.interpolate(painting, size=photo.shape[-2:])
    paths = [save_image(x, tmp_path / f"{n}.png") for n, x in (("p", photo), ("a", painting), ("x", picture))]
    p, a, x = (str(Path(path)) for path in paths)
    assert structure(photo, picture) == pytest.approx(tool.structure(p, x), abs=1e-9)
    assert palette(photo, painting, picture) == pytest.approx(tool.palette(p, a, x), abs=1e-9)
    # the pictures as files opened with Pillow: the same numbers
    from PIL import Image

    opened = [Image.open(path) for path in paths]
    assert structure(opened[0], opened[2]) == pytest.approx(tool.structure(p, x), abs=1e-9)
    assert palette(*opened) == pytest.approx(tool.palette(p, a, x), abs=1e-9)


def test_the_high_frequency_share_sees_fine_detail_and_not_a_blur():
    from nst_teach.images import resize
    from nst_teach.metrics import high_frequency_share

    noise = torch.rand(1, 3, 96, 128, generator=torch.Generator().manual_seed(0))
    assert abs(high_frequency_share(noise) - 0.75) < 0.02  # white noise: energy spread evenly over the frequencies
    blurred = resize(resize(noise, (24, 32)), (96, 128))  # nothing finer than 1/8 cycle per pixel survives
    assert high_frequency_share(blurred) < 0.1 < 0.7 < high_frequency_share(noise)
    assert high_frequency_share(torch.full((1, 3, 8, 8), 0.5)) == 0.0  # a flat image has no energy at all


def test_roughness_is_half_the_mean_squared_step_along_each_axis_as_numpy_computes_it():
    """An independent reference: NumPy's np.diff, on a picture whose two directions differ (so that a swapped or
    dropped axis shows), in float64 (the metric computes in float32)."""
    x = torch.rand(2, 3, 5, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    x[..., 1::2, :] += 0.5  # rows that alternate: rough down the columns, smooth along the rows
    a = x.numpy()
    expected = 0.5 * (np.mean(np.diff(a, axis=-1) ** 2) + np.mean(np.diff(a, axis=-2) ** 2))
    assert roughness(x) == pytest.approx(expected, rel=1e-6)
    assert roughness(torch.full((1, 3, 4, 4), 0.3)) == 0.0
    checkerboard = (torch.arange(4).view(-1, 1) + torch.arange(4).view(1, -1)).remainder(2).float().expand(1, 3, 4, 4)
    assert roughness(checkerboard) == 1.0  # every step is 1, both ways


def test_the_high_frequency_share_by_hand():
    """By Parseval's theorem, on 8 x 8 px: a checkerboard (0.5 cycles per pixel) of amplitude a carries a^2 per pixel,
    a cosine of amplitude b at 1/8 cycle per pixel b^2/2; each channel's own mean is removed first, so a colour cast
    adds nothing. A cosine exactly at the cutoff (1/4 cycle) is not above it."""
    n = 8
    i = torch.arange(n, dtype=torch.float64)
    checker = (i.view(-1, 1) + i.view(1, -1)).remainder(2) * 2 - 1  # +-1
    slow = torch.cos(2 * math.pi * i / 8).view(1, -1).expand(n, n)
    a, b = 0.3, 0.8  # not b = 2a: then |X|^3 would give the same share as |X|^2
    cast = torch.tensor([0.2, 0.5, 0.8], dtype=torch.float64).view(1, 3, 1, 1)  # a different mean in each channel
    picture = cast + (a * checker + b * slow).expand(1, 3, n, n)
    assert high_frequency_share(picture) == pytest.approx(a**2 / (a**2 + b**2 / 2), rel=1e-5)
    at_cutoff = torch.cos(2 * math.pi * i / 4).view(1, -1).expand(1, 3, n, n)
    assert high_frequency_share(at_cutoff) == pytest.approx(0.0, abs=1e-6)
    assert high_frequency_share(cast + 1e-3 * checker.expand(1, 3, n, n)) == pytest.approx(1.0)  # faint detail counts too
    assert high_frequency_share(cast.expand(1, 3, n, n)) == 0.0  # no detail at all
