r"""The paper's method, end to end, in one file: read it top to bottom.

References:
    Gatys, Ecker & Bethge, *Image Style Transfer Using Convolutional Neural Networks*, CVPR 2016
    (arXiv 2015: *A Neural Algorithm of Artistic Style*), Sec. 2, Eq. 1-7.
    Gatys, Ecker & Bethge, *Texture Synthesis Using Convolutional Neural Networks*, NeurIPS 2015.
    Gatys, Ecker, Bethge, Hertzmann & Shechtman, *Controlling Perceptual Factors in Neural Style
    Transfer*, CVPR 2017, Sec. 4 (guided Gram matrices: a style per region).

Plain PyTorch in the paper's notation: the encoder by layer names (1), the content loss (2), the
style loss (3), their sum (4), the targets computed once (5), and the paper's optimiser, L-BFGS,
from white noise (6). Nothing here is made fast. :mod:`nst_teach.engine` is, and the tests
check it against this file: the same loss on the same image, for content, style, blends and
masks. The benchmark's baseline is :func:`synthesize`.

>>> net = Encoder("random")
>>> p = torch.rand(1, 3, 32, 32)
>>> loss = Loss(net, content=p, content_layers=["relu2_2"], beta=0.0)
>>> float(loss(p)["total"])  # the photograph reconstructs itself
0.0
>>> x = synthesize(loss, p.shape, steps=5)
>>> x.shape
torch.Size([1, 3, 32, 32])
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import torch
from torch import Tensor, nn

from nst_teach.vgg19 import LAYER_INDEX, LAYER_NAMES, Pooling, deepest_layer, vgg19_layers
from nst_teach.weights import read_state

__all__ = ["CONTENT_LAYERS", "STYLE_LAYERS", "Encoder", "Loss", "content_loss", "gram_matrix", "guided_gram_matrix",
           "style_layer_loss", "synthesize", "total_loss"]

#: The paper's layers (CVPR 2016, Fig. 2 and Sec. 3): content at conv4_2, style at conv1_1 ... conv5_1 with
#: w_l = 1/5. The Caffe network rectified in place, so its "conv4_2" is the rectified response: relu4_2.
CONTENT_LAYERS = ("relu4_2",)
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


# 1. The network (Sec. 2): VGG19's 16 convolutional and 5 pooling layers, average pooling for synthesis.

class Encoder(nn.Module):
    """``Encoder("caffe")(x, ["relu4_2"])`` returns ``{"relu4_2": F}``, ``F`` of shape ``(B, N_l, H_l, W_l)``.

    ``x`` is RGB in [0, 1]; the weights' own input (for Caffe: BGR, 0-255, minus the mean pixel) is made inside.
    """

    mean: Tensor  # the input convention, as buffers
    std: Tensor

    def __init__(self, weights: str = "caffe", pooling: Pooling = "avg") -> None:
        super().__init__()
        state, convention, self.weights = read_state(weights)
        self.layers = vgg19_layers(pooling)
        self.layers.load_state_dict(state)
        self.order = list(convention.order)
        self.register_buffer("mean", torch.tensor(convention.mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(convention.std).view(1, 3, 1, 1))
        self.requires_grad_(False).eval()

    def forward(self, x: Tensor, layers: Sequence[str]) -> dict[str, Tensor]:
        h = (x[:, self.order] - self.mean) / self.std
        out = {}
        for index in range(LAYER_INDEX[deepest_layer(layers)] + 1):
            h = self.layers[index](h)
            if LAYER_NAMES[index] in layers:
                out[LAYER_NAMES[index]] = h
        return out


# 2. Content (Eq. 1): the squared error between the features F of x and P of the photograph p.

def content_loss(F: Tensor, P: Tensor) -> Tensor:
    r""":math:`\mathcal L_{content} = \tfrac12 \sum_{ij} (F^l_{ij} - P^l_{ij})^2` (its gradient, Eq. 2, is autograd's)."""
    return 0.5 * ((F - P) ** 2).sum()


# 3. Style (Eq. 3-5): Gram matrices, the correlations between filter responses, compared layer by layer.

def gram_matrix(F: Tensor) -> Tensor:
    r"""Eq. 3, :math:`G^l_{ij} = \sum_k F^l_{ik} F^l_{jk}`: ``F`` ``(B, N, H, W)`` seen as ``N x M``, ``M = H W``."""
    B, N, H, W = F.shape
    F = F.reshape(B, N, H * W)
    return F @ F.transpose(1, 2)


def guided_gram_matrix(F: Tensor, T: Tensor) -> tuple[Tensor, Tensor]:
    r"""CVPR 2017, Sec. 4: the Gram matrix of region r, :math:`G_r = (T_r \circ F)(T_r \circ F)^\top`, and its
    size :math:`m_r = \sum_k T_{r,k}^2`. ``T`` ``(1, 1, H, W)`` is the region's mask at ``F``'s resolution."""
    return gram_matrix(F * T), (T * T).sum()


def style_layer_loss(F: Tensor, A: Tensor, M_A: float | None = None) -> Tensor:
    r"""Eq. 4, :math:`E_l = \frac{1}{4 N_l^2 M_l^2} \sum_{ij} (G^l_{ij} - A^l_{ij})^2` with ``G = gram_matrix(F)``.

    The painting's map may have another number of positions ``M_A``; then each Gram matrix is taken per
    position, :math:`E_l = \frac{1}{4 N_l^2} \sum_{ij} (G_{ij} / M_l - A_{ij} / M_A)^2`: Eq. 4 when ``M_A = M_l``.
    """
    _, N, H, W = F.shape
    M = H * W
    return ((gram_matrix(F) / M - A / (M_A or M)) ** 2).sum() / (4 * N**2)


# 4. The sum (Eq. 5 and 7): alpha/beta trades the photograph's layout against the painting's style.

def total_loss(L_content: Tensor, L_style: Tensor, alpha: float, beta: float) -> Tensor:
    r"""Eq. 7, :math:`\mathcal L_{total} = \alpha \mathcal L_{content} + \beta \mathcal L_{style}`."""
    return alpha * L_content + beta * L_style


# 5. The targets, computed once: P_l from the photograph, A_l from the painting(s).

class Loss:
    r"""Eq. 7 for an image ``x``: ``Loss(...)(x)`` gives ``{"content", "style", "total"}``.

    ``style`` is one painting, or several blended with weights ``blend`` (summing to 1):
    :math:`A_l = \sum_k b_k G^l(a_k) / M^l_k`. With ``masks = (content_masks, style_masks)``, painting k
    paints the region ``content_masks[k]`` of the photograph, from its region ``style_masks[k]`` (CVPR 2017,
    Sec. 4): :math:`E_l = \sum_k \frac{1}{4 N_l^2} \sum_{ij} (G_{k,ij} / m_k - A_{k,ij} / m^A_k)^2`.
    ``style_weights`` are the w_l of Eq. 5 (default 1/5 each).
    """

    def __init__(self, net: Encoder, *, content: Tensor | None = None, style: Tensor | Sequence[Tensor] | None = None,
                 alpha: float = 1.0, beta: float = 1.0, content_layers: Sequence[str] = CONTENT_LAYERS,
                 style_layers: Sequence[str] = STYLE_LAYERS, style_weights: Sequence[float] | None = None,
                 blend: Sequence[float] | None = None,
                 masks: tuple[Sequence[Tensor], Sequence[Tensor]] | None = None) -> None:
        self.net, self.alpha, self.beta, self.masks = net, alpha, beta, masks
        self.content_layers = list(content_layers) if content is not None else []
        self.style_layers = list(style_layers) if style is not None else []
        n = len(self.style_layers)
        self.w = dict(zip(self.style_layers, style_weights or [1 / n] * n if n else []))  # the paper: 1/5 each
        paintings = [style] if isinstance(style, Tensor) else list(style or [])
        b = blend or [1 / max(1, len(paintings))] * len(paintings)
        with torch.no_grad():
            self.P = net(content, self.content_layers) if content is not None else {}
            # one target per layer, per position: the paintings' weighted mean, A_l = sum_k b_k G(a_k) / M_k
            self.A = {l: torch.stack([b_k * self._per_position_gram(a, l) for b_k, a in zip(b, paintings)]).sum(0)
                      for l in self.style_layers if masks is None}
            # or one target per region: A_k = G(S_k o F(a_k)) / m^A_k
            self.A_regions = [self._guided_targets(a, S) for a, S in zip(paintings, masks[1])] if masks else []

    def _per_position_gram(self, a: Tensor, layer: str) -> Tensor:
        F = self.net(a, [layer])[layer]
        return gram_matrix(F) / (F.shape[-2] * F.shape[-1])

    def _guided_targets(self, a: Tensor, S: Tensor) -> dict[str, Tensor]:
        out = {}
        for l, F in self.net(a, self.style_layers).items():
            G, m = guided_gram_matrix(F, _mask_at(S, F))
            out[l] = G / m
        return out

    def __call__(self, x: Tensor) -> dict[str, Tensor]:
        F = self.net(x, self.content_layers + self.style_layers)
        zero = x.new_zeros(())
        L_content = sum((content_loss(F[l], self.P[l]) for l in self.content_layers), zero)
        if self.masks is None:  # self.A holds Gram matrices per position, so M_A = 1
            L_style = sum((self.w[l] * style_layer_loss(F[l], self.A[l], M_A=1) for l in self.style_layers), zero)
        else:
            L_style = zero
            for T, A in zip(self.masks[0], self.A_regions):
                for l in self.style_layers:
                    G, m = guided_gram_matrix(F[l], _mask_at(T, F[l]))
                    L_style = L_style + self.w[l] * ((G / m - A[l]) ** 2).sum() / (4 * F[l].shape[1] ** 2)
        return {"content": L_content, "style": L_style, "total": total_loss(L_content, L_style, self.alpha, self.beta)}


def _mask_at(mask: Tensor, F: Tensor) -> Tensor:
    """A mask ``(1, 1, H, W)`` at the resolution of the feature map ``F``, by area averaging."""
    return nn.functional.interpolate(mask, size=F.shape[-2:], mode="area")


# 6. Gradient descent from white noise (Sec. 2.3, 3): L-BFGS on the pixels, nothing else.

def synthesize(loss: Callable[[Tensor], Mapping[str, Tensor]], shape: Sequence[int], steps: int = 500, seed: int = 0,
               callback: Callable[[int, Tensor, dict[str, float]], None] | None = None) -> Tensor:
    """Start from white noise and let L-BFGS change the pixels for ``steps`` evaluations of ``loss``.

    As the authors' PyTorch code does (``optim.LBFGS``, its defaults, no line search), and without
    clamping: pixels may leave [0, 1] while the optimiser runs (a PNG clamps them when saved).
    ``callback(step, x, losses)`` sees each evaluation. Returns the last image, ``(B, 3, H, W)``.
    """
    x = torch.rand(tuple(shape), generator=torch.Generator().manual_seed(seed)).requires_grad_(True)
    optimizer = torch.optim.LBFGS([x], max_iter=steps, max_eval=steps, history_size=100,
                                  tolerance_grad=0.0, tolerance_change=0.0)
    step = 0

    def closure() -> Tensor:
        nonlocal step
        optimizer.zero_grad()
        terms = loss(x)
        terms["total"].backward()
        step += 1
        if callback is not None:
            callback(step, x.detach(), {k: float(v) for k, v in terms.items()})
        return terms["total"]

    optimizer.step(closure)
    return x.detach()
