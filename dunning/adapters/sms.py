"""SMS transports, chosen by URL: JSON lines (the default), SMPP, or an HTTP gateway.

* ``file://output/sms``: appends one JSON object per SMS to ``<dir>/outbox.jsonl``; an SMS whose
  ``client_ref`` is already in the file is not written again (a re-run never duplicates).
* ``smpp://system_id:password@host:2775``: SMPP 3.4 over one transceiver bind (smpplib). Long
  texts go as concatenated segments with a user data header; GSM-7 as unpacked septets
  (``data_coding=0``), otherwise UCS-2 (``data_coding=8``). Delivery receipts (``deliver_sm``)
  are collected with :meth:`SmppTransport.collect_reports`. The password may also come from
  ``$DUNNING_SMPP_PASSWORD``.
* ``http://`` / ``https://`` base URL: a small JSON gateway API (the shape most commercial
  gateways share):

  - ``POST {base}/messages`` with ``{"to", "from", "text", "client_ref"}`` → ``{"id", "status"}``;
    ``Authorization: Bearer $DUNNING_SMS_TOKEN`` when that variable is set; the ``client_ref``
    also goes as ``Idempotency-Key`` so a gateway that honours it never sends twice;
  - ``GET {base}/messages/{id}`` → ``{"id", "status", "client_ref", "error"}`` to poll delivery;
  - or delivery callbacks written by a webhook receiver as JSON lines with the same fields,
    read by :func:`read_callback_file`.

  400, 404, 409, 410 and 422 are permanent (an invalid number stays invalid); 408, 429 and 5xx
  and network errors are retried with backoff (honouring ``Retry-After``), then transient;
  401/403 stop the transport: every later SMS is transient without a request (every further
  request would fail the same way).

Every SMS gets an :class:`SmsSendResult`; none raises.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from dunning.channels import gsm7
from dunning.channels.sms import SmsMessage
from dunning.errors import ConfigError, InputError
from dunning.ports import (
    PERMANENT_SMS_STATES,
    DeliveryStatus,
    MessageTransport,
    RateLimiter,
    SmsDeliveryReport,
    SmsSendResult,
)

__all__ = [
    "FileSmsTransport",
    "HttpSmsGateway",
    "SmppTransport",
    "SmsTransport",
    "open_sms_transport",
    "parse_receipt_text",
    "read_callback_file",
]

TOKEN_ENV = "DUNNING_SMS_TOKEN"
SMPP_PASSWORD_ENV = "DUNNING_SMPP_PASSWORD"

# Delivery states, from SMPP receipt "stat:" words and gateway status strings.
_STATES = {
    "DELIVRD": "delivered", "DELIVERED": "delivered",
    "ACCEPTD": "pending", "ACCEPTED": "pending", "ENROUTE": "pending", "QUEUED": "pending", "SENT": "pending",
    "EXPIRED": "expired",
    "UNDELIV": "failed", "UNDELIVERABLE": "failed", "FAILED": "failed", "DELETED": "failed",
    "REJECTD": "rejected", "REJECTED": "rejected",
    "UNKNOWN": "unknown",
}
#: An SMS transport: sends :class:`SmsMessage` and answers one :class:`SmsSendResult` each.
SmsTransport = MessageTransport[SmsMessage, SmsSendResult]


def _state(word: str | None) -> str:
    return _STATES.get((word or "").strip().upper(), "unknown")


# -- file ------------------------------------------------------------------------------------------
class FileSmsTransport:
    """Appends SMS as JSON lines to ``<dir>/outbox.jsonl`` (the demo and default transport)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "outbox.jsonl"

    def _written_refs(self) -> set[str]:
        if not self.path.exists():
            return set()
        refs = set()
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    refs.add(json.loads(line)["client_ref"])
        return refs

    def send_batch(self, messages: Iterable[SmsMessage]) -> list[SmsSendResult]:
        self.directory.mkdir(parents=True, exist_ok=True)
        written = self._written_refs()
        results = []
        with self.path.open("a", encoding="utf-8") as handle:
            for sms in messages:
                if sms.client_ref in written:
                    results.append(SmsSendResult(sms.action_id, sms.client_ref, DeliveryStatus.SENT,
                                                 (sms.client_ref,), "already in outbox.jsonl"))
                    continue
                record = {"client_ref": sms.client_ref, "action_id": sms.action_id, "to": sms.to,
                          "from": sms.sender, "text": sms.text, "encoding": sms.encoding,
                          "segments": sms.segments}
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
                written.add(sms.client_ref)
                results.append(SmsSendResult(sms.action_id, sms.client_ref, DeliveryStatus.SENT,
                                             (sms.client_ref,), "written to outbox.jsonl"))
        return results

    def close(self) -> None:
        pass


