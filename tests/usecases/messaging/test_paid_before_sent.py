"""A reminder planned by `run` is cancelled when a payment reduces the case below the flow's minimum amount
before `letters` renders it or `dispatch` sends it (issue 17: no debtor who paid is chased).

Real stages on the store (SQLite and PostgreSQL): the night plans a first reminder per debtor (an email, or
a letter for those without an email address); then a new ledger snapshot says two debtors paid all but a few
cents; then `letters` and `dispatch` run. The two who paid get nothing and their actions are cancelled; the
two others get their letter and email as planned.
"""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import select

from dunning.adapters.smtp import SmtpTransport
from dunning.store import Store
from dunning.store.schema import actions, cases, debtors, deliveries
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.letters.render import render_letters
from dunning.usecases.letters.send import send_letters
from dunning.usecases.messaging.dispatch import dispatch_messages
from tests.channels.conftest import SmtpServer
from tests.usecases.messaging.helpers import ENV, FIRST_NIGHT, HEADER, IMPORTED, WEEKDAY_MORNING, make_workspace, plan
from tests.usecases.messaging.test_dispatch_email import Crash, CrashAfterSend

# external id: (email, open amount when planned, open amount when the channels run)
ROWS = {
    "D1": ("jan@example.be", "100.00", "3.00"),  # paid all but 3.00 (the flow's minimum is 5.00): no email
    "D2": ("marie@example.be", "150.50", "150.50"),  # paid nothing: the email goes
    "D3": ("", "80.00", "0.40"),  # paid all but 0.40: no letter
    "D4": ("", "42.00", "42.00"),  # paid nothing: the letter goes
}


def _ledger(path: Path, column: int, rows: dict[str, tuple[str, str, str]] = ROWS) -> Path:
    lines = [HEADER]
    for number, (ext, row) in enumerate(rows.items(), start=1):
        email, amount = row[0], row[column]
        lines.append(f"{ext},Debtor {number},person,nl,Kerkstraat {number},2000,Antwerpen,BE,{email},,,"
                     f"residential,INV-2026-{number:05d},2026-09-01,2026-10-01,{row[1]},{amount},EUR,Energy")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _statuses(store: Store) -> dict[str, tuple[str, str]]:
    with store.begin() as conn:
        rows = conn.execute(
            select(debtors.c.external_id, actions.c.channel, actions.c.status)
            .join(cases, cases.c.debtor_id == debtors.c.id)
            .join(actions, actions.c.case_id == cases.c.id)
            .where(actions.c.channel.in_(("email", "letter")))
        ).all()
    return {row.external_id: (row.channel, row.status) for row in rows}


def test_a_reminder_planned_before_a_payment_is_cancelled_not_sent(store: Store, tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    import_ledger(store, _ledger(tmp_path / "before.csv", 1), as_of=IMPORTED, reference_kind="be-ogm")
    plan(store, workspace, FIRST_NIGHT)
    assert _statuses(store) == {"D1": ("email", "planned"), "D2": ("email", "planned"),
                                "D3": ("letter", "planned"), "D4": ("letter", "planned")}
    # the payments arrive between `run` and the channel stages (here through the next ledger snapshot)
    import_ledger(store, _ledger(tmp_path / "after.csv", 2), as_of=FIRST_NIGHT, reference_kind="be-ogm")

    letters = render_letters(store, workspace, FIRST_NIGHT, workers=1, env=ENV)
    sent = dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=WEEKDAY_MORNING, env=ENV)

    assert (letters.rendered, letters.cancelled) == (1, 1)
    assert sent.channel("email").cancelled == 1 and sent.channel("email").sent == 1
    assert _statuses(store) == {"D1": ("email", "cancelled"), "D2": ("email", "sent"),
                                "D3": ("letter", "cancelled"), "D4": ("letter", "planned")}
    mails = list((workspace.root / "output" / "mail").glob("*.eml"))
    assert len(mails) == 1 and "marie@example.be" in mails[0].read_text(encoding="utf-8")


