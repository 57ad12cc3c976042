"""The workspace's ``rates.yaml``: new semesters' statutory rates without a code change.

The file (``legal: {rates: ...}`` in ``dunning.yaml``, default ``rates.yaml``; no such file: the
built-in tables) adds periods to the base tables, by table key::

    ecb_mro:
      verified_through: 2026-12-31          # the last day these figures were checked
      periods:
        - {start: 2026-09-16, rate: "2.40", source: "ECB press release 2026-09-10"}
    nl_statutory:
      verified_through: 2025-12-31
      periods:
        - {start: 2025-01-01, rate: "6.00", source: "Staatscourant 2024, 12345"}

Keys: ``ecb_mro``, ``de_base_rate``, ``nl_statutory`` (or their constant names ``ECB_MRO``,
``BUNDESBANK_BASE_RATE``, ``NETHERLANDS_STATUTORY``). The ECB-based tables (reference rate, EU
statutory, Belgian 2002 rate, Dutch commercial rate) follow ``ecb_mro``. A table whose rate did not
change needs only its new ``verified_through``. A period field: ``start`` (YYYY-MM-DD), ``rate``
(percent per year, a decimal: quote it), ``source`` (required), ``override: true`` to correct a
verified built-in figure. The merge rules are in :mod:`dunning.domain.legal.rate_updates`.

An invalid file is a :class:`~dunning.errors.ConfigError` naming the file, the table, the period
(number and line) and the value; nothing is planned with half a file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from dunning.domain.legal.rate_updates import (
    PeriodUpdate,
    RateStatus,
    RateUpdateError,
    TableUpdate,
    apply_updates,
    rate_status,
)
from dunning.domain.legal.rates import BASE_KEYS, BUILTIN_TABLES, RateTable
from dunning.errors import ConfigError
from dunning.workspace import Workspace

__all__ = ["RatesOverview", "load_rates_file", "parse_rates", "rates_overview", "workspace_rates"]

ALIASES = {"ECB_MRO": "ecb_mro", "BUNDESBANK_BASE_RATE": "de_base_rate", "NETHERLANDS_STATUTORY": "nl_statutory"}
_TABLE_FIELDS = {"verified_through", "periods"}
_PERIOD_FIELDS = {"start", "rate", "source", "override"}


class _Map(dict[Any, Any]):
    """A YAML mapping that remembers its line (for error messages)."""

    line = 0


class _Loader(yaml.SafeLoader):
    pass


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    result = _Map(loader.construct_mapping(node, deep=True))
    result.line = node.start_mark.line + 1
    return result


def _construct_timestamp(loader: _Loader, node: yaml.ScalarNode) -> object:
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:  # 2026-13-01 looks like a date to YAML: keep the text, reported as not a date
        return loader.construct_scalar(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def _date(value: object) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _rate(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        # a float is read back as written (YAML 2.15 -> "2.15"); quoting avoids the question
        rate = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not rate.is_finite() or abs(rate) >= 100:
        return None
    exponent = rate.as_tuple().exponent
    return rate.quantize(Decimal("0.01")) if isinstance(exponent, int) and exponent > -2 else rate


def _period(key: str, number: int, raw: object, errors: list[str]) -> PeriodUpdate | None:
    if not isinstance(raw, dict):
        errors.append(f"{key}: period {number}: expected a mapping with start, rate and source, got {raw!r}")
        return None
    where = f"period {number} (line {raw.line})" if isinstance(raw, _Map) else f"period {number}"
    problems: list[str] = [f"unknown field {name!r}" for name in raw if name not in _PERIOD_FIELDS]
    start = _date(raw.get("start"))
    if start is None:
        problems.append(f"start {raw.get('start')!r} is not a date (YYYY-MM-DD)")
    rate = _rate(raw.get("rate"))
    if rate is None:
        problems.append(f"rate {raw.get('rate')!r} is not a decimal percentage (e.g. \"2.15\")")
    source = raw.get("source")
    if not isinstance(source, str) or not source.strip():
        problems.append("source is missing: say where the figure comes from")
    override = raw.get("override", False)
    if not isinstance(override, bool):
        problems.append(f"override {override!r} is not true or false")
    errors.extend(f"{key}: {where}: {p}" for p in problems)
    if problems or start is None or rate is None or not isinstance(source, str):
        return None
    return PeriodUpdate(start, rate, source.strip(), bool(override), where)


def _table(name: str, raw: object, errors: list[str]) -> TableUpdate | None:
    key = ALIASES.get(name, name)
    if isinstance(raw, list):  # a bare list of periods
        raw = {"periods": raw}
    if not isinstance(raw, dict):
        errors.append(f"{key}: expected a mapping with verified_through and periods, got {raw!r}")
        return None
    count = len(errors)
    unknown = [n for n in raw if n not in _TABLE_FIELDS]
    errors.extend(f"{key}: unknown field {n!r} (fields: verified_through, periods)" for n in unknown)
    verified = raw.get("verified_through")
    verified_through = None if verified is None else _date(verified)
    if verified is not None and verified_through is None:
        errors.append(f"{key}: verified_through {verified!r} is not a date (YYYY-MM-DD)")
    raw_periods = raw.get("periods") or []
    if not isinstance(raw_periods, list):
        errors.append(f"{key}: periods must be a list, got {raw_periods!r}")
        raw_periods = []
    periods = [_period(key, n, p, errors) for n, p in enumerate(raw_periods, start=1)]
    if len(errors) > count:
        return None
    return TableUpdate(key, tuple(p for p in periods if p is not None), verified_through)


def parse_rates(document: object, source: str) -> dict[str, RateTable]:
    """The tables with the updates of a loaded ``rates.yaml`` document merged in (see the module docstring)."""
    if document is None:
        return dict(BUILTIN_TABLES)  # an empty (or all-comment) file changes nothing
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: expected a mapping of rate tables ({', '.join(BASE_KEYS)})")
    errors: list[str] = []
    updates = [_table(str(name), raw, errors) for name, raw in document.items()]
    if errors:
        raise ConfigError("\n".join(f"{source}: {e}" for e in errors))
    try:
        return apply_updates(u for u in updates if u is not None)
    except RateUpdateError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def load_rates_file(path: Path) -> dict[str, RateTable]:
    """Read ``path`` and merge it into the built-in tables."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
    try:
        document = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}:" if mark is not None else ""
        raise ConfigError(f"{path}:{where} not valid YAML ({getattr(exc, 'problem', exc)})") from None
    return parse_rates(document, str(path))


