"""Export files (hand-over, lawyer, address check): one per night and recipient, each action once, checksummed."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from dunning.store import Store
from dunning.store.schema import actions, case_events, cases, documents
from dunning.usecases.cases.view import case_detail
from dunning.usecases.notify.exports import write_exports
from dunning.workspace import Workspace
from tests.usecases.notify.helpers import NIGHT, action_rows, case_of, events, import_and_plan, make_workspace

NOW = datetime(2026, 10, 20, 23, 0, tzinfo=UTC)
FOLDER = Path("output/exports/2026-10-20")


@pytest.fixture
def planned(tmp_path: Path, store: Store, store_url: str) -> Workspace:
    workspace = make_workspace(tmp_path / "ws", store_url)
    import_and_plan(store, workspace)
    return workspace


def _files(workspace: Workspace) -> dict[str, bytes]:
    folder = workspace.root / FOLDER
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


def _check_sidecar(workspace: Workspace, name: str) -> str:
    path = workspace.root / FOLDER / name
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert path.with_name(name + ".sha256").read_text() == f"{digest}  {name}\n"
    return digest


def test_exports_are_written_once_with_their_content_and_checksum(planned: Workspace, store: Store) -> None:
    with store.begin() as conn:  # the creditor was told first: part of the history the agency receives
        conn.execute(update(actions).where(actions.c.action == "notify_creditor").values(status="delivered"))
    result = write_exports(store, planned, NIGHT, now=NOW)

    assert (result.due, result.exported, result.failed) == (3, 3, 0)
    files = _files(planned)
    assert sorted(files) == [
        "escalate_to_legal-lawyer-2026-10-20.csv", "escalate_to_legal-lawyer-2026-10-20.csv.sha256",
        "hand_over-ACME_Collect-2026-10-20.json", "hand_over-ACME_Collect-2026-10-20.json.sha256",
        "verify_address-addresscheck-2026-10-20.csv", "verify_address-addresscheck-2026-10-20.csv.sha256",
    ]
    hand_over = json.loads(files["hand_over-ACME_Collect-2026-10-20.json"])
    assert (hand_over["export"], hand_over["recipient"], hand_over["count"]) == ("hand_over", "ACME Collect", 1)
    [case] = hand_over["cases"]
    assert case["case"] == case_of(store, "R1") and case["reference"].startswith("+++")
    assert case["debtor"] == {"id": "R1", "name": "Jan Peeters", "street": "Kerkstraat 1", "postal_code": "2000",
                              "city": "Antwerpen", "country": "BE", "type": "person", "language": "nl",
                              "email": "jan@example.be", "phone": "+32470123456"}
    assert (case["principal"], case["fees"], case["interest"], case["total"]) == ("150.25", "0.00", "0.00", "150.25")
    assert [(i["invoice"], i["open_amount"]) for i in case["invoices"]] == [("INV-2026-00001", "100.00"),
                                                                           ("INV-2026-00002", "50.25")]
    assert case["instructions"] == {"agency": "ACME Collect"}
    assert case["history"] == [{"date": "2026-10-20", "what": "notify_creditor", "channel": "webhook",
                                "status": "delivered", "amount": None, "document": None}]  # include_documents

    legal = list(csv.DictReader(io.StringIO(files["escalate_to_legal-lawyer-2026-10-20.csv"].decode())))
    assert [(r["case"], r["name"], r["invoice"], r["open_amount"], r["total"]) for r in legal] == [
        (str(case_of(store, "E2")), "Marie Dubois", "INV-2026-00003", "150.50", "150.50")]
    assert legal[0]["instructions"] == "to: lawyer; note: summary procedure"
    assert legal[0]["history"] == "2026-10-20 notify_creditor webhook delivered"
    assert "email" not in legal[0]  # a lawyer gets the postal address; the agency gets contact data

    check = list(csv.DictReader(io.StringIO(files["verify_address-addresscheck-2026-10-20.csv"].decode())))
    assert list(check[0]) == ["case", "reference", "debtor_id", "name", "street", "postal_code", "city", "country"]
    assert (check[0]["name"], check[0]["street"], check[0]["city"]) == ("Jan Peeters", "Kerkstraat 1", "Antwerpen")

    digests = {name: _check_sidecar(planned, name) for name in files if not name.endswith(".sha256")}
    with store.begin() as conn:
        docs = {r.path: r.sha256 for r in conn.execute(select(documents).where(documents.c.kind == "export"))}
    assert docs == {str(FOLDER / name): digest for name, digest in digests.items()}
    assert {a.status for a in action_rows(store, "export")} == {"done"}
    written = events(store, "export_written")
    assert len(written) == 3 and {e.detail["file"] for e in written} == set(docs)
    timeline = case_detail(store, "R1").timeline
    assert any(e.kind == "export_written" and "hand over exported to" in e.why for e in timeline)
    assert [e.kind for e in timeline].count("action:done") == 2

    again = write_exports(store, planned, NIGHT, now=NOW)
    assert (again.due, again.exported, again.files) == (0, 0, [])
    assert _files(planned) == files and len(events(store, "export_written")) == 3


def test_a_crash_after_writing_records_the_same_file_without_a_second_one(planned: Workspace, store: Store) -> None:
    write_exports(store, planned, NIGHT, now=NOW)
    before = _files(planned)
    mtimes = {p.name: p.stat().st_mtime_ns for p in (planned.root / FOLDER).iterdir()}
    with store.begin() as conn:  # the state a crash between writing and recording leaves behind
        conn.execute(update(documents).where(documents.c.kind == "export").values(sha256=""))
        conn.execute(update(actions).where(actions.c.channel == "export").values(status="planned", outcome_on=None))
        conn.execute(delete(case_events).where(case_events.c.kind == "export_written"))

    result = write_exports(store, planned, NIGHT, now=NOW)
    assert (result.recovered, result.exported, len(result.files)) == (3, 3, 3)
    assert _files(planned) == before  # same names, same bytes: the finished files were kept
    assert {p.name: p.stat().st_mtime_ns for p in (planned.root / FOLDER).iterdir()} == mtimes
    assert {a.status for a in action_rows(store, "export")} == {"done"}
    assert len(events(store, "export_written")) == 3


def test_a_crash_before_writing_finishes_the_chosen_file(planned: Workspace, store: Store) -> None:
    write_exports(store, planned, NIGHT, now=NOW)
    before = _files(planned)
    for path in (planned.root / FOLDER).iterdir():  # crash before anything reached the disk
        path.unlink()
    with store.begin() as conn:
        conn.execute(update(documents).where(documents.c.kind == "export").values(sha256=""))
        conn.execute(update(actions).where(actions.c.channel == "export").values(status="planned", outcome_on=None))
        conn.execute(delete(case_events).where(case_events.c.kind == "export_written"))

    result = write_exports(store, planned, NIGHT, now=NOW)
    assert (result.recovered, result.exported) == (3, 3)
    assert _files(planned) == before  # the same file names again, and the same content


def test_later_actions_the_same_night_go_into_a_new_file_and_closed_cases_are_cancelled(
        planned: Workspace, store: Store) -> None:
    r1, e2 = case_of(store, "R1"), case_of(store, "E2")
    first = write_exports(store, planned, NIGHT, now=NOW)
    assert first.exported == 3
    written = _files(planned)

    with store.begin() as conn:  # planned later the same night: another address check, another lawyer's file
        for row in conn.execute(select(actions).where(actions.c.action.in_(("verify_address", "escalate_to_legal")))
                                ).mappings().all():
            copy = {k: v for k, v in row.items() if k != "id"}
            conn.execute(actions.insert().values(**{**copy, "idempotency_key": row["idempotency_key"] + "|cycle:2",
                                                    "status": "planned", "outcome_on": None}))
        conn.execute(update(cases).where(cases.c.id == e2).values(status="closed"))  # paid before it went out
    second = write_exports(store, planned, NIGHT, now=NOW)
    assert (second.due, second.exported, second.cancelled) == (2, 1, 1)
    assert second.files == [str(FOLDER / "verify_address-addresscheck-2026-10-20-2.csv")]
    assert {k: v for k, v in _files(planned).items() if k in written} == written  # written files never change
    rows = list(csv.DictReader(io.StringIO((planned.root / second.files[0]).read_text())))
    assert [r["case"] for r in rows] == [str(r1)]
    _check_sidecar(planned, "verify_address-addresscheck-2026-10-20-2.csv")
    cancelled = [a for a in action_rows(store, "export") if a.status == "cancelled"]
    assert [(a.action, a.case_id) for a in cancelled] == [("escalate_to_legal", e2)]


def test_a_hand_over_asks_the_total_that_cases_shows(planned: Workspace, store: Store, tmp_path: Path) -> None:
    """Fees and interest charged, then partly paid from a real camt.054: the agency is asked what is still owed,
    the same total as `dunning cases` (and the letters)."""
    from decimal import Decimal

    from dunning.domain.references import parse_reference
    from dunning.store.cases import add_case_fee, add_case_interest
    from dunning.usecases.cases.view import list_cases
    from dunning.usecases.reconcile.run import reconcile_files
    from tests.usecases.reconcile.camt_build import Payment, write_camt

    case_id = case_of(store, "R1")
    with store.begin() as conn:
        add_case_fee(conn, case_id, Decimal("20.00"))
        add_case_interest(conn, case_id, Decimal("3.00"))
        reference = conn.execute(select(cases.c.reference).where(cases.c.id == case_id)).scalar_one()
    camt = write_camt(tmp_path, "part.xml", "054",
                      [Payment("25.00", ref=parse_reference(reference).printed, bank_ref="P-1")], day=NIGHT)
    assert reconcile_files(store, planned, [camt], as_of=NIGHT, recorded_at=NOW).summary()["cases_partly_paid"] == [
        case_id]
    write_exports(store, planned, NIGHT, now=NOW)
    [case] = json.loads(_files(planned)["hand_over-ACME_Collect-2026-10-20.json"])["cases"]
    listed = next(c for c in list_cases(store) if c.case_id == case_id)
    # costs are paid first: 20.00 fee, 3.00 interest, 2.00 of the principal
    assert (case["principal"], case["fees"], case["interest"], case["total"]) == ("148.25", "0.00", "0.00", "148.25")
    assert Decimal(case["total"]) == listed.total_due
