"""A small catalogue of the paper's images, with credits, fetched on first use.

Where the files come from, first match wins:

1. ``$NST_TEACH_IMAGES``: a local folder (CI points it at ``../shared/images``;
   an instructor can pre-stage one for a classroom without internet);
2. the user cache (``pooch.os_cache("nst-teach")``), filled by a download on
   first use with pooch;
3. otherwise :func:`paper_image` falls back to a similar picture that
   scikit-image ships, and says so in the returned :class:`Picture`.

Set ``NST_TEACH_OFFLINE=1`` to skip the download attempt.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from nst_teach.errors import ImageError
from nst_teach.images import load_image

__all__ = ["CATALOGUE", "FALLBACKS", "CatalogueEntry", "Picture", "catalogue_path", "paper_image", "skimage_image"]

_BASE_URL = "https://raw.githubusercontent.com/jcjohnson/neural-style/master/examples/inputs/"


@dataclass(frozen=True)
class CatalogueEntry:
    file: str  # file name, in $NST_TEACH_IMAGES or the cache
    title: str
    credit: str  # show this wherever the image is shown
    licence: str
    fallback: str  # scikit-image picture used when the file cannot be had


CATALOGUE: dict[str, CatalogueEntry] = {
    "tubingen": CatalogueEntry("tubingen.jpg", "Neckarfront in Tübingen (content of Fig. 3)",
                               "Photograph by Andreas Praefcke", "CC BY 3.0", "astronaut"),
    "shipwreck": CatalogueEntry("shipwreck.jpg", "The Shipwreck of the Minotaur (Fig. 3B)",
                                "J. M. W. Turner, 1805", "public domain", "gravel"),
    "starry_night": CatalogueEntry("starry_night.jpg", "The Starry Night (Fig. 3C)",
                                   "Vincent van Gogh, 1889", "public domain", "grass"),
    "the_scream": CatalogueEntry("the_scream.jpg", "The Scream (Fig. 3D)",
                                 "Edvard Munch, 1893", "public domain", "brick"),
    "composition_vii": CatalogueEntry("composition_vii.jpg", "Composition VII (Fig. 3F; style of Fig. 4)",
                                      "Wassily Kandinsky, 1913", "public domain", "coffee"),
    "woman_with_hat": CatalogueEntry("woman-with-hat-matisse.jpg", "Woman with a Hat",
                                     "Henri Matisse, 1905", "public domain in the US", "chelsea"),
}

#: Pictures shipped by scikit-image: photographs and textures.
FALLBACKS: dict[str, str] = {
    "astronaut": "photograph: Eileen Collins (NASA, public domain)",
    "coffee": "photograph: a cup of coffee (Rachel Michetti, CC0)",
    "chelsea": "photograph: Chelsea the cat (Stefan van der Walt, CC0)",
    "brick": "texture: brick wall (scikit-image, CC0)",
    "gravel": "texture: gravel (scikit-image, CC0)",
    "grass": "texture: grass (scikit-image, CC0)",
}


@dataclass
class Picture:
    """An image tensor and where it came from."""

    image: Tensor  # (1, 3, H, W) in [0, 1]
    name: str
    credit: str
    fallback: bool  # True when a scikit-image picture stands in for the catalogue's


def catalogue_path(name: str) -> Path:
    """A local path to catalogue image ``name``: the folder in $NST_TEACH_IMAGES, else the pooch cache.

    Raises:
        ImageError: the file is not in the folder, or cannot be downloaded.
    """
    if name not in CATALOGUE:
        raise ImageError(f"unknown catalogue image {name!r}; choose one of {', '.join(CATALOGUE)}.")
    entry = CATALOGUE[name]
    folder = os.environ.get("NST_TEACH_IMAGES")
    if folder:
        path = Path(folder).expanduser() / entry.file
        if path.is_file():
            return path
        raise ImageError(f"{entry.file} is not in NST_TEACH_IMAGES={folder}; add it there or unset the variable.")
    import pooch

    cached = Path(pooch.os_cache("nst-teach")) / entry.file
    if cached.is_file():
        return cached
    if os.environ.get("NST_TEACH_OFFLINE"):
        raise ImageError(f"{entry.file} is not cached and NST_TEACH_OFFLINE is set.")
    try:
        return Path(pooch.retrieve(_BASE_URL + entry.file, known_hash=None, fname=entry.file,
                                   path=cached.parent, progressbar=False,
                                   downloader=pooch.HTTPDownloader(timeout=20)))
    except Exception as err:  # no network, HTTP errors: all mean "cannot be had now"
        raise ImageError(f"could not download {entry.file} ({type(err).__name__}); "
                         "connect once, or set NST_TEACH_IMAGES to a folder that has it.") from err


def skimage_image(name: str, size: int | None = None, device: torch.device | str = "cpu") -> Tensor:
    """A picture that scikit-image ships (see :data:`FALLBACKS`), as a tensor."""
    if name not in FALLBACKS:
        raise ImageError(f"unknown scikit-image picture {name!r}; choose one of {', '.join(FALLBACKS)}.")
    from skimage import data as skdata

    return load_image(getattr(skdata, name)(), size, device)


def paper_image(name: str, size: int | None = None, device: torch.device | str = "cpu") -> Picture:
    """Catalogue image ``name`` (or a scikit-image picture by name), falling back when it cannot be had."""
    if name in FALLBACKS:
        return Picture(skimage_image(name, size, device), name, FALLBACKS[name], False)
    entry = CATALOGUE.get(name)
    if entry is None:
        raise ImageError(f"unknown image {name!r}; choose one of {', '.join([*CATALOGUE, *FALLBACKS])}.")
    try:
        image = load_image(catalogue_path(name), size, device)
        return Picture(image, name, f"{entry.title}. {entry.credit} ({entry.licence})", False)
    except ImageError as err:
        image = skimage_image(entry.fallback, size, device)
        return Picture(image, entry.fallback, f"scikit-image's {entry.fallback!r} ({FALLBACKS[entry.fallback]}), "
                       f"standing in for {entry.title}: {err}", True)
