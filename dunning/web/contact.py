"""The contact-details form of the pay page: ``/p/<token>/contact`` (a page of its own: easier on a phone).

* ``GET``: the form (email, mobile number, preferred channel, a consent box per channel), and the
  code form when codes wait for the link.
* ``POST /p/<token>/contact``: checks the values and sends the codes
  (:func:`dunning.usecases.paypage.contact.request_contact_codes`); a value that cannot be used is
  answered 400 with the field marked, the link's hourly limit of codes 429, a transport failure 503.
* ``POST /p/<token>/contact/confirm``: checks the codes; a wrong or expired code is answered 400, too
  many wrong tries 429, and confirmed values 200 with a page saying where the next messages go.

Every POST goes through :meth:`dunning.web.app._PayPageApp.posted` (link and CSRF; 403 if refused).
The page shows the values the debtor types back to them, the pending codes' values masked, never a
contact the creditor already held.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from dunning.usecases.paypage.claim import PayPage
from dunning.usecases.paypage.contact import (
    CODE_MINUTES,
    ContactForm,
    ContactRefused,
    SendFailed,
    TooManySends,
    confirm_contact_codes,
    pending_codes,
    request_contact_codes,
)

if TYPE_CHECKING:
    from dunning.web.app import _PayPageApp

__all__ = ["ContactPages"]


class ContactPages:
    """The handlers; ``pages`` is the pay-page app they belong to (link checks, words, rendering)."""

    def __init__(self, pages: _PayPageApp) -> None:
        self.pages = pages

    def _show(self, request: Request, page: PayPage, status: int, **context: Any) -> Response:
        pages = self.pages
        token = request.path_params["token"]
        context.setdefault("form", {})
        context.setdefault("errors", {})
        context.setdefault("code_errors", {})
        context.setdefault("confirmed", ())
        context.setdefault("problem", None)
        if "pending" not in context:
            context["pending"] = pending_codes(pages.store, page.case_id, pages.now())
        words = pages._words(request, page.language, page.currency)
        return pages._render(request, "paypage/contact.html.j2", words, status, page=page, token=token,
                             csrf=pages.csrf(token), base=f"{pages.prefix}/{token}", minutes=CODE_MINUTES,
                             **context)

    async def form(self, request: Request) -> Response:
        pages = self.pages
        token = request.path_params["token"]
        if not pages.per_link.allow(token):
            return pages.refused(request, "busy", 429)
        page: PayPage = await run_in_threadpool(pages.reader.page, token, pages.today())
        return await run_in_threadpool(self._show, request, page, 200)

    async def request_codes(self, request: Request) -> Response:
        pages = self.pages
        page, fields = await pages.posted(request)
        form = ContactForm(
            email=fields.get("email", ""),
            phone=fields.get("phone", ""),
            preferred=fields.get("preferred", ""),
            consent_email=fields.get("consent_email") == "yes",
            consent_sms=fields.get("consent_sms") == "yes",
        )
        words = pages._words(request, page.language, page.currency)
        try:
            pending = await run_in_threadpool(
                request_contact_codes, pages.store, pages.workspace, pages.reader.secrets, page.case_id, form,
                language=words.language, region=page.country, now=pages.now(), env=os.environ)
        except ContactRefused as refused:
            return await run_in_threadpool(self._show, request, page, 400, form=fields, errors=refused.problems)
        except TooManySends:
            return await run_in_threadpool(self._show, request, page, 429, form=fields, problem="contact_too_many")
        except SendFailed:
            return await run_in_threadpool(self._show, request, page, 503, form=fields,
                                           problem="contact_send_failed")
        return await run_in_threadpool(self._show, request, page, 200, pending=pending)

    async def confirm(self, request: Request) -> Response:
        pages = self.pages
        page, fields = await pages.posted(request)
        codes = {key.removeprefix("code_"): value for key, value in fields.items() if key.startswith("code_")}
        result = await run_in_threadpool(confirm_contact_codes, pages.store, pages.reader.secrets, page.case_id,
                                         codes, now=pages.now(), today=pages.today())
        problems = dict(result.problems)
        if "code" in problems:  # nothing pending: expired, locked or replaced meanwhile
            return await run_in_threadpool(self._show, request, page, 400, problem="code_expired")
        status = 200
        if any(p == "locked" for p in problems.values()):
            status = 429
        elif problems and not result.confirmed:
            status = 400
        shown = {channel: why for channel, why in problems.items() if why != "locked"}
        problem = "code_locked" if status == 429 else None
        if result.confirmed:
            shown = {}
        if not result.pending and not result.confirmed and status == 400:
            problem = "code_" + next(iter(problems.values()))  # e.g. expired: the code field is gone
        return await run_in_threadpool(self._show, request, page, status, confirmed=result.confirmed,
                                       pending=result.pending, code_errors=shown, problem=problem)
