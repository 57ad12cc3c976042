"""Direct debit for plans, stored for real (SQLite and PostgreSQL): mandate, pain.008 files, returns.

The pain.008 files are checked with lxml against the XSD sepaxml ships; the camt.054 returns are
built by the test helper and checked against the ISO XSD of the corpus, then reconciled for real.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from lxml import etree
from sqlalchemy import select

from dunning.bank.pain008 import schema_path
from dunning.cli import EXIT_INPUT, EXIT_OK, cli
from dunning.domain.plans.model import InstalmentStatus, PlanError
from dunning.domain.plans.policy import PlanPolicy
from dunning.errors import ConfigError, WorkspaceBusy
from dunning.store import Store
from dunning.store.plans import load_plan
from dunning.store.schema import case_events, cases, sepa_collections, sepa_files, sepa_mandates
from dunning.usecases.plans import directdebit
from dunning.usecases.plans.create import create_plan
from dunning.usecases.plans.directdebit import capture_mandate, collect, sepa_dir
from dunning.usecases.reconcile.run import reconcile_files
from dunning.workspace import Workspace, open_workspace
from tests.servers.sshd import SshdServer, start_sshd
from tests.store.test_locks import held_by_another_process
from tests.usecases.notify.helpers import IMPORTED, RECORDED, case_of, import_and_plan, make_workspace
from tests.usecases.reconcile.camt_build import Payment, assert_valid, build_camt

AGREED = date(2026, 10, 6)
SIGNED = date(2026, 10, 1)  # the schedule handed over with it: collections from 15 October (14 days)
CREDITOR_ID = "BE68ZZZ0123456789"
DEBTOR_IBAN = "BE71 0961 2345 6769"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"}


def _configure(root: Path, **sections: dict[str, object]) -> None:
    path = root / "dunning.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["creditor"]["sepa_creditor_id"] = CREDITOR_ID
    for key, values in sections.items():
        config.setdefault(key, {}).update(values)
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")


@pytest.fixture
def workspace(tmp_path: Path, store: Store, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    made = make_workspace(tmp_path / "ws", store_url)
    import_and_plan(store, made, night=IMPORTED)
    monkeypatch.setenv("DUNNING_DATABASE", store_url)
    _configure(made.root)
    return open_workspace(made.root, environ={})


def _plan_with_mandate(store: Store, workspace: Workspace) -> str:
    created = create_plan(store, "R1", count=3, day=15, today=AGREED, policy=PlanPolicy(), created_by="clerk")
    capture_mandate(
        store, created.plan.plan_id, iban=DEBTOR_IBAN, signed_on=SIGNED, today=AGREED, config=workspace.config,
        captured_by="clerk", recorded_at=RECORDED,
    )
    return created.plan.plan_id


def _valid(path: Path) -> etree._Element:
    schema = etree.XMLSchema(etree.parse(schema_path("pain.008.001.08")))
    document = etree.parse(str(path))
    assert schema.validate(document), schema.error_log
    return document.getroot()


def _texts(root: etree._Element, path: str) -> list[str]:
    return [str(e.text) for e in root.iterfind(path, NS)]


def _rows(store: Store, table: object) -> list[dict[str, object]]:
    with store.begin() as conn:
        return [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]  # type: ignore[attr-defined]


def test_a_mandate_is_captured_with_a_derived_reference_and_checked_values(store: Store, workspace: Workspace) -> None:
    plan_id = _plan_with_mandate(store, workspace)
    [row] = _rows(store, sepa_mandates)
    assert row["reference"] == f"DDM-{plan_id}" and row["iban"] == "BE71096123456769"
    assert row["debtor_name"] == "Jan Peeters" and row["signed_on"] == SIGNED and row["text_version"] == "1"
    assert row["consent_source"] == "paper" and row["status"] == "active"
    with pytest.raises(PlanError, match="already has mandate"):
        capture_mandate(store, "R1", iban=DEBTOR_IBAN, signed_on=SIGNED, today=AGREED, config=workspace.config,
                        captured_by="clerk")
    create_plan(store, "E2", count=2, day=15, today=AGREED, policy=PlanPolicy(), created_by="clerk")
    with pytest.raises(PlanError, match="not a valid IBAN"):
        capture_mandate(store, "E2", iban="BE71 0961 2345 6760", signed_on=SIGNED, today=AGREED,
                        config=workspace.config, captured_by="clerk")
    with pytest.raises(PlanError, match="cannot be signed after today"):
        capture_mandate(store, "E2", iban=DEBTOR_IBAN, signed_on=date(2026, 10, 7), today=AGREED,
                        config=workspace.config, captured_by="clerk")
    with pytest.raises(PlanError, match="mandate reference 'A//B' is not"):
        capture_mandate(store, "E2", iban=DEBTOR_IBAN, signed_on=SIGNED, today=AGREED, config=workspace.config,
                        captured_by="clerk", reference="A//B")
    events = [e for e in _rows(store, case_events) if e["kind"] == "mandate_signed"]
    assert len(events) == 1 and "BE71" not in json.dumps(events[0]["detail"])  # the account is masked


def test_a_wrong_creditor_identifier_is_refused_at_load(workspace: Workspace) -> None:
    path = workspace.root / "dunning.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(CREDITOR_ID, "BE69ZZZ0123456789"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"creditor\.sepa_creditor_id: 'BE69ZZZ0123456789' is not a valid SEPA"):
        open_workspace(workspace.root, environ={})


def test_collections_frst_then_rcur_once_each_valid_against_the_xsd(store: Store, workspace: Workspace) -> None:
    plan_id = _plan_with_mandate(store, workspace)
    # 13 Oct: the first instalment (15 Oct) can still wait a day (lead time D-1)
    assert collect(store, workspace, today=date(2026, 10, 13), recorded_at=RECORDED).made == []
    made = collect(store, workspace, today=date(2026, 10, 14), recorded_at=RECORDED).made
    assert [(f.name, f.collection_date, f.count, f.control_sum, f.status) for f in made] == [
        ("DD20261014-20261015-1.xml", date(2026, 10, 15), 1, Decimal("50.08"), "written")
    ]
    root = _valid(made[0].path)
    assert _texts(root, ".//p:SeqTp") == ["FRST"] and _texts(root, ".//p:EndToEndId") == [f"DD-{plan_id}-01"]
    assert _texts(root, ".//p:GrpHdr/p:CtrlSum") == ["50.08"] and _texts(root, ".//p:MndtId") == [f"DDM-{plan_id}"]
    assert _texts(root, ".//p:CdtrSchmeId//p:Id/p:PrvtId/p:Othr/p:Id") == [CREDITOR_ID]
    assert _texts(root, ".//p:ReqdColltnDt") == ["2026-10-15"]
    again = collect(store, workspace, today=date(2026, 10, 14), recorded_at=RECORDED)
    assert again.made == [] and again.finished == []  # a re-run writes nothing new
    # 13 Nov (Friday): 15 Nov is a Sunday, so the second instalment is collected on Monday 16 Nov
    second = collect(store, workspace, today=date(2026, 11, 13), recorded_at=RECORDED).made
    root = _valid(second[0].path)
    assert _texts(root, ".//p:SeqTp") == ["RCUR"] and _texts(root, ".//p:ReqdColltnDt") == ["2026-11-16"]
    assert _texts(root, ".//p:EndToEndId") == [f"DD-{plan_id}-02"]
    rows = _rows(store, sepa_collections)
    assert [(r["instalment"], r["sequence"], r["amount"]) for r in rows] == [
        (1, "FRST", Decimal("50.08")), (2, "RCUR", Decimal("50.08"))
    ]
    assert sorted(p.name for p in sepa_dir(workspace.root).iterdir()) == [
        "DD20261014-20261015-1.xml", "DD20261113-20261116-1.xml"
    ]


def test_a_late_run_collects_on_the_earliest_date_and_waits_for_the_prenotification(
    store: Store, workspace: Workspace
) -> None:
    created = create_plan(store, "R1", count=3, day=15, today=AGREED, policy=PlanPolicy(), created_by="clerk")
    capture_mandate(store, created.plan.plan_id, iban=DEBTOR_IBAN, signed_on=AGREED, today=AGREED,
                    config=workspace.config, captured_by="clerk")
    # signed 6 Oct: the debtor is told 14 days ahead, so nothing before 20 Oct
    assert collect(store, workspace, today=date(2026, 10, 14)).made == []
    made = collect(store, workspace, today=date(2026, 10, 19)).made
    assert [(f.collection_date, f.control_sum) for f in made] == [(date(2026, 10, 20), Decimal("50.08"))]
    late = collect(store, workspace, today=date(2026, 12, 1)).made  # a month of runs missed: 15 Nov taken late
    assert [(f.collection_date, f.control_sum) for f in late] == [(date(2026, 12, 2), Decimal("50.08"))]


def test_a_crash_before_the_file_is_written_is_finished_by_the_next_run(
    store: Store, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    _plan_with_mandate(store, workspace)

    def crash(*_: object) -> bool:
        raise OSError("disk gone")

    monkeypatch.setattr(directdebit, "_write_local", crash)
    with pytest.raises(OSError, match="disk gone"):
        collect(store, workspace, today=date(2026, 10, 14), recorded_at=RECORDED)
    assert not sepa_dir(workspace.root).exists() or not any(sepa_dir(workspace.root).iterdir())
    [claimed] = _rows(store, sepa_files)
    assert claimed["status"] == "prepared"
    monkeypatch.undo()
    result = collect(store, workspace, today=date(2026, 10, 14), recorded_at=RECORDED)
    assert result.made == [] and [f.name for f in result.finished] == [claimed["name"]]
    assert (sepa_dir(workspace.root) / claimed["name"]).read_text(encoding="utf-8") == claimed["content"]
    assert len(_rows(store, sepa_collections)) == 1 and len(_rows(store, sepa_files)) == 1


def test_a_crash_after_writing_before_recording_leaves_a_file_the_next_run_recognises(
    store: Store, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    _plan_with_mandate(store, workspace)
    writes: list[bool] = []
    real_write, real_mark = directdebit._write_local, directdebit.mark_file

    def counting_write(folder: Path, item: directdebit.StoredFile) -> bool:
        wrote = real_write(folder, item)
        writes.append(wrote)
        return wrote

    def crash(*_: object, **__: object) -> None:
        raise RuntimeError("killed")

    monkeypatch.setattr(directdebit, "_write_local", counting_write)
    monkeypatch.setattr(directdebit, "mark_file", crash)
    with pytest.raises(RuntimeError, match="killed"):
        collect(store, workspace, today=date(2026, 10, 14), recorded_at=RECORDED)
    [written] = list(sepa_dir(workspace.root).iterdir())
    before = written.stat().st_mtime_ns
    monkeypatch.setattr(directdebit, "mark_file", real_mark)
    result = collect(store, workspace, today=date(2026, 10, 14), recorded_at=RECORDED)
    assert writes == [True, False]  # recognised by its SHA-256, not written again
    assert [f.name for f in result.finished] == [written.name] and result.made == []
    assert list(sepa_dir(workspace.root).iterdir()) == [written] and written.stat().st_mtime_ns == before
    assert [r["status"] for r in _rows(store, sepa_files)] == ["written"]
    assert len(_rows(store, sepa_collections)) == 1


def test_files_are_delivered_through_the_bank_outbox_once(store: Store, workspace: Workspace) -> None:
    _configure(workspace.root, bank={"outbox": "file://bank/outbox"})
    workspace = open_workspace(workspace.root, environ={})
    _plan_with_mandate(store, workspace)
    made = collect(store, workspace, today=date(2026, 10, 14), recorded_at=RECORDED).made
    assert [f.status for f in made] == ["delivered"]
    delivered = workspace.root / "bank" / "outbox" / made[0].name
    assert delivered.read_bytes() == made[0].path.read_bytes()
    assert collect(store, workspace, today=date(2026, 10, 14)).finished == []
    [row] = _rows(store, sepa_files)
    assert row["status"] == "delivered" and str(row["delivered_to"]).endswith("bank/outbox")


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdServer]:
    with start_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


def test_files_are_delivered_over_sftp_to_a_real_sshd(store: Store, workspace: Workspace, sshd: SshdServer) -> None:
    upload = sshd.local_upload
    for child in upload.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()
    workspace = open_workspace(
        workspace.root,
        environ={
            "DUNNING_BANK_OUTBOX": sshd.url(sshd.remote_upload),
            "DUNNING_BANK_KEY": str(sshd.client_key),
            "DUNNING_BANK_KNOWN_HOSTS": str(sshd.known_hosts),
        },
    )
    _plan_with_mandate(store, workspace)
    made = collect(store, workspace, today=date(2026, 10, 14), recorded_at=RECORDED).made
    assert [f.status for f in made] == ["delivered"]
    assert (upload / made[0].name).read_bytes() == made[0].path.read_bytes()
    assert os.listdir(upload) == [made[0].name]  # no .part left behind


def _collect_and_credit(store: Store, workspace: Workspace, tmp_path: Path) -> tuple[str, int]:
    plan_id = _plan_with_mandate(store, workspace)
    [made] = collect(store, workspace, today=date(2026, 10, 14), recorded_at=RECORDED).made
    [sent] = _texts(_valid(made.path), ".//p:Ustrd")  # the bank books the collection with what we sent
    credit = build_camt(
        "054",
        [Payment("50.08", text=sent, end_to_end=f"DD-{plan_id}-01", bank_ref="DD-CREDIT-1", tx_ref=True)],
        day=date(2026, 10, 15),
        msg_id="CR",
    )
    assert_valid(credit, "054")
    (tmp_path / "credit.xml").write_bytes(credit)
    reconcile_files(store, workspace, [tmp_path / "credit.xml"], as_of=date(2026, 10, 15))
    return plan_id, case_of(store, "R1")


def _open_amount(store: Store, case_id: int) -> Decimal:
    with store.begin() as conn:
        amount: Decimal = conn.execute(select(cases.c.open_amount).where(cases.c.id == case_id)).scalar_one()
    return amount


def test_a_camt054_return_marks_the_instalment_missed_and_shows_the_reason(
    store: Store, workspace: Workspace, tmp_path: Path
) -> None:
    plan_id, case_id = _collect_and_credit(store, workspace, tmp_path)
    assert _open_amount(store, case_id) == Decimal("100.17")  # the collection paid the case
    returned = build_camt(
        "054",
        [Payment("50.08", direction="DBIT", return_reason="AM04", end_to_end=f"DD-{plan_id}-01",
                 bank_ref="DD-RETURN-1", tx_ref=True)],
        day=date(2026, 10, 20),
        msg_id="RT",
    )
    assert_valid(returned, "054")
    (tmp_path / "return.xml").write_bytes(returned)
    reconcile_files(store, workspace, [tmp_path / "return.xml"], as_of=date(2026, 10, 20))
    with store.begin() as conn:
        stored = load_plan(conn, plan_id)
    assert stored is not None
    assert stored.plan.instalment(1).status == InstalmentStatus.MISSED and stored.plan.instalment(1).open > 0
    assert _open_amount(store, case_id) == Decimal("150.25")  # the credit is undone
    [row] = [r for r in _rows(store, sepa_collections) if r["instalment"] == 1]
    assert (row["status"], row["return_reason"], row["returned_on"]) == ("returned", "AM04", date(2026, 10, 20))
    [event] = [e for e in _rows(store, case_events) if e["kind"] == "direct_debit_returned"]
    assert "AM04 (insufficient funds)" in event["detail"]["reason"] and event["amount"] == Decimal("50.08")
    code, out, _ = _cli(workspace.root, "case", "R1", "--format", "json")
    assert code == EXIT_OK
    timeline = json.loads(out)["timeline"]
    assert any("returned (AM04)" in e["what"] and "insufficient funds" in e["why"] for e in timeline)
    # the same file read again changes nothing; the mandate stays usable after AM04
    reconcile_files(store, workspace, [tmp_path / "return.xml"], as_of=date(2026, 10, 20))
    assert len([e for e in _rows(store, case_events) if e["kind"] == "direct_debit_returned"]) == 1
    assert _rows(store, sepa_mandates)[0]["status"] == "active"


def test_a_return_for_no_mandate_stops_further_collections(
    store: Store, workspace: Workspace, tmp_path: Path
) -> None:
    plan_id, _ = _collect_and_credit(store, workspace, tmp_path)
    returned = build_camt(
        "054",
        [Payment("50.08", direction="DBIT", return_reason="MD01", end_to_end=f"DD-{plan_id}-01")],
        day=date(2026, 10, 20),
        msg_id="RT",
    )
    assert_valid(returned, "054")
    (tmp_path / "return.xml").write_bytes(returned)
    reconcile_files(store, workspace, [tmp_path / "return.xml"], as_of=date(2026, 10, 20))
    assert _rows(store, sepa_mandates)[0]["status"] == "stopped"
    assert collect(store, workspace, today=date(2026, 11, 13)).made == []


def _cli(root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["-w", str(root), *args])
    return result.exit_code, result.stdout, result.stderr


def test_the_commands(store: Store, workspace: Workspace) -> None:
    root = workspace.root
    code, out, err = _cli(root, "plans", "create", "R1", "--count", "3", "--day", "15", "--date", "2026-10-06")
    assert code == EXIT_OK, err
    code, out, err = _cli(root, "plans", "mandate", "R1", "--iban", DEBTOR_IBAN, "--signed-on", "2026-10-01",
                          "--date", "2026-10-06", "--by", "clerk", "--format", "json")
    assert code == EXIT_OK, err
    shown = json.loads(out)
    assert shown["mandate"].startswith("DDM-") and shown["account"] == "…6769"
    code, _, err = _cli(root, "plans", "mandate", "R1", "--iban", DEBTOR_IBAN, "--signed-on", "2026-10-01")
    assert code == EXIT_INPUT and "already has mandate" in err
    code, _, err = _cli(root, "plans", "mandate", "E2", "--iban", "XX00", "--signed-on", "2026-10-01")
    assert code == EXIT_INPUT and "'XX00' is not a valid IBAN" in err
    code, out, err = _cli(root, "plans", "collect", "--date", "2026-10-14", "--format", "json")
    assert code == EXIT_OK, err
    files = json.loads(out)["files"]
    assert [(f["collection_date"], f["control_sum"], f["status"]) for f in files] == [
        ("2026-10-15", "50.08", "written")
    ]
    code, out, _ = _cli(root, "plans", "collect", "--date", "2026-10-14")
    assert code == EXIT_OK and "Nothing due for collection" in out


def test_a_failed_delivery_exits_6_and_the_next_run_delivers(store: Store, workspace: Workspace) -> None:
    _plan_with_mandate(store, workspace)
    (workspace.root / "bank_key").write_text("not used: nothing listens\n", encoding="utf-8")
    with socket.socket() as probe:  # a port of 127.0.0.1 nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    closed = {"DUNNING_BANK_OUTBOX": f"sftp://bank@127.0.0.1:{port}/upload", "DUNNING_BANK_KEY": "bank_key",
              "DUNNING_BANK_FINGERPRINT": "SHA256:" + "A" * 43}
    result = CliRunner().invoke(cli, ["-w", str(workspace.root), "plans", "collect", "--date", "2026-10-14"],
                                env=closed)
    assert result.exit_code == 6, result.stderr
    [row] = _rows(store, sepa_files)
    assert row["status"] == "written" and (sepa_dir(workspace.root) / row["name"]).exists()
    _configure(workspace.root, bank={"outbox": "file://bank/outbox"})
    code, out, err = _cli(workspace.root, "plans", "collect", "--date", "2026-10-15", "--format", "json")
    assert code == EXIT_OK, err
    assert [(f["file"], f["status"], f["made"]) for f in json.loads(out)["files"]] == [
        (row["name"], "delivered", "finished")
    ]
    assert (workspace.root / "bank" / "outbox" / str(row["name"])).read_text(encoding="utf-8") == row["content"]


def test_a_second_collect_at_once_is_refused(store: Store, store_url: str, workspace: Workspace) -> None:
    _plan_with_mandate(store, workspace)
    with held_by_another_process(store_url, "collect"), pytest.raises(
        WorkspaceBusy, match="another `dunning plans collect` is working"
    ):
        collect(store, workspace, today=date(2026, 10, 14))
    assert _rows(store, sepa_collections) == []
    assert len(collect(store, workspace, today=date(2026, 10, 14)).made) == 1
