"""Moving files to and from a print house or a bank: the folder transport, and opening one by URL.

A *transport* (the protocol :class:`dunning.ports.Transport`) is a folder somewhere, named by a URL:

``file://output/print``
    a local folder (relative paths are taken from ``base_dir``, usually the workspace);
    ``file:///srv/print`` is absolute. This is the embedded default and what a hot folder on a
    shared drive looks like (:class:`FileTransport`, here).
``sftp://user@host:port/path``
    a folder on an SFTP server (see :mod:`dunning.adapters.sftp`): key authentication, host key
    checked against a known_hosts file or a pinned SHA256 fingerprint, retries on transient errors.

Names given to a transport are relative to its folder, use ``/`` and may not climb out of it
(``..`` is refused). Every upload is atomic: the bytes go to ``<name>.part``, the size and the
SHA-256 of what arrived are checked, and only then is the file renamed to its final name (an
atomic overwrite), so a reader polling the folder never sees half a file under the final name.

:func:`transport_for` opens the transport a config section names (``print:`` or ``bank:``, with
its key file, known_hosts and pinned fingerprint resolved in the workspace); it is the one place
that knows both implementations, so this is the only adapter module that imports another.

Example::

    with transport_for(config.print.transport, config.print, workspace) as t:
        t.mkdir_p("batches")
        t.put(Path("B-1.pdf"), "batches/B-1.pdf")
        assert t.stat("batches/B-1.pdf").size > 0
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import stat as stat_module
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Protocol
from urllib.parse import unquote, urlsplit

from dunning.errors import ConfigError, PermanentDeliveryError
from dunning.ports import (
    PART_SUFFIX,
    Progress,
    RemoteEntry,
    Transport,
    UploadResult,
    clean_name,
    part_name,
    sha256_file,
    verify_upload,
)

_CHUNK = 1 << 20


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
        verify_upload(name, temp.stat().st_size, sha256_file(temp), size, expected)
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


class HostKeySettings(Protocol):
    """What a config section (``print:``, ``bank:``) says about reaching an SFTP server."""

    @property
    def key(self) -> Path | None: ...

    @property
    def known_hosts(self) -> Path | None: ...

    @property
    def fingerprint(self) -> str | None: ...


class WorkspaceFolder(Protocol):
    """The workspace as far as a transport needs it: its folder, and paths resolved in it."""

    @property
    def root(self) -> Path: ...

    def path(self, relative: str | Path) -> Path: ...


def transport_for(
    url: str, section: HostKeySettings, workspace: WorkspaceFolder, **sftp_options: float | int | bool
) -> Transport:
    """Open ``url`` with the key file, known_hosts and pinned fingerprint of a config section.

    ``url`` is the section's own (``print.transport``, ``bank.inbox``) or a folder derived from it;
    relative ``file://`` folders and the section's file paths are taken from the workspace.
    ``sftp_options`` go to :class:`dunning.adapters.sftp.SftpSettings` (timeouts, retries...).
    """
    return open_transport(
        url,
        base_dir=workspace.root,
        key_file=workspace.path(section.key) if section.key else None,
        known_hosts=workspace.path(section.known_hosts) if section.known_hosts else None,
        fingerprints=section.fingerprint,
        **sftp_options,
    )
