"""The print house's answer files: parsed into events, bad rows reported, each file processed once."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from dunning.adapters.transport import open_transport
from dunning.print import (
    AckFile,
    AckStatus,
    JsonProcessedFiles,
    parse_acknowledgements,
    process_acknowledgements,
)
from tests.servers.sshd import SshdServer

BATCH = "P20261124-DK-DL-STANDARD-DOM-001-3f9a1c2e"
GOOD = (
    "\ufeffbatch_id,letter_id,status,date,reason\n"
    f"{BATCH},L-0001,accepted,2026-11-24,\n"
    f"{BATCH},L-0001,posted,2026-11-25,\n"
    f"{BATCH},L-0002,returned,2026-12-02,addressee unknown\n"
).encode()


def test_parse_good_rows() -> None:
    events, problems = parse_acknowledgements(GOOD, "ack-1.csv")
    assert problems == []
    assert [(e.letter_id, e.status, e.date, e.reason, e.line) for e in events] == [
        ("L-0001", AckStatus.ACCEPTED, date(2026, 11, 24), "", 2),
        ("L-0001", AckStatus.POSTED, date(2026, 11, 25), "", 3),
        ("L-0002", AckStatus.RETURNED, date(2026, 12, 2), "addressee unknown", 4),
    ]
    assert {e.batch_id for e in events} == {BATCH} and {e.source for e in events} == {"ack-1.csv"}


def test_bad_rows_are_reported_with_file_line_and_value_and_the_rest_is_read() -> None:
    data = (
        "batch_id,letter_id,status,date,reason,extra\n"
        f"{BATCH},L-1,printed,2026-11-24,,x\n"
        f"{BATCH},L-2,lost,2026-11-24,,\n"
        f"{BATCH},L-3,posted,24/11/2026,,\n"
        f",L-4,posted,2026-11-24,,\n"
        "\n"
        f"{BATCH},L-5,POSTED,2026-11-25,,\n"
    ).encode()
    events, problems = parse_acknowledgements(data, "ack-2.csv")
    assert [e.letter_id for e in events] == ["L-1", "L-5"]
    assert [(p.source, p.line, p.message) for p in problems] == [
        ("ack-2.csv", 3, "status 'lost' is not one of accepted, printed, posted, returned"),
        ("ack-2.csv", 4, "date '24/11/2026' is not YYYY-MM-DD"),
        ("ack-2.csv", 5, "batch_id is empty"),
    ]
    _, header = parse_acknowledgements(b"batch,letter\nx,y\n", "bad.csv")
    assert header[0].message.startswith("header ['batch', 'letter'] lacks column(s) batch_id, letter_id")
    _, encoding = parse_acknowledgements(b"\xff\xfe b", "utf16.csv")
    assert encoding[0].message.startswith("not UTF-8")


@pytest.mark.sftp
def test_outbox_files_are_processed_once_over_sftp(sftp_upload: SshdServer, tmp_path: Path) -> None:
    (sftp_upload.local_outbox / "ack-1.csv").write_bytes(GOOD)
    (sftp_upload.local_outbox / "ack-2.csv.part").write_bytes(b"being written")
    (sftp_upload.local_outbox / "readme.txt").write_bytes(b"not an answer")
    processed = JsonProcessedFiles(tmp_path / "acks.json")
    handled: list[AckFile] = []
    with open_transport(
        sftp_upload.url(sftp_upload.remote_outbox),
        key_file=sftp_upload.client_key,
        known_hosts=sftp_upload.known_hosts,
    ) as t:
        first = process_acknowledgements(t, processed, handled.append)
        assert [f.name for f in first] == ["ack-1.csv"] and len(first[0].events) == 3
        assert process_acknowledgements(t, processed, handled.append) == []  # once
        # the same content again under another name is recognised; a new file is read
        (sftp_upload.local_outbox / "ack-1-resent.csv").write_bytes(GOOD)
        (sftp_upload.local_outbox / "ack-3.csv").write_bytes(
            f"batch_id,letter_id,status,date,reason\n{BATCH},L-0003,printed,2026-11-26,\n".encode()
        )
        third = process_acknowledgements(t, processed, handled.append)
        assert [f.name for f in third] == ["ack-3.csv"]
    assert [f.name for f in handled] == ["ack-1.csv", "ack-3.csv"]


def test_a_crash_in_the_handler_leaves_the_file_unprocessed_and_archive_moves_it(tmp_path: Path) -> None:
    (tmp_path / "outbox").mkdir()
    (tmp_path / "outbox" / "ack-1.csv").write_bytes(GOOD)
    processed = JsonProcessedFiles(tmp_path / "acks.json")

    def crash(ack: AckFile) -> None:
        raise RuntimeError("database down")

    with open_transport("file://outbox", base_dir=tmp_path) as t:
        with pytest.raises(RuntimeError):
            process_acknowledgements(t, processed, crash)
        done = process_acknowledgements(t, processed, lambda ack: None, archive_folder="archive")
        assert [f.name for f in done] == ["ack-1.csv"]
    assert (tmp_path / "outbox" / "archive" / "ack-1.csv").read_bytes() == GOOD
    assert not (tmp_path / "outbox" / "ack-1.csv").exists()
