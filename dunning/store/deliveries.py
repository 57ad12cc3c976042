"""Deliveries and documents in the store: each message that left the house, and each letter's PDF.

A delivery row is keyed ``<action key>:<channel>`` (unique) and is written just before and right
after each message is handed to its server (``sending`` → ``sent`` / ``deferred`` / ``failed``),
which keeps the window in which a crash leaves a message uncertain to the one in flight; its
``external_id`` is the short action token that bounces and receipts carry back.
Every change here that depends on the delivery's state says so in its ``where``, so processing the
same feedback twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, Select, delete, func, insert, select, update

from dunning.store.bulk import in_chunks
from dunning.store.schema import actions, cases, debtors, deliveries, documents

__all__ = [
    "SENDING_STATES",
    "DeliveryDetailRecord",
    "DeliveryRecord",
    "NewDelivery",
    "SentDeliveryRecord",
    "find_delivery",
    "find_delivery_by_token",
    "insert_deliveries",
    "load_deliveries_by_key",
    "load_delivery_details",
    "load_document_paths",
    "mark_delivery_bounced",
    "mark_delivery_sending",
    "mark_sending_delivery",
    "mark_sent_delivery",
    "record_delivery_failed",
    "write_delivery_detail",
]



@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One message's delivery: its state, how often it was tried, and what the channel recorded."""

    delivery_id: int
    key: str
    action_id: int | None
    channel: str
    status: str
    attempts: int
    external_id: str | None
    detail: Mapping[str, Any]
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A delivery row to insert."""

    key: str
    action_id: int | None  # None: a message of no action (sent at once from the pay page)
    channel: str
    status: str
    attempts: int
    external_id: str | None
    detail: Mapping[str, Any]
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class SentDeliveryRecord:
    """A delivery with the action it delivers, as bounces and receipts find it."""

    delivery: DeliveryRecord
    action_id: int
    action_key: str
    action_name: str
    action_status: str
    case_id: int


@dataclass(frozen=True, slots=True)
class DeliveryDetailRecord:
    """A delivery's id and ``detail`` (where an SMS keeps its provider ids)."""

    delivery_id: int
    detail: Mapping[str, Any]


def _delivery(row: Any) -> DeliveryRecord:
    return DeliveryRecord(delivery_id=row.id, key=row.idempotency_key, action_id=row.action_id,
                          channel=row.channel, status=row.status, attempts=row.attempts,
                          external_id=row.external_id, detail=dict(row.detail or {}), recorded_at=row.recorded_at)


# ---- dispatch: before and after sending ---------------------------------------------------------

def load_deliveries_by_key(conn: Connection, keys: Sequence[str]) -> dict[str, DeliveryRecord]:
    """The deliveries already recorded under ``keys``, by key."""
    found: dict[str, DeliveryRecord] = {}
    for chunk in in_chunks(keys):
        for row in conn.execute(select(deliveries).where(deliveries.c.idempotency_key.in_(chunk))):
            found[row.idempotency_key] = _delivery(row)
    return found


def insert_deliveries(conn: Connection, new: Sequence[NewDelivery]) -> None:
    """Insert delivery rows; a key that is taken raises SQLAlchemy's IntegrityError (the caller says why)."""
    if not new:
        return
    conn.execute(insert(deliveries), [
        {"idempotency_key": d.key, "action_id": d.action_id, "channel": d.channel, "status": d.status,
         "attempts": d.attempts, "external_id": d.external_id, "detail": dict(d.detail),
         "recorded_at": d.recorded_at}
        for d in new
    ])


#: A message handed to its server whose answer is not recorded yet (``pending``: the same, as
#: dispatches before the per-message window recorded it).
SENDING_STATES = ("sending", "pending")


def mark_delivery_sending(conn: Connection, delivery_id: int, *, attempts: int, detail: Mapping[str, Any],
                          recorded_at: datetime) -> None:
    """A known delivery is about to be handed to its server (again): ``sending``, with its attempt counted."""
    conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(
        status="sending", attempts=attempts, detail=dict(detail), recorded_at=recorded_at))


def mark_sending_delivery(conn: Connection, key: str, *, status: str, detail: Mapping[str, Any],
                          recorded_at: datetime) -> bool:
    """Record the outcome (``sent``, ``deferred``) of a delivery being sent; False when it was not."""
    result = conn.execute(update(deliveries)
                          .where(deliveries.c.idempotency_key == key, deliveries.c.status.in_(SENDING_STATES))
                          .values(status=status, detail=dict(detail), recorded_at=recorded_at))
    return bool(result.rowcount)


