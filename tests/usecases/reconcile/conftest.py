"""Fixtures for reconciliation: a workspace with imported cases and a first night run, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from dunning.domain.planning.flow_set import FlowSet
from dunning.store import Store
from dunning.store.schema import actions, cases, invoices
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.planning.night import load_flows, run_night
from dunning.workspace import Workspace, init_workspace, open_workspace
from tests.servers.sshd import SshdServer, start_sshd

IMPORTED_ON = date(2026, 10, 20)
FIRST_NIGHT = date(2026, 10, 25)
BANK_DAY = date(2026, 10, 27)


def ogm(compact: str) -> str:
    """``000000000101`` → ``+++000/0000/00101+++`` (as printed on the letters)."""
    return f"+++{compact[:3]}/{compact[3:7]}/{compact[7:]}+++"


@dataclass
class Bench:
    """A workspace whose ledger was imported and whose first night was run, with its store."""

    workspace: Workspace
    store: Store
    flows: FlowSet

    @property
    def root(self) -> Path:
        return self.workspace.root

    def case(self, case_id: int) -> Any:
        with self.store.begin() as conn:
            return conn.execute(select(cases).where(cases.c.id == case_id)).one()

    def invoices_of(self, case_id: int) -> dict[str, Any]:
        with self.store.begin() as conn:
            rows = conn.execute(select(invoices).where(invoices.c.case_id == case_id)).all()
        return {row.external_id: row for row in rows}

    def reference(self, case_id: int) -> str:
        """The case's reference as printed: an OGM for a debtor in Belgium, else the RF reference."""
        compact = str(self.case(case_id).reference)
        return compact if compact.startswith("RF") else ogm(compact)

    def night(self, day: date) -> list[dict[str, Any]]:
        return list(run_night(self.store, self.flows, day, creditor_country="BE").planned)

    def actions_of(self, case_id: int) -> list[str]:
        with self.store.begin() as conn:
            return list(conn.execute(select(actions.c.action).where(actions.c.case_id == case_id)).scalars())


@pytest.fixture()
def bench(store: Store, tmp_path: Path) -> Iterator[Bench]:
    root = tmp_path / "ws"
    init_workspace(root)
    workspace = open_workspace(root, environ={})
    import_ledger(
        store, root / "examples/open-items.csv", as_of=IMPORTED_ON, reference_kind=workspace.config.creditor.reference
    )
    flows, problems = load_flows(workspace.flows_dir)
    assert not problems
    run_night(store, flows, FIRST_NIGHT, creditor_country="BE")
    yield Bench(workspace, store, flows)


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdServer]:
    with start_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server
