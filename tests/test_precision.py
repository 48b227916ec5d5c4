import ctypes

import pytest
import torch

from nst_teach import Settings, synthesize_texture
from nst_teach.precision import _glibc, reuse_freed_memory

glibc = _glibc()
needs_glibc = pytest.mark.skipif(glibc is None, reason="mallopt is glibc's (Linux); elsewhere the context does nothing")


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                      "fsmblks", "uordblks", "fordblks", "keepcost")]


def _mmapped_mb_for_a_large_tensor() -> float:
    """How much of a new 64 MB tensor glibc serves with its own mmap (hblkhd: bytes in mmapped blocks)."""
    glibc.mallinfo2.restype = _MallInfo2
    before = glibc.mallinfo2().hblkhd
    x = torch.empty(16 * 2**20)  # 64 MB of float32
    after = glibc.mallinfo2().hblkhd
    del x
    return (after - before) / 2**20


@needs_glibc
def test_large_cpu_tensors_come_from_the_heap_only_inside_the_context():
    assert _mmapped_mb_for_a_large_tensor() >= 64  # glibc's default: above 32 MB, a fresh mmap
    with reuse_freed_memory(torch.device("cpu")):
        assert _mmapped_mb_for_a_large_tensor() == 0
        with reuse_freed_memory(torch.device("cpu")):  # nested runs (notebook threads)
            pass
        assert _mmapped_mb_for_a_large_tensor() == 0  # the inner exit did not restore the defaults
    assert _mmapped_mb_for_a_large_tensor() >= 64
    with reuse_freed_memory(torch.device("cuda")):  # other devices: nothing changes
        assert _mmapped_mb_for_a_large_tensor() >= 64


@needs_glibc
def test_the_engine_restores_the_defaults_after_an_interrupt(encoder, texture):
    def interrupt(progress):
        assert _mmapped_mb_for_a_large_tensor() == 0  # the run reuses the heap
        raise KeyboardInterrupt

    result = synthesize_texture(encoder, texture, ["conv1_1"], Settings(steps=5, every=1), callback=interrupt)
    assert result.status == "interrupted"
    assert _mmapped_mb_for_a_large_tensor() >= 64
