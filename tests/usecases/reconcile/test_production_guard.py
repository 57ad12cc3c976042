"""AC-21: test deliveries never settle real invoices unless the workspace says so."""

from __future__ import annotations

from pathlib import Path

import yaml

from dunning.usecases.reconcile.run import reconcile_files
from dunning.workspace import open_workspace
from tests.usecases.reconcile.camt_build import Payment, assert_valid, build_camt
from tests.usecases.reconcile.conftest import BANK_DAY, Bench


def _file(tmp_path: Path, bench: Bench, name: str, marker: str | None, account: str | None = None) -> Path:
    kwargs = {"account": account} if account else {}
    xml = build_camt("054", [Payment("66.94", ref=bench.reference(2))], day=BANK_DAY, msg_id=name, **kwargs)
    if marker is not None:  # GrpHdr/AddtlInf comes right after GrpHdr/CreDtTm
        xml = xml.replace(b"</CreDtTm>", f"</CreDtTm>\n    <AddtlInf>{marker}</AddtlInf>".encode(), 1)
    assert_valid(xml, "054")
    path = tmp_path / f"{name}.xml"
    path.write_bytes(xml)
    return path


def test_a_file_marked_test_is_refused_and_settles_nothing(bench: Bench, tmp_path: Path) -> None:
    result = reconcile_files(
        bench.store, bench.workspace, [_file(tmp_path, bench, "T1", "SPS/1.7/TEST")], as_of=BANK_DAY
    )
    (error,) = result.errors()
    assert "T1.xml" in str(error) and "SPS/1.7/TEST" in str(error) and "bank.accept_test_files" in str(error)
    assert bench.case(2).status == "open"
    produced = reconcile_files(
        bench.store, bench.workspace, [_file(tmp_path, bench, "P1", "SPS/1.7/PROD")], as_of=BANK_DAY
    )
    assert not produced.errors() and bench.case(2).status == "closed"


def test_known_test_account_is_refused_and_the_switch_lets_test_files_through(bench: Bench, tmp_path: Path) -> None:
    config_path = bench.root / "dunning.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["bank"]["test_accounts"] = ["CH29 0900 0000 2500 9423 9"]
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    workspace = open_workspace(bench.root, environ={})
    refused = reconcile_files(
        bench.store, workspace, [_file(tmp_path, bench, "A1", None, "CH2909000000250094239")], as_of=BANK_DAY
    )
    assert "CH2909000000250094239 is listed in bank.test_accounts" in str(refused.errors()[0])
    config["bank"]["accept_test_files"] = True
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    workspace = open_workspace(bench.root, environ={})
    accepted = reconcile_files(bench.store, workspace, [_file(tmp_path, bench, "T2", "TEST")], as_of=BANK_DAY)
    assert not accepted.errors() and bench.case(2).status == "closed"
