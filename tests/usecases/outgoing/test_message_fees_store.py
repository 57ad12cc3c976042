"""Fees set on a message are booked to the case when it goes out, exactly once (SQLite and PostgreSQL).

The Belgian regular-supply reminder (Book XIX: from the 4th unpaid due date of a calendar year, at
most €7.50 plus postage) by letter and by email: nothing is owed while the message is planned; the
fee is booked when the letter is handed to the print house or the mail server accepts the email,
once whatever is re-run or recovered; a cancelled message books nothing; a returned letter's fee is
taken back. The letter says the reminder is not free and lists the fee; reconciliation and later
letters see it.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from dunning.adapters.smtp import FileEmailTransport
from dunning.letters import ChargeKind
from dunning.store import Store
from dunning.store.schema import actions, case_events, cases, debtors, documents
from dunning.usecases.cases.view import case_detail
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.letters.acks import record_acknowledgements
from dunning.usecases.letters.data import case_data
from dunning.usecases.letters.render import render_letters
from dunning.usecases.letters.send import send_letters
from dunning.usecases.messaging.dispatch import dispatch_messages
from dunning.usecases.outgoing.fees import book_message_fee
from dunning.usecases.reconcile.booking import FEES, load_cases
from dunning.workspace import Workspace
from tests.usecases.letters.helpers import RECORDED, first_page_text, night
from tests.usecases.letters.helpers import make_workspace as letters_workspace
from tests.usecases.messaging.helpers import ENV, WEEKDAY_MORNING
from tests.usecases.messaging.helpers import make_workspace as messaging_workspace
from tests.usecases.messaging.test_dispatch_email import Crash, CrashAfterSend

HEADER = "debtor_id,name,type,country,language,email,street,postal_code,city,invoice_id,due_date,amount,contract type"
DUES = [date(2026, 1, 15), date(2026, 2, 15), date(2026, 3, 15), date(2026, 4, 15)]
REMINDER_DAY = date(2026, 4, 20)  # Monday: the first reminder is for four unpaid due dates of 2026


def _use_flow(workspace: Workspace, action: str, settings: dict[str, Any]) -> None:
    """The workspace's default flow: a regular-supply first reminder with the legal fee, later a second letter."""
    flow = {
        "name": "default",
        "version": 1,
        "steps": [
            {"key": "first_reminder", "day": 5, "action": action, "when": {"regular_supply": True},
             "settings": {"template": "first_reminder", "fee": "legal_max", **settings}},
            {"key": "second_reminder", "day": 120, "action": "send_letter",
             "settings": {"template": "second_reminder"}},
        ],
    }
    (workspace.flows_dir / "default.yaml").write_text(yaml.safe_dump(flow), encoding="utf-8")


def _import(store: Store, tmp_path: Path, as_of: date, debtors_: dict[str, tuple[str, str, str]]) -> None:
    """Four regular-supply bills per debtor (external id → name, email, amount of each bill)."""
    rows = [HEADER]
    for number, (ext, (name, email, amount)) in enumerate(debtors_.items(), start=1):
        rows += [f"{ext},{name},person,BE,nl,{email},Kerkstraat {number},2000,Antwerpen,E-{ext}-{due.isoformat()},"
                 f"{due.isoformat()},{amount},energy" for due in DUES]
    path = tmp_path / f"ledger-{as_of}-{len(rows)}.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    # these snapshots settle most cases on purpose
    import_ledger(store, path, as_of=as_of, reference_kind="be-ogm", allow_mass_close=True)


def _case(store: Store, ext: str) -> Any:
    with store.begin() as conn:
        return conn.execute(select(cases).join(debtors, debtors.c.id == cases.c.debtor_id)
                            .where(debtors.c.external_id == ext)).one()


def _reminder(store: Store, case_id: int) -> Any:
    with store.begin() as conn:
        return conn.execute(select(actions).where(actions.c.case_id == case_id,
                                                  actions.c.step == "first_reminder")).one()


