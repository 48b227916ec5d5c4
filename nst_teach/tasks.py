"""The paper's three tasks, each an objective, a start and one call of the engine.

* content reconstruction (CVPR 2016, Fig. 1, bottom): a content term alone, one layer;
* texture synthesis (Fig. 1, top): a style term alone, the layers with their ``w_l``;
* style transfer (Fig. 3, 4): both, with the ratio ``alpha / beta``; and the 2017 paper's
  controls on the same path: a blend of paintings, a painting per region (masks), the photograph's colours.

Every argument is checked here, where it enters: a bad one raises :class:`~nst_teach.errors.NstTeachError`
naming it, before any work.
"""

from __future__ import annotations

from typing import Callable, Iterable, Literal, Mapping, Sequence

import torch
from torch import Tensor

from nst_teach import color
from nst_teach.engine import Progress, Result, optimize
from nst_teach.errors import NstTeachError, check_choice
from nst_teach.features import VGG19Features
from nst_teach.images import check_side, resize
from nst_teach.objective import (
    CONTENT_LAYER,
    STYLE_LAYERS,
    Content,
    LayerWeight,
    Objective,
    Style,
    Term,
    TotalVariation,
    alpha_for_size,
    balanced_layer_weights,
    blend_weights,
    check_ratio,
    check_weight,
    layer_weights,
)
from nst_teach.settings import BALANCED_RATIO, DEFAULT_RATIO, PRESERVE_COLORS, PreserveColors, Settings
from nst_teach.spatial import GuidedStyle, check_control
from nst_teach.starts import NOISE_STARTS, Start, check_start, initial_image
from nst_teach.vgg19 import deepest_layer, smallest_side

#: Each task's start by default: white noise in the source images' colours, as the paper starts (CVPR 2016, Sec. 3.3).
#: For a transfer chosen by pictures (README, "Defaults"): from the photograph in the painting's colours the sky of a
#: night photograph came out in colours that are in neither image, and the pictures kept more of the photograph.
DEFAULT_INIT: dict[str, Start] = {"reconstruct": "noise", "texture": "noise", "transfer": "noise"}

__all__ = ["DEFAULT_INIT", "Task", "check_image_size", "check_task", "optimize_from", "reconstruct_content", "style_transfer",
           "synthesize_texture"]

Callback = Callable[[Progress], None]
#: The paper's three tasks, by the CLI's command names.
Task = Literal["reconstruct", "texture", "transfer"]


def optimize_from(encoder: VGG19Features, objective: Objective, init: Start | Tensor, shape: Sequence[int],
                  settings: Settings | None = None, callback: Callback | None = None,
                  should_stop: Callable[[], bool] | None = None, *, content: Tensor | None = None,
                  style: Tensor | Sequence[Tensor] | None = None, style_blend: Sequence[float] | None = None) -> Result:
    """:func:`~nst_teach.engine.optimize` from ``initial_image(init, shape)``, made from the run's source images,
    with the plan that suits the start: coarse levels only from noise (:func:`~nst_teach.coarse_to_fine.most_levels`).
    The three tasks below and the benchmark start this way.
    """
    settings = settings or Settings()
    device = _device(encoder)
    x0 = initial_image(init, shape, seed=settings.seed, content=content, style=style, style_blend=style_blend,
                       device=device)
    from_noise = isinstance(init, str) and init in NOISE_STARTS
    return optimize(encoder, objective, x0, settings, None, callback, should_stop, from_noise=from_noise)


