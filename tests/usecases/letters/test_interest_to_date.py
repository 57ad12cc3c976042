"""Interest on a letter runs up to the letter's date: charged once, listed per invoice, counted by the case."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from dunning.store import Store
from dunning.store.schema import actions, cases
from dunning.usecases.letters.interest import InterestToDate, charge_interest_to_date
from dunning.usecases.letters.render import render_letters
from tests.usecases.letters.helpers import RECORDED, make_workspace, plan_letters, rows
from tests.usecases.messaging.helpers import ENV

LATER = date(2026, 11, 20)  # the letters go out weeks after the night that charged interest


def test_a_late_letter_charges_and_shows_interest_up_to_its_date(store: Store, tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    plan_letters(store, workspace)
    charged = {
        r.case_id: r
        for r in rows(store, actions, actions.c.action == "add_interest", actions.c.status == "done")
        if r.amount and r.amount > 0
    }
    letter = next(
        r
        for r in rows(
            store, actions, actions.c.channel.in_(("letter", "registered_letter")), actions.c.status == "planned"
        )
        if r.case_id in charged
    )
    before = rows(store, cases, cases.c.id == letter.case_id)[0].interest_amount

    run = render_letters(store, workspace, LATER, workers=1, env=ENV, recorded_at=RECORDED, action_ids=[letter.id])
    assert run.rendered == 1, run.summary()

    [extra] = rows(store, actions, actions.c.idempotency_key == f"{letter.idempotency_key}|interest-to:2026-11-20")
    assert (extra.action, extra.status, extra.due_on) == ("add_interest", "done", LATER) and extra.amount > 0
    after = rows(store, cases, cases.c.id == letter.case_id)[0].interest_amount
    assert after == before + extra.amount  # the case owes what the letter asks
    breakdown = extra.detail["interest"]
    assert {item["end"] for item in breakdown} == {"2026-11-20"}
    assert sum(Decimal(item["total"]) for item in breakdown) == sum(
        (
            r.amount
            for r in rows(
                store,
                actions,
                actions.c.case_id == letter.case_id,
                actions.c.action == "add_interest",
                actions.c.status == "done",
            )
        ),
        Decimal(0),
    )

    # The letter lists the interest per invoice up to its own date, with rate and base.
    with store.begin() as conn:
        path = conn.execute(select(actions.c.detail).where(actions.c.id == letter.id)).scalar_one()
    assert path["deadline"]  # its one deadline is stored with it
    from tests.usecases.letters.helpers import documents_by_action, first_page_text

    pdf = workspace.root / documents_by_action(store)[letter.id].path
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    text = " ".join(" ".join(str(p.get_textpage().get_text_range()) for p in document).split())
    document.close()
    assert re.search(r"20[./-]11[./-]2026", text), text
    assert first_page_text(pdf)

    # Charging again for the same letter and day (a lost PDF rendered again) adds nothing.
    with store.begin() as conn:
        assert not charge_interest_to_date(
            conn,
            letter_key=letter.idempotency_key,
            case_id=letter.case_id,
            day=LATER,
            extra=InterestToDate(Decimal("1.00"), [], "x"),
            recorded_at=RECORDED,
        )
    assert rows(store, cases, cases.c.id == letter.case_id)[0].interest_amount == after
