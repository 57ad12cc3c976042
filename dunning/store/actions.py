"""Actions and holds in the store: what the night planned, and what became of it.

The planner writes the actions; the channels (letters, email, SMS) read the ones due, move them on
(``planned`` → ``sent`` / ``failed`` / ``cancelled``, then ``delivered`` / ``bounced``) and book the
fee a message carries once it went out. Every status change here is conditional on the status it
expects, so a re-run or a late receipt never moves an action backwards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from dunning.store.contacts import CONTACTS, contact_email, contact_email_invalid, contact_phone
from dunning.store.letter_actions import (
    CostRecord,
    LastLetterActionRecord,
    LetterActionRecord,
    SentLetterRecord,
    cancel_planned_action,
    fail_planned_action,
    load_booked_message_fees,
    load_charged_costs,
    load_last_letter_action,
    load_letter_actions,
    load_sent_letters_of_open_cases,
    mark_action_returned,
    mark_planned_action_sent,
)
from dunning.store.schema import actions, cases, debtors, documents, holds

# The letter actions' names are re-exported from dunning.store.letter_actions (existing imports keep working).
__all__ = [
    "CostRecord",
    "DueActionRecord",
    "FeeActionRecord",
    "LastLetterActionRecord",
    "LetterActionRecord",
    "SentLetterRecord",
    "cancel_planned_action",
    "fail_planned_action",
    "load_action_ids_with_amount",
    "load_booked_message_fees",
    "load_charged_costs",
    "load_due_action_ids",
    "load_fee_actions",
    "load_last_letter_action",
    "load_letter_actions",
    "load_planned_actions",
    "load_sent_letters_of_open_cases",
    "lock_fee_action",
    "mark_action_bounced",
    "mark_action_failed_after_sending",
    "mark_action_returned",
    "mark_planned_action",
    "mark_planned_action_sent",
    "mark_sent_action_delivered",
    "write_action_detail",
]

# ---- due actions: what a channel sends ----------------------------------------------------------

@dataclass(frozen=True, slots=True)
class DueActionRecord:
    """A planned action with its case and debtor, as the channels read it (debtor fields are personal data)."""

    action_id: int
    key: str
    action: str
    channel: str
    due_on: date
    settings: Mapping[str, Any]
    detail: Mapping[str, Any]
    case_id: int
    case_status: str
    currency: str
    reference: str | None
    open_amount: Decimal
    fees_amount: Decimal
    interest_amount: Decimal
    debtor_name: str
    language: str | None
    country: str | None
    email: str | None
    email_invalid: bool
    phone: str | None
    customer_number: str | None
    debtor_type: str | None
    street: str | None
    postal_code: str | None
    city: str | None
    flow: str | None = None
    flow_version: int | None = None


def load_due_action_ids(conn: Connection, channel: str, run_date: date) -> list[int]:
    """Ids of the planned actions on ``channel`` due on or before ``run_date``, oldest first."""
    query = (
        select(actions.c.id)
        .where(actions.c.status == "planned", actions.c.channel == channel, actions.c.due_on <= run_date)
        .order_by(actions.c.due_on, actions.c.id)
    )
    return [int(action_id) for action_id in conn.execute(query).scalars()]


def load_planned_actions(conn: Connection, action_ids: Sequence[int]) -> list[DueActionRecord]:
    """The actions ``action_ids`` that are still planned, with their case and debtor, oldest first."""
    if not action_ids:
        return []
    query = (
        select(
            actions.c.id, actions.c.idempotency_key, actions.c.action, actions.c.channel, actions.c.due_on,
            actions.c.settings, actions.c.detail, actions.c.case_id,
            cases.c.status.label("case_status"), cases.c.currency, cases.c.reference, cases.c.open_amount,
            cases.c.fees_amount, cases.c.interest_amount,
            debtors.c.name, debtors.c.language, debtors.c.country, contact_email(), contact_email_invalid(),
            contact_phone(), debtors.c.external_id.label("customer_number"), debtors.c.debtor_type,
            debtors.c.street, debtors.c.postal_code, debtors.c.city, actions.c.flow, actions.c.flow_version,
        )
        .join(cases, cases.c.id == actions.c.case_id)
        .join(debtors, debtors.c.id == cases.c.debtor_id)
        .outerjoin(*CONTACTS)
        .where(actions.c.id.in_(list(action_ids)), actions.c.status == "planned")
        .order_by(actions.c.due_on, actions.c.id)
    )
    return [
        DueActionRecord(
            action_id=row.id, key=row.idempotency_key, action=row.action, channel=row.channel,
            due_on=row.due_on, settings=dict(row.settings or {}), detail=dict(row.detail or {}),
            case_id=row.case_id, case_status=row.case_status, currency=row.currency, reference=row.reference,
            open_amount=row.open_amount, fees_amount=row.fees_amount, interest_amount=row.interest_amount,
            debtor_name=row.name, language=row.language, country=row.country, email=row.email,
            email_invalid=bool(row.email_invalid), phone=row.phone, customer_number=row.customer_number,
            debtor_type=row.debtor_type, street=row.street, postal_code=row.postal_code, city=row.city,
            flow=row.flow, flow_version=row.flow_version,
        )
        for row in conn.execute(query)
    ]


def load_action_ids_with_amount(conn: Connection, action_ids: Sequence[int]) -> set[int]:
    """Which of ``action_ids`` carry an amount (a fee that may have to be booked)."""
    query = select(actions.c.id).where(actions.c.id.in_(list(action_ids)), actions.c.amount.is_not(None))
    return {int(action_id) for action_id in conn.execute(query).scalars()}


# ---- outcomes -----------------------------------------------------------------------------------

def mark_planned_action(conn: Connection, action_id: int, *, status: str, outcome_on: date) -> bool:
    """Move a still planned action to ``status`` (sent, failed, cancelled...) as of ``outcome_on``."""
    result = conn.execute(update(actions).where(actions.c.id == action_id, actions.c.status == "planned")
                          .values(status=status, outcome_on=outcome_on))
    return bool(result.rowcount)


def mark_action_bounced(conn: Connection, action_id: int, on_date: date) -> None:
    """The email of the action bounced hard (known on ``on_date``)."""
    conn.execute(update(actions).where(actions.c.id == action_id).values(status="bounced", outcome_on=on_date))


def mark_sent_action_delivered(conn: Connection, action_id: int) -> None:
    """A sent action reached the debtor (an SMS delivery receipt); the day it was sent stays its outcome."""
    conn.execute(update(actions).where(actions.c.id == action_id, actions.c.status == "sent")
                 .values(status="delivered"))


def mark_action_failed_after_sending(conn: Connection, action_id: int, on_date: date) -> None:
    """A sent (or still planned) action did not reach the debtor after all (known on ``on_date``)."""
    conn.execute(update(actions).where(actions.c.id == action_id, actions.c.status.in_(("sent", "planned")))
                 .values(status="failed", outcome_on=on_date))


# ---- fees of messages ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FeeActionRecord:
    """A message action as its fee booking needs it."""

    action_id: int
    key: str
    case_id: int
    action: str
    channel: str | None
    step: str | None
    status: str
    amount: Decimal | None
    detail: Mapping[str, Any]


def _fee_action(row: Any) -> FeeActionRecord:
    return FeeActionRecord(action_id=row.id, key=row.idempotency_key, case_id=row.case_id, action=row.action,
                           channel=row.channel, step=row.step, status=row.status, amount=row.amount,
                           detail=dict(row.detail or {}))


_FEE_COLUMNS = (actions.c.id, actions.c.idempotency_key, actions.c.case_id, actions.c.action, actions.c.channel,
                actions.c.step, actions.c.status, actions.c.amount, actions.c.detail)


def lock_fee_action(conn: Connection, action_id: int) -> FeeActionRecord | None:
    """The action, its row locked until the transaction ends (so its fee is booked or reversed once)."""
    row = conn.execute(select(*_FEE_COLUMNS).where(actions.c.id == action_id).with_for_update()).first()
    return None if row is None else _fee_action(row)


def load_fee_actions(conn: Connection, channels: Sequence[str], statuses: Sequence[str]) -> list[FeeActionRecord]:
    """Actions with an amount on ``channels`` in one of ``statuses`` (not locked: lock each before booking)."""
    query = select(*_FEE_COLUMNS).where(actions.c.amount.is_not(None), actions.c.channel.in_(list(channels)),
                                        actions.c.status.in_(list(statuses)))
    return [_fee_action(row) for row in conn.execute(query)]


def write_action_detail(conn: Connection, action_id: int, detail: Mapping[str, Any]) -> None:
    """Replace the action's ``detail`` (the planner's record plus the marks written since)."""
    conn.execute(update(actions).where(actions.c.id == action_id).values(detail=dict(detail)))


def write_action_details(conn: Connection, details: Mapping[int, Mapping[str, Any]]) -> None:
    """Replace the ``detail`` of several actions at once (by action id)."""
    if details:
        conn.execute(update(actions).where(actions.c.id == bindparam("action_pk")).values(detail=bindparam("new")),
                     [{"action_pk": key, "new": dict(value)} for key, value in details.items()])


# ---- used by planning, cases and notify ----


@dataclass(frozen=True, slots=True)
class ActionHistoryRecord:
    """A recorded action as the planner's history and the case timeline read it."""

    id: int
    idempotency_key: str
    case_id: int
    due_on: date
    action: str
    channel: str | None
    step: str | None
    status: str
    amount: Decimal | None
    reason: str
    flow: str | None
    flow_version: int | None
    cycle: int
    fallback_depth: int
    outcome_on: date | None
    detail: dict[str, Any] | None


