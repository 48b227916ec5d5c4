"""Live views for notebooks: one display updated in place, the loss curve, the progress bar."""

import io

import numpy as np
import torch
from PIL import Image

from nst_teach.classroom.live import LiveView, progress_bar, render_progress
from nst_teach.engine import Progress


def test_progress_bar():
    assert progress_bar(5, 20, width=4) == "[#...] 5/20"


def _crimson_pixels(png: bytes) -> int:
    """Pixels of the random-weights note's colour, crimson (220, 20, 60), in a PNG."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return int((np.abs(rgb - [220, 20, 60]).sum(-1) < 60).sum())


def test_render_progress_shows_the_batch_and_the_random_note_only_for_random_weights():
    history = [{"step": 1, "total": 2.0, "content": 1.0, "style": 1.0}]
    green = torch.zeros(2, 3, 16, 16)
    green[:, 1] = 1  # two pure green pictures: they must be drawn
    noted, plain = (render_progress(green, history, "t", steps=10, random_weights=r) for r in (True, False))
    assert _crimson_pixels(noted) > 200 and _crimson_pixels(plain) == 0  # the note is a line of crimson text
    rgb = np.asarray(Image.open(io.BytesIO(plain)).convert("RGB")).astype(int)
    assert ((rgb == [0, 128, 0]).all(-1) | (rgb == [0, 255, 0]).all(-1)).sum() > 2 * 16 * 16  # both images, scaled up


def _displayed(monkeypatch) -> list:
    """What a LiveView shows, in order: IPython's display replaced by a handle that records each update."""
    shown: list = []

    class Handle:
        def update(self, obj):
            shown.append(obj)

    monkeypatch.setattr("IPython.display.display", lambda *a, **k: Handle())
    return shown


def test_live_view_updates_one_display(monkeypatch):
    shown = _displayed(monkeypatch)
    view = LiveView("x", min_interval=0)
    for step in (1, 2, 3):
        view(Progress(step, 3, torch.rand(1, 3, 8, 8), {"step": step, "total": 1.0 / step}, 0.1))
    assert view.updates == 3 and len(shown) == 3


def test_live_view_draws_at_most_one_frame_per_interval_and_always_the_finished_run(monkeypatch):
    from nst_teach.engine import Result

    shown = _displayed(monkeypatch)
    view = LiveView("x", min_interval=3600)
    for step in (1, 2, 3):  # within the hour: the first frame only
        view(Progress(step, 3, torch.rand(1, 3, 8, 8), {"step": step, "total": 1.0 / step}, 0.1))
    assert view.updates == 1 and len(view.history) == 3  # every step's losses kept for the plot
    result = Result(torch.rand(1, 3, 8, 8), view.history, "finished", "finished 3 steps", 3, 0.3)
    view.finish(result)
    assert view.updates == 2 and len(shown) == 2


def test_loss_plot_marks_each_coarse_to_fine_switch():
    from matplotlib.figure import Figure

    from nst_teach.classroom.live import plot_losses

    history = [{"step": s, "level": level, "total": 1.0 / s} for s, level in zip(range(1, 7), (2, 2, 1, 1, 0, 0))]
    ax = Figure().add_subplot()
    plot_losses(ax, history)
    switches = sorted(line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == ":")
    assert switches == [3, 5]


def test_live_view_spends_at_most_its_share_of_the_run_drawing(monkeypatch):
    import time

    import nst_teach.classroom.live as live

    original = live.render_progress

    def slow(*args, **kwargs):  # a frame that takes 0.1 s to draw
        time.sleep(0.1)
        return original(*args, **kwargs)

    monkeypatch.setattr(live, "render_progress", slow)
    shown = _displayed(monkeypatch)
    view = LiveView("x", min_interval=0.01, share=0.05)
    for step in range(1, 6):  # callbacks 0.2 s apart: more often than 0.1 s of drawing in 5 % of the time allows
        view(Progress(step, 5, torch.rand(1, 3, 8, 8), {"step": step, "total": 1.0 / step}, 0.1))
        time.sleep(0.2)
    assert view.updates == 1 and len(shown) == 1  # the next frame is due 1.9 s after the first
