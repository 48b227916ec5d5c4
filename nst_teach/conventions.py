r"""Implementations side by side: one transfer under the losses, layer weights, start and pooling of the code people run.

References:
    Gatys, Ecker & Bethge, CVPR 2016, Eq. 1-7 (``"paper"``: this package's defaults);
    leongatys/PytorchNeuralStyleTransfer, ``NeuralStyleTransfer.ipynb`` (``"authors_code"``, the authors' PyTorch code);
    pytorch/tutorials, ``advanced_source/neural_style_tutorial.py`` (``"pytorch_tutorial"``);
    ProGamerGov/neural-style-pt, ``neural_style.py`` (``"neural_style"``, jcjohnson/neural-style's PyTorch port).

Each convention's content and style terms are the paper's times a constant at a given size, so a convention is
Eq. 7 with other weights (:func:`paper_weights`):

* a content term ``nn.MSELoss`` (a mean over the :math:`N_l M_l` entries of :math:`F^l`) is
  :math:`\frac{2}{N_l M_l}` times Eq. 1's :math:`\frac12 \sum`;
* a style term that divides each Gram matrix by :math:`d` and takes the mean over its :math:`N_l^2` entries is
  :math:`\frac{4 M_l^2}{d^2}` times :math:`E_l` (Eq. 4): 4 for :math:`d = M_l` (the authors' code),
  :math:`\frac{4}{N_l^2}` for :math:`d = N_l M_l` (the tutorial, neural-style).

Each convention's start, pooling and layers are its source's; neural-style adds an absolute total variation
(:class:`AbsoluteTV`). The run is the package's engine (:func:`~nst_teach.engine.optimize`): its optimiser, plan,
steps and precision, whatever the source's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Literal, Mapping, Sequence

import torch
from torch import Tensor

from nst_teach.engine import Progress, Result, optimize
from nst_teach.errors import NstTeachError, check_choice
from nst_teach.features import VGG19Features
from nst_teach.images import resize
from nst_teach.objective import (
    REFERENCE_PIXELS,
    FeatureEncoder,
    Objective,
    TotalVariation,
    alpha_for_size,
    build_objective,
    exact,
)
from nst_teach.settings import DEFAULT_RATIO, Settings
from nst_teach.starts import Start, initial_image
from nst_teach.tasks import check_image_size
from nst_teach.vgg19 import CONTENT_LAYER, STYLE_LAYERS, Pooling, layer_shapes

__all__ = ["CONVENTIONS", "AbsoluteTV", "Convention", "ConventionName", "convention_objective", "convention_start",
           "paper_weights", "ratio_at_512", "transfer_as"]

ConventionName = Literal["paper", "authors_code", "pytorch_tutorial", "neural_style"]


@dataclass(frozen=True)
class Convention:
    """How one implementation writes Eq. 7, in its own terms (each field quotes its source in :data:`CONVENTIONS`)."""

    name: str
    source: str  # where the code is
    content_layers: Mapping[str, float]  # its weight on each content layer's term (the paper's alpha: see `ratio`)
    style_layers: Mapping[str, float]  # its weight on each style layer's term
    content_loss: Literal["half_sum", "mean"]  # Eq. 1's 1/2 sum, or nn.MSELoss's mean over the N_l M_l entries
    gram_divisor: Literal["1", "M", "NM"]  # the Gram matrix as Eq. 3, or divided by M_l, or by N_l M_l
    style_loss: Literal["eq4", "mean"]  # Eq. 4's 1/(4 N_l^2 M_l^2) sum, or a mean over the N_l^2 entries
    init: Literal["noise", "content", "mean_pixel"]  # white noise, the photograph, or neural-style's nearly flat grey
    pooling: Pooling
    tv_weight: float = 0.0  # on the sum of |differences| of neighbouring pixels, in the source's pixel units
    pixel_scale: float = 1.0  # the source's pixel values per unit of ours (0-256 for neural-style)
    ratio: float | None = None  # Eq. 1 and 4 as printed: alpha/beta at 512 x 512, scaled to the size (the package)


#: The four conventions. Quotes from each source:
#:
#: * ``authors_code``: ``style_weights = [1e3/n**2 for n in [64,128,256,512,512]]``, ``content_weights = [1e0]``,
#:   ``G.div_(h*w)`` and ``nn.MSELoss()(GramMatrix()(input), target)``, ``opt_img = Variable(content_image.data.clone(),
#:   requires_grad=True)``, ``vgg = VGG()`` with ``pool='max'`` by default; layers ``r42`` and ``r11`` ... ``r51``.
#: * ``pytorch_tutorial``: ``G.div(a * b * c * d)``, ``F.mse_loss(G, self.target)``, ``F.mse_loss(input, self.target)``,
#:   ``style_weight=1000000, content_weight=1``, ``content_layers_default = ['conv_4']``, ``style_layers_default =
#:   ['conv_1', 'conv_2', 'conv_3', 'conv_4', 'conv_5']`` (the first five convolutions, before their ReLUs),
#:   ``input_img = content_img.clone()``, torchvision's VGG19 with its max pooling.
#: * ``neural_style``: ``-content_weight 5e0``, ``-style_weight 1e2`` on each layer, ``-tv_weight 1e-3``, ``-init random``
#:   (``torch.randn(C, H, W).mul(0.001)`` in Caffe's units: the mean pixel), ``-pooling max``, ``relu4_2`` and
#:   ``relu1_1,relu2_1,relu3_1,relu4_1,relu5_1``; ``self.G.div(input.nelement())`` and ``nn.MSELoss()``; pixels
#:   ``Loader(image) * 256``.
CONVENTIONS: dict[str, Convention] = {
    "paper": Convention("paper", "Gatys et al., CVPR 2016, Eq. 1-7, at this package's ratio", {CONTENT_LAYER: 1.0},
                        {l: 1 / len(STYLE_LAYERS) for l in STYLE_LAYERS}, "half_sum", "1", "eq4", "noise", "avg",
                        ratio=DEFAULT_RATIO),
    "authors_code": Convention("authors_code", "leongatys/PytorchNeuralStyleTransfer, NeuralStyleTransfer.ipynb",
                               {"relu4_2": 1.0}, {l: 1e3 / n**2 for l, n in zip(STYLE_LAYERS, (64, 128, 256, 512, 512))},
                               "mean", "M", "mean", "content", "max"),
    "pytorch_tutorial": Convention("pytorch_tutorial", "pytorch/tutorials, advanced_source/neural_style_tutorial.py",
                                   {"conv2_2": 1.0}, {l: 1e6 for l in ("conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1")},
                                   "mean", "NM", "mean", "content", "max"),
    "neural_style": Convention("neural_style", "ProGamerGov/neural-style-pt, neural_style.py", {"relu4_2": 5.0},
                               {l: 100.0 for l in STYLE_LAYERS}, "mean", "NM", "mean", "mean_pixel", "max",
                               tv_weight=1e-3, pixel_scale=256.0),
}

#: neural-style's mean pixel (its ``Normalize(mean=[103.939, 116.779, 123.68])``, BGR, in its 0-256 units), as RGB.
MEAN_PIXEL = (123.68 / 256, 116.779 / 256, 103.939 / 256)


def paper_weights(convention: Convention | str, size: Sequence[int]) -> tuple[dict[str, float], dict[str, float]]:
    r"""The convention's weights in the paper's units, for a content image of ``size = (H, W)``: ``(c, s)``, each
    content layer's weight on Eq. 1 and each style layer's on :math:`E_l` (Eq. 4), so that its objective is
    :math:`\sum_l c_l \mathcal L_{content,l} + \sum_l s_l E_l`:

    .. math:: c_l = \begin{cases} \alpha & \text{Eq. 1} \\ \frac{2}{N_l M_l} c'_l & \text{a mean} \end{cases}, \qquad
              s_l = \begin{cases} w_l & \text{Eq. 4} \\ \frac{4 M_l^2}{d_l^2} w'_l & \text{a mean of } G / d_l \end{cases}

    with :math:`c'_l, w'_l` the source's weights. The paper's :math:`\alpha` is its ratio at 512 x 512 scaled to the size
    (:func:`~nst_teach.objective.alpha_for_size`); Eq. 7's :math:`\beta` is :math:`\sum_l s_l`.

    >>> c, s = paper_weights("authors_code", (512, 512))
    >>> round(c["relu4_2"] * 512 * 64 * 64, 6), round(s["relu1_1"] * 64**2, 6)  # 2 / (N M); 4 x 1e3 / N^2
    (2.0, 4000.0)
    """
    convention = _convention(convention)
    shapes = {shape.name: shape for shape in layer_shapes(*size)}
    if convention.ratio is not None:
        alpha = alpha_for_size(convention.ratio, size)
        c = {l: alpha * w for l, w in convention.content_layers.items()}
    else:
        c = {l: w * 2 / (shapes[l].N_l * shapes[l].M_l) for l, w in convention.content_layers.items()}
    s = {}
    for l, w in convention.style_layers.items():
        N, M = shapes[l].N_l, shapes[l].M_l
        d = {"1": 1, "M": M, "NM": N * M}[convention.gram_divisor]
        s[l] = w if convention.style_loss == "eq4" else w * 4 * M**2 / d**2
    return c, s


def ratio_at_512(convention: Convention | str, size: Sequence[int]) -> float:
    r"""The convention's :math:`\alpha/\beta` in this package's units, Eq. 1 and 4 at 512 x 512 (:math:`r`, with
    :math:`\beta = \sum_l s_l`): :math:`r = \frac{\alpha}{\beta} \cdot \frac{H W}{512^2}`.

    >>> round(ratio_at_512("paper", (192, 256)), 9)
    0.001
    """
    c, s = paper_weights(convention, size)
    return sum(c.values()) / sum(s.values()) * size[0] * size[1] / REFERENCE_PIXELS


@dataclass
class AbsoluteTV(TotalVariation):
    r"""neural-style's total variation, :math:`\lambda \sum |x_{i+1,j} - x_{i,j}| + |x_{i,j+1} - x_{i,j}|` (``TVLoss``),
    on pixels in [0, 1]: the source's weight times its pixel scale. Not the squared form of
    :class:`~nst_teach.objective.TotalVariation`, whose name and weight it keeps."""

    def loss(self, F: Mapping[str, Tensor], x: Tensor) -> Tensor:
        x = exact(x)
        return (x[..., 1:, :] - x[..., :-1, :]).abs().sum() + (x[..., :, 1:] - x[..., :, :-1]).abs().sum()

    def resized(self, encoder: FeatureEncoder, factor: float) -> AbsoluteTV:
        """A smooth image's absolute differences grow as 1/factor and their number as factor^2: weight / factor."""
        return replace(self, weight=self.weight / factor)


