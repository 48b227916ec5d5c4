"""Colour control (Gatys et al., CVPR 2017, Sec. 5) and the animation of a run."""

import pytest
import torch

import nst_teach as nt
from nst_teach.color import in_colors_of, luminance, match_color_histogram, match_luminance, rgb_to_yiq, with_colors_of, yiq_to_rgb
from nst_teach.data import paper_image


@pytest.fixture(scope="module")
def pair():
    return paper_image("chelsea", 64).image, paper_image("coffee", 64).image  # colour photographs, shipped


def test_yiq_round_trip_and_grey_luminance():
    x = torch.rand(2, 3, 5, 7)
    torch.testing.assert_close(yiq_to_rgb(rgb_to_yiq(x)), x, atol=1e-5, rtol=0)
    grey = luminance(x)
    assert torch.equal(grey[:, 0], grey[:, 1]) and torch.equal(grey[:, 1], grey[:, 2])
    torch.testing.assert_close(rgb_to_yiq(grey)[:, 1:], torch.zeros(2, 2, 5, 7), atol=1e-5, rtol=0)


def test_the_style_luminance_takes_the_contents_mean_and_spread(pair):
    content, style = pair
    L = rgb_to_yiq(match_luminance(style, content))[:, 0]
    Y = rgb_to_yiq(content)[:, 0]
    assert abs(L.mean() - Y.mean()) < 0.01 and abs(L.std() - Y.std()) < 0.01


def stats(x):
    """The RGB mean and covariance of an image's pixels."""
    p = x.movedim(1, 0).flatten(1).double()
    return p.mean(1), torch.cov(p, correction=0)


def test_histogram_matched_style_has_the_contents_mean_and_covariance(pair):
    content, style = pair
    matched = match_color_histogram(style, content)
    (mu, cov), (mu_c, cov_c) = stats(matched), stats(content)
    before = stats(style)
    assert (mu - mu_c).abs().max() < 0.01 < (before[0] - mu_c).abs().max()
    assert (cov - cov_c).abs().max() < 0.003 < (before[1] - cov_c).abs().max()


def test_the_recolored_start_is_the_photograph_in_the_paintings_colours(pair):
    content, style = pair
    start = in_colors_of(content, style)
    assert 0 <= start.min() and start.max() <= 1 and start.shape == content.shape
    muted = 0.25 + 0.5 * style  # a palette that needs (almost) no clamping
    (mu, cov), (mu_s, cov_s), before = stats(in_colors_of(content, muted)), stats(muted), stats(content)
    assert (mu - mu_s).abs().max() < 0.002 and (before[0] - mu_s).abs().max() > 0.01
    assert (cov - cov_s).abs().max() < 0.0005 and (before[1] - cov_s).abs().max() > 0.003
    Y, Y_content = rgb_to_yiq(start)[:, 0].flatten(), rgb_to_yiq(content)[:, 0].flatten()
    assert torch.corrcoef(torch.stack([Y, Y_content]))[0, 1] > 0.9  # the photograph's layout
    # several paintings: a mixture of their pixels, with the blend's weights
    torch.testing.assert_close(in_colors_of(content, [style[..., :32], style[..., 32:]]), start)
    torch.testing.assert_close(in_colors_of(content, [style, content], [1.0, 0.0]), start)
    dark = in_colors_of(content, [style, 0.2 * style], [0.25, 0.75]).mean()
    assert 0.2 * style.mean() < dark < in_colors_of(content, [style, 0.2 * style]).mean() < style.mean()


def test_luminance_only_transfer_keeps_the_contents_colour_channels_exactly(caffe, pair):
    content, style = pair
    encoder = caffe
    result = nt.style_transfer(encoder, content, style, nt.Settings(steps=5), preserve_colors="luminance")
    rgb_unclamped = yiq_to_rgb(torch.cat([rgb_to_yiq(result.image)[:, :1], rgb_to_yiq(content)[:, 1:]], 1))
    inside = ((rgb_unclamped >= 0) & (rgb_unclamped <= 1)).all(dim=1, keepdim=True).expand(-1, 2, -1, -1)
    assert inside.float().mean() > 0.9
    IQ, IQ_content = rgb_to_yiq(result.image)[:, 1:], rgb_to_yiq(content)[:, 1:]
    torch.testing.assert_close(IQ[inside], IQ_content[inside], atol=1e-5, rtol=0)
    plain = nt.style_transfer(encoder, content, style, nt.Settings(steps=5))
    assert (rgb_to_yiq(plain.image)[:, 1:] - IQ_content).abs().mean() > 10 * (IQ - IQ_content).abs().mean()
    torch.testing.assert_close(with_colors_of(content, content), content, atol=1e-5, rtol=0)  # Y and IQ are its own
