"""Build small camt.052 / camt.053 / camt.054 (version .001.08) documents: for tests and demos.

The reader never needs this; it exists so tests, benchmarks and ``dunning demo`` can make bank
files that pay given references, with the structure real banks use (one transaction per entry,
a structured creditor reference in ``RmtInf/Strd/CdtrRefInf``, free text in ``Ustrd``), and
collective entries (:class:`Collective`: the day's QR/ESR payments booked as one entry, detailed
under ``Btch`` as in a PostFinance camt.054, or only their total as in its camt.053)::

    >>> xml = build_camt("054", [Payment("100.00", ref="+++000/0000/10101+++")], day=date(2026, 11, 20),
    ...                  account="BE68539007547034")
    >>> b"<Ref>+++000/0000/10101+++</Ref>" in xml
    True

The output is valid against the ISO 20022 XSDs (the test suite checks it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from lxml import etree

__all__ = ["Collective", "Payment", "build_camt"]

_ROOT = {
    "052": ("BkToCstmrAcctRpt", "Rpt"),
    "053": ("BkToCstmrStmt", "Stmt"),
    "054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn"),
}


@dataclass(frozen=True)
class Payment:
    """One transaction: a credit by default. ``ref`` goes to CdtrRefInf (SCOR, issuer BBA or ISO)."""

    amount: str
    ref: str | None = None
    text: str | None = None
    name: str | None = None
    iban: str | None = None
    direction: str = "CRDT"
    status: str = "BOOK"
    bank_ref: str | None = None  # Ntry/AcctSvcrRef (and TxDtls/Refs/AcctSvcrRef when tx_ref is True)
    tx_ref: bool = False
    end_to_end: str = "NOTPROVIDED"
    return_reason: str | None = None
    instructed: str | None = None  # AmtDtls/InstdAmt: what the payer ordered (a return with a fee, charges taken)
    charges: str | None = None  # TxDtls/Chrgs/Rcrd/Amt: what banks took (ChrgInclInd true, CdtDbtInd DBIT)
    charge_bearer: str | None = None  # Chrgs/Rcrd/Br: DEBT, CRED, SHAR or SLEV
    currency: str = "EUR"
    reversal: bool = False
    booked_on: date | None = None
    extra_texts: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Collective:
    """One collective entry booking ``payments`` (credits) together, modelled on PostFinance's files.

    With ``details`` the entry carries ``Btch/NbOfTxs`` and one ``TxDtls`` per payment (camt.054);
    without, one ``TxDtls`` that only repeats the total and ``bank_ref`` (camt.053). ``entry_ref`` is
    ``NtryRef`` (PostFinance: the QR-IBAN or ESR participant number), ``info`` ``AddtlNtryInf``
    (``SAMMELGUTSCHRIFT … PAKET ID: …``). A 27-digit payment ``ref`` is written as ``Prtry=QRR``.
    """

    payments: tuple[Payment, ...]
    bank_ref: str | None = None
    entry_ref: str | None = None
    info: str | None = None
    details: bool = True
    booked_on: date | None = None
    sub_family: str = "VCOM"
    count: int | None = None  # without details: Btch/NbOfTxs announcing the transactions (a summary)

    @property
    def amount(self) -> str:
        return f"{sum((Decimal(p.amount) for p in self.payments), Decimal(0)):.2f}"


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, tag, **attrs)
    if text is not None:
        element.text = text
    return element


def _issuer(ref: str) -> str:
    return "ISO" if ref.upper().startswith("RF") else "BBA"


def build_camt(
    kind: str, payments: Sequence[Payment | Collective], *, day: date, account: str, msg_id: str = "MSG-1"
) -> bytes:
    """A camt.05x.001.08 document with one statement/report/notification holding ``payments``."""
    ns = f"urn:iso:std:iso:20022:tech:xsd:camt.{kind}.001.08"
    root_tag, block_tag = _ROOT[kind]
    document = etree.Element(f"{{{ns}}}Document", nsmap={None: ns})
    root = _sub(document, root_tag)
    header = _sub(root, "GrpHdr")
    _sub(header, "MsgId", msg_id)
    _sub(header, "CreDtTm", f"{day.isoformat()}T18:00:00+01:00")
    block = _sub(root, block_tag)
    _sub(block, "Id", f"{msg_id}-1")
    _sub(block, "CreDtTm", f"{day.isoformat()}T18:00:00+01:00")
    acct = _sub(block, "Acct")
    _sub(_sub(acct, "Id"), "IBAN", account)
    _sub(acct, "Ccy", "EUR")
    if kind == "053":
        booked = [p for p in payments if isinstance(p, Collective) or p.status == "BOOK"]
        credits = sum(
            (Decimal(p.amount) for p in booked if isinstance(p, Collective) or p.direction == "CRDT"), Decimal(0)
        )
        debits = sum(
            (Decimal(p.amount) for p in booked if isinstance(p, Payment) and p.direction == "DBIT"), Decimal(0)
        )
        for code, amount in (("OPBD", Decimal("1000.00")), ("CLBD", Decimal("1000.00") + credits - debits)):
            bal = _sub(block, "Bal")
            _sub(_sub(_sub(bal, "Tp"), "CdOrPrtry"), "Cd", code)
            _sub(bal, "Amt", f"{amount:.2f}", Ccy="EUR")
            _sub(bal, "CdtDbtInd", "CRDT")
            _sub(_sub(bal, "Dt"), "Dt", day.isoformat())
    for number, p in enumerate(payments, start=1):
        if isinstance(p, Collective):
            _collective(block, p, day)
        else:
            _entry(block, p, day, number)
    xml: bytes = etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return xml


def _entry(block: etree._Element, p: Payment, day: date, number: int) -> None:
    booked = (p.booked_on or day).isoformat()
    entry = _sub(block, "Ntry")
    _sub(entry, "Amt", p.amount, Ccy=p.currency)
    _sub(entry, "CdtDbtInd", p.direction)
    if p.reversal:
        _sub(entry, "RvslInd", "true")
    _sub(_sub(entry, "Sts"), "Cd", p.status)
    if p.status == "BOOK":
        _sub(_sub(entry, "BookgDt"), "Dt", booked)
    _sub(_sub(entry, "ValDt"), "Dt", booked)
    if p.bank_ref:
        _sub(entry, "AcctSvcrRef", p.bank_ref)
    family = "RDDT" if p.return_reason else "RCDT"
    domain = _sub(_sub(entry, "BkTxCd"), "Domn")
    _sub(domain, "Cd", "PMNT")
    fmly = _sub(domain, "Fmly")
    _sub(fmly, "Cd", family)
    _sub(fmly, "SubFmlyCd", "UPDD" if p.return_reason else "ESCT")
    _transaction(_sub(entry, "NtryDtls"), p)


def _collective(block: etree._Element, c: Collective, day: date) -> None:
    booked = (c.booked_on or day).isoformat()
    entry = _sub(block, "Ntry")
    if c.entry_ref:
        _sub(entry, "NtryRef", c.entry_ref)
    _sub(entry, "Amt", c.amount, Ccy="EUR")
    _sub(entry, "CdtDbtInd", "CRDT")
    _sub(_sub(entry, "Sts"), "Cd", "BOOK")
    _sub(_sub(entry, "BookgDt"), "Dt", booked)
    _sub(_sub(entry, "ValDt"), "Dt", booked)
    if c.bank_ref:
        _sub(entry, "AcctSvcrRef", c.bank_ref)
    domain = _sub(_sub(entry, "BkTxCd"), "Domn")
    _sub(domain, "Cd", "PMNT")
    fmly = _sub(domain, "Fmly")
    _sub(fmly, "Cd", "RCDT")
    _sub(fmly, "SubFmlyCd", c.sub_family)
    details = _sub(entry, "NtryDtls")
    if c.details:
        _sub(_sub(details, "Btch"), "NbOfTxs", str(len(c.payments)))
        for p in c.payments:
            _transaction(details, p)
    else:
        if c.count is not None:
            _sub(_sub(details, "Btch"), "NbOfTxs", str(c.count))
        tx = _sub(details, "TxDtls")
        if c.bank_ref:
            _sub(_sub(tx, "Refs"), "AcctSvcrRef", c.bank_ref)
        _sub(tx, "Amt", c.amount, Ccy="EUR")
        _sub(tx, "CdtDbtInd", "CRDT")
    if c.info:
        _sub(entry, "AddtlNtryInf", c.info)


def _transaction(details: etree._Element, p: Payment) -> None:
    tx = _sub(details, "TxDtls")
    refs = _sub(tx, "Refs")
    if p.bank_ref and p.tx_ref:
        _sub(refs, "AcctSvcrRef", p.bank_ref)
    _sub(refs, "EndToEndId", p.end_to_end)
    _sub(tx, "Amt", p.amount, Ccy=p.currency)
    _sub(tx, "CdtDbtInd", p.direction)
    if p.instructed:
        _sub(_sub(_sub(tx, "AmtDtls"), "InstdAmt"), "Amt", p.instructed, Ccy=p.currency)
    if p.charges:
        record = _sub(_sub(tx, "Chrgs"), "Rcrd")
        _sub(record, "Amt", p.charges, Ccy=p.currency)
        _sub(record, "CdtDbtInd", "DBIT")
        _sub(record, "ChrgInclInd", "true")
        if p.charge_bearer:
            _sub(record, "Br", p.charge_bearer)
    if p.name or p.iban:
        parties = _sub(tx, "RltdPties")
        party_tag, account_tag = ("Dbtr", "DbtrAcct") if p.direction == "CRDT" else ("Cdtr", "CdtrAcct")
        if p.name:
            _sub(_sub(_sub(parties, party_tag), "Pty"), "Nm", p.name)
        if p.iban:
            _sub(_sub(_sub(parties, account_tag), "Id"), "IBAN", p.iban)
    if p.ref or p.text or p.extra_texts:
        rmt = _sub(tx, "RmtInf")
        for line in ([p.text] if p.text else []) + list(p.extra_texts):
            _sub(rmt, "Ustrd", line)
        if p.ref:
            cref = _sub(_sub(rmt, "Strd"), "CdtrRefInf")
            tp = _sub(cref, "Tp")
            if len(p.ref) == 27 and p.ref.isdigit():  # Swiss QR reference, as PostFinance types it
                _sub(_sub(tp, "CdOrPrtry"), "Prtry", "QRR")
            else:
                _sub(_sub(tp, "CdOrPrtry"), "Cd", "SCOR")
                _sub(tp, "Issr", _issuer(p.ref))
            _sub(cref, "Ref", p.ref)
    if p.return_reason:
        rtr = _sub(tx, "RtrInf")
        _sub(_sub(rtr, "Rsn"), "Cd", p.return_reason)
