"""From a table of strings to canonical, validated open-item rows.

Rules (issue "ledger import"):

* a row missing a required field (debtor_id, name, invoice_id, due_date, amount),
  or with an unreadable amount, date or currency, is **rejected**; so is a row whose currency is
  not legal tender ISO 4217 (``XXX``), whose due date is outside the plausible window around the
  snapshot's date, or whose name or address is longer than a postal address can hold (see
  :mod:`dunning.ledger.door`);
* a row with a bad email, phone, IBAN, country, language, payment reference or
  regular-supply flag is **imported without that field**, with a warning;
* a second row for an invoice already seen in the file is rejected as a duplicate.

Every problem names the file, the line, the column (as written in the file), the
value and the reason. Values are validated once per distinct value, so a million
rows with a hundred thousand debtors cost a hundred thousand checks, not a million.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import phonenumbers
from email_validator import EmailNotValidError, validate_email
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from stdnum import iso11649
from stdnum.be import ogm_vcs

from dunning.errors import LedgerError
from dunning.ledger.columns import CANONICAL, REQUIRED, recognise
from dunning.ledger.door import MAX_LENGTHS, DueDateWindow, legal_tender_currencies, too_long
from dunning.ledger.mapping import Mapping
from dunning.ledger.read import read_table
from dunning.ledger.values import (
    detect_date_format,
    detect_decimal,
    parse_amount,
    parse_country,
    parse_date,
    parse_debtor_type,
    parse_language,
    parse_regular_supply,
)

PARALLEL_THRESHOLD = 20_000  # distinct phone numbers above which validation uses all cores


@dataclass(frozen=True)
class Problem:
    """One rejected row or one dropped field."""

    file: str
    line: int
    column: str
    value: str
    reason: str
    severity: str  # "rejected" | "warning"

    def __str__(self) -> str:
        column = f", column {self.column!r}" if self.column else ""
        value = f", value {self.value!r}" if self.value else ""
        return f"{self.file}:{self.line}{column}{value}: {self.reason} ({self.severity})"


@dataclass(frozen=True)
class LedgerRow:
    """One open item, canonical and validated."""

    line: int
    debtor_id: str
    name: str
    invoice_id: str
    due_date: date
    amount: Decimal
    currency: str = "EUR"
    invoice_date: date | None = None
    original_amount: Decimal | None = None
    debtor_type: str = "person"
    language: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None
    email: str | None = None
    phone: str | None = None
    iban: str | None = None
    reference: str | None = None
    segment: str | None = None
    description: str | None = None
    regular_supply: bool | None = None  # billed under a regular-supply contract (None: not stated)


ROW_FIELDS = tuple(LedgerRow.__dataclass_fields__)


@dataclass(frozen=True)
class LedgerSnapshot:
    """What a ledger file says is open, plus what could not be read."""

    file: Path
    sha256: str
    table: pd.DataFrame  # one column per LedgerRow field, good rows only
    problems: tuple[Problem, ...]
    total_rows: int
    rejected_invoice_ids: frozenset[str]  # invoices named by rejected rows: never closed for being absent
    dialect: dict[str, Any] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        return len({p.line for p in self.problems if p.severity == "rejected"})

    @property
    def warnings(self) -> int:
        return sum(1 for p in self.problems if p.severity == "warning")

    def rows(self) -> Iterator[LedgerRow]:
        for record in self.table.itertuples(index=False):
            yield LedgerRow(*record)


def _attempt(function: Callable[[str], Any], value: str) -> Any:
    """``function(value)``, or the ValueError it raised (a failure is a result like any other)."""
    try:
        return function(value)
    except ValueError as exc:
        return exc


def _objects(values: list[Any]) -> np.ndarray:
    """A numpy object array holding exactly these Python objects (no conversion)."""
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


class _Column:
    """One column of the file as its distinct stripped values plus, per row, which one.

    Every reader runs once per distinct value and its result is shared by the rows that
    have it, so a million rows for a hundred thousand debtors cost a hundred thousand checks
    and hold one string object per distinct value.
    """

    def __init__(self, series: pd.Series | None, length: int) -> None:
        if series is None:
            self.codes = np.broadcast_to(np.intp(0), (length,))  # no column: every row empty, no memory
            self.values: list[str] = [""]
            return
        raw_codes, raw_values = pd.factorize(series, sort=False, use_na_sentinel=False)
        stripped = [str(v).strip() for v in raw_values.tolist()]
        # Two raw values may strip to the same text: number the stripped texts again.
        remap, distinct = pd.factorize(pd.Index(stripped, dtype=object), sort=False)
        self.codes = np.asarray(remap, dtype=np.int32 if len(stripped) < 2**31 else np.intp)[raw_codes]
        self.values = [str(v) for v in distinct.tolist()] or [""]

    def cells(self, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """The stripped text of each row (``rows`` selects some)."""
        return _objects(self.values)[self.codes[rows]]

    def empty(self) -> np.ndarray:
        return np.asarray([not v for v in self.values], dtype=bool)[self.codes]

    def read(self, reader: Callable[[str], Any]) -> tuple[np.ndarray, np.ndarray]:
        """Per distinct value: the reader's result (None for an empty cell) and whether it failed."""
        results = [_attempt(reader, v) if v else None for v in self.values]
        failed = np.asarray([isinstance(r, ValueError) for r in results], dtype=bool)
        return _objects(results), failed


