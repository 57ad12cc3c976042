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

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from dunning.adapters.transport import open_transport
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
from dunning.store.schema import actions, case_events, cases, debtors, deliveries, documents
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
    return BATCH_PREFIX + batch_id


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

    def _row(self, conn: Connection, batch_id: str) -> Any:
        return conn.execute(select(deliveries).where(deliveries.c.idempotency_key == batch_key(batch_id))).first()

    def is_done(self, batch_id: str) -> bool:
        with self.store.begin() as conn:
            row = self._row(conn, batch_id)
        return row is not None and row.status == "sent"

    def record_started(self, batch_id: str, sha256: str, destination: str) -> None:
        with self.store.begin() as conn:
            row = self._row(conn, batch_id)
            if row is None:
                raise StoreError(f"batch {batch_id} was not recorded before its delivery")
            if row.status != "sent":
                conn.execute(update(deliveries).where(deliveries.c.id == row.id).values(
                    detail={**(row.detail or {}), "sha256": sha256, "destination": destination},
                    attempts=row.attempts + 1, recorded_at=self.recorded_at))

    def record_done(self, batch_id: str, sha256: str, destination: str) -> None:
        batch = self._batches.get(batch_id)
        if batch is None:
            raise StoreError(f"batch {batch_id} was delivered but its letters are unknown to this run")
        with self.store.begin() as conn:
            row = self._row(conn, batch_id)
            conn.execute(update(deliveries).where(deliveries.c.id == row.id).values(
                status="sent", detail={**(row.detail or {}), "sha256": sha256, "destination": destination,
                                       "delivered_on": self.run_date.isoformat()},
                recorded_at=self.recorded_at))
            self.sent_letters += record_letters_sent(conn, batch, self.run_date, self.recorded_at)
            # Letters the assembly left out (PDF unreadable or changed): forget their document so
            # the next render_letters makes it again and a later batch takes them.
            left_out = {int(i) for i in (row.detail or {}).get("letters", ())} - {int(r.letter_id) for r in batch.rows}
            if left_out:
                conn.execute(delete(documents).where(documents.c.action_id.in_(sorted(left_out))))


def record_letters_sent(conn: Connection, batch: AssembledBatch, run_date: date, recorded_at: datetime) -> int:
    """Every letter of a delivered batch: action sent, delivery row, ``letter_sent`` event. Returns how many."""
    ids = [int(r.letter_id) for r in batch.rows]
    if not ids:
        return 0
    info = {r.id: r for r in conn.execute(
        select(actions.c.id, actions.c.idempotency_key, actions.c.case_id, actions.c.status, actions.c.channel,
               actions.c.settings, actions.c.action, actions.c.amount).where(actions.c.id.in_(ids)))}
    existing = set(conn.execute(select(deliveries.c.idempotency_key).where(
        deliveries.c.idempotency_key.in_([f"{info[i].idempotency_key}:letter" for i in ids if i in info]))).scalars())
    count = 0
    for manifest in batch.rows:
        action = info.get(int(manifest.letter_id))
        if action is None:
            continue
        key = f"{action.idempotency_key}:letter"
        if action.status == "planned":
            conn.execute(update(actions).where(actions.c.id == action.id, actions.c.status == "planned")
                         .values(status="sent", outcome_on=run_date))
        if action.amount:  # handed to the print house: its fee is owed now (booked once, in this transaction)
            book_message_fee(conn, action.id, on_date=run_date, recorded_at=recorded_at,
                             source=f"print:{batch.batch_id}")
        if key in existing:
            continue
        template = (action.settings or {}).get("template")
        conn.execute(insert(deliveries).values(
            idempotency_key=key, action_id=action.id, channel=action.channel, status="sent", attempts=1,
            external_id=batch.batch_id, recorded_at=recorded_at,
            detail={"batch": batch.batch_id, "sequence": manifest.sequence, "pages": manifest.page_count,
                    "sent_on": run_date.isoformat(), "template": template},
        ))
        conn.execute(insert(case_events).values(
            case_id=action.case_id, on_date=run_date, kind="letter_sent", invoice_id=None, amount=None,
            detail={"ref": action.idempotency_key, "batch": batch.batch_id, "template": template,
                    "pages": manifest.page_count, "channel": action.channel, "action": action.action},
            source=f"print:{action.channel}", recorded_at=recorded_at,
        ))
        count += 1
    return count


