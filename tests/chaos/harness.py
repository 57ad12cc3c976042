"""Crash harness: run dunning's commands against real servers, SIGKILL them at random moments, count.

A *trial* starts from a fresh copy of a prepared workspace (and of its database), runs one command
(``letters``, ``dispatch``, ``notify``, ``reconcile``) or the whole night (``import``, ``run``,
``dispatch``, ``letters``, ``notify`` in order) as ``dunning`` subprocesses, and kills it with SIGKILL
(the whole process group: the command and its render workers, as ``kill -9`` of a container or a
power cut would) after a delay drawn uniformly between 0 and the command's measured undisturbed
duration, so kills fall before, during and after uploads and sends. It then runs the command again
until one run ends without being killed (the re-run itself may be killed once more, seeded), and
counts what the servers received against what the store planned. Only the CLI and SQL over the
workspace's database are used: nothing of dunning is imported.

Two kinds of kill moment: *random* (the above; what ``python -m tests.chaos.crash`` does by default) and
*targeted* (``targeted_trigger``: as soon as the servers have seen the first batch PDF put in place, the 5th
email or the 10th webhook; 60 % into ``reconcile``), which the short pytest uses so that a few kills are
sure to land mid-delivery. A kill's moment is its delay from the start of the first step (or the trigger);
random kills often land in the interpreter's start-up, which is part of "before the sends". The SMTP
server, the SMS gateway and the webhook receiver answer after ``Setup.latency`` seconds (50 ms by
default), like servers across a network, so the sending phase is not a vanishing part of a run.

What is counted, per channel:

- **planned**: rows of ``actions`` for the channel (letters: ``letter`` and ``registered_letter``;
  webhooks: ``webhook`` actions, or the ``outbox`` rows meant for the webhook when there are more).
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

Besides: every run's exit code, and every stderr that holds a Python traceback.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from datetime import date
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from camt.build import Payment, build_camt
from tests.chaos.servers import SMS_TOKEN, Servers, start_servers

IMPORTED = date(2026, 10, 5)
NIGHT = date(2026, 10, 8)  # day 7 after the due date: every step of FLOW
PAID_ON = date(2026, 10, 12)
ACCOUNT = "BE68539007547034"  # the account of `dunning init`'s creditor
COMMANDS = ("letters", "dispatch", "notify", "reconcile", "night")
NIGHT_STEPS = ("import", "run", "dispatch", "letters", "notify")
RUN_TIMEOUT = 300.0  # seconds: no single command may take longer

FLOW = """\
name: default
version: 1
description: Chaos night - every channel on one night.
min_contact_gap_days: 1
steps:
  - key: remind_email
    day: 7
    when: {segment: [mail]}
    action: send_email
    settings: {template: first_reminder}
  - key: remind_sms
    after: 0
    when: {segment: [sms]}
    action: send_sms
    settings: {template: reminder_sms}
  - key: remind_letter
    after: 0
    when: {segment: [paper]}
    action: send_letter
    settings: {template: first_reminder}
  - key: notify
    after: 0
    action: notify_creditor
    settings: {event: overdue_7}
