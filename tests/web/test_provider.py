"""Paying online end to end, on SQLite and PostgreSQL: the page's button → a checkout at a local server
speaking Stripe's API → the debtor pays there → Stripe's signed webhook → the case's payment booked once,
through the same allocation as a bank payment → the payout on a later bank statement books nothing more."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from camt.build import Payment, build_camt
from dunning.adapters.stripe import StripeProvider, sign_payload, to_minor
from dunning.cli import EXIT_CONFIG, cli
from dunning.errors import ConfigError
from dunning.ports_payments import ProviderError
from dunning.store.schema import allocations, bank_transactions, provider_events, review_items
from dunning.usecases.cases.view import case_detail
from dunning.usecases.paypage.online import open_provider, receive_webhook
from dunning.usecases.reconcile.run import reconcile_files
from dunning.web.app import page_prefix
from dunning.workspace import Workspace, init_workspace, open_workspace
from tests.servers.stripe import StripeServer, stripe_server
from tests.usecases.letters.helpers import night
from tests.web.helpers import VISIT_AT, VISIT_DAY, Letter, Letters, running_server

SIGNED_AT = int(VISIT_AT.timestamp())  # the app's clock in these tests: Stripe signs "now"


def provider_workspace(letters: Letters, stripe: StripeServer) -> Workspace:
    """The fixture's workspace with ``paypage.provider`` set to the local Stripe (as a user sets it: env keys)."""
    return open_workspace(letters.workspace.root, environ={
        "DUNNING_PAYPAGE_PROVIDER_KIND": "stripe",
        "DUNNING_PAYPAGE_PROVIDER_API_BASE": stripe.base_url,
        "DUNNING_PAYPAGE_PROVIDER_CHECKOUT_ORIGIN": stripe.base_url,
    })


def page_form(http: httpx.Client, letter: Letter) -> tuple[str, str, str]:
    """The page's total, the online form's action and its CSRF field."""
    html = http.get(letter.path).text
    total = re.search(r'id="total">([^<]+)<', html)
    action = re.search(r'<form method="post" action="([^"]+)" class="online">', html)
    csrf = re.search(r'name="csrf" value="([^"]+)"', html)
    assert total and action and csrf, "no pay-online form on the page"
    return total.group(1), action.group(1), csrf.group(1)


@dataclass(frozen=True)
class Online:
    """A local Stripe, the workspace set to it, and the pay page running on both (``http`` reaches the page)."""

    stripe: StripeServer
    workspace: Workspace
    provider: StripeProvider
    http: httpx.Client

    def checkout(self, letter: Letter) -> tuple[str, str, str]:
        """Open ``letter``'s checkout through the page's form: (the pay link's path, the CSRF field, the session id)."""
        _, _, csrf = page_form(self.http, letter)
        path = letter.path.split("?")[0]
        location = self.http.post(f"{path}/online", data={"csrf": csrf}).headers["location"]
        return path, csrf, location.rsplit("/", 1)[1]


@pytest.fixture
def online(letters: Letters) -> Iterator[Online]:
    """The setup every online-payment test shares; the webhook endpoint is the running page's."""
    with stripe_server() as stripe:
        workspace = provider_workspace(letters, stripe)
        provider = StripeProvider(stripe.base_url, stripe.secret_key, stripe.webhook_secret)
        with running_server(workspace, letters.store, provider=provider) as base, httpx.Client(base_url=base) as http:
            stripe.webhook_url = f"{base}{page_prefix(workspace)}/online/webhook"
            yield Online(stripe, workspace, provider, http)


def booked(letters: Letters, case_id: int) -> list[Any]:
    with letters.store.begin() as conn:
        return list(conn.execute(
            select(bank_transactions.c.key, bank_transactions.c.status, bank_transactions.c.amount,
                   func.count(allocations.c.id).label("parts"))
            .join(allocations, allocations.c.transaction_id == bank_transactions.c.id)
            .where(allocations.c.case_id == case_id, allocations.c.reversed.is_(False))
            .group_by(bank_transactions.c.key, bank_transactions.c.status, bank_transactions.c.amount)))


