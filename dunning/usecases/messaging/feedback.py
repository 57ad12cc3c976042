"""What comes back after a message went out: bounces and SMS delivery receipts; and pay-link checks.

* :func:`process_bounces` reads delivery status notifications (Maildir, mbox or IMAP, through
  :mod:`dunning.channels.bounces`) and maps each to its delivery by the signed action token in the
  VERP address or the Message-ID (the token is the delivery's ``external_id``). A **hard** bounce
  fails the delivery, marks the action ``bounced`` (``outcome_on`` = the day it became known),
  marks the debtor's email invalid (unless the debtor's address changed since) and adds a
  ``delivery_failed`` case event naming the action, so the next ``dunning run`` plans the step's
  fallback. A **soft** bounce only adds a note to the delivery. Every change is conditional on the
  current state and soft notes are keyed by their source and a digest of the notification, so
  processing the same mailbox twice (or the same bounces exported to an mbox) changes nothing.
* :func:`apply_delivery_reports` applies SMS delivery receipts (SMPP ``deliver_sm`` receipts, HTTP
  gateway polls or callback files): delivered → delivery and action ``delivered``; failed,
  rejected or expired → delivery and action ``failed`` with a ``delivery_failed`` event (an
  expired SMS never reached the phone; the fallback channel is the better next try).
* :func:`check_pay_link` tells support staff which case a pay link names and until when it is valid.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import Connection

from dunning.channels.bounces import Bounce, read_imap, read_maildir, read_mbox, scan_bounces
from dunning.domain import paylink
from dunning.errors import ConfigError, InputError
from dunning.ports import SmsDeliveryReport as DeliveryReport
from dunning.store import Store
from dunning.store.actions import mark_action_bounced, mark_action_failed_after_sending, mark_sent_action_delivered
from dunning.store.cases import insert_case_event, load_case_debtor_email, mark_debtor_email_invalid
from dunning.store.deliveries import (
    SentDeliveryRecord,
    find_delivery,
    find_delivery_by_token,
    load_delivery_details,
    mark_delivery_bounced,
    mark_sent_delivery,
    write_delivery_detail,
)
from dunning.store.locks import holding_stage_lock

__all__ = [
    "IMAP_PASSWORD_ENV",
    "BounceResult",
    "PayLinkCheck",
    "ReceiptResult",
    "apply_delivery_reports",
    "check_pay_link",
    "mark_email_invalid",
    "open_bounce_source",
    "outstanding_sms_ids",
    "process_bounces",
]

IMAP_PASSWORD_ENV = "DUNNING_IMAP_PASSWORD"
_FAILED_STATES = frozenset({"failed", "rejected", "expired"})
_MAC_BYTES = 16  # the pay-link token ends in 16 bytes of HMAC (see dunning.domain.paylink)


# ---- shared -------------------------------------------------------------------------------------

def mark_email_invalid(conn: Connection, case_id: int, recipient: str | None) -> bool:
    """Flag the email of the case's debtor as invalid; not if the bounced address is no longer theirs."""
    debtor = load_case_debtor_email(conn, case_id)
    if debtor is None or debtor.email_invalid or not debtor.email:
        return False
    if recipient and recipient.strip().lower() != debtor.email.strip().lower():
        return False
    mark_debtor_email_invalid(conn, debtor.debtor_id)
    return True


def _failed_event(conn: Connection, case_id: int, on_date: date, recorded_at: datetime, detail: dict[str, Any],
                  source: str) -> None:
    insert_case_event(conn, case_id=case_id, on_date=on_date, kind="delivery_failed", detail=detail, source=source,
                      recorded_at=recorded_at)


# ---- bounces ------------------------------------------------------------------------------------

@dataclass
class BounceResult:
    """Counts of one bounce run; ``problems`` name the mailbox entry, never the address."""

    hard: int = 0
    soft: int = 0
    already_known: int = 0
    unmatched: int = 0
    unknown_action: int = 0
    ignored: int = 0
    emails_invalidated: int = 0
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in ("hard", "soft", "already_known", "unmatched", "unknown_action",
                                                    "ignored", "emails_invalidated")}


def _bounce_note(bounce: Bounce, on_date: date) -> dict[str, Any]:
    return {"source": bounce.source, "kind": bounce.kind, "status": bounce.status, "found_by": bounce.found_by,
            "diagnostic": bounce.diagnostic, "on": on_date.isoformat()}


