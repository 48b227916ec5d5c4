"""Benchmark: the engine against a straightforward, tutorial-style implementation.

    nst-teach bench                       # 256 and 512 px; all three tasks; two photographs, two paintings
    nst-teach bench --quick               # a tiny configuration (the tests run this)

Every contender gets the same network (the paper's trained VGG19, ``"caffe"``, unless
``--weights`` says otherwise), the same pixels (the style image resized to the content's
once, beforehand), alpha, beta and layers, on two photographs and two paintings: the paper's
Tübingen and *The Starry Night*, and a photograph and a painting the defaults were never tuned
on. Each (contender, task, size, pictures) runs in its own process, so that its peak memory
and start-up are its own. The baseline starts from uniform noise, as tutorials do; the engine
from its task's default (the photograph in the painting's colours for a transfer, noise in the
source images' colours otherwise), and, as other contenders, from the other starts and with other settings.

Measured:

* seconds per step (one loss-and-gradient evaluation) and peak memory (resident set on the
  CPU, allocated memory on CUDA);
* the score: the float32 loss, with the paper's definitions, of each image *as saved*, a PNG
  (clamped and rounded to 8 bits); snapshots during a run are scored the same way;
* the time to reach the baseline's score, in the run and for the whole process (from the
  process's start: imports, weights, targets), and its ratio to the baseline's own;
* the machine's matmul peak and the network's FLOPs, hence the fraction of peak.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from nst_teach.errors import NstTeachError
from nst_teach.metrics import psnr

__all__ = ["conv_flops", "main", "matmul_peak_gflops", "run_contender", "sync"]

TASKS = ("reconstruct", "texture", "transfer")
#: The photographs and paintings by default: the paper's pair, and ones the defaults were never tuned on.
CONTENTS = ("tubingen", "chelsea")
STYLES = ("starry_night", "woman_with_hat")


# --------------------------------------------------------------------------- FLOPs and peak

def conv_flops(height: int, width: int, deepest: str) -> float:
    """FLOPs of one forward plus backward-to-the-input pass of VGG19 up to ``deepest``.

    A 3x3 conv costs ``2 * C_in * C_out * 9 * H * W`` forward; the backward
    pass to the input (the weights are frozen) costs the same again.
    """
    from nst_teach.features import LAYER_INDEX
    from nst_teach.plots import layer_table

    flops, c_in = 0.0, 3
    for row in layer_table(height, width)[: LAYER_INDEX[deepest] + 1]:
        if row["kind"] == "conv":
            N_l, M_l = int(str(row["N_l"])), int(str(row["M_l"]))
            flops += 2.0 * c_in * N_l * 9 * M_l
            c_in = N_l
    return 2.0 * flops


def matmul_peak_gflops(dtype: torch.dtype, device: torch.device, n: int | None = None, repeats: int = 5) -> float:
    """Measured matmul throughput, the best of ``repeats`` (n x n, n = 2048 on a CPU, 8192 on a GPU)."""
    n = n or (8192 if device.type == "cuda" else 2048)
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    best = float("inf")
    for _ in range(repeats + 1):
        sync(device)
        start = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - start)
    return 2.0 * n**3 / best / 1e9


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "cpu"


def sync(device: torch.device) -> None:
    """Wait for the device, so that wall-clock times include its work."""
    if device.type == "cuda":
        torch.cuda.synchronize()


# --------------------------------------------------------------------------- the workloads

@dataclass
class Workload:
    task: str
    size: int
    content_layers: dict[str, float]
    style_layers: dict[str, float]
    alpha: float
    beta: float

    @property
    def deepest(self) -> str:
        from nst_teach.features import deepest_layer

        return deepest_layer([*self.content_layers, *self.style_layers])


def workload(task: str, size: int, shape: tuple[int, int] | None = None) -> Workload:
    """The task's layers and weights; a transfer's alpha is the default ratio at ``shape = (H, W)`` (else size x size)."""
    from nst_teach.objective import CONTENT_LAYER, DEFAULT_RATIO, STYLE_LAYERS, alpha_for_size

    style = {l: 1 / len(STYLE_LAYERS) for l in STYLE_LAYERS}
    if task == "reconstruct":
        return Workload(task, size, {CONTENT_LAYER: 1.0}, {}, 1.0, 0.0)
    if task == "texture":
        return Workload(task, size, {}, style, 0.0, 1.0)
    return Workload(task, size, {CONTENT_LAYER: 1.0}, style, alpha_for_size(DEFAULT_RATIO, shape or (size, size)), 1.0)


def _images(size: int, device: torch.device, content_name: str, style_name: str) -> tuple[Tensor, Tensor, str]:
    """The content photograph and the style image (or their scikit-image stand-ins), and which ones they were.

    The style image is resized to the content's pixels here, once, so that every contender
    and the scoring see the same pixels (a style resized differently changes the loss by 4x).
    """
    from nst_teach.data import paper_image
    from nst_teach.images import resize

    content, style = paper_image(content_name, size, device), paper_image(style_name, size, device)
    names = f"{content.name} {tuple(content.image.shape[-2:])}, {style.name}"
    return content.image, resize(style.image, tuple(content.image.shape[-2:])), names


def as_saved(x: Tensor) -> Tensor:
    """``x`` as a PNG stores it: clamped to [0, 1] and rounded to 8 bits, as :func:`~nst_teach.images.to_pil` does."""
    return torch.floor(x.detach().float().clamp(0, 1) * 255.0 + 0.5) / 255.0


class _Snapshots:
    """Images seen during a run, with their times, kept on disk so they do not count towards peak memory.

    Saving is the benchmark's work, not the contender's: its time (0.5 ms a snapshot at
    256 px, 8 ms at 512 px) is kept in ``overhead`` and left out of the times recorded.
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

    def curve(self, f32_loss, device: torch.device) -> list[tuple[float, float]]:
        """``(seconds, float32 loss)`` for every snapshot."""
        folder = Path(self._dir.name)
        return [(t, f32_loss(as_saved(torch.load(folder / f"{i}.pt").to(device)))) for i, t in enumerate(self.times)]


