"""The crash test's table as Markdown (the form the README quotes): one row per command and channel, the
counts that make the verdict, a caption naming the seed, store and batch size; and the same table summed from
the JSON-lines logs of several shards. No servers: made-up trials."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tests.chaos.counting import LetterTally, Tally
from tests.chaos.crash import log_counts
from tests.chaos.harness import CommandResult, Report, Setup, Trial
from tests.chaos.table import TABLE_COLUMNS, markdown_from_logs, markdown_table

SETUP = Setup(debtors=90, batch_size=20, seed=15)


def _results() -> list[CommandResult]:
    letters = Trial("letters", kills=2, letters=LetterTally(planned=45, once=44, never=1, batch_files_twice=1))
    dispatch = Trial(
        "dispatch", kills=1, email=Tally(planned=22, once=20, twice=1, extra=2), sms=Tally(planned=23, once=23)
    )
    return [CommandResult("letters", 3.2, [letters], letters), CommandResult("dispatch", 2.0, [dispatch])]


def _rows(text: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in text.splitlines() if line[:2] == "| "]


def test_markdown_table_has_a_caption_a_header_and_a_row_per_channel() -> None:
    text = markdown_table(Report(SETUP, _results()))
    lines = text.splitlines()
    assert lines[0].startswith("Seed 15, sqlite, `print.batch_size` 20, 90 debtors")
    assert lines[2] == "| " + " | ".join(TABLE_COLUMNS) + " |"
    assert lines[3] == "|" + "|".join(["---"] * len(TABLE_COLUMNS)) + "|"
    _header, *rows = _rows(text)
    assert [(r[0], r[1]) for r in rows] == [("letters", "letters"), ("dispatch", "email"), ("dispatch", "sms")]
    letters_row, email_row, _ = rows
    # trials, kills, planned, once, twice, extra, never
    assert letters_row[2:9] == ["1", "2", "45", "44", "0", "0", "1"]
    assert "batch files uploaded twice 1" in letters_row[10]
    assert email_row[2:10] == ["1", "1", "22", "20", "1", "2", "0", "0"]
    assert "re-sent beyond one per kill 1" in email_row[10]  # 2 extra over 1 kill


def test_logs_of_two_shards_sum_into_one_table(tmp_path: Path) -> None:
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    for result in _results():
        log_counts(first, SETUP, result)
        log_counts(first, SETUP, result)  # a later line of the same command replaces the earlier
        log_counts(second, replace(SETUP, seed=16), result)
    text = markdown_from_logs([first, second])
    assert text.startswith("Seeds 15, 16 (one shard each, summed), sqlite, `print.batch_size` 20")
    _, letters_row, email_row, _ = _rows(text)
    assert letters_row[2:9] == ["2", "4", "90", "88", "0", "0", "2"]
    assert email_row[2:10] == ["2", "2", "44", "40", "2", "4", "0", "0"]


def test_a_trial_whose_store_could_not_be_read_is_counted_and_said() -> None:
    unread = Trial("reconcile", kills=1, uncounted="OperationalError: no such table: outbox")
    result = CommandResult("reconcile", 2.0, [unread, Trial("reconcile", kills=1)])
    assert result.totals()["uncounted_trials"] == 1
    (_, row) = _rows(markdown_table(Report(SETUP, [result])))
    assert "trials whose store could not be read 1" in row[10]