"""

HEADER = ("customer_id,name,type,language,street,postal_code,city,country,email,phone,iban,segment,invoice,"
          "invoice_date,due_date,original_amount,open_amount,currency,description")
_TRACEBACK = re.compile(r"Traceback \(most recent call last\)")


def dunning_executable() -> str:
    beside = Path(sys.executable).parent / "dunning"
    return str(beside) if beside.exists() else (shutil.which("dunning") or "dunning")


def ledger_csv(debtors: int, seed: int) -> str:
    """``debtors`` debtors, one invoice each: half by letter, a quarter by email, a quarter by SMS.

    SMS debtors live in Italy: quiet hours know no rule for IT, so the creditor's time zone decides, which
    the harness picks so that it is daytime now (``daytime_zone``).
    """
    rng = random.Random(seed)
    rows = [HEADER]
    languages = ("nl", "fr", "de", "en")
    for i in range(1, debtors + 1):
        segment = ("paper", "mail", "paper", "sms")[i % 4]
        country = "IT" if segment == "sms" else "BE"
        email = f"d{i:05d}@example.be" if segment == "mail" else ""
        phone = f"+39347{i:07d}" if segment == "sms" else ""
        amount = f"{rng.randint(40, 900)}.{rng.randint(0, 99):02d}"
        rows.append(f"D{i:05d},Debtor {i},person,{languages[i % 4]},Kerkstraat {i},{1000 + (i * 7) % 8000},"
                    f"Brussel,{country},{email},{phone},,{segment},INV-2026-{i:05d},2026-09-01,2026-10-01,"
                    f"{amount},{amount},EUR,Energy")
    return "\n".join(rows) + "\n"


def daytime_zone(now: float | None = None) -> str:
    """An ``Etc/GMT`` zone where it is now between 10:00 and 18:00 on Monday to Saturday (SMS may go out)."""
    seconds = time.time() if now is None else now
    for offset in range(-12, 15):
        local = time.gmtime(seconds + offset * 3600)
        if local.tm_wday != 6 and 10 <= local.tm_hour < 18:
            return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"
    return "Europe/Brussels"  # pragma: no cover - some offset always fits


# -- databases --------------------------------------------------------------------------------------
@dataclass
class Database:
    """Where the trials' stores live: one SQLite file per workspace copy, or one PostgreSQL database each."""

    kind: str  # sqlite | postgresql
    admin_url: str | None = None
    created: list[str] = field(default_factory=list)

    def new_url(self, template: str | None = None) -> str | None:
        """A new PostgreSQL database (a copy of ``template``), its URL; None on SQLite (the file is copied)."""
        if self.kind == "sqlite":
            return None
        assert self.admin_url is not None
        admin = make_url(self.admin_url)
        name = f"dunning_chaos_{uuid.uuid4().hex[:12]}"
        engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                clause = f' TEMPLATE "{make_url(template).database}"' if template else ""
                conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        finally:
            engine.dispose()
        self.created.append(name)
        return admin.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str | None) -> None:
        """Drop one trial's database (PostgreSQL; nothing on SQLite)."""
        if url is None or self.kind == "sqlite" or self.admin_url is None:
            return
        name = make_url(url).database
        engine = create_engine(make_url(self.admin_url), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            engine.dispose()
        if name in self.created:
            self.created.remove(name)

    def drop_all(self) -> None:
        if self.kind == "sqlite" or not self.created:
            return
        assert self.admin_url is not None
        engine = create_engine(make_url(self.admin_url), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                for name in self.created:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            engine.dispose()
        self.created.clear()


# -- a workspace ------------------------------------------------------------------------------------
@dataclass
class Workspace:
    root: Path
    database_url: str | None  # None: the SQLite file inside root
    env: dict[str, str]

    @property
    def url(self) -> str:
        return self.database_url or f"sqlite:///{self.root / 'state.db'}"

    def sql(self, query: str, **params: Any) -> list[Any]:
        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                return list(conn.execute(text(query), params))
        finally:
            engine.dispose()

    def copy(self, dest: Path, database: Database) -> Workspace:
        # The template's database must be idle for CREATE DATABASE ... TEMPLATE: nothing holds it here.
        shutil.copytree(self.root, dest, symlinks=True)
        url = database.new_url(self.database_url) if self.database_url else None
        env = dict(self.env)
        if url:
            env["DUNNING_DATABASE"] = url
        return Workspace(dest, url, env)


@dataclass
class RunRecord:
    step: str
    exit_code: int | None  # None: killed
    seconds: float
    traceback: bool
    stderr_tail: str
    started_at: float = 0.0  # time.monotonic() at launch and at exit (run_together)
    ended_at: float = 0.0


Trigger = Callable[[], bool]


def run_cli(ws: Workspace, args: Sequence[str], *, kill_after: float | None = None, kill_when: Trigger | None = None,
            timeout: float = RUN_TIMEOUT) -> RunRecord:
    """Run ``dunning -w ROOT ARGS``; SIGKILL its process group after ``kill_after`` seconds, or as soon as
    ``kill_when()`` holds (polled every 10 ms), if it still runs then."""
    started = time.monotonic()
    with open(ws.root / ".chaos-stderr", "w+b") as err, open(os.devnull, "wb") as out:
        process = subprocess.Popen([dunning_executable(), "-w", str(ws.root), *args], stdout=out, stderr=err,
                                   env={**os.environ, **ws.env, "NO_COLOR": "1", "TERM": "dumb"},
                                   start_new_session=True)
        killed = False
        try:
            while process.poll() is None:
                elapsed = time.monotonic() - started
                if elapsed > timeout:
                    raise RuntimeError(f"dunning {' '.join(args)} ran longer than {timeout:.0f} s")
                if (kill_after is not None and elapsed >= kill_after) or (kill_when is not None and kill_when()):
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                    killed = True
                    break
                with suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=0.01)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)  # render workers left behind by a dying parent
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    return RunRecord(args[0], None if killed else process.returncode, time.monotonic() - started,
                     bool(_TRACEBACK.search(stderr)), stderr[-600:])


