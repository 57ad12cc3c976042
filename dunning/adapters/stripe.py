"""Stripe as the pay page's payment provider (:class:`dunning.ports_payments.PaymentProvider`).

What it uses of Stripe's documented API (``https://docs.stripe.com/api``), and nothing else:

* ``POST /v1/checkout/sessions`` (form-encoded, ``Authorization: Bearer <secret key>``,
  ``Idempotency-Key``): ``mode=payment``, one ``line_items[0][price_data]`` with the amount in minor
  units, ``payment_method_types[]`` (``bancontact``, ``ideal``, ``card``), ``success_url`` and
  ``cancel_url`` (``{CHECKOUT_SESSION_ID}`` is filled in by Stripe), ``client_reference_id`` (our
  case number) and ``metadata[case]`` / ``metadata[reference]`` (on the session and its
  PaymentIntent). The answer is a Checkout Session object: ``id`` (``cs_...``) and ``url``.
* ``GET /v1/checkout/sessions/<id>``: ``status`` (open, complete, expired), ``payment_status``
  (paid, unpaid, no_payment_required), ``amount_total``, ``currency``, ``payment_intent``.
* Webhooks: the ``Stripe-Signature`` header ``t=<unix time>,v1=<hex>[,v1=...]``, each ``v1`` an
  HMAC-SHA256 under the endpoint's signing secret (``whsec_...``) of ``"<t>.<raw body>"``; a
  signature is accepted when one ``v1`` matches (constant-time) and ``t`` is within the tolerance
  of now (Stripe's libraries default to 300 s): an older one is a replay. Events acted on:
  ``checkout.session.completed`` (paid when its ``payment_status`` is ``paid``),
  ``checkout.session.async_payment_succeeded`` / ``_failed``, ``checkout.session.expired``.
* Errors: a non-2xx answer carries ``{"error": {"type", "message", "code", "param"}}``; 429 and 5xx
  (and no answer) are transient, others permanent.

Bancontact and iDEAL take euros only: for another currency they are left out of the methods.
HTTP goes through :mod:`urllib` (no redirects followed), as the project's other webhooks do.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

from dunning.ports_payments import (
    Checkout,
    CheckoutRequest,
    CheckoutState,
    EventKind,
    ProviderError,
    ProviderEvent,
    WebhookRefused,
)

__all__ = ["SIGNATURE_HEADER", "StripeProvider", "from_minor", "sign_payload", "to_minor"]

SIGNATURE_HEADER = "Stripe-Signature"
USER_AGENT = "dunning-paypage/1"
#: Stripe's zero-decimal currencies (docs.stripe.com/currencies#zero-decimal): amounts in whole units
ZERO_DECIMAL = frozenset(
    ["BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"]
)
EURO_ONLY = frozenset({"bancontact", "ideal"})
_EVENTS = {
    "checkout.session.async_payment_succeeded": EventKind.PAID,
    "checkout.session.async_payment_failed": EventKind.FAILED,
    "checkout.session.expired": EventKind.EXPIRED,
}


def to_minor(amount: Decimal, currency: str) -> int:
    """An amount in Stripe's minor units: ``to_minor(Decimal("12.30"), "EUR") == 1230``."""
    exponent = 0 if currency.upper() in ZERO_DECIMAL else 2
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} {currency} has more decimals than the currency allows")
    return int(scaled)


def from_minor(value: int, currency: str) -> Decimal:
    """Stripe's minor units as an amount: ``from_minor(1230, "eur") == Decimal("12.30")``."""
    exponent = 0 if currency.upper() in ZERO_DECIMAL else 2
    return Decimal(value).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


