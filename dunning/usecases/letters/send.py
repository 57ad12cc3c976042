"""The letter channel, part 2: rendered letters → print-house batches, delivered and recorded exactly once.

::

    run = send_letters(store, workspace, date(2026, 11, 2))
    run.batches, run.letters, run.pages, run.problems

Letters: ``planned`` letter / registered-letter actions due on or before the run date whose PDF is
recorded in ``documents`` (:func:`dunning.usecases.letters.render.render_letters`). They become
:class:`~dunning.print.PrintLetter`\\ s (registered for ``registered_letter``; country and postal code
of the debtor; postage class from the step's ``print_class``), are planned into batches
(``print.batch_size`` letters at most, home country = the creditor's), assembled into
``output/print-batches/<date>/`` and delivered over ``print.transport``.

**Exactly once.** Each batch has a delivery row ``batch:<batch id>`` (channel ``print``):

1. before anything is uploaded, one transaction records it ``pending`` with the batch's letters
   (action ids) and date: from then on these letters belong to this batch and to no other;
2. :func:`dunning.print.deliver_batch` uploads it (files first, ready marker last);
3. :meth:`StoreDeliveryLog.record_done` records, in **one** transaction, the batch ``sent`` and every
   letter of it: action ``sent`` (``outcome_on`` = the run date), a delivery row
   ``<action key>:letter`` (``external_id`` = batch id), a ``letter_sent`` case event and, for a
   letter with a fee, the fee booked to the case (:mod:`dunning.usecases.outgoing.fees`).

**A batch is fixed when it is made.** Its id (with its number of the day), its letters *in their order*
and its date are recorded in step 1; nothing about it is ever planned again. A crash anywhere between 1
and 3 leaves the batch ``pending``. The next run first lays every pending batch out again from what was
recorded (:func:`dunning.print.rebuild_batch`), whatever ``print.batch_size`` or the set of waiting
letters is by then; the PDF is byte-for-byte deterministic, so it is the same batch, and the delivery
finds its files already on the print house's side (same size and SHA-256) and keeps them instead of
uploading again, removes ``.part`` leftovers and writes only what is missing (:mod:`dunning.print.delivery`).
Only then are new batches planned, from the letters that belong to no batch, numbered after the
batches already made that day (``numbered_after``), so a day's numbers per profile stay unique and
consecutive. So a letter is never in two batches and never uploaded twice, whenever the process dies.

A letter of a pending batch whose PDF vanished or changed (no longer recorded, unreadable, another page
count or envelope) is reported and the batch goes without it, as long as the print house does not have
the batch yet (no ready marker): its manifests and ticket then list exactly the letters it holds, and
the record of the batch drops the letter (kept under ``left_out``). If the print house already has the
batch marked ready with other content, the batch is held (``BatchConflictError``) and the reason
reported; a batch none of whose letters can be laid out again is held too.

A transport failure (server away) stops the delivery for this run; the batches stay ``pending`` and
the next run finishes them the same way. A rendered reminder that belongs to no batch yet and is no longer
owed by the run's date (paid since it was rendered: :mod:`dunning.usecases.outgoing.stale`) is cancelled, not
batched; one in a batch already made goes with it. A letter left out (above, or by the assembly of a new batch)
is reported; when its batch is recorded sent, the letter's ``documents`` row is removed, so the next
``render_letters`` renders it again and a later batch takes it. ``PrintRun.pages`` counts printed
pages, blank backs of odd duplex letters included.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from dunning.adapters.transport import transport_for
from dunning.domain.plans.holds import HeldMessage
from dunning.errors import StoreError
from dunning.ports import Progress, Transport
from dunning.print import (
    AssembledBatch,
    BatchConflictError,
    BatchingRules,
    BatchPlan,
    BatchProblem,
    PlannedBatch,
    PrintLetter,
    PrintProfile,
    batch_number,
    deliver_batches,
    plan_batches,
    profile_code_of,
    rebuild_batch,
)
from dunning.print.assemble import mark_settings
from dunning.print.delivery import READY_SUFFIX
from dunning.store import Store
from dunning.store.cases import NewCaseEvent, insert_case_events
from dunning.store.deliveries import (
    PrintBatchRecord,
    RenderedLetterRecord,
    delete_documents,
    insert_letter_deliveries,
    insert_pending_print_batch,
    letter_delivery_row,
    load_existing_delivery_keys,
    load_pending_print_batches,
    load_print_batch,
    load_print_batches_built_on,
    load_rendered_letters,
    load_rendered_planned_letters,
    mark_print_batch_sent,
    mark_print_batch_void,
    record_print_batch_upload,
)
from dunning.store.letter_actions import cancel_planned_action, load_letter_actions, mark_planned_actions_sent
from dunning.store.locks import holding_stage_lock
from dunning.usecases.letters.assembly import BatchJob, assemble_batches
from dunning.usecases.letters.data import LETTER_CHANNELS
from dunning.usecases.letters.plan_letters import is_plan_letter
from dunning.usecases.outgoing.due import load_due_actions
from dunning.usecases.outgoing.fees import book_message_fee
from dunning.usecases.outgoing.stale import flow_minimums, no_longer_owed
from dunning.usecases.plans.held_messages import held_plan_action
from dunning.workspace import Workspace

__all__ = ["PRINT_CHANNEL", "PrintRun", "StoreDeliveryLog", "send_letters"]

log = logging.getLogger(__name__)

PRINT_CHANNEL = "print"
BATCH_PREFIX = "batch:"


@dataclass
class PrintRun:
    """What one ``send_letters`` did (counts, batch ids and problems; no personal data)."""

    run_date: date
    batches: list[str] = field(default_factory=list)
    letters: int = 0
    pages: int = 0
    bytes: int = 0
    recovered: int = 0
    cancelled: int = 0
    problems: list[str] = field(default_factory=list)
    undelivered: list[str] = field(default_factory=list)  # batch ids the print house did not get (exit code 6)

    def summary(self) -> dict[str, Any]:
        return {"run_date": self.run_date.isoformat(), "batches": len(self.batches), "batch_ids": self.batches,
                "letters_sent": self.letters, "pages": self.pages, "bytes": self.bytes,
                "recovered": self.recovered, "cancelled": self.cancelled, "problems": list(self.problems)}


def batch_key(batch_id: str) -> str:
    """The delivery key of a print batch."""
    return BATCH_PREFIX + batch_id


def letter_delivery_key(action_key: str) -> str:
    """The delivery key of one letter handed to the print house (its action's key + ``:letter``)."""
    return f"{action_key}:letter"


class StoreDeliveryLog:
    """A :class:`dunning.print.DeliveryLog` on the ``deliveries`` table (one row per batch).

    ``record_done`` also records the batch's letters as sent, in the same transaction, so a batch
    is never marked delivered without its letters, nor the letters without the batch.
    """

    def __init__(self, store: Store, run_date: date, recorded_at: datetime) -> None:
        self.store = store
        self.run_date = run_date
        self.recorded_at = recorded_at
        self._batches: dict[str, AssembledBatch] = {}
        self._left_out: dict[str, dict[int, str]] = {}
        self.sent_letters = 0

    def expect(self, batch: AssembledBatch, left_out: Mapping[int, str] | None = None) -> None:
        """The assembled batch whose letters ``record_done`` marks sent, and the recorded letters it goes without."""
        self._batches[batch.batch_id] = batch
        self._left_out[batch.batch_id] = dict(left_out or {})

    def left_out(self, batch_id: str) -> Mapping[int, str]:
        """The recorded letters of this batch that are not in its assembled files, with the reason."""
        return self._left_out.get(batch_id, {})

    def is_done(self, batch_id: str) -> bool:
        with self.store.begin() as conn:
            batch = load_print_batch(conn, batch_key(batch_id))
        return batch is not None and batch.status == "sent"

    def record_started(self, batch_id: str, sha256: str, destination: str) -> None:
        with self.store.begin() as conn:
            batch = load_print_batch(conn, batch_key(batch_id))
            if batch is None:
                raise StoreError(f"batch {batch_id} was not recorded before its delivery")
            if batch.status != "sent":
                record_print_batch_upload(conn, batch, sha256=sha256, destination=destination,
                                          recorded_at=self.recorded_at)

    def record_done(self, batch_id: str, sha256: str, destination: str) -> None:
        assembled = self._batches.get(batch_id)
        if assembled is None:
            raise StoreError(f"batch {batch_id} was delivered but its letters are unknown to this run")
        with self.store.begin() as conn:
            batch = load_print_batch(conn, batch_key(batch_id))
            if batch is None:
                raise StoreError(f"batch {batch_id} was not recorded before its delivery")
            in_files = {int(r.letter_id) for r in assembled.rows}
            reasons = self.left_out(batch_id)
            left_out = {i: reasons.get(i, "not in the delivered batch") for i in batch.letter_ids if i not in in_files}
            mark_print_batch_sent(conn, batch.delivery_id, sha256=sha256, destination=destination,
                                  delivered_on=self.run_date, recorded_at=self.recorded_at, left_out=left_out,
                                  pages=sum(r.page_count + r.blank_pages for r in assembled.rows),
                                  sheets=sum(r.sheets for r in assembled.rows))
            self.sent_letters += record_letters_sent(conn, assembled, self.run_date, self.recorded_at)
            # Letters left out (PDF vanished, unreadable or changed): they leave the batch (above) and their
            # document is forgotten, so the next render_letters makes it again and a later batch takes them.
            delete_documents(conn, sorted(left_out))


def record_letters_sent(conn: Connection, batch: AssembledBatch, run_date: date, recorded_at: datetime) -> int:
    """Every letter of a delivered batch: action sent, delivery row, ``letter_sent`` event. Returns how many.

    A few statements per batch, not per letter (one update of the actions, one insert of the delivery rows,
    one of the events); only a letter with a fee has statements of its own (the fee booked to its case).
    """
    ids = [int(r.letter_id) for r in batch.rows]
    if not ids:
        return 0
    letter_actions = load_letter_actions(conn, ids)
    existing = load_existing_delivery_keys(conn, [letter_delivery_key(letter_actions[i].idempotency_key)
                                                  for i in ids if i in letter_actions])
    sent = [(manifest, letter_actions[int(manifest.letter_id)]) for manifest in batch.rows
            if int(manifest.letter_id) in letter_actions]
    mark_planned_actions_sent(conn, [action.id for _, action in sent if action.status == "planned"], run_date)
    rows: list[dict[str, Any]] = []
    events: list[NewCaseEvent] = []
    for manifest, action in sent:
        if action.amount:  # handed to the print house: its fee is owed now (booked once, in this transaction)
            book_message_fee(conn, action.id, on_date=run_date, recorded_at=recorded_at,
                             source=f"print:{batch.batch_id}")
        key = letter_delivery_key(action.idempotency_key)
        if key in existing:
            continue
        rows.append(letter_delivery_row(
            key=key, action_id=action.id, channel=action.channel, batch_id=batch.batch_id,
            sequence=manifest.sequence, pages=manifest.page_count, sent_on=run_date, template=action.template,
            recorded_at=recorded_at))
        events.append(NewCaseEvent(
            case_id=action.case_id, on_date=run_date, kind="letter_sent",
            detail={"ref": action.idempotency_key, "batch": batch.batch_id, "template": action.template,
                    "pages": manifest.page_count, "channel": action.channel, "action": action.action},
            source=f"print:{action.channel}", recorded_at=recorded_at,
        ))
    insert_letter_deliveries(conn, rows)
    insert_case_events(conn, events)
    return len(rows)


@dataclass(frozen=True, slots=True)
class _Ready:
    """A planned letter action with a recorded PDF, as the batcher needs it."""

    letter: PrintLetter
    case_status: str
    action: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)


