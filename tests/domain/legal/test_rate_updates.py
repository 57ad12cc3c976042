"""New semesters' rates merged into the built-in tables (pure): derivation, verification, the rules."""

from __future__ import annotations

import doctest
from datetime import date
from decimal import Decimal as D

import pytest

import dunning.domain.legal.rate_updates as rate_updates
from dunning.domain.legal import ALL_PACKS, pack_selector, packs_with_rates, select_pack
from dunning.domain.legal.rate_updates import (
    PeriodUpdate,
    RateUpdateError,
    TableUpdate,
    apply_updates,
    rate_status,
)
from dunning.domain.legal.rates import (
    BELGIUM_LAW_2002,
    BUILTIN_TABLES,
    DERIVED_KEYS,
    ECB_MRO,
    NETHERLANDS_STATUTORY,
    rate_tables,
)
from dunning.domain.planning.interest import accrue

H2_2026 = date(2026, 12, 31)


def _ecb(*periods: tuple[date, str], verified: date | None = H2_2026, override: bool = False) -> TableUpdate:
    return TableUpdate(
        "ecb_mro", tuple(PeriodUpdate(s, D(r), "test source", override) for s, r in periods), verified
    )


def test_docstring_examples() -> None:
    result = doctest.testmod(rate_updates)
    assert result.attempted > 0 and result.failed == 0


def test_builtin_tables_are_derived_as_before_and_no_update_changes_nothing() -> None:
    assert rate_tables(BUILTIN_TABLES) == dict(BUILTIN_TABLES)
    assert apply_updates([]) == dict(BUILTIN_TABLES)
    assert BUILTIN_TABLES["be_law_2002"] is not None and BUILTIN_TABLES["be_law_2002"] == BELGIUM_LAW_2002


def test_derived_tables_follow_a_new_ecb_rate_from_the_next_half_year() -> None:
    # an ECB cut on 2026-09-16: the reference rate is the MRO on 1 January, so H2 2026 keeps 2.15
    tables = apply_updates([_ecb((date(2026, 9, 16), "1.90"))])
    assert tables["ecb_mro"].rate_on(date(2026, 10, 1)) == D("1.90")
    assert tables["ecb_reference"].rate_on(date(2026, 12, 31)) == D("2.15")
    assert tables["ecb_reference"].rate_on(date(2027, 1, 1)) == D("1.90")
    assert tables["eu_statutory_b2b"].rate_on(date(2027, 3, 1)) == D("9.90")
    assert tables["nl_commercial"].rate_on(date(2027, 3, 1)) == D("9.90")
    assert tables["be_law_2002"].rate_on(date(2027, 3, 1)) == D("10.00")  # 9.90 rounded up to half a point
    assert tables["be_law_2002"].rate_on(date(2026, 8, 1)) == D("10.50")
    for key in ("ecb_mro", *DERIVED_KEYS):
        assert tables[key].verified_through == H2_2026 and tables[key].is_verified(date(2026, 11, 24)), key
    # the tables that do not follow the ECB are untouched
    assert tables["nl_statutory"] is BUILTIN_TABLES["nl_statutory"]


def test_a_rate_announced_for_a_coming_semester_reaches_the_derived_tables() -> None:
    tables = apply_updates([_ecb((date(2027, 6, 11), "3.00"), verified=date(2026, 12, 31))])
    assert tables["eu_statutory_b2b"].rate_on(date(2027, 7, 1)) == D("11.00")
    assert not tables["eu_statutory_b2b"].is_verified(date(2027, 7, 1))


def test_an_unchanged_rate_needs_only_its_new_verified_through() -> None:
    tables = apply_updates([TableUpdate("ecb_mro", (), H2_2026), TableUpdate("de_base_rate", (), H2_2026)])
    assert tables["ecb_mro"].periods == ECB_MRO.periods
    assert tables["be_law_2002"].rate_on(date(2026, 11, 1)) == D("10.50")
    assert all(t.is_verified(date(2026, 11, 24)) for k, t in tables.items() if k != "nl_statutory")
    assert not tables["nl_statutory"].is_verified(date(2026, 11, 24))


def test_later_dutch_rates_are_added_after_the_verified_ones() -> None:
    update = TableUpdate(
        "nl_statutory",
        (PeriodUpdate(date(2025, 1, 1), D("6.00"), "Staatscourant"), PeriodUpdate(date(2025, 7, 1), D("4.00"), "S")),
        date(2025, 12, 31),
    )
    table = apply_updates([update])["nl_statutory"]
    assert table.periods[: len(NETHERLANDS_STATUTORY.periods)] == NETHERLANDS_STATUTORY.periods
    assert [(s.start, s.rate) for s in table.segments(date(2024, 12, 30), date(2025, 7, 2))] == [
        (date(2024, 12, 30), D("7.00")),
        (date(2025, 1, 1), D("6.00")),
        (date(2025, 7, 1), D("4.00")),
    ]
    assert table.is_verified(date(2025, 12, 31)) and not table.is_verified(date(2026, 1, 1))


