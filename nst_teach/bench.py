"""Benchmark: the engine against the paper's method as written (:mod:`nst_teach.paper`), on the same pixels.

    nst-teach bench                       # paper quality: 512 px, 500 evaluations of the loop, two pairs
    nst-teach bench --sizes 256,512 --tasks texture,reconstruct
    nst-teach bench --quick               # a tiny configuration (the tests run this)

The baseline is :func:`nst_teach.paper.synthesize` (``torch.optim.LBFGS``, float32, from uniform
noise, no clamping) for ``--steps`` evaluations: converged, or nearly, at 500. The engine
contenders run its defaults and variants (:data:`CONTENDERS`). Every (contender, task, size,
pictures) runs in its own process (:mod:`nst_teach.bench_worker`), so that its peak memory and
start-up are its own; all get the same network, the same pixels (the painting resized to the
photograph's size once, beforehand), alpha, beta and layers.

Two targets, both from the loop's last image: its loss **in memory** (pixels may be outside
[0, 1] there) and its loss **as saved** (a PNG clamps and rounds them). Each contender's images are
scored as saved, and the report gives its time to each target, in the run and for the whole
process (imports, weights, targets included), with its ratio to the loop's time; a transfer's
pictures get the figure scores (:func:`~nst_teach.metrics.structure`, :func:`~nst_teach.metrics.palette`),
a reconstruction's their PSNR against the photograph and the time to the loop's.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

from nst_teach.errors import NstTeachError, check_choice, check_number

__all__ = ["CONTENDERS", "add_arguments", "check", "main", "run"]

#: The tasks the benchmark runs (the paper's three, by the CLI's command names).
TASKS = ("reconstruct", "texture", "transfer")
#: The photographs and paintings by default: ones the defaults were not tuned on.
CONTENTS = ("chelsea", "coffee")
STYLES = ("the_scream", "composition_vii")

#: name -> (start, engine settings, the tasks it runs on). A start of None is the task's own default
#: (tasks.DEFAULT_INIT); a contender equal to the default on a task is left out.
CONTENDERS: dict[str, tuple[str | None, dict, tuple[str, ...]]] = {
    "engine default": (None, {}, TASKS),
    "engine default, 600 steps": (None, {"steps": 600}, TASKS),  # where the default's curve goes on
    "engine float32": (None, {"precision": "float32"}, TASKS),
    "engine, white-noise start": ("noise", {}, ("transfer",)),  # the paper's start
    "engine, photograph as it is": ("content", {}, ("transfer",)),
    "engine, photograph in the painting's colours": ("recolored", {}, ("transfer",)),
    "engine, uniform noise": ("uniform", {}, TASKS),  # the loop's start
    "engine, no coarse-to-fine": (None, {"coarse_levels": 0}, TASKS),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``nst-teach bench`` flags."""
    def names(text: str) -> list[str]:
        return [name.strip() for name in text.split(",") if name.strip()]

    p.add_argument("--quick", action="store_true", help="a tiny configuration, for tests")
    p.add_argument("--sizes", type=lambda s: [int(v) for v in s.split(",")], help="long sides (default 512)")
    p.add_argument("--tasks", type=names, help="reconstruct,texture,transfer (default transfer)")
    p.add_argument("--steps", type=int, help="the loop's evaluations (default 500)")
    p.add_argument("--engine-steps", type=int, help="the engine's steps (default: Settings().steps)")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results"), help="folder for results.md/.json")
    p.add_argument("--device", default="auto")
    p.add_argument("--weights", default="caffe", help="caffe (default) | imagenet | random | PATH")
    p.add_argument("--contents", type=names, help=f"photographs by name (default: {','.join(CONTENTS)})")
    p.add_argument("--styles", type=names, help=f"paintings by name (default: {','.join(STYLES)})")
    p.add_argument("--contenders", type=lambda s: s.split(";"),
                   help="engine contenders to run, ';'-separated (default: all; the loop and the default always run)")


