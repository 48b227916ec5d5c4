"""The transfer's defaults, chosen by pictures: starts, ratios and layer weights side by side on unseen pairs.

    python benchmarks/defaults.py                  # the README's table: 5 rows x 4 pairs, 256 px, 300 steps
    python benchmarks/defaults.py --size 512 --rows "noise 1e-3;recolored 2e-3" --pairs tubingen:the_scream
    python benchmarks/defaults.py --rows "noise 1e-3;noise 1e-3 balanced;noise 1e-3 authors" --steps 200 \\
        --pairs tubingen:starry_night,rocket:the_scream
    python benchmarks/defaults.py --normalized --rows "noise 1e-3" --pairs tubingen:starry_night,rocket:the_scream
    python benchmarks/defaults.py --size 512 --picture-plan --rows "noise 1e-3;noise 2e-3 balanced" \
        --pairs tubingen:starry_night,coffee:the_scream    # the default picture's plan (picture.PICTURE)
    python benchmarks/defaults.py --size 512 --picture-plan --rows "noise 2e-3 balanced;noise 1e-3 picture relu3_2" \
        --pairs tubingen:starry_night                      # the default picture's layers

Each row is ``START RATIO [WEIGHTS [CONTENT_LAYER]]``: ``START`` one of :data:`nst_teach.starts` (``noise``,
``content``, ``recolored``, ...), ``RATIO`` alpha/beta at 512 x 512 (:func:`nst_teach.objective.alpha_for_size`),
``WEIGHTS`` the style layers' w_l: the paper's 1/5 (``paper`` or left out), ``balanced``
(:func:`nst_teach.balanced_layer_weights` at the start), ``picture`` (balanced in the default picture's shares,
:data:`nst_teach.PICTURE_STYLE_SHARES`) or ``authors`` (their later code's 10^3 / N_l^2, scaled to the paper's total
of 1); ``CONTENT_LAYER`` the content's layer (the paper's ``relu4_2`` unless given; the default picture's ``relu3_2``). Each cell is one
``style_transfer`` on the paper's trained VGG19 (seed 0), scored as saved with ``structure`` / ``palette``
(:mod:`nst_teach.metrics`: the photograph's layout kept, 0-1; the painting's colours taken, 0 the photograph's, 1 the
painting's) and its seconds in the run; ``--out DIR`` keeps the pictures, one file a cell, to look at. Pictures are
catalogue names (``$NST_TEACH_IMAGES`` or the cache, never a stand-in) or scikit-image's by name (``rocket``,
``coffee``, ``astronaut``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROWS = "content 2e-3;recolored 2e-3;noise 2e-3;noise 1e-3;noise 5e-4"
PAIRS = "rocket:the_scream,coffee:composition_vii,astronaut:shipwreck,tubingen:the_scream"
AUTHORS_N = (64, 128, 256, 512, 512)  # N_l of relu1_1 ... relu5_1


def layer_weights(kind: str | None, encoder, photo, painting, start) -> dict[str, float] | None:
    """The style layers' w_l a row asks for (None: the paper's equal 1/5); balanced ones at the run's own start."""
    import nst_teach as nt
    from nst_teach.starts import initial_image

    if kind in (None, "paper"):
        return None
    if kind in ("balanced", "picture"):
        x0 = initial_image(start, photo.shape, seed=0, content=photo, style=painting)  # the run's seed: the same start
        return nt.balanced_layer_weights(encoder, painting, x0, nt.PICTURE_STYLE_SHARES if kind == "picture" else nt.STYLE_LAYERS)
    if kind == "authors":
        raw = {layer: 1e3 / n**2 for layer, n in zip(nt.STYLE_LAYERS, AUTHORS_N, strict=True)}
        return {layer: w / sum(raw.values()) for layer, w in raw.items()}
    sys.exit(f"unknown layer weights {kind!r}: paper, balanced, picture or authors")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", default=ROWS, help=f"'START RATIO [WEIGHTS [CONTENT_LAYER]];...' (default {ROWS!r})")
    p.add_argument("--pairs", default=PAIRS, help="PHOTO:PAINTING,... (default: the four unseen pairs)")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--steps", type=int, help="the run's steps (default 300; with --picture-plan 180)")
    p.add_argument("--picture-plan", action="store_true", help="the default picture's plan (picture.PICTURE: 8/9 of "
                   "the steps at 1/4 and 1/2 size), not Settings()'s (half of them)")
    p.add_argument("--normalized", action="store_true", help="the paper's normalised network")
    p.add_argument("--weights", default="caffe", help="caffe (default) | random (a smoke run)")
    p.add_argument("--out", type=Path, help="keep the pictures here")
    args = p.parse_args(argv)

    import torch

    from nst_teach.picture import PICTURE
    from nst_teach.settings import Settings

    base = PICTURE if args.picture_plan else Settings()
    settings = Settings(**{**base.__dict__, "steps": args.steps or base.steps})

    import nst_teach as nt
    from nst_teach.data import paper_image
    from nst_teach.errors import NstTeachError
    from nst_teach.starts import check_start
    from nst_teach.vgg19 import check_layers

    rows = [row.split() for row in args.rows.split(";")]
    try:
        for start, _, *rest in rows:
            check_start(start, "transfer")
            if rest[1:]:
                check_layers(rest[1:])
    except NstTeachError as err:
        sys.exit(f"defaults.py: --rows: {err}")
    pairs = [tuple(pair.split(":")) for pair in args.pairs.split(",")]
    out = args.out or Path(tempfile.mkdtemp(prefix="nst-teach-defaults-"))
    out.mkdir(parents=True, exist_ok=True)
    encoder = nt.load_vgg19_features(args.weights, pooling="avg", normalized=args.normalized)
    cells: dict[tuple[int, int], str] = {}
    for j, (photo_name, painting_name) in enumerate(pairs):
        try:  # never a stand-in: a table that names The Scream must be made with it
            photo = paper_image(photo_name, args.size, stand_in=False).image
            painting = nt.resize(paper_image(painting_name, args.size, stand_in=False).image, photo.shape[-2:])
        except NstTeachError as err:
            sys.exit(f"defaults.py: {err}")
        for i, (start, ratio, *weights) in enumerate(rows):
            torch.manual_seed(0)
            w = layer_weights(weights[0] if weights else None, encoder, photo, painting, start)
            result = nt.style_transfer(encoder, photo, painting, settings, ratio=float(ratio), init=start,
                                       style_layers=w or nt.STYLE_LAYERS, content_layers=weights[1:] or [nt.CONTENT_LAYER])
            name = f"{photo_name}_x_{painting_name}_{'_'.join([start, ratio, *weights])}.png"
            saved = nt.load_image(nt.save_image(result.image, out / name))
            cells[i, j] = (f"{nt.structure(photo, saved):.2f} / {nt.palette(photo, painting, saved):.2f} "
                           f"({result.seconds:.0f} s)")
            print(f"{photo_name} x {painting_name}, {' '.join([start, ratio, *weights])}: {cells[i, j]}", flush=True)
    network = "the normalised network" if args.normalized else "the network as trained"
    plan = ", the default picture's plan" if args.picture_plan else ""
    print(f"\n{args.size} px, {settings.steps} steps{plan}, {network} ({args.weights}), seed 0; structure / palette "
          f"(seconds in the run)\n")
    print("| start, ratio | " + " | ".join(f"{a} × {b}" for a, b in pairs) + " |\n" + "|---" * (len(pairs) + 1) + "|")
    for i, row in enumerate(rows):
        print(f"| {' '.join(row)} | " + " | ".join(cells[i, j] for j in range(len(pairs))) + " |")
    print(f"\npictures in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
