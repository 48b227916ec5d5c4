import os
import subprocess
import sys

import pytest
import torch
from torch import nn
from torchvision.models import vgg19

from nst_teach import LAYER_INDEX, LAYER_NAMES, LayerError, WeightsError, layer_table, load_vgg19_features
from nst_teach.features import vgg19_features_module
from nst_teach.normalization import activation_means, normalize_activations
from nst_teach.weights import IMAGENET_URL, imagenet_checkpoint_path


def test_names_map_to_torchvision_modules():
    features = vgg19(weights=None, init_weights=False).features
    assert len(LAYER_NAMES) == len(features) == 37
    assert LAYER_INDEX["conv4_2"] == 21 and LAYER_INDEX["conv5_1"] == 28
    for name, index in LAYER_INDEX.items():
        kind = {"conv": nn.Conv2d, "relu": nn.ReLU, "pool": nn.MaxPool2d}[name[:4]]
        assert isinstance(features[index], kind), name
    assert features[LAYER_INDEX["conv3_1"]].out_channels == 256


def test_module_is_torchvisions_make_layers_module_for_module():
    from torchvision.models.vgg import cfgs, make_layers

    ours, theirs = vgg19_features_module(), make_layers(cfgs["E"], batch_norm=False)
    assert [type(m) for m in ours] == [type(m) for m in theirs]
    assert repr(ours) == repr(theirs)  # kernel sizes, padding, strides, in-place flags
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in theirs.state_dict().items()}


