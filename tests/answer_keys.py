"""The answer keys' texts, read from the answer files themselves, for the checks that no student material holds them
(the student notebooks: tests/test_notebooks.py; the student site: tests/test_site.py)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ANSWER_FILES = ("instructor/lesson_answers.md", "assignments/style_transfer.md", "assignments/from_losses_to_pictures.md",
                "assignments/guided_gram.md")


def letters(text: str) -> str:
    """Only the letters and digits, lower-cased: the same text in Markdown, in a notebook and rendered (quotes, markup,
    spaces)."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


def _prose(paragraph: str, shortest: int = 40) -> list[str]:
    """A Markdown paragraph's runs of text between its equations (MathJax renders those differently), as letters."""
    paragraph = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", paragraph)  # a link: its text
    runs = (letters(run) for run in re.split(r"\$\$.*?\$\$|\$[^$]*\$", paragraph, flags=re.S))
    return [run for run in runs if len(run) >= shortest]


def answer_texts() -> dict[str, list[str]]:
    """Each answer file's texts, as :func:`letters`: the model answers' paragraphs (not their headings and question
    titles, which echo the lessons), and each solution and hidden test of the assignments' instructor versions."""
    texts: dict[str, list[str]] = {}
    for name in ANSWER_FILES:
        source = (ROOT / name).read_text()
        if name.startswith("instructor/"):
            paragraphs = [p for p in re.split(r"\n\s*\n", source) if not p.startswith("#")]
            kept = ["\n".join(line for line in p.splitlines() if not re.fullmatch(r"\*\*.*\*\*", line.strip()))
                    for p in paragraphs]
            texts[name] = [run for p in kept for run in _prose(p)]
        else:
            blocks = re.findall(r"### BEGIN (SOLUTION|HIDDEN TESTS)[^\n]*\n(.*?)^[ \t]*### END \1", source, re.M | re.S)
            # a written answer (it has equations) in runs between them as above; a code solution whole, unless trivial
            runs = [run for _, block in blocks for run in (_prose(block) if "$" in block else [letters(block)])]
            texts[name] = [run for run in runs if len(run) >= 12]
    assert all(texts.values()), {name: len(found) for name, found in texts.items()}
    return texts
