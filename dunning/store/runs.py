"""The nightly runs: one row per planning run, with the summary it printed.

A run compares itself with the last run before its date ("change since previous run"), so the
summary is kept as the JSON object the run reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from dunning.store.schema import runs


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One recorded run: its date and the summary it reported (a JSON object)."""

    id: int
    run_date: date
    summary: dict[str, Any]


def load_last_run_before(conn: Connection, before: date) -> RunRecord | None:
    """The newest run dated before ``before`` (the last of them when one date ran twice); None: none."""
    row = conn.execute(
        select(runs.c.id, runs.c.run_date, runs.c.summary)
        .where(runs.c.run_date < before)
        .order_by(runs.c.run_date.desc(), runs.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else RunRecord(row.id, row.run_date, dict(row.summary))


def insert_run(conn: Connection, run_date: date, summary: dict[str, Any], recorded_at: datetime) -> None:
    """Record a run and what it reported."""
    conn.execute(insert(runs).values(run_date=run_date, summary=summary, recorded_at=recorded_at))
