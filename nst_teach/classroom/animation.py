"""Watch a picture form: an animated GIF of a run, a frame every k steps (Pillow). For example::

    frames = Animation(every=5)
    result = style_transfer(encoder, content, style, callback=frames)
    frames.save("run.gif", result)

Pass it as ``callback=`` to any task (it also calls another callback, e.g. a live view, with
``then=``). The engine reports progress every ``Settings.every`` steps, so ``every`` should
be a multiple of that. The last frame is the result's image, held longer.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Callable

from PIL import Image

from nst_teach.engine import Progress, Result
from nst_teach.errors import NstTeachError, check_number
from nst_teach.images import to_pil, write_atomically
from nst_teach.settings import MAX_STEPS

__all__ = ["Animation"]


class Animation:
    """A callback that keeps a frame every ``every`` steps; :meth:`save` writes the GIF."""

    def __init__(self, every: int = 5, then: Callable[[Progress], None] | None = None, max_side: int = 512) -> None:
        check_number("every", every, 1, MAX_STEPS, whole=True)
        self.every, self.then, self.max_side = every, then, max_side
        self.frames: list[Image.Image] = []

    def __call__(self, progress: Progress) -> None:
        if progress.step % self.every == 0:
            self.frames.append(self._frame(progress.image))
        if self.then:
            self.then(progress)

    def _frame(self, image) -> Image.Image:
        frame = to_pil(image[:1])
        frame.thumbnail((self.max_side, self.max_side))
        return frame

    def save(self, path: str | os.PathLike[str], result: Result | None = None, ms_per_frame: int = 80) -> Path:
        """Write the frames (and ``result.image`` as the last one, held for a second) as a looping GIF."""
        frames = [*self.frames, *([self._frame(result.image)] if result is not None else [])]
        if not frames:
            raise NstTeachError("no frames to save: the run ended before its first frame (lower `every`).")
        durations = [ms_per_frame] * (len(frames) - 1) + [1000]
        buffer = io.BytesIO()
        frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)
        return write_atomically(path, buffer.getvalue())
