"""nst_teach: neural style transfer as in Gatys, Ecker & Bethge (2015, 2016), small enough to read.

image (:mod:`~nst_teach.images`) -> :mod:`~nst_teach.features` -> :mod:`~nst_teach.losses` ->
:mod:`~nst_teach.objective` -> optimiser (:mod:`~nst_teach.lbfgs`), run by :mod:`~nst_teach.engine` -> image
"""

from nst_teach import coarse_to_fine, color, lbfgs, losses, normalization, scale, spatial
from nst_teach.animation import Animation
from nst_teach.engine import Progress, Result, optimize
from nst_teach.errors import ImageError, LayerError, NstTeachError, WeightsError
from nst_teach.features import LAYER_INDEX, LAYER_NAMES, VGG19Features
from nst_teach.images import load_image, resize, save_image, to_pil
from nst_teach.losses import content_loss, gram_matrix, style_layer_loss, style_loss, total_loss, total_variation
from nst_teach.metrics import psnr
from nst_teach.objective import (
    CONTENT_LAYER,
    DEFAULT_RATIO,
    REFERENCE_PIXELS,
    STYLE_LAYERS,
    Objective,
    alpha_for_size,
    build_objective,
)
from nst_teach.plots import layer_table, show_feature_maps, show_images
from nst_teach.precision import pick_device
from nst_teach.settings import Settings
from nst_teach.tasks import reconstruct_content, style_transfer, synthesize_texture
from nst_teach.weights import load_vgg19_features

__version__ = "0.1.0"

__all__ = [
    "Animation", "coarse_to_fine", "color", "lbfgs", "losses", "normalization", "scale", "spatial",
    "CONTENT_LAYER", "DEFAULT_RATIO", "LAYER_INDEX", "REFERENCE_PIXELS", "LAYER_NAMES", "STYLE_LAYERS",
    "ImageError", "LayerError", "NstTeachError", "Objective", "Progress", "Result", "Settings",
    "VGG19Features", "WeightsError", "alpha_for_size", "build_objective", "content_loss", "gram_matrix", "layer_table",
    "load_image", "load_vgg19_features", "optimize", "pick_device", "psnr", "reconstruct_content", "resize",
    "save_image", "show_feature_maps", "show_images", "style_layer_loss", "style_loss", "style_transfer",
    "synthesize_texture", "to_pil", "total_loss", "total_variation",
]
