"""The paper's normalised network (CVPR 2016, Sec. 2): every filter's mean activation 1, the features kept."""

import torch

from nst_teach import LAYER_INDEX, LAYER_NAMES, load_vgg19_features
from nst_teach.normalization import NORMALIZATION_IMAGES, activation_means, normalization_images, normalize_activations


def test_normalisation_makes_mean_activation_one(photo):
    enc = load_vgg19_features("random", pooling="avg")
    normalize_activations(enc.layers, enc.preprocess, [photo])
    for f in enc(photo, ["relu1_1", "relu3_1", "relu5_1"]).values():
        means = f.mean(dim=(0, 2, 3))
        alive = means > 0
        torch.testing.assert_close(means[alive], torch.ones_like(means[alive]), rtol=1e-3, atol=1e-3)


def test_normalisation_works_on_a_truncated_encoder(photo):
    """The CLI cuts the network after the deepest layer used; normalising must not need the layer after it."""
    enc = load_vgg19_features("random", pooling="avg").truncate("relu5_1")
    normalize_activations(enc.layers, enc.preprocess, [photo])
    layers = [n for n in LAYER_NAMES[: LAYER_INDEX["relu5_1"] + 1] if n.startswith("relu")]
    means = activation_means(enc, [photo], layers)
    alive = means["relu5_1"] > 0
    torch.testing.assert_close(means["relu5_1"][alive], torch.ones_like(means["relu5_1"][alive]), rtol=1e-3, atol=1e-3)


def test_normalised_network_has_mean_activation_one_on_its_stated_images():
    enc = load_vgg19_features("caffe", normalized=True)
    assert enc.weights == "caffe, normalised"
    images = normalization_images()
    assert len(images) == len(NORMALIZATION_IMAGES) and max(images[0].shape[-2:]) == 224
    means = activation_means(enc, images)
    assert list(means) == [n for n in LAYER_NAMES if n.startswith("relu")]  # rectified responses, named so
    for name, m in means.items():
        alive = m > 1e-6
        assert alive.float().mean() > 0.95, name
        torch.testing.assert_close(m[alive], torch.ones_like(m[alive]), rtol=1e-3, atol=1e-3)
    raw = activation_means(load_vgg19_features("caffe"), images)
    assert raw["relu3_1"].mean() > 50 and raw["relu5_4"].mean() < 5  # scales differ by orders of magnitude


def test_normalisation_rescales_filters_and_keeps_what_they_compute(caffe, photo):
    normed = load_vgg19_features("caffe", pooling="avg", normalized=True)
    a, b = caffe(photo, ["relu4_2"])["relu4_2"], normed(photo, ["relu4_2"])["relu4_2"]
    s = (a * b).sum(dim=(0, 2, 3)) / (a * a).sum(dim=(0, 2, 3)).clamp_min(1e-12)  # least squares, per filter
    assert (s > 0).float().mean() > 0.95  # positive homogeneity: one positive scale per filter
    scaled = s.view(1, -1, 1, 1) * a
    assert ((scaled - b).abs().amax() / b.abs().amax()) < 1e-3