def _ready(workspace: Workspace, letters: Sequence[RenderedLetterRecord]) -> dict[int, _Ready]:
    """The rendered letters as the batcher takes them (country and postal code of the debtor), by action id."""
    home = workspace.config.creditor.address.country
    return {letter.action_id: _Ready(PrintLetter(
        letter_id=str(letter.action_id), case_id=str(letter.case_id), debtor_id=str(letter.debtor_id),
        pdf=workspace.path(letter.pdf_path), page_count=int(letter.pages or 0),
        country=(letter.country or home).upper(), postal_code=letter.postal_code or "",
        postage_class=letter.print_class or "standard", registered=letter.channel == "registered_letter",
    ), letter.case_status, letter.action, letter.detail) for letter in letters}


def _rules(workspace: Workspace) -> BatchingRules:
    config = workspace.config
    return BatchingRules(home_country=config.creditor.address.country, max_letters=config.print.batch_size)


@dataclass(frozen=True, slots=True)
class _Work:
    """A batch to assemble and deliver: made now, or rebuilt from the store (then maybe without some letters)."""

    batch: PlannedBatch
    built_on: date
    left_out: Mapping[int, str] = field(default_factory=dict)  # letter action id -> why it cannot go


def _rebuild(conn: Connection, workspace: Workspace, recorded: PrintBatchRecord, rules: BatchingRules,
             run: PrintRun) -> _Work:
    """A pending batch laid out again from its recorded letters, in their recorded order (never planned again).

    Its id, number and order stay those recorded, whatever ``print.batch_size`` or the waiting letters are
    now. A letter that can no longer be laid out as it was (its PDF is no longer recorded, or its page count
    now needs another envelope) is left out and reported; the manifests then list exactly the letters the
    batch holds.
    """
    ids = list(recorded.letter_ids)
    ready = _ready(workspace, load_rendered_letters(conn, ids))
    kept: list[PrintLetter] = []
    left_out: dict[int, str] = {}
    for letter_id in ids:
        item = ready.get(letter_id)
        if item is None:
            left_out[letter_id] = "its PDF is no longer recorded"
            continue
        fits = rebuild_batch(recorded.batch_id, [item.letter], rules)  # this letter alone, in this batch's profile
        if isinstance(fits, BatchProblem):
            left_out[letter_id] = fits.message
            continue
        kept.append(item.letter)
    rebuilt = rebuild_batch(recorded.batch_id, kept, rules) if kept else None
    for letter_id, reason in left_out.items():
        run.problems.append(f"letter action {letter_id} left out of pending batch {recorded.batch_id}: {reason}")
    # No letter left: an empty batch of the same id and profile, which _deliver drops (or holds) instead of sending.
    empty = PlannedBatch(recorded.batch_id, _profile_of(recorded.batch_id), ())
    return _Work(rebuilt if isinstance(rebuilt, PlannedBatch) else empty, recorded.built_on, left_out)