def test_a_period_contradicting_verified_data_needs_override() -> None:
    with pytest.raises(RateUpdateError) as caught:
        apply_updates([_ecb((date(2025, 6, 11), "2.25"))])
    assert caught.value.key == "ecb_mro" and "period from 2025-06-11" in str(caught.value)
    assert "2.25 % from 2025-06-11 contradicts the verified figure (2.15 %" in str(caught.value)
    assert "override: true" in str(caught.value)
    # before the first period there is no verified figure either
    with pytest.raises(RateUpdateError, match="no rate on that day"):
        apply_updates([_ecb((date(2010, 1, 1), "1.00"))])
    corrected = apply_updates([_ecb((date(2025, 6, 11), "2.25"), override=True)])
    assert corrected["ecb_mro"].rate_on(date(2025, 8, 1)) == D("2.25")
    assert corrected["eu_statutory_b2b"].rate_on(date(2025, 8, 1)) == D("10.25")  # derived again
    # a period that agrees with the verified figure is accepted and changes nothing
    same = apply_updates([_ecb((date(2025, 8, 1), "2.15"))])
    assert same["ecb_mro"].periods == ECB_MRO.periods


@pytest.mark.parametrize(
    ("updates", "message"),
    [
        ([_ecb((date(2026, 10, 1), "2.00"), (date(2026, 9, 1), "1.90"))], "not after the period before it"),
        ([_ecb((date(2026, 10, 1), "2.00"), (date(2026, 10, 1), "1.90"))], "not after the period before it"),
        ([TableUpdate("be_law_2002", (), H2_2026)], "be_law_2002: is derived from ecb_mro"),
        ([TableUpdate("fr_legal", (), H2_2026)], "fr_legal: unknown rate table"),
        ([_ecb(), _ecb()], "ecb_mro: given twice"),
        ([_ecb(verified=date(2026, 1, 1))], "ecb_mro: verified_through: 2026-01-01 is before the built-in"),
    ],
)
def test_bad_updates_are_refused_with_the_table_named(updates: list[TableUpdate], message: str) -> None:
    with pytest.raises(RateUpdateError, match=message):
        apply_updates(updates)


def test_packs_read_the_merged_tables_and_the_builtin_packs_stay_as_they_are() -> None:
    tables = apply_updates(
        [TableUpdate("de_base_rate", (PeriodUpdate(date(2026, 7, 1), D("2.00"), "test"),), H2_2026)]
    )
    select = pack_selector(tables)
    terms = select("de", "business").interest_terms()
    assert terms is not None and terms.table is tables["de_base_rate"]
    result = accrue(D("10000"), date(2026, 6, 24), date(2026, 7, 4), terms.table, spread=terms.spread)
    assert [(s.days, s.rate, s.amount) for s in result.segments] == [
        (7, D("10.27"), D("19.70")),  # 1.27 + 9 until June
        (4, D("11.00"), D("12.05")),  # the new base rate 2.00 + 9 from 1 July
    ]
    assert select("BE", "consumer").code == "BE-consumer" and select("FR", "business").code == "EU-business"
    be = select("BE", "business").interest_terms()
    assert be is not None and be.table is tables["be_law_2002"]
    # the shipped packs are not changed by building another set
    builtin = select_pack("DE", "business").interest_terms()
    assert builtin is not None and builtin.table is BUILTIN_TABLES["de_base_rate"]
    assert pack_selector(None) is select_pack and packs_with_rates(None) is ALL_PACKS
    assert [p.code for p in packs_with_rates(tables)] == [p.code for p in ALL_PACKS]


def test_rate_status_says_what_is_in_force_and_what_is_unverified() -> None:
    tables = apply_updates([_ecb((date(2026, 9, 16), "1.90"))])
    rows = {r.key: r for r in rate_status(tables, date(2026, 11, 24))}
    assert list(rows)[:2] == ["ecb_mro", "ecb_reference"]
    ecb = rows["ecb_mro"]
    assert (ecb.rate, ecb.since, ecb.source, ecb.verified, ecb.added) == (
        D("1.90"), date(2026, 9, 16), "test source", True, 1
    )
    assert rows["eu_statutory_b2b"].derived_from == "ecb_mro" and rows["eu_statutory_b2b"].last_rate == D("9.90")
    assert not rows["de_base_rate"].verified and rows["de_base_rate"].added == 0
    assert not rows["nl_statutory"].verified and rows["nl_statutory"].verified_through == date(2024, 12, 31)
    assert rows["ecb_mro"].as_dict()["rate"] == "1.90"
