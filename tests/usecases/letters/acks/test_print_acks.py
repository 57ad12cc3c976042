"""Print-house acknowledgements recorded on letters and cases, on SQLite and PostgreSQL; the CLI commands."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from dunning.adapters.transport import FileTransport
from dunning.cli import cli
from dunning.cli.print_house import batch_rows
from dunning.errors import TransientDeliveryError
from dunning.store import Store, open_store
from dunning.store.schema import actions, case_events, deliveries
from dunning.usecases.letters.acks import record_acknowledgements
from dunning.usecases.letters.render import render_letters
from dunning.usecases.letters.send import send_letters
from dunning.workspace import Workspace
from tests.usecases.letters.helpers import (
    LETTER_DAY,
    RECORDED,
    batch_deliveries,
    letter_actions,
    make_workspace,
    night,
    plan_letters,
    rows,
)

ACK_DAY = date(2026, 11, 10)
HEADER = "batch_id,letter_id,status,date,reason\n"


def _send_first_reminders(store: Store, workspace: Workspace) -> tuple[Any, Any, list[str]]:
    """The two first-reminder letters (fallback letters of an email: their own fallback is a manual task), sent."""
    plan_letters(store, workspace)
    first = [a for a in letter_actions(store) if a.step == "first_reminder"][:2]
    assert len(first) == 2
    render_letters(store, workspace, LETTER_DAY, workers=1, action_ids=[a.id for a in first], recorded_at=RECORDED)
    sent = send_letters(store, workspace, LETTER_DAY, recorded_at=RECORDED)
    assert sent.problems == [] and sent.letters == 2
    return first[0], first[1], sent.batches


def _write_ack(workspace: Workspace, name: str, text: str) -> Path:
    folder = workspace.root / "output" / "print" / "acknowledgements"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _letter_row(store: Store, action: Any) -> Any:
    found = rows(store, deliveries, deliveries.c.idempotency_key == f"{action.idempotency_key}:letter")
    assert len(found) == 1
    return found[0]


def _events(store: Store, kind: str) -> list[Any]:
    return rows(store, case_events, case_events.c.kind == kind)


def _state(store: Store) -> tuple[list[Any], list[Any], list[Any]]:
    """Everything acknowledgements may change: letter deliveries, letter actions, case events."""
    with store.begin() as conn:
        letters = [tuple(r) for r in conn.execute(select(deliveries.c.idempotency_key, deliveries.c.status,
                                                         deliveries.c.detail).order_by(deliveries.c.id))]
        acts = [tuple(r) for r in conn.execute(select(actions.c.id, actions.c.status, actions.c.outcome_on)
                                               .order_by(actions.c.id))]
        events = [tuple(r) for r in conn.execute(select(case_events.c.id, case_events.c.kind)
                                                 .order_by(case_events.c.id))]
    return letters, acts, events


def test_posted_and_returned_letters_are_recorded_once_and_the_fallback_follows(
        store: Store, tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    posted, returned, batches = _send_first_reminders(store, workspace)
    [batch] = batches
    _write_ack(workspace, "answers-1110.csv", HEADER
               + f"{batch},{posted.id},accepted,2026-11-03,\n"
               + f"{batch},{posted.id},posted,2026-11-04,\n"
               + f"{batch},{returned.id},returned,2026-11-09,addressee unknown\n"
               + f"{batch},999999,posted,2026-11-04,\n"
               + f"P20990101-NOPE,{posted.id},posted,2026-11-04,\n")

    result = record_acknowledgements(store, workspace, on_date=ACK_DAY, recorded_at=RECORDED)

    assert (result.files, result.events, result.recorded, result.returned, result.posted) == (1, 5, 3, 1, 1)
    assert result.by_status == {"accepted": 1, "posted": 3, "returned": 1}
    assert result.problems == ["answers-1110.csv:5: unknown letter '999999' (no letter with this id was sent)",
                               "answers-1110.csv:6: unknown batch 'P20990101-NOPE'"]
    posted_row, returned_row = _letter_row(store, posted), _letter_row(store, returned)
    assert posted_row.status == "posted"
    assert [(a["status"], a["line"]) for a in posted_row.detail["acks"]] == [("accepted", 2), ("posted", 3)]
    assert posted_row.detail["batch"] == batch  # what send_letters recorded is kept
    assert returned_row.status == "returned"
    by_id = {a.id: a for a in letter_actions(store)}
    assert (by_id[posted.id].status, by_id[posted.id].outcome_on) == ("sent", LETTER_DAY)
    assert (by_id[returned.id].status, by_id[returned.id].outcome_on) == ("returned", date(2026, 11, 9))
    assert [a.status for i, a in by_id.items() if i not in (posted.id, returned.id)] == ["planned"] * (len(by_id) - 2)
    failures = _events(store, "delivery_failed")
    assert [(e.case_id, e.on_date, e.detail["ref"], e.detail["reason"]) for e in failures] == [
        (returned.case_id, date(2026, 11, 9), returned.idempotency_key, "addressee unknown")]
    assert [(e.case_id, e.on_date, e.detail["ref"]) for e in _events(store, "letter_posted")] == [
        (posted.case_id, date(2026, 11, 4), posted.idempotency_key)]

    [listed] = batch_rows(store)
    assert (listed["batch"], listed["letters"], listed["posted"], listed["returned"]) == (batch, 2, 1, 1)

    # the same content again, under its name and under another: nothing changes
    before = _state(store)
    _write_ack(workspace, "answers-1110-copy.csv", (workspace.root / "output" / "print" / "acknowledgements"
                                                   / "answers-1110.csv").read_text(encoding="utf-8"))
    again = record_acknowledgements(store, workspace, on_date=ACK_DAY, recorded_at=RECORDED)
    assert (again.files, again.events, again.problems) == (0, 0, [])
    assert _state(store) == before

    # a later file never moves a letter backwards: printed after posted, posted after returned
    _write_ack(workspace, "answers-1111.csv", HEADER + f"{batch},{posted.id},printed,2026-11-03,\n"
               + f"{batch},{returned.id},posted,2026-11-05,\n" + f"{batch},{returned.id},returned,2026-11-09,\n")
    later = record_acknowledgements(store, workspace, on_date=ACK_DAY, recorded_at=RECORDED)
    assert (later.files, later.recorded, later.unchanged, later.returned, later.posted) == (1, 0, 3, 0, 0)
    assert (_letter_row(store, posted).status, _letter_row(store, returned).status) == ("posted", "returned")
    assert len(_events(store, "delivery_failed")) == 1 and len(_events(store, "letter_posted")) == 1

    # the next night plans the returned step's fallback (a manual task) for that case only
    known = {a.id for a in rows(store, actions)}
    night(store, workspace, date(2026, 11, 12))
    fallbacks = [a for a in rows(store, actions) if a.id not in known and a.step == "first_reminder"]
    assert [(a.case_id, a.action, a.fallback_depth) for a in fallbacks] == [(returned.case_id, "manual_task", 2)]


def test_letters_not_sent_or_in_another_batch_are_reported(store: Store, tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws", batch_size=1)
    first, second, batches = _send_first_reminders(store, workspace)
    assert len(batches) == 2 and {b.external_id for b in batch_deliveries(store)} == set(batches)
    in_first = _letter_row(store, first).external_id
    other = next(b for b in batches if b != in_first)
    unsent = next(a for a in letter_actions(store) if a.status == "planned")  # an action that never went to print
    _write_ack(workspace, "a.csv", HEADER + f"{in_first},{unsent.id},posted,2026-11-04,\n"
               + f"{in_first},L-7,posted,2026-11-04,\n" + f"{in_first},{first.id},lost,2026-11-04,\n"
               + f"{other},{first.id},posted,2026-11-04,\n" + f"{other},{second.id},posted,2026-11-04,\n")
    result = record_acknowledgements(store, workspace, on_date=ACK_DAY, recorded_at=RECORDED)
    assert (result.files, result.recorded, result.posted) == (1, 1, 1)
    assert result.problems == [
        "a.csv:4: status 'lost' is not one of accepted, printed, posted, returned",
        f"a.csv:2: unknown letter '{unsent.id}' (no letter with this id was sent)",
        "a.csv:3: unknown letter 'L-7' (no letter with this id was sent)",
        f"a.csv:5: letter '{first.id}' is not in batch '{other}' (it went in batch '{in_first}')",
    ]
    assert (_letter_row(store, first).status, _letter_row(store, second).status) == ("sent", "posted")
    assert [e.case_id for e in _events(store, "letter_posted")] == [second.case_id]


def _cli(workspace: Workspace, *args: str) -> Any:
    result = CliRunner().invoke(cli, ["-w", str(workspace.root), *args])
    return result


def test_batches_deliver_and_acks_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = make_workspace(tmp_path / "ws")
    store = open_store(workspace.database_url)
    try:
        plan_letters(store, workspace)
        letter = letter_actions(store)[0]
        render_letters(store, workspace, LETTER_DAY, workers=1, action_ids=[letter.id])
        with monkeypatch.context() as patch:  # the print house is away: the batch stays pending
            def away(*args: Any, **kwargs: Any) -> Any:
                raise TransientDeliveryError("connection refused")

            patch.setattr(FileTransport, "put_bytes", away)
            first = send_letters(store, workspace, LETTER_DAY)
        assert first.letters == 0 and first.problems
    finally:
        store.dispose()

    listed = _cli(workspace, "batches", "--format", "json")
    assert listed.exit_code == 0, listed.output
    [pending] = json.loads(listed.output)
    assert (pending["status"], pending["letters"], pending["date"]) == ("pending", 1, LETTER_DAY.isoformat())

    delivered = _cli(workspace, "deliver", "--date", "2026-11-03", "--format", "json")
    assert delivered.exit_code == 0, delivered.output
    summary = json.loads(delivered.output)
    assert (summary["letters_sent"], summary["recovered"], summary["batch_ids"]) == (1, 1, [pending["batch"]])
    [done] = json.loads(_cli(workspace, "batches", "--format", "json").output)
    assert (done["batch"], done["status"], done["delivered_on"]) == (pending["batch"], "sent", "2026-11-03")
    assert done["destination"] == "file://output/print"
    table = _cli(workspace, "batches")
    assert table.exit_code == 0 and "Print batches" in table.output and "sent" in table.output

    _write_ack(workspace, "acks.csv", HEADER + f"{done['batch']},{letter.id},returned,2026-11-08,moved away\n"
               + f"{done['batch']},42424242,posted,2026-11-08,\n")
    acks = _cli(workspace, "acks", "--date", "2026-11-10", "--format", "json")
    assert acks.exit_code == 1, acks.output  # done, with a problem to look at
    report = json.loads(acks.output)
    assert (report["files"], report["recorded"], report["returned"]) == (1, 1, 1)
    assert report["problems"] == ["acks.csv:3: unknown letter '42424242' (no letter with this id was sent)"]
    [acked] = json.loads(_cli(workspace, "batches", "--format", "json").output)
    assert (acked["posted"], acked["returned"], done["returned"]) == (0, 1, 0)
    again = _cli(workspace, "acks", "--date", "2026-11-10")
    assert again.exit_code == 0, again.output
    assert "files" in again.output
    store = open_store(workspace.database_url)
    try:
        assert {a.id: a.status for a in letter_actions(store)}[letter.id] == "returned"
    finally:
        store.dispose()
