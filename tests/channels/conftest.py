"""Real servers for the channel tests: aiosmtpd (SMTP), smpp34 (SMPP) and an HTTP SMS gateway.

Each fixture binds 127.0.0.1 on a free port, and stops the server (closing the port) at the
end of the test.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import smpp34
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- TLS ---------------------------------------------------------------------------------------
@dataclass
class TlsFiles:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1 / localhost, made with cryptography."""
    directory = tmp_path_factory.mktemp("tls")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    files = TlsFiles(directory / "cert.pem", directory / "key.pem")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    return files


# -- SMTP --------------------------------------------------------------------------------------
@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    tls: bool
    login: str | None


@dataclass
class SmtpRecorder:
    """aiosmtpd handler: records messages; refuses or temporarily fails chosen recipients."""

    messages: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    temporary_failures: dict[str, int] = field(default_factory=dict)
    rcpt_attempts: dict[str, int] = field(default_factory=dict)
    reject_data: dict[str, str] = field(default_factory=dict)
    closing_once: set[str] = field(default_factory=set)
    sessions: int = 0

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          mail_options: list[str]) -> str:
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        self.rcpt_attempts[address] = self.rcpt_attempts.get(address, 0) + 1
        if address in self.refuse:
            return self.refuse[address]
        if address in self.closing_once:
            # A server going down answers 421 and hangs up; the client must reconnect.
            self.closing_once.discard(address)
            server.transport.close()
            return "421 4.3.2 Service shutting down"
        if self.temporary_failures.get(address, 0) > 0:
            self.temporary_failures[address] -= 1
            return "451 4.7.1 Greylisted, please try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for address in envelope.rcpt_tos:
            if address in self.reject_data:
                return self.reject_data[address]
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else session.auth_data
        # STARTTLS sets server._tls_protocol; implicit TLS (smtps) shows in the transport.
        tls = (getattr(server, "_tls_protocol", None) is not None
               or server.transport.get_extra_info("ssl_object") is not None)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content,
                                      tls, login))
        return "250 2.0.0 Message accepted for delivery"


@dataclass
class SmtpServer:
    host: str
    port: int
    recorder: SmtpRecorder
    controller: Controller


