"""The nightly run with the workspace's ``rates.yaml`` (SQLite and PostgreSQL): new rates, no warning."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select, update

from dunning.store import Store
from dunning.store.schema import actions
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.planning.night import load_flows, run_night
from dunning.usecases.planning.rates import workspace_rates
from dunning.workspace import Workspace, init_workspace, open_workspace

# A German company (§288(2) BGB: base rate + 9 points) due on 20 June: the b2b flow reminds it on
# 23 June (pay by 7 July) and charges interest with its second reminder the day after that deadline,
# day 18, 8 July, after the base rate changed on 1 July.
LEDGER = (
    "debtor_id,name,type,country,language,email,phone,street,postal_code,city,invoice_id,due_date,amount\n"
    "D1,Muster GmbH,company,DE,de,buchhaltung@muster.example,,Hauptstr. 1,10115,Berlin,I1,2026-06-20,10000.00\n"
)
RATES = """\
de_base_rate:
  verified_through: 2026-12-31
  periods:
    - {start: 2026-07-01, rate: "2.00", source: "Deutsche Bundesbank, Basiszinssatz (test figure)"}
"""


def _night(store: Store, ws: Workspace, last: date) -> tuple[list[str], Decimal]:
    """Every night from the import to ``last``; the warnings of all runs and the interest charged."""
    flows, problems = load_flows(ws.flows_dir)
    assert not [p for p in problems if p.severity == "error"]
    rates = workspace_rates(ws)
    warnings: list[str] = []
    day = date(2026, 6, 21)
    while day <= last:
        result = run_night(store, flows, day, creditor_country="BE", creditor_language="nl", rates=rates)
        warnings.extend(result.warnings)
        with store.begin() as conn:  # what the channel stages do: the messages go out
            conn.execute(update(actions).where(actions.c.status == "planned").values(status="sent"))
        day += timedelta(days=1)
    with store.begin() as conn:
        rows = conn.execute(select(actions.c.due_on, actions.c.amount).where(actions.c.action == "add_interest")).all()
    assert [r.due_on for r in rows] == [date(2026, 7, 8)]
    return warnings, rows[0].amount


def _workspace(tmp_path: Path, store: Store, rates: str | None) -> Workspace:
    root = tmp_path / "ws"
    init_workspace(root)
    if rates is not None:
        (root / "rates.yaml").write_text(rates, encoding="utf-8")
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(LEDGER, encoding="utf-8")
    import_ledger(store, ledger, as_of=date(2026, 6, 21), reference_kind="be-ogm")
    return open_workspace(root, environ={})


def test_with_the_new_semester_in_rates_yaml_interest_uses_it_and_the_warning_goes(
    store: Store, tmp_path: Path
) -> None:
    warnings, interest = _night(store, _workspace(tmp_path, store, RATES), date(2026, 7, 10))
    assert not [w for w in warnings if "not verified" in w]
    # interest from the day after the reminder (24 June) to 8 July on €10,000, split on 1 July:
    # 7 days at 1.27 + 9 = 10.27 % (19.70) and 8 days at 2.00 + 9 = 11.00 % (24.11)
    assert interest == Decimal("43.81")


def test_without_a_rates_file_the_night_warns_and_keeps_the_last_verified_rate(store: Store, tmp_path: Path) -> None:
    warnings, interest = _night(store, _workspace(tmp_path, store, None), date(2026, 7, 10))
    assert any("rate table de_base_rate not verified after 2026-06-30" in w and "rates.yaml" in w for w in warnings)
    assert interest == Decimal("42.21")  # 15 days at 10.27 %
