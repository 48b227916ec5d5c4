"""Where the default transfer's time goes: start-up, each phase of the plan, and one step's operations.

    python benchmarks/profile_default.py                     # Tübingen x The Scream, 512 px, the CLI's defaults
    python benchmarks/profile_default.py --laptop            # the same with the laptop switch (float32, AVX2)
    python benchmarks/profile_default.py --paper             # the paper's objective and Settings(): 300 steps
    python benchmarks/profile_default.py --pair chelsea:starry_night --steps 120

One fresh process runs what ``nst-teach transfer PHOTO PAINTING`` runs, at its defaults (the default picture:
``picture.PICTURE``, the style layers balanced; ``--paper``: ``Settings()``, the paper's ``w_l = 1/5``; average
pooling, the network cut after ``relu5_1``), and times it in the order it happens: the imports, the weights, the
pictures, the targets (the painting's Gram matrices and the photograph's ``conv4_2``), every step of every phase of
the plan (:func:`~nst_teach.coarse_to_fine.plan_for`), and the PNG written. Then :mod:`torch.profiler` splits three
loss-and-gradient evaluations at each phase's size and precision into the network's forward and backward
(convolutions, poolings, ReLUs), the Gram matrices (both directions), the rest of the objective (differences, casts),
and what a step costs beyond its evaluation (the L-BFGS direction, the line search's bookkeeping, the clamp).
``--laptop`` re-runs this script with ``NST_TEACH_BFLOAT16=0 ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2``.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402 - the clock starts before the imports it times
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from default_transfer import LAPTOP, cpu, picture  # noqa: E402 - the sibling script, beside this one

#: torch.profiler's operator names, by the part of a step they belong to (first match wins; the rest: "objective").
CATEGORIES = (("convolution backward", ("convolution_backward",)), ("pooling backward", ("pool2d_backward",)),
              ("ReLU backward", ("threshold_backward",)), ("convolutions", ("convolution",)),
              ("poolings", ("pool2d",)), ("ReLUs", ("relu",)), ("Gram matrices", ("mm", "bmm", "baddbmm")))


def category(name: str) -> str:
    """The part of a step that operator ``name`` (``aten::...``) belongs to."""
    op = name.split("::")[-1]
    return next((label for label, keys in CATEGORIES if any(key in op for key in keys)), "objective")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pair", default="tubingen:the_scream", help="PHOTO:PAINTING by catalogue name or path")
    p.add_argument("--size", type=int, default=512, help="the long side (default 512, the CLI's)")
    p.add_argument("--steps", type=int, help="the run's steps (default: Settings().steps)")
    p.add_argument("--laptop", action="store_true", help="the laptop switch: float32, AVX2")
    p.add_argument("--paper", action="store_true", help="Settings() and the paper's w_l = 1/5 (nst-teach transfer "
                   "--paper), not the default picture")
    p.add_argument("--out", type=Path, default=Path("profile.json"), help="the numbers as JSON")
    args = p.parse_args(argv)
    if args.laptop and os.environ.get("ONEDNN_MAX_CPU_ISA") != LAPTOP["ONEDNN_MAX_CPU_ISA"]:  # the switch is read at import
        env = {**os.environ, **LAPTOP}
        return subprocess.call([sys.executable, __file__, *(argv if argv is not None else sys.argv[1:])], env=env)
    clock = Clock(STARTED)
    import torch

    clock.mark("import torch")
    from nst_teach import tasks
    from nst_teach.coarse_to_fine import level_size
    from nst_teach.engine import Progress, loss_terms
    from nst_teach.features import load_vgg19_features
    from nst_teach.images import load_image, save_image
    from nst_teach.objective import CONTENT_LAYER, STYLE_LAYERS
    from nst_teach.picture import PICTURE
    from nst_teach.settings import Settings

    clock.mark("import nst_teach")
    encoder = load_vgg19_features("caffe", pooling="avg").truncate("relu5_1")
    clock.mark("weights (decode, build VGG19)")
    photo_name, painting_name = args.pair.split(":")
    photo, painting = load_image(picture(photo_name), args.size), load_image(picture(painting_name), args.size)
    clock.mark("read the pictures")
    base = Settings() if args.paper else PICTURE  # the paper's objective and plan, or the command line's default picture
    settings = Settings(**{**base.__dict__, **({"steps": args.steps} if args.steps else {})})
    stamps: list[tuple[float, Progress]] = []
    steps_settings = Settings(**{**settings.__dict__, "every": 1})  # a callback every step: its clock
    called = time.perf_counter()
    result = tasks.style_transfer(encoder, photo, painting, steps_settings, balance=not args.paper,
                                  callback=lambda progress: stamps.append((time.perf_counter(), progress)))
    first_clock, first = stamps[0]
    clock.marks.append(("targets and the start", first_clock - first.seconds - called))
    clock.last = first_clock - first.seconds
    objective_plan = [(phase.level, phase.precision, phase.steps) for phase in first.plan]  # the engine's own plan
    phases = []
    previous = clock.last
    for index, (level, precision, _) in enumerate(objective_plan):
        ends = [t for t, progress in stamps if progress.losses["phase"] == index]
        steps = len(ends)  # a callback every step: the steps the phase ran
        seconds = ends[-1] - previous
        phases.append({"level": level, "precision": precision, "steps": steps, "seconds": seconds,
                       "per_step": seconds / steps, "size": list(level_size(photo.shape[-2:], level))})
        clock.marks.append((f"level {level} ({phases[-1]['size'][1]} x {phases[-1]['size'][0]}), {precision}: "
                            f"{steps} steps", seconds))
        previous = ends[-1]
    clock.last = previous
    save_image(result.image, args.out.with_suffix(".png"))
    clock.mark("write the PNG")
    whole = time.perf_counter() - STARTED
    splits = _operations(encoder, photo, painting, phases, loss_terms, torch)
    report = {"cpu": cpu(), "torch": torch.__version__, "laptop_switch": args.laptop, "pair": args.pair, "paper": args.paper,
              "size": list(photo.shape[-2:]), "whole_s": whole, "marks": clock.marks, "phases": phases,
              "operations": splits, "plan": [list(p) for p in objective_plan],
              "layers": [CONTENT_LAYER, *STYLE_LAYERS]}
    args.out.write_text(json.dumps(report, indent=1))
    _print(report)
    return 0


class Clock:
    """Seconds between marks, from ``start``."""

    def __init__(self, start: float) -> None:
        self.last, self.marks = start, []

    def mark(self, what: str) -> None:
        now = time.perf_counter()
        self.marks.append((what, now - self.last))
        self.last = now


def _operations(encoder, photo, painting, phases, loss_terms, torch) -> list[dict]:
    """Three evaluations (forward and backward) at each phase's size and precision, split by :func:`category`."""
    from torch.profiler import ProfilerActivity, profile

    from nst_teach.images import resize
    from nst_teach.objective import CONTENT_LAYER, STYLE_LAYERS, alpha_for_size, build_objective
    from nst_teach.runtime import layout
    from nst_teach.settings import DEFAULT_RATIO

    rows = []
    for phase in phases:
        size = tuple(phase["size"])
        content, style = resize(photo, size), resize(painting, size)
        objective = build_objective(encoder, content=content, style=style, content_layers=[CONTENT_LAYER],
                                    style_layers=STYLE_LAYERS, alpha=alpha_for_size(DEFAULT_RATIO, size), beta=1.0)
        x = torch.rand(1, 3, *size).contiguous(memory_format=torch.channels_last)
        with layout(encoder, True):
            def evaluate(x=x, objective=objective, precision=phase["precision"]) -> None:
                y = x.detach().requires_grad_(True)
                loss_terms(encoder, objective, y, precision, True)["total"].backward()

            evaluate()
            started = time.perf_counter()
            for _ in range(3):
                evaluate()
            wall = (time.perf_counter() - started) / 3  # without the profiler, which slows each operation
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                for _ in range(3):
                    evaluate()
        split: dict[str, float] = defaultdict(float)
        for event in prof.key_averages():
            split[category(event.key)] += event.self_cpu_time_total / 1e6 / 3
        scale = wall / sum(split.values())  # the profiler's own overhead taken out, spread evenly
        rows.append({"level": phase["level"], "precision": phase["precision"], "evaluation_s": wall,
                     "step_s": phase["per_step"], "beyond_evaluation_s": max(phase["per_step"] - wall, 0.0),
                     "split_s": {k: v * scale for k, v in sorted(split.items(), key=lambda kv: -kv[1])}})
    return rows


