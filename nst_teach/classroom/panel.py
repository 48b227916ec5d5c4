"""An interactive style-transfer panel for JupyterLab (ipywidgets).

The optimisation runs in a background thread so that the kernel stays free to
receive the Stop button's click; the live image and loss plot are widgets that
the thread updates. Stop ends the run and keeps the best image so far.

Given ``still=``, a run made with the panel's default settings, the panel opens
on its picture and loss plot; a page without a kernel (the course's web site, a
notebook viewer) shows that still, with the settings and a line saying where the
live panel runs, in place of the widgets.
"""

from __future__ import annotations

import base64
import html
import io
import math
import threading
import traceback

import ipywidgets as W
from PIL import Image

from nst_teach.classroom.lesson import LessonConfig
from nst_teach.classroom.live import render_progress
from nst_teach.data import paper_image
from nst_teach.engine import Progress, Result
from nst_teach.errors import NstTeachError
from nst_teach.images import load_image
from nst_teach.objective import CONTENT_LAYER, STYLE_LAYERS
from nst_teach.settings import DEFAULT_RATIO
from nst_teach.tasks import style_transfer
from nst_teach.vgg19 import LAYER_NAMES

__all__ = ["TransferPanel"]

_CONTENTS = ["tubingen", "astronaut", "coffee", "chelsea"]
_STYLES = ["starry_night", "shipwreck", "the_scream", "composition_vii", "woman_with_hat", "brick", "gravel", "grass"]
_LAYERS = [name for name in LAYER_NAMES if name.startswith(("conv", "relu"))]


