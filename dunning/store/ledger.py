"""What importing a ledger snapshot reads and writes: debtors, cases, invoices, their events, the import.

An import handles a million rows, so this module is built for bulk: stored rows are read a chunk
at a time in id order, and writes go through :mod:`dunning.store.bulk` as plain tuples in a fixed
column order (no record, no dict per row where a tuple does).

The chunk readers hand back the database rows themselves, typed as the read-only records
:class:`StoredDebtor` and :class:`StoredInvoice`: copying a million rows into record objects
measured at half the cost of fetching them, for nothing the import needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, cast

from sqlalchemy import Connection, Table, func, insert, select

from dunning.store.bulk import insert_many, update_many
from dunning.store.schema import case_events, cases, debtors, invoices, ledger_imports

#: a debtor's details as the ledger carries them, in this order
DEBTOR_FIELDS = (
    "name",
    "debtor_type",
    "language",
    "street",
    "postal_code",
    "city",
    "country",
    "email",
    "phone",
    "iban",
    "segment",
)
#: the columns of a new invoice, in the order :func:`insert_invoices` takes them
INVOICE_COLUMNS = (
    "external_id",
    "debtor_id",
    "case_id",
    "currency",
    "invoice_date",
    "due_date",
    "original_amount",
    "open_amount",
    "ledger_amount",
    "reference",
    "description",
    "status",
    "regular_supply",
)
ZERO = Decimal("0.00")

#: a new event: (case id, kind, detail, invoice id, amount)
NewEvent = tuple[int, str, dict[str, Any], int | None, Decimal | None]
#: an open invoice's new figures: (id, case id, open amount, ledger amount, due date, regular supply)
InvoiceFigures = tuple[int, int, Decimal, Decimal, date, bool | None]


class StoredDebtor(Protocol):
    """A stored debtor as the import compares it; ``debtor[DETAILS]`` is its :data:`DEBTOR_FIELDS`."""

    @property
    def id(self) -> int: ...
    @property
    def external_id(self) -> str: ...
    @property
    def email_invalid(self) -> bool: ...
    @property
    def email(self) -> str | None: ...
    def __getitem__(self, index: slice, /) -> tuple[str | None, ...]: ...


#: the slice of a :class:`StoredDebtor` that holds its :data:`DEBTOR_FIELDS`
DETAILS = slice(3, None)


class StoredInvoice(Protocol):
    """A stored invoice as the import compares it with the snapshot."""

    @property
    def id(self) -> int: ...
    @property
    def external_id(self) -> str: ...
    @property
    def case_id(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def open_amount(self) -> Decimal: ...
    @property
    def ledger_amount(self) -> Decimal | None: ...
    @property
    def due_date(self) -> date: ...
    @property
    def regular_supply(self) -> bool | None: ...


@dataclass(frozen=True, slots=True)
class LedgerImportRecord:
    """One imported file: its content hash keeps a second import of the same file from doing anything."""

    sha256: str
    file_name: str
    as_of: date
    rows: int
    accepted: int
    rejected: int
    warnings: int
    summary: dict[str, Any]
    recorded_at: datetime


# ---- the import itself -------------------------------------------------------------------------


def is_imported(conn: Connection, sha256: str) -> bool:
    """Whether a file with this content was imported before."""
    query = select(ledger_imports.c.id).where(ledger_imports.c.sha256 == sha256)
    return conn.execute(query).first() is not None


def last_ledger_import(conn: Connection) -> LedgerImportRecord | None:
    """The most recent import (by when it was recorded), None before the first."""
    query = select(
        ledger_imports.c.sha256,
        ledger_imports.c.file_name,
        ledger_imports.c.as_of,
        ledger_imports.c.rows,
        ledger_imports.c.accepted,
        ledger_imports.c.rejected,
        ledger_imports.c.warnings,
        ledger_imports.c.summary,
        ledger_imports.c.recorded_at,
    ).order_by(ledger_imports.c.recorded_at.desc(), ledger_imports.c.id.desc()).limit(1)
    row = conn.execute(query).first()
    return None if row is None else LedgerImportRecord(*row)


def count_open_cases(conn: Connection) -> int:
    """How many cases are not closed (what a snapshot could close)."""
    query = select(func.count()).select_from(cases).where(cases.c.status != "closed")
    return int(conn.execute(query).scalar_one())


def insert_ledger_import(conn: Connection, record: LedgerImportRecord) -> None:
    """Record an import (what it counted, and the file's dialect in the summary)."""
    conn.execute(
        insert(ledger_imports).values(
            sha256=record.sha256,
            file_name=record.file_name,
            as_of=record.as_of,
            rows=record.rows,
            accepted=record.accepted,
            rejected=record.rejected,
            warnings=record.warnings,
            summary=record.summary,
            recorded_at=record.recorded_at,
        )
    )


def _chunks(conn: Connection, table: Table, columns: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """All rows of ``table`` (the named columns), ``size`` at a time in id order."""
    last = None
    while True:
        query = select(*columns).order_by(table.c.id).limit(size)
        if last is not None:
            query = query.where(table.c.id > last)
        rows = conn.execute(query).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


# ---- debtors -----------------------------------------------------------------------------------


def read_debtors_in_chunks(conn: Connection, size: int) -> Iterator[Sequence[StoredDebtor]]:
    """Every stored debtor, ``size`` at a time in id order."""
    columns = [debtors.c.id, debtors.c.external_id, debtors.c.email_invalid, *(debtors.c[f] for f in DEBTOR_FIELDS)]
    return cast(Iterator[Sequence[StoredDebtor]], _chunks(conn, debtors, columns, size))


def insert_debtors(conn: Connection, new: Iterable[tuple[str, Sequence[str | None]]], on: date) -> None:
    """Add debtors, each (external id, :data:`DEBTOR_FIELDS` values), created on ``on``."""
    names = ("external_id", *DEBTOR_FIELDS, "email_invalid", "created_on", "updated_on")
    insert_many(conn, debtors, ((external, *details, False, on, on) for external, details in new), names)


def debtor_ids(conn: Connection, external_ids: Sequence[str], in_chunk: int) -> tuple[list[int], list[str]]:
    """The store ids of the debtors ``external_ids`` and their external ids, in the same (database) order."""
    ids: list[int] = []
    externals: list[str] = []
    for start in range(0, len(external_ids), in_chunk):
        query = select(debtors.c.id, debtors.c.external_id).where(
            debtors.c.external_id.in_(external_ids[start : start + in_chunk])
        )
        rows = conn.execute(query).all()
        ids += [r.id for r in rows]
        externals += [r.external_id for r in rows]
    return ids, externals


def update_debtors(conn: Connection, changed: Iterable[tuple[int, Sequence[str | None], bool]], on: date) -> None:
    """Give debtors new details: each (id, :data:`DEBTOR_FIELDS` values, email_invalid), updated on ``on``."""
    update_many(
        conn,
        debtors,
        "id",
        (
            {**dict(zip(DEBTOR_FIELDS, details, strict=True)), "updated_on": on, "email_invalid": flag, "id": debtor_id}
            for debtor_id, details, flag in changed
        ),
    )


# ---- cases -------------------------------------------------------------------------------------


def open_case_ids_by_debtor(conn: Connection) -> dict[int, list[int]]:
    """The ids of each debtor's cases not closed, by debtor id."""
    found: dict[int, list[int]] = {}
    for case_id, debtor_id in conn.execute(select(cases.c.id, cases.c.debtor_id).where(cases.c.status != "closed")):
        found.setdefault(debtor_id, []).append(case_id)
    return found


def open_cases_by_key(conn: Connection) -> dict[tuple[int, str], int]:
    """The case not closed of each (debtor id, currency)."""
    query = select(cases.c.id, cases.c.debtor_id, cases.c.currency).where(cases.c.status != "closed")
    return {(debtor_id, currency): case_id for case_id, debtor_id, currency in conn.execute(query)}


def insert_cases(conn: Connection, keys: Iterable[tuple[int, str]], opened_on: date) -> None:
    """Open an empty case for each (debtor id, currency), in that order."""
    names = (
        "debtor_id",
        "currency",
        "status",
        "stage",
        "opened_on",
        "open_amount",
        "fees_amount",
        "interest_amount",
        "credit_amount",
    )
    rows = ((d, c, "open", "new", opened_on, ZERO, ZERO, ZERO, ZERO) for d, c in keys)
    insert_many(conn, cases, rows, names)


def set_case_references(conn: Connection, references: Iterable[tuple[int, str]]) -> None:
    """Give each (case id, payment reference) its reference."""
    update_many(conn, cases, "id", ({"reference": reference, "id": case_id} for case_id, reference in references))


def case_statuses(conn: Connection, case_ids: Sequence[int], in_chunk: int) -> dict[int, str]:
    """The status of each case of ``case_ids`` (that exists)."""
    found: dict[int, str] = {}
    for start in range(0, len(case_ids), in_chunk):
        query = select(cases.c.id, cases.c.status).where(cases.c.id.in_(case_ids[start : start + in_chunk]))
        found.update((case_id, status) for case_id, status in conn.execute(query))
    return found


def open_invoice_totals(conn: Connection, case_ids: Sequence[int], in_chunk: int) -> dict[int, Decimal]:
    """What is open on each case of ``case_ids`` that has an open invoice (the others are left out)."""
    totals: dict[int, Decimal] = {}
    for start in range(0, len(case_ids), in_chunk):
        query = select(invoices.c.case_id, invoices.c.open_amount).where(
            invoices.c.case_id.in_(case_ids[start : start + in_chunk]), invoices.c.status == "open"
        )
        for case_id, amount in conn.execute(query):
            totals[case_id] = totals.get(case_id, ZERO) + amount
    return totals


def set_case_open_amounts(conn: Connection, amounts: Iterable[tuple[int, Decimal]]) -> None:
    """Give each (case id, amount) its open amount."""
    update_many(conn, cases, "id", ({"id": case_id, "open_amount": amount} for case_id, amount in amounts))


def close_cases(conn: Connection, case_ids: Iterable[int], on: date, reason: str) -> None:
    """Close the cases: nothing is planned for them any more."""
    update_many(
        conn,
        cases,
        "id",
        (
            {"status": "closed", "closed_on": on, "close_reason": reason, "next_action_on": None, "id": case_id}
            for case_id in case_ids
        ),
    )


# ---- invoices ----------------------------------------------------------------------------------


def read_invoices_in_chunks(conn: Connection, size: int) -> Iterator[Sequence[StoredInvoice]]:
    """Every stored invoice, ``size`` at a time in id order."""
    columns = [
        invoices.c.id,
        invoices.c.external_id,
        invoices.c.case_id,
        invoices.c.status,
        invoices.c.open_amount,
        invoices.c.ledger_amount,
        invoices.c.due_date,
        invoices.c.regular_supply,
    ]
    return cast(Iterator[Sequence[StoredInvoice]], _chunks(conn, invoices, columns, size))


def insert_invoices(conn: Connection, rows: Iterable[tuple[Any, ...]]) -> int:
    """Add invoices, each a tuple in :data:`INVOICE_COLUMNS` order; return how many."""
    return insert_many(conn, invoices, rows, INVOICE_COLUMNS)


def set_open_invoice_figures(conn: Connection, figures: Iterable[InvoiceFigures]) -> None:
    """Give invoices new figures, open (again) on their case: each an :data:`InvoiceFigures` tuple."""
    update_many(
        conn,
        invoices,
        "id",
        (
            {
                "id": invoice_id,
                "case_id": case_id,
                "status": "open",
                "closed_on": None,
                "open_amount": open_amount,
                "ledger_amount": ledger_amount,
                "due_date": due_date,
                "regular_supply": supply,
            }
            for invoice_id, case_id, open_amount, ledger_amount, due_date, supply in figures
        ),
    )


def close_invoices(conn: Connection, invoice_ids: Iterable[int], status: str, on: date) -> None:
    """Close invoices with ``status`` (``settled_outside``...) on ``on``."""
    update_many(conn, invoices, "id", ({"status": status, "closed_on": on, "id": i} for i in invoice_ids))


# ---- events ------------------------------------------------------------------------------------


def insert_events(
    conn: Connection, events: Iterable[NewEvent], on_date: date, source: str, recorded_at: datetime
) -> None:
    """Add the events (:data:`NewEvent` tuples) of one import, all on ``on_date`` from ``source``."""
    names = ("case_id", "on_date", "kind", "invoice_id", "amount", "detail", "source", "recorded_at")
    rows = (
        (case_id, on_date, kind, invoice_id, amount, detail, source, recorded_at)
        for case_id, kind, detail, invoice_id, amount in events
    )
    insert_many(conn, case_events, rows, names)
