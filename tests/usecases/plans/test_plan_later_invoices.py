"""A payment for an invoice added to the case after the plan was made is not credited to instalments (real store)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from dunning.store import Store
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.planning.night import load_flows, run_night
from dunning.usecases.plans.create import create_plan, list_plans
from dunning.usecases.reconcile.run import reconcile_files
from dunning.workspace import Workspace, open_workspace
from tests.usecases.notify.helpers import HEADER, IMPORTED, RECORDED, ROWS, import_and_plan, make_workspace
from tests.usecases.reconcile.camt_build import Payment, write_camt

AGREED = date(2026, 10, 6)
LATER_ROW = ("E2,Marie Dubois,person,fr,Rue de la Loi 44,1040,Etterbeek,BE,marie@example.be,,,energy,"
             "INV-2026-00009,2026-10-01,2026-10-07,80.00,80.00,EUR,Energy")


@pytest.fixture
def workspace(tmp_path: Path, store: Store, store_url: str) -> Workspace:
    made = make_workspace(tmp_path / "ws", store_url)
    import_and_plan(store, made, night=IMPORTED)
    return open_workspace(made.root, environ={})


def test_a_payment_naming_a_later_invoice_pays_it_not_an_instalment(
    store: Store, workspace: Workspace, tmp_path: Path
) -> None:
    plan = create_plan(store, "E2", count=2, day=15, today=AGREED, policy=workspace.config.plans.policy(),
                       created_by="clerk", recorded_at=RECORDED).plan
    later = tmp_path / "later.csv"
    later.write_text("\n".join([HEADER, *ROWS, LATER_ROW]) + "\n", encoding="utf-8")
    import_ledger(store, later, as_of=date(2026, 10, 8), reference_kind="be-ogm")
    paid = write_camt(tmp_path, "paid.xml", "054", [
        Payment("80.00", text="Marie Dubois facture INV-2026-00009", name="Marie Dubois", bank_ref="B-9",
                end_to_end="E-9")], day=date(2026, 10, 9))
    result = reconcile_files(store, workspace, [paid], as_of=date(2026, 10, 9))
    assert result.summary()["outcomes"]["matched"]["count"] == 1, result.summary()
    flows, _ = load_flows(workspace.flows_dir)
    run_night(store, flows, date(2026, 10, 9), creditor_country="BE", creditor_language="nl", recorded_at=RECORDED,
              plan_policy=workspace.config.plans.policy())
    after = list_plans(store)[0].plan
    assert after.plan_id == plan.plan_id and after.paid == 0 and after.open == plan.total
