"""Every transport URL form the README documents sends for real (issue 15, item 4).

Each test configures a workspace with one URL form, then runs the command a user runs (the ``dunning``
executable of this venv, in a subprocess, with secrets in the environment as in production) against a
real server on 127.0.0.1: aiosmtpd (plain, STARTTLS with AUTH, implicit TLS), an SMPP SMSC, the HTTP
SMS gateway (plain and TLS), OpenSSH's sftp-server (known_hosts or a pinned fingerprint) and the webhook
receiver (plain and TLS). TLS servers use the self-signed certificate of ``tests/channels/conftest.py``;
the command trusts it through ``SSL_CERT_FILE``, as an operator with a private CA would.
What arrived on the server is compared with what the store recorded (Message-IDs, client references,
batch files, idempotency keys), and a second run sends nothing more.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select, update

from dunning.store import open_store
from dunning.store.schema import debtors, deliveries, outbox
from tests.channels.conftest import (
    GatewayState,
    SmppServer,
    SmtpServer,
    TlsFiles,
    _authenticator,
    _GatewayHandler,
    _start_smtp,
    free_port,
    tls_files,  # noqa: F401 - the session's self-signed certificate, as a fixture here too
)
from tests.servers.sshd import SshdServer, start_sshd
from tests.usecases.letters import helpers as letters
from tests.usecases.messaging import helpers as messaging
from tests.usecases.notify import helpers as notify
from tests.usecases.notify.conftest import SECRET as WEBHOOK_SECRET
from tests.usecases.notify.conftest import Receiver, _handler

DUNNING = str(Path(sys.executable).parent / "dunning")
SMTP_PASSWORD = "s3cret"  # what tests/channels/conftest.py's authenticator accepts for user "dunning"
GATEWAY_TOKEN = "gw-token"


def run_dunning(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """``dunning -w ROOT ARGS --format json`` as a user runs it; (exit code, the JSON it printed)."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith("DUNNING_")}
    environ.update({"CI": "1", **(env or {})})
    done = subprocess.run([DUNNING, "-w", str(root), *args, "--format", "json"], env=environ,
                          capture_output=True, text=True, timeout=300, check=False)
    assert "Traceback" not in done.stderr, done.stderr
    try:
        output = json.loads(done.stdout[done.stdout.index("{"):])
    except ValueError:
        raise AssertionError(f"exit {done.returncode}, no JSON: {done.stdout}\n{done.stderr}") from None
    return done.returncode, output


def set_config(root: Path, section: str, **values: Any) -> None:
    path = root / "dunning.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config[section].update(values)
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")


def recorded(database_url: str, channel: str, key: str) -> list[str]:
    """``detail[key]`` of the workspace's deliveries on ``channel`` that are sent (or delivered)."""
    store = open_store(database_url)
    try:
        with store.begin() as conn:
            rows = conn.execute(select(deliveries.c.detail).where(deliveries.c.channel == channel,
                                                                  deliveries.c.status.in_(("sent", "delivered"))))
            return sorted(str(row.detail[key]) for row in rows)
    finally:
        store.dispose()


def channel_summary(output: dict[str, Any], channel: str) -> dict[str, Any]:
    return next(row for row in output["channels"] if row["channel"] == channel)


def daytime_zone() -> str:
    """An ``Etc/GMT`` zone where it is now 10:00 to 18:00, Monday to Saturday: SMS may go out whenever this runs."""
    for offset in range(-12, 15):
        local = time.gmtime(time.time() + offset * 3600)
        if local.tm_wday != 6 and 10 <= local.tm_hour < 17:
            return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"
    raise AssertionError("no zone has daytime now")  # pragma: no cover - some offset always fits


@contextmanager
def http_server(handler: type[BaseHTTPRequestHandler], tls: TlsFiles | None) -> Iterator[ThreadingHTTPServer]:
    """A threaded HTTP server on 127.0.0.1, speaking TLS with the test certificate when ``tls`` is given."""
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    if tls is not None:
        httpd.socket = tls.server_context().wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


# -- email: `dunning dispatch --channel email` ----------------------------------------------------------
@dataclass(frozen=True)
class EmailForm:
    url: str  # {port}: the server's, {folder}: an absolute folder
    server: str | None  # plain | starttls-auth | smtps | smtps-auth; None for file://
    env: dict[str, str] = field(default_factory=dict)
    tls: bool = False
    login: str | None = None


