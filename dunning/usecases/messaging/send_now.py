"""Send one email at once, outside the night's dispatch: build it, record it, hand it over, record the answer.

The pay page writes to the debtor while they are on it: the acknowledgement of a dispute
(:mod:`dunning.usecases.paypage.acknowledge`), the terms of a plan they accepted
(:mod:`dunning.usecases.paypage.plan_terms`) and a one-time code for a new address
(:mod:`dunning.usecases.paypage.contact`). Each goes through :func:`send_email_now`::

    sent = send_email_now(store, workspace, EmailNow(key="dispute:7:ack:email", to=address, subject=...,
                          text=..., language="nl", kind="ack"), now=now, env=os.environ)
    sent.outcome    # "sent" or "failed"; the caller's timeline event says which

**The message** is an :class:`email.message.EmailMessage` under ``policy.SMTP``: CRLF line endings,
headers folded at 78 characters (RFC 2047 words for accents), the text body quoted-printable, so no
line comes near the 998 bytes RFC 5322 allows and a server that reads line by line (aiosmtpd, as
RFC 5321 permits) takes a long message whole. From, Reply-To and the Message-ID domain are those of
the night's emails (:func:`~dunning.usecases.messaging.compose.email_settings`), and the message is
DKIM-signed when ``email.dkim_key`` is set. MIME boundaries derive from the key, so the same
message built again has the same bytes but for the DKIM signature.

**Recorded as the dispatch records** (:mod:`dunning.usecases.messaging.dispatch`): a delivery row
keyed ``EmailNow.key`` (unique, no action) is committed as ``sending``, with the Message-ID and
the Date, just before the message is handed to the transport, and as ``sent`` or ``failed`` right
after the server answered, in the same transaction as the caller's own record (``on_result``: the
timeline event). So a crash leaves at most this one message ``sending``, and a key is not sent twice
but for that window: called again, a ``sent`` key sends nothing; a ``sending`` one (it may have gone
out) goes again as the very same message, Message-ID and Date included (flagged
``resent_after_crash``, as the dispatch does, so every later try keeps them); a ``failed`` one that
never was uncertain goes as a new message. Nothing retries these messages on its own: a failure is
final unless the caller sends the key again. A transport that raises while it has the message leaves
the row ``sending`` (it may have gone out). One caller per key at a time (the keys name a task, a
plan, a code: each is sent by one request).

Logs name the delivery key and the error kind, never an address; the server's answer is kept with
addresses redacted.
"""

from __future__ import annotations

import logging
import os
import secrets as random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any, cast

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from dunning.adapters.smtp import EmailTransport
from dunning.channels.email import Attachment, EmailSettings, OutgoingEmail, _dkim_sign
from dunning.errors import ConfigError, PermanentDeliveryError, StoreError
from dunning.ports import SendResult
from dunning.store import Store
from dunning.store.deliveries import (
    SENDING_STATES,
    DeliveryRecord,
    NewDelivery,
    insert_deliveries,
    load_deliveries_by_key,
    mark_delivery_sending,
    mark_sending_delivery,
    record_delivery_failed,
)
from dunning.usecases.messaging.compose import email_settings
from dunning.usecases.messaging.dispatch import RESENT_AFTER_CRASH
from dunning.usecases.messaging.transports import open_channel_transport, redact
from dunning.usecases.outgoing.secrets import Secrets
from dunning.workspace import Workspace

__all__ = ["EmailNow", "SentNow", "build_email_now", "send_email_now"]

log = logging.getLogger(__name__)

CHANNEL = "email"


