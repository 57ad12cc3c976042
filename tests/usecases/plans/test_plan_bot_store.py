"""The plan bot over the real store (SQLite and PostgreSQL): a reversal takes its credits back, the channel
follows the debtor's contact data, and every night run twice leaves the store as it was.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import select, update

from dunning.cli import EXIT_OK, cli
from dunning.domain.plans.model import InstalmentStatus
from dunning.domain.references import parse_reference
from dunning.store import Store
from dunning.store.schema import actions, case_events, cases, debtors, holds, metadata, plan_credits
from dunning.usecases.messaging.dispatch import dispatch_messages
from dunning.usecases.planning.night import load_flows, run_night
from dunning.usecases.plans.create import create_plan, list_plans
from dunning.usecases.reconcile.run import reconcile_files
from dunning.workspace import Workspace, open_workspace
from tests.usecases.messaging.helpers import ENV
from tests.usecases.notify.helpers import IMPORTED, RECORDED, case_of, import_and_plan, make_workspace
from tests.usecases.reconcile.camt_build import Payment, write_camt

AGREED = date(2026, 10, 6)


@pytest.fixture
def workspace(tmp_path: Path, store: Store, store_url: str) -> Workspace:
    made = make_workspace(tmp_path / "ws", store_url)
    import_and_plan(store, made, night=IMPORTED)
    return open_workspace(made.root, environ={})


def _night(store: Store, workspace: Workspace, day: date) -> None:
    flows, _ = load_flows(workspace.flows_dir)
    run_night(store, flows, day, creditor_country="BE", creditor_language="nl", recorded_at=RECORDED,
              plan_policy=workspace.config.plans.policy())


def _snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    with store.begin() as conn:
        return {t.name: sorted((tuple(map(repr, r)) for r in conn.execute(select(t))), key=repr)
                for t in metadata.sorted_tables if t.name != "runs"}


def _twice(store: Store, workspace: Workspace, day: date) -> None:
    """Run the night, then the same night again: the second changes nothing at all."""
    _night(store, workspace, day)
    before = _snapshot(store)
    _night(store, workspace, day)
    assert _snapshot(store) == before


def test_a_reversed_payment_takes_its_instalment_credits_back(
    store: Store, workspace: Workspace, tmp_path: Path
) -> None:
    created = create_plan(store, "R1", count=3, day=15, today=AGREED, policy=workspace.config.plans.policy(),
                          created_by="clerk", recorded_at=RECORDED)
    first = created.plan.instalments[0]
    paid = write_camt(tmp_path, "paid.xml", "054", [
        Payment(str(first.amount), ref=parse_reference(first.reference).printed, end_to_end="E-1", bank_ref="B-1")
    ], day=date(2026, 10, 14))
    reconcile_files(store, workspace, [paid], as_of=date(2026, 10, 14))
    _twice(store, workspace, date(2026, 10, 14))
    plan = list_plans(store)[0].plan
    assert plan.instalment(1).status == InstalmentStatus.PAID and plan.paid == first.amount
    with store.begin() as conn:
        credits = [tuple(r) for r in conn.execute(select(plan_credits.c.number, plan_credits.c.amount,
                                                         plan_credits.c.reversed_on))]
        thanks = conn.execute(select(actions.c.channel, actions.c.detail).where(
            actions.c.action == "plan_thanks")).one()
    assert credits == [(1, first.amount, None)]
    assert thanks[0] == "email" and thanks[1]["number"] == 1 and thanks[1]["amount"] == str(first.amount)

    returned = write_camt(tmp_path, "returned.xml", "054", [
        Payment(str(first.amount), direction="DBIT", reversal=True, end_to_end="E-1", bank_ref="B-1R",
                booked_on=date(2026, 10, 16))
    ], day=date(2026, 10, 16), msg_id="REV")
    assert reconcile_files(store, workspace, [returned], as_of=date(2026, 10, 16)).summary()[
        "outcomes"]["undone"]["count"] == 1
    _twice(store, workspace, date(2026, 10, 16))
    plan = list_plans(store)[0].plan
    assert plan.paid == 0 and plan.open == plan.total and plan.instalment(1).payments == ()
    assert plan.instalment(1).status == InstalmentStatus.SCHEDULED  # open again, within its grace days
    with store.begin() as conn:
        credits = [tuple(r) for r in conn.execute(select(plan_credits.c.number, plan_credits.c.reversed_on))]
        reversed_events = conn.execute(select(case_events.c.amount).where(
            case_events.c.kind == "plan_credit_reversed")).scalars().all()
        grace = conn.execute(select(actions.c.action).where(actions.c.action == "plan_grace_reminder")).scalars().all()
    assert credits == [(1, date(2026, 10, 16))] and reversed_events == [first.amount]
    assert grace == ["plan_grace_reminder"]


def test_sms_without_an_email_address_and_recorded_unsent_without_any_address(
    store: Store, workspace: Workspace
) -> None:
    e2, r1 = case_of(store, "E2"), case_of(store, "R1")
    with store.begin() as conn:
        conn.execute(update(debtors).where(debtors.c.external_id == "E2").values(email=None, phone="+32470999888"))
        conn.execute(update(debtors).where(debtors.c.external_id == "R1").values(email=None, phone=None,
                                                                                        street=None))
    policy = workspace.config.plans.policy()
    sms_plan = create_plan(store, "E2", count=2, day=15, today=AGREED, policy=policy, created_by="clerk").plan
    create_plan(store, "R1", count=2, day=15, today=AGREED, policy=policy, created_by="clerk")
    _twice(store, workspace, date(2026, 10, 12))  # 3 days before the 15th
    with store.begin() as conn:
        rows = {int(r.case_id): r for r in conn.execute(select(actions).where(actions.c.action == "plan_reminder"))}
    assert rows[e2].channel == "sms" and rows[e2].status == "planned"
    assert rows[r1].channel is None and rows[r1].status == "done" and "not sent" in rows[r1].reason
    assert "no postal address" in rows[r1].reason  # with one, it goes by letter (test_plan_letters.py)
    now = datetime(2026, 10, 12, 9, 0, tzinfo=UTC)  # a Monday morning in Brussels
    result = dispatch_messages(store, workspace, date(2026, 10, 12), channels=("sms",), now=now, env=ENV)
    assert [(c["channel"], c["sent"]) for c in result.rows()] == [("sms", 1)], result.summary()
    sent = [json.loads(line) for line in (workspace.root / "output" / "sms" / "outbox.jsonl").read_text().splitlines()]
    first = sms_plan.instalments[0]
    assert len(sent) == 1 and parse_reference(first.reference).printed in sent[0]["text"]
    assert "75,25" in sent[0]["text"] and sent[0]["to"] == "+32470999888"
    again = dispatch_messages(store, workspace, date(2026, 10, 12), channels=("sms",), now=now, env=ENV)
    assert [(c["channel"], c["sent"]) for c in again.rows()] == [("sms", 0)]  # exactly once
    assert Decimal(sum(i.amount for i in sms_plan.instalments)) == sms_plan.total


def test_dunning_run_runs_the_bot_with_the_workspaces_policy(
    store: Store, workspace: Workspace, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_path = workspace.root / "dunning.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["plans"]["reminder_days_before"] = 5  # the template's 3 would remind only from the 12th
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("DUNNING_DATABASE", store_url)
    create_plan(store, "R1", count=2, day=15, today=AGREED, policy=workspace.config.plans.policy(), created_by="clerk")
    ran = CliRunner().invoke(cli, ["-w", str(workspace.root), "run", "--date", "2026-10-10", "--format", "json"])
    assert ran.exit_code == EXIT_OK, ran.stderr
    assert json.loads(ran.stdout)["plan_bot"] == {
        "plans": 1, "payments_credited": 0, "payments_reversed": 0, "actions": {"plan_reminder": 1}}
    again = CliRunner().invoke(cli, ["-w", str(workspace.root), "run", "--date", "2026-10-10", "--format", "json"])
    assert json.loads(again.stdout)["plan_bot"]["actions"] == {}  # recorded once


def test_a_completed_plan_runs_again_when_a_payment_of_it_is_reversed(
    store: Store, workspace: Workspace, tmp_path: Path
) -> None:
    r1 = case_of(store, "R1")
    plan = create_plan(store, "R1", count=2, day=15, today=AGREED, policy=workspace.config.plans.policy(),
                       created_by="clerk", recorded_at=RECORDED).plan
    paid = write_camt(tmp_path, "paid.xml", "054", [
        Payment(str(i.amount), ref=parse_reference(i.reference).printed, end_to_end=f"E-{i.number}",
                bank_ref=f"B-{i.number}") for i in plan.instalments
    ], day=date(2026, 10, 14))
    reconcile_files(store, workspace, [paid], as_of=date(2026, 10, 14))
    _twice(store, workspace, date(2026, 10, 14))
    with store.begin() as conn:
        status = conn.execute(select(cases.c.status).where(cases.c.id == r1)).scalar_one()
        hold = conn.execute(select(holds.c.released_on).where(holds.c.source == f"plan:{plan.plan_id}")).scalar_one()
    assert list_plans(store)[0].plan.status.value == "completed" and status == "closed"
    assert hold == date(2026, 10, 14)

    second = plan.instalments[1]
    returned = write_camt(tmp_path, "returned.xml", "054", [
        Payment(str(second.amount), direction="DBIT", reversal=True, end_to_end="E-2", bank_ref="B-2R",
                booked_on=date(2026, 10, 16))
    ], day=date(2026, 10, 16), msg_id="REV")
    reconcile_files(store, workspace, [returned], as_of=date(2026, 10, 16))
    _twice(store, workspace, date(2026, 10, 16))
    again = list_plans(store)[0].plan
    assert again.status.value == "active" and again.open == second.amount and again.ended_on is None
    with store.begin() as conn:
        status = conn.execute(select(cases.c.status).where(cases.c.id == r1)).scalar_one()
        hold = conn.execute(select(holds.c.released_on).where(holds.c.source == f"plan:{plan.plan_id}")).scalar_one()
        reopened = conn.execute(select(case_events.c.kind).where(case_events.c.kind == "plan_reopened")).scalars().all()
    assert hold is None and status == "on_hold" and reopened == ["plan_reopened"]
