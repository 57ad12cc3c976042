"""The store side of reconciliation: cases in for the matcher, payments and their effects out.

Reading (:func:`load_cases`, :func:`load_history`, :func:`known_keys`):

* every case that can receive a payment becomes a :class:`CaseRef`: open and held cases, and
  cases closed as paid within ``since`` (a second payment becomes a credit; a return reopens
  them). Items: its open and paid invoices (principal; item id and number = the ledger's
  invoice number, so free text naming it matches), and two cost items, ``fees`` and
  ``interest``: what the case charged (``cases.fees_amount`` / ``interest_amount``) less what
  payments already covered (``allocations`` rows of kind fee / interest, or write-offs of
  those items, not reversed). Credit notes (negative invoices) are netted against the oldest
  invoices first, so the matcher sees what the debtor really owes.
* the accounts each debtor paid from before (:func:`learn_ibans`: ``debtors.iban`` plus the
  payer IBAN of every payment applied to one of the debtor's cases), for the matcher's rule 3;
* the payment records of earlier runs (``bank_transactions.detail['record']``) so a return or
  reversal finds the payment it undoes, and the keys already undone.

Writing (:class:`Applier`): allocations, invoices' open amounts and status, the case's open
amount, credit, status and close reason, and a timeline event for each payment, return,
closure and creditor notification. The caller runs it inside the file's one transaction.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, or_, select, update

from dunning.domain.matching.match import (
    Allocation,
    CaseRef,
    ItemKind,
    OpenItem,
    PaymentRecord,
    WriteOff,
)
from dunning.store.schema import (
    allocations,
    bank_transaction_aliases,
    bank_transactions,
    case_events,
    cases,
    debtors,
    invoices,
)

__all__ = [
    "FEES",
    "INTEREST",
    "Applier",
    "CaseBook",
    "CaseChange",
    "known_keys",
    "learn_ibans",
    "load_cases",
    "load_history",
    "record_from_json",
    "record_to_json",
]

ZERO = Decimal("0.00")
FEES, INTEREST = "fees", "interest"
KIND = {ItemKind.PRINCIPAL: "principal", ItemKind.COSTS: "fee", ItemKind.INTEREST: "interest"}
_CHUNK = 5000


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# ---------------------------------------------------------------------------------- payment records


def _item_of(case_id: str, item_id: str, kind: ItemKind) -> str:
    """The stored item id: costs fold into ``fees`` (a return fee charged this run included)."""
    if kind is ItemKind.COSTS:
        return FEES
    if kind is ItemKind.INTEREST:
        return INTEREST
    return item_id


def record_to_json(record: PaymentRecord) -> dict[str, Any]:
    """A payment record as JSON (amounts as strings), with cost items folded into fees/interest."""

    def parts(values: Iterable[Allocation | WriteOff]) -> list[list[str]]:
        return [[p.case_id, _item_of(p.case_id, p.item_id, p.kind), str(p.kind), str(p.amount)] for p in values]

    return {
        "tx_key": record.tx_key,
        "booking_date": record.booking_date.isoformat(),
        "amount": str(record.amount),
        "currency": record.currency,
        "end_to_end_id": record.end_to_end_id,
        "reference": record.reference,
        "debtor_iban": record.debtor_iban,
        "allocations": parts(record.allocations),
        "write_offs": parts(record.write_offs),
        "credit_case_id": record.credit_case_id,
        "credit": str(record.credit),
        "unapplied": str(record.unapplied),
    }


def record_from_json(data: dict[str, Any]) -> PaymentRecord:
    return PaymentRecord(
        tx_key=data["tx_key"],
        booking_date=date.fromisoformat(data["booking_date"]),
        amount=Decimal(data["amount"]),
        currency=data["currency"],
        end_to_end_id=data.get("end_to_end_id"),
        reference=data.get("reference"),
        debtor_iban=data.get("debtor_iban"),
        allocations=tuple(Allocation(c, i, ItemKind(k), Decimal(a)) for c, i, k, a in data["allocations"]),
        write_offs=tuple(WriteOff(c, i, ItemKind(k), Decimal(a)) for c, i, k, a in data["write_offs"]),
        credit_case_id=data.get("credit_case_id"),
        credit=Decimal(data["credit"]),
        unapplied=Decimal(data["unapplied"]),
    )


# ---------------------------------------------------------------------------------- reading


@dataclass
class CaseBook:
    """The cases given to the matcher, and what is needed to write their changes back."""

    refs: dict[str, CaseRef] = field(default_factory=dict)
    rows: dict[str, Any] = field(default_factory=dict)  # case id → cases row
    invoice_ids: dict[tuple[str, str], int] = field(default_factory=dict)  # (case, invoice number) → invoices.id
    invoice_open: dict[int, Decimal] = field(default_factory=dict)  # invoices.id → stored open amount
    invoice_status: dict[int, str] = field(default_factory=dict)
    credit_notes: dict[str, list[int]] = field(default_factory=dict)  # case id → negative invoices
    status: dict[str, str] = field(default_factory=dict)  # case id → status (open, on_hold, closed)
    case_invoices: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))


def cost_paid(conn: Connection, case_ids: Sequence[int]) -> dict[tuple[int, str], Decimal]:
    """What bank payments covered of each case's fees and interest: ``{(case_id, "fees"|"interest"): amount}``.

    ``cases.fees_amount`` and ``interest_amount`` hold what was charged; the amount still owed is the
    charge less this.
    """
    paid: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
    for chunk in _chunks(case_ids):
        query = select(allocations.c.case_id, allocations.c.item, allocations.c.amount).where(
            allocations.c.case_id.in_(chunk),
            allocations.c.item.in_((FEES, INTEREST)),
            allocations.c.reversed.is_(False),
        )
        for case_id, item, amount in conn.execute(query):
            paid[(case_id, item)] += amount
    return paid


def load_cases(conn: Connection, *, since: date, only: Sequence[int] | None = None) -> CaseBook:
    """Every case that can receive a payment (or the cases ``only`` names), as :class:`CaseRef`."""
    query = select(cases, debtors.c.name.label("debtor_name"), debtors.c.iban.label("debtor_iban")).join(
        debtors, debtors.c.id == cases.c.debtor_id
    )
    if only is not None:
        query = query.where(cases.c.id.in_(list(only)))
    else:
        query = query.where(
            or_(
                cases.c.status != "closed",
                and_(cases.c.close_reason == "paid", cases.c.closed_on >= since),
            )
        )
    rows = {row.id: row for row in conn.execute(query.order_by(cases.c.id))}
    book = CaseBook()
    items: dict[int, list[Any]] = defaultdict(list)
    ids = sorted(rows)
    for chunk in _chunks(ids):
        inv_query = select(
            invoices.c.id,
            invoices.c.case_id,
            invoices.c.external_id,
            invoices.c.due_date,
            invoices.c.open_amount,
            invoices.c.status,
        ).where(invoices.c.case_id.in_(chunk), invoices.c.status.in_(("open", "paid")))
        for inv in conn.execute(inv_query):
            items[inv.case_id].append(inv)
    cost_paid_now = cost_paid(conn, ids)
    for case_id, row in rows.items():
        key = str(case_id)
        book.rows[key] = row
        book.status[key] = row.status
        invs = sorted(items.get(case_id, ()), key=lambda i: (i.due_date, i.external_id))
        # Credit notes (negative open items) lower what is owed: net them against the oldest invoices.
        credit_notes = [i for i in invs if i.open_amount < 0 and i.status == "open"]
        netting = -sum((i.open_amount for i in credit_notes), ZERO)
        book.credit_notes[key] = [i.id for i in credit_notes]
        case_items: list[OpenItem] = []
        for inv in invs:
            book.invoice_ids[(key, inv.external_id)] = inv.id
            book.invoice_open[inv.id] = inv.open_amount
            book.invoice_status[inv.id] = inv.status
            book.case_invoices[key].append(inv.id)
            if inv.open_amount < 0:
                continue
            visible = inv.open_amount if inv.status == "open" else ZERO
            taken = min(visible, netting)
            netting -= taken
            case_items.append(OpenItem.invoice(inv.external_id, inv.external_id, inv.due_date, visible - taken))
        fees = max(row.fees_amount - cost_paid_now[(case_id, FEES)], ZERO)
        interest = max(row.interest_amount - cost_paid_now[(case_id, INTEREST)], ZERO)
        case_items.append(OpenItem(FEES, ItemKind.COSTS, row.opened_on, fees))
        case_items.append(OpenItem(INTEREST, ItemKind.INTEREST, row.opened_on, interest))
        book.refs[key] = CaseRef(
            case_id=key,
            debtor_id=str(row.debtor_id),
            currency=row.currency,
            payment_reference=row.reference,
            debtor_ibans=(row.debtor_iban,) if row.debtor_iban else (),
            debtor_name=row.debtor_name,
            items=tuple(case_items),
            credit=row.credit_amount,
        )
    return book


def learn_ibans(book: CaseBook, history: Iterable[PaymentRecord]) -> None:
    """Add to each case the accounts its debtor paid from before (rule 3 of the matcher gets surer).

    An account counts when a payment from it was applied to a case of the same debtor
    (automatically or by a person), not merely suggested.
    """
    debtor_of = {case_id: ref.debtor_id for case_id, ref in book.refs.items()}
    learned: dict[str, set[str]] = defaultdict(set)
    for record in history:
        if not record.debtor_iban:
            continue
        for case_id in {a.case_id for a in record.allocations} | {record.credit_case_id or ""}:
            debtor = debtor_of.get(case_id)
            if debtor is not None:
                learned[debtor].add(record.debtor_iban)
    if not learned:
        return
    for case_id, ref in book.refs.items():
        extra = learned.get(ref.debtor_id)
        if extra:
            ibans = tuple(sorted(set(ref.debtor_ibans) | extra))
            if ibans != ref.debtor_ibans:
                book.refs[case_id] = dataclasses.replace(ref, debtor_ibans=ibans)


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


def known_keys(conn: Connection, keys: Iterable[str], aliases: Iterable[str]) -> tuple[set[str], dict[str, str]]:
    """(keys already stored, alias → stored key of the transaction known by it)."""
    stored: set[str] = set()
    key_list = sorted(set(keys))
    for chunk in _chunks(key_list):
        stored.update(conn.execute(select(bank_transactions.c.key).where(bank_transactions.c.key.in_(chunk))).scalars())
    by_alias: dict[str, str] = {}
    alias_list = sorted(set(aliases))
    for chunk in _chunks(alias_list):
        query = (
            select(bank_transaction_aliases.c.alias, bank_transactions.c.key)
            .join(bank_transactions, bank_transactions.c.id == bank_transaction_aliases.c.transaction_id)
            .where(bank_transaction_aliases.c.alias.in_(chunk))
        )
        by_alias.update({row.alias: row.key for row in conn.execute(query)})
    return stored, by_alias


# ---------------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class CaseChange:
    """A case after a payment, a return or a person's decision: open amount per item, credit, new items."""

    case_id: str
    open_amounts: dict[str, Decimal]
    credit: Decimal
    new_items: tuple[OpenItem, ...] = ()


