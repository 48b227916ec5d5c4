"""Implementations side by side: each convention's objective against its source's formula, written out here as the
source writes it (torch only, none of the package's losses), and its translation into the paper's units."""

import typing

import pytest
import torch

import nst_teach as nt
from nst_teach import conventions as cv

STYLE = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
TUTORIAL_STYLE = ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1"]  # the tutorial's conv_1 ... conv_5


def mse(a, b):
    return ((a - b) ** 2).mean()  # nn.MSELoss / F.mse_loss


def authors_code(F, P, S, x):
    """leongatys/PytorchNeuralStyleTransfer: GramMatrix divides by h*w, GramMSELoss, weights 1e3/n**2 and 1e0."""
    def gram(t):
        b, c, h, w = t.size()
        f = t.view(b, c, h * w)
        return torch.bmm(f, f.transpose(1, 2)) / (h * w)

    style_weights = [1e3 / n**2 for n in [64, 128, 256, 512, 512]]
    return sum(w * mse(gram(F[l]), gram(S[l])) for w, l in zip(style_weights, STYLE)) + 1e0 * mse(F["relu4_2"], P["relu4_2"])


def pytorch_tutorial(F, P, S, x):
    """pytorch/tutorials: gram_matrix divides by a*b*c*d, style_weight=1000000, content_weight=1, content at conv_4."""
    def gram(t):
        a, b, c, d = t.size()
        f = t.view(a * b, c * d)
        return torch.mm(f, f.t()).div(a * b * c * d)

    return 1000000 * sum(mse(gram(F[l]), gram(S[l])) for l in TUTORIAL_STYLE) + 1 * mse(F["conv2_2"], P["conv2_2"])


def neural_style(F, P, S, x):
    """neural-style-pt: G.div(input.nelement()), strength 1e2 on each style layer, 5e0 on relu4_2, TVLoss 1e-3 on
    its pixels (Loader(image) * 256, minus the mean pixel: the mean cancels in a difference)."""
    def gram(t):
        B, C, H, W = t.size()
        f = t.view(C, H * W)
        return torch.mm(f, f.t()).div(t.nelement())

    pixels = x * 256
    tv = (pixels[:, :, 1:, :] - pixels[:, :, :-1, :]).abs().sum() + (pixels[:, :, :, 1:] - pixels[:, :, :, :-1]).abs().sum()
    return sum(1e2 * mse(gram(F[l]), gram(S[l])) for l in STYLE) + 5e0 * mse(F["relu4_2"], P["relu4_2"]) + 1e-3 * tv


def paper(F, P, S, x):
    """Eq. 1, 3, 4, 5 and 7 as printed, w_l = 1/5, alpha/beta = 1e-3 at 512 x 512 scaled to the size (beta = 1)."""
    def gram(t):
        f = t.flatten(2)
        return f @ f.transpose(1, 2)

    H, W = x.shape[-2:]
    alpha = 1e-3 * 512 * 512 / (H * W)
    E = [((gram(F[l]) - gram(S[l])) ** 2).sum() / (4 * F[l].shape[1] ** 2 * (F[l].shape[2] * F[l].shape[3]) ** 2) for l in STYLE]
    return alpha * 0.5 * ((F["relu4_2"] - P["relu4_2"]) ** 2).sum() + sum(E) / 5


SOURCES = {"authors_code": authors_code, "pytorch_tutorial": pytorch_tutorial, "neural_style": neural_style, "paper": paper}


@pytest.fixture(scope="module")
def images():
    g = torch.Generator().manual_seed(3)
    return tuple(torch.rand(1, 3, 48, 64, generator=g) for _ in range(3))  # x, the photograph, the painting


@pytest.mark.parametrize("name", list(SOURCES))
def test_each_convention_is_its_sources_formula(caffe, images, name):
    x, p, a = images
    layers = [*cv.CONVENTIONS[name].content_layers, *cv.CONVENTIONS[name].style_layers]
    with torch.no_grad():
        F, P, S = (caffe(im, layers) for im in (x, p, a))
        expected = SOURCES[name](F, P, S, x)
        objective = cv.convention_objective(caffe, p, a, name)
        got = objective(caffe(x, objective.layers), x)["total"]
    torch.testing.assert_close(got, expected.float(), rtol=2e-4, atol=0)


