"""The pay page as an ASGI application: ``create_app(workspace, store)``.

Routes, under the path of ``paylink.base_url`` (``/p`` for ``https://pay.example.com/p/``):

* ``GET /p/<token>[?m=q|e|s][&lang=nl|fr|de|en]``: the claim and how to pay it. An opening without
  ``lang`` is a visit, recorded with the medium ``m`` names; switching language is not another visit.
  A visit is answered with the link's prepared page of the day when it still matches the case
  (:mod:`dunning.web.prepared`); a page made for a visit is kept as the prepared page.
* ``GET /p/assets/...``: the stylesheet, the brand's colours and the copy-button script.
* ``POST /p/<token>/<form>``: the page's forms (each feature adds its route in :func:`create_app`); every
  one checked by :func:`dunning.web.forms.read_form` (CSRF), a refused one answered 403.
* ``POST /p/<token>/online``, ``GET /p/online/done``, ``POST /p/online/webhook``: paying online through
  the configured provider (:mod:`dunning.web.provider`).
* ``GET /healthz``: ``ok`` (for the reverse proxy and the tests).

A forged, garbled or unknown link gets 404, an expired one 410 and a revoked one 410 (the page and every
form posted to it; :mod:`dunning.usecases.paypage.revoke`), each with a page saying how to
reach the creditor; any other failure a 500 page, never a stack trace. The page works without
JavaScript; the script only adds copy buttons.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from dunning.domain.paylink import ExpiredToken, InvalidToken, RevokedToken, medium_of
from dunning.errors import NotFound
from dunning.letters.qr import epc_qr
from dunning.ports_payments import PaymentProvider
from dunning.store import Store
from dunning.usecases.paypage.brand import PageBrand, page_brand
from dunning.usecases.paypage.claim import PayPage, PayPageReader
from dunning.usecases.paypage.dispute import MAX_TEXT
from dunning.usecases.paypage.landing import Landing, landing
from dunning.usecases.paypage.landing import offers as page_offers
from dunning.usecases.paypage.online import open_provider
from dunning.usecases.paypage.plan import PlanOffer
from dunning.usecases.paypage.prepared import forget_prepared_before, keep_page
from dunning.usecases.paypage.promise import PromiseOffer
from dunning.web.contact import ContactPages
from dunning.web.dispute import question_form, question_page
from dunning.web.forms import FormRefused, csrf_token, read_form
from dunning.web.i18n import LANGUAGE_NAMES, LANGUAGES, Words, pick_language
from dunning.web.plan import PlanPages, plan_context
from dunning.web.prepared import fingerprint
from dunning.web.promise import promise_endpoint
from dunning.web.provider import OnlinePayments, method_names
from dunning.web.security import RateLimiter, SecurityMiddleware, security_headers
from dunning.workspace import Workspace

__all__ = ["create_app", "page_prefix"]

HERE = Path(__file__).resolve().parent
NO_STORE = {"cache-control": "no-store"}


def page_prefix(workspace: Workspace) -> str:
    """The path the pages answer under: that of ``paylink.base_url`` without its trailing slash."""
    return urlparse(workspace.config.paylink.base_url).path.rstrip("/")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every template, whatever its suffix
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["dispute_max"] = MAX_TEXT  # the question form's maxlength, on the landing page too
    return env


class _PayPageApp:
    def __init__(
        self,
        workspace: Workspace,
        store: Store,
        reader: PayPageReader,
        today: Callable[[], date],
        now: Callable[[], datetime],
    ) -> None:
        self.workspace = workspace
        self.store = store
        self.reader = reader
        self.today = today
        self.now = now
        self.brand: PageBrand = page_brand(workspace)
        self.env = _environment()
        self.prefix = page_prefix(workspace)
        limits = workspace.config.paypage
        self.per_link = RateLimiter(limits.rate_per_link)
        self.contact = limits.contact
        #: the methods the "Pay online" button names, when a provider is configured
        self.online: str | None = None
        #: what the pages are made with (templates, code, settings, brand): see dunning.web.prepared
        self.fingerprint = ""
        self.payments: OnlinePayments | None = None
        #: the last day this process forgot the pages prepared for earlier days
        self._forgot_before: date | None = None

    # -- pages ----------------------------------------------------------------------------------------
    def _words(self, request: Request, fallback: str | None = None, currency: str = "EUR") -> Words:
        return self.words(request.query_params.get("lang"), fallback or _accepted_language(request), currency)

    def words(self, asked: str | None, fallback: str | None, currency: str = "EUR") -> Words:
        """The words of the language ``asked`` for (``?lang=``), else ``fallback``, else the creditor's."""
        creditor = self.workspace.config.creditor
        language = pick_language(asked, fallback or creditor.language)
        return Words(language, creditor.address.country, currency)

    def _render(self, request: Request, name: str, words: Words, status: int, **context: Any) -> Response:
        return HTMLResponse(self.html(name, words, **context), status_code=status, headers=NO_STORE)

    def html(self, name: str, words: Words, **context: Any) -> str:
        """Template ``name`` of the pages in ``words``' language, with what every page shows."""
        context.update(
            w=words,
            brand=self.brand,
            creditor=self.workspace.config.creditor.name,
            contact=self.contact,
            assets=f"{self.prefix}/assets",
            online=self.online,
            languages=[(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        )
        return self.env.get_template(name).render(context)

    def csrf(self, token: str) -> str:
        """The hidden ``csrf`` field of every form on the page of ``token``."""
        return csrf_token(self.reader.secrets.paylink, token)

    async def posted(self, request: Request) -> tuple[PayPage, dict[str, str]]:
        """The page and the fields of a form posted to it; FormRefused, InvalidToken, ExpiredToken, NotFound.

        A form route calls this first: the link is checked as for the page (and counts against the
        link's rate), then the form's CSRF field and origin (:mod:`dunning.web.forms`).
        """
        token = request.path_params["token"]
        if not self.per_link.allow(token):
            raise _Busy()
        page: PayPage = await run_in_threadpool(self.reader.page, token, self.today())
        fields = await read_form(request, self.reader.secrets.paylink, token)
        return page, fields

    def refused(self, request: Request, kind: str, status: int) -> Response:
        return self._render(request, "paypage/refused.html.j2", self._words(request), status, kind=kind)

    async def pay_page(self, request: Request) -> Response:
        token = request.path_params["token"]
        if not self.per_link.allow(token):
            return self.refused(request, "busy", 429)
        visit = None
        if request.method == "GET" and "lang" not in request.query_params:
            visit = (medium_of(request.query_params.get("m")), self.now())
        # a visit shows the page in the debtor's language: the page prepared for the link today, if it matches
        fingerprint = self.fingerprint if visit is not None else None
        today = self.today()
        try:
            found: Landing = await run_in_threadpool(landing, self.reader, token, today, visit, fingerprint)
        except ExpiredToken:
            return self.refused(request, "expired", 410)
        except RevokedToken:
            return self.refused(request, "revoked", 410)
        except (InvalidToken, NotFound):
            return self.refused(request, "invalid", 404)
        if found.html is not None:
            return Response(found.html, media_type="text/html", headers=NO_STORE)
        assert found.page is not None and found.promise is not None and found.plan is not None
        response = await self.render_page(request, found.page, token, offers=(found.promise, found.plan))
        # a running plan's page is made from its instalments too (not in the stamp): never kept
        if fingerprint is not None and response.status_code == 200 and found.plan.plan is None:
            await run_in_threadpool(self.keep, token, found.page.case_id, today, found.stamp, bytes(response.body))
        return response

    def landing_html(
        self, page: PayPage, token: str, words: Words, offers: tuple[PromiseOffer, PlanOffer], **extra: Any
    ) -> str:
        """The landing page of ``token`` in ``words``' language (``extra``: a refused form's own fields)."""
        qr = _epc_qr_uri(page.epc_payload) if page.epc_payload else None
        qrbill = _svg_uri(page.qrbill_svg) if page.qrbill_svg else None
        offer, plan = offers
        context: dict[str, Any] = {
            **plan_context(self, plan),
            "promise": offer,
            "promise_action": f"{self.prefix}/{token}/promise?lang={words.language}",
            "promise_error": None,
            "promise_value": "",
        }
        context.update(extra)
        return self.html(
            "paypage/page.html.j2", words, page=page, qr=qr, qrbill=qrbill, token=token,
            csrf=self.csrf(token), charges=page.charge_lines(words.language), **context,
        )

    def keep(self, token: str, case_id: int, day: date, stamp: str, html: bytes) -> None:
        """Keep ``html`` as the prepared page of ``token`` for ``day``, made from the claim of ``stamp``.

        The first page a process keeps on a day also deletes the pages of earlier days (never served
        again), so the table holds about a day's pages even where ``dunning links prepare`` never runs.
        """
        if self._forgot_before != day:
            self.forget_before(day)
        keep_page(self.store, token, case_id, day, stamp, self.fingerprint, html, self.now())

    def forget_before(self, day: date) -> int:
        """Delete the pages prepared for days before ``day``; how many went."""
        forgotten = forget_prepared_before(self.store, day)
        self._forgot_before = day
        return forgotten

    async def render_page(
        self,
        request: Request,
        page: PayPage,
        token: str,
        status: int = 200,
        offers: tuple[PromiseOffer, PlanOffer] | None = None,
        **extra: Any,
    ) -> Response:
        """The page of ``token`` (a form refused by a feature shows it again, with ``extra`` saying why).

        ``offers``: the promise and plan offers when already read (the landing page reads them with the
        claim, in one trip to the thread pool).
        """
        words = self._words(request, page.language, page.currency)
        if offers is None:
            offers = await run_in_threadpool(page_offers, self.reader, page, self.today())
        html = self.landing_html(page, token, words, offers, **extra)
        return HTMLResponse(html, status_code=status, headers=NO_STORE)

    async def brand_css(self, request: Request) -> Response:
        return Response(self.brand.css(), media_type="text/css", headers={"cache-control": "public, max-age=300"})

    async def link_refused(self, request: Request, exc: Exception) -> Response:
        """A form's link or form refused (see :meth:`posted`): the page a GET would get, or 403."""
        if isinstance(exc, ExpiredToken):
            return self.refused(request, "expired", 410)
        if isinstance(exc, RevokedToken):
            return self.refused(request, "revoked", 410)
        if isinstance(exc, _Busy):
            return self.refused(request, "busy", 429)
        if isinstance(exc, FormRefused):
            return self.refused(request, "forbidden", 403)
        return self.refused(request, "invalid", 404)

    async def not_found(self, request: Request, exc: Exception) -> Response:
        return self.refused(request, "invalid", 404)

    async def server_error(self, request: Request, exc: Exception) -> Response:
        return self.refused(request, "error", 500)


class _Busy(Exception):
    """A form posted to a link over its rate."""


def _accepted_language(request: Request) -> str | None:
    """The first of the page's languages the browser asks for (``Accept-Language``), if any."""
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return None


@lru_cache(maxsize=4096)
def _epc_qr_uri(payload: str) -> str:
    """The EPC QR code as a PNG data URI, made once per payload and process (about 10 ms each): a debtor
    who switches language or comes back gets the same image without drawing it again."""
    return epc_qr(payload).data_uri


def _svg_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


async def _healthz(request: Request) -> Response:
    return PlainTextResponse("ok", headers=NO_STORE)


def build_pages(
    workspace: Workspace,
    store: Store,
    *,
    reader: PayPageReader | None = None,
    today: Callable[[], date] | None = None,
    now: Callable[[], datetime] | None = None,
    provider: PaymentProvider | None = None,
) -> _PayPageApp:
    """The pages of ``workspace`` as :func:`create_app` serves them (also what ``dunning links prepare`` makes)."""
    zone = ZoneInfo(workspace.config.creditor.timezone)
    pages = _PayPageApp(
        workspace,
        store,
        reader or PayPageReader(store, workspace),
        today or (lambda: datetime.now(zone).date()),
        now or (lambda: datetime.now(UTC)),
    )
    pages.payments = OnlinePayments(pages, provider or open_provider(workspace))
    if pages.payments.provider is not None:
        pages.online = method_names(workspace.config.paypage.provider.methods)
    pages.fingerprint = fingerprint(workspace, pages.brand, pages.online)
    return pages


def create_app(
    workspace: Workspace,
    store: Store,
    *,
    reader: PayPageReader | None = None,
    today: Callable[[], date] | None = None,
    now: Callable[[], datetime] | None = None,
    provider: PaymentProvider | None = None,
) -> ASGIApp:
    """The pay-page application of ``workspace`` over ``store``.

    ``today`` gives the day links are checked against (default: today where the creditor is) and
    ``now`` the moment a visit is recorded (default: the clock, in UTC); the tests pass their own.
    ``provider``: the payment provider for "Pay online" (default: the one ``paypage.provider`` names).
    """
    pages = build_pages(workspace, store, reader=reader, today=today, now=now, provider=provider)
    prefix = pages.prefix
    online = pages.payments
    assert online is not None  # build_pages sets it
    provider_config = workspace.config.paypage.provider
    routes = [
        Route("/healthz", _healthz, name="healthz"),
        Route(f"{prefix}/assets/brand.css", pages.brand_css, name="brand_css"),
        Mount(f"{prefix}/assets", StaticFiles(directory=HERE / "static"), name="assets"),
        Route(f"{prefix}/{{token}}", pages.pay_page, name="pay_page", methods=["GET"]),
        Route(f"{prefix}/online/done", online.done, name="online_done", methods=["GET"]),
        Route(f"{prefix}/online/webhook", online.webhook, name="online_webhook", methods=["POST"]),
        Route(f"{prefix}/{{token}}/online", online.pay_online, name="pay_online", methods=["POST"]),
        Route(f"{prefix}/{{token}}/question", question_page(pages), name="question", methods=["GET"]),
        Route(f"{prefix}/{{token}}/question", question_form(pages), name="question_form", methods=["POST"]),
        Route(f"{prefix}/{{token}}/promise", promise_endpoint(pages), name="promise", methods=["GET", "POST"]),
    ]
    contact = ContactPages(pages)
    routes.append(Route(f"{prefix}/{{token}}/contact", contact.form, name="contact", methods=["GET"]))
    routes.append(Route(f"{prefix}/{{token}}/contact", contact.request_codes, name="contact_send", methods=["POST"]))
    routes.append(Route(f"{prefix}/{{token}}/contact/confirm", contact.confirm, name="contact_confirm",
                        methods=["POST"]))
    plans = PlanPages(pages)
    routes.append(Route(f"{prefix}/{{token}}/plan", plans.page, name="plan", methods=["GET"]))
    routes.append(Route(f"{prefix}/{{token}}/plan", plans.form, name="plan_form", methods=["POST"]))
    routes.append(Route(f"{prefix}/{{token}}/plan/mandate", plans.mandate, name="plan_mandate", methods=["POST"]))
    app = Starlette(
        routes=routes,
        exception_handlers={
            404: pages.not_found,
            405: pages.not_found,
            HTTPException: pages.not_found,
            FormRefused: pages.link_refused,
            ExpiredToken: pages.link_refused,
            RevokedToken: pages.link_refused,
            InvalidToken: pages.link_refused,
            NotFound: pages.link_refused,
            _Busy: pages.link_refused,
            Exception: pages.server_error,
        },
    )

    async def too_many(scope: Scope, receive: Receive, send: Send) -> None:
        response = pages.refused(Request(scope, receive), "busy", 429)
        await response(scope, receive, send)

    # Outside Starlette's own error middleware, so that a 500 page gets the headers too.
    # A form redirected to the provider's checkout: the page's form-action must allow that origin.
    form_targets = (provider_config.checkout_origin,) if online.provider is not None else ()
    return SecurityMiddleware(
        app, RateLimiter(workspace.config.paypage.rate_per_address), too_many, security_headers(form_targets)
    )
