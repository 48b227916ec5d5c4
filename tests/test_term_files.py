"""A term of one's own is one file: the tasks, the plan, the live plot and the command line take it as it is."""

import json
import re
from pathlib import Path

import pytest
import torch
from matplotlib.figure import Figure

from nst_teach import NstTeachError, Objective, Settings, Style, save_image, style_transfer
from nst_teach.classroom.live import plot_losses
from nst_teach.cli import main
from nst_teach.coarse_to_fine import most_levels
from nst_teach.term_files import load_term

#: A user's file: the README's example, a term that asks the image's mean colour to be the painting's. It reads no
#: layer, and says how it is built from a run's images, so the command line can reach it too. A second term, which
#: says it fixes the layout, is added for the plan's test.
README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
TERM_FILE = "from typing import ClassVar\n" + re.search(r"```python\n(# my_terms.py: .*?)```", README, re.S).group(1) + '''

@dataclass
class Layout(MeanColour):
    fixes_layout: ClassVar[bool] = True
    name: str = "layout"
'''


@pytest.fixture
def term_file(tmp_path):
    path = tmp_path / "my_terms.py"
    path.write_text(TERM_FILE)
    return path


def test_a_term_from_a_file_reaches_the_task_the_history_and_the_live_plot(encoder, photo, painting, term_file):
    MeanColour, weight = load_term(f"{term_file}:MeanColour=5")
    assert weight == 5.0
    term = MeanColour.from_images(encoder, photo, [painting], weight)
    result = style_transfer(encoder, photo, painting, Settings(steps=4, coarse_levels=0), terms=[term])
    first = result.history[0]
    assert {"content", "style", "mean_colour", "total"} <= set(first) and "mean_colour" in result.losses
    ax = Figure().add_subplot()
    plot_losses(ax, result.history)
    assert ax.get_legend_handles_labels()[1] == ["total", "content", "style", "mean_colour"]


def test_the_plan_asks_the_term_whether_it_fixes_the_layout(encoder, painting, term_file):
    MeanColour, _ = load_term(f"{term_file}:MeanColour")
    Layout, _ = load_term(f"{term_file}:Layout")
    style = Style.of(encoder, torch.rand(1, 3, 256, 256), ["relu1_1"])  # a texture at relu1_1: no coarse level suits it
    assert most_levels(Objective([style, MeanColour.from_images(encoder, None, [painting])]), from_noise=True) == 0
    assert most_levels(Objective([style, Layout.from_images(encoder, None, [painting])]), from_noise=True) == 2


def test_the_command_line_takes_a_term_from_a_file_and_its_metrics_show_it(photo, painting, term_file, tmp_path):
    content, style = save_image(photo, tmp_path / "c.png"), save_image(painting, tmp_path / "s.png")
    metrics = tmp_path / "m.json"
    argv = ["transfer", str(content), str(style), "--weights", "random", "--size", "48", "--steps", "3",
            "--term", f"{term_file}:MeanColour=5", "-o", str(tmp_path / "o.png"), "--metrics-json", str(metrics)]
    assert main(argv) == 0
    record = json.loads(metrics.read_text())
    assert "mean_colour" in record["final"] and all("mean_colour" in h for h in record["history"])


@pytest.mark.parametrize(("spec", "needle"), [
    ("nowhere.py:MeanColour", "--term 'nowhere.py:MeanColour': there is no file nowhere.py"),
    ("{file}:Missing", "has no Term subclass called Missing"),
    ("{file}:MeanColour=x", "the weight after '=' must be a number"),
    ("{file}:MeanColour=-1", "the weight must be a finite number, at least 0"),
    ("{file}", "must be FILE.py:CLASS or FILE.py:CLASS=WEIGHT"),
])
def test_a_bad_term_is_one_line_before_any_work(photo, painting, term_file, tmp_path, capsys, spec, needle):
    content, style = save_image(photo, tmp_path / "c.png"), save_image(painting, tmp_path / "s.png")
    argv = ["transfer", str(content), str(style), "--weights", "random", "--term", spec.format(file=term_file)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err, err


def test_a_term_that_cannot_build_itself_says_what_it_lacks(encoder, photo):
    from nst_teach import TotalVariation

    with pytest.raises(NstTeachError, match="give it a classmethod from_images"):
        TotalVariation.from_images(encoder, photo, [])


def test_the_command_line_runs_the_users_file_once(photo, painting, tmp_path):
    """The CLI loads the term to check it before any work, then to build it: the file runs once all the same."""
    path = tmp_path / "counted_terms.py"
    path.write_text(TERM_FILE + "\nimport pathlib\nwith pathlib.Path(__file__).with_suffix('.log').open('a') as log:\n"
                                "    log.write('ran ')\n")
    content, style = save_image(photo, tmp_path / "c.png"), save_image(painting, tmp_path / "s.png")
    assert main(["transfer", str(content), str(style), "--weights", "random", "--size", "48", "--steps", "1",
                 "--term", f"{path}:MeanColour", "-o", str(tmp_path / "o.png")]) == 0
    assert path.with_suffix(".log").read_text() == "ran "