def test_weights_load_without_importing_torchvision(tmp_path, full_state):
    """torchvision pulls in torch._dynamo and triton (160 MB): no weights choice may import it."""
    path = tmp_path / "vgg19.pth"
    torch.save(full_state, path)
    cached = tmp_path / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"
    cached.parent.mkdir(parents=True)
    torch.save(full_state, cached)  # a random checkpoint under the real file name
    code = ("import sys; from nst_teach import load_vgg19_features; "
            f"load_vgg19_features({str(path)!r}); load_vgg19_features('random'); load_vgg19_features('imagenet'); "
            "load_vgg19_features('caffe', normalized=True); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torchvision', 'triton')))")
    env = {**os.environ, "TORCH_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip() == "[]"


def test_imagenet_file_is_torchvisions():
    from torchvision.models import VGG19_Weights

    assert IMAGENET_URL == VGG19_Weights.IMAGENET1K_V1.url


def test_deepest_layer_is_by_network_order_not_by_name():
    from nst_teach.features import deepest_layer

    assert deepest_layer(["conv4_2", "relu4_1", "conv1_1"]) == "conv4_2"
    assert deepest_layer(["pool3", "conv3_4"]) == "pool3"
    with pytest.raises(LayerError, match="conv9_9"):
        deepest_layer(["conv1_1", "conv9_9"])


def test_layer_table_lists_channels_and_sizes():
    rows = {r["name"]: r for r in layer_table(224, 224)}
    assert rows["conv1_1"]["N_l"] == 64 and rows["conv1_1"]["M_l"] == 224 * 224
    assert rows["conv4_2"]["N_l"] == 512 and rows["conv4_2"]["H_l"] == 28
    assert rows["pool5"]["H_l"] == 7


def test_forward_returns_requested_layers_with_shapes(encoder):
    x = torch.rand(2, 3, 64, 48)
    F = encoder(x, ["conv1_1", "relu2_1", "conv4_2"])
    assert set(F) == {"conv1_1", "relu2_1", "conv4_2"}
    assert F["conv1_1"].shape == (2, 64, 64, 48)
    assert F["conv4_2"].shape == (2, 512, 8, 6)
    assert (F["relu2_1"] >= 0).all() and (F["conv1_1"] < 0).any()  # conv is before the ReLU


def test_runs_only_to_the_deepest_layer(encoder):
    called = []
    hooks = [m.register_forward_hook(lambda m, i, o, k=k: called.append(k)) for k, m in enumerate(encoder.layers)]
    try:
        encoder(torch.rand(1, 3, 32, 32), ["conv2_1"])
    finally:
        for h in hooks:
            h.remove()
    assert max(called) == LAYER_INDEX["conv2_1"]


def test_unknown_layer_names_the_layer_and_suggests(encoder):
    with pytest.raises(LayerError, match=r"unknown layer 'conv4_5'.*conv4_"):
        encoder(torch.rand(1, 3, 32, 32), ["conv4_5"])


def test_pooling_choice_and_frozen_eval():
    avg = load_vgg19_features("random", pooling="avg")
    mx = load_vgg19_features("random", pooling="max")
    assert isinstance(avg.layers[LAYER_INDEX["pool1"]], nn.AvgPool2d)
    assert isinstance(mx.layers[LAYER_INDEX["pool1"]], nn.MaxPool2d)
    assert not any(p.requires_grad for p in avg.parameters())
    avg.train()
    assert not avg.training
    with pytest.raises(ValueError, match="pooling"):
        load_vgg19_features("random", pooling="min")


def test_random_weights_are_seeded_and_labelled():
    a, b, c = (load_vgg19_features("random", seed=s) for s in (1, 1, 2))
    assert torch.equal(a.layers[0].weight, b.layers[0].weight)
    assert not torch.equal(a.layers[0].weight, c.layers[0].weight)
    assert a.is_random and "random" in a.weights


def test_normalisation_makes_mean_activation_one(photo):
    enc = normalize_activations(load_vgg19_features("random", pooling="avg"), [photo])
    F = enc(photo, ["relu1_1", "relu3_1", "relu5_1"])
    for f in F.values():
        means = f.mean(dim=(0, 2, 3))
        alive = means > 0
        torch.testing.assert_close(means[alive], torch.ones_like(means[alive]), rtol=1e-3, atol=1e-3)
    assert enc.weights.endswith(", normalised")


def test_normalisation_works_on_a_truncated_encoder(photo):
    """The CLI cuts the network after the deepest layer used; normalising must not need the layer after it."""
    enc = normalize_activations(load_vgg19_features("random", pooling="avg").truncate("conv5_1"), [photo])
    means = activation_means(enc, [photo])
    assert set(means) == {n for n in LAYER_NAMES[: LAYER_INDEX["conv5_1"] + 1] if n.startswith("conv")}
    alive = means["conv5_1"] > 0
    torch.testing.assert_close(means["conv5_1"][alive], torch.ones_like(means["conv5_1"][alive]), rtol=1e-3, atol=1e-3)


def _random_vgg19_state(seed=3):
    torch.manual_seed(seed)
    return vgg19(weights=None).state_dict()


@pytest.fixture(scope="module")
def full_state():
    return _random_vgg19_state()


def test_local_file_full_or_features_only(tmp_path, full_state):
    full = tmp_path / "full.pth"
    torch.save(full_state, full)
    feats = tmp_path / "features.pth"
    torch.save({k[len("features."):]: v for k, v in full_state.items() if k.startswith("features.")}, feats)
    for path in (full, feats):
        enc = load_vgg19_features(path)
        assert torch.equal(enc.layers[LAYER_INDEX["conv5_4"]].weight, full_state["features.34.weight"])
        assert enc.weights == str(path) and not enc.is_random


def test_bad_weight_files_get_clear_errors(tmp_path):
    with pytest.raises(WeightsError, match="not found"):
        load_vgg19_features(tmp_path / "missing.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="weights_only=True"):
        load_vgg19_features(junk)
    wrong = tmp_path / "wrong.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, wrong)
    with pytest.raises(WeightsError, match="not a vgg19 state dict"):
        load_vgg19_features(wrong)


def test_imagenet_path_loads_the_cached_file_through_torch_hub(tmp_path, monkeypatch, full_state):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path = imagenet_checkpoint_path()
    assert path == tmp_path / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"
    path.parent.mkdir(parents=True)
    torch.save(full_state, path)  # a random checkpoint under the real file name
    enc = load_vgg19_features("imagenet")
    assert enc.weights == "imagenet" and not enc.is_random
    assert torch.equal(enc.layers[0].weight, full_state["features.0.weight"])


def test_imagenet_offline_error_names_file_cache_and_ways_out(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def no_network(*args, **kwargs):
        import urllib.error

        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    with pytest.raises(WeightsError) as err:
        load_vgg19_features("imagenet")
    message = str(err.value)
    for needle in ("vgg19-dcbb9e9d.pth", str(tmp_path / "hub" / "checkpoints"), "--weights caffe", "connect"):
        assert needle in message
