"""Email transports, chosen by URL: ``.eml`` files (the default) or SMTP.

* ``file://output/emails`` (or ``file:///abs/dir``): one ``<Message-ID>.eml`` per message,
  written atomically. Writing the same message again is a no-op, so a re-run never duplicates.
* ``smtp://host:587``: plain connection upgraded with STARTTLS when the server offers it
  (``?starttls=required`` refuses a server that does not; ``?starttls=off`` never upgrades).
* ``smtps://host:465``: TLS from the first byte.

Credentials come from the environment, never from the URL: ``DUNNING_SMTP_USERNAME`` and
``DUNNING_SMTP_PASSWORD`` (a username in the URL is allowed, a password is refused). AUTH is only
done over TLS. ``?rate=5`` limits the messages per second.

One connection serves the whole batch (reconnecting after a drop). Each message gets a
:class:`SendResult`, never an exception: a ``5xx`` answer is a permanent failure (take the
fallback channel), a ``4xx`` or a dropped connection is retried with exponential backoff and
then reported as a transient failure (try again next run). A failure that hits the connection
itself (TLS refused, AUTH rejected) marks every later message of the transport transient (until
it is closed) without hammering the server, also when messages are handed over one at a time.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from dunning.channels.email import OutgoingEmail
from dunning.errors import ConfigError
from dunning.ports import DeliveryStatus, MessageTransport, RateLimiter, SendResult

__all__ = [
    "EmailTransport",
    "FileEmailTransport",
    "SmtpTransport",
    "open_email_transport",
]

USERNAME_ENV = "DUNNING_SMTP_USERNAME"
PASSWORD_ENV = "DUNNING_SMTP_PASSWORD"


#: An email transport: sends :class:`OutgoingEmail` and answers one :class:`SendResult` each.
EmailTransport = MessageTransport[OutgoingEmail, SendResult]


def _safe_filename(message_id: str) -> str:
    name = message_id.strip("<>")
    return "".join(c if c.isalnum() or c in "._@-" else "_" for c in name) + ".eml"


class FileEmailTransport:
    """Writes each message to ``<dir>/<Message-ID>.eml`` (the demo and default transport)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send_batch(self, messages: Iterable[OutgoingEmail]) -> list[SendResult]:
        self.directory.mkdir(parents=True, exist_ok=True)
        results = []
        for message in messages:
            target = self.directory / _safe_filename(message.message_id)
            if target.exists():
                results.append(SendResult(message.action_id, message.message_id, DeliveryStatus.SENT,
                                          f"already written to {target.name}"))
                continue
            temporary = target.with_suffix(".eml.part")
            try:
                # The envelope goes in front as Return-Path, as a delivering MTA would add it.
                temporary.write_bytes(b"Return-Path: <" + message.envelope_from.encode("ascii") + b">\r\n"
                                      + message.raw)
                os.replace(temporary, target)
            except OSError as exc:
                results.append(SendResult(message.action_id, message.message_id,
                                          DeliveryStatus.TRANSIENT_FAILURE, f"cannot write {target}: {exc}"))
                continue
            results.append(SendResult(message.action_id, message.message_id, DeliveryStatus.SENT,
                                      f"written to {target.name}"))
        return results

    def close(self) -> None:
        pass


class _ConnectionFailed(Exception):
    """The connection itself cannot be made usable (TLS, AUTH): stop this batch."""


