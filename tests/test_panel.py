"""The interactive panel: Run and Stop in a background thread, the live image, a second style, the photo's colours."""

import time

from nst_teach.classroom.lesson import lesson_config


def test_panel_runs_and_stops_keeping_its_image(monkeypatch):
    from nst_teach.classroom.panel import TransferPanel

    monkeypatch.setenv("NST_TEACH_QUICK", "1")
    panel = TransferPanel(lesson_config(quick_size=48))
    placeholder = panel.image.value
    assert placeholder[:4] == b"\x89PNG"  # before the first run: a picture that says what to do, not a broken icon
    assert all(w.style.description_width == "110px" for w in (panel.content_layer, panel.log_ratio))
    panel.content.value, panel.style.value = "astronaut", "brick"
    panel.steps.value, panel.size.value = 250, 64  # the live image every 5 steps: three updates by step 15
    panel.run()
    deadline = time.time() + 1800  # a guard against a hang, not a timing (a slow laptop may take minutes)
    while panel.updates < 3 and time.time() < deadline:
        time.sleep(0.05)
    assert panel.updates >= 3 and panel.image.value[:4] == b"\x89PNG" and panel.image.value != placeholder
    panel.stop()
    panel._thread.join(1800)  # a guard against a hang, not a timing
    assert not panel.running
    assert panel.result.status == "stopped" and panel.result.steps < 250
    assert "stopped" in panel.status.value and not panel.run_button.disabled


def test_panel_blends_a_second_style_and_keeps_the_photos_colours(monkeypatch):
    from nst_teach.classroom.panel import TransferPanel
    from nst_teach.color import rgb_to_yiq

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


def test_the_still_is_the_panels_default_run_and_a_page_without_a_kernel_shows_it(monkeypatch):
    """Lesson 4 opens the panel on its default picture (``still=default``): that must be what the panel makes at its
    default settings, and a static page (the course site) must show it, where JupyterLab shows the widgets."""
    import base64
    import io
    import re

    import numpy as np
    from PIL import Image

    import nst_teach as nt
    from nst_teach.classroom.panel import TransferPanel, _png
    from nst_teach.data import paper_image

    monkeypatch.setenv("NST_TEACH_QUICK", "1")
    cfg = lesson_config(quick_size=40, quick_steps=6)
    content, starry = paper_image("tubingen", cfg.size), paper_image("starry_night", cfg.size)
    default = nt.style_transfer(cfg.encoder(pooling="avg"), content.image, starry.image, cfg.settings(every=2),
                                ratio=nt.DEFAULT_RATIO, init="noise")  # as lesson 4's first cell makes it
    fresh = TransferPanel(cfg)
    fresh.run(wait=True)
    assert fresh.result is not None, fresh.status.value
    assert (fresh.result.image - default.image).abs().max() < 1e-4  # the same picture (to rounding on any CPU)

    panel = TransferPanel(cfg, still=default)
    assert panel.result is default and panel.image.value == _png(default.image)
    bundle = panel._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # JupyterLab: the live widgets
    page = bundle["text/html"]
    pictures = [Image.open(io.BytesIO(base64.b64decode(data)))
                for data in re.findall(r'src="data:image/png;base64,([^"]+)"', page)]
    assert len(pictures) == 2  # the picture and its losses, as they were when the panel opened
    panel.plot.value = b"a later run's plot"
    assert panel._repr_mimebundle_()["text/html"] == page
    assert np.array_equal(np.asarray(pictures[0].convert("RGB")), np.asarray(nt.to_pil(default.image)))
    assert "JupyterLab" in page and all(f">{value}<" in page for value in ("tubingen", "relu4_2", f"{cfg.size} px"))
    bare = TransferPanel(cfg)._repr_mimebundle_()["text/html"]  # no still: the placeholder and where to run it
    assert "JupyterLab" in bare and len(re.findall(r"data:image/png", bare)) == 1