# Bounces take the dispatch lock, not one of their own: both write the same rows (a delivery's and its
# action's status, the debtor's email validity, the ``delivery_failed`` event that plans the fallback), and a
# dispatch reads the email validity to choose whom to email. Two bounce runs at once would both see a delivery
# still ``sent`` and add its ``delivery_failed`` event twice (two fallbacks planned); a bounce run during a
# dispatch would mark an address invalid under a dispatch already sending to it. Bounce processing takes
# seconds and is idempotent, so a refused one (exit 8) simply runs again at its next schedule.
@holding_stage_lock("dispatch")
def process_bounces(
    store: Store,
    messages: Iterable[tuple[str, bytes]],
    *,
    secret: bytes,
    on_date: date,
    recorded_at: datetime,
) -> BounceResult:
    """Apply the bounces among ``messages`` (``(source, raw)`` pairs) to deliveries; see the module docstring."""
    digests: dict[str, str] = {}

    def remembered() -> Iterator[tuple[str, bytes]]:
        # A soft bounce is noted once per notification, whichever mailbox (or export) it is read from.
        for source, raw in messages:
            digests[source] = hashlib.sha256(raw.replace(b"\r\n", b"\n").strip()).hexdigest()[:32]
            yield source, raw

    scan = scan_bounces(remembered(), secret)
    result = BounceResult(ignored=len(scan.ignored), unmatched=len(scan.unmatched))
    result.problems.extend(f"{b.source}: a bounce that names no action of ours" for b in scan.unmatched)
    with store.begin() as conn:
        for bounce in scan.bounces:
            # scan_bounces puts a bounce that names no action among the unmatched, so the token is there
            found = find_delivery_by_token(conn, bounce.action_id, "email") if bounce.action_id else None
            if found is None:
                result.unknown_action += 1
                result.problems.append(f"{bounce.source}: bounce for action token {bounce.action_id}, "
                                       "which has no email delivery here")
                continue
            delivery = found.delivery
            detail = dict(delivery.detail)
            note = {**_bounce_note(bounce, on_date), "digest": digests.get(bounce.source)}
            if bounce.kind == "soft":
                notes = list(detail.get("soft_bounces", []))
                if any(n.get("source") == bounce.source or n.get("digest") == note["digest"] for n in notes):
                    result.already_known += 1
                    continue
                detail["soft_bounces"] = [*notes, note]
                write_delivery_detail(conn, delivery.delivery_id, detail)
                result.soft += 1
                continue
            if delivery.status == "failed" or found.action_status in ("bounced", "failed", "cancelled"):
                result.already_known += 1
                continue
            detail["bounce"] = note
            mark_delivery_bounced(conn, delivery.delivery_id, detail=detail, recorded_at=recorded_at)
            mark_action_bounced(conn, found.action_id, on_date)
            invalidated = mark_email_invalid(conn, found.case_id, bounce.recipient)
            result.emails_invalidated += invalidated
            _failed_event(conn, found.case_id, on_date, recorded_at, {
                "ref": found.action_key, "channel": "email", "action": found.action_name, "status": bounce.status,
                "email_invalidated": invalidated,
                "reason": f"email bounced ({bounce.status or 'no status'}): {bounce.source}",
            }, f"bounce:{bounce.source}")
            result.hard += 1
    return result


def open_bounce_source(spec: str, env: Mapping[str, str]) -> Iterator[tuple[str, bytes]]:
    """Messages of a Maildir folder, an mbox file, or ``imap[s]://user@host[:port]/folder[?since_uid=N]``.

    The IMAP password comes from ``$DUNNING_IMAP_PASSWORD`` (never from the URL).
    """
    parts = urlsplit(spec)
    if parts.scheme in ("imap", "imaps"):
        if parts.password:
            raise ConfigError(f"bounce mailbox {parts.hostname}: put the password in ${IMAP_PASSWORD_ENV}, "
                              "not in the URL")
        if not parts.hostname or not parts.username:
            raise ConfigError(f"bounce mailbox {spec!r}: use imaps://user@host[:port]/folder")
        password = env.get(IMAP_PASSWORD_ENV)
        if not password:
            raise ConfigError(f"bounce mailbox {parts.hostname}: set ${IMAP_PASSWORD_ENV}")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            since = int(query.get("since_uid", "0"))
        except ValueError:
            raise ConfigError(f"bounce mailbox {spec!r}: since_uid must be a number") from None
        folder = unquote(parts.path.lstrip("/")) or "INBOX"
        return read_imap(parts.hostname, unquote(parts.username), password, folder=folder, port=parts.port,
                         use_ssl=parts.scheme == "imaps", since_uid=since)
    path = Path(spec).expanduser()
    if path.is_dir():
        return read_maildir(path)
    if path.is_file():
        return read_mbox(path)
    raise InputError(f"{spec}: no such Maildir folder or mbox file (or give an imaps:// URL)")


# ---- SMS delivery receipts ----------------------------------------------------------------------

@dataclass
class ReceiptResult:
    delivered: int = 0
    failed: int = 0
    pending: int = 0
    already_known: int = 0
    unknown: int = 0
    problems: list[str] = field(default_factory=list)


