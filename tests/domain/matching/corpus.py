"""Feed real corpus entries to the matcher, without depending on the camt package.

A deliberately small reader (local names, one transaction per TxDtls) that
pulls out only what :class:`BankTransaction` holds, so the matching tests use
the values of real bank files. The real reader is ``camt/``; this one exists
so that the two can be built and tested independently.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from lxml import etree

from dunning.domain.matching.match import BankTransaction, CreditDebit, EntryStatus, structured_ref
from tests.conftest import corpus_dir


def _camt() -> Path:
    """The corpus's bank files; skips the calling test (fails it in CI) when the corpus is missing."""
    return corpus_dir() / "camt"


def _text(el: etree._Element | None, path: str) -> str | None:
    if el is None:
        return None
    found = el.find(path)
    return found.text.strip() if found is not None and found.text else None


def read_transactions(relative: str) -> tuple[list[BankTransaction], list[str]]:
    """Transactions of a corpus file plus problems (entries that could not be read)."""
    path = _camt() / relative
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    tree = etree.parse(str(path), parser)
    txs: list[BankTransaction] = []
    problems: list[str] = []
    for n, entry in enumerate(tree.iter("{*}Ntry")):
        details = list(entry.iter("{*}TxDtls")) or [None]
        status = _text(entry, "{*}Sts/{*}Cd") or _text(entry, "{*}Sts") or "BOOK"
        booked = _text(entry, "{*}BookgDt/{*}Dt") or (_text(entry, "{*}BookgDt/{*}DtTm") or "1970-01-01")[:10]
        for m, tx in enumerate(details):
            amount_el = None
            if tx is not None:
                amount_el = tx.find("{*}Amt")
                if amount_el is None:
                    amount_el = tx.find("{*}AmtDtls/{*}TxAmt/{*}Amt")
            if amount_el is None and len(details) == 1:
                amount_el = entry.find("{*}Amt")
            try:
                amount = Decimal((amount_el.text or "").strip()) if amount_el is not None else None
            except InvalidOperation:
                amount = None
            if amount is None or not amount.is_finite() or amount < 0:
                problems.append(f"{relative}: entry {n + 1}: no readable amount")
                continue
            instd = _text(tx, "{*}AmtDtls/{*}InstdAmt/{*}Amt")
            ref_el = tx.find(".//{*}CdtrRefInf") if tx is not None else None
            ref = _text(ref_el, "{*}Ref")
            ustrd = [u.text.strip() for u in tx.iter("{*}Ustrd") if u.text] if tx is not None else []
            txs.append(
                BankTransaction(
                    key=f"{relative}#{n + 1}.{m + 1}",
                    amount=amount,
                    currency=amount_el.get("Ccy", "EUR") if amount_el is not None else "EUR",
                    # The entry's indicator is the booking (dvbern/…NoCrdtBookedNotReversed.xml has a
                    # DBIT entry over a CRDT detail).
                    credit_debit=CreditDebit(_text(entry, "{*}CdtDbtInd") or _text(tx, "{*}CdtDbtInd") or "CRDT"),
                    status=EntryStatus(status) if status in EntryStatus.__members__ else EntryStatus.INFO,
                    booking_date=date.fromisoformat(booked),
                    reversal=(_text(entry, "{*}RvslInd") or "").lower() == "true",
                    return_reason=_text(tx, "{*}RtrInf/{*}Rsn/{*}Cd"),
                    structured_ref=structured_ref(ref, _text(ref_el, "{*}Tp/{*}Issr")) if ref else None,
                    remittance=" ".join(ustrd),
                    end_to_end_id=_text(tx, "{*}Refs/{*}EndToEndId"),
                    debtor_name=_text(tx, ".//{*}RltdPties/{*}Dbtr/{*}Nm")
                    or _text(tx, ".//{*}RltdPties/{*}Dbtr/{*}Pty/{*}Nm"),
                    debtor_iban=_text(tx, ".//{*}RltdPties/{*}DbtrAcct/{*}Id/{*}IBAN"),
                    original_amount=Decimal(instd) if instd else None,
                )
            )
    return txs, problems


def corpus_files() -> list[str]:
    camt = _camt()
    return sorted(str(p.relative_to(camt)) for p in camt.rglob("*.xml"))