AUTH = {"DUNNING_SMTP_PASSWORD": SMTP_PASSWORD}
EMAIL_FORMS = {
    "file-relative": EmailForm("file://output/mail", None),
    "file-absolute": EmailForm("file://{folder}", None),
    # no query at all: STARTTLS when offered (this server offers none), the rate from email.rate_per_second
    "smtp": EmailForm("smtp://127.0.0.1:{port}", "plain"),
    "smtp-starttls-off-rate": EmailForm("smtp://127.0.0.1:{port}?starttls=off&rate=50", "plain"),
    "smtp-user-starttls-auto": EmailForm("smtp://dunning@127.0.0.1:{port}", "starttls-auth", AUTH, True, "dunning"),
    "smtp-user-starttls-required-rate": EmailForm("smtp://dunning@127.0.0.1:{port}?starttls=required&rate=50",
                                                  "starttls-auth", AUTH, True, "dunning"),
    "smtp-user-from-environment": EmailForm("smtp://127.0.0.1:{port}?starttls=required", "starttls-auth",
                                            {**AUTH, "DUNNING_SMTP_USERNAME": "dunning"}, True, "dunning"),
    "smtps": EmailForm("smtps://127.0.0.1:{port}", "smtps", tls=True),
    "smtps-user-rate": EmailForm("smtps://dunning@127.0.0.1:{port}?rate=50", "smtps-auth", AUTH, True, "dunning"),
}


def start_smtp(kind: str, tls: TlsFiles) -> SmtpServer:
    if kind == "plain":
        return _start_smtp()
    if kind == "starttls-auth":
        return _start_smtp(tls_context=tls.server_context(), require_starttls=True, authenticator=_authenticator,
                           auth_require_tls=True, auth_required=True)
    if kind == "smtps":
        return _start_smtp(ssl_context=tls.server_context(), server_hostname="localhost")
    assert kind == "smtps-auth"
    return _start_smtp(ssl_context=tls.server_context(), server_hostname="localhost", authenticator=_authenticator,
                       auth_require_tls=False, auth_required=True)


def message_ids(raw_messages: list[bytes]) -> list[str]:
    return sorted(str(message_from_bytes(raw, policy=policy.default)["Message-ID"]).strip() for raw in raw_messages)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # smtps-auth: TLS from the first byte
@pytest.mark.parametrize("form_id", EMAIL_FORMS)
def test_dispatch_sends_email_through_every_documented_url_form(form_id: str, tmp_path: Path,
                                                                 tls_files: TlsFiles) -> None:  # noqa: F811
    form = EMAIL_FORMS[form_id]
    server = start_smtp(form.server, tls_files) if form.server else None
    try:
        folder = tmp_path / "mail-absolute"
        url = form.url.format(port=server.port if server else 0, folder=folder)
        workspace = messaging.make_workspace(tmp_path / "ws", email_transport=url)
        store = open_store(workspace.database_url)
        messaging.import_and_plan(store, workspace)
        store.dispose()
        env = {**messaging.ENV, "SSL_CERT_FILE": str(tls_files.cert), **form.env}

        code, output = run_dunning(workspace.root, "dispatch", "--date", "2026-10-08", "--channel", "email", env=env)

        assert code == 0, output
        summary = channel_summary(output, "email")
        assert (summary["due"], summary["sent"], summary["failed"], summary["deferred"]) == (4, 4, 0, 0), output
        if server is None:
            where = folder if "absolute" in form_id else workspace.root / "output" / "mail"
            arrived = [path.read_bytes() for path in where.glob("*.eml")]
        else:
            arrived = [message.content for message in server.recorder.messages]
            assert [(m.tls, m.login) for m in server.recorder.messages] == [(form.tls, form.login)] * 4
        assert message_ids(arrived) == recorded(workspace.database_url, "email", "message_id")
        assert len(arrived) == 4

        code, again = run_dunning(workspace.root, "dispatch", "--date", "2026-10-08", "--channel", "email", env=env)
        assert code == 0 and channel_summary(again, "email")["due"] == 0
        if server is not None:
            assert len(server.recorder.messages) == 4
    finally:
        if server is not None:
            server.controller.stop()