def outstanding_sms_ids(conn: Connection) -> list[str]:
    """Provider ids of SMS still ``sent`` (no final receipt yet), for gateways that are polled."""
    ids: list[str] = []
    for delivery in load_delivery_details(conn, "sms", ("sent",)):
        ids.extend(str(i) for i in delivery.detail.get("provider_ids", []) if i)
    return ids


def _find_sms_delivery(conn: Connection, report: DeliveryReport,
                       by_provider: dict[str, int] | None) -> SentDeliveryRecord | None:
    if report.client_ref and "-" in report.client_ref:
        token = report.client_ref.rsplit("-", 1)[0]
        found = find_delivery_by_token(conn, token, "sms")
        if found is not None and found.delivery.detail.get("client_ref") == report.client_ref:
            return found
    if by_provider is not None and report.provider_id in by_provider:
        return find_delivery(conn, by_provider[report.provider_id])
    return None


def apply_delivery_reports(store: Store, reports: Iterable[DeliveryReport], *, on_date: date,
                           recorded_at: datetime) -> ReceiptResult:
    """Record final SMS receipts on their deliveries and actions; see the module docstring."""
    result = ReceiptResult()
    reports = list(reports)
    if not reports:
        return result
    with store.begin() as conn:
        by_provider: dict[str, int] | None = None
        for report in reports:
            found = _find_sms_delivery(conn, report, by_provider)
            if found is None and by_provider is None:
                # Receipts without our reference (or from an earlier bind): match by provider id.
                by_provider = {}
                for sms in load_delivery_details(conn, "sms", ("sent", "delivered", "failed")):
                    for provider_id in sms.detail.get("provider_ids", []):
                        by_provider[str(provider_id)] = sms.delivery_id
                found = _find_sms_delivery(conn, report, by_provider)
            if found is None:
                result.unknown += 1
                result.problems.append(f"SMS receipt for provider id {report.provider_id}: no such SMS here")
                continue
            if not report.final:
                result.pending += 1
                continue
            delivery = found.delivery
            if delivery.status != "sent":
                result.already_known += 1
                continue
            receipt = {"state": report.state, "provider_id": report.provider_id, "error": report.error,
                       "on": on_date.isoformat()}
            detail = {**delivery.detail, "receipt": receipt}
            if report.state == "delivered":
                mark_sent_delivery(conn, delivery.delivery_id, status="delivered", detail=detail,
                                   recorded_at=recorded_at)
                mark_sent_action_delivered(conn, found.action_id)
                result.delivered += 1
            elif report.state in _FAILED_STATES:
                mark_sent_delivery(conn, delivery.delivery_id, status="failed", detail=detail, recorded_at=recorded_at)
                mark_action_failed_after_sending(conn, found.action_id, on_date)
                _failed_event(conn, found.case_id, on_date, recorded_at, {
                    "ref": found.action_key, "channel": "sms", "action": found.action_name, "state": report.state,
                    "reason": f"SMS {report.state}" + (f" (error {report.error})" if report.error else ""),
                }, "sms-receipt")
                result.failed += 1
                result.problems.append(f"SMS of action {found.action_id} (case {found.case_id}): {report.state}")
            else:
                result.pending += 1
    return result


# ---- pay links ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PayLinkCheck:
    """What a pay link names: the case and its last valid day, or why it is not valid."""

    token: str
    status: Literal["valid", "expired", "invalid"]
    case_id: str | None = None
    expires: date | None = None
    reason: str | None = None


def _token_of(text: str) -> str:
    """The token of a full pay link (``https://pay.example.com/p/<token>?utm=...``) or the token itself."""
    parts = urlsplit(text.strip())
    path = parts.path if parts.scheme else text.strip()
    return path.rstrip("/").rsplit("/", 1)[-1]


def check_pay_link(text: str, secret: bytes, today: date) -> PayLinkCheck:
    """Check a pay link or token against ``secret``: valid, expired (with its case) or invalid (with why)."""
    token = _token_of(text)
    try:
        # The signature alone first (date.min is never past the expiry), to name the case of an old link too.
        case_id = paylink.verify_token(token, secret, today=date.min)
    except paylink.PayLinkError as exc:
        return PayLinkCheck(token, "invalid", reason=str(exc))
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        expires = datetime.strptime(raw[:-_MAC_BYTES].decode("ascii").rsplit("~", 1)[1], "%Y%m%d").date()  # noqa: DTZ007
    except (binascii.Error, ValueError, IndexError):
        return PayLinkCheck(token, "invalid", case_id, reason="the token body is malformed")
    if today > expires:
        return PayLinkCheck(token, "expired", case_id, expires, f"expired on {expires.isoformat()}")
    return PayLinkCheck(token, "valid", case_id, expires)
