"""What the image should match: the paper's targets and Eq. 7, built once per run.

The three tasks (:mod:`nst_teach.tasks`) only differ in their :class:`Objective`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence, Union

import torch
from torch import Tensor

from nst_teach import losses
from nst_teach.blend import blend_weights, blended_grams
from nst_teach.features import VGG19Features, check_layers

__all__ = ["CONTENT_LAYER", "DEFAULT_RATIO", "REFERENCE_PIXELS", "STYLE_LAYERS", "LayerWeight", "Objective",
           "alpha_for_size", "build_objective", "layer_weights"]

#: The paper's content layer (CVPR 2016, Fig. 2, its method, and Fig. 3). The paper's Caffe network rectified
#: in place, so its "conv4_2" is the response after the ReLU: ``relu4_2`` here.
CONTENT_LAYER = "relu4_2"
#: The paper's style layers, each with w_l = 1/5 (CVPR 2016, Fig. 2), rectified as above.
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")

#: The image area at which this package quotes alpha/beta: the paper's 512 x 512 pixels.
REFERENCE_PIXELS = 512 * 512
#: The default alpha/beta at :data:`REFERENCE_PIXELS`, chosen by looking at Fig. 3 (the gallery) on the
#: paper's network (README "Weights"): the houses stay, the painting's colours and strokes come.
DEFAULT_RATIO = 2e-3

#: A weight per layer: one number, or one per image of a batch (shape ``(B,)``).
LayerWeight = Union[float, Tensor]


@dataclass
class Objective:
    """What the image should match. Targets are computed once and detached.

    The total is ``alpha * sum_l c_l L_content(F_l, P_l) + beta * sum_l w_l E_l + tv_weight * TV``
    (CVPR 2016, Eq. 7; the TV term is an optional extra).
    """

    P: dict[str, Tensor] = field(default_factory=dict)  # content layer -> content features P_l
    A: dict[str, Tensor] = field(default_factory=dict)  # style layer -> style Gram matrix A_l
    content_weights: dict[str, LayerWeight] = field(default_factory=dict)  # c_l, usually {"relu4_2": 1}
    style_weights: dict[str, LayerWeight] = field(default_factory=dict)  # w_l, the paper: 1/5 each
    alpha: float = 1.0  # content weight
    beta: float = 1.0  # style weight
    tv_weight: float = 0.0  # total-variation weight (0: off, as in the paper)
    content: Tensor | None = None  # the images the targets came from, kept for coarse-to-fine
    style: Tensor | list[Tensor] | None = None  # one style image, or several blended
    M_A: dict[str, int] = field(default_factory=dict)  # style layer -> positions M of the style's map (Eq. 4)
    style_blend: tuple[float, ...] | None = None  # the blend's weights b_k, summing to 1 (None: one style)

    @property
    def layers(self) -> list[str]:
        """Every layer the encoder must return."""
        return list(dict.fromkeys([*self.content_weights, *self.style_weights]))

    def terms(self, F: Mapping[str, Tensor], x: Tensor) -> dict[str, Tensor]:
        """Loss terms for features ``F`` of image ``x``: content, style, tv and total.

        Features are upcast to float32 first, so the losses are exact even when
        the network ran in bfloat16.
        """
        F = {l: F[l].float() for l in self.layers}
        zero = x.new_zeros((), dtype=torch.float32)
        L_content = sum((losses.weighted(losses.content_loss, F[l], self.P[l], c_l)
                         for l, c_l in self.content_weights.items()), zero)
        L_style = self.style_term(F) if self.style_weights else zero
        out = {"content": L_content, "style": L_style}
        total = losses.total_loss(L_content, L_style, self.alpha, self.beta)
        if self.tv_weight:
            out["tv"] = losses.total_variation(x.float())
            total = total + self.tv_weight * out["tv"]
        out["total"] = total
        return out

    def style_term(self, F: Mapping[str, Tensor]) -> Tensor:
        """Eq. 5, :math:`\\sum_l w_l E_l` (spatial control replaces it: :mod:`nst_teach.spatial`)."""
        return losses.style_loss(F, self.A, self.style_weights, self.M_A)

    @property
    def rescalable(self) -> bool:
        """True when the source images are known, so that coarse-to-fine can rebuild the targets at any size."""
        knows_content = self.content is not None or not self.content_weights
        return knows_content and (self.style is not None or not self.style_weights)


def alpha_for_size(ratio: float, size: Sequence[int], reference: int = REFERENCE_PIXELS) -> float:
    r"""The alpha (with beta = 1) that gives an image of ``size = (H, W)`` the balance ``ratio`` has at 512 x 512.

    The content loss (Eq. 1) sums over all :math:`N_l M_l` entries of :math:`F^l`, so it
    grows with the image's area; :math:`E_l` (Eq. 4) divides :math:`G^l`'s growth by
    :math:`M_l^2` and does not. Halving the side quarters :math:`\mathcal L_{content}`,
    and the same alpha then lets the style win. Hence

    .. math:: \alpha = r \cdot \frac{512 \cdot 512}{H W}.

    >>> alpha_for_size(1e-3, (256, 256))
    0.004
    """
    return ratio * reference / (size[0] * size[1])


@torch.no_grad()
def build_objective(encoder: VGG19Features, *, content: Tensor | None = None,
                    style: Tensor | Sequence[Tensor] | None = None,
                    content_layers: Mapping[str, LayerWeight] | Sequence[str] = (),
                    style_layers: Mapping[str, LayerWeight] | Sequence[str] = (), alpha: float = 1.0,
                    beta: float = 1.0, tv_weight: float = 0.0, style_blend: Sequence[float] | None = None) -> Objective:
    r"""Compute the targets ``P_l = F_l(content)`` and ``A_l = G(F_l(style))`` once, in float32.

    Layer lists without weights get equal weights summing to 1 (the paper's
    ``w_l = 1/5`` over five layers). ``content`` and ``style`` may be batches.

    Several style images blend into one target, with the weights ``style_blend``
    (:mod:`nst_teach.blend`; equal by default).
    """
    c_w = layer_weights(content_layers)
    s_w = layer_weights(style_layers)
    if c_w and content is None:
        raise ValueError("content layers were given but no content image")
    if s_w and style is None:
        raise ValueError("style layers were given but no style image")

    def features(image: Tensor, layers: list[str]) -> dict[str, Tensor]:
        return {l: F.float() for l, F in encoder(image.float(), layers).items()} if layers else {}

    P = features(content, list(c_w)) if content is not None else {}
    blend = None
    if style is None or (isinstance(style, Tensor) and style_blend is None):
        S = features(style, list(s_w)) if style is not None else {}
        A = {l: losses.gram_matrix(F) for l, F in S.items()}
        M_A = {l: F.shape[-2] * F.shape[-1] for l, F in S.items()}
    else:  # several styles blended into one target (nst_teach.blend)
        style = [style] if isinstance(style, Tensor) else list(style)
        blend = blend_weights(style_blend if style_blend is not None else [1.0] * len(style), len(style))
        A, M_A = blended_grams(encoder, style, blend, list(s_w)), {l: 1 for l in s_w}
    return Objective(P, A, c_w, s_w, alpha, beta, tv_weight, content=content if c_w else None,
                     style=style if s_w else None, M_A=M_A, style_blend=blend)


def layer_weights(layers: Mapping[str, LayerWeight] | Sequence[str]) -> dict[str, LayerWeight]:
    """Layer names, checked, with their weights: as given, or equal and summing to 1.

    >>> layer_weights(["relu1_1", "relu2_1"])
    {'relu1_1': 0.5, 'relu2_1': 0.5}
    """
    names = list(layers)
    if names:
        check_layers(names)
    if isinstance(layers, Mapping):
        return dict(layers)
    return {name: 1.0 / len(names) for name in names}
