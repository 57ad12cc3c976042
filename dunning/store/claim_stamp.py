"""The stamp of a case's claim: one query that says whether anything the pay page's claim is built from changed.

The pay page keeps the claim it built for a case (:mod:`dunning.usecases.paypage.claim`) and shows it
again only while the stamp is the same. The stamp is every column of the rows the claim is read from:
the case and its debtor, its invoices, its actions (letters, emails, fees, interest: a new letter, a
status, an amount or a detail changed in place), its bank allocations (payments, reversals, write-offs),
its events, payment plans and holds, the payments of the debtor's other cases (the plan offer's due day
follows them), and whether its links are revoked. Read by whoever wrote them (the nightly run, an
import, a reconciliation, another worker), so no writer has to remember to invalidate anything.

On PostgreSQL the stamp is the md5 of those rows as PostgreSQL writes a row as text (``t::text``: every
column, whatever columns a table gets later), in id order, computed by the server: a short statement
(psycopg prepares it and caches its parsing, which a statement naming every column, over 4 KB, defeats:
about 4 ms of CPU a request) and 32 characters over the wire. The same statement reads the page's flags
(:mod:`dunning.store.page_flags`), records the page's visit (an insert in a WITH, for a case whose links
are not revoked) and, when asked, reads the link's prepared page (:mod:`dunning.store.prepared_pages`), so
the landing page learns all of it and records the opening in one round trip. SQLite reads every column by
name and the stamp is their sha256; the caller records the visit, and the prepared page is a second query.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Executable,
    String,
    Table,
    bindparam,
    cast,
    exists,
    func,
    literal,
    select,
    text,
)

from dunning.store.disputes import KEY_PREFIX
from dunning.store.page_flags import PageFlags
from dunning.store.prepared_pages import PreparedPage, load_prepared
from dunning.store.promises import BROKEN, KEPT, MADE
from dunning.store.schema import (
    actions,
    allocations,
    case_events,
    cases,
    debtors,
    holds,
    invoices,
    page_visits,
    paylink_revocations,
    payment_plans,
    paypage_prepared,
)

__all__ = ["ClaimStamp", "load_claim_stamp"]

#: the tables whose rows of a case the claim and its page are built from (each has ``case_id``; a plan's rows
#: and the holds change the page's offers, not the claim)
_CASE_ROWS: tuple[Table, ...] = (invoices, actions, allocations, case_events, payment_plans, holds)
#: the one thing of other cases a page shows: the plan offer's due day follows the days the debtor paid on any case
_DEBTOR_PAID = "payment_received"


@dataclass(frozen=True, slots=True)
class ClaimStamp:
    """What a case's claim is built from, as one comparable value, and whether its links are revoked."""

    stamp: str
    revoked: bool
    #: the page's flags when read by the same statement (PostgreSQL), else None
    flags: PageFlags | None = None
    #: whether the same statement recorded the visit it was given (PostgreSQL, links not revoked)
    visited: bool = False
    #: the page prepared under the key asked for, if one is kept (matching or not)
    prepared: PreparedPage | None = None


def _row_text(table: Table) -> ColumnElement[str]:
    """Every column of a row as one text (NULL as empty): a change to any of them changes it."""
    text: ColumnElement[str] = literal("")
    for column in table.c:
        text = text.concat(func.coalesce(cast(column, String), "")).concat(literal("\x1f"))
    return text


def _query() -> Executable:
    case_id: BindParameter[int] = bindparam("case_id")
    parts: list[ColumnElement[str]] = [
        select(func.aggregate_strings(_row_text(table), "\x1e")).where(table.c.case_id == case_id).scalar_subquery()
        for table in _CASE_ROWS
    ]
    others = cases.alias("others")
    paid = (
        select(func.aggregate_strings(cast(case_events.c.id, String), "\x1e"))
        .join_from(case_events, others, others.c.id == case_events.c.case_id)
        .where(others.c.debtor_id == cases.c.debtor_id, case_events.c.kind == _DEBTOR_PAID)
        .scalar_subquery()
    )
    return (
        select(
            _row_text(cases),
            _row_text(debtors),
            *parts,
            paid,
            exists().where(paylink_revocations.c.case_id == case_id),
        )
        .join_from(cases, debtors, debtors.c.id == cases.c.debtor_id)
        .where(cases.c.id == case_id)
    )


#: built once: a statement this size costs more to build and look up in SQLAlchemy's cache than to run
_QUERY = _query()


