"""SEPA direct debit for a plan: the mandate, and which instalments a collection file takes on a day.

A plan paid by direct debit has one **mandate** (the debtor's signed authorisation): its reference
(``MndtId``) is derived from the plan key, so it is the same every time and unique as plan keys
are; the creditor identifier (AT-02) and the debtor's IBAN are checked with their check digits::

    >>> mandate_reference("12-1")
    'DDM-12-1'
    >>> end_to_end_id("12-1", 3)
    'DD-12-1-03'
    >>> creditor_identifier("de98 zzz 09999999999")
    'DE98ZZZ09999999999'

**When an instalment is collected** (:func:`due_collections`). The SEPA Core rulebook (since
version 9.0, November 2016) lets a collection reach the debtor's bank one inter-bank business day
before its due date (D-1) for first and recurring collections alike; ``lead_days`` is how many TARGET
business days before the requested collection date the file is made (1 by default; a creditor's
bank often asks 2). A file made on day *T* asks for collection on *T* + ``lead_days`` business days
at the earliest (:func:`earliest_collection`). An instalment is taken when its due date (moved to
the next business day) is within ``days_ahead`` calendar days of that date, and never before the
debtor was told: the plan's schedule, handed over with the mandate, is the pre-notification, so
the first collection is at least ``prenotification_days`` (14 by the rulebook, unless agreed
otherwise) after the mandate was signed. A late run collects what it missed on the earliest date.

**Sequence type**: ``FRST`` for the first collection under a mandate, ``RCUR`` after (the rulebook
no longer requires FRST since 2016, but many banks still expect it)::

    >>> from datetime import date
    >>> closed = frozenset({date(2027, 1, 1)})
    >>> earliest_collection(date(2026, 12, 31), 1, closed)  # New Year is no TARGET day
    datetime.date(2027, 1, 4)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from stdnum.eu import at_02
from stdnum.exceptions import ValidationError

from dunning.domain.plans.model import Arrangement, ArrangementStatus, Instalment, InstalmentStatus, PlanError

__all__ = [
    "RETURN_REASONS",
    "STOPPING_REASONS",
    "Collection",
    "Mandate",
    "MandateStatus",
    "SequenceType",
    "checked_mandate_reference",
    "creditor_identifier",
    "debtor_iban",
    "due_collections",
    "earliest_collection",
    "end_to_end_id",
    "mandate_reference",
    "next_business_day",
    "return_reason_text",
]

_MAX35 = 35
# The SEPA character set for identifiers (EPC guidelines: Latin letters, digits, / - ? : ( ) . , ' + space);
# a reference neither starts nor ends with "/" nor holds "//".
_SEPA_ID = re.compile(r"^[A-Za-z0-9/\-?:().,'+ ]{1,35}$")

#: ISO 20022 return reasons a bank gives for a direct debit that came back, in words for the timeline
RETURN_REASONS = {
    "AC01": "account number incorrect",
    "AC04": "account closed",
    "AC06": "account blocked",
    "AC13": "debtor account is a consumer account",
    "AG01": "transaction forbidden on this account",
    "AG02": "invalid bank operation code",
    "AM04": "insufficient funds",
    "AM05": "duplicate collection",
    "BE05": "creditor identifier unknown to the bank",
    "CNOR": "creditor bank is not registered",
    "DNOR": "debtor bank is not registered",
    "FF01": "invalid file format",
    "MD01": "no valid mandate",
    "MD02": "mandate data missing or incorrect",
    "MD06": "refund requested by the debtor",
    "MD07": "debtor deceased",
    "MS02": "refused by the debtor (no reason given)",
    "MS03": "reason not specified",
    "RC01": "bank identifier incorrect",
    "RR01": "regulatory reason: debtor account or identification missing",
    "RR02": "regulatory reason: debtor name or address missing",
    "RR03": "regulatory reason: creditor name or address missing",
    "RR04": "regulatory reason",
    "SL01": "specific service offered by the debtor bank",
}

#: return reasons after which the mandate cannot be used again (collections under it stop)
STOPPING_REASONS = frozenset({"AC01", "AC04", "AC06", "AC13", "AG01", "MD01", "MD02", "MD07", "RC01"})


def return_reason_text(code: str | None) -> str:
    """``AM04 (insufficient funds)``; an unknown code is shown as it came."""
    if not code:
        return "no reason given"
    words = RETURN_REASONS.get(code.upper())
    return f"{code} ({words})" if words else code


class SequenceType(StrEnum):
    FIRST = "FRST"
    RECURRING = "RCUR"


class MandateStatus(StrEnum):
    ACTIVE = "active"
    STOPPED = "stopped"  # a return said it cannot be used (closed account, no mandate...)


def mandate_reference(plan_key: str) -> str:
    """The mandate reference of plan ``plan_key``: deterministic, unique as plan keys are."""
    return checked_mandate_reference(f"DDM-{plan_key}")


def checked_mandate_reference(reference: str) -> str:
    """``reference`` when it is a usable ``MndtId`` (35 characters of the SEPA set); else PlanError."""
    value = reference.strip()
    if not _SEPA_ID.fullmatch(value) or value.startswith("/") or value.endswith("/") or "//" in value:
        raise PlanError(
            f"mandate reference {reference!r} is not 1 to 35 characters of A-Z a-z 0-9 / - ? : ( ) . , ' + "
            "(not starting or ending with '/', no '//')"
        )
    return value


def end_to_end_id(plan_key: str, number: int) -> str:
    """The EndToEndId of instalment ``number``'s collection: the bank gives it back on a return."""
    value = f"DD-{plan_key}-{number:02d}"
    if len(value) > _MAX35:
        raise PlanError(f"plan key {plan_key!r} is too long for an EndToEndId ({len(value)} > {_MAX35})")
    return value


