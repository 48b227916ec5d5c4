"""How close one image is to another, in pixels: PSNR, for reconstructions (lesson 2, the benchmark, the tests).

A reconstruction's loss at a deep layer barely sees the speckle a noise start leaves; PSNR does,
but it also prefers blur (a mean-colour image beats a speckled one). Neither judges a picture alone.
"""

from __future__ import annotations

import math

from torch import Tensor

__all__ = ["psnr"]


def psnr(x: Tensor, reference: Tensor) -> float:
    r"""Peak signal-to-noise ratio in dB of images in [0, 1]: :math:`10 \log_{10} \frac{1}{\mathrm{mean}((x - r)^2)}`.

    >>> import torch
    >>> round(psnr(torch.full((1, 3, 4, 4), 0.6), torch.full((1, 3, 4, 4), 0.5)), 3)
    20.0
    """
    return 10.0 * math.log10(1.0 / max(float((x.float() - reference.float()).pow(2).mean()), 1e-12))
