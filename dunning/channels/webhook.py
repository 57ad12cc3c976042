"""Creditor webhooks: the JSON body, its signature, and how the receiver checks it (pure: no I/O, no clock).

Every webhook is a POST of a JSON object (UTF-8, keys sorted, no spaces) with two headers::

    Idempotency-Key: dn_3f0c...            (the same on every retry of the same webhook)
    Dunning-Signature: t=1795999200,v1=5257a869e7...

``v1`` is the lowercase hex HMAC-SHA256, keyed with the shared secret (``DUNNING_WEBHOOK_SECRET``),
of ``f"{t}.{body}"``: the timestamp ``t`` (Unix seconds, when the request was made), a dot, and the
raw body bytes. The receiver recomputes it over the bytes it received, compares in constant time,
and refuses a ``t`` too far from its own clock (five minutes is usual) so a captured request cannot
be replayed later; :func:`verify_signature` does exactly this. A retry carries a new ``t`` and
signature but the same body and Idempotency-Key: receivers deduplicate on the key (delivery is
at-least-once).

The body (:func:`webhook_body`) names the case, never the debtor beyond the creditor's own customer
number; amounts are decimal strings::

    {"case": {"currency": "EUR", "debtor_id": "C1001", "number": 12, "open_amount": "477.03",
              "reference": "+++000/0000/01212+++", "status": "open"},
     "data": {"event": "second_reminder_sent", "step": "notify_account_manager"},
     "id": "dn_3f0c...", "occurred_on": "2026-11-24", "type": "notify_creditor"}
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from dunning.errors import InvalidValue
from dunning.jsonable import jsonable

__all__ = [
    "SIGNATURE_HEADER",
    "SignatureError",
    "idempotency_token",
    "sign",
    "signature_header",
    "verify_signature",
    "webhook_body",
]

SIGNATURE_HEADER = "Dunning-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
#: how far (seconds) the receiver's clock may be from ``t`` by default
DEFAULT_TOLERANCE = 300
_TIMESTAMP = re.compile(r"[0-9]{1,15}")
_HEX_SIGNATURE = re.compile(r"[0-9a-f]{64}")


class SignatureError(InvalidValue):
    """A signature header that is missing, malformed, stale or does not match."""


def idempotency_token(key: str) -> str:
    """The Idempotency-Key sent for an outbox key: short, stable, and free of internal structure.

    >>> idempotency_token("event:17")
    'dn_f64a01c15ba0366e0f0936e5dfb7b14b'
    """
    return "dn_" + hashlib.sha256(key.encode()).hexdigest()[:32]



def webhook_body(*, key: str, event_type: str, occurred_on: date, case: Mapping[str, Any],
                 data: Mapping[str, Any]) -> bytes:
    """The exact bytes posted: a canonical JSON object (sorted keys, compact); Decimals become strings."""
    document = {
        "id": idempotency_token(key),
        "type": event_type,
        "occurred_on": occurred_on.isoformat(),
        "case": jsonable(case),
        "data": jsonable(data),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``b"<timestamp>." + body`` keyed with ``secret``."""
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Dunning-Signature`` value: ``t=<unix seconds>,v1=<hex>``."""
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify_signature(header: str | None, body: bytes, secret: str, *, now: int,
                     tolerance: int = DEFAULT_TOLERANCE) -> int:
    """Check a ``Dunning-Signature`` header as a receiver does; return ``t`` or raise SignatureError.

    Whatever arrives (a non-ASCII ``v1=``, a header in bytes, a huge ``t``), the only exception is
    :class:`SignatureError`; an empty secret is refused, since it would let anyone sign.

    >>> header = signature_header("s3cret", 1795999200, b'{"id":"dn_1"}')
    >>> verify_signature(header, b'{"id":"dn_1"}', "s3cret", now=1795999260)
    1795999200
    >>> verify_signature(header, b'{"id":"dn_2"}', "s3cret", now=1795999260)
    Traceback (most recent call last):
    ...
    dunning.channels.webhook.SignatureError: signature does not match the body
    """
    if not isinstance(secret, str) or not secret:
        raise SignatureError("no secret to verify with: an empty secret would accept any forged request")
    if not isinstance(body, bytes | bytearray | memoryview):
        raise SignatureError(f"the body must be the raw bytes received, not {type(body).__name__}")
    if isinstance(header, bytes | bytearray):
        try:
            header = bytes(header).decode("ascii")
        except UnicodeDecodeError:
            raise SignatureError(f"{SIGNATURE_HEADER} is not ASCII") from None
    if not header:
        raise SignatureError(f"no {SIGNATURE_HEADER} header")
    if not isinstance(header, str):
        raise SignatureError(f"{SIGNATURE_HEADER} must be text, not {type(header).__name__}")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            raise SignatureError(f"malformed {SIGNATURE_HEADER} element {item.strip()[:80]!r}")
        parts.setdefault(name, []).append(value)
    stamps = parts.get("t", [])
    if not stamps or not _TIMESTAMP.fullmatch(stamps[0]):  # ASCII digits only: int() takes "١٢" and "1_0"
        raise SignatureError(f"{SIGNATURE_HEADER} has no valid t=")
    timestamp = int(stamps[0])
    if abs(now - timestamp) > tolerance:
        raise SignatureError(f"timestamp {timestamp} is more than {tolerance} s from now ({now})")
    expected = sign(secret, timestamp, bytes(body)).encode("ascii")
    # compare_digest refuses a str with non-ASCII characters (TypeError): compare bytes, and only
    # candidates shaped like a signature, so whatever a sender puts in v1= is just "no match".
    candidates = [given.encode("ascii") for given in parts.get("v1", []) if _HEX_SIGNATURE.fullmatch(given)]
    if not any(hmac.compare_digest(expected, given) for given in candidates):
        raise SignatureError("signature does not match the body")
    return timestamp
