"""The case book of a reconciliation: cases in for the matcher, their changes out.

Reading (:func:`load_cases`): every case that can receive a payment becomes a :class:`CaseRef`:
open and held cases, and cases closed as paid within ``since`` (a second payment becomes a
credit; a return reopens them). Items: its open and paid invoices (principal; item id and
number = the ledger's invoice number, so free text naming it matches), and two cost items,
``fees`` and ``interest``: what the case charged (``cases.fees_amount`` / ``interest_amount``)
less what payments already covered (:func:`~dunning.store.payments.cost_paid`). Credit notes
(negative invoices) are netted against the oldest invoices first, so the matcher sees what the
debtor really owes. :func:`learn_ibans` adds the accounts each debtor paid from before
(``debtors.iban`` plus the payer IBAN of every payment applied to one of the debtor's cases), for
the matcher's rule 3.

Writing (:class:`Applier`): what a payment, a return or a person's decision changes: allocations,
invoices' open amounts and status, the case's open amount, credit, status and close reason, and a
timeline event for each payment, return, closure and creditor notification. It gathers them and
:meth:`Applier.flush` stores them, one statement per table, inside the caller's one transaction.
The SQL lives in :mod:`dunning.store.payments` and :mod:`dunning.store.case_balances`.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection

from dunning.domain.matching.match import (
    Allocation,
    CaseRef,
    ItemKind,
    OpenItem,
    PaymentRecord,
    WriteOff,
)
from dunning.store.case_balances import (
    CaseBalance,
    InvoiceBalance,
    PayableCaseRecord,
    PayableInvoiceRecord,
    PaymentEvent,
    add_case_fees,
    insert_payment_events,
    load_payable_cases,
    load_payable_invoices,
    write_case_balances,
    write_invoice_balances,
)
from dunning.store.payments import (
    FEES,
    INTEREST,
    ZERO,
    JsonObject,
    NewAllocation,
    cost_paid,
    insert_allocations,
    item_of,
    known_keys,
    load_history,
    record_from_json,
    record_to_json,
    reverse_allocations,
)
from dunning.store.plans import load_active_plan_references

# cost_paid, FEES, INTEREST, known_keys, load_history and the record codec moved to dunning.store.payments;
# they are named here too for the modules that import them from this one.
__all__ = [
    "FEES",
    "INTEREST",
    "ZERO",
    "Applier",
    "CaseBook",
    "CaseChange",
    "cost_paid",
    "known_keys",
    "learn_ibans",
    "load_cases",
    "load_history",
    "record_from_json",
    "record_to_json",
]

#: ``allocations.kind`` of what a payment covered of each kind of item.
KIND = {ItemKind.PRINCIPAL: "principal", ItemKind.COSTS: "fee", ItemKind.INTEREST: "interest"}


# ---------------------------------------------------------------------------------- reading


@dataclass
class CaseBook:
    """The cases given to the matcher, and what is needed to write their changes back.

    Mutable on purpose: the :class:`Applier` keeps the invoices' amounts and the cases' status
    current while it applies one payment after another.
    """

    refs: dict[str, CaseRef] = field(default_factory=dict)
    rows: dict[str, PayableCaseRecord] = field(default_factory=dict)  # case id → the stored case
    invoice_ids: dict[tuple[str, str], int] = field(default_factory=dict)  # (case, invoice number) → invoices.id
    invoice_open: dict[int, Decimal] = field(default_factory=dict)  # invoices.id → stored open amount
    invoice_status: dict[int, str] = field(default_factory=dict)
    credit_notes: dict[str, list[int]] = field(default_factory=dict)  # case id → negative invoices
    status: dict[str, str] = field(default_factory=dict)  # case id → status (open, on_hold, closed)
    case_invoices: defaultdict[str, list[int]] = field(default_factory=lambda: defaultdict(list))


def load_cases(conn: Connection, *, since: date, only: Sequence[int] | None = None) -> CaseBook:
    """Every case that can receive a payment (or the cases ``only`` names), as :class:`CaseRef`."""
    rows = {row.id: row for row in load_payable_cases(conn, since=since, only=only)}
    ids = sorted(rows)
    items: dict[int, list[PayableInvoiceRecord]] = defaultdict(list)
    for invoice in load_payable_invoices(conn, ids):
        items[invoice.case_id].append(invoice)
    cost_paid_now = cost_paid(conn, ids)
    plan_references = load_active_plan_references(conn, ids)
    book = CaseBook()
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
            other_references=plan_references.get(case_id, ()),
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


# ---------------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class CaseChange:
    """A case after a payment, a return or a person's decision: open amount per item, credit, new items."""

    case_id: str
    open_amounts: dict[str, Decimal]
    credit: Decimal
    new_items: tuple[OpenItem, ...] = ()


