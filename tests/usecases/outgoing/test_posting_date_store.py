"""Legal periods from the real posting date, through the store (SQLite and PostgreSQL).

nightly run → letter rendered and handed to the print house → the print house acknowledges a later
posting date → the nights that would charge the Book XIX damages from the planned (or hand-over) date
wait until the period counted from the posting date has run out. A letter that never leaves keeps
them waiting.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from dunning.domain.legal import select_pack
from dunning.domain.planning.actions import Channel
from dunning.store import Store
from dunning.store.schema import actions, cases, debtors
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.letters.acks import record_acknowledgements
from dunning.usecases.letters.render import render_letters
from dunning.usecases.letters.send import send_letters
from tests.usecases.letters.helpers import RECORDED, make_workspace, night

HEADER = "debtor_id,name,type,country,language,email,phone,street,postal_code,city,invoice_id,due_date,amount\n"
LEDGER = HEADER + (
    "B2,Marie Dubois,person,BE,fr,,,Rue Haute 2,1000,Bruxelles,I2,2026-09-01,215.00\n"
    "B3,Luc Janssens,person,BE,nl,,,Stationsstraat 88,3000,Leuven,I3,2026-09-01,215.00\n"
)
HANDED_OVER = date(2026, 10, 8)  # Thursday: the letters are planned, rendered and handed to the print house
POSTED = date(2026, 10, 13)  # Tuesday: the print house posted Marie's letter


def _actions(store: Store, name: str) -> list[Any]:
    with store.begin() as conn:
        return list(conn.execute(
            select(actions.c.id, actions.c.action, actions.c.step, actions.c.due_on, actions.c.amount,
                   actions.c.status, actions.c.outcome_on)
            .join(cases, cases.c.id == actions.c.case_id).join(debtors, debtors.c.id == cases.c.debtor_id)
            .where(debtors.c.name == name).order_by(actions.c.id)))


def _next_action_on(store: Store, name: str) -> date | None:
    with store.begin() as conn:
        query = select(cases.c.next_action_on).join(debtors, debtors.c.id == cases.c.debtor_id)
        found: date | None = conn.execute(query.where(debtors.c.name == name)).scalar_one()
    return found


def test_damages_wait_for_the_period_counted_from_the_acknowledged_posting_date(store: Store, tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(LEDGER, encoding="utf-8")
    import_ledger(store, ledger, as_of=date(2026, 10, 2), reference_kind="be-ogm")

    night(store, workspace, HANDED_OVER)
    (marie_letter,) = [a for a in _actions(store, "Marie Dubois") if a.step == "first_reminder"]
    (luc_letter,) = [a for a in _actions(store, "Luc Janssens") if a.step == "first_reminder"]
    assert marie_letter.action == luc_letter.action == "send_letter"  # no email: the letter fallback
    # only Marie's letter is rendered and sent; Luc's stays planned (never leaves)
    render_letters(store, workspace, HANDED_OVER, workers=1, action_ids=[marie_letter.id], recorded_at=RECORDED)
    sent = send_letters(store, workspace, HANDED_OVER, recorded_at=RECORDED)
    assert sent.problems == [] and sent.letters == 1
    [batch] = sent.batches

    acks = workspace.root / "output" / "print" / "acknowledgements"
    acks.mkdir(parents=True, exist_ok=True)
    (acks / "answers.csv").write_text("batch_id,letter_id,status,date,reason\n"
                                      f"{batch},{marie_letter.id},posted,{POSTED.isoformat()},\n", encoding="utf-8")
    day = HANDED_OVER + timedelta(days=1)
    while day <= date(2026, 10, 29):
        if day == date(2026, 10, 14):  # the acknowledgement arrives the day after posting
            assert record_acknowledgements(store, workspace, on_date=day, recorded_at=RECORDED).posted == 1
        night(store, workspace, day)
        day += timedelta(days=1)

    pack = select_pack("BE", "consumer")
    # from the hand-over (Thu 8 Oct) the costs could have come on Tue 27 October ...
    assert pack.earliest_cost_date(HANDED_OVER, Channel.LETTER) == date(2026, 10, 27)
    # ... from the posting (Tue 13 Oct: 3rd working day Fri 16, 14 days to Thu 29) only on Fri 30 October
    assert pack.earliest_cost_date(POSTED, Channel.LETTER) == date(2026, 10, 30)
    marie = _actions(store, "Marie Dubois")
    assert [a.action for a in marie if a.action in ("add_fee", "add_interest")] == []
    # ... and the flow's pace (dunning.domain.planning.pacing) counts its 23 days from day 7 to day 30 from that
    # posting too (her SMS step had no phone and no email to fall back on): Thu 5 November
    assert _next_action_on(store, "Marie Dubois") == date(2026, 11, 5)
    assert (marie[0].status, marie[0].outcome_on) == ("sent", HANDED_OVER)

    night(store, workspace, date(2026, 10, 30))
    assert [a.action for a in _actions(store, "Marie Dubois") if a.action == "add_fee"] == []
    night(store, workspace, date(2026, 11, 5))
    marie = _actions(store, "Marie Dubois")
    fee = next(a for a in marie if a.action == "add_fee")
    assert (fee.due_on, fee.amount) == (date(2026, 11, 5), Decimal("36.50"))  # €30 + 10 % of €65
    assert next(a for a in marie if a.action == "add_interest").due_on == date(2026, 11, 5)

    # Luc's letter never left: no costs, however long the nights go on
    night(store, workspace, date(2026, 11, 20))
    luc = _actions(store, "Luc Janssens")
    assert [a.action for a in luc] == ["send_letter"] and luc[0].status == "planned"
    with store.begin() as conn:
        fees = dict(conn.execute(select(debtors.c.name, cases.c.fees_amount)
                                 .join(debtors, debtors.c.id == cases.c.debtor_id)).all())
    assert fees == {"Marie Dubois": Decimal("36.50"), "Luc Janssens": Decimal("0.00")}
