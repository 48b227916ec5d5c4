"""One forward+backward pass of the style-transfer loss, lever by lever.

    python benchmarks/levers.py                      # CPU, 256 and 512 px
    python benchmarks/levers.py --device cuda --compile

Times one evaluation of the loss and its gradient (what an L-BFGS step costs
on the network side) for float32 / bfloat16 autocast, NCHW / channels_last,
and optionally ``torch.compile``, on a 4:3 image. Prints a Markdown table and writes JSON.
The paper's network; the timings do not depend on the weights' values.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from nst_teach.bench_worker import sync
from nst_teach.features import load_vgg19_features
from nst_teach.objective import CONTENT_LAYER, STYLE_LAYERS, build_objective
from nst_teach.runtime import autocast_dtype, pick_device


def time_pass(step, x: torch.Tensor, device: torch.device, repeats: int) -> tuple[float, float]:
    """(first call, median of ``repeats`` later calls) in seconds."""
    sync(device)
    start = time.perf_counter()
    step(x)
    sync(device)
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step(x)
        sync(device)
        times.append(time.perf_counter() - start)
    return first, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile (slow to compile)")
    parser.add_argument("--out", type=Path, default=Path("levers.json"))
    args = parser.parse_args()
    device = pick_device(args.device)
    encoder = load_vgg19_features("caffe", pooling="avg", device=device)  # the speed does not depend on the weights
    rows = []
    print("| px | precision | layout | compiled | first call (s) | per pass (s) |\n|---|---|---|---|---|---|")
    for size in args.sizes:
        shape = (1, 3, size * 3 // 4, size)  # Tübingen's 4:3
        content, style = torch.rand(shape, device=device), torch.rand(shape, device=device)
        objective = build_objective(encoder, content=content, style=style, content_layers=[CONTENT_LAYER],
                                    style_layers=STYLE_LAYERS, alpha=1e-3, beta=1.0)
        variants = [(p, cl, False) for p in ("float32", "bfloat16") for cl in (False, True)]
        variants += [("float32", True, True), ("bfloat16", True, True)] if args.compile else []
        for precision, channels_last, compiled in variants:
            fmt = torch.channels_last if channels_last else torch.contiguous_format
            encoder.to(memory_format=fmt)

            def loss(x: torch.Tensor, precision: str = precision, objective=objective) -> torch.Tensor:
                with autocast_dtype(device, precision):
                    F = encoder(x, objective.layers)
                return objective(F, x)["total"]

            fn = torch.compile(loss) if compiled else loss

            def step(x: torch.Tensor, fn=fn, fmt=fmt) -> None:
                x = x.contiguous(memory_format=fmt).requires_grad_(True)
                fn(x).backward()

            first, per_pass = time_pass(step, torch.rand(shape, device=device), device, args.repeats)
            row = {"px": size, "precision": precision, "channels_last": channels_last, "compiled": compiled,
                   "first_s": first, "per_pass_s": per_pass}
            rows.append(row)
            print(f"| {size} | {precision} | {'NHWC' if channels_last else 'NCHW'} | {'yes' if compiled else 'no'} | "
                  f"{first:.3f} | {per_pass:.4f} |", flush=True)
    args.out.write_text(json.dumps({"device": str(device), "torch": torch.__version__,
                                    "name": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
                                    "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