_HISTORY_COLUMNS = (
    actions.c.id,
    actions.c.idempotency_key,
    actions.c.case_id,
    actions.c.due_on,
    actions.c.action,
    actions.c.channel,
    actions.c.step,
    actions.c.status,
    actions.c.amount,
    actions.c.reason,
    actions.c.flow,
    actions.c.flow_version,
    actions.c.cycle,
    actions.c.fallback_depth,
    actions.c.outcome_on,
    actions.c.detail,
)


def load_action_history(conn: Connection) -> list[ActionHistoryRecord]:
    """Every recorded action of every case, in the order they were recorded."""
    query = select(*_HISTORY_COLUMNS).order_by(actions.c.id)
    return [ActionHistoryRecord(*tuple(row)) for row in conn.execute(query)]


def load_case_actions(conn: Connection, case_id: int) -> list[ActionHistoryRecord]:
    """The recorded actions of one case, in the order they were recorded."""
    query = select(*_HISTORY_COLUMNS).where(actions.c.case_id == case_id).order_by(actions.c.id)
    return [ActionHistoryRecord(*tuple(row)) for row in conn.execute(query)]


def load_first_notice_dates(conn: Connection, notices: Sequence[str], not_sent: Sequence[str]) -> dict[int, date]:
    """Per case, the due date of its earliest action among ``notices`` whose status is not in ``not_sent``."""
    query = (
        select(actions.c.case_id, func.min(actions.c.due_on))
        .where(actions.c.action.in_(notices), actions.c.status.notin_(not_sent))
        .group_by(actions.c.case_id)
    )
    return {row[0]: row[1] for row in conn.execute(query)}


