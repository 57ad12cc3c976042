"""Bounces: RFC 3464 reports and the wild ones, from Maildir, mbox and IMAP, mapped to actions."""

from __future__ import annotations

import mailbox
import socket
import threading
from pathlib import Path

import pytest

from dunning.channels.bounces import classify_status, parse_bounce, read_imap, read_maildir, read_mbox, scan_bounces
from dunning.errors import InputError
from tests.channels.channel_helpers import SECRET
from tests.channels.conftest import free_port

DSN = Path(__file__).parent / "dsn"

# sample -> (action, found by, kind, status)
EXPECTED = {
    "postfix_hard.eml": ("A000101", "verp", "hard", "5.1.1"),
    "postfix_delayed.eml": ("A000102", "verp", "soft", "4.4.1"),
    "exim_hard.eml": ("A000103", "verp", "hard", "5.1.1"),
    "exim_mailbox_full_no_verp.eml": ("A000104", "message-id", "soft", "5.2.2"),
    "gmail_no_such_user.eml": ("A000105", "verp", "hard", "5.1.1"),
    "microsoft_recipient_not_found.eml": ("A000106", "verp", "hard", "5.1.10"),
    "yahoo_mailbox_disabled.eml": ("A000107", "verp", "hard", "5.0.0"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_sample_maps_to_its_action(name: str) -> None:
    action_id, found_by, kind, status = EXPECTED[name]
    bounce = parse_bounce((DSN / name).read_bytes(), SECRET, name)
    assert bounce is not None
    assert (bounce.action_id, bounce.found_by, bounce.kind, bounce.status) == (action_id, found_by, kind, status)
    # Whatever found the action, the original Message-ID is read from the returned headers.
    assert bounce.original_message_id is not None
    assert bounce.original_message_id.startswith(f"<{action_id}.")
    assert bounce.recipient is not None and "@" in bounce.recipient


def test_details_of_the_standard_reports() -> None:
    postfix = parse_bounce((DSN / "postfix_hard.eml").read_bytes(), SECRET)
    assert postfix is not None
    assert postfix.recipient == "jan.peeters@example.be" and postfix.action == "failed"
    assert postfix.reporting_mta == "mx1.stadtwerke.example"
    assert postfix.diagnostic is not None and "User unknown" in postfix.diagnostic
    delayed = parse_bounce((DSN / "postfix_delayed.eml").read_bytes(), SECRET)
    assert delayed is not None and delayed.action == "delayed"
    exim = parse_bounce((DSN / "exim_hard.eml").read_bytes(), SECRET)
    assert exim is not None and exim.recipient == "marie.dubois@example.fr"
    assert exim.diagnostic is not None and exim.diagnostic.startswith("550 5.1.1")


def test_with_the_wrong_secret_nothing_maps() -> None:
    bounce = parse_bounce((DSN / "postfix_hard.eml").read_bytes(), b"other secret")
    assert bounce is not None and bounce.action_id is None and bounce.kind == "hard"


def test_scan_separates_matched_unmatched_and_ignored() -> None:
    messages = [(p.name, p.read_bytes()) for p in sorted(DSN.glob("*.eml"))]
    messages.append(("garbage", b"\xff\xfe not mail at all"))
    scan = scan_bounces(messages, SECRET)
    assert {b.source: b.action_id for b in scan.bounces} == {name: v[0] for name, v in EXPECTED.items()}
    # A forged token (wrong signature) and a Message-ID that is not genuinely ours map to nothing.
    assert [b.source for b in scan.unmatched] == ["forged_token.eml"]
    ignored = dict(scan.ignored)
    assert ignored["out_of_office.eml"] == "an automatic reply"
    assert "garbage" in ignored


def test_classification_rules() -> None:
    assert classify_status("5.1.1") == "hard"
    assert classify_status("5.7.1") == "hard"
    assert classify_status("4.2.2") == "soft"
    assert classify_status("5.2.2") == "soft"  # mailbox full: temporary in practice
    assert classify_status("5.1.1", "delayed") == "soft"
    assert classify_status(None) == "soft"


def test_maildir_and_mbox(tmp_path: Path) -> None:
    maildir = mailbox.Maildir(str(tmp_path / "Maildir"), create=True)
    box = mailbox.mbox(str(tmp_path / "bounces.mbox"), create=True)
    for name in ("postfix_hard.eml", "exim_hard.eml", "out_of_office.eml"):
        raw = (DSN / name).read_bytes()
        maildir.add(raw)
        box.add(raw)
    box.flush()
    box.close()
    from_maildir = scan_bounces(read_maildir(tmp_path / "Maildir"), SECRET)
    from_mbox = scan_bounces(read_mbox(tmp_path / "bounces.mbox"), SECRET)
    for scan in (from_maildir, from_mbox):
        assert sorted(b.action_id or "" for b in scan.bounces) == ["A000101", "A000103"]
        assert len(scan.ignored) == 1
    assert all(b.source.startswith("mbox:bounces.mbox#") for b in from_mbox.bounces)
    with pytest.raises(InputError, match="not a Maildir"):
        list(read_maildir(tmp_path))
    with pytest.raises(InputError, match="does not exist"):
        list(read_mbox(tmp_path / "missing.mbox"))


class TinyImapServer:
    """Just enough IMAP4rev1 for read_imap: LOGIN, SELECT/EXAMINE, UID SEARCH, UID FETCH, LOGOUT."""

    def __init__(self, messages: list[bytes]) -> None:
        self.messages = messages  # UID n+1 is messages[n]
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", free_port()))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.commands: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn, conn.makefile("rb") as reader:
            conn.sendall(b"* OK tiny IMAP ready\r\n")
            for line in reader:
                tag, command, *rest = line.decode().rstrip("\r\n").split(" ", 2)
                if command.upper() == "UID":  # "UID SEARCH UID 2:*" -> ["SEARCH", "UID 2:*"]
                    rest = rest[0].split(" ", 1)
                self.commands.append(f"{command} {' '.join(rest)}".strip())
                upper = command.upper()
                if upper == "CAPABILITY":
                    conn.sendall(b"* CAPABILITY IMAP4rev1\r\n" + f"{tag} OK done\r\n".encode())
                elif upper == "LOGIN":
                    ok = bool(rest) and rest[0].replace('"', "") == "bounces s3cret"
                    conn.sendall(f"{tag} {'OK' if ok else 'NO'} login\r\n".encode())
                elif upper in ("SELECT", "EXAMINE"):
                    conn.sendall(f"* {len(self.messages)} EXISTS\r\n{tag} OK [READ-ONLY] done\r\n".encode())
                elif upper == "UID" and rest[0].upper() == "SEARCH":
                    first = int(rest[1].split()[1].split(":")[0])
                    uids = " ".join(str(u) for u in range(first, len(self.messages) + 1))
                    conn.sendall(f"* SEARCH {uids}\r\n{tag} OK done\r\n".encode())
                elif upper == "UID" and rest[0].upper() == "FETCH":
                    uid = int(rest[1].split()[0])
                    body = self.messages[uid - 1]
                    conn.sendall(f"* {uid} FETCH (UID {uid} BODY[] {{{len(body)}}}\r\n".encode() + body
                                 + f")\r\n{tag} OK done\r\n".encode())
                elif upper == "LOGOUT":
                    conn.sendall(f"* BYE\r\n{tag} OK bye\r\n".encode())
                    return
                else:
                    conn.sendall(f"{tag} BAD unknown\r\n".encode())

    def close(self) -> None:
        self.sock.close()
        self.thread.join(timeout=5)


def test_imap_folder_is_read_read_only_from_a_uid() -> None:
    raws = [(DSN / name).read_bytes() for name in ("postfix_hard.eml", "gmail_no_such_user.eml",
                                                    "microsoft_recipient_not_found.eml")]
    server = TinyImapServer(raws)
    try:
        scan = scan_bounces(read_imap("127.0.0.1", "bounces", "s3cret", port=server.port, use_ssl=False,
                                      folder="Bounces", since_uid=1), SECRET)
    finally:
        server.close()
    assert [(b.source, b.action_id) for b in scan.bounces] == [("imap:2", "A000105"), ("imap:3", "A000106")]
    assert any(c.startswith("EXAMINE") for c in server.commands)  # read-only: EXAMINE, not SELECT
    assert "SEARCH UID 2:*" in " ".join(server.commands)

    wrong = TinyImapServer(raws)
    try:
        with pytest.raises(InputError, match=r"IMAP login as 'bounces' on 127\.0\.0\.1 failed"):
            list(read_imap("127.0.0.1", "bounces", "wrong", port=wrong.port, use_ssl=False))
    finally:
        wrong.close()
