"""The real servers a chaos night talks to, all on 127.0.0.1, and what each of them saw.

- **OpenSSH sshd** (``tests.servers.sshd``), with one change: ``internal-sftp`` runs with ``-l INFO``, so
  the server logs every ``open``/``close``/``rename`` of the print-house account in ``sshd.log``. That
  log is the print house's own record of what was uploaded (see ``UploadLog``). Without root the helper's
  plain sshd is used and only the listing watcher below sees the uploads.
- **SMTP**: aiosmtpd with the recorder of ``tests/channels/conftest.py``.
- **HTTP SMS gateway**: the gateway of ``tests/channels/conftest.py`` (records every POST with its
  ``Idempotency-Key``).
- **Webhook receiver**: the receiver of ``tests/usecases/notify/conftest.py`` (checks every signature,
  records every POST with its ``Idempotency-Key``).

Every server is stopped in a ``finally``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests.channels.conftest import GatewayState, SmtpRecorder, SmtpServer, _GatewayHandler, free_port
from tests.servers import sshd as sshd_helper
from tests.servers.sshd import SshdServer, start_sshd
from tests.usecases.notify.conftest import Receiver, _handler

SMS_TOKEN = "gw-token"


class SlowSmtpRecorder(SmtpRecorder):
    """The tests' SMTP recorder, answering each message after ``latency`` seconds like a remote server."""

    latency: float = 0.0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.latency)
        return await super().handle_DATA(server, session, envelope)


def _slow_gateway(latency: float) -> type[_GatewayHandler]:
    class SlowGateway(_GatewayHandler):
        def do_POST(self) -> None:
            time.sleep(latency)
            super().do_POST()

    return SlowGateway


class SlowReceiver(Receiver):
    latency: float = 0.0

    def answer(self, handler: BaseHTTPRequestHandler) -> int:
        time.sleep(self.latency)
        return super().answer(handler)


