"""The engine: one optimisation loop, shared by the three tasks (:mod:`~nst_teach.tasks`), CLI and assignments.

It starts the image (white noise: CVPR 2016, Sec. 2), follows the coarse-to-fine plan
(:mod:`~nst_teach.coarse_to_fine`), evaluates the objective and its gradient for the
optimiser (:mod:`~nst_teach.lbfgs`), keeps the best image, and reports progress.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Callable, Literal, Sequence, Union, cast

import torch
from torch import Tensor

from nst_teach.coarse_to_fine import level_size, levels, most_levels, resample, scaled
from nst_teach.features import VGG19Features
from nst_teach.images import resize
from nst_teach.objective import Objective
from nst_teach.optimizers import OPTIMIZERS
from nst_teach.precision import autocast_dtype, graphed, layout, resolve_precision, reuse_freed_memory
from nst_teach.settings import Settings

__all__ = ["Init", "Progress", "Result", "initial_image", "optimize"]

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
    r"""The starting image: white noise (the paper's choice), the content or style image, or a tensor.

    ``"noise"`` is white noise in the colours of the source images (``content`` and ``style``,
    whichever are given), each pixel drawn on its own,
    :math:`x^c_{ij} = \mathrm{clip}_{[0,1]}(\mu^c + \sigma^c \sqrt{12}\,(u^c_{ij} - \tfrac12))` with
    :math:`u \sim U(0, 1)` and :math:`\mu^c, \sigma^c` channel c's mean and spread over their pixels.
    ``"uniform"`` is plain :math:`U(0, 1)` noise. The Gram matrices are not centred, so a wrong
    mean colour is a uniform start's largest error at every style layer.
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


def optimize(encoder: VGG19Features, objective: Objective, x0: Tensor, settings: Settings | None = None,
             callback: Callable[[Progress], None] | None = None,
             should_stop: Callable[[], bool] | None = None) -> Result:
    """Minimise ``objective`` over the pixels of ``x0``, kept in [0, 1], and return the best image.

    A step is one evaluation of the loss and its gradient; ``callback`` gets a :class:`Progress`
    (its image at full size) every ``settings.every`` steps and at the last. When the objective
    knows its source images, coarse-to-fine first solves the problem at 1/4 and 1/2 size;
    history entries say their ``level`` (0 is full size; losses of different levels differ in scale).

    The run never loses work: Ctrl-C (or the notebook's stop button) and ``should_stop()``
    end it with the best image so far; a NaN or inf loss ends it with the best finite image
    and a message saying why.
    """
    settings = settings or Settings()  # "auto" precision: what it is on this device, for the float32 tail and graphs
    settings = replace(settings, precision="bfloat16" if resolve_precision(settings.precision, x0.device) else "float32")
    size = tuple(x0.shape[-2:])
    plan = levels(settings, size, most_levels(objective, x0)) if objective.rescalable else [(0, settings.steps)]
    run = _Run(encoder, settings, size, callback, should_stop)
    x = x0.detach().float().clamp(0, 1)
    status: Literal["finished", "interrupted", "stopped", "diverged"] = "finished"
    message = f"finished {settings.steps} steps"
    try:
        with reuse_freed_memory(x.device), layout(encoder, settings.channels_last):
            for level, steps in plan:
                # x and the targets' sources shrink by the same rule, so their features match in size
                target = objective if level == 0 else scaled(objective, encoder, 0.5**level)
                early = run.level(target, resample(x, level_size(size, level), settings.resampling), steps, level)
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
        self.graphs: dict[object, object] = {}  # captured CUDA graphs, per level: see loss_terms

    def level(self, objective: Objective, x0: Tensor, steps: int, level: int) -> str:
        """Optimise one level for ``steps`` steps from ``x0``; returns why if it stopped early."""
        self.objective, self.level_index = objective, level
        self.first, self.level_settings = len(self.history), replace(self.settings, steps=steps)
        if self.settings.channels_last:  # the optimiser's element-wise updates keep it: no step copies the image
            x0 = x0.contiguous(memory_format=torch.channels_last)
        self.best_loss, self.best_image = math.inf, x0.clone()
        # The losses span orders of magnitude: the optimiser sees the loss over its value at the level's start.
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
        """The network on ``x``, in this step's precision and the run's layout, then Eq. 7's terms: the only
        place the network runs (on CUDA in float32, replayed as CUDA graphs: :func:`~nst_teach.precision.graphed`)."""
        step = len(self.history) - self.first + 1
        precision = self.settings.precision if step <= self.level_settings.low_precision_steps else "float32"

        def terms(x: Tensor) -> dict[str, Tensor]:
            with autocast_dtype(x.device, precision):
                F = self.encoder(x.contiguous(memory_format=torch.channels_last) if self.settings.channels_last
                                 else x, self.objective.layers)
            return self.objective.terms(F, x)

        use_graphs = self.settings.cuda_graphs and precision == "float32"
        return graphed(self.graphs, (id(self.objective), self.level_index), terms, x) if use_graphs else terms(x)

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
