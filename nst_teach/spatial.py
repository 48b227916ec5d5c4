"""Spatial control: a style per region, through guided Gram matrices (Gatys et al., CVPR 2017, Sec. 4).

Reference:
    Gatys, Ecker, Bethge, Hertzmann & Shechtman, *Controlling Perceptual Factors in
    Neural Style Transfer*, CVPR 2017, Sec. 4.

Regions are given as masks: ``T_r`` on the content image (where region r is) and ``S_r`` on
the style image it takes its style from. Each mask reaches each layer at that layer's
resolution by downsampling (area averaging, :func:`mask_at`), the simpler of the paper's two
ways (the other propagates the masks through the network's receptive fields). With
``F_r = T_r \\circ F`` the guided feature maps, the guided Gram matrix is

.. math:: G^l_r = F^l_r (F^l_r)^\\top, \\qquad m^l_r = \\sum_k (T^l_{r,k})^2,

and the style loss sums over regions with a weight each,
:math:`\\mathcal L_{style} = \\sum_r \\lambda_r \\sum_l w_l \\frac{1}{4 N_l^2}
\\sum_{ij} (G^l_{r,ij} / m^l_r - A^l_{r,ij} / m^{A,l}_r)^2`, each Gram matrix divided by its
region's size so that a small region and a large one compare per position.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping, Sequence

import torch
import torch.nn.functional as nnf
from torch import Tensor

from nst_teach import engine, losses
from nst_teach import objective as objectives
from nst_teach.errors import NstTeachError
from nst_teach.settings import Settings

__all__ = ["GuidedObjective", "GuidedStyle", "Region", "guided_gram", "label_masks", "mask_at", "regions_from_labels", "spatial_transfer"]


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
class Region:
    """One region: where it is in the content (``T``, image resolution), its style targets, its weight."""

    T: Tensor  # (1, 1, H, W) content mask
    A: dict[str, Tensor]  # layer -> guided Gram matrix of the style, divided by its region's size
    weight: float  # lambda_r


class GuidedStyle:
    """The style term of spatial control: :meth:`loss` replaces the objective's plain style loss."""

    def __init__(self, regions: list[Region], style_weights: Mapping[str, float]) -> None:
        self.regions, self.style_weights = regions, dict(style_weights)

    @classmethod
    @torch.no_grad()
    def build(cls, encoder, content_masks: Sequence[Tensor], styles: Sequence[Tensor], style_masks: Sequence[Tensor],
              style_weights: Mapping[str, float], region_weights: Sequence[float] | None = None) -> "GuidedStyle":
        """Region r: content mask ``content_masks[r]``, style image ``styles[r]`` with mask ``style_masks[r]``."""
        n = len(content_masks)
        if not (len(styles) == len(style_masks) == n) or n == 0:
            raise NstTeachError(f"spatial control needs one style image and one style mask per content region: "
                                f"got {n} regions, {len(styles)} styles and {len(style_masks)} style masks")
        weights = list(region_weights) if region_weights is not None else [1.0] * n
        regions = []
        for T, style, S, lam in zip(content_masks, styles, style_masks, weights):
            if tuple(S.shape[-2:]) != tuple(style.shape[-2:]):
                raise NstTeachError(f"a style mask of {tuple(S.shape[-2:])} px for a style image of "
                                    f"{tuple(style.shape[-2:])} px: a mask must have its image's size")
            F = encoder(style, list(style_weights))
            A = {}
            for l, F_l in F.items():
                G, m = guided_gram(F_l.float(), mask_at(S, F_l.shape[-2:]))
                A[l] = G / m.clamp_min(1e-8)
            regions.append(Region(T, A, float(lam)))
        return cls(regions, style_weights)

    def loss(self, F: Mapping[str, Tensor]) -> Tensor:
        """:math:`\\sum_r \\lambda_r \\sum_l w_l E^l_r` for the generated image's features ``F``."""
        total = torch.zeros((), device=next(iter(F.values())).device)
        for region in self.regions:
            for l, w in self.style_weights.items():
                F_l = F[l].float()
                G, m = guided_gram(F_l, mask_at(region.T.to(F_l), F_l.shape[-2:]))
                N = F_l.shape[1]
                total = total + region.weight * w * (G / m.clamp_min(1e-8) - region.A[l]).pow(2).sum() / (4.0 * N**2)
        return total


@dataclass
class GuidedObjective(objectives.Objective):
    """An :class:`~nst_teach.objective.Objective` whose style term is spatial control's (full size only)."""

    guided: GuidedStyle | None = None

    def style_term(self, F: Mapping[str, Tensor]) -> Tensor:
        assert self.guided is not None, "GuidedObjective needs its guided style term"
        return self.guided.loss(F)

    @property
    def rescalable(self) -> bool:  # the masks would have to shrink with the images
        return False


def spatial_transfer(encoder, content: Tensor, styles: Sequence[Tensor], content_masks: Sequence[Tensor],
                     style_masks: Sequence[Tensor], settings=None, *, region_weights: Sequence[float] | None = None,
                     alpha: float | None = None, beta: float = 1.0, content_layers: Sequence[str] | None = None,
                     style_layers: Sequence[str] | None = None, init="content", callback=None, should_stop=None):
    """Style transfer with a style per region (CVPR 2017, Sec. 4): region r of ``content`` (``content_masks[r]``)
    takes the style of ``styles[r]`` where ``style_masks[r]`` is 1.

    The style images keep their sizes; alpha defaults to the package's balance for the content's size.
    Starts from the photograph as it is: :func:`~nst_teach.tasks.style_transfer` starts from it in the
    painting's colours, but here each region has its own painting. Runs at full size only (the masks
    would need shrinking with the images for coarse-to-fine).
    """
    for T in content_masks:
        if tuple(T.shape[-2:]) != tuple(content.shape[-2:]):
            raise NstTeachError(f"a content mask of {tuple(T.shape[-2:])} px for a content image of "
                                f"{tuple(content.shape[-2:])} px: a mask must have its image's size")
    content_layers = list(content_layers or [objectives.CONTENT_LAYER])
    layers = list(style_layers or objectives.STYLE_LAYERS)
    style_weights: dict[str, float] = {l: 1.0 / len(layers) for l in layers}
    if alpha is None:
        alpha = objectives.alpha_for_size(objectives.DEFAULT_RATIO, content.shape[-2:]) * beta
    P = objectives.build_objective(encoder, content=content, content_layers=content_layers).P
    guided = GuidedStyle.build(encoder, content_masks, styles, style_masks, style_weights, region_weights)
    objective = GuidedObjective(P, {}, objectives.layer_weights(content_layers), dict(style_weights), alpha, beta,
                                content=content, guided=guided)
    settings = replace(settings or Settings(), coarse_levels=0)
    x0 = engine.initial_image(init, content.shape, seed=settings.seed, content=content, style=list(styles),
                              device=content.device)
    return engine.optimize(encoder, objective, x0, settings, callback, should_stop)


def regions_from_labels(content_labels: Tensor, styles: Sequence[Tensor], style_labels: Sequence[Tensor]
                        ) -> tuple[list[Tensor], list[Tensor], list[Tensor]]:
    """Label images (one colour a region) -> the per-region lists :func:`spatial_transfer` takes.

    Each colour of the content's label image must appear in one style's label image: that
    style, where it has that colour, paints the region.
    """
    if len(style_labels) != len(styles):
        raise NstTeachError(f"{len(style_labels)} style masks for {len(styles)} style images: give one mask per style")
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