@contextlib.contextmanager
def logged_sshd(workdir: Path) -> Iterator[SshdServer]:
    """``start_sshd`` whose SFTP subsystem logs each file operation (root only; else the plain helper)."""
    if os.geteuid() != 0:
        with start_sshd(workdir) as server:
            yield server
        return
    h = sshd_helper
    user = f"dunchaos{os.getpid()}"
    base = Path(f"/srv/dunning-sftp-{os.getpid()}")
    jail, keys = base / "jail", base / "keys"
    port = h.free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    host_key = h.make_keypair(workdir / "host_ed25519", "dunning-chaos-host")
    client_key = h.make_keypair(workdir / "client_ed25519", "dunning-chaos-client")
    subprocess.run(["userdel", user], capture_output=True)
    shutil.rmtree(base, ignore_errors=True)
    subprocess.run(["useradd", "-M", "-d", "/upload", "-s", "/usr/sbin/nologin", "-U", user],
                   check=True, capture_output=True)
    try:
        subprocess.run(["usermod", "-p", "*", user], check=True, capture_output=True)
        for folder in (base, jail, keys):
            folder.mkdir(mode=0o755, exist_ok=True)
            os.chmod(folder, 0o755)
        for name in ("upload", "outbox", "archive"):
            (jail / name).mkdir(mode=0o755)
            shutil.chown(jail / name, user, user)
        (jail / "dev").mkdir(mode=0o755)
        authorized = keys / f"{user}.authorized_keys"
        shutil.copy(client_key.with_suffix(".pub"), authorized)
        os.chmod(authorized, 0o644)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        config = workdir / "sshd_config"
        config.write_text("\n".join([
            *h._common_config(port, host_key, workdir / "sshd.pid"),
            f"AuthorizedKeysFile {keys}/%u.authorized_keys",
            f"AllowUsers {user}",
            f"Match User {user}",
            f"    ChrootDirectory {jail}",
            "    ForceCommand internal-sftp -d /upload -l INFO",
            "    AllowTcpForwarding no",
            "    X11Forwarding no",
            "    PermitTTY no",
            "",
        ]))
        known_hosts = workdir / "known_hosts"
        known_hosts.write_text(h.known_hosts_line("127.0.0.1", port, host_key.with_suffix(".pub")))
        log = workdir / "sshd.log"
        # internal-sftp logs to syslog, i.e. to /dev/log inside the jail: a socket of ours, written to sftp.log
        with SyslogSink(jail / "dev" / "log", workdir / "sftp.log"), h._run_sshd(config, log, port):
            yield SshdServer(
                host="127.0.0.1", port=port, username=user, client_key=client_key, known_hosts=known_hosts,
                fingerprint=h.fingerprint_of_pub(host_key.with_suffix(".pub")),
                remote_upload="/upload", remote_outbox="/outbox",
                local_upload=jail / "upload", local_outbox=jail / "outbox", log_file=log,
            )
    finally:
        subprocess.run(["userdel", user], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


class SyslogSink:
    """A syslog socket (``/dev/log`` of the jail) whose messages are appended to a file, one per line."""

    def __init__(self, socket_path: Path, out: Path) -> None:
        self.socket_path, self.out = socket_path, out
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self._stop = threading.Event()

    def __enter__(self) -> SyslogSink:
        self.sock.bind(str(self.socket_path))
        os.chmod(self.socket_path, 0o666)
        self.sock.settimeout(0.2)
        self.out.touch()
        self.thread.start()
        return self

    def _loop(self) -> None:
        with self.out.open("ab", buffering=0) as handle:
            while not self._stop.is_set():
                try:
                    data = self.sock.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                handle.write(data.rstrip(b"\0\n") + b"\n")

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join(5)
        self.sock.close()


_RENAME = re.compile(r'(?:posix-)?rename old "(?P<old>[^"]+)" new "(?P<new>[^"]+)"')
_OPEN = re.compile(r'open "(?P<path>[^"]+)" flags (?P<flags>\S+)')
_CLOSE = re.compile(r'close "(?P<path>[^"]+)" bytes read \d+ written (?P<written>\d+)')


@dataclass
class UploadLog:
    """What the SFTP server logged from ``offset`` on: the files put in place under their final names.

    A file is *put in place* when a rename makes it appear under its final name (the client's ``.part`` +
    rename) or when it is opened for writing under its final name and closed with bytes written. A final
    name put in place twice is a file uploaded twice, whatever its content: the print house may already
    have picked up the first copy. A ``.part`` that was never renamed is an interrupted upload, not one.
    """

    path: Path
    offset: int = 0

    def mark(self) -> None:
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def placed(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        if not self.path.exists():
            return counts
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            text = handle.read().decode(errors="replace")
        for line in text.splitlines():
            if (match := _RENAME.search(line)) is not None:
                name = os.path.basename(match["new"])
                counts[name] = counts.get(name, 0) + 1
            elif (match := _CLOSE.search(line)) is not None and int(match["written"]) > 0:
                name = os.path.basename(match["path"])
                if not name.endswith(".part"):
                    counts[name] = counts.get(name, 0) + 1
        return counts


@dataclass
class FolderWatcher:
    """A second witness: lists the upload folder every ``interval`` s and notes each final file's identity.

    A final name whose (inode, size, mtime) changes after it first appeared was written again. It can miss
    a rewrite that lands between two listings with an equal inode, so the SFTP log is the primary witness.
    """

    folder: Path
    interval: float = 0.05
    seen: dict[str, set[tuple[int, int, int]]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _generation: int = 0  # bumped by reset(): a scan that began before it must not record into the next trial

    def _scan(self) -> None:
        with self._lock:
            generation = self._generation
        try:
            entries = list(os.scandir(self.folder))
        except OSError:
            return
        for entry in entries:
            if entry.name.endswith(".part"):
                continue
            try:
                st = entry.stat()
            except OSError:
                continue
            with self._lock:
                if self._generation != generation:  # the folder was emptied for the next trial meanwhile
                    return
                self.seen.setdefault(entry.name, set()).add((st.st_ino, st.st_size, st.st_mtime_ns))

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._scan()
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self._scan()

    def reset(self) -> None:
        with self._lock:
            self.seen.clear()
            self._generation += 1

    def rewritten(self) -> dict[str, int]:
        with self._lock:
            return {name: len(ids) for name, ids in self.seen.items() if len(ids) > 1}


@dataclass
class Servers:
    sshd: SshdServer
    smtp: SmtpServer
    gateway: GatewayState
    gateway_url: str
    receiver: Receiver
    uploads: UploadLog
    watcher: FolderWatcher

    def reset(self) -> None:
        """Forget everything the servers saw (between two trials)."""
        for child in self.sshd.local_upload.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
        self.smtp.recorder.messages.clear()
        self.gateway.messages.clear()
        self.gateway.posts.clear()
        with self.receiver.lock:
            self.receiver.requests.clear()
            self.receiver.processed.clear()
        self.uploads.mark()
        self.watcher.reset()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client killed before reading its answer is what these tests do: no traceback for that."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def _http(handler: type, state_attr: str, state: object) -> Iterator[ThreadingHTTPServer]:
    server = _QuietServer(("127.0.0.1", 0), handler)
    setattr(server, state_attr, state)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextlib.contextmanager
def start_servers(workdir: Path, latency: float = 0.0) -> Iterator[Servers]:
    """All servers; the SMTP server, the SMS gateway and the webhook receiver answer after ``latency`` s."""
    with contextlib.ExitStack() as stack:
        sshd = stack.enter_context(logged_sshd(workdir / "sshd"))
        recorder = SlowSmtpRecorder()
        recorder.latency = latency
        port = free_port()
        controller = Controller(recorder, hostname="127.0.0.1", port=port)
        controller.start()
        stack.callback(controller.stop)
        smtp = SmtpServer("127.0.0.1", port, recorder, controller)
        gateway = GatewayState(token=SMS_TOKEN)
        gw = stack.enter_context(_http(_slow_gateway(latency), "state", gateway))
        receiver = SlowReceiver()
        receiver.latency = latency
        hook = stack.enter_context(_http(_handler(receiver), "_unused", None))
        receiver.port = int(hook.server_address[1])
        watcher = FolderWatcher(sshd.local_upload)
        watcher.start()
        stack.callback(watcher.stop)
        uploads = UploadLog(sshd.log_file.with_name("sftp.log"))
        uploads.mark()
        yield Servers(sshd, smtp, gateway, f"http://127.0.0.1:{gw.server_address[1]}/v1", receiver, uploads,
                      watcher)
