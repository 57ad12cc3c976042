"""Contact details a debtor confirmed on the pay page: pending one-time codes, the confirmed values, consents.

**What wins.** The ledger's email and phone live in ``debtors`` and every import rewrites them; what
the debtor confirmed with a code lives in ``debtor_contacts`` and no import touches it. Wherever a
message's recipient is read (the night's "has email / has phone", the due messages, bounce matching),
:func:`contact_email`, :func:`contact_email_invalid` and :func:`contact_phone` take the confirmed value
when there is one and the ledger's otherwise (the query left-joins :data:`CONTACTS`). A debtor who
confirms again replaces their own value.

The codes themselves are never stored: only an HMAC of the code bound to the case, channel and value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, case, func, insert, select, update

from dunning.store.schema import cases, contact_codes, contact_consents, debtor_contacts, debtors

__all__ = [
    "CONTACTS",
    "CodeRecord",
    "ConfirmedContact",
    "contact_email",
    "contact_email_invalid",
    "contact_phone",
    "contact_preferred_channel",
    "count_codes_since",
    "insert_code",
    "insert_consent",
    "load_confirmed_contact",
    "load_consents",
    "load_pending_codes",
    "retire_pending_codes",
    "save_confirmed_contact",
    "set_code_state",
]


# ---- what the messages read: the confirmed value over the ledger's --------------------------------


#: ``query.outerjoin(*CONTACTS)``: a query that reads the debtors joins what they confirmed (a left join:
#: most have confirmed nothing), then selects the expressions below
CONTACTS = (debtor_contacts, debtor_contacts.c.debtor_id == debtors.c.id)


def contact_email() -> ColumnElement[Any]:
    """The debtor's email as messages use it (the confirmed one, else the ledger's), labelled ``email``."""
    return func.coalesce(debtor_contacts.c.email, debtors.c.email).label("email")


def contact_email_invalid() -> ColumnElement[Any]:
    """Whether that email is known to bounce (the confirmed address's own flag when there is one)."""
    return case(
        (debtor_contacts.c.email.is_not(None), debtor_contacts.c.email_invalid), else_=debtors.c.email_invalid
    ).label("email_invalid")


def contact_phone() -> ColumnElement[Any]:
    """The debtor's mobile number as messages use it (the confirmed one, else the ledger's), labelled ``phone``."""
    return func.coalesce(debtor_contacts.c.phone, debtors.c.phone).label("phone")


def contact_preferred_channel() -> ColumnElement[Any]:
    """The channel the debtor said they prefer on the pay page (email, sms, letter; NULL: never said)."""
    return debtor_contacts.c.preferred_channel.label("preferred_channel")


def mark_confirmed_email_invalid(conn: Connection, debtor_id: int) -> bool:
    """A confirmed email bounced: flag it (True) ; False when the debtor has none (the ledger's bounced)."""
    result = conn.execute(
        update(debtor_contacts)
        .where(debtor_contacts.c.debtor_id == debtor_id, debtor_contacts.c.email.is_not(None))
        .values(email_invalid=True)
    )
    return bool(result.rowcount)


# ---- confirmed contacts --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfirmedContact:
    """What a debtor confirmed (personal data)."""

    debtor_id: int
    email: str | None
    email_invalid: bool
    phone: str | None
    preferred_channel: str | None


def load_confirmed_contact(conn: Connection, debtor_id: int) -> ConfirmedContact | None:
    row = conn.execute(select(debtor_contacts).where(debtor_contacts.c.debtor_id == debtor_id)).first()
    if row is None:
        return None
    return ConfirmedContact(row.debtor_id, row.email, bool(row.email_invalid), row.phone, row.preferred_channel)


def save_confirmed_contact(conn: Connection, debtor_id: int, *, channel: str, value: str,
                           preferred_channel: str | None, at: datetime) -> None:
    """Record that the debtor confirmed ``value`` for ``channel`` (email or sms) at ``at``."""
    fields: dict[str, Any] = (
        {"email": value, "email_invalid": False, "email_confirmed_at": at} if channel == "email"
        else {"phone": value, "phone_confirmed_at": at}
    )
    if preferred_channel is not None:
        fields["preferred_channel"] = preferred_channel
    fields["updated_at"] = at
    done = conn.execute(update(debtor_contacts).where(debtor_contacts.c.debtor_id == debtor_id).values(**fields))
    if not done.rowcount:
        conn.execute(insert(debtor_contacts).values({"email_invalid": False, **fields, "debtor_id": debtor_id}))


# ---- codes ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CodeRecord:
    """A code sent to confirm ``value`` (personal data) for ``channel``."""

    id: int
    case_id: int
    channel: str
    value: str
    preferred_channel: str | None
    text_version: str
    code_hash: str
    sent_at: datetime
    expires_at: datetime
    tries: int
    status: str


def _utc(moment: datetime) -> datetime:
    """SQLite hands timestamps back without their zone; the store writes them in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def insert_code(conn: Connection, *, case_id: int, channel: str, value: str, preferred_channel: str | None,
                text_version: str, code_hash: str, sent_at: datetime, expires_at: datetime) -> int:
    result = conn.execute(insert(contact_codes).values(
        case_id=case_id, channel=channel, value=value, preferred_channel=preferred_channel,
        text_version=text_version, code_hash=code_hash, sent_at=sent_at, expires_at=expires_at, tries=0,
        status="pending"))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def count_codes_since(conn: Connection, case_id: int, since: datetime) -> int:
    """Codes sent for the case since ``since`` (the limit on sends per link and hour)."""
    query = select(func.count()).select_from(contact_codes).where(
        contact_codes.c.case_id == case_id, contact_codes.c.sent_at >= since)
    return int(conn.execute(query).scalar_one())


def load_pending_codes(conn: Connection, case_id: int) -> list[CodeRecord]:
    """The case's codes still waiting to be entered, oldest first."""
    rows = conn.execute(
        select(contact_codes).where(contact_codes.c.case_id == case_id, contact_codes.c.status == "pending")
        .order_by(contact_codes.c.id)
    )
    return [CodeRecord(r.id, r.case_id, r.channel, r.value, r.preferred_channel, r.text_version, r.code_hash,
                       _utc(r.sent_at), _utc(r.expires_at), r.tries, r.status) for r in rows]


def retire_pending_codes(conn: Connection, case_id: int) -> None:
    """A new request replaces the codes still pending for the case."""
    conn.execute(update(contact_codes).where(contact_codes.c.case_id == case_id, contact_codes.c.status == "pending")
                 .values(status="replaced"))


def set_code_state(conn: Connection, code_id: int, *, status: str, tries: int) -> None:
    conn.execute(update(contact_codes).where(contact_codes.c.id == code_id).values(status=status, tries=tries))


# ---- consents ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """The debtor agreed to be contacted on ``channel`` at ``value`` with the wording ``text_version``."""

    debtor_id: int
    case_id: int
    channel: str
    value: str
    text_version: str
    given_at: datetime
    source: str


def insert_consent(conn: Connection, *, debtor_id: int, case_id: int, channel: str, value: str,
                   text_version: str, given_at: datetime, source: str) -> None:
    conn.execute(insert(contact_consents).values(
        debtor_id=debtor_id, case_id=case_id, channel=channel, value=value, text_version=text_version,
        given_at=given_at, source=source))


def load_consents(conn: Connection, debtor_ids: Sequence[int]) -> list[ConsentRecord]:
    """The consents of the debtors, oldest first."""
    rows = conn.execute(select(contact_consents).where(contact_consents.c.debtor_id.in_(list(debtor_ids)))
                        .order_by(contact_consents.c.id))
    return [ConsentRecord(r.debtor_id, r.case_id, r.channel, r.value, r.text_version, _utc(r.given_at), r.source)
            for r in rows]


def debtor_of_case(conn: Connection, case_id: int) -> int | None:
    found = conn.execute(select(cases.c.debtor_id).where(cases.c.id == case_id)).scalar_one_or_none()
    return None if found is None else int(found)
