"""The paper's losses, one function each, in the paper's notation.

References:
    Gatys, Ecker & Bethge, *Texture Synthesis Using Convolutional Neural
    Networks*, NeurIPS 2015 (Gram matrices, Eq. 1-5).
    Gatys, Ecker & Bethge, *Image Style Transfer Using Convolutional Neural
    Networks*, CVPR 2016 (Eq. 1-7).

Shapes: ``F`` and ``P`` are feature maps ``(B, N_l, H_l, W_l)``; the paper
flattens positions so that ``F_l`` is ``N_l x M_l`` with ``M_l = H_l W_l``.
``A`` and ``G`` are Gram matrices ``(B, N_l, N_l)``. Losses are summed over
the batch, so a batch of independent problems optimises each one exactly as
it would alone. No extra normalisation is added beyond the paper's.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, Mapping

import torch
from torch import Tensor

from nst_teach.errors import NstTeachError

__all__ = ["content_loss", "SymmetricGram", "gram_matrix", "style_layer_loss", "style_loss", "total_loss",
           "total_variation", "weighted"]


def _check_maps(name: str, x: Tensor) -> None:
    if x.ndim != 4:
        raise NstTeachError(f"{name} must be feature maps of shape (B, N, H, W), got {tuple(x.shape)}")


def gram_matrix(F: Tensor) -> Tensor:
    r"""Gram matrix of feature maps (CVPR 2016, Eq. 3).

    .. math:: G^l_{ij} = \sum_k F^l_{ik} F^l_{jk}

    i.e. ``G = F Fᵀ`` with ``F`` reshaped to ``(B, N_l, M_l)``. Unnormalised,
    as in the paper; :func:`style_layer_loss` divides by ``4 N_l² M_l²``.

    ``F`` ``(B, N, H, W)`` gives ``(B, N, N)``:

    >>> gram_matrix(torch.ones(1, 2, 3, 3))
    tensor([[[9., 9.],
             [9., 9.]]])
    """
    _check_maps("F", F)
    B, N, H, W = F.shape
    if F.is_contiguous(memory_format=torch.channels_last):  # NHWC: F as (B, M, N), no copy
        X = F.permute(0, 2, 3, 1).reshape(B, H * W, N)
    else:
        X = F.reshape(B, N, H * W).transpose(1, 2)
    return SymmetricGram.apply(X)


class SymmetricGram(torch.autograd.Function):
    r"""``G = Xᵀ X`` for ``X`` of shape ``(B, M, N)``, with a backward that uses ``G``'s symmetry.

    Autograd would treat the two factors as two inputs: two matrix products
    and a sum, each as large as ``F``. One product does it:

    .. math:: \frac{\partial L}{\partial X} = X \left(\frac{\partial L}{\partial G}
              + \frac{\partial L}{\partial G}^\top\right)

    (for the style loss this is CVPR 2016, Eq. 6, before the ReLU's mask).
    """

    @staticmethod
    def forward(ctx, X: Tensor) -> Tensor:
        ctx.save_for_backward(X)
        return X.transpose(1, 2) @ X

    @staticmethod
    def backward(ctx, dG: Tensor) -> Tensor:
        (X,) = ctx.saved_tensors
        dG = dG.to(X.dtype)
        return X @ (dG + dG.transpose(1, 2))


def content_loss(F: Tensor, P: Tensor) -> Tensor:
    r"""Squared-error content loss (CVPR 2016, Eq. 1).

    .. math:: \mathcal{L}_{content}(\vec p, \vec x, l) = \tfrac12 \sum_{i,j} (F^l_{ij} - P^l_{ij})^2

    Args:
        F: ``(B, N, H, W)`` features of the generated image ``x``.
        P: features of the content image ``p`` at the same layer, same shape.

    >>> content_loss(torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2))
    tensor(2.)
    """
    _check_maps("F", F)
    if F.shape != P.shape:
        raise NstTeachError(f"F and P must have the same shape, got {tuple(F.shape)} and {tuple(P.shape)}")
    return 0.5 * (F - P).pow(2).sum()


def style_layer_loss(F: Tensor, A: Tensor, M_A: int | None = None) -> Tensor:
    r"""One layer's contribution to the style loss (CVPR 2016, Eq. 4).

    .. math:: E_l = \frac{1}{4 N_l^2 M_l^2} \sum_{i,j} (G^l_{ij} - A^l_{ij})^2

    with ``G = gram_matrix(F)``, ``N_l`` channels and ``M_l = H W`` positions.

    The paper's images have one size. When the style image's map has another,
    ``M_A`` positions, each Gram matrix is divided by its own number of positions,

    .. math:: E_l = \frac{1}{4 N_l^2} \sum_{i,j} \Big(\frac{G^l_{ij}}{M_l} - \frac{A^l_{ij}}{M_A}\Big)^2,

    which is Eq. 4 when ``M_A = M_l``. Without it, a texture made at twice the
    source's size would be asked for a quarter of the source's feature energy per
    position (:math:`G` grows with :math:`M_l`, :math:`A` does not), and comes out washed out.

    Args:
        F: ``(B, N, H, W)`` features of the generated image.
        A: ``(B, N, N)`` (or ``(1, N, N)``, broadcast) Gram matrix of the style image.
        M_A: the style map's positions ``H_A W_A`` (default: ``M_l``, the same size).

    >>> F = torch.rand(1, 4, 8, 8)
    >>> A = gram_matrix(torch.nn.functional.interpolate(F, scale_factor=2.0, mode="nearest"))
    >>> float(style_layer_loss(F, A, M_A=16 * 16)) < 1e-12  # the same statistics at twice the size
    True
    """
    _check_maps("F", F)
    B, N, H, W = F.shape
    if A.shape[-2:] != (N, N):
        raise NstTeachError(f"A must be a Gram matrix (B, {N}, {N}) for F with {N} channels, got {tuple(A.shape)}")
    M = H * W
    G = gram_matrix(F)
    if M_A is None or M_A == M:
        return (G - A).pow(2).sum() / (4.0 * N**2 * M**2)
    return (G / M - A / M_A).pow(2).sum() / (4.0 * N**2)


def style_loss(F: Mapping[str, Tensor], A: Mapping[str, Tensor], w: Mapping[str, float | Tensor],
               M_A: Mapping[str, int] | None = None) -> Tensor:
    r"""Weighted sum of layer losses (CVPR 2016, Eq. 5). The engine's objective uses this one.

    .. math:: \mathcal{L}_{style}(\vec a, \vec x) = \sum_l w_l E_l

    Args:
        F: layer name -> generated features.
        A: layer name -> style Gram matrix.
        w: layer name -> weight ``w_l`` (the paper: 1/5 on each of five layers), or one
            weight per image of a batch (see :func:`weighted`).
        M_A: layer name -> the style map's positions, when its size differs (see :func:`style_layer_loss`).
    """
    M_A = M_A or {}
    terms = [weighted(partial(style_layer_loss, M_A=M_A.get(l)), F[l], A[l], w_l) for l, w_l in w.items()]
    return sum(terms[1:], terms[0])


def weighted(loss: Callable[[Tensor, Tensor], Tensor], F: Tensor, T: Tensor, w: float | Tensor) -> Tensor:
    """``w * loss(F, T)``, or with one weight per image (``w`` of shape ``(B,)``): ``sum_b w_b * loss(F_b, T_b)``.

    One target ``T`` serves a whole batch; per-image weights let one batch hold several problems.

    >>> F = torch.zeros(2, 1, 1, 1)
    >>> float(weighted(content_loss, F, torch.ones(1, 1, 1, 1), torch.tensor([1.0, 0.0])))
    0.5
    """
    T = T.expand(F.shape[0], *T.shape[1:])
    if not isinstance(w, Tensor):
        return w * loss(F, T)
    return sum((float(w_b) * loss(F[b : b + 1], T[b : b + 1]) for b, w_b in enumerate(w.tolist()) if w_b), F.new_zeros(()))


def total_loss(L_content: Tensor, L_style: Tensor, alpha: float, beta: float) -> Tensor:
    r"""The style-transfer objective (CVPR 2016, Eq. 7).

    .. math:: \mathcal{L}_{total} = \alpha \mathcal{L}_{content} + \beta \mathcal{L}_{style}

    Only the ratio ``alpha / beta`` shapes the result (CVPR 2016, Fig. 4 sweeps it from
    1e-5 to 1e-2); the scale matters to the optimiser's step sizes.
    """
    return alpha * L_content + beta * L_style


def total_variation(x: Tensor) -> Tensor:
    r"""Squared total variation, an optional smoothness regulariser (not in the 2016 paper).

    .. math:: \mathcal{L}_{tv} = \sum_{i,j} (x_{i,j+1} - x_{i,j})^2 + (x_{i+1,j} - x_{i,j})^2

    Squared rather than absolute differences keep it smooth for L-BFGS.
    Accepts ``(C, H, W)`` or ``(B, C, H, W)``; summed over everything.

    >>> total_variation(torch.ones(3, 4, 4))
    tensor(0.)
    """
    if x.ndim not in (3, 4):
        raise NstTeachError(f"expected an image (C, H, W) or (B, C, H, W), got {tuple(x.shape)}")
    dh = x[..., 1:, :] - x[..., :-1, :]
    dw = x[..., :, 1:] - x[..., :, :-1]
    return dh.pow(2).sum() + dw.pow(2).sum()
