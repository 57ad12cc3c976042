"""The version-independent camt model: immutable records and their JSON form.

Statement (Stmt / Rpt / Ntfctn) -> Entry (Ntry) -> Transaction (TxDtls).
Amounts are ``Decimal`` exactly as written (``"18.150"`` stays ``18.150``),
always positive; the direction is ``credit_debit`` (``CRDT``/``DBIT``).
``to_dict`` gives the JSON shape of ``python -m camt --json`` (amounts as strings).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from camt.references import Reference

CreditDebit = Literal["CRDT", "DBIT"]
BalanceStatus = Literal["ok", "mismatch", "unverifiable"]
StatementKind = Literal["Stmt", "Rpt", "Ntfctn"]


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True, slots=True)
class Problem:
    """One record that could not be read; reported beside the results, never raised."""

    message: str
    line: int | None = None
    path: str | None = None
    value: str | None = None
    #: the whole entry was left out (its payments are missing from the statement)
    entry_skipped: bool = False

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        where += f"{self.path}: " if self.path else ""
        tail = f" (value {self.value!r})" if self.value is not None else ""
        return f"{where}{self.message}{tail}"

    def to_dict(self) -> dict[str, object]:
        return {"message": self.message, "line": self.line, "path": self.path, "value": self.value}


@dataclass(frozen=True, slots=True)
class Party:
    """A debtor, creditor or ultimate party: name, account (IBAN or other id) and agent BIC."""

    name: str | None = None
    iban: str | None = None
    other_id: str | None = None
    bic: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "iban": self.iban, "other_id": self.other_id, "bic": self.bic}


NO_PARTY = Party()


@dataclass(frozen=True, slots=True)
class Charge:
    """One charges record (Chrgs/Rcrd, or a v02 Chrgs). ``included``: ChrgInclInd (None if absent)."""

    amount: Decimal
    currency: str | None
    credit_debit: CreditDebit | None
    included: bool | None = None
    type: str | None = None
    bearer: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "amount": _amount(self.amount),
            "currency": self.currency,
            "credit_debit": self.credit_debit,
            "included": self.included,
            "type": self.type,
            "bearer": self.bearer,
        }


@dataclass(frozen=True, slots=True)
class Balance:
    """A statement balance (OPBD, PRCD, CLBD, ITBD, CLAV, FWAV, ...)."""

    type: str
    amount: Decimal
    currency: str | None
    credit_debit: CreditDebit
    date: date | None

    @property
    def signed(self) -> Decimal:
        return self.amount if self.credit_debit == "CRDT" else -self.amount

    def to_dict(self) -> dict[str, object]:
        return {
            "type": self.type,
            "amount": _amount(self.amount),
            "currency": self.currency,
            "credit_debit": self.credit_debit,
            "date": _iso(self.date),
        }


@dataclass(frozen=True, slots=True)
class BalanceCheck:
    """Opening (OPBD, else PRCD) + booked credits - booked debits = closing (CLBD).

    ``difference`` = opening + credits - debits - closing (0 when ``ok``).
    ``explanation`` says what accounts for a mismatch when the reader can tell
    (entries booked but value-dated after the closing date, the PostFinance case).
    """

    status: BalanceStatus
    opening: Decimal | None = None
    closing: Decimal | None = None
    booked_credits: Decimal = Decimal(0)
    booked_debits: Decimal = Decimal(0)
    difference: Decimal | None = None
    reason: str | None = None
    explanation: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "opening": _amount(self.opening),
            "closing": _amount(self.closing),
            "booked_credits": _amount(self.booked_credits),
            "booked_debits": _amount(self.booked_debits),
            "difference": _amount(self.difference),
            "reason": self.reason,
            "explanation": self.explanation,
        }


@dataclass(frozen=True, slots=True)
class Transaction:
    """One TxDtls: the unit a payment is matched on.

    ``amount`` comes from TxDtls/Amt, else AmtDtls/TxAmt/Amt, else the entry amount
    when the entry has exactly one TxDtls (``amount_source`` says which); None if
    none of these exist (never InstdAmt, never invented). ``instructed_*`` is
    AmtDtls/InstdAmt, what the payer ordered; ``counter_value_*`` is AmtDtls/CntrValAmt;
    the exchange rate comes from the CcyXchg of InstdAmt, else TxAmt, else CntrValAmt.
    Identifiers equal to NOTPROVIDED/NONREF (any case) are None.
    """

    amount: Decimal | None
    currency: str | None
    credit_debit: CreditDebit
    amount_source: str | None = None
    instructed_amount: Decimal | None = None
    instructed_currency: str | None = None
    counter_value_amount: Decimal | None = None
    counter_value_currency: str | None = None
    exchange_rate: Decimal | None = None
    source_currency: str | None = None
    target_currency: str | None = None
    reference: Reference | None = None
    references: tuple[Reference, ...] = ()
    text_references: tuple[Reference, ...] = ()
    remittance_lines: tuple[str, ...] = ()
    additional_remittance: tuple[str, ...] = ()
    referred_documents: tuple[str, ...] = ()
    end_to_end_id: str | None = None
    instruction_id: str | None = None
    transaction_id: str | None = None
    mandate_id: str | None = None
    payment_information_id: str | None = None
    bank_reference: str | None = None
    uetr: str | None = None
    proprietary_reference: str | None = None
    debtor: Party = NO_PARTY
    ultimate_debtor: Party = NO_PARTY
    creditor: Party = NO_PARTY
    ultimate_creditor: Party = NO_PARTY
    return_reason: str | None = None
    return_info: tuple[str, ...] = ()
    charges: tuple[Charge, ...] = ()
    bank_transaction_code: str | None = None
    additional_info: str | None = None

    @property
    def remittance(self) -> str | None:
        """The Ustrd lines, each stripped, joined with one space (raw lines: ``remittance_lines``)."""
        lines = [line.strip() for line in self.remittance_lines if line.strip()]
        return " ".join(lines) if lines else None

    @property
    def counterparty(self) -> Party:
        """The other side: the debtor of a credit, the creditor of a debit."""
        return self.debtor if self.credit_debit == "CRDT" else self.creditor

    def to_dict(self) -> dict[str, object]:
        return {
            "amount": _amount(self.amount),
            "currency": self.currency,
            "credit_debit": self.credit_debit,
            "amount_source": self.amount_source,
            "instructed_amount": _amount(self.instructed_amount),
            "instructed_currency": self.instructed_currency,
            "counter_value_amount": _amount(self.counter_value_amount),
            "counter_value_currency": self.counter_value_currency,
            "exchange_rate": _amount(self.exchange_rate),
            "source_currency": self.source_currency,
            "target_currency": self.target_currency,
            "reference": None if self.reference is None else self.reference.to_dict(),
            "other_references": [r.to_dict() for r in self.references[1:]],
            "text_references": [r.to_dict() for r in self.text_references],
            "remittance": self.remittance,
            "remittance_lines": list(self.remittance_lines),
            "additional_remittance": list(self.additional_remittance),
            "referred_documents": list(self.referred_documents),
            "end_to_end_id": self.end_to_end_id,
            "instruction_id": self.instruction_id,
            "transaction_id": self.transaction_id,
            "mandate_id": self.mandate_id,
            "payment_information_id": self.payment_information_id,
            "bank_reference": self.bank_reference,
            "uetr": self.uetr,
            "proprietary_reference": self.proprietary_reference,
            "debtor": self.debtor.to_dict(),
            "ultimate_debtor": self.ultimate_debtor.to_dict(),
            "creditor": self.creditor.to_dict(),
            "ultimate_creditor": self.ultimate_creditor.to_dict(),
            "return_reason": self.return_reason,
            "return_info": list(self.return_info),
            "charges": [c.to_dict() for c in self.charges],
            "bank_transaction_code": self.bank_transaction_code,
            "additional_info": self.additional_info,
        }


@dataclass(frozen=True, slots=True)
class Entry:
    """One Ntry (a booking on the account), with its transactions (one per TxDtls).

    ``status`` is BOOK/PDNG/INFO (from ``Sts`` or v08+ ``Sts/Cd``), None when
    missing. ``flags``: ``status_missing``, ``batch_inconsistent`` (the
    transactions do not add up to the entry), ``awaiting_details`` (Btch/NbOfTxs
    announces more transactions than the file details).
    """

    amount: Decimal
    currency: str | None
    credit_debit: CreditDebit
    status: str | None
    reversal: bool = False
    booking_date: date | None = None
    value_date: date | None = None
    booking_datetime: datetime | None = None
    value_datetime: datetime | None = None
    bank_reference: str | None = None
    entry_reference: str | None = None
    bank_transaction_code: str | None = None
    batch_count: int | None = None
    batch_payment_information_id: str | None = None
    charges: tuple[Charge, ...] = ()
    additional_info: str | None = None
    transactions: tuple[Transaction, ...] = ()
    flags: tuple[str, ...] = ()
    line: int | None = None

    @property
    def booked(self) -> bool:
        """Only a booked entry may clear an invoice."""
        return self.status == "BOOK"

    @property
    def signed_amount(self) -> Decimal:
        return self.amount if self.credit_debit == "CRDT" else -self.amount

    def to_dict(self) -> dict[str, object]:
        return {
            "amount": _amount(self.amount),
            "currency": self.currency,
            "credit_debit": self.credit_debit,
            "status": self.status,
            "reversal": self.reversal,
            "booking_date": _iso(self.booking_date),
            "value_date": _iso(self.value_date),
            "booking_datetime": _iso(self.booking_datetime),
            "value_datetime": _iso(self.value_datetime),
            "bank_reference": self.bank_reference,
            "entry_reference": self.entry_reference,
            "bank_transaction_code": self.bank_transaction_code,
            "batch_count": self.batch_count,
            "batch_payment_information_id": self.batch_payment_information_id,
            "charges": [c.to_dict() for c in self.charges],
            "additional_info": self.additional_info,
            "flags": list(self.flags),
            "line": self.line,
            "transactions": [t.to_dict() for t in self.transactions],
        }


@dataclass(frozen=True, slots=True)
class Account:
    """The statement's account: IBAN or other id (Othr/Id, v01 PrtryAcct/Id), currency, names."""

    iban: str | None = None
    other_id: str | None = None
    currency: str | None = None
    name: str | None = None
    owner: str | None = None
    servicer_bic: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "iban": self.iban,
            "other_id": self.other_id,
            "currency": self.currency,
            "name": self.name,
            "owner": self.owner,
            "servicer_bic": self.servicer_bic,
        }


