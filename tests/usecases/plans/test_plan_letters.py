"""A debtor without email or phone gets the plan bot's instalment messages by letter (SQLite and PostgreSQL).

Four debtors (nl, fr, de, en) with a postal address and neither email nor phone agree plans with
``dunning plans create``; the night 9 days before the first due date (the policy's 3 days, plus the 6
the post may take under Book XIX) records each reminder on the letter channel; the real renderer
(WeasyPrint) makes the PDFs and the real ``send_letters`` puts them in a print batch (file transport),
while the plan's own hold pauses the flow. Each letter is read as the debtor reads it (pdfium's text of
page 1): the instalment, its amount, its due date, its own reference and what remains; the EPC QR code,
decoded from the page's pixels (zxing-cpp), pays exactly that instalment with its reference. A dispute
makes a letter wait until it is lifted. A deferral goes by letter too, asking for the new instalment.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import make_url, select, update

from dunning.cli import EXIT_OK, cli
from dunning.domain.epc import parse_epc_payload
from dunning.domain.legal import select_pack
from dunning.domain.planning.actions import Channel
from dunning.domain.references import parse_reference
from dunning.store import Store
from dunning.store.actions import insert_hold
from dunning.store.schema import actions, deliveries, holds
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.letters.render import render_letters
from dunning.usecases.letters.send import send_letters
from dunning.usecases.planning.night import load_flows, run_night
from dunning.usecases.plans.create import list_plans
from dunning.workspace import Workspace, open_workspace
from tests.usecases.letters.helpers import first_page_text, qr_codes
from tests.usecases.messaging.helpers import ENV, HEADER, IMPORTED
from tests.usecases.messaging.helpers import make_workspace as messaging_workspace

RECORDED = datetime(2026, 10, 1, tzinfo=UTC)
#: external id: (name, language, amount); none has an email address or a phone number
POSTED = {
    "P1": ("Jan Peeters", "nl", "100.00"),
    "P2": ("Marie Dubois", "fr", "150.50"),
    "P3": ("Hans Müller", "de", "80.00"),
    "P4": ("Ann Smith", "en", "60.00"),
}
MADE_ON = date(2026, 10, 6)
FIRST_DUE = date(2026, 11, 15)
#: a letter is posted 3 + 6 days before the due date: Book XIX counts it received on the 3rd working day after
#: posting, up to 6 calendar days later, so it is in hand 3 days before, as an email would be
REMINDER_NIGHT = date(2026, 11, 6)


def _workspace(root: Path, store_url: str) -> Workspace:
    messaging_workspace(root)
    path = root / "dunning.yaml"
    config: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["database"] = make_url(store_url)._replace(password=None).render_as_string(hide_password=False)
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    ledger = [HEADER] + [
        f"{ext},{name},person,{lang},Kerkstraat {n},2000,Antwerpen,BE,,,,residential,INV-2026-{n:05d},2026-09-01,"
        f"2026-10-01,{amount},{amount},EUR,Energy"
        for n, (ext, (name, lang, amount)) in enumerate(POSTED.items(), start=1)
    ]
    (root / "ledger" / "posted.csv").write_text("\n".join(ledger) + "\n", encoding="utf-8")
    return open_workspace(root, environ={})


def _night(store: Store, workspace: Workspace, day: date) -> None:
    flows, problems = load_flows(workspace.flows_dir)
    assert not [p for p in problems if p.severity == "error"]
    run_night(store, flows, day, creditor_country="BE", creditor_language="nl", recorded_at=RECORDED,
              plan_policy=workspace.config.plans.policy())


def _plan_actions(store: Store, name: str) -> list[Any]:
    with store.begin() as conn:
        return list(conn.execute(select(actions.c.id, actions.c.case_id, actions.c.channel, actions.c.status,
                                        actions.c.detail).where(actions.c.action == name).order_by(actions.c.id)))


def _read(workspace: Workspace, day: date, action_id: int) -> tuple[str, Decimal | None, str]:
    """The letter as the debtor reads it: page 1's words, and what its EPC QR code pays (amount, reference)."""
    pdf = workspace.output_dir / "letters" / day.isoformat() / f"{action_id}.pdf"
    epc = parse_epc_payload(next(code for code in qr_codes(pdf) if code.startswith("BCD")))
    return " ".join(first_page_text(pdf).split()), epc.amount, epc.reference


#: what each debtor reads of instalment 1 (of 2): the subject, the amount and due date, what remains
EXPECTED = {
    "P1": ("Termijn 1 van uw betalingsregeling vervalt op 15 november 2026", "€ 50,00", "vervalt op 15 november 2026",
           "Nog te betalen volgens de regeling, deze termijn inbegrepen € 100,00"),
    "P2": ("L'échéance 1 de votre plan de paiement arrive le 15 novembre 2026", "75,25 €", "arrive le 15 novembre 2026",
           "Reste à payer selon le plan, cette échéance comprise 150,50 €"),
    "P3": ("Rate 1 Ihres Ratenplans ist am 15. November 2026 fällig", "40,00 €", "ist am 15. November 2026 fällig",
           "Laut Ratenplan noch zu zahlen, diese Rate eingeschlossen 80,00 €"),
    "P4": ("Instalment 1 of your payment plan falls due on 15 November 2026", "30,00 €",
           "falls due on 15 November 2026",
           "Still to pay under your plan, this instalment included 60,00 €"),
}


