"""The paper's three tasks, each an objective and one call of the engine.

* content reconstruction (CVPR 2016, Fig. 1, bottom): ``alpha = 1``, ``beta = 0``, one content layer;
* texture synthesis (Fig. 1, top): ``alpha = 0``, ``beta = 1``, style layers with ``w_l``;
* style transfer (Fig. 3, 4): both, with the ratio ``alpha / beta``.
"""

from __future__ import annotations

from typing import Callable, Literal, Mapping, Sequence, Union

import torch
from torch import Tensor

from nst_teach import color
from nst_teach.engine import Init, Progress, Result, initial_image, optimize
from nst_teach.features import VGG19Features
from nst_teach.images import resize
from nst_teach.objective import (
    CONTENT_LAYER,
    DEFAULT_RATIO,
    STYLE_LAYERS,
    LayerWeight,
    Objective,
    alpha_for_size,
    build_objective,
)
from nst_teach.settings import Settings

#: A task's start: the engine's (:data:`~nst_teach.engine.Init`), or ``"recolored"``, the photograph in the
#: painting's colours (:func:`~nst_teach.color.in_colors_of`).
Start = Union[Init, Literal["recolored"]]

#: Each task's start by default: white noise (in the source images' colours), but for a transfer the photograph
#: in the painting's colours.
DEFAULT_INIT: dict[str, Literal["noise", "recolored"]] = {"reconstruct": "noise", "texture": "noise",
                                                          "transfer": "recolored"}

__all__ = ["DEFAULT_INIT", "Start", "optimize_from", "reconstruct_content", "style_transfer", "synthesize_texture"]


def optimize_from(encoder: VGG19Features, objective: Objective, init: Start, shape: Sequence[int],
                  settings: Settings | None = None, callback: Callable[[Progress], None] | None = None,
                  should_stop: Callable[[], bool] | None = None) -> Result:
    """:func:`optimize` from ``initial_image(init, shape)``, made from the objective's own source images.

    The three tasks below and the benchmark start this way. ``"recolored"`` is the objective's
    photograph with the RGB mean and covariance of its style images, weighted as their blend. (A run
    from the photograph, in its own colours or the painting's, stays at full size:
    :func:`~nst_teach.coarse_to_fine.most_levels`.)
    """
    settings = settings or Settings()
    device = next(encoder.parameters()).device
    if isinstance(init, str) and init == "recolored":
        if objective.content is None or objective.style is None:
            raise ValueError("init='recolored' needs a content and a style image")
        init = color.in_colors_of(objective.content, objective.style, objective.style_blend)
    x0 = initial_image(init, shape, seed=settings.seed, content=objective.content, style=objective.style, device=device)
    return optimize(encoder, objective, x0, settings, callback, should_stop)


def reconstruct_content(encoder: VGG19Features, image: Tensor, layer: str | Sequence[str] = CONTENT_LAYER,
                        settings: Settings | None = None, *, init: Start = DEFAULT_INIT["reconstruct"],
                        callback: Callable[[Progress], None] | None = None,
                        should_stop: Callable[[], bool] | None = None) -> Result:
    """Find an image whose features at ``layer`` match ``image``'s (Fig. 1, bottom row).

    Several layers reconstruct as one batch, one image per layer: the
    content loss of image ``b`` uses only layer ``b`` (a per-image weight).
    One optimiser then sees the sum of the layers' losses, whose scales differ
    by orders of magnitude on the trained network, so the small ones barely
    move: for a figure, run one layer at a time (as lesson 2 does).
    """
    names = [layer] if isinstance(layer, str) else list(layer)
    B = len(names)
    image = image.expand(B, *image.shape[1:]) if B > 1 else image
    weights = {l: torch.tensor([1.0 if b == i else 0.0 for b in range(B)]) for i, l in enumerate(names)}
    objective = build_objective(encoder, content=image, content_layers=weights if B > 1 else names,
                                alpha=1.0, beta=0.0)
    return optimize_from(encoder, objective, init, image.shape, settings, callback, should_stop)