def _profile_of(batch_id: str) -> PrintProfile:
    """The profile of a batch id, for an empty batch (only its code is ever read)."""
    parts = profile_code_of(batch_id).split("-")
    return PrintProfile(duplex=parts[0][0] == "D", colour=parts[0][1] == "C", envelope=parts[1],
                        postage_class=parts[2], international=parts[3] == "INT", registered=parts[-1] == "R")


def _drop_empty_batch(store: Store, transport: Transport, batch: AssembledBatch, left_out: Mapping[int, str],
                      now: datetime, run: PrintRun) -> None:
    """A batch with none of its letters left is never sent empty.

    If the print house has its ready marker, it has the batch as it was made: held, for a person to
    check. Otherwise nothing of it counts there (the house starts only on a marker): its leftovers are
    removed, the batch is recorded ``void`` and its letters are rendered again for a later batch.
    """
    batch_id = batch.batch_id
    names = [entry.name for entry in transport.list("") if entry.name.startswith(batch_id + ".")]
    if batch_id + READY_SUFFIX in names:
        run.problems.append(f"batch {batch_id} held: none of its letters can be laid out again (their PDFs "
                            "vanished or changed) but the print house already has it marked ready; check with "
                            "the print house")
        return
    for name in names:
        transport.remove(name)
    with store.begin() as conn:
        recorded = load_print_batch(conn, batch_key(batch_id))
        if recorded is None or recorded.status != "pending":
            return
        mark_print_batch_void(conn, recorded.delivery_id, left_out=left_out, recorded_at=now)
        delete_documents(conn, sorted(left_out))
    run.problems.append(f"batch {batch_id} dropped: none of its {len(left_out)} letters can go (see above) and "
                        "nothing of it reached the print house; its letters are rendered again for a later batch")


