"""Payments in the store: bank files, their transactions and identities, allocations, the review queue.

Reconciliation (:mod:`dunning.usecases.reconcile`) owns the transaction: each function here takes the
open connection first and returns frozen records (or the matcher's own :class:`PaymentRecord`),
never rows. The JSON columns (``bank_transactions.detail``, ``review_items.evidence``) hold the
documents reconciliation writes; they come back as :data:`JsonObject` and their readers check
what they use.

What a payment record looks like in ``detail['record']`` is decided here too
(:func:`record_to_json`, :func:`record_from_json`): a return or reversal months later reads it
back to undo the payment.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select, update

from dunning.domain.matching.match import Allocation, ItemKind, PaymentRecord, WriteOff
from dunning.store.bulk import in_chunks
from dunning.store.schema import (
    allocations,
    bank_files,
    bank_transaction_aliases,
    bank_transactions,
)

__all__ = [
    "FEES",
    "INTEREST",
    "QUARANTINED",
    "ZERO",
    "AliasedTransaction",
    "BookedTransaction",
    "JsonObject",
    "NewAllocation",
    "NewTransaction",
    "QuarantinedFile",
    "StoredTransaction",
    "cost_paid",
    "file_is_known",
    "find_transaction",
    "forget_quarantined_file",
    "insert_aliases",
    "insert_allocations",
    "insert_bank_file",
    "insert_transactions",
    "item_of",
    "known_keys",
    "load_history",
    "load_ignored_transactions",
    "load_quarantined_files",
    "record_from_json",
    "record_quarantined_file",
    "record_to_json",
    "reverse_allocations",
    "set_bank_file_summary",
    "set_transaction_detail",
    "set_transaction_matched",
    "transactions_by_alias",
]

#: A JSON document as stored in a JSON column (nested dicts, lists, strings and numbers).
JsonObject = dict[str, Any]

ZERO = Decimal("0.00")
#: The item ids under which a case's costs are allocated (``allocations.item``): every fee, and interest.
FEES, INTEREST = "fees", "interest"
#: ``bank_files.status`` of a file refused and set aside (see :func:`record_quarantined_file`).
QUARANTINED = "quarantined"
_CHUNK = 5000  # transaction keys and aliases per IN (...) list


# ---------------------------------------------------------------------------------- payment records


def item_of(item_id: str, kind: ItemKind) -> str:
    """The stored item id: costs fold into ``fees`` (a return fee charged this run included)."""
    if kind is ItemKind.COSTS:
        return FEES
    if kind is ItemKind.INTEREST:
        return INTEREST
    return item_id


def record_to_json(record: PaymentRecord) -> JsonObject:
    """A payment record as JSON (amounts as strings), with cost items folded into fees/interest.

    >>> paid = (Allocation("7", "return fee", ItemKind.COSTS, Decimal("7.50")),
    ...         Allocation("7", "F-1", ItemKind.PRINCIPAL, Decimal("50.00")))
    >>> record = PaymentRecord("tx-1", date(2026, 11, 20), Decimal("57.50"), "EUR", None, None, None,
    ...                        paid, (), None, ZERO, ZERO)
    >>> record_to_json(record)["allocations"]
    [['7', 'fees', 'costs', '7.50'], ['7', 'F-1', 'principal', '50.00']]
    >>> record_from_json(record_to_json(record)).allocations[0]
    Allocation(case_id='7', item_id='fees', kind=<ItemKind.COSTS: 'costs'>, amount=Decimal('7.50'))
    """

    def parts(values: Iterable[Allocation | WriteOff]) -> list[list[str]]:
        return [[p.case_id, item_of(p.item_id, p.kind), str(p.kind), str(p.amount)] for p in values]

    return {
        "tx_key": record.tx_key,
        "booking_date": record.booking_date.isoformat(),
        "amount": str(record.amount),
        "currency": record.currency,
        "end_to_end_id": record.end_to_end_id,
        "reference": record.reference,
        "debtor_iban": record.debtor_iban,
        "allocations": parts(record.allocations),
        # a write-off carries what of it were bank charges (older records: none)
        "write_offs": [
            [*part, str(w.charges)] for part, w in zip(parts(record.write_offs), record.write_offs, strict=True)
        ],
        "credit_case_id": record.credit_case_id,
        "credit": str(record.credit),
        "unapplied": str(record.unapplied),
    }


def record_from_json(data: JsonObject) -> PaymentRecord:
    """The payment record :func:`record_to_json` wrote."""
    return PaymentRecord(
        tx_key=data["tx_key"],
        booking_date=date.fromisoformat(data["booking_date"]),
        amount=Decimal(data["amount"]),
        currency=data["currency"],
        end_to_end_id=data.get("end_to_end_id"),
        reference=data.get("reference"),
        debtor_iban=data.get("debtor_iban"),
        allocations=tuple(Allocation(c, i, ItemKind(k), Decimal(a)) for c, i, k, a in data["allocations"]),
        write_offs=tuple(
            WriteOff(w[0], w[1], ItemKind(w[2]), Decimal(w[3]), Decimal(w[4]) if len(w) > 4 else ZERO)
            for w in data["write_offs"]
        ),
        credit_case_id=data.get("credit_case_id"),
        credit=Decimal(data["credit"]),
        unapplied=Decimal(data["unapplied"]),
    )


# ---------------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class StoredTransaction:
    """A recorded bank transaction: its id, its key and what reconciling it wrote in ``detail``."""

    id: int
    key: str
    detail: JsonObject


@dataclass(frozen=True, slots=True)
class AliasedTransaction:
    """A recorded bank transaction found by one of its aliases (an identity or a collective's link key)."""

    alias: str
    transaction: StoredTransaction


@dataclass(frozen=True, slots=True)
class BookedTransaction:
    """A recorded bank transaction with its amount and booking date (a collective awaiting its details)."""

    id: int
    amount: Decimal
    currency: str
    booking_date: date
    detail: JsonObject


@dataclass(frozen=True, slots=True)
class NewTransaction:
    """A bank transaction to record (``bank_transactions``)."""

    key: str
    bank_file_id: int | None  # None: a payment an online provider confirmed
    amount: Decimal
    currency: str
    credit_debit: str
    booking_date: date
    reference: str | None
    remittance: str | None
    status: str
    detail: JsonObject


@dataclass(frozen=True, slots=True)
class NewAllocation:
    """What one payment paid of one item of a case (``allocations``): principal, fee, interest, write-off, credit."""

    transaction_id: int
    case_id: int
    invoice_id: int | None
    kind: str
    amount: Decimal
    rule: str
    item: str


# ---------------------------------------------------------------------------------- bank files


def file_is_known(conn: Connection, sha256: str) -> bool:
    """Whether a bank file with this content was reconciled before (under any name).

    A quarantined file is not: it is read again whenever it comes again (and refused again, named,
    unless the reason went away), never skipped as if it had been booked.
    """
    query = select(bank_files.c.id).where(bank_files.c.sha256 == sha256, bank_files.c.status != QUARANTINED)
    return conn.execute(query).first() is not None


@dataclass(frozen=True, slots=True)
class QuarantinedFile:
    """A bank file set aside: what was wrong (file, line, element, value, reason), when, how often."""

    id: int
    sha256: str
    file_name: str
    first_refused_at: datetime
    times: int
    facts: JsonObject


def record_quarantined_file(
    conn: Connection, *, sha256: str, file_name: str, facts: JsonObject, recorded_at: datetime
) -> QuarantinedFile:
    """Record a refused file (``bank_files.status`` 'quarantined'); a second refusal counts up the first."""
    row = conn.execute(
        select(bank_files.c.id, bank_files.c.summary, bank_files.c.recorded_at).where(
            bank_files.c.sha256 == sha256, bank_files.c.status == QUARANTINED
        )
    ).first()
    if row is None:
        summary: JsonObject = {**facts, "times": 1, "last_refused_at": recorded_at.isoformat()}
        inserted = conn.execute(
            insert(bank_files)
            .values(
                sha256=sha256,
                file_name=file_name[:500],
                message=None,
                status=QUARANTINED,
                summary=summary,
                recorded_at=recorded_at,
            )
            .returning(bank_files.c.id)
        )
        return QuarantinedFile(int(inserted.scalar_one()), sha256, file_name, recorded_at, 1, summary)
    times = int(dict(row.summary or {}).get("times", 1)) + 1
    summary = {**facts, "times": times, "last_refused_at": recorded_at.isoformat()}
    conn.execute(update(bank_files).where(bank_files.c.id == row.id).values(summary=summary))
    return QuarantinedFile(int(row.id), sha256, file_name, row.recorded_at, times, summary)


def forget_quarantined_file(conn: Connection, sha256: str) -> None:
    """A quarantined file now reads: its quarantine record gives way to the processed one."""
    conn.execute(delete(bank_files).where(bank_files.c.sha256 == sha256, bank_files.c.status == QUARANTINED))


def load_quarantined_files(conn: Connection) -> list[QuarantinedFile]:
    """Every file in quarantine, oldest first."""
    query = (
        select(
            bank_files.c.id, bank_files.c.sha256, bank_files.c.file_name, bank_files.c.recorded_at, bank_files.c.summary
        )
        .where(bank_files.c.status == QUARANTINED)
        .order_by(bank_files.c.id)
    )
    return [
        QuarantinedFile(
            int(r.id),
            r.sha256,
            r.file_name,
            r.recorded_at,
            int(dict(r.summary or {}).get("times", 1)),
            dict(r.summary or {}),
        )
        for r in conn.execute(query)
    ]


def insert_bank_file(conn: Connection, *, sha256: str, file_name: str, message: str, recorded_at: datetime) -> int:
    """Record a bank file as processed (its summary comes later: :func:`set_bank_file_summary`); its id."""
    row = conn.execute(
        insert(bank_files)
        .values(
            sha256=sha256,
            file_name=file_name[:500],
            message=message[:40],
            status="processed",
            summary={},
            recorded_at=recorded_at,
        )
        .returning(bank_files.c.id)
    )
    return int(row.scalar_one())


def set_bank_file_summary(conn: Connection, file_id: int, summary: JsonObject) -> None:
    conn.execute(update(bank_files).where(bank_files.c.id == file_id).values(summary=summary))


# ---------------------------------------------------------------------------------- transactions


def insert_transactions(conn: Connection, transactions: Sequence[NewTransaction]) -> list[int]:
    """Record bank transactions in one statement; their ids, in the order given."""
    if not transactions:
        return []
    rows = [
        {
            "key": t.key,
            "bank_file_id": t.bank_file_id,
            "amount": t.amount,
            "currency": t.currency,
            "credit_debit": t.credit_debit,
            "booking_date": t.booking_date,
            "reference": t.reference,
            "remittance": t.remittance,
            "status": t.status,
            "detail": t.detail,
        }
        for t in transactions
    ]
    inserted = conn.execute(
        insert(bank_transactions).returning(bank_transactions.c.id, sort_by_parameter_order=True), rows
    )
    return [int(tx_id) for tx_id in inserted.scalars()]


def insert_aliases(conn: Connection, aliases: Sequence[tuple[str, int]], *, skip_known: bool = False) -> None:
    """Record ``(alias, transaction id)`` pairs: identities of a transaction, or a collective's link keys.

    ``skip_known``: leave out aliases an earlier transaction holds (a mark that only the first may keep).
    """
    if skip_known:
        names = [alias for alias, _ in aliases]
        known: set[str] = set()
        for part in in_chunks(names, _CHUNK):
            query = select(bank_transaction_aliases.c.alias).where(bank_transaction_aliases.c.alias.in_(part))
            known.update(conn.execute(query).scalars())
        aliases = [(alias, tx_id) for alias, tx_id in aliases if alias not in known]
    for chunk in in_chunks(aliases, _CHUNK):
        conn.execute(
            insert(bank_transaction_aliases), [{"alias": alias, "transaction_id": tx_id} for alias, tx_id in chunk]
        )


def find_transaction(conn: Connection, key: str) -> StoredTransaction | None:
    """The transaction recorded under ``key``, if any."""
    row = conn.execute(
        select(bank_transactions.c.id, bank_transactions.c.detail).where(bank_transactions.c.key == key)
    ).first()
    return None if row is None else StoredTransaction(int(row.id), key, dict(row.detail or {}))


def set_transaction_detail(conn: Connection, tx_id: int, detail: JsonObject) -> None:
    conn.execute(update(bank_transactions).where(bank_transactions.c.id == tx_id).values(detail=detail))


def set_transaction_matched(conn: Connection, tx_id: int, detail: JsonObject) -> None:
    """A person applied the transaction: it is matched, ``detail`` says how."""
    conn.execute(
        update(bank_transactions).where(bank_transactions.c.id == tx_id).values(status="matched", detail=detail)
    )


def known_keys(conn: Connection, keys: Iterable[str], aliases: Iterable[str]) -> tuple[set[str], dict[str, str]]:
    """(keys already stored, alias → stored key of the transaction known by it)."""
    stored: set[str] = set()
    for chunk in in_chunks(sorted(set(keys)), _CHUNK):
        stored.update(conn.execute(select(bank_transactions.c.key).where(bank_transactions.c.key.in_(chunk))).scalars())
    by_alias: dict[str, str] = {}
    for chunk in in_chunks(sorted(set(aliases)), _CHUNK):
        query = (
            select(bank_transaction_aliases.c.alias, bank_transactions.c.key)
            .join(bank_transactions, bank_transactions.c.id == bank_transaction_aliases.c.transaction_id)
            .where(bank_transaction_aliases.c.alias.in_(chunk))
        )
        by_alias.update({row.alias: row.key for row in conn.execute(query)})
    return stored, by_alias


def transactions_by_alias(conn: Connection, aliases: Sequence[str]) -> list[AliasedTransaction]:
    """The recorded transactions known by any of ``aliases``, each with the alias that found it."""
    found: list[AliasedTransaction] = []
    for chunk in in_chunks(aliases, _CHUNK):
        query = (
            select(
                bank_transaction_aliases.c.alias,
                bank_transactions.c.id,
                bank_transactions.c.key,
                bank_transactions.c.detail,
            )
            .join(bank_transactions, bank_transactions.c.id == bank_transaction_aliases.c.transaction_id)
            .where(bank_transaction_aliases.c.alias.in_(chunk))
        )
        for row in conn.execute(query):
            found.append(AliasedTransaction(row.alias, StoredTransaction(int(row.id), row.key, dict(row.detail or {}))))
    return found


def load_ignored_transactions(conn: Connection, *, booked_from: date, booked_before: date) -> list[BookedTransaction]:
    """Transactions recorded as ``ignored`` (collectives among them) booked in ``[booked_from, booked_before)``."""
    query = select(
        bank_transactions.c.id,
        bank_transactions.c.amount,
        bank_transactions.c.currency,
        bank_transactions.c.booking_date,
        bank_transactions.c.detail,
    ).where(
        bank_transactions.c.status == "ignored",
        bank_transactions.c.booking_date < booked_before,
        bank_transactions.c.booking_date >= booked_from,
    )
    return [
        BookedTransaction(int(row.id), row.amount, row.currency, row.booking_date, dict(row.detail or {}))
        for row in conn.execute(query)
    ]


def load_history(conn: Connection, *, since: date) -> tuple[list[PaymentRecord], set[str]]:
    """Payment records of credits booked since ``since``, and the keys a return or reversal undid."""
    records = []
    query = select(bank_transactions.c.detail).where(
        bank_transactions.c.credit_debit == "CRDT",
        bank_transactions.c.status.in_(("matched", "suggested", "unmatched")),
        bank_transactions.c.booking_date >= since,
    )
    for (detail,) in conn.execute(query):
        record = (detail or {}).get("record")
        if record and not (detail or {}).get("undone_by"):
            records.append(record_from_json(record))
    undone = set()
    query = select(bank_transactions.c.detail).where(
        bank_transactions.c.credit_debit == "DBIT", bank_transactions.c.status == "matched"
    )
    for (detail,) in conn.execute(query):
        if (detail or {}).get("undoes"):
            undone.add(detail["undoes"])
    return records, undone


# ---------------------------------------------------------------------------------- allocations


def cost_paid(conn: Connection, case_ids: Sequence[int]) -> dict[tuple[int, str], Decimal]:
    """What bank payments covered of each case's fees and interest: ``{(case_id, "fees"|"interest"): amount}``.

    ``cases.fees_amount`` and ``interest_amount`` hold what was charged; the amount still owed is the
    charge less this. A missing key reads as zero.
    """
    paid: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
    for chunk in in_chunks(case_ids, _CHUNK):
        query = select(allocations.c.case_id, allocations.c.item, allocations.c.amount).where(
            allocations.c.case_id.in_(chunk),
            allocations.c.item.in_((FEES, INTEREST)),
            allocations.c.reversed.is_(False),
        )
        for case_id, item, amount in conn.execute(query):
            paid[(case_id, item)] += amount
    return paid


def insert_allocations(conn: Connection, rows: Sequence[NewAllocation]) -> None:
    if rows:
        conn.execute(
            insert(allocations),
            [
                {
                    "transaction_id": a.transaction_id,
                    "case_id": a.case_id,
                    "invoice_id": a.invoice_id,
                    "kind": a.kind,
                    "amount": a.amount,
                    "rule": a.rule,
                    "item": a.item,
                    "reversed": False,
                }
                for a in rows
            ],
        )


def reverse_allocations(conn: Connection, tx_id: int) -> None:
    """Mark what transaction ``tx_id`` paid as reversed (a return or reversal undid it)."""
    conn.execute(update(allocations).where(allocations.c.transaction_id == tx_id).values(reversed=True))


# ---- used by letters ----
# What bank payments brought to a case: a letter lists what is still owed.

def load_received(conn: Connection, case_ids: Sequence[int]) -> dict[int, Decimal]:
    """What bank payments brought to each case (allocations not reversed, write-offs aside); 0 cases left out."""
    if not case_ids:
        return {}
    query = select(allocations.c.case_id, allocations.c.amount).where(
        allocations.c.case_id.in_(list(case_ids)), allocations.c.reversed.is_(False),
        allocations.c.kind != "write_off")
    received: dict[int, Decimal] = {}
    for case_id, amount in conn.execute(query):
        received[case_id] = received.get(case_id, ZERO) + amount
    return received


# ---- used by letters and messages ----
# How much of a case's costs bank payments already covered (costs are paid first), so a reminder asks
# for what is still owed and a fee is never taken back once paid.



@dataclass(frozen=True, slots=True)
class CostsPaidRecord:
    """What bank payments covered of a case's fees, interest and principal (allocations not reversed).

    Fees and interest count write-offs of them too (a cost written off is no longer owed);
    ``principal`` counts payments only (kind ``principal``), not write-offs.
    """

    fees: Decimal = ZERO
    interest: Decimal = ZERO
    principal: Decimal = ZERO


def load_costs_paid(conn: Connection, case_ids: Sequence[int]) -> dict[int, CostsPaidRecord]:
    """What bank payments covered of the fees, interest and principal of each of ``case_ids`` (zero when nothing)."""
    fees: dict[int, Decimal] = dict.fromkeys(case_ids, ZERO)
    interest: dict[int, Decimal] = dict(fees)
    principal: dict[int, Decimal] = dict(fees)
    for chunk in in_chunks(case_ids):
        query = select(allocations.c.case_id, allocations.c.item, allocations.c.amount).where(
            allocations.c.case_id.in_(chunk),
            or_(allocations.c.item.in_((FEES, INTEREST)), allocations.c.kind == "principal"),
            allocations.c.reversed.is_(False))
        # amounts are text on SQLite: add them up here, not in SQL
        for case_id, item, amount in conn.execute(query):
            target = fees if item == FEES else interest if item == INTEREST else principal
            target[case_id] += amount
    return {case_id: CostsPaidRecord(fees[case_id], interest[case_id], principal[case_id]) for case_id in fees}
