"""The paper's normalised network (CVPR 2016, Sec. 2): every filter's mean activation scaled to 1.

"We normalized the network by scaling the weights such that the mean activation of each
convolutional filter over images and positions is equal to one." The images here are a
stated, reproducible set (:data:`NORMALIZATION_IMAGES`). ``load_vgg19_features(normalized=True)``
uses this module.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import torch
from torch import Tensor, nn

from nst_teach.vgg19 import LAYER_NAMES

__all__ = ["NORMALIZATION_IMAGES", "activation_means", "normalization_images", "normalize_activations"]


#: The images the shipped normalisation is computed on: scikit-image's colour photographs,
#: each resized to 224 px on its long side (the network's training size).
NORMALIZATION_IMAGES = ("astronaut", "chelsea", "coffee", "rocket")


def normalization_images(size: int = 224) -> list[Tensor]:
    """:data:`NORMALIZATION_IMAGES` as tensors ``(1, 3, H, W)``: a stated, reproducible set."""
    from skimage import data as skdata

    from nst_teach.images import load_image

    return [load_image(getattr(skdata, name)(), size) for name in NORMALIZATION_IMAGES]


@torch.no_grad()
def activation_means(encoder: Callable[[Tensor, list[str]], Mapping[str, Tensor]], images: Sequence[Tensor],
                     layers: Sequence[str] | None = None) -> dict[str, Tensor]:
    r"""Each filter's mean rectified response over ``images`` and positions, per layer:

    .. math:: m^l_i = \frac{1}{|images|} \sum_{images} \frac{1}{M_l} \sum_k \max(0, F^l_{ik})

    ``{layer: (N_l,)}``; ``layers`` defaults to the 16 rectified convolutions ``relu1_1`` ... ``relu5_4``.
    """
    layers = list(layers or [name for name in LAYER_NAMES if name.startswith("relu")])
    sums: dict[str, Tensor] = {name: torch.zeros(()) for name in layers}
    for image in images:
        for name, F in encoder(image, layers).items():
            sums[name] = sums[name] + F.clamp_min(0).float().mean(dim=(0, 2, 3))
    return {name: total / len(images) for name, total in sums.items()}


@torch.no_grad()
def normalize_activations(layers: nn.Sequential, preprocess: Callable[[Tensor], Tensor],
                          images: Sequence[Tensor]) -> nn.Sequential:
    r"""The paper's normalisation (CVPR 2016, Sec. 2): each filter's mean activation becomes 1.

    For each conv layer l in turn, with :math:`m_l` each filter's mean rectified response
    over ``images`` (each made the network's input by ``preprocess``) and positions,

    .. math:: W^l_{ij} \leftarrow W^l_{ij} \, m^{l-1}_j / m^l_i, \qquad b^l_i \leftarrow b^l_i / m^l_i.

    Dividing by :math:`m^l_i` rescales filter i's output; multiplying by :math:`m^{l-1}_j`
    undoes the rescaling of the layer below at the input. ReLU and pooling are positively
    homogeneous, so every layer computes the same features as before, each filter divided
    by its mean: "without changing its output" (CVPR 2016, Sec. 2). Returns ``layers``, changed in place.
    """
    x = [preprocess(im) for im in images]  # one pass, layer by layer
    previous: Tensor | None = None  # m of the conv layer below: what its output was divided by
    for module in layers:
        if isinstance(module, nn.Conv2d) and previous is not None:
            module.weight.mul_(previous.view(1, -1, 1, 1))  # its input is now F/m: undo that
        x = [module(x_b) for x_b in x]
        if isinstance(module, nn.Conv2d):
            m = torch.stack([x_b.clamp_min(0).mean(dim=(0, 2, 3)) for x_b in x]).mean(0)
            previous = torch.where(m > 1e-6, m, 1.0)  # a filter silent on these images keeps its scale
            module.weight.div_(previous.view(-1, 1, 1, 1))
            if module.bias is not None:
                module.bias.div_(previous)
            x = [x_b / previous.view(1, -1, 1, 1) for x_b in x]
    return layers
