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

A note on names: ``conv4_2`` is the convolution's output before its ReLU and
``relu4_2`` the rectified response. (The paper's Caffe code used in-place
ReLUs, so its "conv" blobs held the rectified values; pick ``relu*`` names to
match that exactly.)
"""

from __future__ import annotations

import contextlib
import difflib
import os
from pathlib import Path
from typing import Iterable, Iterator, Literal, Mapping, Sequence

import torch
from torch import Tensor, nn

from nst_teach.errors import LayerError, WeightsError

__all__ = [
    "LAYER_NAMES",
    "LAYER_INDEX",
    "Pooling",
    "VGG19Features",
    "check_layers",
    "deepest_layer",
    "imagenet_checkpoint_path",
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

# torchvision's weights expect inputs normalised with these ImageNet statistics.
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


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


#: The file of torchvision's ``VGG19_Weights.IMAGENET1K_V1`` (a test checks that they agree).
#: torchvision's ``get_state_dict`` is ``torch.hub.load_state_dict_from_url(url)``; calling
#: that directly, with the same cache, spares importing torchvision (see vgg19_features_module).
IMAGENET_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"


def imagenet_checkpoint_path() -> Path:
    """Where torchvision caches the ImageNet VGG19 file: ``$TORCH_HOME/hub/checkpoints/vgg19-dcbb9e9d.pth``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(IMAGENET_URL)


def _offline_message(cause: BaseException) -> str:
    path = imagenet_checkpoint_path()
    return (
        f"the ImageNet VGG19 weights are not in the cache and could not be downloaded ({cause}): "
        f"expected {path.name} in {path.parent}. Ways out: connect to the internet once (run `nst-teach weights --download`); "
        f"or copy {path.name} into that folder; or pass a local file (--weights PATH); "
        "or choose random weights for a smoke run (--weights random), knowing the pictures will not look like the paper's."
    )


def _imagenet_state_dict(progress: bool) -> dict[str, Tensor]:
    try:  # torchvision's download and cache (what VGG19_Weights.get_state_dict calls), hash checked
        return torch.hub.load_state_dict_from_url(IMAGENET_URL, progress=progress, check_hash=True,
                                                  weights_only=True)
    except (OSError, RuntimeError) as err:  # URLError is an OSError; hash mismatch a RuntimeError
        raise WeightsError(_offline_message(err)) from err


def _file_state_dict(path: Path) -> dict[str, Tensor]:
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}. Check the path, or use --weights imagenet|random.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle, zip and torch errors all mean "not a usable checkpoint"
        raise WeightsError(f"{path} is not a PyTorch checkpoint that loads with weights_only=True ({err}).") from err
    if not isinstance(state, dict):
        raise WeightsError(f"{path} holds a {type(state).__name__}, not a state dict of vgg19 weights.")
    return state


