"""How to optimise: :class:`Settings`, checked when made (the plan they imply: :mod:`nst_teach.coarse_to_fine`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args, get_origin, get_type_hints

__all__ = ["Settings"]


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
    ValueError: resampling must be one of 'bilinear', 'nearest'; got 'bicubic'
    """

    optimizer: Literal["lbfgs", "lbfgsb", "adam"] = "lbfgs"  # projected L-BFGS; SciPy's L-BFGS-B; or Adam
    steps: int = 300  # loss-and-gradient evaluations (L-BFGS takes about one per iteration)
    lr: float | None = None  # Adam's step size (default 0.02); L-BFGS finds its own by line search
    history_size: int = 20  # L-BFGS memory: pairs of past steps and gradient changes
    seed: int = 0  # for the white-noise init
    precision: Literal["auto", "float32", "bfloat16"] = "auto"  # network compute type; auto: bf16 on a CPU with fast
    # bf16 (precision.resolve_precision), else float32 (on CUDA: float32, replayed as CUDA graphs)
    float32_tail: float = 0.1  # with bfloat16: the last tenth of the steps in float32, to refine
    channels_last: bool = True  # NHWC layout for the convolutions (faster with oneDNN and cuDNN)
    cuda_graphs: bool = True  # on CUDA in float32: each level's step replayed as CUDA graphs (no effect elsewhere)
    coarse_levels: int | None = None  # coarse-to-fine: first solve at 1/4, 1/2 size (None: by size and objective,
    # none from the photograph: coarse_to_fine.most_levels; 0: off)
    coarse_share: float = 0.5  # the share of `steps` spent on the coarse levels (each step there is 4x cheaper)
    resampling: Literal["bilinear", "nearest"] = "bilinear"  # from level to level (coarse_to_fine.resample)
    every: int = 10  # call the callback every `every` steps

    def __post_init__(self) -> None:
        for name, hint in get_type_hints(Settings).items():  # each Literal field: one of its values
            allowed = get_args(hint)
            if get_origin(hint) is Literal and getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {getattr(self, name)!r}")
        for name, low in (("steps", 0), ("history_size", 1), ("every", 1)):
            value = getattr(self, name)
            if not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be a whole number of at least {low}; got {value!r}")
        if self.coarse_levels is not None and (not isinstance(self.coarse_levels, int) or self.coarse_levels < 0):
            raise ValueError(f"coarse_levels must be None or a whole number of at least 0; got {self.coarse_levels!r}")
        for name in ("coarse_share", "float32_tail"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 0 and below 1; got {getattr(self, name)!r}")
        if self.lr is not None and not self.lr > 0:
            raise ValueError(f"lr must be positive; got {self.lr!r}")

    @property
    def low_precision_steps(self) -> int:
        """Steps before the float32 tail: all of them in float32, else ``1 - float32_tail`` of them."""
        return self.steps if self.precision == "float32" else self.steps - round(self.float32_tail * self.steps)
