"""A small workspace with planned messages, and DSN bounces made from messages that were really sent."""

from __future__ import annotations

from datetime import date, datetime
from email import message_from_bytes, policy
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import select

from dunning.store import Store
from dunning.store.schema import actions, case_events, cases, debtors, deliveries
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.planning.night import RunResult, load_flows, run_night
from dunning.workspace import Workspace, init_workspace, open_workspace

SECRET = "test-paylink-secret-0123456789"
ENV = {"DUNNING_PAYLINK_SECRET": SECRET}
BRUSSELS = ZoneInfo("Europe/Brussels")
IMPORTED = date(2026, 10, 5)
FIRST_NIGHT = date(2026, 10, 8)  # day 7 after the due date: the first reminder (email) of the default flow
SMS_NIGHT = date(2026, 10, 15)  # 7 days later: the SMS nudge
#: Thursday 10:00 in Brussels: inside every SMS send window
WEEKDAY_MORNING = datetime(2026, 10, 15, 10, 0, tzinfo=BRUSSELS)
#: Sunday 23:30 in Brussels: no SMS may go out
SUNDAY_NIGHT = datetime(2026, 10, 18, 23, 30, tzinfo=BRUSSELS)

HEADER = ("customer_id,name,type,language,street,postal_code,city,country,email,phone,iban,segment,invoice,"
          "invoice_date,due_date,original_amount,open_amount,currency,description")
DEBTORS = {
    # external id: (name, language, email, phone, amount)
    "D1": ("Jan Peeters", "nl", "jan.peeters@example.be", "+32470123456", "100.00"),
    "D2": ("Marie Dubois", "fr", "marie.dubois@example.be", "+32475234567", "150.50"),
    "D3": ("Hans Müller", "de", "hans.mueller@example.de", "", "80.00"),
    "D4": ("Ann Smith", "en", "ann.smith@refused.example", "", "42.00"),
}


def ledger_csv(path: Path) -> Path:
    lines = [HEADER]
    for number, (ext, (name, lang, email, phone, amount)) in enumerate(DEBTORS.items(), start=1):
        lines.append(f"{ext},{name},person,{lang},Kerkstraat {number},2000,Antwerpen,BE,{email},{phone},,"
                     f"residential,INV-2026-{number:05d},2026-09-01,2026-10-01,{amount},{amount},EUR,Energy")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_workspace(root: Path, *, email_transport: str = "file://output/mail",
                   sms_transport: str = "file://output/sms") -> Workspace:
    init_workspace(root)
    config_path = root / "dunning.yaml"
    config: dict[str, Any] = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["email"]["transport"] = email_transport
    config["sms"]["transport"] = sms_transport
    # These tests give the pay-link secret through the environment (as in production), not the file
    # `dunning init` makes.
    config["paylink"].pop("secret_file", None)
    (root / "secrets" / "paylink.key").unlink()
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return open_workspace(root, environ={})


def import_and_plan(store: Store, workspace: Workspace, night: date = FIRST_NIGHT) -> RunResult:
    import_ledger(store, ledger_csv(workspace.root / "ledger" / "test.csv"), as_of=IMPORTED, reference_kind="be-ogm")
    return plan(store, workspace, night)


def plan(store: Store, workspace: Workspace, night: date) -> RunResult:
    flows, problems = load_flows(workspace.flows_dir)
    assert not [p for p in problems if p.severity == "error"]
    return run_night(store, flows, night, creditor_country="BE", creditor_language="nl",
                     recorded_at=datetime(2026, 10, 1, tzinfo=BRUSSELS))


def case_of(store: Store, external_id: str) -> int:
    with store.begin() as conn:
        return int(conn.execute(select(cases.c.id).join(debtors, debtors.c.id == cases.c.debtor_id)
                                .where(debtors.c.external_id == external_id)).scalar_one())


def actions_of(store: Store, case_id: int) -> list[Any]:
    with store.begin() as conn:
        return list(conn.execute(select(actions).where(actions.c.case_id == case_id).order_by(actions.c.id)))


def events_of(store: Store, case_id: int, kind: str) -> list[Any]:
    with store.begin() as conn:
        return list(conn.execute(select(case_events).where(case_events.c.case_id == case_id,
                                                           case_events.c.kind == kind)))


def all_deliveries(store: Store) -> list[Any]:
    with store.begin() as conn:
        return list(conn.execute(select(deliveries).order_by(deliveries.c.id)))


def debtor_email_invalid(store: Store, external_id: str) -> bool:
    with store.begin() as conn:
        return bool(conn.execute(select(debtors.c.email_invalid).where(debtors.c.external_id == external_id))
                    .scalar_one())


def dsn_for(original: bytes, *, status: str = "5.1.1", action: str = "failed") -> bytes:
    """A Postfix-style RFC 3464 report for a message we sent (addressed to its VERP Return-Path)."""
    message = message_from_bytes(original, policy=policy.compat32)
    verp = str(message["Return-Path"]).strip().strip("<>")
    recipient = parseaddr(str(message["To"]))[1]
    headers = "".join(f"{key}: {value}\n" for key, value in message.items() if key != "Return-Path")
    subject = "Undelivered Mail Returned to Sender" if action == "failed" else "Delayed Mail (still being retried)"
    return (
        "Return-Path: <>\n"
        f"Delivered-To: {verp}\n"
        "From: MAILER-DAEMON@mx1.example.net (Mail Delivery System)\n"
        f"To: {verp}\n"
        f"Subject: {subject}\n"
        "Auto-Submitted: auto-replied\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B0UND"\n\n'
        "--B0UND\nContent-Type: text/plain; charset=utf-8\n\n"
        "This is the mail system at host mx1.example.net.\n"
        "I'm sorry to have to inform you that your message could not be delivered.\n\n"
        "--B0UND\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx1.example.net\n\n"
        f"Final-Recipient: rfc822; {recipient}\n"
        f"Action: {action}\n"
        f"Status: {status}\n"
        f"Diagnostic-Code: smtp; {status[0]}50 {status} mailbox problem\n\n"
        "--B0UND\nContent-Type: text/rfc822-headers\n\n"
        f"{headers}\n"
        "--B0UND--\n"
    ).encode()