def _reference_loss(encoder, wl: Workload, content: Tensor, style: Tensor):
    """f(x): the total loss in float32 with the paper's definitions (the package's own)."""
    from nst_teach.objective import build_objective

    objective = build_objective(encoder, content=content if wl.content_layers else None,
                                style=style if wl.style_layers else None, content_layers=wl.content_layers,
                                style_layers=wl.style_layers, alpha=wl.alpha, beta=wl.beta)

    @torch.no_grad()
    def f(x: Tensor) -> float:
        return float(objective.terms(encoder(x.float(), objective.layers), x)["total"])

    return objective, f


# --------------------------------------------------------------------------- the baseline

def _baseline(weights: str, wl: Workload, content: Tensor, style: Tensor, steps: int, device: torch.device):
    """The tutorial way: the network up to the deepest layer, float32, L-BFGS, clamp every step.

    Written out here on purpose (not the engine), with sensible settings:
    lr 1, history 100, 20 iterations per ``step`` call, tolerances off, and
    the loss divided by its starting value so that L-BFGS is well scaled.
    """
    from nst_teach.features import LAYER_INDEX, vgg19_features_module
    from nst_teach.weights import read_state

    state, convention, _ = read_state(weights)  # the same file and input the engine gets
    net = vgg19_features_module()[: LAYER_INDEX[wl.deepest] + 1]
    net.load_state_dict(state, strict=False)
    for i, m in enumerate(net):
        if isinstance(m, torch.nn.ReLU):
            net[i] = torch.nn.ReLU(inplace=False)
        if isinstance(m, torch.nn.MaxPool2d):
            net[i] = torch.nn.AvgPool2d(2, 2)
    net = net.to(device).eval().requires_grad_(False)
    order = list(convention.order)  # e.g. Caffe's BGR, 0-255, minus the mean pixel
    mean = torch.tensor(convention.mean, device=device).view(1, 3, 1, 1)
    std = torch.tensor(convention.std, device=device).view(1, 3, 1, 1)
    wanted = {LAYER_INDEX[n]: n for n in [*wl.content_layers, *wl.style_layers]}

    def features(x):
        out, h = {}, (x[:, order] - mean) / std
        for i, layer in enumerate(net):
            h = layer(h)
            if i in wanted:
                out[wanted[i]] = h
        return out

    def gram(F):
        B, N, H, W = F.shape
        F = F.view(B, N, H * W)
        return torch.bmm(F, F.transpose(1, 2))

    with torch.no_grad():
        P = {n: f for n, f in features(content).items() if n in wl.content_layers}
        A = {n: gram(f) for n, f in features(style).items() if n in wl.style_layers}

    def loss_of(x):
        F = features(x)
        total = x.new_zeros(())
        for n, w in wl.content_layers.items():
            total = total + wl.alpha * w * 0.5 * (F[n] - P[n]).pow(2).sum()
        for n, w in wl.style_layers.items():
            _, N, H, W = F[n].shape
            total = total + wl.beta * w * (gram(F[n]) - A[n]).pow(2).sum() / (4 * N**2 * (H * W) ** 2)
        return total

    x = torch.rand(content.shape, generator=torch.Generator().manual_seed(0)).to(device).requires_grad_(True)
    optimizer = torch.optim.LBFGS([x], lr=1.0, max_iter=20, history_size=100, tolerance_grad=0.0,
                                  tolerance_change=0.0)
    scale = float(loss_of(x).detach())
    evaluations = 0
    trace = _Snapshots()
    sync(device)
    start, started_at = time.perf_counter(), time.time()

    def closure():
        nonlocal evaluations
        with torch.no_grad():
            x.clamp_(0, 1)
        optimizer.zero_grad()
        loss = loss_of(x) / scale
        loss.backward()
        evaluations += 1
        return loss

    while evaluations < steps:
        optimizer.param_groups[0]["max_iter"] = min(20, steps - evaluations)
        optimizer.step(closure)
        with torch.no_grad():
            x.clamp_(0, 1)
        sync(device)
        trace.add(time.perf_counter() - start, x)
    return x.detach(), time.perf_counter() - start - trace.overhead, evaluations, trace, started_at


