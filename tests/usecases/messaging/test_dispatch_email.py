"""Email dispatch end to end: store (SQLite and PostgreSQL) → real aiosmtpd, exactly once, fallbacks."""

from __future__ import annotations

from datetime import date
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import select, update

from dunning.adapters.smtp import FileEmailTransport, SmtpTransport
from dunning.channels.email import OutgoingEmail
from dunning.store import Store
from dunning.store.schema import actions, cases
from dunning.usecases.cases.view import case_detail
from dunning.usecases.messaging.dispatch import dispatch_messages
from dunning.usecases.messaging.feedback import check_pay_link
from dunning.usecases.outgoing.secrets import load_secrets
from tests.channels.conftest import SmtpServer
from tests.usecases.messaging.helpers import (
    DEBTORS,
    ENV,
    FIRST_NIGHT,
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

SUBJECT_WORDS = {"nl": "Herinnering", "fr": "Rappel", "de": "Zahlungserinnerung", "en": "Reminder"}


class Crash(BaseException):
    """Stands for the process being killed: nothing in dispatch may catch it."""


class CrashAfterSend:
    """Sends through a real transport; dies right after message number ``after`` went, before it is recorded."""

    def __init__(self, inner: FileEmailTransport | SmtpTransport, after: int = 1) -> None:
        self.inner = inner
        self.after = after
        self.handed_over = 0

    def send_batch(self, messages: list[OutgoingEmail]) -> list[object]:
        results = self.inner.send_batch(messages)
        self.handed_over += len(messages)
        if self.handed_over >= self.after:
            raise Crash
        return list(results)

    def close(self) -> None:
        self.inner.close()


def _smtp(server: SmtpServer) -> str:
    return f"smtp://{server.host}:{server.port}?starttls=off&rate=1000"


def _received_by(server: SmtpServer) -> dict[str, bytes]:
    return {message.rcpt_tos[0]: message.content for message in server.recorder.messages}


def test_emails_arrive_over_smtp_in_the_debtors_language_with_a_pay_link_once(
        store: Store, tmp_path: Path, smtp_server: SmtpServer) -> None:
    workspace = make_workspace(tmp_path / "ws", email_transport=_smtp(smtp_server))
    planned = import_and_plan(store, workspace)
    assert planned.by_channel.get("email") == 4
    smtp_server.recorder.refuse["ann.smith@refused.example"] = "550 5.1.1 <ann.smith@refused.example>: no such user"

    result = dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=WEEKDAY_MORNING, env=ENV)

    email = result.channel("email")
    assert (email.due, email.sent, email.failed, email.deferred, email.errors) == (4, 3, 1, 0, 0)
    received = _received_by(smtp_server)
    assert sorted(received) == ["hans.mueller@example.de", "jan.peeters@example.be", "marie.dubois@example.be"]
    secret = load_secrets(workspace, ENV).paylink
    for ext, (_name, language, address, _phone, amount) in DEBTORS.items():
        if address not in received:
            continue
        message = message_from_bytes(received[address], policy=policy.default)
        assert message["Content-Language"] == language
        assert SUBJECT_WORDS[language] in str(message["Subject"])
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        link = next(word for word in text.split() if word.startswith("https://pay.example.com/p/"))
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert f'href="{link}"' in html
        check = check_pay_link(link, secret, FIRST_NIGHT)
        assert (check.status, check.case_id) == ("valid", str(case_of(store, ext)))
        assert amount.replace(".", ",") in text or amount in text
        assert "+++" in text  # the Belgian structured payment reference
    # Bounces come back to a per-message VERP address of the From domain.
    assert all(m.mail_from.startswith("bounces+a") and m.mail_from.endswith("@brabant-energie.example")
               for m in smtp_server.recorder.messages)

    sent_case = case_of(store, "D1")
    assert [a.status for a in actions_of(store, sent_case) if a.channel == "email"] == ["sent"]
    [event] = events_of(store, sent_case, "message_sent")
    assert event.detail["channel"] == "email" and event.detail["template"] == "reminder"
    assert event.detail["message_id"].startswith("<a")
    assert any(entry.what == "email sent (reminder)" for entry in case_detail(store, str(sent_case)).timeline)
    assert all(d.status in ("sent", "failed") for d in all_deliveries(store))

    # The 550 at RCPT: the action failed, the address is marked invalid, and the next night writes a letter.
    refused_case = case_of(store, "D4")
    [failed] = [a for a in actions_of(store, refused_case) if a.channel == "email"]
    assert (failed.status, failed.outcome_on) == ("failed", FIRST_NIGHT)
    assert events_of(store, refused_case, "delivery_failed")[0].detail["ref"] == failed.idempotency_key
    assert debtor_email_invalid(store, "D4")
    assert any("550" in p for p in result.problems) and not any("@" in p for p in result.problems)

    again = dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=WEEKDAY_MORNING, env=ENV)
    assert again.channel("email").due == 0
    assert len(smtp_server.recorder.messages) == 3

    # The default flow keeps two nights between contacts (the failed email counts), so the letter is on the 10th.
    plan(store, workspace, date(2026, 10, 10))
    fallback = [a for a in actions_of(store, refused_case) if a.replaces == failed.idempotency_key]
    assert [(a.action, a.channel, a.status) for a in fallback] == [("send_letter", "letter", "planned")]
    assert not [a for a in actions_of(store, sent_case) if a.replaces]


