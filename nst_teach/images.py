"""Images in and out: load, convert to RGB, resize, save (figures: :mod:`nst_teach.plots`).

Tensors are ``(1, 3, H, W)`` float32 RGB in [0, 1]. Pillow does the decoding;
every failure a user can cause becomes one :class:`ImageError` naming the file.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Literal, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as nnf
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError
from torch import Tensor

from nst_teach.errors import ImageError

__all__ = ["MAX_PIXELS", "RANDOM_NOTE", "ImageSource", "load_image", "resample", "resize", "save_image", "to_pil"]

ImageSource = Union[str, os.PathLike, Image.Image, np.ndarray, Tensor]

#: What every figure made with random weights says.
RANDOM_NOTE = "RANDOM VGG19 WEIGHTS (not the paper's trained network)"

#: Larger images are refused as possible decompression bombs (Pillow's own default limit).
MAX_PIXELS: int = Image.MAX_IMAGE_PIXELS or 89_478_485


def _open(path: Path) -> Image.Image:
    if not path.exists():
        raise ImageError(f"image not found: {path}. Check the path and the current folder ({Path.cwd()}).")
    if path.is_dir():
        raise ImageError(f"{path} is a folder, not an image file.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
            image.load()  # decode now, so truncation shows here
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageError(f"{path} is too large to be safe to decode ({err}). "
                         f"Resize it below {MAX_PIXELS:,} pixels first.") from err
    except UnidentifiedImageError as err:
        raise ImageError(f"{path} is not an image Pillow can read. Use a PNG or JPEG file.") from err
    except OSError as err:  # "image file is truncated", broken data streams
        raise ImageError(f"{path} is damaged or truncated ({err}). Re-download or re-export it.") from err
    return image


def _to_rgb(image: Image.Image) -> np.ndarray:
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


def _array_to_rgb(array: np.ndarray) -> np.ndarray:
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


def load_image(source: ImageSource, size: int | None = None, device: torch.device | str = "cpu") -> Tensor:
    """Load an image as a ``(1, 3, H, W)`` float32 tensor in [0, 1].

    Args:
        source: a path, a PIL image, an array ``(H, W[, 3|4])`` (uint8, uint16
            or float in [0, 1]), or a tensor ``(3, H, W)`` / ``(1, 3, H, W)``.
        size: if given, resize so that the longest side is ``size`` pixels.
        device: where the tensor goes.

    EXIF orientation is applied; grey, palette, RGBA (on white), CMYK and
    16-bit images become RGB.

    Raises:
        ImageError: missing file, not an image, truncated, or too large.
    """
    if isinstance(source, Tensor):
        x = source.detach().float()
        x = x.unsqueeze(0) if x.ndim == 3 else x
        if x.ndim != 4 or x.shape[:2] != (1, 3):
            raise ImageError(f"an image tensor must be (3, H, W) or (1, 3, H, W), got {tuple(source.shape)}")
        x = x.clamp(0, 1)
    else:
        if isinstance(source, Image.Image):
            rgb = _to_rgb(source)
        elif isinstance(source, np.ndarray):
            rgb = _array_to_rgb(source)
        elif isinstance(source, (str, os.PathLike)):
            rgb = _to_rgb(_open(Path(source).expanduser()))
        else:
            raise ImageError(f"cannot load an image from a {type(source).__name__}; give a path, PIL image or array.")
        x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).unsqueeze(0)
    if size is not None:
        x = resize(x, size)
    return x.to(device)


def resize(image: Tensor, size: int | Sequence[int]) -> Tensor:
    """Resize ``(B, 3, H, W)``: an int is the longest side, a pair is ``(H, W)``.

    Antialiased bilinear, so shrinking does not alias.
    """
    if isinstance(size, int):
        if size < 8:
            raise ImageError(f"size {size} is too small; the longest side must be at least 8 pixels.")
        h, w = image.shape[-2:]
        scale = size / max(h, w)
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
    size = (int(size[0]), int(size[1]))
    if tuple(image.shape[-2:]) == size:
        return image
    return nnf.interpolate(image, size=size, mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)


def resample(image: Tensor, size: tuple[int, int], mode: Literal["bilinear", "nearest"] = "bilinear") -> Tensor:
    """``image`` at ``size = (H, W)``: :func:`resize` (antialiased bilinear) or nearest neighbour."""
    if mode == "bilinear" or tuple(image.shape[-2:]) == tuple(size):
        return resize(image, size)
    return nnf.interpolate(image, size=size, mode="nearest")


def to_pil(image: Tensor) -> Image.Image:
    """First image of a batch (or a ``(3, H, W)`` tensor) as an 8-bit PIL image."""
    x = image.detach()
    x = x[0] if x.ndim == 4 else x
    array = (x.float().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255.0 + 0.5).astype(np.uint8)
    return Image.fromarray(array)


def save_image(image: Tensor, path: str | os.PathLike[str], metadata: dict[str, str] | None = None) -> Path:
    """Save as PNG; ``metadata`` goes into PNG text chunks (e.g. which weights made it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    info = PngImagePlugin.PngInfo()
    for key, value in (metadata or {}).items():
        info.add_text(key, value)
    to_pil(image).save(path, format="PNG", pnginfo=info)
    return path
