"""The errors a user can meet. Each message says what happened and what to do next.

All derive from :class:`NstTeachError`, so the CLI can print one line for any
of them instead of a traceback.
"""

from __future__ import annotations

__all__ = ["ImageError", "LayerError", "NstTeachError", "WeightsError"]


class NstTeachError(Exception):
    """A problem with the user's input or set-up, explained in the message."""


class ImageError(NstTeachError, ValueError):
    """An image could not be read: missing, not an image, truncated or too large."""


class LayerError(NstTeachError, KeyError):
    """An unknown VGG19 layer name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class WeightsError(NstTeachError, RuntimeError):
    """The VGG19 weights could not be had (offline, missing or broken file)."""