def convention_objective(encoder: FeatureEncoder, content: Tensor, style: Tensor, convention: Convention | str) -> Objective:
    """The convention's objective for ``content`` and ``style`` (resized to the content's size first, as the paper
    does): the package's :class:`~nst_teach.objective.Content` and :class:`~nst_teach.objective.Style` terms with
    :func:`paper_weights`, and :class:`AbsoluteTV` where the convention has one."""
    convention = _convention(convention)
    size = tuple(content.shape[-2:])
    c, s = paper_weights(convention, size)
    alpha, beta = sum(c.values()), sum(s.values())
    objective = build_objective(encoder, content=content, style=resize(style, size),
                                content_layers={l: v / alpha for l, v in c.items()},
                                style_layers={l: v / beta for l, v in s.items()}, alpha=alpha, beta=beta)
    if convention.tv_weight:
        objective.terms.append(AbsoluteTV(convention.tv_weight * convention.pixel_scale))
    return objective


def convention_start(convention: Convention | str, content: Tensor, seed: int = 0) -> Start | Tensor:
    """The convention's start: a start's name for :func:`~nst_teach.starts.initial_image`, or neural-style's
    ``randn(C, H, W).mul(0.001)`` in its units, the mean pixel give or take 4e-6."""
    convention = _convention(convention)
    if convention.init in ("noise", "content"):
        return "noise" if convention.init == "noise" else "content"
    noise = torch.randn(content.shape, generator=torch.Generator().manual_seed(seed)) * 0.001 / convention.pixel_scale
    return torch.tensor(MEAN_PIXEL).view(1, 3, 1, 1) + noise


