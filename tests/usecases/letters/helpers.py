"""A workspace from the shipped example with letters planned: the demo's first nights.

The example ledger (``examples/open-items.csv``) imported as of 2026-10-20, then the nights of
25 October and 2 November; the emails and SMS of each night count as sent (as the messaging
stage would record them), so the letters of the flows follow: first reminders by letter for
debtors without email, and the B2B second reminders.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import yaml
import zxingcpp
from sqlalchemy import select, update

from dunning.domain.references import parse_reference
from dunning.store import Store
from dunning.store.schema import actions, case_events, cases, debtors, deliveries, documents
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.planning.night import RunResult, load_flows, run_night
from dunning.workspace import Workspace, init_workspace, open_workspace

IMPORTED = date(2026, 10, 20)
NIGHTS = (date(2026, 10, 10), date(2026, 10, 17), date(2026, 10, 25), date(2026, 11, 2))  # a week apart: pacing
LETTER_DAY = date(2026, 11, 2)
RECORDED = datetime(2026, 11, 2, 22, 0, tzinfo=UTC)


def make_workspace(root: Path, **print_config: Any) -> Workspace:
    init_workspace(root)
    if print_config:
        path = root / "dunning.yaml"
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        config["print"].update({k: str(v) if isinstance(v, Path) else v for k, v in print_config.items()})
        path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return open_workspace(root, environ={})


def night(store: Store, workspace: Workspace, day: date) -> RunResult:
    flows, problems = load_flows(workspace.flows_dir)
    assert not [p for p in problems if p.severity == "error"]
    creditor = workspace.config.creditor
    return run_night(store, flows, day, creditor_country=creditor.address.country,
                     creditor_language=creditor.language, recorded_at=RECORDED)


def mark_messages_sent(store: Store) -> None:
    with store.begin() as conn:
        conn.execute(update(actions).where(actions.c.status == "planned", actions.c.channel.in_(("email", "sms")))
                     .values(status="sent"))


def plan_letters(store: Store, workspace: Workspace) -> None:
    import_ledger(store, workspace.root / "examples" / "open-items.csv", as_of=IMPORTED,
                  reference_kind=workspace.config.creditor.reference)
    for day in NIGHTS:
        night(store, workspace, day)
        mark_messages_sent(store)


def letter_actions(store: Store) -> list[Any]:
    with store.begin() as conn:
        return list(conn.execute(
            select(actions.c.id, actions.c.idempotency_key, actions.c.case_id, actions.c.status, actions.c.channel,
                   actions.c.outcome_on, actions.c.step, debtors.c.name, cases.c.reference)
            .join(cases, cases.c.id == actions.c.case_id).join(debtors, debtors.c.id == cases.c.debtor_id)
            .where(actions.c.channel.in_(("letter", "registered_letter"))).order_by(actions.c.id)))


def rows(store: Store, table: Any, *where: Any) -> list[Any]:
    with store.begin() as conn:
        return list(conn.execute(select(table).where(*where).order_by(table.c.id)))


def documents_by_action(store: Store) -> dict[int, Any]:
    return {row.action_id: row for row in rows(store, documents)}


def letter_deliveries(store: Store) -> list[Any]:
    return [r for r in rows(store, deliveries) if r.channel != "print"]


def batch_deliveries(store: Store) -> list[Any]:
    return rows(store, deliveries, deliveries.c.channel == "print")


def letter_events(store: Store) -> list[Any]:
    return rows(store, case_events, case_events.c.kind == "letter_sent")


def first_page_text(pdf: Path | bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    try:
        return str(document[0].get_textpage().get_text_range())
    finally:
        document.close()


def printed(reference: str) -> str:
    return parse_reference(reference).printed


def qr_codes(pdf: Path, scale: float = 4.0) -> list[str]:
    """The QR codes on page 1, decoded (zxing-cpp)."""
    document = pdfium.PdfDocument(pdf)
    try:
        image = document[0].render(scale=scale).to_pil()
    finally:
        document.close()
    return [barcode.text for barcode in zxingcpp.read_barcodes(image)]