def _features_state(state: Mapping[str, Tensor], source: str) -> dict[str, Tensor]:
    """Accept a full torchvision vgg19 state dict or a features-only one."""
    if any(k.startswith("features.") for k in state):
        state = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    expected = {f"{i}.{p}" for i, name in enumerate(LAYER_NAMES) if name.startswith("conv")
                for p in ("weight", "bias")}
    missing = sorted(expected - set(state), key=lambda k: int(k.split(".")[0]))
    if missing:
        raise WeightsError(f"{source} is not a vgg19 state dict: missing {', '.join(missing[:4])}"
                           f"{' ...' if len(missing) > 4 else ''}.")
    return {k: state[k] for k in expected}


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

    Input is RGB in [0, 1], shape ``(B, 3, H, W)``; the ImageNet normalisation
    happens inside. It runs only as far as the deepest requested layer.
    Parameters are frozen and the module stays in eval mode.

    Attributes:
        weights: what the weights are: ``"imagenet"``, ``"random (seed S)"`` or a file path.
        pooling: ``"max"`` (as trained) or ``"avg"`` (the paper's choice for synthesis).
    """

    def __init__(self, layers: nn.Sequential, weights: str, pooling: Pooling) -> None:
        super().__init__()
        self.layers = layers
        self.weights = weights
        self.pooling = pooling
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    @property
    def is_random(self) -> bool:
        """True when the weights are random: every output made with them must say so."""
        return self.weights.startswith("random")

    def train(self, mode: bool = True) -> "VGG19Features":  # noqa: ARG002 - always eval
        return super().train(False)

    def forward(self, image: Tensor, layers: Sequence[str]) -> dict[str, Tensor]:
        if image.ndim != 4 or image.shape[1] != 3:
            raise ValueError(f"expected an RGB batch of shape (B, 3, H, W), got {tuple(image.shape)}")
        deepest = LAYER_INDEX[deepest_layer(layers)]  # checks every name, once a step
        wanted = set(layers)
        if deepest >= len(self.layers):
            raise LayerError(f"this encoder was truncated before {LAYER_NAMES[deepest]}.")
        x = (image - self.mean) / self.std
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

    @torch.no_grad()
    def normalize_activations(self, images: Sequence[Tensor]) -> "VGG19Features":
        """The paper's normalisation: each filter's mean activation becomes 1.

        For each conv layer l in turn, with the layers below already rescaled,
        ``W_l <- W_l / m_l`` and ``b_l <- b_l / m_l``, where ``m_l`` is the mean
        rectified response of each filter over ``images`` and positions. ReLU
        and pooling are positively homogeneous, so this does not change what the
        network computes up to a per-channel scale. Returns self.
        """
        for index, name in enumerate(LAYER_NAMES[: len(self.layers)]):
            if not name.startswith("conv"):
                continue
            relu = LAYER_NAMES[index + 1]
            mean = torch.stack([self(im, [relu])[relu].mean(dim=(0, 2, 3)) for im in images]).mean(0)
            scale = 1.0 / mean.clamp_min(1e-8)  # dead filters stay dead instead of dividing by 0
            conv = self.layers[index]
            conv.weight.mul_(scale.view(-1, 1, 1, 1))
            conv.bias.mul_(scale)
        return self


def load_vgg19_features(
    weights: str | os.PathLike[str] = "imagenet",
    *,
    pooling: Pooling = "max",
    seed: int = 0,
    device: torch.device | str = "cpu",
    progress: bool = True,
) -> VGG19Features:
    """Build the encoder with explicitly chosen weights.

    Args:
        weights: ``"imagenet"`` (the file of torchvision's ``VGG19_Weights.IMAGENET1K_V1``,
            downloaded once into ``$TORCH_HOME/hub/checkpoints`` by ``torch.hub``), ``"random"``
            (seeded; for smoke runs and tests only), or a path to a vgg19 state
            dict (full or features-only).
        pooling: ``"max"`` or ``"avg"``; the paper uses ``"avg"`` for synthesis.
        seed: seed for ``"random"`` weights.
        device: where the encoder lives.
        progress: show the download progress bar.

    The encoder comes in the ``channels_last`` layout (:meth:`VGG19Features.layout`).

    Raises:
        WeightsError: the weights cannot be had; the message says what to do.
    """
    if pooling not in ("max", "avg"):
        raise ValueError(f"pooling must be 'max' or 'avg', got {pooling!r}")
    model = vgg19_features_module()
    if str(weights) == "random":
        generator = torch.Generator().manual_seed(seed)
        for module in model:
            if isinstance(module, nn.Conv2d):  # torchvision's own init, but seeded
                fan_out = module.out_channels * module.kernel_size[0] * module.kernel_size[1]
                module.weight.data.normal_(0.0, (2.0 / fan_out) ** 0.5, generator=generator)
                module.bias.data.zero_()
        label = f"random (seed {seed})"
    elif str(weights) == "imagenet":
        model.load_state_dict(_features_state(_imagenet_state_dict(progress), "the ImageNet checkpoint"))
        label = "imagenet"
    else:
        path = Path(weights).expanduser()
        model.load_state_dict(_features_state(_file_state_dict(path), str(path)))
        label = str(path)
    for i, module in enumerate(model):
        if isinstance(module, nn.ReLU):
            model[i] = nn.ReLU(inplace=False)  # keep conv* outputs intact for the losses
        elif isinstance(module, nn.MaxPool2d) and pooling == "avg":
            model[i] = nn.AvgPool2d(kernel_size=2, stride=2)
    # NHWC, the layout the engine runs in by default, so that targets and runs agree (see layout())
    return VGG19Features(model, label, pooling).to(device, memory_format=torch.channels_last)