def test_a_crash_after_writing_files_ends_with_exactly_one_file_per_message(store: Store, tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    import_and_plan(store, workspace)
    outbox = workspace.root / "output" / "mail"

    crashing = CrashAfterSend(FileEmailTransport(outbox), after=3)
    with pytest.raises(Crash):
        dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=WEEKDAY_MORNING, env=ENV,
                          email_transport=crashing)  # type: ignore[arg-type]
    # Only the message in flight is uncertain: the two before it are recorded sent, the fourth,
    # built in the same chunk but never handed over, has no delivery row at all.
    assert [d.status for d in all_deliveries(store)] == ["sent", "sent", "sending"]
    written = {p.name: p.read_bytes() for p in outbox.glob("*.eml")}
    assert len(written) == 3

    # An hour later, through the configured file transport: nothing is written twice, all is recorded.
    later = WEEKDAY_MORNING.replace(hour=11)
    result = dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=later, env=ENV)
    summary = result.channel("email")
    assert (summary.due, summary.sent, summary.recovered) == (2, 2, 1)
    after = {p.name: p.read_bytes() for p in outbox.glob("*.eml")}
    assert len(after) == 4 and all(after[name] == content for name, content in written.items())
    assert [(d.status, d.attempts) for d in all_deliveries(store)] == [("sent", 1), ("sent", 1), ("sent", 2),
                                                                        ("sent", 1)]
    for ext in DEBTORS:
        assert len(events_of(store, case_of(store, ext), "message_sent")) == 1


def test_a_crash_after_smtp_accepted_resends_the_identical_message(
        store: Store, tmp_path: Path, smtp_server: SmtpServer) -> None:
    workspace = make_workspace(tmp_path / "ws", email_transport=_smtp(smtp_server))
    import_and_plan(store, workspace)
    crashing = CrashAfterSend(SmtpTransport(smtp_server.host, smtp_server.port, security="off"), after=2)
    with pytest.raises(Crash):
        dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=WEEKDAY_MORNING, env=ENV,
                          email_transport=crashing)  # type: ignore[arg-type]
    crashing.close()
    first = [m.content for m in smtp_server.recorder.messages]
    assert len(first) == 2
    assert [d.status for d in all_deliveries(store)] == ["sent", "sending"]

    later = WEEKDAY_MORNING.replace(hour=11)
    result = dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=later, env=ENV)
    assert (result.channel("email").sent, result.channel("email").recovered) == (3, 1)
    again = [m.content for m in smtp_server.recorder.messages[2:]]
    # SMTP cannot ask whether the first copy arrived: the one message in flight goes again with the
    # same bytes (same Message-ID and Date), which receiving systems treat as one message; the
    # store records one sent message each. Nothing else is sent twice.
    assert again[0] == first[1]
    ids = [message_from_bytes(c, policy=policy.default)["Message-ID"] for c in first + again[1:]]
    assert len(set(ids)) == 4
    assert sum(len(events_of(store, case_of(store, ext), "message_sent")) for ext in DEBTORS) == 4
    assert dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=later,
                             env=ENV).channel("email").due == 0
    assert len(smtp_server.recorder.messages) == 5


