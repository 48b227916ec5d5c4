r"""What the image should match: Eq. 7 as a list of terms, each carrying its layers, weight and targets.

References:
    Gatys, Ecker & Bethge, CVPR 2016, Eq. 1-7; :mod:`nst_teach.paper` writes them out plainly.

.. math:: \mathcal L_{total} = \sum_t \lambda_t \mathcal L_t
          = \alpha \mathcal L_{content} + \beta \mathcal L_{style} \;[+\; \lambda_{tv} \mathcal L_{tv}]

A :class:`Term` knows which layers it reads, its weight :math:`\lambda_t` (alpha, beta, ...), its
targets (computed once, detached, float32), and how to rebuild itself for images ``factor``
times as large (:meth:`Term.resized`): coarse-to-fine asks every term, so none can be lost, and
each term says how its weight changes with the image's size, and whether it fixes the layout
(:attr:`Term.fixes_layout`, which the plan asks). A new term is one subclass in one file: the tasks
take it (``terms=``), the history, the live plot and the command line (``--term``,
:mod:`nst_teach.term_files`) show it. Spatial control (:class:`nst_teach.spatial.GuidedStyle`) is one.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import ClassVar, Iterator, Mapping, Protocol, Sequence, Union

import torch
from torch import Tensor

from nst_teach import losses
from nst_teach.errors import NstTeachError, check_number
from nst_teach.images import resize
from nst_teach.vgg19 import CONTENT_LAYER, STYLE_LAYERS, check_layers

__all__ = ["CONTENT_LAYER", "REFERENCE_PIXELS", "STYLE_LAYERS", "Content", "FeatureEncoder", "LayerWeight", "MAX_RATIO", "MAX_WEIGHT",
           "Objective", "Style", "Term", "TotalVariation", "alpha_for_size", "balanced_layer_weights", "build_objective", "check_ratio",
           "check_weight", "layer_weights", "scaled_size"]


#: The image area at which this package quotes alpha/beta: the paper's 512 x 512 pixels.
REFERENCE_PIXELS = 512 * 512
#: The largest weight a term takes (alpha, beta, a TV weight, a region's): 1e12 times a loss is where float32
#: sums start to lose the other terms; a larger one is a typo.
MAX_WEIGHT = 1e12
#: The largest alpha/beta: at 1e6 the style term is a millionth of the content's, the photograph returned.
MAX_RATIO = 1e6

#: The keys a run's history has besides its terms' names: no term may take one.
RESERVED_NAMES = ("total", "step", "level", "phase")

#: A weight per layer: one number, or one per image of a batch (shape ``(B,)``).
LayerWeight = Union[float, Tensor]


class FeatureEncoder(Protocol):
    """What builds targets: ``encoder(image, layers)`` gives ``{layer: F_l}`` for an image ``(B, 3, H, W)``; its
    parameters say where and in what dtype it runs (:class:`~nst_teach.features.VGG19Features`, or the plain
    :class:`nst_teach.paper.Encoder`)."""

    def __call__(self, x: Tensor, layers: Sequence[str]) -> dict[str, Tensor]: ...

    def parameters(self) -> Iterator[torch.nn.Parameter]: ...


def check_weight(name: str, value: object) -> None:
    """A term's weight: a finite number from 0 to :data:`MAX_WEIGHT` (one check for alpha, beta, tv and the rest)."""
    check_number(name, value, 0, MAX_WEIGHT)


def check_ratio(ratio: object, name: str = "ratio") -> None:
    """alpha/beta: a finite number above 0, at most :data:`MAX_RATIO`."""
    check_number(name, ratio, 0, MAX_RATIO, above=True)


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
    check_ratio(ratio)
    return ratio * reference / (size[0] * size[1])


def scaled_size(size: Sequence[int], factor: float) -> tuple[int, int]:
    """``(H, W)`` times ``factor``, rounded, at least 1 px.

    >>> scaled_size((384, 512), 0.25)
    (96, 128)
    """
    return (max(1, round(size[0] * factor)), max(1, round(size[1] * factor)))


