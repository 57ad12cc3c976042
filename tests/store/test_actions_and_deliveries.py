"""The store seams of the message stages: actions and deliveries read as frozen records, and every
status change only moves what is in the state it expects (what makes re-runs change nothing)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import insert, select

from dunning.store import Store, open_store
from dunning.store.actions import (
    load_action_ids_with_amount,
    load_due_action_ids,
    load_planned_actions,
    lock_fee_action,
    mark_planned_action,
    mark_sent_action_delivered,
    write_action_detail,
)
from dunning.store.cases import add_case_fee, load_case_fees_charged, load_open_invoices
from dunning.store.deliveries import (
    NewDelivery,
    find_delivery_by_token,
    insert_deliveries,
    load_deliveries_by_key,
    load_document_paths,
    mark_sending_delivery,
    mark_sent_delivery,
)
from dunning.store.payments import load_costs_paid
from dunning.store.schema import actions, cases, debtors, documents, invoices

NIGHT = date(2026, 10, 8)
NOW = datetime(2026, 10, 8, 22, 0, tzinfo=UTC)


@pytest.fixture
def store() -> Iterator[Store]:
    store = open_store("sqlite:///:memory:")
    with store.begin() as conn:
        debtor = conn.execute(insert(debtors).values(
            external_id="C-1", name="Erika Muster", language="de", email="erika@example.org", email_invalid=False,
            created_on=NIGHT, updated_on=NIGHT)).inserted_primary_key[0]
        case = conn.execute(insert(cases).values(
            debtor_id=debtor, currency="EUR", status="open", opened_on=NIGHT, reference="RF18539007547034",
            open_amount=Decimal("120.50"), fees_amount=Decimal("7.50"), interest_amount=Decimal("0.00"),
            credit_amount=Decimal("0.00"))).inserted_primary_key[0]
        conn.execute(insert(invoices).values(
            external_id="INV-1", debtor_id=debtor, case_id=case, currency="EUR", due_date=date(2026, 10, 1),
            open_amount=Decimal("120.50"), status="open", description="Water, September"))
        for key, channel, amount in (("a:email", "email", None), ("a:letter", "letter", Decimal("7.50"))):
            conn.execute(insert(actions).values(
                idempotency_key=key, case_id=case, run_date=NIGHT, due_on=NIGHT, action="send_email",
                channel=channel, step="first", status="planned", amount=amount, settings={"template": "x"},
                reason="test", recorded_at=NOW, detail={"fee": "7.50"} if amount else None))
    yield store
    store.dispose()


def test_a_due_action_is_a_frozen_record_with_its_case_and_debtor(store: Store) -> None:
    with store.begin() as conn:
        ids = load_due_action_ids(conn, "email", NIGHT)
        (record,) = load_planned_actions(conn, ids)
        assert load_due_action_ids(conn, "email", date(2026, 10, 7)) == []
    assert record.key == "a:email" and record.debtor_name == "Erika Muster" and record.language == "de"
    assert record.open_amount == Decimal("120.50") and record.fees_amount == Decimal("7.50")
    assert record.settings == {"template": "x"} and record.detail == {}
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.case_status = "closed"  # type: ignore[misc]


def test_an_action_moves_on_only_from_the_status_it_is_expected_in(store: Store) -> None:
    with store.begin() as conn:
        (action_id,) = load_due_action_ids(conn, "email", NIGHT)
        assert mark_planned_action(conn, action_id, status="sent", outcome_on=NIGHT)
        assert not mark_planned_action(conn, action_id, status="failed", outcome_on=NIGHT)
        mark_sent_action_delivered(conn, action_id)
        assert conn.execute(select(actions.c.status).where(actions.c.id == action_id)).scalar_one() == "delivered"
        assert load_planned_actions(conn, [action_id]) == []


def test_a_fee_action_is_locked_and_its_marks_written(store: Store) -> None:
    with store.begin() as conn:
        ids = load_due_action_ids(conn, "letter", NIGHT)
        assert load_action_ids_with_amount(conn, [*ids, *load_due_action_ids(conn, "email", NIGHT)]) == set(ids)
        fee = lock_fee_action(conn, ids[0])
        assert fee is not None and fee.amount == Decimal("7.50") and fee.detail == {"fee": "7.50"}
        write_action_detail(conn, fee.action_id, {**fee.detail, "fee_booked_on": NIGHT.isoformat()})
        add_case_fee(conn, fee.case_id, Decimal("7.50"))
        assert lock_fee_action(conn, ids[0]).detail["fee_booked_on"] == "2026-10-08"  # type: ignore[union-attr]
        assert load_case_fees_charged(conn, fee.case_id) == Decimal("15.00")
        assert load_costs_paid(conn, [fee.case_id])[fee.case_id].fees == Decimal("0.00")
        (invoice,) = load_open_invoices(conn, [fee.case_id])
        assert invoice.external_id == "INV-1" and invoice.open_amount == Decimal("120.50")


def test_a_delivery_is_recorded_before_and_after_sending_once(store: Store) -> None:
    with store.begin() as conn:
        (action_id,) = load_due_action_ids(conn, "email", NIGHT)
        insert_deliveries(conn, [NewDelivery("a:email:email", action_id, "email", "sending", attempts=1,
                                             external_id="tok123", detail={"sent_on": "2026-10-08"},
                                             recorded_at=NOW)])
        assert mark_sending_delivery(conn, "a:email:email", status="sent", detail={"x": 1}, recorded_at=NOW)
        assert not mark_sending_delivery(conn, "a:email:email", status="deferred", detail={}, recorded_at=NOW)
        found = find_delivery_by_token(conn, "tok123", "email")
        assert found is not None and found.action_key == "a:email" and found.delivery.status == "sent"
        assert find_delivery_by_token(conn, "tok123", "sms") is None
        mark_sent_delivery(conn, found.delivery.delivery_id, status="delivered", detail={}, recorded_at=NOW)
        mark_sent_delivery(conn, found.delivery.delivery_id, status="failed", detail={}, recorded_at=NOW)
        assert load_deliveries_by_key(conn, ["a:email:email"])["a:email:email"].status == "delivered"
        conn.execute(insert(documents).values(action_id=action_id, kind="letter", path="output/1.pdf",
                                              sha256="0" * 64, recorded_at=NOW))
        assert load_document_paths(conn, [action_id, 999]) == {action_id: "output/1.pdf"}