# -- HTTP gateway ----------------------------------------------------------------------------------
_PERMANENT_HTTP = frozenset({400, 404, 409, 410, 413, 422})
_FATAL_HTTP = frozenset({401, 403})


class _SendsOneByOne:
    """``send_batch`` for transports that send one SMS at a time.

    Once the transport is stopped (bad credentials, no connection) every later SMS is transient
    without a request, in this batch and in later ones until :meth:`close`: the dispatcher hands
    SMS over one at a time, and must not hammer a gateway that refused our credentials.
    """

    _stopped: str | None = None

    def send(self, sms: SmsMessage) -> SmsSendResult:
        raise NotImplementedError

    def send_batch(self, messages: Iterable[SmsMessage]) -> list[SmsSendResult]:
        results: list[SmsSendResult] = []
        for sms in messages:
            if self._stopped is None:
                try:
                    results.append(self.send(sms))
                    continue
                except _BatchStopped as exc:
                    self._stopped = str(exc)
            results.append(SmsSendResult(sms.action_id, sms.client_ref, DeliveryStatus.TRANSIENT_FAILURE,
                                         (), f"not sent: {self._stopped}", None, 0))
        return results


class _BatchStopped(Exception):
    pass


class HttpSmsGateway(_SendsOneByOne):
    """Client of the small JSON gateway API described in the module docstring."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 15.0,
        max_attempts: int = 3,
        backoff: float = 1.0,
        max_wait: float = 60.0,
        rate_limit: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token, self._timeout = token, timeout
        self._max_attempts, self._backoff, self._max_wait = max_attempts, backoff, max_wait
        self._limiter = RateLimiter(rate_limit, sleep=sleep)
        self._sleep = sleep

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None,
                 headers: Mapping[str, str] | None = None) -> tuple[int, dict[str, Any], str | None]:
        """(HTTP status, JSON body or {}, Retry-After); status 0 for a network error."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return response.status, _json(response.read()), None
        except urllib.error.HTTPError as exc:
            return exc.code, _json(exc.read()), exc.headers.get("Retry-After")
        except (TimeoutError, urllib.error.URLError, OSError) as exc:
            return 0, {"error": str(getattr(exc, "reason", exc))}, None

    def send(self, sms: SmsMessage) -> SmsSendResult:
        payload = {"to": sms.to, "from": sms.sender, "text": sms.text, "client_ref": sms.client_ref}
        attempt = 0
        while True:
            attempt += 1
            self._limiter.wait()
            status, answer, retry_after = self._request("POST", "/messages", payload,
                                                        {"Idempotency-Key": sms.client_ref})
            reason = str(answer.get("error") or answer.get("message") or answer.get("status") or "")
            if 200 <= status < 300:
                provider_id = str(answer.get("id", ""))
                if _state(str(answer.get("status", ""))) in PERMANENT_SMS_STATES:
                    return SmsSendResult(sms.action_id, sms.client_ref, DeliveryStatus.PERMANENT_FAILURE,
                                         (provider_id,), f"gateway rejected the SMS: {reason}", status, attempt)
                return SmsSendResult(sms.action_id, sms.client_ref, DeliveryStatus.SENT, (provider_id,),
                                     f"accepted ({answer.get('status', '')})", status, attempt)
            if status in _FATAL_HTTP:
                raise _BatchStopped(f"gateway refused our credentials: HTTP {status} {reason}")
            if status in _PERMANENT_HTTP:
                return SmsSendResult(sms.action_id, sms.client_ref, DeliveryStatus.PERMANENT_FAILURE, (),
                                     f"HTTP {status} {reason}", status, attempt)
            detail = f"HTTP {status} {reason}" if status else f"network error: {reason}"
            if attempt >= self._max_attempts:
                return SmsSendResult(sms.action_id, sms.client_ref, DeliveryStatus.TRANSIENT_FAILURE, (),
                                     f"{detail} (gave up after {attempt} attempts)", status or None, attempt)
            wait = self._backoff * 2 ** (attempt - 1)
            if retry_after and retry_after.isdigit():
                wait = max(wait, float(retry_after))
            self._sleep(min(wait, self._max_wait))

    def poll_reports(self, provider_ids: Iterable[str]) -> list[SmsDeliveryReport]:
        """Ask the gateway for the state of each message; unreachable ones are left out."""
        reports = []
        for provider_id in provider_ids:
            status, answer, _ = self._request("GET", f"/messages/{quote(provider_id, safe='')}")
            if status == 200:
                reports.append(SmsDeliveryReport(provider_id, _state(str(answer.get("status"))),
                                              answer.get("client_ref"), answer.get("error")))
        return reports

    def close(self) -> None:
        self._stopped = None


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8")) if raw else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {"error": raw[:200].decode("utf-8", "replace")}
    return value if isinstance(value, dict) else {"error": str(value)[:200]}


