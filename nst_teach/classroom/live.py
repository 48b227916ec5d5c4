"""Live views for notebooks: the current image and the loss curve, updated in place.

One display output is created and then *updated* (``display(..., display_id=True)``
and ``handle.update``), so a run of hundreds of steps leaves one picture, not
hundreds, in JupyterLab and in a notebook executed by nbclient or nbval. The
figure's title doubles as a progress bar. A frame takes 0.1-0.2 s to draw on a CPU core, time the
run does not get, so during a run the view waits at least ``min_interval`` seconds between frames,
and longer if drawing would take more than ``share`` of the time (the eye sees no more); it always
draws the finished run.
"""

from __future__ import annotations

import io
import time
from typing import Sequence

from matplotlib.figure import Figure

from nst_teach.engine import Progress, Result
from nst_teach.images import RANDOM_NOTE, to_pil
from nst_teach.objective import RESERVED_NAMES

__all__ = ["LiveView", "plot_losses", "progress_bar", "render_progress"]



def progress_bar(step: int, steps: int, width: int = 20) -> str:
    """``'[#####...............] 25/100'``."""
    done = round(width * step / max(steps, 1))
    return f"[{'#' * done}{'.' * (width - done)}] {step}/{steps}"


def plot_losses(ax, history: Sequence[dict[str, float]]) -> None:
    """The total and every term's loss the history holds, against the step on a log scale; dotted lines where
    coarse-to-fine doubled the size."""
    if history:
        x = [h["step"] for h in history]
        for key in ["total", *(k for k in dict.fromkeys(k for h in history for k in h) if k not in RESERVED_NAMES)]:
            values = [h.get(key, 0.0) for h in history]
            if any(v > 0 for v in values):
                ax.semilogy(x, [max(v, 1e-30) for v in values], label=key, lw=1.2, marker="." if len(x) < 20 else None)
        for before, after in zip(history, history[1:]):
            if after.get("level", 0) != before.get("level", 0):
                ax.axvline(after["step"], color="grey", ls=":", lw=1)
        ax.legend(fontsize=7, loc="upper right")
    ax.set_xlabel("step", fontsize=8)
    ax.set_title("loss", fontsize=9)
    ax.tick_params(labelsize=7)


def render_progress(images, history: Sequence[dict[str, float]], title: str = "", *, steps: int = 0,
                    seconds: float = 0.0, random_weights: bool = False, labels: Sequence[str] | None = None,
                    dpi: int = 80) -> bytes:
    """PNG bytes: the image(s) of a batch in a row, and the loss terms on a log scale."""
    n = images.shape[0]
    fig = Figure(figsize=(2.6 * n + 3.6, 2.9), dpi=dpi)
    grid = fig.add_gridspec(1, n + 1, width_ratios=[1] * n + [1.35])
    for b in range(n):
        ax = fig.add_subplot(grid[0, b])
        ax.imshow(to_pil(images[b]))
        ax.set_axis_off()
        if labels:
            ax.set_title(labels[b], fontsize=9)
    plot_losses(fig.add_subplot(grid[0, n]), history)
    step = history[-1]["step"] if history else 0
    head = f"{title}  {progress_bar(int(step), steps)}  {seconds:.1f} s" if steps else title
    if random_weights:
        head += "\n" + RANDOM_NOTE
    fig.suptitle(head, fontsize=9, color="crimson" if random_weights else "black")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


class LiveView:
    """Pass as ``callback=`` to any task; call :meth:`finish` with the result. For example::

        view = LiveView("relu4_2")
        result = reconstruct_content(encoder, image, "relu4_2", callback=view)
        view.finish(result)
    """

    def __init__(self, title: str = "", *, random_weights: bool = False, labels: Sequence[str] | None = None,
                 min_interval: float = 0.5, share: float = 0.05) -> None:
        from IPython.display import HTML, display

        self.title, self.random_weights, self.labels = title, random_weights, labels
        self.min_interval = min_interval  # seconds between frames during a run; 0 draws every callback
        self.share = share  # at most this share of a run's time goes to drawing (unless min_interval is 0)
        self._wait = min_interval  # seconds until the next frame may be drawn: see _show
        self.history: list[dict[str, float]] = []
        self.updates = 0
        self._last_frame = -float("inf")
        self._handle = display(HTML(f"<b>{title}</b>: starting..."), display_id=True)

    def restart(self, title: str, labels: Sequence[str] | None = None) -> "LiveView":
        """Reuse the same output for the next run."""
        self.title, self.labels, self.history = title, labels, []
        return self

    def __call__(self, progress: Progress) -> None:
        self.history.append(progress.losses)
        if time.monotonic() - self._last_frame >= self._wait:
            self._show(progress.image, progress.steps, progress.seconds, self.title)

    def finish(self, result: Result) -> Result:
        """Show the best image and the full history, with how the run ended."""
        self.history = result.history
        self._show(result.image, result.steps, result.seconds, f"{self.title} ({result.message})")
        return result

    def _show(self, images, steps: int, seconds: float, title: str) -> None:
        from IPython.display import Image

        start = time.monotonic()
        png = render_progress(images, self.history, title, steps=steps, seconds=seconds,
                              random_weights=self.random_weights, labels=self.labels)
        self._handle.update(Image(png))
        self.updates += 1
        self._last_frame = time.monotonic()
        if self.min_interval:  # a frame of d seconds, then at least (1 / share - 1) d seconds of the run
            self._wait = max(self.min_interval, (self._last_frame - start) * (1 / self.share - 1))
