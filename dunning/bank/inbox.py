"""The bank inbox: fetching new statement files from a folder or an SFTP server, and ZIPs.

``bank.inbox`` names the folder the bank drops files into (``file://bank/inbox`` or
``sftp://user@host:port/path``, with ``bank.key`` and ``bank.known_hosts`` /
``bank.fingerprint``). :func:`fetch_inbox`:

1. copies each new file (never a ``.part`` being uploaded, never a sub-folder) into the
   workspace's staging folder ``bank/received/`` (atomically: a local ``.part``, then a rename);
2. then moves the file on the bank's side into an ``archive/`` folder *beside* the inbox
   (``bank/archive/`` for ``bank/inbox``; ``/archive`` for ``/upload`` on SFTP), renaming
   it ``name.1.xml``, ``name.2.xml``... if that name is taken;
3. returns every staged file not yet reconciled, oldest first by name (files staged by a run
   that crashed before reconciling are picked up again).

A crash between 1 and 2 stages the file twice at worst; reconciliation recognises files by
the SHA-256 of their content, so it is applied once. After reconciliation the staged copy is
deleted (the original is in the archive) or, when refused, moved to ``bank/refused/`` (the
quarantine, beside the staging folder) next to its report (:func:`write_refusal_report`).

ZIP archives (:func:`expand_zip`) are unpacked with :mod:`zipfile`, refusing what is unsafe:
absolute names or ``..`` (path traversal), links, encrypted or nested archives, more than
:data:`MAX_MEMBERS` members, a member that inflates more than :data:`MAX_RATIO` times or past
:data:`MAX_MEMBER_BYTES`, or more than :data:`MAX_TOTAL_BYTES` in all (ZIP bombs). Sizes are
checked while inflating too, so a header that lies about them does not help.
"""

from __future__ import annotations

import posixpath
import shutil
import stat
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit, urlunsplit

from dunning.adapters.transport import transport_for
from dunning.bank.read import BankFileRefused
from dunning.ports import PART_SUFFIX, Transport, walk_files
from dunning.workspace import Workspace

__all__ = [
    "ARCHIVE",
    "MAX_MEMBERS",
    "MAX_MEMBER_BYTES",
    "MAX_RATIO",
    "MAX_TOTAL_BYTES",
    "expand_zip",
    "fetch_inbox",
    "is_zip",
    "note_set_aside",
    "open_inbox",
    "refused_dir",
    "staging_dir",
    "tidy_staged",
    "write_refusal_report",
]

ARCHIVE = "archive"
MAX_MEMBERS = 1000
MAX_MEMBER_BYTES = 1 << 30  # 1 GiB: far above any real statement
MAX_TOTAL_BYTES = 2 << 30
MAX_RATIO = 100  # camt XML compresses ~10-20×; a bomb compresses 1000×
_RATIO_FLOOR = 1 << 20  # the ratio is only judged on members over 1 MiB
_CHUNK = 1 << 20


def staging_dir(workspace: Workspace) -> Path:
    return workspace.root / "bank" / "received"


def refused_dir(workspace: Workspace) -> Path:
    return workspace.root / "bank" / "refused"


