"""Read bounces (delivery status notifications) and map each one back to its action.

Where a bounce comes from: the bounce mailbox that receives mail for ``bounces+*@<bounce
domain>``, read as a Maildir, an mbox file or an IMAP folder.

How a bounce finds its action, in this order:

1. **VERP**: the bounce is addressed to the per-message envelope sender
   ``bounces+<action token>@...``; the token is looked for in the envelope-recipient headers
   the receiving MTA adds (``Delivered-To``, ``X-Original-To``, ``Envelope-To``) and in ``To``.
   The token is signed, so a forged or mangled one is ignored.
2. **Message-ID**: our Message-IDs carry the same signed token
   (``<A000123.sig.hash@domain>``); it is read from the returned headers (``message/rfc822``
   or ``text/rfc822-headers`` parts of an RFC 3464 report, or the quoted copy in a plain-text
   bounce such as Exim's or Yahoo's), or from ``In-Reply-To``/``References``.

How it is classified (RFC 3463 status codes): ``5.x.x`` is **hard** (the address is dead:
suppress it and take the fallback channel), ``4.x.x`` or ``Action: delayed`` is **soft**
(retry; escalate after several). One exception to the first digit: ``5.2.2`` (mailbox full)
is soft, as every large mailbox provider uses it for a temporary state. A bounce whose status
cannot be found at all is soft, so a misread bounce never suppresses an address.

Auto-replies (``Auto-Submitted: auto-replied``, out-of-office), read receipts and complaint
reports are not bounces and are ignored.
"""

from __future__ import annotations

import contextlib
import imaplib
import mailbox
import re
import ssl
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Literal

from dunning.channels.tokens import read_token, read_verp
from dunning.errors import InputError

__all__ = [
    "Bounce",
    "BounceScan",
    "classify_status",
    "parse_bounce",
    "read_imap",
    "read_maildir",
    "read_mbox",
    "scan_bounces",
]

BounceKind = Literal["hard", "soft"]

_ENVELOPE_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "X-Failed-Recipients-To", "To")
_BOUNCE_SENDERS = re.compile(r"(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.IGNORECASE)
_BOUNCE_SUBJECTS = re.compile(
    r"undeliver|returned to sender|delivery status notification|mail delivery (failed|failure|subsystem)"
    r"|failure notice|returned mail|delivery failure|warning: message .* delayed|delayed mail"
    r"|unzustellbar|non remis|onbestelbaar|niet bezorgd",
    re.IGNORECASE,
)
_BOUNCE_BODIES = re.compile(
    r"created automatically by mail delivery software|unable to deliver your message"
    r"|could not be delivered to one or more recipients|delivery has failed to these recipients"
    r"|message you sent could not be delivered",
    re.IGNORECASE,
)
_ENHANCED_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_SMTP_REPLY = re.compile(r"(?<![\d.])([45])(\d\d)(?=[ -:]|$)", re.MULTILINE)
_MESSAGE_ID_HEADER = re.compile(r"^Message-ID:\s*(<[^>\s]+>)", re.IGNORECASE | re.MULTILINE)
_OUR_MESSAGE_ID = re.compile(r"<([A-Za-z0-9_-]{1,40}\.[a-z2-7]{10})\.[a-z2-7]{16}@[^>]+>", re.IGNORECASE)
_RECIPIENT_IN_TEXT = re.compile(r"<?([A-Za-z0-9._%+=-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})>?")


@dataclass(frozen=True, slots=True)
class Bounce:
    """One bounce, read and classified. ``recipient`` is personal data: do not log it."""

    source: str
    kind: BounceKind
    status: str | None
    action_id: str | None
    found_by: Literal["verp", "message-id"] | None
    original_message_id: str | None
    recipient: str | None
    action: str | None
    diagnostic: str | None
    reporting_mta: str | None


@dataclass(slots=True)
class BounceScan:
    """What a scan found: bounces mapped to an action, bounces that map to none, non-bounces."""

    bounces: list[Bounce] = field(default_factory=list)
    unmatched: list[Bounce] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)


def classify_status(status: str | None, action: str | None = None) -> BounceKind:
    """Hard for 5.x.x (except 5.2.2 mailbox full), soft for 4.x.x, delayed or unknown.

    >>> classify_status("5.1.1"), classify_status("4.4.1"), classify_status("5.2.2")
    ('hard', 'soft', 'soft')
    """
    if action and action.lower() == "delayed":
        return "soft"
    if status is None:
        return "soft"
    if status.startswith("5.") and status != "5.2.2":
        return "hard"
    return "soft"


def _text_of(message: Message) -> str:
    """All text/* parts (and the message's own body) as one string, for the non-standard bounces."""
    chunks: list[str] = []
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                charset = part.get_content_charset() or "utf-8"
                try:
                    chunks.append(payload.decode(charset, errors="replace"))
                except LookupError:
                    chunks.append(payload.decode("utf-8", errors="replace"))
    return "\n".join(chunks)


