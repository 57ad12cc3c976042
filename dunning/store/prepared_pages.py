"""Prepared pay pages: the landing page of one pay link for one day, kept in the store (table ``paypage_prepared``).

A row is served only while everything the page was made from is the same: the day (the promise and plan
offers count from it), the case's claim stamp (:mod:`dunning.store.claim_stamp`) and the server's
fingerprint (its templates, words and settings). The reader compares all three on every opening, so a
row that no longer matches is never shown, only replaced. The key is a digest of the link's token:
the table holds no token that would open a page.

    >>> page_key("abc")[:16]
    'feeac7812b516620'
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, delete, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from dunning.store.schema import actions, deliveries, paypage_prepared

__all__ = [
    "PreparedPage", "delete_prepared_before", "load_prepared", "page_key", "save_prepared", "sent_link_days",
]

#: the channels whose messages carry a pay link, and the statuses of a delivery that went out
LINK_CHANNELS = ("letter", "registered_letter", "email", "sms")
WENT_OUT = ("sent", "delivered")


def page_key(token: str) -> str:
    """The row key of a pay link's page: a digest of its token (sha256, hex)."""
    return hashlib.sha256(b"paypage|" + token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class PreparedPage:
    """A kept page and what it was made from."""

    day: date
    stamp: str
    fingerprint: str
    compressed: bytes

    def matches(self, day: date, stamp: str, fingerprint: str) -> bool:
        """Whether this page is the one a request on ``day`` would be shown now."""
        return self.day == day and self.stamp == stamp and self.fingerprint == fingerprint

    @property
    def html(self) -> bytes:
        return zlib.decompress(self.compressed)


def load_prepared(conn: Connection, key: str) -> PreparedPage | None:
    """The page kept under ``key``, if any (whether it still matches is the caller's question)."""
    row = conn.execute(
        select(paypage_prepared.c.day, paypage_prepared.c.stamp, paypage_prepared.c.fingerprint,
               paypage_prepared.c.html).where(paypage_prepared.c.page_key == key)
    ).first()
    return None if row is None else PreparedPage(row[0], row[1], row[2], bytes(row[3]))


def save_prepared(
    conn: Connection, key: str, case_id: int, day: date, stamp: str, fingerprint: str, html: bytes, at: datetime
) -> None:
    """Keep ``html`` as the page of ``key`` for ``day`` (replacing what was kept under that key)."""
    values = {
        "page_key": key, "case_id": case_id, "day": day, "stamp": stamp, "fingerprint": fingerprint,
        "html": zlib.compress(html, 6), "prepared_at": at,
    }
    postgres = conn.dialect.name == "postgresql"
    if postgres:  # a kept page is a cache: its commit need not wait for the disk (lost in a crash, made again)
        conn.execute(text("SET LOCAL synchronous_commit TO OFF"))
    insert = pg_insert if postgres else sqlite_insert
    statement = insert(paypage_prepared).values(**values)
    update = {name: statement.excluded[name] for name in values if name != "page_key"}
    conn.execute(statement.on_conflict_do_update(index_elements=["page_key"], set_=update))


def delete_prepared_before(conn: Connection, day: date) -> int:
    """Forget the pages prepared for days before ``day`` (never served again); how many rows went."""
    return conn.execute(delete(paypage_prepared).where(paypage_prepared.c.day < day)).rowcount or 0


def sent_link_days(conn: Connection, since: date, until: date) -> set[tuple[int, date]]:
    """(case id, day it went out) of each letter, email and SMS that went out from ``since`` to ``until``.

    The day is the one its delivery records (``detail.sent_on``), the day its pay link counts from.
    """
    query = (
        select(actions.c.case_id, deliveries.c.detail)
        .join_from(deliveries, actions, actions.c.id == deliveries.c.action_id)
        .where(actions.c.channel.in_(LINK_CHANNELS), deliveries.c.status.in_(WENT_OUT),
               actions.c.run_date <= until)  # planned on or before the day it went out
    )
    found: set[tuple[int, date]] = set()
    for case_id, detail in conn.execute(query):
        sent_on = (detail or {}).get("sent_on")
        if isinstance(sent_on, str):
            day = date.fromisoformat(sent_on)
            if since <= day <= until:
                found.add((case_id, day))
    return found