def shrunk(image: Tensor, factor: float) -> Tensor:
    """``image`` resized by ``factor`` (antialiased bilinear), as every term's sources are at a coarse level."""
    return resize(image, scaled_size(image.shape[-2:], factor))


def layer_weights(layers: Mapping[str, LayerWeight] | Sequence[str] | str) -> dict[str, LayerWeight]:
    """Layer names, checked, with their weights: as given, or equal and summing to 1 (one name: weight 1).

    >>> layer_weights(["relu1_1", "relu2_1"])
    {'relu1_1': 0.5, 'relu2_1': 0.5}
    """
    names = check_layers([layers] if isinstance(layers, str) else layers)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise NstTeachError(f"layer {repeated[0]!r} is named twice: name each layer once")
    if isinstance(layers, Mapping):
        for name, w in layers.items():
            if not isinstance(w, Tensor):
                check_weight(f"the weight of layer {name!r}", w)
        return dict(layers)
    return {name: 1.0 / len(names) for name in names}


def exact(t: Tensor) -> Tensor:
    """``t`` in the losses' precision: float32 whatever the network ran in; float64 stays (the oracle tests' network)."""
    return t if t.dtype == torch.float64 else t.float()


@torch.no_grad()
def features(encoder: FeatureEncoder, image: Tensor, layers: Sequence[str]) -> dict[str, Tensor]:
    """``{layer: F_l}`` of ``image`` in float32 (float64 on a float64 network), detached: what targets are made of."""
    dtype = next(encoder.parameters()).dtype  # the image follows the network, whatever dtype it came in
    return {l: exact(F) for l, F in encoder(image.to(dtype), list(layers)).items()}


class Term(ABC):
    """One term of Eq. 7: ``weight * loss(F, x)``. ``name`` keys it in a run's history.

    A subclass keeps its fields when it rebuilds itself (``dataclasses.replace`` in :meth:`resized`),
    so that a student's variant of a term stays itself at every coarse level.
    """

    name: str
    weight: float
    #: What the papers call the weight (alpha, beta, ...): errors about it use this name.
    weight_name: ClassVar[str] = "weight"
    #: Whether the term pins where things are in the image (a photograph's content does; Gram matrices do not): a run
    #: from noise may then settle the layout at coarse levels first (coarse_to_fine.most_levels).
    fixes_layout: ClassVar[bool] = False

    @property
    @abstractmethod
    def layers(self) -> list[str]:
        """The layers whose features :meth:`loss` reads."""

    @property
    def images(self) -> list[Tensor]:
        """The source images its targets come from (none by default): a coarse level shrinks them too."""
        return []

    @abstractmethod
    def loss(self, F: Mapping[str, Tensor], x: Tensor) -> Tensor:
        """The term's loss, unweighted, for features ``F`` (float32) of the image ``x``."""

    @abstractmethod
    def resized(self, encoder: FeatureEncoder, factor: float) -> Term:
        """The same term for images ``factor`` times as large, targets and weight included."""

    @classmethod
    def from_images(cls, encoder: FeatureEncoder, content: Tensor | None, styles: Sequence[Tensor],
                    weight: float = 1.0) -> Term:
        """The term for a run's images, the photograph (None for a texture) and the paintings (none for a
        reconstruction): how ``nst-teach ... --term FILE.py:CLASS`` builds it (:mod:`nst_teach.term_files`)."""
        raise NstTeachError(f"{cls.__name__} does not say how to build itself from a run's images: give it a "
                            "classmethod from_images(encoder, content, styles, weight)", "term")


