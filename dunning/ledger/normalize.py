"""From a table of strings to canonical, validated open-item rows.

Rules (issue "ledger import"):

* a row missing a required field (debtor_id, name, invoice_id, due_date, amount),
  or with an unreadable amount, date or currency, is **rejected**;
* a row with a bad email, phone, IBAN, country, language or payment reference is
  **imported without that field**, with a warning;
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

import pandas as pd
import phonenumbers
from email_validator import EmailNotValidError, validate_email
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from stdnum import iso11649
from stdnum.be import ogm_vcs

from dunning.errors import LedgerError
from dunning.ledger.columns import CANONICAL, REQUIRED, recognise
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


_NONE = object()


def _cached(function: Callable[[str], Any]) -> Callable[[str], Any]:
    """Memoise a value reader, remembering failures as their ValueError."""
    memo: dict[str, Any] = {}

    def read(value: str) -> Any:
        result = memo.get(value, _NONE)
        if result is _NONE:
            try:
                result = function(value)
            except ValueError as exc:
                result = exc
            memo[value] = result
        return result

    return read


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


def _validate_phones(raw: list[str], countries: list[Any]) -> dict[tuple[str, str | None], str | ValueError]:
    """E.164 for every distinct (number, country); spread over processes when there are many.

    phonenumbers costs about 0.1 ms a number, the largest share of a big import.
    """
    keys = sorted(
        {(p, c if isinstance(c, str) else None) for p, c in zip(raw, countries, strict=True) if p},
        key=lambda k: (k[0], k[1] or ""),
    )
    if len(keys) < PARALLEL_THRESHOLD or (os.cpu_count() or 1) < 2:
        return {key: _phone_or_error(key) for key in keys}
    with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
        results = pool.map(_phone_or_error, keys, chunksize=2000)
        return dict(zip(keys, results, strict=True))


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


def read_ledger(path: Path, mapping: Mapping | None = None) -> LedgerSnapshot:
    """Read a ledger export; bad rows become problems, good rows are never held back."""
    mapping = mapping or Mapping()
    raw = read_table(path, mapping)
    frame = raw.frame
    name = str(path)
    headers = [c for c in frame.columns if c != "_line"]
    columns = _resolve_columns(headers, mapping, path)
    problems: list[Problem] = []
    rejected_ids: set[str] = set()
    invoice_position = headers.index(columns["invoice_id"])
    for line, reason, fields in raw.bad_lines:
        problems.append(Problem(name, line, "", "", f"unreadable line: {reason}", "rejected"))
        if len(fields) > invoice_position and fields[invoice_position].strip():
            rejected_ids.add(fields[invoice_position].strip())
    lines = frame["_line"].astype(int).tolist()

    def column(canonical: str) -> list[str]:
        header = columns.get(canonical)
        if header is None:
            return [""] * len(frame)
        return [str(v).strip() for v in frame[header].tolist()]

    values = {canonical: column(canonical) for canonical in CANONICAL}
    decimal_mark = mapping.decimal or detect_decimal(
        values["amount"][:5000] + [v for v in values["original_amount"][:5000] if v]
    )
    date_format = mapping.date_format or detect_date_format(values["due_date"] + values["invoice_date"][:2000])
    read_amount = _cached(lambda v: parse_amount(v, decimal_mark))
    read_date = _cached(lambda v: parse_date(v, date_format))
    read_country = _cached(parse_country)
    read_language = _cached(parse_language)
    read_type = _cached(parse_debtor_type)
    read_email = _cached(_email)
    read_iban = _cached(_iban)
    read_reference = _cached(_reference)
    phones = _validate_phones(values["phone"], [read_country(v) if v else None for v in values["country"]])

    out: dict[str, list[Any]] = {f: [] for f in ROW_FIELDS}
    seen: dict[str, int] = {}

    for i, line in enumerate(lines):
        row_problems: list[Problem] = []

        def reject(
            canonical: str, value: str, reason: str, line: int = line, sink: list[Problem] = row_problems
        ) -> None:
            sink.append(Problem(name, line, columns.get(canonical, canonical), value, reason, "rejected"))

        def warn(canonical: str, value: str, reason: str, line: int = line) -> None:
            problems.append(Problem(name, line, columns.get(canonical, canonical), value, reason, "warning"))

        for canonical in REQUIRED:
            if not values[canonical][i]:
                reject(canonical, "", f"required field {canonical} is empty")
        amount = read_amount(values["amount"][i]) if values["amount"][i] else None
        if isinstance(amount, ValueError):
            reject("amount", values["amount"][i], f"unreadable amount: {amount}")
        due = read_date(values["due_date"][i]) if values["due_date"][i] else None
        if isinstance(due, ValueError):
            reject("due_date", values["due_date"][i], f"unreadable date: {due}")
        currency = (values["currency"][i] or "EUR").upper()
        if len(currency) != 3 or not currency.isalpha():
            reject("currency", values["currency"][i], "not an ISO 4217 currency code")
        invoice_date = read_date(values["invoice_date"][i]) if values["invoice_date"][i] else None
        if isinstance(invoice_date, ValueError):
            warn("invoice_date", values["invoice_date"][i], f"unreadable date dropped: {invoice_date}")
            invoice_date = None
        original = read_amount(values["original_amount"][i]) if values["original_amount"][i] else None
        if isinstance(original, ValueError):
            warn("original_amount", values["original_amount"][i], f"unreadable amount dropped: {original}")
            original = None
        invoice_id = values["invoice_id"][i]
        if invoice_id and not row_problems:
            if invoice_id in seen:
                reject("invoice_id", invoice_id, f"duplicate invoice: already on line {seen[invoice_id]}")
            else:
                seen[invoice_id] = line
        if row_problems:
            problems.extend(row_problems)
            if invoice_id:
                rejected_ids.add(invoice_id)
            continue

        def optional(canonical: str, reader: Callable[[str], Any], what: str, i: int = i) -> Any:
            value = values[canonical][i]
            if not value:
                return None
            result = reader(value)
            if isinstance(result, ValueError):
                warn(canonical, value, f"{what} dropped: {result}")
                return None
            return result

        country = optional("country", read_country, "country")
        debtor_type = optional("debtor_type", read_type, "debtor type") or "person"
        phone = None
        if values["phone"][i]:
            phone = phones.get((values["phone"][i], country))
            if isinstance(phone, ValueError):
                warn("phone", values["phone"][i], f"phone dropped: {phone}")
                phone = None
        record = {
            "line": line,
            "debtor_id": values["debtor_id"][i],
            "name": values["name"][i],
            "invoice_id": invoice_id,
            "due_date": due,
            "amount": amount,
            "currency": currency,
            "invoice_date": invoice_date,
            "original_amount": original,
            "debtor_type": debtor_type,
            "language": optional("language", read_language, "language"),
            "street": values["street"][i] or None,
            "postal_code": values["postal_code"][i] or None,
            "city": values["city"][i] or None,
            "country": country,
            "email": optional("email", read_email, "email"),
            "phone": phone,
            "iban": optional("iban", read_iban, "IBAN"),
            "reference": optional("reference", read_reference, "payment reference"),
            "segment": values["segment"][i] or None,
            "description": values["description"][i] or None,
        }
        for key_, value in record.items():
            out[key_].append(value)

    problems.sort(key=lambda p: (p.line, p.severity != "rejected"))
    table = pd.DataFrame(out, columns=list(ROW_FIELDS), dtype=object)  # keep None, Decimal and date as they are
    dialect = {
        "format": raw.format,
        "encoding": raw.encoding,
        "delimiter": raw.delimiter,
        "decimal": decimal_mark,
        "date_format": date_format,
        "columns": columns,
    }
    return LedgerSnapshot(
        file=path,
        sha256=raw.sha256,
        table=table,
        problems=tuple(problems),
        total_rows=len(lines) + len(raw.bad_lines),
        rejected_invoice_ids=frozenset(rejected_ids),
        dialect=dialect,
    )
