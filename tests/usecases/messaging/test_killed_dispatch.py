"""A dispatch killed with SIGKILL between sending a message and recording it: the next one completes it, once."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from dunning.store import Store
from dunning.usecases.messaging.dispatch import dispatch_messages
from tests.usecases.messaging.helpers import (
    DEBTORS,
    ENV,
    FIRST_NIGHT,
    WEEKDAY_MORNING,
    all_deliveries,
    case_of,
    events_of,
    import_and_plan,
    make_workspace,
)

REPO = Path(__file__).resolve().parents[3]


def test_a_killed_dispatch_is_completed_by_the_next_without_duplicates(
        store: Store, store_url: str, tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    import_and_plan(store, workspace)
    outbox = workspace.root / "output" / "mail"

    child = subprocess.run([sys.executable, "-m", "tests.usecases.messaging.killed_child", store_url,
                            str(workspace.root)], cwd=REPO, capture_output=True, timeout=120, check=False)

    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    # Killed right after the second message was written: the first is recorded sent, the second
    # (in flight) sending, and the rest of the chunk, built but never handed over, has no row.
    assert [d.status for d in all_deliveries(store)] == ["sent", "sending"]
    written = {p.name: p.read_bytes() for p in outbox.glob("*.eml")}
    assert len(written) == 2

    result = dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=WEEKDAY_MORNING, env=ENV)

    assert (result.channel("email").sent, result.channel("email").recovered) == (3, 1)
    after = {p.name: p.read_bytes() for p in outbox.glob("*.eml")}
    assert len(after) == 4 and all(after[name] == content for name, content in written.items())
    assert sorted(d.status for d in all_deliveries(store)) == ["sent"] * 4
    assert [len(events_of(store, case_of(store, ext), "message_sent")) for ext in DEBTORS] == [1, 1, 1, 1]