@dataclass
class Content(Term):
    r"""Eq. 1 at each content layer, :math:`\mathcal L_{content} = \sum_l c_l \tfrac12 \sum_{ij} (F^l - P^l)^2_{ij}`."""

    photo: Tensor  # p, kept so that the term can rebuild its targets at another size
    layer_weights: dict[str, LayerWeight]  # c_l, usually {"relu4_2": 1}; a tensor (B,): one weight per image
    P: dict[str, Tensor]  # the photograph's features P_l, float32, detached
    weight: float = 1.0  # alpha
    name: str = "content"
    weight_name: ClassVar[str] = "alpha"
    fixes_layout: ClassVar[bool] = True

    @classmethod
    def of(cls, encoder: FeatureEncoder, photo: Tensor, layers: Mapping[str, LayerWeight] | Sequence[str],
           alpha: float = 1.0) -> Content:
        c = layer_weights(layers)
        return cls(photo, c, features(encoder, photo, list(c)), alpha)

    @property
    def layers(self) -> list[str]:
        return list(self.layer_weights)

    def loss(self, F: Mapping[str, Tensor], x: Tensor) -> Tensor:
        return sum((losses.weighted(losses.content_loss, F[l], self.P[l], c_l) for l, c_l in self.layer_weights.items()),
                   exact(x).new_zeros(()))

    @property
    def images(self) -> list[Tensor]:
        return [self.photo]

    def resized(self, encoder: FeatureEncoder, factor: float) -> Content:
        """Eq. 1 sums over the :math:`N_l M_l` entries, :math:`E_l` does not: alpha grows as the area shrinks
        (:func:`alpha_for_size`'s rule), so that the balance against the style holds at every level."""
        photo = shrunk(self.photo, factor)
        return replace(self, photo=photo, P=features(encoder, photo, self.layers), weight=self.weight / factor**2)


@dataclass
class Style(Term):
    r"""Eq. 5, :math:`\mathcal L_{style} = \sum_l w_l E_l`, for one painting or several blended.

    Blended with weights :math:`b_k` (summing to 1), the target is their Gram matrices' weighted
    mean per position, :math:`A_l = M_A \sum_k b_k G^l(a_k) / M^l_k`, at the first painting's
    :math:`M_A` positions; with one painting it is the paper's :math:`A_l = G^l(a)`.
    """

    paintings: list[Tensor]  # a_k, kept so that the term can rebuild its targets at another size
    blend: tuple[float, ...]  # b_k, summing to 1
    layer_weights: dict[str, LayerWeight]  # w_l, the paper's 1/5 each
    A: dict[str, Tensor]  # the target Gram matrices A_l, float32, detached
    M_A: dict[str, int]  # the positions the targets are counted at (Eq. 4 compares per position when sizes differ)
    weight: float = 1.0  # beta
    name: str = "style"
    weight_name: ClassVar[str] = "beta"

    @classmethod
    def of(cls, encoder: FeatureEncoder, paintings: Tensor | Sequence[Tensor], layers: Mapping[str, LayerWeight] | Sequence[str],
           beta: float = 1.0, blend: Sequence[float] | None = None) -> Style:
        paintings = [paintings] if isinstance(paintings, Tensor) else list(paintings)
        b = blend_weights(blend if blend is not None else [1.0] * len(paintings), len(paintings))
        w = layer_weights(layers)
        return cls(paintings, b, w, *cls.targets(encoder, paintings, b, list(w)), weight=beta)

    @staticmethod
    def targets(encoder: FeatureEncoder, paintings: Sequence[Tensor], b: Sequence[float],
                layers: list[str]) -> tuple[dict[str, Tensor], dict[str, int]]:
        """``(A, M_A)``: each layer's blended Gram matrix, counted at the first painting's positions."""
        A: dict[str, Tensor] = {}
        M_A: dict[str, int] = {}
        for b_k, a in zip(b, paintings):
            for l, F in features(encoder, a, layers).items():
                M_k = F.shape[-2] * F.shape[-1]
                M_A.setdefault(l, M_k)
                G = losses.gram_matrix(F) * (b_k * M_A[l] / M_k)
                A[l] = A[l] + G if l in A else G
        return A, M_A

    @property
    def layers(self) -> list[str]:
        return list(self.layer_weights)

    def loss(self, F: Mapping[str, Tensor], x: Tensor) -> Tensor:
        return losses.style_loss(F, self.A, self.layer_weights, self.M_A)

    @property
    def images(self) -> list[Tensor]:
        return list(self.paintings)

    def resized(self, encoder: FeatureEncoder, factor: float) -> Style:
        """:math:`E_l` is the same at every size: only the targets are rebuilt."""
        paintings = [shrunk(a, factor) for a in self.paintings]
        A, M_A = self.targets(encoder, paintings, self.blend, self.layers)
        return replace(self, paintings=paintings, A=A, M_A=M_A)


