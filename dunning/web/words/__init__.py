"""The words of the pay page's features, one module per feature, merged into :data:`dunning.web.i18n.TEXTS`.

Each module here holds ``TEXTS = {"en": {...}, "nl": {...}, "fr": {...}, "de": {...}}`` with keys of its
own (a key defined twice is an error when the server starts); every module is found by itself, so a
feature adds its words without touching another's file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping

__all__ = ["feature_texts"]


def feature_texts() -> list[tuple[str, Mapping[str, Mapping[str, str]]]]:
    """``(module name, TEXTS)`` of every feature module of this package, in name order."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.append((info.name, module.TEXTS))
    return found
