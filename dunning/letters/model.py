"""What a caller fills in to get a letter: frozen records, no behaviour beyond checks.

Every figure on the letter comes from here. The legal rule packs compute fees,
interest, damages-clause amounts and deadlines; the flow engine picks the
letter kind; the renderer only formats and prints. ``check_letter`` returns
the problems of one letter as text (naming the letter and the field), so a
batch can skip a bad letter and carry on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from stdnum.ch import esr

from dunning.domain.epc import EpcPayment, epc_payload
from dunning.domain.references import InvalidReference, parse_reference
from dunning.errors import InvalidValue

__all__ = [
    "LANGUAGES",
    "Charge",
    "ChargeKind",
    "Creditor",
    "Debtor",
    "Instalment",
    "Invoice",
    "LegalMentions",
    "LetterData",
    "LetterDataError",
    "LetterKind",
    "PlanNotice",
    "PostalAddress",
    "StatementEntry",
    "check_letter",
    "is_swiss",
    "letter_epc_payload",
    "payable",
]

LANGUAGES = ("nl", "fr", "de", "en")


class LetterDataError(InvalidValue):
    """A letter cannot be rendered from its data; the message names the letter id and the field."""


class LetterKind(StrEnum):
    FIRST_REMINDER = "first_reminder"
    SECOND_REMINDER = "second_reminder"
    FINAL_NOTICE = "final_notice"
    PAYMENT_CONFIRMATION = "payment_confirmation"
    PAYMENT_PLAN = "payment_plan"
    ACCOUNT_STATEMENT = "account_statement"
    PLAN_INSTALMENT = "plan_instalment"  # the plan bot's letter to a debtor without email or phone


class ChargeKind(StrEnum):
    FEE = "fee"  # a reminder fee (what the rule pack allows; see dunning.domain.legal)
    INTEREST = "interest"  # late-payment interest over a period at a rate
    DAMAGES = "damages"  # a lump sum under a damages clause (BE) or collection costs (NL WIK, DE §288(5))
    POSTAGE = "postage"


@dataclass(frozen=True, slots=True)
class PostalAddress:
    """A structured address (Swiss QR-bill needs it structured; type S)."""

    street: str
    postal_code: str
    city: str
    country: str  # ISO 3166 alpha-2
    house_number: str = ""

    def lines(self) -> tuple[str, ...]:
        street = f"{self.street} {self.house_number}".strip()
        return (street, f"{self.postal_code} {self.city}".strip())


@dataclass(frozen=True, slots=True)
class Creditor:
    name: str
    enterprise_number: str  # BE KBO/BCE number, NL KvK, DE HRB, CH UID: printed as given
    address: PostalAddress
    iban: str
    bic: str = ""
    email: str = ""
    phone: str = ""
    website: str = ""
    vat_number: str = ""


@dataclass(frozen=True, slots=True)
class Debtor:
    name: str
    address_lines: tuple[str, ...]  # street, postcode and city, ... without the country
    country: str  # ISO 3166 alpha-2; printed as a last line when it differs from the creditor's
    language: str  # nl, fr, de or en
    customer_number: str = ""


@dataclass(frozen=True, slots=True)
class Invoice:
    number: str
    issued: date
    due: date
    open_amount: Decimal
    description: str = ""


@dataclass(frozen=True, slots=True)
class Charge:
    """A fee, interest or damages line. ``label`` overrides the template's wording for the kind.

    The letter's data builder fills ``label`` and ``basis`` from the rule pack that set the charge,
    in the debtor's language (:mod:`dunning.domain.legal.texts`); interest also has its ``rate``,
    ``base`` and period.
    """

    kind: ChargeKind
    amount: Decimal
    label: str = ""
    rate: Decimal | None = None  # percent per year, for interest
    period_start: date | None = None
    period_end: date | None = None
    base: Decimal | None = None  # the amount interest ran on
    basis: str = ""  # the law it rests on, in the letter's language ("art. 6:96 BW en Besluit WIK")
    rule: str = ""  # the pack and figure that set it ("NL-consumer:collection_costs"), to name it; not printed


@dataclass(frozen=True, slots=True)
class Instalment:
    due: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class PlanNotice:
    """What a plan letter is about (:attr:`LetterKind.PLAN_INSTALMENT`); the letter asks for one instalment.

    ``notice``: the plan bot's action (``plan_reminder``, ``plan_grace_reminder``, ``plan_missed``,
    ``plan_deferred``, ``plan_spread``, ``plan_breach_notice``); ``number`` and ``due``: the
    instalment the letter asks for (its amount is the letter's ``total``, its own reference the
    letter's ``reference``); ``about``: the instalment the event concerns (the missed one a deferral
    moved); ``open_total``: what is left of the plan in all; ``arrears``: what missed instalments leave open.
    """

    notice: str
    number: int
    due: date
    open_total: Decimal
    about: int | None = None
    arrears: Decimal = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class StatementEntry:
    """One account statement line; ``amount`` > 0 is owed (invoice, fee), < 0 paid or credited."""

    booked: date
    text: str
    amount: Decimal
    document: str = ""


@dataclass(frozen=True, slots=True)
class LegalMentions:
    """Figures and dates computed by the debtor's legal rule pack; the template prints them.

    ``rule_pack``: "BE" (Book XIX CEL, consumer), "NL" (WIK 14-day letter), "DE" (BGB),
    "EU" (late-payment directive, B2B) or "" for none.
    ``deadline``: the day by which the debtor must pay (e.g. the end of the 14 days).
    ``damages_if_unpaid``: BE: the damages-clause amount claimed if not paid by the deadline;
    NL: the WIK collection costs ("buitengerechtelijke incassokosten") owed if not paid.
    ``interest_rate_if_unpaid``: percent per year charged from the deadline, if any.
    ``period_days``: the period the deadline is counted from (14 in BE and NL).
    ``period_start``: the first day of the period that ends on ``deadline`` (BE: the 3rd working
    day after posting; NL: the day after presumed receipt).
    """

    rule_pack: str = ""
    deadline: date | None = None
    damages_if_unpaid: Decimal | None = None
    interest_rate_if_unpaid: Decimal | None = None
    period_days: int = 14
    consumer: bool = True
    period_start: date | None = None


@dataclass(frozen=True, slots=True)
class LetterData:
    """One letter for one case: all its open invoices, fees and interest, and how to pay.

    ``total`` is what the debtor is asked to pay (reminders: the invoices claimed + charges;
    payment plan: the plan's total; confirmation: the amount received; statement: the
    balance). ``reference`` is the case's payment reference (OGM or RF, any printed form).
    """

    letter_id: str
    kind: LetterKind
    letter_date: date
    creditor: Creditor
    debtor: Debtor
    case_number: str
    total: Decimal
    reference: str
    currency: str = "EUR"
    invoices: tuple[Invoice, ...] = ()
    charges: tuple[Charge, ...] = ()
    #: invoices not yet due on the letter's date, listed apart for information (never claimed)
    not_yet_due: tuple[Invoice, ...] = ()
    legal: LegalMentions = field(default_factory=LegalMentions)
    pay_link: str = ""
    brand: str = "default"
    instalments: tuple[Instalment, ...] = ()
    statement: tuple[StatementEntry, ...] = ()
    amount_received: Decimal | None = None
    received_on: date | None = None
    contact_name: str = ""
    salutation: str = ""  # e.g. "Dear Ms Peeters,"; the template's neutral greeting when empty
    locale: str = ""  # override the locale derived from the debtor's language and country
    plan_notice: PlanNotice | None = None  # a plan letter: which instalment it asks for, and why

    @property
    def language(self) -> str:
        return self.debtor.language


def is_swiss(creditor: Creditor) -> bool:
    """A creditor with a Swiss or Liechtenstein IBAN gets a Swiss QR-bill instead of an EPC QR code."""
    return creditor.iban.replace(" ", "")[:2].upper() in ("CH", "LI")


def payable(letter: LetterData) -> Decimal | None:
    """What the payment part asks for now: the total, or the first instalment of a plan."""
    if letter.kind is LetterKind.PAYMENT_PLAN:
        return letter.instalments[0].amount if letter.instalments else None
    return letter.total


def letter_epc_payload(letter: LetterData, amount: Decimal) -> str:
    """The EPC QR text a letter prints for ``amount`` (the pay page shows the same code); raises EpcError."""
    creditor = letter.creditor
    return epc_payload(EpcPayment(name=creditor.name, iban=creditor.iban, amount=amount, bic=creditor.bic,
                                  reference=letter.reference))


def _money_ok(value: object) -> bool:
    return isinstance(value, Decimal) and value.is_finite()


def check_letter(letter: LetterData) -> list[str]:
    """Problems that stop this letter from being rendered (empty when it is fine)."""
    where = f"letter {letter.letter_id!r}"
    problems: list[str] = []
    if letter.debtor.language not in LANGUAGES:
        problems.append(f"{where}: debtor.language {letter.debtor.language!r} is not one of {LANGUAGES}")
    if not letter.debtor.name.strip():
        problems.append(f"{where}: debtor.name is empty")
    lines = [ln for ln in letter.debtor.address_lines if ln.strip()]
    if not lines:
        problems.append(f"{where}: debtor.address_lines is empty")
    if len(lines) > 4:
        problems.append(
            f"{where}: debtor.address_lines has {len(lines)} lines; the window takes 4 plus name and country"
        )
    if not _money_ok(letter.total):
        problems.append(f"{where}: total {letter.total!r} is not a Decimal")
    for inv in letter.invoices:
        if not _money_ok(inv.open_amount):
            problems.append(f"{where}: invoice {inv.number!r} open_amount {inv.open_amount!r} is not a Decimal")
    for ch in letter.charges:
        if not _money_ok(ch.amount):
            problems.append(f"{where}: charge {ch.kind} amount {ch.amount!r} is not a Decimal")
    if problems:
        return problems
    if is_swiss(letter.creditor) and re.fullmatch(r"\d{27}", re.sub(r"\s", "", letter.reference)):
        if not esr.is_valid(letter.reference):
            problems.append(f"{where}: reference {letter.reference!r} is not a valid Swiss QR reference")
    else:
        try:
            parse_reference(letter.reference)
        except InvalidReference as exc:
            problems.append(f"{where}: reference: {exc}")
    if letter.kind in (LetterKind.FIRST_REMINDER, LetterKind.SECOND_REMINDER, LetterKind.FINAL_NOTICE):
        if not letter.invoices:
            problems.append(f"{where}: a {letter.kind} needs at least one open invoice")
        owed = sum((i.open_amount for i in letter.invoices), Decimal(0)) + sum(
            (c.amount for c in letter.charges), Decimal(0)
        )
        if owed != letter.total:
            problems.append(f"{where}: total {letter.total} differs from invoices plus charges {owed}")
    if letter.kind is LetterKind.PAYMENT_PLAN:
        planned = sum((i.amount for i in letter.instalments), Decimal(0))
        if not letter.instalments:
            problems.append(f"{where}: a payment plan needs instalments")
        elif planned != letter.total:
            problems.append(f"{where}: total {letter.total} differs from the instalments' sum {planned}")
    if letter.kind is LetterKind.PLAN_INSTALMENT:
        if letter.plan_notice is None:
            problems.append(f"{where}: a plan letter needs plan_notice (the instalment it asks for)")
        elif not letter.total > 0:
            problems.append(f"{where}: a plan letter asks for an amount above zero, not {letter.total}")
    if letter.kind is LetterKind.PAYMENT_CONFIRMATION and letter.amount_received is None:
        problems.append(f"{where}: a payment confirmation needs amount_received")
    if letter.legal.rule_pack == "BE" and letter.kind is LetterKind.FIRST_REMINDER:
        if letter.legal.deadline is None:
            problems.append(f"{where}: legal.deadline is required for a Belgian first reminder (Book XIX)")
        if letter.legal.damages_if_unpaid is None:
            problems.append(f"{where}: legal.damages_if_unpaid is required for a Belgian first reminder")
    if (
        letter.legal.rule_pack == "NL"
        and letter.kind in (LetterKind.FIRST_REMINDER, LetterKind.SECOND_REMINDER, LetterKind.FINAL_NOTICE)
        and letter.legal.consumer
        and letter.legal.damages_if_unpaid is None
    ):
        problems.append(f"{where}: legal.damages_if_unpaid (WIK amount) is required for a Dutch 14-day letter")
    return problems
