"""Email transports against a real SMTP server (aiosmtpd on 127.0.0.1) and the .eml folder."""

from __future__ import annotations

from dataclasses import replace
from email import message_from_bytes, policy
from pathlib import Path

import dkim
import pytest

from dunning.adapters.smtp import FileEmailTransport, SmtpTransport, open_email_transport
from dunning.channels.email import OutgoingEmail, build_email
from dunning.channels.tokens import read_verp
from dunning.errors import ConfigError, PermanentDeliveryError, TransientDeliveryError
from dunning.ports import DeliveryStatus, RateLimiter
from tests.channels.channel_helpers import (
    BRAND,
    SECRET,
    SENT_AT,
    SETTINGS,
    dkim_test_key,
    dnsfunc_for,
    email_data,
    with_pdf,
)
from tests.channels.conftest import SmtpServer, TlsFiles


def _emails(*specs: tuple[str, str]) -> list[OutgoingEmail]:
    return [build_email(email_data(action, to=to), BRAND, SETTINGS, sent_at=SENT_AT) for action, to in specs]


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_batch_over_one_connection_with_a_550_in_the_middle(smtp_server: SmtpServer) -> None:
    smtp_server.recorder.refuse["gone@example.org"] = "550 5.1.1 <gone@example.org>: mailbox unavailable"
    key, record = dkim_test_key()
    messages = [
        build_email(with_pdf(email_data("A1", to="erika@example.org")), BRAND, replace(SETTINGS, dkim=key),
                    sent_at=SENT_AT),
        *_emails(("A2", "gone@example.org"), ("A3", "jan@example.be")),
    ]
    transport = open_email_transport(f"smtp://127.0.0.1:{smtp_server.port}", env={})
    assert isinstance(transport, SmtpTransport)
    with transport:
        results = transport.send_batch(messages)

    assert [r.status for r in results] == [DeliveryStatus.SENT, DeliveryStatus.PERMANENT_FAILURE,
                                           DeliveryStatus.SENT]
    refused = results[1]
    assert refused.code == 550 and "5.1.1" in refused.detail and refused.attempts == 1
    assert isinstance(refused.error(), PermanentDeliveryError)
    assert transport.connections_opened == 1

    received = smtp_server.recorder.messages
    assert [m.rcpt_tos for m in received] == [["erika@example.org"], ["jan@example.be"]]
    first = received[0]
    # Envelope sender is the VERP address that names the action.
    assert read_verp(first.mail_from, SECRET) == "A1"
    parsed = message_from_bytes(first.content, policy=policy.default)
    assert parsed["Message-ID"] == messages[0].message_id
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed.get_content_type() == "multipart/mixed"
    assert [p.get_content_type() for p in parsed.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html", "application/pdf"]
    assert "https://pay.stadtwerke.example/p/A1x8fK2" in parsed.get_body(("plain",)).get_content()
    # The DKIM signature still verifies on the bytes the server received.
    assert dkim.verify(first.content, dnsfunc=dnsfunc_for(key.selector, key.domain, record))


def test_4xx_is_retried_with_backoff_then_succeeds(smtp_server: SmtpServer) -> None:
    smtp_server.recorder.temporary_failures["grey@example.org"] = 2
    sleeps = Sleeps()
    transport = SmtpTransport("127.0.0.1", smtp_server.port, security="off", max_attempts=3, backoff=0.5,
                              sleep=sleeps)
    with transport:
        results = transport.send_batch(_emails(("A1", "grey@example.org"), ("A2", "jan@example.be")))
    assert [r.status for r in results] == [DeliveryStatus.SENT, DeliveryStatus.SENT]
    assert results[0].attempts == 3
    assert sleeps == [0.5, 1.0]
    assert smtp_server.recorder.rcpt_attempts["grey@example.org"] == 3
    assert len(smtp_server.recorder.messages) == 2


def test_5xx_after_data_is_permanent_too(smtp_server: SmtpServer) -> None:
    smtp_server.recorder.reject_data["spam@example.org"] = "554 5.7.1 Message rejected as spam"
    transport = SmtpTransport("127.0.0.1", smtp_server.port, security="off", sleep=Sleeps())
    with transport:
        results = transport.send_batch(_emails(("A1", "spam@example.org"), ("A2", "jan@example.be")))
    assert results[0].status is DeliveryStatus.PERMANENT_FAILURE and results[0].code == 554
    assert "5.7.1" in results[0].detail
    assert results[1].ok and len(smtp_server.recorder.messages) == 1


def test_a_dropped_connection_is_reopened_and_the_message_retried(smtp_server: SmtpServer) -> None:
    smtp_server.recorder.closing_once.add("jan@example.be")
    sleeps = Sleeps()
    transport = SmtpTransport("127.0.0.1", smtp_server.port, security="off", sleep=sleeps)
    with transport:
        results = transport.send_batch(_emails(("A1", "erika@example.org"), ("A2", "jan@example.be"),
                                               ("A3", "piet@example.nl")))
    assert all(r.ok for r in results)
    assert results[1].attempts == 2 and len(sleeps) == 1
    assert transport.connections_opened == 2
    assert [m.rcpt_tos for m in smtp_server.recorder.messages] == [
        ["erika@example.org"], ["jan@example.be"], ["piet@example.nl"]]


def test_4xx_that_persists_becomes_a_transient_failure(smtp_server: SmtpServer) -> None:
    smtp_server.recorder.temporary_failures["grey@example.org"] = 99
    transport = SmtpTransport("127.0.0.1", smtp_server.port, security="off", max_attempts=2, sleep=Sleeps())
    with transport:
        results = transport.send_batch(_emails(("A1", "grey@example.org"), ("A2", "jan@example.be")))
    assert results[0].status is DeliveryStatus.TRANSIENT_FAILURE
    assert results[0].code == 451 and results[0].attempts == 2
    assert isinstance(results[0].error(), TransientDeliveryError)
    assert results[1].status is DeliveryStatus.SENT


def test_starttls_and_auth_with_credentials_from_the_environment(starttls_server: SmtpServer,
                                                                 tls_files: TlsFiles) -> None:
    env = {"DUNNING_SMTP_USERNAME": "dunning", "DUNNING_SMTP_PASSWORD": "s3cret"}
    transport = open_email_transport(f"smtp://127.0.0.1:{starttls_server.port}?starttls=required", env=env,
                                     ssl_context=tls_files.client_context())
    with transport:
        results = transport.send_batch(_emails(("A1", "erika@example.org"), ("A2", "jan@example.be")))
    assert all(r.ok for r in results)
    assert isinstance(transport, SmtpTransport) and transport.encrypted
    assert [(m.tls, m.login) for m in starttls_server.recorder.messages] == [(True, "dunning"), (True, "dunning")]


def test_wrong_password_fails_the_batch_transiently_without_hammering(starttls_server: SmtpServer,
                                                                      tls_files: TlsFiles) -> None:
    env = {"DUNNING_SMTP_USERNAME": "dunning", "DUNNING_SMTP_PASSWORD": "wrong"}
    transport = open_email_transport(f"smtp://127.0.0.1:{starttls_server.port}", env=env,
                                     ssl_context=tls_files.client_context())
    with transport:
        results = transport.send_batch(_emails(("A1", "erika@example.org"), ("A2", "jan@example.be")))
    assert [r.status for r in results] == [DeliveryStatus.TRANSIENT_FAILURE] * 2
    assert "AUTH rejected" in results[0].detail and results[1].attempts == 0
    assert starttls_server.recorder.messages == []


def test_after_a_connection_failure_later_messages_handed_over_one_by_one_are_not_tried(
        starttls_server: SmtpServer, tls_files: TlsFiles) -> None:
    """Dispatch hands messages over one at a time: the stop must hold across calls, until close."""
    env = {"DUNNING_SMTP_USERNAME": "dunning", "DUNNING_SMTP_PASSWORD": "wrong"}
    transport = open_email_transport(f"smtp://127.0.0.1:{starttls_server.port}", env=env,
                                     ssl_context=tls_files.client_context())
    attempts: list[int] = []
    connect = transport._connect  # type: ignore[attr-defined]

    def counting_connect() -> object:
        attempts.append(1)
        return connect()

    transport._connect = counting_connect  # type: ignore[attr-defined]
    first = transport.send_batch(_emails(("A1", "erika@example.org")))
    later = [transport.send_batch(_emails((f"A{n}", "jan@example.be")))[0] for n in range(2, 6)]
    assert "AUTH rejected" in first[0].detail and len(attempts) == 1  # one AUTH, not five
    assert all(r.status is DeliveryStatus.TRANSIENT_FAILURE and r.attempts == 0 for r in later)
    transport.close()
    again = transport.send_batch(_emails(("A6", "jan@example.be")))  # a new dispatch tries again
    assert "AUTH rejected" in again[0].detail and len(attempts) == 2


def test_an_untrusted_certificate_is_refused(starttls_server: SmtpServer) -> None:
    transport = SmtpTransport("127.0.0.1", starttls_server.port, security="starttls-required", sleep=Sleeps())
    with transport:
        results = transport.send_batch(_emails(("A1", "erika@example.org")))
    assert results[0].status is DeliveryStatus.TRANSIENT_FAILURE
    assert "TLS" in results[0].detail
    assert starttls_server.recorder.messages == []


def test_starttls_required_but_not_offered(smtp_server: SmtpServer) -> None:
    transport = open_email_transport(f"smtp://127.0.0.1:{smtp_server.port}?starttls=required", env={})
    with transport:
        results = transport.send_batch(_emails(("A1", "erika@example.org")))
    assert "does not offer STARTTLS" in results[0].detail
    assert smtp_server.recorder.messages == []


def test_smtps(smtps_server: SmtpServer, tls_files: TlsFiles) -> None:
    transport = open_email_transport(f"smtps://127.0.0.1:{smtps_server.port}", env={},
                                     ssl_context=tls_files.client_context())
    with transport:
        results = transport.send_batch(_emails(("A1", "erika@example.org")))
    assert results[0].ok
    assert smtps_server.recorder.messages[0].tls


def test_file_transport_writes_eml_once(tmp_path: Path) -> None:
    transport = open_email_transport(f"file://{tmp_path}/out", env={})
    assert isinstance(transport, FileEmailTransport)
    messages = _emails(("A1", "erika@example.org"), ("A2", "jan@example.be"))
    first = transport.send_batch(messages)
    again = transport.send_batch(messages)
    files = sorted((tmp_path / "out").glob("*.eml"))
    assert len(files) == 2 and all(r.ok for r in first + again)
    assert "already written" in again[0].detail
    parsed = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert parsed["Return-Path"].startswith("<bounces+A1.")
    assert parsed["Message-ID"] == messages[0].message_id


def test_rate_limit_spaces_messages() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    limiter = RateLimiter(4, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        limiter.wait()
    assert slept == [0.25, 0.25, 0.25, 0.25]


def test_rate_from_url_and_bad_urls(smtp_server: SmtpServer) -> None:
    sleeps = Sleeps()
    transport = open_email_transport(f"smtp://127.0.0.1:{smtp_server.port}?rate=2", env={}, sleep=sleeps)
    with transport:
        results = transport.send_batch(_emails(("A1", "a@example.org"), ("A2", "b@example.org"),
                                               ("A3", "c@example.org")))
    assert all(r.ok for r in results)
    # 2 per second: the 2nd message waits up to 0.5 s; the injected sleep does not pass time,
    # so the 3rd waits for its own slot on top (up to 1.0 s).
    assert len(sleeps) == 2 and 0 < sleeps[0] <= 0.5 < sleeps[1] <= 1.0
    with pytest.raises(ConfigError, match="DUNNING_SMTP_PASSWORD"):
        open_email_transport("smtp://user:pw@mail.example:587", env={})
    with pytest.raises(ConfigError, match="needs \\$DUNNING_SMTP_PASSWORD"):
        open_email_transport("smtp://user@mail.example:587", env={})
    with pytest.raises(ConfigError, match="scheme"):
        open_email_transport("ftp://mail.example", env={})
    with pytest.raises(ConfigError, match="starttls must be"):
        open_email_transport("smtp://mail.example?starttls=maybe", env={})
