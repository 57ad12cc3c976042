"""Paying online from the pay page: the checkout, the provider's webhook, the debtor's return.

* :func:`open_provider`: the provider ``paypage.provider`` names, with its secret API key and webhook
  signing secret read from the environment or the secret files (never the config), or None.
* :func:`start_checkout`: a checkout for what the page asks (its total, currency and reference) for
  the page's case; recorded in ``provider_checkouts``. Sent to the provider: the amount, the case
  number, the payment reference, a description "<creditor>: file <case>"; never the debtor's name,
  address, email or IBAN. The return URLs carry the provider's checkout id, not the pay link.
  A double click within a day asks with the same idempotency key and gets the same checkout.
* :func:`receive_webhook`: the signed webhook. A bad, missing or stale signature (a replay) is
  :class:`~dunning.ports_payments.WebhookRefused` (the web answers 400) and changes nothing. A
  verified event is recorded once by its id (a second delivery is acknowledged and does nothing);
  a ``paid`` one is confirmed by reading the checkout back from the provider and then booked
  (:func:`dunning.usecases.reconcile.online.book_online_payment`), once, in the same transaction as
  the event's record.
* :func:`returned`: the debtor's return. A checkout the provider reports paid is booked there and
  then if its webhook has not come yet (the same once-only booking), so the page can say so.

A booking writes what ``dunning reconcile`` writes (allocations, invoices' and the case's open amounts), so
it holds the reconcile stage's lock for its few milliseconds (:func:`dunning.store.locks.waiting_stage_lock`):
a booking and a bank file matched at the same moment would both allocate the same open amount. While a
``reconcile`` works, a webhook waits up to :data:`WEBHOOK_WAIT_SECONDS`, then raises ``WorkspaceBusy``
(the web answers 503 and the provider delivers it again later); the debtor's return page does not wait
long and says "processing" (the webhook books it).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from dunning.config import secret
from dunning.errors import ConfigError, WorkspaceBusy
from dunning.ports_payments import (
    Checkout,
    CheckoutRequest,
    CheckoutState,
    EventKind,
    PaymentProvider,
    ProviderError,
    ProviderEvent,
)
from dunning.store import Store
from dunning.store.locks import waiting_stage_lock
from dunning.store.provider import event_is_known, insert_checkout, insert_event, load_checkout, set_checkout_status
from dunning.usecases.paypage.claim import PayPage
from dunning.usecases.reconcile.online import book_online_payment
from dunning.workspace import Workspace

__all__ = [
    "ReturnState",
    "WebhookResult",
    "open_provider",
    "receive_webhook",
    "returned",
    "start_checkout",
]

log = logging.getLogger(__name__)

SECRET_KEY_ENV = "DUNNING_PROVIDER_SECRET_KEY"
WEBHOOK_SECRET_ENV = "DUNNING_PROVIDER_WEBHOOK_SECRET"

#: how long a webhook waits for a running ``dunning reconcile`` before it asks to be delivered again
WEBHOOK_WAIT_SECONDS = 5.0
#: how long the debtor's return page waits for it before it says "processing"
RETURN_WAIT_SECONDS = 1.0


def open_provider(workspace: Workspace, env: Mapping[str, str] | None = None) -> PaymentProvider | None:
    """The configured provider, or None for ``kind: none``; ConfigError naming what is missing."""
    config = workspace.config.paypage.provider
    if config.kind == "none":
        return None
    key_file = workspace.path(config.secret_key_file) if config.secret_key_file else None
    hook_file = workspace.path(config.webhook_secret_file) if config.webhook_secret_file else None
    key = secret("provider_secret_key", env, key_file)
    hook = secret("provider_webhook_secret", env, hook_file)
    if not key or not hook:
        missing = f"${SECRET_KEY_ENV} (or paypage.provider.secret_key_file)" if not key else (
            f"${WEBHOOK_SECRET_ENV} (or paypage.provider.webhook_secret_file)")
        raise ConfigError(f"paypage.provider.kind is {config.kind} but {missing} is not set ({workspace.config_path})")
    from dunning.adapters.stripe import StripeProvider  # the only kind so far

    return StripeProvider(config.api_base, key, hook, tolerance=config.tolerance_seconds, timeout=config.timeout)


def _return_url(page_url: str, path: str) -> str:
    """``<scheme>://<host><prefix>/online/<path>?session_id={CHECKOUT_SESSION_ID}`` for a page URL."""
    parts = urlsplit(page_url)
    prefix = parts.path.rsplit("/", 1)[0]
    return urlunsplit((parts.scheme, parts.netloc, f"{prefix}/online/{path}", "session_id={CHECKOUT_SESSION_ID}", ""))


