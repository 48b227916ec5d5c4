"""What the assignments' check tests share: a check that must fail, and what its line must say."""

from __future__ import annotations

from typing import Any, Callable


def fails(check: Callable[[Any], bool], fn: Any, capsys: Any, *needles: str) -> str:
    """Run ``check(fn)``: it must return False and print a line starting FAIL that holds every one of ``needles``;
    returns what it printed."""
    assert check(fn) is False
    out = capsys.readouterr().out
    assert out.startswith("FAIL"), out
    for needle in needles:
        assert needle in out, out
    return out
