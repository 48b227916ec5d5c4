"""Images in and out: load, convert to RGB, resize, save (figures: :mod:`nst_teach.classroom.plots`).

Tensors are ``(1, 3, H, W)`` float32 RGB in [0, 1]. Pillow does the decoding
(:mod:`nst_teach.decoding`); every failure a user can cause becomes one :class:`ImageError`
naming the file.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Sequence, Union

import numpy as np
import torch
import torch.nn.functional as nnf
from PIL import Image, PngImagePlugin
from torch import Tensor

from nst_teach.decoding import MAX_PIXELS, array_to_rgb, open_image_file, pil_to_rgb
from nst_teach.errors import ImageError, NstTeachError, check_number

__all__ = ["MAX_PIXELS", "MAX_SIDE", "MIN_SIDE", "RANDOM_NOTE", "check_side", "ImageSource", "image_size", "load_image",
           "resize", "save_image", "to_pil", "write_atomically"]

ImageSource = Union[str, os.PathLike, Image.Image, np.ndarray, Tensor]

#: What every figure made with random weights says.
RANDOM_NOTE = "RANDOM VGG19 WEIGHTS (not the paper's trained network)"


#: The longest side an image is resized to: at 4096 px, relu1_1's maps alone take 4 GB in float32.
MAX_SIDE = 4096
#: The shortest: below 16 px, relu5_1's map (four poolings down) is empty.
MIN_SIDE = 16


def check_side(name: str, side: object) -> None:
    """A side in pixels to resize to: a whole number from :data:`MIN_SIDE` to :data:`MAX_SIDE`."""
    check_number(name, side, MIN_SIDE, MAX_SIDE, whole=True)


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
            rgb = pil_to_rgb(source)
        elif isinstance(source, np.ndarray):
            rgb = array_to_rgb(source)
        elif isinstance(source, (str, os.PathLike)):
            rgb = pil_to_rgb(open_image_file(Path(source).expanduser()))
        else:
            raise ImageError(f"cannot load an image from a {type(source).__name__}; give a path, PIL image or array.")
        x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).unsqueeze(0)
    if size is not None:
        check_side("size", size)
        x = resize(x, size)
    return x.to(device)


def resize(image: Tensor, size: int | Sequence[int]) -> Tensor:
    """Resize ``(B, 3, H, W)``: an int is the longest side, a pair is ``(H, W)``.

    Antialiased bilinear, so shrinking does not alias.
    """
    if isinstance(size, int):
        check_number("size", size, 8, 8192, whole=True)
        h, w = image.shape[-2:]
        scale = size / max(h, w)
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
    size = (int(size[0]), int(size[1]))
    if tuple(image.shape[-2:]) == size:
        return image
    return nnf.interpolate(image, size=size, mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)


def to_pil(image: Tensor) -> Image.Image:
    """First image of a batch (or a ``(3, H, W)`` tensor) as an 8-bit PIL image."""
    x = image.detach()
    x = x[0] if x.ndim == 4 else x
    array = (x.float().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255.0 + 0.5).astype(np.uint8)
    return Image.fromarray(array)


def image_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """``(H, W)`` of an image file as :func:`load_image` would load it (EXIF orientation applied), without decoding it."""
    image = open_image_file(Path(path).expanduser(), decode=False)
    rotated = image.getexif().get(0x0112, 1) in (5, 6, 7, 8)  # EXIF orientations that swap width and height
    return (image.width, image.height) if rotated else (image.height, image.width)


def save_image(image: Tensor, path: str | os.PathLike[str], metadata: dict[str, str] | None = None) -> Path:
    """Save as PNG, whole or not at all (:func:`write_atomically`); ``metadata`` goes into PNG text chunks
    (e.g. which weights made it)."""
    info = PngImagePlugin.PngInfo()
    for key, value in (metadata or {}).items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    to_pil(image).save(buffer, format="PNG", pnginfo=info)
    return write_atomically(path, buffer.getvalue())


def write_atomically(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path``, making its folder if missing: into a temporary file beside it, then renamed,
    so that an interrupted or failed write never leaves a partial file."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(handle, 0o666 & ~umask)  # as open() would make it, not mkstemp's private 0600
            with os.fdopen(handle, "wb") as f:
                f.write(data)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as err:
        raise NstTeachError(f"could not write {path} ({err.strerror or err}); choose another path") from err
    return path
