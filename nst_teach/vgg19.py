"""VGG19's layers by the paper's names, and the input each set of weights expects.

References:
    Simonyan & Zisserman, *Very Deep Convolutional Networks for Large-Scale Image
    Recognition*, ICLR 2015 (configuration "E", the network).
    Gatys, Ecker & Bethge, CVPR 2016, Sec. 2: "the feature space provided by a normalized
    version of the 16 convolutional and 5 pooling layers of the 19-layer VGG network".

The architecture lives here once (:func:`vgg19_layers`): :mod:`nst_teach.paper` and the encoder (:mod:`nst_teach.features`) build it.

A note on names: ``conv4_2`` is the convolution's output before its ReLU and ``relu4_2`` the
rectified response. The paper's Caffe code used in-place ReLUs, so its "conv4_2" held the
rectified values: ``relu4_2`` here.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Literal, Mapping

from nst_teach.errors import LayerError

if TYPE_CHECKING:
    from torch import nn

__all__ = ["CAFFE_INPUT", "CONTENT_LAYER", "IMAGENET_INPUT", "LAYER_INDEX", "LAYER_NAMES", "STYLE_LAYERS", "VGG19_BLOCKS",
           "InputConvention", "LayerShape", "Pooling", "check_layers", "deepest_layer", "layer_shapes", "smallest_side", "vgg19_layers"]

Pooling = Literal["max", "avg"]

#: Configuration "E": (channels, convolutions) per block, 2-2-4-4-4 convolutions.
VGG19_BLOCKS: tuple[tuple[int, int], ...] = ((64, 2), (128, 2), (256, 4), (512, 4), (512, 4))

#: The paper's names for torchvision's ``vgg19().features[i]``, in order: conv1_1, relu1_1, conv1_2, ..., pool5.
LAYER_NAMES: tuple[str, ...] = tuple(
    name
    for block, (_, convs) in enumerate(VGG19_BLOCKS, start=1)
    for name in [*(f"{kind}{block}_{i}" for i in range(1, convs + 1) for kind in ("conv", "relu")), f"pool{block}"]
)
#: Name -> index into ``vgg19().features`` (``conv4_2`` -> 21, ``relu4_2`` -> 22).
LAYER_INDEX: Mapping[str, int] = {name: i for i, name in enumerate(LAYER_NAMES)}
#: The paper's content layer (CVPR 2016, Fig. 2 and Sec. 3). The paper's Caffe network rectified
#: in place, so its "conv4_2" is the response after the ReLU: ``relu4_2`` here.
CONTENT_LAYER = "relu4_2"
#: The paper's style layers, each with w_l = 1/5 (CVPR 2016, Fig. 2), rectified as above.
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


@dataclass(frozen=True)
class LayerShape:
    """A layer of the network for an image of ``H x W`` pixels: its name, where it is, its maps' shape."""

    name: str  # the paper's name, conv4_2
    index: int  # into torchvision's vgg19().features
    kind: str  # "conv", "relu" or "pool"
    N_l: int  # channels: filters of the conv, or the maps passed on
    H_l: int  # map height: H halved by each pooling up to here
    W_l: int
    M_l: int  # positions per map, as the paper counts them: H_l W_l


def layer_shapes(height: int = 224, width: int = 224) -> list[LayerShape]:
    """Every layer of VGG19, in order, for an image of ``height x width`` pixels.

    >>> [(l.name, l.N_l, l.H_l, l.M_l) for l in layer_shapes(224, 224) if l.name in ("relu4_2", "pool5")]
    [('relu4_2', 512, 28, 784), ('pool5', 512, 7, 49)]
    """
    shapes, h, w, channels = [], height, width, 3
    block_channels = iter(c for c, n in VGG19_BLOCKS for _ in range(n))
    for index, name in enumerate(LAYER_NAMES):
        kind = name.rstrip("0123456789_")
        if kind == "conv":
            channels = next(block_channels)
        elif kind == "pool":
            h, w = h // 2, w // 2
        shapes.append(LayerShape(name, index, kind, channels, h, w, h * w))
    return shapes


def check_layers(layers: Iterable[str]) -> list[str]:
    """Return ``layers`` as a list, or raise :class:`~nst_teach.errors.LayerError` naming the bad one.

    >>> check_layers(["relu4_2"])
    ['relu4_2']
    """
    layers = list(layers)
    if not layers:
        raise LayerError("no layer given: name at least one, e.g. 'relu4_2'.")
    for name in layers:
        if name not in LAYER_INDEX:
            close = difflib.get_close_matches(str(name), LAYER_NAMES, n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise LayerError(f"unknown layer {name!r}.{hint} VGG19 layers are conv1_1 ... conv5_4, "
                             "relu1_1 ... relu5_4 and pool1 ... pool5 (see nst_teach.LAYER_NAMES).")
    return layers


def deepest_layer(layers: Iterable[str]) -> str:
    """The layer of ``layers`` that lies deepest in the network: where the network may be cut.

    >>> deepest_layer(["conv4_2", "conv1_1", "conv5_1"])
    'conv5_1'
    """
    return max(check_layers(layers), key=LAYER_INDEX.__getitem__)


def smallest_side(layers: Iterable[str]) -> int:
    """The shortest image side, in pixels, whose map survives every pooling up to the deepest of ``layers``
    (each halves it): 16 px for ``relu5_1``.

    >>> smallest_side(["relu1_1", "relu5_1"]), smallest_side(["relu2_1"])
    (16, 2)
    """
    deepest = LAYER_INDEX[deepest_layer(layers)]
    return 2 ** sum(name.startswith("pool") for name in LAYER_NAMES[: deepest + 1])


def vgg19_layers(pooling: Pooling = "max") -> nn.Sequential:
    """torchvision's ``vgg19().features``, module for module (a test compares them), so its state dicts load
    as they are; with ``pooling="avg"`` the paper's average pooling, and ReLUs that keep their input intact.

    Built here rather than imported from torchvision: that would cost 160 MB of memory and a second.
    """
    from torch import nn  # here, not at the top: the names above load without torch (`nst-teach --help` shows them)
    layers: list[nn.Module] = []
    in_channels = 3
    for out_channels, convs in VGG19_BLOCKS:
        for _ in range(convs):
            layers += [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), nn.ReLU()]
            in_channels = out_channels
        layers.append(nn.AvgPool2d(2, 2) if pooling == "avg" else nn.MaxPool2d(2, 2))
    return nn.Sequential(*layers)


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


#: Caffe's VGG19, the paper's: BGR, values 0-255, minus the mean pixel (B, G, R) = (103.939, 116.779, 123.68).
CAFFE_INPUT = InputConvention("caffe: BGR, 0-255, minus the mean pixel", (2, 1, 0),
                              (103.939 / 255, 116.779 / 255, 123.68 / 255), (1 / 255, 1 / 255, 1 / 255))
#: torchvision's: RGB, standardised with ImageNet's per-channel mean and spread.
IMAGENET_INPUT = InputConvention("imagenet: RGB, (x - mean) / std", (0, 1, 2),
                                 (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