def test_a_deferred_reminder_gone_stale_is_cancelled_but_one_handed_over_goes_again(
        store: Store, tmp_path: Path, smtp_server: SmtpServer) -> None:
    """A try that the server deferred was never sent: when the debtor pays before the retry, the reminder is
    cancelled (its delivery too), not retried. A message handed over when the process died may be out there:
    it goes again under the same Message-ID, paid or not (a sent reminder is a fact; a second copy is one message)."""
    rows = {"D1": ("jan@example.be", "100.00", "3.00"), "D2": ("marie@example.be", "150.50", "1.50")}
    server = f"smtp://{smtp_server.host}:{smtp_server.port}?starttls=off&rate=1000"
    workspace = make_workspace(tmp_path / "ws", email_transport=server)
    import_ledger(store, _ledger(tmp_path / "before.csv", 1, rows), as_of=IMPORTED, reference_kind="be-ogm")
    plan(store, workspace, FIRST_NIGHT)
    smtp_server.recorder.temporary_failures["jan@example.be"] = 1
    crashing = CrashAfterSend(SmtpTransport(smtp_server.host, smtp_server.port, security="off", max_attempts=1),
                              after=2)  # Jan's try is deferred (451), Marie's accepted, then the process dies
    with pytest.raises(Crash):
        dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=WEEKDAY_MORNING, env=ENV,
                          email_transport=crashing)  # type: ignore[arg-type]
    crashing.close()
    with store.begin() as conn:
        before = [row.status for row in conn.execute(select(deliveries))]
    assert sorted(before) == ["deferred", "sending"]
    first = [m.content for m in smtp_server.recorder.messages]
    assert [m.rcpt_tos for m in smtp_server.recorder.messages] == [["marie@example.be"]]

    import_ledger(store, _ledger(tmp_path / "after.csv", 2, rows), as_of=FIRST_NIGHT, reference_kind="be-ogm")
    later = WEEKDAY_MORNING.replace(hour=11)
    result = dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=later, env=ENV)
    summary = result.channel("email")

    assert (summary.cancelled, summary.sent, summary.recovered) == (1, 1, 1)
    assert _statuses(store) == {"D1": ("email", "cancelled"), "D2": ("email", "sent")}
    received = smtp_server.recorder.messages
    assert [m.rcpt_tos for m in received] == [["marie@example.be"], ["marie@example.be"]]  # never Jan
    # the message in flight again, under its Message-ID and Date (receivers keep the first copy)
    headers = [message_from_bytes(content, policy=policy.default) for content in (first[0], received[1].content)]
    assert len({(h["Message-ID"], h["Date"], h["To"]) for h in headers}) == 1
    with store.begin() as conn:
        after = {row.status: row for row in conn.execute(select(deliveries))}
    assert set(after) == {"cancelled", "sent"}
    assert after["cancelled"].attempts == 1 and "below the flow's minimum amount" in after["cancelled"].detail[
        "cancelled"] and "451" in after["cancelled"].detail["error"]
    # the next dispatch has nothing left to do
    assert dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=later,
                             env=ENV).channel("email").due == 0


def test_a_rendered_letter_paid_before_it_is_batched_is_cancelled_not_printed(store: Store, tmp_path: Path) -> None:
    """`letters` renders tonight; the print house is away, so `deliver` batches them days later. A letter whose
    debtor paid meanwhile belongs to no batch yet: it is cancelled, not printed (the other one goes)."""
    rows = {"D3": ("", "80.00", "0.40"), "D4": ("", "42.00", "42.00")}
    workspace = make_workspace(tmp_path / "ws")
    import_ledger(store, _ledger(tmp_path / "before.csv", 1, rows), as_of=IMPORTED, reference_kind="be-ogm")
    plan(store, workspace, FIRST_NIGHT)
    assert render_letters(store, workspace, FIRST_NIGHT, workers=1, env=ENV).rendered == 2
    import_ledger(store, _ledger(tmp_path / "after.csv", 2, rows), as_of=FIRST_NIGHT, reference_kind="be-ogm")

    printed = send_letters(store, workspace, FIRST_NIGHT)

    assert (printed.letters, printed.cancelled, len(printed.batches)) == (1, 1, 1)
    assert _statuses(store) == {"D3": ("letter", "cancelled"), "D4": ("letter", "sent")}
    assert send_letters(store, workspace, FIRST_NIGHT).letters == 0  # nothing left to print
