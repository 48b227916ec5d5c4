r"""Blending several style images into one target (as jcjohnson's neural-style does).

With weights :math:`b_k` (non-negative, scaled to sum to 1), each layer's target is the
weighted mean of the styles' Gram matrices per position,

.. math:: A_l = \sum_k b_k \, G^l(a_k) / M^l_k,

compared with :math:`G^l / M_l` (so the objective's ``M_A`` is 1). Weights ``(1, 0)`` give
the first style alone. :func:`nst_teach.objective.build_objective` uses this for a list of
style images.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor

from nst_teach import losses
from nst_teach.errors import NstTeachError
from nst_teach.features import VGG19Features

__all__ = ["blend_weights", "blended_grams"]


def blend_weights(weights: Sequence[float], n_styles: int) -> tuple[float, ...]:
    """``weights`` for ``n_styles`` style images, checked (one each, finite, non-negative, not all zero)
    and scaled to sum to 1.

    >>> blend_weights([0.7, 0.7], 2)
    (0.5, 0.5)
    """
    weights = [float(w) for w in weights]
    if n_styles < 1:
        raise NstTeachError("a blend needs at least one style image")
    if len(weights) != n_styles:
        raise NstTeachError(f"{len(weights)} style weights for {n_styles} style images: give one weight per style")
    if not all(math.isfinite(w) and w >= 0 for w in weights) or not sum(weights) > 0:
        raise NstTeachError(f"style weights must be non-negative and not all zero, got {weights}")
    total = sum(weights)
    return tuple(w / total for w in weights)


@torch.no_grad()
def blended_grams(encoder: VGG19Features, styles: Sequence[Tensor], b: Sequence[float],
                  layers: list[str]) -> dict[str, Tensor]:
    """``{layer: A_l}``, the blend of the ``styles``' per-position Gram matrices with weights ``b``, in float32."""
    A: dict[str, Tensor] = {}
    for b_k, image in zip(b, styles):
        if not (b_k and layers):
            continue
        for l, F in encoder(image.float(), layers).items():
            G = b_k * losses.gram_matrix(F.float()) / (F.shape[-2] * F.shape[-1])
            A[l] = A[l] + G if l in A else G
    return A
