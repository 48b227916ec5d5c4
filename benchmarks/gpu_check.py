"""The GPU check of issue 15: the paper's transfer at 512 px x 500 steps, timed in-process on one GPU.

    python benchmarks/gpu_check.py --device cuda [--steps 500] [--size 512]

Tübingen and *The Starry Night* on the paper's network (``"caffe"``), from white noise as in the
paper, the package's defaults otherwise. Each variant runs once to warm up (cuDNN's kernel choice, the allocator), then
``--repeats`` times; the table gives the best and the median wall time of ``style_transfer``
(targets included), and the float32 loss of the result.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import nst_teach as nt
from nst_teach.bench_worker import sync
from nst_teach.data import paper_image

VARIANTS = {
    "default (float32, TF32 convolutions, CUDA graphs; from noise: coarse-to-fine)": {},
    "no CUDA graphs (the engine before them)": {"cuda_graphs": False},
    "bfloat16 (no graphs: autocast is not captured)": {"precision": "bfloat16"},
    "no coarse-to-fine (the plan of a transfer from the photograph)": {"coarse_levels": 0},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    device = torch.device(args.device)
    encoder = nt.load_vgg19_features("caffe", pooling="avg", device=device)
    content = paper_image("tubingen", args.size, device).image
    style = paper_image("starry_night", args.size, device).image
    alpha = nt.alpha_for_size(nt.DEFAULT_RATIO, content.shape[-2:])
    objective = nt.build_objective(encoder, content=content, style=nt.resize(style, content.shape[-2:]),
                                   content_layers=(nt.CONTENT_LAYER,), style_layers=nt.STYLE_LAYERS, alpha=alpha)
    name = torch.cuda.get_device_name() if device.type == "cuda" else device.type
    print(f"# {name}, torch {torch.__version__}, {tuple(content.shape[-2:])} px, {args.steps} steps\n")
    print("| variant | best s | median s | s/step | final loss (float32) |\n|---|---|---|---|---|")
    for label, overrides in VARIANTS.items():
        settings = nt.Settings(steps=args.steps, **overrides)
        times = []
        for _ in range(args.repeats + 1):
            sync(device)
            start = time.perf_counter()
            result = nt.style_transfer(encoder, content, style, settings, init="noise")
            sync(device)
            times.append(time.perf_counter() - start)
        with torch.no_grad():
            loss = float(objective(encoder(result.image, objective.layers), result.image)["total"])
        best, median = min(times[1:]), statistics.median(times[1:])
        print(f"| {label} | {best:.2f} | {median:.2f} | {best / args.steps:.4f} | {loss:.4g} |", flush=True)


if __name__ == "__main__":
    main()
