"""Every idempotency key dunning records, made in one place and named for what it keys.

Each side effect (a planned action, an email or SMS, a letter in a print batch, a batch upload, a webhook,
an acknowledgement file read) is recorded under its key before and after it happens, and the store's
unique index on the key is what makes it happen once. The keys are deterministic: a re-run of the same
night computes the same keys and so finds what was already done.

These formats are stored in production databases. **Never change one**: a changed format makes every
recorded effect look new, and it would happen again.

    >>> key = action_key("C1001", "default", 3, "d10", "send_letter", cycle=0)
    >>> key
    'case:C1001|flow:default@3|step:d10|action:send_letter|cycle:0'
    >>> action_key("C1001", "default", 3, "d10", "send_email", cycle=0, fallback_depth=1)
    'case:C1001|flow:default@3|step:d10|action:send_email|cycle:0|fallback:1'
    >>> message_key(key, "email")
    'case:C1001|flow:default@3|step:d10|action:send_letter|cycle:0:email'
    >>> letter_key(key)
    'case:C1001|flow:default@3|step:d10|action:send_letter|cycle:0:letter'
    >>> print_batch_key("P20261124-DK-DL-STANDARD-DOM-001-3f9a1c2e")
    'batch:P20261124-DK-DL-STANDARD-DOM-001-3f9a1c2e'
    >>> acknowledgement_file_key("9f86d081")
    'ack:9f86d081'
    >>> webhook_action_key(key)[:12], webhook_event_key(17)
    ('action:case:', 'event:17')
"""

from __future__ import annotations

__all__ = [
    "acknowledgement_file_key",
    "action_key",
    "letter_key",
    "message_key",
    "print_batch_key",
    "webhook_action_key",
    "webhook_event_key",
]


def action_key(
    case_id: str, flow_name: str, flow_version: int | str, step_key: str, action: str, *, cycle: int,
    fallback_depth: int = 0,
) -> str:
    """A planned action: one step of one flow version for one case, in one dunning cycle (and fallback depth)."""
    key = f"case:{case_id}|flow:{flow_name}@{flow_version}|step:{step_key}|action:{action}|cycle:{cycle}"
    return key if fallback_depth == 0 else f"{key}|fallback:{fallback_depth}"


def message_key(action_key: str, channel: str) -> str:
    """The delivery of an action's email or SMS (``channel`` is ``email`` or ``sms``)."""
    return f"{action_key}:{channel}"


def letter_key(action_key: str) -> str:
    """A letter handed to the print house, whichever batch carried it."""
    return f"{action_key}:letter"


def print_batch_key(batch_id: str) -> str:
    """One print batch (its PDF, manifests, ticket and ready marker) uploaded to the print house."""
    return f"batch:{batch_id}"


def acknowledgement_file_key(sha256: str) -> str:
    """A print house's acknowledgement file, by its content (a renamed copy is the same file)."""
    return f"ack:{sha256}"


def webhook_action_key(action_key: str) -> str:
    """The outbox entry of a webhook that a flow's action (``notify_creditor``, ``block_service``...) sends."""
    return f"action:{action_key}"


def webhook_event_key(event_id: int) -> str:
    """The outbox entry of a ``payment_update`` webhook for one recorded case event."""
    return f"event:{event_id}"
