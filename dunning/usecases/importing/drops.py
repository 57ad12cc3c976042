"""Which ledger drop an unattended run may import.

Finance teams drop exports in the workspace's ``ledger/`` folder and the nightly flow imports the
newest one. A file left there that is not tonight's export must never be applied over a newer
state: a drop whose content was imported before (by SHA-256, as ``ledger_imports`` records it),
or one last modified before the last import was recorded (it was already there, unimported or
superseded, when someone imported a newer snapshot by hand), is skipped with the reason.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dunning.errors import LedgerError
from dunning.store import Store
from dunning.store.ledger import is_imported, last_ledger_import

#: bytes hashed at a time (a million-row export is a few hundred MB)
HASH_BLOCK = 1 << 20


@dataclass(frozen=True)
class DropCheck:
    """A ledger drop as judged before import: ``skip`` says why it is not imported (None: import it)."""

    path: Path
    sha256: str
    modified_at: datetime
    skip: str | None


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's content (what :func:`dunning.ledger.read_ledger` records)."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while block := handle.read(HASH_BLOCK):
                digest.update(block)
    except OSError as exc:
        raise LedgerError(f"{path}: cannot be read ({exc.strerror})") from None
    return digest.hexdigest()


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive timestamps; the store writes them in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def check_drop(store: Store, path: Path) -> DropCheck:
    """Whether ``path`` may be imported unattended: not seen before, and not older than the last import."""
    sha256 = file_sha256(path)
    modified_at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    with store.begin() as conn:
        seen = is_imported(conn, sha256)
        last = last_ledger_import(conn)
    skip = None
    if seen:
        skip = "already imported (same content): nothing changed"
    elif last is not None and modified_at < _aware(last.recorded_at):
        skip = (
            f"older than the last import ({last.file_name}, recorded {_aware(last.recorded_at):%Y-%m-%d %H:%M} UTC; "
            f"this file was modified {modified_at:%Y-%m-%d %H:%M} UTC): not imported"
        )
    return DropCheck(path=path, sha256=sha256, modified_at=modified_at, skip=skip)
