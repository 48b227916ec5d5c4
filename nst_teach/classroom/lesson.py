"""Settings the lessons share: one switch for quick mode, sizes and steps by device.

* ``NST_TEACH_QUICK=1`` (CI and the tests set it): small images and few steps,
  on the trained network, so that every notebook runs in about a minute on 2 CPU cores.
* Otherwise, on a GPU: the paper's 512 px; on a CPU a smaller, stated size so
  that a lesson finishes in minutes.
* The weights are the paper's own network (``"caffe"``) unless ``NST_TEACH_WEIGHTS``
  says otherwise (``imagenet``, ``random`` or a path).
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from nst_teach.classroom.outcomes import expect
from nst_teach.features import VGG19Features, load_vgg19_features
from nst_teach.runtime import pick_device
from nst_teach.settings import Settings
from nst_teach.vgg19 import Pooling

__all__ = ["LessonConfig", "lesson_config", "show_code"]


@dataclass
class LessonConfig:
    quick: bool  # NST_TEACH_QUICK is set
    device: torch.device
    size: int  # longest side in pixels
    steps: int  # optimisation steps per picture
    weights: str  # "caffe", "imagenet", "random" or a path
    _encoders: dict[str, VGG19Features] = field(default_factory=dict, repr=False)

    @property
    def random_weights(self) -> bool:
        return self.weights == "random"

    def encoder(self, pooling: Pooling = "avg", weights: str | None = None) -> VGG19Features:
        """The VGG19 encoder for these lessons (cached per pooling and weights)."""
        weights = weights or self.weights
        key = f"{weights}/{pooling}"
        if key not in self._encoders:
            self._encoders[key] = load_vgg19_features(weights, pooling=pooling, device=self.device)
        return self._encoders[key]

    def settings(self, **overrides) -> Settings:
        """Engine settings with this lesson's step count (and any overrides)."""
        return Settings(**{"steps": self.steps, **overrides})

    def expect(self, sentence: str, holds: bool, value: str, full_only: bool = False) -> bool:
        """Print ``value`` beside the lesson's ``sentence``; stop the lesson if ``holds`` is false
        (:func:`nst_teach.classroom.outcomes.expect`, in this lesson's mode: quick mode does not judge ``full_only``
        sentences, and random weights judge none)."""
        return expect(sentence, holds, value, full_only=full_only, quick=self.quick, random_weights=self.random_weights)

    def describe(self) -> str:
        mode = "QUICK mode (NST_TEACH_QUICK=1)" if self.quick else "full mode"
        note = " -- RANDOM weights: the pictures will not look like the paper's" if self.random_weights else ""
        return f"{mode}: {self.size} px, {self.steps} steps, weights={self.weights}, device={self.device}{note}"


def lesson_config(quick_size: int = 64, quick_steps: int = 25, cpu_size: int = 256, cpu_steps: int = 200,
                  gpu_size: int = 512, gpu_steps: int = 500) -> LessonConfig:
    """Read the environment once per notebook; each lesson may pass its own budgets."""
    quick = os.environ.get("NST_TEACH_QUICK", "") not in ("", "0", "false", "False")
    device = pick_device()  # $NST_TEACH_DEVICE, else CUDA > MPS > CPU
    if quick:
        size, steps = quick_size, quick_steps
    elif device.type == "cpu":
        size, steps = cpu_size, cpu_steps
    else:
        size, steps = gpu_size, gpu_steps
    weights = os.environ.get("NST_TEACH_WEIGHTS") or "caffe"
    return LessonConfig(quick, device, size, steps, weights)


def show_code(*objects: object) -> None:
    """Print the source of each function or class, headed by its file and lines: the code a lesson explains.

    >>> show_code(lesson_config)  # doctest: +ELLIPSIS
    # nst_teach/classroom/lesson.py, lines ...
    def lesson_config(...
    """
    root = Path(__file__).resolve().parents[2]  # the folder that holds nst_teach/
    for obj in objects:
        lines, start = inspect.getsourcelines(obj)  # type: ignore[arg-type]
        path = Path(inspect.getsourcefile(obj) or "?").resolve()  # type: ignore[arg-type]
        where = path.relative_to(root) if path.is_relative_to(root) else path
        print(f"# {where.as_posix()}, lines {start}-{start + len(lines) - 1}")
        print("".join(lines))
