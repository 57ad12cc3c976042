"""Posting a webhook: to the creditor's HTTP endpoint, or as a JSON file into a folder.

``open_webhook_transport(url, base_dir=..., timeout=...)`` picks the implementation:

``https://hooks.example.com/dunning`` (or ``http://``)
    one POST per webhook with :mod:`urllib` (no redirects followed: a 3xx is refused, because
    following it would turn the POST into a GET or send the body to a host nobody configured);
``file://output/webhooks``
    one file ``<Idempotency-Key>.json`` holding the body, and ``<Idempotency-Key>.json.sig`` with
    the ``Dunning-Signature`` value when there is a secret. The transport looks before it writes,
    so the same webhook is never written twice; writes are atomic (temporary file, rename).

A transport answers every post with a :class:`dunning.ports.PostResult`: the HTTP status (200 for a file written
or found), or no status and an error for a timeout or a connection failure. Deciding what that
means (delivered, retry, failed) is the caller's job (:mod:`dunning.usecases.notify.webhooks`).
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from dunning.errors import ConfigError
from dunning.ports import PostResult, WebhookTransport, write_atomic

__all__ = ["FileWebhookTransport", "HttpWebhookTransport", "open_webhook_transport"]

USER_AGENT = "dunning-webhooks/1"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # the 3xx surfaces as an HTTPError with its status


class HttpWebhookTransport:
    """POST to an http(s) endpoint; ``timeout`` seconds for connecting and for the answer."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self._url = url
        self._timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect)

    @property
    def url(self) -> str:
        parts = urlsplit(self._url)
        return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}{parts.path}"

    def post(self, body: bytes, headers: Mapping[str, str]) -> PostResult:
        request = urllib.request.Request(self._url, data=body, method="POST")
        request.add_header("Content-Type", "application/json")
        request.add_header("User-Agent", USER_AGENT)
        for name, value in headers.items():
            request.add_header(name, value)
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                response.read(65536)  # drain a little so the connection closes cleanly
                return PostResult(int(response.status))
        except urllib.error.HTTPError as exc:
            reason = f"HTTP {exc.code} {exc.reason}"
            if 300 <= exc.code < 400:
                reason += " (redirects are not followed: configure the final URL)"
            return PostResult(exc.code, reason)
        except (TimeoutError, urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            why: object = getattr(exc, "reason", None) or exc
            return PostResult(None, f"no answer from {self.url}: {why}")


class FileWebhookTransport:
    """Writes each webhook as ``<Idempotency-Key>.json`` (+ ``.sig``) into a folder, once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def url(self) -> str:
        return self.folder.as_uri()

    def post(self, body: bytes, headers: Mapping[str, str]) -> PostResult:
        name = headers.get("Idempotency-Key") or ""
        if not name or "/" in name or name.startswith("."):
            return PostResult(400, f"unusable Idempotency-Key {name!r} for a file name")
        target = self.folder / f"{name}.json"
        try:
            signature = headers.get("Dunning-Signature")
            if signature:
                write_atomic(target.with_name(target.name + ".sig"), (signature + "\n").encode())
            if not target.exists():  # written before (a crash before it was recorded): keep it
                write_atomic(target, body)
        except OSError as exc:
            return PostResult(None, f"cannot write {target}: {exc.strerror or exc}")
        return PostResult(200)




def open_webhook_transport(url: str, *, base_dir: Path, timeout: float = 10.0) -> WebhookTransport:
    """The transport for ``url``: http(s) endpoint or ``file://`` folder (relative to ``base_dir``)."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https"):
        if not parts.hostname:
            raise ConfigError(f"webhook.url {url!r} has no host")
        return HttpWebhookTransport(url, timeout=timeout)
    if parts.scheme == "file":
        folder = Path(parts.netloc + parts.path).expanduser()
        return FileWebhookTransport(folder if folder.is_absolute() else base_dir / folder)
    raise ConfigError(f"webhook.url {url!r}: use https://host/path (or http://) or file://folder")
