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

A crash anywhere between 1 and 3 leaves the batch ``pending``. The next run first rebuilds every
pending batch from its recorded letters and date: the batch id is a hash of the letter ids and the
PDF is byte-for-byte deterministic, so it is the same batch, and the delivery finds its files
already on the print house's side (same size and SHA-256) and keeps them instead of uploading again
(:mod:`dunning.print.delivery`). Only then are new batches planned, from the letters that belong to
no batch. So a letter is never in two batches and never uploaded twice, whenever the process dies.

A transport failure (server away) stops the delivery for this run; the batches stay ``pending`` and
the next run finishes them the same way. A letter the assembly leaves out (its PDF is missing,
unreadable or has another page count) is reported; when its batch is recorded sent, the letter's
``documents`` row is removed, so the next ``render_letters`` renders it again and a later batch takes
it. ``PrintRun.pages`` counts printed pages, blank backs of odd duplex letters included.
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
from dunning.errors import StoreError
from dunning.print import (
    AssembledBatch,
    BatchingRules,
    PlannedBatch,
    PrintLetter,
    assemble_batch,
    deliver_batches,
    plan_batches,
)
from dunning.store import Store
from dunning.store.actions import cancel_planned_action, load_letter_actions, mark_planned_action_sent
from dunning.store.cases import insert_case_event
from dunning.store.deliveries import (
    RenderedLetterRecord,
    delete_documents,
    insert_letter_delivery,
    insert_pending_print_batch,
    load_existing_delivery_keys,
    load_pending_print_batches,
    load_print_batch,
    load_rendered_letters,
    load_rendered_planned_letters,
    mark_print_batch_sent,
    record_print_batch_upload,
)
from dunning.usecases.letters.data import LETTER_CHANNELS
from dunning.usecases.outgoing.fees import book_message_fee
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
        self.sent_letters = 0

    def expect(self, batch: AssembledBatch) -> None:
        """The assembled batch whose letters ``record_done`` marks sent."""
        self._batches[batch.batch_id] = batch

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
            mark_print_batch_sent(conn, batch.delivery_id, sha256=sha256, destination=destination,
                                  delivered_on=self.run_date, recorded_at=self.recorded_at)
            self.sent_letters += record_letters_sent(conn, assembled, self.run_date, self.recorded_at)
            # Letters the assembly left out (PDF unreadable or changed): forget their document so
            # the next render_letters makes it again and a later batch takes them.
            left_out = set(batch.letter_ids) - {int(r.letter_id) for r in assembled.rows}
            delete_documents(conn, sorted(left_out))


def record_letters_sent(conn: Connection, batch: AssembledBatch, run_date: date, recorded_at: datetime) -> int:
    """Every letter of a delivered batch: action sent, delivery row, ``letter_sent`` event. Returns how many."""
    ids = [int(r.letter_id) for r in batch.rows]
    if not ids:
        return 0
    letter_actions = load_letter_actions(conn, ids)
    existing = load_existing_delivery_keys(conn, [letter_delivery_key(letter_actions[i].idempotency_key)
                                                  for i in ids if i in letter_actions])
    count = 0
    for manifest in batch.rows:
        action = letter_actions.get(int(manifest.letter_id))
        if action is None:
            continue
        key = letter_delivery_key(action.idempotency_key)
        if action.status == "planned":
            mark_planned_action_sent(conn, action.id, run_date)
        if action.amount:  # handed to the print house: its fee is owed now (booked once, in this transaction)
            book_message_fee(conn, action.id, on_date=run_date, recorded_at=recorded_at,
                             source=f"print:{batch.batch_id}")
        if key in existing:
            continue
        insert_letter_delivery(conn, key=key, action_id=action.id, channel=action.channel, batch_id=batch.batch_id,
                               sequence=manifest.sequence, pages=manifest.page_count, sent_on=run_date,
                               template=action.template, recorded_at=recorded_at)
        insert_case_event(
            conn, case_id=action.case_id, on_date=run_date, kind="letter_sent",
            detail={"ref": action.idempotency_key, "batch": batch.batch_id, "template": action.template,
                    "pages": manifest.page_count, "channel": action.channel, "action": action.action},
            source=f"print:{action.channel}", recorded_at=recorded_at,
        )
        count += 1
    return count


@dataclass(frozen=True, slots=True)
class _Ready:
    """A planned letter action with a recorded PDF, as the batcher needs it."""

    letter: PrintLetter
    case_status: str


def _ready(workspace: Workspace, letters: Sequence[RenderedLetterRecord]) -> dict[int, _Ready]:
    """The rendered letters as the batcher takes them (country and postal code of the debtor), by action id."""
    home = workspace.config.creditor.address.country
    return {letter.action_id: _Ready(PrintLetter(
        letter_id=str(letter.action_id), case_id=str(letter.case_id), debtor_id=str(letter.debtor_id),
        pdf=workspace.path(letter.pdf_path), page_count=int(letter.pages or 0),
        country=(letter.country or home).upper(), postal_code=letter.postal_code or "",
        postage_class=letter.print_class or "standard", registered=letter.channel == "registered_letter",
    ), letter.case_status) for letter in letters}


