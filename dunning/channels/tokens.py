"""Signed action tokens: how a bounce finds its way back to the action that caused it.

A token is the action id followed by a short HMAC of it::

    A000123.k3x9q2mzfa

It goes into the per-message bounce address (VERP, ``bounces+A000123.k3x9q2mzfa@bounce.example``)
and into the Message-ID, so a delivery status notification names the action even when it is
malformed, and nobody can forge a bounce for another action without the secret. The
signature is 10 base32 characters (50 bits), lower case because some mail systems lower-case
local parts; the action id itself is kept verbatim, so prefer lower-case ids if your mail path
is known to fold case.

    >>> t = make_token("A000123", b"secret")
    >>> read_token(t, b"secret")
    'A000123'
    >>> read_token(t.replace("A000123", "A000124"), b"secret") is None
    True
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from dunning.errors import ConfigError

__all__ = ["ACTION_ID_PATTERN", "InvalidActionId", "make_token", "read_token", "read_verp", "verp_address"]

# Action ids must be safe in an email local part and short enough that
# "bounces+<id>.<sig>" stays under the 64-octet local-part limit of RFC 5321.
ACTION_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,40}")
_SIGNATURE_LENGTH = 10
_TOKEN = re.compile(r"([A-Za-z0-9_-]{1,40})\.([a-z2-7]{10})", re.IGNORECASE)


class InvalidActionId(ConfigError):
    """An action id that cannot travel in an email address (wrong characters or too long)."""


def action_id_for(idempotency_key: str) -> str:
    """A short, lower-case action id derived from an idempotency key (when none is at hand).

    The planner's keys (``case:…|flow:…|step:…``) are too long and too rich in punctuation for an
    email address; 20 base32 characters of their SHA-256 (100 bits) are unique enough::

        >>> action_id_for("case:C1|flow:b2c@1|step:day3|action:send_email|cycle:0")
        'aej5fkhcbhjo3d4wp2k55'
    """
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).digest()
    return "a" + base64.b32encode(digest).decode("ascii").lower()[:20]


def _signature(action_id: str, secret: bytes) -> str:
    digest = hmac.new(secret, action_id.encode("ascii"), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:_SIGNATURE_LENGTH]


def make_token(action_id: str, secret: bytes) -> str:
    """Return ``<action_id>.<signature>``; the id must match ``[A-Za-z0-9_-]{1,40}``."""
    if not ACTION_ID_PATTERN.fullmatch(action_id):
        raise InvalidActionId(
            f"action id {action_id!r} cannot be put in a bounce address: "
            "use 1 to 40 characters among A-Z a-z 0-9 _ -"
        )
    if not secret:
        raise ConfigError("the bounce-token secret is empty (set email.verp_secret)")
    return f"{action_id}.{_signature(action_id, secret)}"


def read_token(token: str, secret: bytes) -> str | None:
    """Return the action id of a genuine token, or None if it is malformed or forged."""
    match = _TOKEN.fullmatch(token.strip())
    if not match:
        return None
    action_id, signature = match.group(1), match.group(2).lower()
    if hmac.compare_digest(_signature(action_id, secret), signature):
        return action_id
    return None


def verp_address(action_id: str, secret: bytes, domain: str, prefix: str = "bounces") -> str:
    """The envelope sender for one message: ``bounces+<token>@<domain>``."""
    return f"{prefix}+{make_token(action_id, secret)}@{domain}"


_VERP = re.compile(r"[A-Za-z0-9_.-]+\+([A-Za-z0-9_.-]+)@[A-Za-z0-9.-]+")


def read_verp(text: str, secret: bytes) -> str | None:
    """Find a genuine VERP address anywhere in ``text`` and return its action id."""
    for match in _VERP.finditer(text):
        action_id = read_token(match.group(1), secret)
        if action_id is not None:
            return action_id
    return None