def record_delivery_failed(conn: Connection, key: str, *, detail: Mapping[str, Any], recorded_at: datetime) -> None:
    """A known delivery failed for good."""
    conn.execute(update(deliveries).where(deliveries.c.idempotency_key == key).values(
        status="failed", detail=dict(detail), recorded_at=recorded_at))


def cancel_deferred_delivery(conn: Connection, delivery_id: int, *, reason: str, recorded_at: datetime) -> None:
    """A deferred delivery that will not be tried again (its reminder went stale): ``cancelled``, with why."""
    row = conn.execute(select(deliveries.c.detail).where(deliveries.c.id == delivery_id,
                                                         deliveries.c.status == "deferred")).first()
    if row is not None:
        conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(
            status="cancelled", detail={**row.detail, "cancelled": reason}, recorded_at=recorded_at))


# ---- feedback: bounces and receipts -------------------------------------------------------------

def _with_action() -> Select[Any]:
    return select(
        deliveries,
        actions.c.idempotency_key.label("action_key"),
        actions.c.case_id,
        actions.c.status.label("action_status"),
        actions.c.action.label("action_name"),
    ).join(actions, actions.c.id == deliveries.c.action_id)


def _sent(row: Any) -> SentDeliveryRecord:
    return SentDeliveryRecord(_delivery(row), action_id=row.action_id, action_key=row.action_key,
                              action_name=row.action_name, action_status=row.action_status, case_id=row.case_id)


def find_delivery_by_token(conn: Connection, token: str, channel: str) -> SentDeliveryRecord | None:
    """The delivery on ``channel`` whose action token (``external_id``) is ``token``."""
    row = conn.execute(_with_action().where(deliveries.c.external_id == token,
                                            deliveries.c.channel == channel)).first()
    return None if row is None else _sent(row)


def find_delivery(conn: Connection, delivery_id: int) -> SentDeliveryRecord | None:
    row = conn.execute(_with_action().where(deliveries.c.id == delivery_id)).first()
    return None if row is None else _sent(row)


def load_delivery_details(conn: Connection, channel: str, statuses: Sequence[str]) -> list[DeliveryDetailRecord]:
    """Id and ``detail`` of every delivery on ``channel`` in one of ``statuses``."""
    query = select(deliveries.c.id, deliveries.c.detail).where(deliveries.c.channel == channel,
                                                               deliveries.c.status.in_(list(statuses)))
    return [DeliveryDetailRecord(row.id, dict(row.detail or {})) for row in conn.execute(query)]


def write_delivery_detail(conn: Connection, delivery_id: int, detail: Mapping[str, Any]) -> None:
    conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(detail=dict(detail)))


def mark_delivery_bounced(conn: Connection, delivery_id: int, *, detail: Mapping[str, Any],
                          recorded_at: datetime) -> None:
    """A hard bounce: the delivery failed (unless it already had)."""
    conn.execute(update(deliveries).where(deliveries.c.id == delivery_id, deliveries.c.status != "failed")
                 .values(status="failed", detail=dict(detail), recorded_at=recorded_at))


def mark_sent_delivery(conn: Connection, delivery_id: int, *, status: str, detail: Mapping[str, Any],
                       recorded_at: datetime) -> None:
    """A final receipt for a sent delivery: ``delivered`` or ``failed``."""
    conn.execute(update(deliveries).where(deliveries.c.id == delivery_id, deliveries.c.status == "sent")
                 .values(status=status, detail=dict(detail), recorded_at=recorded_at))


# ---- documents ----------------------------------------------------------------------------------

def load_document_paths(conn: Connection, action_ids: Sequence[int]) -> dict[int, str]:
    """The document (a letter's PDF, relative to the workspace) recorded for each of ``action_ids``."""
    paths: dict[int, str] = {}
    for chunk in in_chunks(action_ids):
        for row in conn.execute(select(documents.c.action_id, documents.c.path)
                                .where(documents.c.action_id.in_(chunk))):
            paths[row.action_id] = row.path
    return paths


