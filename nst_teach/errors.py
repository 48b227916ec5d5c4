"""The errors a user can meet, and the checkers that raise them. Each message says what happened and what to do.

All derive from :class:`NstTeachError`, a :class:`ValueError`, so the CLI prints one line for any of
them instead of a traceback, and Python code can catch them as the value errors they are.
Each value is checked once, where it enters the library (``Settings``, a task, a term), with limits named there;
the error keeps the argument's ``name``, so the CLI calls the same checks and puts its flag in the message.
"""

from __future__ import annotations

import math
import numbers
from typing import Sequence

__all__ = ["ImageError", "LayerError", "NstTeachError", "WeightsError", "check_choice", "check_number"]


class NstTeachError(ValueError):
    """A problem with the user's input or set-up, explained in the message; ``name``: the argument it is about."""

    def __init__(self, message: str, name: str | None = None) -> None:
        super().__init__(message)
        self.name = name  # the argument refused, when one is: the CLI maps it to its flag


class ImageError(NstTeachError):
    """An image could not be read: missing, not an image, truncated or too large."""


class LayerError(NstTeachError, KeyError):
    """An unknown VGG19 layer name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class WeightsError(NstTeachError):
    """The VGG19 weights could not be had (offline, missing or broken file)."""


def check_number(name: str, value: object, low: float = -math.inf, high: float = math.inf, *,
                 above: bool = False, whole: bool = False) -> None:
    """Raise :class:`NstTeachError` naming ``name`` unless ``value`` is a finite number in ``[low, high]``
    (``(low, high]`` when ``above``; a whole number when ``whole``). Checked where a value enters.

    >>> check_number("alpha", float("nan"), 0)
    Traceback (most recent call last):
    ...
    nst_teach.errors.NstTeachError: alpha must be a finite number, at least 0; got nan
    """
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):  # a 0-d tensor or array
        value = value.item()
    number = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if whole:
        number = number and isinstance(value, numbers.Integral)  # 2.0 is refused: it would fail in range() later
    inside = number and (value > low if above else value >= low) and value <= high  # type: ignore[operator]
    if not inside:
        bounds = [f"above {low:g}" if above else f"at least {low:g}"] if math.isfinite(low) else []
        bounds += [f"at most {high:g}"] if math.isfinite(high) else []
        kind = "a whole number" if whole else "a finite number"
        raise NstTeachError(f"{name} must be {kind}{', ' + ' and '.join(bounds) if bounds else ''}; got {value!r}", name)


def check_choice(name: str, value: object, allowed: Sequence[object]) -> None:
    """Raise :class:`NstTeachError` naming ``name`` unless ``value`` is one of ``allowed``."""
    if not any(value == choice and type(value) is type(choice) for choice in allowed):
        raise NstTeachError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}", name)
