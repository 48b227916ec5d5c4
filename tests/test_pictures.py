"""Picture checks on the paper's trained network: what the lessons' figures rest on."""


import pytest
import torch

import nst_teach as nt
from nst_teach.data import paper_image


@pytest.fixture(scope="module")
def caffe():
    return nt.load_vgg19_features("caffe", pooling="avg")


def test_a_low_layer_gives_the_photograph_back(caffe):
    """Fig. 1, bottom row: relu1_2 reconstructs almost exactly (42 dB at 160 px and 100 steps when measured)."""
    photo = paper_image("tubingen", 128).image
    result = nt.reconstruct_content(caffe, photo, "relu1_2", nt.Settings(steps=80))
    assert nt.psnr(result.image, photo) >= 30


def test_a_texture_from_plain_noise_takes_its_sources_colours(caffe):
    """The trained network's Gram matrices carry the colours: from uniform noise (mean 0.5) to the source's mean."""
    source = paper_image("chelsea", 64).image  # shipped, and not grey: its mean colour is 0.16 from 0.5
    result = nt.synthesize_texture(caffe, source, nt.STYLE_LAYERS, nt.Settings(steps=60), init="uniform")
    start_error = (0.5 - source.mean((0, 2, 3))).abs().max()
    error = (result.image.mean((0, 2, 3)) - source.mean((0, 2, 3))).abs().max()
    assert error < 0.05 < start_error


def test_a_texture_made_larger_than_its_source_keeps_its_contrast(caffe):
    """Each Gram matrix is compared per position: with Eq. 4's 1/M^2 taken from the larger output,
    a 64 px gravel made at 128 px came out washed out (pixel spread 0.042 against the source's 0.077)."""
    source = paper_image("gravel", 64).image
    result = nt.synthesize_texture(caffe, source, nt.STYLE_LAYERS, nt.Settings(steps=60), size=(128, 128))
    spread, wanted = result.image.std().item(), source.std().item()
    assert result.image.shape[-2:] == (128, 128)
    assert 0.75 * wanted < spread < 1.25 * wanted


def test_the_default_balance_is_the_same_at_every_size(caffe):
    """alpha/beta is quoted at 512 x 512 and scaled to the image, so that alpha * L_content / L_style
    (at the white-noise start, and at the content image itself against the style) does not move with the
    size; the same alpha at every size would weigh the content 4x less at half the side."""
    content, style = paper_image("tubingen", 192).image, paper_image("starry_night", 192).image

    def balance(size, alpha=None):
        c, s = nt.resize(content, size), nt.resize(style, size)
        alpha = nt.alpha_for_size(nt.DEFAULT_RATIO, c.shape[-2:]) if alpha is None else alpha
        objective = nt.build_objective(caffe, content=c, style=s, content_layers=[nt.CONTENT_LAYER],
                                       style_layers=nt.STYLE_LAYERS, alpha=alpha)
        x = nt.engine.initial_image("noise", c.shape, content=c, style=s)
        with torch.no_grad():
            terms = objective.terms(caffe(x, objective.layers), x)
        return float(alpha * terms["content"] / terms["style"])

    scaled = [balance(size) for size in (96, 192)]
    fixed = [balance(size, alpha=1e-3) for size in (96, 192)]
    assert 0.6 < scaled[0] / scaled[1] < 1.6, scaled
    assert fixed[1] / fixed[0] > 2.5, fixed