@dataclass(frozen=True, slots=True)
class StatementHeader:
    """What is known about a Stmt/Rpt/Ntfctn before its entries: ids, dates, account."""

    kind: StatementKind
    id: str | None
    account: Account
    created: datetime | None = None
    from_datetime: datetime | None = None
    to_datetime: datetime | None = None
    electronic_sequence: str | None = None
    legal_sequence: str | None = None
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Statement:
    """A whole Stmt/Rpt/Ntfctn. From :func:`camt.iter_events` it comes with ``entries=()``
    (they were streamed); :func:`camt.read` and :func:`camt.iter_statements` fill them in."""

    header: StatementHeader
    balances: tuple[Balance, ...]
    balance_check: BalanceCheck
    entry_count: int
    entries: tuple[Entry, ...] = ()
    problems: tuple[Problem, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def id(self) -> str | None:
        return self.header.id

    @property
    def account(self) -> Account:
        return self.header.account

    def to_dict(self) -> dict[str, object]:
        h = self.header
        return {
            "id": h.id,
            "kind": h.kind,
            "account": h.account.to_dict(),
            "created": _iso(h.created),
            "from": _iso(h.from_datetime),
            "to": _iso(h.to_datetime),
            "electronic_sequence": h.electronic_sequence,
            "legal_sequence": h.legal_sequence,
            "balance_check": self.balance_check.status,
            "balance_proof": self.balance_check.to_dict(),
            "balances": [b.to_dict() for b in self.balances],
            "entry_count": self.entry_count,
            "problems": [p.to_dict() for p in self.problems],
            "warnings": list(self.warnings),
            "entries": [e.to_dict() for e in self.entries],
        }


@dataclass(frozen=True, slots=True)
class MessageInfo:
    """The message as a whole: ``camt.053.001.02``, the namespace, GrpHdr ids, file-level warnings."""

    file: str
    message: str
    namespace: str | None
    message_id: str | None = None
    created: datetime | None = None
    additional_info: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def message_type(self) -> str:
        """``camt.053`` of ``camt.053.001.02``."""
        return self.message[:8]


@dataclass(frozen=True, slots=True)
class CamtFile:
    """A whole camt file, read with :func:`camt.read`.

    ``validation_errors`` is None unless validation was asked for; ``schema_valid`` is then
    True/False, or None when no schema applied (no namespace, no XSD, unseekable stream).
    """

    info: MessageInfo
    statements: tuple[Statement, ...] = field(default_factory=tuple)
    validation_errors: tuple[str, ...] | None = None
    schema_valid: bool | None = None

    @property
    def file(self) -> str:
        return self.info.file

    @property
    def message(self) -> str:
        return self.info.message

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.info.warnings

    def entries(self) -> list[Entry]:
        return [e for s in self.statements for e in s.entries]

    def to_dict(self) -> dict[str, object]:
        result: dict[str, object] = {
            "file": self.info.file,
            "message": self.info.message,
            "namespace": self.info.namespace,
            "message_id": self.info.message_id,
            "created": _iso(self.info.created),
            "additional_info": self.info.additional_info,
            "warnings": list(self.info.warnings),
        }
        if self.validation_errors is not None:
            result["schema_valid"] = self.schema_valid
            result["schema_errors"] = list(self.validation_errors)
        result["statements"] = [s.to_dict() for s in self.statements]
        return result

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)
