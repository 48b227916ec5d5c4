"""The engine: one optimisation loop, shared by the tasks (:mod:`~nst_teach.tasks`), the CLI and the assignments.

:func:`optimize` runs a plan (:mod:`~nst_teach.coarse_to_fine`): phases in order, each some steps
at one image size and network precision. A step evaluates the objective and its gradient for the
optimiser (:mod:`~nst_teach.optimizers`), records the losses, keeps the best image and reports
progress. A run ends when the plan's steps are spent; sooner on Ctrl-C or ``should_stop()``
(the best image so far is returned) or a NaN (the best finite image, and why).

The slow, plain version of the same method, for reading and for checking this one, is
:mod:`nst_teach.paper`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Literal, Sequence, cast

import torch
from torch import Tensor

from nst_teach.coarse_to_fine import Phase, level_size, plan_for, resample
from nst_teach.features import VGG19Features
from nst_teach.images import resize
from nst_teach.objective import Objective
from nst_teach.optimizers import OPTIMIZERS
from nst_teach.runtime import autocast_dtype, graphed, layout, reuse_freed_memory
from nst_teach.settings import STILL_STEPS, Settings

__all__ = ["Progress", "Result", "Status", "loss_terms", "optimize"]

Status = Literal["finished", "interrupted", "stopped", "diverged"]


@dataclass
class Progress:
    """What the callback receives."""

    step: int
    steps: int
    image: Tensor  # current image at full size, detached, clamped to [0, 1]
    losses: dict[str, float]  # this step's history entry: step, level, each term and the total
    seconds: float
    plan: Sequence[Phase] = ()  # the run's phases (losses["phase"] indexes them): what a time-left estimate prices


@dataclass
class Result:
    """The outcome of :func:`optimize`. ``image`` is the best one seen at the last level."""

    image: Tensor
    history: list[dict[str, float]]  # one entry per step: step, level, phase (index into the plan), each term's
    # loss (unweighted) and the total
    status: Status
    message: str
    steps: int
    seconds: float

    @property
    def losses(self) -> dict[str, float]:
        """The history entry of the best image: the best of the last phase (losses of other sizes and precisions
        are not comparable; a phase starts from the best image before it)."""
        last = [h for h in self.history if h["phase"] == self.history[-1]["phase"]]
        return min(last, key=lambda h: h["total"]) if last else {}


def loss_terms(encoder: VGG19Features, objective: Objective, x: Tensor, precision: str = "float32",
               channels_last: bool = True) -> dict[str, Tensor]:
    """The network on ``x`` ``(B, 3, H, W)`` in ``precision`` (bfloat16: autocast), NHWC if ``channels_last``, then the
    objective's terms and ``"total"``, float32 (float64 on a float64 network): the only place a run calls the network."""
    F: dict[str, Tensor] = {}
    if objective.layers:  # a term may read no layer at all (total variation)
        with autocast_dtype(x.device, precision):
            F = encoder(x.contiguous(memory_format=torch.channels_last) if channels_last else x, objective.layers)
    return objective(F, x)


class _Stopped(Exception):
    """``should_stop()`` said so."""


class _NonFinite(Exception):
    """The loss became NaN or infinite."""


class _Still(Exception):
    """The picture stopped changing (``Settings.still``): the phase ends (a bfloat16 one's float32 tail still runs)."""