def test_pay_online_books_the_case_once_and_the_payout_never_again(letters: Letters, online: Online) -> None:
    letter = letters.sent[0]
    stripe, workspace, http = online.stripe, online.workspace, online.http
    page = http.get(letter.path)
    assert "Bancontact, iDEAL" in page.text
    # the page lets its form lead to the provider's checkout, and nowhere else
    assert f"form-action 'self' {stripe.base_url}" in page.headers["content-security-policy"]
    total, action, csrf = page_form(http, letter)
    path = letter.path.split("?")[0]
    assert action == path.rsplit("/", 1)[1] + "/online"
    # without the page's CSRF field, no checkout
    assert http.post(f"{path}/online", data={}).status_code == 403
    assert not stripe.requests
    answer = http.post(f"{path}/online", data={"csrf": csrf})
    assert answer.status_code == 303
    session_id = answer.headers["location"].rsplit("/", 1)[1]
    assert answer.headers["location"] == stripe.sessions[session_id]["url"]
    # a double click is the same checkout (Stripe's idempotency key)
    assert http.post(f"{path}/online", data={"csrf": csrf}).headers["location"].endswith(session_id)
    _, _, form, _ = stripe.requests[0]
    price = form["line_items"][0]["price_data"]
    assert (price["currency"], int(price["unit_amount"])) == ("eur", to_minor(letter.epc_amount, "EUR"))
    assert re.sub(r"\D", "", total) == price["unit_amount"]
    assert form["metadata"] == {"case": str(letter.case_id), "reference": letter.reference.replace(" ", "")}
    assert form["payment_method_types"] == ["bancontact", "ideal", "card"]
    sent = json.dumps(form)
    assert letter.debtor_name not in sent  # no personal data at the provider
    token = path.rsplit("/", 1)[1]
    assert token not in form["success_url"] and token not in form["cancel_url"]  # nor the pay link

    # the debtor pays with Bancontact; Stripe posts the signed event (and, as it may, again)
    event = stripe.complete(session_id, method="bancontact")
    hook = f"{page_prefix(workspace)}/online/webhook"
    raw = json.dumps(event).encode()
    assert stripe.deliver(event, at=SIGNED_AT - 400)[0] == 400  # signed 400 s ago: a replay
    assert stripe.deliver(event, at=SIGNED_AT, secret="whsec_forged")[0] == 400
    tampered = raw.replace(b'"amount_total": ', b'"amount_total": 1')
    signed = {"Stripe-Signature": sign_payload(stripe.webhook_secret, raw, SIGNED_AT)}
    assert http.post(hook, content=tampered, headers=signed).status_code == 400
    assert http.post(hook, content=raw).status_code == 400  # no signature at all
    assert booked(letters, letter.case_id) == []
    # a signed event is believed only as far as the provider's own record: the amount is read back
    lying = json.loads(raw)
    lying["id"] = "evt_lying"
    lying["data"]["object"]["amount_total"] = 1
    status, body = stripe.deliver(lying, at=SIGNED_AT)
    assert (status, json.loads(body)["outcome"]) == (200, "booked")
    status, body = stripe.deliver(event, at=SIGNED_AT)
    assert (status, json.loads(body)["outcome"]) == (200, "already_booked")
    status, body = stripe.deliver(event, at=SIGNED_AT + 5)  # Stripe retries a delivery
    assert (status, json.loads(body)["outcome"]) == (200, "duplicate")
    rows = booked(letters, letter.case_id)
    assert len(rows) == 1
    assert rows[0].key == f"provider:stripe:{session_id}" and rows[0].status == "matched"
    assert rows[0].amount == letter.epc_amount
    detail = case_detail(letters.store, str(letter.case_id))
    assert detail.summary.status == "closed"
    assert [e.kind for e in detail.timeline].count("payment_received") == 1
    # the debtor comes back: the page says it was received
    done = http.get(f"{page_prefix(workspace)}/online/done", params={"session_id": session_id})
    assert done.status_code == 200 and 'data-page="online-paid"' in done.text
    # and the pay page shows nothing left to pay
    assert 'data-page="paid"' in http.get(letter.path).text

    # the next night thanks the debtor and plans nothing else for the case
    planned = night(letters.store, workspace, VISIT_DAY + timedelta(days=1)).planned
    assert {a["action"] for a in planned if a["case"] == letter.case_id} == {"thank_you"}

    # days later Stripe's payout reaches the bank: one line, fees taken; it books nothing
    payout_id, net = stripe.payout([session_id])
    camt = letters.root / f"camt053-payout-{payout_id}.xml"
    camt.write_bytes(build_camt("053", [Payment(
        str(net), text=f"STRIPE PAYOUT {payout_id}", name="Stripe Technology Europe Ltd",
        iban="IE37STRI99000000000001")], day=VISIT_DAY + timedelta(days=4),
        account=workspace.config.creditor.iban, msg_id=f"PAYOUT-{payout_id}"))
    with letters.store.begin() as conn:
        reviews_before = conn.execute(select(func.count()).select_from(review_items)).scalar_one()
    result = reconcile_files(letters.store, workspace, [camt], as_of=VISIT_DAY + timedelta(days=4))
    summary = result.summary()
    assert summary["outcomes"]["matched"]["count"] == 0 and summary["review_items"] == 0
    assert summary["outcomes"]["ignored"]["count"] == 1
    with letters.store.begin() as conn:
        reason = conn.execute(select(bank_transactions.c.detail).where(
            bank_transactions.c.remittance.like(f"%{payout_id}%"))).scalar_one()["reason"]
        assert reason.startswith(f"provider settlement: payout {payout_id}")
        assert conn.execute(select(func.count()).select_from(review_items)).scalar_one() == reviews_before
    assert len(booked(letters, letter.case_id)) == 1
    later = night(letters.store, workspace, VISIT_DAY + timedelta(days=5)).planned
    assert not [a for a in later if a["case"] == letter.case_id]