def is_zip(path: Path) -> bool:
    """A ZIP archive, by its first bytes (whatever its name)."""
    try:
        with path.open("rb") as handle:
            return handle.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def _member_problem(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts:
        return "a path outside the archive (path traversal)"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link"
    if info.flag_bits & 0x1:
        return "an encrypted member"
    if info.file_size > MAX_MEMBER_BYTES:
        return f"{info.file_size} bytes once unpacked (limit {MAX_MEMBER_BYTES})"
    if info.file_size > _RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        return f"inflates {info.file_size // max(info.compress_size, 1)}× (a ZIP bomb? limit {MAX_RATIO}×)"
    return None


def expand_zip(path: Path, into: Path) -> list[tuple[Path, str]]:
    """Unpack a ZIP of bank files safely into ``into``; return (file, ``archive.zip!member``) pairs.

    Raises :class:`BankFileRefused` naming the archive and the member when it is unsafe.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BankFileRefused(f"bank file refused: {path.name}: not a readable ZIP archive ({exc})") from None
    out: list[tuple[Path, str]] = []
    with archive:
        members = [i for i in archive.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
        if len(members) > MAX_MEMBERS:
            raise BankFileRefused(f"bank file refused: {path.name}: {len(members)} members (limit {MAX_MEMBERS})")
        total = 0
        for number, info in enumerate(members, start=1):
            shown = f"{path.name}!{info.filename}"
            problem = _member_problem(info)
            if problem is not None:
                raise BankFileRefused(f"bank file refused: {shown}: {problem}")
            target = into / f"{number:04d}-{PurePosixPath(info.filename).name}"
            written = 0
            try:
                with archive.open(info) as source, target.open("wb") as sink:
                    head = source.read(4)
                    if head == b"PK\x03\x04":
                        raise BankFileRefused(f"bank file refused: {shown}: a ZIP inside a ZIP is not read")
                    chunk = head
                    while chunk:
                        written += len(chunk)
                        total += len(chunk)
                        if written > info.file_size or written > MAX_MEMBER_BYTES or total > MAX_TOTAL_BYTES:
                            raise BankFileRefused(
                                f"bank file refused: {shown}: inflates past its declared size or the "
                                f"{MAX_TOTAL_BYTES}-byte limit (a ZIP bomb?)"
                            )
                        sink.write(chunk)
                        chunk = source.read(_CHUNK)
            except (zipfile.BadZipFile, RuntimeError, OSError, EOFError) as exc:
                raise BankFileRefused(f"bank file refused: {shown}: cannot unpack it ({exc})") from None
            out.append((target, shown))
    return out


def _split(url: str) -> tuple[str, str]:
    """(URL of the folder holding the inbox, the inbox's name in it); ("url", "") for a root inbox."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        raw = (parts.netloc + parts.path).rstrip("/")
        parent, _, name = raw.rpartition("/")
        if not name:
            return url, ""
        if raw.startswith("/"):
            return f"file://{parent or '/'}", name
        return f"file://{parent or '.'}", name
    path = parts.path.rstrip("/")
    parent, _, name = path.rpartition("/")
    if not name:
        return url, ""
    return urlunsplit((parts.scheme, parts.netloc, parent or "/", "", "")), name


def open_inbox(workspace: Workspace) -> tuple[Transport, str]:
    """A transport on the folder holding the inbox, and the inbox's name in it."""
    bank = workspace.config.bank
    parent, name = _split(bank.inbox)
    transport = transport_for(parent, bank, workspace)
    return transport, name


def _free_name(transport: Transport, folder: str, name: str) -> str:
    target = posixpath.join(folder, name)
    stem, dot, suffix = name.partition(".")
    number = 0
    while transport.exists(target):
        number += 1
        target = posixpath.join(folder, f"{stem}.{number}{dot}{suffix}")
    return target


def _free_local(folder: Path, name: str) -> Path:
    target = folder / name
    number = 0
    while target.exists():
        number += 1
        stem, dot, suffix = name.partition(".")
        target = folder / f"{stem}.{number}{dot}{suffix}"
    return target


def fetch_inbox(workspace: Workspace) -> list[Path]:
    """Stage the inbox's new files locally, archive them at the bank's side; return the staged files."""
    staging = staging_dir(workspace)
    staging.mkdir(parents=True, exist_ok=True)
    transport, inbox = open_inbox(workspace)
    with transport:
        if inbox and not transport.exists(inbox):
            transport.mkdir_p(inbox)
        for remote in list(walk_files(transport, inbox)):
            name = posixpath.basename(remote)
            transport.get(remote, _free_local(staging, name))
            transport.mkdir_p(ARCHIVE)
            transport.rename(remote, _free_name(transport, ARCHIVE, name))
    return sorted(p for p in staging.iterdir() if p.is_file() and not p.name.endswith(PART_SUFFIX))


def tidy_staged(workspace: Workspace, path: Path, *, refused: bool) -> Path | None:
    """After reconciliation: drop the staged copy, or set a refused file aside in ``bank/refused/``.

    Returns where a refused file now is. The quarantine folder sits beside the staging folder, so a
    refused file is never staged (and read) again by the next run; its report lies next to it.
    """
    if refused:
        folder = refused_dir(workspace)
        folder.mkdir(parents=True, exist_ok=True)
        target = _free_local(folder, path.name)
        shutil.move(str(path), target)
        return target
    path.unlink(missing_ok=True)
    return None


_REPORT_KEYS = ("file", "line", "element", "value", "reason", "refused_at", "times", "sha256")


def write_refusal_report(workspace: Workspace, shown: str, facts: Mapping[str, object]) -> Path:
    """Write ``bank/refused/<file>.report.txt`` (``key: value`` lines) naming what was wrong; its path."""
    folder = refused_dir(workspace)
    folder.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_.!" else "_" for c in shown)[:120] or "bank-file"
    target = _free_local(folder, f"{safe}.report.txt")
    lines = [f"{key}: {facts[key]}" for key in _REPORT_KEYS if facts.get(key) is not None]
    lines.append("what to do: ask the bank for a corrected file; this one is not booked, not even in part")
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def note_set_aside(report: Path, moved_to: Path) -> None:
    """Add where the refused file itself was set aside to its report."""
    with report.open("a", encoding="utf-8") as handle:
        handle.write(f"set aside as: {moved_to}\n")


def inbox_transport(workspace: Workspace) -> Transport:
    """A transport on ``bank.inbox`` itself, with the workspace's key, known_hosts and pinned fingerprint."""
    bank = workspace.config.bank
    return transport_for(bank.inbox, bank, workspace)
