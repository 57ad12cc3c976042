"""The acknowledgements flow: print-house answers are recorded (once) and reported; email bounces are applied."""

from __future__ import annotations

import asyncio
import mailbox
from email import message_from_bytes, policy
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from sqlalchemy import select

from dunning.store import open_store
from dunning.store.schema import actions, case_events
from pipelines.acknowledgements import PROCESS_BOUNCES, acknowledgements
from pipelines.nightly import nightly

ACKS = """batch_id,letter_id,status,date,reason
P20261124-DK-DL-STANDARD-DOM-001-3f9a1c2e,L-0001,accepted,2026-11-24,
P20261124-DK-DL-STANDARD-DOM-001-3f9a1c2e,L-0001,printed,2026-11-25,
P20261124-DK-DL-STANDARD-DOM-001-3f9a1c2e,L-0002,returned,2026-12-02,addressee unknown
P20261124-DK-DL-STANDARD-DOM-001-3f9a1c2e,L-0003,lost,2026-12-02,
"""


async def _latest_artifact(key: str) -> Any:
    async with get_client() as client:
        found = await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return max(found, key=lambda a: a.created.timestamp() if a.created else 0.0)


def test_print_acknowledgements_are_recorded_once_and_reported(workspace: Path) -> None:
    folder = workspace / "output" / "print" / "acknowledgements"
    folder.mkdir(parents=True)
    (folder / "answers-2026-12-02.csv").write_text(ACKS, encoding="utf-8")

    report = acknowledgements(workspace=str(workspace), date="2026-12-02")

    printed = report["print"]
    assert printed["files"] == 1 and printed["events"] == 3
    assert printed["by_status"] == {"accepted": 1, "printed": 1, "returned": 1}
    # the unreadable row first, then the rows naming a batch this workspace never sent
    assert printed["problems"][0].startswith("answers-2026-12-02.csv:5: status 'lost'")
    assert printed["problems"][1:] == [f"answers-2026-12-02.csv:{line}: unknown batch "
                                       "'P20261124-DK-DL-STANDARD-DOM-001-3f9a1c2e'" for line in (2, 3, 4)]
    assert printed["recorded"] == 0
    assert (folder / "answers-2026-12-02.csv").exists()  # left in place; its SHA-256 in the store marks it done

    markdown = asyncio.run(_latest_artifact("acknowledgements-acme")).data
    assert "| returned | 1 |" in markdown and "answers-2026-12-02.csv:5" in markdown
    assert "SMS delivery reports" in markdown
    again = acknowledgements(workspace=str(workspace), date="2026-12-02")["print"]
    assert (again["files"], again["events"], again["problems"]) == (0, 0, [])


def _dsn_for(original: bytes, status: str = "5.1.1") -> bytes:
    """A Postfix-style RFC 3464 report for a message we sent, addressed to its VERP Return-Path."""
    message = message_from_bytes(original, policy=policy.compat32)
    verp = str(message["Return-Path"]).strip().strip("<>")
    recipient = parseaddr(str(message["To"]))[1]
    headers = "".join(f"{key}: {value}\n" for key, value in message.items() if key != "Return-Path")
    return (
        "Return-Path: <>\n"
        f"Delivered-To: {verp}\n"
        "From: MAILER-DAEMON@mx1.example.net (Mail Delivery System)\n"
        f"To: {verp}\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        "Auto-Submitted: auto-replied\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B0UND"\n\n'
        "--B0UND\nContent-Type: text/plain; charset=utf-8\n\nYour message could not be delivered.\n\n"
        "--B0UND\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx1.example.net\n\n"
        f"Final-Recipient: rfc822; {recipient}\nAction: failed\nStatus: {status}\n"
        f"Diagnostic-Code: smtp; 550 {status} mailbox unavailable\n\n"
        f"--B0UND\nContent-Type: text/rfc822-headers\n\n{headers}\n--B0UND--\n"
    ).encode()


def test_a_hard_bounce_fails_the_email_once(workspace: Path, tmp_path: Path) -> None:
    if PROCESS_BOUNCES is None:  # before the messaging stage lands, the flow says so
        report = acknowledgements(workspace=str(workspace), bounce_source=str(tmp_path))
        assert report["bounces"]["status"].startswith("not available yet")
        return
    nightly(workspace=str(workspace), date="2026-11-24")
    sent = sorted((workspace / "output" / "mail").glob("*.eml"))
    assert sent, "the nightly flow dispatched no email"
    maildir = mailbox.Maildir(str(tmp_path / "bounces"), create=True)
    maildir.add(_dsn_for(sent[0].read_bytes()))

    without = acknowledgements(workspace=str(workspace), date="2026-11-26")
    assert "no bounce mailbox given" in without["bounces"]["status"]

    first = acknowledgements(workspace=str(workspace), date="2026-11-26", bounce_source=str(tmp_path / "bounces"))
    second = acknowledgements(workspace=str(workspace), date="2026-11-26", bounce_source=str(tmp_path / "bounces"))

    assert first["bounces"]["result"]["hard"] == 1 and first["bounces"]["result"]["emails_invalidated"] == 1
    assert second["bounces"]["result"]["hard"] == 0 and second["bounces"]["result"]["already_known"] == 1
    store = open_store(f"sqlite:///{workspace / 'state.db'}")
    try:
        with store.begin() as conn:
            bounced = list(conn.execute(select(actions.c.idempotency_key).where(actions.c.status == "bounced")))
            failures = list(conn.execute(select(case_events.c.detail).where(case_events.c.kind == "delivery_failed")))
    finally:
        store.dispose()
    assert len(bounced) == 1 and len(failures) == 1
    assert failures[0].detail["ref"] == bounced[0].idempotency_key
