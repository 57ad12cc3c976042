"""Property: ``dunning reconcile`` given a mutated bank file books it or refuses it by name, never a traceback.

Each example puts a mutated file (a corpus file, or a statement paying the bench's cases, after one
to three mutations: :mod:`tests.camt.fuzz_mutations`) next to a good statement and runs the command
as a user would. The exit code is 0 (read and booked, or already booked) or 1 (the mutated file was
refused, named on stderr, and the good one booked). Seeded, a few dozen examples in CI; more with
``RECONCILE_FUZZ_EXAMPLES=500``.
"""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dunning.cli import EXIT_OK, EXIT_PROBLEMS, cli
from tests.camt.fuzz_mutations import mutated_files
from tests.camt.test_camt_fuzz import TIME_LIMIT, time_limit
from tests.usecases.reconcile.accounts import corpus_accounts
from tests.usecases.reconcile.camt_build import ACCOUNT, Payment, build_camt
from tests.usecases.reconcile.conftest import BANK_DAY, Bench

EXAMPLES = int(os.environ.get("RECONCILE_FUZZ_EXAMPLES", "30"))


@pytest.mark.requires_corpus
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_reconcile_books_or_refuses_a_mutated_file_by_name(bench: Bench, store_url: str, data: st.DataObject) -> None:
    ours = build_camt(
        "053",
        [
            Payment(
                "66.94", ref=bench.reference(2), bank_ref="F-1", end_to_end="E-1", name="A", iban="BE71096123456769"
            ),
            Payment("100.00", text="INV-2026-26015", bank_ref="F-2"),
            Payment("727.65", ref=bench.reference(5), bank_ref="F-3", direction="DBIT", reversal=True),
        ],
        day=BANK_DAY,
    )
    name, mutated = data.draw(mutated_files(extra=(("ours.xml", ours),)))
    folder = bench.root / "fuzz"
    folder.mkdir(exist_ok=True)
    bad = folder / f"mutant-{name}"
    bad.write_bytes(mutated)
    good = folder / "good.xml"
    good.write_bytes(build_camt("054", [Payment("12.34", text="?", bank_ref="GOOD-1")], day=BANK_DAY, msg_id="G"))
    # The workspace owns the corpus's accounts, so mutated real files reach matching and booking too.
    accounts = ",".join([ACCOUNT, *corpus_accounts()])
    runner = CliRunner(env={"DUNNING_DATABASE": store_url, "COLUMNS": "200", "DUNNING_BANK_ACCOUNTS": accounts})
    with time_limit(TIME_LIMIT * 3):
        result = runner.invoke(
            cli, ["--workspace", str(bench.root), "reconcile", str(bad), str(good), "--date", BANK_DAY.isoformat()]
        )
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stderr
    assert result.exit_code in (EXIT_OK, EXIT_PROBLEMS), result.stderr
    if result.exit_code == EXIT_PROBLEMS:
        assert f"bank file refused: {bad.name}" in " ".join(result.stderr.split())
