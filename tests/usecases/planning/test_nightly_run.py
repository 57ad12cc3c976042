"""The nightly run against the store (SQLite and PostgreSQL): exactly once, catch-up, legal fees."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from dunning.store import Store
from dunning.store.schema import actions, case_events, cases, runs
from dunning.usecases.cases.view import case_detail
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.planning.night import load_flows, run_night
from dunning.workspace import init_workspace

HEADER = "debtor_id,name,type,country,language,email,phone,street,postal_code,city,invoice_id,due_date,amount\n"
LEDGER = HEADER + (
    "B1,Jan Peeters,person,BE,nl,jan@example.be,,Kerkstraat 1,2000,Antwerpen,I1,2026-10-01,1000.00\n"
    "B2,Marie Dubois,person,BE,fr,,,Rue Haute 2,1000,Bruxelles,I2,2026-10-01,215.00\n"
    "N1,Piet de Vries,person,NL,nl,piet@example.nl,,Dam 1,1012 JS,Amsterdam,I3,2026-10-01,1000.00\n"
    "C1,Garage Lemaire SRL,company,BE,fr,compta@garage.example,,Chaussée 5,5000,Namur,I4,2026-10-01,5000.00\n"
)


@pytest.fixture()
def flows(tmp_path: Path):  # type: ignore[no-untyped-def]
    init_workspace(tmp_path / "ws")
    flow_set, problems = load_flows(tmp_path / "ws" / "flows")
    assert not [p for p in problems if p.severity == "error"]
    return flow_set


def _import(store: Store, tmp_path: Path, text: str = LEDGER, as_of: date = date(2026, 10, 2)) -> None:
    path = tmp_path / f"ledger-{as_of}.csv"
    path.write_text(text, encoding="utf-8")
    # these snapshots settle most cases on purpose
    import_ledger(store, path, as_of=as_of, reference_kind="be-ogm", allow_mass_close=True)


def _run(store: Store, flows, day: date, **kwargs):  # type: ignore[no-untyped-def]
    return run_night(store, flows, day, creditor_country="BE", creditor_language="nl", **kwargs)


def _keys(store: Store) -> list[str]:
    with store.begin() as conn:
        return sorted(conn.execute(select(actions.c.idempotency_key)).scalars())


def _mark_sent(store: Store) -> None:
    """What the channel stages do: planned letters, emails and SMS are sent."""
    with store.begin() as conn:
        conn.execute(update(actions).where(actions.c.status == "planned").values(status="sent"))


def test_same_night_twice_adds_nothing_and_dry_run_writes_nothing(store: Store, flows, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _import(store, tmp_path)
    dry = _run(store, flows, date(2026, 10, 8), dry_run=True)
    assert dry.summary()["new_actions"] == 4 and _keys(store) == []
    with store.begin() as conn:
        assert conn.execute(select(func.count()).select_from(runs)).scalar_one() == 0
    first = _run(store, flows, date(2026, 10, 8))
    assert first.by_channel == {"email": 3, "letter": 1}  # Marie has no email: her first reminder is a letter
    assert [a["key"] for a in first.planned] == [a["key"] for a in dry.planned]
    keys = _keys(store)
    again = _run(store, flows, date(2026, 10, 8))
    assert again.summary()["new_actions"] == 0 and _keys(store) == keys


def test_first_reminder_is_free_and_costs_wait_for_the_legal_period(store: Store, flows, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _import(store, tmp_path)
    day = date(2026, 10, 8)
    while day <= date(2026, 12, 31):
        _run(store, flows, day)
        _mark_sent(store)
        day += timedelta(days=1)
    with store.begin() as conn:
        rows = conn.execute(
            select(cases.c.id, actions.c.action, actions.c.due_on, actions.c.amount, actions.c.step)
            .join(cases, cases.c.id == actions.c.case_id)
            .order_by(actions.c.due_on, actions.c.id)
        ).all()
        fees = {r.id: r.fees_amount for r in conn.execute(select(cases.c.id, cases.c.fees_amount))}
    by_case: dict[int, list] = {}
    for row in rows:
        by_case.setdefault(row.id, []).append(row)
    jan = by_case[1]  # BE consumer, €1,000, first reminder by email on 8 October
    first = next(r for r in jan if r.step == "first_reminder")
    assert first.amount is None and first.due_on == date(2026, 10, 8)
    fee = next(r for r in jan if r.action == "add_fee")
    # Book XIX: the 14-day period starts the day after the email: costs from 23 October at the earliest
    assert fee.due_on >= first.due_on + timedelta(days=15)
    assert fee.amount == Decimal("90.00")  # €65 + 5 % of the part above €500
    marie = by_case[2]  # BE consumer, €215, first reminder by letter: €30 + 10 % of €65
    assert next(r for r in marie if r.action == "add_fee").amount == Decimal("36.50")
    piet = by_case[3]  # NL consumer: WIK 15 % of €1,000
    assert next(r for r in piet if r.action == "add_fee").amount == Decimal("150.00")
    assert fees[1] == Decimal("90.00") and fees[3] == Decimal("150.00")
    # never two contacts to one debtor on one night
    for case_rows in by_case.values():
        contact_days = [r.due_on for r in case_rows if r.action.startswith("send")]
        assert len(contact_days) == len(set(contact_days))


def test_catch_up_after_missed_nights_converges(tmp_path: Path, flows) -> None:  # type: ignore[no-untyped-def]
    from dunning.store import open_store

    nightly = open_store(f"sqlite:///{tmp_path / 'nightly.db'}")
    missed = open_store(f"sqlite:///{tmp_path / 'missed.db'}")
    for store in (nightly, missed):
        _import(store, tmp_path)
    day = date(2026, 10, 5)
    # the catch-up replays the flow at its pace from the day each step went out (dunning.domain.planning.pacing),
    # so the missed nights are made up later: both are compared once every flow has ended
    while day <= date(2027, 2, 28):
        _run(nightly, flows, day)
        _mark_sent(nightly)
        if day in (date(2026, 10, 5), date(2026, 10, 30)) or day >= date(2026, 11, 20):
            _run(missed, flows, day)  # the machine was off between these nights
            _mark_sent(missed)
        day += timedelta(days=1)

    def steps(store: Store) -> set[tuple[int, str, str]]:
        with store.begin() as conn:
            return {tuple(r) for r in conn.execute(select(actions.c.case_id, actions.c.step, actions.c.action))}

    assert steps(missed) == steps(nightly)


def test_paid_case_gets_its_thank_you_and_then_nothing(store: Store, flows, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _import(store, tmp_path)
    _run(store, flows, date(2026, 10, 8))
    _mark_sent(store)
    _import(store, tmp_path, HEADER + LEDGER.splitlines(keepends=True)[2], as_of=date(2026, 10, 9))  # only Marie open
    result = _run(store, flows, date(2026, 10, 10))
    thanked = {a["case"] for a in result.planned if a["step"] == "on_paid"}
    assert thanked == {1, 3, 4}
    _mark_sent(store)
    assert _run(store, flows, date(2026, 10, 11)).summary()["new_actions"] == 0
    with store.begin() as conn:
        stages = {r.id: r.stage for r in conn.execute(select(cases.c.id, cases.c.stage))}
        assert conn.execute(select(func.count()).select_from(case_events)).scalar_one() > 0
    assert stages[1] == "finished"
    timeline = case_detail(store, "1").timeline
    assert [e.kind for e in timeline][-1] == "action:sent"
