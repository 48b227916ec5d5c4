import ctypes
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nst_teach.runtime import glibc as find_glibc

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
from nst_teach.runtime import reuse_freed_memory
from tests.test_runtime import _mmapped_mb_for_a_large_tensor as mmapped

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
@pytest.mark.integration  # a fresh Python process
def test_large_cpu_tensors_come_from_the_heap_only_inside_a_run():
    # A fresh process: in this one, another test's run may still be going on in a thread.
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", _CONTEXT_CHECK], cwd=root, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


@pytest.mark.parametrize("fast", [True, False], ids=["fast-bf16-cpu", "laptop-cpu"])
def test_auto_precision_is_bfloat16_only_on_a_cpu_that_computes_it_fast(monkeypatch, fast):
    from nst_teach import runtime

    monkeypatch.delenv(runtime.BFLOAT16_SWITCH, raising=False)
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.setattr(runtime, "_cpu_has_bf16_instructions", lambda: fast)
    cpu = torch.device("cpu")
    assert runtime.cpu_has_fast_bf16() is fast
    assert runtime.resolve_precision("auto", cpu) == (torch.bfloat16 if fast else None)
    assert runtime.resolve_precision("auto", torch.device("cuda")) is None  # float32 there: CUDA graphs replay it
    assert runtime.resolve_precision("float32", cpu) is None
    assert runtime.resolve_precision("bfloat16", torch.device("cuda")) is torch.bfloat16
    # the plan follows: a bfloat16 phase and its float32 tail, or float32 alone
    from nst_teach import Settings
    from nst_teach.coarse_to_fine import plan

    phases = [p.precision for p in plan(Settings(steps=10), (64, 64), cpu)]
    assert phases == (["bfloat16", "float32"] if fast else ["float32"])


@pytest.mark.parametrize("setting", ["0", "false", "off"])
def test_the_switch_and_onednns_cap_turn_the_bfloat16_path_off(monkeypatch, setting):
    from nst_teach import runtime

    monkeypatch.setattr(runtime, "_cpu_has_bf16_instructions", lambda: True)
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.setenv(runtime.BFLOAT16_SWITCH, "1")
    assert runtime.resolve_precision("auto", torch.device("cpu")) is torch.bfloat16
    monkeypatch.setenv(runtime.BFLOAT16_SWITCH, setting)
    assert runtime.resolve_precision("auto", torch.device("cpu")) is None
    assert runtime.resolve_precision("bfloat16", torch.device("cpu")) is torch.bfloat16  # asked for by name: kept
    monkeypatch.delenv(runtime.BFLOAT16_SWITCH)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")  # oneDNN told to use nothing above AVX2: bfloat16 is emulated
    assert not runtime.cpu_has_fast_bf16() and runtime.resolve_precision("auto", torch.device("cpu")) is None
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_AMX")
    assert runtime.cpu_has_fast_bf16()


@pytest.mark.integration  # a fresh Python process
def test_the_switch_reaches_a_subprocess(tmp_path):
    """One documented variable, read where "auto" is resolved: a notebook's kernel or the CLI sees it too."""
    import os

    from nst_teach.runtime import BFLOAT16_SWITCH

    code = ("import os, torch; from nst_teach import runtime as p; p._cpu_has_bf16_instructions = lambda: True; "
            "print(p.resolve_precision('auto', torch.device('cpu'))); "  # a CPU with fast bfloat16, whatever runs it
            f"del os.environ[{BFLOAT16_SWITCH!r}]; print(p.resolve_precision('auto', torch.device('cpu')))")
    env = {k: v for k, v in os.environ.items() if k != "ONEDNN_MAX_CPU_ISA"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**env, BFLOAT16_SWITCH: "0"},
                          cwd=Path(__file__).resolve().parents[1])
    # the inherited switch turned bfloat16 off; without it, the same process would have used it
    assert proc.returncode == 0 and proc.stdout.split() == ["None", "torch.bfloat16"], (proc.stdout, proc.stderr)


