"""Legal figures: Book XIX caps, WIK scale, dated rates, interest split, legal dates and calendars."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dunning.domain.legal import ALL_PACKS, select_pack
from dunning.domain.legal.base import FeeContext
from dunning.domain.legal.belgium import damages_cap
from dunning.domain.legal.calendar import add_working_days, is_working_day, nl_presumed_delivery
from dunning.domain.legal.netherlands import wik_amount
from dunning.domain.legal.rates import (
    BELGIUM_LAW_2002,
    BUNDESBANK_BASE_RATE,
    ECB_REFERENCE_RATE,
    EU_STATUTORY_B2B,
    NETHERLANDS_COMMERCIAL,
    NETHERLANDS_STATUTORY,
)
from dunning.domain.planning.actions import Channel
from dunning.domain.planning.interest import accrue


@pytest.mark.parametrize(
    ("balance", "cap"),
    [
        ("0.01", "20.00"),
        ("150", "20.00"),  # top of the first band
        ("150.01", "30.00"),  # €30 + 10 % of €0.01 = 30.001
        ("215", "36.50"),  # creno.be example
        ("500", "65.00"),  # €30 + 10 % of €350
        ("500.01", "65.00"),  # €65 + 5 % of €0.01 = 65.0005
        ("1000", "90.00"),  # Trends / De Tijd example
        ("5000", "290.00"),
        ("39199.99", "2000.00"),  # 65 + 1934.9995 rounds to 2000.00
        ("39180", "1999.00"),
        ("39200", "2000.00"),  # the cap is reached here
        ("39200.01", "2000.00"),
        ("1000000", "2000.00"),
    ],
)
def test_belgian_damages_cap_at_band_boundaries(balance: str, cap: str) -> None:
    assert damages_cap(D(balance)) == D(cap)


@pytest.mark.parametrize(
    ("principal", "costs"),
    [
        ("100", "40.00"),  # minimum
        ("266.66", "40.00"),
        ("266.67", "40.00"),  # 15 % = 40.0005
        ("1000", "150.00"),
        ("2500", "375.00"),
        ("5000", "625.00"),
        ("10000", "875.00"),
        ("200000", "2775.00"),
        ("999998", "6774.99"),  # 2775 + 0.5 % × 799,998
        ("999999", "6775.00"),  # 6774.995 rounds half up
        ("1000000", "6775.00"),  # the cap is reached at €1M
        ("5000000", "6775.00"),
    ],
)
def test_wik_scale(principal: str, costs: str) -> None:
    assert wik_amount(D(principal)) == D(costs)


def test_wik_with_vat_when_creditor_cannot_deduct_it() -> None:
    pack = select_pack("NL", "consumer")
    ctx = FeeContext(D(1000), 1, D(0), 1, vat_percent=D(21))
    assert pack.fee_allowance(ctx).amount == D("181.50")


def test_belgian_worked_example_letter_posted_monday() -> None:
    """forumforthefuture: posted Mon 18-09-2023 → period starts Thu 21-09 → costs from Thu 05-10."""
    pack = select_pack("BE", "consumer")
    assert pack.period_start(date(2023, 9, 18), Channel.LETTER) == date(2023, 9, 21)
    assert pack.earliest_cost_date(date(2023, 9, 18), Channel.LETTER) == date(2023, 10, 5)


def test_belgian_letter_posted_friday_starts_on_wednesday_and_email_next_day() -> None:
    pack = select_pack("BE", "consumer")
    assert pack.period_start(date(2023, 9, 15), Channel.LETTER) == date(2023, 9, 20)
    assert pack.period_start(date(2023, 9, 15), Channel.EMAIL) == date(2023, 9, 16)
    assert pack.earliest_cost_date(date(2023, 9, 15), Channel.EMAIL) == date(2023, 9, 30)


def test_belgian_working_days_skip_public_holidays() -> None:
    # Thu 2025-04-17 → Fri 18 (1), Mon 21 is Easter Monday, Tue 22 (2), Wed 23 (3)
    assert add_working_days("BE", date(2025, 4, 17), 3) == date(2025, 4, 23)
    assert not is_working_day("BE", date(2025, 7, 21))  # national day
    assert is_working_day("NL", date(2025, 7, 21))


def test_dutch_delivery_presumption_skips_sunday_monday_and_holidays() -> None:
    assert nl_presumed_delivery(date(2024, 3, 5)) == date(2024, 3, 7)  # Tue → Thu
    assert nl_presumed_delivery(date(2024, 3, 1)) == date(2024, 3, 5)  # Fri → Sat(1), Tue(2)
    # Thu 2025-04-17: Fri 18 is Good Friday in the NL calendar, Sat 19 (1), Sun/Mon skipped, Tue 22 (2)
    assert nl_presumed_delivery(date(2025, 4, 17)) == date(2025, 4, 22)
    pack = select_pack("NL", "consumer")
    # the 14 days start the day after delivery: costs from delivery + 15
    assert pack.earliest_cost_date(date(2024, 3, 5), Channel.LETTER) == date(2024, 3, 22)
    assert pack.earliest_cost_date(date(2024, 3, 5), Channel.EMAIL) == date(2024, 3, 20)


def test_rate_tables_match_published_figures() -> None:
    assert BELGIUM_LAW_2002.rate_on(date(2020, 5, 1)) == D("8.00")
    assert BELGIUM_LAW_2002.rate_on(date(2023, 3, 1)) == D("10.50")
    assert BELGIUM_LAW_2002.rate_on(date(2023, 9, 1)) == D("12.00")
    assert BELGIUM_LAW_2002.rate_on(date(2026, 2, 1)) == D("10.50")
    assert ECB_REFERENCE_RATE.rate_on(date(2026, 1, 15)) == D("2.15")
    assert EU_STATUTORY_B2B.rate_on(date(2026, 1, 15)) == D("10.15")
    assert NETHERLANDS_COMMERCIAL.rate_on(date(2023, 7, 1)) == D("12.00")
    assert NETHERLANDS_COMMERCIAL.rate_on(date(2024, 7, 1)) == D("12.25")
    assert NETHERLANDS_STATUTORY.rate_on(date(2023, 7, 1)) == D("6.00")
    assert BUNDESBANK_BASE_RATE.rate_on(date(2023, 1, 1)) == D("1.62")
    assert BUNDESBANK_BASE_RATE.rate_on(date(2026, 3, 1)) == D("1.27")
    assert not NETHERLANDS_STATUTORY.is_verified(date(2025, 3, 1))
    with pytest.raises(ValueError):
        BUNDESBANK_BASE_RATE.rate_on(date(2010, 1, 1))


def test_german_interest_is_split_at_a_base_rate_change() -> None:
    terms = select_pack("DE", "business").interest_terms()
    assert terms is not None
    result = accrue(D("10000"), date(2024, 12, 1), date(2025, 1, 31), terms.table, spread=terms.spread)
    assert [(s.start, s.end, s.days, s.rate) for s in result.segments] == [
        (date(2024, 12, 1), date(2024, 12, 31), 31, D("12.37")),  # 3.37 + 9
        (date(2025, 1, 1), date(2025, 1, 31), 31, D("11.27")),  # 2.27 + 9
    ]
    # 10000 × 12.37 % × 31/365 = 105.06; 10000 × 11.27 % × 31/365 = 95.72
    assert [s.amount for s in result.segments] == [D("105.06"), D("95.72")]
    assert result.total == D("200.78")
    # the December rate over the whole range (no split) would overcharge: 10000 × 12.37 % × 62/365
    assert D("10000") * D("12.37") * 62 / 36500 > result.total + D(9)


def test_german_consumer_rate_is_base_plus_five() -> None:
    terms = select_pack("DE", "consumer").interest_terms()
    assert terms is not None and terms.spread == D(5)
    assert terms.table.rate_on(date(2026, 1, 2)) + terms.spread == D("6.27")


def test_interest_never_negative_and_capped() -> None:
    result = accrue(D("1000"), date(2020, 1, 1), date(2020, 12, 31), BUNDESBANK_BASE_RATE, spread=D(0))
    assert result.total == D("0.00")  # base rate was -0.88 %
    capped = accrue(D("1000"), date(2023, 7, 1), date(2023, 7, 10), BELGIUM_LAW_2002, max_rate=D(5))
    assert capped.segments[0].rate == D(5)


def test_pack_selection_and_fee_allowances() -> None:
    assert {p.code for p in ALL_PACKS} == {
        "BE-consumer",
        "BE-business",
        "NL-consumer",
        "NL-business",
        "DE-consumer",
        "DE-business",
        "EU-business",
        "default-business",
        "default-consumer",
    }
    eu = select_pack("FR", "business")
    assert eu.fee_allowance(FeeContext(D(100), 3, D(40), 0)).amount == D("80.00")  # €40 × 3 − 40
    de = select_pack("DE", "consumer")
    assert de.fee_allowance(FeeContext(D(100), 1, D(0), 1)).amount == D("0.00")  # first reminder free
    assert de.fee_allowance(FeeContext(D(100), 1, D(0), 3)).amount == D("5.00")  # two paid reminders
    assert select_pack("IT", "consumer").fee_allowance(FeeContext(D(100), 1, D(0), 5)).amount == D("0.00")
    # the directive is EEA law: a Norwegian company owes its €40, a Swiss or British one nothing of it
    assert select_pack("NO", "business").code == "EU-business"
    for outside in ("CH", "GB", "US"):
        pack = select_pack(outside, "business")
        assert pack.code == "default-business" and pack.interest_terms() is None
        assert pack.fee_allowance(FeeContext(D(100), 3, D(0), 2)).amount == D("0.00")


def test_belgian_first_reminder_mentions_and_figures() -> None:
    pack = select_pack("BE", "consumer")
    assert {
        "principal_due",
        "penalty_clause_amount",
        "creditor_enterprise_number",
        "due_date",
        "payment_period_days",
        "product_description",
    } <= set(pack.notice_required_fields)
    figures = {f.name: f.amount for f in pack.notice_figures(D("215"), 1)}
    assert figures == {"penalty_clause_amount": D("36.50"), "payment_period_days": D(14)}


def test_a_charge_label_in_a_flow_is_deprecated_and_the_shipped_flows_carry_none() -> None:
    from dunning.domain.legal.compliance import charge_labels, check_flow_set
    from tests.domain.planning.helpers import flow, template_flow_set

    labelled = flow([{"key": "fee", "day": 30, "action": "add_fee",
                      "settings": {"mode": "legal_max", "label": "Forfaitaire schadevergoeding"}}])
    [warning] = charge_labels(labelled)
    assert (warning.severity, warning.where) == ("warning", "steps[0] (fee).settings.label")
    assert "'Forfaitaire schadevergoeding' is ignored" in warning.message
    assert not [p for p in check_flow_set(template_flow_set()) if "label" in p.where]


@pytest.mark.parametrize(
    ("pack", "sent", "channel", "starts", "last"),
    [
        # Book XIX: posted Monday 18-09-2023, period from Thursday 21-09, costs from 05-10: pay by 04-10 included
        (("BE", "consumer"), date(2023, 9, 18), Channel.LETTER, date(2023, 9, 21), date(2023, 10, 4)),
        (("BE", "consumer"), date(2023, 9, 18), Channel.EMAIL, date(2023, 9, 19), date(2023, 10, 2)),
        # WIK: posted Friday 1-03-2024, presumed delivered Tuesday 5-03: 14 days from Wednesday 6-03
        (("NL", "consumer"), date(2024, 3, 1), Channel.LETTER, date(2024, 3, 6), date(2024, 3, 19)),
        (("DE", "consumer"), date(2024, 3, 1), Channel.LETTER, date(2024, 3, 2), date(2024, 3, 15)),
        (("FR", "business"), date(2024, 3, 1), Channel.EMAIL, date(2024, 3, 2), date(2024, 3, 15)),
    ],
)
def test_the_pack_computes_the_one_deadline_a_message_states(
    pack: tuple[str, str], sent: date, channel: Channel, starts: date, last: date
) -> None:
    chosen = select_pack(*pack)
    deadline = chosen.payment_deadline(sent, channel)
    assert (deadline.starts, deadline.day) == (starts, last)
    if chosen.waiting_period_days:  # the last day to pay is the day before costs may start
        assert deadline.day == chosen.earliest_cost_date(sent, channel) - timedelta(days=1)
        # a legal notice never gets fewer days than the law's, a later reminder gets what its step asks
        assert chosen.payment_deadline(sent, channel, 7).days == 14
        assert chosen.payment_deadline(sent, channel, 7, legal_notice=False).days == 7
    assert chosen.code in deadline.rule


_AMOUNTS = st.decimals(min_value=0, max_value=2_000_000, places=2, allow_nan=False, allow_infinity=False)


@given(at_notice=_AMOUNTS, at_charge=_AMOUNTS, charged=_AMOUNTS,
       vat=st.sampled_from([D(0), D(9), D(21)]))
def test_dutch_consumer_costs_never_exceed_the_amount_the_fourteen_day_letter_announced(
    at_notice: D, at_charge: D, charged: D, vat: D
) -> None:
    """WIK: what the 14-day letter announced (the scale on the principal it claimed) is the most ever charged,
    whatever the principal when the costs are charged, the VAT added or the costs charged before."""
    from dunning.domain.legal.netherlands import NetherlandsConsumer

    pack = NetherlandsConsumer()
    announced = {f.name: f.amount for f in pack.notice_figures(at_notice, 1)}["collection_costs_amount"]
    assert announced == wik_amount(at_notice)
    allowance = pack.fee_allowance(FeeContext(at_charge, 1, min(charged, announced), 1, vat, announced=announced))
    assert allowance.amount is not None
    assert min(charged, announced) + allowance.amount <= announced


def test_german_interest_runs_from_the_day_after_the_reminder_is_deemed_received() -> None:
    """Default (§ 286 BGB) starts when the Mahnung is received (§ 130 BGB), not when it is sent.

    A letter posted on Thursday 1 Oct 2026 is deemed received on the 4th working day after posting
    (Fri 2, Mon 5, Tue 6, Wed 7 Oct; Sat 3 Oct is a holiday anyway), so interest runs from 8 Oct.
    """
    consumer, business = select_pack("DE", "consumer"), select_pack("DE", "business")
    posted = date(2026, 10, 1)
    assert consumer.received_on(posted, Channel.LETTER) == date(2026, 10, 7)
    assert consumer.received_on(posted, Channel.EMAIL) == posted
    start = consumer.interest_start(date(2026, 9, 1), posted, Channel.LETTER, False)
    assert start == date(2026, 10, 8)
    assert consumer.interest_charge_start(date(2026, 9, 1), posted, Channel.LETTER) == date(2026, 10, 8)
    terms = consumer.interest_terms()
    by_letter = accrue(D("1000"), start, date(2026, 10, 31), terms.table, spread=terms.spread)
    # 1000 × 6.27 % × 24/365 = 4.1227 → 4.12 (from the day after sending it was 30 days: 5.15)
    assert (by_letter.segments[0].days, by_letter.total) == (24, D("4.12"))
    email_start = consumer.interest_start(date(2026, 9, 1), posted, Channel.EMAIL, False)
    assert email_start == date(2026, 10, 2)
    by_email = accrue(D("1000"), email_start, date(2026, 10, 31), terms.table, spread=terms.spread)
    assert by_email.total == D("5.15")  # 1000 × 6.27 % × 30/365 = 5.1534
    # a business: the reminder's receipt comes before the automatic default 30 days after the due date
    due = date(2026, 9, 20)
    assert business.interest_start(due, posted, Channel.LETTER, False) == date(2026, 10, 8)
    assert business.fee_start(due, posted, Channel.LETTER) == date(2026, 10, 8)
    assert business.interest_start(due, None, None, False) == date(2026, 10, 21)  # automatic (§ 286(3))
    bterms = business.interest_terms()
    b = accrue(D("1000"), date(2026, 10, 8), date(2026, 10, 31), bterms.table, spread=bterms.spread)
    assert b.total == D("6.75")  # 1000 × 10.27 % × 24/365 = 6.7529
    # a letter posted on Christmas Eve 2026 (Thursday): Fri 25 is a holiday → Mon 28, Tue 29, Wed 30, Thu 31
    assert consumer.interest_start(date(2026, 11, 1), date(2026, 12, 24), Channel.LETTER, False) == date(2027, 1, 1)