def _numbers_taken(conn: Connection, run_date: date) -> dict[str, int]:
    """The highest batch number made so far for ``run_date``, per print profile: new batches go on after it."""
    taken: dict[str, int] = {}
    for recorded in load_print_batches_built_on(conn, PRINT_CHANNEL, run_date):
        profile = recorded.profile or profile_code_of(recorded.batch_id)
        taken[profile] = max(taken.get(profile, 0), batch_number(recorded.batch_id))
    return taken


def _record_planned(conn: Connection, batches: Sequence[PlannedBatch], run_date: date, recorded_at: datetime) -> None:
    """Step 1: the batches, their letters in order and their numbers, recorded before anything is uploaded."""
    for batch in batches:
        insert_pending_print_batch(
            conn, key=batch_key(batch.batch_id), batch_id=batch.batch_id, channel=PRINT_CHANNEL,
            built_on=run_date, profile=batch.profile.code,
            letter_ids=[int(p.letter.letter_id) for p in batch.letters], pages=batch.total_pages,
            sheets=batch.total_sheets, recorded_at=recorded_at)


@holding_stage_lock("letters")
def send_letters(store: Store, workspace: Workspace, run_date: date, *, recorded_at: datetime | None = None,
                 transport_options: Mapping[str, Any] | None = None, progress: Progress | None = None,
                 workers: int | None = None) -> PrintRun:
    """Batch, assemble and deliver the rendered letters; see the module docstring.

    ``workers``: processes that assemble batches side by side (default: all cores; see
    :mod:`dunning.usecases.letters.assembly`); delivery is one batch after the other.

    ``progress(done, total)`` is called with the batches delivered so far. Raises ConfigError for a bad
    ``print.transport``; a batch that cannot be delivered is reported in ``PrintRun.problems`` and stays
    pending (the next run delivers it), the others go on.
    """
    now = recorded_at or datetime.now(UTC)
    run = PrintRun(run_date)
    rules = _rules(workspace)
    work: list[_Work] = []
    try:
        plan = _plan(store, workspace, run_date, rules, run, work, now)
    except IntegrityError:
        raise StoreError("a print batch of this run is already recorded: is another 'dunning letters' running "
                         "for this workspace?") from None
    work.extend(_Work(batch, run_date) for batch in plan.batches)
    if not work:
        return run
    return _deliver(store, workspace, run, work, now, transport_options, progress, workers)