def transfer_as(encoder: VGG19Features, content: Tensor, style: Tensor, convention: Convention | str,
                settings: Settings | None = None, *, callback: Callable[[Progress], None] | None = None,
                should_stop: Callable[[], bool] | None = None) -> Result:
    """``content`` in the style of ``style`` as the convention writes it: its objective (:func:`convention_objective`)
    and start, on ``encoder``, which must have the convention's pooling. The engine's plan: from noise or
    neural-style's flat grey, coarse levels first (a start without a layout); from the photograph, full size."""
    convention = _convention(convention)
    if encoder.pooling != convention.pooling:
        raise NstTeachError(f"the {convention.name} convention pools by {convention.pooling!r} and this network by "
                            f"{encoder.pooling!r}: load one with load_vgg19_features(..., pooling={convention.pooling!r})",
                            "pooling")
    layers = [*convention.content_layers, *convention.style_layers]
    check_image_size("content", content.shape, layers)
    check_image_size("style", style.shape, layers)
    device = next(encoder.parameters()).device
    content, style = content.to(device), resize(style.to(device), tuple(content.shape[-2:]))
    objective = convention_objective(encoder, content, style, convention)
    start = convention_start(convention, content, (settings or Settings()).seed)
    x0 = initial_image(start, content.shape, seed=(settings or Settings()).seed, content=content, style=style, device=device)
    # white noise and neural-style's flat grey have no layout: coarse levels first; the photograph has one
    return optimize(encoder, objective, x0, settings, None, callback, should_stop, from_noise=convention.init != "content")


def _convention(convention: Convention | str) -> Convention:
    if isinstance(convention, Convention):
        return convention
    check_choice("convention", convention, tuple(CONVENTIONS))
    return CONVENTIONS[convention]