def test_the_translation_is_the_ratio_of_the_conventions_terms_to_the_papers():
    """The same factors measured on random maps: a mean over N M entries is 2 / (N M) x Eq. 1; a mean of (G / (N M))^2
    is 4 / N^2 x E_l; the authors' G / M, 4 x E_l."""
    c, s = cv.paper_weights("neural_style", (64, 96))
    N, M = 512, 8 * 12  # relu4_2: 1/8 of the sides
    assert c == {"relu4_2": pytest.approx(5 * 2 / (N * M))}
    assert s["relu1_1"] == pytest.approx(100 * 4 / 64**2) and s["relu5_1"] == pytest.approx(100 * 4 / 512**2)
    c, s = cv.paper_weights("authors_code", (64, 96))
    assert s == pytest.approx({l: 4e3 / n**2 for l, n in zip(STYLE, (64, 128, 256, 512, 512))})
    assert cv.ratio_at_512("paper", (64, 96)) == pytest.approx(nt.DEFAULT_RATIO)
    for name in ("authors_code", "pytorch_tutorial", "neural_style"):  # means: the same ratio at every size
        assert cv.ratio_at_512(name, (64, 96)) == pytest.approx(cv.ratio_at_512(name, (512, 768)), rel=1e-9)
    ratios = [cv.ratio_at_512(name, (512, 512)) for name in ("pytorch_tutorial", "authors_code", "neural_style", "paper")]
    assert ratios == sorted(ratios) and ratios[0] < 1e-9 and ratios[-1] == nt.DEFAULT_RATIO


def test_the_starts_and_the_pooling_are_the_sources(caffe):
    photo = torch.rand(1, 3, 32, 32)
    assert cv.convention_start("authors_code", photo) == "content" == cv.convention_start("pytorch_tutorial", photo)
    grey = cv.convention_start("neural_style", photo, seed=1)
    mean_pixel = torch.tensor([123.68, 116.779, 103.939]).view(1, 3, 1, 1) / 256
    assert (grey - mean_pixel).abs().max() < 1e-4 and grey.std() > 0
    assert set(cv.CONVENTIONS) == set(typing.get_args(cv.ConventionName))  # the type names each convention there is
    assert {name: c.pooling for name, c in cv.CONVENTIONS.items()} == {
        "paper": "avg", "authors_code": "max", "pytorch_tutorial": "max", "neural_style": "max"}
    with pytest.raises(nt.NstTeachError, match="pools by 'max'.*pooling='max'"):
        cv.transfer_as(caffe, photo, photo, "neural_style")
    with pytest.raises(nt.NstTeachError, match="convention must be one of"):
        cv.paper_weights("tutorial", (32, 32))


def test_the_paper_convention_is_the_packages_default_transfer(caffe):
    photo, painting = torch.rand(1, 3, 128, 192), torch.rand(1, 3, 128, 160)  # large enough for a coarse level
    settings = nt.Settings(steps=6, precision="float32")
    torch.testing.assert_close(cv.transfer_as(caffe, photo, painting, "paper", settings).image,
                               nt.style_transfer(caffe, photo, painting, settings).image)


def test_a_start_without_a_layout_runs_coarse_to_fine_and_the_photograph_at_full_size():
    photo, painting = torch.rand(1, 3, 128, 192), torch.rand(1, 3, 128, 160)
    max_pooling = nt.load_vgg19_features("caffe", pooling="max")
    levels = {name: {h["level"] for h in cv.transfer_as(max_pooling, photo, painting, name, nt.Settings(steps=6)).history}
              for name in ("neural_style", "authors_code")}
    assert len(levels["neural_style"]) > 1 and levels["authors_code"] == {0}, levels