def optimize(encoder: VGG19Features, objective: Objective, x0: Tensor, settings: Settings | None = None,
             plan: list[Phase] | None = None, callback: Callable[[Progress], None] | None = None,
             should_stop: Callable[[], bool] | None = None, *, from_noise: bool = False) -> Result:
    """Minimise ``objective`` over the pixels of ``x0``, kept in [0, 1], and return the best image.

    ``plan`` says which sizes and precisions the steps run at (default: :func:`~nst_teach.coarse_to_fine.plan_for`,
    the tasks' plan too: coarse levels when ``from_noise`` says ``x0`` is noise, or where ``settings.coarse_levels``
    asks). A step is one evaluation of the loss and its gradient; ``callback`` gets a :class:`Progress` every ``settings.every`` steps
    and at the last. Ctrl-C (or the notebook's stop button) and ``should_stop()`` end the run with the
    best image so far; a NaN or inf loss ends it with the best finite image and a message saying why.
    """
    settings = settings or Settings()
    size = (int(x0.shape[-2]), int(x0.shape[-1]))
    plan = plan or plan_for(objective, settings, size, x0.device, from_noise)
    x = x0.detach().float().clamp(0, 1)
    run = _Run(encoder, settings, size, plan, x, callback, should_stop)
    status: Status = "finished"
    early: list[str] = []  # why phases ended before their steps were spent
    try:
        with reuse_freed_memory(x.device), layout(encoder, settings.channels_last):
            objectives = {level: objective if level == 0 else objective.resized(encoder, 0.5**level)
                          for level in dict.fromkeys(phase.level for phase in plan)}
            for index, phase in enumerate(plan):
                reason = run.phase(objectives[phase.level], resample(x, level_size(size, phase.level),
                                                                     settings.resampling), phase, index)
                x = run.best_image
                if reason:
                    early.append(reason)
        message = "; ".join([f"finished {len(run.history)} steps", *early])
    except _Stopped:
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
    """One :func:`optimize` call's state across its phases: history, clock, and the best image of the level."""

    def __init__(self, encoder: VGG19Features, settings: Settings, size: tuple[int, int], plan: list[Phase], x0: Tensor,
                 callback: Callable[[Progress], None] | None, should_stop: Callable[[], bool] | None) -> None:
        self.encoder, self.settings, self.size, self.plan = encoder, settings, size, plan
        self.steps = sum(phase.steps for phase in plan)
        self.callback, self.should_stop = callback, should_stop
        self.history: list[dict[str, float]] = []
        self.level, self.index = -1, -1
        self.best_loss, self.best_image = math.inf, x0  # the start, until a step does better
        self.scale = 1.0  # the optimiser sees the loss over its value at the level's first step
        self.start = time.perf_counter()
        self.graphs: dict[object, object] = {}  # captured CUDA graphs, per level: see loss_terms

    def phase(self, objective: Objective, x0: Tensor, phase: Phase, index: int) -> str:
        """Run the optimiser for ``phase.steps`` steps from ``x0``; returns why it stopped early (the optimiser's
        reason, or the picture stood still), or ``""``.

        Each phase's first step evaluates its start, the best image so far, in the phase's own precision: the
        best image is then chosen among losses of one size and one precision."""
        if self.settings.channels_last:  # the optimiser's element-wise updates keep it: no step copies the image
            x0 = x0.contiguous(memory_format=torch.channels_last)
        if phase.level != self.level:  # a new size: losses of another scale
            self.scale = 0.0
        self.level, self.index, self.best_loss, self.best_image = phase.level, index, math.inf, x0
        self.taken, self.mark = 0, x0  # the phase's steps so far; the image STILL_STEPS steps ago

        def evaluate(x: Tensor) -> tuple[float, Tensor]:
            """The loss (scaled) and its gradient at ``x``: the optimiser's view of the objective."""
            x = x.detach().requires_grad_(True)
            terms = self.loss_terms(objective, x, phase)
            values = self.values(terms)
            self.scale = self.scale or values["total"] or 1.0  # set by the level's first step
            (terms["total"] / self.scale).backward()
            self.record(x, values)
            return values["total"] / self.scale, cast(Tensor, x.grad)

        try:
            reason = OPTIMIZERS[self.settings.optimizer](evaluate, x0, phase.steps, self.settings)
        except _Still as still:
            return str(still)
        return reason and f"the optimiser stopped early at step {len(self.history)}: {reason}"

    def loss_terms(self, objective: Objective, x: Tensor, phase: Phase) -> dict[str, Tensor]:
        """:func:`loss_terms` in the phase's precision and the run's layout (on CUDA in float32, replayed as CUDA
        graphs: :func:`~nst_teach.runtime.graphed`)."""

        def terms(x: Tensor) -> dict[str, Tensor]:
            return loss_terms(self.encoder, objective, x, phase.precision, self.settings.channels_last)

        if self.settings.cuda_graphs and phase.precision == "float32":
            return graphed(self.graphs, (id(objective), phase.level), terms, x)
        return terms(x)

    def values(self, terms: dict[str, Tensor]) -> dict[str, float]:
        """The terms as numbers; a NaN or inf total ends the run."""
        values = {k: float(v.detach()) for k, v in terms.items()}
        if not math.isfinite(values["total"]):
            raise _NonFinite(f"step {len(self.history) + 1}: {values}")
        return values

    def record(self, x: Tensor, values: dict[str, float]) -> None:
        """Record the step, keep the best image, report progress, and stop if asked."""
        step = len(self.history) + 1
        self.history.append({"step": step, "level": self.level, "phase": self.index, **values})
        if values["total"] < self.best_loss:
            self.best_loss, self.best_image = values["total"], x.detach()  # kept, not copied: see lbfgs.Evaluate
        if self.callback and (step % self.settings.every == 0 or step == self.steps):
            image = resize(x.detach(), self.size).clamp(0, 1)
            self.callback(Progress(step, self.steps, image, dict(self.history[-1]), time.perf_counter() - self.start,
                                   self.plan))
        if self.should_stop and self.should_stop():
            raise _Stopped
        self.taken += 1
        if self.settings.still and self.taken % STILL_STEPS == 0:
            moved = float((x.detach() - self.mark).square().mean().sqrt())
            self.mark = x.detach()  # kept, not copied, as the best image
            if moved < self.settings.still:
                raise _Still(f"level {self.level} ended at step {step}: the picture stopped changing (its pixels "
                             f"moved {moved:.2g} over {STILL_STEPS} steps, under still={self.settings.still:g})")