# ---- used by letters ----
# The letter channel's rows: a letter's PDF (``documents``), a print batch (delivery ``batch:<id>``,
# channel ``print``), each letter handed to the print house (delivery ``<action key>:letter``) and
# each acknowledgement file read (delivery ``ack:<sha256>``). Keys and channels are made by the use
# cases (dunning.usecases.letters) and passed in, so this section only knows the tables.


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    """A rendered letter's PDF: where it lies (relative to the workspace) and what it holds."""

    action_id: int
    kind: str
    path: str
    sha256: str
    pages: int
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class RenderedLetterRecord:
    """A letter action whose PDF is recorded, with what the print house needs to batch it."""

    action_id: int
    channel: str | None
    print_class: str | None  # the step's ``settings.print_class``
    case_id: int
    case_status: str
    debtor_id: int
    country: str | None
    postal_code: str | None
    pdf_path: str
    pages: int | None
    action: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PrintBatchRecord:
    """A print batch's delivery row: the letters it holds, the day it was built, how far it got."""

    delivery_id: int
    batch_id: str
    status: str
    attempts: int
    built_on: date
    letter_ids: tuple[int, ...]
    pages: int | None = None
    delivered_on: str | None = None
    destination: str | None = None
    profile: str | None = None  # the print profile code the batch was made for


@dataclass(frozen=True, slots=True)
class LetterDeliveryRecord:
    """One letter handed to the print house, and the acknowledgements recorded on it so far."""

    delivery_id: int
    status: str
    batch_id: str | None
    #: (status, date) of every acknowledgement already recorded: the same event twice changes nothing
    acknowledged: frozenset[tuple[str | None, str | None]]


def load_documented_action_ids(conn: Connection, action_ids: Sequence[int]) -> set[int]:
    """Which of these actions already have a document (a rendered PDF)."""
    if not action_ids:
        return set()
    query = select(documents.c.action_id).where(documents.c.action_id.in_(list(action_ids)))
    return {int(action_id) for action_id in conn.execute(query).scalars()}


def insert_documents(conn: Connection, records: Sequence[DocumentRecord]) -> None:
    """Record these PDFs; IntegrityError when one of the actions has a document already."""
    if not records:
        return
    conn.execute(insert(documents), [_document_values(record) for record in records])


def insert_document(conn: Connection, record: DocumentRecord) -> None:
    """Record one PDF; IntegrityError when the action has a document already."""
    conn.execute(insert(documents).values(**_document_values(record)))


def _document_values(record: DocumentRecord) -> dict[str, Any]:
    return {"action_id": record.action_id, "kind": record.kind, "path": record.path, "sha256": record.sha256,
            "pages": record.pages, "recorded_at": record.recorded_at}


def delete_documents(conn: Connection, action_ids: Sequence[int]) -> None:
    """Forget these actions' PDFs (the next render makes them again)."""
    if action_ids:
        conn.execute(delete(documents).where(documents.c.action_id.in_(sorted(action_ids))))


def _rendered_letters(conn: Connection, *where: ColumnElement[bool]) -> list[RenderedLetterRecord]:
    query = (
        select(actions.c.id, actions.c.channel, actions.c.settings, actions.c.case_id, actions.c.action,
               actions.c.detail,
               cases.c.status.label("case_status"), debtors.c.id.label("debtor_pk"), debtors.c.country,
               debtors.c.postal_code, documents.c.path, documents.c.pages)
        .join(documents, documents.c.action_id == actions.c.id)
        .join(cases, cases.c.id == actions.c.case_id)
        .join(debtors, debtors.c.id == cases.c.debtor_id)
        .where(*where)
        .order_by(actions.c.id)
    )
    found = []
    for row in conn.execute(query):
        print_class = (row.settings or {}).get("print_class")
        found.append(RenderedLetterRecord(
            action_id=row.id, channel=row.channel, print_class=str(print_class) if print_class else None,
            case_id=row.case_id, case_status=row.case_status, debtor_id=row.debtor_pk, country=row.country,
            postal_code=row.postal_code, pdf_path=row.path, pages=row.pages, action=row.action,
            detail=dict(row.detail or {}),
        ))
    return found


def load_rendered_letters(conn: Connection, action_ids: Sequence[int]) -> list[RenderedLetterRecord]:
    """These actions, whatever their status, when their PDF is recorded; by action id."""
    if not action_ids:
        return []
    return _rendered_letters(conn, actions.c.id.in_(list(action_ids)))


def load_rendered_planned_letters(conn: Connection, channels: Sequence[str],
                                  due_by: date) -> list[RenderedLetterRecord]:
    """The planned actions on ``channels`` due on or before ``due_by`` whose PDF is recorded; by action id."""
    return _rendered_letters(conn, actions.c.status == "planned", actions.c.channel.in_(list(channels)),
                             actions.c.due_on <= due_by)


