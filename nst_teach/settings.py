"""How to optimise: :class:`Settings`, checked when made (the plan they imply: :mod:`nst_teach.coarse_to_fine`), and a
run's other defaults and choices (alpha/beta, the colour options): nothing here loads torch, so ``nst-teach --help`` is instant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from nst_teach.errors import NstTeachError, check_choice, check_number

__all__ = ["BALANCED_RATIO", "DEFAULT_RATIO", "MAX_COARSE_LEVELS", "MAX_HISTORY", "MAX_LR", "MAX_SEED", "MAX_STEPS",
           "OPTIMIZER_CHOICES", "Optimizer", "PRECISION_CHOICES", "PRESERVE_COLORS", "Precision", "PreserveColors",
           "RESAMPLING_CHOICES", "Resampling", "STILL_STEPS", "Settings",
           "check_seed"]

Optimizer = Literal["lbfgs", "lbfgsb", "adam"]
Precision = Literal["auto", "float32", "bfloat16"]
Resampling = Literal["bilinear", "nearest"]
OPTIMIZER_CHOICES: tuple[str, ...] = get_args(Optimizer)
PRECISION_CHOICES: tuple[str, ...] = get_args(Precision)
RESAMPLING_CHOICES: tuple[str, ...] = get_args(Resampling)
#: Ways to keep the photograph's colours (Gatys et al., CVPR 2017, Sec. 5; :mod:`nst_teach.color`).
PreserveColors = Literal["luminance", "histogram"]
PRESERVE_COLORS: tuple[str, ...] = get_args(PreserveColors)
#: The default alpha/beta at 512 x 512 (:data:`~nst_teach.objective.REFERENCE_PIXELS`), chosen by pictures the package was
#: not tuned on, from white noise (README, "Defaults"): the scene stays legible, and the painting's colours and strokes come.
DEFAULT_RATIO = 1e-3
#: alpha/beta with balanced layer weights (``style_transfer(..., balance=True)``) and the paper's content layer, chosen by
#: pictures like DEFAULT_RATIO.
BALANCED_RATIO = 2e-3

#: More steps than anyone waits for (about a day at 512 px on a laptop): a typo, refused.
MAX_STEPS = 100_000
#: The largest seed torch's generators take.
MAX_SEED = 2**63 - 1
#: Adam's largest step size: on pixels in [0, 1], a larger one jumps across the whole range in a step.
MAX_LR = 10.0
#: More L-BFGS memory than a run has steps to fill.
MAX_HISTORY = 1000
STILL_STEPS = 10  #: steps over which :attr:`Settings.still` measures how much the picture moved
#: Coarse-to-fine levels: 4 halvings take a 512 px image to 32 px, where relu5_1's map is 2 x 2.
MAX_COARSE_LEVELS = 4


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
    # NST_TEACH_BFLOAT16=0 (runtime.resolve_precision), else float32 (on CUDA: float32, replayed as CUDA graphs)
    float32_tail: float = 0.1  # with bfloat16: the last tenth of each level's steps in float32, to refine
    channels_last: bool = True  # NHWC layout for the convolutions (faster with oneDNN and cuDNN)
    cuda_graphs: bool = True  # on CUDA in float32: each level's step replayed as CUDA graphs (no effect elsewhere)
    coarse_levels: int | None = None  # coarse-to-fine: first solve at 1/4, 1/2 size (None: as the task's start
    # suits, coarse_to_fine.most_levels; 0: off)
    coarse_share: float = 0.5  # the share of `steps` spent on the coarse levels (each step there is 4x cheaper)
    resampling: Resampling = "bilinear"  # from level to level (coarse_to_fine.resample)
    every: int = 10  # call the callback every `every` steps
    still: float = 0.0  # a level's phase ends once STILL_STEPS steps moved its pixels by under this RMS (0: never)

    def __post_init__(self) -> None:
        check_choice("optimizer", self.optimizer, OPTIMIZER_CHOICES)
        check_choice("precision", self.precision, PRECISION_CHOICES)
        check_choice("resampling", self.resampling, RESAMPLING_CHOICES)
        check_number("steps", self.steps, 1, MAX_STEPS, whole=True)
        check_number("history_size", self.history_size, 1, MAX_HISTORY, whole=True)
        check_number("every", self.every, 1, MAX_STEPS, whole=True)
        check_seed(self.seed)
        if self.coarse_levels is not None:
            check_number("coarse_levels", self.coarse_levels, 0, MAX_COARSE_LEVELS, whole=True)
        check_number("still", self.still, 0, 1)
        for name in ("coarse_share", "float32_tail"):
            check_number(name, getattr(self, name), 0, 1)
            if getattr(self, name) == 1:
                raise NstTeachError(f"{name} must be a number from 0 up to (not including) 1; got 1", name)
        if self.lr is not None:
            if self.optimizer != "adam":
                raise NstTeachError(f"lr must be given only with optimizer 'adam': it is Adam's step size (L-BFGS "
                                    f"finds its own steps by line search); got {self.lr!r}", "lr")
            check_number("lr", self.lr, 0, MAX_LR, above=True)
        for flag in ("channels_last", "cuda_graphs"):
            check_choice(flag, getattr(self, flag), (True, False))


def check_seed(seed: object, name: str = "seed") -> None:
    """A seed: a whole number from 0 to :data:`MAX_SEED` (for the noise start, and for random weights)."""
    check_number(name, seed, 0, MAX_SEED, whole=True)

