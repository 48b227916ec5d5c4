"""`make figures`: the README's pictures, made on the paper's network by one command."""

import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))


def test_figures_command_writes_the_pictures_and_their_settings(tmp_path):
    import figures

    assert figures.main(["--size", "48", "--steps", "2", "--out", str(tmp_path)]) == 0
    for name in ("fig1_content.png", "fig1_style.png", "fig3_gallery.png"):
        assert Image.open(tmp_path / name).size[0] > 300, name
    notes = (tmp_path / "figures.md").read_text()
    assert "weights `caffe`" in notes and "48 px" in notes and "2 steps" in notes


def test_the_readme_shows_the_committed_figures():
    readme = (ROOT / "README.md").read_text()
    for name in ("fig1_content.png", "fig1_style.png", "fig3_gallery.png"):
        assert f"docs/{name}" in readme and (ROOT / "docs" / name).is_file(), name
