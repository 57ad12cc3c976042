"""The pay page's questions and disputes: ``GET/POST <prefix>/<token>/question``.

The form sits on the pay page (``paypage/_dispute.html.j2``) and posts here; a taken form answers
303 to the GET, which acknowledges it (what happens next: no further reminders until a person has
answered, or, for a question, a person will answer), so a reload never sends it twice and the
language links work on the acknowledgement too. A form the page cannot take (no reason, a text too
long, a question without words) gets 400 with the form again; a second one while one is open 409
with the acknowledgement of the first; a link over its limit 429. The debtor's text is stored
(:mod:`dunning.usecases.paypage.dispute`), never logged here. A debtor with an email address also gets
the acknowledgement by email, sent at once (:mod:`dunning.usecases.paypage.acknowledge`).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from dunning.usecases.paypage.acknowledge import acknowledge_by_email
from dunning.usecases.paypage.claim import PayPage
from dunning.usecases.paypage.dispute import DisputeRefused, current_dispute, open_dispute
from dunning.web.i18n import LANGUAGES

if TYPE_CHECKING:
    from dunning.web.app import _PayPageApp

__all__ = ["question_form", "question_page"]


def _lang(value: str | None) -> str:
    return f"?lang={value}" if value in LANGUAGES else ""


def question_page(pages: _PayPageApp) -> Callable[[Request], Awaitable[Response]]:
    """The GET handler: the form, or the acknowledgement of the dispute or question that is open."""
    async def handler(request: Request) -> Response:
        token = request.path_params["token"]
        if not pages.per_link.allow(token):
            return pages.refused(request, "busy", 429)
        page: PayPage = await run_in_threadpool(pages.reader.page, token, pages.today())
        sent = await run_in_threadpool(current_dispute, pages.store, page.case_id)
        return _render(pages, request, page, token, status=200, sent=sent)

    return handler


def question_form(pages: _PayPageApp) -> Callable[[Request], Awaitable[Response]]:
    """The POST handler: take the form (CSRF and link checked by ``pages.posted``) and acknowledge it."""

    async def handler(request: Request) -> Response:
        token = request.path_params["token"]
        page, fields = await pages.posted(request)
        try:
            taken = await run_in_threadpool(
                lambda: open_dispute(
                    pages.store,
                    page.case_id,
                    token,
                    fields.get("reason", ""),
                    fields.get("text", ""),
                    on_date=pages.today(),
                    recorded_at=pages.now(),
                )
            )
        except DisputeRefused as refused:
            if refused.why == "open":
                sent = await run_in_threadpool(current_dispute, pages.store, page.case_id)
                return _render(pages, request, page, token, status=409, sent=sent, lang=fields.get("lang"))
            if refused.why == "limit":
                return _render(pages, request, page, token, status=429, limit=True, lang=fields.get("lang"))
            return _render(pages, request, page, token, status=400, error=True, lang=fields.get("lang"))
        language = fields.get("lang") if fields.get("lang") in LANGUAGES else page.language
        await run_in_threadpool(
            lambda: acknowledge_by_email(
                pages.store, pages.workspace, page.case_id, taken, str(language), now=pages.now(), env=os.environ,
                secrets=pages.reader.secrets,
            )
        )
        url = f"{pages.prefix}/{token}/question{_lang(fields.get('lang'))}"
        return RedirectResponse(url, status_code=303, headers={"cache-control": "no-store"})

    return handler


def _render(
    pages: _PayPageApp,
    request: Request,
    page: PayPage,
    token: str,
    *,
    status: int,
    sent: object = None,
    limit: bool = False,
    error: bool = False,
    lang: str | None = None,
) -> Response:
    words = pages._words(request, lang if lang in LANGUAGES else page.language, page.currency)
    return pages._render(
        request,
        "paypage/question.html.j2",
        words,
        status,
        page=page,
        token=token,
        csrf=pages.csrf(token),
        sent=sent,
        limit=limit,
        error=error,
    )
