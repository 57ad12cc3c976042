"""Creditor webhooks against a real HTTP receiver: signed, retried, failed visibly, never posted twice."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, update

from dunning.adapters.webhook import HttpWebhookTransport
from dunning.channels.webhook import verify_signature
from dunning.config import parse_config
from dunning.errors import ConfigError
from dunning.ports import PostResult
from dunning.store import Store
from dunning.store.schema import actions, case_events, cases
from dunning.usecases.cases.view import case_detail
from dunning.usecases.notify.webhooks import EXPORT_FOLDER, deliver_webhooks
from dunning.workspace import Workspace
from tests.usecases.notify.conftest import SECRET, Receiver
from tests.usecases.notify.helpers import (
    NIGHT,
    action_rows,
    case_of,
    events,
    import_and_plan,
    make_workspace,
    outbox_rows,
)

ENV = {"DUNNING_WEBHOOK_SECRET": SECRET}


@pytest.fixture
def planned(tmp_path: Path, store: Store, store_url: str, receiver: Receiver) -> Workspace:
    workspace = make_workspace(tmp_path / "ws", store_url, url=receiver.url)
    import_and_plan(store, workspace)
    return workspace


def _now() -> datetime:
    return datetime.now(UTC)  # the receiver checks signature timestamps against its own clock


def test_signed_webhooks_are_delivered_once(planned: Workspace, store: Store, receiver: Receiver) -> None:
    sleeps: list[float] = []
    result = deliver_webhooks(store, planned, NIGHT, now=_now(), env=ENV, sleep=sleeps.append)

    assert (result.counts.enqueued, result.counts.delivered, result.counts.failed) == (3, 3, 0)
    assert len(receiver.requests) == 3 and all(r.verified for r in receiver.requests)
    assert all(r.path == "/hooks/dunning" and r.answered == 200 for r in receiver.requests)
    assert len({r.key for r in receiver.requests}) == 3 and sleeps == []
    by_type = {r.json["type"]: r.json for r in receiver.requests if r.json["type"] != "notify_creditor"}
    block = by_type["block_service"]
    energy = case_of(store, "E2")
    assert block["case"] == {"number": energy, "reference": block["case"]["reference"], "debtor_id": "E2",
                             "currency": "EUR", "status": "open", "open_amount": "150.50", "fees_amount": "0.00",
                             "interest_amount": "0.00"}
    assert block["case"]["reference"].startswith("+++") and block["data"]["service"] == "electricity"
    assert block["id"] == next(r.key for r in receiver.requests if r.json["type"] == "block_service")
    notify = [r.json for r in receiver.requests if r.json["type"] == "notify_creditor"]
    assert {n["data"]["event"] for n in notify} == {"overdue_7"} and len(notify) == 2
    for request in receiver.requests:  # the creditor's customer number, never the debtor's details
        text = request.body.decode()
        assert "Dubois" not in text and "Peeters" not in text and "@" not in text and "Kerkstraat" not in text

    assert {a.status for a in action_rows(store, "webhook")} == {"delivered"}
    assert len(events(store, "webhook_delivered")) == 3
    timeline = case_detail(store, str(energy)).timeline
    assert [e.kind for e in timeline].count("action:delivered") == 2
    assert any(e.kind == "webhook_delivered" and "block_service delivered" in e.why for e in timeline)

    again = deliver_webhooks(store, planned, NIGHT, now=_now(), env=ENV, sleep=sleeps.append)
    assert (again.counts.enqueued, again.counts.due, again.counts.posts) == (0, 0, 0)
    assert len(receiver.requests) == 3 and len(events(store, "webhook_delivered")) == 3


def test_a_500_is_retried_with_backoff_and_delivered_once(planned: Workspace, store: Store,
                                                          receiver: Receiver) -> None:
    receiver.statuses = [500, 503]
    sleeps: list[float] = []
    result = deliver_webhooks(store, planned, NIGHT, now=_now(), env=ENV, sleep=sleeps.append)

    assert (result.counts.delivered, result.counts.failed, result.counts.posts) == (3, 0, 5)
    assert sleeps == [0.01, 0.02]  # webhook.backoff, doubled
    first = receiver.requests[:3]
    assert [r.answered for r in first] == [500, 503, 200] and len({r.key for r in first}) == 1
    assert len({r.body for r in first}) == 1 and len({r.signature for r in first}) >= 1
    assert len(receiver.processed) == 3
    row = outbox_rows(store)[0]
    assert (row.status, row.attempts, row.last_status) == ("delivered", 3, 200)
    assert len(events(store, "webhook_delivered")) == 3


def test_a_timeout_is_retried_under_the_same_key(tmp_path: Path, store: Store, store_url: str,
                                                 receiver: Receiver) -> None:
    workspace = make_workspace(tmp_path / "ws", store_url, url=receiver.url, timeout=0.3)
    import_and_plan(store, workspace)
    receiver.delays = [1.0]  # the first answer comes too late for the client
    result = deliver_webhooks(store, workspace, NIGHT, now=_now(), env=ENV, sleep=lambda _s: None)
    assert (result.counts.delivered, result.counts.posts) == (3, 4)
    first = outbox_rows(store)[0]
    assert (first.status, first.attempts) == ("delivered", 2)
    deadline = time.monotonic() + 5
    while len(receiver.requests) < 4 and time.monotonic() < deadline:  # the late answer is still being written
        time.sleep(0.05)
    keys = [r.key for r in receiver.requests]
    assert len(keys) == 4 and len(set(keys)) == 3  # the timed-out one arrived twice, under one key
    assert len(receiver.processed) == 3  # and the receiver acted on it once


def test_a_400_fails_the_action_and_shows_on_the_timeline(planned: Workspace, store: Store,
                                                          receiver: Receiver) -> None:
    receiver.default = 400
    result = deliver_webhooks(store, planned, NIGHT, now=_now(), env=ENV, sleep=lambda _s: None)

    assert (result.counts.delivered, result.counts.failed, result.counts.posts) == (0, 3, 3)  # 4xx: no retry
    assert {a.status for a in action_rows(store, "webhook")} == {"failed"}
    assert {r.status for r in outbox_rows(store)} == {"failed"}
    assert {r.last_status for r in outbox_rows(store)} == {400}
    failures = events(store, "delivery_failed")
    assert len(failures) == 3 and all("HTTP 400" in f.detail["reason"] for f in failures)
    assert {f.detail["ref"] for f in failures} == {a.idempotency_key for a in action_rows(store, "webhook")}
    timeline = case_detail(store, "E2").timeline
    assert any(e.kind == "delivery_failed" and "webhook failed: HTTP 400" in e.why for e in timeline)
    assert "action:failed" in [e.kind for e in timeline]
    assert any("HTTP 400" in p for p in result.problems)

    receiver.default = 200
    again = deliver_webhooks(store, planned, NIGHT, now=_now(), env=ENV)
    assert (again.counts.due, again.counts.posts) == (0, 0) and len(receiver.requests) == 3


class CrashAfterPost:
    """Posts for real, then dies before the answer can be recorded (a killed process, a lost link)."""

    def __init__(self, url: str) -> None:
        self.inner = HttpWebhookTransport(url)

    @property
    def url(self) -> str:
        return self.inner.url

    def post(self, body: bytes, headers: Mapping[str, str]) -> PostResult:
        self.inner.post(body, headers)
        raise RuntimeError("killed after the POST")


def test_a_crash_after_the_post_reposts_with_the_same_key(planned: Workspace, store: Store,
                                                          receiver: Receiver) -> None:
    with pytest.raises(RuntimeError, match="killed"):
        deliver_webhooks(store, planned, NIGHT, now=_now(), env=ENV, transport=CrashAfterPost(receiver.url))
    assert len(receiver.requests) == 1
    crashed = outbox_rows(store)[0]
    assert (crashed.status, crashed.attempts) == ("pending", 1)
    assert events(store, "webhook_delivered") == []

    result = deliver_webhooks(store, planned, NIGHT, now=_now(), env=ENV)
    assert (result.counts.recovered, result.counts.delivered, result.counts.enqueued) == (1, 3, 0)
    assert len(receiver.requests) == 4
    assert receiver.requests[1].key == receiver.requests[0].key  # the same Idempotency-Key ...
    assert receiver.requests[1].body == receiver.requests[0].body  # ... and the same bytes
    assert len(receiver.processed) == 3  # the receiver acted once per webhook
    assert len(events(store, "webhook_delivered")) == 3
    assert outbox_rows(store)[0].attempts == 2


def test_an_endpoint_that_stays_down_is_retried_later_then_given_up(tmp_path: Path, store: Store, store_url: str,
                                                                    receiver: Receiver) -> None:
    workspace = make_workspace(tmp_path / "ws", store_url, url=receiver.url, backoff=0.01, max_wait=0.02,
                               max_attempts=4)
    import_and_plan(store, workspace)
    receiver.default = 503
    start = _now()
    first = deliver_webhooks(store, workspace, NIGHT, now=start, env=ENV, sleep=lambda _s: None)
    # 0.01 and 0.02 s pauses in the run, then 0.04 s is too long: the row waits, the others too
    assert (first.counts.posts, first.counts.deferred, first.counts.waiting) == (3, 1, 2)
    rows = outbox_rows(store)
    assert (rows[0].status, rows[0].attempts, rows[0].last_status) == ("deferred", 3, 503)
    assert rows[0].next_attempt_at is not None and {r.attempts for r in rows[1:]} == {0}

    early = deliver_webhooks(store, workspace, NIGHT, now=start, env=ENV, sleep=lambda _s: None)
    assert (early.counts.due, early.counts.posts) == (2, 3)  # the deferred row is not due yet; the next is tried
    assert outbox_rows(store)[0].attempts == 3

    later = start + timedelta(minutes=5)
    last = deliver_webhooks(store, workspace, NIGHT, now=later, env=ENV, sleep=lambda _s: None)
    assert (last.counts.due, last.counts.failed, last.counts.deferred) == (3, 2, 1)
    gave_up = outbox_rows(store)[0]
    assert (gave_up.status, gave_up.attempts) == ("failed", 4) and "gave up after 4 attempts" in gave_up.last_error
    assert all(r.verified for r in receiver.requests)


def test_payment_updates_from_reconciliation_are_posted(planned: Workspace, store: Store,
                                                        receiver: Receiver) -> None:
    case_id = case_of(store, "R1")
    with store.begin() as conn:  # what reconciliation records for a payment that settled the case
        conn.execute(insert(case_events).values(
            case_id=case_id, on_date=NIGHT, kind="creditor_notified", invoice_id=None, amount=None,
            detail={"reason": "tell the creditor's system: payment_received, case_paid",
                    "events": ["payment_received", "case_paid"], "status": "paid", "open_amount": "0.00",
                    "delivery": "queued"},
            source="bank:test", recorded_at=datetime(2026, 10, 20, tzinfo=UTC)))
    result = deliver_webhooks(store, planned, NIGHT, now=_now(), env=ENV)
    assert result.counts.delivered == 4
    [update_] = [r.json for r in receiver.requests if r.json["type"] == "payment_update"]
    assert update_["case"]["number"] == case_id and update_["case"]["debtor_id"] == "R1"
    assert update_["data"] == {"events": ["payment_received", "case_paid"], "payment_status": "paid",
                               "open_amount_after": "0.00"}
    assert deliver_webhooks(store, planned, NIGHT, now=_now(), env=ENV).counts.posts == 0


def test_a_block_for_a_case_closed_meanwhile_is_cancelled(planned: Workspace, store: Store,
                                                         receiver: Receiver) -> None:
    with store.begin() as conn:
        conn.execute(update(cases).where(cases.c.id == case_of(store, "E2")).values(status="closed"))
    result = deliver_webhooks(store, planned, NIGHT, now=_now(), env=ENV)
    assert (result.counts.cancelled, result.counts.delivered) == (1, 2)
    assert "block_service" not in {r.json["type"] for r in receiver.requests}
    block = next(a for a in action_rows(store, "webhook") if a.action == "block_service")
    assert block.status == "cancelled"


def test_the_secret_comes_from_the_environment_only(planned: Workspace, store: Store, receiver: Receiver) -> None:
    with pytest.raises(ConfigError, match="DUNNING_WEBHOOK_SECRET"):
        deliver_webhooks(store, planned, NIGHT, now=_now(), env={})
    assert receiver.requests == []
    raw = {"creditor": {"name": "X", "enterprise_number": "1", "iban": "BE68539007547034",
                        "address": {"street": "s", "postal_code": "1", "city": "c", "country": "BE"}},
           "webhook": {"url": "https://hooks.example.com/x", "secret": "in-the-file"}}
    with pytest.raises(ConfigError, match=r"webhook\.secret.*DUNNING_WEBHOOK_SECRET"):
        parse_config(raw, "dunning.yaml", environ={})


def test_a_file_folder_receives_each_webhook_once(tmp_path: Path, store: Store, store_url: str) -> None:
    workspace = make_workspace(tmp_path / "ws", store_url, url="file://output/hooks")
    import_and_plan(store, workspace)
    now = _now()
    result = deliver_webhooks(store, workspace, NIGHT, now=now, env=ENV)
    files = sorted((workspace.root / "output" / "hooks").glob("*.json"))
    assert result.counts.delivered == len(files) == 3
    for path in files:
        signature = path.with_name(path.name + ".sig").read_text().strip()
        verify_signature(signature, path.read_bytes(), SECRET, now=int(now.timestamp()))
        assert json.loads(path.read_bytes())["id"] == path.stem
    assert deliver_webhooks(store, workspace, NIGHT, now=now, env=ENV).counts.posts == 0
    assert len(list((workspace.root / "output" / "hooks").glob("*.json"))) == 3


def test_an_action_with_via_export_is_written_as_a_file(planned: Workspace, store: Store,
                                                        receiver: Receiver) -> None:
    notify = next(a for a in action_rows(store, "webhook") if a.action == "notify_creditor")
    with store.begin() as conn:
        conn.execute(update(actions).where(actions.c.id == notify.id)
                     .values(settings={**notify.settings, "via": "export"}))
    result = deliver_webhooks(store, planned, NIGHT, now=_now(), env=ENV)
    assert (result.counts.delivered, len(receiver.requests)) == (3, 2)
    [path] = (planned.root / EXPORT_FOLDER).glob("*.json")
    body = json.loads(path.read_bytes())
    assert (body["type"], body["case"]["number"], path.stem) == ("notify_creditor", notify.case_id, body["id"])
    assert next(a for a in action_rows(store, "webhook") if a.id == notify.id).status == "delivered"
