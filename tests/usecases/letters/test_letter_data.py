"""From the store's action detail and charges to what the letter prints (pure parts), and letters
that cannot be posted."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import update

from dunning.letters import Charge, ChargeKind, LetterKind
from dunning.store import Store
from dunning.store.schema import debtors
from dunning.usecases.letters.data import (
    LetterBuildError,
    _charges,
    _explained_interest,
    kind_for,
    legal_mentions,
    named_charges,
)
from dunning.usecases.letters.render import render_letters
from tests.usecases.letters.helpers import LETTER_DAY, letter_actions, make_workspace, plan_letters, rows

BE_DETAIL = {
    "rules": ["BE-consumer: legal notice; costs from 2026-11-11"],
    "figures": [
        {"name": "penalty_clause_amount", "amount": "72.42", "explanation": "", "source": ""},
        {"name": "payment_period_days", "amount": "14", "explanation": "", "source": ""},
    ],
    "earliest_legal_date": "2026-11-11",
}


def test_belgian_notice_on_time_prints_the_planned_deadline_and_damages() -> None:
    legal = legal_mentions(BE_DETAIL, consumer=True, letter_date=date(2026, 10, 25), planned_on=date(2026, 10, 25),
                           pay_days=14)
    assert legal.rule_pack == "BE" and legal.consumer
    assert legal.deadline == date(2026, 11, 10)  # the day before costs may start
    assert legal.damages_if_unpaid == Decimal("72.42") and legal.period_days == 14


def test_a_late_letter_gives_the_debtor_the_full_period_from_the_real_posting_day() -> None:
    # posted Monday 2 November: 3rd working day Thursday 5 November, 14 days → costs from 19 November
    legal = legal_mentions(BE_DETAIL, consumer=True, letter_date=date(2026, 11, 2), planned_on=date(2026, 10, 25),
                           pay_days=14)
    assert legal.deadline == date(2026, 11, 18)


def test_dutch_wik_amount_and_no_rules() -> None:
    detail = {"rules": ["NL-consumer: 14-day letter"], "earliest_legal_date": None,
              "figures": [{"name": "collection_costs_amount", "amount": "150.00"}]}
    legal = legal_mentions(detail, consumer=True, letter_date=date(2026, 11, 2), planned_on=date(2026, 11, 2),
                           pay_days=14)
    # posted Monday 2 November, presumed delivered Wednesday 4 (2nd day, Mondays and Sundays not counted):
    # 14 days from the day after receipt, Thursday 5 to Wednesday 18 November included
    assert (legal.rule_pack, legal.damages_if_unpaid, legal.deadline) == ("NL", Decimal("150.00"), date(2026, 11, 18))
    assert legal.period_start == date(2026, 11, 5)
    plain = legal_mentions({"rules": [], "figures": []}, consumer=False, letter_date=date(2026, 11, 2),
                           planned_on=date(2026, 11, 2), pay_days=10)
    assert (plain.rule_pack, plain.damages_if_unpaid, plain.deadline, plain.consumer) == (
        "", None, date(2026, 11, 12), False)


def test_charges_net_of_what_the_bank_paid_oldest_first() -> None:
    # The flow's label is not printed: the rule that set the charge names it (named_charges).
    fee = SimpleNamespace(amount=Decimal("40.00"), settings={"label": "Fixed compensation"},
                          detail={"rules": ["NL-business: ..."], "figures": [{"name": "collection_costs"}]})
    fee2 = SimpleNamespace(amount=Decimal("25.00"), settings={})
    lines = _charges([fee, fee2], owed=Decimal("50.00"), paid=Decimal("15.00"), kind=ChargeKind.FEE)
    assert [(c.amount, c.label, c.rule) for c in lines] == [
        (Decimal("25.00"), "", "NL-business:collection_costs"), (Decimal("25.00"), "", "")]
    assert _charges([fee], owed=Decimal("0.00"), paid=Decimal("40.00"), kind=ChargeKind.FEE) == []
    # the case carries more than its actions (a fee booked otherwise): a remainder line
    more = _charges([fee], owed=Decimal("47.50"), paid=Decimal("0"), kind=ChargeKind.FEE)
    assert [c.amount for c in more] == [Decimal("40.00"), Decimal("7.50")]


@pytest.mark.parametrize(("language", "label", "basis"), [
    ("nl", "Buitengerechtelijke incassokosten", "art. 6:96 BW en Besluit WIK"),
    ("de", "Außergerichtliche Inkassokosten", "Art. 6:96 BW und WIK-Verordnung, Niederlande"),
    ("en", "Extrajudicial collection costs", "art. 6:96 Dutch Civil Code and the WIK decree"),
])
def test_a_wik_amount_is_named_by_its_rule_in_the_letters_language(language: str, label: str, basis: str) -> None:
    fee = SimpleNamespace(amount=Decimal("40.00"), settings={"label": "Fixed compensation (Directive 2011/7/EU)"},
                          detail={"rules": ["NL-consumer: ..."], "figures": [{"name": "collection_costs"}]})
    [named] = named_charges(_charges([fee], Decimal("40.00"), Decimal(0), ChargeKind.FEE), language, "NL-consumer")
    assert (named.label, named.basis) == (label, basis)
    # a charge without a rule of its own (a remainder) is named by the debtor's pack
    [rest] = named_charges(_charges([], Decimal("40.00"), Decimal(0), ChargeKind.FEE), "de", "DE-business")
    assert (rest.label, rest.basis) == ("Verzugspauschale", "§ 288 Abs. 5 BGB")
    [interest] = named_charges([Charge(ChargeKind.INTEREST, Decimal("3.10"), rule="NL-consumer:")], "nl", "NL-consumer")
    assert (interest.label, interest.basis) == ("Wettelijke rente", "art. 6:119 BW")  # never Belgian "verwijlintrest"


def test_interest_is_explained_per_invoice_with_rate_base_and_period() -> None:
    detail = {"rules": ["BE-business: interest"], "figures": [], "interest": [
        {"invoice": "INV-1", "base": "1000.00", "start": "2026-06-02", "end": "2026-07-31", "total": "19.02",
         "segments": [{"start": "2026-06-02", "end": "2026-06-30", "days": 29, "rate": "12.00", "amount": "9.53"},
                      {"start": "2026-07-01", "end": "2026-07-31", "days": 31, "rate": "11.00", "amount": "9.34"}]}]}
    row = SimpleNamespace(amount=Decimal("18.87"), detail=detail, settings={}, due_on=date(2026, 7, 31))
    lines = _explained_interest([row], Decimal("18.87"), Decimal(0))  # type: ignore[list-item]
    assert lines is not None
    assert [(c.amount, c.rate, c.base, c.period_start, c.period_end) for c in lines] == [
        (Decimal("9.53"), Decimal("12.00"), Decimal("1000.00"), date(2026, 6, 2), date(2026, 6, 30)),
        (Decimal("9.34"), Decimal("11.00"), Decimal("1000.00"), date(2026, 7, 1), date(2026, 7, 31))]
    [first, _] = named_charges(lines, "fr", "BE-business")
    from dunning.letters.formatting import LocaleFormat, locale_for
    from dunning.letters.render import DEFAULT_TEMPLATES_DIR

    labels = __import__("yaml").safe_load((DEFAULT_TEMPLATES_DIR / "letters" / "labels.yaml").read_text())["fr"]
    text = LocaleFormat(locale_for("fr", "BE"), "EUR", labels).charge_label(first).replace("\u202f", " ")
    assert text.replace("\xa0", " ") == (
        "Intérêts de retard : 12 % par an sur 1 000,00 € du 02/06/2026 au 30/06/2026 (loi du 2 août 2002, art. 5)")
    # paid in part, or not adding up to what the case owes: no breakdown (the amounts are listed as they are)
    assert _explained_interest([row], Decimal("10.00"), Decimal(0)) is None  # type: ignore[list-item]
    assert _explained_interest([row], Decimal("18.87"), Decimal("1.00")) is None  # type: ignore[list-item]


def test_letter_kind_from_template_or_action() -> None:
    assert kind_for("b2b_second_reminder", "send_letter") is LetterKind.SECOND_REMINDER
    assert kind_for("formal_notice", "send_letter") is LetterKind.FINAL_NOTICE
    assert kind_for(None, "send_final_notice") is LetterKind.FINAL_NOTICE
    with pytest.raises(LetterBuildError, match="'birthday_card'"):
        kind_for("birthday_card", "send_letter")


def test_a_debtor_without_postal_address_fails_the_letter_so_its_fallback_follows(
        store: Store, tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    plan_letters(store, workspace)
    first = letter_actions(store)[0]
    with store.begin() as conn:
        conn.execute(update(debtors).where(debtors.c.name == first.name).values(street=None))
    run = render_letters(store, workspace, LETTER_DAY, workers=1)
    assert run.no_address == 1 and run.failed == 0
    assert {a.id: a.status for a in letter_actions(store)}[first.id] == "failed"
    from dunning.store.schema import case_events

    events = rows(store, case_events, case_events.c.kind == "delivery_failed", case_events.c.case_id == first.case_id)
    assert len(events) == 1 and events[0].detail["channel"] == first.channel
