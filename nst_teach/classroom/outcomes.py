"""A lesson's stated outcomes, checked from the lesson's own numbers.

Where a lesson says what an experiment shows ("relu4_1 carries almost all of it"), the cell
after the sentence measures it and calls :func:`expect` with the sentence, whether the
numbers show it, and the numbers. The reader sees the value beside the sentence; a change
that makes the sentence false stops the lesson with the sentence named.

Some sentences are about the pictures a lesson makes in full mode and do not hold for the
few steps on tiny images of quick mode (``NST_TEACH_QUICK=1``, which the tests use): those
pass ``full_only=True``, and quick mode prints the value without judging it. On random
weights (``NST_TEACH_WEIGHTS=random``) no picture looks like the paper's, so nothing about a
picture is judged. ``make lessons-full`` runs the five lessons in full mode with
``NST_TEACH_OUTCOMES=report``: every check reports instead of stopping the lesson, and the
command lists them all and fails if any did not hold.

>>> expect("two and two make four", 2 + 2 == 4, "2 + 2 = 4")
✔ "two and two make four": 2 + 2 = 4
True
>>> expect("two and two make five", 2 + 2 == 5, "2 + 2 = 4")
Traceback (most recent call last):
...
nst_teach.classroom.outcomes.OutcomeNotShown: the lesson says "two and two make five", but here 2 + 2 = 4
"""

from __future__ import annotations

import os

__all__ = ["OutcomeNotShown", "expect"]

HOLDS, FAILS, NOT_JUDGED = "✔", "✘", "·"


class OutcomeNotShown(AssertionError):
    """A sentence of the lesson that its own numbers do not show."""


def expect(sentence: str, holds: bool, value: str, *, full_only: bool = False, quick: bool = False,
           random_weights: bool = False) -> bool:
    """Print ``value`` beside ``sentence`` and stop the lesson if ``holds`` is false.

    ``sentence`` is quoted from the lesson's text (a test checks that it is there). ``full_only``: the
    sentence is about the full-mode pictures, so quick mode prints the value without judging it.
    ``quick``: the lesson runs in quick mode (a lesson's ``cfg.expect`` passes its own). Returns whether the
    sentence holds."""
    if random_weights or (full_only and quick):
        why = "random weights" if random_weights else "quick mode; checked in full mode"
        print(f'{NOT_JUDGED} "{sentence}" ({why}): {value}')
        return bool(holds)
    if holds:
        print(f'{HOLDS} "{sentence}": {value}')
        return True
    if os.environ.get("NST_TEACH_OUTCOMES") == "report":
        print(f'{FAILS} "{sentence}": NOT SHOWN here: {value}')
        return False
    raise OutcomeNotShown(f'the lesson says "{sentence}", but here {value}')
