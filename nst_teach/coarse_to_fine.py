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

import torch
import torch.nn.functional as nnf
from torch import Tensor

from nst_teach.features import LAYER_INDEX, LAYER_NAMES, VGG19Features, deepest_layer
from nst_teach.images import resize
from nst_teach.objective import Objective, build_objective
from nst_teach.settings import Settings

__all__ = ["MIN_ANY_SIDE", "MIN_COARSE_SIDE", "level_size", "levels", "most_levels", "resample", "scaled", "scaled_size"]

#: The smallest short side a coarse level may have (VGG19 halves it four times before conv5_1).
MIN_COARSE_SIDE = 48
#: Below this, even an asked-for coarse level is left out: conv5_1's map would be empty.
MIN_ANY_SIDE = 16


def levels(settings: Settings, size: Sequence[int], most: int = 2) -> list[tuple[int, int]]:
    """The coarse-to-fine plan for an image of ``size``: ``[(level, steps), ...]``, coarsest first.

    Level ``k`` is the image halved ``k`` times (:func:`level_size`); 0 is full
    size. By default there are up to ``most`` coarse levels (:func:`most_levels`), as
    long as the short side stays at least :data:`MIN_COARSE_SIDE` px there; they share
    ``coarse_share`` of the steps, and the full size gets the rest. An asked-for
    ``coarse_levels`` is cut to the levels whose short side is at least :data:`MIN_ANY_SIDE` px.

    >>> levels(Settings(steps=100), (384, 512))
    [(2, 25), (1, 25), (0, 50)]
    """
    levels = settings.coarse_levels
    if levels is None:
        levels = next((k for k in range(most, 0, -1) if min(size) / 2**k >= MIN_COARSE_SIDE), 0)
    while levels and min(size) / 2**levels < MIN_ANY_SIDE:  # asked for more than the image has room for
        levels -= 1
    coarse = round(settings.coarse_share * settings.steps) if levels else 0
    plan = [(k, coarse // levels + (k == levels) * (coarse % levels)) for k in range(levels, 0, -1)]
    return [(k, n) for k, n in plan if n > 0] + [(0, settings.steps - coarse)]


def scaled_size(size: Sequence[int], factor: float) -> tuple[int, int]:
    """``(H, W)`` times ``factor``, rounded, at least 1 px.

    >>> scaled_size((384, 512), 0.25)
    (96, 128)
    """
    return (max(1, round(size[0] * factor)), max(1, round(size[1] * factor)))


def level_size(size: Sequence[int], level: int) -> tuple[int, int]:
    """``(H, W)`` at coarse-to-fine ``level``: ``size`` halved ``level`` times (0 is full size)."""
    return scaled_size(size, 0.5**level)


def most_levels(objective: Objective, start: Tensor) -> int:
    """How many coarse levels suit ``objective`` from ``start``: two; for a texture, no more than the
    poolings before its deepest layer; none from the objective's own photograph.

    A coarse level settles structures larger than the layers see at full size. A photograph's
    layout is right at every size, but a texture's statistics describe nothing larger than its
    deepest layer sees: ``relu1_1``'s Gram matrices measure 3 x 3 neighbourhoods, so a coarse
    level could only leave blobs that they do not measure (lesson 3, Fig. 1, "up to relu1_1").
    A start that is the photograph, in its own colours or any others (a style transfer's
    default start, ``init="recolored"``, is in the painting's), already has its layout: shrunk
    and enlarged, it would only come back blurred.

    >>> from nst_teach.weights import load_vgg19_features
    >>> encoder = load_vgg19_features("random")
    >>> style = torch.rand(1, 3, 64, 64)
    >>> [most_levels(build_objective(encoder, style=style, style_layers=layers, alpha=0), torch.rand(1, 3, 64, 64))
    ...  for layers in (["relu1_1"], ["relu1_1", "relu2_1"], ["relu3_1"], ["relu5_1"])]
    [0, 1, 2, 2]
    """
    if _is_the_photograph(objective, start):
        return 0
    if objective.content_weights:
        return 2
    deepest = LAYER_INDEX[deepest_layer(objective.style_weights)]
    return min(2, sum(name.startswith("pool") for name in LAYER_NAMES[:deepest]))


def _is_the_photograph(objective: Objective, start: Tensor) -> bool:
    """Whether ``start`` is the objective's photograph up to a change of colours: ``A x + b`` at every pixel
    that no channel was clamped at (as it is: ``A = I``, ``b = 0``; or in the painting's colours)."""
    photo = objective.content
    if photo is None or start.shape != photo.shape:
        return False
    if torch.equal(start, photo):
        return True
    x = photo.detach().movedim(1, 0).flatten(1).double()  # (C, N)
    y = start.detach().to(x.device).movedim(1, 0).flatten(1).double()
    inside = ((y > 0) & (y < 1)).all(0)
    if float(inside.float().mean()) < 0.5:
        return False
    X, Y = torch.cat([x, torch.ones_like(x[:1])])[:, inside], y[:, inside]  # (C + 1, n), (C, n)
    ridge = 1e-9 * X.shape[1] * torch.eye(X.shape[0], dtype=X.dtype, device=X.device)  # a grey photograph too
    A_b = torch.linalg.solve(X @ X.T + ridge, X @ Y.T)  # least squares, (C + 1, C)
    return float((X.T @ A_b - Y.T).abs().max()) < 1e-4


def resample(image: Tensor, size: tuple[int, int], mode: Literal["bilinear", "nearest"] = "bilinear") -> Tensor:
    """``image`` at ``size = (H, W)``, as it moves between levels (``Settings.resampling``).

    ``"bilinear"`` (:func:`resize`, antialiased), for every task by default. Nearest neighbour keeps
    white noise's spread when shrinking and a texture's sharp edges when enlarging, but its 2 x 2
    blocks last at full size: on the trained network its textures were later to the loop's score,
    and blocky and speckled (``benchmarks/README.md``).
    """
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