@dataclass(frozen=True, slots=True)
class NewActionRecord:
    """An action the night plans, as it is recorded (its idempotency key keeps it unique)."""

    idempotency_key: str
    case_id: int
    run_date: date
    due_on: date
    action: str
    channel: str | None
    step: str
    status: str
    amount: Decimal | None
    settings: dict[str, Any]
    reason: str
    recorded_at: datetime
    flow: str
    flow_version: int
    cycle: int
    fallback_depth: int
    contact: bool
    replaces: str | None
    detail: dict[str, Any]


_NEW_ACTION_FIELDS = tuple(NewActionRecord.__dataclass_fields__)
ACTION_INSERT_CHUNK = 10_000  # rows in one INSERT


def insert_actions(conn: Connection, planned: Sequence[NewActionRecord]) -> None:
    """Record the planned actions, ``ACTION_INSERT_CHUNK`` rows to a statement."""
    rows = [{name: getattr(action, name) for name in _NEW_ACTION_FIELDS} for action in planned]
    for start in range(0, len(rows), ACTION_INSERT_CHUNK):
        conn.execute(insert(actions), rows[start : start + ACTION_INSERT_CHUNK])


def existing_action_keys(conn: Connection, keys: Sequence[str]) -> set[str]:
    """Those of ``keys`` that an action was recorded under."""
    if not keys:
        return set()
    query = select(actions.c.idempotency_key).where(actions.c.idempotency_key.in_(list(keys)))
    return {row.idempotency_key for row in conn.execute(query)}


def mark_planned_actions(conn: Connection, action_ids: Sequence[int], status: str, on: date) -> None:
    """Give the actions that are still ``planned`` among ``action_ids`` their outcome ``status`` on ``on``."""
    if action_ids:
        conn.execute(
            update(actions)
            .where(actions.c.id.in_(action_ids), actions.c.status == "planned")
            .values(status=status, outcome_on=on)
        )


def load_action_name(conn: Connection, action_id: int) -> str:
    """What an action does (``block_service``, ``letter``...)."""
    name: str = conn.execute(select(actions.c.action).where(actions.c.id == action_id)).scalar_one()
    return name


def load_action_status(conn: Connection, action_id: int) -> str:
    """The status of an action as it is now."""
    status: str = conn.execute(select(actions.c.status).where(actions.c.id == action_id)).scalar_one()
    return status


@dataclass(frozen=True, slots=True)
class CaseHoldRecord:
    """A hold placed on a case (released once ``released_on`` is set)."""

    case_id: int
    kind: str
    reason: str
    start: date
    until: date | None
    released_on: date | None


def load_holds(conn: Connection) -> list[CaseHoldRecord]:
    """Every hold of every case, released or not, in the order they were placed."""
    query = select(holds.c.case_id, holds.c.kind, holds.c.reason, holds.c.start, holds.c.until, holds.c.released_on)
    return [CaseHoldRecord(*row) for row in conn.execute(query.order_by(holds.c.id))]


