"""Reading a camt bank file into what the matcher and the store need: :class:`BankLine`.

One :class:`BankLine` per transaction (camt ``TxDtls``; an entry without details is one
transaction of its own). Each carries a :class:`~dunning.domain.matching.match.BankTransaction`
for the matcher, and the **identities** the movement is known by, so the same movement
reported again is recognised whatever file it comes in.

Transaction identity (what is stable across camt.052 / camt.053 / camt.054)
----------------------------------------------------------------------------
Every identity starts with ``account|direction|currency|amount`` (the statement account
IBAN or other id, CRDT/DBIT, and the transaction amount normalised: ``18.150`` = ``18.15``),
then names one reference the *bank* assigned to the movement:

* ``ref:`` the transaction's bank reference (``TxDtls/Refs/AcctSvcrRef``);
* ``uetr:`` the SWIFT gpi UETR (``Refs/UETR``), lower case;
* ``txid:`` the interbank transaction id (``Refs/TxId``);
* ``entry:`` the entry's bank reference (``Ntry/AcctSvcrRef``), only when the entry holds one
  transaction (in a batch all transactions share it).

Banks report the same booking under the same references in their intraday report (052),
their statement (053) and their notification (054), so two lines sharing **any** identity
are one movement (research/camt.md P20: dedup on AcctSvcrRef + account + amount [+ date];
never on amount and date alone). Only when the bank gave none of these:

* ``e2e:`` the payer's EndToEndId plus the booking date (never ``NOTPROVIDED``: P16);
* ``content:`` a hash of booking date, reference, text and payer account, plus the
  occurrence number within the file, so two identical payments in one file stay two,
  and the same file read again gives the same identities.

The transaction's ``key`` (unique in ``bank_transactions``) is its first identity; for an
entry that is not booked (PDNG, INFO) the status is appended, so the booked version that
comes later is a transaction of its own (pending entries never settle anything, and are
never registered as identities: a booked entry after a pending one is not a duplicate).

Collective bookings (research/camt.md P3, AC-08, AC-26)
-----------------------------------------------------
A bank can book many payments as **one** entry (PostFinance "SAMMELGUTSCHRIFT" of the day's
QR/ESR payments, ``BkTxCd`` ``PMNT/RCDT/VCOM``) and give the individual payments in a camt.054.
The statement's entry then carries no details (none, or one ``TxDtls`` that only repeats the
entry's amount and ``AcctSvcrRef``) or only a batch count (``Btch/NbOfTxs`` above the details
given). Such an entry is a *collective* line (:attr:`BankLine.collective`): it is never matched
itself (its payments are booked from the camt.054), and it is linked to the detailed batch by
:class:`BatchLink` keys, which the entry of the detailed batch in the camt.054 carries too
(:attr:`BankLine.batch` on each of its transactions). Every key starts with
``coll|account|direction|currency|entry amount`` (the batch total, which both files book), then:

* ``ref:`` the entry's bank reference (``Ntry/AcctSvcrRef``): PostFinance gives the collective
  booking the same one in its camt.053 and camt.054 (the ESR pair in ``moov/``: ``07582000303KBMSU``);
* ``pmtinf:`` the batch's ``Btch/PmtInfId`` (OCA PR #106 links on it);
* ``pkg:`` the PostFinance package id in ``AddtlNtryInf`` (``PAKET ID: 9999999999999999``);
* ``day:`` the booking date and ``NtryRef`` (PostFinance: the ESR participant number or the
  QR-IBAN the batch was paid to), for banks that repeat no reference.

A key two entries of one file share identifies neither and is dropped. Where both sides give
a count (``Btch/NbOfTxs`` or the details), the counts must agree too (checked when linking).

Entry status is mapped faithfully: ``BOOK`` settles; ``PDNG`` and ``FUTR`` are pending;
``INFO`` and unknown codes are informational; a missing status counts as booked in a
camt.053 (a statement only lists bookings, AC-14) and as informational elsewhere.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import camt
from camt import CamtError, Entry, MessageInfo, StatementHeader, Transaction
from dunning.bank import entries
from dunning.bank.identity import PARTY_MARK, same_payment
from dunning.bank.refusal import BankFileRefused, marked_as_test_data, refuse_foreign_account
from dunning.domain.matching.match import BankTransaction, CreditDebit, EntryStatus, InvalidMatchInput, structured_ref

__all__ = ["BankFile", "BankFileRefused", "BankLine", "BatchLink", "read_bank_file"]

KEY_LENGTH = 200  # bank_transactions.key
ALIAS_LENGTH = 300  # bank_transaction_aliases.alias
_CURRENCY = re.compile(r"[A-Z]{3}")
_AMOUNT_LIMIT = Decimal(10) ** 16  # bank_transactions.amount: NUMERIC(20, 4)
_AMOUNT_STEP = Decimal("0.0001")


# PostFinance marks its collective bookings in AddtlNtryInf ("SAMMELGUTSCHRIFT ESR VERARBEITUNG VOM
# 24.04.2019 KUNDENNUMMER 01-429580-3 PAKET ID: 180316CH00000UR0"), whatever the BkTxCd says.
_PACKAGE = re.compile(r"\bPAKET\s+ID\s*:?\s*([A-Za-z0-9]+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class BatchLink:
    """What links a collective booking to the batch that details it (see the module docstring).

    ``number`` groups the lines of one entry within the file; ``keys`` are the link keys;
    ``count`` the number of transactions (announced by ``Btch/NbOfTxs`` for a collective
    without details, the details given for a detailed batch; None when unknown); ``total`` the
    entry amount; ``package`` the bank's package id when it gives one.
    """

    number: int
    keys: tuple[str, ...]
    count: int | None
    total: Decimal
    currency: str
    booking_date: date
    package: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "count": self.count,
            "total": entries.amount_text(self.total),
            "currency": self.currency,
            "booking_date": self.booking_date.isoformat(),
            "package": self.package,
            "keys": list(self.keys),
        }


@dataclass(frozen=True, slots=True)
class BankLine:
    """One bank transaction read from a file.

    ``skip`` is a reason to leave the line out of matching altogether (a batch summary whose
    details come in a camt.054, an entry without an amount); such lines are reported as
    ignored. ``aliases`` are the identities (see the module docstring). ``collective`` is set on
    the one line of a collective booking without details (it is skipped, and linked to its
    details by those keys); ``batch`` on each transaction of a detailed batch.
    """

    tx: BankTransaction
    aliases: tuple[str, ...]
    account: str
    entry_reference: str | None
    bank_reference: str | None
    value_date: date | None
    line: int | None
    skip: str | None = None
    collective: BatchLink | None = None
    batch: BatchLink | None = None
    #: a reason to send the line to the review queue without matching it (what was paid is unclear)
    review: str | None = None
    #: identities an earlier transaction may be known by, never registered for this one
    lookups: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return self.tx.key

    @property
    def recognised_by(self) -> tuple[str, ...]:
        """The identities an earlier transaction is looked up by: the aliases, less the ``party:`` mark
        (registered for later anonymous lines, never used between two referenced payments), plus the lookups."""
        return (*(a for a in self.aliases if PARTY_MARK not in a), *self.lookups)


@dataclass(frozen=True, slots=True)
class BankFile:
    """What a camt file holds for reconciliation: its message type and its lines."""

    name: str
    message: str  # camt.053.001.02
    message_id: str | None
    lines: tuple[BankLine, ...]
    warnings: tuple[str, ...]


def _batch_link(
    number: int, entry: Entry, account: str, currency: str, booked_on: date, count: int | None
) -> BatchLink:
    base = f"coll|{account}|{entry.credit_debit}|{currency}|{entries.amount_text(entry.amount)}"
    keys: list[str] = []
    ref = entries.usable(entry.bank_reference)
    if ref:
        keys.append(f"{base}|ref:{ref}")
    pmtinf = entries.usable(entry.batch_payment_information_id)
    if pmtinf:
        keys.append(f"{base}|pmtinf:{pmtinf}")
    found = _PACKAGE.search(entry.additional_info or "")
    package = found.group(1) if found else None
    if package:
        keys.append(f"{base}|pkg:{package}")
    keys.append(f"{base}|day:{booked_on.isoformat()}|{entries.usable(entry.entry_reference) or ''}")
    return BatchLink(
        number, tuple(entries.clip(k, ALIAS_LENGTH) for k in keys), count, entry.amount, currency, booked_on, package
    )


@dataclass(slots=True)
class _Draft:
    """A line before its identities are final (they depend on the rest of the file)."""

    tx: BankTransaction
    ids: list[str]
    fallback: str
    also: list[str]  # identities registered after the key's (EndToEndId, counterparty)
    lookups: list[str]  # identities only looked up (see _same_payment)
    account: str
    entry_reference: str | None
    bank_reference: str | None
    value_date: date | None
    line: int | None
    skip: str | None
    collective: BatchLink | None = None
    batch: BatchLink | None = None
    review: str | None = None


class _Builder:
    """Turns the entries of one file into lines, counting identical content for the fallback identity."""

    def __init__(self, file: str, message_type: str, as_of: date) -> None:
        self.file = file
        self.message_type = message_type
        self.as_of = as_of
        self.drafts: list[_Draft] = []
        self.warnings: list[str] = []
        self.entries = 0  # collective and batch entries seen (numbers their BatchLink)

    def add_entry(self, header: StatementHeader, entry: Entry) -> None:
        account = header.account.iban or header.account.other_id or "-"
        status, note = entries.entry_status(entry, self.message_type)
        where = f"{self.file}, line {entry.line}" if entry.line else self.file
        if note:
            self.warnings.append(f"{where}: {note}")
        skip = None
        if "awaiting_details" in entry.flags:
            skip = (
                f"batch summary of {entry.batch_count} transactions: the details come in a camt.054 "
                "and are matched from there"
            )
        if "batch_inconsistent" in entry.flags:
            self.warnings.append(f"{where}: the transactions do not add up to the entry amount {entry.amount}")
        kind = entries.collective_kind(entry, status)
        link = None
        if kind is not None:
            self.entries += 1
            currency = entry.currency or header.account.currency or "XXX"
            count = entry.batch_count if kind == "collective" else len(entry.transactions)
            link = _batch_link(self.entries, entry, account, currency, entries.booking_date(entry, self.as_of), count)
        if kind == "collective":
            # One line for the whole booking (a bare detail adds nothing): held until its details come.
            assert link is not None
            skip = skip or (
                f"collective booking{f' of {link.count} transactions' if link.count else ''} without details: "
                "its transactions come in a camt.054 and are booked from there"
            )
            draft = self._line(
                header, entry, entry.transactions[0] if entry.transactions else None, account, status, skip, 1
            )
            draft.collective = link
            self.drafts.append(draft)
            return
        details: tuple[Transaction | None, ...] = entry.transactions or (None,)
        for tx in details:
            draft = self._line(header, entry, tx, account, status, skip, len(details))
            draft.batch = link
            self.drafts.append(draft)

    def finish(self) -> tuple[BankLine, ...]:
        """Final identities and keys.

        A bank identity that two lines of one file share identifies neither (some banks copy
        the batch reference into every transaction): those lines fall back to the EndToEndId or
        content identity, numbered by occurrence in the file (two identical payments stay two,
        and reading the same file again gives the same keys).
        """
        shared = Counter((d.tx.status, i) for d in self.drafts for i in (*d.ids, *d.also, *d.lookups))
        occurrences: Counter[str] = Counter()
        links = {id(link): link for d in self.drafts for link in (d.collective, d.batch) if link is not None}
        link_shared = Counter(k for link in links.values() for k in link.keys)
        unique = {
            number: dataclasses.replace(link, keys=tuple(k for k in link.keys if link_shared[k] == 1))
            for number, link in links.items()
        }
        lines = []
        for d in self.drafts:
            ids = [i for i in d.ids if shared[(d.tx.status, i)] == 1]
            if not ids:
                occurrences[d.fallback] += 1
                ids = [f"{d.fallback}#{occurrences[d.fallback]}"]
            ids += [i for i in d.also if shared[(d.tx.status, i)] == 1]
            aliases = tuple(entries.clip(i, ALIAS_LENGTH) for i in ids)
            lookups = tuple(entries.clip(i, ALIAS_LENGTH) for i in d.lookups if shared[(d.tx.status, i)] == 1)
            booked = d.tx.status is EntryStatus.BOOK
            key = aliases[0] if booked else f"{aliases[0]}|{d.tx.status}"
            tx = dataclasses.replace(d.tx, key=entries.clip(key, KEY_LENGTH))
            lines.append(
                BankLine(
                    tx=tx,
                    aliases=aliases if booked else (),
                    account=d.account,
                    entry_reference=d.entry_reference,
                    bank_reference=d.bank_reference,
                    value_date=d.value_date,
                    line=d.line,
                    skip=d.skip,
                    collective=unique[id(d.collective)] if d.collective is not None else None,
                    batch=unique[id(d.batch)] if d.batch is not None else None,
                    review=d.review,
                    lookups=lookups if booked else (),
                )
            )
        return tuple(lines)

    def _check_amount(self, entry: Entry, tx: Transaction | None, amount: Decimal, currency: str) -> None:
        """The invariants the store and the ledger rely on; a file breaking one is refused whole."""
        element = "Ntry/Amt" if tx is None or tx.amount_source is None else tx.amount_source
        if not _CURRENCY.fullmatch(currency):
            raise BankFileRefused.at(
                self.file,
                "currency is not an ISO 4217 code",
                line=entry.line,
                element=f"{element}/@Ccy",
                value=currency,
            )
        if abs(amount) >= _AMOUNT_LIMIT or amount != amount.quantize(_AMOUNT_STEP):
            raise BankFileRefused.at(
                self.file,
                "amount beyond what a payment can be (16 digits before the decimal point, 4 after)",
                line=entry.line,
                element=element,
                value=format(amount, "f"),
            )

    def _line(
        self,
        header: StatementHeader,
        entry: Entry,
        tx: Transaction | None,
        account: str,
        status: EntryStatus,
        skip: str | None,
        in_entry: int,
    ) -> _Draft:
        amount = entry.amount if tx is None else tx.amount
        currency = (entry.currency if tx is None else tx.currency) or entry.currency or header.account.currency
        direction = entry.credit_debit if tx is None else tx.credit_debit
        if amount is None:
            skip = skip or "no amount for this transaction in the file"
            amount = Decimal(0)
        review = None
        if tx is not None and amount == 0 and entry.amount != 0 and status is EntryStatus.BOOK and skip is None:
            # A detail of 0 under a booked entry that is not: the bank booked money, the file does not say
            # whose. Never ignored: a person decides, with what the account received when it is one payment.
            review = f"the transaction amount is 0 under a booked entry of {entry.amount}: what was paid is unclear"
            if in_entry == 1:
                amount = entry.amount
        if not currency:
            skip = skip or "no currency for this transaction in the file"
            currency = "XXX"
        self._check_amount(entry, tx, amount, currency)
        booked_on = entries.booking_date(entry, self.as_of)
        remittance = entries.remittance(tx, entry)
        party = None if tx is None else tx.counterparty
        payer = None if tx is None else (tx.ultimate_debtor if tx.ultimate_debtor.name else tx.debtor)
        e2e = None if tx is None else entries.usable(tx.end_to_end_id)
        reference = None if tx is None else tx.reference
        base = f"{account}|{direction}|{currency}|{entries.amount_text(amount)}"
        ids: list[str] = []
        if tx is not None:
            for label, value in (("ref", tx.bank_reference), ("uetr", tx.uetr), ("txid", tx.transaction_id)):
                usable = entries.usable(value)
                if usable:
                    ids.append(f"{base}|{label}:{usable.lower() if label == 'uetr' else usable}")
        entry_ref = entries.usable(entry.bank_reference)
        if entry_ref and in_entry == 1:
            ids.append(f"{base}|entry:{entry_ref}")
            # One bank gives the reference on the entry, another on its one detail: the same reference.
            if f"{base}|ref:{entry_ref}" not in ids:
                ids.append(f"{base}|ref:{entry_ref}")
        also, lookups = same_payment(base, booked_on, e2e, None if tx is None else tx.counterparty, bool(ids))
        if e2e:
            fallback = f"{base}|e2e:{e2e}|{booked_on.isoformat()}"
        else:
            content = "|".join(
                [
                    booked_on.isoformat(),
                    (entry.value_date or booked_on).isoformat(),
                    reference.value if reference else "",
                    remittance,
                    (party.iban or party.other_id or "") if party else "",
                ]
            )
            fallback = f"{base}|content:{hashlib.sha256(content.encode()).hexdigest()[:24]}"
        sref = structured_ref(reference.value, reference.issuer) if reference is not None and reference.value else None
        try:
            bank_tx = BankTransaction(
                key="pending",
                amount=amount,
                currency=currency,
                credit_debit=CreditDebit(direction),
                status=status,
                booking_date=booked_on,
                reversal=entry.reversal,
                return_reason=None if tx is None else tx.return_reason,
                structured_ref=sref,
                remittance=remittance,
                end_to_end_id=e2e,
                debtor_name=payer.name if payer is not None else None,
                debtor_iban=(payer.iban if payer is not None and payer.iban else (tx.debtor.iban if tx else None)),
                original_amount=None if tx is None else tx.instructed_amount,
                original_currency=None if tx is None else tx.instructed_currency,
                charges=entries.charges(entry, tx, in_entry),
            )
        except InvalidMatchInput as exc:
            raise CamtError(self.file, f"transaction cannot be read: {exc}", line=entry.line) from None
        return _Draft(
            tx=bank_tx,
            ids=ids,
            fallback=fallback,
            also=also,
            lookups=lookups,
            account=account,
            entry_reference=entry_ref,
            bank_reference=None if tx is None else entries.usable(tx.bank_reference),
            value_date=entry.value_date,
            line=entry.line,
            skip=skip,
            review=review,
        )


def read_bank_file(
    path: Path,
    *,
    as_of: date,
    display_name: str | None = None,
    refuse_test_data: bool = False,
    test_accounts: frozenset[str] = frozenset(),
    own_accounts: frozenset[str] | None = None,
) -> BankFile:
    """Read every transaction of a camt.052/053/054 file (the whole file, or nothing).

    Raises :class:`BankFileRefused` (an :class:`InputError` naming the file) when the file
    cannot be read as camt at all; a file refused half-way gives no lines, so a file is
    applied whole or not at all. With ``refuse_test_data``, a file the bank marks as test data
    (or from one of ``test_accounts``) is refused too, so test payments never settle real invoices.
    With ``own_accounts`` (compact, upper case), a statement for any other account is refused:
    references come from case numbers, so another creditor's statement would settle our cases.
    """
    name = display_name or path.name
    info: MessageInfo | None = None
    header: StatementHeader | None = None
    builder: _Builder | None = None
    try:
        for event in camt.iter_events(path):
            if isinstance(event, MessageInfo):
                info = event
                builder = _Builder(name, event.message_type, as_of)
            elif isinstance(event, StatementHeader):
                header = event
                reason = marked_as_test_data(info, header, test_accounts) if refuse_test_data else None
                if reason is not None:
                    raise BankFileRefused(
                        f"bank file refused: {name}: {reason}; set bank.accept_test_files to reconcile it"
                    )
                if own_accounts is not None:
                    refuse_foreign_account(name, header, own_accounts)
            elif isinstance(event, Entry) and header is not None and builder is not None:
                builder.add_entry(header, event)
            elif isinstance(event, camt.Statement) and builder is not None:
                skipped = [p for p in event.problems if p.entry_skipped]
                if skipped:
                    # A file missing one of its entries would book some payments and lose another: refused whole.
                    first = skipped[0]
                    more = f" ({len(skipped)} entries cannot be read)" if len(skipped) > 1 else ""
                    raise BankFileRefused.at(
                        name,
                        first.message.removeprefix("entry skipped: ") + more + "; the file is not booked in part",
                        line=first.line,
                        element=first.path,
                        value=first.value,
                    )
                builder.warnings.extend(f"{name}: {p}" for p in event.problems)
                builder.warnings.extend(f"{name}: {w}" for w in event.warnings)
    except CamtError as exc:
        reason = str(exc).replace(str(path), name)
        raise BankFileRefused(
            f"bank file refused: {reason}",
            file=name,
            line=exc.line,
            element=exc.path,
            value=exc.value,
            reason=exc.reason,
        ) from None
    if info is None or builder is None:
        raise BankFileRefused(f"bank file refused: {name}: no camt message found")
    warnings = [*(f"{name}: {w}" for w in info.warnings), *builder.warnings]
    return BankFile(name, info.message, info.message_id, builder.finish(), tuple(warnings))
