"""The Stripe adapter (dunning.adapters.stripe) against a local server speaking Stripe's API."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from dunning.adapters.stripe import StripeProvider, from_minor, sign_payload, to_minor
from dunning.ports_payments import CheckoutRequest, EventKind, ProviderError, WebhookRefused
from tests.servers.stripe import stripe_server


def request(amount: str = "123.45", currency: str = "EUR", key: str = "k-1") -> CheckoutRequest:
    return CheckoutRequest(
        amount=Decimal(amount),
        currency=currency,
        reference="+++090/9337/55493+++",
        case_id=42,
        description="File 42",
        success_url="https://pay.example.com/p/online/done?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="https://pay.example.com/p/online/done?session_id={CHECKOUT_SESSION_ID}",
        methods=("bancontact", "ideal", "card"),
        idempotency_key=key,
        locale="nl",
    )


def test_minor_units_both_ways() -> None:
    assert to_minor(Decimal("123.45"), "EUR") == 12345
    assert to_minor(Decimal("500"), "JPY") == 500
    assert from_minor(12345, "eur") == Decimal("123.45")
    with pytest.raises(ValueError):
        to_minor(Decimal("1.005"), "EUR")


def test_a_checkout_is_created_with_the_amount_reference_and_methods_and_read_back() -> None:
    with stripe_server() as stripe:
        provider = StripeProvider(stripe.base_url, stripe.secret_key, stripe.webhook_secret)
        checkout = provider.create_checkout(request())
        assert checkout.id.startswith("cs_test_") and checkout.url.endswith(checkout.id)
        assert (checkout.amount, checkout.currency) == (Decimal("123.45"), "EUR")
        _, path, form, headers = stripe.requests[-1]
        assert path == "/v1/checkout/sessions" and headers["Idempotency-Key"] == "k-1"
        assert form["payment_method_types"] == ["bancontact", "ideal", "card"]
        assert form["line_items"][0]["price_data"] == {
            "currency": "eur", "unit_amount": "12345", "product_data": {"name": "File 42"}}
        assert form["metadata"] == {"case": "42", "reference": "+++090/9337/55493+++"}
        assert form["client_reference_id"] == "42"
        # a double click: the same key and parameters are the same checkout
        assert provider.create_checkout(request()).id == checkout.id
        state = provider.fetch_checkout(checkout.id)
        assert not state.paid and state.status == "open" and state.case_id == 42
        stripe.complete(checkout.id)
        state = provider.fetch_checkout(checkout.id)
        assert state.paid and state.payment_id and state.payment_id.startswith("pi_")
        assert (state.amount, state.currency, state.reference) == (Decimal("123.45"), "EUR", "+++090/9337/55493+++")


def test_refusals_are_provider_errors_with_stripes_message() -> None:
    with stripe_server() as stripe:
        wrong_key = StripeProvider(stripe.base_url, "sk_test_wrong", stripe.webhook_secret)
        with pytest.raises(ProviderError, match="HTTP 401") as refused:
            wrong_key.create_checkout(request())
        assert not refused.value.transient
        provider = StripeProvider(stripe.base_url, stripe.secret_key, stripe.webhook_secret)
        with pytest.raises(ProviderError, match=r"HTTP 404.*No such checkout\.session"):
            provider.fetch_checkout("cs_test_missing")
        # the same idempotency key with another amount is refused, as Stripe does
        provider.create_checkout(request(key="k-2"))
        with pytest.raises(ProviderError, match="idempotency_error"):
            provider.create_checkout(request(amount="1.00", key="k-2"))
        # Bancontact and iDEAL take euros only: left out for francs, so the card stays
        provider.create_checkout(request(currency="CHF", key="k-3"))
        assert stripe.requests[-1][2]["payment_method_types"] == ["card"]
    with pytest.raises(ProviderError, match="no usable answer") as gone:
        provider.create_checkout(request(key="k-4"))
    assert gone.value.transient


def _event(stripe_kind: str = "checkout.session.completed", payment_status: str = "paid") -> bytes:
    session = {"id": "cs_test_1", "object": "checkout.session", "amount_total": 12345, "currency": "eur",
               "status": "complete", "payment_status": payment_status, "payment_intent": "pi_1",
               "client_reference_id": "42", "metadata": {"case": "42", "reference": "RF18539007547034"},
               "payment_method_types": ["bancontact"]}
    return json.dumps({"id": "evt_1", "object": "event", "created": 1_800_000_000, "type": stripe_kind,
                       "data": {"object": session}}).encode()


NOW = datetime.fromtimestamp(1_800_000_100, UTC)


def test_a_webhook_is_believed_only_with_a_fresh_signature_over_its_exact_body() -> None:
    provider = StripeProvider("http://127.0.0.1:9", "sk", "whsec_right", tolerance=300)
    body = _event()
    good = sign_payload("whsec_right", body, 1_800_000_050)
    event = provider.verify_webhook(body, {"stripe-signature": good}, NOW)
    assert (event.id, event.kind) == ("evt_1", EventKind.PAID)
    assert event.checkout is not None and event.checkout.amount == Decimal("123.45") and event.checkout.case_id == 42
    # several v1 signatures (a secret being rolled): one matching is enough
    rolled = sign_payload("whsec_old", body, 1_800_000_050) + "," + good.split(",")[1]
    assert provider.verify_webhook(body, {"Stripe-Signature": rolled}, NOW).id == "evt_1"
    refused = [
        {},  # no header
        {"Stripe-Signature": sign_payload("whsec_wrong", body, 1_800_000_050)},  # another secret
        {"Stripe-Signature": "t=1800000050"},  # no v1
        {"Stripe-Signature": good.replace("t=1800000050", "t=1800000051")},  # the timestamp changed
        {"Stripe-Signature": sign_payload("whsec_right", body, 1_799_999_000)},  # 1100 s old: a replay
    ]
    for headers in refused:
        with pytest.raises(WebhookRefused):
            provider.verify_webhook(body, headers, NOW)
    with pytest.raises(WebhookRefused, match="does not match"):
        provider.verify_webhook(body.replace(b"12345", b"99999"), {"Stripe-Signature": good}, NOW)


def test_events_mean_what_stripe_documents() -> None:
    provider = StripeProvider("http://127.0.0.1:9", "sk", "whsec", tolerance=300)
    at = 1_800_000_050

    def kind(body: bytes) -> EventKind:
        return provider.verify_webhook(body, {"Stripe-Signature": sign_payload("whsec", body, at)}, NOW).kind

    assert kind(_event(payment_status="unpaid")) is EventKind.PENDING  # a delayed method, not yet paid
    assert kind(_event("checkout.session.async_payment_succeeded")) is EventKind.PAID
    assert kind(_event("checkout.session.async_payment_failed", "unpaid")) is EventKind.FAILED
    assert kind(_event("checkout.session.expired", "unpaid")) is EventKind.EXPIRED
    other = json.dumps({"id": "evt_2", "type": "payout.paid", "created": at, "data": {"object": {}}}).encode()
    assert kind(other) is EventKind.OTHER


def test_the_local_server_signs_like_stripe() -> None:
    """The server's signatures verify with the adapter (so the end-to-end tests test something real)."""
    with stripe_server() as stripe:
        provider = StripeProvider(stripe.base_url, stripe.secret_key, stripe.webhook_secret)
        checkout = provider.create_checkout(request())
        event = stripe.complete(checkout.id)
        body = json.dumps(event).encode()
        header = sign_payload(stripe.webhook_secret, body, int(time.time()))
        verified = provider.verify_webhook(body, {"Stripe-Signature": header}, datetime.now(UTC))
        assert verified.kind is EventKind.PAID and verified.checkout and verified.checkout.id == checkout.id