def reconstruct_content(encoder: VGG19Features, image: Tensor, layer: str | Sequence[str] = CONTENT_LAYER,
                        settings: Settings | None = None, *, tv_weight: float = 0.0,
                        init: Start | Tensor = DEFAULT_INIT["reconstruct"], terms: Sequence[Term] = (),
                        callback: Callback | None = None, should_stop: Callable[[], bool] | None = None) -> Result:
    """Find an image whose features at ``layer`` match ``image``'s (Fig. 1, bottom row).

    ``tv_weight`` adds a total-variation term, the kind of image prior Mahendran & Vedaldi (2015) use to
    invert a network and the paper does not.

    Several layers reconstruct as one batch, one image per layer: the
    content loss of image ``b`` uses only layer ``b`` (a per-image weight).
    One optimiser then sees the sum of the layers' losses, whose scales differ
    by orders of magnitude on the trained network, so the small ones barely
    move: for a figure, run one layer at a time (as lesson 2 does).
    """
    check_task("reconstruct", init=init, tv_weight=tv_weight)
    _check_image("image", image)
    names = layer_weights([layer] if isinstance(layer, str) else list(layer))
    check_image_size("image", image.shape, names)
    B = len(names)
    if B > 1 and image.shape[0] > 1:
        raise NstTeachError("several layers reconstruct one photograph, one image per layer: give one image, not a batch")
    image = image.to(_device(encoder))
    image = image.expand(B, *image.shape[1:]) if B > 1 else image
    weights = {l: torch.tensor([1.0 if b == i else 0.0 for b in range(B)]) for i, l in enumerate(names)}
    objective = Objective([Content.of(encoder, image, weights if B > 1 else list(names)), *_tv(tv_weight), *terms])
    return optimize_from(encoder, objective, init, image.shape, settings, callback, should_stop, content=image)


def synthesize_texture(encoder: VGG19Features, image: Tensor,
                       layers: Mapping[str, LayerWeight] | Sequence[str] = STYLE_LAYERS,
                       settings: Settings | None = None, *, size: tuple[int, int] | None = None,
                       tv_weight: float = 0.0, init: Start | Tensor = DEFAULT_INIT["texture"], terms: Sequence[Term] = (),
                       callback: Callback | None = None, should_stop: Callable[[], bool] | None = None) -> Result:
    """Synthesise a texture matching ``image``'s Gram matrices at ``layers`` (Fig. 1, top row), of ``size = (H, W)``
    (default: the image's); ``tv_weight`` adds a total-variation term."""
    check_task("texture", init=init, tv_weight=tv_weight)
    _check_image("image", image)
    if size is not None:
        if not isinstance(size, (tuple, list)) or len(size) != 2:
            raise NstTeachError(f"size must be (height, width), two whole numbers; got {size!r}", "size")
        for side in size:
            check_side("size", side)
        size = (int(size[0]), int(size[1]))
    check_image_size("image", image.shape, layer_weights(layers))
    check_image_size("size", (*(size or image.shape[-2:]),), layer_weights(layers))
    image = image.to(_device(encoder))
    objective = Objective([Style.of(encoder, image, layers), *_tv(tv_weight), *terms])
    shape = (image.shape[0], 3, *(size or image.shape[-2:]))
    return optimize_from(encoder, objective, init, shape, settings, callback, should_stop, style=image)