@dataclass
class TotalVariation(Term):
    r"""An optional smoothness prior, :math:`\mathcal L_{tv}` (:func:`~nst_teach.losses.total_variation`; not in the 2016 paper)."""

    weight: float = 1.0
    name: str = "tv"
    weight_name: ClassVar[str] = "tv_weight"

    @property
    def layers(self) -> list[str]:
        return []

    def loss(self, F: Mapping[str, Tensor], x: Tensor) -> Tensor:
        return losses.total_variation(exact(x))

    def resized(self, encoder: FeatureEncoder, factor: float) -> TotalVariation:
        """Squared differences of a smooth image grow as its pixels grow apart, as fast as their number shrinks:
        the same weight at every size."""
        return self


def blend_weights(weights: Sequence[float], n_styles: int) -> tuple[float, ...]:
    """``weights`` for ``n_styles`` paintings, checked (one each, finite, non-negative, not all zero), summing to 1.

    >>> blend_weights([0.7, 0.7], 2)
    (0.5, 0.5)
    """
    if n_styles < 1:
        raise NstTeachError("a style needs at least one painting", "style")
    if len(weights) != n_styles:
        raise NstTeachError(f"{len(weights)} style weights for {n_styles} style images: give one weight per style",
                            "style_blend")
    for k, w in enumerate(weights):
        check_weight(f"style_blend[{k}]", w)
    if not sum(weights) > 0:
        raise NstTeachError(f"the style weights are all 0: give at least one painting a weight above 0; got "
                            f"{list(weights)}", "style_blend")
    return tuple(float(w) / sum(weights) for w in weights)


@dataclass
class Objective:
    """Eq. 7: the weighted sum of its terms. ``objective(F, x)`` gives each term's loss (unweighted) and the total."""

    terms: list[Term]

    def __post_init__(self) -> None:
        names = [term.name for term in self.terms]
        if not names:
            raise NstTeachError("an objective needs at least one term")
        if len(set(names)) != len(names) or set(RESERVED_NAMES) & set(names):
            raise NstTeachError(f"each term needs its own name, and none may be {', '.join(map(repr, RESERVED_NAMES))}; "
                                f"got {names}")
        for term in self.terms:
            check_weight(term.weight_name, term.weight)

    @property
    def layers(self) -> list[str]:
        """Every layer the encoder must return."""
        return list(dict.fromkeys(l for term in self.terms for l in term.layers))

    @property
    def images(self) -> list[Tensor]:
        """Every source image of its terms' targets."""
        return [image for term in self.terms for image in term.images]

    def __call__(self, F: Mapping[str, Tensor], x: Tensor) -> dict[str, Tensor]:
        """Each term's loss and ``"total"``. Features are upcast to float32 first (:func:`exact`), so the losses are
        exact even when the network ran in bfloat16."""
        F = {l: exact(F[l]) for l in self.layers}
        out = {term.name: term.loss(F, x) for term in self.terms}
        out["total"] = sum((term.weight * out[term.name] for term in self.terms), exact(x).new_zeros(()))
        return out

    def resized(self, encoder: FeatureEncoder, factor: float) -> Objective:
        """The same objective for images ``factor`` times as large: every term rebuilt (coarse-to-fine). Not checked
        again: a content weight grows as the area shrinks, past the limit a user may give (:data:`MAX_WEIGHT`)."""
        resized = copy.copy(self)
        resized.terms = [term.resized(encoder, factor) for term in self.terms]
        return resized

    def term(self, name: str) -> Term | None:
        """The term called ``name``, if there is one."""
        return next((term for term in self.terms if term.name == name), None)


