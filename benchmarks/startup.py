"""The command line's start-up: ``nst-teach --help``, and a transfer to its first step, each a whole process.

    python benchmarks/startup.py                       # this checkout, 5 runs of each
    python benchmarks/startup.py --runs 7 OLD_CHECKOUT  # and another checkout's package beside it, in turn

A transfer "to its first step" is ``nst-teach transfer photo.png painting.png --steps 1`` at the default size
(512 px) on the paper's network: the imports, the weights, the targets, one step and the PNG, the time a user waits
before anything moves. The two images are made here (512 x 384 and 512 x 512, smooth noise), so the run needs
nothing but the package. Each checkout runs as ``python -m nst_teach`` with ``PYTHONPATH`` at it; the checkouts
alternate run by run, so that a drift of the machine's speed falls on each alike. Prints a Markdown table of wall
seconds: the median, and the range.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent.parent


def _images(folder: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    paths = []
    for name, (h, w) in (("photo", (384, 512)), ("painting", (512, 512))):
        coarse = rng.integers(0, 256, (h // 32, w // 32, 3), dtype=np.uint8)
        path = folder / f"{name}.png"
        Image.fromarray(coarse).resize((w, h), Image.Resampling.BICUBIC).save(path)
        paths.append(path)
    return paths[0], paths[1]


def _run(checkout: Path, args: list[str], cwd: Path) -> float:
    """Wall seconds of one whole process."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "nst_teach", *args], cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{checkout}: nst-teach {' '.join(args)} failed:\n{done.stderr}")
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkouts", nargs="*", type=Path, help="other checkouts (folders holding nst_teach/)")
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args(argv)
    checkouts = [HERE, *(c.resolve() for c in options.checkouts)]
    with tempfile.TemporaryDirectory() as tmp:
        photo, painting = _images(Path(tmp))
        commands = {"nst-teach --help": ["--help"],
                    "a transfer to its first step": ["transfer", str(photo), str(painting), "--steps", "1"]}
        rows = []
        for label, args in commands.items():
            for checkout in checkouts:  # one run each, not counted: files into the page cache, bytecode compiled
                _run(checkout, args, Path(tmp))
            times: dict[Path, list[float]] = {c: [] for c in checkouts}
            for _ in range(options.runs):
                for checkout in checkouts:
                    times[checkout].append(_run(checkout, args, Path(tmp)))
            for checkout in checkouts:
                t = times[checkout]
                rows.append(f"| {label} | `{checkout.name}` | {statistics.median(t):.2f} s | {min(t):.2f}–{max(t):.2f} s |")
    print(f"{options.runs} runs each, after one not counted; {os.cpu_count()} cores\n")
    print("| command | checkout | median | range |\n|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
