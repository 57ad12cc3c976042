"""Running the same date twice adds nothing, fees included: a property over random ledgers and dates.

Issue 17, item 6: a second run of a date once added 38 zero-amount German fees, because the night's
free first reminder had gone out in between (the channel stages ran) and a pack without a waiting
period let a cost fall on the notice's own day. Here random ledgers (BE, NL, DE and FR persons and
companies, with and without email or address, invoices overdue or not yet due) are walked over
random nights on the shipped flows; each night the channel stages send what was planned (and book
the messages' fees, as they do). Then the last night runs again: no action, no fee, no row.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from dunning.domain.planning.flow_set import FlowSet
from dunning.store import Store, open_store
from dunning.store.schema import actions, case_events, cases
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.outgoing.fees import MESSAGE_CHANNELS, book_message_fee
from dunning.usecases.planning.night import load_flows, run_night
from dunning.workspace import init_workspace

START = date(2026, 10, 1)
HEADER = "debtor_id,name,type,country,language,email,phone,street,postal_code,city,invoice_id,due_date,amount\n"

invoice = st.tuples(
    st.integers(min_value=-30, max_value=120),  # days overdue on START (negative: not yet due)
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("4000"), places=2),
)
debtor = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["person", "company"]),
        "country": st.sampled_from(["BE", "NL", "DE", "FR"]),
        "email": st.booleans(),
        "address": st.booleans(),
        "invoices": st.lists(invoice, min_size=1, max_size=3),
    }
)
ledgers = st.lists(debtor, min_size=1, max_size=6)
nights = st.lists(st.integers(min_value=0, max_value=70), min_size=1, max_size=4, unique=True)


def _ledger(debtors: list[dict[str, Any]]) -> str:
    rows = []
    for n, d in enumerate(debtors):
        email = f"d{n}@example.com" if d["email"] else ""
        street, postal, city = ("Kerkstraat 1", "2000", "Antwerpen") if d["address"] else ("", "", "")
        for k, (overdue, amount) in enumerate(d["invoices"]):
            due = START - timedelta(days=overdue)
            rows.append(
                f"D{n},Debtor {n},{d['type']},{d['country']},nl,{email},,{street},{postal},{city},"
                f"I{n}-{k},{due.isoformat()},{amount}\n"
            )
    return HEADER + "".join(rows)


def _channel_stages(store: Store, day: date) -> None:
    """What dispatch and letters do with the night's messages: sent that day, their fees booked."""
    at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=3)
    with store.begin() as conn:
        sent = list(
            conn.execute(
                select(actions.c.id).where(
                    actions.c.status == "planned", actions.c.channel.in_(MESSAGE_CHANNELS), actions.c.due_on <= day
                )
            ).scalars()
        )
        conn.execute(update(actions).where(actions.c.id.in_(sent)).values(status="sent", outcome_on=day))
        for action_id in sent:
            book_message_fee(conn, action_id, on_date=day, recorded_at=at, source="test")


def _snapshot(store: Store) -> tuple[Any, ...]:
    with store.begin() as conn:
        rows = conn.execute(
            select(actions.c.idempotency_key, actions.c.status, actions.c.amount).order_by(actions.c.id)
        ).all()
        amounts = conn.execute(
            select(cases.c.id, cases.c.fees_amount, cases.c.interest_amount).order_by(cases.c.id)
        ).all()
        events = conn.execute(select(func.count()).select_from(case_events)).scalar_one()
    return tuple(map(tuple, rows)), tuple(map(tuple, amounts)), events


def _flows() -> FlowSet:
    root = Path(tempfile.mkdtemp(prefix="dunning-flows-"))
    init_workspace(root / "ws")
    flow_set, problems = load_flows(root / "ws" / "flows")
    assert not [p for p in problems if p.severity == "error"]
    return flow_set


FLOWS = _flows()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledger=ledgers, offsets=nights)
def test_running_a_date_again_adds_no_action_no_fee_no_row(ledger: list[dict[str, Any]], offsets: list[int]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{folder}/state.db")
        try:
            path = Path(folder) / "ledger.csv"
            path.write_text(_ledger(ledger), encoding="utf-8")
            import_ledger(store, path, as_of=START, reference_kind="be-ogm")
            days = [START + timedelta(days=n) for n in sorted(offsets)]
            for day in days:
                run_night(store, FLOWS, day, creditor_country="BE", creditor_language="nl")
                _channel_stages(store, day)
            before = _snapshot(store)
            again = run_night(store, FLOWS, days[-1], creditor_country="BE", creditor_language="nl")
            assert again.planned == (), again.planned
            _channel_stages(store, days[-1])
            assert _snapshot(store) == before
        finally:
            store.dispose()


def test_a_german_free_first_reminder_sent_tonight_adds_no_cost_on_a_second_run(tmp_path: Path) -> None:
    """The issue's case: German consumers reminded tonight, the reminders sent, the night run again."""
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    path = tmp_path / "ledger.csv"
    rows = "".join(
        f"G{n},Kunde {n},person,DE,de,k{n}@example.de,,Hauptstr. 1,10115,Berlin,R{n},2026-08-01,120.00\n"
        for n in range(5)
    )
    path.write_text(HEADER + rows, encoding="utf-8")
    import_ledger(store, path, as_of=START, reference_kind="rf")
    first = run_night(store, FLOWS, START, creditor_country="BE", creditor_language="nl")
    assert first.by_action == {"send_email": 5}  # the catch-up starts with the free first reminder
    _channel_stages(store, START)
    again = run_night(store, FLOWS, START, creditor_country="BE", creditor_language="nl")
    assert again.planned == ()  # before the fix: five add_fee of 0.00
    store.dispose()
