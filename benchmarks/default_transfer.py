"""The command line's default transfer, whole, as a user runs it: time, peak memory and the picture's scores.

    python benchmarks/default_transfer.py                     # Tübingen x The Scream, 512 px, the default steps
    python benchmarks/default_transfer.py --laptop            # the same with the laptop switch (float32, AVX2)
    python benchmarks/default_transfer.py --pairs coffee:composition_vii --size 1024

Each pair runs ``nst-teach transfer PHOTO PAINTING -o OUT.png --metrics-json OUT.json`` once, in a fresh process,
with nothing but ``--size`` (512 px unless given) and ``--steps`` (the default unless given) set. Reported: the whole
process's wall seconds (imports, weights, targets, every step, the PNG written), the seconds the run itself reports,
the process's peak resident memory (``wait4``), and the saved picture's ``structure`` / ``palette``
(:mod:`nst_teach.metrics`, the measures of the course's ``figure_scores.py``). A pair's pictures are catalogue names
(from ``$NST_TEACH_IMAGES`` or the cache: never a stand-in) or paths. ``--laptop`` runs the child with
``NST_TEACH_BFLOAT16=0 ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2``, what most laptops (AVX2 only) run.
Prints a Markdown table with the CPU it ran on; ``--out DIR`` keeps the pictures and a ``results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LAPTOP = {"NST_TEACH_BFLOAT16": "0", "ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}


def cpu() -> str:
    """The CPU's model name, its cores, and whether this process's ``precision="auto"`` would run bfloat16."""
    from nst_teach.runtime import CPUINFO, cpu_has_fast_bf16

    text = CPUINFO.read_text() if CPUINFO.is_file() else ""
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")),
                 platform.processor() or platform.machine())
    return f"{model}, {os.cpu_count()} cores, {'fast' if cpu_has_fast_bf16() else 'no fast'} bfloat16"


def picture(name: str) -> Path:
    """A catalogue picture's file (never a stand-in: :class:`~nst_teach.errors.ImageError` says why) or a path."""
    from nst_teach.data import CATALOGUE, catalogue_path

    return catalogue_path(name) if name in CATALOGUE else Path(name)


def run_one(photo: Path, painting: Path, out: Path, size: int, steps: int | None, laptop: bool,
            options: list[str] | None = None) -> dict:
    """One whole ``nst-teach transfer`` process (with ``options`` added): its wall seconds, peak RSS and scores."""
    from nst_teach.images import load_image

    args = [sys.executable, "-m", "nst_teach", "transfer", str(photo), str(painting), "-o", str(out),
            "--metrics-json", str(out.with_suffix(".json")), "--size", str(size)]
    if steps is not None:
        args += ["--steps", str(steps)]
    args += options or []
    env = {**os.environ, **(LAPTOP if laptop else {})}
    log = out.with_suffix(".log")
    with log.open("w") as sink:  # a file, not a pipe: a long run's progress bar would fill a pipe and block it
        started = time.perf_counter()
        child = subprocess.Popen(args, env=env, stdout=sink, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)  # the child's own peak memory, not this process's
        wall = time.perf_counter() - started
    stdout = log.read_text()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"nst-teach transfer {photo.name} {painting.name} failed:\n{stdout[-3000:]}")
    report = json.loads(out.with_suffix(".json").read_text())
    peak_kb = usage.ru_maxrss * (1 if sys.platform != "darwin" else 1 / 1024)
    first = report.get("first_estimate") or {}  # the progress bar's first time left, against the time it had left
    estimate = {"first_left_s": first["seconds_left"], "real_left_s": report["seconds"] - first["at_s"]} if first else {}
    return {"photo": photo.name, "painting": painting.name, "size": list(load_image(out).shape[-2:]), "wall_s": wall,
            "run_s": report.get("seconds"), "steps": report.get("steps"), "peak_rss_gb": peak_kb / 1e6, **estimate,
            **scores(photo, painting, out), "picture": str(out), "laptop_switch": laptop, "stdout": stdout[-500:]}


def scores(photo: Path, painting: Path, picture: Path) -> dict[str, float]:
    """A saved picture's ``structure`` / ``palette``, the photograph and the painting read at the picture's long side."""
    from nst_teach import metrics
    from nst_teach.images import load_image

    result = load_image(picture)
    side = max(result.shape[-2:])
    content, style = load_image(photo, side), load_image(painting, side)
    return {"structure": metrics.structure(content, result), "palette": metrics.palette(content, style, result)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", default="tubingen:the_scream", help="PHOTO:PAINTING,... by catalogue name or path")
    p.add_argument("--size", type=int, default=512, help="the CLI's --size (default 512, its default)")
    p.add_argument("--steps", type=int, help="the CLI's --steps (default: its default)")
    p.add_argument("--laptop", action="store_true", help="the laptop switch: float32, AVX2")
    p.add_argument("--out", type=Path, help="keep the pictures and results.json here")
    args = p.parse_args(argv)
    pairs = [tuple(pair.split(":")) for pair in args.pairs.split(",")]
    folder = args.out or Path(tempfile.mkdtemp(prefix="nst-teach-default-"))
    folder.mkdir(parents=True, exist_ok=True)
    from nst_teach.errors import NstTeachError

    rows = []
    for photo, painting in pairs:
        out = folder / f"{Path(photo).stem}_x_{Path(painting).stem}_{args.size}{'_laptop' if args.laptop else ''}.png"
        try:
            rows.append(run_one(picture(photo), picture(painting), out, args.size, args.steps, args.laptop))
        except NstTeachError as err:  # a picture that cannot be had: one line, no stand-in
            sys.exit(f"default_transfer.py: {err}")
    import torch

    profile = "the laptop switch (float32, AVX2)" if args.laptop else "as the CPU is (precision auto)"
    print(f"{cpu()}; torch {torch.__version__}; {profile}\n")
    print("| pictures | px | steps | whole process | in the run | peak RSS | structure / palette |\n" + "|---" * 7 + "|")
    for r in rows:
        print(f"| {r['photo']} × {r['painting']} | {r['size'][1]} × {r['size'][0]} | {r['steps']} | {r['wall_s']:.1f} s "
              f"| {r['run_s']:.1f} s | {r['peak_rss_gb']:.2f} GB | {r['structure']:.2f} / {r['palette']:.2f} |")
    (folder / "results.json").write_text(json.dumps({"cpu": cpu(), "torch": torch.__version__, "rows": rows}, indent=1))
    print(f"\npictures and results.json in {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