def read_callback_file(path: Path) -> tuple[list[SmsDeliveryReport], list[str]]:
    """Delivery reports written as JSON lines by a webhook receiver; bad lines are reported."""
    if not path.is_file():
        raise InputError(f"delivery-report file {path} does not exist")
    reports: list[SmsDeliveryReport] = []
    problems: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                reports.append(SmsDeliveryReport(str(record["id"]), _state(record.get("status")),
                                              record.get("client_ref"), record.get("error")))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                problems.append(f"{path}:{number}: not a delivery report ({type(exc).__name__}: {exc})")
    return reports, problems


# -- SMPP ------------------------------------------------------------------------------------------
_RECEIPT = re.compile(r"id:(?P<id>\S+).*?stat:(?P<stat>\w+)(?:.*?err:(?P<err>\w+))?", re.IGNORECASE | re.DOTALL)
# SMPP command_status values worth retrying later; every other error is permanent.
_SMPP_TRANSIENT = frozenset({0x08, 0x14, 0x58, 0x45, 0x64})  # SYSERR, MSGQFUL, THROTTLED, SUBMITFAIL, TXFAIL
# SMPP message_state TLV values (SMPP 3.4, 5.2.28).
_MESSAGE_STATE = {1: "pending", 2: "delivered", 3: "expired", 4: "failed", 5: "failed", 6: "pending",
                  7: "unknown", 8: "rejected"}


def parse_receipt_text(text: str) -> tuple[str, str, str | None] | None:
    """``id:… stat:DELIVRD err:000`` → ``(id, state, error)``; None if it is not a receipt."""
    match = _RECEIPT.search(text)
    if not match:
        return None
    error = match.group("err")
    return match.group("id"), _state(match.group("stat")), None if error in (None, "000", "0") else error


def _segment_payloads(sms: SmsMessage) -> tuple[int, list[bytes]]:
    """(data_coding, short_message per segment) with a concatenation UDH when needed."""
    encoding, segments = gsm7.split_segments(sms.text)
    data_coding = 0 if encoding == "GSM-7" else 8

    def encode(text: str) -> bytes:
        return gsm7.encode_gsm7(text) if encoding == "GSM-7" else text.encode("utf-16-be")

    if len(segments) == 1:
        return data_coding, [encode(segments[0])]
    # The 8-bit concatenation reference must be the same for every segment of one SMS and
    # should differ between SMS to the same phone: derive it from the client ref.
    reference = hashlib.sha256(sms.client_ref.encode()).digest()[0]
    total = len(segments)
    return data_coding, [bytes((0x05, 0x00, 0x03, reference, total, index)) + encode(text)
                         for index, text in enumerate(segments, start=1)]


