"""Small builders for matching tests: cases, open items and bank transactions in one line each."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from stdnum.be import ogm_vcs
from stdnum.iso7064 import mod_97_10

from dunning.domain.matching.match import (
    BankTransaction,
    CaseRef,
    CreditDebit,
    EntryStatus,
    ItemKind,
    MatchResult,
    OpenItem,
    structured_ref,
)

D = Decimal
DAY = date(2026, 3, 2)


def ogm(n: int) -> str:
    """The printed OGM (``+++ddd/dddd/ddddd+++``) with body ``n`` (10 digits); check digits by stdnum."""
    body = f"{n:010d}"
    digits = body + ogm_vcs.calc_check_digits(body)
    return f"+++{ogm_vcs.format(digits)}+++"


def ogm_digits(n: int) -> str:
    return ogm(n).strip("+").replace("/", "")


def rf(body: str) -> str:
    """An ISO 11649 reference ``RFcc<body>``; check digits by stdnum (mod 97-10)."""
    return f"RF{mod_97_10.calc_check_digits(body + 'RF')}{body}"


def inv(item_id: str, amount: str, due: date = date(2026, 1, 15), number: str | None = None) -> OpenItem:
    return OpenItem.invoice(item_id, number or f"RE-{item_id}", due, D(amount))


def cost(
    item_id: str,
    amount: str,
    kind: ItemKind = ItemKind.COSTS,
    due: date = date(2026, 2, 1),
    invoice_id: str | None = None,
) -> OpenItem:
    return OpenItem(item_id, kind, due, D(amount), invoice_id=invoice_id)


def case(
    case_id: str,
    *items: OpenItem,
    ref: str | None = None,
    ibans: tuple[str, ...] = (),
    name: str | None = None,
    currency: str = "EUR",
    credit: str = "0",
) -> CaseRef:
    return CaseRef(case_id, f"D-{case_id}", currency, ref, ibans, name, items, D(credit))


def credit(
    key: str,
    amount: str,
    *,
    ref: str | None = None,
    text: str = "",
    iban: str | None = None,
    name: str | None = None,
    on: date = DAY,
    e2e: str | None = None,
    status: EntryStatus = EntryStatus.BOOK,
    currency: str = "EUR",
) -> BankTransaction:
    return BankTransaction(
        key=key,
        amount=D(amount),
        currency=currency,
        credit_debit=CreditDebit.CRDT,
        status=status,
        booking_date=on,
        structured_ref=structured_ref(ref) if ref else None,
        remittance=text,
        end_to_end_id=e2e,
        debtor_name=name,
        debtor_iban=iban,
    )


def debit(
    key: str,
    amount: str,
    *,
    reversal: bool = False,
    reason: str | None = None,
    original: str | None = None,
    ref: str | None = None,
    iban: str | None = None,
    e2e: str | None = None,
    on: date = DAY,
) -> BankTransaction:
    return BankTransaction(
        key=key,
        amount=D(amount),
        currency="EUR",
        credit_debit=CreditDebit.DBIT,
        status=EntryStatus.BOOK,
        booking_date=on,
        reversal=reversal,
        return_reason=reason,
        structured_ref=structured_ref(ref) if ref else None,
        end_to_end_id=e2e,
        debtor_iban=iban,
        original_amount=D(original) if original else None,
    )


def open_amounts(result: MatchResult, case_id: str) -> dict[str, Decimal]:
    """The open amount of every item of ``case_id`` after the run."""
    for outcome in result.cases:
        if outcome.case_id == case_id:
            return dict(outcome.open_amounts)
    raise AssertionError(f"case {case_id} was not touched by the run")


def outcome(result: MatchResult, case_id: str):  # type: ignore[no-untyped-def]
    for o in result.cases:
        if o.case_id == case_id:
            return o
    raise AssertionError(f"case {case_id} was not touched by the run")


def allocated(result: MatchResult, tx_key: str) -> dict[str, Decimal]:
    """item id → amount the matched transaction ``tx_key`` paid."""
    for m in result.matched:
        if m.tx_key == tx_key:
            return {a.item_id: a.amount for a in m.allocations}
    raise AssertionError(f"{tx_key} was not matched")
