"""The acknowledgement email of a dispute or question, sent at once through the workspace's email transport
(a real aiosmtpd on 127.0.0.1), on SQLite and PostgreSQL: in the language the debtor used the page in,
without the debtor's text; a refused address leaves the dispute standing and the timeline says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

from starlette.testclient import TestClient

from dunning.domain import paylink
from dunning.store import Store
from dunning.usecases.cases.view import case_detail
from dunning.usecases.outgoing.secrets import load_secrets
from dunning.usecases.paypage.claim import PayPageReader
from dunning.usecases.planning.tasks import list_tasks
from dunning.web.app import create_app
from dunning.web.forms import csrf_token
from tests.channels.conftest import SmtpServer, smtp_server
from tests.usecases.messaging.helpers import ENV, FIRST_NIGHT, case_of, import_and_plan, make_workspace

__all__ = ["smtp_server"]  # the real aiosmtpd fixture of the channel tests

DAY = FIRST_NIGHT + timedelta(days=2)
NOW = datetime(2026, 10, 10, 9, 0, tzinfo=UTC)


def test_the_debtor_gets_an_acknowledgement_by_email_in_the_pages_language(
    store: Store, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    workspace = make_workspace(tmp_path / "ws", email_transport=f"smtp://{smtp_server.host}:{smtp_server.port}"
                               "?starttls=off&rate=1000")
    import_and_plan(store, workspace)
    secrets = load_secrets(workspace, env=ENV)
    app = create_app(workspace, store, reader=PayPageReader(store, workspace, secrets), today=lambda: DAY,
                     now=lambda: NOW)
    http = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
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
