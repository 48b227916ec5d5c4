r"""Spatial control: a style per region, through guided Gram matrices (Gatys et al., CVPR 2017, Sec. 4).

Reference:
    Gatys, Ecker, Bethge, Hertzmann & Shechtman, *Controlling Perceptual Factors in Neural
    Style Transfer*, CVPR 2017, Sec. 4.

Regions are given as masks: ``T_r`` on the content image (where region r is) and ``S_r`` on
the painting it takes its style from. Each mask reaches each layer at that layer's
resolution by downsampling (area averaging, :func:`mask_at`), the simpler of the paper's two
ways (the other propagates the masks through the network's receptive fields). With
:math:`F_r = T_r \circ F` the guided feature maps, the guided Gram matrix is

.. math:: G^l_r = F^l_r (F^l_r)^\top, \qquad m^l_r = \sum_k (T^l_{r,k})^2,

and the style loss sums over regions with a weight each,
:math:`\mathcal L_{style} = \sum_r \lambda_r \sum_l w_l \frac{1}{4 N_l^2}
\sum_{ij} (G^l_{r,ij} / m^l_r - A^l_{r,ij} / m^{A,l}_r)^2`, each Gram matrix divided by its
region's size so that a small region and a large one compare per position. :class:`GuidedStyle`
is that term; :func:`nst_teach.tasks.style_transfer` uses it when given masks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar, Mapping, Sequence

import torch
import torch.nn.functional as nnf
from torch import Tensor

from nst_teach import losses
from nst_teach.errors import NstTeachError
from nst_teach.objective import FeatureEncoder, LayerWeight, Term, check_weight, exact, features, layer_weights, scaled_size, shrunk

__all__ = ["GuidedStyle", "check_control", "check_labels", "guided_gram", "label_masks", "mask_at", "regions_from_labels"]


def mask_at(mask: Tensor, size: Sequence[int]) -> Tensor:
    """``mask`` ``(1, 1, H, W)`` in [0, 1] at a layer's ``(H_l, W_l)``, by area averaging."""
    if tuple(mask.shape[-2:]) == tuple(size):
        return mask
    return nnf.interpolate(mask, size=tuple(size), mode="area")


def guided_gram(F: Tensor, T: Tensor) -> tuple[Tensor, Tensor]:
    """``(G_r, m_r)``: the Gram matrix of ``F * T`` and the region's size ``sum(T^2)`` (``T`` at F's resolution).

    With an all-ones mask this is :func:`~nst_teach.losses.gram_matrix` and ``M_l``:

    >>> F = torch.rand(1, 4, 6, 5)
    >>> G, m = guided_gram(F, torch.ones(1, 1, 6, 5))
    >>> torch.allclose(G, losses.gram_matrix(F)), float(m)
    (True, 30.0)
    """
    return losses.gram_matrix(F * T), (T * T).sum()


