"""Pay on a date through the nights (issue 18, item 4), on SQLite and PostgreSQL: ``dunning run`` each
night, its emails and SMS really dispatched (the workspace's file transports), the timeline read with
``dunning case``.

A promise holds the case (nothing planned, not even a fee); the reminder is planned on the night
before the promised day, exactly once, and goes out although the case is held, stating that day;
too little paid by the day plus the grace days breaks the promise: the flow resumes where it paused
and its ``promise_broken`` handler runs once; paid in full before, the promise is kept and the case
closes as usual (its thank-you). The page's refusals (a day outside the window, a second promise).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from dunning.cli import EXIT_OK, cli
from dunning.store import Store
from dunning.store.schema import actions, holds
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.messaging.dispatch import dispatch_messages
from dunning.usecases.paypage.promise import PromiseRefused, make_promise, promise_offer
from dunning.workspace import init_workspace, open_workspace
from tests.usecases.reconcile.camt_build import Payment, build_camt

IMPORTED_ON = date(2026, 10, 20)
FIRST_NIGHT = date(2026, 10, 25)
MADE_ON = date(2026, 10, 27)
PROMISED = date(2026, 11, 10)  # MADE_ON + 14 days: the latest day the default window allows
CASE = 2  # Marie Dubois (fr, BE consumer, email and phone): 66.94 open
AT = datetime(2026, 10, 27, 9, 0, tzinfo=UTC)
#: what a held case must never get from its flow
DUNNING = {"add_fee", "add_interest", "send_sms", "send_letter", "send_final_notice", "hand_over", "send_email"}

BROKEN_HANDLER = """
  promise_broken:                   # added by the test: one SMS when a promise is broken
    after: 0
    action: send_sms
    settings: {template: reminder_sms}
"""


class Bench:
    def __init__(self, root: Path, store: Store, store_url: str) -> None:
        self.root, self.store, self.store_url = root, store, store_url
        self.workspace = open_workspace(root, environ={})

    def json(self, *args: str) -> Any:
        runner = CliRunner(env={"DUNNING_DATABASE": self.store_url, "COLUMNS": "200"})
        result = runner.invoke(cli, ["--workspace", str(self.root), *args, "--format", "json"], catch_exceptions=False)
        assert result.exit_code == EXIT_OK, result.stderr
        return json.loads(result.stdout)

    def nights(self, first: date, last: date) -> dict[date, list[dict[str, Any]]]:
        """``dunning run`` each night from ``first`` to ``last`` (messages sent): case 2's new actions by night."""
        planned: dict[date, list[dict[str, Any]]] = defaultdict(list)
        day = first
        while day <= last:
            for action in self.json("run", "--date", day.isoformat(), "--list")["actions"]:
                if action["case"] == CASE:
                    planned[day].append(action)
            dispatch_messages(self.store, self.workspace, day, now=datetime.combine(day, time(10), tzinfo=UTC))
            day += timedelta(days=1)
        return planned

    def timeline(self) -> list[dict[str, Any]]:
        return list(self.json("case", str(CASE))["timeline"])

    def status(self) -> str:
        (row,) = [c for c in self.json("cases") if c["case"] == CASE]
        return str(row["status"])

    def promise(self, day: date | None = PROMISED, today: date = MADE_ON) -> None:
        make_promise(self.store, self.workspace, CASE, day, today=today, recorded_at=AT)

    def pay(self, amount: str, on: date) -> None:
        reference = str(self.json("case", str(CASE))["reference"])
        path = self.root / f"pay-{on}.xml"
        path.write_bytes(build_camt("054", [Payment(amount, ref=reference, name="Marie Dubois")], day=on))
        result = self.json("reconcile", str(path), "--date", on.isoformat())
        assert CASE in result["cases_paid"] + result["cases_partly_paid"], result


