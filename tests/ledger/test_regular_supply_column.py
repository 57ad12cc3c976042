"""The optional regular-supply column (Book XIX counts the unpaid due dates of such contracts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dunning.ledger import read_ledger
from dunning.ledger.columns import recognise


@pytest.mark.parametrize(
    "header",
    ["regular_supply", "Regular supply", "Contract type", "Regelmatige levering", "Type de contrat", "Vertragsart"],
)
def test_headers_in_four_languages_find_the_column(header: str) -> None:
    assert recognise(["Invoice", header]) == {"invoice_id": "Invoice", "regular_supply": header}


def test_flags_and_contract_kinds_are_read_and_a_bad_value_is_dropped_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "supply.csv"
    path.write_text(
        "Klant;Naam;Factuur;Vervaldatum;Openstaand;Contracttype\n"
        "K1;An Peeters;F1;15/01/2026;84,00;Energie\n"
        "K1;An Peeters;F2;15/02/2026;84,00;ja\n"
        "K2;Bart Claes;F3;15/02/2026;120,00;eenmalig\n"
        "K3;Chris Maes;F4;15/02/2026;50,00;\n"
        "K4;Dirk Smet;F5;15/02/2026;60,00;misschien\n",
        encoding="utf-8",
    )
    snapshot = read_ledger(path)
    flags = {row.invoice_id: row.regular_supply for row in snapshot.rows()}
    assert flags == {"F1": True, "F2": True, "F3": False, "F4": None, "F5": None}
    (warning,) = snapshot.problems
    where = (warning.line, warning.column, warning.value, warning.severity)
    assert where == (6, "Contracttype", "misschien", "warning")
    assert "regular-supply flag dropped" in warning.reason