def run_together(ws: Workspace, args: Sequence[str], count: int = 2,
                 timeout: float = RUN_TIMEOUT) -> list[RunRecord]:
    """Start ``count`` identical ``dunning -w ROOT ARGS`` at the same moment, wait for all; one record each."""
    processes: list[tuple[subprocess.Popen[bytes], Any]] = []
    launched: list[float] = []
    started = time.monotonic()
    try:
        for number in range(count):
            err = open(ws.root / f".chaos-stderr-{number}", "w+b")  # noqa: SIM115 - closed below
            launched.append(time.monotonic())
            processes.append((subprocess.Popen([dunning_executable(), "-w", str(ws.root), *args],
                                               stdout=subprocess.DEVNULL, stderr=err,
                                               env={**os.environ, **ws.env, "NO_COLOR": "1", "TERM": "dumb"},
                                               start_new_session=True), err))
        ended: dict[int, float] = {}
        while len(ended) < len(processes):  # note each exit as it happens
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"dunning {' '.join(args)} ran longer than {timeout:.0f} s")
            for number, (process, _err) in enumerate(processes):
                if number not in ended and process.poll() is not None:
                    ended[number] = time.monotonic()
            time.sleep(0.01)
        records = []
        for number, (process, err) in enumerate(processes):
            err.seek(0)
            stderr = err.read().decode(errors="replace")
            records.append(RunRecord(args[0], process.returncode, ended[number] - launched[number],
                                     bool(_TRACEBACK.search(stderr)), stderr[-2000:], launched[number],
                                     ended[number]))
        return records
    finally:
        for process, err in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            err.close()


def command_steps(command: str, ws: Workspace, workers: int) -> list[list[str]]:
    night = NIGHT.isoformat()
    steps = {
        "import": ["import", str(ws.root / "ledger" / "chaos.csv"), "--date", IMPORTED.isoformat()],
        "run": ["run", "--date", night],
        "dispatch": ["dispatch", "--date", night, "--receipt-wait", "0"],
        "letters": ["letters", "--date", night, "--workers", str(workers)],
        "notify": ["notify", "--date", night],
        "reconcile": ["reconcile", "--date", PAID_ON.isoformat(),
                      *sorted(str(p) for p in (ws.root / "bank" / "chaos").glob("*.xml"))],
    }
    if command == "night":
        return [steps[s] for s in NIGHT_STEPS]
    return [steps[command]]


def run_sequence(ws: Workspace, steps: list[list[str]], kill_after: float | None,
                 kill_when: Trigger | None = None) -> tuple[list[RunRecord], bool]:
    """Run ``steps`` in order (stop at a failure), killing whatever runs at ``kill_after`` s (counted from the
    first step's start) or when ``kill_when()`` holds; (records, killed)."""
    records: list[RunRecord] = []
    started = time.monotonic()
    for args in steps:
        left = None if kill_after is None else max(0.0, kill_after - (time.monotonic() - started))
        record = run_cli(ws, args, kill_after=left, kill_when=kill_when)
        records.append(record)
        if record.exit_code is None:
            return records, True
        if record.exit_code not in (0, 1):
            break
    return records, False


