"""Bank reconciliation: bank files in, cases advanced, a report and a review queue out.

    result = reconcile_files(store, workspace, [Path("2026-11-20.xml")], as_of=date(2026, 11, 20))
    print(result.summary())

For each file (a camt.052, camt.053 or camt.054; a ZIP of them is unpacked first), in **one
database transaction** (the file is applied whole, or not at all):

1. The file's content SHA-256 is looked up in ``bank_files``: a file seen before, under any
   name, changes nothing (``already_processed``).
2. Its transactions are read (:mod:`dunning.bank.read`); each carries the bank's
   identities for the movement. A transaction known by any identity of an earlier one (the
   camt.052 intraday report of a booking now in the camt.053, a camt.054 notification of it)
   is the same movement and is never booked twice: it is reported as a duplicate.
3. The open cases (:mod:`dunning.usecases.reconcile.booking`) and the transactions go to the
   pure matcher (:func:`dunning.domain.matching.match.match_payments`), with the earlier payments so
   a return or reversal can undo the one it refers to.
4. What it decided is written: ``bank_transactions`` (status matched / suggested / unmatched /
   ignored, the rule and the evidence in ``detail``), ``allocations``, invoices and cases (a
   paid case is closed with ``close_reason='paid'``; the next nightly run plans the flow's
   ``on_paid`` thank-you and nothing else), the case timeline (``payment_received``,
   ``case_paid``, ``payment_reversed``, ``case_reopened``, ``creditor_notified``) and
   ``review_items`` for suggestions and unmatched credits. A collective booking (one entry for
   the day's QR/ESR payments) is never matched itself: its payments are booked from the
   camt.054 that details them, whichever comes first, and the two are linked
   (:mod:`dunning.usecases.reconcile.collective`).
5. A report is written to ``output/reports/`` as CSV and Parquet.

A file that cannot be used (not camt, malformed, unsafe XML, a ZIP bomb, an entry that cannot be
read, an amount past 18 digits or beyond what the store holds, a currency that is not ISO 4217, a
statement for an account not in ``bank.accounts``) is refused whole, never booked in part, with a
message naming the file, line, element and value; it is quarantined: recorded in ``bank_files``
(status ``quarantined``, read again and named again if it comes again), a report written to
``bank/refused/<file>.report.txt``, and from the inbox the file itself set aside beside it. The
other files go on; the command's exit code is 1 when some files were refused.

``creditor_notified`` events record what the creditor's system must be told; ``dunning notify``
posts each once as a signed ``payment_update`` webhook (:mod:`dunning.usecases.notify.webhooks`).
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy.exc import DataError, IntegrityError

from dunning.bank.inbox import expand_zip, fetch_inbox, is_zip, note_set_aside, tidy_staged, write_refusal_report
from dunning.bank.read import BankFileRefused, read_bank_file
from dunning.bank.refusal import compact_account
from dunning.domain.matching.match import MatchConfig
from dunning.errors import InputError
from dunning.ports import Progress, sha256_file
from dunning.store import Store
from dunning.store.locks import holding_stage_lock
from dunning.store.payments import (
    ZERO,
    JsonObject,
    file_is_known,
    forget_quarantined_file,
    record_quarantined_file,
)
from dunning.usecases.reconcile.apply import FileResult, FileRun
from dunning.usecases.reconcile.credits import RefundOpened, raise_refund_items
from dunning.usecases.reconcile.settings import HISTORY_DAYS, match_config
from dunning.workspace import Workspace

__all__ = [
    "HISTORY_DAYS",
    "OUTCOMES",
    "FileResult",
    "ReconcileResult",
    "fetch_inbox",
    "match_config",
    "reconcile_files",
    "reconcile_inbox",
]

OUTCOMES = ("matched", "suggested", "unmatched", "ignored", "undone")


@dataclass(frozen=True)
class ReconcileResult:
    """The files of one reconciliation and what each did."""

    as_of: date
    files: tuple[FileResult, ...]

    @property
    def refused(self) -> tuple[FileResult, ...]:
        return tuple(f for f in self.files if f.status == "refused")

    @property
    def all_refused(self) -> bool:
        return bool(self.files) and len(self.refused) == len(self.files)

    def errors(self) -> list[InputError]:
        """The refused files, each as an :class:`InputError` naming the file."""
        return [InputError(f.error or f"{f.file}: refused") for f in self.refused]

    def summary(self) -> JsonObject:
        """Counts and sums per outcome over all files, and the cases paid, partly paid and reopened."""
        counts: Counter[str] = Counter()
        sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
        cases: dict[str, set[int]] = defaultdict(set)
        for f in self.files:
            counts.update(f.counts)
            for k, v in f.sums.items():
                sums[k] += v
            for k, ids in f.cases.items():
                cases[k].update(ids)
        return {
            "as_of": self.as_of.isoformat(),
            "files": len(self.files),
            "files_processed": sum(f.status == "processed" for f in self.files),
            "files_already_processed": sum(f.status == "already_processed" for f in self.files),
            "files_refused": len(self.refused),
            "refusals": [f.refusal or {"file": f.file, "reason": f.error} for f in self.refused],
            "outcomes": {o: {"count": counts.get(o, 0), "amount": str(sums.get(o, ZERO))} for o in OUTCOMES},
            "duplicates": counts.get("duplicate", 0),
            "cases_paid": sorted(cases.get("paid", ())),
            "cases_partly_paid": sorted(cases.get("partial", ())),
            "cases_reopened": sorted(cases.get("reopened", ())),
            "review_items": counts.get("review_items", 0),
            "written_off": _written_off(sums, counts.get("written_off", 0)),
            # cases a payment left a credit on, each with a refund item in the review queue
            "credits": [
                {"case": case_id, "credit": str(credit), "currency": currency}
                for f in self.files
                for case_id, (credit, currency) in sorted(f.credits.items())
            ],
            "refund_items": counts.get("refund_items", 0),
            "collectives": dict(sum((Counter(f.collectives) for f in self.files), Counter[str]())),
            "reports": [r for f in self.files for r in f.reports],
        }


def _written_off(sums: dict[str, Decimal], count: int) -> JsonObject:
    """What payments left short and was written off, per currency: bank charges, within the tolerance."""
    per_currency: dict[str, dict[str, Decimal]] = defaultdict(lambda: {"bank_charges": ZERO, "tolerance": ZERO})
    for key, amount in sums.items():
        label, _, rest = key.partition(":")
        if label == "written_off":
            part, _, currency = rest.partition(":")
            per_currency[currency][part] += amount
    by_currency = {
        currency: {**{k: str(v) for k, v in parts.items()}, "total": str(sum(parts.values(), ZERO))}
        for currency, parts in sorted(per_currency.items())
        if any(parts.values())
    }
    return {"count": count, "by_currency": by_currency}


@holding_stage_lock("reconcile")
def reconcile_files(
    store: Store,
    workspace: Workspace,
    paths: Iterable[Path],
    *,
    as_of: date,
    recorded_at: datetime | None = None,
    progress: Progress | None = None,
) -> ReconcileResult:
    """Reconcile bank files (camt.052/053/054, or ZIPs of them) as of ``as_of``; see the module docstring.

    ``progress(done, total)`` is told the files reconciled so far (a file is one transaction, the unit of
    work that can end); a ZIP counts as its members once it is opened, so the total can grow.
    """
    recorded_at = recorded_at or datetime.now(UTC)
    config = match_config(workspace)
    report = progress or _no_progress
    given_paths = list(paths)
    total = len(given_paths)
    results: list[FileResult] = []
    report(0, total)
    for given in given_paths:
        path = Path(given)
        if not path.is_file():
            error = f"bank file refused: {path}: no such file"
            results.append(FileResult(path.name, "", "refused", error=error, path=str(path)))
        elif is_zip(path):
            with tempfile.TemporaryDirectory(prefix="dunning-zip-") as folder:
                try:
                    members = expand_zip(path, Path(folder))
                except BankFileRefused as exc:
                    refused = _quarantine(store, workspace, path.name, sha256_file(path), exc, recorded_at)
                    results.append(dataclasses.replace(refused, path=str(path)))
                    report(len(results), total)
                    continue
                total += len(members) - 1
                for member, shown in members:
                    one = _reconcile_one(store, workspace, member, shown, as_of, config, recorded_at)
                    results.append(dataclasses.replace(one, path=str(path)))
                    report(len(results), total)
                continue
        else:
            one = _reconcile_one(store, workspace, path, path.name, as_of, config, recorded_at)
            results.append(dataclasses.replace(one, path=str(path)))
        report(len(results), total)
    return ReconcileResult(as_of, tuple(results))


def _no_progress(_done: int, _total: int) -> None:
    """Nobody watches."""


@holding_stage_lock("reconcile")
def reconcile_inbox(
    store: Store,
    workspace: Workspace,
    *,
    as_of: date,
    recorded_at: datetime | None = None,
    progress: Progress | None = None,
) -> ReconcileResult:
    """Fetch the bank inbox (:func:`fetch_inbox`) and reconcile what it brought.

    Staged copies are deleted once reconciled (the originals are archived at the bank's side);
    a refused file is kept in ``bank/refused/`` for a person to look at.
    """
    paths = fetch_inbox(workspace)
    result = reconcile_files(store, workspace, paths, as_of=as_of, recorded_at=recorded_at, progress=progress)
    refused = {f.path for f in result.files if f.status == "refused"}
    for path in paths:
        moved_to = tidy_staged(workspace, path, refused=str(path) in refused)
        if moved_to is not None:
            for f in result.files:
                if f.path == str(path) and f.refusal is not None and f.refusal.get("report"):
                    note_set_aside(Path(str(f.refusal["report"])), moved_to)
                    f.refusal["set_aside_as"] = str(moved_to)
    return result


# ---------------------------------------------------------------------------------- one file


def _reconcile_one(
    store: Store,
    workspace: Workspace,
    path: Path,
    shown: str,
    as_of: date,
    config: MatchConfig,
    recorded_at: datetime,
) -> FileResult:
    try:
        sha = sha256_file(path)
    except OSError as exc:
        return FileResult(shown, "", "refused", error=f"bank file refused: {shown}: cannot read it ({exc.strerror})")
    with store.begin() as conn:
        if file_is_known(conn, sha):
            return FileResult(shown, sha, "already_processed")
    try:
        bank = workspace.config.bank
        bank_file = read_bank_file(
            path,
            as_of=as_of,
            display_name=shown,
            refuse_test_data=not bank.accept_test_files,
            test_accounts=frozenset(a.replace(" ", "").upper() for a in bank.test_accounts),
            own_accounts=own_accounts(workspace),
        )
    except BankFileRefused as exc:
        return _quarantine(store, workspace, shown, sha, exc, recorded_at)
    except _UNFORESEEN as exc:  # a reading no rule foresaw: the file waits aside, the run goes on
        refused = BankFileRefused.at(shown, f"cannot be read ({type(exc).__name__}: {str(exc)[:200]})")
        return _quarantine(store, workspace, shown, sha, refused, recorded_at)
    try:
        with store.begin() as conn:
            if file_is_known(conn, sha):
                return FileResult(shown, sha, "already_processed", bank_file.message)
            forget_quarantined_file(conn, sha)
            done = FileRun(conn, workspace, bank_file, sha, as_of, config, recorded_at).run()
            return _with_refunds(done, raise_refund_items(conn, on_date=as_of, recorded_at=recorded_at))
    except DataError as exc:
        # A value the database cannot hold: nothing of the file landed (one transaction); set it aside.
        reason = f"a value the store cannot hold ({str(exc.orig).splitlines()[0][:200]})"
        return _quarantine(store, workspace, shown, sha, BankFileRefused.at(shown, reason), recorded_at)
    except IntegrityError:
        # Another process recorded the same file (or transaction) first: nothing of ours landed.
        with store.begin() as conn:
            if file_is_known(conn, sha):
                return FileResult(shown, sha, "already_processed", bank_file.message)
        raise


def _with_refunds(result: FileResult, opened: list[RefundOpened]) -> FileResult:
    """The file's result with the credits it left and the refund items they opened in the review queue."""
    if not opened:
        return result
    return dataclasses.replace(
        result,
        counts={**result.counts, "refund_items": len(opened)},
        cases={**result.cases, "credit": sorted({o.case_id for o in opened})},
        credits={o.case_id: (o.credit, o.currency) for o in opened},
    )


#: Exceptions a reading that no rule foresaw can raise: the file is refused, never the run stopped.
_UNFORESEEN = (ArithmeticError, LookupError, ValueError, TypeError, AttributeError)


def _quarantine(
    store: Store, workspace: Workspace, shown: str, sha: str, exc: BankFileRefused, recorded_at: datetime
) -> FileResult:
    """Refuse a file: record it in the store (never silently retried or skipped) and write its report.

    The report (``bank/refused/<file>.report.txt``) names the file, line, element, value and reason;
    the inbox sets the file itself beside it (:func:`dunning.bank.inbox.tidy_staged`).
    """
    facts: JsonObject = {**exc.facts(), "file": exc.file or shown, "sha256": sha or None}
    error = str(exc)
    if sha:
        with store.begin() as conn:
            record = record_quarantined_file(conn, sha256=sha, file_name=shown, facts=facts, recorded_at=recorded_at)
        facts["times"] = record.times
        facts["refused_at"] = record.first_refused_at.isoformat()
        if record.times > 1:
            error += f" (refused {record.times} times since {record.first_refused_at.date().isoformat()})"
    report = write_refusal_report(workspace, shown, facts)
    facts["report"] = str(report)
    return FileResult(shown, sha, "refused", error=f"{error}; report: {report}", refusal=facts)


def own_accounts(workspace: Workspace) -> frozenset[str]:
    """The accounts whose statements this workspace reconciles: ``bank.accounts``, else the creditor's IBAN."""
    config = workspace.config
    return frozenset(compact_account(a) for a in (config.bank.accounts or [config.creditor.iban]))
