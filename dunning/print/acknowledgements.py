"""Reading the print house's answers (acknowledgement files) into delivery events.

**Format** (what we ask the print house to write into its outbox folder; one file per answer, any
name ending in ``.csv``, uploaded under a temporary name or ``.part`` and renamed when complete):

.. code-block:: text

    batch_id,letter_id,status,date,reason
    P20261124-DK-DL-STANDARD-DOM-001-3f9a1c2e,L-0001,accepted,2026-11-24,
    P20261124-DK-DL-STANDARD-DOM-001-3f9a1c2e,L-0001,printed,2026-11-25,
    P20261124-DK-DL-STANDARD-DOM-001-3f9a1c2e,L-0001,posted,2026-11-25,
    P20261124-DK-DL-STANDARD-DOM-001-3f9a1c2e,L-0002,returned,2026-12-02,addressee unknown

- UTF-8 (a byte-order mark is tolerated), comma-separated, the header line exactly these five
  columns (in any order; extra columns are ignored);
- ``status`` is one of ``accepted`` (the house took the letter into production), ``printed``,
  ``posted`` (handed to the postal operator) or ``returned`` (came back undeliverable);
- ``date`` is ISO ``YYYY-MM-DD``; ``reason`` is free text, expected for ``returned``.

A bad row becomes an :class:`AckProblem` naming the file, the line and the value; the good rows of
the same file are still read. Each file is processed once: its name and SHA-256 are remembered
(:class:`ProcessedFiles`), and a file whose content was already processed (also under another name)
is skipped. Events are handed to the caller *before* the file is marked processed, so a crash in
between means the file is read again (the caller's event store must ignore repeats; the events
carry ``source`` and ``line`` for that).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path

from dunning.errors import PermanentDeliveryError
from dunning.ports import ProcessedFiles, Transport, walk_files, write_atomic

ACK_FIELDS = ("batch_id", "letter_id", "status", "date", "reason")


class AckStatus(StrEnum):
    ACCEPTED = "accepted"
    PRINTED = "printed"
    POSTED = "posted"
    RETURNED = "returned"


@dataclass(frozen=True)
class DeliveryEvent:
    """What the print house says happened to one letter."""

    batch_id: str
    letter_id: str
    status: AckStatus
    date: date
    reason: str
    source: str  # the acknowledgement file's name
    line: int  # its line number (the header is line 1)


@dataclass(frozen=True)
class AckProblem:
    source: str
    line: int
    message: str


@dataclass(frozen=True)
class AckFile:
    """One acknowledgement file: its events and the rows that could not be read."""

    name: str
    sha256: str
    events: tuple[DeliveryEvent, ...]
    problems: tuple[AckProblem, ...]


def parse_acknowledgements(data: bytes, source: str) -> tuple[list[DeliveryEvent], list[AckProblem]]:
    """Parse one acknowledgement file (pure). Returns the events and the problems."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [AckProblem(source, 0, f"not UTF-8 text (byte {exc.start})")]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [f for f in ACK_FIELDS if f not in header]
    if missing:
        return [], [AckProblem(source, 1, f"header {header!r} lacks column(s) {', '.join(missing)}")]
    reader.fieldnames = header
    events: list[DeliveryEvent] = []
    problems: list[AckProblem] = []
    for row in reader:
        line = reader.line_num
        values = {k: (row.get(k) or "").strip() for k in ACK_FIELDS}
        if not any(values.values()):
            continue
        problem = None
        if not values["batch_id"]:
            problem = "batch_id is empty"
        elif not values["letter_id"]:
            problem = "letter_id is empty"
        try:
            status = AckStatus(values["status"].lower())
        except ValueError:
            status = None
            problem = problem or (f"status {values['status']!r} is not one of {', '.join(s.value for s in AckStatus)}")
        try:
            when = date.fromisoformat(values["date"])
        except ValueError:
            when = None
            problem = problem or f"date {values['date']!r} is not YYYY-MM-DD"
        if problem is not None or status is None or when is None:
            problems.append(AckProblem(source, line, problem or "unreadable row"))
            continue
        events.append(
            DeliveryEvent(values["batch_id"], values["letter_id"], status, when, values["reason"], source, line)
        )
    return events, problems


class JsonProcessedFiles:
    """:class:`ProcessedFiles` in a JSON file: ``{sha256: name}``; content seen once is skipped."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise PermanentDeliveryError(f"{self.path} is not valid JSON: {exc}") from exc
        return dict(data)

    def is_processed(self, name: str, sha256: str) -> bool:
        return sha256 in self._load()

    def record_processed(self, name: str, sha256: str) -> None:
        data = self._load()
        data[sha256] = name
        write_atomic(self.path, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"))


def read_new_acknowledgements(transport: Transport, processed: ProcessedFiles, folder: str = "") -> list[AckFile]:
    """Read the ``.csv`` files of ``folder`` not processed yet (does not mark them processed)."""
    files = []
    for name in walk_files(transport, folder):
        if not name.lower().endswith(".csv"):
            continue
        data = transport.read_bytes(name)
        sha = hashlib.sha256(data).hexdigest()
        if processed.is_processed(name, sha):
            continue
        events, problems = parse_acknowledgements(data, posixpath.basename(name))
        files.append(AckFile(name, sha, tuple(events), tuple(problems)))
    return files


def process_acknowledgements(
    transport: Transport,
    processed: ProcessedFiles,
    handle: Callable[[AckFile], None],
    *,
    folder: str = "",
    archive_folder: str | None = None,
) -> list[AckFile]:
    """Hand each new file to ``handle``, then mark it processed (and move it to ``archive_folder``).

    Returns the files handled in this call, so the caller can report their problems.
    """
    done = []
    for ack in read_new_acknowledgements(transport, processed, folder):
        handle(ack)
        processed.record_processed(ack.name, ack.sha256)
        if archive_folder is not None:
            transport.mkdir_p(archive_folder)
            transport.rename(ack.name, posixpath.join(archive_folder, posixpath.basename(ack.name)))
        done.append(ack)
    return done