def creditor_identifier(value: str) -> str:
    """The SEPA creditor identifier (AT-02) in compact form, its ISO 7064 check digits verified."""
    try:
        return str(at_02.validate(value))
    except ValidationError as exc:
        raise PlanError(f"{value!r} is not a valid SEPA creditor identifier ({exc})") from None


def debtor_iban(value: str) -> str:
    """The debtor's IBAN in compact form; refused when the check digits or the country's format fail."""
    try:
        return str(IBAN(value).compact)
    except SchwiftyException as exc:
        raise PlanError(f"{value!r} is not a valid IBAN ({exc})") from None


@dataclass(frozen=True, slots=True)
class Mandate:
    """A signed SEPA Core mandate for one plan (captured by a person: ``dunning plans mandate``)."""

    reference: str
    plan_id: str
    iban: str
    debtor_name: str
    signed_on: date
    text_version: str  # the version of the mandate text the debtor signed
    consent_source: str  # how it was given: "paper", "phone-recorded", later "pay_page"
    bic: str | None = None
    status: MandateStatus = MandateStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class Collection:
    """One instalment to collect: the amount still open on it, on ``collection_date``."""

    plan_id: str
    number: int
    amount: Decimal
    collection_date: date
    sequence: SequenceType
    end_to_end_id: str
    reference: str  # the instalment's payment reference, sent as the remittance text


def _business(day: date, closed: frozenset[date]) -> bool:
    return day.weekday() < 5 and day not in closed


def next_business_day(day: date, closed: frozenset[date]) -> date:
    """``day`` itself when TARGET is open that day, else the next day it is."""
    while not _business(day, closed):
        day += timedelta(days=1)
    return day


def earliest_collection(today: date, lead_days: int, closed: frozenset[date]) -> date:
    """The first collection date a file made ``today`` can ask for: ``lead_days`` TARGET days later."""
    day = today
    for _ in range(max(lead_days, 0)):
        day = next_business_day(day + timedelta(days=1), closed)
    return next_business_day(day, closed) if lead_days <= 0 else day


_COLLECTABLE = frozenset({InstalmentStatus.SCHEDULED, InstalmentStatus.REMINDED, InstalmentStatus.PARTIAL,
                          InstalmentStatus.MISSED})


def due_collections(
    plan: Arrangement,
    mandate: Mandate,
    *,
    today: date,
    collected: Iterable[int],
    mandate_used: bool,
    lead_days: int,
    prenotification_days: int,
    days_ahead: int,
    closed: frozenset[date],
) -> list[Collection]:
    """The instalments of ``plan`` a file made ``today`` collects (see the module docstring).

    ``collected``: numbers of instalments already in a collection file (never collected twice);
    ``mandate_used``: an earlier collection went out under the mandate (so none is FRST).
    """
    if plan.status != ArrangementStatus.ACTIVE or mandate.status != MandateStatus.ACTIVE:
        return []
    done = set(collected)
    earliest = earliest_collection(today, lead_days, closed)
    told = next_business_day(mandate.signed_on + timedelta(days=prenotification_days), closed)
    found: list[Collection] = []
    used = mandate_used
    candidates: Sequence[Instalment] = sorted(plan.instalments, key=lambda i: (i.due_date, i.number))
    for item in candidates:
        if item.number in done or item.status not in _COLLECTABLE or item.open <= 0:
            continue
        wanted = next_business_day(max(item.due_date, told), closed)
        if wanted > earliest + timedelta(days=max(days_ahead, 0)):
            continue
        found.append(
            Collection(
                plan.plan_id,
                item.number,
                item.open,
                max(wanted, earliest),
                SequenceType.RECURRING if used else SequenceType.FIRST,
                end_to_end_id(plan.plan_id, item.number),
                item.reference,
            )
        )
        used = True
    return found