def test_instalment_reminders_go_by_letter_with_the_instalments_own_reference_and_qr_code(
    tmp_path: Path, store: Store, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = _workspace(tmp_path / "ws", store_url)
    monkeypatch.setenv("DUNNING_DATABASE", store_url)
    import_ledger(store, workspace.root / "ledger" / "posted.csv", as_of=IMPORTED, reference_kind="be-ogm")
    for ext in POSTED:
        made = CliRunner().invoke(cli, ["-w", str(workspace.root), "plans", "create", ext, "--count", "2", "--day",
                                        "15", "--start", FIRST_DUE.isoformat(), "--date", MADE_ON.isoformat(),
                                        "--by", "clerk"])
        assert made.exit_code == EXIT_OK, made.stderr
    assert len(list_plans(store)) == 4

    _night(store, workspace, REMINDER_NIGHT - timedelta(days=1))
    assert _plan_actions(store, "plan_reminder") == []
    _night(store, workspace, REMINDER_NIGHT)
    reminders = _plan_actions(store, "plan_reminder")
    received = select_pack("BE", "consumer").period_start(REMINDER_NIGHT, Channel.LETTER)
    assert received <= FIRST_DUE - timedelta(days=workspace.config.plans.policy().reminder_days_before)
    assert [(r.channel, r.status) for r in reminders] == [("letter", "planned")] * 4
    # a dispute on one case: its letter waits, planned (as its email would); the plan's own hold stops none
    disputed = reminders[-1].case_id
    with store.begin() as conn:
        insert_hold(conn, disputed, kind="dispute", reason="disputed", start=REMINDER_NIGHT, until=None,
                    source="test:dispute")
    run = render_letters(store, workspace, REMINDER_NIGHT, workers=1, env=ENV)
    assert (run.rendered, run.failed, run.waiting) == (3, 0, 1), run.summary()
    with store.begin() as conn:
        conn.execute(update(holds).where(holds.c.source == "test:dispute").values(released_on=REMINDER_NIGHT))
    assert render_letters(store, workspace, REMINDER_NIGHT, workers=1, env=ENV).rendered == 1
    by_case = {p.case_id: p.plan for p in list_plans(store)}
    for reminder, ext in zip(reminders, POSTED, strict=True):
        first = by_case[reminder.case_id].instalments[0]
        text, amount, reference = _read(workspace, REMINDER_NIGHT, reminder.id)
        subject, money, due, remains = EXPECTED[ext]
        assert POSTED[ext][0] in text and subject in text and money in text and due in text and remains in text
        assert parse_reference(first.reference).printed in text
        assert (amount, reference) == (first.amount, first.reference)  # the instalment's own QR code
    # rendered, then disputed before the print run: that letter stays out of the batch until the hold is lifted
    with store.begin() as conn:
        insert_hold(conn, reminders[0].case_id, kind="dispute", reason="disputed", start=REMINDER_NIGHT, until=None,
                    source="test:dispute-2")
    printed = send_letters(store, workspace, REMINDER_NIGHT)
    assert (len(printed.batches), printed.letters, printed.problems) == (1, 3, [])
    assert [r.status for r in _plan_actions(store, "plan_reminder")] == ["planned"] + ["sent"] * 3
    with store.begin() as conn:
        conn.execute(update(holds).where(holds.c.source == "test:dispute-2").values(released_on=REMINDER_NIGHT))
    printed = send_letters(store, workspace, REMINDER_NIGHT)
    assert (len(printed.batches), printed.letters, printed.problems) == (1, 1, [])
    assert [r.status for r in _plan_actions(store, "plan_reminder")] == ["sent"] * 4
    with store.begin() as conn:
        batches = conn.execute(select(deliveries.c.detail).where(deliveries.c.channel == "print")).scalars().all()
    assert sorted(int(i) for batch in batches for i in batch["letters"]) == [r.id for r in reminders]
    # nothing twice: the night, the renderer and the print run again add nothing
    _night(store, workspace, REMINDER_NIGHT)
    assert render_letters(store, workspace, REMINDER_NIGHT, workers=1, env=ENV).rendered == 0
    assert send_letters(store, workspace, REMINDER_NIGHT).letters == 0
    assert len(_plan_actions(store, "plan_reminder")) == 4

    # instalment 1 missed after the grace days: deferred to a new instalment 3, told by letter with its reference
    missed_on = date(2026, 11, 21)
    _night(store, workspace, missed_on)
    deferred = _plan_actions(store, "plan_deferred")
    assert [(d.channel, d.status) for d in deferred] == [("letter", "planned")] * 4
    assert render_letters(store, workspace, missed_on, workers=1, env=ENV).rendered == 4
    p1 = next(d for d in deferred if by_case[d.case_id].total == Decimal("100.00"))
    plan = next(p.plan for p in list_plans(store) if p.case_id == p1.case_id)
    third = plan.instalments[2]
    text, amount, reference = _read(workspace, missed_on, p1.id)
    assert "Termijn 1 verschoven naar een nieuwe termijn 3" in text and "vervaldag 15 januari 2027" in text
    assert (amount, reference) == (third.amount, third.reference) == (Decimal("50.00"), third.reference)
    assert parse_reference(third.reference).printed in text and "€ 100,00" in text
