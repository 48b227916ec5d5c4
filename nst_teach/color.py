"""Colour control: keep the photograph's colours (Gatys et al., CVPR 2017, Sec. 5).

Reference:
    Gatys, Ecker, Bethge, Hertzmann & Shechtman, *Controlling Perceptual Factors in
    Neural Style Transfer*, CVPR 2017. Sec. 5 gives two ways:

* **luminance-only transfer**: transfer on the luminance channel Y of the YIQ colour space,
  after matching the style's luminance mean and spread to the content's, then put back the
  content's colour channels I and Q (:func:`luminance`, :func:`match_luminance`,
  :func:`with_colors_of`);
* **colour histogram matching**: recolour the style image so that the mean and covariance of
  its RGB values are the content's, then transfer as usual (:func:`match_color`, in any of the
  authors' three forms, ``mode`` ``'pca'``, ``'chol'`` or ``'sym'``; their notebooks call ``'pca'``).

The same linear transfer the other way round, the photograph in the painting's colours
(:func:`in_colors_of`), is the ``"recolored"`` start (:mod:`nst_teach.starts`).

Images are ``(B, 3, H, W)`` RGB in [0, 1].
"""

from __future__ import annotations

from typing import Literal, Sequence, get_args

import torch
from torch import Tensor

from nst_teach.errors import NstTeachError

__all__ = ["COLOR_MODES", "ColorMode", "in_colors_of", "luminance", "match_color", "match_luminance", "rgb_to_yiq", "with_colors_of",
           "yiq_to_rgb"]

#: The authors' three linear colour maps (:func:`match_color`), and the ``eps`` they add to each covariance.
ColorMode = Literal["pca", "chol", "sym"]
COLOR_MODES: tuple[str, ...] = get_args(ColorMode)
COLOR_EPS = 1e-5

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


def match_color(target: Tensor, source: Tensor, mode: ColorMode = "pca") -> Tensor:
    r"""``target`` recoloured so that its RGB mean and covariance are ``source``'s (CVPR 2017, Sec. 5.2; the authors'
    ``match_color(target_img, source_img, mode)``, leongatys/NeuralImageSynthesis): :math:`x' = A (x - \mu_t) + \mu_s`
    with :math:`A \Sigma_t A^\top = \Sigma_s`, and one of three :math:`A`:

    * ``"pca"``: :math:`\Sigma_s^{1/2} \Sigma_t^{-1/2}`, symmetric square roots along each covariance's principal axes;
    * ``"chol"``: :math:`L_s L_t^{-1}`, Cholesky factors, :math:`\Sigma = L L^\top`;
    * ``"sym"``: :math:`\Sigma_t^{-1/2} (\Sigma_t^{1/2} \Sigma_s \Sigma_t^{1/2})^{1/2} \Sigma_t^{-1/2}`, the one symmetric
      :math:`A`, which moves the colours least (the linear Monge-Kantorovich map; Pitié & Kokaram, 2007).

    Not clamped: as a style target the network takes it as it is, and clamping would move its statistics again.
    """
    return _linear_transfer(target, [source], None, mode)


def in_colors_of(image: Tensor, palette: Tensor | Sequence[Tensor], weights: Sequence[float] | None = None,
                 mode: ColorMode = "chol") -> Tensor:
    r"""``image`` recoloured so that its RGB mean and covariance are those of ``palette``, clamped to [0, 1]: :func:`match_color`
    the other way round (the authors' ``match_style``), by Cholesky factors unless ``mode`` says otherwise.

    Several palette images count as one mixture of their pixels, image k with weight :math:`b_k`
    (``weights``, as for a blend of styles; equal by default):
    :math:`\mu_p = \sum_k b_k \mu_k`, :math:`\Sigma_p = \sum_k b_k (\Sigma_k + \mu_k \mu_k^\top) - \mu_p \mu_p^\top`.

    The ``"recolored"`` start of a style transfer (:mod:`nst_teach.starts`) is the photograph in the painting's colours:
    its layout, and from the first step the mean colour and colour covariance that the uncentred Gram
    matrices of the low layers measure.

    >>> photo, painting = torch.rand(1, 3, 8, 8), 0.4 + 0.2 * torch.rand(1, 3, 8, 8)  # a muted painting: no clamping
    >>> start = in_colors_of(photo, painting)
    >>> torch.allclose(start.mean((0, 2, 3)), painting.mean((0, 2, 3)), atol=1e-5)
    True
    """
    palettes = [palette] if isinstance(palette, Tensor) else list(palette)
    return _linear_transfer(image, palettes, weights, mode).clamp(0, 1)


def _linear_transfer(x: Tensor, references: Sequence[Tensor], weights: Sequence[float] | None, mode: ColorMode) -> Tensor:
    """``x`` mapped by the affine transform (:func:`match_color`'s ``mode``) that gives its pixels the RGB mean and
    covariance of the references' pixels, reference k with weight ``weights[k]`` (equal by default)."""
    if mode not in COLOR_MODES:
        raise NstTeachError(f"mode must be one of {', '.join(map(repr, COLOR_MODES))}; got {mode!r}", "mode")

    def moments(image: Tensor) -> tuple[Tensor, Tensor]:  # the mean (3, 1) and the second moment E[p p^T] (3, 3)
        pixels = image.detach().cpu().movedim(1, 0).flatten(1).double()  # float64 on the CPU: MPS has none
        return pixels.mean(1, keepdim=True), pixels @ pixels.T / pixels.shape[1]

    def mean_and_covariance(images: Sequence[Tensor], b: Sequence[float]) -> tuple[Tensor, Tensor]:
        mu, second = torch.zeros(3, 1, dtype=torch.float64), COLOR_EPS * torch.eye(3, dtype=torch.float64)
        for b_k, image in zip(b, images):  # the mixture: weighted sums of the images' moments
            mu_k, second_k = moments(image)
            mu, second = mu + b_k * mu_k, second + b_k * second_k
        return mu, second - mu @ mu.T

    b = [w / sum(weights) for w in weights] if weights is not None else [1.0 / len(references)] * len(references)
    mu_x, cov_x = mean_and_covariance([x], [1.0])
    mu_r, cov_r = mean_and_covariance(references, b)
    A = _color_map(cov_x, cov_r, mode)
    mapped = (A @ (x.detach().cpu().movedim(1, 0).flatten(1).double() - mu_x) + mu_r).to(x.dtype)
    return mapped.view(3, x.shape[0], *x.shape[-2:]).movedim(0, 1).contiguous().to(x.device)


def _color_map(cov_t: Tensor, cov_s: Tensor, mode: ColorMode) -> Tensor:
    """The 3 x 3 matrix ``A`` of :func:`match_color`'s ``mode``, with ``A cov_t A^T = cov_s``."""
    if mode == "chol":
        return torch.linalg.cholesky(cov_s) @ torch.linalg.inv(torch.linalg.cholesky(cov_t))
    if mode == "pca":
        return _sqrtm(cov_s) @ _sqrtm(cov_t, -0.5)
    root_t, inverse_root_t = _sqrtm(cov_t), _sqrtm(cov_t, -0.5)
    return inverse_root_t @ _sqrtm(root_t @ cov_s @ root_t) @ inverse_root_t


def _sqrtm(C: Tensor, power: float = 0.5) -> Tensor:
    """``C^power`` of a symmetric positive definite ``C``, from its eigendecomposition ``C = V diag(e) V^T``."""
    e, V = torch.linalg.eigh(C)
    return V @ torch.diag(e.clamp_min(1e-12) ** power) @ V.T
