"""Figures and tables for the lessons: image grids, feature maps (marked when made with random weights), layer shapes."""

from __future__ import annotations

from typing import Sequence

from matplotlib.figure import Figure
from torch import Tensor

from nst_teach.images import RANDOM_NOTE, to_pil
from nst_teach.vgg19 import layer_shapes

__all__ = ["layer_table", "show_feature_maps", "show_images"]


def show_images(images: Sequence[Tensor], titles: Sequence[str] | None = None, *, ncols: int | None = None,
                suptitle: str | None = None, random_weights: bool = False, width: float = 3.2) -> Figure:
    """A grid of images with titles, as a matplotlib figure (returned).

    With ``random_weights=True`` the figure says, in red, that it was made
    with random VGG19 weights, so nobody mistakes it for the paper's result.
    """
    import matplotlib.pyplot as plt

    n = len(images)
    ncols = ncols or n
    nrows = -(-n // ncols)
    first = images[0]
    aspect = first.shape[-2] / first.shape[-1]
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, width * aspect * nrows + 0.8), squeeze=False,
                             layout="constrained")
    for ax in axes.flat:
        ax.axis("off")
    for i, image in enumerate(images):
        ax = axes.flat[i]
        ax.imshow(to_pil(image))
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    label = suptitle or ""
    if random_weights:
        label = (label + "\n" if label else "") + RANDOM_NOTE
    if label:
        fig.suptitle(label, fontsize=10, color="crimson" if random_weights else "black")
    return fig


def show_feature_maps(F: dict[str, Tensor], channels: int = 6, *, width: float = 1.6, random_weights: bool = False) -> Figure:
    """A grid: one row per layer, the first ``channels`` feature maps of the first image, each scaled to [0, 1]."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(F), channels, figsize=(width * channels, width * len(F) + 0.5), squeeze=False,
                             layout="constrained")
    for row, (name, maps) in enumerate(F.items()):
        for col in range(channels):
            m = maps[0, col].detach().float().cpu()
            axes[row, col].imshow(((m - m.min()) / (m.max() - m.min() + 1e-8)).numpy(), cmap="viridis")
            axes[row, col].set_xticks([]), axes[row, col].set_yticks([])
        axes[row, 0].set_ylabel(f"{name}\n{tuple(maps.shape[1:])}", fontsize=8)
    if random_weights:
        fig.suptitle(RANDOM_NOTE, color="crimson", fontsize=10)
    return fig


def layer_table(height: int = 224, width: int = 224, kinds: Sequence[str] = ("relu", "pool")):
    """An HTML table of the layers of ``kinds`` (:func:`~nst_teach.vgg19.layer_shapes`) for an image of
    ``height x width``: name, torchvision index, channels ``N_l``, map size and ``M_l = H_l W_l`` positions."""
    from IPython.display import HTML

    rows = "".join(f"<tr><td>{l.name}</td><td>{l.index}</td><td>{l.N_l}</td><td>{l.H_l} × {l.W_l}</td><td>{l.M_l}</td></tr>"
                   for l in layer_shapes(height, width) if l.kind in kinds)
    return HTML("<table><tr><th>layer</th><th>features[i]</th><th>N_l</th><th>H_l × W_l</th><th>M_l</th></tr>"
                f"{rows}</table>")
