"""A lesson's stated outcomes: each check quotes its lesson, prints its value, and stops the lesson when it fails."""

import ast
import re
import sys
from pathlib import Path

import nbformat
import pytest

from nst_teach.classroom.lesson import lesson_config
from nst_teach.classroom.outcomes import OutcomeNotShown, expect

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("0*.ipynb"))
sys.path.insert(0, str(ROOT / "tools"))


def test_a_sentence_that_holds_prints_its_value(capsys):
    assert expect("the sky is blue", True, "blue 0.8", quick=False)
    assert capsys.readouterr().out == '✔ "the sky is blue": blue 0.8\n'


def test_a_sentence_that_does_not_hold_stops_the_lesson_and_names_itself(monkeypatch):
    monkeypatch.delenv("NST_TEACH_OUTCOMES", raising=False)
    with pytest.raises(OutcomeNotShown, match=r'the lesson says "the sky is blue", but here blue 0.1'):
        expect("the sky is blue", False, "blue 0.1", quick=False)
    with pytest.raises(OutcomeNotShown):  # a sentence that holds in quick mode too is judged there
        expect("the sky is blue", False, "blue 0.1", quick=True)


def test_quick_mode_and_random_weights_print_without_judging(capsys):
    assert not expect("the sky is blue", False, "blue 0.1", full_only=True, quick=True)
    assert not expect("the sky is blue", False, "blue 0.1", random_weights=True, quick=False)
    assert capsys.readouterr().out.splitlines() == [
        '· "the sky is blue" (quick mode; checked in full mode): blue 0.1',
        '· "the sky is blue" (random weights): blue 0.1']


def test_report_mode_lists_a_failure_and_goes_on(monkeypatch, capsys):
    monkeypatch.setenv("NST_TEACH_OUTCOMES", "report")
    assert not expect("the sky is blue", False, "blue 0.1", quick=False)
    out = capsys.readouterr().out
    assert out == '✘ "the sky is blue": NOT SHOWN here: blue 0.1\n'
    import lessons_full

    fake = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output(
        "stream", name="stdout", text=out + 'x = 1\n· "b" (quick mode; checked in full mode): 2 px\n')])])
    assert lessons_full.checks(fake) == [("✘", "the sky is blue", "blue 0.1"), ("·", "b", "2 px")]


def test_the_lessons_config_passes_its_mode(monkeypatch, capsys):
    monkeypatch.setenv("NST_TEACH_QUICK", "1")
    monkeypatch.setenv("NST_TEACH_WEIGHTS", "random")
    cfg = lesson_config()
    cfg.expect("s", False, "v")  # random weights: nothing about a picture is judged
    monkeypatch.setenv("NST_TEACH_WEIGHTS", "caffe")
    cfg = lesson_config()
    cfg.expect("s", False, "v", full_only=True)
    with pytest.raises(OutcomeNotShown):
        cfg.expect("s", False, "v")
    assert capsys.readouterr().out.count("·") == 2


def _plain(text: str) -> str:
    """Markdown as a reader reads it: emphasis marks dropped, whitespace collapsed."""
    return " ".join(text.replace("*", "").split())


def _sentences(nb: nbformat.NotebookNode) -> list[str]:
    """The sentence (first argument) of every ``cfg.expect(...)`` in the lesson's code cells."""
    found = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "expect":
                    assert isinstance(node.args[0], ast.Constant), ast.unparse(node)[:80]
                    found.append(node.args[0].value)
    return found


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_each_check_quotes_a_sentence_of_its_lesson(path):
    """A check names the sentence it backs, word for word: edit the sentence and the check must follow."""
    nb = nbformat.read(path, as_version=4)
    text = _plain(" ".join(cell.source for cell in nb.cells if cell.cell_type == "markdown"))
    sentences = _sentences(nb)
    assert len(sentences) >= 4, f"{path.name} checks {len(sentences)} of its stated outcomes"
    for sentence in sentences:
        assert _plain(sentence) in text, f"{path.name}: no sentence in the text reads {sentence!r}"


@pytest.mark.integration
def test_a_broken_outcome_stops_the_lesson_with_its_sentence_named(tmp_path, monkeypatch):
    """Swap the two poolings' labels in lesson 1's gradient cell: max pooling seems to pass the gradient to all four
    inputs, and the lesson stops at the sentence that says otherwise."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    monkeypatch.setenv("NST_TEACH_QUICK", "1")
    monkeypatch.delenv("NST_TEACH_OUTCOMES", raising=False)
    nb = nbformat.read(ROOT / "notebooks" / "01_vgg19_tour.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and 'for pooling in ("max", "avg"):' in c.source)
    cell.source = re.sub(r'gradient_shares\[pooling\]', 'gradient_shares["avg" if pooling == "max" else "max"]', cell.source)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    with pytest.raises(CellExecutionError, match="the lesson says \"at most a quarter of the pooling input hears"):
        client.execute()