def _delivery_status_blocks(message: Message) -> tuple[Message | None, list[Message]]:
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status":
            blocks = [block for block in part.get_payload() if isinstance(block, Message)]
            if blocks:
                return blocks[0], blocks[1:]
    return None, []


def _strip_type(value: str | None) -> str | None:
    """``rfc822; erika@example.org`` → ``erika@example.org``; ``smtp; 550 ...`` → ``550 ...``."""
    if value is None:
        return None
    value = " ".join(str(value).split())
    return value.split(";", 1)[1].strip() if ";" in value else value


def _returned_headers(message: Message) -> list[str]:
    """Header blocks of the returned original (RFC 3464 parts, then quoted copies in the text)."""
    found: list[str] = []
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type in ("message/rfc822", "message/global"):
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                found.append("".join(f"{k}: {v}\n" for k, v in inner[0].items()))
        elif content_type in ("text/rfc822-headers", "text/global-headers"):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                found.append(payload.decode("utf-8", errors="replace"))
    return found


def _find_action(message: Message, secret: bytes, text: str) -> tuple[str | None, str | None, str | None]:
    """(action id, how it was found, original Message-ID)."""
    original_ids: list[str] = []
    for block in _returned_headers(message):
        original_ids += _MESSAGE_ID_HEADER.findall(block)
    original_ids += _MESSAGE_ID_HEADER.findall(text)
    for header in ("In-Reply-To", "References"):
        original_ids += re.findall(r"<[^>\s]+>", str(message.get(header, "")))
    original = original_ids[0] if original_ids else None

    for header in _ENVELOPE_HEADERS:
        for value in message.get_all(header, []):
            action_id = read_verp(str(value), secret)
            if action_id is not None:
                return action_id, "verp", original
    for candidate in original_ids:
        match = _OUR_MESSAGE_ID.fullmatch(candidate)
        if match:
            action_id = read_token(match.group(1), secret)
            if action_id is not None:
                return action_id, "message-id", candidate
    return None, None, original


def _is_bounce(message: Message, text: str) -> tuple[bool, str]:
    content_type = message.get_content_type()
    report_type = str(message.get_param("report-type", "", header="content-type") or "").lower()
    if content_type == "multipart/report":
        if report_type == "delivery-status":
            return True, ""
        return False, f"a {report_type or 'unknown'} report, not a delivery status notification"
    subject = str(message.get("Subject", ""))
    return_path = str(message.get("Return-Path", "")).strip()
    from_daemon = bool(_BOUNCE_SENDERS.search(str(message.get("From", "")))) or return_path == "<>"
    wording = bool(_BOUNCE_BODIES.search(text) or _BOUNCE_SUBJECTS.search(subject))
    # Bounces from Postfix and Exim carry "Auto-Submitted: auto-replied" too, so the sender
    # and the wording decide first; an auto-reply from a person is then ignored.
    if from_daemon and wording:
        return True, ""
    if str(message.get("Auto-Submitted", "")).lower().startswith("auto-replied"):
        return False, "an automatic reply"
    if _BOUNCE_SUBJECTS.search(subject) and _BOUNCE_BODIES.search(text):
        return True, ""
    return False, "not a bounce (no delivery status, no bounce wording)"


def _status_from_text(text: str) -> str | None:
    enhanced = _ENHANCED_STATUS.search(text)
    if enhanced:
        return ".".join(enhanced.groups())
    # A bare SMTP reply code ("550 Unrouteable address", Yahoo's "554: delivery error").
    reply = _SMTP_REPLY.search(text)
    if reply:
        return f"{reply.group(1)}.0.0"
    return None


def parse_bounce(raw: bytes, secret: bytes, source: str = "") -> Bounce | None:
    """Read one message; None if it is not a bounce (auto-reply, read receipt, ordinary mail)."""
    message = message_from_bytes(raw, policy=policy.compat32)
    text = _text_of(message)
    is_bounce, _reason = _is_bounce(message, text)
    if not is_bounce:
        return None
    return _bounce_from(message, text, secret, source)