# -- SMS: `dunning dispatch --channel sms` --------------------------------------------------------------
SMS_FORMS = {
    "file-relative": ("file://output/sms", None, {}),
    "smpp": ("smpp://dunning:pw@127.0.0.1:{port}", "smpp", {}),
    "smpp-password-from-environment": ("smpp://dunning@127.0.0.1:{port}", "smpp", {"DUNNING_SMPP_PASSWORD": "pw"}),
    "http-gateway": ("http://127.0.0.1:{port}/v1", "http", {"DUNNING_SMS_TOKEN": GATEWAY_TOKEN}),
    "https-gateway": ("https://127.0.0.1:{port}/v1", "https", {"DUNNING_SMS_TOKEN": GATEWAY_TOKEN}),
}
#: Italian mobiles: quiet hours have no rule for IT, so the creditor's time zone (set to daytime) decides
PHONES = {"D1": "+393470000001", "D2": "+393470000002"}


def planned_sms_workspace(root: Path, url: str) -> Any:
    workspace = messaging.make_workspace(root, sms_transport=url)
    set_config(root, "creditor", timezone=daytime_zone())
    store = open_store(workspace.database_url)
    try:
        messaging.import_and_plan(store, workspace)
        with store.begin() as conn:
            for external_id, phone in PHONES.items():
                conn.execute(update(debtors).where(debtors.c.external_id == external_id).values(phone=phone))
        letters.mark_messages_sent(store)  # the first reminders went; a week later the SMS nudge is due
        messaging.plan(store, workspace, messaging.SMS_NIGHT)
    finally:
        store.dispose()
    return workspace


@contextmanager
def sms_server(kind: str | None, tls: TlsFiles) -> Iterator[tuple[int, Callable[[], list[str]]]]:
    """(port, a function giving the destination numbers the server received)."""
    if kind is None:
        yield 0, list
    elif kind == "smpp":
        smsc = SmppServer("127.0.0.1", free_port())
        smsc.start()
        try:
            yield smsc.port, lambda: ["+" + pdu.destination_addr.lstrip("+") for pdu in smsc.submitted]
        finally:
            smsc.stop()
    else:
        state = GatewayState(token=GATEWAY_TOKEN)
        with http_server(_GatewayHandler, tls if kind == "https" else None) as httpd:
            httpd.state = state  # type: ignore[attr-defined]
            yield int(httpd.server_address[1]), lambda: [
                post["to"] if post["_idempotency_key"] == post["client_ref"] else "wrong key" for post in state.posts]


