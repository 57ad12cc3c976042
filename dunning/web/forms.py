"""Forms on the pay page: a CSRF check on every POST, then the form's fields.

Every form carries a hidden ``csrf`` field, :func:`csrf_token` of the page's pay link: an HMAC of the
link's token under the pay-link secret. It is bound to the link (a field copied from one link's page is
refused on another's) and cannot be made without the server's secret. On top, the browser's own word
is checked: a POST whose ``Origin`` (or, lacking it, ``Referer``) names another site than the one it
was sent to is refused, and so is one that ``Sec-Fetch-Site`` marks ``cross-site``. A refused form is
:class:`FormRefused` (the app answers 403 with a page that says to open the link again).

    >>> t = csrf_token(b"s" * 32, "abc")
    >>> len(t), t == csrf_token(b"s" * 32, "abc"), t == csrf_token(b"s" * 32, "abd")
    (43, True, False)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlsplit

from starlette.requests import Request

__all__ = ["MAX_FIELD", "FormRefused", "csrf_token", "read_form"]

#: the longest value a field may hold (a question's text is the longest one the page asks for)
MAX_FIELD = 2000
_MAX_FIELDS = 30


class FormRefused(Exception):
    """A POST that did not come from the page's own form (CSRF), or a form too large to be the page's."""


def csrf_token(secret: bytes, link_token: str) -> str:
    """The hidden ``csrf`` field of the forms on the page of ``link_token``."""
    mac = hmac.new(secret, b"csrf|" + link_token.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def _same_site(request: Request) -> bool:
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site == "cross-site":
        return False
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if claimed == "null" and fetch_site == "same-origin":
        # The page's own form: under its ``Referrer-Policy: no-referrer`` a browser sends ``Origin: null``
        # (Fetch, "serializing a request origin"), and its own Sec-Fetch-Site says where the form came from.
        return True
    if not claimed or claimed == "null":
        return claimed is None  # no header at all: an old browser or a script, the token decides
    host = request.headers.get("host", "")
    return urlsplit(claimed).netloc == host


async def read_form(request: Request, secret: bytes, link_token: str) -> dict[str, str]:
    """The fields of a POST to the page of ``link_token``; :class:`FormRefused` unless it is the page's own."""
    if not _same_site(request):
        raise FormRefused("the form was posted from another site")
    async with request.form(max_files=0, max_fields=_MAX_FIELDS) as form:
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
    sent = fields.pop("csrf", "")
    if not hmac.compare_digest(sent, csrf_token(secret, link_token)):
        raise FormRefused("the form's csrf field does not match its pay link")
    if any(len(value) > MAX_FIELD for value in fields.values()):
        raise FormRefused("a field of the form is longer than the page allows")
    return {key: value.strip() for key, value in fields.items()}
