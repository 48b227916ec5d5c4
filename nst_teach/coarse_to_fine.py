"""The plan of a run: coarse-to-fine levels, then the float32 tail, as a list of phases the engine runs in order.

Reference:
    Gatys, Ecker, Bethge, Hertzmann & Shechtman, *Controlling Perceptual Factors in Neural
    Style Transfer*, CVPR 2017, Sec. 6.1: a stylisation at low resolution, upsampled, starts
    the high-resolution one.

Level ``k`` is the image halved ``k`` times; 0 is full size. Each level has its own objective,
every term rebuilt for that size (:meth:`~nst_teach.objective.Objective.resized`), so a half-size
problem is the whole problem at half size. Its steps cost a quarter, and its solution, enlarged,
is a good start: the layout settles where it is cheap. Within a level, the network may run in
bfloat16 and then, for the level's last steps, in float32 (:data:`Phase.precision`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Sequence

import torch
import torch.nn.functional as nnf
from torch import Tensor

from nst_teach.images import resize
from nst_teach.objective import Objective, scaled_size
from nst_teach.runtime import resolve_precision
from nst_teach.settings import Resampling, Settings
from nst_teach.vgg19 import LAYER_INDEX, LAYER_NAMES, deepest_layer, smallest_side

__all__ = ["MIN_ANY_SIDE", "MIN_COARSE_SIDE", "Phase", "level_size", "levels", "most_levels", "plan", "plan_for",
           "resample", "room_for_levels"]

#: The smallest short side a coarse level may have (VGG19 halves it four times before conv5_1).
MIN_COARSE_SIDE = 48
#: Below this, even an asked-for coarse level is left out: conv5_1's map would be empty.
MIN_ANY_SIDE = 16


@dataclass(frozen=True)
class Phase:
    """``steps`` evaluations at coarse-to-fine ``level``, with the network in ``precision``."""

    level: int  # 0: full size; k: halved k times
    steps: int
    precision: Literal["bfloat16", "float32"]


def plan_for(objective: Objective, settings: Settings, size: Sequence[int], device: torch.device,
             from_noise: bool = False) -> list[Phase]:
    """The plan of a run of ``objective`` on an image of ``size``: the one policy, which the engine follows whenever
    it is given no plan (:func:`~nst_teach.engine.optimize`, and so every task). Coarse levels as the objective suits
    (:func:`most_levels`: none unless the start is noise), no more than its source images allow (:func:`room_for_levels`)."""
    return plan(settings, size, device, most_levels(objective, from_noise), room_for_levels(objective))


def plan(settings: Settings, size: Sequence[int], device: torch.device, most: int = 0, room: int = 4) -> list[Phase]:
    """The phases of a run of ``settings.steps`` steps on an image of ``size``: each level of :func:`levels`
    (up to ``most`` coarse ones unless ``settings.coarse_levels`` says; never more than ``room``, what the source
    images allow: :func:`room_for_levels`), in bfloat16 where ``settings.precision``
    resolves to it on ``device``, its last ``float32_tail`` of the steps in float32.

    >>> [(p.level, p.steps, p.precision) for p in plan(Settings(steps=100, precision="bfloat16"), (384, 512), torch.device("cpu"), 2)]
    [(2, 23, 'bfloat16'), (2, 2, 'float32'), (1, 23, 'bfloat16'), (1, 2, 'float32'), (0, 45, 'bfloat16'), (0, 5, 'float32')]
    """
    low = resolve_precision(settings.precision, device) is not None
    phases = []
    for level, steps in levels(settings, size, most, room):
        tail = round(settings.float32_tail * steps) if low else steps
        phases += [Phase(level, steps - tail, "bfloat16"), Phase(level, tail, "float32")]
    return [phase for phase in phases if phase.steps > 0]


def levels(settings: Settings, size: Sequence[int], most: int = 0, room: int = 4) -> list[tuple[int, int]]:
    """The coarse-to-fine levels for an image of ``size``: ``[(level, steps), ...]``, coarsest first.

    There are up to ``most`` coarse levels (:func:`most_levels`), as long as the short side stays
    at least :data:`MIN_COARSE_SIDE` px there; they share ``coarse_share`` of the steps, and the full
    size gets the rest (at least one). An asked-for ``coarse_levels`` is cut to the levels whose short
    side is at least :data:`MIN_ANY_SIDE` px, and to ``room``.

    >>> levels(Settings(steps=100), (384, 512), most=2)
    [(2, 25), (1, 25), (0, 50)]
    """
    count = settings.coarse_levels
    if count is None:
        count = next((k for k in range(most, 0, -1) if min(size) / 2**k >= MIN_COARSE_SIDE), 0)
    count = min(count, room)
    while count and min(size) / 2**count < MIN_ANY_SIDE:  # asked for more than the image has room for
        count -= 1
    coarse = min(round(settings.coarse_share * settings.steps), settings.steps - 1) if count else 0
    steps = [(k, coarse // count + (k == count) * (coarse % count)) for k in range(count, 0, -1)]
    return [(k, n) for k, n in steps if n > 0] + [(0, settings.steps - coarse)]


def level_size(size: Sequence[int], level: int) -> tuple[int, int]:
    """``(H, W)`` at coarse-to-fine ``level``: ``size`` halved ``level`` times (0 is full size)."""
    return scaled_size(size, 0.5**level)


def most_levels(objective: Objective, from_noise: bool) -> int:
    """How many coarse levels suit ``objective``: none unless the start is noise; two when a term fixes the layout
    (:attr:`~nst_teach.objective.Term.fixes_layout`, the content's); otherwise, as for a texture, no more than the
    poolings before its deepest layer; and never so many that a source image (the photograph, a painting) would be
    shrunk below :data:`MIN_COARSE_SIDE` px.

    A coarse level settles structures larger than the layers see at full size. A start that is a picture
    (the photograph, in its own colours or the painting's; the painting) already has a layout: shrunk and
    enlarged, it would only come back blurred. A texture's statistics describe nothing larger than its
    deepest layer sees: ``relu1_1``'s Gram matrices measure 3 x 3 neighbourhoods, so a coarse level could
    only leave blobs that they do not measure (lesson 3, Fig. 1, "up to relu1_1"). And a coarse level shrinks
    the sources with the image: a 64 px painting halved to 32 px has lost its finest grain, and a texture
    made from it at twice its size came out with 0.7-0.85 of the contrast of one made at its size.

    >>> from nst_teach.features import load_vgg19_features
    >>> from nst_teach.objective import build_objective
    >>> encoder, painting = load_vgg19_features("random"), torch.rand(1, 3, 96, 96)
    >>> [most_levels(build_objective(encoder, style=painting, style_layers=[l]), from_noise=True)
    ...  for l in ("relu1_1", "relu2_1", "relu3_1", "relu5_1")]
    [0, 1, 1, 1]
    """
    if not from_noise:
        return 0
    shortest = min((min(im.shape[-2:]) for im in objective.images), default=MIN_COARSE_SIDE * 4)
    room = next((k for k in range(2, 0, -1) if shortest / 2**k >= MIN_COARSE_SIDE), 0)
    if any(term.fixes_layout for term in objective.terms):
        return min(2, room)
    deepest = LAYER_INDEX[deepest_layer(objective.layers)] if objective.layers else 0
    return min(2, room, sum(name.startswith("pool") for name in LAYER_NAMES[:deepest]))


def room_for_levels(objective: Objective) -> int:
    """How many times the objective's source images (photograph, paintings) can be halved and still reach its
    deepest layer (:func:`~nst_teach.vgg19.smallest_side`): a coarse level shrinks them with the image."""
    if not objective.images or not objective.layers:
        return 4
    shortest, needed = min(min(im.shape[-2:]) for im in objective.images), smallest_side(objective.layers)
    return max(0, min(4, int(math.log2(shortest / needed)))) if shortest >= needed else 0


def resample(image: Tensor, size: tuple[int, int], mode: Resampling = "bilinear") -> Tensor:
    """``image`` at ``size = (H, W)``, as it moves between levels (``Settings.resampling``).

    ``"bilinear"`` (:func:`~nst_teach.images.resize`, antialiased), for every task by default. Nearest
    neighbour keeps white noise's spread when shrinking and a texture's sharp edges when enlarging,
    but its 2 x 2 blocks last at full size: on the trained network its textures were later to the
    loop's score, and blocky and speckled (``benchmarks/README.md``).
    """
    if mode == "bilinear" or tuple(image.shape[-2:]) == tuple(size):
        return resize(image, size)
    return nnf.interpolate(image, size=size, mode="nearest")