def _events(store: Store, case_id: int, kind: str) -> list[Any]:
    with store.begin() as conn:
        return list(conn.execute(select(case_events).where(case_events.c.case_id == case_id,
                                                           case_events.c.kind == kind)))


def test_a_letter_fee_is_booked_once_when_handed_over_and_taken_back_when_returned(
        store: Store, tmp_path: Path) -> None:
    workspace = letters_workspace(tmp_path / "ws")
    _use_flow(workspace, "send_letter", {"postage": "1.45"})
    _import(store, tmp_path, date(2026, 4, 18), {"K1": ("An Peeters", "", "84.00")})
    night(store, workspace, REMINDER_DAY)
    case = _case(store, "K1")
    letter = _reminder(store, case.id)
    assert (letter.action, letter.status, letter.amount) == ("send_letter", "planned", Decimal("8.95"))
    assert case.fees_amount == Decimal("0.00")  # planned is not owed

    # the letter itself: not free, and its fee in the claim table (€336 + €8.95)
    render_letters(store, workspace, REMINDER_DAY, workers=1, recorded_at=RECORDED)
    with store.begin() as conn:
        pdf = conn.execute(select(documents.c.path).where(documents.c.action_id == letter.id)).scalar_one()
    text = " ".join(first_page_text(workspace.path(pdf)).split())
    assert "Deze herinnering is niet kosteloos" in text and "eerste herinnering is kosteloos" not in text
    assert "€ 8,95" in text and "€ 344,95" in text

    sent = send_letters(store, workspace, REMINDER_DAY, recorded_at=RECORDED)
    assert sent.letters == 1 and sent.problems == []
    assert _case(store, "K1").fees_amount == Decimal("8.95")
    (booked,) = _events(store, case.id, "fee_booked")
    assert booked.amount == Decimal("8.95") and booked.on_date == REMINDER_DAY
    assert "4th unpaid due date in 2026" in booked.detail["reason"]
    entry = next(e for e in case_detail(store, str(case.id)).timeline if e.kind == "fee_booked")
    assert entry.amount == Decimal("8.95") and "Book XIX regular supply" in entry.why

    # exactly once: booking again, another send, nightly runs
    with store.begin() as conn:
        assert book_message_fee(conn, letter.id, on_date=REMINDER_DAY, recorded_at=RECORDED,
                                source="test") == Decimal("0.00")
    assert send_letters(store, workspace, date(2026, 4, 21), recorded_at=RECORDED).letters == 0
    night(store, workspace, date(2026, 4, 21))
    night(store, workspace, date(2026, 4, 22))
    assert _case(store, "K1").fees_amount == Decimal("8.95") and len(_events(store, case.id, "fee_booked")) == 1

    # reconciliation (costs first) and the next letters see it
    with store.begin() as conn:
        book = load_cases(conn, since=date(2026, 1, 1), only=[case.id])
        charges = case_data(conn, [case.id])[case.id].charges
    fees_item = next(i for i in book.refs[str(case.id)].items if i.item_id == FEES)
    assert fees_item.open_amount == Decimal("8.95")
    assert [(c.kind, c.amount) for c in charges] == [(ChargeKind.FEE, Decimal("8.95"))]

    # returned by the post: the debtor never got it, the fee is taken back (once)
    [batch] = sent.batches
    acks = workspace.root / "output" / "print" / "acknowledgements"
    acks.mkdir(parents=True, exist_ok=True)
    (acks / "a.csv").write_text(f"batch_id,letter_id,status,date,reason\n{batch},{letter.id},returned,2026-04-27,"
                                "moved\n", encoding="utf-8")
    assert record_acknowledgements(store, workspace, on_date=date(2026, 4, 27), recorded_at=RECORDED).returned == 1
    night(store, workspace, date(2026, 4, 28))
    night(store, workspace, date(2026, 4, 29))
    assert _case(store, "K1").fees_amount == Decimal("0.00")
    (back,) = _events(store, case.id, "fee_reversed")
    assert back.amount == Decimal("-8.95") and "returned" in back.detail["reason"]
    with store.begin() as conn:
        assert case_data(conn, [case.id])[case.id].charges == ()


