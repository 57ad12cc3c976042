"""Visits feed the flows, end to end (SQLite and PostgreSQL, a real aiosmtpd on 127.0.0.1): the shipped
default flow's ``visit_without_payment`` sends one reminder the night after a pay-page visit no payment
came after, never a second one in the same step however many visits follow, and none after a payment."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from email import message_from_bytes, policy
from pathlib import Path

from sqlalchemy import select

from camt.build import Payment, build_camt
from dunning.domain.references import parse_reference
from dunning.store import Store
from dunning.store.schema import cases
from dunning.usecases.cases.view import case_detail
from dunning.usecases.messaging.dispatch import dispatch_messages
from dunning.usecases.paypage.claim import record_visit
from dunning.usecases.planning.night import RunResult, load_flows, run_night
from dunning.usecases.reconcile.run import reconcile_files
from dunning.workspace import Workspace
from tests.channels.conftest import SmtpServer
from tests.usecases.messaging.helpers import BRUSSELS, ENV, FIRST_NIGHT, case_of, import_and_plan, make_workspace

VISIT_DAY = date(2026, 10, 9)  # the day after the first reminder (email) of 8 October
NEXT_NIGHT = date(2026, 10, 10)


def night(store: Store, workspace: Workspace, day: date) -> RunResult:
    flows, problems = load_flows(workspace.flows_dir)
    assert not [p for p in problems if p.severity == "error"]
    return run_night(store, flows, day, creditor_country="BE", creditor_language="nl", timezone="Europe/Brussels",
                     recorded_at=datetime.combine(day, time(23), tzinfo=BRUSSELS))


def send(store: Store, workspace: Workspace, day: date) -> None:
    dispatch_messages(store, workspace, day, channels=("email",), env=ENV,
                      now=datetime.combine(day, time(10), tzinfo=BRUSSELS))


def visit(store: Store, case_id: int, day: date, hour: int) -> None:
    record_visit(store, case_id, "email", datetime.combine(day, time(hour), tzinfo=BRUSSELS).astimezone(UTC))


def follow_ups(result: RunResult, case_id: int) -> list[str]:
    return [a["step"] for a in result.planned if a["case"] == case_id and "visit_without_payment" in a["step"]]


def pay_part(store: Store, workspace: Workspace, case_id: int, day: date, folder: Path) -> None:
    with store.begin() as conn:
        reference = conn.execute(select(cases.c.reference).where(cases.c.id == case_id)).scalar_one()
    path = folder / f"camt054-{day}.xml"
    payment = Payment("50.00", ref=parse_reference(reference).printed, name="Marie Dubois")
    path.write_bytes(build_camt("054", [payment], day=day, account=workspace.config.creditor.iban,
                                msg_id=f"VISIT-{day}"))
    result = reconcile_files(store, workspace, [path], as_of=day)
    assert result.files[0].status != "refused", result.files[0]


def test_a_visit_without_payment_gets_one_reminder_the_next_night_and_a_paid_visit_none(
    store: Store, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    workspace = make_workspace(tmp_path / "ws", email_transport=f"smtp://{smtp_server.host}:{smtp_server.port}"
                               "?starttls=off&rate=1000")
    import_and_plan(store, workspace, FIRST_NIGHT)
    send(store, workspace, FIRST_NIGHT)
    first_reminders = len(smtp_server.recorder.messages)
    assert first_reminders == 4
    jan, marie, hans = case_of(store, "D1"), case_of(store, "D2"), case_of(store, "D3")

    visit(store, jan, VISIT_DAY, 20)  # Jan looks twice in the evening and does not pay
    visit(store, jan, VISIT_DAY, 21)
    visit(store, marie, VISIT_DAY, 19)  # Marie looks, then pays part of it the same day
    pay_part(store, workspace, marie, VISIT_DAY, tmp_path)

    same_night = night(store, workspace, VISIT_DAY)  # 24 hours have not passed yet
    assert follow_ups(same_night, jan) == []
    next_night = night(store, workspace, NEXT_NIGHT)
    assert follow_ups(next_night, jan) == ["on:visit_without_payment:first_reminder"]
    assert follow_ups(next_night, marie) == [] and follow_ups(next_night, hans) == []
    send(store, workspace, NEXT_NIGHT)
    [reminder] = smtp_server.recorder.messages[first_reminders:]
    assert reminder.rcpt_tos == ["jan.peeters@example.be"]
    message = message_from_bytes(reminder.content, policy=policy.default)
    assert "nog open" in str(message["Subject"])  # the flow's visit_reminder template, in Jan's Dutch
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and "betaalpagina" in body.get_content()

    # more visits in the same step, more nights: no second follow-up
    visit(store, jan, date(2026, 10, 11), 9)
    visit(store, jan, date(2026, 10, 12), 22)
    for day in (date(2026, 10, 11), date(2026, 10, 12), date(2026, 10, 13)):
        assert follow_ups(night(store, workspace, day), jan) == []
        send(store, workspace, day)
    assert len(smtp_server.recorder.messages) == first_reminders + 1

    # on Jan's timeline: the visits and the follow-up with its reason
    timeline = case_detail(store, str(jan)).timeline
    assert len([e for e in timeline if e.kind == "page_visited"]) == 4
    [follow_up] = [e for e in timeline if e.what.startswith("send pay link")]
    assert "pay page visited 2026-10-09 20:00 without a payment since" in follow_up.why
