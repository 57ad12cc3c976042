"""The email of test_send_now, and a process that sends it and is killed (SIGKILL) right after the server took it.

    python -m tests.usecases.messaging.send_now_child <store url> <workspace folder>
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from dunning.adapters.smtp import EmailTransport, open_email_transport
from dunning.channels.email import Attachment, OutgoingEmail
from dunning.ports import SendResult
from dunning.store import open_store
from dunning.usecases.messaging.send_now import EmailNow, send_email_now
from dunning.workspace import open_workspace
from tests.usecases.messaging.helpers import ENV

NOW = datetime(2026, 10, 10, 9, 0, tzinfo=UTC)
#: one paragraph of 2,700 characters (no line break), accents, a long subject and a binary PDF
LONG_TEXT = ("Sehr geehrte Frau Müller-Lüdenscheidt, " + "die Zahlungsvereinbarung über Ihre offene Forderung "
             "wurde geprüft und bestätigt; " * 33 + "\n\nMit freundlichen Grüßen\nVereniging van Mede-eigenaars "
             "Résidence Les Érables\n")
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
EMAIL = EmailNow(
    key="test:1:email",
    to="hans.mueller@example.de",
    subject="Ihre Zahlungsvereinbarung mit der Vereniging van Mede-eigenaars Résidence Les Érables (Vorgang 3)",
    text=LONG_TEXT,
    language="de",
    kind="test",
    auto_submitted="auto-replied",
    attachments=(Attachment("P-3-1-terms.pdf", PDF),),
)


class KilledAfterSending:
    """The real SMTP transport; the process dies as soon as the server has taken the message."""

    def __init__(self, inner: EmailTransport) -> None:
        self.inner = inner

    def send_batch(self, messages: list[OutgoingEmail]) -> list[SendResult]:
        self.inner.send_batch(messages)
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("not reached")

    def close(self) -> None:
        self.inner.close()


if __name__ == "__main__":
    store = open_store(sys.argv[1])
    workspace = open_workspace(Path(sys.argv[2]), environ={})
    transport = KilledAfterSending(open_email_transport(workspace.config.email.transport, env={},
                                                        base_dir=workspace.root))
    send_email_now(store, workspace, EMAIL, now=NOW, env=ENV, transport=transport)  # type: ignore[arg-type]
