"""What the assignments' check tests share: a check that must fail, and what its line must say."""

from __future__ import annotations

from typing import Any, Callable

from nst_teach.classroom import checks


def exercise_of(check: Callable[..., bool]) -> str:
    """The exercise a check reports on: its name without ``check_`` (``check_gram_matrix`` -> ``gram_matrix``)."""
    return check.__name__.removeprefix("check_")


def fails(check: Callable[[Any], bool], fn: Any, capsys: Any, *needles: str) -> str:
    """Run ``check(fn)``: it must return False, record the exercise as failed, and print one line, ``FAIL <exercise>: ``
    and the message, that holds every one of ``needles``; returns what it printed."""
    assert check(fn) is False
    out = capsys.readouterr().out
    exercise = exercise_of(check)
    assert out.startswith(f"FAIL {exercise}: ") and out.count("\n") == 1 and out.endswith("\n"), out
    assert checks.RESULTS[exercise] == "fail"
    for needle in needles:
        assert needle in out, out
    return out