def sign_payload(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Stripe-Signature`` value Stripe sends for ``body`` at ``timestamp`` (tests and tools use it)."""
    mac = hmac.new(secret.encode("utf-8"), str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class StripeProvider:
    """Stripe Checkout at ``api_base`` with ``secret_key``; webhooks checked with ``webhook_secret``."""

    name = "stripe"

    def __init__(
        self, api_base: str, secret_key: str, webhook_secret: str, *, tolerance: int = 300, timeout: float = 15.0
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self._key = secret_key
        self._webhook_secret = webhook_secret
        self.tolerance = tolerance
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect)

    # ------------------------------------------------------------------ API calls

    def _call(self, method: str, path: str, form: list[tuple[str, str]] | None = None,
              idempotency_key: str | None = None) -> dict[str, Any]:
        data = urlencode(form).encode("ascii") if form is not None else None
        request = urllib.request.Request(self.api_base + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self._key}")
        request.add_header("User-Agent", USER_AGENT)
        if data is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        if idempotency_key:
            request.add_header("Idempotency-Key", idempotency_key)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                answer = json.loads(response.read(1 << 20))
        except urllib.error.HTTPError as exc:
            raise _refusal(exc) from None
        except (TimeoutError, urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
            why = getattr(exc, "reason", None) or exc
            raise ProviderError(f"stripe: no usable answer from {self.api_base} ({why})", transient=True) from None
        if not isinstance(answer, dict):
            raise ProviderError("stripe: the answer is not a JSON object", transient=True)
        return answer

    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        currency = request.currency.lower()
        methods = [m for m in request.methods if currency == "eur" or m not in EURO_ONLY]
        if not methods:
            raise ProviderError(f"stripe: none of the configured methods takes {request.currency}")
        form = [
            ("mode", "payment"),
            ("success_url", request.success_url),
            ("cancel_url", request.cancel_url),
            ("client_reference_id", str(request.case_id)),
            ("line_items[0][quantity]", "1"),
            ("line_items[0][price_data][currency]", currency),
            ("line_items[0][price_data][unit_amount]", str(to_minor(request.amount, request.currency))),
            ("line_items[0][price_data][product_data][name]", request.description),
            ("metadata[case]", str(request.case_id)),
            ("metadata[reference]", request.reference),
            ("payment_intent_data[metadata][case]", str(request.case_id)),
            ("payment_intent_data[metadata][reference]", request.reference),
            ("payment_intent_data[description]", request.description),
        ]
        form += [(f"payment_method_types[{i}]", method) for i, method in enumerate(methods)]
        if request.locale:
            form.append(("locale", request.locale))
        session = self._call("POST", "/v1/checkout/sessions", form, request.idempotency_key)
        try:
            return Checkout(
                id=str(session["id"]),
                url=str(session["url"]),
                amount=from_minor(int(session["amount_total"]), str(session["currency"])),
                currency=str(session["currency"]).upper(),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderError(f"stripe: a checkout session without {exc}", transient=True) from None

    def fetch_checkout(self, checkout_id: str) -> CheckoutState:
        session = self._call("GET", f"/v1/checkout/sessions/{quote(checkout_id, safe='')}")
        return _state(session)

    # ------------------------------------------------------------------ webhooks

    def verify_webhook(self, body: bytes, headers: Mapping[str, str], now: datetime) -> ProviderEvent:
        header = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER.lower()), None)
        if not header:
            raise WebhookRefused(f"no {SIGNATURE_HEADER} header")
        timestamp: int | None = None
        signatures: list[str] = []
        for part in header.split(","):
            key, _, value = part.strip().partition("=")
            if key == "t" and value.isdigit():
                timestamp = int(value)
            elif key == "v1":
                signatures.append(value)
        if timestamp is None or not signatures:
            raise WebhookRefused(f"{SIGNATURE_HEADER} has no timestamp or no v1 signature")
        expected = sign_payload(self._webhook_secret, body, timestamp).partition(",v1=")[2]
        if not any(hmac.compare_digest(expected, s) for s in signatures):
            raise WebhookRefused("the signature does not match the body")
        if abs(now.timestamp() - timestamp) > self.tolerance:
            raise WebhookRefused(f"the signature is {int(now.timestamp()) - timestamp} s old: a replay")
        try:
            event = json.loads(body)
            event_id, event_type = str(event["id"]), str(event["type"])
            created = datetime.fromtimestamp(int(event["created"]), UTC)
            obj = event["data"]["object"]
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRefused(f"a signed body that is not a Stripe event ({exc})") from None
        if not event_type.startswith("checkout.session.") or not isinstance(obj, dict):
            return ProviderEvent(event_id, event_type, EventKind.OTHER, created)
        try:
            state = _state(obj)
        except ProviderError as exc:
            raise WebhookRefused(str(exc)) from None
        if event_type == "checkout.session.completed":
            kind = EventKind.PAID if state.paid else EventKind.PENDING
        else:
            kind = _EVENTS.get(event_type, EventKind.OTHER)
        return ProviderEvent(event_id, event_type, kind, created, state)


def _state(session: Mapping[str, Any]) -> CheckoutState:
    try:
        currency = str(session["currency"])
        metadata = session.get("metadata") or {}
        case = metadata.get("case") or session.get("client_reference_id")
        intent = session.get("payment_intent")
        if isinstance(intent, dict):
            intent = intent.get("id")
        types = session.get("payment_method_types") or []
        return CheckoutState(
            id=str(session["id"]),
            paid=session.get("payment_status") == "paid" and session.get("status") == "complete",
            status=str(session.get("status")),
            amount=from_minor(int(session["amount_total"]), currency),
            currency=currency.upper(),
            payment_id=str(intent) if intent else None,
            case_id=int(case) if case is not None and str(case).isdigit() else None,
            reference=str(metadata["reference"]) if metadata.get("reference") else None,
            method=str(types[0]) if len(types) == 1 else None,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProviderError(f"stripe: a checkout session that cannot be read ({exc!r})") from None


def _refusal(exc: urllib.error.HTTPError) -> ProviderError:
    try:
        error = json.loads(exc.read(65536)).get("error") or {}
    except (ValueError, AttributeError, OSError):
        error = {}
    message = error.get("message") if isinstance(error, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    text = f"stripe: HTTP {exc.code}" + (f" {kind}" if kind else "") + (f": {message}" if message else "")
    return ProviderError(text, status=exc.code, transient=exc.code == 429 or exc.code >= 500)

