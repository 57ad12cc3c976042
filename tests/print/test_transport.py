"""Transports: the same operations on a local folder and on a real OpenSSH sshd; host keys; retries."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from dunning.adapters.sftp import HostKeyError, SftpAuthError, SftpSettings, SftpTransport, backoff_delays
from dunning.adapters.transport import FileTransport, Transport, open_transport
from dunning.errors import ConfigError, PermanentDeliveryError, TransientDeliveryError
from tests.servers.sshd import SshdServer, free_port, known_hosts_line, make_keypair


@pytest.mark.sftp
def test_put_verifies_and_renames_atomically(transport: tuple[Transport, Path], tmp_path: Path) -> None:
    t, behind = transport
    data = os.urandom(3 * 1024 * 1024 + 17)
    local = tmp_path / "batch.pdf"
    local.write_bytes(data)
    seen_parts = []

    def progress(sent: int, total: int) -> None:
        # while bytes are flowing only the .part name exists, never the final name
        seen_parts.append((behind / "in" / "batch.pdf").exists())
        assert total == len(data)

    t.mkdir_p("in/deeper")
    t.mkdir_p("in/deeper")  # mkdir -p: existing folders are fine
    result = t.put(local, "in/batch.pdf", progress=progress)
    assert result.sha256 == hashlib.sha256(data).hexdigest() and result.size == len(data)
    assert seen_parts and not any(seen_parts)
    assert (behind / "in" / "batch.pdf").read_bytes() == data
    assert not (behind / "in" / "batch.pdf.part").exists()
    assert t.sha256("in/batch.pdf") == result.sha256

    # overwrite atomically, list, stat, exists, get, read, rename, remove
    t.put_bytes(b"v2", "in/batch.pdf")
    assert t.read_bytes("in/batch.pdf") == b"v2"
    names = [(e.name, e.is_dir) for e in t.list("in")]
    assert names == [("batch.pdf", False), ("deeper", True)]
    entry = t.stat("in/batch.pdf")
    assert entry is not None and entry.size == 2
    assert t.stat("in/missing") is None and not t.exists("in/missing")
    t.get("in/batch.pdf", tmp_path / "back" / "copy.pdf")
    assert (tmp_path / "back" / "copy.pdf").read_bytes() == b"v2"
    t.put_bytes(b"other", "in/other.pdf")
    t.rename("in/other.pdf", "in/batch.pdf")  # replaces the existing file
    assert t.read_bytes("in/batch.pdf") == b"other" and not t.exists("in/other.pdf")
    t.remove("in/batch.pdf")
    t.remove("in/batch.pdf")  # removing a missing file is not an error
    assert [e.name for e in t.list("in")] == ["deeper"]


@pytest.mark.sftp
def test_names_may_not_escape_the_folder(transport: tuple[Transport, Path]) -> None:
    t, _ = transport
    with pytest.raises(PermanentDeliveryError, match=r"may not contain '\.\.'"):
        t.put_bytes(b"x", "../escape.pdf")
    with pytest.raises(PermanentDeliveryError, match="must be relative"):
        t.stat("/etc/passwd")


def settings_for(server: SshdServer, **kw: object) -> SftpSettings:
    base: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "username": server.username,
        "key_file": server.client_key,
        "known_hosts": server.known_hosts,
        "base_path": server.remote_upload,
        "connect_timeout": 5.0,
        "backoff_jitter": 0.0,
    }
    base.update(kw)
    return SftpSettings(**base)  # type: ignore[arg-type]


@pytest.mark.sftp
def test_changed_host_key_is_refused_with_its_fingerprint(sftp_upload: SshdServer, tmp_path: Path) -> None:
    impostor = make_keypair(tmp_path / "impostor")
    known = tmp_path / "known_hosts"
    known.write_text(known_hosts_line(sftp_upload.host, sftp_upload.port, impostor.with_suffix(".pub")))
    sleeps: list[float] = []
    t = SftpTransport(settings_for(sftp_upload, known_hosts=known), sleep=sleeps.append)
    with pytest.raises(HostKeyError) as caught:
        t.list()
    message = str(caught.value)
    assert "CHANGED" in message and sftp_upload.fingerprint in message
    assert caught.value.fingerprint == sftp_upload.fingerprint
    assert re.search(r"SHA256:[A-Za-z0-9+/]{43}", message)
    assert t.connect_attempts == 1 and sleeps == []  # permanent: no retry
    assert isinstance(caught.value, PermanentDeliveryError)


@pytest.mark.sftp
def test_unknown_host_key_is_refused_and_a_pinned_fingerprint_is_accepted(
    sftp_upload: SshdServer, tmp_path: Path
) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(HostKeyError, match=rf"UNKNOWN.*{re.escape(sftp_upload.fingerprint)}"):
        SftpTransport(settings_for(sftp_upload, known_hosts=empty)).list()
    # the fingerprint from the refusal, pinned in config, is enough (even with a wrong known_hosts)
    impostor = make_keypair(tmp_path / "impostor")
    wrong = tmp_path / "wrong_known_hosts"
    wrong.write_text(known_hosts_line(sftp_upload.host, sftp_upload.port, impostor.with_suffix(".pub")))
    pinned = sftp_upload.fingerprint.replace("SHA256:", "sha256:") + "="  # tolerant spelling
    with open_transport(
        sftp_upload.url(sftp_upload.remote_upload),
        key_file=sftp_upload.client_key,
        known_hosts=wrong,
        fingerprints=pinned,
    ) as t:
        t.put_bytes(b"pinned", "pinned.txt")
    assert (sftp_upload.local_upload / "pinned.txt").read_bytes() == b"pinned"
    # a pin of another key does not help
    with pytest.raises(HostKeyError):
        SftpTransport(settings_for(sftp_upload, known_hosts=None, pinned_fingerprints=("SHA256:" + "A" * 43,))).list()


@pytest.mark.sftp
def test_wrong_client_key_is_permanent_and_not_retried(sftp_upload: SshdServer, tmp_path: Path) -> None:
    stranger = make_keypair(tmp_path / "stranger")
    sleeps: list[float] = []
    t = SftpTransport(settings_for(sftp_upload, key_file=stranger), sleep=sleeps.append)
    with pytest.raises(SftpAuthError, match="authentication refused"):
        t.put_bytes(b"x", "x.txt")
    assert t.connect_attempts == 1 and sleeps == []


def test_connection_refused_is_transient_and_retried_with_exponential_backoff(tmp_path: Path) -> None:
    key = make_keypair(tmp_path / "client")
    port = free_port()  # nothing listens there
    settings = SftpSettings(
        host="127.0.0.1",
        port=port,
        username="nobody",
        key_file=key,
        pinned_fingerprints=("SHA256:x",),
        attempts=4,
        backoff_initial=0.5,
        backoff_max=1.5,
        backoff_jitter=0.0,
    )
    sleeps: list[float] = []
    t = SftpTransport(settings, sleep=sleeps.append)
    with pytest.raises(TransientDeliveryError, match="gave up after 4 attempts"):
        t.list()
    assert t.connect_attempts == 4
    assert sleeps == [0.5, 1.0, 1.5]  # doubling, capped
    delays = backoff_delays(SftpSettings(**{**settings.__dict__, "backoff_jitter": 0.5}))
    assert all(b <= d <= b * 1.5 for b, d in zip([0.5, 1.0, 1.5], delays, strict=True))


@pytest.mark.sftp
def test_a_dropped_connection_is_reopened(sftp_upload: SshdServer) -> None:
    sleeps: list[float] = []
    t = SftpTransport(settings_for(sftp_upload, backoff_initial=0.01), sleep=sleeps.append)
    t.put_bytes(b"one", "one.txt")
    assert t._ssh is not None
    t._ssh.sock.close()  # the connection dies under us (reset, idle timeout)
    t.put_bytes(b"two", "two.txt")
    assert (sftp_upload.local_upload / "two.txt").read_bytes() == b"two"
    assert t.connect_attempts == 2 and len(sleeps) == 1
    t.close()


def test_open_transport_refuses_bad_urls(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="scheme must be file:// or sftp://"):
        open_transport("ftp://host/x")
    with pytest.raises(ConfigError, match="needs a private key file"):
        open_transport("sftp://u@h:22/x", known_hosts=tmp_path)
    with pytest.raises(ConfigError, match="needs known_hosts: or a pinned fingerprint"):
        open_transport("sftp://u@h:22/x", key_file=tmp_path / "k")
    with pytest.raises(ConfigError, match="carries a password"):
        open_transport("sftp://u:secret@h/x", key_file=tmp_path / "k", known_hosts=tmp_path)
    absolute = open_transport(f"file://{tmp_path}/abs")
    assert isinstance(absolute, FileTransport) and absolute.root == tmp_path / "abs"


def test_transport_for_resolves_a_sections_key_and_host_checks_in_the_workspace(tmp_path: Path) -> None:
    from dunning.adapters.transport import transport_for
    from dunning.config import BankConfig, Config, PrintConfig
    from dunning.workspace import Workspace

    workspace = Workspace(tmp_path, Config.model_construct())  # only its folder matters here
    print_section = PrintConfig(transport="file://output/print")
    folder = transport_for(print_section.transport, print_section, workspace)
    assert isinstance(folder, FileTransport) and folder.root == tmp_path / "output" / "print"

    bank = BankConfig(inbox="sftp://dunning@bank.example:2222/inbox", key=Path("keys/bank"),
                      known_hosts=Path("/etc/ssh/known_hosts"), fingerprint="SHA256:abc")
    remote = transport_for(bank.inbox, bank, workspace, connect_timeout=3.0)
    assert isinstance(remote, SftpTransport)  # not connected yet: it connects on first use
    settings = remote.settings
    assert (settings.host, settings.port, settings.username, settings.base_path) == (
        "bank.example", 2222, "dunning", "/inbox")
    assert settings.key_file == tmp_path / "keys" / "bank"  # relative to the workspace
    assert settings.known_hosts == Path("/etc/ssh/known_hosts")
    assert settings.pinned_fingerprints == ("SHA256:abc",) and settings.connect_timeout == 3.0

    with pytest.raises(ConfigError, match="needs a private key file"):
        transport_for(bank.inbox, BankConfig(inbox=bank.inbox, fingerprint="SHA256:abc"), workspace)


def test_a_socket_closed_under_paramiko_is_a_lost_connection_and_a_refusal_is_not() -> None:
    from dunning.adapters.sftp import classify_error
    from dunning.errors import PermanentDeliveryError, TransientDeliveryError

    assert isinstance(classify_error(OSError("Socket is closed"), "upload"), TransientDeliveryError)
    assert isinstance(classify_error(OSError("Failure"), "upload"), PermanentDeliveryError)
