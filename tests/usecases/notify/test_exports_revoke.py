"""A hand-over (to an agency, or to a lawyer or bailiff) revokes the case's pay links when its export is
written, on the timeline; a second run revokes nothing again."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from dunning.store import Store
from dunning.usecases.cases.view import case_detail
from dunning.usecases.notify.exports import write_exports
from dunning.usecases.paypage.revoke import link_status, restore_links
from dunning.workspace import Workspace
from tests.usecases.notify.helpers import NIGHT, case_of, import_and_plan, make_workspace

NOW = datetime(2026, 10, 20, 23, 0, tzinfo=UTC)


@pytest.fixture
def planned(tmp_path: Path, store: Store, store_url: str) -> Workspace:
    workspace = make_workspace(tmp_path / "ws", store_url)
    import_and_plan(store, workspace)
    return workspace


def _revoked(store: Store, workspace: Workspace, external_id: str) -> tuple[bool, str | None]:
    status = link_status(store, workspace, str(case_of(store, external_id)), NIGHT)
    return status.revoked, status.reason


def test_a_written_hand_over_revokes_the_cases_pay_links(planned: Workspace, store: Store) -> None:
    assert _revoked(store, planned, "R1") == (False, None)
    write_exports(store, planned, NIGHT, now=NOW)
    assert _revoked(store, planned, "R1") == (True, "handed over to a collection agency")
    assert _revoked(store, planned, "E2") == (True, "handed over to a lawyer or bailiff")
    entries = [e for e in case_detail(store, str(case_of(store, "R1"))).timeline if e.kind == "paylinks_revoked"]
    assert [(e.on_date, e.what, e.why) for e in entries] == [
        (NIGHT, "pay links revoked by dunning", "handed over to a collection agency")]
    # a person may restore them (say the agency sends the debtor back to the creditor); a re-run revokes nothing
    restore_links(store, planned, str(case_of(store, "R1")), by="anna", on=NIGHT, at=NOW)
    write_exports(store, planned, NIGHT, now=NOW)
    assert _revoked(store, planned, "R1") == (False, None)
