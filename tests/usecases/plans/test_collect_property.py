"""Property: whatever nights ``dunning plans collect`` runs on (repeated, skipped, crashing), every
instalment of a direct-debit plan is in exactly one pain.008 file on disk, every file validates against
the XSD, and its control sums equal the amounts of the instalments it collects (SQLite, a real store).

Each example starts from a copy of one prepared workspace and database (the ledger imported).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from dunning.bank.pain008 import schema_path
from dunning.domain.plans.policy import PlanPolicy
from dunning.store import open_store
from dunning.store.plans import load_plan
from dunning.usecases.plans import directdebit
from dunning.usecases.plans.create import create_plan
from dunning.usecases.plans.directdebit import capture_mandate, collect, sepa_dir
from dunning.workspace import open_workspace
from tests.usecases.notify.helpers import IMPORTED, import_and_plan, make_workspace
from tests.usecases.plans.test_directdebit import DEBTOR_IBAN, _configure

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"}
AGREED = date(2026, 10, 6)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("prepared") / "ws"
    url = f"sqlite:///{root.parent / 'state.db'}"
    workspace = make_workspace(root, url)
    store = open_store(url)
    import_and_plan(store, workspace, night=IMPORTED)
    store.dispose()
    _configure(root)
    yield root.parent


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    count=st.integers(min_value=2, max_value=6),
    day=st.integers(min_value=1, max_value=28),
    signed_before=st.integers(min_value=0, max_value=20),
    nights=st.lists(st.integers(min_value=0, max_value=220), min_size=1, max_size=25),
    crash_at=st.one_of(st.none(), st.integers(min_value=0, max_value=24)),
)
def test_every_instalment_once_and_the_sums_add_up(
    prepared: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
    count: int, day: int, signed_before: int, nights: list[int], crash_at: int | None,
) -> None:
    copy = tmp_path_factory.mktemp("example")
    shutil.copytree(prepared, copy, dirs_exist_ok=True)
    store = open_store(f"sqlite:///{copy / 'state.db'}")
    try:
        workspace = open_workspace(copy / "ws", environ={"DUNNING_DATABASE": f"sqlite:///{copy / 'state.db'}"})
        plan = create_plan(store, "R1", count=count, day=day, today=AGREED, policy=PlanPolicy(),
                           created_by="clerk").plan
        capture_mandate(store, plan.plan_id, iban=DEBTOR_IBAN, signed_on=AGREED - timedelta(days=signed_before),
                        today=AGREED, config=workspace.config, captured_by="clerk")
        real_write = directdebit._write_local
        # the nights given (in order, repeats allowed), then every night to the end: nothing may be left out
        schedule = [AGREED + timedelta(days=n) for n in nights]
        schedule += [AGREED + timedelta(days=n) for n in range(0, 240, 6)]
        for number, night in enumerate(schedule):
            if number == crash_at:
                def crash(*_: object) -> bool:
                    raise OSError("power cut")

                monkeypatch.setattr(directdebit, "_write_local", crash)
                try:  # the power goes when a file is to be written (if one is, that night)
                    collect(store, workspace, today=night)
                except OSError:
                    pass
                finally:
                    monkeypatch.setattr(directdebit, "_write_local", real_write)
                continue
            collect(store, workspace, today=max(night, AGREED))
        schema = etree.XMLSchema(etree.parse(schema_path("pain.008.001.08")))
        seen: list[str] = []
        amounts = Decimal(0)
        for path in sorted(sepa_dir(workspace.root).iterdir()):
            document = etree.parse(str(path))
            assert schema.validate(document), schema.error_log
            root = document.getroot()
            lines = [Decimal(str(e.text)) for e in root.iterfind(".//p:InstdAmt", NS)]
            header = Decimal(root.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) or "")
            assert header == sum(lines, Decimal(0))
            assert sum(Decimal(str(e.text)) for e in root.iterfind(".//p:PmtInf/p:CtrlSum", NS)) == header
            seen += [str(e.text) for e in root.iterfind(".//p:EndToEndId", NS)]
            amounts += header
        assert sorted(seen) == [f"DD-{plan.plan_id}-{n:02d}" for n in range(1, count + 1)]
        with store.begin() as conn:
            stored = load_plan(conn, plan.plan_id)
        assert stored is not None and amounts == stored.plan.total
    finally:
        store.dispose()
