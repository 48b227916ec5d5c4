"""Colour control (Gatys et al., CVPR 2017, Sec. 5) and the animation of a run."""

import numpy as np
import pytest
import torch

import nst_teach as nt
from nst_teach.color import in_colors_of, luminance, match_color, match_luminance, rgb_to_yiq, with_colors_of, yiq_to_rgb
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


def test_yiq_is_scikit_images():
    """An independent reference for the transform: scikit-image's ``rgb2yiq``, the same NTSC matrix to more digits
    (ours is rounded to six decimals: 2e-4 at most in an entry; a wrong digit in the third place would be 1e-3)."""
    from skimage.color import rgb2yiq, yiq2rgb

    def ours_as_matrix(transform):  # the images of the three primaries are the matrix's columns
        return transform(torch.eye(3, dtype=torch.float64).view(3, 3, 1, 1))[..., 0, 0].T

    theirs = torch.from_numpy(rgb2yiq(np.eye(3)[None])[0]).T  # each primary as a pixel
    torch.testing.assert_close(ours_as_matrix(rgb_to_yiq), theirs, atol=2e-4, rtol=0)
    # the way back is our matrix's exact inverse (the round trip above), so scikit-image's inverse is as near as its
    # matrix: within 4e-4, the rounding amplified by the inverse
    torch.testing.assert_close(ours_as_matrix(yiq_to_rgb), torch.from_numpy(yiq2rgb(np.eye(3)[None])[0]).T, atol=5e-4, rtol=0)


def test_the_photographs_colours_on_a_bright_picture_are_clamped_to_the_screen():
    """A saturated photograph's I and Q leave [0, 1] in RGB on a white or black luminance: the result is clamped there,
    at both ends (pure red's I and Q want R above 1 on white, G and B below 0 on black)."""
    red, picture = torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4)
    red[:, 0], picture[..., :2, :] = 1, 1  # the picture white above, black below
    out = with_colors_of(picture, red)
    assert out.min() == 0 and out.max() == 1
    unclamped = yiq_to_rgb(torch.cat([rgb_to_yiq(picture)[:, :1], rgb_to_yiq(red)[:, 1:]], 1))
    assert unclamped.min() < -0.1 and unclamped.max() > 1.1  # so the clamp had work to do


def test_a_palettes_weights_count_as_shares(pair):
    """Blend weights (3, 1) are the shares (0.75, 0.25): only their ratio matters."""
    content, style = pair
    torch.testing.assert_close(in_colors_of(content, [style, content], [3.0, 1.0]),
                               in_colors_of(content, [style, content], [0.75, 0.25]))
    assert not torch.allclose(in_colors_of(content, [style, content], [3.0, 1.0]), in_colors_of(content, [style, content]))


def test_an_unknown_colour_map_is_refused_by_name(pair):
    with pytest.raises(nt.NstTeachError, match="mode must be one of 'pca', 'chol', 'sym'; got 'lab'") as err:
        match_color(*pair, mode="lab")
    assert err.value.name == "mode"


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
    matched = match_color(style, content)
    (mu, cov), (mu_c, cov_c) = stats(matched), stats(content)
    before = stats(style)
    assert (mu - mu_c).abs().max() < 0.01 < (before[0] - mu_c).abs().max()
    assert (cov - cov_c).abs().max() < 0.003 < (before[1] - cov_c).abs().max()


CORNERS = torch.tensor([[i, j, k] for i in (-1.0, 1.0) for j in (-1.0, 1.0) for k in (-1.0, 1.0)]).double()  # mean 0, cov I


def as_image(pixels):
    """Pixels ``(P, 3)`` as a ``(1, 3, 1, P)`` image."""
    return pixels.T.reshape(1, 3, 1, -1)


def pixels_with(cov, mean):
    """Eight pixels whose mean is ``mean`` and whose covariance (divided by their number) is exactly ``cov``."""
    return CORNERS @ torch.linalg.cholesky(torch.tensor(cov).double()).T + torch.tensor(mean).double()


