"""VGG19 features, addressed by the paper's layer names.

References:
    Simonyan & Zisserman, *Very Deep Convolutional Networks for Large-Scale
    Image Recognition*, ICLR 2015 (the network).
    Gatys, Ecker & Bethge, *Image Style Transfer Using Convolutional Neural
    Networks*, CVPR 2016, Sec. 2 (16 conv and 5 pooling layers of VGG19,
    average pooling for synthesis, optional activation normalisation).

The encoder is only the *features* part of torchvision's ``vgg19``; the losses live apart
from the network (as in pystiche, unlike the PyTorch tutorial's loss layers inside the
model). :func:`nst_teach.weights.load_vgg19_features` builds it with the chosen weights.

A note on names: ``conv4_2`` is the convolution's output before its ReLU and
``relu4_2`` the rectified response. The paper's Caffe code used in-place
ReLUs, so its "conv4_2" held the rectified values: ``relu4_2`` here, and the
package's defaults (:data:`~nst_teach.objective.CONTENT_LAYER`, ``STYLE_LAYERS``).
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Iterable, Literal, Mapping, Sequence

import torch
from torch import Tensor, nn

from nst_teach.errors import LayerError

if TYPE_CHECKING:
    from nst_teach.weights import InputConvention

__all__ = ["LAYER_NAMES", "LAYER_INDEX", "VGG19_BLOCKS", "Pooling", "VGG19Features", "check_layers", "deepest_layer"]

Pooling = Literal["max", "avg"]

#: VGG19 configuration "E": (channels, convolutions) per block, 2-2-4-4-4 convolutions.
VGG19_BLOCKS: tuple[tuple[int, int], ...] = ((64, 2), (128, 2), (256, 4), (512, 4), (512, 4))


def _layer_names() -> tuple[str, ...]:
    names: list[str] = []
    for block, (_, n_convs) in enumerate(VGG19_BLOCKS, start=1):
        for i in range(1, n_convs + 1):
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
        names.append(f"pool{block}")
    return tuple(names)


#: The paper's names for torchvision's ``vgg19().features[i]``, in order.
LAYER_NAMES: tuple[str, ...] = _layer_names()
#: Name -> index into ``vgg19().features`` (``conv4_2`` -> 21, ``conv5_1`` -> 28).
LAYER_INDEX: Mapping[str, int] = {name: i for i, name in enumerate(LAYER_NAMES)}


def check_layers(layers: Iterable[str]) -> list[str]:
    """Return ``layers`` as a list, or raise :class:`LayerError` naming the bad one.

    >>> check_layers(["conv4_2"])
    ['conv4_2']
    """
    layers = list(layers)
    if not layers:
        raise LayerError("no layer given: name at least one, e.g. 'conv4_2'.")
    for name in layers:
        if name not in LAYER_INDEX:
            close = difflib.get_close_matches(str(name), LAYER_NAMES, n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise LayerError(
                f"unknown layer {name!r}.{hint} VGG19 layers are conv1_1 ... conv5_4, "
                "relu1_1 ... relu5_4 and pool1 ... pool5 (see nst_teach.LAYER_NAMES)."
            )
    return layers


def deepest_layer(layers: Iterable[str]) -> str:
    """The layer of ``layers`` that lies deepest in the network: where the network may be cut.

    >>> deepest_layer(["conv4_2", "conv1_1", "conv5_1"])
    'conv5_1'
    """
    return max(check_layers(layers), key=LAYER_INDEX.__getitem__)


def vgg19_features_module() -> nn.Sequential:
    """torchvision's ``vgg19().features`` (configuration "E"), built without the 500 MB classifier.

    Module for module what ``torchvision.models.vgg.make_layers(cfgs["E"])`` builds (a test
    compares them), so torchvision's state dicts load as they are; importing torchvision
    would cost 160 MB of memory and a second.
    """
    layers: list[nn.Module] = []
    in_channels = 3
    for out_channels, n_convs in VGG19_BLOCKS:
        for _ in range(n_convs):
            layers += [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            in_channels = out_channels
        layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


class VGG19Features(nn.Module):
    """VGG19's convolutional part; ``forward(image, layers)`` returns ``{name: F_l}``.

    Input is RGB in [0, 1], shape ``(B, 3, H, W)``; the conversion to the input the
    weights expect (:class:`~nst_teach.weights.InputConvention`) happens inside. It
    runs only as far as the deepest requested layer. Parameters are frozen and the
    module stays in eval mode.

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
            raise ValueError(f"expected an RGB batch of shape (B, 3, H, W), got {tuple(image.shape)}")
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