def test_an_email_fee_is_booked_once_when_accepted_never_when_cancelled(store: Store, tmp_path: Path) -> None:
    workspace = messaging_workspace(tmp_path / "ws")
    _use_flow(workspace, "send_email", {})
    both = {"K1": ("An Peeters", "an@example.be", "84.00"), "K2": ("Bart Claes", "bart@example.be", "60.00")}
    _import(store, tmp_path, date(2026, 4, 18), both)
    night(store, workspace, REMINDER_DAY)
    k1, k2 = _case(store, "K1"), _case(store, "K2")
    assert _reminder(store, k1.id).amount == Decimal("7.50")  # by email: no postage
    _import(store, tmp_path, date(2026, 4, 20), {"K1": both["K1"], "K2": ("Bart Claes", "bart@example.be", "0.00")})
    assert _case(store, "K2").status == "closed"  # paid before the email left: it is cancelled

    with pytest.raises(Crash):  # sent, then killed before the result was recorded
        dispatch_messages(store, workspace, REMINDER_DAY, channels=("email",), now=WEEKDAY_MORNING, env=ENV,
                          email_transport=CrashAfterSend(  # type: ignore[arg-type]
                              FileEmailTransport(workspace.root / "output" / "mail")))
    assert _case(store, "K1").fees_amount == Decimal("0.00")
    later = datetime(2026, 4, 21, 9, 0, tzinfo=WEEKDAY_MORNING.tzinfo)
    result = dispatch_messages(store, workspace, date(2026, 4, 21), channels=("email",), now=later, env=ENV)
    assert result.channel("email").sent == 1
    dispatch_messages(store, workspace, date(2026, 4, 21), channels=("email",), now=later, env=ENV)
    night(store, workspace, date(2026, 4, 22))

    email = _reminder(store, k1.id)
    assert (email.status, email.outcome_on) == ("sent", date(2026, 4, 21))  # legal periods count from here
    assert _case(store, "K1").fees_amount == Decimal("7.50")
    (booked,) = _events(store, k1.id, "fee_booked")
    assert booked.amount == Decimal("7.50") and booked.on_date == date(2026, 4, 21)
    assert _reminder(store, k2.id).status == "cancelled"
    assert _case(store, "K2").fees_amount == Decimal("0.00") and _events(store, k2.id, "fee_booked") == []


@pytest.mark.parametrize(("language", "free", "charged"), [
    ("nl", "Deze eerste herinnering is kosteloos.", "Deze herinnering is niet kosteloos"),
    ("fr", "Ce premier rappel est gratuit.", "Ce rappel n'est pas gratuit"),
    ("de", "Diese erste Zahlungserinnerung ist kostenlos.", "Diese Zahlungserinnerung ist nicht kostenlos"),
    ("en", "This first reminder is free of charge.", "This reminder is not free of charge"),
])
def test_the_belgian_first_reminder_says_free_only_when_it_is(language: str, free: str, charged: str) -> None:
    from dunning.letters import Charge
    from dunning.letters.render import LetterRenderer
    from dunning.letters.samples import sample_letter

    renderer = LetterRenderer()
    letter = sample_letter("first_reminder", language)
    # a sample of another country carries no Belgian damages figure; a Belgian first reminder must state one
    damages = letter.legal.damages_if_unpaid or Decimal("44.69")
    letter = replace(letter, legal=replace(letter.legal, rule_pack="BE", damages_if_unpaid=damages))
    with_fee = replace(letter, charges=(Charge(ChargeKind.FEE, Decimal("8.95")),), total=letter.total + Decimal("8.95"))
    plain = " ".join(re.sub(r"<[^>]+>", " ", renderer.letter_html(letter, 1, "all")).split())
    costed = " ".join(re.sub(r"<[^>]+>", " ", renderer.letter_html(with_fee, 1, "all")).split())
    assert free in plain and charged not in plain
    assert charged in costed and free not in costed
    assert "7,50" in costed or "7.50" in costed
