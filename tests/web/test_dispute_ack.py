"""The acknowledgement email of a dispute or question, sent at once through the workspace's email transport
(a real aiosmtpd on 127.0.0.1), on SQLite and PostgreSQL: in the language the debtor used the page in,
without the debtor's text; a refused address leaves the dispute standing and the timeline says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

import yaml
from sqlalchemy import select

from dunning.domain import paylink
from dunning.store import Store
from dunning.store.schema import deliveries
from dunning.usecases.cases.view import case_detail
from dunning.usecases.planning.tasks import list_tasks
from dunning.web.forms import csrf_token
from dunning.workspace import open_workspace
from tests.channels.conftest import SmtpServer, smtp_server
from tests.usecases.messaging.helpers import FIRST_NIGHT, case_of, events_of, make_workspace
from tests.web.helpers import page_client

__all__ = ["smtp_server"]  # the real aiosmtpd fixture of the channel tests

DAY = FIRST_NIGHT + timedelta(days=2)
NOW = datetime(2026, 10, 10, 9, 0, tzinfo=UTC)


def test_the_debtor_gets_an_acknowledgement_by_email_in_the_pages_language(
    store: Store, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    workspace = make_workspace(tmp_path / "ws", email_transport=f"smtp://{smtp_server.host}:{smtp_server.port}"
                               "?starttls=off&rate=1000")
    http, secrets = page_client(store, workspace, today=DAY, now=NOW)
    smtp_server.recorder.refuse["ann.smith@refused.example"] = "550 5.1.1 <ann.smith@refused.example>: no such user"

    def dispute(external_id: str, reason: str, lang: str) -> int:
        case_id = case_of(store, external_id)
        token = paylink.make_token(str(case_id), DAY + timedelta(days=30), secrets.paylink)
        data = {"csrf": csrf_token(secrets.paylink, token), "reason": reason, "text": "Mijn geheime uitleg",
                "lang": lang}
        assert http.post(f"/p/{token}/question", data=data).status_code == 303
        return case_id

    jan = dispute("D1", "already_paid", "fr")  # a Dutch speaker who used the page in French
    [mail] = smtp_server.recorder.messages
    assert mail.rcpt_tos == ["jan.peeters@example.be"]
    message = message_from_bytes(mail.content, policy=policy.default)
    assert str(message["Subject"]).startswith("Nous avons bien reçu votre message")
    assert message["Auto-Submitted"] == "auto-replied"
    text = message.get_content()
    assert "plus de rappel" in text and "2026-10-10" in text
    assert "geheime" not in text  # the debtor's words are not mailed back
    assert [e.kind for e in case_detail(store, str(jan)).timeline if e.kind.startswith(("dispute", "ack"))] == [
        "dispute_opened", "acknowledgement_sent"]

    ann = dispute("D4", "other", "en")  # the server refuses her address: the question stands all the same
    assert len(smtp_server.recorder.messages) == 1
    assert [e.kind for e in case_detail(store, str(ann)).timeline if e.kind.startswith(("dispute", "ack"))] == [
        "dispute_opened", "acknowledgement_failed"]
    assert [t.dispute for t in list_tasks(store, case_id=ann)] == ["other"]


#: a creditor name at the config's limit (70 characters), with accents, and a long sender display name
LONG_CREDITOR = "Vereniging van Mede-eigenaars Résidence Les Érables Sint-Lambrechts-W"
LONG_FROM = ("Dienst Debiteurenbeheer en Invordering van de Vereniging van Mede-eigenaars Résidence Les Érables "
             "<debiteurenbeheer.vme-les-erables@example.be>")


def test_a_long_acknowledgement_reaches_a_real_smtp_server_intact(
    store: Store, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    """Long names and a long dispute make a message of well over 1,000 bytes: it goes out with CRLF line
    endings and folded headers (aiosmtpd refuses a "line" over 1,000 bytes, as RFC 5321 allows), and what the
    server received parses back to the headers, Message-ID and words that were meant."""
    root = tmp_path / "ws"
    make_workspace(root, email_transport=f"smtp://{smtp_server.host}:{smtp_server.port}?starttls=off&rate=1000")
    config_path = root / "dunning.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["creditor"]["name"] = LONG_CREDITOR
    config["email"]["from"] = LONG_FROM
    config["email"]["reply_to"] = "Klantendienst Vereniging van Mede-eigenaars <klantendienst@example.be>"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    workspace = open_workspace(root, environ={})
    http, secrets = page_client(store, workspace, today=DAY, now=NOW)
    case_id = case_of(store, "D3")
    token = paylink.make_token(str(case_id), DAY + timedelta(days=30), secrets.paylink)
    words = ("Ich habe die Rechnung längst überwiesen, bitte prüfen Sie Ihre Kontoauszüge. " * 13)[:1000]
    data = {"csrf": csrf_token(secrets.paylink, token), "reason": "already_paid", "text": words, "lang": "de"}
    assert http.post(f"/p/{token}/question", data=data).status_code == 303

    [mail] = smtp_server.recorder.messages
    assert len(mail.content) > 1001  # longer than one line may be
    lines = mail.content.split(b"\r\n")
    assert all(b"\n" not in line and b"\r" not in line for line in lines)  # CRLF only, no bare LF
    assert max(len(line) for line in lines) <= 78  # folded headers, quoted-printable body
    message = message_from_bytes(mail.content, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert str(message["Subject"]) == f"Wir haben Ihre Nachricht erhalten ({LONG_CREDITOR}, Vorgang {case_id})"
    assert parseaddr(str(message["From"])) == parseaddr(LONG_FROM)
    assert str(message["Reply-To"]).endswith("<klantendienst@example.be>")
    assert str(message["To"]) == "hans.mueller@example.de"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["Content-Language"] == "de"
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert text.startswith("Vielen Dank für Ihre Nachricht vom 2026-10-10. Wir senden für den Vorgang "
                           f"{case_id} keine Mahnungen mehr, bis eine Person von {LONG_CREDITOR} sie geprüft")
    assert text.rstrip().endswith(LONG_CREDITOR)
    assert "Kontoauszüge" not in text  # the debtor's words are not mailed back
    assert not list(message.iter_attachments())
    [event] = events_of(store, case_id, "acknowledgement_sent")
    assert event.detail["message_id"] == message["Message-ID"] and event.detail["status"] == "sent"
    [task] = list_tasks(store, case_id=case_id)
    with store.begin() as conn:  # recorded as the night's dispatch records its messages
        [row] = conn.execute(select(deliveries).where(deliveries.c.idempotency_key == f"dispute:{task.id}:ack:email"))
    assert (row.status, row.attempts, row.channel, row.action_id) == ("sent", 1, "email", None)
    assert row.detail["message_id"] == message["Message-ID"] and row.detail["date"] == NOW.isoformat()
