"""Creditor webhooks through an outbox: each one posted until it is answered, and never again after.

::

    result = deliver_webhooks(store, workspace, date(2026, 11, 24), now=datetime.now(UTC), env=os.environ)
    result.summary()   # enqueued / delivered / failed / deferred ...

**What is sent.** Two sources, both already in the store, become rows of the ``outbox`` table
(:func:`enqueue_webhooks`, one transaction, unique per source so nothing is enqueued twice):

* planned actions on the ``webhook`` channel due on or before the run date: ``notify_creditor``,
  ``block_service``, ``unblock_service`` (key ``action:<action key>``, type = the action name);
* ``creditor_notified`` case events recorded by reconciliation and the review queue up to the run
  date (key ``event:<event id>``, type ``payment_update``).

The row stores the exact body (:func:`dunning.channels.webhook.webhook_body`: case number,
reference, the creditor's customer number, amounts as strings; no name, address or contact data),
so every post of a row carries the same bytes and the same ``Idempotency-Key``.

**Delivery.** Rows ``pending`` or ``deferred`` (and due: ``next_attempt_at`` passed) are posted in
id order to ``webhook.url`` (an action with ``via: export`` goes to ``output/exports/webhooks``
as a file instead). For each post, one transaction first counts the attempt and marks the row
``pending``; then the POST; then a second transaction records the answer:

* 2xx: ``delivered``; the action becomes ``delivered`` and the case gets a ``webhook_delivered``
  event;
* 4xx other than 408 and 429 (and 3xx: redirects are not followed): ``failed`` with the status;
  the action becomes ``failed`` with a ``delivery_failed`` event (the next ``dunning run`` plans the
  step's fallback), an event's row gets a ``webhook_failed`` case event. Both show on the timeline;
* 5xx, 408, 429, timeouts, refused connections: retried with exponential backoff
  (``webhook.backoff`` seconds, doubling). Pauses up to ``webhook.max_wait`` happen in the run;
  a longer one leaves the row ``deferred`` with ``next_attempt_at`` for a later run, and the run
  stops posting to that endpoint (it is down: the other rows wait too, attempts untouched). After
  ``webhook.max_attempts`` attempts the row is ``failed`` as above.

**Exactly once, as far as HTTP allows.** A delivered or failed row is never posted again,
whatever is re-run. A crash after the POST and before its answer is recorded leaves the row
``pending``: the next run posts it again with the same body and ``Idempotency-Key``. Delivery is
therefore *at-least-once with an idempotency key*: the receiver must treat a second request with a
key it has already processed as done (answer 2xx, do nothing). One notifier per workspace at a
time (the nightly flow and ``dunning notify`` should not overlap): each attempt is claimed with a
conditional update on the attempt count, so two notifiers never post the same attempt, but a
``pending`` row left by one that is still posting looks like a crashed one to the other.

**Guards.** A ``block_service`` of a case that is closed by the time it is posted is cancelled
(row and action), and waits while the case is on hold (a dispute must not cut the service).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from dunning.adapters.webhook import FileWebhookTransport, PostResult, WebhookTransport, open_webhook_transport
from dunning.channels.webhook import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, idempotency_token, signature_header
from dunning.channels.webhook import webhook_body as build_body
from dunning.config import secret
from dunning.errors import ConfigError, StoreError
from dunning.store import Store
from dunning.store.schema import actions, case_events, cases, debtors, outbox
from dunning.usecases.cases.view import printed_reference
from dunning.workspace import Workspace

__all__ = ["EXPORT_FOLDER", "OutboxResult", "OutboxSummary", "deliver_webhooks", "enqueue_webhooks", "webhook_secret"]

log = logging.getLogger(__name__)

#: environment variable holding the signing secret (never the config file)
SECRET_NAME = "webhook_secret"
SECRET_ENV = "DUNNING_WEBHOOK_SECRET"
#: webhooks of actions with ``via: export`` are written here (inside the workspace)
EXPORT_FOLDER = "output/exports/webhooks"
SOURCE = "notify:webhook"
_WAITING_STATES = ("pending", "deferred")


@dataclass
class OutboxSummary:
    """Counts of one delivery run (no personal data)."""

    enqueued: int = 0
    due: int = 0
    posts: int = 0
    delivered: int = 0
    failed: int = 0
    deferred: int = 0
    waiting: int = 0
    cancelled: int = 0
    recovered: int = 0


@dataclass(frozen=True)
class OutboxResult:
    run_date: date
    counts: OutboxSummary
    problems: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        return {"run_date": self.run_date.isoformat(), **asdict(self.counts), "problems": list(self.problems)}


# ---- enqueue -----------------------------------------------------------------------------------


def _case_block(row: Any) -> dict[str, Any]:
    return {
        "number": row.case_id,
        "reference": printed_reference(row.reference),
        "debtor_id": row.debtor_external_id,
        "currency": row.currency,
        "status": row.case_status,
        "open_amount": row.open_amount,
        "fees_amount": row.fees_amount,
        "interest_amount": row.interest_amount,
    }


def _case_columns() -> list[Any]:
    return [cases.c.reference, cases.c.currency, cases.c.status.label("case_status"), cases.c.open_amount,
            cases.c.fees_amount, cases.c.interest_amount, debtors.c.external_id.label("debtor_external_id")]


def _action_data(row: Any) -> dict[str, Any]:
    settings = dict(row.settings or {})
    data: dict[str, Any] = {"step": row.step, "flow": row.flow}
    if row.action == "notify_creditor":
        data["event"] = settings.get("event") or "dunning_step"
    elif row.action == "block_service":
        data["service"] = settings.get("service") or "all"
    elif row.action == "unblock_service":
        data["provisional"] = bool(settings.get("provisional", False))
    return data


def enqueue_webhooks(conn: Connection, run_date: date, now: datetime) -> int:
    """Write an outbox row for every due webhook action and ``creditor_notified`` event without one."""
    rows: list[dict[str, Any]] = []
    due_actions = (
        select(actions.c.id, actions.c.idempotency_key, actions.c.action, actions.c.settings, actions.c.step,
               actions.c.flow, actions.c.due_on, actions.c.case_id, *_case_columns())
        .join(cases, cases.c.id == actions.c.case_id)
        .join(debtors, debtors.c.id == cases.c.debtor_id)
        .where(actions.c.channel == "webhook", actions.c.status == "planned", actions.c.due_on <= run_date,
               ~exists().where(outbox.c.action_id == actions.c.id))
        .order_by(actions.c.due_on, actions.c.id)
    )
    for row in conn.execute(due_actions):
        key = f"action:{row.idempotency_key}"
        body = build_body(key=key, event_type=row.action, occurred_on=row.due_on, case=_case_block(row),
                          data=_action_data(row))
        via = (row.settings or {}).get("via") or "webhook"
        rows.append({"idempotency_key": key, "action_id": row.id, "case_event_id": None, "case_id": row.case_id,
                     "event_type": row.action, "target": "export" if via == "export" else "webhook"} | _fresh(
                         body, run_date, now))
    due_events = (
        select(case_events.c.id, case_events.c.on_date, case_events.c.detail, case_events.c.case_id.label("case_id"),
               *_case_columns())
        .join(cases, cases.c.id == case_events.c.case_id)
        .join(debtors, debtors.c.id == cases.c.debtor_id)
        .where(case_events.c.kind == "creditor_notified", case_events.c.on_date <= run_date,
               ~exists().where(outbox.c.case_event_id == case_events.c.id))
        .order_by(case_events.c.id)
    )
    for row in conn.execute(due_events):
        key = f"event:{row.id}"
        detail = dict(row.detail or {})
        data = {"events": list(detail.get("events") or []), "payment_status": detail.get("status")}
        if detail.get("open_amount") is not None:
            data["open_amount_after"] = str(detail["open_amount"])
        body = build_body(key=key, event_type="payment_update", occurred_on=row.on_date, case=_case_block(row),
                          data=data)
        rows.append({"idempotency_key": key, "action_id": None, "case_event_id": row.id, "case_id": row.case_id,
                     "event_type": "payment_update", "target": "webhook"} | _fresh(body, run_date, now))
    if rows:
        conn.execute(insert(outbox), rows)
    return len(rows)


def _fresh(body: bytes, run_date: date, now: datetime) -> dict[str, Any]:
    return {"body": body.decode(), "status": "pending", "attempts": 0, "next_attempt_at": None, "last_status": None,
            "last_error": None, "created_on": run_date, "recorded_at": now}


# ---- deliver -----------------------------------------------------------------------------------


@dataclass
class _Run:
    store: Store
    run_date: date
    now: datetime
    secret: str | None
    transports: dict[str, WebhookTransport]
    max_attempts: int
    backoff: float
    max_wait: float
    sleep: Callable[[float], None]
    elapsed: Callable[[], float]
    counts: OutboxSummary = field(default_factory=OutboxSummary)
    problems: list[str] = field(default_factory=list)
    down: set[str] = field(default_factory=set)  # targets that stopped answering in this run

    def moment(self) -> datetime:
        return self.now + timedelta(seconds=self.elapsed())


def _event(conn: Connection, row: Any, run: _Run, kind: str, detail: dict[str, Any]) -> None:
    conn.execute(insert(case_events).values(
        case_id=row.case_id, on_date=run.run_date, kind=kind, invoice_id=None, amount=None, detail=detail,
        source=SOURCE, recorded_at=run.moment(),
    ))


def _ref(row: Any) -> str:
    return str(row.idempotency_key).removeprefix("action:")


def _delivered(row: Any, result: PostResult, attempts: int, run: _Run) -> None:
    where = run.transports[row.target].url
    with run.store.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.id == row.id).values(
            status="delivered", last_status=result.status, last_error=None, next_attempt_at=None,
            recorded_at=run.moment()))
        if row.action_id is not None:
            conn.execute(update(actions).where(actions.c.id == row.action_id, actions.c.status == "planned")
                         .values(status="delivered", outcome_on=run.run_date))
        _event(conn, row, run, "webhook_delivered", {
            "ref": _ref(row), "type": row.event_type, "idempotency_key": idempotency_token(row.idempotency_key),
            "status": result.status, "attempts": attempts,
            "reason": f"{row.event_type} delivered to {where} (HTTP {result.status}, attempt {attempts})",
        })
    run.counts.delivered += 1


def _failed(row: Any, reason: str, status: int | None, run: _Run) -> None:
    with run.store.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.id == row.id).values(
            status="failed", last_status=status, last_error=reason, next_attempt_at=None, recorded_at=run.moment()))
        if row.action_id is not None:
            action = conn.execute(select(actions.c.action).where(actions.c.id == row.action_id)).scalar_one()
            conn.execute(update(actions).where(actions.c.id == row.action_id, actions.c.status == "planned")
                         .values(status="failed", outcome_on=run.run_date))
            _event(conn, row, run, "delivery_failed", {
                "ref": _ref(row), "channel": "webhook", "action": action, "status": status,
                "reason": f"webhook failed: {reason}"})
        else:
            _event(conn, row, run, "webhook_failed", {
                "ref": _ref(row), "type": row.event_type, "status": status, "reason": f"webhook failed: {reason}"})
    run.counts.failed += 1
    run.problems.append(f"webhook {row.event_type} (case {row.case_id}, outbox {row.id}): {reason}")


def _deferred(row: Any, result: PostResult, attempts: int, delay: float, run: _Run) -> None:
    retry_at = run.moment() + timedelta(seconds=delay)
    with run.store.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.id == row.id).values(
            status="deferred", last_status=result.status, last_error=result.error, next_attempt_at=retry_at,
            recorded_at=run.moment()))
    run.counts.deferred += 1
    when = retry_at.isoformat(timespec="seconds")
    run.problems.append(f"webhook {row.event_type} (case {row.case_id}, outbox {row.id}): {result.error}; "
                        f"attempt {attempts} of {run.max_attempts}, next after {when}")


def _guard(row: Any, run: _Run) -> str | None:
    """``cancel``, ``wait`` or None (post it), from the case and the action as they are now."""
    with run.store.begin() as conn:
        case_status = conn.execute(select(cases.c.status).where(cases.c.id == row.case_id)).scalar_one()
        action_status = None
        if row.action_id is not None:
            action_status = conn.execute(select(actions.c.status).where(actions.c.id == row.action_id)).scalar_one()
        if action_status == "cancelled" or (row.event_type == "block_service" and case_status == "closed"):
            conn.execute(update(outbox).where(outbox.c.id == row.id).values(status="cancelled",
                                                                            recorded_at=run.moment()))
            if row.action_id is not None:
                conn.execute(update(actions).where(actions.c.id == row.action_id, actions.c.status == "planned")
                             .values(status="cancelled", outcome_on=run.run_date))
            return "cancel"
    if row.event_type == "block_service" and case_status == "on_hold":
        return "wait"
    return None


def _post_row(row: Any, run: _Run) -> None:
    """Post one row until it is answered for good, or must wait for a later run."""
    transport = run.transports[row.target]
    body = str(row.body).encode()
    token = idempotency_token(row.idempotency_key)
    attempts = int(row.attempts)
    while True:
        with run.store.begin() as conn:  # recorded before the POST: a crash after it is found pending
            claimed = conn.execute(update(outbox).where(
                outbox.c.id == row.id, outbox.c.attempts == attempts, outbox.c.status.in_(_WAITING_STATES),
            ).values(status="pending", attempts=attempts + 1, recorded_at=run.moment())).rowcount
        if claimed != 1:  # another notifier took this attempt (or finished the row): leave it to them
            run.counts.waiting += 1
            return
        attempts += 1
        headers = {IDEMPOTENCY_HEADER: token}
        if run.secret:
            headers[SIGNATURE_HEADER] = signature_header(run.secret, int(run.moment().timestamp()), body)
        run.counts.posts += 1
        result = transport.post(body, headers)
        if result.ok:
            _delivered(row, result, attempts, run)
            return
        if not result.transient:
            _failed(row, result.error or f"HTTP {result.status}", result.status, run)
            return
        if attempts >= run.max_attempts:
            _failed(row, f"gave up after {attempts} attempts ({result.error or f'HTTP {result.status}'})",
                    result.status, run)
            return
        delay = run.backoff * 2 ** (attempts - 1)
        if delay > run.max_wait:
            _deferred(row, result, attempts, delay, run)
            run.down.add(row.target)
            return
        run.sleep(delay)


def _open_transports(workspace: Workspace, given: WebhookTransport | None,
                     given_export: WebhookTransport | None) -> dict[str, WebhookTransport]:
    config = workspace.config.webhook
    return {
        "webhook": given or open_webhook_transport(config.url, base_dir=workspace.root, timeout=config.timeout),
        "export": given_export or FileWebhookTransport(workspace.path(EXPORT_FOLDER)),
    }


def webhook_secret(workspace: Workspace, env: Mapping[str, str], url: str | None = None) -> str | None:
    """``DUNNING_WEBHOOK_SECRET``; ConfigError when it is missing and the webhooks go to http(s)."""
    shared = secret(SECRET_NAME, env)
    target = url or workspace.config.webhook.url
    if not shared and target.startswith(("http://", "https://")):
        parts = urlsplit(target)
        shown = f"{parts.scheme}://{parts.hostname}{parts.path}"  # never a password or token from the URL
        raise ConfigError(f"webhook.url is {shown}: set {SECRET_ENV} in the environment to sign the webhooks "
                          "(secrets never go in dunning.yaml)")
    return shared


def deliver_webhooks(
    store: Store,
    workspace: Workspace,
    run_date: date,
    *,
    now: datetime,
    env: Mapping[str, str],
    transport: WebhookTransport | None = None,
    export_transport: WebhookTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
    chunk_size: int = 200,
) -> OutboxResult:
    """Enqueue the due webhooks, then post every waiting outbox row (see the module docstring).

    ``now`` (timezone-aware) is when the run starts: signature timestamps and retry times count
    from it. Raises ConfigError when ``webhook.url`` is http(s) and ``DUNNING_WEBHOOK_SECRET`` is
    not set (a file:// folder is written unsigned then).
    """
    if now.tzinfo is None:
        raise ConfigError("notify needs a timezone-aware 'now'")
    config = workspace.config.webhook
    transports = _open_transports(workspace, transport, export_transport)
    shared = webhook_secret(workspace, env, transports["webhook"].url)
    started = time.monotonic()
    run = _Run(store, run_date, now, shared, transports, config.max_attempts, config.backoff, config.max_wait,
               sleep, lambda: time.monotonic() - started)
    try:
        with store.begin() as conn:
            run.counts.enqueued = enqueue_webhooks(conn, run_date, now)
    except IntegrityError:
        raise StoreError("another notifier is enqueueing webhooks for this workspace; run one at a time") from None
    with store.begin() as conn:
        ids = list(conn.execute(
            select(outbox.c.id).where(outbox.c.status.in_(_WAITING_STATES),
                                      or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now))
            .order_by(outbox.c.id)).scalars())
    run.counts.due = len(ids)
    for start in range(0, len(ids), chunk_size):
        with store.begin() as conn:
            rows = list(conn.execute(select(outbox).where(outbox.c.id.in_(ids[start:start + chunk_size]),
                                                          outbox.c.status.in_(_WAITING_STATES))
                                     .order_by(outbox.c.id)))
        for row in rows:
            if row.target in run.down:
                run.counts.waiting += 1
                continue
            decision = _guard(row, run)
            if decision == "cancel":
                run.counts.cancelled += 1
                continue
            if decision == "wait":
                run.counts.waiting += 1
                continue
            if row.status == "pending" and row.attempts > 0:
                run.counts.recovered += 1  # posted before without an answer on record: same key again
            _post_row(row, run)
    log.info("webhooks %s: %d enqueued, %d due, %d delivered, %d failed, %d deferred, %d waiting", run_date,
             run.counts.enqueued, run.counts.due, run.counts.delivered, run.counts.failed, run.counts.deferred,
             run.counts.waiting)
    return OutboxResult(run_date, run.counts, tuple(run.problems))
