"""Bounces from a Maildir and SMS over the JSON-lines outbox and a real SMPP server with receipts."""

from __future__ import annotations

import json
import mailbox
from datetime import date
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from dunning.adapters.sms import open_sms_transport
from dunning.store import Store
from dunning.store.schema import case_events, deliveries
from dunning.usecases.messaging.dispatch import dispatch_messages
from dunning.usecases.messaging.feedback import open_bounce_source, process_bounces
from dunning.usecases.outgoing.secrets import load_secrets
from tests.channels.conftest import HttpGateway, SmppServer
from tests.usecases.messaging.helpers import (
    ENV,
    FIRST_NIGHT,
    SMS_NIGHT,
    SUNDAY_NIGHT,
    WEEKDAY_MORNING,
    actions_of,
    all_deliveries,
    case_of,
    debtor_email_invalid,
    events_of,
    import_and_plan,
    make_workspace,
    plan,
)

OUT_OF_OFFICE = (b"From: Marie Dubois <marie.dubois@example.be>\nTo: debiteuren@brabant-energie.example\n"
                 b"Subject: Absence du bureau\nAuto-Submitted: auto-replied\n\nJe suis absente.\n")


def _snapshot(store: Store) -> list[tuple[object, ...]]:
    with store.begin() as conn:
        rows = [tuple(r) for r in conn.execute(select(deliveries.c.id, deliveries.c.status, deliveries.c.detail))]
        rows += [tuple(r) for r in conn.execute(select(case_events.c.id, case_events.c.kind))]
    return rows


def test_a_hard_bounce_in_a_maildir_fails_the_email_and_the_next_night_writes_a_letter(
        store: Store, tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    import_and_plan(store, workspace)
    dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=WEEKDAY_MORNING, env=ENV)
    sent = {message_from_bytes(p.read_bytes(), policy=policy.default)["To"].addresses[0].addr_spec: p.read_bytes()
            for p in (workspace.root / "output" / "mail").glob("*.eml")}
    assert len(sent) == 4

    from tests.usecases.messaging.helpers import dsn_for

    maildir = mailbox.Maildir(str(tmp_path / "bounces"), create=True)
    maildir.add(dsn_for(sent["jan.peeters@example.be"], status="5.1.1"))
    maildir.add(dsn_for(sent["marie.dubois@example.be"], status="4.2.2", action="delayed"))
    maildir.add(OUT_OF_OFFICE)
    secret = load_secrets(workspace, ENV).verp
    on = date(2026, 10, 9)

    result = process_bounces(store, open_bounce_source(str(tmp_path / "bounces"), ENV), secret=secret, on_date=on,
                             recorded_at=WEEKDAY_MORNING)

    assert (result.hard, result.soft, result.ignored, result.emails_invalidated) == (1, 1, 1, 1)
    jan, marie = case_of(store, "D1"), case_of(store, "D2")
    [email] = [a for a in actions_of(store, jan) if a.channel == "email"]
    assert (email.status, email.outcome_on) == ("bounced", on)
    [event] = events_of(store, jan, "delivery_failed")
    assert event.detail["ref"] == email.idempotency_key and event.detail["status"] == "5.1.1"
    assert debtor_email_invalid(store, "D1") and not debtor_email_invalid(store, "D2")
    [marie_email] = [a for a in actions_of(store, marie) if a.channel == "email"]
    assert marie_email.status == "sent"
    [soft] = [d for d in all_deliveries(store) if d.action_id == marie_email.id]
    assert soft.status == "sent" and [n["status"] for n in soft.detail["soft_bounces"]] == ["4.2.2"]

    before = _snapshot(store)
    twice = process_bounces(store, open_bounce_source(str(tmp_path / "bounces"), ENV), secret=secret, on_date=on,
                            recorded_at=WEEKDAY_MORNING)
    assert (twice.hard, twice.soft, twice.already_known) == (0, 0, 2)
    assert _snapshot(store) == before
    # The same bounces exported to an mbox file: still nothing new.
    mbox = mailbox.mbox(str(tmp_path / "bounces.mbox"))
    for key in sorted(maildir.keys()):
        mbox.add(maildir.get_bytes(key))
    mbox.close()
    from_mbox = process_bounces(store, open_bounce_source(str(tmp_path / "bounces.mbox"), ENV), secret=secret,
                                on_date=on, recorded_at=WEEKDAY_MORNING)
    assert (from_mbox.hard, from_mbox.soft, from_mbox.already_known, from_mbox.ignored) == (0, 0, 2, 1)
    assert _snapshot(store) == before

    plan(store, workspace, date(2026, 10, 11))
    fallback = [a for a in actions_of(store, jan) if a.replaces == email.idempotency_key]
    assert [(a.action, a.channel) for a in fallback] == [("send_letter", "letter")]
    assert not [a for a in actions_of(store, marie) if a.replaces]


