"""The plan bot's messages stop under a dispute or a hard stop, never under the plan's own hold (real store)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from dunning.store import Store
from dunning.store.actions import insert_hold
from dunning.store.schema import actions, debtors, holds
from dunning.usecases.messaging.dispatch import dispatch_messages
from dunning.usecases.planning.night import load_flows, run_night
from dunning.usecases.plans.create import create_plan, list_plans
from dunning.workspace import Workspace, open_workspace
from tests.usecases.messaging.helpers import ENV
from tests.usecases.notify.helpers import IMPORTED, RECORDED, case_of, import_and_plan, make_workspace

AGREED = date(2026, 10, 6)
NIGHT = date(2026, 10, 12)  # 3 days before the first instalment falls due on the 15th
NOW = datetime(2026, 10, 12, 9, 0, tzinfo=UTC)  # a Monday morning in Brussels


@pytest.fixture
def workspace(tmp_path: Path, store: Store, store_url: str) -> Workspace:
    made = make_workspace(tmp_path / "ws", store_url)
    import_and_plan(store, made, night=IMPORTED)
    return open_workspace(made.root, environ={})


def _reminder_planned(store: Store, workspace: Workspace) -> int:
    with store.begin() as conn:
        conn.execute(update(debtors).where(debtors.c.external_id == "E2").values(email=None, phone="+32470999888"))
    create_plan(store, "E2", count=2, day=15, today=AGREED, policy=workspace.config.plans.policy(), created_by="clerk")
    flows, _ = load_flows(workspace.flows_dir)
    run_night(store, flows, NIGHT, creditor_country="BE", creditor_language="nl", recorded_at=RECORDED,
              plan_policy=workspace.config.plans.policy())
    return case_of(store, "E2")


def _sms_sent(workspace: Workspace) -> list[dict[str, str]]:
    outbox = workspace.root / "output" / "sms" / "outbox.jsonl"
    return [json.loads(line) for line in outbox.read_text().splitlines()] if outbox.exists() else []


def _status(store: Store, case_id: int) -> str:
    with store.begin() as conn:
        return str(conn.execute(select(actions.c.status).where(
            actions.c.case_id == case_id, actions.c.action == "plan_reminder")).scalar_one())


def test_a_dispute_holds_the_plan_reminder_until_it_is_lifted(store: Store, workspace: Workspace) -> None:
    case_id = _reminder_planned(store, workspace)
    with store.begin() as conn:
        insert_hold(conn, case_id, kind="dispute", reason="disputed on the pay page", start=NIGHT, until=None,
                    source="test:dispute")
    dispatch_messages(store, workspace, NIGHT, channels=("sms",), now=NOW, env=ENV)
    assert _sms_sent(workspace) == [] and _status(store, case_id) == "planned"  # waits, under the plan's hold too
    with store.begin() as conn:
        conn.execute(update(holds).where(holds.c.source == "test:dispute").values(released_on=NIGHT))
    dispatch_messages(store, workspace, NIGHT, channels=("sms",), now=NOW, env=ENV)
    assert len(_sms_sent(workspace)) == 1 and _status(store, case_id) == "sent"  # the plan's own hold lets it go


def test_a_deceased_debtor_gets_no_plan_message_at_all(store: Store, workspace: Workspace) -> None:
    case_id = _reminder_planned(store, workspace)
    with store.begin() as conn:
        insert_hold(conn, case_id, kind="deceased", reason="the debtor died", start=NIGHT, until=None,
                    source="test:deceased")
    dispatch_messages(store, workspace, NIGHT, channels=("sms",), now=NOW, env=ENV)
    assert _sms_sent(workspace) == [] and _status(store, case_id) == "cancelled"


def _bot_actions(store: Store, case_id: int) -> list[str]:
    with store.begin() as conn:
        return list(conn.execute(select(actions.c.action).where(
            actions.c.case_id == case_id, actions.c.action.like("plan_%")).order_by(actions.c.id)).scalars())


def test_no_miss_and_no_breach_is_decided_while_the_debt_is_disputed(store: Store, workspace: Workspace) -> None:
    case_id = _reminder_planned(store, workspace)  # instalment 1 falls due on 15 October; 5 grace days
    flows, _ = load_flows(workspace.flows_dir)
    policy = workspace.config.plans.policy()

    def night(day: date) -> None:
        run_night(store, flows, day, creditor_country="BE", creditor_language="nl", recorded_at=RECORDED,
                  plan_policy=policy)

    with store.begin() as conn:
        insert_hold(conn, case_id, kind="dispute", reason="disputed on the pay page", start=date(2026, 10, 13),
                    until=None, source="test:dispute")
    for day in (date(2026, 10, 21), date(2026, 10, 30), date(2026, 11, 20)):  # long past the grace days
        night(day)
        [plan] = [p.plan for p in list_plans(store) if p.case_id == case_id]
        assert plan.status.value == "active" and len(plan.instalments) == 2, day
        assert not {"missed", "deferred"} & {i.status.value for i in plan.instalments}, day
        assert not {"plan_missed", "plan_deferred", "plan_spread", "plan_breach_notice", "plan_ended"} \
            & set(_bot_actions(store, case_id)), day
    # the dispute is settled on 20 November: the instalments that fell due meanwhile get their 5 grace days again
    with store.begin() as conn:
        conn.execute(update(holds).where(holds.c.source == "test:dispute").values(released_on=date(2026, 11, 20)))
    night(date(2026, 11, 21))
    done = _bot_actions(store, case_id)
    assert "plan_grace_reminder" in done and "plan_missed" not in done and "plan_deferred" not in done
    night(date(2026, 11, 25))  # the last grace day
    assert "plan_missed" not in _bot_actions(store, case_id)
    night(date(2026, 11, 26))  # then judged as usual: the miss and the policy's answer
    done = _bot_actions(store, case_id)
    assert "plan_missed" in done and "plan_deferred" in done
    [plan] = [p.plan for p in list_plans(store) if p.case_id == case_id]
    assert plan.instalments[0].status.value == "deferred"
