"""``dunning demo``: the whole cycle on a fresh workspace, as far as it is built.

It grows with each capability: today it imports a ledger, walks the flows over
several nights (first reminders, SMS nudges, legal fees and interest, second
reminders), imports a later snapshot (some invoices paid elsewhere, one amount
changed: the paid debtors get their thank-you), shows that a re-import and a
re-run change nothing, and prints the cases and one timeline.
"""

from __future__ import annotations

import csv
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from camt.build import Payment, build_camt
from dunning.cli import cli
from dunning.cli.output import console, emit
from dunning.domain.references import parse_reference
from dunning.store import Store, open_store
from dunning.usecases.cases.view import case_detail, list_cases
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.letters.data import latest_letter_kinds, letter_for_case
from dunning.usecases.letters.render import render_letters
from dunning.usecases.letters.send import send_letters
from dunning.usecases.messaging.dispatch import DispatchResult, dispatch_messages
from dunning.usecases.notify.run import notify
from dunning.usecases.paypage.links import case_pay_link, local_link
from dunning.usecases.planning.night import RunResult, load_flows, run_night
from dunning.usecases.reconcile.run import reconcile_inbox
from dunning.workspace import EXAMPLE_LEDGER, Workspace, init_workspace, open_workspace, reset_folder

FIRST_NIGHT = date(2026, 10, 20)
NIGHTS = (date(2026, 10, 25), date(2026, 11, 2), date(2026, 11, 10))
BANK_DAY = date(2026, 11, 12)
SECOND_NIGHT = date(2026, 11, 16)
LAST_NIGHT = date(2026, 11, 24)


def _night_line(result: RunResult) -> str:
    counts = ", ".join(f"{n} {a.replace('_', ' ')}" for a, n in result.by_action.items()) or "nothing due"
    return f"{result.run_date} run: {counts}"


def _sent_line(result: DispatchResult) -> str:
    parts = []
    for summary in result.channels:
        if summary.sent or summary.failed or summary.deferred:
            parts.append(
                f"{summary.sent} {summary.channel} sent"
                + (f", {summary.failed} failed" if summary.failed else "")
                + (f", {summary.deferred} deferred" if summary.deferred else "")
            )
    return "; ".join(parts) or "no messages"


def bank_payments(store: Store) -> list[Payment]:
    """What the bank brought in: one debtor pays everything with the structured reference from the
    letter, one quotes an invoice number in free text, one pays part, and a stranger pays 42.00."""
    rows = {case.case_id: case for case in list_cases(store)}
    invoices = case_detail(store, "12").invoices if 12 in rows else []
    first_invoice = min(invoices, key=lambda i: i["due_date"], default=None)

    def total(case_id: int) -> str:
        return str(rows[case_id].total_due)

    def printed(case_id: int) -> str:
        return parse_reference(rows[case_id].reference or "").printed

    payments = [
        Payment(total(5), ref=printed(5), name="Sophie Lambert"),
        Payment("100.00", ref=printed(7), name="P. de Vries"),
        Payment("42.00", text="Lidgeld tennisclub", name="Onbekende betaler"),
    ]
    if first_invoice is not None:
        payments.insert(
            1,
            Payment(str(first_invoice["open_amount"]), text=f"Factuur {first_invoice['invoice']}", name="Julie Martin"),
        )
    return payments


def _second_brand_previews(store: Store, workspace: Workspace, day: date) -> Path:
    """The last letter each of a few cases got, rendered again in the second shipped brand (PDF and PNG)."""
    from dunning.letters import preview

    folder: Path = workspace.output_dir / "letters" / "brand-atelier"
    latest = latest_letter_kinds(store)
    for case_id in sorted(latest)[:4]:
        kind = latest[case_id]
        letter = letter_for_case(store, workspace, case_id, day, kind)
        preview(kind, letter.language, "atelier", folder / f"case{case_id}-{kind}-{letter.language}.pdf", letter)
    return folder


def later_snapshot(source: Path, target: Path) -> list[str]:
    """Write a copy of ``source`` in which three invoices are paid and one amount is lower."""
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    paid = [rows[i]["invoice"] for i in (4, 9, 15)]
    kept = [r for r in rows if r["invoice"] not in paid]
    kept[0] = {**kept[0], "open_amount": "200.00"}
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)
    return paid