def style_transfer(encoder: VGG19Features, content: Tensor, style: Tensor | Sequence[Tensor],
                   settings: Settings | None = None, *,
                   content_layers: Mapping[str, LayerWeight] | Sequence[str] = (CONTENT_LAYER,),
                   style_layers: Mapping[str, LayerWeight] | Sequence[str] = STYLE_LAYERS,
                   alpha: float | None = None, ratio: float | None = None, beta: float = 1.0, tv_weight: float = 0.0,
                   init: Start | Tensor = DEFAULT_INIT["transfer"], keep_style_scale: bool = False,
                   preserve_colors: PreserveColors | None = None,
                   style_blend: Sequence[float] | None = None, content_masks: Sequence[Tensor] | None = None,
                   style_masks: Sequence[Tensor] | None = None, region_weights: Sequence[float] | None = None,
                   balance: bool = False, terms: Sequence[Term] = (), callback: Callback | None = None,
                   should_stop: Callable[[], bool] | None = None) -> Result:
    """Render ``content`` in the style of ``style`` (CVPR 2016, Fig. 3 and 4).

    **Balance.** ``alpha`` is Eq. 7's, used as given. Or give ``ratio``, alpha/beta as at 512 x 512 px,
    scaled to the content's size (:func:`~nst_teach.objective.alpha_for_size`): the same balance at every
    size. Neither: ``ratio = DEFAULT_RATIO`` (with ``balance``, :data:`~nst_teach.settings.BALANCED_RATIO`).

    **Layer weights.** ``w_l`` as given (equal by default, the paper's ``1/5``), or with ``balance`` each layer's
    ``w_l E_l`` at the start equal, or in proportion to the weights given, read as shares
    (:func:`~nst_teach.objective.balanced_layer_weights`; the default picture, ``**PICTURE_OBJECTIVE``, balances
    :data:`~nst_teach.picture.PICTURE_STYLE_SHARES` with the content at ``relu3_2``).

    **Start.** By default white noise in the two images' colours (``init="noise"``), as the paper starts, and
    the only start that gives a new image for each seed; coarse-to-fine settles its layout cheaply.
    ``"content"`` is the photograph as it is, ``"recolored"`` the photograph in the painting's colours
    (its RGB mean and covariance made the painting's, :func:`~nst_teach.color.in_colors_of`), ``"style"``
    the painting (:mod:`nst_teach.starts`).

    **Scale.** As in the paper, each painting is resized to the content image's size first,
    unless ``keep_style_scale`` (then its own size sets the scale of the brush strokes).

    **Controls** (Gatys et al., CVPR 2017), all on this one path and free to combine:

    * several paintings in ``style``, blended with the weights ``style_blend`` (equal by default);
    * ``content_masks`` and ``style_masks``: painting r paints region ``content_masks[r]`` from its
      region ``style_masks[r]`` (:class:`~nst_teach.spatial.GuidedStyle`; Sec. 4), weighted by
      ``region_weights``;
    * ``preserve_colors`` (Sec. 5): ``"luminance"`` transfers on the luminance alone (the live
      images are grey) and puts back the content's colour channels at the end; ``"histogram"``
      first recolours each painting to the content's colour statistics;
    * ``tv_weight``: a total-variation term, a smoothness prior the paper does not use.

    **Terms of your own**: ``terms``, each a :class:`~nst_teach.objective.Term` with its own name, added to Eq. 7
    (every task takes them; :mod:`nst_teach.term_files`).
    """
    styles = [style] if isinstance(style, Tensor) else list(style)
    check_task("transfer", init=init, tv_weight=tv_weight, alpha=alpha, ratio=ratio, beta=beta, n_styles=len(styles),
               style_blend=style_blend, content_masks=content_masks, style_masks=style_masks)
    if preserve_colors is not None:
        check_choice("preserve_colors", preserve_colors, PRESERVE_COLORS)
    _check_image("content", content)
    layers = [*layer_weights(content_layers), *layer_weights(style_layers)]
    check_image_size("content", content.shape, layers)
    for k, painting in enumerate(styles):
        _check_image(f"style[{k}]" if len(styles) > 1 else "style", painting)
        check_image_size(f"style[{k}]" if len(styles) > 1 else "style", painting.shape, layers)
    if balance and content_masks is not None:
        raise NstTeachError("balance weighs the layers of one painting or a blend: leave it off with masks", "balance")
    ratio = ratio or (BALANCED_RATIO if balance else DEFAULT_RATIO)
    alpha = alpha if alpha is not None else alpha_for_size(ratio, content.shape[-2:]) * beta

    device = _device(encoder)
    content, styles = content.to(device), [s.to(device) for s in styles]
    photo = content
    if preserve_colors == "histogram":
        styles = [color.match_color(s, content) for s in styles]
    if preserve_colors == "luminance":
        content, styles = color.luminance(content), [color.match_luminance(s, content) for s in styles]
    if not keep_style_scale:
        styles = [resize(s, tuple(content.shape[-2:])) for s in styles]

    paper_terms: list[Term] = [Content.of(encoder, content, content_layers, alpha)]
    start_blend = style_blend
    if content_masks is not None and style_masks is not None:
        masks = [m if keep_style_scale else _resize_mask(m, s.shape[-2:]) for m, s in zip(style_masks, styles)]
        paper_terms.append(GuidedStyle.of(encoder, content_masks, styles, masks, style_layers, beta, region_weights,
                                    size=content.shape[-2:]))
        start_blend = [float(T.mean()) for T in content_masks]  # the start in the regions' paintings' colours
    else:
        if balance:  # the start optimize_from will draw (the same seed), to weigh the layers at
            x0 = initial_image(init, content.shape, seed=(settings or Settings()).seed, content=content, style=styles,
                               style_blend=style_blend, device=device)
            style_layers = balanced_layer_weights(encoder, styles, x0, layer_weights(style_layers), style_blend)
        paper_terms.append(Style.of(encoder, styles, style_layers, beta, style_blend))
    objective = Objective([*paper_terms, *_tv(tv_weight), *terms])
    result = optimize_from(encoder, objective, init, content.shape, settings, callback, should_stop,
                           content=content, style=styles, style_blend=start_blend)
    if preserve_colors == "luminance":
        result.image = color.with_colors_of(result.image, photo)
    return result


