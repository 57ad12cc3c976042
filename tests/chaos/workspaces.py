"""The crash harness's workspaces: the ledger, the flow, the databases and a workspace that copies itself.

Everything a trial starts from: ``dunning init`` plus a chaos flow (every channel on one night), a ledger of
``debtors`` (half by letter, a quarter each by email and SMS), one SQLite file or PostgreSQL database per
copy, and the command line of each step. Only the CLI and SQL are used: nothing of dunning is imported.
"""

from __future__ import annotations

import random
import shutil
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

IMPORTED = date(2026, 10, 5)
NIGHT = date(2026, 10, 8)  # day 7 after the due date: every step of FLOW
PAID_ON = date(2026, 10, 12)
ACCOUNT = "BE68539007547034"  # the account of `dunning init`'s creditor
NIGHT_STEPS = ("import", "run", "dispatch", "letters", "notify")
# The plan night: every unpaid case got a plan of two instalments on PLAN_AGREED, the first due on the 15th;
# PLAN_NIGHT is 3 days before it (plans.reminder_days_before): the plan bot's reminder to every plan's debtor,
# by email, SMS or, for a debtor with neither, a letter with the instalment's own reference and QR code.
PLAN_AGREED = date(2026, 10, 9)
PLAN_FIRST_DUE = date(2026, 10, 15)
PLAN_NIGHT = date(2026, 10, 12)
PLAN_STEPS = ("run", "dispatch", "letters", "notify")

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

HEADER = (
    "customer_id,name,type,language,street,postal_code,city,country,email,phone,iban,segment,invoice,"
    "invoice_date,due_date,original_amount,open_amount,currency,description"
)


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
        rows.append(
            f"D{i:05d},Debtor {i},person,{languages[i % 4]},Kerkstraat {i},{1000 + (i * 7) % 8000},"
            f"Brussel,{country},{email},{phone},,{segment},INV-2026-{i:05d},2026-09-01,2026-10-01,"
            f"{amount},{amount},EUR,Energy"
        )
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


def command_steps(command: str, ws: Workspace, workers: int) -> list[list[str]]:
    night = (PLAN_NIGHT if command == "plans" else NIGHT).isoformat()
    steps = {
        "import": ["import", str(ws.root / "ledger" / "chaos.csv"), "--date", IMPORTED.isoformat()],
        "run": ["run", "--date", night],
        "dispatch": ["dispatch", "--date", night, "--receipt-wait", "0"],
        "letters": ["letters", "--date", night, "--workers", str(workers)],
        "deliver": ["deliver", "--date", night],
        "notify": ["notify", "--date", night],
        "bounces": ["bounces", str(ws.root / "bounces"), "--date", night],
        "reconcile": [
            "reconcile",
            "--date",
            PAID_ON.isoformat(),
            *sorted(str(p) for p in (ws.root / "bank" / "chaos").glob("*.xml")),
        ],
    }
    if command == "night":
        return [steps[s] for s in NIGHT_STEPS]
    if command == "plans":
        return [steps[s] for s in PLAN_STEPS]
    return [steps[command]]