def synthesize_texture(encoder: VGG19Features, image: Tensor,
                       layers: Mapping[str, LayerWeight] | Sequence[str] = STYLE_LAYERS,
                       settings: Settings | None = None, *, size: tuple[int, int] | None = None,
                       init: Start = DEFAULT_INIT["texture"], callback: Callable[[Progress], None] | None = None,
                       should_stop: Callable[[], bool] | None = None) -> Result:
    """Synthesise a texture matching ``image``'s Gram matrices at ``layers`` (Fig. 1, top row)."""
    objective = build_objective(encoder, style=image, style_layers=layers, alpha=0.0, beta=1.0)
    shape = (image.shape[0], 3, *(size or image.shape[-2:]))
    return optimize_from(encoder, objective, init, shape, settings, callback, should_stop)


def style_transfer(encoder: VGG19Features, content: Tensor, style: Tensor | Sequence[Tensor],
                   settings: Settings | None = None, *,
                   content_layers: Mapping[str, LayerWeight] | Sequence[str] = (CONTENT_LAYER,),
                   style_layers: Mapping[str, LayerWeight] | Sequence[str] = STYLE_LAYERS,
                   alpha: float | None = None, beta: float = 1.0, tv_weight: float = 0.0,
                   init: Start = DEFAULT_INIT["transfer"], keep_style_scale: bool = False,
                   preserve_colors: Literal["luminance", "histogram"] | None = None,
                   style_blend: Sequence[float] | None = None,
                   callback: Callable[[Progress], None] | None = None,
                   should_stop: Callable[[], bool] | None = None) -> Result:
    """Render ``content`` in the style of ``style`` (CVPR 2016, Fig. 3 and 4).

    ``alpha`` is Eq. 7's, used as given. By default it is
    ``alpha_for_size(DEFAULT_RATIO, content's size) * beta``: the same balance at every size.

    The run starts from the photograph in the painting's colours (``init="recolored"``: its RGB
    mean and covariance made the painting's, :func:`~nst_teach.color.in_colors_of`). The
    photograph is one of the paper's three starts (CVPR 2016, Sec. 3, "Initialisation of
    gradient descent", Fig. 6), which "do not seem to have a strong effect on the outcome"; it
    reaches a given loss in a third of the steps that white noise needs, and in the painting's
    colours sooner again, since the uncentred Gram matrices of the low layers measure the mean
    colour first (``benchmarks/README.md``). ``init="content"`` is the photograph as it is.
    Only a noise start gives a new image for each seed: pass ``init="noise"`` for that, or to
    reproduce the paper's figures, which start from white noise.

    As in the paper, the style image is resized to the content image's size
    first, unless ``keep_style_scale`` (then its own size sets the scale of
    the brush strokes).

    ``preserve_colors`` keeps the photograph's colours (Gatys et al., CVPR 2017, Sec. 5;
    :mod:`nst_teach.color`): ``"luminance"`` transfers on the luminance alone (the live
    images are grey) and puts back the content's colour channels at the end;
    ``"histogram"`` first recolours the style image to the content's colour statistics.

    ``style`` may be several images, blended with the weights ``style_blend``
    (:func:`build_objective`; equal weights by default).
    """
    if alpha is None:
        alpha = alpha_for_size(DEFAULT_RATIO, content.shape[-2:]) * beta
    if preserve_colors not in (None, "luminance", "histogram"):
        raise ValueError(f"preserve_colors must be None, 'luminance' or 'histogram', got {preserve_colors!r}")
    styles = [style] if isinstance(style, Tensor) else list(style)
    if preserve_colors == "histogram":
        styles = [color.match_color_histogram(s, content) for s in styles]
    if preserve_colors == "luminance":
        photo, content, styles = content, color.luminance(content), [color.match_luminance(s, content) for s in styles]
    if not keep_style_scale:
        styles = [resize(s, tuple(content.shape[-2:])) for s in styles]
    style = styles[0] if isinstance(style, Tensor) else styles
    objective = build_objective(encoder, content=content, style=style, content_layers=content_layers,
                                style_layers=style_layers, alpha=alpha, beta=beta, tv_weight=tv_weight,
                                style_blend=style_blend)
    result = optimize_from(encoder, objective, init, content.shape, settings, callback, should_stop)
    if preserve_colors == "luminance":
        result.image = color.with_colors_of(result.image, photo)
    return result
