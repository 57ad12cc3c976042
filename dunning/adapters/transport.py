"""Moving files to and from a print house or a bank: one small interface, two implementations.

A *transport* is a folder somewhere, named by a URL:

``file://output/print``
    a local folder (relative paths are taken from ``base_dir``, usually the workspace);
    ``file:///srv/print`` is absolute. This is the embedded default and what a hot folder on a
    shared drive looks like.
``sftp://user@host:port/path``
    a folder on an SFTP server (see :mod:`dunning.adapters.sftp`): key authentication, host key
    checked against a known_hosts file or a pinned SHA256 fingerprint, retries on transient errors.

Names given to a transport are relative to its folder, use ``/`` and may not climb out of it
(``..`` is refused). Every upload is atomic: the bytes go to ``<name>.part``, the size and the
SHA-256 of what arrived are checked, and only then is the file renamed to its final name (an
atomic overwrite), so a reader polling the folder never sees half a file under the final name.

Example::

    with open_transport("file://output/print", base_dir=workspace) as t:
        t.mkdir_p("batches")
        t.put(Path("B-1.pdf"), "batches/B-1.pdf")
        assert t.stat("batches/B-1.pdf").size > 0
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import stat as stat_module
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

from dunning.errors import ConfigError, PermanentDeliveryError

#: Suffix of files being uploaded; never a final name. Readers skip these.
PART_SUFFIX = ".part"

_CHUNK = 1 << 20

#: ``progress(bytes_sent, bytes_total)`` called while a file is uploaded.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RemoteEntry:
    """One file or folder in a transport's folder."""

    name: str
    size: int
    mtime: float
    is_dir: bool


@dataclass(frozen=True)
class UploadResult:
    """What arrived: the final name, its size and its SHA-256 (hex), both checked after upload."""

    name: str
    size: int
    sha256: str


@runtime_checkable
class Transport(Protocol):
    """A folder on the other side. Implementations: :class:`FileTransport`, ``SftpTransport``."""

    @property
    def url(self) -> str:
        """The URL the transport was opened with (no secrets in it)."""
        ...

    def put(self, local: Path, name: str, *, progress: Progress | None = None) -> UploadResult:
        """Upload a local file atomically (``name.part`` → verify size and SHA-256 → rename)."""
        ...

    def put_bytes(self, data: bytes, name: str) -> UploadResult:
        """Upload bytes atomically, like :meth:`put`."""
        ...

    def get(self, name: str, local: Path) -> None:
        """Download to ``local`` atomically (a local ``.part`` then :func:`os.replace`)."""
        ...

    def read_bytes(self, name: str) -> bytes:
        """Return the whole content of a file."""
        ...

    def sha256(self, name: str) -> str:
        """Hash the file as it is on the other side (reads it back)."""
        ...

    def list(self, folder: str = "") -> list[RemoteEntry]:
        """Entries of a folder, sorted by name."""
        ...

    def stat(self, name: str) -> RemoteEntry | None:
        """The entry for ``name``, or ``None`` when it does not exist."""
        ...

    def exists(self, name: str) -> bool:
        """Whether ``name`` exists."""
        ...

    def remove(self, name: str) -> None:
        """Delete a file; deleting a file that is not there is not an error."""
        ...

    def rename(self, old: str, new: str) -> None:
        """Rename atomically, replacing ``new`` if it exists."""
        ...

    def mkdir_p(self, folder: str) -> None:
        """Create a folder and its parents; existing folders are fine."""
        ...

    def close(self) -> None:
        """Release the connection (a no-op for folders)."""
        ...

    def __enter__(self) -> Transport: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def clean_name(name: str) -> str:
    """Normalise a transport-relative name; refuse absolute names and ``..``.

    >>> clean_name("batches//B-1.pdf")
    'batches/B-1.pdf'
    >>> clean_name("")
    ''
    """
    if name.startswith("/") or "\\" in name:
        raise PermanentDeliveryError(f"transport name {name!r} must be relative and use '/'")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise PermanentDeliveryError(f"transport name {name!r} may not contain '..'")
    return "/".join(parts)


def sha256_file(path: Path) -> str:
    """SHA-256 (hex) of a local file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_stream(handle: BinaryIO) -> str:
    """SHA-256 (hex) of everything left in a binary stream."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: handle.read(_CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


def part_name(name: str) -> str:
    """The temporary name used while ``name`` is uploaded."""
    return name + PART_SUFFIX


