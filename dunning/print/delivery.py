"""Delivering an assembled batch to the print house exactly once.

The hand-off, in order (research/letters.md §2.8):

1. the batch PDF under ``<batch>.pdf.part``, size and SHA-256 checked, renamed to ``<batch>.pdf``;
2. the manifests (``.manifest.csv``, ``.manifest.json``) and the job ticket, each the same way;
3. the **ready marker** ``<batch>.ready``, written **last**: the print house starts on a batch only
   when its marker is there. It holds ``sha256sum`` lines for the other files so the house can
   check them (``sha256sum -c <batch>.ready``).

The delivery state is recorded before (``record_started``) and after (``record_done``) through a
:class:`DeliveryLog`. A run that finds a batch done does nothing. A run that finds it started (the
process died somewhere) recovers by looking at what is already on the other side:

- a final file with the right size and SHA-256 is kept (no second upload);
- ``.part`` leftovers of the batch are removed;
- a final file with other content is replaced, but only while the ready marker is absent (the house
  does not touch a batch without it); if the marker is there and the PDF differs, the batch is in
  conflict and :class:`BatchConflictError` is raised rather than overwrite what may be printing;
- missing manifests and the marker are written.

So a batch lands once, also when the process dies between the upload and its record.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from dunning.errors import DeliveryError, PermanentDeliveryError
from dunning.ports import PART_SUFFIX, DeliveryLog, Progress, Transport, sha256_file, write_atomic
from dunning.print.assemble import AssembledBatch

log = logging.getLogger(__name__)

READY_SUFFIX = ".ready"


class BatchConflictError(PermanentDeliveryError):
    """The print house already has a batch of this id, marked ready, with other content."""


class JsonDeliveryLog:
    """A :class:`DeliveryLog` in one JSON file (the file-based default and the tests).

    The file maps batch id → ``{"state": "started"|"done", "sha256": ..., "destination": ...}`` and is
    rewritten atomically (temp file, fsync, rename) on every change. One process at a time.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise PermanentDeliveryError(f"delivery log {self.path} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise PermanentDeliveryError(f"delivery log {self.path} must hold a JSON object")
        return data

    def _save(self, data: dict[str, dict[str, str]]) -> None:
        write_atomic(self.path, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"))

    def state(self, batch_id: str) -> str | None:
        entry = self._load().get(batch_id)
        return entry.get("state") if entry else None

    def is_done(self, batch_id: str) -> bool:
        return self.state(batch_id) == "done"

    def record_started(self, batch_id: str, sha256: str, destination: str) -> None:
        data = self._load()
        if data.get(batch_id, {}).get("state") != "done":
            data[batch_id] = {"state": "started", "sha256": sha256, "destination": destination}
            self._save(data)

    def record_done(self, batch_id: str, sha256: str, destination: str) -> None:
        data = self._load()
        data[batch_id] = {"state": "done", "sha256": sha256, "destination": destination}
        self._save(data)


@dataclass(frozen=True)
class DeliveryReport:
    batch_id: str
    status: Literal["delivered", "already-delivered"]
    uploaded: tuple[str, ...] = ()  # names uploaded by this run
    kept: tuple[str, ...] = ()  # names found on the other side with the right checksum
    removed: tuple[str, ...] = ()  # .part leftovers removed


@dataclass(frozen=True)
class DeliveryFailure:
    batch_id: str
    error: DeliveryError


@dataclass(frozen=True)
class DeliveryRun:
    reports: tuple[DeliveryReport, ...] = ()
    failures: tuple[DeliveryFailure, ...] = field(default_factory=tuple)


def ready_marker(files: Iterable[tuple[str, str]]) -> bytes:
    """``sha256sum``-style lines (``<hex>  <name>``) for the ready marker."""
    return "".join(f"{sha}  {name}\n" for name, sha in files).encode("ascii")


def deliver_batch(
    batch: AssembledBatch,
    transport: Transport,
    delivery_log: DeliveryLog,
    *,
    folder: str = "",
    on_step: Callable[[str], None] | None = None,
    progress: Progress | None = None,
) -> DeliveryReport:
    """Deliver one batch into ``folder`` of ``transport`` exactly once (see the module docstring).

    ``on_step(name)`` is called after each file is in place (``pdf``, ``manifest_csv``,
    ``manifest_json``, ``ticket``, ``ready``) and before the state is recorded: a hook for progress
    reporting and for tests that simulate a crash. Raises :class:`TransientDeliveryError` (retry
    later: the next run recovers) or :class:`PermanentDeliveryError`.
    """
    batch_id = batch.batch_id
    if delivery_log.is_done(batch_id):
        return DeliveryReport(batch_id, "already-delivered")
    destination = transport.url
    delivery_log.record_started(batch_id, batch.pdf_sha256, destination)

    def remote(name: str) -> str:
        return f"{folder.rstrip('/')}/{name}" if folder else name

    if folder:
        transport.mkdir_p(folder)
    locals_ = [
        ("pdf", batch.pdf, batch.pdf_sha256),
        ("manifest_csv", batch.manifest_csv, sha256_file(batch.manifest_csv)),
        ("manifest_json", batch.manifest_json, sha256_file(batch.manifest_json)),
        ("ticket", batch.ticket, sha256_file(batch.ticket)),
    ]
    marker_name = batch_id + READY_SUFFIX
    marker = ready_marker((path.name, sha) for _, path, sha in locals_)
    listing = {e.name: e for e in transport.list(folder)}
    removed = []
    for name in sorted(listing):
        if name.startswith(batch_id + ".") and name.endswith(PART_SUFFIX):
            transport.remove(remote(name))
            removed.append(name)
    if removed:
        log.info("batch %s: removed %d leftover upload(s) of an earlier run", batch_id, len(removed))

    marker_there = marker_name in listing
    uploaded: list[str] = []
    kept: list[str] = []
    for step, path, sha in locals_:
        entry = listing.get(path.name)
        if entry is not None and entry.size == path.stat().st_size and transport.sha256(remote(path.name)) == sha:
            kept.append(path.name)
        else:
            if marker_there and step == "pdf":
                raise BatchConflictError(
                    f"batch {batch_id}: {destination} already has {path.name} marked ready, with other "
                    f"content than {path}; refusing to overwrite it. Ask the print house, then remove "
                    f"their copy or give the batch a new id."
                )
            transport.put(path, remote(path.name), progress=progress if step == "pdf" else None)
            uploaded.append(path.name)
        if on_step is not None:
            on_step(step)
    if marker_there and transport.read_bytes(remote(marker_name)) == marker:
        kept.append(marker_name)
    else:
        transport.put_bytes(marker, remote(marker_name))
        uploaded.append(marker_name)
    if on_step is not None:
        on_step("ready")
    delivery_log.record_done(batch_id, batch.pdf_sha256, destination)
    log.info("batch %s delivered to %s (%d uploaded, %d kept)", batch_id, destination, len(uploaded), len(kept))
    return DeliveryReport(batch_id, "delivered", tuple(uploaded), tuple(kept), tuple(removed))


def deliver_batches(
    batches: Iterable[AssembledBatch],
    transport: Transport,
    delivery_log: DeliveryLog,
    *,
    folder: str = "",
    progress: Progress | None = None,
) -> DeliveryRun:
    """Deliver several batches; a failing batch is reported and the others go on.

    A transient failure (the server went away) stops the run early, since the next batches would
    fail the same way; they are delivered by the next run. ``progress(done, total)`` is called with
    the batches handled so far (delivered or failed), before the first and after each.
    """
    reports: list[DeliveryReport] = []
    failures: list[DeliveryFailure] = []
    todo = list(batches)
    if progress is not None:
        progress(0, len(todo))
    for batch in todo:
        try:
            reports.append(deliver_batch(batch, transport, delivery_log, folder=folder))
        except PermanentDeliveryError as exc:
            log.error("batch %s not delivered: %s", batch.batch_id, exc)
            failures.append(DeliveryFailure(batch.batch_id, exc))
        except DeliveryError as exc:
            log.warning("delivery stopped at batch %s: %s", batch.batch_id, exc)
            failures.append(DeliveryFailure(batch.batch_id, exc))
            break
        finally:
            if progress is not None:
                progress(len(reports) + len(failures), len(todo))
    return DeliveryRun(tuple(reports), tuple(failures))