def _rules(workspace: Workspace) -> BatchingRules:
    config = workspace.config
    return BatchingRules(home_country=config.creditor.address.country, max_letters=config.print.batch_size)


def _record_planned(store: Store, batch: PlannedBatch, run_date: date, recorded_at: datetime) -> None:
    """Step 1: the batch and its letters, recorded before anything is uploaded."""
    try:
        with store.begin() as conn:
            _insert_planned(conn, batch, run_date, recorded_at)
    except IntegrityError:
        raise StoreError(f"batch {batch.batch_id} is already recorded: is another 'dunning letters' running "
                         "for this workspace?") from None


def _insert_planned(conn: Connection, batch: PlannedBatch, run_date: date, recorded_at: datetime) -> None:
    insert_pending_print_batch(
        conn, key=batch_key(batch.batch_id), batch_id=batch.batch_id, channel=PRINT_CHANNEL, built_on=run_date,
        profile=batch.profile.code, letter_ids=[int(p.letter.letter_id) for p in batch.letters],
        pages=batch.total_pages, sheets=batch.total_sheets, recorded_at=recorded_at)


def send_letters(store: Store, workspace: Workspace, run_date: date, *, recorded_at: datetime | None = None,
                 transport_options: Mapping[str, Any] | None = None) -> PrintRun:
    """Batch, assemble and deliver the rendered letters; see the module docstring.

    Raises ConfigError for a bad ``print.transport``; a batch that cannot be delivered is reported in
    ``PrintRun.problems`` and stays pending (the next run delivers it), the others go on.
    """
    now = recorded_at or datetime.now(UTC)
    run = PrintRun(run_date)
    rules = _rules(workspace)
    work: list[tuple[PlannedBatch, date]] = []
    with store.begin() as conn:
        pending = load_pending_print_batches(conn, PRINT_CHANNEL)
        taken = {letter_id for recorded in pending for letter_id in recorded.letter_ids}
        # 1. batches recorded by an earlier run and not confirmed: rebuild them exactly
        for recorded in pending:
            ids = list(recorded.letter_ids)
            ready = _ready(workspace, load_rendered_letters(conn, ids))
            plan = plan_batches([ready[i].letter for i in ids if i in ready], recorded.built_on, rules)
            same = [b for b in plan.batches if b.batch_id == recorded.batch_id]
            if len(plan.batches) != 1 or not same:
                run.problems.append(f"pending batch {recorded.batch_id} cannot be rebuilt from its {len(ids)} "
                                    "letters (letters or print.batch_size changed); check with the print house")
                continue
            work.append((same[0], recorded.built_on))
            run.recovered += 1
        # 2. the letters that belong to no batch yet
        ready_new = _ready(workspace, load_rendered_planned_letters(conn, LETTER_CHANNELS, due_by=run_date))
        letters: list[PrintLetter] = []
        for action_id, item in ready_new.items():
            if action_id in taken:
                continue
            if item.case_status == "closed":
                cancel_planned_action(conn, action_id, run_date)
                run.cancelled += 1
            elif item.case_status != "on_hold":
                letters.append(item.letter)
    plan = plan_batches(letters, run_date, rules)
    run.problems.extend(f"letter action {p.letter_id}: {p.message}" for p in plan.problems)
    for batch in plan.batches:
        _record_planned(store, batch, run_date, now)
        work.append((batch, run_date))
    if not work:
        return run

    delivery_log = StoreDeliveryLog(store, run_date, now)
    assembled: list[AssembledBatch] = []
    for batch, built_on in work:
        done = assemble_batch(batch, workspace.output_dir / "print-batches" / built_on.isoformat(), run_date=built_on)
        for problem in done.problems:
            run.problems.append(f"letter action {problem.letter_id} left out of batch {batch.batch_id}: "
                                f"{problem.message}")
        delivery_log.expect(done)
        assembled.append(done)
    config = workspace.config.print
    transport = transport_for(config.transport, config, workspace, **dict(transport_options or {}))
    try:
        result = deliver_batches(assembled, transport, delivery_log)
    finally:
        transport.close()
    by_id = {b.batch_id: b for b in assembled}
    for report in result.reports:
        delivered = by_id[report.batch_id]
        run.batches.append(report.batch_id)
        run.pages += sum(r.page_count + r.blank_pages for r in delivered.rows)
        run.bytes += delivered.pdf.stat().st_size
    for failure in result.failures:
        run.problems.append(f"batch {failure.batch_id} not delivered (the next run retries): {failure.error}")
    run.letters = delivery_log.sent_letters
    log.info("print %s: %d batches, %d letters sent, %d recovered, %d problems", run_date, len(run.batches),
             run.letters, run.recovered, len(run.problems))
    return run