@dataclass(frozen=True, slots=True)
class EmailNow:
    """One email to send at once: its delivery key (unique), recipient, words and files."""

    key: str  # the delivery row's key, e.g. ``dispute:<task>:ack:email``
    to: str
    subject: str
    text: str  # the plain-text body
    language: str
    kind: str  # ``ack``, ``plan``, ``contact``: the Message-ID's id string and the row's ``template``
    auto_submitted: str = "auto-generated"  # RFC 3834: ``auto-replied`` for an answer to the debtor
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class SentNow:
    """What became of it: ``sent`` or ``failed``, the Message-ID, and what the server (or error) said."""

    outcome: str
    message_id: str
    status: str  # the transport's status (``sent``, ``permanent_failure``...) or the error's kind
    detail: str = ""  # the server's answer, addresses redacted
    already: bool = False  # sent by an earlier call: nothing was sent this time

    @property
    def ok(self) -> bool:
        return self.outcome == "sent"


def build_email_now(email: EmailNow, settings: EmailSettings, sender_name: str, *, message_id: str,
                    sent_at: datetime) -> OutgoingEmail:
    """The message's bytes (pure); InvalidEmailAddress-like PermanentDeliveryError for an unusable recipient."""
    try:
        recipient = validate_email(email.to, check_deliverability=False).ascii_email
    except EmailNotValidError:
        recipient = None
    if recipient is None:  # invalid, or needs SMTPUTF8, which dunning does not send
        raise PermanentDeliveryError(f"{email.key}: the recipient address cannot be used")
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = formataddr((settings.from_name or sender_name, settings.from_address))
    message["To"] = recipient
    if settings.reply_to:
        message["Reply-To"] = settings.reply_to
    if email.subject.isascii():
        message["Subject"] = email.subject
    else:  # Python 3.11 folds "word =?utf-8?...?=" with a space too many (CPython gh-144156): encode it all
        message.set_raw("Subject", Header(email.subject, "utf-8", header_name="Subject").encode())
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = email.auto_submitted
    message["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    message.set_content(email.text if email.text.endswith("\n") else email.text + "\n", cte="quoted-printable")
    for attachment in email.attachments:
        maintype, _, subtype = attachment.mime_type.partition("/")
        message.add_attachment(attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename)
    message["Content-Language"] = email.language  # after the body: set_content() drops Content-* set before it
    seed = "".join(c if c.isalnum() else "_" for c in email.key)[-40:]
    for index, part in enumerate(message.walk()):
        if part.is_multipart():
            part.set_boundary(f"=_dunning_{seed}_{index}")
    raw = message.as_bytes(policy=policy.SMTP)
    if settings.dkim is not None:
        raw = _dkim_sign(raw, settings.dkim)
    return OutgoingEmail(email.key, message_id, settings.from_address, (recipient,), raw, email.language)


def _message_id(kind: str, domain: str) -> str:
    """``<ack.Xb3...@example.com>``: 120 random bits, short enough that the header is not folded."""
    return f"<{kind}.{random.token_urlsafe(15)}@{domain}>"


#: called with the connection of the transaction that records the outcome, so the caller's own record
#: (a timeline event) is committed together with the delivery's
OnResult = Callable[[Connection, SentNow], None]


def send_email_now(
    store: Store,
    workspace: Workspace,
    email: EmailNow,
    *,
    now: datetime,
    env: Mapping[str, str] = os.environ,
    secrets: Secrets | None = None,
    transport: EmailTransport | None = None,
    on_result: OnResult | None = None,
) -> SentNow:
    """Build, record and send ``email`` through ``email.transport`` now; see the module docstring.

    ``transport``, when given, is used as it is and not closed (tests); otherwise the workspace's is
    opened and closed. Raises StoreError only when another process is sending the same key right now.
    """
    with store.begin() as conn:
        existing = load_deliveries_by_key(conn, [email.key]).get(email.key)
    if existing is not None and existing.status in ("sent", "delivered"):
        message_id = str(existing.detail.get("message_id", ""))
        return SentNow("sent", message_id, "sent", "sent by an earlier call", already=True)
    # A sending row may have gone out: the very same message goes again (its Message-ID and Date), also
    # on every later try. A failed one that never was uncertain surely did not go: it is new now.
    uncertain = existing is not None and (existing.status in SENDING_STATES
                                          or bool(existing.detail.get(RESENT_AFTER_CRASH)))
    previous = dict(existing.detail) if existing is not None and uncertain else {}
    sent_at = datetime.fromisoformat(previous["date"]) if "date" in previous else now
    detail: dict[str, Any] = {"template": email.kind, "language": email.language, "date": sent_at.isoformat(),
                              "sent_on": previous.get("sent_on", sent_at.date().isoformat()),
                              "message_id": str(previous.get("message_id", ""))}
    if uncertain:
        detail[RESENT_AFTER_CRASH] = True
    try:
        settings = email_settings(workspace, secrets)
        detail["message_id"] = detail["message_id"] or _message_id(email.kind, settings.message_id_domain)
        outgoing = build_email_now(email, settings, workspace.config.creditor.name, message_id=detail["message_id"],
                                   sent_at=sent_at)
    except (ConfigError, PermanentDeliveryError) as exc:  # not handed over; an uncertain row stays so
        failed = SentNow("failed", detail["message_id"], type(exc).__name__, redact(str(exc)))
        row = "keep" if uncertain else "update" if existing is not None else "insert"
        return _finish(store, email, detail, failed, now, on_result, row=row)
    try:
        with store.begin() as conn:
            _mark_sending(conn, email, existing, detail, now)
    except IntegrityError:
        raise StoreError(f"{email.key}: another process is sending this message right now") from None
    message_id = outgoing.message_id
    try:
        opened = transport if transport is not None else cast(EmailTransport,
                                                              open_channel_transport(CHANNEL, workspace, env))
    except Exception as exc:  # not handed over: this try surely sent nothing
        return _finish(store, email, detail, SentNow("failed", message_id, type(exc).__name__), now, on_result,
                       row="keep" if uncertain else "update")
    try:
        [result] = opened.send_batch([outgoing])
    except Exception as exc:  # the transport had it: it may have gone out, the row stays ``sending``
        log.warning("%s: the email transport failed while sending (%s)", email.key, type(exc).__name__)
        return _finish(store, email, detail, SentNow("failed", message_id, type(exc).__name__), now, on_result,
                       row="keep")
    finally:
        if transport is None:
            opened.close()
    return _finish(store, email, detail, _answer(message_id, result), now, on_result, row="update")


def _answer(message_id: str, result: SendResult) -> SentNow:
    return SentNow("sent" if result.ok else "failed", message_id, str(result.status), redact(result.detail))


def _mark_sending(conn: Connection, email: EmailNow, existing: DeliveryRecord | None, detail: dict[str, Any],
                  now: datetime) -> None:
    if existing is None:
        insert_deliveries(conn, [NewDelivery(email.key, None, CHANNEL, "sending", attempts=1, external_id=None,
                                             detail=detail, recorded_at=now)])
    else:
        mark_delivery_sending(conn, existing.delivery_id, attempts=existing.attempts + 1,
                              detail={**existing.detail, **detail}, recorded_at=now)


def _finish(store: Store, email: EmailNow, detail: dict[str, Any], sent: SentNow, now: datetime,
            on_result: OnResult | None, *, row: str) -> SentNow:
    """Record the outcome on the delivery row (``row``: insert, update or keep it) and the caller's record, at once."""
    outcome = {**detail, "result": sent.detail or sent.status}
    if not sent.ok:
        outcome["error"] = sent.status
    with store.begin() as conn:
        if row == "insert":
            insert_deliveries(conn, [NewDelivery(email.key, None, CHANNEL, "failed", attempts=0, external_id=None,
                                                 detail=outcome, recorded_at=now)])
        elif row == "update" and sent.ok:
            mark_sending_delivery(conn, email.key, status="sent", detail=outcome, recorded_at=now)
        elif row == "update":
            record_delivery_failed(conn, email.key, detail=outcome, recorded_at=now)
        if on_result is not None:
            on_result(conn, sent)
    return sent
