"""One optimisation engine for the paper's three tasks.

References:
    Gatys, Ecker & Bethge, CVPR 2016, Sec. 2-3: synthesis by gradient descent
    on a white-noise image; L-BFGS "works best" for image synthesis.
    Nocedal & Wright, *Numerical Optimization*, 2006, Ch. 7: L-BFGS, here
    projected so that every pixel stays in [0, 1] (Bertsekas 1982).
    Byrd, Lu, Nocedal & Zhu, *A Limited Memory Algorithm for Bound Constrained
    Optimization*, 1995: L-BFGS-B, SciPy's, kept as ``optimizer="lbfgsb"``.
    Gatys, Ecker, Bethge, Hertzmann & Shechtman, *Controlling Perceptual Factors
    in Neural Style Transfer*, CVPR 2017: coarse-to-fine for large images.
    Mahendran & Vedaldi, CVPR 2015, and the CVPR 2016 paper's Fig. 1: content
    reconstruction from a single layer.

The pipeline is image -> features (:mod:`nst_teach.features`) -> losses
(:mod:`nst_teach.losses`) -> optimiser (here) -> image. The three tasks only
differ in their :class:`Objective`:

* content reconstruction: ``alpha = 1``, ``beta = 0``, one content layer;
* texture synthesis: ``alpha = 0``, ``beta = 1``, style layers with ``w_l``;
* style transfer: both, with the ratio ``alpha / beta``.

Notebooks, the CLI, the assignments and the benchmark all call :func:`optimize`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Callable, Literal, Mapping, Protocol, Sequence, Union

import torch
from torch import Tensor

from nst_teach import color, losses
from nst_teach.errors import NstTeachError
from nst_teach.features import VGG19Features, check_layers
from nst_teach.images import resize
from nst_teach.precision import autocast_dtype, reuse_freed_memory

__all__ = [
    "CONTENT_LAYER",
    "DEFAULT_RATIO",
    "REFERENCE_PIXELS",
    "STYLE_LAYERS",
    "Init",
    "Objective",
    "Progress",
    "Result",
    "Settings",
    "alpha_for_size",
    "blend_weights",
    "build_objective",
    "initial_image",
    "optimize",
    "optimize_from",
    "reconstruct_content",
    "style_transfer",
    "synthesize_texture",
]

#: The paper's content layer (CVPR 2016, Fig. 2, its method, and Fig. 3). The paper's Caffe network rectified
#: in place, so its "conv4_2" is the response after the ReLU: ``relu4_2`` here.
CONTENT_LAYER = "relu4_2"
#: The paper's style layers, each with w_l = 1/5 (CVPR 2016, Fig. 2), rectified as above.
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")

#: The image area at which this package quotes alpha/beta: the paper's 512 x 512 pixels.
REFERENCE_PIXELS = 512 * 512
#: The default alpha/beta at :data:`REFERENCE_PIXELS`, chosen by looking at Fig. 3 (the gallery) on the
#: paper's network (README "Weights"): the houses stay, the painting's colours and strokes come.
DEFAULT_RATIO = 2e-3

class GuidedStyleLoss(Protocol):
    """A style term that replaces Eq. 5, e.g. :class:`nst_teach.spatial.GuidedStyle`."""

    def loss(self, F: Mapping[str, Tensor]) -> Tensor: ...


#: A weight per layer: one number, or one per image of a batch (shape ``(B,)``).
LayerWeight = Union[float, Tensor]
Init = Union[Literal["noise", "uniform", "content", "style"], Tensor]


@dataclass
class Objective:
    """What the image should match. Targets are computed once and detached.

    The total is ``alpha * sum_l c_l L_content(F_l, P_l) + beta * sum_l w_l E_l + tv_weight * TV``
    (CVPR 2016, Eq. 7; the TV term is an optional extra).
    """

    P: dict[str, Tensor] = field(default_factory=dict)  # content layer -> content features P_l
    A: dict[str, Tensor] = field(default_factory=dict)  # style layer -> style Gram matrix A_l
    content_weights: dict[str, LayerWeight] = field(default_factory=dict)  # c_l, usually {"conv4_2": 1}
    style_weights: dict[str, LayerWeight] = field(default_factory=dict)  # w_l, the paper: 1/5 each
    alpha: float = 1.0  # content weight
    beta: float = 1.0  # style weight
    tv_weight: float = 0.0  # total-variation weight (0: off, as in the paper)
    content: Tensor | None = None  # the images the targets came from, kept for coarse-to-fine
    style: Tensor | list[Tensor] | None = None  # one style image, or several blended
    M_A: dict[str, int] = field(default_factory=dict)  # style layer -> positions M of the style's map (Eq. 4)
    style_blend: tuple[float, ...] | None = None  # the blend's weights b_k, summing to 1 (None: one style)
    guided: "GuidedStyleLoss | None" = None  # spatial control: replaces the style term (nst_teach.spatial)

    @property
    def layers(self) -> list[str]:
        """Every layer the encoder must return."""
        return list(dict.fromkeys([*self.content_weights, *self.style_weights]))

    def terms(self, F: Mapping[str, Tensor], x: Tensor) -> dict[str, Tensor]:
        """Loss terms for features ``F`` of image ``x``: content, style, tv and total.

        Features are upcast to float32 first, so the losses are exact even when
        the network ran in bfloat16.
        """
        zero = x.new_zeros((), dtype=torch.float32)
        L_content = sum((_weighted(losses.content_loss, F[l].float(), self.P[l], w)
                         for l, w in self.content_weights.items()), zero)
        if self.guided is not None:
            L_style = self.guided.loss(F)
        else:
            L_style = sum((_weighted(partial(losses.style_layer_loss, M_A=self.M_A.get(l)), F[l].float(), self.A[l], w)
                           for l, w in self.style_weights.items()), zero)
        out = {"content": L_content, "style": L_style}
        total = losses.total_loss(L_content, L_style, self.alpha, self.beta)
        if self.tv_weight:
            out["tv"] = losses.total_variation(x.float())
            total = total + self.tv_weight * out["tv"]
        out["total"] = total
        return out

    @property
    def rescalable(self) -> bool:
        """True when the source images are known, so :meth:`scaled` can rebuild the targets."""
        knows_content = self.content is not None or not self.content_weights
        return knows_content and self.guided is None and (self.style is not None or not self.style_weights)

    def scaled(self, encoder: VGG19Features, factor: float) -> "Objective":
        """The same objective for images ``factor`` times as large: targets from resized sources.

        Used by coarse-to-fine (Gatys et al., CVPR 2017): a half-size
        problem has half-size targets, so its solution, upsampled, is a good
        start for the full-size one.
        """
        if not self.rescalable:
            raise ValueError("this objective does not know its source images; build it with build_objective")
        def shrink(im: Tensor) -> Tensor:
            return resize(im, _scaled_size(im.shape[-2:], factor))

        content = None if self.content is None else shrink(self.content)
        style = self.style if self.style is None else (
            [shrink(im) for im in self.style] if isinstance(self.style, list) else shrink(self.style))
        return build_objective(encoder, content=content, style=style, content_layers=self.content_weights,
                               style_layers=self.style_weights, alpha=self.alpha, beta=self.beta,
                               tv_weight=self.tv_weight, style_blend=self.style_blend)


def alpha_for_size(ratio: float, size: Sequence[int], reference: int = REFERENCE_PIXELS) -> float:
    r"""The alpha (with beta = 1) that gives an image of ``size = (H, W)`` the balance ``ratio`` has at 512 x 512.

    The content loss (Eq. 1) sums over all :math:`N_l M_l` entries of :math:`F^l`, so it
    grows with the image's area; :math:`E_l` (Eq. 4) divides :math:`G^l`'s growth by
    :math:`M_l^2` and does not. Halving the side quarters :math:`\mathcal L_{content}`,
    and the same alpha then lets the style win. Hence

    .. math:: \alpha = r \cdot \frac{512 \cdot 512}{H W}.

    >>> alpha_for_size(1e-3, (256, 256))
    0.004
    """
    return ratio * reference / (size[0] * size[1])


def _scaled_size(size: Sequence[int], factor: float) -> tuple[int, int]:
    return (max(1, round(size[0] * factor)), max(1, round(size[1] * factor)))


def level_size(size: Sequence[int], level: int) -> tuple[int, int]:
    """``(H, W)`` at coarse-to-fine ``level``: ``size`` halved ``level`` times (0 is full size)."""
    return _scaled_size(size, 0.5**level)


def _weighted(loss: Callable[[Tensor, Tensor], Tensor], F: Tensor, T: Tensor, w: LayerWeight) -> Tensor:
    """``w * loss(F, T)``, or with one weight per image: ``sum_b w_b * loss(F_b, T_b)``."""
    if not isinstance(w, Tensor):
        return w * loss(F, T.expand(F.shape[0], *T.shape[1:]))
    T = T.expand(F.shape[0], *T.shape[1:])
    return sum(float(w_b) * loss(F[b : b + 1], T[b : b + 1]) for b, w_b in enumerate(w.tolist()) if w_b)


@torch.no_grad()
def build_objective(
    encoder: VGG19Features,
    *,
    content: Tensor | None = None,
    style: Tensor | Sequence[Tensor] | None = None,
    content_layers: Mapping[str, LayerWeight] | Sequence[str] = (),
    style_layers: Mapping[str, LayerWeight] | Sequence[str] = (),
    alpha: float = 1.0,
    beta: float = 1.0,
    tv_weight: float = 0.0,
    style_blend: Sequence[float] | None = None,
) -> Objective:
    r"""Compute the targets ``P_l = F_l(content)`` and ``A_l = G(F_l(style))`` once.

    Layer lists without weights get equal weights summing to 1 (the paper's
    ``w_l = 1/5`` over five layers). ``content`` and ``style`` may be batches.

    Several style images blend into one target: with weights :math:`b_k` (``style_blend``,
    non-negative, scaled to sum to 1; equal by default), each layer's target is the
    weighted mean of the styles' Gram matrices per position,

    .. math:: A_l = \sum_k b_k \, G^l(a_k) / M^l_k,

    compared with :math:`G^l / M_l` (so :attr:`Objective.M_A` is 1).
    """
    c_w = _as_weights(content_layers)
    s_w = _as_weights(style_layers)
    if c_w and content is None:
        raise ValueError("content layers were given but no content image")
    if s_w and style is None:
        raise ValueError("style layers were given but no style image")
    P = _features(encoder, content, list(c_w)) if c_w else {}
    blend = None
    if style is None or (isinstance(style, Tensor) and style_blend is None):
        S = _features(encoder, style, list(s_w)) if s_w else {}
        A = {l: losses.gram_matrix(F) for l, F in S.items()}
        M_A = {l: F.shape[-2] * F.shape[-1] for l, F in S.items()}
    else:  # a blend of several styles
        style = [style] if isinstance(style, Tensor) else list(style) if style is not None else []
        blend = blend_weights(style_blend if style_blend is not None else [1.0] * len(style), len(style))
        A, M_A = {}, {l: 1 for l in s_w}
        for b_k, image in zip(blend, style):
            for l, F in (_features(encoder, image, list(s_w)) if s_w and b_k else {}).items():
                A[l] = A.get(l, 0) + b_k * losses.gram_matrix(F) / (F.shape[-2] * F.shape[-1])
    return Objective(P, A, c_w, s_w, alpha, beta, tv_weight, content=content if c_w else None,
                     style=style if s_w else None, M_A=M_A, style_blend=blend)


def blend_weights(weights: Sequence[float], n_styles: int) -> tuple[float, ...]:
    """``weights`` for ``n_styles`` style images, checked (one each, finite, non-negative, not all zero)
    and scaled to sum to 1.

    >>> blend_weights([0.7, 0.7], 2)
    (0.5, 0.5)
    """
    weights = [float(w) for w in weights]
    if n_styles < 1:
        raise NstTeachError("a blend needs at least one style image")
    if len(weights) != n_styles:
        raise NstTeachError(f"{len(weights)} style weights for {n_styles} style images: give one weight per style")
    if not all(math.isfinite(w) and w >= 0 for w in weights) or not sum(weights) > 0:
        raise NstTeachError(f"style weights must be non-negative and not all zero, got {weights}")
    total = sum(weights)
    return tuple(w / total for w in weights)


def _as_weights(layers: Mapping[str, LayerWeight] | Sequence[str]) -> dict[str, LayerWeight]:
    names = list(layers)
    if names:
        check_layers(names)
    if isinstance(layers, Mapping):
        return dict(layers)
    return {name: 1.0 / len(names) for name in names}


def _features(encoder: VGG19Features, image: Tensor, layers: list[str]) -> dict[str, Tensor]:
    """Targets in float32, whatever precision the optimisation later uses: computed once, so exact."""
    return {l: F.float() for l, F in encoder(image.float(), layers).items()}


@dataclass
class Settings:
    """How to optimise. The defaults are the paper's, L-BFGS from white noise, plus one that is
    not: coarse-to-fine on images large enough for it (``coarse_levels=0`` turns it off).

    Chosen by measurement (``nst-teach bench``, README "Speed"): float32, because bfloat16
    ends 12-88 % worse; ``channels_last``; coarse-to-fine, which reaches the baseline's loss
    1.4-3.2x sooner than without it and ends 1.3-5.4x lower; a history of
    20 pairs, because 100 gained under 5 % and 10 lost 17 %.
    """

    optimizer: Literal["lbfgs", "lbfgsb", "adam"] = "lbfgs"  # projected L-BFGS; SciPy's L-BFGS-B; or Adam
    steps: int = 300  # loss-and-gradient evaluations (L-BFGS takes about one per iteration)
    lr: float | None = None  # Adam's step size (default 0.02); L-BFGS finds its own by line search
    history_size: int = 20  # L-BFGS memory: pairs of past steps and gradient changes
    seed: int = 0  # for the white-noise init
    precision: Literal["auto", "float32", "bfloat16"] = "float32"  # network compute type; auto: bf16 where fast
    # (bfloat16 is 1.3-1.5x faster a step on this CPU but ends 12-88 % worse, so it is not the
    # default: see the benchmark in the README)
    float32_tail: float = 0.25  # with bfloat16: the last quarter of the steps in float32, to refine
    channels_last: bool = True  # NHWC layout for the convolutions (faster with oneDNN and cuDNN)
    coarse_levels: int | None = None  # coarse-to-fine: first solve at 1/4, 1/2 size (None: by size, see
    # levels(); 0: off)
    coarse_share: float = 0.5  # the share of `steps` spent on the coarse levels (each step there is 4x cheaper)
    resampling: Literal["auto", "bilinear", "nearest"] = "auto"  # from level to level (auto: see resampling_mode)
    every: int = 10  # call the callback every `every` steps

    @property
    def low_precision_steps(self) -> int:
        """Steps before the float32 tail: all of them in float32, else ``1 - float32_tail`` of them."""
        return self.steps if self.precision == "float32" else self.steps - round(self.float32_tail * self.steps)

    def levels(self, size: Sequence[int], content_term: bool = True) -> list[tuple[int, int]]:
        """The coarse-to-fine plan for an image of ``size``: ``[(level, steps), ...]``, coarsest first.

        Level ``k`` is the image halved ``k`` times (:func:`level_size`); 0 is full
        size. By default there are up to two coarse levels, as long as the short
        side stays at least :data:`MIN_COARSE_SIDE` px there; they share
        ``coarse_share`` of the steps, and the full size gets the rest. Without
        a content term (textures) there is at most one, whose short side must be
        at least :data:`MIN_TEXTURE_COARSE_SIDE` px: a texture has no layout for
        the coarse levels to settle, and its deepest statistics (conv5_1 sees the
        image at 1/16) carry over a change of scale only when there is room for
        them. Two levels, or one at 48 px, ended 24-37 % worse (README "Speed").
        """
        levels = self.coarse_levels
        if levels is None:
            most, side = (2, MIN_COARSE_SIDE) if content_term else (1, MIN_TEXTURE_COARSE_SIDE)
            levels = next((k for k in range(most, 0, -1) if min(size) / 2**k >= side), 0)
        coarse = round(self.coarse_share * self.steps) if levels else 0
        plan = [(k, coarse // levels + (k == levels) * (coarse % levels)) for k in range(levels, 0, -1)]
        return [(k, n) for k, n in plan if n > 0] + [(0, self.steps - coarse)]

    def resampling_mode(self, content_term: bool = True) -> Literal["bilinear", "nearest"]:
        """How an image moves between coarse-to-fine levels (the start shrunk, each solution enlarged).

        ``"auto"``: antialiased bilinear (:func:`~nst_teach.images.resize`) when there is a
        content term, whose layout should stay smooth; nearest neighbour for textures.
        Nearest neighbour keeps the distribution of pixel values: shrunk, white noise stays
        white noise with the same spread, as if drawn at the coarse size, where averaging
        would halve it; enlarged, a coarse texture keeps its contrast
        and sharp edges, which conv1_1's Gram matrix measures, where bilinear blurs them.
        For textures at 256 px this reached the benchmark's target 1.2x sooner over three
        seeds and ended 1.1-1.4x lower; with a content term it was 3-10 % later (README "Speed").
        """
        if self.resampling != "auto":
            return self.resampling
        return "bilinear" if content_term else "nearest"


#: The smallest short side a coarse level may have (VGG19 halves it four times before conv5_1).
MIN_COARSE_SIDE = 48
#: The same for a texture's (single) coarse level: conv5_1's Gram matrix needs a 6 x 6 map or more.
MIN_TEXTURE_COARSE_SIDE = 96


@dataclass
class Progress:
    """What the callback receives."""

    step: int
    steps: int
    image: Tensor  # current image, detached, clamped to [0, 1]
    losses: dict[str, float]  # the current loss terms
    seconds: float


@dataclass
class Result:
    """The outcome of :func:`optimize`. ``image`` is the best one seen."""

    image: Tensor
    history: list[dict[str, float]]  # one entry per step: step and each loss term
    status: Literal["finished", "interrupted", "stopped", "diverged"]
    message: str
    steps: int
    seconds: float

    @property
    def losses(self) -> dict[str, float]:
        """The loss terms of the best image."""
        last = [h for h in self.history if h.get("level", 0) == self.history[-1].get("level", 0)]
        return min(last, key=lambda h: h["total"]) if last else {}


class _NonFinite(Exception):
    """The loss became NaN or infinite."""


class _Budget(Exception):
    """All steps of a level are spent."""


class _Stop(Exception):
    """should_stop() said so."""


def initial_image(init: Init, shape: Sequence[int], *, seed: int = 0, content: Tensor | None = None,
                  style: Tensor | Sequence[Tensor] | None = None, device: torch.device | str = "cpu") -> Tensor:
    r"""The starting image ``x``: white noise (the paper's choice), the content or style image, or a tensor.

    ``"noise"`` is white noise in the colours of the images the targets come from
    (``content`` and ``style``, whichever are given): every pixel is drawn independently,

    .. math:: x_{ij}^c = \mathrm{clip}_{[0,1]}\big(\mu^c + \sigma^c \sqrt{12}\,(u_{ij}^c - \tfrac12)\big),
              \qquad u_{ij}^c \sim U(0, 1),

    with :math:`\mu^c, \sigma^c` the mean and standard deviation of channel ``c`` over
    their pixels. ``"uniform"`` is the same with :math:`\mu = \tfrac12, \sigma = 1/\sqrt{12}`:
    plain :math:`U(0, 1)` noise, what ``"noise"`` gives when there are no source images.
    The Gram matrices are not centred, so a mean colour far from the target's is the
    largest error a uniform start has at every style layer. Starting in the right
    colours reached the benchmark's target 1.3-1.6x sooner for reconstruction and
    transfer at 256 and 512 px and ended 2.4-3.2x lower than uniform noise with the same
    seed; textures ended 1.1-1.3x lower, in about the same time (README "Speed").
    """
    if isinstance(init, Tensor):
        x = init
    elif init in ("noise", "uniform"):
        x = torch.rand(tuple(shape), generator=torch.Generator().manual_seed(seed))
        images = [content, *(style if isinstance(style, (list, tuple)) else [style])]
        sources = [im.detach().float().cpu() for im in images if im is not None]
        if init == "noise" and sources:
            pixels = torch.cat([im.movedim(1, 0).flatten(1) for im in sources], 1)  # (C, N)
            mu, sigma = pixels.mean(1).view(-1, 1, 1), pixels.std(1).view(-1, 1, 1)
            x = (mu + sigma * math.sqrt(12) * (x - 0.5)).clamp(0, 1)
    elif init in ("content", "style"):
        x = content if init == "content" else (style[0] if isinstance(style, (list, tuple)) and style else style)
        if x is None:
            raise ValueError(f"init={init!r} needs a {init} image")
    else:
        raise ValueError(f"init must be 'noise', 'uniform', 'content', 'style' or a tensor, got {init!r}")
    x = x.detach().float().to(device)
    if tuple(x.shape[-2:]) != tuple(shape[-2:]):
        x = resize(x, tuple(shape[-2:]))
    return x.expand(*shape).clone() if x.shape[0] == 1 and shape[0] > 1 else x.clone()


def optimize(
    encoder: VGG19Features,
    objective: Objective,
    x0: Tensor,
    settings: Settings | None = None,
    callback: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Result:
    """Minimise ``objective`` over the pixels of ``x0``, kept in [0, 1], and return the best image.

    A step is one evaluation of the loss and its gradient. ``callback`` gets a
    :class:`Progress` every ``settings.every`` steps and at the last one, its
    image always at full size.

    Coarse-to-fine (``settings.levels``): when the objective knows its source
    images, the problem is first solved at 1/4 and 1/2 size, and each solution,
    upsampled, starts the next level (``settings.resampling_mode`` says how).
    History entries say their ``level`` (0 is full size); losses at different
    levels are not comparable.

    The encoder runs in the layout ``settings.channels_last`` asks for and then
    returns to its own, so that the same call twice gives the same image.

    The run never loses work: Ctrl-C (or the notebook's stop button) and
    ``should_stop()`` returning True end it with the best image so far; a NaN
    or inf loss ends it with the best finite image and a message saying why.
    """
    s = settings or Settings()
    if s.optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {s.optimizer!r}")
    size, content_term = tuple(x0.shape[-2:]), bool(objective.content_weights)
    plan = s.levels(size, content_term) if objective.rescalable else [(0, s.steps)]
    mode = s.resampling_mode(content_term)
    run = _Run(encoder, s, size, callback, should_stop)
    x = x0.detach().float().clamp(0, 1)
    status, message = "finished", f"finished {s.steps} steps"
    try:
        with reuse_freed_memory(x.device), encoder.layout(s.channels_last):
            for level, steps in plan:
                # x and the targets' sources shrink by the same rule, so their features match in size
                target = objective if level == 0 else objective.scaled(encoder, 0.5**level)
                early = run.level(target, _resample(x, level_size(size, level), mode), steps, level)
                x = run.best_image
                if early and level == 0:
                    message = f"the optimiser stopped after {len(run.history)} steps: {early}"
    except _Stop:
        status, message = "stopped", f"stopped at step {len(run.history)}; kept the best image so far"
    except KeyboardInterrupt:
        status, message = "interrupted", f"interrupted at step {len(run.history)}; kept the best image so far"
    except _NonFinite as err:
        status = "diverged"
        message = (f"the loss became NaN or infinite ({err}); returning the best finite image. "
                   "Likely causes: a learning rate too high for Adam (try --lr 0.01), a very large beta or "
                   "alpha, or a low-precision overflow (try --precision float32).")
    image = resize(run.best_image, size).clamp(0, 1).contiguous()
    return Result(image, run.history, status, message, len(run.history), time.perf_counter() - run.start)


def _resample(x: Tensor, size: tuple[int, int], mode: Literal["bilinear", "nearest"]) -> Tensor:
    """``x`` at ``size`` for the next level: :func:`resize` (antialiased bilinear) or nearest neighbour."""
    if mode == "bilinear" or tuple(x.shape[-2:]) == tuple(size):
        return resize(x, size)
    return torch.nn.functional.interpolate(x, size=size, mode="nearest")


class _Run:
    """The state of one :func:`optimize` call across its levels: history, clock and best image."""

    def __init__(self, encoder: VGG19Features, settings: Settings, size: tuple[int, ...],
                 callback: Callable[[Progress], None] | None, should_stop: Callable[[], bool] | None) -> None:
        self.encoder, self.s, self.size = encoder, settings, size
        self.callback, self.should_stop = callback, should_stop
        self.history: list[dict[str, float]] = []
        self.best_loss, self.best_image = math.inf, torch.empty(0)
        self.start = time.perf_counter()

    def level(self, objective: Objective, x0: Tensor, steps: int, level: int) -> str:
        """Optimise one level for ``steps`` steps from ``x0``; returns why if it stopped early."""
        s, first = self.s, len(self.history)
        level_settings = replace(s, steps=steps)
        if s.channels_last:  # the optimiser's element-wise updates keep it, so no step copies the image
            x0 = x0.contiguous(memory_format=torch.channels_last)
        self.best_loss, self.best_image = math.inf, x0.clone()
        layers = objective.layers
        # The paper's losses span many orders of magnitude, so the optimiser sees the
        # loss divided by its value at the level's start (only alpha/beta shapes the image).
        scale: list[float] = []

        def evaluate(x: Tensor) -> tuple[float, Tensor]:
            """Loss / scale and its gradient at ``x``; records the step. This is the only place the network runs."""
            step = len(self.history) + 1
            if step - first > steps:
                raise _Budget
            x = x.detach().requires_grad_(True)
            with autocast_dtype(x.device, s.precision if step - first <= level_settings.low_precision_steps
                                else "float32"):
                F = self.encoder(x.contiguous(memory_format=torch.channels_last) if s.channels_last else x, layers)
            terms = objective.terms(F, x)
            values = {k: float(v.detach()) for k, v in terms.items()}
            if not math.isfinite(values["total"]):
                raise _NonFinite(f"step {step}: {values}")
            if not scale:
                scale.append(values["total"] or 1.0)
            (terms["total"] / scale[0]).backward()
            self.history.append({"step": step, "level": level, **values})
            if values["total"] < self.best_loss:
                self.best_loss, self.best_image = values["total"], x.detach()  # kept, not copied: see OPTIMIZERS
            if self.callback and (step % s.every == 0 or step == s.steps):
                image = resize(x.detach(), self.size).clamp(0, 1)
                self.callback(Progress(step, s.steps, image, dict(self.history[-1]), time.perf_counter() - self.start))
            if self.should_stop and self.should_stop():
                raise _Stop
            return values["total"] / scale[0], x.grad

        try:
            return OPTIMIZERS[s.optimizer](evaluate, x0, level_settings)
        except _Budget:
            return ""


def _lbfgsb(evaluate: Callable[[Tensor], tuple[float, Tensor]], x0: Tensor, s: Settings) -> str:
    """L-BFGS-B (Byrd et al. 1995, SciPy's), with every pixel bounded to [0, 1].

    The reference for :func:`_projected_lbfgs`, which reaches the same losses
    without SciPy's per-step cost on the CPU (0.11 s a step at 512 px) or the
    copies between a GPU and NumPy. Returns SciPy's message when it stops
    before the step budget.
    """
    import numpy as np
    from scipy.optimize import Bounds, minimize
    from threadpoolctl import threadpool_limits

    shape, device = x0.shape, x0.device

    def fun(z: np.ndarray) -> tuple[float, np.ndarray]:
        loss, grad = evaluate(torch.from_numpy(z).to(device=device, dtype=torch.float32).view(shape))
        return loss, grad.detach().double().cpu().numpy().ravel()

    n = x0.numel()
    z = x0.double().cpu().numpy().ravel()
    result = None
    # Low-precision gradients leave their mark in L-BFGS's memory, so the float32
    # tail starts afresh from where the bfloat16 phase ended.
    switch = s.low_precision_steps
    for budget in (switch, s.steps - switch):
        if budget <= 0:
            continue
        # SciPy's BLAS threads would spin against PyTorch's between steps (2x slower on 2 cores).
        with threadpool_limits(limits=1, user_api="blas"):
            result = minimize(fun, z, jac=True, method="L-BFGS-B", bounds=Bounds(np.zeros(n), np.ones(n)),
                              options={"maxfun": budget, "maxiter": 10 * budget, "maxcor": s.history_size,
                                       "ftol": 0.0, "gtol": 0.0})
        z = result.x
    return str(result.message) if result is not None else ""


def _projected_lbfgs(evaluate: Callable[[Tensor], tuple[float, Tensor]], x0: Tensor, s: Settings) -> str:
    r"""Projected L-BFGS in PyTorch: pixels kept in [0, 1], everything on the image's device.

    Each iteration (Nocedal & Wright, *Numerical Optimization*, Alg. 7.4 and 7.5;
    the active set as in Bertsekas 1982 and Kim, Sra & Dhillon 2010):

    1. *Active set*: pixels at a bound whose gradient pushes them outwards,
       :math:`\mathcal A = \{i : x_i = 0, g_i > 0\} \cup \{i : x_i = 1, g_i < 0\}`, are frozen.
    2. *Direction*: :math:`d = -H g` on the free pixels, with :math:`H` from the
       two-loop recursion over the last ``history_size`` pairs
       :math:`s_k = x_{k+1} - x_k`, :math:`y_k = g_{k+1} - g_k`, and
       :math:`H_0 = \frac{s^\top y}{y^\top y} I`.
    3. *Step*: :math:`x^+ = P_{[0,1]}(x + t d)`, from :math:`t = 1`, until
       :math:`f(x^+) \le f(x) + 10^{-4}\, g^\top (x^+ - x)` (Armijo on the projected path).
       A rejected :math:`t` is replaced by the minimiser of the parabola through
       :math:`f(x)`, the slope :math:`g^\top d` and :math:`f(x^+)`, kept within
       :math:`[0.1\,t, 0.5\,t]` (Nocedal & Wright, Sec. 3.5).

    Unlike clamping after a plain L-BFGS step, the curvature pairs describe the
    step actually taken, so the memory stays consistent.
    """
    x = x0.detach().clone()
    f, g = evaluate(x)
    memory: list[tuple[Tensor, Tensor, Tensor]] = []  # (s_k, y_k, 1 / s_k^T y_k), tensors: no host syncs
    evaluations = 1
    while True:
        free = ~(((x <= 0) & (g > 0)) | ((x >= 1) & (g < 0)))
        q = torch.where(free, g, 0.0)
        if memory:
            alphas = []
            for s_k, y_k, rho_k in reversed(memory):
                alphas.append(rho_k * (s_k * q).sum())
                q = q - alphas[-1] * y_k
            _, y_last, rho_last = memory[-1]
            q = q / (rho_last * (y_last * y_last).sum())  # H_0 = s^T y / y^T y
            for (s_k, y_k, rho_k), a in zip(memory, reversed(alphas)):
                q = q + (a - rho_k * (y_k * q).sum()) * s_k
            d = -torch.where(free, q, 0.0)
            t = 1.0
        else:
            d = -torch.where(free, g, 0.0)
            t = 0.1 / max(float(d.abs().max()), 1e-12)  # first step: move the pixels by at most 0.1
        slope = float((d * g).sum())
        if slope >= 0:  # not a descent direction: forget the memory, or stop at a stationary point
            if not memory:
                return "the projected gradient is zero (a stationary point)"
            memory.clear()
            continue
        before = evaluations
        while True:
            x_new = (x + t * d).clamp_(0, 1)
            f_new, g_new = evaluate(x_new)
            evaluations += 1
            if f_new <= f + 1e-4 * float((g * (x_new - x)).sum()) or t < 1e-8:
                break
            excess = f_new - f - slope * t  # > 0: the parabola curves upwards
            t = min(max(-slope * t * t / (2 * excess), 0.1 * t), 0.5 * t) if excess > 0 else 0.5 * t
        s_k, y_k = x_new - x, g_new.detach() - g
        sy = (s_k * y_k).sum()
        if float(sy) > 1e-10 * float((y_k * y_k).sum()):
            memory.append((s_k, y_k, 1.0 / sy))
            if len(memory) > s.history_size:
                memory.pop(0)
        x, f, g = x_new, f_new, g_new.detach()
        if before < s.low_precision_steps <= evaluations < s.steps:  # crossed into the float32 tail (a line
            memory.clear()  # search may step over the switch): low-precision gradients leave their mark


def _adam(evaluate: Callable[[Tensor], tuple[float, Tensor]], x0: Tensor, s: Settings) -> str:
    """Adam, projected back onto [0, 1] after every step."""
    x = x0.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=s.lr or 0.02)
    for _ in range(s.steps):
        _, x.grad = evaluate(x.detach().clone())  # a copy: opt.step() changes x in place
        opt.step()
        with torch.no_grad():
            x.clamp_(0, 1)
    return ""


#: The optimisers by name: each takes ``evaluate``, the start and the settings, and
#: runs until ``evaluate`` raises (the step budget, a stop, a NaN). ``evaluate`` keeps
#: the best image it saw without copying it, so an optimiser must not change an image
#: in place after handing it over; the gradient it returns is a fresh tensor.
OPTIMIZERS: dict[str, Callable[[Callable[[Tensor], tuple[float, Tensor]], Tensor, Settings], str]] = {
    "lbfgs": _projected_lbfgs,
    "lbfgsb": _lbfgsb,
    "adam": _adam,
}


def optimize_from(encoder: VGG19Features, objective: Objective, init: Init, shape: Sequence[int],
                  settings: Settings | None = None, callback: Callable[[Progress], None] | None = None,
                  should_stop: Callable[[], bool] | None = None) -> Result:
    """:func:`optimize` from ``initial_image(init, shape)``, made from the objective's own source images.

    The three tasks below and the benchmark start this way.
    """
    s = settings or Settings()
    device = next(encoder.parameters()).device
    x0 = initial_image(init, shape, seed=s.seed, content=objective.content, style=objective.style, device=device)
    return optimize(encoder, objective, x0, s, callback, should_stop)


def reconstruct_content(encoder: VGG19Features, image: Tensor, layer: str | Sequence[str] = CONTENT_LAYER,
                        settings: Settings | None = None, *, init: Init = "noise",
                        callback: Callable[[Progress], None] | None = None,
                        should_stop: Callable[[], bool] | None = None) -> Result:
    """Find an image whose features at ``layer`` match ``image``'s (Fig. 1, bottom row).

    Several layers reconstruct as one batch, one image per layer: the
    content loss of image ``b`` uses only layer ``b`` (a per-image weight).
    One optimiser then sees the sum of the layers' losses, whose scales differ
    by orders of magnitude on the trained network, so the small ones barely
    move: for a figure, run one layer at a time (as lesson 2 does).
    """
    names = [layer] if isinstance(layer, str) else list(layer)
    B = len(names)
    image = image.expand(B, *image.shape[1:]) if B > 1 else image
    weights = {l: torch.tensor([1.0 if b == i else 0.0 for b in range(B)]) for i, l in enumerate(names)}
    objective = build_objective(encoder, content=image, content_layers=weights if B > 1 else names,
                                alpha=1.0, beta=0.0)
    return optimize_from(encoder, objective, init, image.shape, settings, callback, should_stop)


def synthesize_texture(encoder: VGG19Features, image: Tensor,
                       layers: Mapping[str, LayerWeight] | Sequence[str] = STYLE_LAYERS,
                       settings: Settings | None = None, *, size: tuple[int, int] | None = None,
                       init: Init = "noise", callback: Callable[[Progress], None] | None = None,
                       should_stop: Callable[[], bool] | None = None) -> Result:
    """Synthesise a texture matching ``image``'s Gram matrices at ``layers`` (Fig. 1, top row)."""
    objective = build_objective(encoder, style=image, style_layers=layers, alpha=0.0, beta=1.0)
    shape = (image.shape[0], 3, *(size or image.shape[-2:]))
    return optimize_from(encoder, objective, init, shape, settings, callback, should_stop)


def style_transfer(encoder: VGG19Features, content: Tensor, style: Tensor | Sequence[Tensor],
                   settings: Settings | None = None, *,
                   content_layers: Mapping[str, LayerWeight] | Sequence[str] = (CONTENT_LAYER,),
                   style_layers: Mapping[str, LayerWeight] | Sequence[str] = STYLE_LAYERS,
                   alpha: float | None = None, beta: float = 1.0, tv_weight: float = 0.0,
                   init: Init = "noise", keep_style_scale: bool = False,
                   preserve_colors: Literal["luminance", "histogram"] | None = None,
                   style_blend: Sequence[float] | None = None,
                   callback: Callable[[Progress], None] | None = None,
                   should_stop: Callable[[], bool] | None = None) -> Result:
    """Render ``content`` in the style of ``style`` (CVPR 2016, Fig. 3 and 4).

    ``alpha`` is Eq. 7's, used as given. By default it is
    ``alpha_for_size(DEFAULT_RATIO, content's size) * beta``: the same balance at every size.

    As in the paper, the style image is resized to the content image's size
    first, unless ``keep_style_scale`` (then its own size sets the scale of
    the brush strokes).

    ``preserve_colors`` keeps the photograph's colours (Gatys et al., CVPR 2017, Sec. 5;
    :mod:`nst_teach.color`): ``"luminance"`` transfers on the luminance alone (the live
    images are grey) and puts back the content's colour channels at the end;
    ``"histogram"`` first recolours the style image to the content's colour statistics.

    ``style`` may be several images, blended with the weights ``style_blend``
    (:func:`build_objective`; equal weights by default).
    """
    if alpha is None:
        alpha = alpha_for_size(DEFAULT_RATIO, content.shape[-2:]) * beta
    if preserve_colors not in (None, "luminance", "histogram"):
        raise ValueError(f"preserve_colors must be None, 'luminance' or 'histogram', got {preserve_colors!r}")
    styles = [style] if isinstance(style, Tensor) else list(style)
    if preserve_colors == "histogram":
        styles = [color.match_color_histogram(s, content) for s in styles]
    if preserve_colors == "luminance":
        photo, content, styles = content, color.luminance(content), [color.match_luminance(s, content) for s in styles]
    if not keep_style_scale:
        styles = [resize(s, tuple(content.shape[-2:])) for s in styles]
    style = styles[0] if isinstance(style, Tensor) else styles
    objective = build_objective(encoder, content=content, style=style, content_layers=content_layers,
                                style_layers=style_layers, alpha=alpha, beta=beta, tv_weight=tv_weight,
                                style_blend=style_blend)
    result = optimize_from(encoder, objective, init, content.shape, settings, callback, should_stop)
    if preserve_colors == "luminance":
        result.image = color.with_colors_of(result.image, photo)
    return result
