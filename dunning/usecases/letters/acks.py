"""The letter channel, part 3: the print house's acknowledgements, recorded on the letters and cases.

::

    result = record_acknowledgements(store, workspace, on_date=date(2026, 12, 2))
    result.recorded, result.returned, result.posted, result.problems

The print house leaves CSV files (``batch_id,letter_id,status,date,reason``; see
:mod:`dunning.print.acknowledgements`) in the ``acknowledgements/`` folder of ``print.transport``.
The letter id is the action id :func:`~dunning.usecases.letters.send.send_letters` put in the manifest.

Each event lands on the letter's delivery row (``<action key>:letter``): its status moves forward
only (``accepted`` < ``printed`` < ``posted`` < ``returned``; returned is final) and the event is
appended to ``detail["acks"]``. When a letter reaches

* ``returned``: its action becomes ``returned`` (``outcome_on`` = the event's date) and the case
  gets a ``delivery_failed`` event (``detail.ref`` = the action key), so the next night plans the
  step's fallback. Nothing else is touched;
* ``posted``: the case gets a ``letter_posted`` event (the posting date counts for legal periods).

**Exactly once.** One transaction per file records its events *and* the file itself (a delivery row
``ack:<sha256>``, channel ``print-ack``). A file whose content was recorded before, under any name,
changes nothing; a crash before the commit leaves nothing, and the next run reads the file again.

An unknown batch or letter, or a letter that is not in the batch named, is reported with the file
and line (:attr:`AckResult.problems`) and the rest of the file is recorded.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from dunning.adapters.transport import transport_for
from dunning.ports import Transport
from dunning.print.acknowledgements import AckFile, AckStatus, DeliveryEvent, process_acknowledgements
from dunning.store import Store
from dunning.store.cases import insert_case_event
from dunning.store.deliveries import (
    append_letter_acknowledgement,
    has_delivery,
    insert_processed_file,
    load_letter_delivery,
)
from dunning.store.letter_actions import load_letter_actions, mark_action_returned
from dunning.store.locks import holding_stage_lock
from dunning.usecases.letters.send import PRINT_CHANNEL, batch_key, letter_delivery_key
from dunning.workspace import Workspace

__all__ = ["ACK_CHANNEL", "ACK_FOLDER", "AckResult", "StoreProcessedFiles", "open_print_transport",
           "record_acknowledgements"]

log = logging.getLogger(__name__)

#: where the print house leaves its answers, inside the print transport's folder
ACK_FOLDER = "acknowledgements"
#: the channel of the delivery rows that remember processed acknowledgement files
ACK_CHANNEL = "print-ack"

#: how far a letter got; a status never moves to a lower rank ("sent" is what send_letters records)
_RANK = {"sent": 0, AckStatus.ACCEPTED.value: 1, AckStatus.PRINTED.value: 2, AckStatus.POSTED.value: 3,
         AckStatus.RETURNED.value: 4}


@dataclass
class AckResult:
    """What one ``record_acknowledgements`` did (counts and problems; no personal data)."""

    on_date: date
    files: int = 0
    events: int = 0
    recorded: int = 0  # events that moved a letter forward
    unchanged: int = 0  # events that did not (repeats, or behind what is known)
    returned: int = 0
    posted: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"on_date": self.on_date.isoformat(), "files": self.files, "events": self.events,
                "recorded": self.recorded, "unchanged": self.unchanged, "returned": self.returned,
                "posted": self.posted, "by_status": dict(sorted(self.by_status.items())),
                "problems": list(self.problems)}


def ack_key(sha256: str) -> str:
    return f"ack:{sha256}"


def open_print_transport(workspace: Workspace, **options: float | int | bool) -> Transport:
    """The print house's transport as ``print.transport`` (and its key and host checks) describe it."""
    config = workspace.config.print
    return transport_for(config.transport, config, workspace, **options)


class StoreProcessedFiles:
    """:class:`~dunning.print.acknowledgements.ProcessedFiles` on the ``deliveries`` table.

    The row is written by the handler in the file's own transaction; ``record_processed`` only
    makes sure it exists (for a file the handler was not given, which does not happen here).
    """

    def __init__(self, store: Store, on_date: date, recorded_at: datetime) -> None:
        self.store = store
        self.on_date = on_date
        self.recorded_at = recorded_at

    def is_processed(self, name: str, sha256: str) -> bool:
        with self.store.begin() as conn:
            return _is_processed(conn, sha256)

    def record_processed(self, name: str, sha256: str) -> None:
        try:
            with self.store.begin() as conn:
                if not _is_processed(conn, sha256):
                    _insert_processed(conn, name, sha256, {}, self.on_date, self.recorded_at)
        except IntegrityError:  # recorded meanwhile by another run: the same outcome
            pass


def _is_processed(conn: Connection, sha256: str) -> bool:
    return has_delivery(conn, ack_key(sha256))