def _fixed(reason: str) -> Callable[[int], str]:
    return lambda _row: reason


class _Problems:
    """Problems with their place: sorted by line, rejections first, then in the order the checks run."""

    def __init__(self, file: str, columns: dict[str, str], lines: np.ndarray) -> None:
        self.file = file
        self.columns = columns
        self.lines = lines
        self.entries: list[tuple[int, int, int, Problem]] = []

    def add(
        self,
        order: int,
        canonical: str,
        rows: np.ndarray,
        column: _Column | None,
        reason: Callable[[int], str],
        severity: str,
        shown: Callable[[str], str] | None = None,
    ) -> None:
        """A problem for each row index in ``rows``; ``reason(row)`` words it, ``shown`` shortens the value."""
        header = self.columns.get(canonical, canonical)
        rank = 0 if severity == "rejected" else 1
        for row in np.flatnonzero(rows).tolist() if rows.dtype == bool else rows.tolist():
            line = int(self.lines[row])
            value = column.values[column.codes[row]] if column is not None else ""
            if shown is not None:
                value = shown(value)
            self.entries.append((line, rank, order, Problem(self.file, line, header, value, reason(row), severity)))

    def sorted(self) -> tuple[Problem, ...]:
        self.entries.sort(key=lambda e: e[:3])
        return tuple(e[3] for e in self.entries)


# Plain ASCII addresses that email-validator always accepts; everything else goes through it.
_PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?!(?:test|invalid|local|localhost|onion|arpa|internal|home|lan|corp|intranet|private)$)[A-Za-z]{2,24}"
)