# -- preparing the workspaces ---------------------------------------------------------------------
@dataclass
class Setup:
    debtors: int = 60
    batch_size: int = 20
    workers: int = 1
    database: str = "sqlite"
    admin_url: str | None = None
    seed: int = 15
    latency: float = 0.05  # seconds the SMTP server, SMS gateway and webhook receiver take to answer


def make_template(root: Path, servers: Servers, setup: Setup, database: Database, *, stage: str) -> Workspace:
    """A workspace wired to ``servers``; ``stage`` 'fresh' (ledger only), 'imported', or 'planned' (imported,
    planned, and bank files written)."""
    subprocess.run([dunning_executable(), "init", str(root)], check=True, capture_output=True)
    config_path = root / "dunning.yaml"
    config: dict[str, Any] = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    sshd = servers.sshd
    config["creditor"]["timezone"] = daytime_zone()
    config["print"] = {"transport": sshd.url(sshd.remote_upload), "key": str(sshd.client_key),
                       "known_hosts": str(sshd.known_hosts), "batch_size": setup.batch_size}
    # No ?rate= in the URL (the form most users write); the rate comes from email.rate_per_second.
    config["email"]["transport"] = f"smtp://127.0.0.1:{servers.smtp.port}"
    config["email"]["rate_per_second"] = 1000
    config["sms"]["transport"] = servers.gateway_url
    config["webhook"] = {"url": servers.receiver.url, "timeout": 5, "max_attempts": 3, "backoff": 0.05,
                         "max_wait": 1}
    url = database.new_url()  # a PostgreSQL URL carries its password: it goes in the environment, never the file
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    for path in (root / "flows").glob("*.yaml"):
        path.unlink()
    (root / "flows" / "default.yaml").write_text(FLOW, encoding="utf-8")
    (root / "flows" / "assignment.yaml").write_text("assignment:\n  default: default\n", encoding="utf-8")
    (root / "ledger" / "chaos.csv").write_text(ledger_csv(setup.debtors, setup.seed), encoding="utf-8")
    for example in (root / "ledger").glob("open-items*"):
        example.unlink()
    env = {"DUNNING_WEBHOOK_SECRET": servers.receiver.secret, "DUNNING_SMS_TOKEN": SMS_TOKEN}
    if url:
        env["DUNNING_DATABASE"] = url
    ws = Workspace(root, url, env)
    if stage in ("imported", "planned"):
        for args in command_steps("night", ws, setup.workers)[: 1 if stage == "imported" else 2]:
            record = run_cli(ws, args)
            if record.exit_code != 0:
                raise RuntimeError(f"preparing: dunning {args[0]} exited {record.exit_code}: {record.stderr_tail}")
    if stage == "planned":
        write_bank_files(ws, setup.seed)
    return ws


def write_bank_files(ws: Workspace, seed: int) -> list[tuple[str, str]]:
    """Pay about half the cases in full: a camt.054 with each payment, the camt.053 with them all again."""
    rng = random.Random(seed + 1)
    rows = ws.sql("SELECT reference, open_amount FROM cases ORDER BY id")
    paid = [(str(r.reference), f"{float(r.open_amount):.2f}") for r in rows if rng.random() < 0.5]
    payments = [Payment(amount, ref=ref, bank_ref=f"CHAOS-{i:05d}", end_to_end=f"E2E-{i:05d}")
                for i, (ref, amount) in enumerate(paid)]
    folder = ws.root / "bank" / "chaos"
    folder.mkdir(parents=True, exist_ok=True)
    half = len(payments) // 2
    (folder / "a-camt054-1.xml").write_bytes(build_camt("054", payments[:half], day=PAID_ON, account=ACCOUNT,
                                                        msg_id="CHAOS-054-1"))
    (folder / "b-camt054-2.xml").write_bytes(build_camt("054", payments[half:], day=PAID_ON, account=ACCOUNT,
                                                        msg_id="CHAOS-054-2"))
    (folder / "c-camt053.xml").write_bytes(build_camt("053", payments, day=PAID_ON, account=ACCOUNT,
                                                      msg_id="CHAOS-053"))
    (folder / "paid.json").write_text(json.dumps(paid))
    return paid


