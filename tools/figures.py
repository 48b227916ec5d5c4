"""The README's pictures, on the paper's network: ``make figures`` (or ``python tools/figures.py``).

Writes ``docs/fig1_content.png`` (Fig. 1, bottom row), ``docs/fig1_style.png`` (Fig. 1, top
row), ``docs/fig3_gallery.png`` (Fig. 3) and ``docs/figures.md`` with the settings that made
them and, when ``../shared/tools/figure_scores.py`` is there, the gallery's scores. The images
come from ``$NST_TEACH_IMAGES`` (or the download cache). A few minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import nst_teach as nt
from nst_teach.data import CATALOGUE, catalogue_path, paper_image

ROOT = Path(__file__).resolve().parent.parent
SCORES = ROOT.parent / "shared" / "tools" / "figure_scores.py"


def _strip(images: list[torch.Tensor], titles: list[str], path: Path, suptitle: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    fig = nt.show_images(images, titles, suptitle=suptitle, width=2.2)
    fig.savefig(path, dpi=80, bbox_inches="tight")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="long side in pixels (default 256)")
    parser.add_argument("--steps", type=int, default=200, help="steps per picture (default 200)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    encoder = nt.load_vgg19_features("caffe", pooling="avg")
    settings = nt.Settings(steps=args.steps)
    started = time.perf_counter()
    precision = "bfloat16" if nt.runtime.resolve_precision(settings.precision, torch.device("cpu")) else "float32"
    lines = [f"# The README's figures\n\nMade by `make figures` (`tools/figures.py`): weights `{encoder.weights}`, "
             f"average pooling, {args.size} px on the long side, {args.steps} steps of the engine's default "
             f"L-BFGS per picture (network in {precision}), torch {torch.__version__}, on the CPU.\n"]

    photo = paper_image("tubingen", args.size)
    layers = ["relu1_2", "relu2_2", "relu3_2", "relu4_2", "relu5_2"]
    recon = [nt.reconstruct_content(encoder, photo.image, layer, settings) for layer in layers]
    _strip([photo.image, *[r.image for r in recon]], ["photograph", *layers], args.out / "fig1_content.png",
           "Fig. 1, bottom row: content reconstructions")
    lines.append(f"- `fig1_content.png`: {photo.credit}; each layer its own run, from white noise.")

    source = paper_image("starry_night", args.size)
    tops = list(nt.STYLE_LAYERS)
    textures = [nt.synthesize_texture(encoder, source.image, tops[:k], settings) for k in range(1, 6)]
    _strip([source.image, *[r.image for r in textures]], ["original", *[f"up to {t}" for t in tops]],
           args.out / "fig1_style.png", "Fig. 1, top row: style reconstructions")
    lines.append(f"- `fig1_style.png`: {source.credit}; layers up to relu1_1 ... relu5_1, w_l = 1/k.")

    styles = ["shipwreck", "starry_night", "the_scream", "composition_vii"]
    gallery, scores = [photo.image], []
    with tempfile.TemporaryDirectory() as tmp:
        for name in styles:
            style = paper_image(name, args.size)
            result = nt.style_transfer(encoder, photo.image, style.image, settings, init="noise")  # as the paper
            gallery.append(result.image)
            if SCORES.is_file() and not photo.fallback and not style.fallback:
                out = nt.save_image(result.image, Path(tmp) / f"{name}.png")
                scores.append(subprocess.run([sys.executable, str(SCORES), str(catalogue_path("tubingen")),
                                              str(catalogue_path(name)), str(out)],
                                             capture_output=True, text=True).stdout.strip())
    _strip(gallery, ["photograph", *styles], args.out / "fig3_gallery.png",
           f"Fig. 3: alpha/beta = {nt.DEFAULT_RATIO:g} at 512 x 512")
    lines.append(f"- `fig3_gallery.png`: α/β = {nt.DEFAULT_RATIO:g} at 512 × 512 (`nt.alpha_for_size`), from white noise, "
                 f"styles: {', '.join(CATALOGUE[s].title for s in styles)}.")
    if scores:
        lines.append("\n`figure_scores.py` for the gallery (structure: the photograph's layout kept, 0 to 1; "
                     "palette: 0 the photograph's colours, 1 the painting's):\n")
        lines += [f"    {' '.join(line.split()[:4])}  {name}" for line, name in zip(scores, styles)]
    lines.append(f"\nTook {time.perf_counter() - started:.0f} s.")
    (args.out / "figures.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
