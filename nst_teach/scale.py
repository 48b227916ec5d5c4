r"""Scale control: one painting's coarse structure, another's fine texture (Gatys et al., CVPR 2017, Sec. 6).

Reference:
    Gatys, Ecker, Bethge, Hertzmann & Shechtman, *Controlling Perceptual Factors in Neural
    Style Transfer*, CVPR 2017, Sec. 6; the authors' ``ScaleControl`` notebook
    (leongatys/NeuralImageSynthesis, ``ExampleNotebooks/ScaleControl.ipynb``), which this follows.

The style representation is a stack of scales: the Gram matrices of low layers (``relu1_1``,
``relu2_1``, receptive fields of 3 and 10 pixels) describe fine texture, those of high layers the
large shapes. The authors build a *new style image* from two paintings, then transfer it as usual:

0. **Colours**: both paintings are first recoloured to the photograph's colour statistics
   (:func:`~nst_teach.color.match_color`, PCA, as the notebook: ``pretrans_color = True``, ``mode='pca'``), so the
   result keeps the photograph's colours (the paper's Fig. 1 (d): "Colour is preserved using the
   colour matching described in section 5.2").
1. **A new style image** :math:`\hat a` (:func:`mix_scales`): start from the coarse painting
   :math:`a_c` and match only the fine painting :math:`a_f`'s Gram matrices at the low layers,

   .. math:: \hat a = \arg\min_x \sum_{l \in \{relu1\_1,\, relu2\_1\}} w_l E_l(x, a_f), \qquad x_0 = a_c.

   There is no content term: the start keeps :math:`a_c`'s large shapes because the low layers
   cannot see them, while its fine texture becomes :math:`a_f`'s.
2. **Transfer** the photograph with :math:`\hat a` as the style image, from the photograph, as the
   notebook does (:func:`scale_transfer`).

All steps are ordinary runs of the engine.
"""

from __future__ import annotations

from typing import Callable, Sequence

from torch import Tensor

from nst_teach.color import match_color
from nst_teach.engine import Progress, Result
from nst_teach.features import VGG19Features
from nst_teach.images import resize
from nst_teach.objective import Objective, Style
from nst_teach.settings import Settings
from nst_teach.tasks import optimize_from, style_transfer

__all__ = ["FINE_LAYERS", "mix_scales", "scale_transfer"]

#: The layers whose Gram matrices carry the fine scale (receptive fields of 3 and 10 pixels); the notebook's
#: ``max_pretrans_layer = 'relu2_1'`` at 512 px.
FINE_LAYERS = ("relu1_1", "relu2_1")


def mix_scales(encoder: VGG19Features, coarse_style: Tensor, fine_style: Tensor, settings: Settings | None = None,
               *, fine_layers: Sequence[str] = FINE_LAYERS, callback: Callable[[Progress], None] | None = None,
               should_stop: Callable[[], bool] | None = None) -> Result:
    """A new style image: ``coarse_style`` as the start, ``fine_style``'s Gram matrices at ``fine_layers`` as the
    only target. The result has ``coarse_style``'s size; ``fine_style`` is resized to it."""
    fine = resize(fine_style, tuple(coarse_style.shape[-2:]))
    objective = Objective([Style.of(encoder, fine, fine_layers)])
    return optimize_from(encoder, objective, coarse_style, coarse_style.shape, settings, callback, should_stop)


def scale_transfer(encoder: VGG19Features, content: Tensor, coarse_style: Tensor, fine_style: Tensor,
                   settings: Settings | None = None, *, fine_layers: Sequence[str] = FINE_LAYERS,
                   callback: Callable[[Progress], None] | None = None,
                   should_stop: Callable[[], bool] | None = None) -> tuple[Result, Result]:
    """``content`` in the style of :func:`mix_scales`' new style image, both paintings first recoloured to the
    photograph's colours: ``(new style, transfer)``.

    Each run has ``settings.steps`` steps; if the first is stopped, the second is not run and both
    results are the first's.
    """
    coarse = match_color(resize(coarse_style, tuple(content.shape[-2:])), content).clamp(0, 1)
    fine = match_color(fine_style, content).clamp(0, 1)
    mixed = mix_scales(encoder, coarse, fine, settings, fine_layers=fine_layers, callback=callback,
                       should_stop=should_stop)
    if mixed.status != "finished":
        return mixed, mixed
    return mixed, style_transfer(encoder, content, mixed.image, settings, init="content", callback=callback,
                                 should_stop=should_stop)
