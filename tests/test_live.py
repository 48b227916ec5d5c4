import time

import torch

from nst_teach.engine import Progress
from nst_teach.lesson import lesson_config
from nst_teach.live import LiveView, progress_bar, render_progress


def test_progress_bar():
    assert progress_bar(5, 20, width=4) == "[#...] 5/20"


def test_render_progress_is_a_png_with_the_random_note():
    png = render_progress(torch.rand(2, 3, 16, 16), [{"step": 1, "total": 2.0, "content": 1.0, "style": 1.0}],
                          "t", steps=10, random_weights=True)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000


def test_live_view_updates_one_display(monkeypatch):
    shown = []

    class Handle:
        def update(self, obj):
            shown.append(obj)

    monkeypatch.setattr("IPython.display.display", lambda *a, **k: Handle())
    view = LiveView("x")
    for step in (1, 2, 3):
        view(Progress(step, 3, torch.rand(1, 3, 8, 8), {"step": step, "total": 1.0 / step}, 0.1))
    assert view.updates == 3 and len(shown) == 3


def test_lesson_config_quick_and_full(monkeypatch):
    monkeypatch.setenv("NST_TEACH_QUICK", "1")
    cfg = lesson_config(quick_size=40, quick_steps=7)
    assert cfg.quick and cfg.size == 40 and cfg.steps == 7 and cfg.weights == "caffe"  # quick mode is trained too
    assert "QUICK" in cfg.describe() and "RANDOM" not in cfg.describe() and not cfg.random_weights
    monkeypatch.setenv("NST_TEACH_WEIGHTS", "random")
    assert "RANDOM" in lesson_config().describe()
    monkeypatch.setenv("NST_TEACH_QUICK", "0")
    monkeypatch.setenv("NST_TEACH_WEIGHTS", "random")
    full = lesson_config(cpu_size=200)
    assert not full.quick and full.size == 200 and full.random_weights


def test_panel_runs_and_stops_keeping_its_image(monkeypatch):
    from nst_teach.panel import TransferPanel

    monkeypatch.setenv("NST_TEACH_QUICK", "1")
    panel = TransferPanel(lesson_config(quick_size=48))
    placeholder = panel.image.value
    assert placeholder[:4] == b"\x89PNG"  # before the first run: a picture that says what to do, not a broken icon
    assert all(w.style.description_width == "110px" for w in (panel.content_layer, panel.log_ratio))
    panel.content.value, panel.style.value = "astronaut", "brick"
    panel.steps.value, panel.size.value = 1000, 64
    panel.run()
    deadline = time.time() + 60
    while panel.updates < 3 and time.time() < deadline:
        time.sleep(0.05)
    assert panel.updates >= 3 and panel.image.value[:4] == b"\x89PNG" and panel.image.value != placeholder
    stopped_at = time.time()
    panel.stop()
    panel._thread.join(10)
    assert not panel.running and time.time() - stopped_at < 5
    assert panel.result.status == "stopped" and panel.result.steps < 1000
    assert "stopped" in panel.status.value and not panel.run_button.disabled


def test_loss_plot_marks_each_coarse_to_fine_switch():
    from matplotlib.figure import Figure

    from nst_teach.live import plot_losses

    history = [{"step": s, "level": level, "total": 1.0 / s} for s, level in zip(range(1, 7), (2, 2, 1, 1, 0, 0))]
    ax = Figure().add_subplot()
    plot_losses(ax, history)
    switches = sorted(line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == ":")
    assert switches == [3, 5]


def test_panel_blends_a_second_style_and_keeps_the_photos_colours(monkeypatch):
    from nst_teach.color import rgb_to_yiq
    from nst_teach.panel import TransferPanel

    monkeypatch.setenv("NST_TEACH_QUICK", "1")
    panel = TransferPanel(lesson_config(quick_size=48))
    panel.content.value, panel.style.value, panel.style2.value = "astronaut", "brick", "grass"
    panel.blend.value, panel.colors.value = 0.3, "luminance"
    panel.steps.value, panel.size.value = 5, 48
    panel.run(wait=True)
    assert panel.result is not None and panel.result.status == "finished", panel.status.value
    photo = panel._load("astronaut")
    IQ, IQ_photo = rgb_to_yiq(panel.result.image)[:, 1:], rgb_to_yiq(photo)[:, 1:]
    assert (IQ - IQ_photo).abs().mean() < 0.02  # the photo's colours, though both paintings are grey