# -- counting -------------------------------------------------------------------------------------
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


def count_email(ws: Workspace, servers: Servers) -> Tally:
    planned = [str(r.email) for r in ws.sql(
        "SELECT d.email FROM actions a JOIN cases c ON c.id = a.case_id JOIN debtors d ON d.id = c.debtor_id "
        "WHERE a.channel = 'email'")]
    received: dict[str, list[str]] = {}
    for message in list(servers.smtp.recorder.messages):
        parsed = message_from_bytes(message.content, policy=policy.compat32)
        for rcpt in message.rcpt_tos:
            received.setdefault(rcpt, []).append(str(parsed["Message-ID"]))
    return _by_item(received, planned)


def count_sms(ws: Workspace, servers: Servers) -> Tally:
    planned = [str(r.phone) for r in ws.sql(
        "SELECT d.phone FROM actions a JOIN cases c ON c.id = a.case_id JOIN debtors d ON d.id = c.debtor_id "
        "WHERE a.channel = 'sms'")]
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


def count_letters(ws: Workspace, servers: Servers) -> LetterTally:
    planned = {str(r.id) for r in ws.sql(
        "SELECT id FROM actions WHERE channel IN ('letter', 'registered_letter')")}
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
            "JOIN bank_transactions t ON t.id = al.transaction_id WHERE c.reference = :ref", ref=reference)
        txs, total = (int(rows[0].txs), float(rows[0].total)) if rows else (0, 0.0)
        if txs == 0 or total == 0:
            tally.never += 1
        elif txs > 1 or total > float(amount) + 0.005:
            tally.twice += 1
        else:
            tally.once += 1
    return tally


# -- trials -----------------------------------------------------------------------------------------
@dataclass
class Trial:
    command: str
    targeted: bool = False
    kills: int = 0
    kill_delays: list[float] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)
    email: Tally = field(default_factory=Tally)
    sms: Tally = field(default_factory=Tally)
    webhook: Tally = field(default_factory=Tally)
    letters: LetterTally = field(default_factory=LetterTally)
    payments: PaymentTally = field(default_factory=PaymentTally)

    @property
    def tracebacks(self) -> int:
        return sum(1 for r in self.runs if r.traceback)

    @property
    def failed_runs(self) -> int:
        """Runs that ended (not killed) with an exit code other than 0."""
        return sum(1 for r in self.runs if r.exit_code not in (None, 0))


def count(trial: Trial, ws: Workspace, servers: Servers) -> None:
    if trial.command in ("dispatch", "night"):
        trial.email = count_email(ws, servers)
        trial.sms = count_sms(ws, servers)
    if trial.command in ("notify", "night"):
        trial.webhook = count_webhooks(ws, servers)
    if trial.command in ("letters", "night"):
        trial.letters = count_letters(ws, servers)
    if trial.command == "reconcile":
        trial.payments = count_payments(ws)


