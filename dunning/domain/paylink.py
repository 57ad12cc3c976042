"""Pay-page links: a signed, expiring token that names a case and nothing else.

A letter, e-mail or SMS carries ``base_url + token``. The token is
base64url (no padding) of ``case_id "~" YYYYMMDD`` followed by the first
16 bytes of ``HMAC-SHA256(secret, case_id "~" YYYYMMDD)``. It holds no
personal data (only the internal case id and the last valid day); the pay
page behind it shows the claim's invoices and amounts, never the debtor's
name or address, so a forwarded link gives away no more than the numbers
(no second factor is asked yet). 128 bits of MAC keep the link short
enough for an SMS and are still out of reach of guessing.

    >>> from datetime import date
    >>> t = make_token("C2026000123", date(2026, 12, 31), b"k" * 32)
    >>> verify_token(t, b"k" * 32, today=date(2026, 12, 31))
    'C2026000123'
    >>> verify_token(t, b"k" * 32, today=date(2027, 1, 1))
    Traceback (most recent call last):
    ...
    dunning.domain.paylink.ExpiredToken: pay-link token expired on 2026-12-31
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date, datetime

from dunning.errors import InvalidValue

__all__ = [
    "MEDIUMS",
    "REVOKING_ACTIONS",
    "ExpiredToken",
    "InvalidToken",
    "PayLinkError",
    "RevokedToken",
    "TokenClaims",
    "make_token",
    "medium_of",
    "pay_link",
    "read_token",
    "verify_token",
    "with_medium",
]

_MAC_BYTES = 16
_CASE_ID = re.compile(r"[A-Za-z0-9._:/-]{1,64}")
_MIN_SECRET = 16


class PayLinkError(InvalidValue):
    """A pay-link token cannot be made or accepted."""


class InvalidToken(PayLinkError):
    """The token is malformed or its signature does not match (tampered, or another secret)."""


class ExpiredToken(PayLinkError):
    """The token was valid but its last day has passed."""


class RevokedToken(PayLinkError):
    """The token is genuine and unexpired, but a person (or a hand-over, or a write-off) revoked its case's links."""


#: The flow actions whose effect revokes a case's pay links, with the reason the timeline gives: once the
#: file is with an agency, a lawyer or a bailiff, they collect (a payment to the creditor behind their back
#: is not what the creditor wants); once written off, the page would say "nothing left to pay", which a
#: write-off does not mean. The page then tells the debtor to contact the creditor.
REVOKING_ACTIONS = {
    "hand_over": "handed over to a collection agency",
    "escalate_to_legal": "handed over to a lawyer or bailiff",
    "write_off": "written off",
}


def _check_secret(secret: bytes) -> None:
    if not isinstance(secret, bytes) or len(secret) < _MIN_SECRET:
        raise PayLinkError(f"the pay-link secret must be at least {_MIN_SECRET} bytes")


def _mac(secret: bytes, body: bytes) -> bytes:
    return hmac.new(secret, body, hashlib.sha256).digest()[:_MAC_BYTES]


def make_token(case_id: str, expires: date, secret: bytes) -> str:
    """Token for ``case_id``, valid up to and including ``expires``."""
    _check_secret(secret)
    if not _CASE_ID.fullmatch(case_id) or "~" in case_id:
        raise PayLinkError(f"case id {case_id!r} must be 1-64 of A-Z a-z 0-9 . _ : / -")
    if isinstance(expires, datetime) or not isinstance(expires, date):
        raise PayLinkError(f"expiry {expires!r} must be a date")
    body = f"{case_id}~{expires:%Y%m%d}".encode("ascii")
    return base64.urlsafe_b64encode(body + _mac(secret, body)).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a genuine token says: the case and the last day the link is valid."""

    case_id: str
    expires: date


def verify_token(token: str, secret: bytes, today: date) -> str:
    """Return the case id of a genuine, unexpired token; raise InvalidToken or ExpiredToken."""
    return read_token(token, secret, today).case_id


def read_token(token: str, secret: bytes, today: date) -> TokenClaims:
    """The claims of a genuine, unexpired token; raise InvalidToken or ExpiredToken (which names the day)."""
    _check_secret(secret)
    if not re.fullmatch(r"[A-Za-z0-9_-]{20,200}", token or ""):
        raise InvalidToken("pay-link token is not base64url text of a plausible length")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken("pay-link token is not valid base64url") from None
    body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
    if not hmac.compare_digest(mac, _mac(secret, body)):
        raise InvalidToken("pay-link token signature does not match")
    try:
        case_id, expiry_text = body.decode("ascii").rsplit("~", 1)
        expires = datetime.strptime(expiry_text, "%Y%m%d").date()  # noqa: DTZ007 (a date, no time zone)
    except ValueError:
        raise InvalidToken("pay-link token body is malformed") from None
    if today > expires:
        raise ExpiredToken(f"pay-link token expired on {expires.isoformat()}")
    return TokenClaims(case_id, expires)


def pay_link(base_url: str, token: str) -> str:
    """The link printed and sent: ``base_url`` (with or without a trailing slash) + ``/`` + token."""
    if not base_url.startswith(("https://", "http://")):
        raise PayLinkError(f"pay-link base URL {base_url!r} must start with https://")
    return base_url.rstrip("/") + "/" + token


#: The medium a link came in, as a one-letter query parameter ``m`` (not signed: it only says where a
#: visit came from, so the pay page can count them). A link without it is the one printed as text in a
#: letter, typed in by hand.
MEDIUMS = {"q": "letter_qr", "e": "email", "s": "sms"}
TYPED = "letter_text"


def with_medium(link: str, medium: str) -> str:
    """``link`` marked as coming by ``medium`` (a value of :data:`MEDIUMS`).

    >>> with_medium("https://pay.example.com/p/abc", "sms")
    'https://pay.example.com/p/abc?m=s'
    """
    codes = {name: code for code, name in MEDIUMS.items()}
    if medium not in codes:
        raise PayLinkError(f"unknown pay-link medium {medium!r} (known: {', '.join(codes)})")
    return f"{link}{'&' if '?' in link else '?'}m={codes[medium]}"


def medium_of(code: str | None) -> str:
    """The medium a visit came by, from the link's ``m`` parameter; anything else counts as typed.

    >>> medium_of("q"), medium_of(None), medium_of("<script>")
    ('letter_qr', 'letter_text', 'letter_text')
    """
    return MEDIUMS.get(code or "", TYPED)
