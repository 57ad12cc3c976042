"""Paying online on the pay page: the button's form, the return from the provider, the provider's webhook.

Routes (registered in :func:`dunning.web.app.create_app`, under the page prefix ``/p``):

* ``POST /p/<token>/online``: the "Pay online" form (CSRF-checked like every form: :meth:`posted`);
  creates a checkout for the page's total (:func:`dunning.usecases.paypage.online.start_checkout`)
  and answers ``303 See Other`` to the provider's checkout page. A provider that refuses or does
  not answer gets a page saying to pay by bank transfer (502), never a stack trace.
* ``GET /p/online/done?session_id=<checkout>``: where the provider sends the debtor back (paid or
  not); says whether the payment was received, is still being processed, or was not made.
* ``POST /p/online/webhook``: the provider's signed webhook. No CSRF field (the provider is not a
  browser): the signature is the check. A refused signature (bad, missing, stale: a replay) answers
  400 and books nothing; a verified event answers 200 (a second delivery too, doing nothing),
  or 503 when the provider could not be asked to confirm (it delivers again later).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from dunning.errors import WorkspaceBusy
from dunning.ports_payments import PaymentProvider, ProviderError, WebhookRefused
from dunning.usecases.paypage.online import receive_webhook, returned, start_checkout

if TYPE_CHECKING:
    from dunning.web.app import _PayPageApp

__all__ = ["OnlinePayments", "method_names"]

_MAX_WEBHOOK = 1 << 20  # a Stripe event is a few kilobytes


def method_names(methods: Sequence[str]) -> str:
    """The methods as the button names them: ``Bancontact, iDEAL, card`` (card in the page's words)."""
    return ", ".join({"bancontact": "Bancontact", "ideal": "iDEAL"}.get(m, m) for m in methods)


class OnlinePayments:
    """The three routes over the pay page's app (its store, reader, clock, words and templates)."""

    def __init__(self, pages: _PayPageApp, provider: PaymentProvider | None) -> None:
        self.pages = pages
        self.provider = provider

    def _today(self) -> date:
        return self.pages.today()

    def _now(self) -> datetime:
        return self.pages.now()

    async def pay_online(self, request: Request) -> Response:
        page, _fields = await self.pages.posted(request)
        words = self.pages._words(request, page.language, page.currency)
        if self.provider is None or page.paid:
            return self.pages.refused(request, "invalid", 404)
        page_url = self.pages.workspace.config.paylink.base_url.rstrip("/") + "/" + request.path_params["token"]
        try:
            checkout = await run_in_threadpool(
                start_checkout, self.pages.store, self.pages.workspace, self.provider, page,
                page_url=page_url, language=words.language, today=self._today(), now=self._now(),
            )
        except ProviderError:
            return self.pages._render(request, "paypage/online.html.j2", words, 502, state="error")
        return RedirectResponse(checkout.url, status_code=303, headers={"cache-control": "no-store"})

    async def done(self, request: Request) -> Response:
        words = self.pages._words(request)
        checkout_id = request.query_params.get("session_id", "")
        if self.provider is None or not checkout_id or len(checkout_id) > 200:
            return self.pages.refused(request, "invalid", 404)
        state = await run_in_threadpool(
            returned, self.pages.store, self.pages.workspace, self.provider, checkout_id,
            now=self._now(), today=self._today(),
        )
        status = 404 if state.status == "unknown" else 200
        return self.pages._render(request, "paypage/online.html.j2", words, status, state=state.status)

    async def webhook(self, request: Request) -> Response:
        if self.provider is None:
            return JSONResponse({"error": "no payment provider configured"}, status_code=404)
        body = await request.body()
        if len(body) > _MAX_WEBHOOK:
            return JSONResponse({"error": "too large"}, status_code=413)
        try:
            result = await run_in_threadpool(
                receive_webhook, self.pages.store, self.pages.workspace, self.provider, body,
                dict(request.headers), now=self._now(), today=self._today(),
            )
        except WebhookRefused as refused:
            return JSONResponse({"error": f"signature refused: {refused}"}, status_code=400)
        except ProviderError:
            return JSONResponse({"error": "could not confirm with the provider; deliver again"}, status_code=503)
        except WorkspaceBusy:
            # a `dunning reconcile` is booking bank payments: the provider delivers this event again later
            return JSONResponse({"error": "busy booking payments; deliver again"}, status_code=503,
                                headers={"retry-after": "60"})
        return JSONResponse({"received": True, "outcome": result.outcome})