class TransferPanel:
    """Choose images, log10(alpha/beta), layers, size and steps; Run and Stop.

    ``panel.widget`` is the box to display; ``panel.result`` the last result. ``still``: a result of the
    panel's default settings (:meth:`defaults`), made elsewhere, to open on and to show on a static page.
    """

    def __init__(self, config: LessonConfig, still: Result | None = None) -> None:
        self.config = config
        self.still = still
        self.result: Result | None = still
        self.updates = 0  # how many times the live image changed
        self._uploads: dict[str, bytes] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

        self.content = W.Dropdown(options=_CONTENTS, value="tubingen", description="content")
        self.style = W.Dropdown(options=_STYLES, value="starry_night", description="style")
        self.style2 = W.Dropdown(options=["(none)", *_STYLES], value="(none)", description="second style")
        self.blend = W.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="blend",
                                   tooltip="the second style's weight b_2; the first gets 1 - b_2", continuous_update=False)
        self.colors = W.Dropdown(options=[("the painting's", None), ("the photo's: luminance only", "luminance"),
                                          ("the photo's: histogram matching", "histogram")],
                                 value=None, description="colours")
        self.upload_content = W.FileUpload(accept="image/*", description="content...")
        self.upload_style = W.FileUpload(accept="image/*", description="style...")
        self.log_ratio = W.FloatSlider(value=round(math.log10(DEFAULT_RATIO), 1), min=-6.0, max=0.0, step=0.1,
                                       description="log10 α/β", continuous_update=False,
                                       tooltip="alpha/beta as at 512 x 512 px; scaled to the chosen size")
        self.content_layer = W.Dropdown(options=_LAYERS, value=CONTENT_LAYER, description="content layer")
        self.style_layers = W.SelectMultiple(options=_LAYERS, value=STYLE_LAYERS, rows=6, description="style layers")
        self.size = W.IntSlider(value=config.size, min=32, max=1024, step=32, description="size (px)")
        self.steps = W.IntSlider(value=config.steps, min=5, max=1000, step=5, description="steps")
        self.run_button = W.Button(description="Run", button_style="success", icon="play")
        self.stop_button = W.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.status = W.HTML(value=f"<i>{config.describe()}</i>")
        self.image = W.Image(format="png", layout=W.Layout(width="360px", min_width="360px", object_fit="contain"))
        self.plot = W.Image(format="png", layout=W.Layout(width="480px", object_fit="contain"))
        self.image.value = _placeholder("Press Run: the picture forms here")  # not a broken-image icon
        self._still_plot = b""  # the still's loss plot: the plot widget moves on with the next run
        if still is not None:
            self._still_plot = render_progress(still.image[:0], still.history, random_weights=config.random_weights)
            self.image.value, self.plot.value = _png(still.image), self._still_plot
            self.status.value = ("<i>The picture at the panel's default settings, made above. Change the controls and "
                                 "press Run.</i>")
        labels = {"description_width": "110px"}  # room for 'content layer' and 'log10 α/β' at JupyterLab's width
        for widget in (self.content, self.style, self.style2, self.blend, self.colors, self.log_ratio,
                       self.content_layer, self.style_layers, self.size, self.steps):
            widget.style = labels
        self.image.add_class("nst-live-image")
        self.plot.add_class("nst-loss-plot")
        self.run_button.add_class("nst-run")
        self.stop_button.add_class("nst-stop")

        self.upload_content.observe(lambda change: self._add_upload(change, self.content), names="value")
        self.upload_style.observe(lambda change: self._add_upload(change, self.style), names="value")
        self.run_button.on_click(lambda _: self.run())
        self.stop_button.on_click(lambda _: self.stop())

        controls = W.VBox([W.HBox([self.content, self.upload_content]), W.HBox([self.style, self.upload_style]),
                           self.style2, self.blend, self.colors, self.log_ratio, self.content_layer, self.style_layers,
                           self.size, self.steps,
                           W.HBox([self.run_button, self.stop_button])])
        self.widget = W.VBox([W.HBox([controls, self.image]), self.plot, self.status])
        self.widget.add_class("nst-panel")

    def defaults(self) -> dict[str, object]:
        """The controls' values as the panel opens: the settings a ``still`` must have been made with."""
        return {"content": self.content.value, "style": self.style.value, "log10 α/β": self.log_ratio.value,
                "content layer": self.content_layer.value, "style layers": ", ".join(self.style_layers.value),
                "size": f"{self.size.value} px", "steps": self.steps.value}

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, object]:
        """The widgets for JupyterLab; for a page without a kernel, the still (text/html), which JupyterLab does
        not show when it can show the widgets."""
        bundle = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["text/html"] = self.static_html()
        return bundle

    def static_html(self) -> str:
        """The panel on a page without a kernel: the still's picture and losses, its settings, and where to run it."""
        if self.still is None:
            picture = _data_uri(_placeholder("The live panel: run this lesson in JupyterLab"))
            caption = "The live panel, with its controls, Run and Stop, runs in JupyterLab: open this lesson there."
            return (f'<figure class="nst-panel-still"><img src="{picture}" alt="the live panel" style="width:360px">'
                    f"<figcaption>{caption}</figcaption></figure>")
        rows = "".join(f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(name)}</th>"
                       f"<td>{html.escape(str(value))}</td></tr>" for name, value in self.defaults().items())
        picture, plot = _data_uri(_png(self.still.image)), _data_uri(self._still_plot)
        return ('<figure class="nst-panel-still" style="margin:0">'
                '<div style="display:flex;gap:1.5em;align-items:flex-start;flex-wrap:wrap">'
                f'<img src="{picture}" alt="the panel\'s picture at its default settings" style="width:320px">'
                f'<table style="font-size:0.85em;max-width:340px">{rows}</table></div>'
                f'<img src="{plot}" alt="its losses" style="width:480px">'
                "<figcaption>A still: the panel's picture at its default settings, above. The live panel, with its "
                "controls, Run and Stop, runs in JupyterLab: open this lesson there (<code>make lab</code>) to "
                "choose your own images, ratio, layers, size and steps.</figcaption></figure>")

    def _add_upload(self, change: dict, dropdown: W.Dropdown) -> None:
        for item in change["new"]:
            key = f"upload: {item['name']}"
            self._uploads[key] = bytes(item["content"])
            dropdown.options = [*dropdown.options, key] if key not in dropdown.options else dropdown.options
            dropdown.value = key

    def _load(self, name: str):
        if name in self._uploads:
            return load_image(Image.open(io.BytesIO(self._uploads[name])), self.size.value, self.config.device)
        return paper_image(name, self.size.value, self.config.device).image

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run(self, wait: bool = False) -> None:
        """Start a run with the current controls (``wait=True`` blocks until it ends)."""
        if self.running:
            return
        self._stop.clear()
        self.run_button.disabled, self.stop_button.disabled = True, False
        self.status.value = "starting..."
        self._thread = threading.Thread(target=self._work, daemon=True)
        self._thread.start()
        if wait:
            self._thread.join()

    def stop(self) -> None:
        """Ask the run to stop; it keeps the best image so far."""
        self._stop.set()
        self.status.value = "stopping..."

    def _work(self) -> None:
        history: list[dict[str, float]] = []
        random_weights = self.config.random_weights

        def show(progress: Progress) -> None:
            history.append(progress.losses)
            self.image.value = _png(progress.image)
            self.plot.value = render_progress(progress.image[:0], history, "", random_weights=random_weights)
            self.updates += 1
            self.status.value = f"step {progress.step}/{progress.steps}, loss {progress.losses['total']:.4g}"

        try:
            encoder = self.config.encoder("avg")
            content, style = self._load(self.content.value), self._load(self.style.value)
            blend = None
            if self.style2.value != "(none)":  # two paintings, blended (weights 1 - b, b)
                style, blend = [style, self._load(self.style2.value)], [1.0 - self.blend.value, self.blend.value]
            settings = self.config.settings(steps=self.steps.value, every=max(1, self.steps.value // 50))
            result = style_transfer(encoder, content, style, settings, content_layers=[self.content_layer.value],
                                    style_layers=list(self.style_layers.value) or list(STYLE_LAYERS),
                                    ratio=10.0 ** self.log_ratio.value, style_blend=blend, preserve_colors=self.colors.value, callback=show,
                                    should_stop=self._stop.is_set)
            self.result = result
            self.image.value = _png(result.image)
            note = " (RANDOM weights)" if random_weights else ""
            self.status.value = f"<b>{result.status}</b>: {result.message}, {result.seconds:.1f} s{note}"
        except NstTeachError as err:
            self.status.value = f"<b style='color:crimson'>error</b>: {err}"
        except Exception:  # show it in the panel: a thread's exception would vanish otherwise
            self.status.value = f"<pre>{traceback.format_exc(limit=3)}</pre>"
        finally:
            self.run_button.disabled, self.stop_button.disabled = False, True


def _placeholder(text: str, size: tuple[int, int] = (360, 270)) -> bytes:
    """A light grey PNG with ``text`` in the middle, shown before the first run."""
    from PIL import ImageDraw

    picture = Image.new("RGB", size, (236, 236, 236))
    draw = ImageDraw.Draw(picture)
    box = draw.textbbox((0, 0), text)
    draw.text(((size[0] - box[2]) / 2, (size[1] - box[3]) / 2), text, fill=(90, 90, 90))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _png(image) -> bytes:
    from nst_teach.images import to_pil

    buffer = io.BytesIO()
    to_pil(image).save(buffer, format="PNG")
    return buffer.getvalue()
