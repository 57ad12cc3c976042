"""The plan bot end to end, over real parts (SQLite and PostgreSQL; real camt files; a real SMTP server).

The issue's Done-when: a plan made with ``dunning plans create`` → instalment reminders sent → a
camt.053 paying instalments 1 and 2 with their own references → both matched automatically and
thanked → instalment 3 missed → deferral → a second miss → notice → breach → the flow resumes with
the right total and no fee charged twice. Each night is the real ``run_night`` (what ``dunning run``
and the Prefect flow call) and the real email dispatch to aiosmtpd on 127.0.0.1.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import yaml
import zxingcpp
from click.testing import CliRunner
from PIL import Image
from sqlalchemy import make_url, select

from dunning.cli import EXIT_OK, cli
from dunning.domain.epc import parse_epc_payload
from dunning.domain.references import parse_reference
from dunning.store import Store
from dunning.store.schema import actions, cases, holds, metadata
from dunning.usecases.cases.view import case_detail
from dunning.usecases.letters.render import render_letters
from dunning.usecases.messaging.dispatch import dispatch_messages
from dunning.usecases.planning.night import load_flows, run_night
from dunning.usecases.plans.create import list_plans
from dunning.usecases.reconcile.run import reconcile_files
from dunning.workspace import Workspace, open_workspace
from tests.channels.conftest import SmtpServer, smtp_server
from tests.usecases.messaging.helpers import ENV, case_of, ledger_csv
from tests.usecases.messaging.helpers import make_workspace as messaging_workspace
from tests.usecases.reconcile.camt_build import Payment, write_camt

__all__ = ["smtp_server"]  # the real SMTP server fixture of the channel tests

IMPORTED = date(2026, 10, 5)
BRUSSELS_MORNING = "T10:00:00+01:00"  # inside every send window


def _workspace(root: Path, store_url: str, smtp: SmtpServer) -> Workspace:
    workspace = messaging_workspace(root, email_transport=f"smtp://{smtp.host}:{smtp.port}?starttls=off&rate=1000")
    config_path = root / "dunning.yaml"
    config: dict[str, Any] = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["database"] = make_url(store_url)._replace(password=None).render_as_string(hide_password=False)
    # a Belgian plan ends at the first miss not answered by a deferral (the Dutch and Belgian practice)
    config["plans"]["breach"]["missed_in_a_row"] = 1
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return open_workspace(workspace.root, environ={})


def _night(store: Store, workspace: Workspace, day: date) -> None:
    flows, problems = load_flows(workspace.flows_dir)
    assert not [p for p in problems if p.severity == "error"]
    run_night(store, flows, day, creditor_country="BE", creditor_language="nl",
              recorded_at=datetime(2026, 10, 1, tzinfo=UTC), plan_policy=workspace.config.plans.policy())
    dispatch_messages(store, workspace, day, now=datetime.fromisoformat(day.isoformat()
                      + BRUSSELS_MORNING), env=ENV)


def _mails(server: SmtpServer, since: int) -> list[EmailMessage]:
    found = []
    for item in server.recorder.messages[since:]:
        message = message_from_bytes(item.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return " ".join(str(part.get_content()).split())


def _qr(message: EmailMessage) -> tuple[Decimal | None, str]:
    """The EPC QR code attached to an email, read back from its pixels: (amount, reference)."""
    png = next(p for p in message.iter_attachments() if p.get_content_type() == "image/png")
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.get_content())))
    payment = parse_epc_payload(found[0].text)
    return payment.amount, payment.reference


def _snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    with store.begin() as conn:
        return {
            t.name: sorted((tuple(map(repr, r)) for r in conn.execute(select(t))), key=repr)
            for t in metadata.sorted_tables
            if t.name != "runs"
        }


def _again(store: Store, workspace: Workspace, day: date, smtp: SmtpServer) -> None:
    """The same night (run and dispatch) once more: the store is unchanged and no email goes."""
    before, sent = _snapshot(store), len(smtp.recorder.messages)
    _night(store, workspace, day)
    assert _snapshot(store) == before and len(smtp.recorder.messages) == sent


def test_reminders_payments_thanks_deferral_breach_and_the_flow_resumes(
    tmp_path: Path, store: Store, store_url: str, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dunning.usecases.importing.snapshot import import_ledger

    workspace = _workspace(tmp_path / "ws", store_url, smtp_server)
    monkeypatch.setenv("DUNNING_DATABASE", store_url)
    import_ledger(store, ledger_csv(workspace.root / "ledger" / "test.csv"), as_of=IMPORTED, reference_kind="be-ogm")
    for night in (date(2026, 10, 8), date(2026, 10, 15), date(2026, 11, 2)):  # reminder, SMS nudge, damages
        _night(store, workspace, night)
    d1 = case_of(store, "D1")
    with store.begin() as conn:
        fees_before = conn.execute(select(cases.c.fees_amount).where(cases.c.id == d1)).scalar_one()
        fee_actions = conn.execute(select(actions.c.idempotency_key).where(
            actions.c.case_id == d1, actions.c.action == "add_fee")).scalars().all()
    assert fees_before > 0 and len(fee_actions) == 1  # the Book XIX damages were charged before the plan

    made = CliRunner().invoke(cli, ["-w", str(workspace.root), "plans", "create", "D1", "--count", "3", "--day",
                                    "15", "--date", "2026-11-03", "--by", "clerk"])
    assert made.exit_code == EXIT_OK, made.stderr
    made = CliRunner().invoke(cli, ["-w", str(workspace.root), "plans", "create", "D2", "--count", "2", "--day",
                                    "15", "--date", "2026-11-03", "--by", "clerk"])
    assert made.exit_code == EXIT_OK, made.stderr
    plan, other = (p.plan for p in list_plans(store))
    total = plan.total
    first, second, third = plan.instalments
    assert first.due_date == date(2026, 11, 15) and total == sum((i.amount for i in plan.instalments), Decimal(0))

    # 3 days before the first due date: the reminder, with instalment 1's own reference, amount and EPC QR
    seen = len(smtp_server.recorder.messages)
    _night(store, workspace, date(2026, 11, 12))
    reminder, other_reminder = sorted(_mails(smtp_server, seen), key=lambda m: str(m["To"]))
    assert "jan.peeters@example.be" in str(reminder["To"]) and "Termijn 1" in str(reminder["Subject"])
    assert "marie.dubois@example.be" in str(other_reminder["To"]) and "L'échéance 1" in str(other_reminder["Subject"])
    printed = parse_reference(first.reference).printed
    assert printed in _text(reminder) and str(first.amount).replace(".", ",") in _text(reminder)
    assert _qr(reminder) == (first.amount, first.reference)

    # one bank statement pays instalments 1 and 2, each with its own reference
    statement = write_camt(tmp_path, "nov.xml", "053", [
        Payment(str(first.amount), ref=parse_reference(first.reference).printed, bank_ref="B-1", end_to_end="E-1"),
        Payment(str(second.amount), ref=parse_reference(second.reference).printed, bank_ref="B-2", end_to_end="E-2"),
        *(Payment(str(i.amount), ref=parse_reference(i.reference).printed, bank_ref=f"B-D2-{i.number}")
          for i in other.instalments),  # the other debtor pays her whole plan at once
    ], day=date(2026, 11, 14))
    result = reconcile_files(store, workspace, [statement], as_of=date(2026, 11, 14))
    assert result.summary()["outcomes"]["matched"]["count"] == 4
    seen = len(smtp_server.recorder.messages)
    _night(store, workspace, date(2026, 11, 15))
    thanks = _mails(smtp_server, seen)
    assert sorted(str(m["Subject"]) for m in thanks) == [
        "Bedankt voor termijn 1", "Bedankt voor termijn 2", "Merci : votre plan de paiement est entièrement payé"]
    plan, other = (p.plan for p in list_plans(store))
    assert other.status.value == "completed"
    with store.begin() as conn:  # the completion is the debtor's one thank-you: the flow's on_paid does not repeat it
        d2_actions = conn.execute(select(actions.c.action).where(
            actions.c.case_id == case_of(store, "D2"), actions.c.run_date == date(2026, 11, 15))).scalars().all()
        d2_status = conn.execute(select(cases.c.status).where(cases.c.id == case_of(store, "D2"))).scalar_one()
    assert d2_actions == ["plan_completed"] and d2_status == "closed"
    assert [i.status.value for i in plan.instalments] == ["paid", "paid", "scheduled"]
    assert plan.paid == first.amount + second.amount and plan.open == third.amount

    # the same night again changes nothing at all
    _again(store, workspace, date(2026, 11, 15), smtp_server)

    # instalment 3: reminded, missed after the grace days, deferred to a new instalment 4 (the debtor is told)
    seen = len(smtp_server.recorder.messages)
    _night(store, workspace, date(2027, 1, 12))
    _night(store, workspace, date(2027, 1, 21))
    _again(store, workspace, date(2027, 1, 21), smtp_server)
    reminded, deferred = _mails(smtp_server, seen)
    assert "Termijn 3" in str(reminded["Subject"]) and "verschoven" in str(deferred["Subject"])
    plan = list_plans(store)[0].plan
    fourth = plan.instalments[3]
    assert plan.instalments[2].status.value == "deferred" and fourth.due_date == date(2027, 2, 15)
    assert _qr(deferred) == (third.amount, fourth.reference)

    # instalment 4 missed too: no deferral left, a notice with 14 days, then the breach
    seen = len(smtp_server.recorder.messages)
    _night(store, workspace, date(2027, 2, 12))
    _night(store, workspace, date(2027, 2, 21))
    with store.begin() as conn:
        letter = conn.execute(select(actions.c.id).where(actions.c.case_id == d1, actions.c.action == "send_letter")
                              ).scalar_one()
    assert render_letters(store, workspace, date(2027, 2, 21), workers=1, action_ids=[letter], env=ENV).waiting == 1
    _night(store, workspace, date(2027, 3, 6))
    subjects = [str(m["Subject"]) for m in _mails(smtp_server, seen)]
    assert subjects == [
        "Termijn 4 van uw betalingsregeling vervalt op 15 februari 2027",
        "Termijn 4 van uw betalingsregeling is niet betaald",
        "Uw betalingsregeling eindigt tenzij de achterstand wordt betaald",
    ]
    assert list_plans(store)[0].plan.status.value == "active"  # the notice's 14 days still run
    seen = len(smtp_server.recorder.messages)
    _night(store, workspace, date(2027, 3, 7))
    _again(store, workspace, date(2027, 3, 7), smtp_server)
    plan = list_plans(store)[0].plan
    assert plan.status.value == "breached" and plan.open == third.amount
    ended = [m for m in _mails(smtp_server, seen) if "beëindigd" in str(m["Subject"])]
    assert len(ended) == 1

    # the flow resumes where it paused (its second reminder letter, held while the plan ran, now goes),
    # with what is still owed, and no fee counted twice
    with store.begin() as conn:
        status, fees_after = conn.execute(select(cases.c.status, cases.c.fees_amount).where(cases.c.id == d1)).one()
        fee_actions = conn.execute(select(actions.c.idempotency_key).where(
            actions.c.case_id == d1, actions.c.action == "add_fee")).scalars().all()
        released = conn.execute(select(holds.c.released_on).where(holds.c.source == f"plan:{plan.plan_id}")).scalar()
    assert status == "open" and released == date(2027, 3, 7)
    assert fees_after == fees_before and len(fee_actions) == 1
    detail = case_detail(store, str(d1))
    assert detail.summary.total_due == total - first.amount - second.amount
    with store.begin() as conn:
        interest_before = conn.execute(select(cases.c.interest_amount).where(cases.c.id == d1)).scalar_one()
    assert render_letters(store, workspace, date(2027, 3, 7), workers=1, action_ids=[letter], env=ENV).rendered == 1
    # interest was frozen while the plan ran (2026-11-03 to 2027-03-07): the letter adds none for those months
    with store.begin() as conn:
        interest_after = conn.execute(select(cases.c.interest_amount).where(cases.c.id == d1)).scalar_one()
        interest_to = conn.execute(select(actions.c.id).where(
            actions.c.case_id == d1, actions.c.idempotency_key.like("%interest-to:%"))).scalars().all()
    assert interest_after == interest_before and interest_to == []
    assert case_detail(store, str(d1)).summary.total_due == total - first.amount - second.amount
    whats = " | ".join(e.what for e in detail.timeline)
    assert "plan credited" in whats and "plan breached" in whats and "plan thanks by email" in whats
    [breach] = [e for e in detail.timeline if e.kind == "plan_breached"]
    assert "costs 0.00, principal 40.12, interest 0.00" in breach.why  # Belgian order: costs, interest, principal
    listed = CliRunner().invoke(cli, ["-w", str(workspace.root), "plans", "--format", "json"])
    rows = json.loads(listed.stdout)["plans"]
    assert [(r["status"], r["last_action"]) for r in rows] == [
        ("breached", "plan_ended 2027-03-07 (sent)"), ("completed", "plan_completed 2026-11-15 (sent)")]
