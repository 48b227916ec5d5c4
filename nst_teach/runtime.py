"""How a run uses its machine: the device, the compute precision, memory layout, CPU memory reuse (malloc tuning) and CUDA graphs.

``auto`` picks CUDA, then Apple's MPS, then the CPU. The network may run in
bfloat16 (autocast) while the losses and L-BFGS stay in float32: the
benchmark (``nst-teach bench``) measures what that costs in quality.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import sys
import threading
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Callable, Hashable, Iterator

import torch

from nst_teach.errors import NstTeachError

__all__ = ["BFLOAT16_SWITCH", "DEVICE_SWITCH", "autocast_dtype", "cpu_has_fast_bf16", "glibc", "graphed",
           "is_channels_last", "layout", "pick_device", "resolve_precision", "reuse_freed_memory"]


#: When set, what ``"auto"`` means: for the lessons, the CLI and every subprocess (the tests pin the CPU with it).
DEVICE_SWITCH = "NST_TEACH_DEVICE"


def pick_device(override: str | torch.device | None = None) -> torch.device:
    """``override`` if given (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``), else ``$NST_TEACH_DEVICE`` if set,
    else CUDA > MPS > CPU."""
    if override is None or str(override) == "auto":
        override = os.environ.get(DEVICE_SWITCH, "").strip() or None
    if override is not None and str(override) != "auto":
        try:
            device = torch.device(override)
        except (RuntimeError, TypeError):
            raise NstTeachError(f"unknown device {override!r}: use auto, cpu, cuda, cuda:N or mps.") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise NstTeachError(f"device {override!r} was asked for, but CUDA is not available here; use --device cpu.")
        if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
            raise NstTeachError(f"device {override!r} was asked for, but this machine has {torch.cuda.device_count()} "
                                "CUDA device(s), numbered from 0.")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise NstTeachError(f"device {override!r} was asked for, but MPS is not available here; use --device cpu.")
        if device.type not in ("cpu", "cuda", "mps"):
            raise NstTeachError(f"unsupported device {override!r}: use auto, cpu, cuda, cuda:N or mps.")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


#: Set to ``0`` (``false``, ``no``, ``off``) and ``precision="auto"`` runs float32 on every CPU, as on a laptop
#: without fast bfloat16. Read each time ``"auto"`` is resolved, so notebooks and subprocesses honour it.
BFLOAT16_SWITCH = "NST_TEACH_BFLOAT16"
#: oneDNN's ISA caps (``ONEDNN_MAX_CPU_ISA``) below which it has no bfloat16 matrix instructions to use.
_ONEDNN_WITHOUT_BF16 = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI")


#: Linux's CPU description: its ``flags`` lines name the instruction sets (where PyTorch has no probe of its own).
CPUINFO = Path("/proc/cpuinfo")


@lru_cache(maxsize=1)
def _cpu_has_bf16_instructions() -> bool:
    """AMX or AVX512-BF16 on this CPU, as PyTorch's cpuinfo sees it (Linux, Windows, macOS); else Linux's flags."""
    probes = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    if all(callable(probe) for probe in probes):
        return any(probe() for probe in probes)  # type: ignore[misc]
    flags = CPUINFO.read_text(encoding="utf-8").split() if CPUINFO.is_file() else []
    return "amx_bf16" in flags or "avx512_bf16" in flags


def cpu_has_fast_bf16() -> bool:
    """True when the CPU computes bfloat16 fast (AMX-BF16, AVX512-BF16) and ``ONEDNN_MAX_CPU_ISA`` lets oneDNN use
    it. Elsewhere bfloat16 is emulated, slower than float32 (most laptops' AVX2, Apple silicon)."""
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
    return _cpu_has_bf16_instructions() and cap not in _ONEDNN_WITHOUT_BF16


@lru_cache(maxsize=1)
def _warn_emulated() -> None:  # once per process
    warnings.warn("precision='bfloat16' on a CPU without fast bfloat16 (AMX or AVX512-BF16, or with ONEDNN_MAX_CPU_ISA "
                  "capping it): it is emulated, slower than float32. Use precision='auto' or 'float32'.", RuntimeWarning,
                  stacklevel=3)


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``precision`` on ``device``; None means plain float32.

    ``"auto"`` is bfloat16 on a CPU that computes it fast (:func:`cpu_has_fast_bf16`): there
    a step costs 0.6 of a float32 one, and the run reaches a given loss sooner. Everywhere
    else, and wherever ``NST_TEACH_BFLOAT16=0`` (:data:`BFLOAT16_SWITCH`), it is float32: on CUDA
    the float32 steps are replayed as CUDA graphs (:func:`graphed`), which bfloat16 did not beat on an
    H100 (``benchmarks/RESULTS-gpu.md``). ``"bfloat16"`` is bfloat16 everywhere; on a CPU that can only
    emulate it, it warns once.
    """
    if precision == "float32":
        return None
    if precision == "bfloat16":
        if device.type == "cpu" and not cpu_has_fast_bf16():
            _warn_emulated()
        return torch.bfloat16
    if precision == "auto":
        switched_off = os.environ.get(BFLOAT16_SWITCH, "").strip().lower() in ("0", "false", "no", "off")
        return torch.bfloat16 if device.type == "cpu" and not switched_off and cpu_has_fast_bf16() else None
    raise NstTeachError(f"precision must be 'auto', 'float32' or 'bfloat16', got {precision!r}")


@contextlib.contextmanager
def autocast_dtype(device: torch.device, precision: str = "float32") -> Iterator[None]:
    """Run the network under autocast on ``device`` when ``precision`` asks for it."""
    dtype = resolve_precision(precision, device)
    if dtype is None:
        yield
        return
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield


# glibc's mallopt parameters (malloc.h) and their documented defaults.
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4
_DEFAULTS = {_M_TRIM_THRESHOLD: 128 * 1024, _M_MMAP_MAX: 65536}
_RUN_SETTINGS = {_M_TRIM_THRESHOLD: 1 << 30, _M_MMAP_MAX: 0}
_runs = 0  # optimisations in progress (notebook threads may overlap)
_runs_lock = threading.Lock()


@lru_cache(maxsize=1)
def glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (Linux), else None."""
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


@contextlib.contextmanager
def reuse_freed_memory(device: torch.device) -> Iterator[None]:
    """During a CPU run on Linux, let large tensors reuse memory freed by the step before.

    glibc gives each allocation above its mmap threshold (which grows to at
    most 32 MB) a fresh ``mmap`` and unmaps it on ``free``, and the kernel
    zeroes each new page on first touch. It also trims the heap's free top.
    At 512 px, block 1's feature maps and their gradients are 50 MB each,
    allocated and freed at every step, and that zeroing cost a noticeable share
    of the step time (measured in ``benchmarks/README.md``). Inside this context,
    ``mallopt`` serves them from the heap instead, which the next step reuses.
    On exit the defaults come back and
    ``malloc_trim(0)`` hands the freed heap back to the system. Does nothing
    on other devices or C libraries (macOS, Windows, musl).
    """
    global _runs
    libc = glibc() if device.type == "cpu" else None
    if libc is None:
        yield
        return
    with _runs_lock:
        _runs += 1
        if _runs == 1:
            for param, value in _RUN_SETTINGS.items():
                libc.mallopt(param, value)
    try:
        yield
    finally:
        with _runs_lock:
            _runs -= 1
            if _runs == 0:
                for param, value in _DEFAULTS.items():
                    libc.mallopt(param, value)
                libc.malloc_trim(0)


def is_channels_last(encoder: torch.nn.Module) -> bool:
    """True when the encoder's convolution weights are in the NHWC layout (the engine's default)."""
    conv = next(m for m in encoder.modules() if isinstance(m, torch.nn.Conv2d))
    return conv.weight.is_contiguous(memory_format=torch.channels_last)


@contextlib.contextmanager
def layout(encoder: torch.nn.Module, channels_last: bool) -> Iterator[torch.nn.Module]:
    """Run ``encoder`` in the NHWC (``channels_last``) or NCHW layout for a while, then go back.

    The layout picks which convolution kernels run, and their float32 results
    differ in the last bits. Optimisation amplifies such differences, so targets
    computed before a run and after it must see the same layout: the encoder
    always returns to the one it had.
    """
    before = is_channels_last(encoder)
    encoder.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    try:
        yield encoder
    finally:
        encoder.to(memory_format=torch.channels_last if before else torch.contiguous_format)


class _Terms(torch.nn.Module):
    """``fn(x)``'s loss terms as a tuple, in the order of ``names``: what a CUDA graph can capture."""

    def __init__(self, fn: Callable[[torch.Tensor], dict[str, torch.Tensor]], names: list[str]) -> None:
        super().__init__()
        self.fn, self.names = fn, names

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        terms = self.fn(x)
        return tuple(terms[name] for name in self.names)


def graphed(cache: dict, key: Hashable, fn: Callable[[torch.Tensor], dict[str, torch.Tensor]],
            x: torch.Tensor) -> dict[str, torch.Tensor]:
    """``fn(x)``, a dict of loss terms of ``x``, on CUDA replayed as two CUDA graphs (forward and backward).

    A step of the paper's method launches some 300 small kernels, and on a fast GPU the host
    launching them, not the arithmetic, sets the pace. :func:`torch.cuda.make_graphed_callables`
    captures the forward pass and its backward once per ``key`` and image shape (one capture per
    coarse-to-fine level, kept in ``cache``), after which a step launches two graphs. The
    arithmetic is the same, so are the results. Elsewhere (CPU, MPS) this is ``fn(x)``.
    """
    if x.device.type != "cuda":
        return fn(x)
    key = (key, tuple(x.shape), x.stride())
    if key not in cache:
        names = list(fn(x.detach()).keys())  # one eager pass: which terms there are
        sample = x.detach().clone().requires_grad_(True)
        cache[key] = names, torch.cuda.make_graphed_callables(_Terms(fn, names), (sample,), num_warmup_iters=3)
    names, replay = cache[key]
    return dict(zip(names, replay(x)))
