"""The engine's encoder: features by name, cut after the deepest layer, built by load_vgg19_features."""

import os
import subprocess
import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from nst_teach import LAYER_INDEX, LayerError, NstTeachError, WeightsError, load_vgg19_features
from nst_teach.weights import imagenet_checkpoint_path


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
    with pytest.raises(NstTeachError, match="pooling"):
        load_vgg19_features("random", pooling="min")


def test_random_weights_are_seeded_and_labelled():
    a, b, c = (load_vgg19_features("random", seed=s) for s in (1, 1, 2))
    assert torch.equal(a.layers[0].weight, b.layers[0].weight)
    assert not torch.equal(a.layers[0].weight, c.layers[0].weight)
    assert a.is_random and "random" in a.weights


@settings(max_examples=30, derandomize=True, deadline=None)
@given(argument=st.sampled_from(["weights", "pooling", "seed", "normalized"]),
       value=st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.floats(allow_nan=True), st.text(max_size=6)))
def test_bad_arguments_are_refused_by_name_and_good_ones_are_used(argument, value):
    """A value is either refused by an error that names its argument, or accepted and seen in the encoder built."""
    try:
        encoder = load_vgg19_features(**{"weights": "random", argument: value})
    except WeightsError as err:  # a string that is no weights name: read as a file path
        assert argument == "weights" and "weights file not found" in str(err)
    except NstTeachError as err:
        assert str(err).startswith(argument), str(err)
    else:
        _assert_used(encoder, argument, value)


def _assert_used(encoder, argument, value):
    """What an accepted ``argument=value`` must have done to the encoder (weights "random" unless it is the argument)."""
    if argument == "pooling":
        kind = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}[value]
        assert encoder.pooling == value and isinstance(encoder.layers[LAYER_INDEX["pool1"]], kind)
    elif argument == "seed":
        assert type(value) is int  # a bool, a float or a string is no seed
        same, other = load_vgg19_features("random", seed=value), load_vgg19_features("random", seed=value + 1)
        assert torch.equal(encoder.layers[0].weight, same.layers[0].weight)
        assert not torch.equal(encoder.layers[0].weight, other.layers[0].weight)
    elif argument == "normalized":
        assert type(value) is bool, f"normalized={value!r} accepted: only True or False says whether to normalise"
        assert ("normalised" in encoder.weights) is value
    else:
        assert value == "random" and "random" in encoder.weights


def test_an_accepted_value_must_show_in_the_encoder():
    """The property test's own check fails when a value is accepted but not used (so the property can fail)."""
    plain = load_vgg19_features("random", seed=1)
    with pytest.raises(AssertionError):
        _assert_used(plain, "seed", 2)  # built with seed 1, not 2
    with pytest.raises(AssertionError):
        _assert_used(plain, "pooling", "avg")
    with pytest.raises(AssertionError):
        _assert_used(plain, "normalized", True)


def _random_vgg19_state(seed=3):
    from torchvision.models import vgg19  # here, not at the top: the import takes seconds in each test worker

    torch.manual_seed(seed)
    return vgg19(weights=None).state_dict()


@pytest.fixture(scope="module")
def full_state():
    return _random_vgg19_state()


@pytest.fixture(scope="module")
def full_file(full_state, tmp_path_factory):
    """``full_state`` saved once (548 MB); a test links it where it needs it."""
    path = tmp_path_factory.mktemp("checkpoint") / "vgg19.pth"
    torch.save(full_state, path)
    return path


def _linked(full_file, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    os.link(full_file, path)  # the same 548 MB under another name, not written again
    return path


@pytest.mark.integration  # a fresh Python process
def test_weights_load_without_importing_torchvision(tmp_path, full_file):
    """torchvision pulls in torch._dynamo and triton (160 MB): no weights choice may import it."""
    path = _linked(full_file, tmp_path / "vgg19.pth")
    _linked(full_file, tmp_path / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth")  # a random checkpoint, the real name
    code = ("import sys; from nst_teach import load_vgg19_features; "
            f"load_vgg19_features({str(path)!r}); load_vgg19_features('random'); load_vgg19_features('imagenet'); "
            "load_vgg19_features('caffe', normalized=True); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torchvision', 'triton')))")
    env = {**os.environ, "TORCH_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip() == "[]"


def test_local_file_full_or_features_only(tmp_path, full_state, full_file):
    full = _linked(full_file, tmp_path / "full.pth")
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
    with pytest.raises(WeightsError, match="is not a weights file"):
        load_vgg19_features(junk)
    wrong = tmp_path / "wrong.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, wrong)
    with pytest.raises(WeightsError, match="not a vgg19 state dict"):
        load_vgg19_features(wrong)


def test_imagenet_path_loads_the_cached_file_through_torch_hub(tmp_path, monkeypatch, full_state, full_file):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path = imagenet_checkpoint_path()
    assert path == tmp_path / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"
    _linked(full_file, path)  # a random checkpoint under the real file name
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
