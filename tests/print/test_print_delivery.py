"""Exactly-once delivery of batches to a real sshd (and a folder): checksums, crashes, re-runs."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from dunning.adapters.transport import Transport, open_transport
from dunning.print import (
    AssembledBatch,
    BatchConflictError,
    BatchingRules,
    JsonDeliveryLog,
    PrintLetter,
    assemble_batch,
    deliver_batch,
    deliver_batches,
    plan_batches,
)
from tests.print.conftest import SampleDebtor
from tests.servers.sshd import SshdServer

DAY = date(2026, 11, 24)
REPO = Path(__file__).resolve().parents[2]
Letters = list[tuple[PrintLetter, SampleDebtor]]


def assemble(letters: Letters, out: Path, copies: int = 1) -> list[AssembledBatch]:
    """Batches of the rendered letters; ``copies`` > 1 makes a bigger batch (same PDFs, new ids)."""
    wanted = [
        PrintLetter(**{**letter.__dict__, "letter_id": f"{letter.letter_id}-{n}"})
        for n in range(copies)
        for letter, _ in letters
    ]
    plan = plan_batches(wanted, DAY, BatchingRules(home_country="BE"))
    return [assemble_batch(b, out, run_date=DAY) for b in plan.batches]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_delivered_once(batch: AssembledBatch, folder: Path) -> None:
    """Every file of the batch is there once, with the right checksum, and the ready marker lists them."""
    names = sorted(p.name for p in folder.iterdir() if p.name.startswith(batch.batch_id + "."))
    assert names == sorted([*(f.name for f in batch.files), batch.batch_id + ".ready"])
    for local in batch.files:
        assert sha(folder / local.name) == sha(local)
    assert sha(folder / batch.pdf.name) == batch.pdf_sha256
    # `sha256sum -c` as the print house would run it
    check = subprocess.run(
        ["sha256sum", "--check", "--strict", batch.batch_id + ".ready"], cwd=folder, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(": OK") == 4
    manifest = json.loads((folder / batch.manifest_json.name).read_text())
    assert manifest["batch_sha256"] == batch.pdf_sha256


@pytest.mark.sftp
def test_batches_arrive_with_matching_checksums_once(
    transport: tuple[Transport, Path], rendered_letters: Letters, tmp_path: Path
) -> None:
    t, behind = transport
    batches = assemble(rendered_letters, tmp_path / "out")
    log = JsonDeliveryLog(tmp_path / "delivery.json")
    run = deliver_batches(batches, t, log, folder="batches")
    assert not run.failures
    assert [r.status for r in run.reports] == ["delivered"] * len(batches)
    for batch in batches:
        assert_delivered_once(batch, behind / "batches")
        assert log.is_done(batch.batch_id)
    assert not list((behind / "batches").glob("*.part"))
    inodes = {p.name: p.stat().st_ino for p in (behind / "batches").iterdir()}

    # the same night again: nothing is touched
    again = deliver_batches(batches, t, log, folder="batches")
    assert [r.status for r in again.reports] == ["already-delivered"] * len(batches)
    # the local record is lost: the files on the other side are recognised, nothing is uploaded again
    fresh = deliver_batches(batches, t, JsonDeliveryLog(tmp_path / "lost.json"), folder="batches")
    assert all(r.uploaded == () and len(r.kept) == 5 for r in fresh.reports)
    assert {p.name: p.stat().st_ino for p in (behind / "batches").iterdir()} == inodes


def run_crashing(mode: str, batch: AssembledBatch, server: SshdServer, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.print.crashing_delivery",
            mode,
            str(batch.ticket),
            server.url(server.remote_upload),
            str(server.client_key),
            str(server.known_hosts),
            str(log),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def open_sftp(server: SshdServer) -> Transport:
    return open_transport(server.url(server.remote_upload), key_file=server.client_key, known_hosts=server.known_hosts)


@pytest.mark.sftp
def test_killed_mid_upload_then_rerun_delivers_exactly_once(
    sftp_upload: SshdServer, rendered_letters: Letters, tmp_path: Path
) -> None:
    (batch, *_) = [b for b in assemble(rendered_letters, tmp_path / "out", copies=40) if len(b.rows) > 100]
    assert batch.pdf.stat().st_size > 1_000_000  # several upload chunks
    log_path = tmp_path / "delivery.json"
    part = sftp_upload.local_upload / (batch.pdf.name + ".part")
    process = run_crashing("hang-in-upload", batch, sftp_upload, log_path)
    try:
        deadline = time.monotonic() + 20
        while not part.exists():
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "the upload never started"
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    # the crash left a half upload and a "started" record, and nothing under a final name
    assert part.exists() and not (sftp_upload.local_upload / batch.pdf.name).exists()
    log = JsonDeliveryLog(log_path)
    assert log.state(batch.batch_id) == "started"

    with open_sftp(sftp_upload) as t:
        report = deliver_batch(batch, t, log)
    assert report.removed == (part.name,)
    assert report.uploaded[0] == batch.pdf.name and report.uploaded[-1] == batch.batch_id + ".ready"
    assert_delivered_once(batch, sftp_upload.local_upload)
    assert log.is_done(batch.batch_id)


@pytest.mark.sftp
def test_crash_between_upload_and_record_does_not_upload_again(
    sftp_upload: SshdServer, rendered_letters: Letters, tmp_path: Path
) -> None:
    (batch, *_) = assemble(rendered_letters, tmp_path / "out")
    log_path = tmp_path / "delivery.json"
    process = run_crashing("die-after-pdf", batch, sftp_upload, log_path)
    assert process.wait(timeout=30) == 17, process.stdout.read() if process.stdout else ""
    final = sftp_upload.local_upload / batch.pdf.name
    assert final.exists() and sha(final) == batch.pdf_sha256
    assert not (sftp_upload.local_upload / (batch.batch_id + ".ready")).exists()
    inode = final.stat().st_ino
    log = JsonDeliveryLog(log_path)
    assert log.state(batch.batch_id) == "started"

    with open_sftp(sftp_upload) as t:
        report = deliver_batch(batch, t, log)
        assert report.kept == (batch.pdf.name,)  # recognised by size + SHA-256, not sent again
        assert batch.pdf.name not in report.uploaded
        assert final.stat().st_ino == inode
        assert_delivered_once(batch, sftp_upload.local_upload)
        assert deliver_batch(batch, t, log).status == "already-delivered"


@pytest.mark.sftp
def test_crash_after_the_ready_marker_before_the_record(
    sftp_upload: SshdServer, rendered_letters: Letters, tmp_path: Path
) -> None:
    (batch, *_) = assemble(rendered_letters, tmp_path / "out")
    log = JsonDeliveryLog(tmp_path / "delivery.json")

    class Crash(Exception):
        pass

    def crash(step: str) -> None:
        if step == "ready":
            raise Crash

    with open_sftp(sftp_upload) as t:
        with pytest.raises(Crash):
            deliver_batch(batch, t, log, on_step=crash)
        assert log.state(batch.batch_id) == "started"
        report = deliver_batch(batch, t, log)
    assert report.uploaded == () and len(report.kept) == 5
    assert log.is_done(batch.batch_id)
    assert_delivered_once(batch, sftp_upload.local_upload)


def test_a_different_batch_under_a_ready_id_is_a_conflict(rendered_letters: Letters, tmp_path: Path) -> None:
    (batch, *_) = assemble(rendered_letters, tmp_path / "out")
    with open_transport("file://house", base_dir=tmp_path) as t:
        # an unfinished earlier attempt with other bytes, no ready marker: replaced
        t.put_bytes(b"%PDF-1.7 an older rendering", batch.pdf.name)
        report = deliver_batch(batch, t, JsonDeliveryLog(tmp_path / "a.json"))
        assert batch.pdf.name in report.uploaded
        assert_delivered_once(batch, tmp_path / "house")
        # marked ready but other content: the house may be printing it; never overwrite
        t.put_bytes(b"%PDF-1.7 something else", batch.pdf.name)
        with pytest.raises(BatchConflictError, match=f"already has {batch.pdf.name} marked ready"):
            deliver_batch(batch, t, JsonDeliveryLog(tmp_path / "b.json"))
        assert (tmp_path / "house" / batch.pdf.name).read_bytes() == b"%PDF-1.7 something else"
        # deliver_batches reports the conflict and goes on with the other batches
        others = assemble(rendered_letters, tmp_path / "out")
        run = deliver_batches(others, t, JsonDeliveryLog(tmp_path / "c.json"))
        assert [f.batch_id for f in run.failures] == [batch.batch_id]
        assert len(run.reports) == len(others) - 1
