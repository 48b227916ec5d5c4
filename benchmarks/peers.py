"""neural-style-pt beside nst-teach's default transfer: the same pixels, whole processes, time, memory and scores.

    pip install -e '.[peers]'                                   # neural-style-pt 0.5.7 (package neural-style)
    python benchmarks/peers.py --out benchmarks/peers           # both pairs; the peer to its default 1,000 iterations
    python benchmarks/peers.py --laptop --iterations 200 --out /tmp/laptop    # the laptop switch, the peer to 200
    python benchmarks/peers.py --both --out /tmp/both             # as the CPU is, then the laptop switch, one run
    python benchmarks/peers.py --only nst-teach --ratio 1e-3,5e-4 --out /tmp/r   # nst-teach alone, at two alpha/beta

The pairs (default ``chelsea:starry_night,motorcycle:woman_with_hat``) are photographs and paintings the defaults were
not chosen on (README, "Defaults chosen by pictures"). Each picture is written once as a PNG, 512 px on its long side
(``--size``), and both programs read those files: at that size neither resizes them, so both see the same pixels.
Each contender runs alone, in its own process, one after the other:

* **nst-teach**: ``nst-teach transfer PHOTO PAINTING -o OUT.png`` at its defaults (``--ratio R1,R2`` runs it once
  with each ``--ratio``), through ``default_transfer.py``'s ``run_one``; ``--laptop`` runs both float32 on AVX2,
  ``--both`` each pair as the CPU is and then all again with the laptop switch. Its row also gives the first time left
  that its progress bar showed, against the time the run then really had left.
* **neural-style-pt** 0.5.7 at its defaults (1,000 L-BFGS iterations, content weight 5, style weight 100, TV 1e-3,
  max pooling, random start, ``relu4_2`` and ``relu1_1`` ... ``relu5_1``) with ``-gpu c -backend mkl -disable_check
  -seed 0`` on the paper's VGG19 in Caffe's raw layout (:func:`nst_teach.export.export_caffe`). Its default run writes
  a picture every 100 iterations (``-save_iter 100``): the ones after 200 and 500 are, bit for bit, what a run of
  ``-num_iterations 200`` or ``500`` writes as its result (L-BFGS without line search takes the same steps until it is
  told to stop; checked at 64 px), and the seconds from the process's start to that file's write are such a run's
  whole time. So one run gives the rows at 200, 500 and 1,000. Peak memory: the process's ``VmHWM`` when each
  picture is written.

Reported per row: whole-process seconds, peak resident memory, the picture's ``structure`` / ``palette``
(:mod:`nst_teach.metrics`, the measures of the course's ``figure_scores.py``) and nst-teach's time as a share of the
peer's. ``--out DIR`` keeps the inputs, every picture, ``results.json`` and one side-by-side JPEG per pair (photograph,
painting, nst-teach, the peer at each iteration), for a reader to look at.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from default_transfer import LAPTOP, cpu, run_one, scores  # noqa: E402 - the sibling script, beside this one

PAIRS = "chelsea:starry_night,motorcycle:woman_with_hat"
#: scikit-image photographs that nst_teach.data does not list, by name: the left image of its Middlebury 2014 pair.
EXTRA_PHOTOGRAPHS = {"motorcycle": "photograph: a motorcycle (Middlebury 2014 stereo, Scharstein et al.)"}
PEER_DEFAULT_ITERATIONS = 1000
SNAPSHOTS = (200, 500)


def prepare(name: str, size: int, folder: Path) -> Path:
    """Picture ``name`` (catalogue, scikit-image, or a path) written as ``folder/NAME.png``, ``size`` px on its long side."""
    from nst_teach.data import CATALOGUE, FALLBACKS, paper_image
    from nst_teach.images import load_image, save_image

    if name in CATALOGUE or name in FALLBACKS:
        image = paper_image(name, size, stand_in=False).image  # never a stand-in: ImageError says why
    elif name in EXTRA_PHOTOGRAPHS:
        from skimage import data as skdata

        image = load_image(skdata.stereo_motorcycle()[0], size)
    else:
        image = load_image(Path(name), size)
    return save_image(image, folder / f"{Path(name).stem}.png")


def peer_picture(output: Path, iterations: int, final: int) -> Path:
    """The file neural-style-pt writes after ``iterations`` when asked for ``final``: OUT_N.png, or OUT.png at the end."""
    return output if iterations == final else output.with_name(f"{output.stem}_{iterations}{output.suffix}")


def run_peer(photo: Path, painting: Path, output: Path, model: Path, size: int, iterations: int,
             laptop: bool) -> list[dict]:
    """One neural-style-pt process: a row for each of :data:`SNAPSHOTS` below ``iterations`` and one for its end."""
    args = [sys.executable, "-m", "neural_style.neural_style", "-content_image", str(photo), "-style_image",
            str(painting), "-output_image", str(output), "-model_file", str(model), "-gpu", "c", "-backend", "mkl",
            "-disable_check", "-seed", "0"]
    if size != 512:  # its default -image_size
        args += ["-image_size", str(size)]
    if iterations != PEER_DEFAULT_ITERATIONS:
        args += ["-num_iterations", str(iterations)]
    marks = [n for n in SNAPSHOTS if n < iterations] + [iterations]
    env = {**os.environ, **(LAPTOP if laptop else {})}
    peaks: dict[int, float | None] = {}
    log = output.with_suffix(".log")
    with log.open("w") as sink:  # a file, not a pipe: the peer prints every 50 iterations
        started, started_epoch = time.perf_counter(), time.time()
        child = subprocess.Popen(args, env=env, stdout=sink, stderr=subprocess.STDOUT)
        status = Path(f"/proc/{child.pid}/status")
        while child.poll() is None:  # VmHWM, the peak so far, when each picture appears
            for n in marks:
                if n not in peaks and peer_picture(output, n, iterations).exists():
                    peaks[n] = _vm_hwm_gb(status)
            time.sleep(0.2)
        wall = time.perf_counter() - started
    if child.returncode != 0:
        sys.exit(f"neural-style-pt {photo.name} {painting.name} failed:\n{log.read_text()[-3000:]}")
    rows = []
    for n in marks:
        picture = peer_picture(output, n, iterations)
        seconds = wall if n == iterations else picture.stat().st_mtime - started_epoch
        rows.append({"contender": f"neural-style-pt, {n} iterations", "iterations": n, "wall_s": seconds,
                     "peak_rss_gb": peaks.get(n), "picture": str(picture), **scores(photo, painting, picture)})
    return rows


def _vm_hwm_gb(status: Path) -> float | None:
    """A running process's peak resident memory so far (Linux), in GB; None where /proc cannot say."""
    try:
        line = next(line for line in status.read_text().splitlines() if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return None
    return int(line.split()[1]) / 1e6


def side_by_side(photo: Path, painting: Path, rows: list[dict], target: Path, height: int = 256) -> Path:
    """One JPEG: the photograph, the painting and every contender's picture, each captioned with its numbers."""
    from PIL import Image, ImageDraw, ImageFont

    tiles = [(photo, "photograph"), (painting, "painting")] + [
        (Path(r["picture"]), f"{r['contender']}\n{r['wall_s']:.0f} s, structure {r['structure']:.2f}, "
                             f"palette {r['palette']:.2f}") for r in rows]
    images = [Image.open(path).convert("RGB") for path, _ in tiles]
    images = [im.resize((round(im.width * height / im.height), height), Image.Resampling.LANCZOS) for im in images]
    font = ImageFont.load_default(size=13)
    caption = 40
    sheet = Image.new("RGB", (sum(im.width for im in images) + 4 * (len(images) - 1), height + caption), "white")
    x = 0
    for im, (_, label) in zip(images, tiles, strict=True):
        sheet.paste(im, (x, 0))
        ImageDraw.Draw(sheet).multiline_text((x + 3, height + 3), label, fill="black", font=font, spacing=2)
        x += im.width + 4
    sheet.save(target, quality=88)
    return target


def _ratios(text: str) -> list[float]:
    """``--ratio 1e-3,5e-4``: nst-teach's alpha/beta at 512 x 512 for each of its rows."""
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not numbers: {text!r}") from None
    if not all(0 < v < float("inf") for v in values):
        raise argparse.ArgumentTypeError(f"each ratio must be a positive number: {text!r}")
    return values


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", default=PAIRS, help=f"PHOTO:PAINTING,... (default {PAIRS})")
    p.add_argument("--size", type=int, default=512, help="both programs' size (512, both defaults)")
    p.add_argument("--iterations", type=int, default=PEER_DEFAULT_ITERATIONS, help="the peer's (default its 1,000)")
    p.add_argument("--ratio", dest="ratios", type=_ratios, default=[None],
                   help="nst-teach's --ratio, or several (R1,R2,...: a row each; default: its default)")
    p.add_argument("--only", choices=("nst-teach", "neural-style-pt"), help="run one contender")
    p.add_argument("--paper", action="store_true", help="nst-teach with --paper (the paper's w_l, 1e-3, 300 steps), "
                   "not the default picture")
    p.add_argument("--laptop", action="store_true", help="the laptop switch: float32, AVX2")
    p.add_argument("--both", action="store_true", help="both profiles, as the CPU is and then the laptop switch")
    p.add_argument("--out", type=Path, required=True, help="the inputs, pictures, results.json and side-by-sides")
    args = p.parse_args(argv)
    from nst_teach.errors import NstTeachError

    if args.only != "nst-teach":
        try:
            import neural_style  # noqa: F401 - only to say it is missing, before any work
        except ImportError:
            sys.exit("peers.py: neural-style-pt is not installed: pip install -e '.[peers]' (or --only nst-teach)")
    folder = args.out
    (folder / "inputs").mkdir(parents=True, exist_ok=True)
    try:
        pairs = [(prepare(photo, args.size, folder / "inputs"), prepare(painting, args.size, folder / "inputs"))
                 for photo, painting in (pair.split(":") for pair in args.pairs.split(","))]
    except (NstTeachError, ValueError) as err:
        sys.exit(f"peers.py: {err}")
    from nst_teach.export import export_caffe

    model = export_caffe(folder / "vgg19-nst-teach-caffe.pth") if args.only != "nst-teach" else None
    for laptop in ([False, True] if args.both else [args.laptop]):  # one run, both profiles: the same machine state
        run_profile(args, pairs, model, laptop)
    return 0


def run_profile(args: argparse.Namespace, pairs: list[tuple[Path, Path]], model: Path | None, laptop: bool) -> None:
    """Every pair on one CPU profile (``laptop``: the laptop switch): the runs, the side-by-sides, the table, the JSON."""
    folder = args.out
    profile = "_laptop" if laptop else ""
    results: list[dict[str, Any]] = []
    for photo, painting in pairs:
        stem = f"{photo.stem}_x_{painting.stem}{profile}"
        rows: list[dict[str, Any]] = []
        for ratio in (args.ratios if args.only != "neural-style-pt" else []):
            suffix = "" if ratio is None else f"_ratio{ratio:g}"
            suffix += "_paper" if args.paper else ""
            row = run_one(photo, painting, folder / f"{stem}_nst-teach{suffix}.png", args.size, None, laptop,
                          ([] if ratio is None else ["--ratio", str(ratio)]) + (["--paper"] if args.paper else []))
            name = "nst-teach --paper" if args.paper else "nst-teach default"
            rows.append({"contender": name + ("" if ratio is None else f", ratio {ratio:g}"),
                         "iterations": row["steps"], **{k: row.get(k) for k in (
                             "wall_s", "peak_rss_gb", "picture", "structure", "palette", "first_left_s", "real_left_s")}})
        if model is not None:
            rows += run_peer(photo, painting, folder / f"{stem}_neural-style-pt.png", model, args.size, args.iterations,
                             laptop)
        results.append({"photo": photo.stem, "painting": painting.stem, "rows": rows})
        side_by_side(photo, painting, rows, folder / f"{stem}.jpg")
    import torch

    machine = f"{cpu()}; torch {torch.__version__}; " + (
        "the laptop switch (float32, AVX2)" if laptop else "as the CPU is (nst-teach: precision auto)")
    print(f"{machine}\n\n| pictures, {args.size} px | contender | whole process | peak RSS | structure / palette "
          f"| nst-teach's time / this | first time left shown (real) |\n" + "|---" * 7 + "|")
    for pair in results:
        ours = next((r["wall_s"] for r in pair["rows"] if r["contender"].startswith("nst-teach")), None)
        for r in pair["rows"]:
            peak = "n/a" if r["peak_rss_gb"] is None else f"{r['peak_rss_gb']:.2f} GB"
            share = f"{ours / r['wall_s']:.3f} (1/{r['wall_s'] / ours:.1f})" \
                if ours and not r["contender"].startswith("nst-teach") else ""
            left = f"{r['first_left_s']:.0f} s ({r['real_left_s']:.0f} s)" if r.get("first_left_s") is not None else ""
            print(f"| {pair['photo']} × {pair['painting']} | {r['contender']} | {r['wall_s']:.1f} s | {peak} "
                  f"| {r['structure']:.2f} / {r['palette']:.2f} | {share} | {left} |")
    (folder / f"results{profile}.json").write_text(json.dumps({"machine": machine, "pairs": results}, indent=1))
    print(f"\ninputs, pictures, results{profile}.json and one side-by-side JPEG a pair in {folder}\n", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