def start_checkout(
    store: Store,
    workspace: Workspace,
    provider: PaymentProvider,
    page: PayPage,
    *,
    page_url: str,
    language: str,
    today: date,
    now: datetime,
) -> Checkout:
    """A checkout for ``page``'s total (see the module docstring); ProviderError when the provider refuses."""
    if page.paid:
        raise ProviderError("nothing left to pay")
    config = workspace.config.paypage.provider
    seed = f"{page.case_id}|{page.total}|{page.currency}|{today.isoformat()}|{workspace.config.creditor.iban}"
    request = CheckoutRequest(
        amount=page.total,
        currency=page.currency,
        reference=page.reference_compact,
        case_id=page.case_id,
        description=f"{page.creditor_name}: {page.case_id}"[:200],
        success_url=_return_url(page_url, "done"),
        cancel_url=_return_url(page_url, "done"),
        methods=tuple(config.methods),
        idempotency_key="dunning-" + hashlib.sha256(seed.encode("utf-8")).hexdigest()[:40],
        locale=language,
    )
    checkout = provider.create_checkout(request)
    with store.begin() as conn:
        insert_checkout(conn, provider=provider.name, checkout_id=checkout.id, case_id=page.case_id,
                        amount=checkout.amount, currency=checkout.currency, created_at=now)
    log.info("checkout %s created for case %s", checkout.id, page.case_id)
    return checkout


@dataclass(frozen=True, slots=True)
class WebhookResult:
    """What a verified webhook did: ``booked``, ``already_booked``, ``duplicate`` (event seen before), ..."""

    event_id: str
    outcome: str
    case_id: int | None = None


def receive_webhook(
    store: Store,
    workspace: Workspace,
    provider: PaymentProvider,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: datetime,
    today: date,
) -> WebhookResult:
    """Act on a provider's webhook once (see the module docstring); WebhookRefused for a bad signature."""
    event = provider.verify_webhook(body, headers, now)
    with store.begin() as conn:
        if event_is_known(conn, provider.name, event.id):
            return WebhookResult(event.id, "duplicate")
    state = None
    if event.kind is EventKind.PAID and event.checkout is not None:
        # believe the provider's own record, read with our secret key, over what the event carried
        state = provider.fetch_checkout(event.checkout.id)
    try:
        with waiting_stage_lock(store, "reconcile", wait=WEBHOOK_WAIT_SECONDS), store.begin() as conn:
            result = _act(conn, workspace, provider, event, state, now, today)
            insert_event(conn, provider=provider.name, event_id=event.id, type=event.type,
                         checkout_id=event.checkout.id if event.checkout else None, outcome=result.outcome,
                         received_at=now)
    except IntegrityError:
        # another process recorded this event (or booked this payment) first: ours rolled back whole
        with store.begin() as conn:
            if event_is_known(conn, provider.name, event.id):
                return WebhookResult(event.id, "duplicate")
        raise
    log.info("provider event %s (%s): %s", event.id, event.type, result.outcome)
    return result


def _act(
    conn: Connection,
    workspace: Workspace,
    provider: PaymentProvider,
    event: ProviderEvent,
    state: CheckoutState | None,
    now: datetime,
    today: date,
) -> WebhookResult:
    checkout = event.checkout
    if checkout is None or event.kind in (EventKind.OTHER, EventKind.PENDING):
        return WebhookResult(event.id, "noted")
    if event.kind is EventKind.PAID:
        if state is None or not state.paid:
            return WebhookResult(event.id, "not_paid_at_provider")
        booked = book_online_payment(conn, workspace, provider.name, state, on_date=today, recorded_at=now)
        return WebhookResult(event.id, booked.outcome, booked.case_id)
    known = load_checkout(conn, checkout.id)
    if known is None:
        return WebhookResult(event.id, "unknown")
    if known.status == "open":
        set_checkout_status(conn, checkout.id, "expired" if event.kind is EventKind.EXPIRED else "failed")
    return WebhookResult(event.id, str(event.kind), known.case_id)


@dataclass(frozen=True, slots=True)
class ReturnState:
    """The debtor back from the provider: ``paid``, ``processing`` (not paid yet), ``unpaid`` or ``unknown``."""

    status: str
    case_id: int | None = None


def returned(
    store: Store, workspace: Workspace, provider: PaymentProvider, checkout_id: str, *, now: datetime, today: date
) -> ReturnState:
    """Where the checkout ``checkout_id`` stands; a paid one is booked now if its webhook is late."""
    with store.begin() as conn:
        known = load_checkout(conn, checkout_id)
    if known is None:
        return ReturnState("unknown")
    if known.status == "paid":
        return ReturnState("paid", known.case_id)
    try:
        state = provider.fetch_checkout(checkout_id)
    except ProviderError:
        return ReturnState("processing", known.case_id)
    if state.paid:
        try:
            with waiting_stage_lock(store, "reconcile", wait=RETURN_WAIT_SECONDS), store.begin() as conn:
                book_online_payment(conn, workspace, provider.name, state, on_date=today, recorded_at=now)
        except IntegrityError:
            pass  # the webhook booked it at the same moment
        except WorkspaceBusy:
            return ReturnState("processing", known.case_id)  # a reconcile is working: the webhook books it
        return ReturnState("paid", known.case_id)
    if state.status == "complete":
        return ReturnState("processing", known.case_id)
    return ReturnState("unpaid", known.case_id)