def build_objective(encoder: FeatureEncoder, *, content: Tensor | None = None, style: Tensor | Sequence[Tensor] | None = None,
                    content_layers: Mapping[str, LayerWeight] | Sequence[str] = (),
                    style_layers: Mapping[str, LayerWeight] | Sequence[str] = (), alpha: float = 1.0,
                    beta: float = 1.0, tv_weight: float = 0.0, style_blend: Sequence[float] | None = None) -> Objective:
    r"""The paper's objective: a :class:`Content` term at ``content_layers``, a :class:`Style` term at
    ``style_layers``, and a :class:`TotalVariation` term when ``tv_weight`` is not 0.

    Layer lists without weights get equal weights summing to 1 (the paper's ``w_l = 1/5`` over five
    layers). ``content`` and ``style`` may be batches; ``style`` may be several paintings, blended
    with the weights ``style_blend`` (equal by default).
    """
    terms: list[Term] = []
    if content_layers:
        if content is None:
            raise NstTeachError("content layers were given but no content image")
        terms.append(Content.of(encoder, content, content_layers, alpha))
    if style_layers:
        if style is None:
            raise NstTeachError("style layers were given but no style image")
        terms.append(Style.of(encoder, style, style_layers, beta, style_blend))
    if tv_weight:
        terms.append(TotalVariation(tv_weight))
    return Objective(terms)


@torch.no_grad()
def balanced_layer_weights(encoder: FeatureEncoder, painting: Tensor | Sequence[Tensor], start: Tensor,
                           layers: Mapping[str, LayerWeight] | Sequence[str] = STYLE_LAYERS,
                           blend: Sequence[float] | None = None) -> dict[str, float]:
    r"""Weights :math:`w_l` that give every style layer the same :math:`w_l E_l` at ``start``, with the same total as
    the paper's equal weights: :math:`w_l = \frac{1}{L} \sum_k \frac{1}{L} E_k(x_0) \,/\, E_l(x_0)`.

    With equal weights :math:`w_l = 1/L`, the layer whose responses are largest carries nearly all of
    :math:`\mathcal L_{style}` (on the trained network ``relu4_1``, 96 % of its gradient; lesson 4), so most named
    layers barely count. These make each count equally at the start, and keep the balance against the content.
    ``painting`` is the style image at the size it will be compared at (or several, blended by ``blend``: :class:`Style`).

    ``layers`` as a mapping gives each layer's share :math:`s_l` of the start's style loss instead of equal ones:
    :math:`w_l E_l(x_0) = \frac{s_l}{\sum_k s_k} \sum_k \frac{1}{L} E_k(x_0)`, the same total (the default picture's
    shares, :data:`~nst_teach.picture.PICTURE_STYLE_SHARES`, lean to the shallow layers).
    """
    shares = layer_weights(layers)
    for name, s_l in shares.items():
        if isinstance(s_l, Tensor):
            raise NstTeachError(f"the share of layer {name!r} must be a number, not a tensor", "layers")
    style = Style.of(encoder, painting, list(shares), blend=blend)
    F = features(encoder, start, style.layers)
    E = {l: float(losses.style_layer_loss(F[l], style.A[l], style.M_A[l])) for l in style.layers}
    total, s_total = sum(E.values()) / len(E), sum(float(s) for s in shares.values())
    if s_total <= 0:
        raise NstTeachError("the layers' shares must not all be 0: give at least one layer a positive share", "layers")
    return {l: total * float(shares[l]) / (s_total * max(E_l, 1e-30)) for l, E_l in E.items()}