def _print_batch(row: Row[Any]) -> PrintBatchRecord:
    detail = row.detail or {}
    return PrintBatchRecord(
        delivery_id=row.id, batch_id=row.external_id, status=row.status, attempts=row.attempts,
        built_on=date.fromisoformat(detail["batch_run_date"]),
        letter_ids=tuple(int(i) for i in detail.get("letters", ())),
        pages=detail.get("pages"), delivered_on=detail.get("delivered_on"), destination=detail.get("destination"),
        profile=detail.get("profile"),
    )


def load_print_batch(conn: Connection, key: str) -> PrintBatchRecord | None:
    """The print batch recorded under this delivery key, if any."""
    row = conn.execute(select(deliveries).where(deliveries.c.idempotency_key == key)).first()
    return None if row is None else _print_batch(row)


def load_print_batches(conn: Connection, channel: str) -> list[PrintBatchRecord]:
    """Every batch recorded on ``channel``, oldest first, whatever became of it."""
    query = select(deliveries).where(deliveries.c.channel == channel).order_by(deliveries.c.id)
    return [_print_batch(row) for row in conn.execute(query)]


def count_letters_by_batch(
    conn: Connection, channels: Sequence[str], statuses: Sequence[str]
) -> dict[tuple[str, str], int]:
    """How many letters of each batch are in each of ``statuses``: ``{(batch id, status): count}``."""
    query = (select(deliveries.c.external_id, deliveries.c.status, func.count())
             .where(deliveries.c.channel.in_(list(channels)), deliveries.c.status.in_(list(statuses)))
             .group_by(deliveries.c.external_id, deliveries.c.status))
    return {(batch, status): int(count) for batch, status, count in conn.execute(query)}


def load_print_batches_built_on(conn: Connection, channel: str, built_on: date) -> list[PrintBatchRecord]:
    """The batches on ``channel`` made for ``built_on``, whatever became of them (their numbers are taken)."""
    return [batch for batch in load_print_batches(conn, channel) if batch.built_on == built_on]


def load_pending_print_batches(conn: Connection, channel: str) -> list[PrintBatchRecord]:
    """The batches on ``channel`` recorded but not confirmed delivered, oldest first."""
    query = (select(deliveries).where(deliveries.c.channel == channel, deliveries.c.status == "pending")
             .order_by(deliveries.c.id))
    return [_print_batch(row) for row in conn.execute(query)]


def insert_pending_print_batch(conn: Connection, *, key: str, batch_id: str, channel: str, built_on: date,
                               profile: str, letter_ids: Sequence[int], pages: int, sheets: int,
                               recorded_at: datetime) -> None:
    """Record a batch before anything of it is uploaded: from then on its letters belong to it.

    ``letter_ids`` in the batch's order (sequence 1 first): a pending batch is laid out again from them.
    IntegrityError when the key is recorded already.
    """
    conn.execute(insert(deliveries).values(
        idempotency_key=key, action_id=None, channel=channel, status="pending", attempts=0, external_id=batch_id,
        recorded_at=recorded_at,
        detail={"batch_run_date": built_on.isoformat(), "profile": profile, "letters": list(letter_ids),
                "pages": pages, "sheets": sheets},
    ))


def _detail_of(conn: Connection, delivery_id: int) -> dict[str, Any]:
    detail = conn.execute(select(deliveries.c.detail).where(deliveries.c.id == delivery_id)).scalar_one()
    return dict(detail or {})


def record_print_batch_upload(conn: Connection, batch: PrintBatchRecord, *, sha256: str, destination: str,
                              recorded_at: datetime) -> None:
    """An upload of the batch starts: one more attempt, and where its files go."""
    detail = _detail_of(conn, batch.delivery_id)
    conn.execute(update(deliveries).where(deliveries.c.id == batch.delivery_id).values(
        detail={**detail, "sha256": sha256, "destination": destination},
        attempts=batch.attempts + 1, recorded_at=recorded_at))


def mark_print_batch_sent(conn: Connection, delivery_id: int, *, sha256: str, destination: str,
                          delivered_on: date, recorded_at: datetime,
                          left_out: Mapping[int, str] | None = None, pages: int | None = None,
                          sheets: int | None = None) -> None:
    """The print house has the whole batch (its ready marker is up).

    ``left_out``: letters recorded in the batch but not in what was delivered (their PDF vanished or
    changed), with the reason. They leave the batch's letters (kept under ``left_out``), so the store
    says exactly what the print house has, and a later batch may take them; ``pages`` and ``sheets``
    are then those delivered.
    """
    detail = _detail_of(conn, delivery_id)
    changes: dict[str, Any] = {}
    if left_out:
        changes.update({k: v for k, v in (("pages", pages), ("sheets", sheets)) if v is not None})
        changes["letters"] = [i for i in detail.get("letters", ()) if int(i) not in left_out]
        changes["left_out"] = {**detail.get("left_out", {}), **{str(i): why for i, why in left_out.items()}}
    conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(
        status="sent", detail={**detail, **changes, "sha256": sha256, "destination": destination,
                               "delivered_on": delivered_on.isoformat()},
        recorded_at=recorded_at))


