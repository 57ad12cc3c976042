"""The legal mentions of a first legal notice, whichever channel carries it (letter or email).

From an action's ``detail`` as the planner recorded it:

* the **rule pack** is the prefix of the first rule (``BE-consumer: ...`` → ``BE``);
* the **deadline** is the day before ``earliest_legal_date`` (costs may start that day, so the
  debtor has until the day before); when the message goes out later than planned, the day before
  the pack's earliest cost date counted from the real sending day if that is later (never fewer
  days than the law gives: a letter's period starts the 3rd working day after posting, an email's
  the calendar day after it is sent). Without a legal date the deadline is the sending day plus
  the step's ``deadline_days`` (default 14);
* the **damages** are the figure ``penalty_clause_amount`` (BE Book XIX) or
  ``collection_costs_amount`` (NL WIK).

A letter prints these (:mod:`dunning.usecases.letters.data`); an email to a Belgian consumer says
them too (:mod:`dunning.usecases.messaging.compose`), so both read them here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from dunning.domain.legal import ALL_PACKS, LegalPack
from dunning.domain.planning.actions import Channel
from dunning.letters.model import LegalMentions

__all__ = ["DAMAGES_FIGURES", "RULE_PACKS", "legal_mentions"]

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


def legal_mentions(detail: Mapping[str, Any] | None, *, consumer: bool, letter_date: date, planned_on: date,
                   pay_days: int, channel: str = "letter") -> LegalMentions:
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
    earliest = detail.get("earliest_legal_date")
    if earliest:
        deadline = date.fromisoformat(str(earliest)) - timedelta(days=1)
        pack_obj = _pack_of(detail)
        if pack_obj is not None and letter_date > planned_on:
            # Posted later than planned: the period counts from the real posting day.
            real = pack_obj.earliest_cost_date(letter_date, Channel(channel)) - timedelta(days=1)
            deadline = max(deadline, real)
        elif letter_date > planned_on:
            deadline += letter_date - planned_on
    else:
        deadline = letter_date + timedelta(days=pay_days)
    return LegalMentions(rule_pack=pack, deadline=deadline, damages_if_unpaid=damages,
                         period_days=int(period) if period is not None else 14, consumer=consumer)