def _rows_of(table: Table) -> str:
    """PostgreSQL: the case's rows of ``table`` as text, in id order ('' when none)."""
    return (
        f"coalesce((select string_agg(t::text, chr(30) order by t.id) from {table.name} t where t.case_id = c.id), '')"
    )


def _pg_query(visit: bool = False, prepared: bool = False) -> Executable:
    rows = ", ".join(_rows_of(table) for table in _CASE_ROWS)
    paid = (
        f"coalesce((select string_agg(e.id::text, ',' order by e.id) from {case_events.name} e join {cases.name} o "
        f"on o.id = e.case_id where o.debtor_id = c.debtor_id and e.kind = '{_DEBTOR_PAID}'), '')"
    )
    # the link's prepared page, when asked for: a primary-key lookup joined to the case's row
    kept = (
        (", p.day, p.stamp, p.fingerprint, p.html", f" left join {paypage_prepared.name} p on p.page_key = :page_key")
        if prepared
        else ("", "")
    )
    # the visit in the same statement (one round trip less), recorded only for a case whose links are not revoked
    insert = (
        f"with visit as (insert into {page_visits.name} (case_id, medium, visited_at) "
        f"select c.id, :medium, :visited_at from {cases.name} c where c.id = :case_id and not exists "
        f"(select from {paylink_revocations.name} r where r.case_id = c.id)) "
        if visit
        else ""
    )
    statement = text(
        f"{insert}select md5(concat_ws(chr(29), c::text, d::text, {rows}, {paid})), "
        f"exists (select from {paylink_revocations.name} r where r.case_id = c.id), "
        # the flags of dunning.store.page_flags, the same three EXISTS
        f"exists (select from {case_events.name} e where e.case_id = c.id and e.kind in (:made, :kept, :broken)), "
        f"exists (select from {payment_plans.name} p where p.case_id = c.id), "
        f"exists (select from {actions.name} a where a.case_id = c.id and a.status = 'planned' "
        f"and a.idempotency_key like :dispute){kept[0]} "
        f"from {cases.name} c join {debtors.name} d on d.id = c.debtor_id{kept[1]} where c.id = :case_id"
    )
    if visit:
        statement = statement.bindparams(bindparam("visited_at", type_=page_visits.c.visited_at.type))
    return statement


#: (visit, prepared) -> the statement, each built once
_PG_QUERIES = {(visit, prepared): _pg_query(visit, prepared) for visit in (False, True) for prepared in (False, True)}
_PG_FLAGS: dict[str, Any] = {"made": MADE, "kept": KEPT, "broken": BROKEN, "dispute": f"{KEY_PREFIX}%"}


def load_claim_stamp(
    conn: Connection, case_id: int, visit: tuple[str, datetime] | None = None, prepared_key: str | None = None
) -> ClaimStamp | None:
    """The stamp of case ``case_id`` (None for an unknown case), in one query (with the flags on PostgreSQL).

    ``visit`` (medium, moment): on PostgreSQL the same statement records it for a case whose links are not
    revoked (``visited`` says so); elsewhere the caller records it. ``prepared_key``: read the page kept
    under that key too (:mod:`dunning.store.prepared_pages`), in the same statement on PostgreSQL.
    """
    if conn.dialect.name == "postgresql":
        values: dict[str, Any] = {"case_id": case_id, **_PG_FLAGS}
        if visit is not None:
            values.update(medium=visit[0], visited_at=visit[1])
        if prepared_key is not None:
            values["page_key"] = prepared_key
        found = conn.execute(_PG_QUERIES[visit is not None, prepared_key is not None], values).first()
        if found is None:
            return None
        stamp, revoked, promises, plans, dispute = found[:5]
        flags = PageFlags(bool(promises), bool(plans), bool(dispute))
        kept = None
        if prepared_key is not None and found[5] is not None:
            kept = PreparedPage(found[5], found[6], found[7], bytes(found[8]))
        return ClaimStamp(stamp, bool(revoked), flags, visited=visit is not None and not revoked, prepared=kept)
    row = conn.execute(_QUERY, {"case_id": case_id}).first()
    if row is None:
        return None
    texts: list[str | None] = list(row[:-1])
    revoked = row[-1]
    # the rows of a table come in no set order: sorted, the same rows give the same stamp (kept as its digest)
    rows = "\x1d".join("\x1e".join(sorted((text or "").split("\x1e"))) for text in texts)
    stamp = hashlib.sha256(rows.encode("utf-8")).hexdigest()
    kept = load_prepared(conn, prepared_key) if prepared_key is not None else None
    return ClaimStamp(stamp, bool(revoked), prepared=kept)
