"""The errors a user can meet, and the one checker that raises them. Each message says what happened and what to do.

All derive from :class:`NstTeachError`, a :class:`ValueError`, so the CLI prints one line for any of
them instead of a traceback, and Python code can catch them as the value errors they are.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["ImageError", "LayerError", "NstTeachError", "WeightsError", "check_number"]


class NstTeachError(ValueError):
    """A problem with the user's input or set-up, explained in the message."""


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
        number = number and float(value).is_integer()  # type: ignore[arg-type]  # a number, checked above
    inside = number and (value > low if above else value >= low) and value <= high  # type: ignore[operator]
    if not inside:
        bounds = [f"above {low:g}" if above else f"at least {low:g}"] if math.isfinite(low) else []
        bounds += [f"at most {high:g}"] if math.isfinite(high) else []
        kind = "a whole number" if whole else "a finite number"
        raise NstTeachError(f"{name} must be {kind}{', ' + ' and '.join(bounds) if bounds else ''}; got {value!r}")
