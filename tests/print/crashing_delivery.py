"""Run a delivery in a separate process that then dies, for the crash tests.

    python -m tests.print.crashing_delivery MODE TICKET URL KEY KNOWN_HOSTS LOG

MODE ``hang-in-upload``: the upload of the PDF stops after its first chunk and waits (the test
kills the process with SIGKILL while the ``.part`` file is on the server).
MODE ``die-after-pdf``: the process exits at once (``os._exit``, no clean-up at all) right after the
PDF was renamed to its final name, before anything else is uploaded or recorded.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from dunning.adapters.transport import open_transport
from dunning.print.assemble import load_assembled_batch
from dunning.print.delivery import JsonDeliveryLog, deliver_batch


def main(argv: list[str]) -> None:
    mode, ticket, url, key, known_hosts, log = argv
    batch = load_assembled_batch(Path(ticket))

    def progress(sent: int, total: int) -> None:
        if mode == "hang-in-upload":
            time.sleep(120)

    def on_step(step: str) -> None:
        if mode == "die-after-pdf" and step == "pdf":
            os._exit(17)

    with open_transport(url, key_file=Path(key), known_hosts=Path(known_hosts)) as transport:
        deliver_batch(batch, transport, JsonDeliveryLog(Path(log)), progress=progress, on_step=on_step)


if __name__ == "__main__":
    main(sys.argv[1:])
