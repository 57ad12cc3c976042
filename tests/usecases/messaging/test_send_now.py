"""An email sent at once (the pay page's acknowledgements, plan terms, one-time codes), through a real aiosmtpd on
127.0.0.1, on SQLite and PostgreSQL: a long message arrives whole and parses back to what was meant; its delivery
row is ``sending`` before the server has it and ``sent`` after, with the caller's record in the same transaction;
a key is sent once, a crash in flight sends the very same bytes again, a refusal is recorded as failed."""

from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import dkim
import yaml
from sqlalchemy import Connection, select

from dunning.store import Store
from dunning.store.cases import insert_case_event
from dunning.store.schema import deliveries
from dunning.usecases.messaging.send_now import SentNow, send_email_now
from dunning.workspace import Workspace, open_workspace
from tests.channels.channel_helpers import dkim_test_key, dnsfunc_for
from tests.channels.conftest import SmtpServer
from tests.usecases.messaging.helpers import ENV, case_of, events_of, import_and_plan, make_workspace
from tests.usecases.messaging.send_now_child import EMAIL, LONG_TEXT, NOW, PDF

REPO = Path(__file__).resolve().parents[3]


def _workspace(tmp_path: Path, smtp_server: SmtpServer) -> Workspace:
    return make_workspace(tmp_path / "ws", email_transport=f"smtp://{smtp_server.host}:{smtp_server.port}"
                          "?starttls=off&rate=1000")


def _rows(store: Store) -> list[Any]:
    with store.begin() as conn:
        return list(conn.execute(select(deliveries).order_by(deliveries.c.id)))