class SmppTransport(_SendsOneByOne):
    """SMPP 3.4 client (smpplib) with one transceiver bind for the batch and its receipts."""

    def __init__(
        self,
        host: str,
        port: int,
        system_id: str,
        password: str,
        *,
        system_type: str = "",
        timeout: float = 10.0,
        max_attempts: int = 3,
        backoff: float = 1.0,
        rate_limit: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.host, self.port = host, port
        self._system_id, self._password, self._system_type = system_id, password, system_type
        self._timeout = timeout
        self._max_attempts, self._backoff = max_attempts, backoff
        self._limiter = RateLimiter(rate_limit, sleep=sleep)
        self._sleep = sleep
        self._client: Any = None
        self._responses: dict[int, tuple[int, str | None]] = {}
        self._reports: list[SmsDeliveryReport] = []
        self.refs_by_provider_id: dict[str, str] = {}

    # smpplib callbacks ------------------------------------------------------------------------
    def _on_sent(self, pdu: Any, **_: object) -> None:
        message_id = pdu.message_id.decode() if isinstance(pdu.message_id, bytes) else pdu.message_id
        self._responses[pdu.sequence] = (int(pdu.status), message_id)

    def _on_error(self, pdu: Any) -> None:
        self._responses[pdu.sequence] = (int(pdu.status), None)

    def _on_received(self, pdu: Any, **_: object) -> int:
        text = pdu.short_message.decode("latin-1") if isinstance(pdu.short_message, bytes) else str(
            pdu.short_message or "")
        parsed = parse_receipt_text(text) if pdu.esm_class & 0x04 else None
        receipted = getattr(pdu, "receipted_message_id", None)
        if isinstance(receipted, bytes):
            receipted = receipted.decode()
        state_tlv = getattr(pdu, "message_state", None)
        if parsed or receipted:
            provider_id = receipted or (parsed[0] if parsed else "")
            state = _MESSAGE_STATE.get(state_tlv, parsed[1] if parsed else "unknown") if state_tlv else (
                parsed[1] if parsed else "unknown")
            self._reports.append(SmsDeliveryReport(provider_id, state, self.refs_by_provider_id.get(provider_id),
                                                parsed[2] if parsed else None))
        return 0  # ESME_ROK: acknowledge every deliver_sm, receipt or not

    def _connect(self) -> Any:
        import smpplib.client  # optional dependency, only for smpp:// URLs
        import smpplib.exceptions

        client = smpplib.client.Client(self.host, self.port, timeout=self._timeout,
                                       allow_unknown_opt_params=True)
        client.set_message_sent_handler(self._on_sent)
        client.set_message_received_handler(self._on_received)
        client.set_error_pdu_handler(self._on_error)
        try:
            client.connect()
            client.bind_transceiver(system_id=self._system_id, password=self._password,
                                    system_type=self._system_type)
        except smpplib.exceptions.PDUError as exc:
            self._close_quietly(client)
            raise _BatchStopped(f"SMPP bind refused by {self.host}:{self.port}: {exc}") from None
        except (smpplib.exceptions.ConnectionError, OSError) as exc:
            self._close_quietly(client)
            raise _BatchStopped(f"cannot connect to SMPP {self.host}:{self.port}: {exc}") from None
        return client

    @staticmethod
    def _close_quietly(client: Any) -> None:
        import smpplib.consts

        # smpplib warns when a client is dropped while it thinks it is bound (it never resets its
        # state after unbind) or when its socket is left open; we close on purpose, so say so.
        client.state = smpplib.consts.SMPP_CLIENT_STATE_OPEN
        with contextlib.suppress(OSError):
            client.disconnect()

    def _submit(self, sms: SmsMessage, data_coding: int, payload: bytes, multipart: bool) -> tuple[int, str | None]:
        import smpplib.consts
        import smpplib.exceptions

        if self._client is None:
            self._client = self._connect()
        client = self._client
        try:
            pdu = client.send_message(
                source_addr_ton=smpplib.consts.SMPP_TON_ALNUM if not sms.sender.lstrip("+").isdigit()
                else smpplib.consts.SMPP_TON_INTL,
                source_addr_npi=smpplib.consts.SMPP_NPI_UNK if not sms.sender.lstrip("+").isdigit()
                else smpplib.consts.SMPP_NPI_ISDN,
                source_addr=sms.sender.lstrip("+"),
                dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
                dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
                destination_addr=sms.to.lstrip("+"),
                short_message=payload,
                data_coding=data_coding,
                esm_class=0x40 if multipart else 0x00,
                registered_delivery=0x01,
            )
            deadline = time.monotonic() + self._timeout
            while pdu.sequence not in self._responses:
                if time.monotonic() > deadline:
                    raise smpplib.exceptions.ConnectionError("no submit_sm_resp in time")
                client.read_once()
        except (smpplib.exceptions.ConnectionError, OSError) as exc:
            self._drop()
            return -1, f"connection lost: {exc}"
        return self._responses.pop(pdu.sequence)

    def send(self, sms: SmsMessage) -> SmsSendResult:
        data_coding, payloads = _segment_payloads(sms)
        attempt = 0
        while True:
            attempt += 1
            ids: list[str] = []
            failure: tuple[int, str] | None = None
            for payload in payloads:
                self._limiter.wait()
                status, message_id = self._submit(sms, data_coding, payload, len(payloads) > 1)
                if status != 0:
                    failure = (status, message_id or "")
                    break
                ids.append(message_id or "")
                self.refs_by_provider_id[message_id or ""] = sms.client_ref
            if failure is None:
                return SmsSendResult(sms.action_id, sms.client_ref, DeliveryStatus.SENT, tuple(ids),
                                     f"submitted in {len(ids)} segment(s)", 0, attempt)
            status, text = failure
            detail = text if status == -1 else f"submit_sm refused with command_status 0x{status:08X}"
            if status != -1 and status not in _SMPP_TRANSIENT:
                return SmsSendResult(sms.action_id, sms.client_ref, DeliveryStatus.PERMANENT_FAILURE, tuple(ids),
                                     detail, status, attempt)
            if attempt >= self._max_attempts:
                return SmsSendResult(sms.action_id, sms.client_ref, DeliveryStatus.TRANSIENT_FAILURE, tuple(ids),
                                     f"{detail} (gave up after {attempt} attempts)", None if status == -1 else status,
                                     attempt)
            self._sleep(self._backoff * 2 ** (attempt - 1))

    def collect_reports(self, wait: float = 0.0, expected: int | None = None) -> list[SmsDeliveryReport]:
        """Delivery receipts received so far, reading for up to ``wait`` seconds more.

        Stops early once ``expected`` receipts are in hand. Returned receipts are not returned
        again by the next call.
        """
        import smpplib.exceptions

        deadline = time.monotonic() + wait
        if self._client is not None and self._client._socket is not None:
            sock = self._client._socket
            previous = sock.gettimeout()
            try:
                while time.monotonic() < deadline and (expected is None or len(self._reports) < expected):
                    sock.settimeout(max(0.05, min(0.5, deadline - time.monotonic())))
                    try:
                        pdu = self._client.read_pdu()
                    except TimeoutError:
                        continue
                    except (smpplib.exceptions.ConnectionError, OSError):
                        self._drop()
                        break
                    if pdu.command == "deliver_sm":
                        self._client._message_received(pdu)
                    elif pdu.command == "enquire_link":
                        self._client._enquire_link_received(pdu)
            finally:
                if self._client is not None and self._client._socket is not None:
                    sock.settimeout(previous)
        reports, self._reports = self._reports, []
        return reports

    def _drop(self) -> None:
        if self._client is not None:
            self._close_quietly(self._client)
            self._client = None

    def close(self) -> None:
        """Unbind and disconnect; call :meth:`collect_reports` first, later receipts are not read."""
        self._stopped = None
        if self._client is not None:
            import smpplib.exceptions

            # The SMSC may hang up before answering the unbind; that is normal.
            with contextlib.suppress(smpplib.exceptions.PDUError, smpplib.exceptions.ConnectionError, OSError):
                self._client.unbind()
            self._drop()


def open_sms_transport(
    url: str,
    *,
    env: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
    sleep: Callable[[float], None] = time.sleep,
    **options: Any,
) -> SmsTransport:
    """Open an SMS transport from its URL (see the module docstring).

    A relative ``file://`` folder is taken from ``base_dir`` (usually the workspace).
    """
    environ = os.environ if env is None else env
    parts = urlsplit(url)
    if parts.scheme == "file":
        directory = unquote(parts.netloc + parts.path)
        if not directory:
            raise ConfigError(f"SMS transport {url!r}: give a folder, e.g. file://output/sms")
        return FileSmsTransport((base_dir or Path.cwd()) / directory)
    if parts.scheme == "smpp":
        if not parts.hostname or not parts.username:
            raise ConfigError(f"SMS transport {parts.scheme}://{parts.hostname}: use smpp://system_id:password@host:port")
        password = environ.get(SMPP_PASSWORD_ENV) or (unquote(parts.password) if parts.password else None)
        if password is None:
            raise ConfigError(f"SMPP {parts.hostname}: no password in the URL or ${SMPP_PASSWORD_ENV}")
        return SmppTransport(parts.hostname, parts.port or 2775, unquote(parts.username), password,
                             sleep=sleep, **options)
    if parts.scheme in ("http", "https"):
        return HttpSmsGateway(url, token=environ.get(TOKEN_ENV), sleep=sleep, **options)
    raise ConfigError(f"SMS transport {url!r}: scheme must be file, smpp, http or https")
