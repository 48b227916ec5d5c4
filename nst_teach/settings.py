"""How to optimise: :class:`Settings`, checked when made (the plan they imply: :mod:`nst_teach.coarse_to_fine`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

from nst_teach.errors import NstTeachError

__all__ = ["MAX_STEPS", "OPTIMIZER_CHOICES", "Optimizer", "PRECISION_CHOICES", "Precision", "RESAMPLING_CHOICES",
           "Resampling", "Settings"]

Optimizer = Literal["lbfgs", "lbfgsb", "adam"]
Precision = Literal["auto", "float32", "bfloat16"]
Resampling = Literal["bilinear", "nearest"]
OPTIMIZER_CHOICES: tuple[str, ...] = get_args(Optimizer)
PRECISION_CHOICES: tuple[str, ...] = get_args(Precision)
RESAMPLING_CHOICES: tuple[str, ...] = get_args(Resampling)

#: More steps than anyone waits for (about a day at 512 px on a laptop): a typo, refused.
MAX_STEPS = 100_000


@dataclass(frozen=True)
class Settings:
    """How to optimise. The optimiser is the paper's, L-BFGS. Two defaults are not the paper's:
    the network runs in bfloat16 where the CPU does that fast (the last steps in float32), and
    runs from noise are first solved at smaller sizes (coarse-to-fine). Each default was chosen
    by measurement on the trained network (``benchmarks/README.md`` has the figures).

    Unknown or out-of-range values are refused when the settings are made:

    >>> Settings(resampling="bicubic")
    Traceback (most recent call last):
    ...
    nst_teach.errors.NstTeachError: resampling must be one of 'bilinear', 'nearest'; got 'bicubic'
    """

    optimizer: Optimizer = "lbfgs"  # projected L-BFGS; SciPy's L-BFGS-B; or Adam
    steps: int = 300  # loss-and-gradient evaluations (L-BFGS takes about one per iteration)
    lr: float | None = None  # Adam's step size (default 0.02); L-BFGS finds its own by line search
    history_size: int = 20  # L-BFGS memory: pairs of past steps and gradient changes
    seed: int = 0  # for the white-noise start
    precision: Precision = "auto"  # network compute type; auto: bf16 on a CPU with fast bf16 unless
    # NST_TEACH_BFLOAT16=0 (precision.resolve_precision), else float32 (on CUDA: float32, replayed as CUDA graphs)
    float32_tail: float = 0.1  # with bfloat16: the last tenth of each level's steps in float32, to refine
    channels_last: bool = True  # NHWC layout for the convolutions (faster with oneDNN and cuDNN)
    cuda_graphs: bool = True  # on CUDA in float32: each level's step replayed as CUDA graphs (no effect elsewhere)
    coarse_levels: int | None = None  # coarse-to-fine: first solve at 1/4, 1/2 size (None: as the task's start
    # suits, coarse_to_fine.most_levels; 0: off)
    coarse_share: float = 0.5  # the share of `steps` spent on the coarse levels (each step there is 4x cheaper)
    resampling: Resampling = "bilinear"  # from level to level (coarse_to_fine.resample)
    every: int = 10  # call the callback every `every` steps

    def __post_init__(self) -> None:
        for name, allowed in (("optimizer", OPTIMIZER_CHOICES), ("precision", PRECISION_CHOICES),
                              ("resampling", RESAMPLING_CHOICES)):
            if getattr(self, name) not in allowed:
                raise NstTeachError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {getattr(self, name)!r}")
        for name, low, high in (("steps", 1, MAX_STEPS), ("history_size", 1, 1000), ("every", 1, MAX_STEPS),
                                ("seed", 0, 2**63 - 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise NstTeachError(f"{name} must be a whole number from {low} to {high:,}; got {value!r}")
        if self.coarse_levels is not None and (not isinstance(self.coarse_levels, int) or isinstance(self.coarse_levels, bool)
                                               or self.coarse_levels not in range(5)):
            raise NstTeachError(f"coarse_levels must be None or a whole number from 0 to 4; got {self.coarse_levels!r}")
        for name in ("coarse_share", "float32_tail"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise NstTeachError(f"{name} must be a number from 0 up to (not including) 1; got {value!r}")
        if self.lr is not None and (isinstance(self.lr, bool) or not isinstance(self.lr, (int, float))
                                    or not (math.isfinite(self.lr) and 0 < self.lr <= 10)):
            raise NstTeachError(f"lr must be a number above 0 and at most 10 (Adam's default is 0.02); got {self.lr!r}")
        for flag in ("channels_last", "cuda_graphs"):
            if not isinstance(getattr(self, flag), bool):
                raise NstTeachError(f"{flag} must be True or False; got {getattr(self, flag)!r}")