def _plan(store: Store, workspace: Workspace, run_date: date, rules: BatchingRules, run: PrintRun,
          work: list[_Work], now: datetime) -> BatchPlan:
    """In one transaction: the pending batches laid out again (into ``work``), then new batches recorded."""
    with store.begin() as conn:
        pending = load_pending_print_batches(conn, PRINT_CHANNEL)
        taken = {letter_id for recorded in pending for letter_id in recorded.letter_ids}
        # 1. batches recorded by an earlier run and not confirmed: lay them out again exactly
        for recorded in pending:
            work.append(_rebuild(conn, workspace, recorded, rules, run))
            run.recovered += 1
        # 2. the letters that belong to no batch yet, in new batches numbered after the day's earlier ones
        ready_new = _ready(workspace, load_rendered_planned_letters(conn, LETTER_CHANNELS, due_by=run_date))
        letters: list[PrintLetter] = []
        stale = _stale(conn, workspace, [i for i, item in ready_new.items() if i not in taken
                                         and item.case_status != "closed"], run_date)
        for action_id, item in ready_new.items():
            if action_id in taken:
                continue
            if item.case_status == "closed" or action_id in stale:  # paid (in part) since it was rendered
                cancel_planned_action(conn, action_id, run_date)
                run.cancelled += 1
            elif item.case_status != "on_hold" or (is_plan_letter(item.action) and held_plan_action(
                    conn, action_pk=action_id, case_id=int(item.letter.case_id), action=item.action,
                    detail=item.detail, run_date=run_date) == HeldMessage.SEND):
                letters.append(item.letter)  # a plan letter goes under the plan's own hold
        plan = plan_batches(letters, run_date, rules, numbered_after=_numbers_taken(conn, run_date))
        run.problems.extend(f"letter action {p.letter_id}: {p.message}" for p in plan.problems)
        _record_planned(conn, plan.batches, run_date, now)
    return plan