def _bounce_from(message: Message, text: str, secret: bytes, source: str) -> Bounce:
    per_message, recipients = _delivery_status_blocks(message)
    status = action = diagnostic = recipient = None
    if recipients:
        # The first failed recipient wins; else the first delayed; else the first block.
        ranked = sorted(recipients, key=lambda b: {"failed": 0, "delayed": 1}.get(
            str(b.get("Action", "")).strip().lower(), 2))
        block = ranked[0]
        status = str(block.get("Status", "")).strip() or None
        action = str(block.get("Action", "")).strip().lower() or None
        diagnostic = _strip_type(block.get("Diagnostic-Code"))
        recipient = _strip_type(block.get("Final-Recipient") or block.get("Original-Recipient"))
        if status and not _ENHANCED_STATUS.fullmatch(status):
            status = _status_from_text(status)
    if status is None:
        # Exim, qmail-style (Yahoo) and other plain-text bounces: read the human text, but
        # only up to the quoted copy of the original so its contents cannot confuse us.
        head = re.split(r"^-{2,}.*(copy of the message|original message|below this line).*$", text,
                        maxsplit=1, flags=re.IGNORECASE | re.MULTILINE)[0]
        status = _status_from_text(head)
        if diagnostic is None:
            diagnostic = _first_error_line(head)
        if recipient is None:
            failed = message.get("X-Failed-Recipients")
            match = _RECIPIENT_IN_TEXT.search(str(failed) if failed else head)
            recipient = match.group(1) if match else None
        if action is None and re.search(r"delayed|still being retried|will be retried", head + str(
                message.get("Subject", "")), re.IGNORECASE):
            action = "delayed"
    reporting_mta = _strip_type(per_message.get("Reporting-MTA")) if per_message is not None else None
    action_id, found_by, original = _find_action(message, secret, text)
    return Bounce(
        source=source,
        kind=classify_status(status, action),
        status=status,
        action_id=action_id,
        found_by=found_by,  # type: ignore[arg-type]
        original_message_id=original,
        recipient=recipient,
        action=action or ("failed" if status and status.startswith("5.") else None),
        diagnostic=diagnostic,
        reporting_mta=reporting_mta,
    )


def _first_error_line(text: str) -> str | None:
    for line in text.splitlines():
        if _SMTP_REPLY.search(line) or _ENHANCED_STATUS.search(line):
            return " ".join(line.split())[:300]
    return None


def scan_bounces(messages: Iterable[tuple[str, bytes]], secret: bytes) -> BounceScan:
    """Parse every ``(source, raw)`` pair; one unreadable message never stops the scan."""
    scan = BounceScan()
    for source, raw in messages:
        try:
            message = message_from_bytes(raw, policy=policy.compat32)
            text = _text_of(message)
            is_bounce, reason = _is_bounce(message, text)
            if not is_bounce:
                scan.ignored.append((source, reason))
                continue
            bounce = _bounce_from(message, text, secret, source)
        except Exception as exc:
            scan.ignored.append((source, f"unreadable: {type(exc).__name__}: {exc}"))
            continue
        (scan.bounces if bounce.action_id else scan.unmatched).append(bounce)
    return scan


def read_maildir(path: Path) -> Iterator[tuple[str, bytes]]:
    """Messages of a Maildir (``new/`` and ``cur/``) as ``("maildir:<key>", raw)``, oldest key first."""
    if not (path / "cur").is_dir() and not (path / "new").is_dir():
        raise InputError(f"{path} is not a Maildir (no cur/ or new/ folder)")
    box = mailbox.Maildir(str(path), factory=None, create=False)
    for key in sorted(box.keys()):
        yield f"maildir:{key}", box.get_bytes(key)


def read_mbox(path: Path) -> Iterator[tuple[str, bytes]]:
    """Messages of an mbox file as ``("mbox:<path>#<n>", raw)``."""
    if not path.is_file():
        raise InputError(f"mbox file {path} does not exist")
    box = mailbox.mbox(str(path), create=False)
    try:
        for number, key in enumerate(box.keys(), start=1):
            yield f"mbox:{path.name}#{number}", box.get_bytes(key)
    finally:
        box.close()


def read_imap(
    host: str,
    username: str,
    password: str,
    *,
    folder: str = "INBOX",
    port: int | None = None,
    use_ssl: bool = True,
    ssl_context: ssl.SSLContext | None = None,
    since_uid: int = 0,
) -> Iterator[tuple[str, bytes]]:
    """Messages with a UID above ``since_uid`` in an IMAP folder, read-only, as ``("imap:<uid>", raw)``.

    Read-only on purpose: the caller records the highest UID it processed and passes it as
    ``since_uid`` next time, so a crash mid-way re-reads rather than loses bounces.
    """
    client: imaplib.IMAP4
    if use_ssl:
        client = imaplib.IMAP4_SSL(host, port or 993, ssl_context=ssl_context)
    else:
        client = imaplib.IMAP4(host, port or 143)
    try:
        try:
            client.login(username, password)
        except imaplib.IMAP4.error as exc:
            raise InputError(f"IMAP login as {username!r} on {host} failed: {exc}") from None
        status, _ = client.select(f'"{folder}"', readonly=True)
        if status != "OK":
            raise InputError(f"IMAP folder {folder!r} on {host} cannot be opened")
        status, data = client.uid("SEARCH", f"UID {since_uid + 1}:*")
        if status != "OK":
            raise InputError(f"IMAP search in {folder!r} on {host} failed")
        uids = [int(uid) for uid in (data[0] or b"").split() if int(uid) > since_uid]
        for uid in sorted(uids):
            status, fetched = client.uid("FETCH", str(uid), "(BODY.PEEK[])")
            for item in fetched:
                if isinstance(item, tuple) and isinstance(item[1], bytes):
                    yield f"imap:{uid}", item[1]
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()


def as_email_message(raw: bytes) -> EmailMessage:
    """Parse ``raw`` with the modern policy (handy for callers that want to inspect a bounce)."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message
