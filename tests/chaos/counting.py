"""Counting a trial against what the store planned: what the servers received once, twice or never.

What is counted, per channel:

- **planned**: rows of ``actions`` for the channel (letters: ``letter`` and ``registered_letter``;
  webhooks: ``webhook`` actions, or the ``outbox`` rows meant for the webhook when there are more). The plan
  night counts only the actions it planned (``run_date`` from the plan night on), not the first night's
  that its template already delivered; its webhooks are not counted.
- **letters**: a letter is *delivered* when its id (``letter_id`` = the action's id) is in the
  ``.manifest.json`` of a batch whose ``.ready`` marker is on the SFTP server. *In two batches*: its id in
  the manifests of two different batches. *Never delivered*: planned, in no ready batch.
- **batch files uploaded twice**: read from the SFTP server's own log. The test sshd runs
  ``internal-sftp -l INFO``, which logs every ``open``, ``close`` (with bytes written) and ``rename``. A file
  is *put in place* when a rename makes it appear under its final name (the client's ``.part`` + rename)
  or when it is written under its final name. A final name put in place twice is a file uploaded twice,
  whether or not the content was the same (the print house may have picked up the first copy). An
  interrupted ``.part`` never renamed is not an upload. (``internal-sftp`` logs to syslog, which inside the
  chroot jail is ``/dev/log`` of the jail: ``tests.chaos.servers`` binds a socket of its own there.) This
  does not rely on the client's own record
  (the store's ``deliveries`` may be what a crash lost), nor on a listing, which would miss a rewrite
  between two looks; a listing watcher (inode/size/mtime every 50 ms) runs as a second witness and its
  count is reported beside the log's.
- **emails**: the SMTP server's messages by recipient (each debtor has one address and one email): once,
  more than once (*extra* = the surplus), and *new id* when a re-sent message carried another
  ``Message-ID`` than the first. The issue allows at most one re-send per kill, with its original id:
  *beyond one per kill* sums, trial by trial, the re-sends above the trial's number of kills.
- **SMS**: the gateway's POSTs by destination number, ``Idempotency-Key`` compared the same way.
- **webhooks**: the receiver's POSTs by ``Idempotency-Key``; a key posted twice is an extra delivery.
- **payments**: each generated payment (a case paid in full, reported in a camt.054 and again in the
  camt.053) is *applied twice* when the case got more bank transactions than one or allocations above the
  amount paid, *never applied* when nothing was allocated.

"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date
from email import message_from_bytes, policy

from tests.chaos.servers import Servers
from tests.chaos.workspaces import Workspace

#: count every action, whatever day it was planned on
EVER = date(2000, 1, 1)


@dataclass
class Tally:
    planned: int = 0
    once: int = 0
    twice: int = 0  # items delivered more than once
    extra: int = 0  # deliveries beyond the first
    never: int = 0
    new_id: int = 0  # re-sends that did not carry the first delivery's Message-ID / key

    def add(self, other: Tally) -> None:
        for key, value in asdict(other).items():
            setattr(self, key, getattr(self, key) + value)


@dataclass
class LetterTally(Tally):
    in_two_batches: int = 0
    batch_files_twice: int = 0  # final names put in place twice, per the SFTP log
    rewritten_seen: int = 0  # final names rewritten, per the listing watcher
    batches: int = 0
    pending_batches: int = 0  # batch PDFs on the server without their ready marker


def _by_item(deliveries: dict[str, list[str]], planned: list[str]) -> Tally:
    tally = Tally(planned=len(planned))
    for item in planned:
        ids = deliveries.get(item, [])
        if not ids:
            tally.never += 1
        elif len(ids) == 1:
            tally.once += 1
        else:
            tally.twice += 1
            tally.extra += len(ids) - 1
            tally.new_id += len(set(ids)) - 1
    return tally


def count_email(ws: Workspace, servers: Servers, since: date = EVER) -> Tally:
    """``since``: only the actions planned on or after that day (the plan night: not the first night's)."""
    planned = [
        str(r.email)
        for r in ws.sql(
            "SELECT d.email FROM actions a JOIN cases c ON c.id = a.case_id JOIN debtors d ON d.id = c.debtor_id "
            "WHERE a.channel = 'email' AND a.run_date >= :since",
            since=since,
        )
    ]
    received: dict[str, list[str]] = {}
    for message in list(servers.smtp.recorder.messages):
        parsed = message_from_bytes(message.content, policy=policy.compat32)
        for rcpt in message.rcpt_tos:
            received.setdefault(rcpt, []).append(str(parsed["Message-ID"]))
    return _by_item(received, planned)


def count_sms(ws: Workspace, servers: Servers, since: date = EVER) -> Tally:
    planned = [
        str(r.phone)
        for r in ws.sql(
            "SELECT d.phone FROM actions a JOIN cases c ON c.id = a.case_id JOIN debtors d ON d.id = c.debtor_id "
            "WHERE a.channel = 'sms' AND a.run_date >= :since",
            since=since,
        )
    ]
    received: dict[str, list[str]] = {}
    for post in list(servers.gateway.posts):
        received.setdefault(str(post["to"]), []).append(str(post.get("_idempotency_key")))
    return _by_item(received, planned)


def count_webhooks(ws: Workspace, servers: Servers) -> Tally:
    actions = ws.sql("SELECT count(*) FROM actions WHERE channel = 'webhook'")[0][0]
    queued = ws.sql("SELECT count(*) FROM outbox WHERE target = 'webhook'")[0][0]
    with servers.receiver.lock:
        keys = Counter(r.key for r in servers.receiver.requests if 200 <= r.answered < 300)
    planned = max(int(actions), int(queued))
    tally = Tally(planned=planned)
    tally.once = sum(1 for n in keys.values() if n == 1)
    tally.twice = sum(1 for n in keys.values() if n > 1)
    tally.extra = sum(n - 1 for n in keys.values() if n > 1)
    tally.never = max(0, planned - len(keys))
    return tally


def count_letters(ws: Workspace, servers: Servers, since: date = EVER) -> LetterTally:
    planned = {
        str(r.id)
        for r in ws.sql(
            "SELECT id FROM actions WHERE channel IN ('letter', 'registered_letter') AND run_date >= :since",
            since=since,
        )
    }
    upload = servers.sshd.local_upload
    batches_of: dict[str, set[str]] = {}
    tally = LetterTally(planned=len(planned))
    for manifest in sorted(upload.rglob("*.manifest.json")):
        batch = manifest.name[: -len(".manifest.json")]
        tally.batches += 1
        if not (manifest.parent / f"{batch}.ready").exists():
            tally.pending_batches += 1
            continue
        for row in json.loads(manifest.read_text(encoding="utf-8"))["letters"]:
            batches_of.setdefault(str(row["letter_id"]), set()).add(batch)
    for pdf in upload.rglob("*.pdf"):
        if not (pdf.parent / f"{pdf.stem}.manifest.json").exists():
            tally.pending_batches += 1
    for letter in planned:
        found = batches_of.get(letter, set())
        if not found:
            tally.never += 1
        elif len(found) == 1:
            tally.once += 1
        else:
            tally.twice += 1
            tally.in_two_batches += 1
            tally.extra += len(found) - 1
    placed = servers.uploads.placed()
    tally.batch_files_twice = sum(1 for n in placed.values() if n > 1)
    tally.rewritten_seen = len(servers.watcher.rewritten())
    return tally


@dataclass
class PaymentTally:
    planned: int = 0
    once: int = 0
    twice: int = 0
    never: int = 0

    def add(self, other: PaymentTally) -> None:
        for key, value in asdict(other).items():
            setattr(self, key, getattr(self, key) + value)


def count_payments(ws: Workspace) -> PaymentTally:
    paid_file = ws.root / "bank" / "chaos" / "paid.json"
    paid = json.loads(paid_file.read_text()) if paid_file.exists() else []
    tally = PaymentTally(planned=len(paid))
    for reference, amount in paid:
        rows = ws.sql(
            "SELECT count(DISTINCT t.id) AS txs, coalesce(sum(CAST(al.amount AS NUMERIC)), 0) AS total "
            "FROM cases c JOIN allocations al ON al.case_id = c.id AND NOT al.reversed "
            "JOIN bank_transactions t ON t.id = al.transaction_id WHERE c.reference = :ref",
            ref=reference,
        )
        txs, total = (int(rows[0].txs), float(rows[0].total)) if rows else (0, 0.0)
        if txs == 0 or total == 0:
            tally.never += 1
        elif txs > 1 or total > float(amount) + 0.005:
            tally.twice += 1
        else:
            tally.once += 1
    return tally
