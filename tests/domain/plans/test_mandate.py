"""The direct debit rules in the pure core, and the pain.008 files built from them (lxml against the XSD).

A property test runs a plan's collections day by day, as a nightly ``dunning plans collect`` would:
every instalment is collected exactly once, FRST before RCUR, never before the pre-notification nor
later than it needs to be, and each file's control sums equal the instalments' amounts.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from dunning.bank.pain008 import DebitLine, Pain008Creditor, Pain008Invalid, build_pain008, validate_pain008
from dunning.domain.plans.mandate import (
    Mandate,
    MandateStatus,
    SequenceType,
    checked_mandate_reference,
    creditor_identifier,
    due_collections,
    earliest_collection,
    end_to_end_id,
    mandate_reference,
    next_business_day,
    return_reason_text,
)
from dunning.domain.plans.model import Arrangement, ArrangementStatus, CreatedVia, PlanError
from dunning.domain.plans.schedule import PlanTerms, build_arrangement

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"}
TARGET_2027 = frozenset({date(2027, 1, 1), date(2027, 3, 26), date(2027, 3, 29), date(2027, 5, 1),
                         date(2027, 12, 25), date(2027, 12, 26)})
CREDITOR = Pain008Creditor("Brabant Energie NV", "BE68539007547034", "BE68ZZZ0123456789")


def _plan(total: Decimal, count: int, day: int, start: date) -> Arrangement:
    terms = PlanTerms(count, day, start, "clerk", CreatedVia.CLI, "1")
    plan = build_arrangement("7-1", ("7",), "000000000707", "EUR", (Decimal(0), total, Decimal(0)), terms, start,
                             "BE-consumer")
    return replace(plan, status=ArrangementStatus.ACTIVE)


def _mandate(signed: date) -> Mandate:
    return Mandate(mandate_reference("7-1"), "7-1", "BE71096123456769", "Jan Peeters", signed, "1", "paper")


def test_identifiers() -> None:
    assert mandate_reference("7-1") == "DDM-7-1" and end_to_end_id("7-1", 4) == "DD-7-1-04"
    assert creditor_identifier("be68 zzz 0123456789") == "BE68ZZZ0123456789"
    with pytest.raises(PlanError, match="not a valid SEPA creditor identifier"):
        creditor_identifier("BE69ZZZ0123456789")
    for bad in ("", "/A", "A/", "A//B", "é", "x" * 36):
        with pytest.raises(PlanError, match="is not 1 to 35 characters"):
            checked_mandate_reference(bad)
    with pytest.raises(PlanError, match="too long for an EndToEndId"):
        end_to_end_id("9" * 30, 1)
    assert return_reason_text("am04") == "am04 (insufficient funds)" and return_reason_text("ZZ99") == "ZZ99"


def test_target_days() -> None:
    assert next_business_day(date(2027, 3, 26), TARGET_2027) == date(2027, 3, 30)  # Good Friday, Easter Monday
    assert earliest_collection(date(2027, 3, 25), 1, TARGET_2027) == date(2027, 3, 30)
    assert earliest_collection(date(2027, 3, 25), 2, TARGET_2027) == date(2027, 3, 31)
    assert earliest_collection(date(2027, 3, 27), 0, TARGET_2027) == date(2027, 3, 30)


def test_a_stopped_mandate_or_an_ended_plan_collects_nothing() -> None:
    plan = _plan(Decimal("300.00"), 3, 15, date(2027, 1, 1))
    mandate = _mandate(date(2026, 12, 1))
    kwargs = {"today": date(2027, 1, 14), "collected": (), "mandate_used": False, "lead_days": 1,
              "prenotification_days": 14, "days_ahead": 0, "closed": TARGET_2027}
    assert [c.number for c in due_collections(plan, mandate, **kwargs)] == [1]  # type: ignore[arg-type]
    assert due_collections(plan, replace(mandate, status=MandateStatus.STOPPED), **kwargs) == []  # type: ignore[arg-type]
    assert due_collections(replace(plan, status=ArrangementStatus.CANCELLED), mandate, **kwargs) == []  # type: ignore[arg-type]


def test_a_file_that_breaks_the_schema_is_refused() -> None:
    line = DebitLine("DD-7-1-01", Decimal("10.00"), "EUR", "FRST", date(2027, 1, 15), "DDM-7-1", date(2027, 1, 1),
                     "Jan Peeters", "BE71096123456769", "010000000788 instalment 1")
    with pytest.raises(Pain008Invalid, match="EndToEndId"):
        build_pain008(CREDITOR, [line.__class__(**{**_fields(line), "end_to_end_id": "x" * 36})],
                      message_id="M", created_at=datetime(2027, 1, 14))
    with pytest.raises(Pain008Invalid, match="not a whole number of cents"):
        build_pain008(CREDITOR, [line.__class__(**{**_fields(line), "amount": Decimal("1.001")})],
                      message_id="M", created_at=datetime(2027, 1, 14))
    assert b"<MsgId>M</MsgId>" in build_pain008(CREDITOR, [line], message_id="M", created_at=datetime(2027, 1, 14))


def _fields(line: DebitLine) -> dict[str, object]:
    return {name: getattr(line, name) for name in line.__slots__}  # type: ignore[attr-defined]


@settings(max_examples=40, deadline=None)
@given(
    total=st.decimals(min_value=Decimal("20.00"), max_value=Decimal("99999.99"), places=2),
    count=st.integers(min_value=2, max_value=12),
    day=st.integers(min_value=1, max_value=28),
    start=st.dates(min_value=date(2027, 1, 1), max_value=date(2027, 6, 30)),
    signed_before=st.integers(min_value=0, max_value=30),
    lead=st.integers(min_value=0, max_value=3),
    ahead=st.integers(min_value=0, max_value=10),
    skipped=st.sets(st.integers(min_value=0, max_value=500), max_size=60),
)
def test_day_by_day_every_instalment_is_collected_once_and_the_sums_add_up(
    total: Decimal, count: int, day: int, start: date, signed_before: int, lead: int, ahead: int, skipped: set[int]
) -> None:
    plan = _plan(total, count, day, start)
    signed = start - timedelta(days=signed_before)
    mandate = _mandate(signed)
    collected: dict[int, date] = {}
    sequences: list[SequenceType] = []
    closed = TARGET_2027 | frozenset(d.replace(year=2028) for d in TARGET_2027 if d.month != 3)
    today = start
    while len(collected) < count:
        assert today < start + timedelta(days=600), "an instalment was never collected"
        if (today - start).days not in skipped:  # a night without a run
            found = due_collections(plan, mandate, today=today, collected=collected, mandate_used=bool(collected),
                                    lead_days=lead, prenotification_days=14, days_ahead=ahead, closed=closed)
            by_date: dict[date, list[DebitLine]] = {}
            for c in found:
                assert c.number not in collected
                collected[c.number] = c.collection_date
                sequences.append(c.sequence)
                assert c.collection_date >= earliest_collection(today, lead, closed)
                assert c.collection_date >= signed + timedelta(days=14)
                assert c.collection_date.weekday() < 5 and c.collection_date not in closed
                by_date.setdefault(c.collection_date, []).append(
                    DebitLine(c.end_to_end_id, c.amount, "EUR", c.sequence.value, c.collection_date, mandate.reference,
                              signed, mandate.debtor_name, mandate.iban, c.reference)
                )
            for on, lines in by_date.items():
                xml = build_pain008(CREDITOR, lines, message_id=f"DD-{today:%Y%m%d}-{on:%Y%m%d}",
                                    created_at=datetime(today.year, today.month, today.day, 20))
                validate_pain008(xml, "pain.008.001.08")
                root = etree.fromstring(xml)
                amounts = [Decimal(str(e.text)) for e in root.iterfind(".//p:InstdAmt", NS)]
                assert Decimal(root.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) or "") == sum(
                    (line.amount for line in lines), Decimal(0)) == sum(amounts, Decimal(0))
                assert sum(Decimal(str(e.text)) for e in root.iterfind(".//p:PmtInf/p:CtrlSum", NS)) == sum(amounts)
        today += timedelta(days=1)
    assert sorted(collected) == list(range(1, count + 1))
    assert sequences[0] == SequenceType.FIRST and set(sequences[1:]) <= {SequenceType.RECURRING}
    assert sum((plan.instalment(n).amount for n in collected), Decimal(0)) == plan.total
