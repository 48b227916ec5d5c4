"""The default picture: what ``nst-teach transfer PHOTO PAINTING`` paints with no flags, as one plan and one objective
(README, "The default picture"), chosen by pictures first and then by time. In Python the same picture is::

    nt.style_transfer(encoder, photo, painting, nt.PICTURE, **nt.PICTURE_OBJECTIVE)

The paper's own objective (``--paper``: ``conv4_2``, the five style layers at ``w_l = 1/5``, alpha/beta ``1e-3``) is
``style_transfer``'s default. Nothing here loads torch, so ``nst-teach --help`` stays instant."""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping, Sequence, TypedDict

from nst_teach.settings import Settings

__all__ = ["PICTURE", "PICTURE_CONTENT_LAYER", "PICTURE_OBJECTIVE", "PICTURE_RATIO", "PICTURE_STYLE_SHARES",
           "PictureObjective"]

#: The plan: 80 steps at 1/4 size and 80 at 1/2, where the layout and the colours settle, the last 20 at full size.
PICTURE = Settings(steps=180, coarse_share=8 / 9)
#: The content layer, ``conv3_2``: between Fig. 5's ``conv2_2`` ("the texture of the painting is simply blended over the
#: photograph") and the paper's ``conv4_2``, which let the layout go before the colours came.
PICTURE_CONTENT_LAYER = "relu3_2"
PICTURE_RATIO = 5e-4  #: alpha/beta at 512 x 512, scaled to the size like every ratio (objective.alpha_for_size)
#: The style layers and each one's share of the style loss at the start (``style_transfer(..., balance=True)``): each
#: half the one before, ``relu1_1``'s 16 to ``relu5_1``'s 1. The shallow layers carry the painting's colours and small
#: strokes; the deep ones its large shapes, which redraw the layout.
PICTURE_STYLE_SHARES: Mapping[str, float] = MappingProxyType({"relu1_1": 16.0, "relu2_1": 8.0, "relu3_1": 4.0,
                                                             "relu4_1": 2.0, "relu5_1": 1.0})


class PictureObjective(TypedDict):
    """``style_transfer``'s keywords that make the default picture's objective."""

    content_layers: Sequence[str]
    style_layers: Mapping[str, float]
    balance: bool
    ratio: float


#: The objective in one place, for the command line and for ``style_transfer(..., **PICTURE_OBJECTIVE)``: a
#: ``balance=True`` call without these layers and ratio gets :data:`~nst_teach.settings.BALANCED_RATIO`, chosen for the
#: paper's ``conv4_2`` and equal shares, not this picture.
PICTURE_OBJECTIVE = PictureObjective(content_layers=(PICTURE_CONTENT_LAYER,), style_layers=PICTURE_STYLE_SHARES,
                                     balance=True, ratio=PICTURE_RATIO)
