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

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from dunning.adapters.webhook import FileWebhookTransport, open_webhook_transport
from dunning.channels.webhook import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, idempotency_token, signature_header
from dunning.channels.webhook import webhook_body as build_body
from dunning.config import secret
from dunning.errors import ConfigError, StoreError
from dunning.ports import PostResult, Progress, WebhookTransport
from dunning.store import Store
from dunning.store.actions import load_action_name, load_action_status, mark_planned_actions
from dunning.store.cases import NewCaseEvent, insert_case_events, load_case_status
from dunning.store.outbox import (
    DueWebhookActionRecord,
    NewOutboxRecord,
    OutboxRecord,
    WebhookCaseRecord,
    cancel_outbox,
    claim_outbox_attempt,
    insert_outbox,
    load_due_notified_events,
    load_due_webhook_actions,
    load_waiting_outbox,
    load_waiting_outbox_ids,
    mark_outbox_deferred,
    mark_outbox_delivered,
    mark_outbox_failed,
)
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


def _case_block(case: WebhookCaseRecord) -> dict[str, Any]:
    return {
        "number": case.case_id,
        "reference": printed_reference(case.reference),
        "debtor_id": case.debtor_external_id,
        "currency": case.currency,
        "status": case.status,
        "open_amount": case.open_amount,
        "fees_amount": case.fees_amount,
        "interest_amount": case.interest_amount,
    }


def _action_data(row: DueWebhookActionRecord) -> dict[str, Any]:
    settings = row.settings
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
    rows: list[NewOutboxRecord] = []
    for action in load_due_webhook_actions(conn, run_date):
        key = f"action:{action.idempotency_key}"
        body = build_body(key=key, event_type=action.action, occurred_on=action.due_on,
                          case=_case_block(action.case), data=_action_data(action))
        via = action.settings.get("via") or "webhook"
        rows.append(NewOutboxRecord(key, action.id, None, action.case.case_id, action.action,
                                    "export" if via == "export" else "webhook", body.decode(), run_date, now))
    for event in load_due_notified_events(conn, run_date):
        key = f"event:{event.id}"
        detail = event.detail
        data = {"events": list(detail.get("events") or []), "payment_status": detail.get("status")}
        if detail.get("open_amount") is not None:
            data["open_amount_after"] = str(detail["open_amount"])
        body = build_body(key=key, event_type="payment_update", occurred_on=event.on_date,
                          case=_case_block(event.case), data=data)
        rows.append(NewOutboxRecord(key, None, event.id, event.case.case_id, "payment_update", "webhook",
                                    body.decode(), run_date, now))
    insert_outbox(conn, rows)
    return len(rows)


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


def _event(conn: Connection, row: OutboxRecord, run: _Run, kind: str, detail: dict[str, Any]) -> None:
    insert_case_events(conn, [NewCaseEvent(row.case_id, run.run_date, kind, detail, SOURCE, run.moment())])


def _ref(row: OutboxRecord) -> str:
    return row.idempotency_key.removeprefix("action:")


def _delivered(row: OutboxRecord, result: PostResult, attempts: int, run: _Run) -> None:
    where = run.transports[row.target].url
    with run.store.begin() as conn:
        mark_outbox_delivered(conn, row.id, result.status, run.moment())
        if row.action_id is not None:
            mark_planned_actions(conn, [row.action_id], "delivered", run.run_date)
        _event(conn, row, run, "webhook_delivered", {
            "ref": _ref(row), "type": row.event_type, "idempotency_key": idempotency_token(row.idempotency_key),
            "status": result.status, "attempts": attempts,
            "reason": f"{row.event_type} delivered to {where} (HTTP {result.status}, attempt {attempts})",
        })
    run.counts.delivered += 1


def _failed(row: OutboxRecord, reason: str, status: int | None, run: _Run) -> None:
    with run.store.begin() as conn:
        mark_outbox_failed(conn, row.id, status, reason, run.moment())
        if row.action_id is not None:
            action = load_action_name(conn, row.action_id)
            mark_planned_actions(conn, [row.action_id], "failed", run.run_date)
            _event(conn, row, run, "delivery_failed", {
                "ref": _ref(row), "channel": "webhook", "action": action, "status": status,
                "reason": f"webhook failed: {reason}"})
        else:
            _event(conn, row, run, "webhook_failed", {
                "ref": _ref(row), "type": row.event_type, "status": status, "reason": f"webhook failed: {reason}"})
    run.counts.failed += 1
    run.problems.append(f"webhook {row.event_type} (case {row.case_id}, outbox {row.id}): {reason}")


def _deferred(row: OutboxRecord, result: PostResult, attempts: int, delay: float, run: _Run) -> None:
    retry_at = run.moment() + timedelta(seconds=delay)
    with run.store.begin() as conn:
        mark_outbox_deferred(conn, row.id, result.status, result.error, retry_at, run.moment())
    run.counts.deferred += 1
    when = retry_at.isoformat(timespec="seconds")
    run.problems.append(f"webhook {row.event_type} (case {row.case_id}, outbox {row.id}): {result.error}; "
                        f"attempt {attempts} of {run.max_attempts}, next after {when}")


def _guard(row: OutboxRecord, run: _Run) -> str | None:
    """``cancel``, ``wait`` or None (post it), from the case and the action as they are now."""
    with run.store.begin() as conn:
        case_status = load_case_status(conn, row.case_id)
        action_status = None if row.action_id is None else load_action_status(conn, row.action_id)
        if action_status == "cancelled" or (row.event_type == "block_service" and case_status == "closed"):
            cancel_outbox(conn, row.id, run.moment())
            if row.action_id is not None:
                mark_planned_actions(conn, [row.action_id], "cancelled", run.run_date)
            return "cancel"
    if row.event_type == "block_service" and case_status == "on_hold":
        return "wait"
    return None


def _post_row(row: OutboxRecord, run: _Run) -> None:
    """Post one row until it is answered for good, or must wait for a later run."""
    transport = run.transports[row.target]
    body = row.body.encode()
    token = idempotency_token(row.idempotency_key)
    attempts = row.attempts
    while True:
        with run.store.begin() as conn:  # recorded before the POST: a crash after it is found pending
            claimed = claim_outbox_attempt(conn, row.id, attempts, run.moment())
        if not claimed:  # another notifier took this attempt (or finished the row): leave it to them
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
    progress: Progress | None = None,
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
        ids = load_waiting_outbox_ids(conn, now)
    run.counts.due = len(ids)
    report = progress or (lambda _done, _total: None)
    for start in range(0, len(ids), chunk_size):
        with store.begin() as conn:
            rows = load_waiting_outbox(conn, ids[start:start + chunk_size])
        for settled, row in enumerate(rows, start):
            report(settled, len(ids))  # the rows before this one are settled: posted, waiting or cancelled
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
    report(len(ids), len(ids))
    log.info("webhooks %s: %d enqueued, %d due, %d delivered, %d failed, %d deferred, %d waiting", run_date,
             run.counts.enqueued, run.counts.due, run.counts.delivered, run.counts.failed, run.counts.deferred,
             run.counts.waiting)
    return OutboxResult(run_date, run.counts, tuple(run.problems))
