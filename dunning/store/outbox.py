"""The outbox: one row per creditor webhook to deliver, with the exact body every post of it sends.

A row is written once per source (a planned webhook action, or a ``creditor_notified`` case event;
both unique), then claimed attempt by attempt and closed as ``delivered``, ``failed`` or
``cancelled``; ``deferred`` rows wait for ``next_attempt_at``. The rules are told in
:mod:`dunning.usecases.notify.webhooks`; this module holds the SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, exists, insert, or_, select, update

from dunning.store.schema import actions, case_events, cases, debtors, outbox

#: rows waiting to be posted: never tried (or posted without an answer recorded), or to be retried
WAITING_STATES = ("pending", "deferred")


@dataclass(frozen=True, slots=True)
class WebhookCaseRecord:
    """What a webhook says of its case: number, reference, the creditor's customer number, figures."""

    case_id: int
    reference: str | None
    debtor_external_id: str
    currency: str
    status: str
    open_amount: Decimal
    fees_amount: Decimal
    interest_amount: Decimal


@dataclass(frozen=True, slots=True)
class DueWebhookActionRecord:
    """A planned action on the ``webhook`` channel that has no outbox row yet."""

    id: int
    idempotency_key: str
    action: str
    settings: dict[str, Any]
    step: str | None
    flow: str | None
    due_on: date
    case: WebhookCaseRecord


@dataclass(frozen=True, slots=True)
class DueNotifiedEventRecord:
    """A ``creditor_notified`` case event that has no outbox row yet."""

    id: int
    on_date: date
    detail: dict[str, Any]
    case: WebhookCaseRecord


@dataclass(frozen=True, slots=True)
class NewOutboxRecord:
    """A webhook to enqueue: exactly one of ``action_id`` and ``case_event_id`` is its source."""

    idempotency_key: str
    action_id: int | None
    case_event_id: int | None
    case_id: int
    event_type: str
    target: str
    body: str
    created_on: date
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """A waiting outbox row, as a delivery run reads it."""

    id: int
    idempotency_key: str
    action_id: int | None
    case_event_id: int | None
    case_id: int
    event_type: str
    target: str
    body: str
    status: str
    attempts: int


_CASE_COLUMNS = (
    cases.c.id,
    cases.c.reference,
    debtors.c.external_id,
    cases.c.currency,
    cases.c.status,
    cases.c.open_amount,
    cases.c.fees_amount,
    cases.c.interest_amount,
)


def _case(values: Sequence[Any]) -> WebhookCaseRecord:
    return WebhookCaseRecord(*values)


def load_due_webhook_actions(conn: Connection, run_date: date) -> list[DueWebhookActionRecord]:
    """Planned webhook actions due by ``run_date`` without an outbox row, by due date and id."""
    query = (
        select(
            actions.c.id,
            actions.c.idempotency_key,
            actions.c.action,
            actions.c.settings,
            actions.c.step,
            actions.c.flow,
            actions.c.due_on,
            *_CASE_COLUMNS,
        )
        .join(cases, cases.c.id == actions.c.case_id)
        .join(debtors, debtors.c.id == cases.c.debtor_id)
        .where(
            actions.c.channel == "webhook",
            actions.c.status == "planned",
            actions.c.due_on <= run_date,
            ~exists().where(outbox.c.action_id == actions.c.id),
        )
        .order_by(actions.c.due_on, actions.c.id)
    )
    return [
        DueWebhookActionRecord(r[0], r[1], r[2], dict(r[3] or {}), r[4], r[5], r[6], _case(r[7:]))
        for r in conn.execute(query)
    ]


def load_due_notified_events(conn: Connection, run_date: date) -> list[DueNotifiedEventRecord]:
    """``creditor_notified`` events up to ``run_date`` without an outbox row, by id."""
    query = (
        select(case_events.c.id, case_events.c.on_date, case_events.c.detail, *_CASE_COLUMNS)
        .join(cases, cases.c.id == case_events.c.case_id)
        .join(debtors, debtors.c.id == cases.c.debtor_id)
        .where(
            case_events.c.kind == "creditor_notified",
            case_events.c.on_date <= run_date,
            ~exists().where(outbox.c.case_event_id == case_events.c.id),
        )
        .order_by(case_events.c.id)
    )
    return [DueNotifiedEventRecord(r[0], r[1], dict(r[2] or {}), _case(r[3:])) for r in conn.execute(query)]


