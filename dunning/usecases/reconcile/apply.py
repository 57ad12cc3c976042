"""Applying one read bank file: match it, write what the matcher decided, report it.

:class:`FileRun` does, inside the file's one database transaction: recognise transactions
seen before (by key or by any identity: see :mod:`dunning.bank.read`), run the
matcher, record the file and its transactions (status, rule, evidence, payment record, the
identities), the allocations, the cases' new state and timeline, the review items and the
report. Collective bookings and the batches that detail them are linked, so their payments are
booked once whichever file comes first (:mod:`dunning.usecases.reconcile.collective`).
:class:`FileResult` says what it did.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Connection

from dunning.bank.read import BankFile, BankLine
from dunning.domain.matching.charges import excused_charges
from dunning.domain.matching.match import (
    BankTransaction,
    MatchConfig,
    Matched,
    MatchResult,
    PaymentRecord,
    Suggested,
    Undone,
    Unmatched,
    match_payments,
)
from dunning.store.payments import (
    ZERO,
    JsonObject,
    NewTransaction,
    find_transaction,
    insert_aliases,
    insert_bank_file,
    insert_transactions,
    known_keys,
    load_history,
    record_to_json,
    set_bank_file_summary,
    set_transaction_detail,
)
from dunning.store.review import NewReviewItem, cancel_open_reviews, insert_review_items
from dunning.usecases.plans.returns import record_direct_debit_returns
from dunning.usecases.reconcile.booking import Applier, CaseBook, CaseChange, learn_ibans, load_cases
from dunning.usecases.reconcile.collective import Collectives
from dunning.usecases.reconcile.decisions import (
    Decisions,
    evidence_json,
    evidence_lines,
    evidence_text,
    write_off_detail,
)
from dunning.usecases.reconcile.report import ReportRow, write_report
from dunning.usecases.reconcile.settings import HISTORY_DAYS
from dunning.usecases.reconcile.settlements import mark_settlements
from dunning.workspace import Workspace

__all__ = ["HISTORY_DAYS", "FileResult", "FileRun"]


@dataclass(frozen=True)
class FileResult:
    """What reconciling one bank file did. ``status``: processed, already_processed or refused.

    ``collectives`` counts collective bookings by state: ``awaiting_details`` (held until the
    camt.054 with its payments comes), ``linked`` (its payments are booked from the details), and
    ``asked`` (held too long: a review item was raised, counted in ``review_items`` too).
    """

    file: str
    sha256: str
    status: str
    message: str | None = None
    error: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    sums: dict[str, Decimal] = field(default_factory=dict)
    cases: dict[str, list[int]] = field(default_factory=dict)  # paid / partial / reopened → case ids
    reports: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    path: str | None = None  # the file given (a ZIP for its members)
    collectives: dict[str, int] = field(default_factory=dict)
    #: a refused file: file, line, element, value, reason, and the quarantine report written
    refusal: JsonObject | None = None
    #: case id → (credit, currency) of the cases this file left a credit on (a refund item each)
    credits: dict[int, tuple[Decimal, str]] = field(default_factory=dict)

    def as_dict(self) -> JsonObject:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "status": self.status,
            "message": self.message,
            "error": self.error,
            "counts": dict(self.counts),
            "sums": {k: str(v) for k, v in self.sums.items()},
            "cases": {k: list(v) for k, v in self.cases.items()},
            "reports": list(self.reports),
            "warnings": list(self.warnings),
            "path": self.path,
            "collectives": dict(self.collectives),
            "refusal": self.refusal,
            "credits": {str(k): {"credit": str(c), "currency": cur} for k, (c, cur) in self.credits.items()},
        }


class FileRun:
    """Reconciling one read bank file inside one transaction."""

    def __init__(
        self,
        conn: Connection,
        workspace: Workspace,
        bank_file: BankFile,
        sha: str,
        as_of: date,
        config: MatchConfig,
        recorded_at: datetime,
    ) -> None:
        self.conn = conn
        self.workspace = workspace
        self.file = bank_file
        self.sha = sha
        self.as_of = as_of
        self.config = config
        self.recorded_at = recorded_at
        self.source = f"bank:{sha[:16]}"
        self.report: list[ReportRow] = []
        self.counts: Counter[str] = Counter()
        self.sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self.tx_ids: dict[str, int] = {}
        self.directions: dict[str, str] = {}
        self.currencies: dict[str, str] = {}
        self.stored: set[str] = set()
        self.reviews: list[NewReviewItem] = []
        self.collectives = Collectives(conn, bank_file.name)

    # -------------------------------------------------------------- driving

    def run(self) -> FileResult:
        since = self.as_of - timedelta(days=HISTORY_DAYS)
        book = load_cases(self.conn, since=since)
        history, undone_keys = load_history(self.conn, since=since)
        learn_ibans(book, history)
        lines = mark_settlements(self.collectives.recognise(self._recognise(self.file.lines)), self.workspace)
        applied = {line.key for line in lines if line.key in self.stored}
        to_match = [line.tx for line in lines if line.skip is None and line.review is None]
        result = match_payments(
            to_match,
            book.refs.values(),
            config=self.config,
            applied_keys=applied,
            history=history,
            undone_keys=undone_keys,
        )
        file_id = self._record_file()
        self._record_transactions(file_id, lines, result)
        self.collectives.register(lines, self.tx_ids)
        applier = Applier(self.conn, book, on_date=self.as_of, source=self.source, recorded_at=self.recorded_at)
        self._apply(applier, book, result)
        applier.flush()
        # a returned direct debit of a plan: its instalment is missed again (issue 19)
        record_direct_debit_returns(
            self.conn,
            [line.tx for line in lines if line.key in self.tx_ids],
            {u.tx_key: u.original_key for u in result.undone},
            on_date=self.as_of,
            recorded_at=self.recorded_at,
        )
        asked = self.collectives.escalate(as_of=self.as_of, since=since, recorded_at=self.recorded_at)
        if asked:
            self.counts["review_items"] += asked
            self.collectives.counts["asked"] += asked
        summary = self._summary(applier, result)
        csv_path, parquet_path = write_report(self.report, self._report_base())
        reports = (str(csv_path), str(parquet_path))
        set_bank_file_summary(self.conn, file_id, {**summary, "reports": list(reports)})
        cases: dict[str, list[int]] = defaultdict(list)
        for case_id, outcome in sorted(applier.outcomes.items(), key=lambda kv: int(kv[0])):
            cases[outcome].append(int(case_id))
        return FileResult(
            self.file.name,
            self.sha,
            "processed",
            self.file.message,
            counts=dict(self.counts),
            sums=dict(self.sums),
            cases=dict(cases),
            reports=reports,
            warnings=self.file.warnings + tuple(result.problems) + tuple(self.collectives.warnings),
            collectives=dict(self.collectives.counts),
        )

    def _report_base(self) -> Path:
        stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(self.file.name).stem)[:60]
        return self.workspace.reports_dir / f"reconcile-{self.as_of.isoformat()}-{stem}-{self.sha[:12]}"

    def _recognise(self, lines: Sequence[BankLine]) -> list[BankLine]:
        """Give a line known by an identity of an earlier transaction that transaction's key."""
        stored, by_alias = known_keys(
            self.conn, (line.key for line in lines), (a for line in lines for a in line.recognised_by)
        )
        self.stored = set(stored)
        out = []
        for line in lines:
            known = next((by_alias[a] for a in line.recognised_by if a in by_alias), None)
            if known is not None and known != line.key:
                line = dataclasses.replace(line, tx=_with_key(line.tx, known))
                self.stored.add(known)
            out.append(line)
        return out

    def _record_file(self) -> int:
        return insert_bank_file(
            self.conn,
            sha256=self.sha,
            file_name=self.file.name,
            message=self.file.message,
            recorded_at=self.recorded_at,
        )

    # -------------------------------------------------------------- transactions

    def _record_transactions(self, file_id: int, lines: Sequence[BankLine], result: MatchResult) -> None:
        decisions = Decisions.of(result)
        rows: list[NewTransaction] = []
        new_lines: list[BankLine] = []
        seen: set[str] = set()
        batch_keys: dict[int, list[str]] = defaultdict(list)
        anchors: dict[int, str] = {}
        to_review: list[BankLine] = []
        for line in lines:
            if line.batch is not None and line.key not in self.stored and line.key not in batch_keys[line.batch.number]:
                batch_keys[line.batch.number].append(line.key)
                anchors.setdefault(line.batch.number, line.key)
        for line in lines:
            tx = line.tx
            detail = self._detail(line)
            report = ReportRow(
                "ignored",
                tx.key,
                tx.booking_date.isoformat(),
                tx.amount,
                tx.currency,
                str(tx.credit_debit),
                payer_name=tx.debtor_name or "",
                remittance=tx.remittance,
            )
            first = tx.key not in seen
            seen.add(tx.key)
            if tx.key in self.stored or not first:
                why = (
                    "already booked from an earlier file"
                    if tx.key in self.stored
                    else "the same transaction twice in this file"
                )
                self._count("ignored", tx.amount, "duplicate")
                self.report.append(dataclasses.replace(report, reason=f"duplicate: {why}"))
                continue
            status = "ignored"
            if line.batch is not None:
                detail["batch"] = Collectives.batch_detail(
                    line, anchors[line.batch.number], batch_keys[line.batch.number]
                )
            collective = self.collectives.collective_detail(line)
            if collective is not None:
                detail.update(collective=collective[0], reason=collective[1])
                report = dataclasses.replace(report, reason=collective[1])
            elif line.skip is not None:
                detail.update(reason=line.skip)
                report = dataclasses.replace(report, reason=line.skip)
            elif line.review is not None:
                status = "unmatched"
                detail.update(reason=line.review, record=record_to_json(_unapplied(tx)))
                report = dataclasses.replace(report, outcome="unmatched", reason=line.review)
                to_review.append(line)
            else:
                status, report = decisions.describe(tx.key, detail, report)
            if tx.key in decisions.records:
                detail["record"] = record_to_json(decisions.records[tx.key])
            self._count(report.outcome, tx.amount)
            self.report.append(report)
            rows.append(
                NewTransaction(
                    key=tx.key,
                    bank_file_id=file_id,
                    amount=tx.amount,
                    currency=tx.currency,
                    credit_debit=str(tx.credit_debit),
                    booking_date=tx.booking_date,
                    reference=tx.structured_ref.value[:40] if tx.structured_ref else None,
                    remittance=tx.remittance or None,
                    status=status,
                    detail=detail,
                )
            )
            new_lines.append(line)
            self.directions[tx.key] = str(tx.credit_debit)
            self.currencies[tx.key] = tx.currency
        if not rows:
            return
        for line, tx_id in zip(new_lines, insert_transactions(self.conn, rows), strict=True):
            self.tx_ids[line.key] = tx_id
        aliases = [
            (alias, self.tx_ids[line.key])
            for line in new_lines
            if line.key in result.applied_keys or line.review is not None
            for alias in line.aliases
        ]
        insert_aliases(self.conn, aliases, skip_known=True)  # a party: mark stays with the first payment
        for line in to_review:
            waiting = Unmatched(line.key, line.tx.amount, line.tx.currency, line.review or "", ())
            self._review(line.key, None, waiting)

    def _detail(self, line: BankLine) -> JsonObject:
        tx = line.tx
        sref = tx.structured_ref
        return {
            "file": self.file.name,
            "message": self.file.message,
            "line": line.line,
            "account": line.account,
            "entry_status": str(tx.status),
            "reversal": tx.reversal,
            "return_reason": tx.return_reason,
            "bank_reference": line.bank_reference,
            "entry_reference": line.entry_reference,
            "end_to_end_id": tx.end_to_end_id,
            "value_date": line.value_date.isoformat() if line.value_date else None,
            "structured_reference": None
            if sref is None
            else {"value": sref.value, "kind": str(sref.kind), "valid": sref.valid},
            "debtor_name": tx.debtor_name,
            "debtor_iban": tx.debtor_iban,
            "aliases": list(line.aliases),
            # what banks took on the way and the creditor bears: a review decision settles with it too
            "instructed_amount": None if tx.original_amount is None else str(tx.original_amount),
            "charges": str(excused_charges(tx)),
            "charge_bearer": next((c.bearer for c in tx.charges if c.bearer), None),
        }

    def _count(self, outcome: str, amount: Decimal, sub: str | None = None) -> None:
        self.counts[outcome] += 1
        self.sums[outcome] += amount
        if sub:
            self.counts[sub] += 1

    # -------------------------------------------------------------- effects on cases

    def _apply(self, applier: Applier, book: CaseBook, result: MatchResult) -> None:
        happened: dict[str, list[str]] = defaultdict(list)
        for m in result.matched:
            if m.tx_key not in self.tx_ids:
                continue
            self._payment(applier, m)
            happened[m.case_id].append("payment_received")
        for u in result.undone:
            if u.tx_key in self.tx_ids:
                for case_id in self._undo(applier, u):
                    happened[case_id].append("payment_reversed")
        open_after: dict[str, Decimal] = {}
        for outcome in result.cases:
            if outcome.case_id not in book.refs:
                continue
            open_after[outcome.case_id] = outcome.open_total
            change = CaseChange(outcome.case_id, dict(outcome.open_amounts), outcome.credit, outcome.new_items)
            state = applier.change_case(change, why=f"bank file {self.file.name}")
            if state == "paid":
                happened[outcome.case_id].append("case_paid")
            elif state == "reopened":
                happened[outcome.case_id].append("case_reopened")
        for s in result.suggested:
            if s.tx_key in self.tx_ids:
                self._review(s.tx_key, s, None)
        for un in result.unmatched:
            if un.tx_key in self.tx_ids and self.directions.get(un.tx_key) == "CRDT":
                self._review(un.tx_key, None, un)
        insert_review_items(self.conn, self.reviews)
        for case_id, kinds in sorted(happened.items(), key=lambda kv: int(kv[0])):
            row = book.rows[case_id]
            applier.event(
                case_id,
                "creditor_notified",
                {
                    "reason": "tell the creditor's system: " + ", ".join(kinds),
                    "events": kinds,
                    "status": applier.outcomes.get(case_id),
                    "open_amount": str(open_after.get(case_id, book.refs[case_id].open_total)),
                    "reference": row.reference,
                    "delivery": "queued: dunning notify posts it to webhook.url",
                },
            )

    def _payment(self, applier: Applier, m: Matched) -> None:
        tx_id = self.tx_ids[m.tx_key]
        applier.allocations(
            tx_id, str(m.rule), m.allocations, m.write_offs, m.case_id if m.credit > 0 else None, m.credit
        )
        applied = sum((a.amount for a in m.allocations), ZERO)
        currency = self.currencies.get(m.tx_key, "")
        for w in m.write_offs:
            self.sums[f"written_off:bank_charges:{currency}"] += w.charges
            self.sums[f"written_off:tolerance:{currency}"] += w.within_tolerance
            self.counts["written_off"] += 1
        applier.event(
            m.case_id,
            "payment_received",
            {
                "transaction": m.tx_key,
                "rule": str(m.rule),
                "reason": f"{m.rule}: " + evidence_text(m.evidence),
                "evidence": evidence_lines(m.evidence),
                "allocations": [f"{a.item_id} ({a.kind}) {a.amount}" for a in m.allocations],
                "written_off": [f"{w.item_id} {w.amount}" for w in m.write_offs],
                **({"write_off": write_off_detail(m.write_offs)} if m.write_offs else {}),
                "applied": str(applied),
                "credit": str(m.credit),
                "file": self.file.name,
            },
            m.amount,
        )

    def _undo(self, applier: Applier, u: Undone) -> list[str]:
        original = find_transaction(self.conn, u.original_key)
        cases_hit = sorted({a.case_id for a in u.reopened}, key=int)
        if original is not None:
            set_transaction_detail(self.conn, original.id, {**original.detail, "undone_by": u.tx_key})
            applier.reverse_allocations(original.id)
            cancel_open_reviews(self.conn, original.id)
        for case_id in cases_hit:
            reopened = [a for a in u.reopened if a.case_id == case_id]
            applier.event(
                case_id,
                "payment_reversed",
                {
                    "transaction": u.tx_key,
                    "original": u.original_key,
                    "rule": str(u.rule),
                    "return_reason": u.return_reason,
                    "reason": f"{u.rule} of {u.original_key}"
                    + (f" (reason {u.return_reason})" if u.return_reason else ""),
                    "reopened": [f"{a.item_id} {a.amount}" for a in reopened],
                    "credit_reversed": str(u.credit_reversed),
                    "return_fee": str(u.return_fee.open_amount) if u.return_fee else None,
                    "evidence": evidence_lines(u.evidence),
                },
                sum((a.amount for a in reopened), ZERO),
            )
        return cases_hit

    def _review(self, key: str, s: Suggested | None, u: Unmatched | None) -> None:
        if s is not None:
            evidence = {
                "rule": str(s.rule),
                "reason": s.reason,
                "amount": str(s.amount),
                "currency": s.currency,
                "candidates": [
                    {"case": c.case_id, "item": c.item_id, "score": c.score, "evidence": evidence_json(c.evidence)}
                    for c in s.candidates
                ],
                "evidence": evidence_json(s.evidence),
            }
            case_id = int(s.candidates[0].case_id) if s.candidates else None
        else:
            assert u is not None
            evidence = {
                "rule": "none",
                "reason": u.reason,
                "amount": str(u.amount),
                "currency": u.currency,
                "candidates": [],
                "evidence": evidence_json(u.evidence),
            }
            case_id = None
        self.reviews.append(NewReviewItem(self.tx_ids[key], case_id, evidence, self.recorded_at))
        self.counts["review_items"] += 1

    def _summary(self, applier: Applier, result: MatchResult) -> JsonObject:
        return {
            "counts": dict(self.counts),
            "sums": {k: str(v) for k, v in self.sums.items()},
            "cases": dict(Counter(applier.outcomes.values())),
            "rules": result.rule_counts(),
            "warnings": len(self.file.warnings),
            "collectives": dict(self.collectives.counts),
        }


def _with_key(tx: BankTransaction, key: str) -> BankTransaction:
    return dataclasses.replace(tx, key=key)


def _unapplied(tx: BankTransaction) -> PaymentRecord:
    """The payment record of a transaction sent to review unmatched: all of it waits, unapplied."""
    return PaymentRecord(
        tx_key=tx.key,
        booking_date=tx.booking_date,
        amount=tx.amount,
        currency=tx.currency,
        end_to_end_id=tx.end_to_end_id,
        reference=None,
        debtor_iban=tx.debtor_iban,
        allocations=(),
        write_offs=(),
        credit_case_id=None,
        credit=ZERO,
        unapplied=tx.amount,
    )
