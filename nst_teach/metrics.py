"""How a picture compares with its sources: PSNR for reconstructions, and two figure scores for a style transfer.

A loss does not see what a reader sees: near its minimum the objective is flat, and images with
the same loss can look very different. These numbers help judge a picture, beside your eyes:

* :func:`psnr`: how close a reconstruction is to the photograph, in pixels. A deep layer's loss
  barely sees the speckle a noise start leaves; PSNR does, but it also prefers blur.
* :func:`roughness`: how much pixel-scale speckle a picture has (lessons 2 and 4 measure the speckle a
  noise start leaves with it); :func:`high_frequency_share`: how much of its energy is in fine detail (lesson 4's
  total variation).
* :func:`structure` and :func:`palette`: does a transfer keep the photograph's layout, and take the
  painting's colours? The same definitions as the course's ``figure_scores.py`` (a test compares
  them when ``NST_TEACH_FIGURE_SCORES`` names that file; its docstring says published renditions of the
  paper's gallery score structure 0.45-0.70 and palette 0.6-0.9, without naming them). One number alone
  can be gamed, never both.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image, ImageFilter
from torch import Tensor

__all__ = ["high_frequency_share", "palette", "psnr", "roughness", "structure"]

#: Both figure scores compare pictures at this size (width, height), whatever their own.
SCORE_SIZE = (256, 192)


def psnr(x: Tensor, reference: Tensor) -> float:
    r"""Peak signal-to-noise ratio in dB of images in [0, 1]: :math:`10 \log_{10} \frac{1}{\mathrm{mean}((x - r)^2)}`.

    >>> import torch
    >>> round(psnr(torch.full((1, 3, 4, 4), 0.6), torch.full((1, 3, 4, 4), 0.5)), 3)
    20.0
    """
    return 10.0 * math.log10(1.0 / max(float((x.float() - reference.float()).pow(2).mean()), 1e-12))


def roughness(x: Tensor) -> float:
    r"""Pixel-scale speckle: the mean squared step between neighbouring pixels, over both directions and the channels,
    :math:`\frac{1}{2}\,\mathrm{mean}\big((x_{i,j+1} - x_{i,j})^2\big) + \frac{1}{2}\,\mathrm{mean}\big((x_{i+1,j} - x_{i,j})^2\big)`
    (the total variation per pixel). A flat image scores 0, white noise in [0, 1] about 1/6.

    >>> import torch
    >>> round(roughness(torch.zeros(1, 3, 8, 8)), 3)
    0.0
    """
    x = x.float()
    return 0.5 * float((x[..., :, 1:] - x[..., :, :-1]).pow(2).mean() + (x[..., 1:, :] - x[..., :-1, :]).pow(2).mean())


def high_frequency_share(x: Tensor, cutoff: float = 0.25) -> float:
    r"""The share of a picture's energy in fine detail: of each channel's power spectrum :math:`|\hat x(f)|^2` (its
    mean removed), the part at frequencies above ``cutoff`` cycles per pixel along either axis (0.5 is the finest a
    pixel grid holds). Speckle and sharp strokes raise it; a blur lowers it. White noise, whose energy is spread evenly
    over the frequencies, scores about 3/4 (the frequencies outside the central square of side 0.5).

    >>> stripes = torch.arange(8.0).remainder(2).expand(1, 3, 8, 8)  # 0.5 cycles per pixel
    >>> high_frequency_share(stripes), round(high_frequency_share(torch.linspace(0, 1, 64).expand(1, 3, 64, 64)), 2)
    (1.0, 0.03)
    """
    x = x.float()
    power = torch.fft.fft2(x - x.mean((-2, -1), keepdim=True)).abs().pow(2)
    f_y, f_x = (torch.fft.fftfreq(n).abs() for n in x.shape[-2:])
    fine = torch.maximum(f_y.view(-1, 1), f_x.view(1, -1)) > cutoff
    return float(power[..., fine].sum() / power.sum().clamp_min(1e-30))


def _pil(image: Tensor | Image.Image) -> Image.Image:
    from nst_teach.images import to_pil

    return image if isinstance(image, Image.Image) else to_pil(image)


def _grey_gradient(image: Tensor | Image.Image) -> np.ndarray:
    grey = _pil(image).convert("L").resize(SCORE_SIZE, Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(2))
    gy, gx = np.gradient(np.asarray(grey, dtype=np.float64))
    g = np.hypot(gx, gy)
    return g - g.mean()


def structure(photo: Tensor | Image.Image, picture: Tensor | Image.Image) -> float:
    """Does ``picture`` keep ``photo``'s layout? The correlation of the gradient magnitudes of the two, grey and
    blurred (sigma 2 px) at 256 x 192: 1 for the photograph itself, about 0 for an unrelated painting."""
    a, b = _grey_gradient(photo), _grey_gradient(picture)
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def _rgb_stats(image: Tensor | Image.Image) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(_pil(image).convert("RGB").resize(SCORE_SIZE, Image.Resampling.BICUBIC), dtype=np.float64).reshape(-1, 3) / 255
    return x.mean(0), np.cov(x.T)


def _frechet(p: tuple[np.ndarray, np.ndarray], q: tuple[np.ndarray, np.ndarray]) -> float:
    (m1, s1), (m2, s2) = p, q
    root = np.sqrt(np.clip(np.linalg.eigvals(s1 @ s2).real, 0, None)).sum()
    return float(np.sqrt(max(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * root, 0.0)))


def palette(photo: Tensor | Image.Image, painting: Tensor | Image.Image, picture: Tensor | Image.Image) -> float:
    """Has ``picture`` taken ``painting``'s colours? With d the Frechet distance between Gaussian fits of the RGB
    pixels, ``d(picture, photo) / (d(picture, photo) + d(picture, painting))``: 0 is the photograph's colours,
    1 the painting's."""
    stats = _rgb_stats(picture)
    to_photo, to_painting = _frechet(stats, _rgb_stats(photo)), _frechet(stats, _rgb_stats(painting))
    return to_photo / (to_photo + to_painting + 1e-12)