@pytest.mark.parametrize("form_id", SMS_FORMS)
def test_dispatch_sends_sms_through_every_documented_url_form(form_id: str, tmp_path: Path,
                                                               tls_files: TlsFiles) -> None:  # noqa: F811
    template, kind, extra = SMS_FORMS[form_id]
    with sms_server(kind, tls_files) as (port, received):
        workspace = planned_sms_workspace(tmp_path / "ws", template.format(port=port))
        env = {**messaging.ENV, "SSL_CERT_FILE": str(tls_files.cert), **extra}

        code, output = run_dunning(workspace.root, "dispatch", "--date", messaging.SMS_NIGHT.isoformat(),
                                   "--channel", "sms", "--receipt-wait", "1", env=env)

        assert code == 0, output
        summary = channel_summary(output, "sms")
        assert (summary["sent"], summary["deferred"], summary["errors"]) == (2, 0, 0), output
        refs = recorded(workspace.database_url, "sms", "client_ref")
        assert len(refs) == 2
        if kind is None:
            lines = (workspace.root / "output" / "sms" / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
            assert sorted(json.loads(line)["client_ref"] for line in lines) == refs
        else:
            numbers = received()
            # a long text goes in several SMPP segments: each number at least once, no other number
            assert set(numbers) == set(PHONES.values()), numbers

        code, again = run_dunning(workspace.root, "dispatch", "--date", messaging.SMS_NIGHT.isoformat(),
                                  "--channel", "sms", "--receipt-wait", "0", env=env)
        assert code == 0 and channel_summary(again, "sms")["sent"] == 0
        if kind is not None:
            assert received() == numbers


# -- print: `dunning letters` ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdServer]:
    with start_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


PRINT_FORMS = ("file-relative", "file-absolute", "sftp-key-known-hosts", "sftp-key-pinned-fingerprint")


@pytest.mark.parametrize("form_id", PRINT_FORMS)
def test_letters_go_to_the_print_house_through_every_documented_url_form(form_id: str, tmp_path: Path,
                                                                          sshd: SshdServer) -> None:
    remote = f"{sshd.remote_upload}/{form_id}"
    landing = {"file-relative": tmp_path / "ws" / "output" / "print", "file-absolute": tmp_path / "print-absolute"}
    config: dict[str, Any] = {
        "file-relative": {"transport": "file://output/print"},
        "file-absolute": {"transport": f"file://{landing['file-absolute']}"},
        "sftp-key-known-hosts": {"transport": sshd.url(remote), "key": sshd.client_key,
                                 "known_hosts": sshd.known_hosts},
        "sftp-key-pinned-fingerprint": {"transport": sshd.url(remote), "key": sshd.client_key,
                                        "fingerprint": sshd.fingerprint},
    }[form_id]
    if form_id.startswith("sftp"):
        landing[form_id] = sshd.local_upload / form_id
        landing[form_id].mkdir()
        shutil.chown(landing[form_id], sshd.username, sshd.username)  # the print house's own folder
    workspace = letters.make_workspace(tmp_path / "ws", batch_size=2, **config)
    store = open_store(workspace.database_url)
    try:
        letters.plan_letters(store, workspace)
        count = len(letters.letter_actions(store))
    finally:
        store.dispose()
    assert count >= 2

    code, output = run_dunning(workspace.root, "letters", "--date", letters.LETTER_DAY.isoformat(), "--workers", "1")

    assert code == 0, output
    assert (output["rendered"], output["failed"], output["letters_sent"]) == (count, 0, count), output
    folder = landing[form_id]
    for batch_id in output["batch_ids"]:
        pdf = (folder / f"{batch_id}.pdf").read_bytes()
        marker = (folder / f"{batch_id}.ready").read_text(encoding="utf-8")
        assert pdf.startswith(b"%PDF") and f"{hashlib.sha256(pdf).hexdigest()}  {batch_id}.pdf" in marker
    assert sorted(p.name for p in folder.glob("*.pdf")) == sorted(f"{b}.pdf" for b in output["batch_ids"])

    code, again = run_dunning(workspace.root, "letters", "--date", letters.LETTER_DAY.isoformat())
    assert code == 0 and (again["rendered"], again["letters_sent"], again["batches"]) == (0, 0, 0)


# -- webhooks: `dunning notify` -------------------------------------------------------------------------
WEBHOOK_FORMS = ("file-relative", "http", "https")


@pytest.mark.parametrize("form_id", WEBHOOK_FORMS)
def test_notify_posts_webhooks_through_every_documented_url_form(form_id: str, tmp_path: Path,
                                                                  tls_files: TlsFiles) -> None:  # noqa: F811
    receiver = Receiver()
    with http_server(_handler(receiver), tls_files if form_id == "https" else None) as httpd:
        receiver.port = int(httpd.server_address[1])
        url = {"file-relative": "file://output/webhooks", "http": receiver.url,
               "https": receiver.url.replace("http://", "https://")}[form_id]
        root = tmp_path / "ws"
        workspace = notify.make_workspace(root, f"sqlite:///{root / 'state.db'}", url=url)
        store = open_store(workspace.database_url)
        try:
            notify.import_and_plan(store, workspace)
        finally:
            store.dispose()
        env = {"DUNNING_WEBHOOK_SECRET": WEBHOOK_SECRET, "SSL_CERT_FILE": str(tls_files.cert)}

        code, output = run_dunning(root, "notify", "--date", notify.NIGHT.isoformat(), env=env)

        assert code == 0, output
        store = open_store(workspace.database_url)
        try:
            with store.begin() as conn:
                rows = list(conn.execute(select(outbox.c.status, outbox.c.body).where(outbox.c.target == "webhook")))
        finally:
            store.dispose()
        assert rows and {status for status, _ in rows} == {"delivered"}, rows
        ids = sorted(json.loads(body)["id"] for _, body in rows)
        if form_id == "file-relative":
            assert sorted(p.stem for p in (root / "output" / "webhooks").glob("*.json")) == ids
        else:
            assert sorted(r.key for r in receiver.requests) == ids  # one POST each, under its idempotency key
            assert all(r.verified and r.answered == 200 for r in receiver.requests)

        code, _ = run_dunning(root, "notify", "--date", notify.NIGHT.isoformat(), env=env)
        assert code == 0 and len(receiver.requests) == (0 if form_id == "file-relative" else len(ids))
