"""A real OpenSSH sshd on 127.0.0.1 for tests: its own port, host key, config and SFTP user.

Two set-ups (research/prefect-sftp.md §2.3):

- **as root** (CI, this machine): a dedicated user is created for the run (``useradd``), and it is
  locked into a chroot jail under ``/srv/dunning-sftp-<pid>/jail`` (sshd refuses jails under
  ``/tmp``: every component must be root-owned and not group/other-writable). The user lands in
  ``/upload`` and also has ``/outbox`` (the print house's answers) and ``/archive``. This is how a
  print house configures its server.
- **not root** (a developer laptop): sshd runs as the current user, who is the only one that can log
  in; no chroot, ``StrictModes no``, and the remote paths are absolute paths of a temp folder.

Either way :class:`SshdServer` says where remote paths are (``remote_upload``) and where the same
files are on the local disk (``local_upload``), so tests can look behind the server's back.

Usage::

    with start_sshd(tmp_path) as server:
        url = server.url(server.remote_upload)      # sftp://user@127.0.0.1:PORT/upload
"""

from __future__ import annotations

import contextlib
import getpass
import itertools
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SSHD = "/usr/sbin/sshd"  # sshd re-execs itself, so it must be started by absolute path


@dataclass(frozen=True)
class SshdServer:
    host: str
    port: int
    username: str
    client_key: Path  # private key of the print-house account
    known_hosts: Path  # a known_hosts file holding the server's real host key
    fingerprint: str  # SHA256:... of the server's host key
    remote_upload: str  # where batches go, as the client sees it
    remote_outbox: str  # where the print house leaves acknowledgements, as the client sees it
    local_upload: Path  # the same folders on the local disk
    local_outbox: Path
    log_file: Path

    def url(self, remote_path: str) -> str:
        return f"sftp://{self.username}@{self.host}:{self.port}{remote_path}"

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_keypair(path: Path, comment: str = "dunning-test") -> Path:
    """Create an ed25519 key pair ``path`` / ``path.pub`` with ssh-keygen; return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path


def fingerprint_of_pub(pub: Path) -> str:
    """``SHA256:...`` of a public key file, as ssh-keygen prints it."""
    out = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(pub)], check=True, capture_output=True, text=True
    ).stdout
    return out.split()[1]


def known_hosts_line(host: str, port: int, pub: Path) -> str:
    key_type, key_b64 = pub.read_text().split()[:2]
    name = host if port == 22 else f"[{host}]:{port}"
    return f"{name} {key_type} {key_b64}\n"


def _wait_for_banner(host: str, port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with socket.create_connection((host, port), timeout=1) as sock:
                if sock.recv(64).startswith(b"SSH-2.0"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"sshd did not answer on {host}:{port}:\n{log.read_text(errors='replace')}")


def _common_config(port: int, host_key: Path, pid_file: Path) -> list[str]:
    return [
        f"Port {port}",
        "ListenAddress 127.0.0.1",
        f"HostKey {host_key}",
        f"PidFile {pid_file}",
        "AuthenticationMethods publickey",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin no",
        "UsePAM no",
        "UseDNS no",
        "MaxStartups 100:30:200",  # the retry and kill tests open connections quickly
        "LogLevel VERBOSE",
        "Subsystem sftp internal-sftp",
    ]


@contextlib.contextmanager
def start_sshd(workdir: Path) -> Iterator[SshdServer]:
    """Start sshd (root: chroot jail + dedicated user; else the current user) and stop it after."""
    if os.geteuid() == 0:
        with _root_sshd(workdir) as server:
            yield server
    else:
        with _user_sshd(workdir) as server:
            yield server


@contextlib.contextmanager
def _run_sshd(config: Path, log: Path, port: int) -> Iterator[None]:
    check = subprocess.run([SSHD, "-t", "-f", str(config)], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"sshd -t refused {config}: {check.stderr}")
    with log.open("wb") as log_handle:
        process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=log_handle, stderr=subprocess.STDOUT)
    try:
        _wait_for_banner("127.0.0.1", port, process, log)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


#: numbers the servers of this process: several can run at once (session fixtures of different folders)
_SERVERS = itertools.count(1)


def _user_of(pid: str, serial: str) -> str:
    return f"dunprint{pid}n{serial}"


def _remove_leftovers() -> None:
    """Remove the users and jails of earlier runs whose process died without cleaning up."""
    for base in Path("/srv").glob("dunning-sftp-*"):
        pid, _, serial = base.name.removeprefix("dunning-sftp-").partition("-")
        if not pid.isdigit() or Path(f"/proc/{pid}").exists():
            continue
        subprocess.run(["userdel", _user_of(pid, serial) if serial else f"dunprint{pid}"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def _root_sshd(workdir: Path) -> Iterator[SshdServer]:
    # a user and jail of its own per server: two servers of one process must not share (nor delete) them
    serial = str(next(_SERVERS))
    user = _user_of(str(os.getpid()), serial)
    base = Path(f"/srv/dunning-sftp-{os.getpid()}-{serial}")
    jail = base / "jail"
    keys = base / "keys"
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    host_key = make_keypair(workdir / "host_ed25519", "dunning-test-host")
    client_key = make_keypair(workdir / "client_ed25519", "dunning-test-client")
    _remove_leftovers()
    subprocess.run(["userdel", user], capture_output=True)  # a leftover of a killed run
    shutil.rmtree(base, ignore_errors=True)
    subprocess.run(
        ["useradd", "-M", "-d", "/upload", "-s", "/usr/sbin/nologin", "-U", user],
        check=True,
        capture_output=True,
    )
    try:
        # '!' in /etc/shadow means "locked" to sshd without PAM; '*' means "no password" and lets keys in
        subprocess.run(["usermod", "-p", "*", user], check=True, capture_output=True)
        for folder in (base, jail, keys):
            folder.mkdir(mode=0o755, exist_ok=True)
            os.chmod(folder, 0o755)
        for name in ("upload", "outbox", "archive"):
            path = jail / name
            path.mkdir(mode=0o755)
            shutil.chown(path, user, user)
        authorized = keys / f"{user}.authorized_keys"
        shutil.copy(client_key.with_suffix(".pub"), authorized)
        os.chmod(authorized, 0o644)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation dir
        config = workdir / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    *_common_config(port, host_key, workdir / "sshd.pid"),
                    f"AuthorizedKeysFile {keys}/%u.authorized_keys",
                    f"AllowUsers {user}",
                    f"Match User {user}",
                    f"    ChrootDirectory {jail}",
                    "    ForceCommand internal-sftp -d /upload",
                    "    AllowTcpForwarding no",
                    "    X11Forwarding no",
                    "    PermitTTY no",
                    "",
                ]
            )
        )
        known_hosts = workdir / "known_hosts"
        known_hosts.write_text(known_hosts_line("127.0.0.1", port, host_key.with_suffix(".pub")))
        log = workdir / "sshd.log"
        with _run_sshd(config, log, port):
            yield SshdServer(
                host="127.0.0.1",
                port=port,
                username=user,
                client_key=client_key,
                known_hosts=known_hosts,
                fingerprint=fingerprint_of_pub(host_key.with_suffix(".pub")),
                remote_upload="/upload",
                remote_outbox="/outbox",
                local_upload=jail / "upload",
                local_outbox=jail / "outbox",
                log_file=log,
            )
    finally:
        subprocess.run(["userdel", user], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def _user_sshd(workdir: Path) -> Iterator[SshdServer]:
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    host_key = make_keypair(workdir / "host_ed25519", "dunning-test-host")
    client_key = make_keypair(workdir / "client_ed25519", "dunning-test-client")
    data = workdir / "data"
    for name in ("upload", "outbox", "archive"):
        (data / name).mkdir(parents=True)
    authorized = workdir / "authorized_keys"
    shutil.copy(client_key.with_suffix(".pub"), authorized)
    config = workdir / "sshd_config"
    config.write_text(
        "\n".join(
            [
                *_common_config(port, host_key, workdir / "sshd.pid"),
                f"AuthorizedKeysFile {authorized}",
                "StrictModes no",  # the files live under world-writable /tmp
                f"ForceCommand internal-sftp -d {data / 'upload'}",
                "AllowTcpForwarding no",
                "X11Forwarding no",
                "PermitTTY no",
                "",
            ]
        )
    )
    known_hosts = workdir / "known_hosts"
    known_hosts.write_text(known_hosts_line("127.0.0.1", port, host_key.with_suffix(".pub")))
    log = workdir / "sshd.log"
    with _run_sshd(config, log, port):
        yield SshdServer(
            host="127.0.0.1",
            port=port,
            username=getpass.getuser(),
            client_key=client_key,
            known_hosts=known_hosts,
            fingerprint=fingerprint_of_pub(host_key.with_suffix(".pub")),
            remote_upload=str(data / "upload"),
            remote_outbox=str(data / "outbox"),
            local_upload=data / "upload",
            local_outbox=data / "outbox",
            log_file=log,
        )
