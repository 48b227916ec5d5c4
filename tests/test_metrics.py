"""How a picture compares with its sources: PSNR, and the figure scores (layout kept? the painting's colours?)."""

from pathlib import Path

import pytest
import torch

from nst_teach import palette, psnr, save_image, structure
from nst_teach.data import paper_image


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


def test_the_high_frequency_share_sees_fine_detail_and_not_a_blur():
    from nst_teach.images import resize
    from nst_teach.metrics import high_frequency_share

    noise = torch.rand(1, 3, 96, 128, generator=torch.Generator().manual_seed(0))
    assert abs(high_frequency_share(noise) - 0.75) < 0.02  # white noise: energy spread evenly over the frequencies
    blurred = resize(resize(noise, (24, 32)), (96, 128))  # nothing finer than 1/8 cycle per pixel survives
    assert high_frequency_share(blurred) < 0.1 < 0.7 < high_frequency_share(noise)
    assert high_frequency_share(torch.full((1, 3, 8, 8), 0.5)) == 0.0  # a flat image has no energy at all
