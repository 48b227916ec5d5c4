"""A term of the user's own, from a Python file, for the command line: ``--term my_terms.py:Saturation=10``.

A term is a :class:`~nst_teach.objective.Term` subclass, written in one file: its layers, its loss, how it
rebuilds itself at another size, and, for the command line, how it is built from a run's images
(:meth:`~nst_teach.objective.Term.from_images`). The tasks take it as ``terms=[...]``; the engine records its loss
under its ``name`` beside the paper's terms, so the live plot and the command line's ``--metrics-json`` show it.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Sequence

from torch import Tensor

from nst_teach.errors import NstTeachError
from nst_teach.objective import FeatureEncoder, Term, check_weight

__all__ = ["build_terms", "load_term"]


def load_term(spec: str) -> tuple[type[Term], float]:
    """``"PATH.py:CLASS"`` or ``"PATH.py:CLASS=WEIGHT"`` -> the class (a :class:`Term` subclass) and its weight (1).

    The file is imported as a module: it runs, as any Python file you name does.
    """
    where, _, name = spec.rpartition(":")
    name, _, weight = name.partition("=")
    path = Path(where).expanduser()
    if not where or not name or path.suffix != ".py":
        raise NstTeachError(f"term {spec!r} must be FILE.py:CLASS or FILE.py:CLASS=WEIGHT", "term")
    if not path.is_file():
        raise NstTeachError(f"term {spec!r}: there is no file {path}", "term")
    try:
        value = float(weight) if weight else 1.0
    except ValueError:
        raise NstTeachError(f"term {spec!r}: the weight after '=' must be a number; got {weight!r}", "term") from None
    check_weight(f"term {spec!r}: the weight", value)
    cls = getattr(_module(path.resolve()), name, None)
    if not (isinstance(cls, type) and issubclass(cls, Term)):
        raise NstTeachError(f"term {spec!r}: {path} has no Term subclass called {name} (nst_teach.Term)", "term")
    return cls, value


@cache
def _module(path: Path) -> ModuleType:
    """The user's file as a module, run once however often a spec names it (the CLI checks, then builds)."""
    module_spec = importlib.util.spec_from_file_location(f"nst_teach_term_{path.stem}", path)
    assert module_spec is not None and module_spec.loader is not None  # a .py file that exists
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_spec.name] = module  # dataclasses look their module up there
    module_spec.loader.exec_module(module)
    return module


def build_terms(specs: Sequence[str], encoder: FeatureEncoder, content: Tensor | None,
                styles: Sequence[Tensor]) -> list[Term]:
    """Each ``--term`` spec's term, built from the run's images (:meth:`Term.from_images`)."""
    return [cls.from_images(encoder, content, styles, weight) for cls, weight in map(load_term, specs)]
