"""Mapping files: how to read a ledger export that auto-detection gets wrong.

A mapping is a small YAML file; every key is optional::

    columns:                 # canonical name: header in the file
      debtor_id: Kundennr
      amount: "Offener Betrag"
    delimiter: ";"
    encoding: cp1252
    decimal: ","
    date_format: dd.mm.yyyy  # or a strptime format such as %d.%m.%Y
    sheet: Open items        # XLSX only
    skip_rows: 2             # lines above the header
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dunning.errors import LedgerError
from dunning.ledger.columns import CANONICAL

_KEYS = {"columns", "delimiter", "encoding", "decimal", "date_format", "sheet", "skip_rows"}
_TOKENS = (("yyyy", "%Y"), ("yy", "%y"), ("mm", "%m"), ("dd", "%d"))


def to_strptime(pattern: str) -> str:
    """``dd.mm.yyyy`` → ``%d.%m.%Y``; a pattern that already has ``%`` is kept."""
    if "%" in pattern:
        return pattern
    result = pattern.lower()
    for token, directive in _TOKENS:
        result = result.replace(token, directive)
    return result


@dataclass(frozen=True)
class Mapping:
    """How to read one ledger format; empty fields mean "detect"."""

    columns: dict[str, str] = field(default_factory=dict)
    delimiter: str | None = None
    encoding: str | None = None
    decimal: str | None = None
    date_format: str | None = None
    sheet: str | int | None = None
    skip_rows: int = 0


def parse_mapping(raw: Any, source: str) -> Mapping:
    """Validate a loaded mapping document; errors name the file and the key."""
    if raw is None:
        return Mapping()
    if not isinstance(raw, dict):
        raise LedgerError(f"{source}: a mapping file holds keys such as columns, delimiter, decimal")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise LedgerError(f"{source}: {unknown[0]}: unknown key (known: {', '.join(sorted(_KEYS))})")
    columns = raw.get("columns") or {}
    if not isinstance(columns, dict):
        raise LedgerError(f"{source}: columns: must map canonical names to headers")
    for name, header in columns.items():
        if name not in CANONICAL:
            raise LedgerError(f"{source}: columns.{name}: not a canonical column (known: {', '.join(CANONICAL)})")
        if not isinstance(header, str | int) or header == "":
            raise LedgerError(f"{source}: columns.{name}: must be a header name, got {header!r}")
    delimiter = raw.get("delimiter")
    if delimiter is not None:
        delimiter = {"\\t": "\t", "tab": "\t"}.get(str(delimiter), str(delimiter))
        if len(delimiter) != 1:
            raise LedgerError(f"{source}: delimiter: must be one character, got {delimiter!r}")
    encoding = raw.get("encoding")
    if encoding is not None:
        try:
            codecs.lookup(str(encoding))
        except LookupError:
            raise LedgerError(f"{source}: encoding: unknown encoding {encoding!r}") from None
    decimal = raw.get("decimal")
    if decimal is not None and decimal not in (",", "."):
        raise LedgerError(f"{source}: decimal: must be ',' or '.', got {decimal!r}")
    date_format = raw.get("date_format")
    skip_rows = raw.get("skip_rows", 0)
    if not isinstance(skip_rows, int) or skip_rows < 0:
        raise LedgerError(f"{source}: skip_rows: must be a whole number ≥ 0, got {skip_rows!r}")
    return Mapping(
        columns={str(k): str(v) for k, v in columns.items()},
        delimiter=delimiter,
        encoding=str(encoding) if encoding else None,
        decimal=decimal,
        date_format=to_strptime(str(date_format)) if date_format else None,
        sheet=raw.get("sheet"),
        skip_rows=skip_rows,
    )


def load_mapping(path: Path) -> Mapping:
    """Read and validate a mapping file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LedgerError(f"{path}: no such mapping file") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise LedgerError(f"{path}: cannot read the mapping file ({exc})") from None
    return parse_mapping(raw, str(path))
