"""A real HTTP receiver on 127.0.0.1 that checks every webhook's signature as a creditor would.

It answers from a script (``statuses``: one status per request, then ``default``), records each
request (headers, body, whether the signature verified) and, like a well-behaved receiver,
processes each Idempotency-Key once (``processed``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from dunning.channels.webhook import SIGNATURE_HEADER, SignatureError, verify_signature

SECRET = "whsec-test-0123456789abcdef"


@dataclass
class Request:
    path: str
    key: str
    signature: str
    body: bytes
    verified: bool
    answered: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    secret: str = SECRET
    statuses: list[int] = field(default_factory=list)
    default: int = 200
    delays: list[float] = field(default_factory=list)  # seconds to wait before answering, per request
    requests: list[Request] = field(default_factory=list)
    processed: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/dunning"

    def answer(self, handler: BaseHTTPRequestHandler) -> int:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
        key = handler.headers.get("Idempotency-Key", "")
        signature = handler.headers.get(SIGNATURE_HEADER, "")
        try:
            verify_signature(signature, body, self.secret, now=int(time.time()))
            verified = True
        except SignatureError:
            verified = False
        with self.lock:
            delay = self.delays.pop(0) if self.delays else 0.0
        time.sleep(delay)  # longer than the client's timeout: it gives up, we still process it
        with self.lock:
            status = self.statuses.pop(0) if self.statuses else self.default
            if not verified:
                status = 401
            elif 200 <= status < 300:
                self.processed.setdefault(key, json.loads(body))  # a repeated key is done already
            self.requests.append(Request(handler.path, key, signature, body, verified, status))
        return status


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            status = receiver.answer(self)
            payload = b'{"ok": true}' if status < 300 else b'{"error": "nope"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(autouse=True)
def database_from_environment(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store URL, password included, as production passes it: ``DUNNING_DATABASE`` (never dunning.yaml)."""
    if "store_url" in request.fixturenames:
        monkeypatch.setenv("DUNNING_DATABASE", str(request.getfixturevalue("store_url")))
