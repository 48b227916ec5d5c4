"""One benchmark contender, run in a fresh process so that its peak memory and start-up are its own.

    python -m nst_teach.bench_worker CONFIG_JSON     # what nst_teach.bench runs, once per contender

The baseline is the paper's method as written (:func:`nst_teach.paper.synthesize`: ``torch.optim.LBFGS``,
float32, from uniform noise, no clamping). A contender is the engine with some settings and a start.
Both are measured the same way: seconds per step, peak memory, and snapshots during the run, each
scored as a PNG would store it (clamped, 8 bits) with the paper's float32 loss. The baseline's loss
*in memory*, before clamping, is recorded at every evaluation too.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

__all__ = ["Workload", "as_saved", "conv_flops", "matmul_peak_gflops", "run_contender", "sync", "workload"]


def sync(device: torch.device) -> None:
    """Wait for the device, so that wall-clock times include its work."""
    if device.type == "cuda":
        torch.cuda.synchronize()


def conv_flops(height: int, width: int, deepest: str) -> float:
    """FLOPs of one forward plus backward-to-the-input pass of VGG19 up to ``deepest``.

    A 3x3 conv costs ``2 * C_in * C_out * 9 * H * W`` forward; the backward
    pass to the input (the weights are frozen) costs the same again.
    """
    from nst_teach.vgg19 import LAYER_INDEX, layer_shapes

    flops, c_in = 0.0, 3
    for layer in layer_shapes(height, width)[: LAYER_INDEX[deepest] + 1]:
        if layer.kind == "conv":
            flops += 2.0 * c_in * layer.N_l * 9 * layer.M_l
            c_in = layer.N_l
    return 2.0 * flops


def matmul_peak_gflops(dtype: torch.dtype, device: torch.device, n: int | None = None, repeats: int = 5) -> float:
    """Measured matmul throughput, the best of ``repeats`` (n x n, n = 2048 on a CPU, 8192 on a GPU)."""
    n = n or (8192 if device.type == "cuda" else 2048)
    a, b = (torch.randn(n, n, device=device).to(dtype) for _ in range(2))
    best = float("inf")
    for _ in range(repeats + 1):
        sync(device)
        start = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - start)
    return 2.0 * n**3 / best / 1e9


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "cpu"


@dataclass
class Workload:
    task: str
    content_layers: dict[str, float]
    style_layers: dict[str, float]
    alpha: float
    beta: float

    @property
    def deepest(self) -> str:
        from nst_teach.vgg19 import deepest_layer

        return deepest_layer([*self.content_layers, *self.style_layers])


def workload(task: str, shape: tuple[int, int]) -> Workload:
    """The task's layers and weights; a transfer's alpha is the default ratio at ``shape = (H, W)``."""
    from nst_teach.objective import CONTENT_LAYER, STYLE_LAYERS, alpha_for_size
    from nst_teach.settings import DEFAULT_RATIO

    style = {l: 1 / len(STYLE_LAYERS) for l in STYLE_LAYERS}
    if task == "reconstruct":
        return Workload(task, {CONTENT_LAYER: 1.0}, {}, 1.0, 0.0)
    if task == "texture":
        return Workload(task, {}, style, 0.0, 1.0)
    return Workload(task, {CONTENT_LAYER: 1.0}, style, alpha_for_size(DEFAULT_RATIO, shape), 1.0)


def as_saved(x: Tensor) -> Tensor:
    """``x`` as a PNG stores it: clamped to [0, 1] and rounded to 8 bits, as :func:`~nst_teach.images.to_pil` does."""
    return torch.floor(x.detach().float().clamp(0, 1) * 255.0 + 0.5) / 255.0


class Snapshots:
    """Images seen during a run, with their times, kept on disk so they do not count towards peak memory.

    Saving is the benchmark's work, not the contender's: its time is kept in ``overhead`` and left
    out of the times recorded.
    """

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory()
        self.times: list[float] = []
        self.overhead = 0.0  # seconds spent saving snapshots so far

    def add(self, seconds: float, image: Tensor) -> None:
        """Record ``image`` as seen ``seconds`` into the run (a clock that includes earlier saves)."""
        start = time.perf_counter()
        self.times.append(seconds - self.overhead)
        torch.save(image.detach().cpu(), Path(self._dir.name) / f"{len(self.times) - 1}.pt")
        self.overhead += time.perf_counter() - start

    def curve(self, score: Callable[[Tensor], float], device: torch.device) -> list[tuple[float, float]]:
        """``(seconds, score of the image as saved)`` for every snapshot."""
        folder = Path(self._dir.name)
        return [(t, score(as_saved(torch.load(folder / f"{i}.pt").to(device)))) for i, t in enumerate(self.times)]


def _peak_mb(device: torch.device) -> float:
    """Peak memory of this process so far: resident set on the CPU, allocated memory on CUDA."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _baseline(config: dict, wl: Workload, content: Tensor, style: Tensor, device: torch.device):
    """The paper's loop (:mod:`nst_teach.paper`), with a snapshot every ``every`` evaluations."""
    from nst_teach import paper

    net = paper.Encoder(config["weights"]).to(device)
    loss = paper.Loss(net, content=content if wl.content_layers else None, style=style if wl.style_layers else None,
                      alpha=wl.alpha, beta=wl.beta, content_layers=list(wl.content_layers),
                      style_layers=list(wl.style_layers))
    trace, in_memory, every = Snapshots(), [], max(1, config["steps"] // 50)
    sync(device)
    start, started_at = time.perf_counter(), time.time()

    def snapshot(step: int, x: Tensor, losses: dict[str, float]) -> None:
        sync(device)
        seconds = time.perf_counter() - start
        in_memory.append((seconds - trace.overhead, losses["total"]))
        if step % every == 0 or step == config["steps"]:
            trace.add(seconds, x)

    x = paper.synthesize(loss, content.shape, config["steps"], seed=0, callback=snapshot, device=device)
    return x, in_memory[-1][0], len(in_memory), trace, in_memory, started_at


def run_contender(config: dict) -> dict:
    """Run one (contender, task, size, pictures) and return its measurements (called in a fresh process).

    The engine's encoder and targets count towards its peak memory: it needs them. The baseline builds
    its own network, so the package's encoder, which only scores the images in float32, is loaded
    after the baseline's run and its peak is read before that.
    """
    from nst_teach import metrics, tasks
    from nst_teach.coarse_to_fine import level_size
    from nst_teach.data import paper_image
    from nst_teach.features import load_vgg19_features
    from nst_teach.images import load_image, resize, save_image
    from nst_teach.objective import build_objective
    from nst_teach.runtime import pick_device
    from nst_teach.settings import Settings

    device = pick_device(config["device"])
    torch.manual_seed(0)
    photo, painting = paper_image(config["content"], config["size"], device), paper_image(config["style"], config["size"], device)
    content = photo.image
    style = resize(painting.image, tuple(content.shape[-2:]))  # once, so that every contender sees the same pixels
    H, W = content.shape[-2:]
    wl = workload(config["task"], (H, W))
    full_size = conv_flops(H, W, wl.deepest)

    def reference():
        encoder = load_vgg19_features(config["weights"], pooling="avg", device=device).truncate(wl.deepest)
        objective = build_objective(encoder, content=content if wl.content_layers else None,
                                    style=style if wl.style_layers else None, content_layers=wl.content_layers,
                                    style_layers=wl.style_layers, alpha=wl.alpha, beta=wl.beta)

        @torch.no_grad()
        def f32_loss(x: Tensor) -> float:
            return float(objective(encoder(x.float(), objective.layers), x)["total"])

        return encoder, objective, f32_loss

    in_memory: list[tuple[float, float]] = []
    if config["contender"] == "baseline":
        x, seconds, evaluations, trace, in_memory, started_at = _baseline(config, wl, content, style, device)
        flops, peak = full_size * evaluations, _peak_mb(device)
        encoder, objective, f32_loss = reference()
    else:
        encoder, objective, f32_loss = reference()
        settings = Settings(steps=config["steps"], **config.get("settings", {}), every=max(1, config["steps"] // 50))
        trace = Snapshots()
        sync(device)
        started_at = time.time()  # started as the tasks start: from the init made of the run's source images
        result = tasks.optimize_from(encoder, objective, config.get("init") or tasks.DEFAULT_INIT[config["task"]],
                                     content.shape, settings, callback=lambda p: trace.add(p.seconds, p.image),
                                     content=content if wl.content_layers else None,
                                     style=style if wl.style_layers else None)
        x, seconds, evaluations = result.image, result.seconds - trace.overhead, result.steps
        # coarse-to-fine: a step at a coarse level costs that level's FLOPs
        flops = sum(conv_flops(*level_size((H, W), int(h["level"])), wl.deepest) for h in result.history)
        peak = _peak_mb(device)
    name = f"{config['task']}-{config['size']}-{photo.name}-{config['style']}-{config['contender']}"
    png = save_image(x, Path(config["out"]) / (name.replace(" ", "_").replace(",", "") + ".png"))
    saved_at = time.time()
    picture = load_image(png, device=device)
    out = {
        **{k: v for k, v in config.items() if k != "weights"},
        "images": f"{photo.name} {(H, W)}, {painting.name}", "png": str(png),
        "seconds": seconds, "evaluations": evaluations, "seconds_per_step": seconds / max(evaluations, 1),
        "final_loss_f32": f32_loss(picture), "curve": trace.curve(f32_loss, device), "in_memory": in_memory,
        "peak_memory_mb": peak, "startup_s": started_at - config["spawned_at"],
        "whole_process_s": saved_at - config["spawned_at"],
        "device_name": torch.cuda.get_device_name() if device.type == "cuda" else cpu_name(),
        "flops_per_step": flops / max(evaluations, 1), "flops_full_size_step": full_size,
    }
    if config["task"] == "reconstruct":  # judged by its picture too: how close to the photograph, over time
        out["psnr_db"] = metrics.psnr(picture, content)
        out["psnr_curve"] = trace.curve(lambda x: metrics.psnr(x, content), device)
    if config["task"] == "transfer":
        out["structure"] = metrics.structure(content, picture)
        out["palette"] = metrics.palette(content, style, picture)
    return out


if __name__ == "__main__":
    torch.set_num_threads(int(os.environ.get("NST_TEACH_THREADS", torch.get_num_threads())))
    print(json.dumps(run_contender(json.loads(sys.argv[1]))))
