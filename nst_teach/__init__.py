"""nst_teach: neural style transfer as in Gatys, Ecker & Bethge (2015, 2016), small enough to read.

Read :mod:`~nst_teach.paper` first: the paper's method end to end in one file. The engine does the
same, fast: image (:mod:`~nst_teach.images`) -> :mod:`~nst_teach.features` -> :mod:`~nst_teach.objective`
(terms of :mod:`~nst_teach.losses`) -> optimiser (:mod:`~nst_teach.lbfgs`), run by :mod:`~nst_teach.engine`
on a plan (:mod:`~nst_teach.coarse_to_fine`) -> image; :mod:`~nst_teach.tasks` puts them together.

Importing the package loads none of them: a name is imported from its module the first time it is used
(:func:`__getattr__`, PEP 562). So the command line never loads the classroom (:mod:`nst_teach.classroom`,
matplotlib and ipywidgets: the notebooks' figures, live views and panel), while ``nt.show_images`` still works.
The imports under ``TYPE_CHECKING`` below are the list: editors and type checkers read them, and so does
:func:`__getattr__`.
"""

from __future__ import annotations

import ast
import importlib
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nst_teach import coarse_to_fine, color, lbfgs, losses, normalization, paper, scale, spatial, starts
    from nst_teach.classroom.animation import Animation
    from nst_teach.classroom.plots import layer_table, show_feature_maps, show_images
    from nst_teach.engine import Progress, Result, optimize
    from nst_teach.errors import ImageError, LayerError, NstTeachError, WeightsError
    from nst_teach.features import VGG19Features, load_vgg19_features
    from nst_teach.images import load_image, resize, save_image, to_pil
    from nst_teach.losses import content_loss, gram_matrix, style_layer_loss, style_loss, total_loss, total_variation
    from nst_teach.metrics import palette, psnr, structure
    from nst_teach.objective import (
        CONTENT_LAYER,
        REFERENCE_PIXELS,
        STYLE_LAYERS,
        Content,
        Objective,
        Style,
        Term,
        TotalVariation,
        alpha_for_size,
        balanced_layer_weights,
        build_objective,
    )
    from nst_teach.picture import PICTURE, PICTURE_CONTENT_LAYER, PICTURE_OBJECTIVE, PICTURE_RATIO, PICTURE_STYLE_SHARES
    from nst_teach.runtime import pick_device
    from nst_teach.settings import BALANCED_RATIO, DEFAULT_RATIO, Settings
    from nst_teach.starts import initial_image
    from nst_teach.tasks import reconstruct_content, style_transfer, synthesize_texture
    from nst_teach.vgg19 import LAYER_INDEX, LAYER_NAMES, layer_shapes

__version__ = "0.1.0"

__all__ = ["Animation", "coarse_to_fine", "color", "lbfgs", "losses", "normalization", "paper", "scale", "spatial", "starts",
           "BALANCED_RATIO", "CONTENT_LAYER", "DEFAULT_RATIO", "LAYER_INDEX", "PICTURE", "PICTURE_CONTENT_LAYER",
           "PICTURE_OBJECTIVE", "PICTURE_RATIO", "PICTURE_STYLE_SHARES", "REFERENCE_PIXELS", "LAYER_NAMES",
           "STYLE_LAYERS", "Content",
           "ImageError", "LayerError", "NstTeachError", "Objective", "Progress", "Result", "Settings", "Style", "Term",
           "TotalVariation", "VGG19Features", "WeightsError", "alpha_for_size", "balanced_layer_weights", "build_objective",
           "content_loss", "gram_matrix", "initial_image", "layer_shapes", "layer_table", "load_image", "load_vgg19_features",
           "optimize", "palette", "pick_device", "psnr", "reconstruct_content", "resize", "save_image", "show_feature_maps",
           "show_images", "structure", "style_layer_loss", "style_loss", "style_transfer", "synthesize_texture", "to_pil",
           "total_loss", "total_variation"]


@cache
def _origins() -> dict[str, tuple[str, str | None]]:
    """Each public name -> (its module, the attribute there; None for a module): the imports under TYPE_CHECKING."""
    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    block = next(node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING")
    origins: dict[str, tuple[str, str | None]] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names:
            is_module = node.module == __name__
            origins[alias.asname or alias.name] = (
                f"{node.module}.{alias.name}" if is_module else node.module, None if is_module else alias.name)
    return origins


def __getattr__(name: str) -> Any:
    """``nt.style_transfer`` and the rest: imported from its module when first used, then kept here."""
    if name not in _origins():
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _origins()[name]
    value = importlib.import_module(module)
    value = value if attribute is None else getattr(value, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """What ``nt.<Tab>`` offers: the public names, not this file's own imports."""
    return sorted([*__all__, "__version__"])
