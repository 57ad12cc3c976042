"""What one camt entry says, read field by field: its status, the payer's text, whether it is a collective
booking, its booking date and charges, and the spelling of amounts and identities.

Split from :mod:`dunning.bank.read` (moves only), which builds the bank lines of a file from these.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from decimal import Decimal

from camt import Charge, Entry, Transaction
from dunning.domain.matching.match import CreditDebit, EntryStatus
from dunning.domain.matching.model import NOT_PROVIDED, BankCharge

__all__ = [
    "amount_text",
    "bare_detail",
    "booking_date",
    "charges",
    "clip",
    "collective_kind",
    "entry_status",
    "remittance",
    "usable",
]

_PENDING = {"PDNG": EntryStatus.PDNG, "FUTR": EntryStatus.PDNG}

# PostFinance marks its collective bookings in AddtlNtryInf ("SAMMELGUTSCHRIFT ESR VERARBEITUNG VOM
# 24.04.2019 KUNDENNUMMER 01-429580-3 PAKET ID: 180316CH00000UR0"), whatever the BkTxCd says.
_COLLECTIVE_TEXT = re.compile(r"\bSAMMEL(?:GUTSCHRIFT|LASTSCHRIFT)\b|\bPAKET\s+ID\b", re.IGNORECASE)


def amount_text(value: Decimal) -> str:
    """``18.150`` → ``18.15``, ``100`` → ``100.00``: one spelling per amount."""
    text = format(value.normalize(), "f")
    if "." not in text:
        return text + ".00"
    whole, frac = text.split(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def usable(value: str | None) -> str | None:
    """An identifier that can serve as an identity (never a placeholder such as NOTPROVIDED/NONREF)."""
    if value is None:
        return None
    value = value.strip()
    return None if value.upper() in NOT_PROVIDED else value


def clip(text: str, limit: int) -> str:
    """Keep an identity within its column: long ones keep a readable head and a hash of the whole."""
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    return f"{text[: limit - 34]}#{digest}"


def entry_status(entry: Entry, message_type: str) -> tuple[EntryStatus, str | None]:
    code = (entry.status or "").upper()
    if code == "BOOK":
        return EntryStatus.BOOK, None
    if code in _PENDING:
        return _PENDING[code], None
    if not code:
        if message_type == "camt.053":
            return EntryStatus.BOOK, "status missing in a statement: taken as booked"
        return EntryStatus.INFO, f"status missing in a {message_type}: taken as information only"
    if code != "INFO":
        return EntryStatus.INFO, f"unknown entry status {entry.status!r}: taken as information only"
    return EntryStatus.INFO, None


def remittance(tx: Transaction | None, entry: Entry) -> str:
    """The free text a payer wrote: Ustrd lines, AddtlRmtInf, referred document numbers."""
    parts: list[str] = []
    if tx is not None:
        if tx.remittance:
            parts.append(tx.remittance)
        parts.extend(p.strip() for p in tx.additional_remittance if p.strip())
        parts.extend(p.strip() for p in tx.referred_documents if p.strip())
        if not parts and tx.additional_info:
            parts.append(tx.additional_info.strip())
    if not parts and entry.additional_info and len(entry.transactions) <= 1:
        parts.append(entry.additional_info.strip())
    return " ".join(parts)


def bare_detail(tx: Transaction, entry: Entry) -> bool:
    """A TxDtls that only repeats its entry (amount, bank reference): no payer, reference or text.

    PostFinance's camt.053 gives its collective credits one such detail
    (``<TxDtls><Refs><AcctSvcrRef>`` = the entry's, ``<Amt>`` = the entry's).
    """
    own_ref = usable(tx.bank_reference)
    return (
        tx.reference is None
        and not tx.references
        and not tx.remittance_lines
        and not tx.additional_remittance
        and usable(tx.end_to_end_id) is None
        and not (tx.debtor.name or tx.debtor.iban or tx.ultimate_debtor.name)
        and not (tx.creditor.name or tx.creditor.iban)
        and tx.amount in (None, entry.amount)
        and own_ref in (None, usable(entry.bank_reference))
    )


def collective_kind(entry: Entry, status: EntryStatus) -> str | None:
    """``collective`` (a collective booking without details), ``batch`` (a detailed batch) or None.

    A booked entry is collective when the bank says it is (``BkTxCd`` sub-family ``VCOM``,
    PostFinance's "SAMMELGUTSCHRIFT … PAKET ID" text, ``Btch/NbOfTxs`` above 1) and it carries no
    details beyond its own amount, or when it announces more transactions than it details (AC-08).
    It is a detailed batch when it has such a mark (or any ``Btch``) or several details, and the
    details add up to it.
    """
    if status is not EntryStatus.BOOK:
        return None
    txs = entry.transactions
    code = (entry.bank_transaction_code or "").upper()
    marked = code.endswith("/VCOM") or bool(entry.additional_info and _COLLECTIVE_TEXT.search(entry.additional_info))
    if len(txs) <= 1 and "awaiting_details" in entry.flags:
        return "collective"
    # A batch of one (Btch/NbOfTxs = 1) with a bare detail is that one payment, told without details.
    if (marked or (entry.batch_count or 0) > 1) and (not txs or (len(txs) == 1 and bare_detail(txs[0], entry))):
        return "collective"
    if not txs or not (marked or entry.batch_count is not None or len(txs) > 1) or "awaiting_details" in entry.flags:
        return None
    currency = entry.currency
    if any(t.amount is None or (t.currency or currency) != currency for t in txs):
        return None
    total = sum(
        ((t.amount or 0) if t.credit_debit == entry.credit_debit else -(t.amount or 0) for t in txs), Decimal(0)
    )
    return "batch" if total == entry.amount else None


def booking_date(entry: Entry, fallback: date) -> date:
    if entry.booking_date is not None:
        return entry.booking_date
    if entry.booking_datetime is not None:
        return entry.booking_datetime.date()
    return entry.value_date or fallback


def charges(entry: Entry, tx: Transaction | None, in_entry: int) -> tuple[BankCharge, ...]:
    """The transaction's charges records (``TxDtls/Chrgs``), else the entry's when it books one payment."""
    records: tuple[Charge, ...] = tx.charges if tx is not None and tx.charges else ()
    if not records and in_entry == 1:
        records = entry.charges
    return tuple(
        BankCharge(
            c.amount,
            c.currency,
            c.included,
            c.bearer,
            None if c.credit_debit is None else CreditDebit(c.credit_debit),
        )
        for c in records
    )
