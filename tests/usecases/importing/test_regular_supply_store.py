"""Regular-supply bills through the store (SQLite and PostgreSQL): the ledger flag is kept, and the
nightly run counts the debtor's reminded due dates across cases (Book XIX: 3 free per calendar year)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from dunning.domain.planning.flow_set import load_flow_set
from dunning.store import Store
from dunning.store.schema import actions, case_events, invoices
from dunning.usecases.cases.view import case_detail
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.planning.night import run_night

HEADER = "debtor_id,name,type,country,street,postal_code,city,invoice_id,due_date,amount"
FLOW = {
    "name": "default",
    "version": 1,
    "steps": [
        {
            "key": "reminder",
            "day": 5,
            "action": "send_letter",
            "settings": {"fee": "legal_max", "postage": "1.45"},
            "when": {"regular_supply": True},
        }
    ],
}


def _import(store: Store, tmp_path: Path, as_of: date, rows: list[str], supply_column: bool = True) -> None:
    header = HEADER + (",contract type" if supply_column else "")
    path = tmp_path / f"ledger-{as_of}.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    # one debtor: a snapshot that settles its case closes "all open cases"; that is the point here
    import_ledger(store, path, as_of=as_of, reference_kind="be-ogm", allow_mass_close=True)


def _bill(due: date, kind: str = "energy", amount: str = "84.00") -> str:
    return f"K1,An Peeters,person,BE,Kerkstraat 1,2000,Antwerpen,E-{due.isoformat()},{due.isoformat()},{amount},{kind}"


def test_fourth_unpaid_due_date_of_the_year_is_charged_and_a_new_year_starts_again(
    store: Store, tmp_path: Path
) -> None:
    flows, problems = load_flow_set({"flows/default.yaml": FLOW})
    assert problems == []
    dues = [date(2026, 1, 15), date(2026, 2, 15), date(2026, 3, 15), date(2026, 4, 15), date(2027, 1, 15)]
    for due in dues:
        _import(store, tmp_path, due + timedelta(days=2), [_bill(due)])  # the bill is open: a new case
        run_night(store, flows, due + timedelta(days=5), creditor_country="BE")
        _import(store, tmp_path, due + timedelta(days=20), [_bill(due, amount="0.00")])  # paid: the case closes
    with store.begin() as conn:
        letters = conn.execute(
            select(actions.c.case_id, actions.c.due_on, actions.c.amount, actions.c.detail)
            .where(actions.c.action == "send_letter")
            .order_by(actions.c.due_on)
        ).all()
        flags = set(conn.execute(select(invoices.c.regular_supply)).scalars())
    assert flags == {True}
    assert len({row.case_id for row in letters}) == 5  # one case per bill
    assert [(row.due_on, row.amount) for row in letters] == [
        (date(2026, 1, 20), Decimal("0.00")),
        (date(2026, 2, 20), Decimal("0.00")),
        (date(2026, 3, 20), Decimal("0.00")),
        (date(2026, 4, 20), Decimal("8.95")),
        (date(2027, 1, 20), Decimal("0.00")),
    ]
    explanations = [
        next(f["explanation"] for f in row.detail["figures"] if f["name"] == "regular_supply_fee") for row in letters
    ]
    assert "3rd unpaid due date in 2026" in explanations[2] and "free" in explanations[2]
    assert explanations[3].startswith("€8.95 = Book XIX regular supply: 4th unpaid due date in 2026 (2026-04-15)")
    assert "1st unpaid due date in 2027" in explanations[4]
    # the case timeline says why the April reminder costs €8.95
    timeline = case_detail(store, str(letters[3].case_id)).timeline
    (entry,) = [e for e in timeline if e.what == "send letter by letter"]
    assert entry.amount == Decimal("8.95") and "4th unpaid due date in 2026" in entry.why


def test_the_ledger_flag_is_stored_updated_and_kept_when_a_file_does_not_state_it(
    store: Store, tmp_path: Path
) -> None:
    bill = _bill(date(2026, 5, 15))
    _import(store, tmp_path, date(2026, 5, 16), [bill.rsplit(",", 1)[0]], supply_column=False)
    with store.begin() as conn:
        assert conn.execute(select(invoices.c.regular_supply)).scalar_one() is None
    _import(store, tmp_path, date(2026, 5, 17), [bill.replace(",energy", ",one-off")])
    _import(store, tmp_path, date(2026, 5, 18), [bill])
    with store.begin() as conn:
        assert conn.execute(select(invoices.c.regular_supply)).scalar_one() is True
        changes = conn.execute(
            select(case_events.c.detail).where(case_events.c.kind == "invoice_changed").order_by(case_events.c.id)
        ).scalars()
        assert [d.get("regular_supply") for d in changes] == [False, True]
    # an import that does not state the flag leaves it as it was
    _import(store, tmp_path, date(2026, 5, 19), [bill.rsplit(",", 1)[0]], supply_column=False)
    with store.begin() as conn:
        assert conn.execute(select(invoices.c.regular_supply)).scalar_one() is True