def _print(report: dict) -> None:
    print(f"{report['cpu']}; torch {report['torch']}; "
          f"{'the laptop switch (float32, AVX2)' if report['laptop_switch'] else 'as the CPU is'}; "
          f"{report['pair']} at {report['size'][1]} x {report['size'][0]}; "
          f"{'the paper (--paper)' if report['paper'] else 'the default picture'}\n")
    print("| part of the run | seconds | share |\n|---|---|---|")
    for what, seconds in report["marks"]:
        print(f"| {what} | {seconds:.2f} | {seconds / report['whole_s']:.1%} |")
    print(f"| **whole process** | **{report['whole_s']:.1f}** | |\n")
    parts = sorted({k for row in report["operations"] for k in row["split_s"]})
    print("| level, precision | s/step | evaluation | beyond it (L-BFGS, line search) | "
          + " | ".join(parts) + " |\n" + "|---" * (4 + len(parts)) + "|")
    for row in report["operations"]:
        print(f"| {row['level']}, {row['precision']} | {row['step_s']:.3f} | {row['evaluation_s']:.3f} | "
              f"{row['beyond_evaluation_s']:.3f} | "
              + " | ".join(f"{row['split_s'].get(k, 0.0):.3f}" for k in parts) + " |")


if __name__ == "__main__":
    raise SystemExit(main())
