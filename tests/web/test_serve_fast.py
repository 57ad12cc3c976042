"""``dunning serve`` runs uvicorn on its C parts when installed (httptools, uvloop: dependencies of the
project), and on uvicorn's pure-Python ones when not: what the pay page's requests/s under load rest on."""

from __future__ import annotations

import importlib.util

import pytest
import uvicorn
from starlette.responses import PlainTextResponse

from dunning.web import serve


async def _app(scope: object, receive: object, send: object) -> None:  # pragma: no cover - never called
    await PlainTextResponse("ok")(scope, receive, send)  # type: ignore[arg-type]


def test_uvicorn_parses_http_with_httptools_and_loops_with_uvloop() -> None:
    options = serve.fast_parts()
    assert options == {"http": "httptools", "loop": "uvloop"}
    config = uvicorn.Config(_app, **options)  # type: ignore[arg-type]
    config.load()  # uvicorn refuses a name it does not know
    assert config.http_protocol_class.__module__ == "uvicorn.protocols.http.httptools_impl"


def test_without_them_uvicorn_chooses_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert serve.fast_parts() == {}
