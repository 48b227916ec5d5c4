"""Scale control (Gatys et al., CVPR 2017, Sec. 6): a new style image from two paintings' scales."""

import pytest

import nst_teach as nt
from nst_teach.data import skimage_image
from nst_teach.scale import mix_scales, scale_transfer


@pytest.fixture(scope="module")
def encoder():
    return nt.load_vgg19_features("caffe", pooling="avg")


def test_the_new_style_image_takes_the_fine_texture_of_one_painting_and_the_layout_of_the_other(encoder):
    coarse, fine = skimage_image("astronaut", 64), skimage_image("brick", 64)
    fine = nt.resize(fine, coarse.shape[-2:])
    new = mix_scales(encoder, coarse, fine, nt.Settings(steps=40)).image
    F = {name: encoder(im, ["relu1_1", "relu4_2"]) for name, im in [("new", new), ("coarse", coarse), ("fine", fine)]}

    def E(a: str, b: str) -> float:  # Eq. 4 at relu1_1: fine texture
        return float(nt.style_layer_loss(F[a]["relu1_1"], nt.gram_matrix(F[b]["relu1_1"])))

    def content(a: str, b: str) -> float:  # Eq. 1 at relu4_2: layout
        return float(nt.content_loss(F[a]["relu4_2"], F[b]["relu4_2"]))

    assert E("new", "fine") < 0.5 * E("coarse", "fine")  # the texture moved to the fine painting's
    assert content("new", "coarse") < 0.5 * content("fine", "coarse")  # the layout stayed the coarse painting's


def test_scale_transfer_stops_after_the_first_step_when_asked(encoder):
    photo = skimage_image("astronaut", 48)
    mixed, transfer = scale_transfer(encoder, photo, photo, photo, nt.Settings(steps=5), should_stop=lambda: True)
    assert mixed.status == "stopped" and transfer is mixed
