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

from nst_teach.vgg19 import CONTENT_LAYER, LAYER_INDEX, LAYER_NAMES, STYLE_LAYERS, Pooling, deepest_layer, vgg19_layers
from nst_teach.weights import read_state

__all__ = ["Encoder", "Loss", "content_loss", "gram_matrix", "guided_style_layer_loss", "style_layer_loss", "synthesize",
           "total_loss"]

# The paper's layers (CVPR 2016, Fig. 2 and Sec. 3), from vgg19.py: content at CONTENT_LAYER, relu4_2 (the paper's
# "conv4_2": its Caffe network rectified in place), style at STYLE_LAYERS, relu1_1 ... relu5_1, with w_l = 1/5.


# 1. The network (Sec. 2): VGG19's 16 convolutional and 5 pooling layers, average pooling for synthesis.

class Encoder(nn.Module):
    """``Encoder("caffe")(x, ["relu4_2"])`` returns ``{"relu4_2": F}``, ``F`` of shape ``(B, N_l, H_l, W_l)``.

    Pooling is by the average, the paper's choice for synthesis ("replacing the maximum pooling operation by
    average pooling yields slightly more appealing results", Sec. 2).
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


def style_layer_loss(F: Tensor, A: Tensor) -> Tensor:
    r"""Eq. 4, :math:`E_l = \frac{1}{4 N_l^2 M_l^2} \sum_{ij} (G^l_{ij} - A^l_{ij})^2`, with ``G = gram_matrix(F)`` and
    ``A`` the painting's Gram matrix, :math:`N_l` channels and :math:`M_l` positions (the painting has the image's)."""
    _, N, H, W = F.shape
    M = H * W
    return ((gram_matrix(F) - A) ** 2).sum() / (4 * N**2 * M**2)


def guided_style_layer_loss(F: Tensor, T: Tensor, A: Tensor) -> Tensor:
    r"""CVPR 2017, Sec. 4: Eq. 4 inside region r only. With :math:`F_r = T_r \circ F` (``T`` the region's mask),
    :math:`G_r = F_r F_r^\top` over the region's size :math:`m_r = \sum_k T_{r,k}^2`, against ``A``, the painting's
    region's Gram matrix over its size: :math:`E^l_r = \frac{1}{4 N_l^2} \sum_{ij} (G_{r,ij} / m_r - A_{ij})^2`.
    The mask reaches the layer's resolution by area averaging."""
    T = nn.functional.interpolate(T, size=F.shape[-2:], mode="area")
    return ((gram_matrix(F * T) / (T * T).sum() - A) ** 2).sum() / (4 * F.shape[1] ** 2)


# 4. The sum (Eq. 5 and 7): alpha/beta trades the photograph's layout against the painting's style.

def total_loss(L_content: Tensor, L_style: Tensor, alpha: float, beta: float) -> Tensor:
    r"""Eq. 7, :math:`\mathcal L_{total} = \alpha \mathcal L_{content} + \beta \mathcal L_{style}`."""
    return alpha * L_content + beta * L_style


# 5. The targets, computed once: P_l from the photograph, A_l from the painting(s).

class Loss:
    r"""Eq. 7 for an image ``x``: ``Loss(...)(x)`` gives ``{"content", "style", "total"}``.

    ``style`` is one painting, or several blended with weights ``blend`` (summing to 1): the target is their Gram
    matrices' mean, per position, :math:`A_l = \sum_k b_k G^l(a_k) / M^l_k`. With ``masks = (content_masks,
    style_masks)``, painting k paints the region ``content_masks[k]`` of the image, from its own region
    ``style_masks[k]`` (CVPR 2017, Sec. 4), and Eq. 5 sums over the regions too. ``style_weights`` are Eq. 5's
    :math:`w_l` (the paper: 1/5 on each of its five layers).

    The targets are kept per position, ``A[l]`` the Gram matrix over the painting's positions, so that paintings of
    other sizes than the image's compare with it per position; Eq. 4 then gets :math:`A_l = M_l` ``A[l]`` at the
    image's :math:`M_l` positions, which is :math:`G^l(a)` itself when the painting has the image's size, as in the paper.
    """

    def __init__(self, net: Encoder, *, content: Tensor | None = None, style: Tensor | Sequence[Tensor] | None = None,
                 alpha: float = 1.0, beta: float = 1.0, content_layers: Sequence[str] = (CONTENT_LAYER,),
                 style_layers: Sequence[str] = STYLE_LAYERS, style_weights: Sequence[float] | None = None,
                 blend: Sequence[float] | None = None,
                 masks: tuple[Sequence[Tensor], Sequence[Tensor]] | None = None) -> None:
        self.net, self.alpha, self.beta, self.masks = net, alpha, beta, masks
        self.content_layers = list(content_layers) if content is not None else []
        self.style_layers = list(style_layers) if style is not None else []
        n = len(self.style_layers)
        self.w = dict(zip(self.style_layers, style_weights or [1 / max(n, 1)] * n))
        paintings = [style] if isinstance(style, Tensor) else list(style or [])
        b = blend or [1 / max(len(paintings), 1)] * len(paintings)
        with torch.no_grad():
            self.P = net(content, self.content_layers) if self.content_layers else {}  # P_l
            if masks is None:  # A_l, per position; for several paintings their weighted mean
                self.A = {l: torch.stack([b_k * self.gram_per_position(a, l) for b_k, a in zip(b, paintings)]).sum(0)
                          for l in self.style_layers}
            else:  # A_l of each region k: painting k's Gram matrix inside its mask S_k, over the region's size
                self.A_regions = [{l: self.gram_per_position(a, l, S) for l in self.style_layers}
                                  for a, S in zip(paintings, masks[1])]

    def gram_per_position(self, a: Tensor, layer: str, S: Tensor | None = None) -> Tensor:
        """The Gram matrix of ``a``'s features at ``layer`` (inside the mask ``S``), over their positions."""
        F = self.net(a, [layer])[layer]
        T = nn.functional.interpolate(S, size=F.shape[-2:], mode="area") if S is not None else torch.ones_like(F[:, :1])
        return gram_matrix(F * T) / (T * T).sum()

    def __call__(self, x: Tensor) -> dict[str, Tensor]:
        F = self.net(x, self.content_layers + self.style_layers)
        zero = x.new_zeros(())
        L_content = sum((content_loss(F[l], self.P[l]) for l in self.content_layers), zero)
        if self.masks is None:
            L_style = sum((self.w[l] * style_layer_loss(F[l], F[l].shape[-2] * F[l].shape[-1] * self.A[l])
                           for l in self.style_layers), zero)
        else:
            L_style = sum((self.w[l] * guided_style_layer_loss(F[l], T, A[l])
                           for T, A in zip(self.masks[0], self.A_regions) for l in self.style_layers), zero)
        return {"content": L_content, "style": L_style, "total": total_loss(L_content, L_style, self.alpha, self.beta)}


# 6. Gradient descent from white noise (Sec. 2.3, 3): L-BFGS on the pixels, nothing else.

def synthesize(loss: Callable[[Tensor], Mapping[str, Tensor]], shape: Sequence[int], steps: int = 500, seed: int = 0,
               callback: Callable[[int, Tensor, dict[str, float]], None] | None = None,
               device: torch.device | str = "cpu") -> Tensor:
    """Start from white noise, U(0, 1), and let L-BFGS change the pixels for ``steps`` evaluations of ``loss``.

    The start is the paper's: "We have initialised all images shown so far with white noise" (CVPR 2016,
    Sec. 3.3). The authors' PyTorch code (leongatys/PytorchNeuralStyleTransfer) starts from the photograph
    instead, ``opt_img = Variable(content_image.data.clone(), requires_grad=True)``, its ``randn`` line
    commented out. The optimiser is that code's, ``optim.LBFGS([opt_img])``: its step of 1 and no line
    search, a history of 100, and no clamping, so pixels may leave [0, 1] while it runs (a PNG clamps them
    when saved). Its tolerances are off, so that it runs all its steps. ``callback(step, x, losses)`` sees
    each evaluation.
    Returns the last image, ``(B, 3, H, W)``, on ``device``.
    """
    x = torch.rand(tuple(shape), generator=torch.Generator().manual_seed(seed)).to(device).requires_grad_(True)
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
            callback(step, x.detach(), {k: float(v.detach()) for k, v in terms.items()})
        return terms["total"]

    optimizer.step(closure)
    return x.detach()