def _email(value: str) -> str:
    if len(value) <= 254 and _PLAIN_EMAIL.fullmatch(value):
        local, _, domain = value.partition("@")
        return f"{local}@{domain.lower()}"
    try:
        return str(validate_email(value, check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address ({exc})") from None


def _phone(value: str, region: str | None) -> str:
    try:
        number = phonenumbers.parse(value, region or "BE")
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number ({exc})") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number for its country")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _phone_or_error(key: tuple[str, str | None]) -> str | ValueError:
    try:
        return _phone(*key)
    except ValueError as exc:
        return exc


def _iban(value: str) -> str:
    try:
        return str(IBAN(value).compact)
    except SchwiftyException as exc:
        raise ValueError(f"not a valid IBAN ({exc})") from None


def _reference(value: str) -> str:
    digits = "".join(ch for ch in value if ch.isdigit())
    if value.upper().replace(" ", "").startswith("RF"):
        if not iso11649.is_valid(value):
            raise ValueError("not a valid RF creditor reference (ISO 11649 check digits)")
        return str(iso11649.format(value))
    if len(digits) == 12 and set(value) <= set("0123456789+/* "):
        if not ogm_vcs.is_valid(digits):
            raise ValueError("not a valid Belgian structured communication (mod 97)")
        return str(ogm_vcs.format(digits))
    return value


def _resolve_columns(headers: list[str], mapping: Mapping, path: Path) -> dict[str, str]:
    columns = recognise(headers)
    for canonical, header in mapping.columns.items():
        if header not in headers:
            raise LedgerError(
                f"{path}: the mapping names column {header!r} for {canonical}, "
                f"but the file's headers are {', '.join(map(repr, headers))}"
            )
        columns[canonical] = header
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise LedgerError(
            f"{path}: no column found for {', '.join(missing)} among the headers "
            f"{', '.join(map(repr, headers))}; name it in a mapping file (columns: {{{missing[0]}: ...}})"
        )
    return columns


# An amount as most ledgers write it (digits, thousands groups, decimal mark, leading minus) is read
# here without the general parser, which gives the same value for these and explains the others.
_PLAIN_AMOUNT = {
    ",": re.compile(r"(-?)((?:[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)(?:,[0-9]*)?)"),
    ".": re.compile(r"(-?)((?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?)"),
}


def _amount_reader(decimal_mark: str) -> Callable[[str], Decimal]:
    plain = _PLAIN_AMOUNT[decimal_mark]
    thousands = "." if decimal_mark == "," else ","

    def read(value: str) -> Decimal:
        match = plain.fullmatch(value)
        if match is None:
            return parse_amount(value, decimal_mark)
        amount = Decimal(match.group(2).replace(thousands, "").replace(decimal_mark, "."))
        return -amount if match.group(1) else amount

    return read


def _start_of(value: str) -> str:
    """A long value as a report shows it: its start and its length."""
    return f"{value[:40]}… ({len(value)} characters)" if len(value) > 60 else value


def read_ledger(
    path: Path,
    mapping: Mapping | None = None,
    *,
    as_of: date | None = None,
    due_window: DueDateWindow | None = None,
) -> LedgerSnapshot:
    """Read a ledger export; bad rows become problems, good rows are never held back.

    The rules are per row, the work per distinct value (see :class:`_Column`): each check
    runs once on every distinct text of its column and the rows take the results. With
    ``as_of`` (the snapshot's date), due dates outside ``due_window`` (default
    :class:`~dunning.ledger.door.DueDateWindow`) reject their row.
    """
    mapping = mapping or Mapping()
    raw = read_table(path, mapping)
    frame = raw.frame
    name = str(path)
    headers = [c for c in frame.columns if c != "_line"]
    columns = _resolve_columns(headers, mapping, path)
    lines = frame["_line"].astype(int).to_numpy(dtype=np.int64)
    problems = _Problems(name, columns, lines)
    rejected_ids: set[str] = set()
    invoice_position = headers.index(columns["invoice_id"])
    for line, reason, fields in raw.bad_lines:
        problems.entries.append((line, 0, -1, Problem(name, line, "", "", f"unreadable line: {reason}", "rejected")))
        if len(fields) > invoice_position and fields[invoice_position].strip():
            rejected_ids.add(fields[invoice_position].strip())
    count = len(frame)
    col: dict[str, _Column] = {}
    built: dict[str, _Column] = {}  # by header: a mapping may name one header for two columns
    for canonical in CANONICAL:
        header = columns.get(canonical)
        if header is None:
            col[canonical] = _Column(None, count)
            continue
        if header not in built:
            built[header] = _Column(frame[header], count)
            del frame[header]  # its text is in the column's distinct values now: free it as we go
        col[canonical] = built[header]
    # The strings now live in the columns' distinct values: let the file's table go.
    sha256, bad_lines = raw.sha256, len(raw.bad_lines)
    dialect: dict[str, Any] = {"format": raw.format, "encoding": raw.encoding, "delimiter": raw.delimiter}
    del frame, raw

    head = slice(0, 5000)
    decimal_mark = mapping.decimal or detect_decimal(
        col["amount"].cells(head).tolist() + [v for v in col["original_amount"].cells(head).tolist() if v]
    )
    dated = np.flatnonzero(~col["due_date"].empty())[:2000]
    date_format = mapping.date_format or detect_date_format(
        col["due_date"].cells(dated).tolist() + col["invoice_date"].cells(slice(0, 2000)).tolist()
    )
    read_amount: Callable[[str], Decimal] = (
        _amount_reader(decimal_mark) if decimal_mark in _PLAIN_AMOUNT else (lambda v: parse_amount(v, decimal_mark))
    )

    # Phone numbers are checked while the rest is read (in worker processes when there are many).
    phones = _Phones(col["phone"], col["country"])
    try:
        # --- rejections: in the order the rules are listed; a row with any of them is not imported
        rejected = np.zeros(count, dtype=bool)
        for order, canonical in enumerate(REQUIRED):
            empty = col[canonical].empty()
            problems.add(order, canonical, empty, None, _fixed(f"required field {canonical} is empty"), "rejected")
            rejected |= empty

        def required(order: int, canonical: str, reader: Callable[[str], Any], what: str) -> np.ndarray:
            column = col[canonical]
            results, failed = column.read(reader)
            bad = failed[column.codes]
            problems.add(order, canonical, bad, column, lambda r: f"{what}: {results[column.codes[r]]}", "rejected")
            rejected[bad] = True
            return results

        amounts = required(10, "amount", read_amount, "unreadable amount")
        dues = required(11, "due_date", lambda v: parse_date(v, date_format), "unreadable date")
        currency = col["currency"]
        currencies = _objects([(v or "EUR").upper() for v in currency.values])
        tender = legal_tender_currencies()
        bad_currency = np.asarray([c not in tender for c in currencies.tolist()], dtype=bool)
        bad = bad_currency[currency.codes]
        problems.add(
            12, "currency", bad, currency, _fixed("not an ISO 4217 currency in use (legal tender)"), "rejected"
        )
        rejected |= bad
        if as_of is not None:
            first_day, last_day = (due_window or DueDateWindow()).bounds(as_of)
            due = col["due_date"]
            outside = np.asarray(
                [isinstance(d, date) and not first_day <= d <= last_day for d in dues.tolist()], dtype=bool
            )[due.codes]
            problems.add(
                14,
                "due_date",
                outside,
                due,
                _fixed(f"implausible due date: outside {first_day.isoformat()} to {last_day.isoformat()}"),
                "rejected",
            )
            rejected |= outside
        for order, (canonical, _limit) in enumerate(MAX_LENGTHS.items(), start=15):
            column = col[canonical]
            reasons = [too_long(canonical, v) for v in column.values]
            long_rows = np.asarray([r is not None for r in reasons], dtype=bool)[column.codes]
            if long_rows.any():

                def why(row: int, column: _Column = column, reasons: list[str | None] = reasons) -> str:
                    return str(reasons[column.codes[row]])

                problems.add(order, canonical, long_rows, column, why, "rejected", shown=_start_of)
                rejected |= long_rows

        all_rows = np.arange(count)

        def optional(
            order: int, canonical: str, reader: Callable[[str], Any], what: str, rows: np.ndarray
        ) -> np.ndarray:
            """The value of ``rows`` (None if empty or unreadable); an unreadable one is warned about and dropped."""
            column = col[canonical]
            results, failed = column.read(reader)
            codes = column.codes[rows]
            problems.add(
                order,
                canonical,
                rows[failed[codes]],
                column,
                lambda r: f"{what}: {results[column.codes[r]]}",
                "warning",
            )
            kept = results.copy()
            kept[failed] = None
            values: np.ndarray = kept[codes]
            return values

        # Unreadable optional dates and amounts are reported on every row, rejected or not.
        invoice_dates = optional(
            20, "invoice_date", lambda v: parse_date(v, date_format), "unreadable date dropped", all_rows
        )
        originals = optional(21, "original_amount", read_amount, "unreadable amount dropped", all_rows)

        # A second row for an invoice: among rows without other problems, all but the first are duplicates.
        invoice = col["invoice_id"]
        clean = np.flatnonzero(~rejected)
        clean_codes = invoice.codes[clean]
        _, first = np.unique(clean_codes, return_index=True)
        first_row = np.full(len(invoice.values), -1, dtype=np.intp)
        first_row[clean_codes[first]] = clean[first]
        duplicates = clean[first_row[clean_codes] != clean]
        problems.add(
            13,
            "invoice_id",
            duplicates,
            invoice,
            lambda r: f"duplicate invoice: already on line {int(lines[first_row[invoice.codes[r]]])}",
            "rejected",
        )
        rejected[duplicates] = True
        rejected_ids.update(v for v in (invoice.values[c] for c in np.unique(invoice.codes[rejected]).tolist()) if v)

        # --- good rows: optional fields, each dropped with a warning when unreadable
        ok = np.flatnonzero(~rejected)
        # The table's one block of objects, filled a column at a time (a DataFrame of columns would copy them).
        block = np.empty((len(ROW_FIELDS), len(ok)), dtype=object)

        def put(field_: str, values: np.ndarray) -> None:
            block[ROW_FIELDS.index(field_)] = values

        put("line", _objects(lines[ok].tolist()))
        for canonical in ("debtor_id", "name", "invoice_id"):
            put(canonical, col[canonical].cells(ok))
        put("due_date", dues[col["due_date"].codes[ok]])
        put("amount", amounts[col["amount"].codes[ok]])
        put("currency", currencies[currency.codes[ok]])
        put("invoice_date", invoice_dates[ok])
        put("original_amount", originals[ok])
        del dues, amounts, invoice_dates, originals
        put("country", optional(22, "country", parse_country, "country dropped", ok))
        debtor_types = optional(23, "debtor_type", parse_debtor_type, "debtor type dropped", ok)
        debtor_types[debtor_types == None] = "person"  # noqa: E711 - elementwise comparison on an object array
        put("debtor_type", debtor_types)
        put("phone", phones.of(ok, problems))
        put("language", optional(25, "language", parse_language, "language dropped", ok))
        put("email", optional(26, "email", _email, "email dropped", ok))
        put("iban", optional(27, "iban", _iban, "IBAN dropped", ok))
        put("reference", optional(28, "reference", _reference, "payment reference dropped", ok))
        put("regular_supply", optional(29, "regular_supply", parse_regular_supply, "regular-supply flag dropped", ok))
        for canonical in ("street", "postal_code", "city", "segment", "description"):
            column = col[canonical]
            put(canonical, _objects([v or None for v in column.values])[column.codes[ok]])
        # Object columns keep None, Decimal and date as they are; rows with the same text share one string.
        table = pd.DataFrame(block.T, columns=list(ROW_FIELDS), dtype=object, copy=False)
        dialect.update(decimal=decimal_mark, date_format=date_format, columns=columns)
        return LedgerSnapshot(
            file=path,
            sha256=sha256,
            table=table,
            problems=problems.sorted(),
            total_rows=count + bad_lines,
            rejected_invoice_ids=frozenset(rejected_ids),
            dialect=dialect,
        )
    finally:
        phones.close()


class _Phones:
    """E.164 for every distinct (number, country) of the file, with the row's country as default region.

    phonenumbers costs about 20 µs a number, the largest share of reading a big file: with many
    numbers the check is started early in worker processes and runs while the rest is read.
    """

    def __init__(self, phone: _Column, country: _Column) -> None:
        self.phone, self.country = phone, country
        self.regions, failed = country.read(parse_country)
        self.regions[failed] = None  # an unreadable country is no region: the number is read as Belgian
        numbered = np.flatnonzero(~phone.empty())
        width = len(country.values)
        pairs = np.unique(phone.codes[numbered].astype(np.int64) * width + country.codes[numbered])
        keys = {(phone.values[p // width], self.regions[p % width]) for p in pairs.tolist()}
        self.keys = sorted(keys, key=lambda k: (k[0], k[1] or ""))
        self.pool: ProcessPoolExecutor | None = None
        self.pending: Iterator[str | ValueError] | None = None
        if len(self.keys) >= PARALLEL_THRESHOLD and (os.cpu_count() or 1) >= 2:
            self.pool = ProcessPoolExecutor(max_workers=os.cpu_count())
            self.pending = self.pool.map(_phone_or_error, self.keys, chunksize=2000)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None

    def of(self, rows: np.ndarray, problems: _Problems) -> np.ndarray:
        """The numbers of ``rows`` (None if absent or invalid); an invalid one is warned about and dropped."""
        if self.pending is not None:
            validated = dict(zip(self.keys, self.pending, strict=True))
            self.close()
        else:
            validated = {key: _phone_or_error(key) for key in self.keys}
        phone, country = self.phone, self.country
        out = np.full(len(rows), None, dtype=object)
        has_number = ~phone.empty()[rows]
        numbered = rows[has_number]
        width = len(country.values)
        pairs = phone.codes[numbered].astype(np.int64) * width + country.codes[numbered]
        distinct, which = np.unique(pairs, return_inverse=True)
        keys = [(phone.values[p // width], self.regions[p % width]) for p in distinct.tolist()]
        results = _objects([validated[k] for k in keys])[which.reshape(-1)]
        bad = np.asarray([isinstance(r, ValueError) for r in results.tolist()], dtype=bool)
        reasons = dict(zip(numbered[bad].tolist(), results[bad].tolist(), strict=True))
        problems.add(24, "phone", numbered[bad], phone, lambda r: f"phone dropped: {reasons[r]}", "warning")
        results[bad] = None
        out[has_number] = results
        return out
