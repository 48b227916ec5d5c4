"""Coarse-to-fine: solve the problem small first, then enlarge the solution (Gatys et al., CVPR 2017).

Reference:
    Gatys, Ecker, Bethge, Hertzmann & Shechtman, *Controlling Perceptual Factors in Neural
    Style Transfer*, CVPR 2017, Sec. 6.1: a stylisation at low resolution, upsampled, starts
    the high-resolution one.

Level ``k`` is the image halved ``k`` times; 0 is full size. Each level has its own targets,
from the source images shrunk by the same rule (:func:`scaled`), so a half-size problem is the
whole problem at half size. Its steps cost a quarter, and its solution, enlarged, is a good
start: the layout settles where it is cheap. :func:`nst_teach.engine.optimize` runs the plan.
"""

from __future__ import annotations

from typing import Literal, Sequence

import torch.nn.functional as nnf
from torch import Tensor

from nst_teach.features import VGG19Features
from nst_teach.images import resize
from nst_teach.objective import Objective, build_objective
from nst_teach.settings import Settings

__all__ = ["MIN_ANY_SIDE", "MIN_COARSE_SIDE", "MIN_TEXTURE_COARSE_SIDE", "level_size", "levels", "resample", "resampling_mode", "scaled",
           "scaled_size"]

#: The smallest short side a coarse level may have (VGG19 halves it four times before conv5_1).
MIN_COARSE_SIDE = 48
#: Below this, even an asked-for coarse level is left out: conv5_1's map would be empty.
MIN_ANY_SIDE = 16
#: The same for a texture's (single) coarse level: conv5_1's Gram matrix needs a 6 x 6 map or more.
MIN_TEXTURE_COARSE_SIDE = 96


def levels(settings: Settings, size: Sequence[int], content_term: bool = True) -> list[tuple[int, int]]:
    """The coarse-to-fine plan for an image of ``size``: ``[(level, steps), ...]``, coarsest first.

    Level ``k`` is the image halved ``k`` times (:func:`level_size`); 0 is full
    size. By default there are up to two coarse levels, as long as the short
    side stays at least :data:`MIN_COARSE_SIDE` px there; they share
    ``coarse_share`` of the steps, and the full size gets the rest. Without
    a content term (textures) there is at most one, whose short side must be
    at least :data:`MIN_TEXTURE_COARSE_SIDE` px: a texture has no layout for
    the coarse levels to settle, and its deepest statistics (conv5_1 sees the
    image at 1/16) carry over a change of scale only when there is room for them.
    A run from the photograph gets none (:func:`~nst_teach.tasks.optimize_from`). An
    asked-for ``coarse_levels`` is cut to the levels whose short side is at least
    :data:`MIN_ANY_SIDE` px.

    >>> levels(Settings(steps=100), (384, 512))
    [(2, 25), (1, 25), (0, 50)]
    """
    levels = settings.coarse_levels
    if levels is None:
        most, side = (2, MIN_COARSE_SIDE) if content_term else (1, MIN_TEXTURE_COARSE_SIDE)
        levels = next((k for k in range(most, 0, -1) if min(size) / 2**k >= side), 0)
    while levels and min(size) / 2**levels < MIN_ANY_SIDE:  # asked for more than the image has room for
        levels -= 1
    coarse = round(settings.coarse_share * settings.steps) if levels else 0
    plan = [(k, coarse // levels + (k == levels) * (coarse % levels)) for k in range(levels, 0, -1)]
    return [(k, n) for k, n in plan if n > 0] + [(0, settings.steps - coarse)]


def resampling_mode(settings: Settings, content_term: bool = True) -> Literal["bilinear", "nearest"]:
    """How an image moves between coarse-to-fine levels (the start shrunk, each solution enlarged).

    ``"auto"``: antialiased bilinear (:func:`~nst_teach.images.resize`) when there is a
    content term, whose layout should stay smooth; nearest neighbour for textures.
    Nearest neighbour keeps the distribution of pixel values: shrunk, white noise stays
    white noise with the same spread, as if drawn at the coarse size, where averaging
    would halve it; enlarged, a coarse texture keeps its contrast and sharp edges,
    which conv1_1's Gram matrix measures, where bilinear blurs them.
    """
    if settings.resampling != "auto":
        return settings.resampling
    return "bilinear" if content_term else "nearest"


def scaled_size(size: Sequence[int], factor: float) -> tuple[int, int]:
    """``(H, W)`` times ``factor``, rounded, at least 1 px.

    >>> scaled_size((384, 512), 0.25)
    (96, 128)
    """
    return (max(1, round(size[0] * factor)), max(1, round(size[1] * factor)))


def level_size(size: Sequence[int], level: int) -> tuple[int, int]:
    """``(H, W)`` at coarse-to-fine ``level``: ``size`` halved ``level`` times (0 is full size)."""
    return scaled_size(size, 0.5**level)


def resample(image: Tensor, size: tuple[int, int], mode: Literal["bilinear", "nearest"] = "bilinear") -> Tensor:
    """``image`` at ``size = (H, W)``: :func:`resize` (antialiased bilinear) or nearest neighbour."""
    if mode == "bilinear" or tuple(image.shape[-2:]) == tuple(size):
        return resize(image, size)
    return nnf.interpolate(image, size=size, mode="nearest")


def scaled(objective: Objective, encoder: VGG19Features, factor: float) -> Objective:
    """The same objective for images ``factor`` times as large: targets from the resized source images."""
    if not objective.rescalable:
        raise ValueError("this objective does not know its source images; build it with build_objective")

    def shrink(im: Tensor) -> Tensor:
        return resize(im, scaled_size(im.shape[-2:], factor))

    content, style = objective.content, objective.style
    if content is not None:
        content = shrink(content)
    if style is not None:
        style = [shrink(im) for im in style] if isinstance(style, list) else shrink(style)
    return build_objective(encoder, content=content, style=style, content_layers=objective.content_weights,
                           style_layers=objective.style_weights, alpha=objective.alpha, beta=objective.beta,
                           tv_weight=objective.tv_weight, style_blend=objective.style_blend)
