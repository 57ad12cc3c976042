"""The pay page's "pay on a date" form: ``POST /p/<token>/promise`` with a ``date`` (and the CSRF field).

A good day is recorded (:func:`dunning.usecases.paypage.promise.make_promise`) and answered with a
303 to the page in the same language (``?lang=``, so the page seen after the form is not counted as
another visit), which then says "you said you would pay by D". A day outside the window (past, too
late, not a date) gets the page again with status 400 and a message at the form; a case that already
has a promise, or is paid, gets the page as it stands. ``GET`` on the form's address (a language
link of that 400 page) goes to the page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from dunning.usecases.paypage.promise import PromiseRefused, make_promise
from dunning.web.i18n import LANGUAGES

if TYPE_CHECKING:
    from dunning.web.app import _PayPageApp

__all__ = ["promise_endpoint"]

#: refusals the form shows again with a message; any other one: the page as it stands says why
_SHOWN_AT_THE_FORM = frozenset({"missing", "past", "too_late"})


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def promise_endpoint(pages: _PayPageApp) -> Callable[[Request], Awaitable[Response]]:
    """The form's endpoint over the app's pages (link, rate and CSRF checked by ``pages.posted``)."""

    async def endpoint(request: Request) -> Response:
        token = request.path_params["token"]
        asked = request.query_params.get("lang")
        lang = asked if asked in LANGUAGES else None
        back = f"{pages.prefix}/{token}" + (f"?lang={lang}" if lang else "")
        if request.method == "GET":
            return RedirectResponse(back, status_code=303)
        page, fields = await pages.posted(request)
        day = _day(fields.get("date"))
        try:
            await run_in_threadpool(
                make_promise,
                pages.store,
                pages.workspace,
                page.case_id,
                day,
                today=pages.today(),
                recorded_at=pages.now(),
            )
        except PromiseRefused as refused:
            if refused.code not in _SHOWN_AT_THE_FORM:
                return RedirectResponse(back, status_code=303)
            value = fields.get("date", "")[:10]
            return await pages.render_page(request, page, token, 400, promise_error=refused.code, promise_value=value)
        return RedirectResponse(back if lang else f"{back}?lang={page.language}", status_code=303)

    return endpoint