def _plan_sms_night(store: Store, workspace_root: Path, **transports: str):  # type: ignore[no-untyped-def]
    workspace = make_workspace(workspace_root, **transports)
    import_and_plan(store, workspace)
    dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=WEEKDAY_MORNING, env=ENV)
    planned = plan(store, workspace, SMS_NIGHT)
    assert planned.by_channel.get("sms") == 2  # D1 and D2 have mobile numbers
    return workspace


def test_sms_wait_for_daytime_then_go_once_to_the_outbox(store: Store, tmp_path: Path) -> None:
    workspace = _plan_sms_night(store, tmp_path / "ws")
    outbox = workspace.root / "output" / "sms" / "outbox.jsonl"

    night = dispatch_messages(store, workspace, SMS_NIGHT, channels=("sms",), now=SUNDAY_NIGHT, env=ENV)
    assert (night.channel("sms").deferred, night.channel("sms").sent) == (2, 0)
    assert not outbox.exists()

    day = dispatch_messages(store, workspace, SMS_NIGHT, channels=("sms",), now=WEEKDAY_MORNING, env=ENV)
    assert (day.channel("sms").sent, day.channel("sms").deferred) == (2, 0)
    lines = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
    assert sorted(line["to"] for line in lines) == ["+32470123456", "+32475234567"]
    texts = {line["to"]: line["text"] for line in lines}
    assert "herinnering" in texts["+32470123456"] and "rappel" in texts["+32475234567"]
    assert all("https://pay.example.com/p/" in text for text in texts.values())
    assert all(line["encoding"] == "GSM-7" for line in lines)
    jan = case_of(store, "D1")
    assert [a.status for a in actions_of(store, jan) if a.channel == "sms"] == ["sent"]
    assert [e.detail["channel"] for e in events_of(store, jan, "message_sent")] == ["email", "sms"]

    again = dispatch_messages(store, workspace, SMS_NIGHT, channels=("sms",), now=WEEKDAY_MORNING, env=ENV)
    assert again.channel("sms").due == 0
    assert len(outbox.read_text(encoding="utf-8").splitlines()) == 2


def test_sms_over_smpp_with_delivery_receipts_and_a_fallback_for_the_undelivered(
        store: Store, tmp_path: Path, smpp_server: SmppServer) -> None:
    smpp_server.undeliverable.add("32475234567")
    url = f"smpp://dunning:secret@{smpp_server.host}:{smpp_server.port}"
    workspace = _plan_sms_night(store, tmp_path / "ws", sms_transport=url)

    result = dispatch_messages(store, workspace, SMS_NIGHT, channels=("sms",), now=WEEKDAY_MORNING, env=ENV,
                               receipt_wait=5.0)

    sms = result.channel("sms")
    assert (sms.sent, sms.delivered, sms.undelivered) == (2, 1, 1)
    # Each SMS takes two GSM-7 segments (concatenated with a UDH); each segment asks for a receipt.
    assert sorted(p.destination_addr for p in smpp_server.submitted) == ["32470123456"] * 2 + ["32475234567"] * 2
    assert all(p.registered_delivery == 1 and p.data_coding == 0 and p.esm_class == 0x40
               for p in smpp_server.submitted)
    jan, marie = case_of(store, "D1"), case_of(store, "D2")
    assert [a.status for a in actions_of(store, jan) if a.channel == "sms"] == ["delivered"]
    [failed] = [a for a in actions_of(store, marie) if a.channel == "sms"]
    assert (failed.status, failed.outcome_on) == ("failed", SMS_NIGHT)
    [event] = events_of(store, marie, "delivery_failed")
    assert event.detail["ref"] == failed.idempotency_key and event.detail["state"] == "failed"
    statuses = sorted(d.status for d in all_deliveries(store) if d.channel == "sms")
    assert statuses == ["delivered", "failed"]

    again = dispatch_messages(store, workspace, SMS_NIGHT, channels=("sms",), now=WEEKDAY_MORNING, env=ENV)
    assert again.channel("sms").sent == 0 and len(smpp_server.submitted) == 4

    plan(store, workspace, date(2026, 10, 17))
    fallback = [a for a in actions_of(store, marie) if a.replaces == failed.idempotency_key]
    assert [(a.action, a.channel) for a in fallback] == [("send_pay_link", "email")]