def _device(encoder: VGG19Features) -> torch.device:
    """Where the network is: the images go there too."""
    return next(encoder.parameters()).device


def _tv(weight: float) -> list[Term]:
    """The total-variation term, if asked for."""
    return [TotalVariation(weight)] if weight else []


def check_task(task: Task, *, init: object = "noise", tv_weight: float = 0.0, alpha: float | None = None,
               ratio: float | None = None, beta: float = 1.0, n_styles: int = 1, style_blend: Sequence[float] | None = None,
               content_masks: object = None, style_masks: object = None) -> None:
    """Every argument of ``task`` that needs no image, checked before any work: each task calls it first, and the
    CLI calls it with its flags' values (the error's ``name`` is the argument's, which the CLI maps to its flag).

    >>> check_task("transfer", alpha=0.0, beta=0.0)
    Traceback (most recent call last):
    ...
    nst_teach.errors.NstTeachError: alpha and beta are both 0: there is nothing to optimise
    """
    check_start(init, task)
    check_weight("tv_weight", tv_weight)
    if task != "transfer":
        return
    if alpha is not None and ratio is not None:
        raise NstTeachError("give alpha or ratio, not both: alpha is used as given, ratio is scaled to the size", "alpha")
    check_weight("beta", beta)
    if alpha is not None:
        check_weight("alpha", alpha)
    if ratio is not None:
        check_ratio(ratio)
    if alpha == 0 and beta == 0:
        raise NstTeachError("alpha and beta are both 0: there is nothing to optimise", "alpha")
    if n_styles < 1:
        raise NstTeachError("style must be a painting, or a list of at least one", "style")
    if style_blend is not None:
        blend_weights(style_blend, n_styles)
    check_control(content_masks, style_masks, style_blend)


def _check_image(name: str, image: object) -> None:
    if not isinstance(image, Tensor) or image.ndim != 4 or image.shape[1] != 3 or min(image.shape[-2:]) < 1:
        shape = tuple(image.shape) if isinstance(image, Tensor) else type(image).__name__
        raise NstTeachError(f"{name} must be an RGB image tensor of shape (B, 3, H, W), as load_image gives; got {shape}")


def check_image_size(name: str, size: Sequence[int], layers: Iterable[str]) -> None:
    """Refuse an image of ``size = (..., H, W)`` too small for the deepest of ``layers``: each pooling halves the map,
    and an empty map has no features.

    >>> check_image_size("style", (1, 3, 12, 40), ["relu5_1"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nst_teach.errors.NstTeachError: style is 40 x 12 px, too small for relu5_1: its short side must be at least 16 px ...
    """
    layers = list(layers)
    needed = smallest_side(layers)
    if min(size[-2:]) < needed:
        raise NstTeachError(f"{name} is {size[-1]} x {size[-2]} px, too small for {deepest_layer(layers)}: its short "
                            f"side must be at least {needed} px (each pooling halves it); use a larger image", name)


def _resize_mask(mask: Tensor, size: Sequence[int]) -> Tensor:
    """A region's mask at its painting's new size (nearest neighbour keeps it a mask)."""
    return torch.nn.functional.interpolate(mask, size=tuple(size), mode="nearest")