# --------------------------------------------------------------------------- one contender

def run_contender(config: dict) -> dict:
    """Run one (contender, task, size) and return its measurements (called in a fresh process).

    The engine's encoder and targets count towards its peak memory: it needs them. The
    baseline builds its own network, so the package's encoder, which only scores the images
    in float32, is loaded after the baseline's run and its peak is read before that.
    """
    from nst_teach import tasks
    from nst_teach.coarse_to_fine import level_size
    from nst_teach.precision import pick_device
    from nst_teach.settings import Settings
    from nst_teach.weights import load_vgg19_features

    device = pick_device(config["device"])
    torch.manual_seed(0)
    content, style, images = _images(config["size"], device, config["content"], config["style"])
    H, W = content.shape[-2:]
    wl = workload(config["task"], config["size"], (H, W))
    steps = config["steps"]
    full_size = conv_flops(H, W, wl.deepest)

    def reference() -> tuple:
        encoder = load_vgg19_features(config["weights"], pooling="avg", device=device).truncate(wl.deepest)  # as the CLI
        return (encoder, *_reference_loss(encoder, wl, content, style))

    if config["contender"] == "baseline":
        x, seconds, evaluations, trace, started_at = _baseline(config["weights"], wl, content, style, steps, device)
        flops = full_size * evaluations
        peak = _peak_mb(device)
        encoder, objective, f32_loss = reference()
    else:
        encoder, objective, f32_loss = reference()
        settings = Settings(steps=steps, **config.get("settings", {}), every=max(1, steps // 50))
        trace = _Snapshots()
        sync(device)
        # started as the task functions start: from the init made of the objective's source images
        started_at = time.time()
        init = config.get("init") or tasks.DEFAULT_INIT[config["task"]]
        result = tasks.optimize_from(encoder, objective, init, content.shape, settings,
                                      callback=lambda p: trace.add(p.seconds, p.image))
        x, seconds, evaluations = result.image, result.seconds - trace.overhead, result.steps
        # coarse-to-fine: a step at a coarse level costs that level's FLOPs
        flops = sum(conv_flops(*level_size((H, W), int(h["level"])), wl.deepest) for h in result.history)
        peak = _peak_mb(device)
    from nst_teach.images import load_image, save_image

    png = save_image(x, Path(config["out"]) / f"{config['task']}-{config['size']}-{images.split()[0]}"
                        f"-{config.get('style', '')}-{config['contender'].replace(' ', '_').replace(',', '')}.png")
    saved = time.time()
    curve, as_png = trace.curve(f32_loss, device), load_image(png, device=device)
    out = {
        **({"psnr_db": psnr(as_png, content)} if config["task"] == "reconstruct" else {}),
        **{k: v for k, v in config.items() if k != "weights"},
        "seconds": seconds, "evaluations": evaluations, "seconds_per_step": seconds / max(evaluations, 1),
        "final_loss_f32": f32_loss(as_png), "curve": curve, "peak_memory_mb": peak,
        "images": images, "png": str(png), "startup_s": started_at - config["spawned_at"],
        "whole_process_s": saved - config["spawned_at"],
        "device_name": torch.cuda.get_device_name() if device.type == "cuda" else _cpu_name(),
        "flops_per_step": flops / max(evaluations, 1), "flops_full_size_step": full_size,
    }
    return out


def _peak_mb(device: torch.device) -> float:
    """Peak memory of this process so far: resident set on the CPU, allocated memory on CUDA."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _in_subprocess(config: dict) -> dict:
    config = {**config, "spawned_at": time.time()}  # whole-process times count from here
    proc = subprocess.run([sys.executable, "-m", "nst_teach.bench", "--worker", json.dumps(config)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark worker failed for {config['contender']}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _time_to(curve: list[list[float]], target: float) -> float | None:
    for t, loss in curve:
        if loss <= target:
            return t
    return None


# --------------------------------------------------------------------------- the report

#: name -> (start, engine settings, the tasks it runs on); "baseline" is the tutorial implementation above. A start
#: of None is the task's own default (tasks.DEFAULT_INIT); a contender equal to the default on a task is left out.
CONTENDERS: dict[str, tuple[str | None, dict, tuple[str, ...]]] = {
    "engine default": (None, {}, TASKS),
    "engine float32": (None, {"precision": "float32"}, TASKS),
    "engine, white-noise start": ("noise", {"coarse_levels": 0}, ("transfer",)),  # the paper's start, full size
    "engine, photograph as it is": ("content", {}, ("transfer",)),  # the default start until it was recoloured
    "engine, uniform noise": ("uniform", {}, ("reconstruct", "texture")),  # the baseline's start
    "engine, coarse-to-fine": (None, {"coarse_levels": 2}, ("transfer",)),  # off from the photograph by default
    "engine, no coarse-to-fine": (None, {"coarse_levels": 0}, ("reconstruct", "texture")),  # on from noise
    "engine, one level by nearest neighbour": (None, {"coarse_levels": 1, "resampling": "nearest"}, ("texture",)),  # the
    # texture plan until the trained network showed it blocky and later
}


def _pairs(task: str, contents: list[str], styles: list[str]) -> list[tuple[str, str]]:
    """(content, style) names a task runs on: a reconstruction needs only photos, a texture only styles."""
    if task == "reconstruct":
        return [(c, styles[0]) for c in contents]
    if task == "texture":
        return [(contents[0], st) for st in styles]
    return [(c, st) for c in contents for st in styles]


def run(sizes: list[int], tasks: list[str], steps: int, device_name: str, out: Path, engine_steps: int | None = None,
        log=print, weights: str = "caffe", contents: list[str] | None = None, styles: list[str] | None = None,
        contenders: list[str] | None = None) -> dict:
    """Every (size, task, picture pair): the baseline, then each engine contender, each in its own process.

    A contender's score is the float32 loss of its image as saved (a PNG, 8 bits, clamped). The
    target is the baseline's score: the best of its snapshots and its saved image, scored the same
    way (a tutorial loop can blow up late, even to NaN, and its last image would be an easy target).
    """
    from nst_teach.precision import pick_device, resolve_precision
    from nst_teach.settings import Settings

    contents, styles = contents or list(CONTENTS), styles or list(STYLES)
    device = pick_device(device_name)
    out.mkdir(parents=True, exist_ok=True)
    default_dtype = resolve_precision(Settings().precision, device) or torch.float32
    peaks = {str(dt).replace("torch.", ""): matmul_peak_gflops(dt, device) for dt in (torch.float32, torch.bfloat16)}
    log(f"matmul peak on {device}: " + ", ".join(f"{k} {v:.0f} GFLOPS" for k, v in peaks.items()))
    rows, label = [], weights
    with tempfile.TemporaryDirectory() as tmp:
        if weights == "random":  # a smoke run: one seeded random network, saved for every contender
            from nst_teach.weights import load_vgg19_features

            weights = str(Path(tmp) / "vgg19-random.pth")
            state = load_vgg19_features("random", seed=0).layers.state_dict()
            torch.save({f"features.{k}": v for k, v in state.items()}, weights)
        for size in sizes:
            for task in tasks:
                for content, style in _pairs(task, contents, styles):
                    base = {"task": task, "size": size, "device": str(device), "weights": weights, "content": content,
                            "style": style, "out": str(out / "images")}
                    baseline = _in_subprocess({**base, "contender": "baseline", "steps": steps})
                    scored = [(t, l) for t, l in baseline["curve"] if math.isfinite(l)]
                    scored.append((baseline["seconds"], baseline["final_loss_f32"]))
                    baseline["seconds"], target = min(scored, key=lambda p: p[1])
                    results = {"baseline": baseline}
                    for name, (init, settings, runs_on) in CONTENDERS.items():
                        if task not in runs_on or (contenders and name not in contenders and name != "engine default"):
                            continue
                        results[name] = _in_subprocess({**base, "contender": name, "init": init, "settings": settings,
                                                        "steps": engine_steps or (3 * steps) // 2})
                    for name, r in results.items():
                        rows.append(_row(task, size, name, r, results, target, peaks, default_dtype))
                        log(_row_md(rows[-1]))
    report = {"device": str(device), "device_name": rows and results["baseline"]["device_name"],
              "images": sorted({row["images"] for row in rows}),
              "weights": label, "torch": torch.__version__, "threads": torch.get_num_threads(), "matmul_peak_gflops": peaks,
              "default_precision": str(default_dtype).replace("torch.", ""), "baseline_steps": steps, "rows": rows}
    (out / "results.json").write_text(json.dumps(report, indent=1))
    (out / "results.md").write_text(_markdown(report))
    return report


def _row(task: str, size: int, name: str, r: dict, results: dict, target: float, peaks: dict,
         default_dtype: torch.dtype) -> dict:
    """One table row: the contender's times to the baseline's score, in the run and for the whole process."""
    baseline = results["baseline"]
    if name == "baseline":
        reached = r["seconds"]
    else:
        reached = _time_to(r["curve"], target * (1 + 1e-6))
        if reached is None and r["final_loss_f32"] <= target * (1 + 1e-6):
            reached = r["seconds"]
    whole = None if reached is None else r["startup_s"] + reached
    baseline_whole = baseline["startup_s"] + baseline["seconds"]
    row = {"task": task, "size": size, "contender": name, "images": r["images"], "png": r["png"],
           "s_per_step": r["seconds_per_step"], "peak_mb": r["peak_memory_mb"],
           "time_to_baseline_loss_s": reached, "baseline_s": baseline["seconds"],
           "ratio": reached / baseline["seconds"] if reached is not None else None,
           "whole_process_to_baseline_loss_s": whole, "baseline_whole_process_s": baseline_whole,
           "whole_ratio": whole / baseline_whole if whole is not None else None, "startup_s": r["startup_s"],
           "whole_process_s": r["whole_process_s"],
           "final_loss_f32": r["final_loss_f32"], "target_loss_f32": target, "curve": r["curve"],
           "quality_vs_default": r["final_loss_f32"] / results["engine default"]["final_loss_f32"],
           "gflop_per_step": r["flops_per_step"] / 1e9, "gflops": r["flops_per_step"] / r["seconds_per_step"] / 1e9}
    low = default_dtype == torch.bfloat16 and name not in ("baseline", "engine float32")  # the others: the default
    row["fraction_of_peak"] = row["gflops"] / peaks["bfloat16" if low else "float32"]
    if "psnr_db" in r:  # a reconstruction: how close is the picture to the photograph?
        row["psnr_db"] = r["psnr_db"]
    return row


_HEADER = ("| task | px | pictures | contender | s/step | peak MB | score (saved PNG) | to baseline's score: in run (s) | "
           "ratio | whole process (s) | ratio | GFLOPS | of peak |\n" + "|---" * 13 + "|\n")


def _row_md(r: dict) -> str:
    def seconds(v):
        return f"{v:.2f}" if v is not None else "not reached"

    def ratio(v):
        return f"{v:.2f}" if v is not None else "-"

    return (f"| {r['task']} | {r['size']} | {r['images']} | {r['contender']} | {r['s_per_step']:.3f} | "
            f"{r['peak_mb']:.0f} | {r['final_loss_f32']:.4g} | {seconds(r['time_to_baseline_loss_s'])} | "
            f"{ratio(r['ratio'])} | {seconds(r['whole_process_to_baseline_loss_s'])} | {ratio(r['whole_ratio'])} | "
            f"{r['gflops']:.0f} | {r['fraction_of_peak']:.0%} |")


def _markdown(report: dict) -> str:
    peaks = ", ".join(f"{k} {v:.0f} GFLOPS" for k, v in report["matmul_peak_gflops"].items())
    head = (f"# nst-teach benchmark\n\nDevice: {report['device']} ({report['device_name']}), torch {report['torch']}, "
            f"{report['threads']} threads. Weights: {report.get('weights', 'random')}"
            f"{' (RANDOM: a smoke run)' if report.get('weights') == 'random' else ''}. Matmul peak: {peaks}. "
            f"Engine default precision: {report['default_precision']}. Baseline: {report['baseline_steps']} "
            "L-BFGS evaluations. Scores are the float32 loss of the image as saved (PNG); the target is the "
            "baseline's score. Ratios are the contender's time to that score over the baseline's; whole-process "
            "times count from the process's start (imports, weights, targets) to the score.\n\n")
    table = head + _HEADER + "\n".join(_row_md(r) for r in report["rows"]) + "\n"
    pictures = [r for r in report["rows"] if "psnr_db" in r]
    if not pictures:
        return table
    return (table + "\nReconstruction, the picture: PSNR of the saved image against the photograph. The loss at a deep "
            "layer barely sees the speckle a noise start leaves; PSNR does, but it also prefers blur (a mean-colour image "
            "beats a speckled one), so neither judges a reconstruction alone: look at the PNGs.\n\n"
            "| px | pictures | contender | PSNR (dB) |\n" + "|---" * 4 + "|\n"
            + "\n".join(f"| {r['size']} | {r['images']} | {r['contender']} | {r['psnr_db']:.1f} |" for r in pictures) + "\n")


def main(args: argparse.Namespace) -> int:
    if args.quick:
        sizes, tasks, steps = args.sizes or [48], args.tasks or ["transfer"], args.steps or 4
    else:
        sizes, tasks, steps = args.sizes or [256, 512], args.tasks or list(TASKS), args.steps or 60
    contents = args.contents or (["tubingen"] if args.quick else None)
    styles = args.styles or (["starry_night"] if args.quick else None)
    unknown = set(args.contenders or []) - set(CONTENDERS)
    if unknown:
        raise NstTeachError(f"unknown contender(s) {', '.join(sorted(unknown))}; choose from {'; '.join(CONTENDERS)}")
    report = run(sizes, tasks, steps, args.device, args.out, weights=args.weights, contents=contents, styles=styles,
                 contenders=args.contenders)
    print(f"wrote {args.out / 'results.md'} and results.json ({len(report['rows'])} rows)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        torch.set_num_threads(int(os.environ.get("NST_TEACH_THREADS", torch.get_num_threads())))
        print(json.dumps(run_contender(json.loads(sys.argv[2]))))
