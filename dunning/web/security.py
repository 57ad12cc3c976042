"""Safe by default: security headers on every answer, rate limits, and an access log without tokens.

* **Headers**: a Content-Security-Policy that allows only the page's own stylesheet and script (no
  inline script or style, so no ``'unsafe-inline'``), images from the page itself or ``data:`` (the QR
  code and the logo), no framing (``frame-ancestors 'none'``), ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: no-referrer`` (the token never leaks to another site), and no caching of pages.
* **Rate limits**: per client address and per pay link, a sliding minute, in the process's memory
  (each uvicorn worker counts its own: set the limits per worker). A request over a limit gets 429.
* **Access log**: one line per request with the method, the route's name, the status and the time
  taken; never the path (it holds the token) nor the client's address.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from threading import Lock

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SECURITY_HEADERS", "RateLimiter", "SecurityMiddleware", "security_headers"]

log = logging.getLogger("dunning.web")

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: dict[str, str] = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
}



def security_headers(form_targets: tuple[str, ...] = ()) -> dict[str, str]:
    """:data:`SECURITY_HEADERS`, with ``form_targets`` (a payment provider's checkout origin) allowed
    as where a form may lead: browsers check ``form-action`` against the redirect a form's POST gets."""
    if not form_targets:
        return dict(SECURITY_HEADERS)
    csp = CSP.replace("form-action 'self'", "form-action 'self' " + " ".join(form_targets))
    return {**SECURITY_HEADERS, "content-security-policy": csp}


class RateLimiter:
    """At most ``limit`` hits a ``window`` seconds per key (a sliding window of hit times)."""

    def __init__(self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = Lock()

    def allow(self, key: str) -> bool:
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            if len(self._hits) > 100_000:  # forget idle keys rather than grow without bound
                for idle in [k for k, v in self._hits.items() if not v]:
                    del self._hits[idle]
            return True


class SecurityMiddleware:
    """Adds :data:`SECURITY_HEADERS`, refuses clients over their rate, logs requests without the path."""

    def __init__(
        self, app: ASGIApp, per_address: RateLimiter, too_many: ASGIApp, headers: dict[str, str] | None = None
    ) -> None:
        self.app = app
        self.headers = SECURITY_HEADERS if headers is None else headers
        self.per_address = per_address
        self.too_many = too_many

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.decode("latin-1") not in self.headers]
                headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in self.headers.items()]
                message = {**message, "headers": headers}
            await send(message)

        client = scope.get("client") or ("unknown", 0)
        try:
            if not self.per_address.allow(str(client[0])):
                await self.too_many(scope, receive, send_with_headers)
            else:
                await self.app(scope, receive, send_with_headers)
        finally:
            route = scope.get("route")
            name = getattr(route, "name", None) or "-"
            log.info("%s %s %d %.1f ms", scope.get("method", "-"), name, status, (time.perf_counter() - started) * 1000)
