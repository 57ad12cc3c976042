"""A bad bank file is set aside with a report, recorded in the store, and never blocks the rest of the inbox.

Through ``dunning reconcile --fetch`` as a user runs it, on SQLite and PostgreSQL: a charges record
without an amount, a 30-digit amount, a 19-digit amount, a truncated file and a currency that is not
ISO 4217 sit in the inbox next to a good statement; the good one is booked, each bad one is named with
its line, element and value, moved to ``bank/refused/`` beside a report, and the exit code is 1.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from dunning.cli import EXIT_PROBLEMS, cli
from dunning.store.payments import file_is_known, load_quarantined_files
from tests.usecases.reconcile.camt_build import Payment, build_camt
from tests.usecases.reconcile.conftest import BANK_DAY, Bench


def run(bench: Bench, store_url: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    runner = CliRunner(env={"DUNNING_DATABASE": store_url, "COLUMNS": "200", **(env or {})})
    result = runner.invoke(cli, ["--workspace", str(bench.root), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _statement(bench: Bench, amount: str, bank_ref: str, case_id: int = 5) -> bytes:
    return build_camt("053", [Payment(amount, ref=bench.reference(case_id), bank_ref=bank_ref)], day=BANK_DAY)


def _bad_files(bench: Bench) -> dict[str, bytes]:
    good_5 = _statement(bench, "727.65", "B-1")
    no_charge_amount = good_5.replace(
        b"<NtryDtls>", b"<Chrgs><Rcrd><CdtDbtInd>DBIT</CdtDbtInd></Rcrd></Chrgs>\n        <NtryDtls>", 1
    )
    return {
        "charges.xml": no_charge_amount,
        "thirty.xml": _statement(bench, "727.65", "B-2").replace(b">727.65<", b">" + b"9" * 30 + b"<"),
        "nineteen.xml": _statement(bench, "727.65", "B-3").replace(b">727.65<", b">1234567890123456789<"),
        "truncated.xml": _statement(bench, "727.65", "B-4")[:900],
        "no-amount.xml": _statement(bench, "727.65", "B-6").replace(b'<Amt Ccy="EUR">727.65</Amt>', b"", 1),
        "currency.xml": _statement(bench, "727.65", "B-5").replace(b'Ccy="EUR">727.65', b'Ccy="EURO">727.65'),
    }


def test_bad_files_are_quarantined_named_and_the_rest_of_the_inbox_is_booked(bench: Bench, store_url: str) -> None:
    inbox = bench.root / "bank" / "inbox"
    bad = _bad_files(bench)
    for name, data in bad.items():
        (inbox / name).write_bytes(data)
    (inbox / "zz-good.xml").write_bytes(_statement(bench, "66.94", "G-1", case_id=2))

    code, out, err = run(bench, store_url, "reconcile", "--fetch", "--date", BANK_DAY.isoformat(), "--format", "json")

    assert code == EXIT_PROBLEMS, err
    assert "Traceback" not in err
    summary = json.loads(out)
    assert summary["cases_paid"] == [2] and summary["files_processed"] == 1 and summary["files_refused"] == len(bad)
    refusals = {r["file"]: r for r in summary["refusals"]}
    assert set(refusals) == set(bad)
    charges = refusals["charges.xml"]
    assert charges["line"] and charges["element"].endswith("Ntry/Chrgs/Rcrd")
    assert "charges record without an amount" in charges["reason"]
    assert refusals["thirty.xml"]["value"].startswith("999999999") and "18 digits" in refusals["thirty.xml"]["reason"]
    assert refusals["nineteen.xml"]["element"].endswith("Amt") and refusals["nineteen.xml"]["line"]
    assert refusals["currency.xml"]["value"] == "EURO" and "ISO 4217" in refusals["currency.xml"]["reason"]
    assert refusals["truncated.xml"]["line"] and "not well-formed" in refusals["truncated.xml"]["reason"]
    no_amount = refusals["no-amount.xml"]
    assert "entry without an amount" in no_amount["reason"] and no_amount["element"].endswith("Stmt/Ntry")
    said = " ".join(err.split())  # the console wraps long lines
    for name in bad:  # each named on stderr with where it went wrong, and its report
        assert f"bank file refused: {name}, line " in said
    assert said.count("report: ") == len(bad)
    # set aside beside the staging folder, each with a report naming file, line, element and reason
    refused = bench.root / "bank" / "refused"
    assert {p.name for p in refused.iterdir()} == set(bad) | {f"{n}.report.txt" for n in bad}
    report = (refused / "charges.xml.report.txt").read_text()
    for key in ("file: charges.xml", "line: ", "element: ", "reason: charges record", "set aside as: "):
        assert key in report
    assert list((bench.root / "bank" / "received").iterdir()) == []
    # recorded in the store: not known as booked, listed as quarantined
    with bench.store.begin() as conn:
        quarantined = {q.file_name: q for q in load_quarantined_files(conn)}
        assert set(quarantined) == set(bad)
        assert not file_is_known(conn, quarantined["charges.xml"].sha256)
    assert bench.case(5).status == "open" and bench.case(2).status == "closed"

    # The next run does not stumble on them again.
    code, out, _ = run(bench, store_url, "reconcile", "--fetch", "--date", BANK_DAY.isoformat())
    assert code == 0 and "No new bank files" in out
    # The same bad file delivered again is refused again, named, and counted: never skipped silently.
    (inbox / "charges-again.xml").write_bytes(bad["charges.xml"])
    (inbox / "later.xml").write_bytes(_statement(bench, "727.65", "B-9"))
    code, out, err = run(bench, store_url, "reconcile", "--fetch", "--date", BANK_DAY.isoformat())
    assert code == EXIT_PROBLEMS and "charges-again.xml" in err and "refused 2 times" in err
    assert "Cases paid: 5" in out


def test_a_quarantined_file_that_reads_later_is_booked_once(bench: Bench, store_url: str, tmp_path: Path) -> None:
    """A file refused as test data is booked when the switch allows it: quarantine never blocks it for good."""
    path = tmp_path / "test-file.xml"
    path.write_bytes(
        _statement(bench, "66.94", "T-1", case_id=2).replace(b"<MsgId>", b"<AddtlInf>TEST</AddtlInf><MsgId>", 1)
    )
    # (AddtlInf belongs after CreDtTm in the group header; the reader does not mind the order.)
    code, _, err = run(bench, store_url, "reconcile", str(path), "--date", BANK_DAY.isoformat())
    assert code != 0 and "test data" in err
    assert bench.case(2).status == "open"
    accept = {"DUNNING_BANK_ACCEPT_TEST_FILES": "true"}
    code, out, err = run(bench, store_url, "reconcile", str(path), "--date", BANK_DAY.isoformat(), env=accept)
    assert code == 0, err
    assert "Cases paid: 2" in out
    with bench.store.begin() as conn:
        assert load_quarantined_files(conn) == []