def _start_smtp(**kwargs: Any) -> SmtpServer:
    recorder = SmtpRecorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return SmtpServer("127.0.0.1", port, recorder, controller)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A plain aiosmtpd server (no TLS offered)."""
    server = _start_smtp()
    yield server
    server.controller.stop()


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    if isinstance(auth_data, LoginPassword) and auth_data.login == b"dunning" and auth_data.password == b"s3cret":
        return AuthResult(success=True, auth_data=auth_data.login)
    return AuthResult(success=False, handled=False)


@pytest.fixture
def starttls_server(tls_files: TlsFiles) -> Iterator[SmtpServer]:
    """aiosmtpd requiring STARTTLS and AUTH (user ``dunning``, password ``s3cret``)."""
    server = _start_smtp(tls_context=tls_files.server_context(), require_starttls=True,
                         authenticator=_authenticator, auth_require_tls=True, auth_required=True)
    yield server
    server.controller.stop()


@pytest.fixture
def smtps_server(tls_files: TlsFiles) -> Iterator[SmtpServer]:
    """aiosmtpd speaking TLS from the first byte (smtps)."""
    server = _start_smtp(ssl_context=tls_files.server_context(), server_hostname="localhost")
    yield server
    server.controller.stop()


# -- SMPP --------------------------------------------------------------------------------------
@dataclass
class SubmittedPdu:
    source_addr: str
    destination_addr: str
    short_message: bytes
    data_coding: int
    esm_class: int
    registered_delivery: int
    message_id: str | None


@dataclass
class SmppServer:
    """smpp34 SMSC in a background event loop; answers submit_sm and sends receipts."""

    host: str
    port: int
    submitted: list[SubmittedPdu] = field(default_factory=list)
    reject: dict[str, int] = field(default_factory=dict)
    throttle_times: dict[str, int] = field(default_factory=dict)
    undeliverable: set[str] = field(default_factory=set)
    binds: list[str] = field(default_factory=list)
    loop: asyncio.AbstractEventLoop | None = None
    server: Any = None
    thread: threading.Thread | None = None
    _counter: int = 0

    async def _receipt(self, esme: Any, event: Any, message_id: str) -> None:
        await asyncio.sleep(0.02)
        undeliverable = event.destination_addr in self.undeliverable
        stat, err, state = ("UNDELIV", "001", 5) if undeliverable else ("DELIVRD", "000", 2)
        text = (f"id:{message_id} sub:001 dlvrd:{'000' if undeliverable else '001'} submit date:2611240900 "
                f"done date:2611240901 stat:{stat} err:{err} text:").encode()
        await esme.deliver_sm(
            event.source_addr, text, source_addr=event.destination_addr, esm_class=0x04,
            tlvs=[smpp34.Tlv(smpp34.TLV_RECEIPTED_MESSAGE_ID, message_id.encode() + b"\x00"),
                  smpp34.Tlv(smpp34.TLV_MESSAGE_STATE, bytes([state]))],
        )

    async def _serve(self) -> None:
        esmes: dict[str, Any] = {}
        while True:
            event = await self.server.next()
            if isinstance(event, smpp34.Esme):
                esmes[event.session_id] = event
                self.binds.append(event.system_id)
            elif isinstance(event, smpp34.SubmitSmEvent):
                destination = event.destination_addr
                if destination in self.reject:
                    self.submitted.append(self._record(event, None))
                    event.reject(self.reject[destination])
                    continue
                if self.throttle_times.get(destination, 0) > 0:
                    self.throttle_times[destination] -= 1
                    self.submitted.append(self._record(event, None))
                    event.reject(smpp34.ESME_RTHROTTLED)
                    continue
                self._counter += 1
                message_id = f"smsc{self._counter:05d}"
                self.submitted.append(self._record(event, message_id))
                event.accept(message_id)
                if event.registered_delivery & 0x01 and event.session_id in esmes:
                    asyncio.get_running_loop().create_task(self._receipt(esmes[event.session_id], event, message_id))

    @staticmethod
    def _record(event: Any, message_id: str | None) -> SubmittedPdu:
        return SubmittedPdu(event.source_addr, event.destination_addr, bytes(event.short_message),
                            event.data_coding, event.esm_class, event.registered_delivery, message_id)

    def start(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

        async def boot() -> None:
            self.server = smpp34.Server(self.host, self.port, system_id="TESTSMSC")
            await self.server.start()
            asyncio.get_running_loop().create_task(self._serve())

        asyncio.run_coroutine_threadsafe(boot(), self.loop).result(timeout=10)

    def stop(self) -> None:
        assert self.loop is not None
        async def stop_server() -> None:
            # smpp34's awaitables must be created inside the running loop.
            await self.server.stop()

        asyncio.run_coroutine_threadsafe(stop_server(), self.loop).result(timeout=10)

        async def cancel_all() -> None:
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(cancel_all(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        assert self.thread is not None
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def smpp_server() -> Iterator[SmppServer]:
    server = SmppServer("127.0.0.1", free_port())
    server.start()
    yield server
    server.stop()


# -- HTTP SMS gateway --------------------------------------------------------------------------
@dataclass
class GatewayState:
    token: str = "gw-token"
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    posts: list[dict[str, Any]] = field(default_factory=list)
    invalid_numbers: set[str] = field(default_factory=set)
    busy_times: dict[str, int] = field(default_factory=dict)
    undeliverable: set[str] = field(default_factory=set)


class _GatewayHandler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(raw)

    def _authorised(self) -> bool:
        state: GatewayState = self.server.state
        if self.headers.get("Authorization") != f"Bearer {state.token}":
            self._answer(401, {"error": "missing or wrong token"})
            return False
        return True

    def do_POST(self) -> None:
        state: GatewayState = self.server.state
        if not self._authorised():
            return
        if self.path != "/v1/messages":
            self._answer(404, {"error": "no such endpoint"})
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body["_idempotency_key"] = self.headers.get("Idempotency-Key")
        state.posts.append(body)
        to = body["to"]
        if to in state.invalid_numbers:
            self._answer(400, {"error": f"invalid destination number {to}"})
            return
        if state.busy_times.get(to, 0) > 0:
            state.busy_times[to] -= 1
            self._answer(503, {"error": "service busy"}, {"Retry-After": "0"})
            return
        message_id = f"gw-{len(state.messages) + 1:04d}"
        status = "failed" if to in state.undeliverable else "delivered"
        state.messages[message_id] = {"id": message_id, "status": status, "client_ref": body["client_ref"],
                                      "error": "absent subscriber" if status == "failed" else None}
        self._answer(201, {"id": message_id, "status": "queued"})

    def do_GET(self) -> None:
        state: GatewayState = self.server.state
        if not self._authorised():
            return
        message_id = self.path.rsplit("/", 1)[-1]
        if message_id not in state.messages:
            self._answer(404, {"error": "unknown message"})
            return
        self._answer(200, state.messages[message_id])


@dataclass
class HttpGateway:
    base_url: str
    state: GatewayState


@pytest.fixture
def http_gateway() -> Iterator[HttpGateway]:
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), _GatewayHandler)
    httpd.state = GatewayState()  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield HttpGateway(f"http://127.0.0.1:{httpd.server_address[1]}/v1", httpd.state)  # type: ignore[attr-defined]
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)
