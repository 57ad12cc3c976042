"""The legal mentions of a message, whichever channel carries it (letter, email, SMS).

From an action's ``detail`` as the planner recorded it and the debtor's rule pack:

* the **rule pack** is the pack of the first rule (``BE-consumer: ...`` → ``BE``), else the one of the
  debtor's country and type;
* the **deadline** is computed once per action by the pack (:meth:`LegalPack.payment_deadline`),
  from the day the message goes out and its channel: Book XIX 14 days from the 3rd working day
  after posting or from the day after an email, WIK 14 days from the day after presumed receipt,
  otherwise the step's ``deadline_days`` (default 14) from the day after sending; the first legal
  notice (the planner's ``required_fields``) gets at least the law's period. It is the last
  day to pay, included, and never earlier than the day before the planner's ``earliest_legal_date``
  (costs may start that day). A letter, an email and an SMS of one action print this one date;
* the **damages** are the figure ``penalty_clause_amount`` (BE Book XIX) or
  ``collection_costs_amount`` (NL WIK).

A letter prints these (:mod:`dunning.usecases.letters.data`); an email and an SMS say the deadline,
and an email to a Belgian consumer the Book XIX mentions too (:mod:`dunning.usecases.messaging.compose`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from dunning.domain.legal import ALL_PACKS, DebtorType, LegalPack, select_pack
from dunning.domain.legal.base import Deadline
from dunning.domain.planning.actions import Channel
from dunning.letters.model import LegalMentions

__all__ = [
    "DAMAGES_FIGURES",
    "RULE_PACKS",
    "action_deadline",
    "announced_costs",
    "deadline_floor",
    "legal_mentions",
    "pack_for",
]

#: the figure that holds the damages claimed if the deadline passes, per rule pack
DAMAGES_FIGURES = ("penalty_clause_amount", "collection_costs_amount")
RULE_PACKS = ("BE", "NL", "DE", "EU")


def _decimal(value: object) -> Decimal | None:
    try:
        return None if value is None else Decimal(str(value))
    except InvalidOperation:
        return None


def _pack_of(detail: Mapping[str, Any]) -> LegalPack | None:
    for rule in detail.get("rules") or ():
        code = str(rule).split(":", 1)[0].strip()
        for pack in ALL_PACKS:
            if pack.code == code:
                return pack
    return None


def pack_for(detail: Mapping[str, Any] | None, country: str | None, consumer: bool) -> LegalPack:
    """The action's rule pack (its first rule's), else the one of the debtor's country and type."""
    found = _pack_of(detail or {})
    if found is not None:
        return found
    return select_pack((country or "").strip() or "-", DebtorType.CONSUMER if consumer else DebtorType.BUSINESS)


def action_deadline(detail: Mapping[str, Any] | None, *, country: str | None, consumer: bool, sent_on: date,
                    channel: str, pay_days: int | None) -> Deadline:
    """The one deadline of an action whose message goes out on ``sent_on`` (see the module docstring)."""
    detail = detail or {}
    pack = pack_for(detail, country, consumer)
    try:
        via = Channel(channel)
    except ValueError:
        via = Channel.LETTER
    # The planner marks the case's first legal notice with its mandatory mentions: the law's minimum applies to it.
    deadline = pack.payment_deadline(sent_on, via, pay_days, legal_notice=bool(detail.get("required_fields")))
    earliest = detail.get("earliest_legal_date")
    if earliest:
        promised = date.fromisoformat(str(earliest)) - timedelta(days=1)
        if promised > deadline.day:  # never fewer days than the planner counted on
            deadline = replace(deadline, day=promised, days=(promised - deadline.starts).days + 1)
    return deadline


def announced_costs(detail: Mapping[str, Any] | None) -> Decimal | None:
    """The collection costs a notice announced (its ``collection_costs_amount`` figure: the WIK letter's
    exact amount, which the letter prints and which is the most that may be charged), else None."""
    for figure in (detail or {}).get("figures") or ():
        if figure and figure.get("name") == "collection_costs_amount":
            return _decimal(figure.get("amount"))
    return None


def deadline_floor(detail: Mapping[str, Any] | None) -> date | None:
    """The day before which pacing never ends a notice's deadline: the later of the deadline its message
    printed (``deadline`` in the action's detail, written when its letter is rendered or its email or SMS
    sent) and the day before the planner's ``earliest_legal_date`` (which :func:`action_deadline` honours)."""
    floors: list[date] = []
    for key, shift in (("deadline", 0), ("earliest_legal_date", 1)):
        value = (detail or {}).get(key)
        if not value:
            continue
        try:
            floors.append(date.fromisoformat(str(value)) - timedelta(days=shift))
        except ValueError:
            continue
    return max(floors, default=None)


def legal_mentions(detail: Mapping[str, Any] | None, *, consumer: bool, letter_date: date, planned_on: date,
                   pay_days: int, channel: str = "letter", country: str | None = None) -> LegalMentions:
    """The legal mentions from an action's ``detail`` (see the module docstring)."""
    detail = detail or {}
    pack = ""
    for rule in detail.get("rules") or ():
        prefix = str(rule).split(":", 1)[0].split("-", 1)[0].strip().upper()
        if prefix in RULE_PACKS:
            pack = prefix
            break
    figures = {str(f.get("name")): _decimal(f.get("amount")) for f in detail.get("figures") or () if f}
    damages = next((figures[name] for name in DAMAGES_FIGURES if figures.get(name) is not None), None)
    period = figures.get("payment_period_days")
    deadline = action_deadline(detail, country=country, consumer=consumer, sent_on=letter_date, channel=channel,
                               pay_days=pay_days)
    return LegalMentions(rule_pack=pack, deadline=deadline.day, damages_if_unpaid=damages,
                         period_days=int(period) if period is not None else 14, consumer=consumer,
                         period_start=deadline.starts)