r5 = 5**0.5
# Worked by hand. Case 1: the target's colours have covariance I, the source's [[5, 4, 0], [4, 5, 0], [0, 0, 1]],
# eigenvalues 9 and 1 along (1, 1, 0) and (1, -1, 0): its square root is [[2, 1, 0], [1, 2, 0], [0, 0, 1]] (PCA), its
# Cholesky factor [[sqrt 5, 0, 0], [4/sqrt 5, 3/sqrt 5, 0], [0, 0, 1]]. Case 2: the target's covariance diag(4, 1, 1), so
# Sigma_t^(1/2) = diag(2, 1, 1); the source's [[17/4, 3, 0], [3, 5, 0], [0, 0, 1]], for which Sigma_t^(1/2) Sigma_s
# Sigma_t^(1/2) = [[17, 6, 0], [6, 5, 0], [0, 0, 1]] is the square of [[4, 1, 0], [1, 2, 0], [0, 0, 1]]: the symmetric map
# is diag(1/2, 1, 1) [[4, 1, 0], [1, 2, 0], [0, 0, 1]] diag(1/2, 1, 1) = [[1, 1/2, 0], [1/2, 2, 0], [0, 0, 1]].
HAND_CASES = [
    ("pca", [[1, 0, 0], [0, 1, 0], [0, 0, 1]], [[5, 4, 0], [4, 5, 0], [0, 0, 1]], [[2, 1, 0], [1, 2, 0], [0, 0, 1]]),
    ("chol", [[1, 0, 0], [0, 1, 0], [0, 0, 1]], [[5, 4, 0], [4, 5, 0], [0, 0, 1]],
     [[r5, 0, 0], [4 / r5, 3 / r5, 0], [0, 0, 1]]),
    ("chol", [[4, 0, 0], [0, 1, 0], [0, 0, 1]], [[4.25, 3, 0], [3, 5, 0], [0, 0, 1]],  # L_s L_t^-1, L_t = diag(2, 1, 1)
     [[4.25**0.5 / 2, 0, 0], [3 / 4.25**0.5 / 2, (5 - 9 / 4.25) ** 0.5, 0], [0, 0, 1]]),
    ("sym", [[4, 0, 0], [0, 1, 0], [0, 0, 1]], [[4.25, 3, 0], [3, 5, 0], [0, 0, 1]], [[1, 0.5, 0], [0.5, 2, 0], [0, 0, 1]]),
]


@pytest.mark.parametrize("mode, cov_t, cov_s, A", HAND_CASES)
def test_each_colour_map_is_the_hand_computed_one(mode, cov_t, cov_s, A):
    target, source = pixels_with(cov_t, [0.5, 0.4, 0.3]), pixels_with(cov_s, [0.2, 0.6, 0.5])
    expected = (target - target.mean(0)) @ torch.tensor(A).double().T + torch.tensor([0.2, 0.6, 0.5]).double()
    got = match_color(as_image(target), as_image(source), mode)
    torch.testing.assert_close(got, as_image(expected), atol=2e-5, rtol=0)  # the authors' eps = 1e-5 on each covariance


@pytest.mark.parametrize("mode", ["pca", "chol", "sym"])
def test_every_colour_map_gives_the_sources_mean_and_covariance(pair, mode):
    content, style = pair
    (mu, cov), (mu_c, cov_c), before = stats(match_color(style, content, mode)), stats(content), stats(style)
    assert (mu - mu_c).abs().max() < 1e-5 < 0.01 < (before[0] - mu_c).abs().max()
    assert (cov - cov_c).abs().max() < 2e-5 < 0.003 < (before[1] - cov_c).abs().max()


def test_the_three_maps_differ_and_only_sym_is_symmetric(pair):
    content, style = pair
    maps = {}
    for mode in ("pca", "chol", "sym"):
        x = match_color(style, content, mode).movedim(1, 0).flatten(1).double()
        s = style.movedim(1, 0).flatten(1).double()
        s = torch.cat([s - s.mean(1, keepdim=True), torch.ones(1, s.shape[1]).double()])
        maps[mode] = torch.linalg.lstsq(s.T, x.T).solution.T[:, :3]  # A, read back from the pixels
    assert (maps["pca"] - maps["chol"]).abs().max() > 0.05 and (maps["pca"] - maps["sym"]).abs().max() > 0.05
    assert (maps["sym"] - maps["sym"].T).abs().max() < 1e-6 < 0.05 < (maps["pca"] - maps["pca"].T).abs().max()
    assert torch.allclose(maps["chol"].triu(1), torch.zeros(3, 3).double(), atol=1e-6)  # lower triangular
    with pytest.raises(nt.NstTeachError, match="mode must be one of 'pca', 'chol', 'sym'"):
        match_color(style, content, "cholesky")


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


def test_a_recoloured_image_keeps_its_dtype(pair):
    """The statistics are computed in float64, the picture comes back in its own dtype (float32 runs stay float32)."""
    content, style = pair
    for mode in ("pca", "chol", "sym"):
        assert match_color(style, content, mode).dtype == torch.float32
    assert in_colors_of(content, style).dtype == torch.float32 and in_colors_of(content.double(), style).dtype == torch.float64