def test_a_long_email_with_a_pdf_arrives_whole_and_is_recorded_sent_with_the_callers_event(
    store: Store, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    workspace = _workspace(tmp_path, smtp_server)
    import_and_plan(store, workspace)
    case_id = case_of(store, "D3")
    before = len(_rows(store))
    seen: list[str] = []

    def record(conn: Connection, sent: SentNow) -> None:
        [row] = conn.execute(select(deliveries).where(deliveries.c.idempotency_key == EMAIL.key))
        seen.append(row.status)  # the same transaction: the row is already sent
        insert_case_event(conn, case_id=case_id, on_date=NOW.date(), kind=f"test_{sent.outcome}",
                          detail={"message_id": sent.message_id}, source="test", recorded_at=NOW)

    sent = send_email_now(store, workspace, EMAIL, now=NOW, env=ENV, on_result=record)

    assert sent.ok and not sent.already and seen == ["sent"]
    [mail] = smtp_server.recorder.messages
    assert mail.rcpt_tos == ["hans.mueller@example.de"] and mail.mail_from == parseaddr(workspace.config.email.from_)[1]
    lines = mail.content.split(b"\r\n")
    assert len(mail.content) > 10_000 and all(b"\n" not in line and b"\r" not in line for line in lines)
    assert max(len(line) for line in lines) <= 78
    message = message_from_bytes(mail.content, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert str(message["Subject"]) == EMAIL.subject
    assert message["Message-ID"] == sent.message_id and message["Auto-Submitted"] == "auto-replied"
    assert message["Content-Language"] == "de"
    assert message["Date"].datetime == NOW
    body = message.get_body(("plain",))
    assert body is not None and body.get_content().replace("\r\n", "\n") == LONG_TEXT  # CRLF on the wire
    [attachment] = message.iter_attachments()
    assert isinstance(attachment, EmailMessage)
    assert attachment.get_filename() == "P-3-1-terms.pdf" and attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == PDF

    [row] = _rows(store)[before:]
    assert (row.idempotency_key, row.status, row.attempts, row.action_id, row.channel) == (
        EMAIL.key, "sent", 1, None, "email")
    assert row.detail["message_id"] == sent.message_id and row.detail["date"] == NOW.isoformat()
    assert [e.detail["message_id"] for e in events_of(store, case_id, "test_sent")] == [sent.message_id]

    again = send_email_now(store, workspace, EMAIL, now=NOW, env=ENV, on_result=record)  # the same key
    assert again.already and again.ok and again.message_id == sent.message_id
    assert len(smtp_server.recorder.messages) == 1 and len(seen) == 1


def test_a_crash_in_flight_leaves_one_row_sending_and_the_next_call_sends_the_same_bytes(
    store: Store, store_url: str, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    workspace = _workspace(tmp_path, smtp_server)
    child = subprocess.run([sys.executable, "-m", "tests.usecases.messaging.send_now_child", store_url,
                            str(workspace.root)], cwd=REPO, capture_output=True, timeout=120, check=False)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    [first] = smtp_server.recorder.messages
    [row] = _rows(store)
    assert (row.status, row.attempts) == ("sending", 1)  # it went out, but nobody knows
    message_id = row.detail["message_id"]
    assert message_from_bytes(first.content, policy=policy.default)["Message-ID"] == message_id

    sent = send_email_now(store, workspace, EMAIL, now=NOW.replace(hour=11), env=ENV)  # two hours later

    assert sent.ok and sent.message_id == message_id
    [_, second] = smtp_server.recorder.messages
    assert second.content == first.content  # the same Message-ID, Date and bytes: receivers drop the duplicate
    [row] = _rows(store)
    assert (row.status, row.attempts, row.detail["resent_after_crash"]) == ("sent", 2, True)


def test_a_refused_address_is_recorded_failed_without_the_address(
    store: Store, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    workspace = _workspace(tmp_path, smtp_server)
    smtp_server.recorder.refuse["ann.smith@refused.example"] = "550 5.1.1 <ann.smith@refused.example>: no such user"
    email = replace(EMAIL, key="test:2:email", to="ann.smith@refused.example")

    sent = send_email_now(store, workspace, email, now=NOW, env=ENV)

    assert (sent.outcome, sent.status) == ("failed", "permanent_failure")
    assert "ann.smith" not in sent.detail and "550" in sent.detail
    assert not smtp_server.recorder.messages
    [row] = _rows(store)
    assert (row.status, row.attempts, row.detail["error"]) == ("failed", 1, "permanent_failure")
    assert "ann.smith" not in str(row.detail)

    del smtp_server.recorder.refuse["ann.smith@refused.example"]  # the same key again: it surely did not go,
    again = send_email_now(store, workspace, email, now=NOW.replace(hour=10), env=ENV)  # so it is new now
    assert again.ok and again.message_id != sent.message_id
    [mail] = smtp_server.recorder.messages
    assert message_from_bytes(mail.content, policy=policy.default)["Message-ID"] == again.message_id
    [row] = _rows(store)
    assert (row.status, row.attempts, row.detail["date"]) == ("sent", 2, NOW.replace(hour=10).isoformat())
    smtp_server.recorder.messages.clear()

    bad = send_email_now(store, workspace, replace(EMAIL, key="test:3:email", to="not an address"), now=NOW, env=ENV)
    assert (bad.outcome, bad.status) == ("failed", "PermanentDeliveryError")
    assert [r.status for r in _rows(store)] == ["sent", "failed"] and not smtp_server.recorder.messages


def test_the_message_is_dkim_signed_with_the_workspaces_key_when_one_is_set(
    store: Store, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    root = _workspace(tmp_path, smtp_server).root
    domain = parseaddr(open_workspace(root, environ={}).config.email.from_)[1].rpartition("@")[2]
    key, record = dkim_test_key("paypage2026", domain)
    (root / "secrets" / "dkim.pem").write_bytes(key.private_key)
    config_path = root / "dunning.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["email"].update({"dkim_key": "secrets/dkim.pem", "dkim_selector": "paypage2026"})
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")

    sent = send_email_now(store, open_workspace(root, environ={}), EMAIL, now=NOW, env=ENV)

    assert sent.ok
    [mail] = smtp_server.recorder.messages
    assert mail.content.startswith(b"DKIM-Signature:")
    assert dkim.verify(mail.content, dnsfunc=dnsfunc_for("paypage2026", domain, record))
    tampered = mail.content.replace(b"Zahlungsvereinbarung", b"Zahlungsverweigerung")
    assert tampered != mail.content
    assert not dkim.verify(tampered, dnsfunc=dnsfunc_for("paypage2026", domain, record))