@dataclass
class CommandResult:
    command: str
    duration: float = 0.0  # the undisturbed run, seconds
    trials: list[Trial] = field(default_factory=list)
    baseline: Trial | None = None

    def totals(self) -> dict[str, Any]:
        email, sms, webhook, letters, payments = Tally(), Tally(), Tally(), LetterTally(), PaymentTally()
        # re-sends beyond one per kill, trial by trial (the issue allows at most one message in flight per kill)
        beyond = {channel: sum(max(0, getattr(t, channel).extra - t.kills) for t in self.trials)
                  for channel in ("email", "sms", "webhook")}
        for trial in self.trials:
            email.add(trial.email)
            sms.add(trial.sms)
            webhook.add(trial.webhook)
            letters.add(trial.letters)
            payments.add(trial.payments)
        return {
            "command": self.command,
            "trials": len(self.trials),
            "kills": sum(t.kills for t in self.trials),
            "undisturbed_seconds": round(self.duration, 2),
            "failed_runs": sum(t.failed_runs for t in self.trials),
            "tracebacks": sum(t.tracebacks for t in self.trials),
            "email": asdict(email) | {"beyond_one_per_kill": beyond["email"]},
            "sms": asdict(sms) | {"beyond_one_per_kill": beyond["sms"]},
            "webhook": asdict(webhook) | {"beyond_one_per_kill": beyond["webhook"]},
            "letters": asdict(letters),
            "payments": asdict(payments),
            "baseline_clean": self.baseline is not None and _clean(self.baseline),
        }


def _clean(trial: Trial) -> bool:
    tallies = (trial.email, trial.sms, trial.webhook, trial.letters)
    return (all(t.never == 0 and t.extra == 0 for t in tallies) and trial.payments.twice == 0
            and trial.payments.never == 0 and trial.letters.batch_files_twice == 0 and trial.failed_runs == 0)


@dataclass
class Report:
    setup: Setup
    results: list[CommandResult]

    def as_json(self) -> dict[str, Any]:
        return {"setup": asdict(self.setup) | {"admin_url": None}, "commands": [r.totals() for r in self.results],
                "trials": {r.command: [{"targeted": t.targeted, "kills": t.kills, "kill_delays": t.kill_delays,
                                        "exits": [(run.step, run.exit_code) for run in t.runs]} for t in r.trials]
                           for r in self.results},
                "failed_run_samples": self.failed_samples()}

    def failed_samples(self, limit: int = 3) -> dict[str, list[str]]:
        samples: dict[str, list[str]] = {}
        for result in self.results:
            for trial in result.trials:
                for run in trial.runs:
                    if run.exit_code not in (None, 0) and len(samples.setdefault(result.command, [])) < limit:
                        tail = " ".join(run.stderr_tail.split())[-240:]
                        samples[result.command].append(f"{run.step} exit {run.exit_code}: ...{tail}")
        return samples


def targeted_trigger(command: str, servers: Servers) -> Trigger | None:
    """A kill in the middle of the command's deliveries, decided by what the servers have seen so far."""
    if command == "letters":  # the first batch's PDF is in place, the rest of the upload is to come
        return lambda: any(name.endswith(".pdf") for name in servers.uploads.placed())
    if command in ("dispatch", "night"):  # five emails accepted, more to send
        return lambda: len(servers.smtp.recorder.messages) >= 5
    if command == "notify":  # ten webhooks answered, more to post
        return lambda: len(servers.receiver.requests) >= 10
    return None  # reconcile talks to no server: a kill at 60 % of its undisturbed duration instead


def attack(command: str, template: Workspace, servers: Servers, database: Database, workdir: Path,
           *, kills: int, rng: random.Random, workers: int, targeted: int = 0,
           second_kill: float = 0.25) -> CommandResult:
    """Measure ``command`` undisturbed once, then ``kills`` trials each killed once (or twice), re-run, counted.

    The first ``targeted`` trials are killed by ``targeted_trigger`` (mid-delivery, the moment the issue's
    failures need) instead of at a random moment; their re-runs are killed at random like the others.
    """
    result = CommandResult(command)
    steps_for = lambda ws: command_steps(command, ws, workers)  # noqa: E731
    # the undisturbed run: its duration bounds the kill delays, its counts show the set-up is sound
    servers.reset()
    ws = template.copy(workdir / f"{command}-baseline", database)
    started = time.monotonic()
    records, _ = run_sequence(ws, steps_for(ws), None)
    result.duration = time.monotonic() - started
    baseline = Trial(command, runs=records)
    count(baseline, ws, servers)
    result.baseline = baseline
    shutil.rmtree(ws.root, ignore_errors=True)
    database.drop(ws.database_url)
    for number in range(kills):
        servers.reset()
        ws = template.copy(workdir / f"{command}-{number:03d}", database)
        trial = Trial(command, targeted=number < targeted)
        delay: float | None = rng.uniform(0, result.duration)
        trigger = targeted_trigger(command, servers) if trial.targeted else None
        if trial.targeted:
            delay = None if trigger is not None else 0.6 * result.duration
        allowed_kills = 2 if rng.random() < second_kill else 1
        for _attempt in range(4):  # bounded: at most two kills, then runs to completion
            if trial.kills < allowed_kills:
                records, killed = run_sequence(ws, steps_for(ws), delay, trigger)
            else:
                records, killed = run_sequence(ws, steps_for(ws), None)
            trial.runs.extend(records)
            if not killed:
                break
            trial.kills += 1
            trial.kill_delays.append(round(sum(r.seconds for r in records), 3))
            delay, trigger = rng.uniform(0, result.duration), None
        servers.watcher.stop()
        servers.watcher.start()
        count(trial, ws, servers)
        result.trials.append(trial)
        shutil.rmtree(ws.root, ignore_errors=True)
        database.drop(ws.database_url)
    return result