def _insert_processed(conn: Connection, name: str, sha256: str, counts: Mapping[str, int], on_date: date,
                      recorded_at: datetime) -> None:
    insert_processed_file(conn, key=ack_key(sha256), channel=ACK_CHANNEL, name=name, on_date=on_date,
                          counts=counts, recorded_at=recorded_at)


class _FileRecorder:
    """Records the events of one acknowledgement file on an open connection."""

    def __init__(self, conn: Connection, ack: AckFile, result: AckResult, recorded_at: datetime) -> None:
        self.conn = conn
        self.ack = ack
        self.result = result
        self.recorded_at = recorded_at
        self.known_batches: dict[str, bool] = {}

    def problem(self, event: DeliveryEvent, message: str) -> None:
        self.result.problems.append(f"{event.source}:{event.line}: {message}")

    def batch_exists(self, batch_id: str) -> bool:
        if batch_id not in self.known_batches:
            self.known_batches[batch_id] = has_delivery(self.conn, batch_key(batch_id), PRINT_CHANNEL)
        return self.known_batches[batch_id]

    def record(self, event: DeliveryEvent) -> None:
        status = event.status.value
        if not self.batch_exists(event.batch_id):
            self.problem(event, f"unknown batch {event.batch_id!r}")
            return
        action = None
        if event.letter_id.isdigit():  # the manifest's letter id is the action id
            action_id = int(event.letter_id)
            action = load_letter_actions(self.conn, [action_id]).get(action_id)
        letter = None if action is None else load_letter_delivery(
            self.conn, letter_delivery_key(action.idempotency_key))
        if action is None or letter is None:
            self.problem(event, f"unknown letter {event.letter_id!r} (no letter with this id was sent)")
            return
        if letter.batch_id != event.batch_id:
            self.problem(event, f"letter {event.letter_id!r} is not in batch {event.batch_id!r} "
                                f"(it went in batch {letter.batch_id!r})")
            return
        if (status, event.date.isoformat()) in letter.acknowledged:
            self.result.unchanged += 1
            return
        advances = _RANK[status] > _RANK.get(letter.status, 0)
        append_letter_acknowledgement(
            self.conn, letter.delivery_id, status=status, on_date=event.date, reason=event.reason,
            file=self.ack.name, line=event.line, new_status=status if advances else None,
            recorded_at=self.recorded_at)
        if not advances:
            self.result.unchanged += 1
            return
        self.result.recorded += 1
        source = f"print-ack:{self.ack.name}"[:120]
        if event.status is AckStatus.RETURNED:
            mark_action_returned(self.conn, action.id, event.date)
            insert_case_event(
                self.conn, case_id=action.case_id, on_date=event.date, kind="delivery_failed",
                detail={"ref": action.idempotency_key, "reason": event.reason or "returned by the post",
                        "channel": action.channel, "batch": event.batch_id},
                source=source, recorded_at=self.recorded_at)
            self.result.returned += 1
        elif event.status is AckStatus.POSTED:
            insert_case_event(
                self.conn, case_id=action.case_id, on_date=event.date, kind="letter_posted",
                detail={"ref": action.idempotency_key, "batch": event.batch_id, "channel": action.channel},
                source=source, recorded_at=self.recorded_at)
            self.result.posted += 1


@holding_stage_lock("acks")
def record_acknowledgements(store: Store, workspace: Workspace, *, on_date: date,
                            recorded_at: datetime | None = None, archive_folder: str | None = None,
                            transport_options: dict[str, float | int | bool] | None = None) -> AckResult:
    """Read the new acknowledgement files of the print house and record them; see the module docstring.

    ``archive_folder`` (inside the print transport): where handled files are moved, when the print
    house allows it; by default they stay and their SHA-256 keeps them from being recorded twice.
    Raises ConfigError for a bad ``print.transport`` and DeliveryError when it cannot be read.
    """
    now = recorded_at or datetime.now(UTC)
    result = AckResult(on_date)

    def handle(ack: AckFile) -> None:
        result.problems.extend(f"{p.source}:{p.line}: {p.message}" for p in ack.problems)
        with store.begin() as conn:
            if _is_processed(conn, ack.sha256):  # another run recorded it since it was listed
                return
            before = len(result.problems)
            recorder = _FileRecorder(conn, ack, result, now)
            for event in ack.events:
                recorder.record(event)
            _insert_processed(conn, ack.name, ack.sha256, {
                "events": len(ack.events), "problems": len(ack.problems) + len(result.problems) - before,
            }, on_date, now)
        result.files += 1
        result.events += len(ack.events)
        result.by_status = dict(Counter(result.by_status) + Counter(e.status.value for e in ack.events))

    with open_print_transport(workspace, **dict(transport_options or {})) as transport:
        transport.mkdir_p(ACK_FOLDER)
        process_acknowledgements(transport, StoreProcessedFiles(store, on_date, now), handle,
                                 folder=ACK_FOLDER, archive_folder=archive_folder)
    log.info("print acknowledgements %s: %d files, %d events, %d recorded, %d returned, %d problems", on_date,
             result.files, result.events, result.recorded, result.returned, len(result.problems))
    return result