def _stale(conn: Connection, workspace: Workspace, action_ids: list[int], run_date: date) -> set[int]:
    """The rendered reminders no longer owed on ``run_date`` (:mod:`dunning.usecases.outgoing.stale`): they
    belong to no batch yet, so they are cancelled, not printed."""
    if not action_ids:
        return set()
    minimums = flow_minimums(workspace.flows_dir)
    return {due.action_pk for due in load_due_actions(conn, action_ids, workspace.config.creditor.language)
            if no_longer_owed(due, run_date, minimums) is not None}


def _deliver(store: Store, workspace: Workspace, run: PrintRun, work: list[_Work], now: datetime,
             transport_options: Mapping[str, Any] | None, progress: Progress | None, workers: int | None) -> PrintRun:
    """Assemble every batch of ``work`` and deliver them; the outcome goes into ``run``."""
    run_date = run.run_date
    delivery_log = StoreDeliveryLog(store, run_date, now)
    assembled: list[AssembledBatch] = []
    empty: list[tuple[AssembledBatch, Mapping[int, str]]] = []
    marks = mark_settings(workspace.config.print.marks, workspace.config.print.margin_mm)  # print.marks
    jobs = [BatchJob(job.batch, workspace.output_dir / "print-batches" / job.built_on.isoformat(), job.built_on)
            for job in work]
    for job, done in zip(work, assemble_batches(jobs, marks, workers=workers), strict=True):
        for problem in done.problems:
            run.problems.append(f"letter action {problem.letter_id} left out of batch {job.batch.batch_id}: "
                                f"{problem.message}")
        left_out = {**job.left_out, **{int(p.letter_id): p.message for p in done.problems}}
        if done.rows:
            delivery_log.expect(done, left_out)
            assembled.append(done)
        else:
            empty.append((done, left_out))
    config = workspace.config.print
    transport = transport_for(config.transport, config, workspace, **dict(transport_options or {}))
    try:
        for batch, dropped in empty:
            _drop_empty_batch(store, transport, batch, dropped, now, run)
        result = deliver_batches(assembled, transport, delivery_log, progress=progress)
    finally:
        transport.close()
    by_id = {b.batch_id: b for b in assembled}
    for report in result.reports:
        delivered = by_id[report.batch_id]
        run.batches.append(report.batch_id)
        run.pages += sum(r.page_count + r.blank_pages for r in delivered.rows)
        run.bytes += delivered.pdf.stat().st_size
        missing = sorted(delivery_log.left_out(report.batch_id))
        if missing:
            run.problems.append(f"batch {report.batch_id} went without letter action(s) "
                                f"{', '.join(map(str, missing))} (see above; its manifests list exactly what it "
                                "holds); they are rendered again for a later batch")
    for failure in result.failures:
        run.undelivered.append(failure.batch_id)
        if isinstance(failure.error, BatchConflictError) and delivery_log.left_out(failure.batch_id):
            run.problems.append(f"batch {failure.batch_id} held: the print house already has it marked ready with "
                                "the letters it was made with, and some of them can no longer be laid out again "
                                f"({failure.error}); check with the print house before anything else")
        else:
            run.problems.append(f"batch {failure.batch_id} not delivered (the next run retries): {failure.error}")
    run.letters = delivery_log.sent_letters
    log.info("print %s: %d batches, %d letters sent, %d recovered, %d problems", run_date, len(run.batches),
             run.letters, run.recovered, len(run.problems))
    return run