def mark_print_batch_void(conn: Connection, delivery_id: int, *, left_out: Mapping[int, str],
                          recorded_at: datetime) -> None:
    """A batch none of whose letters can go, and nothing of which reached the print house: it holds no letter
    any more (they are kept under ``left_out``, free for a later batch) and is never delivered."""
    detail = _detail_of(conn, delivery_id)
    conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(
        status="void", detail={**detail, "letters": [], "pages": 0, "sheets": 0,
                               "left_out": {str(i): why for i, why in left_out.items()}},
        recorded_at=recorded_at))


def load_existing_delivery_keys(conn: Connection, keys: Sequence[str]) -> set[str]:
    """Which of these delivery keys are recorded already."""
    if not keys:
        return set()
    query = select(deliveries.c.idempotency_key).where(deliveries.c.idempotency_key.in_(list(keys)))
    return {str(key) for key in conn.execute(query).scalars()}


def has_delivery(conn: Connection, key: str, channel: str | None = None) -> bool:
    """Whether a delivery row is recorded under ``key`` (on ``channel``, when given)."""
    query = select(deliveries.c.id).where(deliveries.c.idempotency_key == key)
    if channel is not None:
        query = query.where(deliveries.c.channel == channel)
    return conn.execute(query).first() is not None


def letter_delivery_row(*, key: str, action_id: int, channel: str | None, batch_id: str, sequence: int, pages: int,
                        sent_on: date, template: str | None, recorded_at: datetime) -> dict[str, Any]:
    """The delivery row of a letter handed to the print house in batch ``batch_id`` (its place and pages in it)."""
    return {"idempotency_key": key, "action_id": action_id, "channel": channel, "status": "sent", "attempts": 1,
            "external_id": batch_id, "recorded_at": recorded_at,
            "detail": {"batch": batch_id, "sequence": sequence, "pages": pages, "sent_on": sent_on.isoformat(),
                       "template": template}}


def insert_letter_deliveries(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Letters handed to the print house (rows of :func:`letter_delivery_row`), in one statement."""
    if rows:
        conn.execute(insert(deliveries), [dict(row) for row in rows])


def load_letter_delivery(conn: Connection, key: str) -> LetterDeliveryRecord | None:
    """The letter delivery recorded under ``key``, with the acknowledgements it has."""
    row = conn.execute(select(deliveries).where(deliveries.c.idempotency_key == key)).first()
    if row is None:
        return None
    acks = (row.detail or {}).get("acks", ())
    return LetterDeliveryRecord(
        delivery_id=row.id, status=row.status, batch_id=row.external_id,
        acknowledged=frozenset((_text(a.get("status")), _text(a.get("date"))) for a in acks),
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def append_letter_acknowledgement(conn: Connection, delivery_id: int, *, status: str, on_date: date,
                                  reason: str, file: str, line: int, new_status: str | None,
                                  recorded_at: datetime) -> None:
    """Add one acknowledgement to the letter's ``detail.acks``; move its status to ``new_status`` if given."""
    detail = _detail_of(conn, delivery_id)
    acks = [*detail.get("acks", ()),
            {"status": status, "date": on_date.isoformat(), "reason": reason, "file": file, "line": line}]
    values: dict[str, Any] = {"detail": {**detail, "acks": acks}, "recorded_at": recorded_at}
    if new_status is not None:
        values["status"] = new_status
    conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(**values))


def insert_processed_file(conn: Connection, *, key: str, channel: str, name: str, on_date: date,
                          counts: Mapping[str, int], recorded_at: datetime) -> None:
    """Remember a file that was read (its content's key), with what it held; IntegrityError if known."""
    conn.execute(insert(deliveries).values(
        idempotency_key=key, action_id=None, channel=channel, status="processed", attempts=1,
        external_id=name[-200:], recorded_at=recorded_at,
        detail={"file": name, "processed_on": on_date.isoformat(), **counts}))
