"""A local server speaking the part of Stripe's API the pay page uses, and sending signed webhooks as Stripe does.

What it answers, as docs.stripe.com/api documents it:

* ``POST /v1/checkout/sessions`` (form-encoded with Stripe's bracket keys, ``Authorization: Bearer``,
  ``Idempotency-Key``): a Checkout Session object (``id`` ``cs_test_...``, ``object``, ``url``,
  ``amount_total``, ``currency``, ``status`` open, ``payment_status`` unpaid, ``payment_intent`` null,
  ``client_reference_id``, ``metadata``, ``payment_method_types``, ``success_url``, ``cancel_url``...).
  Refusals as Stripe gives them: 401 for a wrong key, 400 ``invalid_request_error`` with ``param`` for a
  missing or bad parameter (Bancontact and iDEAL with a currency other than eur among them), 400
  ``idempotency_error`` for a key reused with other parameters; the same key and parameters get the
  first answer again.
* ``GET /v1/checkout/sessions/<id>``: the session, or 404 ``resource_missing``.

And what Stripe's side does that a test drives: :meth:`StripeServer.complete` (the debtor paid on the
hosted page: the session is complete and paid, a PaymentIntent ``pi_...`` made), :meth:`StripeServer.expire`,
:meth:`StripeServer.deliver` (POST the event to the webhook endpoint with ``Stripe-Signature:
t=...,v1=HMAC-SHA256(secret, "t.body")``, at a chosen time), and :meth:`StripeServer.payout` (the
payout that later reaches the bank: its ``po_...`` id and the amount less fees).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from dunning.adapters.stripe import from_minor, sign_payload

KNOWN_METHODS = {"bancontact", "ideal", "card", "sepa_debit", "eps", "giropay", "p24", "sofort", "twint"}
EUR_ONLY = {"bancontact", "ideal", "eps", "giropay", "sofort", "sepa_debit"}
FEE_MINOR = 35  # what the test account's pricing takes per payment, in cents (a payout nets it)


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's bracket keys as nested objects: ``a[0][b]=1`` → ``{"a": [{"b": "1"}]}``."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        path = [key.split("[", 1)[0], *re.findall(r"\[([^\]]*)\]", key)]
        node = root
        for i, part in enumerate(path):
            last = i == len(path) - 1
            if part == "":  # "a[]": append
                part = str(len(node))
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _lists(root)


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _lists(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
    return node


class StripeError(Exception):
    def __init__(self, status: int, kind: str, message: str, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": kind, "message": message, **({"param": param} if param else {}),
                               **({"code": code} if code else {})}}


@dataclass
class StripeServer:
    """The server's state: sessions, idempotency keys, the requests it got, the webhook endpoint."""

    secret_key: str
    webhook_secret: str
    webhook_url: str | None = None
    base_url: str = ""
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    idempotency: dict[str, tuple[list[tuple[str, str]], dict[str, Any]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------------ API

    def create_session(self, pairs: list[tuple[str, str]]) -> dict[str, Any]:
        params = decode_form(pairs)
        if params.get("mode") != "payment":
            raise StripeError(400, "invalid_request_error", "Missing required param: mode.", "mode")
        for name in ("success_url", "cancel_url"):
            if not str(params.get(name, "")).startswith(("http://", "https://")):
                raise StripeError(400, "invalid_request_error", f"Not a valid URL: {name}", name)
        items = params.get("line_items")
        if not isinstance(items, list) or len(items) != 1:
            raise StripeError(400, "invalid_request_error", "Missing required param: line_items.", "line_items")
        price = items[0].get("price_data") or {}
        currency = str(price.get("currency", ""))
        if not re.fullmatch(r"[a-z]{3}", currency):
            raise StripeError(400, "invalid_request_error", "Invalid currency", "line_items[0][price_data][currency]")
        unit = str(price.get("unit_amount", ""))
        if not unit.isdigit() or int(unit) < 50:
            raise StripeError(400, "invalid_request_error", "Invalid integer: unit_amount",
                              "line_items[0][price_data][unit_amount]")
        if not (price.get("product_data") or {}).get("name"):
            raise StripeError(400, "invalid_request_error", "Missing required param: product_data[name].",
                              "line_items[0][price_data][product_data][name]")
        quantity = int(items[0].get("quantity", "0"))
        methods = params.get("payment_method_types") or ["card"]
        for i, method in enumerate(methods):
            if method not in KNOWN_METHODS:
                raise StripeError(400, "invalid_request_error", f"Invalid payment_method_types[{i}]",
                                  f"payment_method_types[{i}]")
            if method in EUR_ONLY and currency != "eur":
                raise StripeError(400, "invalid_request_error",
                                  f"The payment method `{method}` does not support the currency `{currency}`.",
                                  "payment_method_types")
        session_id = "cs_test_" + secrets.token_hex(24)
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": int(unit) * quantity,
            "amount_total": int(unit) * quantity,
            "cancel_url": params["cancel_url"],
            "client_reference_id": params.get("client_reference_id"),
            "created": int(time.time()),
            "currency": currency,
            "customer": None,
            "customer_details": None,
            "expires_at": int(time.time()) + 86400,
            "livemode": False,
            "locale": params.get("locale"),
            "metadata": params.get("metadata") or {},
            "mode": "payment",
            "payment_intent": None,
            "payment_method_types": methods,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": params["success_url"],
            "url": f"{self.base_url}/c/pay/{session_id}",
            "_payment_intent_data": params.get("payment_intent_data") or {},
            "_line_items": items,
        }
        self.sessions[session_id] = session
        return session

    def public(self, session: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in session.items() if not k.startswith("_")}

    # ------------------------------------------------------------------ Stripe's side

    def complete(self, session_id: str, *, paid: bool = True, method: str = "bancontact") -> dict[str, Any]:
        """The debtor paid on the hosted page: the session completes; its ``checkout.session.completed`` event."""
        session = self.sessions[session_id]
        session.update(status="complete", payment_status="paid" if paid else "unpaid",
                       payment_intent="pi_" + secrets.token_hex(12), _method=method)
        return self.event("checkout.session.completed", session)

    def succeed_later(self, session_id: str) -> dict[str, Any]:
        """A delayed method settled: ``checkout.session.async_payment_succeeded``."""
        session = self.sessions[session_id]
        session.update(payment_status="paid")
        return self.event("checkout.session.async_payment_succeeded", session)

    def expire(self, session_id: str) -> dict[str, Any]:
        session = self.sessions[session_id]
        session.update(status="expired")
        return self.event("checkout.session.expired", session)

    def event(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": "evt_" + secrets.token_hex(12),
            "object": "event",
            "api_version": "2024-06-20",
            "created": int(time.time()),
            "data": {"object": self.public(obj)},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": kind,
        }

    def deliver(self, event: dict[str, Any], *, at: int | None = None, secret: str | None = None,
                body: bytes | None = None) -> tuple[int, str]:
        """POST ``event`` to the webhook endpoint signed at ``at`` (now) with ``secret`` (the endpoint's)."""
        assert self.webhook_url, "no webhook endpoint configured"
        raw = body if body is not None else json.dumps(event, indent=2).encode("utf-8")
        signature = sign_payload(secret or self.webhook_secret, raw, at if at is not None else int(time.time()))
        request = urllib.request.Request(self.webhook_url, data=raw, method="POST")
        request.add_header("Content-Type", "application/json; charset=utf-8")
        request.add_header("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
        request.add_header("Stripe-Signature", signature)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status), response.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8")

    def payout(self, session_ids: list[str]) -> tuple[str, Decimal]:
        """The payout carrying these sessions' payments to the bank: its id and net amount (fees taken)."""
        minor = sum(self.sessions[s]["amount_total"] - FEE_MINOR for s in session_ids)
        return "po_" + secrets.token_hex(12), from_minor(minor, self.sessions[session_ids[0]]["currency"])


def _handler(state: StripeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            raw = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.send_header("Request-Id", "req_" + secrets.token_hex(7))
            self.end_headers()
            self.wfile.write(raw)

        def _authorised(self) -> bool:
            if self.headers.get("Authorization", "") == f"Bearer {state.secret_key}":
                return True
            self._answer(401, {"error": {"type": "invalid_request_error",
                                         "message": "Invalid API Key provided: sk_****"}})
            return False

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length).decode("ascii")
            if not self._authorised():
                return
            if self.path != "/v1/checkout/sessions":
                self._answer(404, {"error": {"type": "invalid_request_error",
                                             "message": f"Unrecognized request URL (POST: {self.path})."}})
                return
            pairs = parse_qsl(raw, keep_blank_values=True)
            key = self.headers.get("Idempotency-Key")
            with state.lock:
                state.requests.append(("POST", self.path, decode_form(pairs), dict(self.headers)))
                if key and key in state.idempotency:
                    first, answer = state.idempotency[key]
                    if first != pairs:
                        self._answer(400, {"error": {
                            "type": "idempotency_error",
                            "message": "Keys for idempotent requests can only be used with the same parameters "
                            "they were first used with."}})
                    else:
                        self._answer(200, answer)
                    return
                try:
                    session = state.public(state.create_session(pairs))
                except StripeError as exc:
                    self._answer(exc.status, exc.body)
                    return
                if key:
                    state.idempotency[key] = (pairs, session)
            self._answer(200, session)

        def do_GET(self) -> None:
            hosted = re.fullmatch(r"/c/pay/([A-Za-z0-9_]+)", self.path)
            if hosted:  # the hosted checkout page the debtor is sent to (no API key: a browser opens it)
                found = hosted.group(1) in state.sessions
                raw = (f"<!doctype html><html lang=en><title>Checkout</title><h1 id=checkout>{hosted.group(1)}</h1>"
                       if found else "<!doctype html><title>Not found</title>").encode("utf-8")
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
                return
            if not self._authorised():
                return
            match = re.fullmatch(r"/v1/checkout/sessions/([A-Za-z0-9_]+)", self.path)
            with state.lock:
                state.requests.append(("GET", self.path, {}, dict(self.headers)))
                session = state.sessions.get(match.group(1)) if match else None
                if session is None:
                    self._answer(404, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                                                 "param": "session", "message": "No such checkout.session"}})
                    return
                self._answer(200, state.public(session))

    return Handler


@contextmanager
def stripe_server(secret_key: str = "sk_test_local", webhook_secret: str = "whsec_local",
                  webhook_url: str | None = None) -> Iterator[StripeServer]:
    """A running local Stripe on 127.0.0.1 (a free port); yields its state (``base_url`` set)."""
    state = StripeServer(secret_key, webhook_secret, webhook_url)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
