"""A reminder planned by `run` is cancelled when a payment reduces the case below the flow's minimum amount
before `letters` renders it or `dispatch` sends it (issue 17: no debtor who paid is chased).

Real stages on the store (SQLite and PostgreSQL): the night plans a first reminder per debtor (an email, or
a letter for those without an email address); then a new ledger snapshot says two debtors paid all but a few
cents; then `letters` and `dispatch` run. The two who paid get nothing and their actions are cancelled; the
two others get their letter and email as planned.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from dunning.store import Store
from dunning.store.schema import actions, cases, debtors
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.letters.render import render_letters
from dunning.usecases.messaging.dispatch import dispatch_messages
from tests.usecases.messaging.helpers import ENV, FIRST_NIGHT, HEADER, IMPORTED, WEEKDAY_MORNING, make_workspace, plan

# external id: (email, open amount when planned, open amount when the channels run)
ROWS = {
    "D1": ("jan@example.be", "100.00", "3.00"),  # paid all but 3.00 (the flow's minimum is 5.00): no email
    "D2": ("marie@example.be", "150.50", "150.50"),  # paid nothing: the email goes
    "D3": ("", "80.00", "0.40"),  # paid all but 0.40: no letter
    "D4": ("", "42.00", "42.00"),  # paid nothing: the letter goes
}


def _ledger(path: Path, column: int) -> Path:
    lines = [HEADER]
    for number, (ext, row) in enumerate(ROWS.items(), start=1):
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