def rates_file(ws: Workspace) -> Path | None:
    """The workspace's rates file; None when the default ``rates.yaml`` is absent (built-in tables).

    A file named in ``dunning.yaml`` (or ``DUNNING_LEGAL_RATES``) must exist: a typo must not
    silently fall back to the built-in tables.
    """
    path = ws.path(ws.config.legal.rates)
    if path.is_file():
        return path
    if "legal" in ws.config.model_fields_set and "rates" in ws.config.legal.model_fields_set:
        raise ConfigError(f"{ws.config_path}: legal.rates: {path}: no such file")
    return None


def workspace_rates(ws: Workspace) -> Mapping[str, RateTable]:
    """Every rate table by key, with the workspace's rates file merged in."""
    path = rates_file(ws)
    return BUILTIN_TABLES if path is None else load_rates_file(path)


@dataclass(frozen=True)
class RatesOverview:
    """``dunning rates``: each table on a day, and a warning for each one not verified that day."""

    day: date
    file: Path | None
    tables: list[RateStatus]
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "file": None if self.file is None else str(self.file),
            "tables": [t.as_dict() for t in self.tables],
            "warnings": self.warnings,
        }


def rates_overview(ws: Workspace, day: date) -> RatesOverview:
    """The rate tables in force on ``day`` (built-in plus the workspace's file)."""
    path = rates_file(ws)
    tables = BUILTIN_TABLES if path is None else load_rates_file(path)
    rows = rate_status(tables, day)
    name = ws.config.legal.rates
    followers = [r.key for r in rows if r.derived_from == "ecb_mro"]
    warnings = [
        f"rate table {r.key} is not verified after {r.verified_through.isoformat()}: add its rates up to "
        f"{day.isoformat()} (or, if unchanged, its new verified_through) to {name}"
        + (f"; {', '.join(followers)} follow it" if r.key == "ecb_mro" else "")
        for r in rows
        if not r.verified and r.derived_from is None
    ]
    return RatesOverview(day, path, rows, warnings)
