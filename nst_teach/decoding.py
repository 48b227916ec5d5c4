"""Decoding: any image file, Pillow image or array to RGB in [0, 1], with one clear error per failure.

EXIF orientation is applied; grey, palette, RGBA (composited on white), CMYK and 16-bit
images become RGB. :func:`nst_teach.images.load_image` uses these.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from nst_teach.errors import ImageError

__all__ = ["MAX_PIXELS", "array_to_rgb", "open_image_file", "pil_to_rgb"]

#: Larger images are refused as possible decompression bombs (Pillow's own default limit).
MAX_PIXELS: int = Image.MAX_IMAGE_PIXELS or 89_478_485


def open_image_file(path: Path, decode: bool = True) -> Image.Image:
    """Open and decode ``path`` with Pillow (``decode=False``: only read its header); every failure a user can
    cause is one :class:`ImageError`."""
    if not path.exists():
        raise ImageError(f"image not found: {path}. Check the path and the current folder ({Path.cwd()}).")
    if path.is_dir():
        raise ImageError(f"{path} is a folder, not an image file.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
            if decode:
                image.load()  # decode now, so truncation shows here
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageError(f"{path} is too large to be safe to decode ({err}). "
                         f"Resize it below {MAX_PIXELS:,} pixels first.") from err
    except UnidentifiedImageError as err:
        raise ImageError(f"{path} is not an image Pillow can read. Use a PNG or JPEG file.") from err
    except OSError as err:  # "image file is truncated", broken data streams
        raise ImageError(f"{path} is damaged or truncated ({err}). Re-download or re-export it.") from err
    return image


def pil_to_rgb(image: Image.Image) -> np.ndarray:
    """Any Pillow mode -> float32 ``(H, W, 3)`` in [0, 1]."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit grey (and 32-bit ints holding 16-bit data)
        grey = np.asarray(image, dtype=np.float32) / 65535.0
        return np.repeat(np.clip(grey, 0, 1)[..., None], 3, axis=2)
    if image.mode == "F":
        grey = np.asarray(image, dtype=np.float32)
        grey = grey / 255.0 if grey.max(initial=0) > 1 else grey
        return np.repeat(np.clip(grey, 0, 1)[..., None], 3, axis=2)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0


def array_to_rgb(array: np.ndarray) -> np.ndarray:
    """An array ``(H, W[, 1|3|4])`` of uint8, uint16 or floats in [0, 1] -> float32 ``(H, W, 3)`` in [0, 1]."""
    a = np.asarray(array)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4):
        raise ImageError(f"an image array must be (H, W), (H, W, 3) or (H, W, 4), got shape {a.shape}")
    if a.dtype == np.uint8:
        a = a.astype(np.float32) / 255.0
    elif a.dtype == np.uint16:
        a = a.astype(np.float32) / 65535.0
    else:
        a = np.clip(a.astype(np.float32), 0.0, 1.0)
    if a.shape[2] == 4:  # composite on white
        a = a[..., :3] * a[..., 3:] + (1.0 - a[..., 3:])
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    return a