def test_bfloat16_on_a_cpu_that_only_emulates_it_warns_once(monkeypatch):
    import warnings

    from nst_teach import runtime

    monkeypatch.setattr(runtime, "_cpu_has_bf16_instructions", lambda: False)
    runtime._warn_emulated.cache_clear()
    with pytest.warns(RuntimeWarning, match="emulated"):
        runtime.resolve_precision("bfloat16", torch.device("cpu"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        runtime.resolve_precision("bfloat16", torch.device("cpu"))  # once: no second warning
        runtime._warn_emulated.cache_clear()
        monkeypatch.setattr(runtime, "_cpu_has_bf16_instructions", lambda: True)
        monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
        runtime.resolve_precision("bfloat16", torch.device("cpu"))  # fast here: nothing to say


def test_the_device_switch_decides_what_auto_means(monkeypatch):
    from nst_teach.runtime import DEVICE_SWITCH, pick_device

    monkeypatch.setenv(DEVICE_SWITCH, "cpu")
    assert pick_device() == pick_device("auto") == torch.device("cpu")
    monkeypatch.setenv(DEVICE_SWITCH, "cuda:7")
    with pytest.raises(Exception, match="CUDA"):
        pick_device("auto")
    assert pick_device("cpu") == torch.device("cpu")  # a device named outright wins


def test_an_unknown_or_absent_device_is_one_clear_error():
    from nst_teach import NstTeachError, load_vgg19_features
    from nst_teach.runtime import pick_device

    for device, needle in (("gpu", "unknown device 'gpu'"), ("xpu", "unsupported device"), ("cuda:7", "CUDA")):
        with pytest.raises(NstTeachError, match=needle):
            pick_device(device)
    with pytest.raises(NstTeachError, match="unknown device"):
        load_vgg19_features("random", device="gpu")


@pytest.mark.skipif(not Path("/proc/cpuinfo").exists(), reason="compares with Linux's CPU flags")
def test_pytorchs_cpu_probe_agrees_with_linuxs_flags():
    """Two sources that could disagree: PyTorch's probe (CPUID, on every OS), which the detection asks, and the
    kernel's flags for this CPU, read here by hand (the words on its ``flags`` lines)."""
    from nst_teach import runtime

    words = {w for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags") for w in line.split()}
    assert runtime._cpu_has_bf16_instructions.__wrapped__() == bool(words & {"amx_bf16", "avx512_bf16"})


#: Flags lines as Linux prints them (shortened): an AVX2 laptop's, AVX-512 with FP16 but no BF16, Cooper Lake's
#: AVX512-BF16, and Sapphire Rapids' AMX (amx_tile alone is no bfloat16 unit).
_CPUS = {"flags\t\t: fpu sse2 avx avx2 fma bmi2": False, "flags\t\t: avx512f avx512bw avx512_fp16 amx_tile": False,
         "flags\t\t: avx512f avx512bw avx512_vnni avx512_bf16": True, "flags\t\t: avx512_fp16 amx_bf16 amx_tile amx_int8": True}


@pytest.mark.parametrize(("flags", "fast"), _CPUS.items(), ids=["avx2", "fp16-only", "avx512-bf16", "amx"])
def test_without_pytorchs_probe_the_kernels_flags_decide(monkeypatch, tmp_path, flags, fast):
    """Where PyTorch has no probe (older releases), the flags lines of /proc/cpuinfo decide, by whole words."""
    from nst_teach import runtime

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: a CPU\n{flags}\n")
    monkeypatch.setattr(runtime, "CPUINFO", cpuinfo)
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        monkeypatch.delattr(torch.cpu, probe, raising=False)
    assert runtime._cpu_has_bf16_instructions.__wrapped__() is fast
    monkeypatch.setattr(runtime, "CPUINFO", tmp_path / "missing")  # not Linux: no flags, so no fast bfloat16
    assert runtime._cpu_has_bf16_instructions.__wrapped__() is False
