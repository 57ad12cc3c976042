"""The letter channel end to end on SQLite and PostgreSQL: planned letters → PDFs → print batches, once."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from dunning.adapters.transport import FileTransport
from dunning.errors import TransientDeliveryError
from dunning.store import Store
from dunning.store.schema import cases
from dunning.usecases.letters import send as letters_send
from dunning.usecases.letters.render import render_letters, unrendered_letter_ids
from dunning.usecases.letters.send import send_letters
from dunning.workspace import Workspace
from tests.usecases.letters.helpers import (
    LETTER_DAY,
    RECORDED,
    batch_deliveries,
    documents_by_action,
    first_page_text,
    letter_actions,
    letter_deliveries,
    letter_events,
    make_workspace,
    night,
    plan_letters,
    printed,
    qr_codes,
)


@pytest.fixture()
def workspace(tmp_path: Path) -> Workspace:
    return make_workspace(tmp_path / "ws")


def _server_files(workspace: Workspace) -> list[Path]:
    return sorted((workspace.root / "output" / "print").iterdir())


def test_letters_are_rendered_batched_and_delivered_once(store: Store, workspace: Workspace) -> None:
    plan_letters(store, workspace)
    planned = letter_actions(store)
    assert len(planned) >= 4 and all(a.status == "planned" for a in planned)

    assert unrendered_letter_ids(store, LETTER_DAY) == [a.id for a in planned]
    part = render_letters(store, workspace, LETTER_DAY, workers=1, action_ids=[planned[0].id])
    assert part.rendered == 1 and unrendered_letter_ids(store, LETTER_DAY) == [a.id for a in planned[1:]]
    run = render_letters(store, workspace, LETTER_DAY, workers=1, recorded_at=RECORDED)
    assert (run.rendered, run.failed, run.due) == (len(planned) - 1, 0, len(planned) - 1)
    # read after rendering: a letter charges the interest accrued up to its own date first
    with store.begin() as conn:
        owed = {r.id: r.open_amount + r.fees_amount + r.interest_amount for r in conn.execute(select(cases))}
    docs = documents_by_action(store)
    assert set(docs) == {a.id for a in planned}
    for action in planned:
        doc = docs[action.id]
        assert doc.path == f"output/letters/{LETTER_DAY}/{action.id}.pdf" and doc.kind == "letter"
        pdf = workspace.root / doc.path
        assert hashlib.sha256(pdf.read_bytes()).hexdigest() == doc.sha256 and doc.pages >= 1
        text = first_page_text(pdf)
        assert action.name in text, f"action {action.id}: debtor name missing on page 1"
        assert printed(action.reference) in text, f"action {action.id}: reference missing on page 1"
        codes = qr_codes(pdf)
        epc = next(c for c in codes if c.startswith("BCD"))
        assert workspace.config.creditor.iban in epc and action.reference in epc.replace("+", "").replace("/", "")
        assert epc.split("\n")[7] == f"EUR{owed[action.case_id]}", epc  # what the letter asks: open + costs
        assert any(c.startswith(workspace.config.paylink.base_url) for c in codes)
    assert not list((workspace.root / "output" / "letters").rglob("*.tmp"))

    sent = send_letters(store, workspace, LETTER_DAY, recorded_at=RECORDED)
    assert sent.problems == [] and sent.letters == len(planned) and sent.batches
    files = {p.name for p in _server_files(workspace)}
    for batch_id in sent.batches:
        for suffix in (".pdf", ".manifest.csv", ".manifest.json", ".ticket.json", ".ready"):
            assert batch_id + suffix in files
        marker = (workspace.root / "output" / "print" / f"{batch_id}.ready").read_text()
        pdf_sha = hashlib.sha256((workspace.root / "output" / "print" / f"{batch_id}.pdf").read_bytes()).hexdigest()
        assert f"{pdf_sha}  {batch_id}.pdf" in marker
    assert not [name for name in files if name.endswith(".part")]

    after = letter_actions(store)
    assert all(a.status == "sent" and a.outcome_on == LETTER_DAY for a in after)
    per_letter = letter_deliveries(store)
    assert sorted(d.action_id for d in per_letter) == [a.id for a in planned]
    assert all(d.external_id in sent.batches and d.status == "sent" for d in per_letter)
    assert {b.external_id: b.status for b in batch_deliveries(store)} == dict.fromkeys(sent.batches, "sent")
    assert sorted(e.case_id for e in letter_events(store)) == sorted(a.case_id for a in planned)

    # again: nothing new is rendered or sent, the server folder is unchanged
    before = {p.name: p.stat().st_mtime_ns for p in _server_files(workspace)}
    assert render_letters(store, workspace, LETTER_DAY, workers=1).rendered == 0
    again = send_letters(store, workspace, LETTER_DAY)
    assert (again.batches, again.letters) == ([], 0)
    assert {p.name: p.stat().st_mtime_ns for p in _server_files(workspace)} == before
    assert len(letter_deliveries(store)) == len(planned) and len(letter_events(store)) == len(planned)

    # the next night sees the letters done: it does not plan them again
    nxt = night(store, workspace, LETTER_DAY + timedelta(days=1))
    sent_steps = {(a.case_id, a.step) for a in after}
    repeated = [a for a in letter_actions(store) if a.status == "planned" and (a.case_id, a.step) in sent_steps]
    assert repeated == [], nxt.planned


def test_crash_between_upload_and_record_delivers_each_batch_once(
        store: Store, workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    plan_letters(store, workspace)
    planned = letter_actions(store)
    render_letters(store, workspace, LETTER_DAY, workers=1, recorded_at=RECORDED)
    real = letters_send.record_letters_sent
    calls = {"n": 0}

    def crash_once(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("power cut after the upload")
        return real(*args, **kwargs)

    monkeypatch.setattr(letters_send, "record_letters_sent", crash_once)
    with pytest.raises(RuntimeError, match="power cut"):
        send_letters(store, workspace, LETTER_DAY, recorded_at=RECORDED)
    # the first batch is on the server, ready, but the store knows nothing of it being done
    first_batch = batch_deliveries(store)[0]
    uploaded = {p.name: p.stat().st_mtime_ns for p in _server_files(workspace)}
    assert f"{first_batch.external_id}.ready" in uploaded
    assert all(b.status == "pending" for b in batch_deliveries(store))
    assert all(a.status == "planned" for a in letter_actions(store)) and letter_deliveries(store) == []

    # the next run is on another day: the pending batch keeps its letters and its id
    later = LETTER_DAY + timedelta(days=1)
    recovered = send_letters(store, workspace, later, recorded_at=RECORDED)
    assert recovered.problems == [] and recovered.recovered == len(batch_deliveries(store))
    assert set(recovered.batches) == {b.external_id for b in batch_deliveries(store)}
    assert first_batch.external_id in recovered.batches
    server = {p.name: p.stat().st_mtime_ns for p in _server_files(workspace)}
    # the batch that was already there was kept, not uploaded a second time
    for name, mtime in uploaded.items():
        if name.startswith(first_batch.external_id):
            assert server[name] == mtime, name
    assert len([n for n in server if n.endswith(".pdf")]) == len(recovered.batches)
    actions_now = letter_actions(store)
    assert all(a.status == "sent" and a.outcome_on == later for a in actions_now)
    assert sorted(d.action_id for d in letter_deliveries(store)) == [a.id for a in planned]
    assert len(letter_events(store)) == len(planned)
    assert send_letters(store, workspace, later).letters == 0


def test_a_bad_letter_is_reported_and_the_others_go_on(store: Store, workspace: Workspace) -> None:
    plan_letters(store, workspace)
    planned = letter_actions(store)
    broken = planned[0]
    with store.begin() as conn:  # a payment reference the letter cannot carry
        conn.execute(update(cases).where(cases.c.id == broken.case_id).values(reference="RF00 NOT VALID"))
    run = render_letters(store, workspace, LETTER_DAY, workers=1)
    assert run.rendered == len(planned) - 1 and run.failed == 1
    problem = run.problems[0]
    assert (problem.action_id, problem.case_id) == (broken.id, broken.case_id)
    assert "reference" in problem.reason and broken.name not in str(problem)
    sent = send_letters(store, workspace, LETTER_DAY)
    assert sent.letters == len(planned) - 1
    assert {a.id: a.status for a in letter_actions(store)}[broken.id] == "planned"


def test_a_damaged_pdf_is_left_out_rendered_again_and_sent_later(store: Store, workspace: Workspace) -> None:
    plan_letters(store, workspace)
    planned = letter_actions(store)
    render_letters(store, workspace, LETTER_DAY, workers=1)
    damaged = next(a for a in planned if a.name == "Pieter de Vries")  # the one Dutch letter: a batch of its own
    (workspace.root / documents_by_action(store)[damaged.id].path).write_bytes(b"%PDF-1.7 truncated")
    sent = send_letters(store, workspace, LETTER_DAY)
    assert sent.letters == len(planned) - 1
    # it was alone in its batch: the batch is not sent empty but dropped, nothing of it on the server
    assert len(sent.problems) == 2 and f"letter action {damaged.id} left out" in sent.problems[0]
    assert "dropped" in sent.problems[1] and "nothing of it reached the print house" in sent.problems[1]
    void = [b for b in batch_deliveries(store) if b.status == "void"]
    assert len(void) == 1 and void[0].detail["letters"] == [] and str(damaged.id) in void[0].detail["left_out"]
    assert not [p for p in _server_files(workspace) if p.name.startswith(void[0].external_id)]
    status = {a.id: a.status for a in letter_actions(store)}
    assert status[damaged.id] == "planned" and damaged.id not in documents_by_action(store)
    # the next run renders it again and sends it in a batch of its own
    later = LETTER_DAY + timedelta(days=1)
    assert render_letters(store, workspace, later, workers=1).rendered == 1
    again = send_letters(store, workspace, later)
    assert (again.letters, again.problems, len(again.batches)) == (1, [], 1)
    assert all(a.status == "sent" for a in letter_actions(store))
    assert sorted(d.action_id for d in letter_deliveries(store)) == [a.id for a in planned]


def test_transport_failure_before_the_ready_marker_is_finished_by_the_next_run(
        store: Store, workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    plan_letters(store, workspace)
    planned = letter_actions(store)
    render_letters(store, workspace, LETTER_DAY, workers=1)
    real_put_bytes = FileTransport.put_bytes

    def refuse_marker(self, data, remote, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise TransientDeliveryError("connection reset while writing the ready marker")

    monkeypatch.setattr(FileTransport, "put_bytes", refuse_marker)
    first = send_letters(store, workspace, LETTER_DAY)
    assert first.letters == 0 and first.batches == []
    assert len(first.problems) == 1 and "the next run retries" in first.problems[0]
    names = {p.name for p in _server_files(workspace)}
    assert not [n for n in names if n.endswith(".ready")]  # the print house does not touch it yet
    assert all(a.status == "planned" for a in letter_actions(store))

    monkeypatch.setattr(FileTransport, "put_bytes", real_put_bytes)
    before = {p.name: p.stat().st_mtime_ns for p in _server_files(workspace)}
    second = send_letters(store, workspace, LETTER_DAY)
    assert second.problems == [] and second.letters == len(planned)
    assert second.recovered == len(batch_deliveries(store)) == len(second.batches)
    after = {p.name: p.stat().st_mtime_ns for p in _server_files(workspace)}
    assert all(after[name] == mtime for name, mtime in before.items())  # uploaded files were kept
    assert {n for n in after if n.endswith(".ready")} == {f"{b}.ready" for b in second.batches}
    assert all(a.status == "sent" for a in letter_actions(store))
