"""Scale control: one painting's coarse structure, another's fine texture (Gatys et al., CVPR 2017, Sec. 6).

Reference:
    Gatys, Ecker, Bethge, Hertzmann & Shechtman, *Controlling Perceptual Factors in
    Neural Style Transfer*, CVPR 2017, Sec. 6.

The style representation is a stack of scales: the Gram matrices of low layers (``relu1_1``,
``relu2_1``, receptive fields of 3 and 10 pixels) describe fine texture, those of high layers the
large shapes. The paper builds a *new style image* from two paintings and then transfers it
as usual:

1. **A new style image** :math:`\\hat a` (:func:`mix_scales`): synthesised from noise with the
   coarse painting :math:`a_c` as its content, at ``relu4_2``, and the fine painting
   :math:`a_f`'s Gram matrices at the low layers only,

   .. math:: \\hat a = \\arg\\min_x\\; \\alpha\\, \\mathcal L_{content}(x, a_c)
             + \\beta \\sum_{l \\in \\{relu1\\_1,\\, relu2\\_1\\}} w_l E_l(x, a_f).

   The deep content layer keeps :math:`a_c`'s arrangement of shapes, the low layers can only
   set local texture, so the result has :math:`a_c`'s coarse scale and :math:`a_f`'s fine one.
2. **Transfer** with :math:`\\hat a` as the style image (:func:`scale_transfer`).

Both steps are ordinary runs of the engine.
"""

from __future__ import annotations

from typing import Callable, Sequence

from torch import Tensor

from nst_teach.engine import Progress, Result
from nst_teach.features import VGG19Features
from nst_teach.images import resize
from nst_teach.objective import CONTENT_LAYER, DEFAULT_RATIO, alpha_for_size, build_objective
from nst_teach.settings import Settings
from nst_teach.tasks import optimize_from, style_transfer

__all__ = ["FINE_LAYERS", "mix_scales", "scale_transfer"]

#: The layers whose Gram matrices carry the fine scale (receptive fields of 3 and 10 pixels).
FINE_LAYERS = ("relu1_1", "relu2_1")


def mix_scales(encoder: VGG19Features, coarse_style: Tensor, fine_style: Tensor, settings: Settings | None = None,
               *, fine_layers: Sequence[str] = FINE_LAYERS, ratio: float = DEFAULT_RATIO,
               callback: Callable[[Progress], None] | None = None,
               should_stop: Callable[[], bool] | None = None) -> Result:
    """A new style image: ``coarse_style``'s large-scale structure in ``fine_style``'s fine texture.

    The result has ``coarse_style``'s size; ``fine_style`` is resized to it. ``ratio`` is
    alpha/beta at 512 x 512 (:func:`~nst_teach.objective.alpha_for_size`).
    """
    size = tuple(coarse_style.shape[-2:])
    objective = build_objective(encoder, content=coarse_style, style=resize(fine_style, size),
                                content_layers=(CONTENT_LAYER,), style_layers=fine_layers,
                                alpha=alpha_for_size(ratio, size), beta=1.0)
    return optimize_from(encoder, objective, "noise", coarse_style.shape, settings, callback, should_stop)


def scale_transfer(encoder: VGG19Features, content: Tensor, coarse_style: Tensor, fine_style: Tensor,
                   settings: Settings | None = None, *, fine_layers: Sequence[str] = FINE_LAYERS,
                   callback: Callable[[Progress], None] | None = None,
                   should_stop: Callable[[], bool] | None = None) -> tuple[Result, Result]:
    """``content`` in the style of :func:`mix_scales`' new style image: ``(new style, transfer)``.

    Each step runs ``settings.steps`` steps; if the first is stopped, the second is not run
    and both results are the first's.
    """
    coarse_style = resize(coarse_style, tuple(content.shape[-2:]))
    mixed = mix_scales(encoder, coarse_style, fine_style, settings, fine_layers=fine_layers,
                       callback=callback, should_stop=should_stop)
    if mixed.status != "finished":
        return mixed, mixed
    return mixed, style_transfer(encoder, content, mixed.image, settings, callback=callback, should_stop=should_stop)