def test_sms_over_an_http_gateway_are_polled_for_receipts(
        store: Store, tmp_path: Path, http_gateway: HttpGateway) -> None:
    http_gateway.state.undeliverable.add("+32475234567")
    workspace = _plan_sms_night(store, tmp_path / "ws", sms_transport=http_gateway.base_url)
    env = {**ENV, "DUNNING_SMS_TOKEN": http_gateway.state.token}

    result = dispatch_messages(store, workspace, SMS_NIGHT, channels=("sms",), now=WEEKDAY_MORNING, env=env)

    assert (result.channel("sms").sent, result.channel("sms").delivered, result.channel("sms").undelivered) == (2, 1, 1)
    assert all(post["_idempotency_key"] == post["client_ref"] for post in http_gateway.state.posts)
    marie = case_of(store, "D2")
    assert [a.status for a in actions_of(store, marie) if a.channel == "sms"] == ["failed"]
    # Polling again finds nothing new to change.
    again = dispatch_messages(store, workspace, SMS_NIGHT, channels=("sms",), now=WEEKDAY_MORNING, env=env)
    assert (again.channel("sms").delivered, again.channel("sms").undelivered) == (0, 0)
    assert len(http_gateway.state.posts) == 2


class _Killed(BaseException):
    """Stands for the process being killed right after the server accepted an SMS: nothing may catch it."""


class _KilledAfterFirstSms:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def send_batch(self, messages: list[Any]) -> list[Any]:
        self.inner.send_batch(messages)
        raise _Killed

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("gateway", ["http", "smpp"])
def test_a_crash_after_an_sms_was_accepted_resends_only_it_with_the_same_reference(
        store: Store, tmp_path: Path, gateway: str, request: pytest.FixtureRequest) -> None:
    if gateway == "http":
        server: Any = request.getfixturevalue("http_gateway")
        url, env = server.base_url, {**ENV, "DUNNING_SMS_TOKEN": server.state.token}
    else:
        server = request.getfixturevalue("smpp_server")
        url, env = f"smpp://dunning:secret@{server.host}:{server.port}", ENV
    workspace = _plan_sms_night(store, tmp_path / "ws", sms_transport=url)

    def received() -> list[str]:
        """Client reference (HTTP: also the Idempotency-Key) or destination of each request, in order."""
        if gateway == "http":
            return [f"{p['client_ref']}|{p['_idempotency_key']}" for p in server.state.posts]
        return [p.destination_addr for p in server.submitted]

    crashing = _KilledAfterFirstSms(open_sms_transport(url, env=env))
    with pytest.raises(_Killed):
        dispatch_messages(store, workspace, SMS_NIGHT, channels=("sms",), now=WEEKDAY_MORNING, env=env,
                          sms_transport=crashing)  # type: ignore[arg-type]
    crashing.close()
    first = received()
    # The one SMS in flight is 'sending'; the second, built in the same chunk, was never handed over: no row.
    [uncertain] = [d for d in all_deliveries(store) if d.channel == "sms"]
    assert uncertain.status == "sending"

    result = dispatch_messages(store, workspace, SMS_NIGHT, channels=("sms",), now=WEEKDAY_MORNING, env=env)

    assert (result.channel("sms").sent, result.channel("sms").recovered) == (2, 1)
    again = received()[len(first):]
    assert again[:len(first)] == first  # the same SMS again: same client reference / Idempotency-Key
    assert len(set(again)) == 2 and not set(again[len(first):]) & set(first)  # the other one, once
    refs = sorted(d.detail["client_ref"] for d in all_deliveries(store) if d.channel == "sms")
    assert uncertain.detail["client_ref"] in refs and len(set(refs)) == 2
    if gateway == "http":
        assert all(post["_idempotency_key"] == post["client_ref"] for post in server.state.posts)