class SmtpTransport:
    """SMTP with connection reuse, STARTTLS, AUTH, a rate limit and per-message results."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 30.0,
        rate_limit: float | None = None,
        max_attempts: int = 3,
        backoff: float = 2.0,
        max_per_connection: int = 1000,
        local_hostname: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if security not in ("starttls", "starttls-required", "off", "smtps"):
            raise ConfigError(f"SMTP security {security!r}: use starttls, starttls-required, off or smtps")
        if max_attempts < 1:
            raise ConfigError("SMTP max_attempts must be at least 1")
        self.host, self.port, self.security = host, port, security
        self._username, self._password = username, password
        self._ssl_context = ssl_context or ssl.create_default_context()
        self._timeout = timeout
        self._limiter = RateLimiter(rate_limit, sleep=sleep)
        self._max_attempts, self._backoff = max_attempts, backoff
        self._max_per_connection = max_per_connection
        self._local_hostname = local_hostname
        self._sleep = sleep
        self._smtp: smtplib.SMTP | None = None
        self._sent_on_connection = 0
        #: why the connection cannot be made usable (TLS, AUTH, unreachable): every later message
        #: of this transport is transient without another attempt, even when handed over one by one
        self._broken: str | None = None
        self.connections_opened = 0
        self.encrypted = False

    # -- connection ---------------------------------------------------------------------------
    def _connect(self) -> smtplib.SMTP:
        smtp: smtplib.SMTP
        if self.security == "smtps":
            smtp = smtplib.SMTP_SSL(self.host, self.port, local_hostname=self._local_hostname,
                                    timeout=self._timeout, context=self._ssl_context)
            encrypted = True
        else:
            smtp = smtplib.SMTP(self.host, self.port, local_hostname=self._local_hostname, timeout=self._timeout)
            encrypted = False
        try:
            smtp.ehlo()
            if self.security in ("starttls", "starttls-required") and not encrypted:
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=self._ssl_context)
                    smtp.ehlo()
                    encrypted = True
                elif self.security == "starttls-required":
                    raise _ConnectionFailed(f"{self.host}:{self.port} does not offer STARTTLS, which is required")
            if self._username:
                if not encrypted:
                    raise _ConnectionFailed(f"refusing to send the SMTP password to {self.host} without TLS")
                smtp.login(self._username, self._password or "")
        except smtplib.SMTPAuthenticationError as exc:
            smtp.close()
            raise _ConnectionFailed(f"SMTP AUTH rejected by {self.host}: {exc.smtp_code}") from None
        except ssl.SSLError as exc:
            smtp.close()
            raise _ConnectionFailed(f"TLS with {self.host}:{self.port} failed: {exc.reason}") from None
        except _ConnectionFailed:
            smtp.close()
            raise
        self.connections_opened += 1
        self.encrypted = encrypted
        self._sent_on_connection = 0
        return smtp

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None and self._sent_on_connection >= self._max_per_connection:
            self._drop(quit_politely=True)
        if self._smtp is None:
            self._smtp = self._connect()
        return self._smtp

    def _drop(self, quit_politely: bool = False) -> None:
        if self._smtp is None:
            return
        try:
            if quit_politely:
                self._smtp.quit()
            else:
                self._smtp.close()
        except (smtplib.SMTPException, OSError):
            self._smtp.close()
        self._smtp = None

    def close(self) -> None:
        self._drop(quit_politely=True)
        self._broken = None

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- sending ------------------------------------------------------------------------------
    def _attempt(self, message: OutgoingEmail) -> tuple[int | None, str]:
        """Send once; return (None, "") on success or (reply code or None, detail) on failure."""
        smtp = self._connection()
        try:
            refused = smtp.sendmail(message.envelope_from, list(message.recipients), message.raw)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if 421 in codes:  # the server is closing the connection
                self._drop()
            # Any temporary refusal makes the whole message worth retrying.
            code = min(codes) if any(400 <= c < 500 for c in codes) else max(codes)
            texts = [resp.decode("utf-8", "replace") for _, resp in exc.recipients.values()]
            return code, f"recipient refused: {code} {'; '.join(texts)}"
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code == 421:  # the server is closing the connection
                self._drop()
            detail = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(
                exc.smtp_error)
            return exc.smtp_code, f"{type(exc).__name__}: {exc.smtp_code} {detail}"
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            return None, f"connection lost: {exc}"
        self._sent_on_connection += 1
        if refused:
            # Several recipients, some refused: the message went; say who did not get it.
            return None, "accepted for some recipients, refused: " + ", ".join(
                f"{code}" for code, _ in refused.values())
        return None, ""

    def send(self, message: OutgoingEmail) -> SendResult:
        attempt = 0
        while True:
            attempt += 1
            self._limiter.wait()
            code, detail = self._attempt(message)
            if code is None and not detail.startswith("connection lost"):
                return SendResult(message.action_id, message.message_id, DeliveryStatus.SENT,
                                  detail or "250 accepted", None, attempt)
            if code is not None and 500 <= code < 600:
                return SendResult(message.action_id, message.message_id, DeliveryStatus.PERMANENT_FAILURE,
                                  detail, code, attempt)
            if attempt >= self._max_attempts:
                return SendResult(message.action_id, message.message_id, DeliveryStatus.TRANSIENT_FAILURE,
                                  f"{detail} (gave up after {attempt} attempts)", code, attempt)
            self._sleep(self._backoff * 2 ** (attempt - 1))

    def send_batch(self, messages: Iterable[OutgoingEmail]) -> list[SendResult]:
        results: list[SendResult] = []
        for message in messages:
            if self._broken is not None:
                results.append(SendResult(message.action_id, message.message_id,
                                          DeliveryStatus.TRANSIENT_FAILURE, self._broken, None, 0))
                continue
            try:
                results.append(self.send(message))
            except (_ConnectionFailed, OSError, smtplib.SMTPException) as exc:
                # Cannot even connect: every remaining message (of this batch and of later ones,
                # until close) waits for the next run.
                self._broken = f"not sent: {exc}"
                results.append(SendResult(message.action_id, message.message_id,
                                          DeliveryStatus.TRANSIENT_FAILURE, self._broken, None, 1))
        return results


def open_email_transport(
    url: str,
    *,
    env: Mapping[str, str] | None = None,
    ssl_context: ssl.SSLContext | None = None,
    base_dir: Path | None = None,
    sleep: Callable[[float], None] = time.sleep,
    **options: object,
) -> EmailTransport:
    """Open a transport from its URL (see the module docstring). ``options`` go to SmtpTransport.

    A relative ``file://`` folder is taken from ``base_dir`` (usually the workspace), like the
    print-house transports of :mod:`dunning.adapters.transport`.
    """
    environ = os.environ if env is None else env
    parts = urlsplit(url)
    if parts.scheme == "file":
        directory = unquote(parts.netloc + parts.path)
        if not directory:
            raise ConfigError(f"email transport {url!r}: give a folder, e.g. file://output/emails")
        return FileEmailTransport((base_dir or Path.cwd()) / directory)
    if parts.scheme not in ("smtp", "smtps"):
        raise ConfigError(f"email transport {url!r}: scheme must be file, smtp or smtps")
    if parts.password:
        raise ConfigError(f"email transport for {parts.hostname}: put the password in ${PASSWORD_ENV}, "
                          "not in the URL")
    if not parts.hostname:
        raise ConfigError(f"email transport {url!r}: no host")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    if parts.scheme == "smtps":
        security = "smtps"
    else:
        security = {"auto": "starttls", "required": "starttls-required", "off": "off"}.get(
            query.get("starttls", "auto"), "")
        if not security:
            raise ConfigError(f"email transport {url!r}: starttls must be auto, required or off")
    try:
        port = parts.port or (465 if security == "smtps" else 587)
        # ``?rate=`` in the URL wins over a ``rate_limit`` option (the dispatcher passes
        # ``email.rate_per_second`` as one): one value, never both as keyword arguments.
        fallback_rate = options.pop("rate_limit", None)
        rate = float(query["rate"]) if "rate" in query else (
            float(fallback_rate) if isinstance(fallback_rate, int | float) else None)
    except ValueError as exc:
        raise ConfigError(f"email transport {url!r}: {exc}") from None
    username = unquote(parts.username) if parts.username else environ.get(USERNAME_ENV)
    password = environ.get(PASSWORD_ENV)
    if username and password is None:
        raise ConfigError(f"email transport for {parts.hostname}: user {username!r} needs ${PASSWORD_ENV}")
    return SmtpTransport(parts.hostname, port, security=security, username=username, password=password,
                         ssl_context=ssl_context, rate_limit=rate, sleep=sleep, **options)  # type: ignore[arg-type]
