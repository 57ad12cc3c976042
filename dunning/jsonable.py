"""Values made safe for JSON (a JSON column, a webhook body) without losing money precision."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

__all__ = ["jsonable"]


def jsonable(value: Any) -> Any:
    """``value`` with Decimals and dates as strings, mappings and sequences converted throughout.

    >>> jsonable({"fee": Decimal("7.50"), "on": date(2026, 11, 24), "tags": ("a", 1)})
    {'fee': '7.50', 'on': '2026-11-24', 'tags': ['a', 1]}
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal | date):
        return str(value)
    return value