@pytest.fixture()
def bench(store: Store, store_url: str, tmp_path: Path) -> Iterator[Bench]:
    root = tmp_path / "ws"
    init_workspace(root)
    with (root / "flows" / "default.yaml").open("a", encoding="utf-8") as flow:
        flow.write(BROKEN_HANDLER)
    bench = Bench(root, store, store_url)
    import_ledger(store, root / "examples/open-items.csv", as_of=IMPORTED_ON, reference_kind="be-ogm")
    bench.nights(FIRST_NIGHT, MADE_ON - timedelta(days=1))
    yield bench


def _kinds(planned: dict[date, list[dict[str, Any]]]) -> dict[date, list[str]]:
    return {day: [a["action"] for a in found] for day, found in planned.items() if found}


def test_a_promise_holds_the_case_reminds_the_day_before_once_and_resumes_the_flow_when_broken(bench: Bench) -> None:
    bench.promise()
    assert bench.status() == "on_hold"  # at once: a message planned before the promise waits
    held = bench.nights(MADE_ON, PROMISED + timedelta(days=3))
    # nothing but the reminder, planned on the night before the promised day, on the preferred channel
    assert _kinds(held) == {PROMISED - timedelta(days=1): ["send_pay_link"]}, held
    (reminder,) = held[PROMISED - timedelta(days=1)]
    assert reminder["channel"] == "email"
    assert reminder["reason"] == "promise to pay by 2026-11-10: reminder the day before"
    assert bench.status() == "on_hold"
    # it went out although the case is held, in the debtor's language, naming the promised day
    with bench.store.begin() as conn:
        status = conn.execute(select(actions.c.status).where(actions.c.idempotency_key == reminder["key"])).scalar()
    assert status == "sent"
    mails = [message_from_bytes(p.read_bytes(), policy=policy.default) for p in (bench.root / "output").rglob("*.eml")]
    (mail,) = [m for m in mails if str(m["subject"]).startswith("Rappel : vous avez prévu de payer")]
    assert str(mail["subject"]).endswith("au plus tard le 10 novembre 2026")
    body = mail.get_body(("plain",))
    assert body is not None and "Vous nous avez indiqué que vous paierez au plus tard le 10 novembre 2026." in (
        body.get_content().replace("\u00a0", " ")
    )
    # re-running the night of the reminder adds nothing
    assert bench.json("run", "--date", "2026-11-09", "--list")["actions"] == []

    bench.pay("30.00", PROMISED)  # too little: the promise is still broken after the grace days
    resumed = bench.nights(PROMISED + timedelta(days=4), PROMISED + timedelta(days=12))
    first = resumed[PROMISED + timedelta(days=4)]
    # the night the promise breaks the flow goes on at the step it paused before (its SMS nudge, due
    # 1 November), and the flow's promise_broken handler follows after the contact gap, once
    assert [(a["action"], a["step"]) for a in first] == [("send_sms", "sms_nudge")]
    assert bench.status() == "open"
    every = [a for found in resumed.values() for a in found]
    assert {a["action"] for a in every} & DUNNING  # the flow goes on where it paused
    handled = [a for a in every if a["step"].startswith("on:promise_broken:")]
    assert len(handled) == 1 and handled[0]["action"] == "send_sms"  # the flow's handler, once
    keys = [a["key"] for a in every]
    assert len(keys) == len(set(keys))
    with bench.store.begin() as conn:
        fee_steps = conn.execute(select(actions.c.step).where(actions.c.case_id == CASE,
                                                              actions.c.action == "add_fee")).scalars().all()
        released = conn.execute(select(holds.c.released_on).where(holds.c.source == f"promise:{CASE}:1")).scalar()
    assert len(fee_steps) == len(set(fee_steps)) <= 1  # no fee counted twice
    assert released == PROMISED + timedelta(days=4)

    timeline = bench.timeline()
    made = [e for e in timeline if e["kind"] == "promise_made"]
    broken = [e for e in timeline if e["kind"] == "promise_broken"]
    assert [e["date"] for e in made] == ["2026-10-27"] and "promise to pay by 2026-11-10" in made[0]["why"]
    assert [e["date"] for e in broken] == ["2026-11-14"] and "promise broken" in broken[0]["why"]
    assert [e["what"] for e in timeline if "reminder the day before" in e["why"]] == ["send pay link by email"]
    # a broken promise is not offered again on this case
    offer = promise_offer(bench.store, bench.workspace, CASE, date(2026, 11, 15))
    assert not offer.offered and offer.broken is not None
    with pytest.raises(PromiseRefused) as refused:
        bench.promise(date(2026, 11, 20), today=date(2026, 11, 15))
    assert refused.value.code == "broken"