def test_two_processes_receiving_the_same_webhook_book_it_once(letters: Letters, online: Online) -> None:
    letter = letters.sent[1]
    stripe, workspace, provider = online.stripe, online.workspace, online.provider
    _, _, session_id = online.checkout(letter)
    event = stripe.complete(session_id, method="card")
    body = json.dumps(event).encode()
    headers = {"Stripe-Signature": sign_payload(stripe.webhook_secret, body, SIGNED_AT)}
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def receive() -> None:
        try:
            outcomes.append(receive_webhook(letters.store, workspace, provider, body, headers,
                                            now=VISIT_AT, today=VISIT_DAY).outcome)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=receive) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(outcomes).count("booked") == 1, outcomes
    assert set(outcomes) <= {"booked", "duplicate", "already_booked"}
    assert len(booked(letters, letter.case_id)) == 1
    with letters.store.begin() as conn:
        assert conn.execute(select(func.count()).select_from(provider_events)
                            .where(provider_events.c.event_id == event["id"])).scalar_one() == 1


def test_the_provider_is_configured_from_the_environment_or_refused_by_name(letters: Letters) -> None:
    with stripe_server() as stripe:
        workspace = provider_workspace(letters, stripe)
        assert open_provider(letters.workspace, env={}) is None  # kind none: bank transfer only
        with pytest.raises(ConfigError, match="DUNNING_PROVIDER_SECRET_KEY"):
            open_provider(workspace, env={})
        with pytest.raises(ConfigError, match="DUNNING_PROVIDER_WEBHOOK_SECRET"):
            open_provider(workspace, env={"DUNNING_PROVIDER_SECRET_KEY": "sk_test_local"})
        provider = open_provider(workspace, env={"DUNNING_PROVIDER_SECRET_KEY": stripe.secret_key,
                                                 "DUNNING_PROVIDER_WEBHOOK_SECRET": stripe.webhook_secret})
        assert isinstance(provider, StripeProvider) and provider.api_base == stripe.base_url


def test_the_return_page_books_a_paid_session_whose_webhook_is_late_and_says_what_happened(
    letters: Letters, online: Online
) -> None:
    letter = letters.sent[2]
    stripe, workspace, http = online.stripe, online.workspace, online.http
    done = f"{page_prefix(workspace)}/online/done"
    path, csrf, session_id = online.checkout(letter)
    # back without paying (Stripe's back button)
    answer = http.get(done, params={"session_id": session_id})
    assert answer.status_code == 200 and 'data-page="online-unpaid"' in answer.text
    assert http.get(done, params={"session_id": "cs_test_someone_elses"}).status_code == 404
    # paid; the webhook has not come yet: the return books it
    event = stripe.complete(session_id, method="ideal")
    answer = http.get(done, params={"session_id": session_id})
    assert 'data-page="online-paid"' in answer.text
    assert len(booked(letters, letter.case_id)) == 1
    status, body = stripe.deliver(event, at=SIGNED_AT)
    assert (status, json.loads(body)["outcome"]) == (200, "already_booked")
    assert len(booked(letters, letter.case_id)) == 1
    timeline = [e.kind for e in case_detail(letters.store, str(letter.case_id)).timeline]
    assert "creditor_notified" in timeline  # the creditor's system hears of it as of a bank payment
    # nothing left to pay: no button, and the form is refused
    page = http.get(letter.path).text
    assert 'class="online"' not in page
    assert http.post(f"{path}/online", data={"csrf": csrf}).status_code == 404


