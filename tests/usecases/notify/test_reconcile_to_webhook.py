"""From a bank file to the creditor's system: reconciliation records, ``deliver_webhooks`` posts, once."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from dunning.adapters.webhook import HttpWebhookTransport
from dunning.usecases.notify.webhooks import deliver_webhooks
from dunning.usecases.reconcile.run import reconcile_files
from tests.usecases.notify.conftest import SECRET, Receiver
from tests.usecases.reconcile.camt_build import Payment, write_camt
from tests.usecases.reconcile.conftest import BANK_DAY, Bench, bench

__all__ = ["bench"]


def test_a_payment_reconciled_from_a_camt_file_reaches_the_creditor_once(bench: Bench, receiver: Receiver) -> None:
    paid, partial = bench.case(1), bench.case(4)
    path = write_camt(bench.root, "notification.xml", "054", [
        Payment(str(paid.open_amount + paid.fees_amount + paid.interest_amount), ref=bench.reference(1),
                name="Jan Peeters", bank_ref="N-01"),
        Payment("100.00", ref=bench.reference(4), name="Luc Janssens", bank_ref="N-04"),
    ], day=BANK_DAY)
    reconcile_files(bench.store, bench.workspace, [path], as_of=BANK_DAY)

    transport = HttpWebhookTransport(receiver.url)
    env = {"DUNNING_WEBHOOK_SECRET": SECRET}
    result = deliver_webhooks(bench.store, bench.workspace, BANK_DAY, now=datetime.now(UTC), env=env,
                              transport=transport)
    assert result.counts.failed == 0 and all(r.verified for r in receiver.requests)
    updates = {r.json["case"]["number"]: r.json for r in receiver.requests if r.json["type"] == "payment_update"}
    assert sorted(updates) == [1, 4]
    assert updates[1]["data"]["events"] == ["payment_received", "case_paid"]
    assert updates[1]["case"]["status"] == "closed" and updates[1]["data"]["open_amount_after"] == "0.00"
    assert updates[4]["data"]["payment_status"] == "partial"
    owed_before = partial.open_amount + partial.fees_amount + partial.interest_amount
    assert Decimal(updates[4]["data"]["open_amount_after"]) == owed_before - 100
    assert "Peeters" not in receiver.requests[0].body.decode()

    posted = len(receiver.requests)
    again = deliver_webhooks(bench.store, bench.workspace, BANK_DAY, now=datetime.now(UTC), env=env,
                             transport=transport)
    assert (again.counts.posts, len(receiver.requests)) == (0, posted)
