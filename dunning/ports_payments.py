"""The seam to an online payment provider (:class:`PaymentProvider`), and the records crossing it.

The pay page offers "pay online" through one provider; the rest of the system never learns which.
A provider does three things for us:

* **create a checkout** for an amount, currency and our reference (:meth:`PaymentProvider.create_checkout`):
  the page redirects the debtor to its ``url``;
* **verify a webhook** it posted (:meth:`PaymentProvider.verify_webhook`): the raw body and headers
  in, a :class:`ProviderEvent` out, or :class:`WebhookRefused` (bad or missing signature, a timestamp
  outside the tolerance: a replay). Nothing about a refused webhook is believed;
* **read a checkout back** (:meth:`PaymentProvider.fetch_checkout`) with our secret key: what a
  verified event says is confirmed from the provider's own record before anything is booked.

Amounts cross the seam as :class:`~decimal.Decimal` with their currency; minor units are the
adapter's business. Metadata sent to a provider holds our case number and reference only, never a
name, address, email or IBAN. Implementations: :mod:`dunning.adapters.stripe`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

__all__ = [
    "Checkout",
    "CheckoutRequest",
    "CheckoutState",
    "EventKind",
    "PaymentProvider",
    "ProviderError",
    "ProviderEvent",
    "WebhookRefused",
]


class ProviderError(Exception):
    """The provider refused a request or could not be reached; ``transient`` when trying later may help."""

    def __init__(self, message: str, *, status: int | None = None, transient: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.transient = transient


class WebhookRefused(Exception):
    """A webhook whose signature does not hold, is missing, or is too old (a replay): never acted on."""


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    """What to ask the debtor to pay online.

    ``reference`` is the case's payment reference (the one the letters print); ``case_id`` our case
    number. ``idempotency_key`` makes a double click one checkout. ``methods`` are the provider's
    names of the payment methods to offer (``bancontact``, ``ideal``, ``card``).
    """

    amount: Decimal
    currency: str
    reference: str
    case_id: int
    description: str
    success_url: str
    cancel_url: str
    methods: tuple[str, ...]
    idempotency_key: str
    locale: str | None = None


@dataclass(frozen=True, slots=True)
class Checkout:
    """A checkout the provider created: its id and the URL to send the debtor to."""

    id: str
    url: str
    amount: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class CheckoutState:
    """A checkout as the provider reports it. ``paid``: the money is the creditor's (not merely authorised)."""

    id: str
    paid: bool
    status: str
    amount: Decimal
    currency: str
    payment_id: str | None
    case_id: int | None
    reference: str | None
    method: str | None = None


class EventKind(StrEnum):
    """What a provider's event means to us."""

    PAID = "paid"  # the checkout's payment succeeded
    FAILED = "failed"  # a delayed payment method failed in the end
    EXPIRED = "expired"  # the debtor never paid; the checkout is gone
    PENDING = "pending"  # completed but not yet paid (a delayed method): wait for the next event
    OTHER = "other"  # an event we do not act on (acknowledged all the same)


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """A verified event: the provider's event id (the idempotency key), what it means, and its checkout."""

    id: str
    type: str
    kind: EventKind
    created: datetime
    checkout: CheckoutState | None = None
    detail: Mapping[str, str] = field(default_factory=dict)


class PaymentProvider(Protocol):
    """An online payment provider (see the module docstring)."""

    @property
    def name(self) -> str:
        """A short lowercase name (``stripe``): prefixes transaction keys and names the settlement lines."""
        ...

    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        """Create a checkout; ProviderError when the provider refuses or cannot be reached."""
        ...

    def fetch_checkout(self, checkout_id: str) -> CheckoutState:
        """The checkout as the provider holds it now; ProviderError."""
        ...

    def verify_webhook(self, body: bytes, headers: Mapping[str, str], now: datetime) -> ProviderEvent:
        """The event of a webhook whose signature holds at ``now``; WebhookRefused otherwise."""
        ...