def run_chaos(workdir: Path, commands: Sequence[str], *, kills: int, setup: Setup, targeted: int = 0) -> Report:
    """Start the servers, prepare the templates, attack each command; everything stopped and removed after."""
    rng = random.Random(setup.seed)
    database = Database(setup.database, setup.admin_url)
    workdir.mkdir(parents=True, exist_ok=True)
    results: list[CommandResult] = []
    try:
        with start_servers(workdir / "servers", setup.latency) as servers:
            templates: dict[str, Workspace] = {}
            for command in commands:
                stage = "fresh" if command == "night" else "planned"
                if stage not in templates:
                    templates[stage] = make_template(workdir / f"template-{stage}", servers, setup, database,
                                                     stage=stage)
                results.append(attack(command, templates[stage], servers, database, workdir, kills=kills,
                                      rng=rng, workers=setup.workers, targeted=targeted))
    finally:
        database.drop_all()
    return Report(setup, results)


# -- output -----------------------------------------------------------------------------------------
TABLE_COLUMNS = ("command", "channel", "kills", "planned", "once", "twice", "extra", "never", "new id", "notes")


def table_rows(report: Report) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for result in report.results:
        totals = result.totals()
        channels = {"letters": ["letters"], "dispatch": ["email", "sms"], "notify": ["webhook"],
                    "reconcile": ["payments"], "night": ["email", "sms", "letters", "webhook"]}[result.command]
        for channel in channels:
            t = totals[channel]
            notes = []
            if channel == "letters":
                notes.append(f"in two batches {t['in_two_batches']}, batch files uploaded twice "
                             f"{t['batch_files_twice']} (listing saw {t['rewritten_seen']}), "
                             f"batches left unready {t['pending_batches']}")
            if channel == channels[0]:
                notes.append(f"failed runs {totals['failed_runs']}, tracebacks {totals['tracebacks']}, "
                             f"undisturbed {totals['undisturbed_seconds']} s, baseline "
                             f"{'clean' if totals['baseline_clean'] else 'NOT clean'}")
            rows.append((result.command, channel, str(totals["kills"]), str(t["planned"]), str(t["once"]),
                         str(t["twice"]), str(t.get("extra", t["twice"])), str(t["never"]),
                         str(t.get("new_id", "-")), "; ".join(notes)))
    return rows


def print_table(report: Report) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # pragma: no cover - rich is a dependency of the CLI
        print("\t".join(TABLE_COLUMNS))
        for row in table_rows(report):
            print("\t".join(row))
        return
    table = Table(title=f"dunning crash test (seed {report.setup.seed}, {report.setup.database}, "
                        f"batch_size {report.setup.batch_size}, {report.setup.debtors} debtors)")
    for column in TABLE_COLUMNS:
        table.add_column(column, overflow="fold")
    for row in table_rows(report):
        table.add_row(*row)
    Console(width=200).print(table)