def test_a_transient_refusal_is_retried_by_the_next_dispatch(
        store: Store, tmp_path: Path, smtp_server: SmtpServer) -> None:
    workspace = make_workspace(tmp_path / "ws", email_transport=_smtp(smtp_server))
    import_and_plan(store, workspace)
    smtp_server.recorder.temporary_failures["jan.peeters@example.be"] = 1
    no_retry = SmtpTransport(smtp_server.host, smtp_server.port, security="off", max_attempts=1)
    try:
        first = dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=WEEKDAY_MORNING,
                                  env=ENV, email_transport=no_retry)
    finally:
        no_retry.close()
    assert (first.channel("email").sent, first.channel("email").deferred) == (3, 1)
    jan = case_of(store, "D1")
    [action] = [a for a in actions_of(store, jan) if a.channel == "email"]
    assert action.status == "planned"
    [deferred] = [d for d in all_deliveries(store) if d.status == "deferred"]
    assert deferred.attempts == 1 and "451" in deferred.detail["error"]

    second = dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=WEEKDAY_MORNING, env=ENV)
    assert (second.channel("email").due, second.channel("email").sent) == (1, 1)
    assert [a.status for a in actions_of(store, jan) if a.channel == "email"] == ["sent"]
    assert [d.attempts for d in all_deliveries(store) if d.id == deferred.id] == [2]
    assert [m.rcpt_tos[0] for m in smtp_server.recorder.messages].count("jan.peeters@example.be") == 1


def test_guards_closed_case_on_hold_missing_contact_and_missing_template(store: Store, tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    import_and_plan(store, workspace)
    closed, held, no_email, no_template = (case_of(store, ext) for ext in ("D1", "D2", "D3", "D4"))
    with store.begin() as conn:
        conn.execute(update(cases).where(cases.c.id == closed).values(status="closed"))
        conn.execute(update(cases).where(cases.c.id == held).values(status="on_hold"))
        conn.execute(update(actions).where(actions.c.case_id == no_template, actions.c.channel == "email")
                     .values(action="account_statement", settings={"template": "statement", "channel": "email"}))
        from dunning.store.schema import debtors
        conn.execute(update(debtors).where(debtors.c.external_id == "D3").values(email=None))

    result = dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=WEEKDAY_MORNING, env=ENV)

    summary = result.channel("email")
    assert (summary.sent, summary.cancelled, summary.deferred, summary.failed, summary.errors) == (0, 1, 1, 1, 1)
    status = {case: next(a.status for a in actions_of(store, case) if a.channel == "email")
              for case in (closed, held, no_email, no_template)}
    assert status == {closed: "cancelled", held: "planned", no_email: "failed", no_template: "planned"}
    assert any("no email template for action account_statement" in p for p in result.problems)
    assert not list((workspace.root / "output" / "mail").glob("*.eml"))


def test_missing_pay_link_secret_is_a_config_error_naming_the_variable(store: Store, tmp_path: Path) -> None:
    from dunning.errors import ConfigError

    workspace = make_workspace(tmp_path / "ws")
    with pytest.raises(ConfigError, match=r"DUNNING_PAYLINK_SECRET"):
        dispatch_messages(store, workspace, FIRST_NIGHT, now=WEEKDAY_MORNING, env={})
    with store.begin() as conn:
        assert conn.execute(select(actions.c.id)).first() is None


def test_repeated_transient_failures_end_as_a_failure_with_a_fallback(
        store: Store, tmp_path: Path, smtp_server: SmtpServer) -> None:
    workspace = make_workspace(tmp_path / "ws", email_transport=_smtp(smtp_server))
    import_and_plan(store, workspace)
    smtp_server.recorder.temporary_failures["jan.peeters@example.be"] = 99
    no_retry = SmtpTransport(smtp_server.host, smtp_server.port, security="off", max_attempts=1)
    try:
        for _night in range(2):
            dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=WEEKDAY_MORNING, env=ENV,
                              email_transport=no_retry, max_attempts=2)
        last = dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=WEEKDAY_MORNING, env=ENV,
                                 email_transport=no_retry, max_attempts=2)
    finally:
        no_retry.close()
    assert (last.channel("email").due, last.channel("email").failed) == (1, 1)
    assert any("gave up after 2 attempts" in p and "451" in p for p in last.problems)
    jan = case_of(store, "D1")
    [email] = [a for a in actions_of(store, jan) if a.channel == "email"]
    assert email.status == "failed"
    assert smtp_server.recorder.rcpt_attempts["jan.peeters@example.be"] == 2
    assert not debtor_email_invalid(store, "D1")  # a full mailbox or greylisting says nothing about the address
    plan(store, workspace, date(2026, 10, 10))
    assert [a.action for a in actions_of(store, jan) if a.replaces == email.idempotency_key] == ["send_letter"]