def insert_hold(
    conn: Connection, case_id: int, *, kind: str, reason: str, start: date, until: date | None, source: str
) -> None:
    """Place a hold on a case; ``source`` (the action key) keeps it unique."""
    conn.execute(
        insert(holds).values(case_id=case_id, kind=kind, reason=reason, start=start, until=until, source=source)
    )


def release_holds(conn: Connection, case_id: int, on: date) -> None:
    """Release every hold of the case not released yet."""
    conn.execute(update(holds).where(holds.c.case_id == case_id, holds.c.released_on.is_(None)).values(released_on=on))


@dataclass(frozen=True, slots=True)
class DueExportRecord:
    """A planned export action due tonight, with its case's status and its document, if one was chosen."""

    id: int
    action: str
    settings: dict[str, Any]
    case_id: int
    case_status: str
    document_id: int | None


def load_due_export_actions(conn: Connection, run_date: date) -> list[DueExportRecord]:
    """Planned actions on the ``export`` channel due by ``run_date``, by case and id."""
    query = (
        select(
            actions.c.id,
            actions.c.action,
            actions.c.settings,
            actions.c.case_id,
            cases.c.status,
            documents.c.id,
        )
        .join(cases, cases.c.id == actions.c.case_id)
        .outerjoin(documents, documents.c.action_id == actions.c.id)
        .where(actions.c.channel == "export", actions.c.status == "planned", actions.c.due_on <= run_date)
        .order_by(actions.c.case_id, actions.c.id)
    )
    return [DueExportRecord(r[0], r[1], dict(r[2] or {}), r[3], r[4], r[5]) for r in conn.execute(query)]


@dataclass(frozen=True, slots=True)
class ExportSubjectRecord:
    """An exported action with its case's figures and its debtor's details."""

    id: int
    action: str
    settings: dict[str, Any]
    step: str | None
    due_on: date
    case_id: int
    reference: str | None
    currency: str
    open_amount: Decimal
    fees_amount: Decimal
    interest_amount: Decimal
    debtor_external_id: str
    name: str
    debtor_type: str
    language: str | None
    street: str | None
    postal_code: str | None
    city: str | None
    country: str | None
    email: str | None
    phone: str | None


def load_export_subjects(conn: Connection, action_ids: Sequence[int]) -> list[ExportSubjectRecord]:
    """The actions ``action_ids`` with their cases and debtors, by case and id."""
    query = (
        select(
            actions.c.id,
            actions.c.action,
            actions.c.settings,
            actions.c.step,
            actions.c.due_on,
            actions.c.case_id,
            cases.c.reference,
            cases.c.currency,
            cases.c.open_amount,
            cases.c.fees_amount,
            cases.c.interest_amount,
            debtors.c.external_id,
            debtors.c.name,
            debtors.c.debtor_type,
            debtors.c.language,
            debtors.c.street,
            debtors.c.postal_code,
            debtors.c.city,
            debtors.c.country,
            contact_email(),
            contact_phone(),
        )
        .join(cases, cases.c.id == actions.c.case_id)
        .join(debtors, debtors.c.id == cases.c.debtor_id)
        .outerjoin(*CONTACTS)
        .where(actions.c.id.in_(action_ids))
        .order_by(actions.c.case_id, actions.c.id)
    )
    return [ExportSubjectRecord(r[0], r[1], dict(r[2] or {}), *tuple(r[3:])) for r in conn.execute(query)]


@dataclass(frozen=True, slots=True)
class ActionOutcomeRecord:
    """An action of a case with what became of it, and its document if it has one."""

    id: int
    due_on: date
    outcome_on: date | None
    action: str
    channel: str | None
    status: str
    amount: Decimal | None
    document_path: str | None
    document_kind: str | None


def load_action_outcomes(
    conn: Connection, case_id: int, statuses: Sequence[str], *, exclude: int | None = None
) -> list[ActionOutcomeRecord]:
    """The actions of a case whose status is in ``statuses`` (all but ``exclude``), by id."""
    query = (
        select(
            actions.c.id,
            actions.c.due_on,
            actions.c.outcome_on,
            actions.c.action,
            actions.c.channel,
            actions.c.status,
            actions.c.amount,
            documents.c.path,
            documents.c.kind,
        )
        .outerjoin(documents, documents.c.action_id == actions.c.id)
        .where(actions.c.case_id == case_id, actions.c.status.in_(statuses))
        .order_by(actions.c.id)
    )
    if exclude is not None:
        query = query.where(actions.c.id != exclude)
    return [ActionOutcomeRecord(*row) for row in conn.execute(query)]