def test_paid_in_full_before_the_day_the_promise_is_kept_and_the_case_closes_as_usual(bench: Bench) -> None:
    bench.promise()
    bench.nights(MADE_ON, date(2026, 11, 3))
    owed = Decimal(str(bench.json("case", str(CASE))["total_due"]))
    bench.pay(f"{owed:.2f}", date(2026, 11, 4))
    after = bench.nights(date(2026, 11, 4), PROMISED + timedelta(days=6))
    assert _kinds(after) == {date(2026, 11, 4): ["thank_you"]}, after  # no reminder, no dunning: a thank-you
    assert bench.status() == "closed"
    kept = [e for e in bench.timeline() if e["kind"] == "promise_kept"]
    assert [(e["date"], e["why"]) for e in kept] == [("2026-11-04", "paid in full by 2026-11-04: promise kept")]
    assert not [e for e in bench.timeline() if e["kind"] == "promise_broken"]
    with bench.store.begin() as conn:
        released = conn.execute(select(holds.c.released_on).where(holds.c.source == f"promise:{CASE}:1")).scalar()
    assert released == date(2026, 11, 4)


def test_the_page_refuses_days_outside_the_window_and_a_second_promise(bench: Bench) -> None:
    offer = promise_offer(bench.store, bench.workspace, CASE, MADE_ON)
    assert offer.offered and offer.window is not None
    assert (offer.window.earliest, offer.window.latest) == (MADE_ON + timedelta(days=1), PROMISED)
    for day, code in ((MADE_ON, "past"), (PROMISED + timedelta(days=1), "too_late"), (None, "missing")):
        with pytest.raises(PromiseRefused) as refused:
            bench.promise(day)
        assert refused.value.code == code
    assert bench.status() == "open"  # nothing recorded
    bench.promise(date(2026, 11, 1))
    with pytest.raises(PromiseRefused) as second:
        bench.promise(date(2026, 11, 5))
    assert second.value.code == "already"
    offer = promise_offer(bench.store, bench.workspace, CASE, MADE_ON)
    assert offer.open is not None and offer.open.promised == date(2026, 11, 1) and not offer.offered
    assert offer.open.last_day == date(2026, 11, 4)


def test_a_debtor_without_an_email_address_is_reminded_by_sms(bench: Bench) -> None:
    case = 4  # Luc Janssens: a phone number, no email address
    assert bench.json("case", str(case))["debtor"] == "Luc Janssens"
    make_promise(bench.store, bench.workspace, case, MADE_ON + timedelta(days=3), today=MADE_ON, recorded_at=AT)
    reminders = []
    for day in (MADE_ON, MADE_ON + timedelta(days=1), MADE_ON + timedelta(days=2), MADE_ON + timedelta(days=3)):
        reminders += [(day, a["channel"]) for a in bench.json("run", "--date", day.isoformat(), "--list")["actions"]
                      if a["case"] == case]
        dispatch_messages(bench.store, bench.workspace, day, now=datetime.combine(day, time(10), tzinfo=UTC))
    assert reminders == [(MADE_ON + timedelta(days=2), "sms")]  # the night before 30 October
    texts = [line for p in (bench.root / "output").rglob("*.jsonl") for line in p.read_text("utf-8").splitlines()]
    assert [t for t in texts if "zoals afgesproken" in t and "uiterlijk op 30/10/2026" in t], texts[-3:]
