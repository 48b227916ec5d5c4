"""The lesson notebooks: stored clean, written from their MyST sources (lessons/*.md), runnable without ../shared."""

import json
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
from answer_keys import answer_texts, letters

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
sys.path.insert(0, str(ROOT / "tools"))


def test_there_are_five_lessons():
    names = [p.name for p in NOTEBOOKS]
    for lesson in ("01_vgg19_tour", "02_content_reconstruction", "03_texture_synthesis", "04_style_transfer",
                   "05_controlling_perceptual_factors"):
        assert f"{lesson}.ipynb" in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs_and_with_python3_kernel(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, cell["source"][:60]


def test_every_notebook_matches_its_text_source(tmp_path):
    """lessons/*.md and assignments/*.md are the sources; the committed notebooks are written from them."""
    import notebooks

    assert len(notebooks.PAIRS) == 8 and {p.parent.name for p in notebooks.PAIRS} == {"lessons", "assignments"}
    written = notebooks.write({source: tmp_path / target.name for source, target in notebooks.PAIRS.items()})
    for path, committed in zip(written, notebooks.PAIRS.values()):
        assert path.read_text() == committed.read_text(), f"{committed.name}: run `make notebooks`"


def test_jupytext_pairs_each_notebook_with_its_source():
    from jupytext.config import find_jupytext_configuration_file, load_jupytext_configuration_file
    from jupytext.paired_paths import paired_paths

    import notebooks

    config = load_jupytext_configuration_file(find_jupytext_configuration_file(str(ROOT)))
    for source, target in notebooks.PAIRS.items():
        formats = config.default_formats(str(target))
        pairs = {Path(path) for path, _ in paired_paths(str(target), "ipynb", formats)}
        assert source in pairs, (target.name, pairs)


def test_lessons_cite_the_papers_figures():
    text = {p.name: p.read_text() for p in NOTEBOOKS if p.name[:2].isdigit()}
    assert "Fig. 1" in text["02_content_reconstruction.ipynb"] and "Fig. 1" in text["03_texture_synthesis.ipynb"]
    for figure in ("Fig. 3", "Fig. 4", "Fig. 5", "Fig. 6"):  # CVPR 2016 numbering: gallery, ratio sweep, content layer, start
        assert figure in text["04_style_transfer.ipynb"], figure
    assert "CVPR 2016" in text["01_vgg19_tour.ipynb"] and "Fig. 2 " not in text["04_style_transfer.ipynb"]
    for section in ("Sec. 4", "Sec. 5", "Sec. 6"):  # the 2017 paper's controls: space, colour, scale
        assert section in text["05_controlling_perceptual_factors.ipynb"], section
    assert "Praefcke" in text["04_style_transfer.ipynb"]


FIGURE = re.compile(r"show_images\(|show_feature_maps\(|Image\(filename=|Figure\(|TransferPanel\(")


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.name[:2].isdigit()], ids=lambda p: p.name)
def test_after_every_figure_the_text_says_what_to_look_for(path):
    """A cell that draws a figure (pictures side by side, feature maps, a plot, the animation, the panel's still) is
    followed by text, not by another cell or the next section: the reader is told what to look for in it."""
    cells = nbformat.read(path, as_version=4).cells
    figures = [i for i, cell in enumerate(cells) if cell.cell_type == "code" and FIGURE.search(cell.source)]
    assert figures
    for i in figures:
        after = cells[i + 1] if i + 1 < len(cells) else None
        text = after.source if after is not None and after.cell_type == "markdown" else ""
        assert not text.startswith("#") and len(text) > 150, (path.name, cells[i].source.splitlines()[0])


@pytest.mark.integration
def test_a_lesson_runs_without_the_shared_images(tmp_path):
    """Without ../shared and offline, the catalogue falls back to scikit-image and the notebook says so."""
    from nbclient import NotebookClient

    path = ROOT / "notebooks" / "04_style_transfer.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells = nb.cells[:4]  # set-up and the Fig. 2 gallery
    env = {"NST_TEACH_IMAGES": str(tmp_path), "NST_TEACH_QUICK": "1", "NST_TEACH_OFFLINE": "1"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        # timeout: a guard against a hang, not a timing (a slow laptop may take minutes)
        NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "standing in for Neckarfront" in printed and "astronaut" in printed, printed


def _answers() -> dict[str, list[str]]:
    """instructor/lesson_answers.md: lesson heading -> the answers' bodies."""
    import re

    text = (ROOT / "instructor" / "lesson_answers.md").read_text()
    lessons = re.split(r"^## ", text, flags=re.M)[1:]
    return {part.split("\n", 1)[0]: re.split(r"^\*\*\d+\. ", part, flags=re.M)[1:] for part in lessons}


def test_every_lesson_question_has_a_model_answer():
    import re

    answers = list(_answers().values())
    assert len(answers) == len([p for p in NOTEBOOKS if p.name[:2].isdigit()]) == 5
    for path, given in zip(sorted(p for p in NOTEBOOKS if p.name[:2].isdigit()), answers):
        markdown = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
        assert "## Questions" in markdown, path.name
        questions = markdown.split("## Questions", 1)[1]
        assert len(re.findall(r"^\d+\. ", questions, flags=re.M)) == len(given), path.name


def test_no_student_notebook_contains_a_model_answer():
    """No lesson or handed-out assignment holds a text of an answer key (the model answers, the assignments'
    solutions and hidden tests), the texts taken from the answer files themselves."""
    student = [*NOTEBOOKS, *(ROOT / "assignments" / "release").rglob("*.ipynb")]
    assert len(student) == 8
    texts = {p.name: letters("".join(c.source for c in nbformat.read(p, as_version=4).cells)) for p in student}
    for file, answers in answer_texts().items():
        for path, text in texts.items():
            assert not [run for run in answers if run in text], (path, file)


def test_each_lesson_says_first_how_long_it_takes_as_the_readme_measured():
    """Each lesson's first cell gives its full-mode time on a 2-core laptop: the README's measured seconds, in
    whole minutes rounded up (issue 45)."""
    import math
    import re

    readme = (ROOT / "README.md").read_text().split("## Lesson times", 1)[1].split("\n## ", 1)[0]
    measured = {int(n): int(s) for n, s in re.findall(r"^\| (\d) \| [^|]+ \| [\d,]+ s \| (\d+) s \|", readme, flags=re.M)}
    lessons = sorted(p for p in NOTEBOOKS if p.name[:2].isdigit())
    assert sorted(measured) == [1, 2, 3, 4, 5], measured
    for path in lessons:
        first = nbformat.read(path, as_version=4).cells[0].source
        said = re.search(r"about (\d+) minutes? in full mode on a 2-core laptop", first)
        assert said, f"{path.name}: the first cell should say how long the lesson takes"
        assert int(said.group(1)) == max(1, math.ceil(measured[int(path.name[:2])] / 60)), path.name