class Applier:
    """Writes what a reconciliation decided, inside the caller's transaction."""

    def __init__(self, conn: Connection, book: CaseBook, *, on_date: date, source: str, recorded_at: datetime) -> None:
        self.conn = conn
        self.book = book
        self.on_date = on_date
        self.source = source
        self.recorded_at = recorded_at
        self.events: list[dict[str, Any]] = []
        self.outcomes: dict[str, str] = {}  # case id → paid | partial | open | reopened
        # Written in batches by flush(): one statement per table, not one per payment.
        self.allocation_rows: list[dict[str, Any]] = []
        self.invoice_updates: list[dict[str, Any]] = []
        self.case_updates: list[dict[str, Any]] = []
        self.fee_updates: list[dict[str, Any]] = []

    def event(
        self,
        case_id: str,
        kind: str,
        detail: dict[str, Any],
        amount: Decimal | None = None,
        invoice_id: int | None = None,
    ) -> None:
        self.events.append(
            {
                "case_id": int(case_id),
                "on_date": self.on_date,
                "kind": kind,
                "invoice_id": invoice_id,
                "amount": amount,
                "detail": detail,
                "source": self.source,
                "recorded_at": self.recorded_at,
            }
        )

    def allocations(
        self,
        tx_id: int,
        rule: str,
        allocated: Iterable[Allocation],
        write_offs: Iterable[WriteOff],
        credit_case: str | None,
        credit: Decimal,
    ) -> None:
        rows: dict[tuple[str, int | None, str], dict[str, Any]] = {}

        def add(case_id: str, item: str, kind: str, amount: Decimal) -> None:
            invoice_id = self.book.invoice_ids.get((case_id, item)) if kind in ("principal", "write_off") else None
            slot = (case_id, invoice_id, kind if invoice_id is not None or kind != "write_off" else f"{kind}:{item}")
            row = rows.get(slot)
            if row is None:
                rows[slot] = {
                    "transaction_id": tx_id,
                    "case_id": int(case_id),
                    "invoice_id": invoice_id,
                    "kind": kind,
                    "amount": amount,
                    "rule": rule,
                    "item": item,
                    "reversed": False,
                }
            else:
                row["amount"] += amount

        for a in allocated:
            add(a.case_id, _item_of(a.case_id, a.item_id, a.kind), KIND[a.kind], a.amount)
        for w in write_offs:
            add(w.case_id, _item_of(w.case_id, w.item_id, w.kind), "write_off", w.amount)
        if credit_case is not None and credit > 0:
            add(credit_case, "credit", "credit", credit)
        self.allocation_rows.extend(rows.values())

    def reverse_allocations(self, tx_id: int) -> None:
        self.conn.execute(update(allocations).where(allocations.c.transaction_id == tx_id).values(reversed=True))

    def change_case(self, change: CaseChange, *, why: str) -> str:
        """Write a case's new open amounts and credit; close or reopen it. Returns its outcome."""
        case_id = change.case_id
        ref = self.book.refs[case_id]
        before = {item.item_id: item.open_amount for item in ref.items}
        new_fees = sum((i.open_amount for i in change.new_items if i.kind is ItemKind.COSTS), ZERO)
        invoice_updates = self.invoice_updates
        total_after = sum(change.open_amounts.values(), ZERO)
        paid_in_full = total_after == 0
        for item in ref.items:
            if item.kind is not ItemKind.PRINCIPAL:
                continue
            invoice_id = self.book.invoice_ids[(case_id, item.item_id)]
            delta = change.open_amounts.get(item.item_id, item.open_amount) - before[item.item_id]
            stored = self.book.invoice_open[invoice_id] + delta
            status = "paid" if stored == 0 or paid_in_full else "open"
            if delta != 0 or status != self.book.invoice_status[invoice_id]:
                invoice_updates.append(
                    {
                        "b_id": invoice_id,
                        "b_open": stored,
                        "b_status": status,
                        "b_closed": self.on_date if status == "paid" else None,
                    }
                )
                self.book.invoice_open[invoice_id] = stored
                self.book.invoice_status[invoice_id] = status
        for invoice_id in self.book.credit_notes.get(case_id, ()):
            status = "paid" if paid_in_full else "open"
            if status != self.book.invoice_status[invoice_id]:
                invoice_updates.append(
                    {
                        "b_id": invoice_id,
                        "b_open": self.book.invoice_open[invoice_id],
                        "b_status": status,
                        "b_closed": self.on_date if status == "paid" else None,
                    }
                )
                self.book.invoice_status[invoice_id] = status
        open_amount = sum(
            (
                self.book.invoice_open[i]
                for i in self.book.case_invoices[case_id]
                if self.book.invoice_status[i] == "open"
            ),
            ZERO,
        )
        row = self.book.rows[case_id]
        values: dict[str, Any] = {
            "b_id": int(case_id),
            "b_open": open_amount,
            "b_credit": change.credit,
            "b_status": row.status,
            "b_closed_on": row.closed_on,
            "b_close_reason": row.close_reason,
            "b_next": row.next_action_on,
        }
        if new_fees:
            self.fee_updates.append({"b_id": int(case_id), "b_fee": new_fees})
        status_now = self.book.status[case_id]
        total_before = sum(before.values(), ZERO)
        if paid_in_full:
            outcome = "paid"
            if status_now != "closed":
                values.update(b_status="closed", b_closed_on=self.on_date, b_close_reason="paid", b_next=None)
        elif total_after > total_before:
            outcome = "reopened"
            if status_now == "closed":
                values.update(b_status="open", b_closed_on=None, b_close_reason=None)
        else:
            outcome = "partial" if total_after < total_before else "open"
        self.case_updates.append(values)
        if paid_in_full and status_now != "closed":
            self.event(case_id, "case_paid", {"reason": f"paid in full ({why})", "credit": str(change.credit)})
        if outcome == "reopened":
            self.event(
                case_id,
                "case_reopened",
                {"reason": f"a payment was undone ({why})", "open_amount": str(total_after)},
                total_after,
            )
        self.book.status[case_id] = "closed" if paid_in_full else ("open" if outcome == "reopened" else status_now)
        self.outcomes[case_id] = outcome
        return outcome

    def flush(self) -> None:
        """Write everything gathered: allocations, invoices, cases, then the timeline events."""
        if self.allocation_rows:
            self.conn.execute(insert(allocations), self.allocation_rows)
        if self.invoice_updates:
            self.conn.execute(
                update(invoices)
                .where(invoices.c.id == bindparam("b_id"))
                .values(open_amount=bindparam("b_open"), status=bindparam("b_status"), closed_on=bindparam("b_closed")),
                self.invoice_updates,
            )
        if self.case_updates:
            self.conn.execute(
                update(cases)
                .where(cases.c.id == bindparam("b_id"))
                .values(
                    open_amount=bindparam("b_open"),
                    credit_amount=bindparam("b_credit"),
                    status=bindparam("b_status"),
                    closed_on=bindparam("b_closed_on"),
                    close_reason=bindparam("b_close_reason"),
                    next_action_on=bindparam("b_next"),
                ),
                self.case_updates,
            )
        if self.fee_updates:
            self.conn.execute(
                update(cases)
                .where(cases.c.id == bindparam("b_id"))
                .values(fees_amount=cases.c.fees_amount + bindparam("b_fee")),
                self.fee_updates,
            )
        for rows in (self.allocation_rows, self.invoice_updates, self.case_updates, self.fee_updates):
            rows.clear()
        for start in range(0, len(self.events), 20000):
            self.conn.execute(insert(case_events), self.events[start : start + 20000])
        self.events.clear()


def count_rows(conn: Connection, table: Any) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
