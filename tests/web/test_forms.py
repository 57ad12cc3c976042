"""The forms' CSRF check (dunning.web.forms) through a real ASGI app and HTTP client."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from dunning.web.forms import FormRefused, csrf_token, read_form

SECRET = b"s" * 32


async def _post(request: Request) -> Response:
    try:
        fields = await read_form(request, SECRET, request.path_params["token"])
    except FormRefused as refused:
        return PlainTextResponse(str(refused), status_code=403)
    return JSONResponse(fields)


client = TestClient(Starlette(routes=[Route("/p/{token}/f", _post, methods=["POST"])]), base_url="http://pay.test")


def test_the_pages_own_form_is_read_with_its_fields_trimmed() -> None:
    answer = client.post("/p/abc/f", data={"csrf": csrf_token(SECRET, "abc"), "date": " 2026-12-24 "})
    assert answer.status_code == 200
    assert answer.json() == {"date": "2026-12-24"}


def test_a_form_without_or_with_another_links_csrf_field_is_refused() -> None:
    assert client.post("/p/abc/f", data={"date": "x"}).status_code == 403
    other = client.post("/p/abc/f", data={"csrf": csrf_token(SECRET, "abd"), "date": "x"})
    assert other.status_code == 403
    assert "csrf" in other.text
    forged = client.post("/p/abc/f", data={"csrf": csrf_token(b"t" * 32, "abc")})
    assert forged.status_code == 403


def test_a_form_posted_from_another_site_is_refused_even_with_the_right_field() -> None:
    data = {"csrf": csrf_token(SECRET, "abc")}
    assert client.post("/p/abc/f", data=data, headers={"origin": "https://evil.example"}).status_code == 403
    assert client.post("/p/abc/f", data=data, headers={"referer": "https://evil.example/x"}).status_code == 403
    assert client.post("/p/abc/f", data=data, headers={"sec-fetch-site": "cross-site"}).status_code == 403
    assert client.post("/p/abc/f", data=data, headers={"origin": "null"}).status_code == 403
    same = client.post("/p/abc/f", data=data, headers={"origin": "http://pay.test", "sec-fetch-site": "same-origin"})
    assert same.status_code == 200
    # what Chromium really sends for the page's own form under the page's Referrer-Policy: no-referrer
    own = client.post("/p/abc/f", data=data, headers={"origin": "null", "sec-fetch-site": "same-origin"})
    assert own.status_code == 200
    other = client.post("/p/abc/f", data=data, headers={"origin": "null", "sec-fetch-site": "same-site"})
    assert other.status_code == 403


def test_an_overlong_field_is_refused() -> None:
    data = {"csrf": csrf_token(SECRET, "abc"), "text": "x" * 2001}
    assert client.post("/p/abc/f", data=data).status_code == 403


def test_chromiums_own_form_under_no_referrer_is_accepted_on_its_fetch_site_word() -> None:
    """Under the page's ``Referrer-Policy: no-referrer`` Chromium posts the page's own form with ``Origin: null``."""
    data = {"csrf": csrf_token(SECRET, "abc")}
    headers = {"origin": "null", "sec-fetch-site": "same-origin"}
    assert client.post("/p/abc/f", data=data, headers=headers).status_code == 200
    assert client.post("/p/abc/f", data={}, headers=headers).status_code == 403  # the CSRF field still decides
    cross = {"origin": "null", "sec-fetch-site": "cross-site"}
    assert client.post("/p/abc/f", data=data, headers=cross).status_code == 403
