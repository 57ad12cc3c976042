"""Turn one parsed lxml element (Ntry, Bal, Acct, ...) into model records.

Version differences are absorbed here, by local element names:

* v02 TxDtls has no ``Amt``: the amount is ``AmtDtls/TxAmt/Amt`` (never InstdAmt);
* v08+ wraps the status (``Sts/Cd``) and the parties (``Dbtr/Pty/Nm``);
* BIC became BICFI (v04+); v01 accounts use ``PrtryAcct/Id``;
* v02 ``Chrgs`` is a repeated record, v04+ ``Chrgs/Rcrd``.

Each element is indexed once (``{local name: first child}``), which is several
times faster than repeated ``find`` calls; this is the hot path of the reader.
A value that cannot be read raises :class:`~camt.values.BadValue`, which the reader turns
into a :class:`camt.model.Problem` for the statement (:mod:`camt.values`).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from camt.model import (
    NO_PARTY,
    Account,
    Balance,
    Charge,
    CreditDebit,
    Entry,
    Party,
    StatementHeader,
    StatementKind,
    Transaction,
)
from camt.references import Reference, classify, find_in_text
from camt.values import AMOUNT, SHOWN, BadValue, Element, local_name, parse_amount, parse_count

_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?")
_DATE_PREFIX = re.compile(r"\s*(\d{4}-\d{2}-\d{2})(.*)", re.S)
_ABSENT = {"NOTPROVIDED", "NONREF", "NOT PROVIDED", ""}
_TRUE = {"true", "1"}


def _text(element: Element | None) -> str | None:
    """Stripped text of an element; None when absent or empty."""
    if element is None:
        return None
    value: str | None = element.text
    if value is None:
        return None
    value = value.strip()
    return value or None


def _ident(element: Element | None) -> str | None:
    """An identifier: NOTPROVIDED / NONREF (any case) and empty are absent."""
    value = _text(element)
    if value is None or value.upper() in _ABSENT:
        return None
    return value


def _text_references(lines: list[str]) -> tuple[Reference, ...]:
    """Valid OGM / RF references written in the Ustrd lines (cheap test first: most lines have none)."""
    if not lines:
        return ()
    text = " ".join(lines)
    if "+++" not in text and "***" not in text and "RF" not in text.upper():
        return ()
    return find_in_text(text)


def _subpaths(*paths: str) -> frozenset[str]:
    """Every prefix of the given paths: the subtrees :meth:`ElementParser.flatten` enters."""
    result: set[str] = set()
    for path in paths:
        parts = path.split("/")
        result.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    return frozenset(result)


_BTC = ("BkTxCd/Domn/Fmly", "BkTxCd/Prtry")
_ENTRY_PATHS = _subpaths("Sts", "BookgDt", "ValDt", *_BTC)
_PARTIES = [f"RltdPties/{role}/Pty" for role in ("Dbtr", "Cdtr", "UltmtDbtr", "UltmtCdtr")]
_ACCOUNTS = [f"RltdPties/{acct}/Id/Othr" for acct in ("DbtrAcct", "CdtrAcct")]
_AGENTS = [f"RltdAgts/{agent}/FinInstnId" for agent in ("DbtrAgt", "CdtrAgt")]


def _party_keys(role: str, account: str) -> tuple[str, str, str, str, str, str]:
    acct = f"RltdPties/{account}/Id/" if account else ""
    agent = f"RltdAgts/{role}Agt/FinInstnId/" if account else ""
    return (
        f"RltdPties/{role}/Nm",
        f"RltdPties/{role}/Pty/Nm",
        acct and acct + "IBAN",
        acct and acct + "Othr/Id",
        agent and agent + "BICFI",
        agent and agent + "BIC",
    )


_PARTY_KEYS = {
    "Dbtr": _party_keys("Dbtr", "DbtrAcct"),
    "Cdtr": _party_keys("Cdtr", "CdtrAcct"),
    "UltmtDbtr": _party_keys("UltmtDbtr", ""),
    "UltmtCdtr": _party_keys("UltmtCdtr", ""),
}
_XCHG = ("AmtDtls/InstdAmt/CcyXchg/", "AmtDtls/TxAmt/CcyXchg/", "AmtDtls/CntrValAmt/CcyXchg/")
_TX_PATHS = _subpaths(
    "Refs/Prtry",
    "AmtDtls/TxAmt/CcyXchg",
    "AmtDtls/InstdAmt/CcyXchg",
    "AmtDtls/CntrValAmt/CcyXchg",
    *_PARTIES,
    *_ACCOUNTS,
    *_AGENTS,
    "RtrInf/Rsn",
    *_BTC,
)


class ElementParser:
    """Reads model records out of elements of one namespace (None: no namespace)."""

    def __init__(
        self, namespace: str | None, *, treat_missing_status_as_booked: bool = False, version: int | None = None
    ) -> None:
        self.version = version  # the message version (8 for camt.053.001.08); None when unknown
        self.cut = len(namespace) + 2 if namespace else 0
        self.prefix = f"{{{namespace}}}" if namespace else ""
        self.missing_status_is_booked = treat_missing_status_as_booked
        self.warnings: list[str] = []

    # -- small helpers -------------------------------------------------------------------------------
    def index(self, element: Element) -> dict[str, Element]:
        """First child by local name."""
        cut = self.cut
        found: dict[str, Element] = {}
        for child in element:
            found.setdefault(child.tag[cut:], child)
        return found

    def children(self, element: Element, name: str) -> list[Element]:
        return list(element.iterchildren(self.prefix + name))

    def walk(self, element: Element | None, *names: str) -> Element | None:
        for name in names:
            if element is None:
                return None
            element = next(element.iterchildren(self.prefix + name), None)
        return element

    def text(self, element: Element | None, *names: str) -> str | None:
        found = self.walk(element, *names) if names else element
        if found is None:
            return None
        value: str | None = found.text
        if value is None:
            return None
        value = value.strip()
        return value or None

    def ident(self, element: Element | None, *names: str) -> str | None:
        """An identifier, with NOTPROVIDED / NONREF (any case) and empty treated as absent."""
        value = self.text(element, *names)
        if value is None or value.upper() in _ABSENT:
            return None
        return value

    def credit_debit(
        self, element: Element | None, owner: Element, *, default: CreditDebit | None = None
    ) -> CreditDebit:
        """CdtDbtInd of ``owner``; ``default`` when it is missing (else a BadValue located at ``owner``)."""
        value = self.text(element)
        if value == "CRDT":
            return "CRDT"
        if value == "DBIT":
            return "DBIT"
        if value is None and default is not None:
            return default
        if element is None:
            raise BadValue(f"no CdtDbtInd in <{local_name(owner)}>", owner, None)
        raise BadValue("credit/debit indicator is not CRDT or DBIT", element, value)

    def date_choice(self, element: Element | None) -> tuple[date | None, datetime | None]:
        """A DateAndDateTimeChoice (``Dt`` or ``DtTm``); the date is the one written (local to its offset).

        A ``Dt`` holding a date-time and a malformed time (``11:17:11:735``) are read with a warning.
        """
        if element is None:
            return None, None
        inner = next(iter(element), None)
        if inner is None:
            return None, None
        raw: str = (inner.text or "").strip()
        if len(raw) == 10:
            try:
                return date.fromisoformat(raw), None
            except ValueError:
                pass
        match = _DATE_PREFIX.fullmatch(raw)
        if match is None:
            raise BadValue("unreadable date", inner, raw)
        try:
            day = date.fromisoformat(match.group(1))
        except ValueError:
            raise BadValue("unreadable date", inner, raw) from None
        if not match.group(2):
            return day, None
        try:
            stamp = datetime.fromisoformat(raw)
        except ValueError:
            self.warnings.append(f"line {inner.sourceline}: malformed date-time {raw!r}, date part used")
            return day, None
        if not _ISO_DATETIME.fullmatch(raw):
            self.warnings.append(f"line {inner.sourceline}: non-standard date-time {raw!r} read as {stamp}")
        if local_name(inner) == "Dt":
            self.warnings.append(f"line {inner.sourceline}: date-time {raw!r} inside a Dt element")
        return day, stamp

    def datetime_text(self, element: Element | None) -> datetime | None:
        raw = self.text(element)
        if raw is None:
            return None
        try:
            stamp = datetime.fromisoformat(raw)
            if not _ISO_DATETIME.fullmatch(raw):
                line = element.sourceline if element is not None else "?"
                self.warnings.append(f"line {line}: non-standard date-time {raw!r} read as {stamp}")
            return stamp
        except ValueError:
            match = _DATE_PREFIX.fullmatch(raw)
            self.warnings.append(
                f"line {element.sourceline if element is not None else '?'}: malformed date-time {raw!r}"
            )
            if match is None:
                return None
            try:
                return datetime.fromisoformat(match.group(1))
            except ValueError:
                return None

    def bic(self, agent: Element | None) -> str | None:
        fin = self.walk(agent, "FinInstnId")
        if fin is None:
            return None
        return self.text(fin, "BICFI") or self.text(fin, "BIC")

    def account_id(self, account: Element | None) -> tuple[str | None, str | None]:
        """(IBAN, other id) of a CashAccount: ``Id/IBAN``, ``Id/Othr/Id`` or v01 ``Id/PrtryAcct/Id``."""
        ident = self.walk(account, "Id")
        if ident is None:
            return None, None
        iban = self.text(ident, "IBAN")
        other = self.text(ident, "Othr", "Id") or self.text(ident, "PrtryAcct", "Id")
        if iban is not None:
            iban = iban.replace(" ", "").upper()
        return iban, other

    # -- statement level -----------------------------------------------------------------------------
    def header(self, statement: Element, kind: StatementKind) -> StatementHeader:
        k = self.index(statement)
        acct = k.get("Acct")
        iban, other = self.account_id(acct)
        a = self.index(acct) if acct is not None else {}
        account = Account(
            iban=iban,
            other_id=other,
            currency=self.text(a.get("Ccy")),
            name=self.text(a.get("Nm")),
            owner=self.text(a.get("Ownr"), "Nm") or self.text(a.get("Ownr"), "Pty", "Nm"),
            servicer_bic=self.bic(a.get("Svcr")),
        )
        frto = k.get("FrToDt")
        return StatementHeader(
            kind=kind,
            id=self.text(k.get("Id")),
            account=account,
            created=self.datetime_text(k.get("CreDtTm")),
            from_datetime=self.datetime_text(self.walk(frto, "FrDtTm")),
            to_datetime=self.datetime_text(self.walk(frto, "ToDtTm")),
            electronic_sequence=self.text(k.get("ElctrncSeqNb")),
            legal_sequence=self.text(k.get("LglSeqNb")),
            line=statement.sourceline,
        )

    def balance(self, bal: Element) -> Balance:
        k = self.index(bal)
        tp = k.get("Tp")
        code = self.text(tp, "CdOrPrtry", "Cd") or self.text(tp, "CdOrPrtry", "Prtry") or self.text(tp, "Cd")
        amt = k.get("Amt")
        if amt is None:
            raise BadValue("balance without an amount", bal, None)
        day, stamp = self.date_choice(k.get("Dt"))
        if day is None and stamp is not None:
            day = stamp.date()
        return Balance(
            type=code or "?",
            amount=parse_amount(amt),
            currency=amt.get("Ccy"),
            credit_debit=self._balance_direction(k.get("CdtDbtInd"), bal),
            date=day,
        )

    def _balance_direction(self, element: Element | None, bal: Element) -> CreditDebit:
        if element is None:
            self.warnings.append(f"line {bal.sourceline}: balance without CdtDbtInd, read as CRDT")
            return "CRDT"
        return self.credit_debit(element, bal)

    # -- entry level ---------------------------------------------------------------------------------
    # An entry or transaction is flattened once into {relative path: first element}; every field is
    # then a dict lookup. Repeated elements (Ustrd, Strd, Chrgs, AddtlInf) are read from their parent.
    def flatten(
        self, element: Element, descend: frozenset[str], skip: str = ""
    ) -> tuple[dict[str, Element], list[Element]]:
        """({"Amt": e, "AmtDtls/TxAmt/Amt": e, ...}, the direct children named ``skip``).

        Only the paths in ``descend`` are entered: postal addresses, organisation ids and
        other subtrees the model does not use are never visited (the hot path of the reader).
        """
        out: dict[str, Element] = {}
        skipped: list[Element] = []
        cut = self.cut
        for child in element:
            name = child.tag[cut:]
            if name == skip:
                skipped.append(child)
            elif name not in out:
                out[name] = child
                if name in descend:
                    self._flatten(child, name + "/", out, descend)
        return out, skipped

    def _flatten(self, element: Element, prefix: str, out: dict[str, Element], descend: frozenset[str]) -> None:
        cut = self.cut
        for child in element:
            path = prefix + child.tag[cut:]
            if path not in out:
                out[path] = child
                if path in descend:
                    self._flatten(child, path + "/", out, descend)

    def status(self, f: dict[str, Element]) -> str | None:
        """``Sts`` (v02-v07: a code) or ``Sts/Cd`` / ``Sts/Prtry`` (v08+: a choice); each read in any version.

        The form of the other versions is read too, with a warning naming the line: a bank that
        writes ``Sts/Cd`` under a v02 namespace (or a bare code under v08) has mixed its versions.
        """
        plain = _text(f.get("Sts"))
        if plain is not None:
            if self.version is not None and self.version >= 8:
                self.warnings.append(
                    f"line {f['Sts'].sourceline}: Sts holds a bare code {plain!r}, the form of versions before 08"
                )
            return plain.upper()
        coded = f.get("Sts/Cd")
        value = _text(coded) or _text(f.get("Sts/Prtry"))
        if value is not None and self.version is not None and self.version < 8:
            where = coded if coded is not None else f["Sts/Prtry"]
            self.warnings.append(
                f"line {where.sourceline}: Sts/{local_name(where)} is the form of version 08 and later, "
                f"read in a version {self.version:02d} file"
            )
        return value.upper() if value else None

    def bank_transaction_code(self, f: dict[str, Element]) -> str | None:
        domain = _text(f.get("BkTxCd/Domn/Cd"))
        if domain is not None:
            family = _text(f.get("BkTxCd/Domn/Fmly/Cd")) or ""
            return f"{domain}/{family}/{_text(f.get('BkTxCd/Domn/Fmly/SubFmlyCd')) or ''}"
        return _text(f.get("BkTxCd/Prtry/Cd"))

    def dates(self, f: dict[str, Element], name: str) -> tuple[date | None, datetime | None]:
        element = f.get(name)
        return self.date_choice(element) if element is not None else (None, None)

    def charges(self, chrgs_list: list[Element]) -> tuple[Charge, ...]:
        """All charge records: v04+ ``Chrgs/Rcrd`` (0..n, 0.00 ones kept) or v02 repeated ``Chrgs``."""
        result: list[Charge] = []
        for chrgs in chrgs_list:
            records = self.children(chrgs, "Rcrd") or ([chrgs] if self.walk(chrgs, "Amt") is not None else [])
            for rec in records:
                k = self.index(rec)
                incl = self.text(k.get("ChrgInclInd"))
                tp = k.get("Tp")
                amt = k.get("Amt")
                if amt is None:
                    raise BadValue("charges record without an amount (Amt)", rec, None)
                result.append(
                    Charge(
                        amount=parse_amount(amt),
                        currency=amt.get("Ccy"),
                        credit_debit=self.credit_debit(k["CdtDbtInd"], rec) if "CdtDbtInd" in k else None,
                        included=None if incl is None else incl.lower() in _TRUE,
                        type=(self.text(tp, "Cd") or self.text(tp, "Prtry", "Id")) if tp is not None else None,
                        bearer=self.text(k.get("Br")),
                    )
                )
        return tuple(result)

    def party(self, f: dict[str, Element], role: str) -> Party:
        """Party ``role`` of RltdPties: name from ``Nm`` (v02-v07) or ``Pty/Nm`` (v08+), its account, agent BIC."""
        name_key, pty_name_key, iban_key, other_key, bicfi_key, bic_key = _PARTY_KEYS[role]
        name = _text(f.get(name_key)) or _text(f.get(pty_name_key))
        iban = _text(f.get(iban_key)) if iban_key else None
        other = _text(f.get(other_key)) if other_key else None
        bic = (_text(f.get(bicfi_key)) or _text(f.get(bic_key))) if bicfi_key else None
        if name is None and iban is None and other is None and bic is None:
            return NO_PARTY
        return Party(name=name, iban=iban.replace(" ", "").upper() if iban else None, other_id=other, bic=bic)

    def entry(self, ntry: Element) -> Entry:
        f, ntry_details = self.flatten(ntry, _ENTRY_PATHS, skip="NtryDtls")
        amt = f.get("Amt")
        if amt is None:
            raise BadValue("entry without an amount", ntry, None)
        amount = parse_amount(amt)
        currency: str | None = amt.get("Ccy")
        cd = self.credit_debit(f.get("CdtDbtInd"), ntry)
        flags: list[str] = []
        status = self.status(f)
        if status is None:
            flags.append("status_missing")
            if self.missing_status_is_booked:
                status = "BOOK"
                self.warnings.append(f"line {ntry.sourceline}: entry without Sts, counted as BOOK")
        booking, booking_dt = self.dates(f, "BookgDt")
        value, value_dt = self.dates(f, "ValDt")
        rvsl = _text(f.get("RvslInd"))
        batch_count: int | None = None
        batch_pmtinf: str | None = None
        batch_totals: list[tuple[Decimal, str | None]] = []
        details: list[Element] = []
        for ntry_dtls in ntry_details:
            for child in ntry_dtls:
                name = child.tag[self.cut :]
                if name == "TxDtls":
                    details.append(child)
                elif name == "Btch":
                    n = parse_count(self.text(child, "NbOfTxs"))
                    if n is not None:
                        batch_count = (batch_count or 0) + n
                    batch_pmtinf = batch_pmtinf or self.ident(child, "PmtInfId")
                    total_el = self.walk(child, "TtlAmt")
                    if total_el is not None:
                        batch_totals.append((parse_amount(total_el), total_el.get("Ccy")))
        entry_code = self.bank_transaction_code(f)
        only_one = len(details) == 1
        txs = tuple(self.transaction(tx, amount, currency, cd, only_one, entry_code) for tx in details)
        if batch_count is not None and batch_count > max(len(txs), 1):
            flags.append("awaiting_details")
        if txs and all(t.amount is not None for t in txs):
            # never invent: compare only amounts in one currency, with the entry or with Btch/TtlAmt
            total = sum(((t.amount or 0) if t.credit_debit == cd else -(t.amount or 0) for t in txs), Decimal(0))
            tx_currencies = {t.currency for t in txs}
            expected = [(amount, currency)] + (batch_totals if len(batch_totals) == 1 else [])
            if any(tx_currencies == {ccy} and total != value for value, ccy in expected):
                flags.append("batch_inconsistent")
        return Entry(
            amount=amount,
            currency=currency,
            credit_debit=cd,
            status=status,
            reversal=(rvsl or "").lower() in _TRUE,  # xs:boolean: "true" or "1"
            booking_date=booking,
            value_date=value,
            booking_datetime=booking_dt,
            value_datetime=value_dt,
            bank_reference=_ident(f.get("AcctSvcrRef")),
            entry_reference=_ident(f.get("NtryRef")),
            bank_transaction_code=entry_code,
            batch_count=batch_count,
            batch_payment_information_id=batch_pmtinf,
            charges=self.charges(self.children(ntry, "Chrgs")) if "Chrgs" in f else (),
            additional_info=_text(f.get("AddtlNtryInf")),
            transactions=txs,
            flags=tuple(flags),
            line=ntry.sourceline,
        )

    def remittance(self, f: dict[str, Element]) -> tuple[list[str], list[str], list[str], list[Reference]]:
        """(Ustrd lines, AddtlRmtInf, RfrdDocInf numbers, typed CdtrRefInf references) of RmtInf."""
        lines: list[str] = []
        additional: list[str] = []
        documents: list[str] = []
        structured: list[Reference] = []
        rmt = f.get("RmtInf")
        if rmt is None:
            return lines, additional, documents, structured
        cut = self.cut
        for child in rmt:
            name = child.tag[cut:]
            if name == "Ustrd":
                if child.text:
                    lines.append(child.text)
            elif name == "Strd":
                additional.extend(x.text.strip() for x in self.children(child, "AddtlRmtInf") if x.text)
                documents.extend(n for doc in self.children(child, "RfrdDocInf") if (n := self.text(doc, "Nb")))
                cri = self.walk(child, "CdtrRefInf")
                ref = self.text(cri, "Ref")
                if ref is not None:
                    tp = self.walk(cri, "Tp")
                    structured.append(
                        classify(
                            ref,
                            code=self.text(tp, "CdOrPrtry", "Cd"),
                            proprietary=self.text(tp, "CdOrPrtry", "Prtry"),
                            issuer=self.text(tp, "Issr"),
                        )
                    )
        return lines, additional, documents, structured

    def transaction(
        self,
        tx: Element,
        entry_amount: Decimal,
        entry_currency: str | None,
        entry_cd: CreditDebit,
        only_one: bool,
        entry_code: str | None,
    ) -> Transaction:
        f, _ = self.flatten(tx, _TX_PATHS)
        amount: Decimal | None = None
        currency: str | None = None
        source: str | None = None
        amt = f.get("Amt")
        tx_amt = f.get("AmtDtls/TxAmt/Amt")
        if amt is not None:
            amount, currency, source = parse_amount(amt), amt.get("Ccy"), "TxDtls/Amt"
        elif tx_amt is not None:
            amount, currency, source = parse_amount(tx_amt), tx_amt.get("Ccy"), "AmtDtls/TxAmt"
        elif only_one:
            amount, currency, source = entry_amount, entry_currency, "Ntry/Amt"
        instd_amt = f.get("AmtDtls/InstdAmt/Amt")
        counter = f.get("AmtDtls/CntrValAmt/Amt")
        xchg = next((p for p in _XCHG if p[:-1] in f), _XCHG[0])
        rate_text = _text(f.get(xchg + "XchgRate"))
        rate: Decimal | None = None
        if rate_text is not None:
            match = AMOUNT.fullmatch(rate_text)
            rate = Decimal(match.group(1)) if match and len(match.group(1)) <= SHOWN else None
        lines, additional, documents, structured = self.remittance(f)
        rtr = f.get("RtrInf")
        parties = "RltdPties" in f or "RltdAgts" in f
        return Transaction(
            amount=amount,
            currency=currency,
            credit_debit=self.credit_debit(f.get("CdtDbtInd"), tx, default=entry_cd),
            amount_source=source,
            instructed_amount=parse_amount(instd_amt) if instd_amt is not None else None,
            instructed_currency=instd_amt.get("Ccy") if instd_amt is not None else None,
            counter_value_amount=parse_amount(counter) if counter is not None else None,
            counter_value_currency=counter.get("Ccy") if counter is not None else None,
            exchange_rate=rate,
            source_currency=_text(f.get(xchg + "SrcCcy")),
            target_currency=_text(f.get(xchg + "TrgtCcy")),
            reference=structured[0] if structured else None,
            references=tuple(structured),
            text_references=_text_references(lines),
            remittance_lines=tuple(lines),
            additional_remittance=tuple(additional),
            referred_documents=tuple(documents),
            end_to_end_id=_ident(f.get("Refs/EndToEndId")),
            instruction_id=_ident(f.get("Refs/InstrId")),
            transaction_id=_ident(f.get("Refs/TxId")),
            mandate_id=_ident(f.get("Refs/MndtId")),
            payment_information_id=_ident(f.get("Refs/PmtInfId")),
            bank_reference=_ident(f.get("Refs/AcctSvcrRef")),
            uetr=_ident(f.get("Refs/UETR")),
            proprietary_reference=_ident(f.get("Refs/Prtry/Ref")),
            debtor=self.party(f, "Dbtr") if parties else NO_PARTY,
            ultimate_debtor=self.party(f, "UltmtDbtr") if "RltdPties/UltmtDbtr" in f else NO_PARTY,
            creditor=self.party(f, "Cdtr") if parties else NO_PARTY,
            ultimate_creditor=self.party(f, "UltmtCdtr") if "RltdPties/UltmtCdtr" in f else NO_PARTY,
            return_reason=(_text(f.get("RtrInf/Rsn/Cd")) or _text(f.get("RtrInf/Rsn/Prtry"))),
            return_info=tuple(x.text.strip() for x in self.children(rtr, "AddtlInf") if x.text)
            if rtr is not None
            else (),
            charges=self.charges(self.children(tx, "Chrgs")) if "Chrgs" in f else (),
            bank_transaction_code=self.bank_transaction_code(f) or entry_code,
            additional_info=_text(f.get("AddtlTxInf")),
        )
