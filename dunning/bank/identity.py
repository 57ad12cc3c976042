"""Identities of a payment beyond the bank's own references (see :mod:`dunning.bank.read`).

A bank may report one credit in its camt.052, camt.053 and camt.054 under different references;
the payer's EndToEndId, and where the bank gives no reference at all the payer and the day,
still tell that it is one payment.
"""

from __future__ import annotations

from datetime import date

from camt import Party

__all__ = ["PARTY_MARK", "same_payment"]

#: The mark of a referenced payment's counterparty identity: registered, never looked up by another
#: referenced payment (see :func:`same_payment`).
PARTY_MARK = "|party:"


def same_payment(
    base: str, booked_on: date, e2e: str | None, party: Party | None, has_bank_identity: bool
) -> tuple[list[str], list[str]]:
    """Identities beyond the bank's references: (registered and looked up, only looked up).

    The payer's EndToEndId with the booking date is one whatever else the bank gives: a camt.052
    and a camt.053 that give the same credit other bank references still share it. The counterparty
    (its IBAN, else its name) with the booking date is one only where a bank gives no reference: a
    line without one registers ``anon:`` and finds both forms; a line with references registers
    ``party:`` and finds only ``anon:``, so two referenced payments of one amount on one day from one
    payer stay two.
    """
    also = [f"{base}|pay:e2e:{e2e}|{booked_on.isoformat()}"] if e2e else []
    who = (party.iban or (party.name or "").strip().upper()) if party is not None else ""
    if not who:
        return also, []
    anon = f"{base}|anon:{booked_on.isoformat()}|{who}"
    named = f"{base}{PARTY_MARK}{booked_on.isoformat()}|{who}"
    if has_bank_identity:
        return [*also, named], [anon]
    return [*also, anon], [named]