def test_a_delayed_method_is_booked_when_stripe_says_it_succeeded_not_before(letters: Letters, online: Online) -> None:
    letter = letters.sent[3]
    stripe, workspace, http = online.stripe, online.workspace, online.http
    _, _, session_id = online.checkout(letter)
    completed = stripe.complete(session_id, paid=False)
    status, body = stripe.deliver(completed, at=SIGNED_AT)
    assert (status, json.loads(body)["outcome"]) == (200, "noted")
    answer = http.get(f"{page_prefix(workspace)}/online/done", params={"session_id": session_id})
    assert 'data-page="online-processing"' in answer.text
    assert booked(letters, letter.case_id) == []
    succeeded = stripe.succeed_later(session_id)
    # Stripe's API cannot be reached to confirm: nothing is recorded, so the next delivery acts
    unreachable = StripeProvider("http://127.0.0.1:9", stripe.secret_key, stripe.webhook_secret, timeout=2)
    raw = json.dumps(succeeded).encode()
    signed = {"Stripe-Signature": sign_payload(stripe.webhook_secret, raw, SIGNED_AT + 60)}
    with pytest.raises(ProviderError) as failed:
        receive_webhook(letters.store, workspace, unreachable, raw, signed, now=VISIT_AT, today=VISIT_DAY)
    assert failed.value.transient  # the web answers 503 and Stripe delivers again
    assert booked(letters, letter.case_id) == []
    status, body = stripe.deliver(succeeded, at=SIGNED_AT + 60)
    assert (status, json.loads(body)["outcome"]) == (200, "booked")
    assert len(booked(letters, letter.case_id)) == 1


def test_dunning_serve_refuses_to_start_without_the_providers_secrets(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    init_workspace(root)
    result = CliRunner().invoke(cli, ["-w", str(root), "serve", "--port", "1"],
                                env={"DUNNING_PAYPAGE_PROVIDER_KIND": "stripe", "DUNNING_PROVIDER_SECRET_KEY": ""})
    assert result.exit_code == EXIT_CONFIG
    assert "DUNNING_PROVIDER_SECRET_KEY" in result.output


def test_a_webhook_during_a_reconcile_waits_then_asks_to_be_delivered_again_and_books_once_after(
    letters: Letters, online: Online, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A booking writes what `dunning reconcile` writes: while one works, the webhook books nothing (503)."""
    from tests.store.test_locks import held_by_another_process

    monkeypatch.setattr("dunning.usecases.paypage.online.WEBHOOK_WAIT_SECONDS", 0.5)
    monkeypatch.setattr("dunning.usecases.paypage.online.RETURN_WAIT_SECONDS", 0.2)
    letter = letters.sent[4]
    store_url = letters.store.engine.url.render_as_string(hide_password=False)
    stripe, workspace, http = online.stripe, online.workspace, online.http
    _, _, session_id = online.checkout(letter)
    event = stripe.complete(session_id, method="bancontact")
    with held_by_another_process(store_url, "reconcile"):
        status, body = stripe.deliver(event, at=SIGNED_AT)
        assert status == 503 and "deliver again" in body
        done = http.get(f"{page_prefix(workspace)}/online/done", params={"session_id": session_id})
        assert 'data-page="online-processing"' in done.text  # not "paid": nothing is booked yet
        assert booked(letters, letter.case_id) == []
    status, body = stripe.deliver(event, at=SIGNED_AT)  # the provider's retry, the reconcile done
    assert (status, json.loads(body)["outcome"]) == (200, "booked")
    assert len(booked(letters, letter.case_id)) == 1