def insert_outbox(conn: Connection, rows: Sequence[NewOutboxRecord]) -> None:
    """Enqueue webhooks as ``pending``, never tried (a second row for one source is an IntegrityError)."""
    if not rows:
        return
    conn.execute(
        insert(outbox),
        [
            {
                "idempotency_key": r.idempotency_key,
                "action_id": r.action_id,
                "case_event_id": r.case_event_id,
                "case_id": r.case_id,
                "event_type": r.event_type,
                "target": r.target,
                "body": r.body,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": None,
                "last_status": None,
                "last_error": None,
                "created_on": r.created_on,
                "recorded_at": r.recorded_at,
            }
            for r in rows
        ],
    )


def load_waiting_outbox_ids(conn: Connection, now: datetime) -> list[int]:
    """The ids of the rows waiting and due at ``now`` (never deferred, or deferred until then), in order."""
    query = (
        select(outbox.c.id)
        .where(
            outbox.c.status.in_(WAITING_STATES),
            or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now),
        )
        .order_by(outbox.c.id)
    )
    return list(conn.execute(query).scalars())


def load_waiting_outbox(conn: Connection, outbox_ids: Sequence[int]) -> list[OutboxRecord]:
    """The rows among ``outbox_ids`` still waiting, in id order."""
    query = (
        select(
            outbox.c.id,
            outbox.c.idempotency_key,
            outbox.c.action_id,
            outbox.c.case_event_id,
            outbox.c.case_id,
            outbox.c.event_type,
            outbox.c.target,
            outbox.c.body,
            outbox.c.status,
            outbox.c.attempts,
        )
        .where(outbox.c.id.in_(outbox_ids), outbox.c.status.in_(WAITING_STATES))
        .order_by(outbox.c.id)
    )
    return [OutboxRecord(*tuple(row)) for row in conn.execute(query)]


def claim_outbox_attempt(conn: Connection, outbox_id: int, attempts: int, at: datetime) -> bool:
    """Count attempt ``attempts + 1`` and mark the row ``pending``; False when another notifier took it.

    The update is conditional on the attempt count, so two notifiers never claim the same attempt.
    """
    claimed = conn.execute(
        update(outbox)
        .where(outbox.c.id == outbox_id, outbox.c.attempts == attempts, outbox.c.status.in_(WAITING_STATES))
        .values(status="pending", attempts=attempts + 1, recorded_at=at)
    ).rowcount
    return claimed == 1


def mark_outbox_delivered(conn: Connection, outbox_id: int, http_status: int | None, at: datetime) -> None:
    """The receiver answered 2xx: never posted again."""
    conn.execute(
        update(outbox)
        .where(outbox.c.id == outbox_id)
        .values(status="delivered", last_status=http_status, last_error=None, next_attempt_at=None, recorded_at=at)
    )


def mark_outbox_failed(conn: Connection, outbox_id: int, http_status: int | None, error: str, at: datetime) -> None:
    """Failed for good: never posted again."""
    conn.execute(
        update(outbox)
        .where(outbox.c.id == outbox_id)
        .values(status="failed", last_status=http_status, last_error=error, next_attempt_at=None, recorded_at=at)
    )


def mark_outbox_deferred(
    conn: Connection, outbox_id: int, http_status: int | None, error: str | None, retry_at: datetime, at: datetime
) -> None:
    """A transient failure: posted again by a run from ``retry_at`` on."""
    conn.execute(
        update(outbox)
        .where(outbox.c.id == outbox_id)
        .values(status="deferred", last_status=http_status, last_error=error, next_attempt_at=retry_at, recorded_at=at)
    )


def cancel_outbox(conn: Connection, outbox_id: int, at: datetime) -> None:
    """The webhook must not go (its action was cancelled, or its case closed)."""
    conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(status="cancelled", recorded_at=at))
