"""The command line's start-up: ``nst-teach --help``, and a transfer's time to its first step, each a whole process.

    python benchmarks/startup.py                       # this checkout, 5 runs of each
    python benchmarks/startup.py --runs 7 OLD_CHECKOUT  # and another checkout's package beside it, in turn

A transfer's "first step" is the moment its progress bar first moves: ``nst-teach transfer photo.png painting.png``
at the defaults (512 px, 300 steps, the paper's network), its error stream on a terminal (a pseudo-terminal, so that
tqdm draws the bar as a user sees it), stopped once the bar reads 1/300. Until then the user waits for the imports,
the weights, the targets and the first step (at the plan's first, coarse level). The two images are made here
(512 x 384 and 512 x 512, smooth noise), so the run needs nothing but the package. Each checkout runs as
``python -m nst_teach`` with ``PYTHONPATH`` at it; the checkouts alternate run by run, so that a drift of the
machine's speed falls on each alike. Prints a Markdown table of wall seconds: the median, and the range. Linux and
macOS (a pseudo-terminal).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
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


def _to_first_step(checkout: Path, args: list[str], cwd: Path, steps: int = 300, limit: float = 300) -> float:
    """Wall seconds from the process's start until its progress bar reads ``1/steps``; the run is then stopped."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    terminal, child_end = pty.openpty()
    fcntl.ioctl(child_end, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 24 x 100: tqdm draws in a width
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "nst_teach", *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=child_end)
    os.close(child_end)
    seen, first = b"", re.compile(rb"\b1/%d\b" % steps)
    try:
        while not first.search(seen):
            ready = select.select([terminal], [], [], 1.0)[0]
            if time.perf_counter() - started > limit:
                sys.exit(f"{checkout}: nst-teach {' '.join(args)} showed no first step in {limit:.0f} s")
            if not ready:
                continue
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # EIO: the child closed the terminal, so it ended
                chunk = b""
            if not chunk:
                sys.exit(f"{checkout}: nst-teach {' '.join(args)} ended before its first step:\n"
                         f"{seen.decode(errors='replace')}")
            seen += chunk
        return time.perf_counter() - started
    finally:
        child.kill()
        child.wait()
        os.close(terminal)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkouts", nargs="*", type=Path, help="other checkouts (folders holding nst_teach/)")
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args(argv)
    checkouts = [HERE, *(c.resolve() for c in options.checkouts)]
    with tempfile.TemporaryDirectory() as tmp:
        photo, painting = _images(Path(tmp))
        commands = {"`nst-teach --help`": (_run, ["--help"]),
                    "a transfer to its first step": (_to_first_step, ["transfer", str(photo), str(painting)])}
        rows = []
        for label, (measure, args) in commands.items():
            for checkout in checkouts:  # one run each, not counted: files into the page cache, bytecode compiled
                measure(checkout, args, Path(tmp))
            times: dict[Path, list[float]] = {c: [] for c in checkouts}
            for _ in range(options.runs):
                for checkout in checkouts:
                    times[checkout].append(measure(checkout, args, Path(tmp)))
            for checkout in checkouts:
                t = times[checkout]
                rows.append(f"| {label} | `{checkout.name}` | {statistics.median(t):.2f} s | {min(t):.2f}–{max(t):.2f} s |")
    print(f"{options.runs} runs each, after one not counted; {os.cpu_count()} cores\n")
    print("| command | checkout | median | range |\n|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
