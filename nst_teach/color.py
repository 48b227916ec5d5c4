"""Colour control: keep the photograph's colours (Gatys et al., CVPR 2017, Sec. 5).

Reference:
    Gatys, Ecker, Bethge, Hertzmann & Shechtman, *Controlling Perceptual Factors in
    Neural Style Transfer*, CVPR 2017. Sec. 5 gives two ways:

* **luminance-only transfer**: transfer on the luminance channel Y of the YIQ colour space,
  after matching the style's luminance mean and spread to the content's, then put back the
  content's colour channels I and Q (:func:`luminance`, :func:`match_luminance`,
  :func:`with_colors_of`);
* **colour histogram matching**: recolour the style image so that the mean and covariance of
  its RGB values are the content's, then transfer as usual (:func:`match_color_histogram`,
  the Cholesky form of the linear transfer; the paper also compares the PCA and symmetric forms).

Images are ``(B, 3, H, W)`` RGB in [0, 1].
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

__all__ = ["luminance", "match_color_histogram", "match_luminance", "rgb_to_yiq", "with_colors_of", "yiq_to_rgb"]

#: RGB -> YIQ (NTSC 1953): Y is the luminance, I and Q the colour.
_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114],
                            [0.595716, -0.274453, -0.321263],
                            [0.211456, -0.522591, 0.311135]])


def rgb_to_yiq(x: Tensor) -> Tensor:
    r"""``(B, 3, H, W)`` RGB -> YIQ, channel by channel: :math:`(Y, I, Q)^\top = T (R, G, B)^\top`.

    >>> rgb_to_yiq(torch.ones(1, 3, 1, 1)).flatten().round(decimals=4).tolist()
    [1.0, 0.0, 0.0]
    """
    return torch.einsum("ij,bjhw->bihw", _RGB_TO_YIQ.to(x), x)


def yiq_to_rgb(x: Tensor) -> Tensor:
    """The inverse of :func:`rgb_to_yiq` (not clamped)."""
    return torch.einsum("ij,bjhw->bihw", torch.linalg.inv(_RGB_TO_YIQ.double()).to(x), x)


def luminance(x: Tensor) -> Tensor:
    """The luminance Y of ``x`` as a grey RGB image (Y in all three channels), for the network."""
    return rgb_to_yiq(x)[:, :1].expand(-1, 3, -1, -1).contiguous()


def match_luminance(style: Tensor, content: Tensor) -> Tensor:
    r"""The style's luminance, shifted and scaled to the content's mean and spread, as a grey RGB image:

    .. math:: L_s' = \frac{\sigma_c}{\sigma_s} (L_s - \mu_s) + \mu_c

    (CVPR 2017, Sec. 5.1), so that the transfer does not carry the painting's brightness over.
    Not clamped: it is only a target, and clamping would move its mean and spread again.
    """
    L_s, L_c = rgb_to_yiq(style)[:, :1], rgb_to_yiq(content)[:, :1]
    matched = (L_s - L_s.mean()) * (L_c.std() / L_s.std().clamp_min(1e-8)) + L_c.mean()
    return matched.expand(-1, 3, -1, -1).contiguous()


def with_colors_of(image: Tensor, content: Tensor) -> Tensor:
    """The luminance of ``image`` with the colour channels (I, Q) of ``content``, back in RGB, clamped to [0, 1].

    The result's I and Q are the content's exactly wherever no channel had to be clamped.
    """
    Y = rgb_to_yiq(image)[:, :1]
    IQ = rgb_to_yiq(content)[:, 1:].expand(image.shape[0], -1, -1, -1)
    return yiq_to_rgb(torch.cat([Y, IQ], dim=1)).clamp(0, 1)


def match_color_histogram(style: Tensor, content: Tensor, mode: Literal["cholesky"] = "cholesky") -> Tensor:
    r"""The style image recoloured so that its RGB mean and covariance are the content's (CVPR 2017, Sec. 5.2):

    .. math:: x_s' = L_c L_s^{-1} (x_s - \mu_s) + \mu_c, \qquad \Sigma = L L^\top \text{ (Cholesky)}

    so that :math:`\mathrm{cov}(x_s') = L_c L_s^{-1} \Sigma_s L_s^{-\top} L_c^\top = \Sigma_c`. Not clamped:
    the network takes it as a target as it is, and clamping would move its statistics again.
    """
    if mode != "cholesky":
        raise ValueError(f"mode must be 'cholesky', got {mode!r}")

    def stats(x: Tensor) -> tuple[Tensor, Tensor]:
        pixels = x.movedim(1, 0).flatten(1).double()  # (3, N)
        mu = pixels.mean(1, keepdim=True)
        centred = pixels - mu
        return mu, centred @ centred.T / pixels.shape[1] + 1e-5 * torch.eye(3, dtype=torch.float64)

    (mu_s, cov_s), (mu_c, cov_c) = stats(style), stats(content)
    A = torch.linalg.cholesky(cov_c) @ torch.linalg.inv(torch.linalg.cholesky(cov_s))
    pixels = style.movedim(1, 0).flatten(1).double()
    recoloured = (A @ (pixels - mu_s) + mu_c).to(style.dtype)
    return recoloured.view(3, style.shape[0], *style.shape[-2:]).movedim(0, 1).contiguous()
