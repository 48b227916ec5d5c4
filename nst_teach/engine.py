"""The engine: one optimisation loop for the paper's three tasks, shared by notebooks, CLI and assignments.

The pipeline is image (:mod:`~nst_teach.images`) -> features (:mod:`~nst_teach.features`) ->
losses (:mod:`~nst_teach.losses`) -> objective (:mod:`~nst_teach.objective`) -> optimiser
(:mod:`~nst_teach.optimizers`) -> image. This module runs it: it starts the image, plans
coarse-to-fine (:mod:`~nst_teach.settings`), evaluates the loss and its gradient for the
optimiser, keeps the best image, and reports progress.

References:
    Gatys, Ecker & Bethge, CVPR 2016, Sec. 2-3: synthesis by gradient descent on a
    white-noise image.
    Gatys, Ecker, Bethge, Hertzmann & Shechtman, CVPR 2017: coarse-to-fine for large images.
    Mahendran & Vedaldi, CVPR 2015, and the CVPR 2016 paper's Fig. 1: content
    reconstruction from a single layer.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Callable, Literal, Mapping, Sequence, Union, cast

import torch
from torch import Tensor

from nst_teach import color
from nst_teach.features import VGG19Features
from nst_teach.images import resample, resize
from nst_teach.objective import (
    CONTENT_LAYER,
    DEFAULT_RATIO,
    STYLE_LAYERS,
    LayerWeight,
    Objective,
    alpha_for_size,
    build_objective,
)
from nst_teach.optimizers import OPTIMIZERS
from nst_teach.precision import autocast_dtype, reuse_freed_memory
from nst_teach.settings import Settings, level_size

__all__ = [
    "Init",
    "Progress",
    "Result",
    "initial_image",
    "optimize",
    "optimize_from",
    "reconstruct_content",
    "style_transfer",
    "synthesize_texture",
]

Init = Union[Literal["noise", "uniform", "content", "style"], Tensor]


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
    largest error a uniform start has at every style layer; starting in the right colours
    removes it (measured in ``benchmarks/README.md``).
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
        source = content if init == "content" else (style[0] if isinstance(style, (list, tuple)) and style else style)
        if source is None:
            raise ValueError(f"init={init!r} needs a {init} image")
        x = cast(Tensor, source)
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
    settings = settings or Settings()
    size, content_term = tuple(x0.shape[-2:]), bool(objective.content_weights)
    plan = settings.levels(size, content_term) if objective.rescalable else [(0, settings.steps)]
    mode = settings.resampling_mode(content_term)
    run = _Run(encoder, settings, size, callback, should_stop)
    x = x0.detach().float().clamp(0, 1)
    status: Literal["finished", "interrupted", "stopped", "diverged"] = "finished"
    message = f"finished {settings.steps} steps"
    try:
        with reuse_freed_memory(x.device), encoder.layout(settings.channels_last):
            for level, steps in plan:
                # x and the targets' sources shrink by the same rule, so their features match in size
                target = objective if level == 0 else objective.scaled(encoder, 0.5**level)
                early = run.level(target, resample(x, level_size(size, level), mode), steps, level)
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


class _Run:
    """The state of one :func:`optimize` call across its levels: history, clock and best image."""

    def __init__(self, encoder: VGG19Features, settings: Settings, size: tuple[int, ...],
                 callback: Callable[[Progress], None] | None, should_stop: Callable[[], bool] | None) -> None:
        self.encoder, self.settings, self.size = encoder, settings, size
        self.callback, self.should_stop = callback, should_stop
        self.history: list[dict[str, float]] = []
        self.best_loss, self.best_image = math.inf, torch.empty(0)
        self.start = time.perf_counter()

    def level(self, objective: Objective, x0: Tensor, steps: int, level: int) -> str:
        """Optimise one level for ``steps`` steps from ``x0``; returns why if it stopped early."""
        self.objective, self.level_index = objective, level
        self.first, self.level_settings = len(self.history), replace(self.settings, steps=steps)
        if self.settings.channels_last:  # the optimiser's element-wise updates keep it: no step copies the image
            x0 = x0.contiguous(memory_format=torch.channels_last)
        self.best_loss, self.best_image = math.inf, x0.clone()
        # The paper's losses span many orders of magnitude, so the optimiser sees the
        # loss divided by its value at the level's start (only alpha/beta shapes the image).
        self.scale = 0.0  # set by the level's first step

        def evaluate(x: Tensor) -> tuple[float, Tensor]:
            """The loss (scaled) and its gradient at ``x``."""
            x = self.begin_step(x)
            terms = self.loss_terms(x)
            values = self.checked(terms)
            (terms["total"] / self.scale).backward()
            self.end_step(x, values)
            return values["total"] / self.scale, cast(Tensor, x.grad)

        try:
            return OPTIMIZERS[self.settings.optimizer](evaluate, x0, self.level_settings)
        except _Budget:
            return ""

    def begin_step(self, x: Tensor) -> Tensor:
        """Stop when the level's steps are spent; else ``x`` as a leaf whose gradient is wanted."""
        if len(self.history) - self.first >= self.level_settings.steps:
            raise _Budget
        return x.detach().requires_grad_(True)

    def loss_terms(self, x: Tensor) -> dict[str, Tensor]:
        """The network on ``x``, in this step's precision and the run's layout, then Eq. 7's terms.

        This is the only place the network runs.
        """
        s, step = self.settings, len(self.history) - self.first + 1
        precision = s.precision if step <= self.level_settings.low_precision_steps else "float32"
        with autocast_dtype(x.device, precision):
            F = self.encoder(x.contiguous(memory_format=torch.channels_last) if s.channels_last else x,
                             self.objective.layers)
        return self.objective.terms(F, x)

    def checked(self, terms: dict[str, Tensor]) -> dict[str, float]:
        """The terms as numbers; NaN or inf ends the run. The level's first total becomes its scale."""
        values = {k: float(v.detach()) for k, v in terms.items()}
        if not math.isfinite(values["total"]):
            raise _NonFinite(f"step {len(self.history) + 1}: {values}")
        if not self.scale:
            self.scale = values["total"] or 1.0
        return values

    def end_step(self, x: Tensor, values: dict[str, float]) -> None:
        """Record the step, keep the best image, report progress, and stop if asked."""
        step = len(self.history) + 1
        self.history.append({"step": step, "level": self.level_index, **values})
        if values["total"] < self.best_loss:
            self.best_loss, self.best_image = values["total"], x.detach()  # kept, not copied: see Evaluate
        if self.callback and (step % self.settings.every == 0 or step == self.settings.steps):
            image = resize(x.detach(), self.size).clamp(0, 1)
            self.callback(Progress(step, self.settings.steps, image, dict(self.history[-1]),
                                   time.perf_counter() - self.start))
        if self.should_stop and self.should_stop():
            raise _Stop


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
