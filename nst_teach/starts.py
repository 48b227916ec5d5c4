r"""Where a run starts: white noise (the paper's start), the photograph, the painting, or the photograph in the
painting's colours.

References:
    Gatys, Ecker & Bethge, CVPR 2016, Sec. 3.3 and Fig. 6: initialisation from white noise, the
    content image or the style image.
"""

from __future__ import annotations

import math
from typing import Literal, Sequence, get_args

import torch
from torch import Tensor

from nst_teach.color import in_colors_of
from nst_teach.errors import NstTeachError
from nst_teach.images import resize

__all__ = ["NOISE_STARTS", "START_CHOICES", "TASK_STARTS", "Start", "check_start", "initial_image"]

#: A run's start by name: ``"noise"``, white noise in the source images' colours; ``"uniform"``, plain
#: U(0, 1) noise; ``"content"``, the photograph; ``"recolored"``, the photograph in the painting's colours
#: (:func:`~nst_teach.color.in_colors_of`); ``"style"``, the (first) painting.
Start = Literal["noise", "uniform", "content", "recolored", "style"]
START_CHOICES: tuple[str, ...] = get_args(Start)
#: The starts that are noise: the others (and an image tensor) are pictures that already have a layout.
NOISE_STARTS = ("noise", "uniform")
#: The starts each task can make: a reconstruction has no painting, a texture no photograph.
TASK_STARTS: dict[str, tuple[str, ...]] = {"reconstruct": ("noise", "uniform", "content"),
                                           "texture": ("noise", "uniform", "style"), "transfer": START_CHOICES}


def check_start(init: object, task: str | None = None) -> None:
    """``init`` names a start (:data:`START_CHOICES`), one that ``task`` can make (:data:`TASK_STARTS`), or is an image.

    >>> check_start("style", "reconstruct")
    Traceback (most recent call last):
    ...
    nst_teach.errors.NstTeachError: init 'style' cannot start a reconstruct: choose from 'noise', 'uniform', 'content'
    """
    if isinstance(init, Tensor):
        return
    if init not in START_CHOICES:
        raise NstTeachError(f"init must be one of {', '.join(map(repr, START_CHOICES))} or an image tensor; "
                            f"got {init!r}", "init")
    if task is not None and init not in TASK_STARTS[task]:
        raise NstTeachError(f"init {init!r} cannot start a {task}: choose from {', '.join(map(repr, TASK_STARTS[task]))}",
                            "init")


def initial_image(init: Start | Tensor, shape: Sequence[int], *, seed: int = 0, content: Tensor | None = None,
                  style: Tensor | Sequence[Tensor] | None = None, style_blend: Sequence[float] | None = None,
                  device: torch.device | str = "cpu") -> Tensor:
    r"""The starting image of ``shape = (B, 3, H, W)``, from the source images of the run.

    ``"noise"`` is white noise in the colours of the source images (``content`` and ``style``,
    whichever are given), each pixel drawn on its own,
    :math:`x^c_{ij} = \mathrm{clip}_{[0,1]}(\mu^c + \sigma^c \sqrt{12}\,(u^c_{ij} - \tfrac12))` with
    :math:`u \sim U(0, 1)` and :math:`\mu^c, \sigma^c` channel c's mean and spread over their pixels.
    ``"uniform"`` is plain :math:`U(0, 1)` noise. The Gram matrices are not centred, so a wrong
    mean colour is a uniform start's largest error at every style layer. ``"recolored"`` is the
    photograph with the RGB mean and covariance of the paintings, weighted as their blend ``style_blend``.
    A tensor is used as it is (resized to ``shape``).

    >>> initial_image("uniform", (1, 3, 4, 4), seed=1).shape
    torch.Size([1, 3, 4, 4])
    """
    check_start(init)
    styles = [style] if isinstance(style, Tensor) else list(style or [])
    if isinstance(init, Tensor):
        x = init
    elif init in ("noise", "uniform"):
        x = torch.rand(tuple(shape), generator=torch.Generator().manual_seed(seed))
        sources = [im.detach().float().cpu() for im in [content, *styles] if im is not None]
        if init == "noise" and sources:
            pixels = torch.cat([im.movedim(1, 0).flatten(1) for im in sources], 1)  # (C, N)
            mu, sigma = pixels.mean(1).view(-1, 1, 1), pixels.std(1).view(-1, 1, 1)
            x = (mu + sigma * math.sqrt(12) * (x - 0.5)).clamp(0, 1)
    elif init == "style":
        if not styles:
            raise NstTeachError("init='style' needs a style image")
        x = styles[0]
    else:  # "content" or "recolored"
        if content is None or (init == "recolored" and not styles):
            raise NstTeachError(f"init={init!r} needs {'a content and a style image' if init == 'recolored' else 'a content image'}")
        x = content if init == "content" else in_colors_of(content, styles, style_blend)
    x = x.detach().float().to(device)
    if tuple(x.shape[-2:]) != tuple(shape[-2:]):
        x = resize(x, tuple(shape[-2:]))
    return x.expand(*shape).clone() if x.shape[0] == 1 and shape[0] > 1 else x.clone()
