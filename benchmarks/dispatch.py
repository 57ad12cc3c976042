"""Benchmark: `dispatch_messages` sending 2,000 emails to a real SMTP server (aiosmtpd) on 127.0.0.1.

    .venv/bin/python benchmarks/dispatch.py [--emails 2000] [--database sqlite|postgresql] [--code DIR]

Since issue 15 each email is recorded *sending* just before it is handed to the server and its
result right after (one commit per message, the result of message i and the mark of message i + 1
together), so a crash leaves at most the one message in flight uncertain. This measures what that
costs: seconds, emails per second and commits for the sending part of a dispatch (planning and
import are not timed), on SQLite (a file in a temporary folder, WAL) or on PostgreSQL
(``$DUNNING_TEST_DATABASE_URL`` names an account allowed to create a database; one is made and
dropped). ``--code DIR`` runs another checkout's ``dunning`` package (e.g. ``git archive <commit>
dunning | tar -x -C DIR``) for a before/after comparison on the same machine; the SMTP URL carries
``?rate=`` so the old code's ``TypeError`` (issue 15, "SMTP does not start") does not stop it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emails", type=int, default=2000)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--code", type=Path, help="a folder holding another checkout's dunning package")
    return parser.parse_args()


ARGS = _arguments()
sys.path.insert(0, str(REPO))
if ARGS.code is not None:
    sys.path.insert(0, str(ARGS.code.resolve()))

from sqlalchemy import create_engine, event, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from dunning.store import open_store  # noqa: E402
from dunning.usecases.importing.snapshot import import_ledger  # noqa: E402
from dunning.usecases.messaging.dispatch import dispatch_messages  # noqa: E402
from tests.channels.conftest import _start_smtp  # noqa: E402
from tests.usecases.messaging.helpers import ENV, FIRST_NIGHT, HEADER, IMPORTED, make_workspace, plan  # noqa: E402

NOW = datetime(2026, 10, 8, 10, 0, tzinfo=ZoneInfo("Europe/Brussels"))


def ledger(path: Path, count: int) -> Path:
    rows = [HEADER]
    for n in range(1, count + 1):
        rows.append(f"D{n:05d},Debtor {n},person,{('nl', 'fr', 'de', 'en')[n % 4]},Kerkstraat {n},2000,Antwerpen,"
                    f"BE,d{n:05d}@example.be,,,residential,INV-2026-{n:05d},2026-09-01,2026-10-01,"
                    f"{40 + n % 900}.{n % 100:02d},{40 + n % 900}.{n % 100:02d},EUR,Energy")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def main() -> None:
    import dunning

    logging.disable(logging.WARNING)
    admin = None
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        smtp = _start_smtp()
        url = f"sqlite:///{Path(tmp) / 'state.db'}"
        if ARGS.database == "postgresql":
            admin = make_url(os.environ["DUNNING_TEST_DATABASE_URL"])
            name = f"dunning_bench_{uuid.uuid4().hex[:10]}"
            admin_engine = create_engine(admin, isolation_level="AUTOCOMMIT")
            with admin_engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = admin.set(database=name).render_as_string(hide_password=False)
        try:
            workspace = make_workspace(root, email_transport=f"smtp://127.0.0.1:{smtp.port}?starttls=off&rate=100000")
            store = open_store(url)
            import_ledger(store, ledger(root / "ledger" / "bench.csv", ARGS.emails), as_of=IMPORTED,
                          reference_kind="be-ogm")
            plan(store, workspace, FIRST_NIGHT)
            commits = [0]
            event.listen(store.engine, "commit", lambda _conn: commits.__setitem__(0, commits[0] + 1))
            started = time.perf_counter()
            result = dispatch_messages(store, workspace, FIRST_NIGHT, channels=("email",), now=NOW, env=ENV)
            seconds = time.perf_counter() - started
            summary = result.channel("email")
            received = len(smtp.recorder.messages)
            store.dispose()
        finally:
            smtp.controller.stop()
            if admin is not None:
                with admin_engine.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin_engine.dispose()
    print(f"code {Path(dunning.__file__).parent.parent}  database {ARGS.database}")
    print(f"emails due {summary.due}, sent {summary.sent}, received by the server {received}")
    for problem in result.problems[:3]:  # a wrong setup shows here (counts only: no personal data)
        print("problem:", problem)
    print(f"{seconds:.2f} s  {summary.sent / seconds:.0f} emails/s  {commits[0]} commits")


if __name__ == "__main__":
    main()
