"""How to optimise: :class:`Settings`, checked when made, and the coarse-to-fine plan they imply.

Reference:
    Gatys, Ecker, Bethge, Hertzmann & Shechtman, *Controlling Perceptual Factors in Neural
    Style Transfer*, CVPR 2017: coarse-to-fine for large images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

from nst_teach.objective import scaled_size

__all__ = ["MIN_COARSE_SIDE", "MIN_TEXTURE_COARSE_SIDE", "Settings", "level_size"]

#: The smallest short side a coarse level may have (VGG19 halves it four times before conv5_1).
MIN_COARSE_SIDE = 48
#: The same for a texture's (single) coarse level: conv5_1's Gram matrix needs a 6 x 6 map or more.
MIN_TEXTURE_COARSE_SIDE = 96

_CHOICES = {
    "optimizer": ("lbfgs", "lbfgsb", "adam"),
    "precision": ("auto", "float32", "bfloat16"),
    "resampling": ("auto", "bilinear", "nearest"),
}


@dataclass(frozen=True)
class Settings:
    """How to optimise. The defaults are the paper's, L-BFGS from white noise, plus one that is
    not: coarse-to-fine on images large enough for it (``coarse_levels=0`` turns it off).

    Each default was chosen by measurement on the CPU: ``benchmarks/README.md`` has the figures.

    Unknown or out-of-range values are refused when the settings are made:

    >>> Settings(resampling="bicubic")
    Traceback (most recent call last):
    ...
    ValueError: resampling must be one of 'auto', 'bilinear', 'nearest'; got 'bicubic'
    """

    optimizer: Literal["lbfgs", "lbfgsb", "adam"] = "lbfgs"  # projected L-BFGS; SciPy's L-BFGS-B; or Adam
    steps: int = 300  # loss-and-gradient evaluations (L-BFGS takes about one per iteration)
    lr: float | None = None  # Adam's step size (default 0.02); L-BFGS finds its own by line search
    history_size: int = 20  # L-BFGS memory: pairs of past steps and gradient changes
    seed: int = 0  # for the white-noise init
    precision: Literal["auto", "float32", "bfloat16"] = "float32"  # network compute type; auto: bf16 where fast
    float32_tail: float = 0.25  # with bfloat16: the last quarter of the steps in float32, to refine
    channels_last: bool = True  # NHWC layout for the convolutions (faster with oneDNN and cuDNN)
    coarse_levels: int | None = None  # coarse-to-fine: first solve at 1/4, 1/2 size (None: by size; 0: off)
    coarse_share: float = 0.5  # the share of `steps` spent on the coarse levels (each step there is 4x cheaper)
    resampling: Literal["auto", "bilinear", "nearest"] = "auto"  # from level to level (see resampling_mode)
    every: int = 10  # call the callback every `every` steps

    def __post_init__(self) -> None:
        for name, allowed in _CHOICES.items():
            if getattr(self, name) not in allowed:
                choices = ", ".join(repr(a) for a in allowed)
                raise ValueError(f"{name} must be one of {choices}; got {getattr(self, name)!r}")
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

    def levels(self, size: Sequence[int], content_term: bool = True) -> list[tuple[int, int]]:
        """The coarse-to-fine plan for an image of ``size``: ``[(level, steps), ...]``, coarsest first.

        Level ``k`` is the image halved ``k`` times (:func:`level_size`); 0 is full
        size. By default there are up to two coarse levels, as long as the short
        side stays at least :data:`MIN_COARSE_SIDE` px there; they share
        ``coarse_share`` of the steps, and the full size gets the rest. Without
        a content term (textures) there is at most one, whose short side must be
        at least :data:`MIN_TEXTURE_COARSE_SIDE` px: a texture has no layout for
        the coarse levels to settle, and its deepest statistics (conv5_1 sees the
        image at 1/16) carry over a change of scale only when there is room for them.

        >>> Settings(steps=100).levels((384, 512))
        [(2, 25), (1, 25), (0, 50)]
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
        would halve it; enlarged, a coarse texture keeps its contrast and sharp edges,
        which conv1_1's Gram matrix measures, where bilinear blurs them.
        """
        if self.resampling != "auto":
            return self.resampling
        return "bilinear" if content_term else "nearest"


def level_size(size: Sequence[int], level: int) -> tuple[int, int]:
    """``(H, W)`` at coarse-to-fine ``level``: ``size`` halved ``level`` times (0 is full size)."""
    return scaled_size(size, 0.5**level)
