"""Devices and compute precision.

``auto`` picks CUDA, then Apple's MPS, then the CPU. The network may run in
bfloat16 (autocast) while the losses and L-BFGS stay in float32: the
benchmark (``nst-teach bench``) measures what that costs in quality.
"""

from __future__ import annotations

import contextlib
from functools import lru_cache
from typing import Iterator

import torch

from nst_teach.errors import NstTeachError

__all__ = ["autocast_dtype", "cpu_has_fast_bf16", "pick_device", "resolve_precision"]


def pick_device(override: str | None = None) -> torch.device:
    """``override`` if given (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``), else CUDA > MPS > CPU."""
    if override and override != "auto":
        device = torch.device(override)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise NstTeachError(f"device {override!r} was asked for, but CUDA is not available here; use --device cpu.")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise NstTeachError(f"device {override!r} was asked for, but MPS is not available here; use --device cpu.")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@lru_cache(maxsize=1)
def cpu_has_fast_bf16() -> bool:
    """True when the CPU has bfloat16 matrix instructions (AMX-BF16 or AVX512-BF16)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = f.read()
        return "amx_bf16" in flags or "avx512_bf16" in flags
    except OSError:
        return False


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``precision`` on ``device``; None means plain float32."""
    if precision == "float32":
        return None
    if precision == "bfloat16":
        return torch.bfloat16
    if precision == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        if device.type == "cpu" and cpu_has_fast_bf16():
            return torch.bfloat16
        return None
    raise ValueError(f"precision must be 'auto', 'float32' or 'bfloat16', got {precision!r}")


@contextlib.contextmanager
def autocast_dtype(device: torch.device, precision: str = "float32") -> Iterator[None]:
    """Run the network under autocast on ``device`` when ``precision`` asks for it."""
    dtype = resolve_precision(precision, device)
    if dtype is None:
        yield
        return
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield
