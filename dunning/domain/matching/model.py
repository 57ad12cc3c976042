"""The plain data of payment matching: what goes in, how it is configured, what comes out.

Inputs are frozen records built by an adapter (the camt reader, the store):

* :class:`BankTransaction`: one booked (or pending) bank movement, already
  normalised: a positive Decimal amount plus a credit/debit indicator.
* :class:`CaseRef`: one dunning case with its open items: invoices (principal),
  costs and interest (:class:`OpenItem`), and any credit the debtor has on it.
* :class:`PaymentRecord`: a payment applied in an earlier run (its allocations),
  so a later return or reversal can undo it.

Outputs (:class:`MatchResult`) are plain records too: matched payments with
their allocations, suggestions for the review queue with scored candidates,
unmatched and ignored transactions (each with its reason), undone payments,
and the new state of every case the run touched. Every decision carries its
:class:`Evidence`: which rule fired, on which field, on which value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from dunning.domain.money import to_decimal
from dunning.errors import ConfigError, InputError

__all__ = [
    "LEGAL_ORDER_BGB_367",
    "NOT_PROVIDED",
    "Allocation",
    "BankCharge",
    "BankTransaction",
    "Candidate",
    "CaseOutcome",
    "CaseRef",
    "CaseStatus",
    "CreditDebit",
    "EntryStatus",
    "Evidence",
    "IgnoreReason",
    "Ignored",
    "InvalidMatchInput",
    "ItemKind",
    "MatchConfig",
    "MatchResult",
    "Matched",
    "OpenItem",
    "PaymentRecord",
    "RefKind",
    "Rule",
    "StructuredRef",
    "Suggested",
    "Undone",
    "Unmatched",
    "WriteOff",
]


class InvalidMatchInput(InputError):
    """A matching input record is malformed (negative amount, float, bad currency)."""


class CreditDebit(StrEnum):
    """camt ``CdtDbtInd``: the direction of this booking on our account."""

    CRDT = "CRDT"
    DBIT = "DBIT"


class EntryStatus(StrEnum):
    """camt ``Sts``: only ``BOOK`` may settle anything (research/camt.md P17)."""

    BOOK = "BOOK"
    PDNG = "PDNG"
    INFO = "INFO"


class RefKind(StrEnum):
    """The kind of a structured creditor reference."""

    RF = "rf"  # ISO 11649
    BE_OGM = "be-ogm"  # Belgian structured communication (OGM/VCS)
    OTHER = "other"  # anything else (QRR, national schemes): compared as given


class ItemKind(StrEnum):
    """What an open amount of a case is, for the legal order of allocation."""

    COSTS = "costs"
    INTEREST = "interest"
    PRINCIPAL = "principal"


# §367 (1) BGB: a payment that does not cover everything goes first to the costs,
# then to the interest, and only then to the principal.
LEGAL_ORDER_BGB_367: tuple[ItemKind, ...] = (ItemKind.COSTS, ItemKind.INTEREST, ItemKind.PRINCIPAL)

# EndToEndId placeholders that must never act as a key (research/camt.md P16, AC-18).
NOT_PROVIDED = frozenset({"", "NOTPROVIDED", "NONREF", "NOT PROVIDED"})


class Rule(StrEnum):
    """The rule that decided a result, in the order the matcher tries them."""

    STRUCTURED_REFERENCE = "structured_reference"  # 1: valid CdtrRefInf equal to a case reference
    TEXT_REFERENCE = "text_reference"  # 2: case reference or invoice number in the free text
    DEBTOR_IBAN = "debtor_iban"  # 3: known debtor IBAN; amount = open total, one invoice or a sum of invoices
    AMOUNT_NAME = "amount_name"  # 4: amount and fuzzy name: suggestion only
    RETURN = "return"  # a returned direct debit / credit transfer (RtrInf)
    REVERSAL = "reversal"  # a booking that cancels an earlier one (RvslInd)
    NONE = "none"


class IgnoreReason(StrEnum):
    DEBIT = "debit"  # money leaving the account is not a customer payment
    NOT_BOOKED = "not_booked"  # PDNG / INFO
    DUPLICATE = "duplicate"  # the same transaction key was already applied
    ZERO_AMOUNT = "zero_amount"
    NOT_A_PAYMENT = "not_a_payment"  # a credit that reverses one of our debits, a bounced refund


class CaseStatus(StrEnum):
    OPEN = "open"
    PARTIAL = "partial"  # money arrived, something is still open
    PAID = "paid"  # nothing open any more
    REOPENED = "reopened"  # a return or reversal undid a payment and something is open again


def _decimal(value: object, what: str) -> Decimal:
    try:
        result = to_decimal(value)
    except ValueError as exc:
        raise InvalidMatchInput(f"{what}: {exc}") from None
    return result


def _check_currency(currency: str, what: str) -> None:
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise InvalidMatchInput(f"{what}: {currency!r} is not an ISO 4217 currency code")


@dataclass(frozen=True, slots=True)
class StructuredRef:
    """A creditor reference from the structured remittance (camt ``CdtrRefInf``).

    ``valid`` says whether its check digits hold (the parser decides; see
    :func:`dunning.domain.matching.text.structured_ref`). An invalid reference
    never matches automatically (research/camt.md P15, AC-17).
    """

    kind: RefKind
    value: str
    valid: bool


@dataclass(frozen=True, slots=True)
class BankCharge:
    """One charges record of a transaction (camt ``Chrgs/Rcrd``), see :mod:`dunning.domain.matching.charges`.

    ``included``: ``ChrgInclInd`` (True: taken from the booked amount; None: the file does not say);
    ``bearer``: ``Br`` (DEBT, CRED, SHAR, SLEV) when given.
    """

    amount: Decimal
    currency: str | None
    included: bool | None
    bearer: str | None = None
    credit_debit: CreditDebit | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", _decimal(self.amount, "charges record"))


@dataclass(frozen=True, slots=True)
class BankTransaction:
    """One bank movement, as the matcher needs it.

    ``key`` is the stable idempotency key chosen by the reader (e.g. account +
    AcctSvcrRef + booking date + amount); the same movement seen in a camt.052
    and again in a camt.053 carries the same key. ``amount`` is positive; the
    direction is ``credit_debit``. ``original_amount`` is the instructed amount
    (camt ``InstdAmt``, in ``original_currency``): of a return, when the booked amount includes a
    fee; of a credit, what the payer ordered before banks took their ``charges``.
    """

    key: str
    amount: Decimal
    currency: str
    credit_debit: CreditDebit
    status: EntryStatus
    booking_date: date
    reversal: bool = False
    return_reason: str | None = None
    structured_ref: StructuredRef | None = None
    remittance: str = ""
    end_to_end_id: str | None = None
    debtor_name: str | None = None
    debtor_iban: str | None = None
    original_amount: Decimal | None = None
    original_currency: str | None = None
    charges: tuple[BankCharge, ...] = ()

    def __post_init__(self) -> None:
        what = f"transaction {self.key!r}"
        if not self.key:
            raise InvalidMatchInput("a bank transaction needs a non-empty key")
        object.__setattr__(self, "amount", _decimal(self.amount, what))
        if self.amount < 0:
            raise InvalidMatchInput(f"{what}: amount {self.amount} is negative; use credit_debit for the sign")
        if self.original_amount is not None:
            object.__setattr__(self, "original_amount", _decimal(self.original_amount, what))
        _check_currency(self.currency, what)

    @property
    def end_to_end(self) -> str | None:
        """The EndToEndId if it can serve as a key (never ``NOTPROVIDED``)."""
        e2e = (self.end_to_end_id or "").strip()
        return None if e2e.upper() in NOT_PROVIDED else e2e


@dataclass(frozen=True, slots=True)
class OpenItem:
    """One open amount of a case: an invoice (principal), a cost or interest.

    ``number`` is the invoice number the debtor sees (invoices only); ``invoice_id``
    on a cost or interest item names the invoice it belongs to, if any.
    ``open_amount`` may be zero for an item that is settled but can be reopened.
    """

    item_id: str
    kind: ItemKind
    due_date: date
    open_amount: Decimal
    number: str | None = None
    invoice_id: str | None = None

    def __post_init__(self) -> None:
        what = f"open item {self.item_id!r}"
        object.__setattr__(self, "open_amount", _decimal(self.open_amount, what))
        if self.open_amount < 0:
            raise InvalidMatchInput(f"{what}: open amount {self.open_amount} is negative")

    @classmethod
    def invoice(cls, invoice_id: str, number: str, due_date: date, open_amount: Decimal) -> OpenItem:
        return cls(invoice_id, ItemKind.PRINCIPAL, due_date, open_amount, number=number)


@dataclass(frozen=True, slots=True)
class CaseRef:
    """A dunning case as the matcher sees it: who owes what, and how they may pay.

    ``payment_reference`` is the case's structured communication
    (``+++123/4567/89002+++`` or ``RF18 5390 0754 7034``); ``debtor_ibans`` are the
    accounts the debtor paid from before; ``credit`` is money the debtor has on
    the case (an earlier overpayment). ``other_references`` are further structured
    references that name this case as surely as its own: the references of the
    instalments of its active payment plan (:mod:`dunning.domain.plans.references`).
    """

    case_id: str
    debtor_id: str
    currency: str
    payment_reference: str | None
    debtor_ibans: tuple[str, ...]
    debtor_name: str | None
    items: tuple[OpenItem, ...]
    credit: Decimal = Decimal(0)
    other_references: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        what = f"case {self.case_id!r}"
        _check_currency(self.currency, what)
        object.__setattr__(self, "credit", _decimal(self.credit, what))
        ids = [item.item_id for item in self.items]
        if len(set(ids)) != len(ids):
            raise InvalidMatchInput(f"{what}: two open items share an id (ids are unique per case)")

    @property
    def open_total(self) -> Decimal:
        return sum((item.open_amount for item in self.items), Decimal(0))

    @property
    def invoices(self) -> tuple[OpenItem, ...]:
        return tuple(item for item in self.items if item.kind is ItemKind.PRINCIPAL)


@dataclass(frozen=True, slots=True)
class MatchConfig:
    """How the matcher decides.

    ``tolerance``: an underpayment up to this absolute amount still settles the
    item and the difference is written off (e.g. ``Decimal("0.05")``; 0 = exact);
    ``tolerances`` per currency (ISO 4217 code → amount) win over it for their currency.
    ``invoice_number_pattern``: a regex for the creditor's invoice numbers in
    free text; without it, every word with a digit (4+ characters) is looked up.
    ``allocation_order``: the order in which costs, interest and principal are
    paid (default §367 BGB).
    """

    tolerance: Decimal = Decimal("0.00")
    tolerances: Mapping[str, Decimal] = field(default_factory=dict)
    invoice_number_pattern: str | None = None
    allocation_order: tuple[ItemKind, ...] = LEGAL_ORDER_BGB_367
    name_threshold: float = 0.85  # difflib ratio of normalised names to suggest a case
    max_fuzzy_candidates: int = 50  # name comparisons per transaction, at most
    max_candidates: int = 5  # candidates kept per suggestion
    charge_return_fees: bool = True  # a return's bank fee becomes a cost item of the case
    compiled_pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        try:
            tolerance = to_decimal(self.tolerance)
        except ValueError as exc:
            raise ConfigError(f"matching.tolerance: {exc}") from None
        if tolerance < 0:
            raise ConfigError(f"matching.tolerance: {tolerance} is negative")
        object.__setattr__(self, "tolerance", tolerance)
        per_currency: dict[str, Decimal] = {}
        for currency, value in self.tolerances.items():
            try:
                amount = to_decimal(value)
            except ValueError as exc:
                raise ConfigError(f"matching.tolerances.{currency}: {exc}") from None
            if amount < 0:
                raise ConfigError(f"matching.tolerances.{currency}: {amount} is negative")
            per_currency[currency.upper()] = amount
        object.__setattr__(self, "tolerances", per_currency)
        if sorted(self.allocation_order) != sorted(ItemKind):
            raise ConfigError(
                f"matching.allocation_order: {[str(k) for k in self.allocation_order]} must name "
                "costs, interest and principal once each"
            )
        if not 0 < self.name_threshold <= 1:
            raise ConfigError(f"matching.name_threshold: {self.name_threshold} is not in (0, 1]")
        if self.invoice_number_pattern:
            try:
                compiled = re.compile(self.invoice_number_pattern, re.IGNORECASE)
            except re.error as exc:
                raise ConfigError(
                    f"matching.invoice_number_pattern: {self.invoice_number_pattern!r} is not a regex: {exc}"
                ) from None
            object.__setattr__(self, "compiled_pattern", compiled)

    def tolerance_for(self, currency: str) -> Decimal:
        """The write-off tolerance of ``currency``: its own, else ``tolerance``."""
        return self.tolerances.get(currency.upper(), self.tolerance)


# --------------------------------------------------------------------------- results
# Result records are NamedTuples (as in beancount): immutable, and cheap to build
# by the hundred thousand in one run.


class Evidence(NamedTuple):
    """One fact behind a decision: ``found`` in ``where`` (a transaction field), and what it means."""

    where: str
    found: str
    note: str


class Allocation(NamedTuple):
    """``amount`` of a payment applied to one open item of a case."""

    case_id: str
    item_id: str
    kind: ItemKind
    amount: Decimal


class WriteOff(NamedTuple):
    """A small difference written off on one open item: ``charges`` of it were bank charges the
    payer paid (:mod:`dunning.domain.matching.charges`), the rest was within the tolerance."""

    case_id: str
    item_id: str
    kind: ItemKind
    amount: Decimal
    charges: Decimal = Decimal(0)

    @property
    def within_tolerance(self) -> Decimal:
        """The part of the write-off that the tolerance covered (not bank charges)."""
        return self.amount - self.charges


class PaymentRecord(NamedTuple):
    """What happened to one credited booked transaction; kept so it can be undone later.

    Money is conserved: ``amount == sum(allocations) + credit + unapplied``.
    ``unapplied`` is money waiting in the review queue (suggested or unmatched).
    """

    tx_key: str
    booking_date: date
    amount: Decimal
    currency: str
    end_to_end_id: str | None
    reference: str | None  # normalised structured reference of the transaction
    debtor_iban: str | None
    allocations: tuple[Allocation, ...]
    write_offs: tuple[WriteOff, ...]
    credit_case_id: str | None
    credit: Decimal
    unapplied: Decimal


class Matched(NamedTuple):
    """A payment applied automatically."""

    tx_key: str
    rule: Rule
    case_id: str
    amount: Decimal
    allocations: tuple[Allocation, ...]
    write_offs: tuple[WriteOff, ...]
    credit: Decimal
    evidence: tuple[Evidence, ...]


class Candidate(NamedTuple):
    """A possible target of a suggestion; ``score`` in [0, 1], explained by ``evidence``."""

    case_id: str
    item_id: str | None
    score: float
    evidence: tuple[Evidence, ...]


class Suggested(NamedTuple):
    """A payment for the review queue: never applied automatically."""

    tx_key: str
    rule: Rule
    amount: Decimal
    currency: str
    reason: str
    candidates: tuple[Candidate, ...]
    evidence: tuple[Evidence, ...]


class Unmatched(NamedTuple):
    tx_key: str
    amount: Decimal
    currency: str
    reason: str
    evidence: tuple[Evidence, ...]


class Ignored(NamedTuple):
    tx_key: str
    reason: IgnoreReason
    detail: str


class Undone(NamedTuple):
    """A return or reversal that undid an earlier payment and reopened what it had paid."""

    tx_key: str
    rule: Rule
    original_key: str
    reopened: tuple[Allocation, ...]  # allocations and write-offs of the original, now open again
    credit_reversed: Decimal
    unapplied_reversed: Decimal
    return_reason: str | None
    return_fee: OpenItem | None  # the bank's return fee, charged to the case as a cost
    evidence: tuple[Evidence, ...]


class CaseOutcome(NamedTuple):
    """The new state of a case touched by the run.

    ``open_amounts`` lists every item of the case with its open amount now
    (items added by the run, such as a return fee, are in ``new_items`` too);
    :meth:`apply_to` turns the case as given into the case as it is now.
    """

    case_id: str
    status: CaseStatus
    open_total: Decimal
    credit: Decimal
    open_amounts: tuple[tuple[str, Decimal], ...]
    new_items: tuple[OpenItem, ...]
    paid: Decimal  # money applied to the case in this run (allocations), net of undos
    written_off: Decimal

    def apply_to(self, case: CaseRef) -> CaseRef:
        """``case`` (as given to the run) with this outcome's open amounts, new items and credit."""
        if case.case_id != self.case_id:
            raise InvalidMatchInput(f"outcome of case {self.case_id} applied to case {case.case_id}")
        amounts = dict(self.open_amounts)
        items = [
            OpenItem(i.item_id, i.kind, i.due_date, amounts.get(i.item_id, i.open_amount), i.number, i.invoice_id)
            for i in case.items
        ]
        known = {i.item_id for i in case.items}
        items.extend(
            OpenItem(i.item_id, i.kind, i.due_date, amounts.get(i.item_id, i.open_amount), i.number, i.invoice_id)
            for i in self.new_items
            if i.item_id not in known
        )
        return CaseRef(
            case.case_id,
            case.debtor_id,
            case.currency,
            case.payment_reference,
            case.debtor_ibans,
            case.debtor_name,
            tuple(items),
            self.credit,
            case.other_references,
        )


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Everything one matching run decided, sorted by transaction key / case id."""

    matched: tuple[Matched, ...]
    suggested: tuple[Suggested, ...]
    unmatched: tuple[Unmatched, ...]
    ignored: tuple[Ignored, ...]
    undone: tuple[Undone, ...]
    cases: tuple[CaseOutcome, ...]
    records: tuple[PaymentRecord, ...]  # one per credited payment taken into account
    applied_keys: frozenset[str]  # keys this run consumed: pass them (plus older ones) to the next run
    problems: tuple[str, ...]  # bad open-item data (names case ids, never personal data)

    def rule_counts(self) -> dict[str, int]:
        """How many transactions each rule decided, for reports and the benchmark."""
        counts: dict[str, int] = {}
        for m in self.matched:
            counts[f"matched:{m.rule}"] = counts.get(f"matched:{m.rule}", 0) + 1
        for s in self.suggested:
            counts[f"suggested:{s.rule}"] = counts.get(f"suggested:{s.rule}", 0) + 1
        for u in self.undone:
            counts[f"undone:{u.rule}"] = counts.get(f"undone:{u.rule}", 0) + 1
        counts["unmatched"] = len(self.unmatched)
        for i in self.ignored:
            counts[f"ignored:{i.reason}"] = counts.get(f"ignored:{i.reason}", 0) + 1
        return counts
