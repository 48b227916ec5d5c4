import ctypes
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nst_teach.precision import glibc as find_glibc

glibc = find_glibc()
needs_glibc = pytest.mark.skipif(glibc is None, reason="mallopt is glibc's (Linux); elsewhere the context does nothing")


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                      "fsmblks", "uordblks", "fordblks", "keepcost")]


def _mmapped_mb_for_a_large_tensor(mb: int) -> float:
    """How much of a new ``mb`` MB tensor glibc serves with its own mmap (hblkhd: bytes in mmapped blocks).

    Its pages are never touched, so even a large one costs no resident memory.
    """
    glibc.mallinfo2.restype = _MallInfo2
    before = glibc.mallinfo2().hblkhd
    x = torch.empty(mb * 2**18)  # float32
    after = glibc.mallinfo2().hblkhd
    del x
    return (after - before) / 2**20


_CONTEXT_CHECK = """
import torch
from nst_teach.precision import reuse_freed_memory
from tests.test_precision import _mmapped_mb_for_a_large_tensor as mmapped

assert mmapped(64) >= 64, "glibc's default: above its mmap threshold (at most 32 MB), a fresh mmap"
with reuse_freed_memory(torch.device("cpu")):
    assert mmapped(64) == 0
    with reuse_freed_memory(torch.device("cpu")):  # nested runs (notebook threads)
        pass
    assert mmapped(64) == 0, "the inner exit must not restore the defaults"
# Larger than anything the heap holds now (a freed heap block may serve a request of its size):
assert mmapped(256) >= 256, "the defaults are back"
with reuse_freed_memory(torch.device("cuda")):  # other devices: nothing changes
    assert mmapped(512) >= 512

# the engine: heap during the run, defaults back after an interrupt
from nst_teach import Settings, load_vgg19_features, synthesize_texture

def interrupt(progress):
    assert mmapped(64) == 0, "the run should reuse the heap"
    raise KeyboardInterrupt

encoder = load_vgg19_features("random")
result = synthesize_texture(encoder, torch.rand(1, 3, 32, 32), ["conv1_1"], Settings(steps=5, every=1),
                            callback=interrupt)
assert result.status == "interrupted"
assert mmapped(1024) >= 1024, "the defaults are back after an interrupt"
print("ok")
"""


@needs_glibc
def test_large_cpu_tensors_come_from_the_heap_only_inside_a_run():
    # A fresh process: in this one, another test's run may still be going on in a thread.
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", _CONTEXT_CHECK], cwd=root, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_auto_precision_is_bfloat16_only_on_a_cpu_that_computes_it_fast():
    from nst_teach.precision import cpu_has_fast_bf16, resolve_precision

    cpu = resolve_precision("auto", torch.device("cpu"))
    assert cpu == (torch.bfloat16 if cpu_has_fast_bf16() else None)
    assert resolve_precision("auto", torch.device("cuda")) is None  # float32 there: its steps replay as CUDA graphs
    assert resolve_precision("float32", torch.device("cpu")) is None
    assert resolve_precision("bfloat16", torch.device("cuda")) is torch.bfloat16


def test_an_unknown_or_absent_device_is_one_clear_error():
    from nst_teach import NstTeachError, load_vgg19_features
    from nst_teach.precision import pick_device

    for device, needle in (("gpu", "unknown device 'gpu'"), ("xpu", "unsupported device"), ("cuda:7", "CUDA")):
        with pytest.raises(NstTeachError, match=needle):
            pick_device(device)
    with pytest.raises(NstTeachError, match="unknown device"):
        load_vgg19_features("random", device="gpu")
