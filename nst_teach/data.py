"""A small catalogue of the paper's images, with credits, fetched on first use.

Where the files come from, first match wins:

1. ``$NST_TEACH_IMAGES``: a local folder (CI points it at ``../shared/images``;
   an instructor can pre-stage one for a classroom without internet);
2. the user cache (``pooch.os_cache("nst-teach")``), filled by a download on
   first use with pooch;
3. otherwise :func:`paper_image` falls back to a similar picture that
   scikit-image ships, and says so in the returned :class:`Picture`.

Set ``NST_TEACH_OFFLINE=1`` to skip the download attempt.

Every download is pinned and verified: each entry names a URL at a fixed commit (or a
permanent address) and the file's hash, which pooch checks; a file that does not match is
not kept. A local folder may hold differently encoded copies: they are used as they are,
since the hash is checked only on download. ``nst-teach images --download DIR`` writes
every catalogue image, verified, into ``DIR`` for ``NST_TEACH_IMAGES`` (an offline kit).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from nst_teach.errors import ImageError
from nst_teach.images import load_image

__all__ = ["CATALOGUE", "FALLBACKS", "CatalogueEntry", "Picture", "catalogue_path", "check_image_name", "download_all",
           "images_command", "paper_image", "skimage_image"]

#: jcjohnson/neural-style's example inputs, at a fixed commit (its master has no composition_vii.jpg).
_NEURAL_STYLE = ("https://raw.githubusercontent.com/jcjohnson/neural-style/"
                 "07c4b8299f8fbdafec0c514fc820ff1d7ff62e46/examples/inputs/")


@dataclass(frozen=True)
class CatalogueEntry:
    file: str  # file name, in $NST_TEACH_IMAGES or the cache
    title: str
    credit: str  # show this wherever the image is shown
    licence: str
    fallback: str  # scikit-image picture used when the file cannot be had
    url: str  # pinned: a fixed commit or a permanent address
    known_hash: str  # "sha256:..." or "md5:...", checked by pooch on download


CATALOGUE: dict[str, CatalogueEntry] = {
    "tubingen": CatalogueEntry(
        "tubingen.jpg", "Neckarfront in Tübingen (content of Fig. 3)", "Photograph by Andreas Praefcke", "CC BY 3.0",
        "astronaut", _NEURAL_STYLE + "tubingen.jpg",
        "sha256:e67d1869f01fd805385c681a80d9ebcf0f70ea4a5fe6127f0606bb1c7f4bf506"),
    "shipwreck": CatalogueEntry(
        "shipwreck.jpg", "The Shipwreck of the Minotaur (Fig. 3B)", "J. M. W. Turner, 1805", "public domain",
        "gravel", _NEURAL_STYLE + "shipwreck.jpg",
        "sha256:4f7cf34e3cd4a5daaf3f421f059ca9a01aaa2a3afd7243d6670c9c8bc001a213"),
    "starry_night": CatalogueEntry(
        "starry_night.jpg", "The Starry Night (Fig. 3C)", "Vincent van Gogh, 1889", "public domain",
        "grass", _NEURAL_STYLE + "starry_night.jpg",
        "sha256:0592ab0f7b51b3ce72608a95e53880bd93971e5b48f93a0ce8dfd3cbccf3d098"),
    "the_scream": CatalogueEntry(
        "the_scream.jpg", "The Scream (Fig. 3D)", "Edvard Munch, 1893", "public domain",
        "brick", _NEURAL_STYLE + "the_scream.jpg",
        "sha256:f3075cddeb974a9ee1d6418f7f33fd05185a7ac7dcb4288bd2805d499a9dcaee"),
    # Not in neural-style's inputs: Wikimedia Commons' file, as pystiche's replication of the paper lists it.
    "composition_vii": CatalogueEntry(
        "composition_vii.jpg", "Composition VII (Fig. 3F; arXiv Fig. 3)", "Wassily Kandinsky, 1913",
        "public domain", "coffee",
        "https://upload.wikimedia.org/wikipedia/commons/b/b4/Vassily_Kandinsky%2C_1913_-_Composition_7.jpg",
        "md5:bfcbc420684bf27d2d8581fa8cc9522f"),
    "woman_with_hat": CatalogueEntry(
        "woman-with-hat-matisse.jpg", "Woman with a Hat", "Henri Matisse, 1905", "public domain in the US",
        "chelsea", _NEURAL_STYLE + "woman-with-hat-matisse.jpg",
        "sha256:6a8b2383d9c110354a97a42c74bdcc5341be879cbb842ddb7ab5843dbdf56d53"),
}

#: Pictures shipped by scikit-image: photographs and textures.
FALLBACKS: dict[str, str] = {
    "astronaut": "photograph: Eileen Collins (NASA, public domain)",
    "coffee": "photograph: a cup of coffee (Rachel Michetti, CC0)",
    "chelsea": "photograph: Chelsea the cat (Stefan van der Walt, CC0)",
    "rocket": "photograph: DSCOVR's launch on a Falcon 9 (SpaceX, public domain)",
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
    return _download(entry, cached.parent)


def _download(entry: CatalogueEntry, folder: Path) -> Path:
    """Fetch ``entry`` into ``folder`` and check its hash; a file that does not match is not kept."""
    import pooch

    try:
        return Path(pooch.retrieve(entry.url, known_hash=entry.known_hash, fname=entry.file, path=folder,
                                   progressbar=False, downloader=pooch.HTTPDownloader(timeout=20)))
    except ValueError as err:  # pooch: hash mismatch (it deletes the download)
        (folder / entry.file).unlink(missing_ok=True)
        raise ImageError(f"{entry.file} from {entry.url} does not match its known hash ({entry.known_hash}): "
                         "the file was not kept. The source may have changed; report it, or put a copy you "
                         "trust in a folder and set NST_TEACH_IMAGES.") from err
    except Exception as err:  # no network, HTTP errors: all mean "cannot be had now"
        raise ImageError(f"could not download {entry.file} from {entry.url} ({type(err).__name__}); "
                         "connect once, or set NST_TEACH_IMAGES to a folder that has it.") from err


def download_all(folder: str | os.PathLike[str]) -> list[Path]:
    """Write every catalogue image, verified, into ``folder``: a kit for ``NST_TEACH_IMAGES``."""
    target = Path(folder).expanduser()
    target.mkdir(parents=True, exist_ok=True)
    return [_download(entry, target) for entry in CATALOGUE.values()]


def skimage_image(name: str, size: int | None = None, device: torch.device | str = "cpu") -> Tensor:
    """A picture that scikit-image ships (see :data:`FALLBACKS`), as a tensor."""
    if name not in FALLBACKS:
        raise ImageError(f"unknown scikit-image picture {name!r}; choose one of {', '.join(FALLBACKS)}.")
    from skimage import data as skdata

    return load_image(getattr(skdata, name)(), size, device)


def check_image_name(name: object, field: str = "name") -> None:
    """``name`` is a catalogue image or a scikit-image picture (what :func:`paper_image` takes)."""
    if name not in CATALOGUE and name not in FALLBACKS:
        raise ImageError(f"{field} {name!r} is no image this package knows; choose one of "
                         f"{', '.join([*CATALOGUE, *FALLBACKS])}.", field)


def paper_image(name: str, size: int | None = None, device: torch.device | str = "cpu", *,
                stand_in: bool = True) -> Picture:
    """Catalogue image ``name`` (or a scikit-image picture by name), falling back when it cannot be had.

    ``stand_in=False`` (a benchmark, a published table): no fallback, the :class:`ImageError` that says why instead.
    """
    check_image_name(name)
    if name in FALLBACKS:
        return Picture(skimage_image(name, size, device), name, FALLBACKS[name], False)
    entry = CATALOGUE[name]
    try:
        image = load_image(catalogue_path(name), size, device)
        return Picture(image, name, f"{entry.title}. {entry.credit} ({entry.licence})", False)
    except ImageError as err:
        if not stand_in:
            raise
        image = skimage_image(entry.fallback, size, device)
        return Picture(image, entry.fallback, f"scikit-image's {entry.fallback!r} ({FALLBACKS[entry.fallback]}), "
                       f"standing in for {entry.title}: {err}", True)


def images_command(download: Path | None = None, check: bool = False) -> int:
    """``nst-teach images``: the catalogue; ``--download DIR``, a verified offline kit; ``--check``, every hash afresh."""
    import tempfile
    import urllib.request

    if download:  # each image on its own: one that cannot be had leaves the others verified in the kit
        folder = download.expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        missing = []
        for entry in CATALOGUE.values():
            try:
                print(f"ok: {_download(entry, folder)}")
            except ImageError as err:
                missing.append(entry.file)
                print(f"not written: {err}", file=sys.stderr)
        if missing:
            print(f"{len(missing)} of {len(CATALOGUE)} images are not in {folder} ({', '.join(missing)}); the others "
                  "are verified. Run the command again, or add a copy you trust of each missing one by hand.",
                  file=sys.stderr)
            return 1
        print(f"Every image is verified. Use them with: export NST_TEACH_IMAGES={folder.resolve()}")
        return 0
    if check:
        try:
            urllib.request.urlopen("https://raw.githubusercontent.com", timeout=5).close()
        except OSError:
            print("skipped: offline")
            return 0
        with tempfile.TemporaryDirectory() as scratch:
            paths = download_all(scratch)
        print(f"ok: all {len(paths)} catalogue images downloaded and matched their hashes")
        return 0
    for name, entry in CATALOGUE.items():
        print(f"{name}: {entry.title}. {entry.credit} ({entry.licence})\n  {entry.url}\n  {entry.known_hash}")
    return 0
