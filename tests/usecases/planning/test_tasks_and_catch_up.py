"""Catch-up over a ledger aged 120 days, and tasks for a person, against the store (SQLite and PostgreSQL).

The shipped flows run over a generated ledger whose invoices fell due 120 days before the first run,
night by night and as a catch-up after missed nights: no case gets two steps closer than the flow's
gap counted from the day the earlier one went out, none is handed over before its final notice's
deadline has passed, no notice asks payment before the previous notice's printed deadline has passed,
and the machine never closes a task: a person does, with `tasks done`.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from dunning.domain.legal import select_pack
from dunning.domain.planning.actions import Channel
from dunning.domain.planning.flow_set import FlowSet
from dunning.domain.planning.pacing import TASK_ACTIONS, asks_payment, nominal_days, notice_deadline, pay_days
from dunning.errors import NotFound
from dunning.store import Store
from dunning.store.schema import actions, case_events, cases, debtors
from dunning.usecases.cases.view import case_detail
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.outgoing.legal import action_deadline
from dunning.usecases.planning.night import load_flows, run_night
from dunning.usecases.planning.tasks import TaskError, finish_task, list_tasks
from dunning.workspace import init_workspace

FIRST_RUN = date(2026, 12, 7)
AGED = FIRST_RUN - timedelta(days=120)
RECORDED = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
HEADER = "debtor_id,name,type,country,language,email,phone,street,postal_code,city,invoice_id,due_date,amount\n"
MESSAGES = ("letter", "registered_letter", "email", "sms", "webhook", "export")


def aged_ledger(count: int = 16) -> str:
    """``count`` debtors (BE, NL, DE; persons and companies; some without email or phone), all 120 days overdue."""
    rows = []
    for n in range(count):
        country = ("BE", "NL", "DE")[n % 3]
        kind = "company" if n % 4 in (1, 2) else "person"
        email = f"d{n}@example.org" if n % 5 else ""
        phone = f"+32470000{n:03d}" if n % 2 else ""
        rows.append(
            f"D{n},Debtor {n},{kind},{country},nl,{email},{phone},Street {n},1000,City,"
            f"I{n},{AGED.isoformat()},{100 + 37 * n}.00\n"
        )
    return HEADER + "".join(rows)


@pytest.fixture()
def flows(tmp_path: Path) -> FlowSet:
    init_workspace(tmp_path / "ws")
    flow_set, problems = load_flows(tmp_path / "ws" / "flows")
    assert not [p for p in problems if p.severity == "error"]
    return flow_set


def _import(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "aged.csv"
    path.write_text(aged_ledger(), encoding="utf-8")
    import_ledger(store, path, as_of=FIRST_RUN, reference_kind="be-ogm")


def _night(store: Store, flows: FlowSet, day: date) -> None:
    run_night(store, flows, day, creditor_country="BE", creditor_language="nl", recorded_at=RECORDED)
    # what the channel stages do the same night: messages, webhooks and exports go out; tasks stay open
    with store.begin() as conn:
        conn.execute(
            update(actions)
            .where(actions.c.status == "planned", actions.c.channel.in_(MESSAGES))
            .values(status="sent", outcome_on=day)
        )


def _rows(store: Store) -> dict[int, list[Any]]:
    with store.begin() as conn:
        rows = conn.execute(
            select(actions, debtors.c.country, debtors.c.debtor_type)
            .join(cases, cases.c.id == actions.c.case_id)
            .join(debtors, debtors.c.id == cases.c.debtor_id)
            .order_by(actions.c.due_on, actions.c.id)
        ).all()
    by_case: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_case[row.case_id].append(row)
    return by_case


def _check(store: Store, flows: FlowSet) -> None:
    for case_rows in _rows(store).values():
        the_flow = flows.get(case_rows[0].flow, case_rows[0].flow_version)
        assert the_flow is not None
        nominal = nominal_days(the_flow)
        index = {s.key: s.index for s in the_flow.steps}
        steps = sorted(
            ((index[r.step], r) for r in case_rows if r.step in index and r.fallback_depth == 0), key=lambda p: p[0]
        )
        for (i, a), (j, b) in itertools.pairwise(steps):
            gap = max(nominal[j] - nominal[i], 0)
            # counted from the day it went out (a task: the day it was opened)
            happened = a.due_on if a.action in TASK_ACTIONS else a.outcome_on or a.due_on
            assert b.due_on >= happened + timedelta(days=gap), (a.step, b.step)
            if a.action in TASK_ACTIONS:  # the next step only after a person closed the task
                assert a.status in ("done", "failed") and a.detail["closed"]["by"] == "alice"
                assert b.due_on >= a.outcome_on
        for row in case_rows:
            if row.action in TASK_ACTIONS and row.status != "planned":
                assert row.detail["closed"]["by"] == "alice"  # never the machine
        pack = select_pack(case_rows[0].country, "business" if case_rows[0].debtor_type == "company" else "consumer")
        consumer = case_rows[0].debtor_type != "company"
        for hand_over in (r for r in case_rows if r.action == "hand_over"):
            for notice in (r for r in case_rows if r.action.startswith("send_") and r.due_on <= hand_over.due_on):
                sent = notice.outcome_on
                days = pay_days(notice.settings)
                assert hand_over.due_on > sent + timedelta(days=days)
                assert hand_over.due_on > notice_deadline(pack, sent, Channel(notice.channel), days)
                # the one deadline: the date the notice's letter, email or SMS printed has passed
                printed = action_deadline(notice.detail, country=case_rows[0].country, consumer=consumer,
                                          sent_on=sent, channel=notice.channel, pay_days=days)
                assert hand_over.due_on > printed.day, (notice.step, printed.day, hand_over.due_on)
        # no notice asks payment before the previous notice's printed deadline has passed (issue 17)
        asking = sorted(
            (r for r in case_rows if asks_payment(r.action) and r.status != "failed"), key=lambda r: (r.due_on, r.id)
        )
        for a, b in itertools.pairwise(asking):
            printed = action_deadline(a.detail, country=case_rows[0].country, consumer=consumer,
                                      sent_on=a.outcome_on, channel=a.channel, pay_days=pay_days(a.settings))
            assert b.due_on > printed.day, (a.step, printed.day, b.step, b.due_on)


def _person_closes_tasks(store: Store, day: date) -> int:
    tasks = list_tasks(store)
    for task in tasks:
        finish_task(store, task.id, note="decided: go on", by="alice", on_date=day, recorded_at=RECORDED)
    return len(tasks)


@pytest.mark.parametrize("missed", [0, 30])
def test_a_ledger_aged_120_days_keeps_every_gap_night_by_night_and_after_missed_nights(
    store: Store, flows: FlowSet, tmp_path: Path, missed: int
) -> None:
    _import(store, tmp_path)
    _night(store, flows, FIRST_RUN)
    first = _rows(store)
    # the first run over the aged ledger: one contact per case, no final notice, task or hand-over
    for case_rows in first.values():
        assert sum(r.contact for r in case_rows) == 1
        assert not {r.action for r in case_rows} & {"send_final_notice", "manual_task", "phone_call_task", "hand_over"}
    closed = 0
    for n, day in enumerate(daterange(FIRST_RUN + timedelta(days=missed + 1), FIRST_RUN + timedelta(days=170))):
        if n % 4 == 3:
            closed += _person_closes_tasks(store, day)
        _night(store, flows, day)
    assert closed > 0
    _check(store, flows)
    by_case = _rows(store)
    handed = [rows for rows in by_case.values() if any(r.action == "hand_over" for r in rows)]
    assert len(handed) == len(by_case)  # every case reached its end, at the flow's pace
    for rows in by_case.values():
        nights: dict[date, set[str]] = defaultdict(set)
        for r in rows:
            nights[r.due_on].add(r.action)
        assert not any(
            "send_final_notice" in a and a & {"manual_task", "phone_call_task", "hand_over"} for a in nights.values()
        )


def test_tasks_wait_for_a_person_and_closing_one_is_in_the_timeline(
    store: Store, flows: FlowSet, tmp_path: Path
) -> None:
    _import(store, tmp_path)
    for day in daterange(FIRST_RUN, FIRST_RUN + timedelta(days=80)):
        _night(store, flows, day)
    open_tasks = list_tasks(store)
    assert open_tasks and {t.kind for t in open_tasks} <= {"manual", "call"}
    assert all(t.status == "open" and t.waits for t in open_tasks)
    with store.begin() as conn:  # the machine left them open, and the flows stopped at them
        statuses = {
            r.status for r in conn.execute(select(actions.c.status).where(actions.c.action.in_(sorted(TASK_ACTIONS))))
        }
        assert statuses == {"planned"}
    task = open_tasks[0]
    assert task.due == task.since + timedelta(days=5)
    assert [t.id for t in list_tasks(store, case_id=task.case_id)] == [task.id]
    assert all(t.kind == "call" for t in list_tasks(store, kind="call"))
    later_steps = [r.step for r in _rows(store)[task.case_id] if r.due_on > task.since]
    assert later_steps == []  # nothing after the open task
    # a person closes it: who, when and the note on the task and in the timeline
    closed_on = task.since + timedelta(days=3)
    done = finish_task(store, task.id, note="called: pays Friday", by="alice", on_date=closed_on, recorded_at=RECORDED)
    assert (done.status, done.closed_on, done.closed_by, done.note) == (
        "done",
        closed_on,
        "alice",
        "called: pays Friday",
    )
    assert task.id not in [t.id for t in list_tasks(store)]
    assert task.id in [t.id for t in list_tasks(store, include_closed=True)]
    timeline = case_detail(store, str(task.case_id)).timeline
    entry = next(e for e in timeline if e.kind == "task_done")
    assert entry.on_date == closed_on and "by alice: called: pays Friday" in entry.what
    with store.begin() as conn:
        assert (
            conn.execute(select(case_events.c.source).where(case_events.c.kind == "task_done")).scalar_one()
            == f"task:{task.id}"
        )
    with pytest.raises(TaskError, match=f"task {task.id} is already closed \\(done on {closed_on} by alice\\)"):
        finish_task(store, task.id, note="again", by="bob", on_date=closed_on, recorded_at=RECORDED)
    with pytest.raises(NotFound, match="no task 999999"):
        finish_task(store, 999999, note="x", by="bob", on_date=closed_on, recorded_at=RECORDED)
    other = open_tasks[1]
    with pytest.raises(TaskError, match="cannot be closed on"):
        finish_task(store, other.id, note="x", by="bob", on_date=other.since - timedelta(days=1), recorded_at=RECORDED)
    # the next night the flow moves on from the closed task, never before the day it was closed
    _night(store, flows, FIRST_RUN + timedelta(days=81))
    after = [r for r in _rows(store)[task.case_id] if r.due_on > task.since]
    assert after and all(r.due_on >= closed_on for r in after)


def daterange(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]
