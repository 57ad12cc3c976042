"""Run by test_killed_dispatch: a dispatch killed (SIGKILL) right after its second message went out.

    python -m tests.usecases.messaging.killed_child <store url> <workspace folder>
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from dunning.adapters.smtp import FileEmailTransport
from dunning.channels.email import OutgoingEmail
from dunning.store import open_store
from dunning.usecases.messaging.dispatch import dispatch_messages
from dunning.workspace import open_workspace
from tests.usecases.messaging.helpers import ENV, FIRST_NIGHT, WEEKDAY_MORNING


class KilledAfterSending:
    def __init__(self, inner: FileEmailTransport) -> None:
        self.inner = inner
        self.handed_over = 0

    def send_batch(self, messages: list[OutgoingEmail]) -> list[object]:
        results = self.inner.send_batch(messages)
        self.handed_over += len(messages)
        if self.handed_over >= 2:
            os.kill(os.getpid(), signal.SIGKILL)
            raise AssertionError("not reached")
        return list(results)

    def close(self) -> None:
        pass


if __name__ == "__main__":
    store = open_store(sys.argv[1])
    workspace = open_workspace(Path(sys.argv[2]), environ={})
    transport = KilledAfterSending(FileEmailTransport(workspace.root / "output" / "mail"))
    dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=WEEKDAY_MORNING, env=ENV,
                      email_transport=transport, chunk_size=4)  # type: ignore[arg-type]