def _in_subprocess(config: dict) -> dict:
    config = {**config, "spawned_at": time.time()}  # whole-process times count from here
    proc = subprocess.run([sys.executable, "-m", "nst_teach.bench_worker", json.dumps(config)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise NstTeachError(f"benchmark worker failed for {config['contender']}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _time_to(curve: list[list[float]], target: float, above: bool = False) -> float | None:
    """The first time ``curve`` reaches ``target`` (at or below it; at or above it when ``above``)."""
    return next((t for t, value in curve if (value >= target if above else value <= target * (1 + 1e-6))), None)


def _pairs(task: str, contents: list[str], styles: list[str]) -> list[tuple[str, str]]:
    """(content, style) names a task runs on: a reconstruction needs only photos, a texture only styles."""
    if task == "reconstruct":
        return [(c, styles[0]) for c in contents]
    if task == "texture":
        return [(contents[0], st) for st in styles]
    return [(c, st) for c in contents for st in styles]


def run(sizes: list[int], tasks: list[str], steps: int, device_name: str, out: Path, engine_steps: int | None = None,
        log=print, weights: str = "caffe", contents: list[str] | None = None, styles: list[str] | None = None,
        contenders: list[str] | None = None, peak_n: int | None = None) -> dict:
    """Every (size, task, picture pair): the loop, then each engine contender, each in its own process.

    ``peak_n``: the side of the matmuls that measure the device's peak (default: 2048 on a CPU, 8192 on a GPU).
    """
    import torch  # here, not above: `nst-teach --help` reads this module's flags without loading torch

    from nst_teach.bench_worker import matmul_peak_gflops
    from nst_teach.runtime import pick_device
    from nst_teach.settings import Settings
    from nst_teach.tasks import DEFAULT_INIT

    device = pick_device(device_name)
    out.mkdir(parents=True, exist_ok=True)
    peaks = {str(dt).replace("torch.", ""): matmul_peak_gflops(dt, device, peak_n) for dt in (torch.float32, torch.bfloat16)}
    log(f"matmul peak on {device}: " + ", ".join(f"{k} {v:.0f} GFLOPS" for k, v in peaks.items()))
    rows = []
    for size in sizes:
        for task in tasks:
            for content, style in _pairs(task, contents or list(CONTENTS), styles or list(STYLES)):
                base = {"task": task, "size": size, "device": str(device), "weights": weights, "content": content,
                        "style": style, "out": str(out / "images")}
                results = {"loop (paper.py)": _in_subprocess({**base, "contender": "baseline", "steps": steps})}
                for name, (init, settings, runs_on) in CONTENDERS.items():
                    same_as_default = not settings and (init or DEFAULT_INIT[task]) == DEFAULT_INIT[task]
                    if name != "engine default" and same_as_default:
                        continue
                    if task in runs_on and (not contenders or name in contenders or name == "engine default"):
                        steps_of = {"steps": engine_steps or Settings().steps, **settings}  # a contender may set its own
                        results[name] = _in_subprocess({**base, "contender": name, "init": init,
                                                        "settings": {k: v for k, v in steps_of.items() if k != "steps"},
                                                        "steps": steps_of["steps"]})
                for name, result in results.items():
                    rows.append(_row(name, result, results["loop (paper.py)"]))
                    log(_row_md(rows[-1]))
    first = rows[0] if rows else {}
    report = {"device": str(device), "device_name": first.get("device_name"), "weights": weights,
              "torch": torch.__version__, "threads": torch.get_num_threads(), "matmul_peak_gflops": peaks,
              "loop_steps": steps, "rows": rows}
    (out / "results.json").write_text(json.dumps(report, indent=1))
    (out / "results.md").write_text(_markdown(report))
    return report


def _row(name: str, r: dict, loop: dict) -> dict:
    """One table row: the contender's times to the loop's two targets, in the run and for the whole process."""
    target_memory, target_saved = loop["in_memory"][-1][1], loop["final_loss_f32"]
    row = {k: r[k] for k in ("task", "size", "images", "png", "evaluations", "final_loss_f32", "peak_memory_mb",
                             "startup_s", "whole_process_s", "device_name", "curve")}
    row.update(contender=name, s_per_step=r["seconds_per_step"], gflops=r["flops_per_step"] / r["seconds_per_step"] / 1e9,
               loop_s=loop["seconds"], target_in_memory=target_memory, target_saved=target_saved)
    for key, target in (("in_memory", target_memory), ("saved", target_saved)):
        reached = loop["seconds"] if r is loop and key == "in_memory" else _time_to(r["curve"], target)
        row[f"to_{key}_s"] = reached
        row[f"to_{key}_ratio"] = None if reached is None else reached / loop["seconds"]
        whole = None if reached is None else r["startup_s"] + reached
        row[f"to_{key}_whole_s"] = whole
        row[f"to_{key}_whole_ratio"] = None if whole is None else whole / (loop["startup_s"] + loop["seconds"])
    for key in ("structure", "palette", "psnr_db"):
        if key in r:
            row[key] = r[key]
    if "psnr_curve" in r:
        row["to_loop_psnr_s"] = _time_to(r["psnr_curve"], loop["psnr_db"], above=True)
    return row


def _seconds(v: float | None, ratio: float | None = None) -> str:
    if v is None:
        return "not reached"
    return f"{v:.1f} ({ratio:.2f})" if ratio is not None else f"{v:.1f}"


def _row_md(r: dict) -> str:
    scores = (f"{r['structure']:.2f} / {r['palette']:.2f}" if "structure" in r
              else f"PSNR {r['psnr_db']:.1f} dB" if "psnr_db" in r else "")
    return (f"| {r['task']} | {r['size']} | {r['images']} | {r['contender']} | {r['evaluations']} | {r['s_per_step']:.3f} | "
            f"{r['peak_memory_mb']:.0f} | {r['final_loss_f32']:.4g} | {_seconds(r['to_in_memory_s'], r['to_in_memory_ratio'])} | "
            f"{_seconds(r['to_saved_s'], r['to_saved_ratio'])} | "
            f"{_seconds(r['to_in_memory_whole_s'], r['to_in_memory_whole_ratio'])} | {scores} |")


_HEADER = ("| task | px | pictures | contender | steps | s/step | peak MB | loss as saved | to the loop's loss in memory: "
           "s (ratio) | to its loss as saved: s (ratio) | whole process to the loss in memory: s (ratio) | "
           "structure / palette |\n" + "|---" * 12 + "|\n")


def _markdown(report: dict) -> str:
    peaks = ", ".join(f"{k} {v:.0f} GFLOPS" for k, v in report["matmul_peak_gflops"].items())
    random = " (RANDOM: a smoke run)" if report["weights"] == "random" else ""
    head = (f"# nst-teach benchmark\n\nDevice: {report['device']} ({report['device_name']}), torch {report['torch']}, "
            f"{report['threads']} threads. Weights: {report['weights']}{random}. Matmul peak: {peaks}. The loop: "
            f"nst_teach.paper.synthesize, {report['loop_steps']} evaluations from uniform noise, float32, no clamping. "
            "Targets: the loop's last loss in memory, and the loss of its last image as saved (PNG). Every engine image "
            "is scored as saved. Ratios are to the loop's time; whole-process times count from the process's start.\n\n")
    table = head + _HEADER + "\n".join(_row_md(r) for r in report["rows"]) + "\n"
    psnr = [r for r in report["rows"] if "psnr_db" in r]
    if psnr:
        table += ("\nReconstruction, judged by its picture: PSNR against the photograph, and the time to the loop's "
                  "PSNR.\n\n| px | pictures | contender | PSNR (dB) | to the loop's PSNR (s) |\n" + "|---" * 5 + "|\n"
                  + "\n".join(f"| {r['size']} | {r['images']} | {r['contender']} | {r['psnr_db']:.1f} | "
                              f"{_seconds(r.get('to_loop_psnr_s'))} |" for r in psnr) + "\n")
    return table


def check(sizes: list[int], tasks: list[str], steps: int, engine_steps: int | None, contents: list[str] | None,
          styles: list[str] | None, contenders: list[str] | None, stand_ins: bool = False) -> None:
    """Every flag, checked by the library's own checks before a worker starts, each error naming its flag.

    Unless ``stand_ins`` (the quick configuration), every catalogue picture named must be had: a run that
    asked for *The Scream* and silently compared contenders on scikit-image's brick would publish the wrong table.
    """
    from nst_teach.data import CATALOGUE, catalogue_path, check_image_name
    from nst_teach.images import check_side
    from nst_teach.settings import MAX_STEPS

    for size in sizes:
        check_side("--sizes", size)
    for task in tasks:
        check_choice("--tasks", task, TASKS)
    check_number("--steps", steps, 1, MAX_STEPS, whole=True)
    if engine_steps is not None:
        check_number("--engine-steps", engine_steps, 1, MAX_STEPS, whole=True)
    pictures = (("--contents", contents or list(CONTENTS)), ("--styles", styles or list(STYLES)))
    for flag, names in pictures:
        for name in names:
            check_image_name(name, flag)
    for flag, names in pictures:  # every name known first: a typo is the error to report, not a missing file
        for name in names:
            if name in CATALOGUE and not stand_ins:
                try:
                    catalogue_path(name)
                except NstTeachError as err:
                    raise NstTeachError(f"{flag}: {name} cannot be had ({err}) The benchmark runs on the pictures "
                                        "it names, never on a stand-in: set NST_TEACH_IMAGES to a folder that has "
                                        "it, or name another picture.", flag) from err
    for name in contenders or []:
        check_choice("--contenders", name, tuple(CONTENDERS))


def main(args: argparse.Namespace) -> int:
    if args.quick:
        sizes, tasks, steps = args.sizes or [48], args.tasks or ["transfer"], args.steps or 4
        contents, styles, engine_steps = args.contents or ["tubingen"], args.styles or ["starry_night"], args.engine_steps or 6
    else:
        sizes, tasks, steps = args.sizes or [512], args.tasks or ["transfer"], args.steps or 500
        contents, styles, engine_steps = args.contents, args.styles, args.engine_steps
    check(sizes, tasks, steps, engine_steps, contents, styles, args.contenders, stand_ins=args.quick)
    # quick: small matmuls for the peak, since a CPU without fast bfloat16 emulates it (minutes at 2048)
    report = run(sizes, tasks, steps, args.device, args.out, engine_steps, weights=args.weights, contents=contents,
                 styles=styles, contenders=args.contenders, peak_n=256 if args.quick else None)
    print(f"wrote {args.out / 'results.md'} and results.json ({len(report['rows'])} rows)")
    return 0 if all(math.isfinite(r["final_loss_f32"]) for r in report["rows"]) else 1
