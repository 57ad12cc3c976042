"""The stamp of a case's claim: one query that says whether anything the pay page's claim is built from changed.

The pay page keeps the claim it built for a case (:mod:`dunning.usecases.paypage.claim`) and shows it
again only while the stamp is the same. The stamp is every column of the rows the claim is read from:
the case and its debtor, its invoices, its actions (letters, emails, fees, interest: a new letter, a
status, an amount or a detail changed in place), its bank allocations (payments, reversals, write-offs)
and its events, and whether its links are revoked. Read by whoever wrote them (the nightly run, an
import, a reconciliation, another worker), so no writer has to remember to invalidate anything.
"""

from __future__ import annotations

from dataclasses import dataclass

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
)

from dunning.store.schema import actions, allocations, case_events, cases, debtors, invoices, paylink_revocations

__all__ = ["ClaimStamp", "load_claim_stamp"]

#: the tables whose rows of a case the claim is built from (each has ``case_id``)
_CASE_ROWS: tuple[Table, ...] = (invoices, actions, allocations, case_events)


@dataclass(frozen=True, slots=True)
class ClaimStamp:
    """What a case's claim is built from, as one comparable value, and whether its links are revoked."""

    stamp: str
    revoked: bool


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
    return (
        select(
            _row_text(cases),
            _row_text(debtors),
            *parts,
            exists().where(paylink_revocations.c.case_id == case_id),
        )
        .join_from(cases, debtors, debtors.c.id == cases.c.debtor_id)
        .where(cases.c.id == case_id)
    )


#: built once: a statement this size costs more to build and look up in SQLAlchemy's cache than to run
_QUERY = _query()


def load_claim_stamp(conn: Connection, case_id: int) -> ClaimStamp | None:
    """The stamp of case ``case_id`` (None for an unknown case), in one query."""
    row = conn.execute(_QUERY, {"case_id": case_id}).first()
    if row is None:
        return None
    texts: list[str | None] = list(row[:-1])
    revoked = row[-1]
    # the rows of a table come in no set order: sorted, the same rows give the same stamp
    stamp = "\x1d".join("\x1e".join(sorted((text or "").split("\x1e"))) for text in texts)
    return ClaimStamp(stamp, bool(revoked))