class Applier:
    """Writes what a reconciliation decided, inside the caller's transaction.

    Allocations, balances and events are gathered and written by :meth:`flush`: one statement per
    table, not one per payment (a file of ten thousand payments stays quick).
    """

    def __init__(self, conn: Connection, book: CaseBook, *, on_date: date, source: str, recorded_at: datetime) -> None:
        self.conn = conn
        self.book = book
        self.on_date = on_date
        self.source = source
        self.recorded_at = recorded_at
        self.events: list[PaymentEvent] = []
        self.outcomes: dict[str, str] = {}  # case id → paid | partial | open | reopened
        self.allocation_rows: list[NewAllocation] = []
        self.invoice_updates: list[InvoiceBalance] = []
        self.case_updates: list[CaseBalance] = []
        self.fee_updates: list[tuple[int, Decimal]] = []  # (case id, return fee charged)

    def event(
        self,
        case_id: str,
        kind: str,
        detail: JsonObject,
        amount: Decimal | None = None,
        invoice_id: int | None = None,
    ) -> None:
        self.events.append(
            PaymentEvent(
                case_id=int(case_id),
                on_date=self.on_date,
                kind=kind,
                invoice_id=invoice_id,
                amount=amount,
                detail=detail,
                source=self.source,
                recorded_at=self.recorded_at,
            )
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
        """What transaction ``tx_id`` paid: one allocation per invoice and kind (parts of one item add up)."""
        rows: dict[tuple[str, int | None, str], NewAllocation] = {}

        def add(case_id: str, item: str, kind: str, amount: Decimal) -> None:
            invoice_id = self.book.invoice_ids.get((case_id, item)) if kind in ("principal", "write_off") else None
            slot = (case_id, invoice_id, kind if invoice_id is not None or kind != "write_off" else f"{kind}:{item}")
            row = rows.get(slot)
            if row is None:
                rows[slot] = NewAllocation(tx_id, int(case_id), invoice_id, kind, amount, rule, item)
            else:
                rows[slot] = dataclasses.replace(row, amount=row.amount + amount)

        for a in allocated:
            add(a.case_id, item_of(a.item_id, a.kind), KIND[a.kind], a.amount)
        for w in write_offs:
            add(w.case_id, item_of(w.item_id, w.kind), "write_off", w.amount)
        if credit_case is not None and credit > 0:
            add(credit_case, "credit", "credit", credit)
        self.allocation_rows.extend(rows.values())

    def reverse_allocations(self, tx_id: int) -> None:
        reverse_allocations(self.conn, tx_id)

    def change_case(self, change: CaseChange, *, why: str) -> str:
        """Write a case's new open amounts and credit; close or reopen it. Returns its outcome."""
        case_id = change.case_id
        ref = self.book.refs[case_id]
        before = {item.item_id: item.open_amount for item in ref.items}
        new_fees = sum((i.open_amount for i in change.new_items if i.kind is ItemKind.COSTS), ZERO)
        total_after = sum(change.open_amounts.values(), ZERO)
        paid_in_full = total_after == 0
        self._change_invoices(change, before, paid_in_full=paid_in_full)
        open_amount = sum(
            (
                self.book.invoice_open[i]
                for i in self.book.case_invoices[case_id]
                if self.book.invoice_status[i] == "open"
            ),
            ZERO,
        )
        stored = self.book.rows[case_id]
        balance = CaseBalance(
            case_id=int(case_id),
            open_amount=open_amount,
            credit_amount=change.credit,
            status=stored.status,
            closed_on=stored.closed_on,
            close_reason=stored.close_reason,
            next_action_on=stored.next_action_on,
        )
        if new_fees:
            self.fee_updates.append((int(case_id), new_fees))
        status_now = self.book.status[case_id]
        total_before = sum(before.values(), ZERO)
        if paid_in_full:
            outcome = "paid"
            if status_now != "closed":
                balance = dataclasses.replace(
                    balance, status="closed", closed_on=self.on_date, close_reason="paid", next_action_on=None
                )
        elif total_after > total_before:
            outcome = "reopened"
            if status_now == "closed":
                balance = dataclasses.replace(balance, status="open", closed_on=None, close_reason=None)
        else:
            outcome = "partial" if total_after < total_before else "open"
        self.case_updates.append(balance)
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

    def _change_invoices(self, change: CaseChange, before: dict[str, Decimal], *, paid_in_full: bool) -> None:
        """Move each invoice of the case by what its item moved; all are paid when the case is."""
        case_id = change.case_id
        for item in self.book.refs[case_id].items:
            if item.kind is not ItemKind.PRINCIPAL:
                continue
            invoice_id = self.book.invoice_ids[(case_id, item.item_id)]
            delta = change.open_amounts.get(item.item_id, item.open_amount) - before[item.item_id]
            stored = self.book.invoice_open[invoice_id] + delta
            status = "paid" if stored == 0 or paid_in_full else "open"
            if delta != 0 or status != self.book.invoice_status[invoice_id]:
                self.invoice_updates.append(
                    InvoiceBalance(invoice_id, stored, status, self.on_date if status == "paid" else None)
                )
                self.book.invoice_open[invoice_id] = stored
                self.book.invoice_status[invoice_id] = status
        for invoice_id in self.book.credit_notes.get(case_id, ()):
            status = "paid" if paid_in_full else "open"
            if status != self.book.invoice_status[invoice_id]:
                self.invoice_updates.append(
                    InvoiceBalance(
                        invoice_id,
                        self.book.invoice_open[invoice_id],
                        status,
                        self.on_date if status == "paid" else None,
                    )
                )
                self.book.invoice_status[invoice_id] = status

    def flush(self) -> None:
        """Write everything gathered: allocations, invoices, cases, then the timeline events."""
        insert_allocations(self.conn, self.allocation_rows)
        write_invoice_balances(self.conn, self.invoice_updates)
        write_case_balances(self.conn, self.case_updates)
        add_case_fees(self.conn, self.fee_updates)
        insert_payment_events(self.conn, self.events)
        self.allocation_rows.clear()
        self.invoice_updates.clear()
        self.case_updates.clear()
        self.fee_updates.clear()
        self.events.clear()
