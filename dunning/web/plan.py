"""The pay page's "Pay in instalments": ``GET /p/<token>/plan`` and ``POST /p/<token>/plan``.

The page section (``_plan.html.j2``) links here; this page, made to read on a phone, lists the plans
the policy allows (each instalment's date and amount), the terms with their version and a checkbox,
and one button. A posted choice (``count``, ``accept``, ``terms_version``, ``lang``, CSRF) is made by
:func:`dunning.usecases.paypage.plan.accept_plan` and answered with a 303 to this page, which then shows
the schedule: each instalment paid, open or next due, the next one with its own EPC QR code. A form
the page cannot take (no plan chosen, terms not accepted or of another version) gets the page again
with 400 and the reason at the form; a case that cannot have a plan (already one, closed, on hold,
outside the policy) 409 with the reason.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from dunning.letters.qr import epc_qr
from dunning.usecases.paypage.claim import PayPage
from dunning.usecases.paypage.plan import PlanOffer, PlanRefused, accept_plan, plan_offer
from dunning.usecases.paypage.plan_mandate import MandateRefused, mandate_state, sign_mandate
from dunning.web.i18n import LANGUAGES

if TYPE_CHECKING:
    from dunning.web.app import _PayPageApp

__all__ = ["PlanPages", "plan_context"]

#: refusals of the form itself (400); the others are the case's (409)
_FORM_ERRORS = frozenset({"count", "terms"})


def plan_context(pages: _PayPageApp, offer: PlanOffer) -> dict[str, Any]:
    """What the templates need of the plan part: the offer and the next instalment's QR code."""
    nxt = offer.next_due
    qr = epc_qr(nxt.epc).data_uri if nxt is not None and nxt.epc else None
    return {"plan_offer": offer, "plan_qr": qr}


class PlanPages:
    """The plan page's two handlers over the app's pages (link, rate and CSRF checked by ``pages.posted``)."""

    def __init__(self, pages: _PayPageApp) -> None:
        self.pages = pages

    async def _render(
        self, request: Request, page: PayPage, token: str, status: int, lang: str | None = None, **extra: Any
    ) -> Response:
        pages = self.pages
        words = pages._words(request, lang if lang in LANGUAGES else page.language, page.currency)
        offer = await run_in_threadpool(plan_offer, pages.store, pages.workspace, page.case_id, pages.today())
        context: dict[str, Any] = {"plan_error": None, "plan_count": None, "plan_made": False, "plan_emailed": False,
                                   "mandate_error": None, "mandate_signed": False}
        context.update(plan_context(pages, offer))
        context["mandate"] = await run_in_threadpool(mandate_state, pages.store, pages.workspace, offer.plan)
        context["mandate_version"] = pages.workspace.config.sepa.mandate_text_version
        context.update(extra)
        return pages._render(
            request, "paypage/plan.html.j2", words, status, page=page, token=token, csrf=pages.csrf(token),
            action=f"{pages.prefix}/{token}/plan", back=f"{pages.prefix}/{token}?lang={words.language}", **context,
        )

    async def page(self, request: Request) -> Response:
        token = request.path_params["token"]
        page: PayPage = await run_in_threadpool(self.pages.reader.page, token, self.pages.today())
        made = request.query_params.get("made")
        return await self._render(request, page, token, 200, plan_made=made is not None, plan_emailed=made == "sent",
                                  mandate_signed="mandate" in request.query_params)

    async def form(self, request: Request) -> Response:
        token = request.path_params["token"]
        pages = self.pages
        page, fields = await pages.posted(request)
        lang = fields.get("lang") if fields.get("lang") in LANGUAGES else None
        count_field = fields.get("count", "")
        count = int(count_field) if count_field.isdigit() and len(count_field) <= 3 else None
        try:
            accepted = await run_in_threadpool(
                lambda: accept_plan(
                    pages.store,
                    pages.workspace,
                    page.case_id,
                    count=count,
                    accepted=fields.get("accept") == "yes",
                    terms_version=fields.get("terms_version", ""),
                    language=lang or page.language,
                    today=pages.today(),
                    now=pages.now(),
                    env=os.environ,
                )
            )
        except PlanRefused as refused:
            status = 400 if refused.code in _FORM_ERRORS else 409
            return await self._render(request, page, token, status, lang, plan_error=refused.code, plan_count=count)
        url = f"{pages.prefix}/{token}/plan?lang={lang or page.language}&made={accepted.emailed}"
        return RedirectResponse(url, status_code=303, headers={"cache-control": "no-store"})

    async def mandate(self, request: Request) -> Response:
        """``POST /p/<token>/plan/mandate``: the SEPA mandate for the plan (:mod:`.plan_mandate`); 400 or 409."""
        token = request.path_params["token"]
        pages = self.pages
        page, fields = await pages.posted(request)
        lang = fields.get("lang") if fields.get("lang") in LANGUAGES else None
        offer = await run_in_threadpool(plan_offer, pages.store, pages.workspace, page.case_id, pages.today())
        try:
            if offer.plan is None:
                raise MandateRefused("plan")
            stored = offer.plan
            await run_in_threadpool(
                lambda: sign_mandate(
                    pages.store,
                    pages.workspace,
                    stored,
                    iban=fields.get("iban", ""),
                    holder=fields.get("holder", ""),
                    consent=fields.get("consent") == "yes",
                    text_version=fields.get("mandate_version", ""),
                    today=pages.today(),
                    now=pages.now(),
                )
            )
        except MandateRefused as refused:
            status = 409 if refused.code == "plan" else 400
            return await self._render(request, page, token, status, lang, mandate_error=refused.code)
        url = f"{pages.prefix}/{token}/plan?lang={lang or page.language}&mandate=signed"
        return RedirectResponse(url, status_code=303, headers={"cache-control": "no-store"})