def test_the_letter_pdf_of_the_action_is_attached(store: Store, tmp_path: Path) -> None:
    from dunning.store.schema import documents

    workspace = make_workspace(tmp_path / "ws")
    import_and_plan(store, workspace)
    jan = case_of(store, "D1")
    [email_action] = [a for a in actions_of(store, jan) if a.channel == "email"]
    pdf = workspace.root / "output" / "letters" / "reminder-1.pdf"
    pdf.parent.mkdir(parents=True)
    pdf.write_bytes(b"%PDF-1.7\n%%EOF\n")
    with store.begin() as conn:
        conn.execute(documents.insert().values(action_id=email_action.id, kind="letter",
                                               path="output/letters/reminder-1.pdf", sha256="0" * 64, pages=1,
                                               recorded_at=WEEKDAY_MORNING))

    dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=WEEKDAY_MORNING, env=ENV)

    attached = []
    for path in (workspace.root / "output" / "mail").glob("*.eml"):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        for part in message.iter_attachments():
            attached.append((str(message["To"]), part.get_filename(), part.get_content_type(), part.get_content()))
    assert attached == [("Jan Peeters <jan.peeters@example.be>", "reminder-1.pdf", "application/pdf",
                         b"%PDF-1.7\n%%EOF\n")]


def test_progress_is_reported_as_messages_go(store: Store, tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    import_and_plan(store, workspace)
    with store.begin() as conn:  # one of the four is settled without sending (its case closed)
        conn.execute(update(cases).where(cases.c.id == case_of(store, "D2")).values(status="closed"))
    calls: list[tuple[int, int]] = []
    written_when_called: list[int] = []
    outbox = workspace.root / "output" / "mail"

    def report(done: int, total: int) -> None:
        calls.append((done, total))
        written_when_called.append(len(list(outbox.glob("*.eml"))) if outbox.exists() else 0)

    result = dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=WEEKDAY_MORNING, env=ENV,
                               progress=report)

    assert (result.channel("email").sent, result.channel("email").cancelled) == (3, 1)
    # Called before anything, for the closed case, then once per message right after it went.
    assert calls == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    assert written_when_called == [0, 0, 1, 2, 3]


def test_a_message_left_uncertain_keeps_its_bytes_through_a_later_deferral(
        store: Store, tmp_path: Path, smtp_server: SmtpServer) -> None:
    workspace = make_workspace(tmp_path / "ws", email_transport=_smtp(smtp_server))
    import_and_plan(store, workspace)
    crashing = CrashAfterSend(SmtpTransport(smtp_server.host, smtp_server.port, security="off"), after=1)
    with pytest.raises(Crash):
        dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=WEEKDAY_MORNING, env=ENV,
                          email_transport=crashing)  # type: ignore[arg-type]
    crashing.close()
    [original] = smtp_server.recorder.messages
    recipient = original.rcpt_tos[0]

    # An hour later its re-send meets a greylisting server: deferred; the other three go.
    smtp_server.recorder.temporary_failures[recipient] = 1
    no_retry = SmtpTransport(smtp_server.host, smtp_server.port, security="off", max_attempts=1)
    try:
        second = dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",),
                                   now=WEEKDAY_MORNING.replace(hour=11), env=ENV, email_transport=no_retry)
    finally:
        no_retry.close()
    assert (second.channel("email").sent, second.channel("email").deferred) == (3, 1)

    # The next day's dispatch sends it again with the bytes of the copy that may be out there already.
    third = dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",),
                              now=WEEKDAY_MORNING.replace(day=16), env=ENV)
    assert third.channel("email").sent == 1
    assert smtp_server.recorder.messages[-1].content == original.content
    assert [m.rcpt_tos[0] for m in smtp_server.recorder.messages].count(recipient) == 2
