"""`dunning cases` after a debtor's last letter shows exactly the total the letter asked (issue 16, item 7).

A real night plans the letters; one case gets a fee and interest and a partial payment from a
real camt.054 before its letter is printed. The letters are rendered and delivered to the print
house (a letter's own fee is booked then); each letter's total is read back from its PDF (the
EPC payment QR code the debtor scans, and the printed text) and compared with the row of
`dunning cases --format json` and `dunning case` for its case, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner

from dunning.cli import cli
from dunning.store import Store
from dunning.store.cases import add_case_fee, add_case_interest
from dunning.usecases.letters.render import render_letters
from dunning.usecases.letters.send import send_letters
from dunning.usecases.reconcile.run import reconcile_files
from tests.usecases.letters.helpers import (
    LETTER_DAY,
    RECORDED,
    documents_by_action,
    first_page_text,
    letter_actions,
    make_workspace,
    plan_letters,
    printed,
    qr_codes,
)
from tests.usecases.reconcile.camt_build import Payment, write_camt

FEE, INTEREST, PAID = Decimal("15.00"), Decimal("3.21"), Decimal("25.00")


def _cli(root: Path, store_url: str, *args: str) -> str:
    result = CliRunner(env={"DUNNING_DATABASE": store_url, "COLUMNS": "200"}).invoke(
        cli, [*args, "-w", str(root)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    return result.stdout


def _prints(text: str, amount: Decimal) -> bool:
    """Whether the letter's text shows ``amount`` (``4 662,07 €`` in French, ``€ 4.662,07`` in Dutch...)."""
    plain = "".join(ch for ch in text if ch not in " \u202f\xa0")  # French groups digits with spaces
    whole, cents = f"{amount:.2f}".split(".")
    grouped = f"{int(whole):,}"
    return any(f"{grouped.replace(',', sep)}{dec}{cents}" in plain for sep, dec in ((".", ","), (",", "."), ("", ",")))


def test_cases_shows_exactly_what_the_last_letter_asked(store: Store, store_url: str, tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    plan_letters(store, workspace)
    planned = letter_actions(store)
    assert len(planned) >= 4
    charged = planned[0]
    # A fee and interest charged, then a partial payment with the case's reference from a real camt.054:
    # costs are paid first (15.00 fee, 3.21 interest), the rest (6.79) lowers the principal.
    with store.begin() as conn:
        add_case_fee(conn, charged.case_id, FEE)
        add_case_interest(conn, charged.case_id, INTEREST)
    camt = write_camt(
        tmp_path,
        "partial.xml",
        "054",
        [Payment(str(PAID), ref=printed(charged.reference), name=charged.name, bank_ref="PART-1")],
        day=LETTER_DAY,
    )
    result = reconcile_files(store, workspace, [camt], as_of=LETTER_DAY, recorded_at=RECORDED)
    assert result.summary()["cases_partly_paid"] == [charged.case_id]

    assert render_letters(store, workspace, LETTER_DAY, workers=1, recorded_at=RECORDED).failed == 0
    sent = send_letters(store, workspace, LETTER_DAY, recorded_at=RECORDED)
    assert sent.problems == [] and sent.letters == len(planned)

    rows = {row["case"]: row for row in json.loads(_cli(workspace.root, store_url, "cases", "--format", "json"))}
    docs = documents_by_action(store)
    for action in planned:
        pdf = workspace.root / docs[action.id].path
        epc = next(code for code in qr_codes(pdf) if code.startswith("BCD"))
        asked = Decimal(epc.split("\n")[7].removeprefix("EUR"))  # the amount the debtor's bank app fills in
        row = rows[action.case_id]
        assert Decimal(row["total_due"]) == asked, f"case {action.case_id}: cases {row['total_due']} ≠ letter {asked}"
        assert _prints(first_page_text(pdf), asked), f"case {action.case_id}: {asked} not printed"
        # the columns add up: principal + costs + interest - paid = total due
        assert Decimal(row["principal"]) + Decimal(row["costs"]) + Decimal(row["interest"]) - Decimal(
            row["paid"]
        ) == Decimal(row["total_due"])

    row = rows[charged.case_id]
    assert Decimal(row["paid"]) == PAID and Decimal(row["interest"]) == INTEREST
    assert Decimal(row["costs"]) >= FEE  # the fee charged, and a letter's own fee once it went out
    assert Decimal(row["total_due"]) == Decimal(row["principal"]) + Decimal(row["costs"]) + INTEREST - PAID
    detail = json.loads(_cli(workspace.root, store_url, "case", str(charged.case_id), "--format", "json"))
    assert {k: detail[k] for k in row} == row  # `case` shows the same figures as `cases`
    text = _cli(workspace.root, store_url, "case", str(charged.case_id))
    assert f"paid {row['paid']} = total due {row['total_due']} EUR" in text
