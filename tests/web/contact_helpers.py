"""A workspace with planned letters (no rendering) whose default flow reacts to ``contact_confirmed``, pay links
made for its letter cases, and the codes read back from what the transports really sent."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import yaml
from sqlalchemy import select

from dunning.domain import paylink
from dunning.store import Store
from dunning.store.schema import cases, debtors
from dunning.usecases.outgoing.secrets import load_secrets
from dunning.workspace import Workspace, open_workspace
from tests.usecases.letters.helpers import LETTER_DAY, letter_actions, make_workspace, plan_letters

#: what the flow does when a debtor confirms a new contact: send the pay link there
CONTACT_HANDLER = {"after": 0, "action": "send_pay_link", "settings": {"channel": "email"}}


@dataclass(frozen=True)
class Planned:
    store: Store
    workspace: Workspace
    case_ids: list[int]  # letter cases of debtors with an email address in the ledger, one per test
    no_email: list[int]  # letter cases of debtors without one
    root: Path

    def link(self, case_id: int) -> str:
        """The token of the case's pay link as the letter of LETTER_DAY printed it."""
        secret = load_secrets(self.workspace).paylink
        expires = LETTER_DAY + timedelta(days=self.workspace.config.paylink.valid_days)
        return paylink.make_token(str(case_id), expires, secret)

    def with_transport(self, **environ: str) -> Workspace:
        """The same workspace, its transports overridden as ``DUNNING_EMAIL_TRANSPORT=...`` would."""
        return open_workspace(self.workspace.root, environ=environ)


def planned_workspace(root: Path, store: Store) -> Planned:
    workspace = make_workspace(root)
    flow = workspace.flows_dir / "default.yaml"
    data = yaml.safe_load(flow.read_text(encoding="utf-8"))
    data["events"]["contact_confirmed"] = CONTACT_HANDLER
    flow.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    plan_letters(store, workspace)
    with store.begin() as conn:
        no_email = {row.id for row in conn.execute(
            select(cases.c.id).join(debtors, debtors.c.id == cases.c.debtor_id).where(debtors.c.email.is_(None)))}
    letter_cases = sorted({a.case_id for a in letter_actions(store)})
    return Planned(store, workspace, [c for c in letter_cases if c not in no_email],
                   [c for c in letter_cases if c in no_email], root)


def code_from_mail(raw: bytes) -> str:
    message = message_from_bytes(raw, policy=policy.default)
    found = re.search(r"\b(\d{6})\b", str(message["Subject"]))
    assert found, message["Subject"]
    return found.group(1)


def emailed_code(workspace: Workspace, to: str) -> str:
    """The code of the newest .eml the file transport wrote to ``to``."""
    folder = workspace.root / "output" / "mail"
    for path in sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns, reverse=True):
        raw = path.read_bytes()
        message = message_from_bytes(raw, policy=policy.default)
        if message["To"] == to:
            return code_from_mail(raw)
    raise AssertionError(f"no code mailed to {to}")


def texted_code(workspace: Workspace, to: str) -> str:
    """The code of the newest SMS the file transport wrote to ``to`` (E.164)."""
    lines = (workspace.root / "output" / "sms" / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    for line in reversed(lines):
        record = json.loads(line)
        if record["to"] == to:
            found = re.search(r"\b(\d{6})\b", record["text"])
            assert found
            return found.group(1)
    raise AssertionError(f"no code texted to {to}")
