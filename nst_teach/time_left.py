r"""What a user sees of a run: the time it has left, and the command line's progress bar that shows it.

A step's cost is the network's forward and backward pass, which grows with the image's pixels, plus a small fixed
part (the optimiser's vectors, the Python between operations), so a step at :math:`P` pixels is priced

.. math:: t(P) = o + c\,P,

with :math:`o` = :data:`OVERHEAD` and :math:`c` from the latest phase of the same precision that has been timed
(its median step; the run's first step, which also builds the convolutions' kernels, left out). A float32 tail
before any float32 step is timed costs :data:`FLOAT32_OVER_BFLOAT16` times a bfloat16 step. The time left is the sum
over the plan's steps left (:class:`~nst_teach.engine.Progress` carries the plan). tqdm's own estimate prices every
step alike, while a coarse step costs a tenth to a fifteenth of a full-size one: at the same moment of the default
picture's runs it said half to three quarters of the real time left (``benchmarks/README.md``).
"""

from __future__ import annotations

import math
import statistics
from typing import Sequence

from nst_teach.coarse_to_fine import Phase, level_size
from nst_teach.engine import Progress

__all__ = ["FIRST_AFTER", "FLOAT32_OVER_BFLOAT16", "OVERHEAD", "ProgressBar", "TimeLeft"]

#: A step's fixed part, in seconds: fitted as o + cP to the s/step of benchmarks/profile_default.py, o was 5-30 ms.
OVERHEAD = 0.02
#: A float32 step over a bfloat16 one at the same size, with fast bfloat16 (benchmarks/profile_default.py: 1.7-1.8).
FLOAT32_OVER_BFLOAT16 = 1.75
#: Steps timed before a first estimate, about a second into the default picture's run. The few after the run's first
#: still warm the caches: a median of three priced one run 30 % high (``benchmarks/README.md``, "The default picture
#: beside neural-style-pt", which also gives the first estimates of ten).
FIRST_AFTER = 10


class TimeLeft:
    """The seconds a run of ``plan`` on an image of ``size = (H, W)`` has left, from its steps' times so far.

    >>> eta = TimeLeft([Phase(1, 20, "float32"), Phase(0, 10, "float32")], (10, 20))  # 50 px, then 200 px
    >>> for _ in range(FIRST_AFTER + 1):  # the first of them not a price
    ...     eta.step(0, 0.02 + 50e-4)
    >>> round(eta.seconds(), 3)  # 9 steps at 50 px (0.025 s) and 10 at 200 px (0.02 + 200e-4 = 0.04 s)
    0.625
    """

    def __init__(self, plan: Sequence[Phase], size: Sequence[int]) -> None:
        self.plan, self.pixels = list(plan), [math.prod(level_size(size, p.level)) for p in plan]
        self.taken = [0] * len(self.plan)  # each phase's steps so far
        self.times: list[list[float]] = [[] for _ in self.plan]  # their seconds, the run's first step left out

    def step(self, phase: int, seconds: float, steps: int = 1) -> None:
        """``steps`` steps of phase ``phase`` took ``seconds``; the phases before it are over (early or not)."""
        for before in range(phase):
            self.taken[before] = self.plan[before].steps
        self.times[phase] += [seconds / steps] * (steps - (not any(self.taken)))  # the run's first step: no price
        self.taken[phase] += steps

    def seconds(self) -> float | None:
        """The seconds the steps left will take; ``None`` until :data:`FIRST_AFTER` steps are timed."""
        if sum(map(len, self.times)) < FIRST_AFTER:
            return None
        c = {p.precision: max(statistics.median(t) - OVERHEAD, 0.0) / n  # the latest timed phase of each precision
             for p, t, n in zip(self.plan, self.times, self.pixels) if t}
        if len(c) == 1:  # the other precision, not timed yet
            (known, price), = c.items()
            c["float32" if known == "bfloat16" else "bfloat16"] = price * FLOAT32_OVER_BFLOAT16 ** (
                1 if known == "bfloat16" else -1)
        return sum(max(p.steps - k, 0) * (OVERHEAD + c[p.precision] * n)
                   for p, k, n in zip(self.plan, self.taken, self.pixels))


class ProgressBar:
    """The command line's bar: a run's steps, the time left (:class:`TimeLeft`, not tqdm's) and the loss. A callback
    for :func:`~nst_teach.engine.optimize`; ``first_estimate`` keeps the first time left shown and when."""

    def __init__(self, steps: int, desc: str) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=steps, desc=desc, unit="step", disable=None,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]")
        self.time_left: TimeLeft | None = None
        self.seen = (0, 0.0)  # the step and the seconds of the last progress
        self.first_estimate: dict[str, float] = {}

    def __call__(self, p: Progress) -> None:
        if self.time_left is None:
            self.time_left = TimeLeft(p.plan, p.image.shape[-2:])
        self.time_left.step(int(p.losses["phase"]), p.seconds - self.seen[1], p.step - self.seen[0])
        self.seen = (p.step, p.seconds)
        left = self.time_left.seconds()
        if left is not None and not self.first_estimate:
            self.first_estimate = {"at_s": round(p.seconds, 3), "seconds_left": round(left, 3)}
        self.bar.update(p.step - self.bar.n)
        shown = "" if left is None else f"{self.bar.format_interval(left)} left, "
        self.bar.set_postfix_str(f"{shown}loss={p.losses['total']:.4g}", refresh=False)

    def close(self) -> None:
        self.bar.close()