@cli.command("demo")
@click.argument("directory", type=click.Path(file_okay=False), default="demo")
def demo_command(directory: str) -> None:
    """Run the cycle on a fresh workspace in DIRECTORY (default ./demo) and show what it made."""
    root = Path(directory).resolve()
    reset_folder(root)
    init_workspace(root)
    workspace = open_workspace(root, environ={})
    store = open_store(workspace.database_url)
    kind = workspace.config.creditor.reference
    reports = workspace.reports_dir
    console.rule(f"[bold]dunning demo[/] in {root}")

    ledger = root / EXAMPLE_LEDGER
    first = import_ledger(store, ledger, as_of=FIRST_NIGHT, reference_kind=kind, reports_dir=reports)
    console.print(
        f"1. {FIRST_NIGHT} import {ledger.name}: {first.accepted} open items, "
        f"{first.counts['debtors_added']} debtors, {first.counts['cases_opened']} cases, "
        f"{first.warnings} warnings (report: {Path(first.report).name if first.report else '-'})"
    )

    flows, problems = load_flows(workspace.flows_dir)
    assert not [p for p in problems if p.severity == "error"], problems
    creditor = workspace.config.creditor

    zone = ZoneInfo(creditor.timezone)

    def night(day: date) -> str:
        """Plan the night, then send its emails and SMS (at 10:00, inside SMS quiet hours)."""
        planned = run_night(
            store,
            flows,
            day,
            creditor_country=creditor.address.country,
            creditor_language=creditor.language,
            write_off=workspace.config.bank.write_off_tolerance(),
            timezone=creditor.timezone,
        )
        sent = dispatch_messages(store, workspace, day, now=datetime.combine(day, time(10), tzinfo=zone))
        rendered = render_letters(store, workspace, day)
        printed = send_letters(store, workspace, day)
        told = notify(store, workspace, day, now=datetime.combine(day, time(10, 30), tzinfo=zone), env={})
        letters = (
            f"; {printed.letters} letters in {len(printed.batches)} print batches" if printed.letters else ""
        ) + (f" ({rendered.failed} could not be rendered)" if rendered.failed else "")
        hooks, files = told.webhooks.counts.delivered, told.exports.exported
        third = f"; {hooks} webhooks to the creditor" if hooks else ""
        third += f"; {files} cases exported ({', '.join(Path(f).name for f in told.exports.files)})" if files else ""
        return f"{_night_line(planned)} → {_sent_line(sent)}{letters}{third}"

    for step, day in enumerate(NIGHTS, start=2):
        console.print(f"{step}. {night(day)}")

    statement = root / "bank" / "inbox" / f"camt054-{BANK_DAY}.xml"
    statement.write_bytes(
        build_camt("054", bank_payments(store), day=BANK_DAY, account=creditor.iban, msg_id=f"DEMO-{BANK_DAY}")
    )
    bank = reconcile_inbox(store, workspace, as_of=BANK_DAY).summary()
    outcomes = bank["outcomes"]
    console.print(
        f"4b. {BANK_DAY} bank file {statement.name}: {outcomes['matched']['count']} payments matched, "
        f"{outcomes['suggested']['count'] + outcomes['unmatched']['count']} to review; cases paid "
        f"{bank['cases_paid']}, partly paid {bank['cases_partly_paid']}"
    )

    later = root / "ledger" / f"open-items-{SECOND_NIGHT}.csv"
    paid = later_snapshot(ledger, later)
    second = import_ledger(store, later, as_of=SECOND_NIGHT, reference_kind=kind, reports_dir=reports)
    console.print(
        f"5. {SECOND_NIGHT} import {later.name}: {second.counts['invoices_closed']} invoices settled "
        f"outside ({', '.join(paid)}), {second.counts['invoices_changed']} amount changed, "
        f"{second.counts['cases_closed']} cases closed"
    )
    again = import_ledger(store, later, as_of=SECOND_NIGHT, reference_kind=kind, reports_dir=reports)
    console.print(f"6. the same file again: {'nothing changed' if again.already_imported else 'CHANGED (bug)'}")
    console.print(f"7. {night(SECOND_NIGHT)}")
    console.print(f"8. {SECOND_NIGHT} again: {night(SECOND_NIGHT)}")
    console.print(f"9. {night(LAST_NIGHT)}")
    mail, sms = workspace.output_dir / "mail", workspace.output_dir / "sms"
    letters, batches = workspace.output_dir / "letters", workspace.output_dir / "print"
    console.print(f"   emails: {len(list(mail.glob('*.eml')))} in {mail}   ·   SMS: {sms}")
    console.print(
        f"   letters: {len(list(letters.rglob('*.pdf')))} PDFs in {letters}   ·   print batches: "
        f"{len(list(batches.rglob('*.ready')))} in {batches}"
    )
    second_brand = _second_brand_previews(store, workspace, LAST_NIGHT)
    console.print(f"   the same cases in the 'atelier' brand (white label): {second_brand}")

    cases = list_cases(store)
    emit(
        [c.as_dict() for c in cases],
        "table",
        title="Cases",
        columns=["case", "debtor", "status", "stage", "total_due", "credit", "currency", "reference"],
    )
    detail = case_detail(store, str(cases[0].case_id))
    emit(
        [e.as_dict() for e in detail.timeline],
        "table",
        title=f"Timeline of case {cases[0].case_id}",
        columns=["date", "what", "amount", "why"],
    )
    open_case = next((c for c in cases if c.status == "open" and c.reference), None)
    if open_case is not None:
        # Counted from today when the demo's nights are past, so the link opens for paylink.valid_days.
        sent_on = max(LAST_NIGHT, datetime.now(zone).date())
        link = local_link(workspace, case_pay_link(store, workspace, open_case.case_id, sent_on))
        console.print(
            f"10. the pay page of case {open_case.case_id}: run dunning -w {directory} serve, then open", markup=False
        )
        console.print(link, soft_wrap=True, markup=False, highlight=False)
    store.dispose()
    console.print(f"Workspace: {root}  ·  try: dunning -w {directory} cases   ·   dunning -w {directory} case 1")