def label_masks(labels: Tensor) -> dict[tuple[int, int, int], Tensor]:
    """A label image ``(1, 3, H, W)`` (one colour a region) -> ``{(r, g, b): (1, 1, H, W) mask}``, 8-bit colours."""
    codes = (labels[0].clamp(0, 1) * 255).round().to(torch.int64)  # (3, H, W)
    keys = codes[0] * 65536 + codes[1] * 256 + codes[2]
    masks = {}
    for key in keys.unique().tolist():
        colour = (key // 65536, key // 256 % 256, key % 256)
        masks[colour] = (keys == key).to(labels.dtype)[None, None]
    return masks


@dataclass
class GuidedStyle(Term):
    r""":math:`\sum_r \lambda_r \sum_l w_l E^l_r`: region r of the image (``content_masks[r]``) takes the style of
    ``paintings[r]`` where ``style_masks[r]`` is 1 (CVPR 2017, Sec. 4)."""

    content_masks: list[Tensor]  # T_r, (1, 1, H, W) at the image's size
    paintings: list[Tensor]  # the painting of each region
    style_masks: list[Tensor]  # S_r, (1, 1, H_r, W_r) at its painting's size
    region_weights: list[float]  # lambda_r
    layer_weights: dict[str, LayerWeight]  # w_l
    A: list[dict[str, Tensor]]  # per region: layer -> the painting's guided Gram matrix over its region's size
    T: list[dict[str, Tensor]]  # per region: layer -> its content mask at that layer's resolution, made once
    weight: float = 1.0  # beta
    name: str = "style"
    weight_name: ClassVar[str] = "beta"

    @classmethod
    def of(cls, encoder: FeatureEncoder, content_masks: Sequence[Tensor], paintings: Sequence[Tensor],
           style_masks: Sequence[Tensor], layers: Mapping[str, LayerWeight] | Sequence[str], beta: float = 1.0,
           region_weights: Sequence[float] | None = None, size: Sequence[int] | None = None) -> GuidedStyle:
        """The term, every mask checked: ``size = (H, W)``, the image's, which each content mask must have (default:
        the first content mask's); each style mask its painting's."""
        n = len(content_masks)
        lam = [1.0] * n if region_weights is None else list(region_weights)
        if not (len(paintings) == len(style_masks) == len(lam) == n) or n == 0:
            raise NstTeachError(f"spatial control needs one style image, one style mask and one weight per content "
                                f"region: got {n} regions, {len(paintings)} styles, {len(style_masks)} style masks "
                                f"and {len(lam)} weights", "content_masks")
        for k, value in enumerate(lam):
            check_weight(f"region_weights[{k}]", value)
        image = tuple(size if size is not None else getattr(content_masks[0], "shape", (0, 0))[-2:])
        for name, masks, images in (("content_masks", content_masks, None), ("style_masks", style_masks, paintings)):
            for k, mask in enumerate(masks):
                expected = tuple(images[k].shape[-2:]) if images is not None else image
                if not isinstance(mask, Tensor) or mask.ndim != 4 or mask.shape[:2] != (1, 1) or tuple(mask.shape[-2:]) != expected:
                    shape = tuple(mask.shape) if isinstance(mask, Tensor) else type(mask).__name__
                    raise NstTeachError(f"{name}[{k}] must be a mask of shape (1, 1, H, W) of its image's size "
                                        f"{expected}; got {shape}", name)
                if not (float(mask.min()) >= 0 and float(mask.max()) <= 1 and float(mask.sum()) > 0):
                    raise NstTeachError(f"{name}[{k}] must have values in [0, 1] and cover some pixels", name)
        w = layer_weights(layers)
        device = next(iter(encoder.parameters())).device
        content_masks, style_masks = [T.to(device) for T in content_masks], [S.to(device) for S in style_masks]
        return cls(content_masks, list(paintings), style_masks, [float(v) for v in lam], w,
                   cls.targets(encoder, paintings, style_masks, list(w)), cls.masks_at_layers(encoder, content_masks, list(w)),
                   beta)

    @staticmethod
    def targets(encoder: FeatureEncoder, paintings: Sequence[Tensor], style_masks: Sequence[Tensor],
                layers: list[str]) -> list[dict[str, Tensor]]:
        """Per region, each layer's guided Gram matrix of its painting, divided by its region's size."""
        A = []
        for a, S in zip(paintings, style_masks):
            targets = {}
            for l, F in features(encoder, a, layers).items():
                G, m = guided_gram(F, mask_at(S.to(F), F.shape[-2:]))
                targets[l] = G / m.clamp_min(1e-8)
            A.append(targets)
        return A

    @staticmethod
    def masks_at_layers(encoder: FeatureEncoder, content_masks: Sequence[Tensor], layers: list[str]) -> list[dict[str, Tensor]]:
        """Each content mask at each layer's resolution (what the layer's map of an image of its size has)."""
        T0 = content_masks[0]
        probe = torch.zeros(1, 3, *T0.shape[-2:], device=T0.device)
        sizes = {l: F.shape[-2:] for l, F in features(encoder, probe, layers).items()}
        return [{l: mask_at(T, size) for l, size in sizes.items()} for T in content_masks]

    @property
    def layers(self) -> list[str]:
        return list(self.layer_weights)

    @property
    def images(self) -> list[Tensor]:
        return list(self.paintings)

    def loss(self, F: Mapping[str, Tensor], x: Tensor) -> Tensor:
        total = exact(x).new_zeros(())
        for T, A, lam in zip(self.T, self.A, self.region_weights):
            for l, w in self.layer_weights.items():
                G, m = guided_gram(F[l], T[l])
                N = F[l].shape[1]
                total = total + lam * w * (G / m.clamp_min(1e-8) - A[l]).pow(2).sum() / (4.0 * N**2)
        return total

    def resized(self, encoder: FeatureEncoder, factor: float) -> GuidedStyle:
        """Masks shrink with their images (area averaging); :math:`E_l` is the same at every size."""
        def mask(M: Tensor) -> Tensor:
            return nnf.interpolate(M, size=scaled_size(M.shape[-2:], factor), mode="area")

        content_masks, style_masks = [mask(T) for T in self.content_masks], [mask(S) for S in self.style_masks]
        paintings = [shrunk(a, factor) for a in self.paintings]
        return replace(self, content_masks=content_masks, paintings=paintings, style_masks=style_masks,
                       A=self.targets(encoder, paintings, style_masks, self.layers),
                       T=self.masks_at_layers(encoder, content_masks, self.layers))


def regions_from_labels(content_labels: Tensor, styles: Sequence[Tensor], style_labels: Sequence[Tensor]
                        ) -> tuple[list[Tensor], list[Tensor], list[Tensor]]:
    """Label images (one colour a region) -> ``(content_masks, paintings, style_masks)``, one entry per region.

    Each colour of the content's label image must appear in one style's label image: that
    style, where it has that colour, paints the region.
    """
    check_labels([s.shape for s in styles], [m.shape for m in style_labels])
    style_regions = [label_masks(labels) for labels in style_labels]
    content_masks, region_styles, region_masks = [], [], []
    for colour, T in label_masks(content_labels).items():
        owner = next((k for k, regions in enumerate(style_regions) if colour in regions), None)
        if owner is None:
            raise NstTeachError(f"the colour {colour} of the content mask is in no style mask: give each region "
                                "of the content mask a region of the same colour in a style mask")
        content_masks.append(T)
        region_styles.append(styles[owner])
        region_masks.append(style_regions[owner][colour])
    return content_masks, region_styles, region_masks


def check_control(content_masks: object, style_masks: object, style_blend: object) -> None:
    """Spatial control needs masks on the content and on the paintings, and gives each region one painting: a blend
    of paintings (``style_blend``) besides would contradict it. Each argument: given, or None."""
    if (content_masks is None) != (style_masks is None):
        raise NstTeachError("spatial control needs masks on the content image and one on each painting",
                            "style_masks" if style_masks is None else "content_masks")
    if content_masks is not None and style_blend is not None:
        raise NstTeachError("a blend mixes the paintings everywhere, masks give each region its own painting: "
                            "use one or the other", "style_blend")


def check_labels(styles: Sequence[Sequence[int]], style_labels: Sequence[Sequence[int]], content: Sequence[int] = (),
                 content_labels: Sequence[int] = (), names: Sequence[str] | None = None) -> None:
    """Label images for :func:`regions_from_labels`: one per painting and (when given) one for the content, each of
    its image's size (shapes ``(..., H, W)``). ``names``: what to call the label images, the content's first."""
    if len(style_labels) != len(styles):
        raise NstTeachError(f"{len(style_labels)} style label images for {len(styles)} style images: give one each",
                            "style_masks")
    names = names or ["content_labels", *(f"style_labels[{k}]" for k in range(len(styles)))]
    for k, (label, image) in enumerate(zip([content_labels, *style_labels], [content, *styles])):
        if tuple(label[-2:]) != tuple(image[-2:]):
            raise NstTeachError(f"the label image {names[k]} is {label[-1]} x {label[-2]} px but its image is "
                                f"{image[-1]} x {image[-2]} px: a label image must have its image's size",
                                "content_masks" if k == 0 else "style_masks")