class FileTransport:
    """A transport on a local folder (the embedded default, and hot folders on a mounted share)."""

    def __init__(self, root: Path, url: str | None = None) -> None:
        self.root = root
        self._url = url or root.as_uri()

    @property
    def url(self) -> str:
        return self._url

    def _path(self, name: str) -> Path:
        cleaned = clean_name(name)
        return self.root / cleaned if cleaned else self.root

    def put(self, local: Path, name: str, *, progress: Progress | None = None) -> UploadResult:
        size = local.stat().st_size
        with local.open("rb") as source:
            return self._put_stream(source, size, name, progress)

    def put_bytes(self, data: bytes, name: str) -> UploadResult:
        import io

        return self._put_stream(io.BytesIO(data), len(data), name, None)

    def _put_stream(self, source: BinaryIO, size: int, name: str, progress: Progress | None) -> UploadResult:
        final = self._path(name)
        temp = final.with_name(part_name(final.name))
        final.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        sent = 0
        with temp.open("wb") as target:
            for chunk in iter(lambda: source.read(_CHUNK), b""):
                target.write(chunk)
                digest.update(chunk)
                sent += len(chunk)
                if progress is not None:
                    progress(sent, size)
            target.flush()
            os.fsync(target.fileno())
        expected = digest.hexdigest()
        _verify(name, temp.stat().st_size, sha256_file(temp), size, expected)
        os.replace(temp, final)
        return UploadResult(clean_name(name), size, expected)

    def get(self, name: str, local: Path) -> None:
        source = self._path(name)
        temp = local.with_name(local.name + PART_SUFFIX)
        local.parent.mkdir(parents=True, exist_ok=True)
        with source.open("rb") as src, temp.open("wb") as dst:
            for chunk in iter(lambda: src.read(_CHUNK), b""):
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(temp, local)

    def read_bytes(self, name: str) -> bytes:
        return self._path(name).read_bytes()

    def sha256(self, name: str) -> str:
        return sha256_file(self._path(name))

    def list(self, folder: str = "") -> list[RemoteEntry]:
        path = self._path(folder)
        if not path.is_dir():
            raise PermanentDeliveryError(f"{self.url}: folder {folder!r} does not exist")
        entries = []
        for child in path.iterdir():
            info = child.stat()
            entries.append(
                RemoteEntry(child.name, info.st_size, info.st_mtime, stat_module.S_ISDIR(info.st_mode))
            )
        return sorted(entries, key=lambda e: e.name)

    def stat(self, name: str) -> RemoteEntry | None:
        path = self._path(name)
        try:
            info = path.stat()
        except FileNotFoundError:
            return None
        return RemoteEntry(path.name, info.st_size, info.st_mtime, stat_module.S_ISDIR(info.st_mode))

    def exists(self, name: str) -> bool:
        return self.stat(name) is not None

    def remove(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(name).unlink()

    def rename(self, old: str, new: str) -> None:
        os.replace(self._path(old), self._path(new))

    def mkdir_p(self, folder: str) -> None:
        self._path(folder).mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        return None

    def __enter__(self) -> FileTransport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _verify(name: str, got_size: int, got_sha: str, size: int, sha: str) -> None:
    """Refuse an upload whose size or checksum differs from what was sent."""
    if got_size != size:
        raise PermanentDeliveryError(f"upload of {name!r} arrived with {got_size} bytes, sent {size}")
    if got_sha != sha:
        raise PermanentDeliveryError(f"upload of {name!r} arrived with SHA-256 {got_sha}, sent {sha}")


def open_transport(
    url: str,
    *,
    base_dir: Path | None = None,
    key_file: Path | None = None,
    known_hosts: Path | None = None,
    fingerprints: Sequence[str] | str | None = None,
    **sftp_options: float | int | bool,
) -> Transport:
    """Open the transport a URL names.

    ``file://`` URLs need nothing else; a relative path is taken from ``base_dir`` (default: the
    current folder) and the folder is created. ``sftp://user@host:port/path`` needs ``key_file``
    and either ``known_hosts`` or pinned ``fingerprints`` (``SHA256:...``); the remaining keyword
    arguments go to :class:`dunning.adapters.sftp.SftpSettings` (timeouts, retries, window...).
    Raises :class:`ConfigError` naming the URL when it cannot be used.
    """
    parts = urlsplit(url)
    if parts.scheme == "file":
        raw = unquote(parts.netloc + parts.path)
        if not raw:
            raise ConfigError(f"transport URL {url!r} has no path")
        root = Path(raw)
        if not root.is_absolute():
            root = (base_dir or Path.cwd()) / root
        root.mkdir(parents=True, exist_ok=True)
        return FileTransport(root, url)
    if parts.scheme == "sftp":
        from dunning.adapters.sftp import SftpSettings, SftpTransport

        if not parts.hostname or not parts.username:
            raise ConfigError(f"transport URL {url!r} must look like sftp://user@host:port/path")
        if parts.password:
            raise ConfigError(f"transport URL {url!r} carries a password: use a key file instead")
        if key_file is None:
            raise ConfigError(f"transport URL {url!r} needs a private key file (key:)")
        pins: tuple[str, ...]
        if fingerprints is None:
            pins = ()
        elif isinstance(fingerprints, str):
            pins = (fingerprints,)
        else:
            pins = tuple(fingerprints)
        if known_hosts is None and not pins:
            raise ConfigError(f"transport URL {url!r} needs known_hosts: or a pinned fingerprint:")
        try:
            port = parts.port or 22
        except ValueError:
            raise ConfigError(f"transport URL {url!r} has an invalid port") from None
        settings = SftpSettings(
            host=parts.hostname,
            port=port,
            username=unquote(parts.username),
            key_file=key_file,
            known_hosts=known_hosts,
            pinned_fingerprints=pins,
            base_path=unquote(parts.path) or ".",
            **sftp_options,  # type: ignore[arg-type]
        )
        return SftpTransport(settings)
    raise ConfigError(f"transport URL {url!r}: scheme must be file:// or sftp://")


def walk_files(transport: Transport, folder: str = "") -> Iterator[str]:
    """Names of the regular files in ``folder``, skipping ``.part`` files and subfolders."""
    for entry in transport.list(folder):
        if entry.is_dir or entry.name.endswith(PART_SUFFIX):
            continue
        yield posixpath.join(folder, entry.name) if folder else entry.name