@dataclass(frozen=True)
class _Ready:
    """A planned letter action with a recorded PDF, as the batcher needs it."""

    letter: PrintLetter
    case_status: str


def _print_letters(conn: Connection, workspace: Workspace, where: Sequence[Any]) -> dict[int, _Ready]:
    home = workspace.config.creditor.address.country
    query = (
        select(actions.c.id, actions.c.channel, actions.c.settings, actions.c.case_id,
               cases.c.status.label("case_status"), debtors.c.id.label("debtor_pk"), debtors.c.country,
               debtors.c.postal_code,
               documents.c.path, documents.c.pages)
        .join(documents, documents.c.action_id == actions.c.id)
        .join(cases, cases.c.id == actions.c.case_id)
        .join(debtors, debtors.c.id == cases.c.debtor_id)
        .where(*where)
        .order_by(actions.c.id)
    )
    out: dict[int, _Ready] = {}
    for row in conn.execute(query):
        settings = row.settings or {}
        out[row.id] = _Ready(PrintLetter(
            letter_id=str(row.id), case_id=str(row.case_id), debtor_id=str(row.debtor_pk),
            pdf=workspace.path(row.path), page_count=int(row.pages or 0), country=(row.country or home).upper(),
            postal_code=row.postal_code or "", postage_class=str(settings.get("print_class") or "standard"),
            registered=row.channel == "registered_letter",
        ), row.case_status)
    return out


def _pending_batches(conn: Connection) -> list[Any]:
    return list(conn.execute(select(deliveries).where(
        deliveries.c.channel == PRINT_CHANNEL, deliveries.c.status == "pending").order_by(deliveries.c.id)))


def _letters_in_pending(rows: Sequence[Any]) -> set[int]:
    return {int(i) for row in rows for i in (row.detail or {}).get("letters", ())}


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
    conn.execute(insert(deliveries).values(
        idempotency_key=batch_key(batch.batch_id), action_id=None, channel=PRINT_CHANNEL, status="pending",
        attempts=0, external_id=batch.batch_id, recorded_at=recorded_at,
        detail={"batch_run_date": run_date.isoformat(), "profile": batch.profile.code,
                "letters": [int(p.letter.letter_id) for p in batch.letters],
                "pages": batch.total_pages, "sheets": batch.total_sheets},
    ))


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
        pending = _pending_batches(conn)
        taken = _letters_in_pending(pending)
        # 1. batches recorded by an earlier run and not confirmed: rebuild them exactly
        for row in pending:
            detail = row.detail or {}
            ids = [int(i) for i in detail.get("letters", ())]
            built_on = date.fromisoformat(detail["batch_run_date"])
            ready = _print_letters(conn, workspace, [actions.c.id.in_(ids)]) if ids else {}
            plan = plan_batches([ready[i].letter for i in ids if i in ready], built_on, rules)
            same = [b for b in plan.batches if b.batch_id == row.external_id]
            if len(plan.batches) != 1 or not same:
                run.problems.append(f"pending batch {row.external_id} cannot be rebuilt from its {len(ids)} "
                                    "letters (letters or print.batch_size changed); check with the print house")
                continue
            work.append((same[0], built_on))
            run.recovered += 1
        # 2. the letters that belong to no batch yet
        ready_new = _print_letters(conn, workspace, [
            actions.c.status == "planned", actions.c.channel.in_(LETTER_CHANNELS), actions.c.due_on <= run_date])
        letters: list[PrintLetter] = []
        for action_id, item in ready_new.items():
            if action_id in taken:
                continue
            if item.case_status == "closed":
                conn.execute(update(actions).where(actions.c.id == action_id, actions.c.status == "planned")
                             .values(status="cancelled", outcome_on=run_date))
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
    transport = open_transport(
        config.transport, base_dir=workspace.root,
        key_file=workspace.path(config.key) if config.key else None,
        known_hosts=workspace.path(config.known_hosts) if config.known_hosts else None,
        fingerprints=config.fingerprint, **dict(transport_options or {}))
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
