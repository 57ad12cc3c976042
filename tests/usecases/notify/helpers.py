"""A small workspace whose flow plans every webhook and export action on one night."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import make_url, select

from dunning.store import Store
from dunning.store.schema import actions, case_events, cases, debtors, outbox
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.planning.night import load_flows, run_night
from dunning.workspace import Workspace, init_workspace, open_workspace

IMPORTED = date(2026, 10, 5)
NIGHT = date(2026, 10, 20)  # day 19 after the due date: every step of FLOW is due
RECORDED = datetime(2026, 10, 1, tzinfo=UTC)

FLOW = """\
name: default
version: 1
description: Every creditor-side action on one night.
steps:
  - key: notify
    day: 7
    action: notify_creditor
    settings: {event: overdue_7}
  - key: block
    after: 0
    when: {segment: [energy]}
    action: block_service
    settings: {service: electricity}
  - key: legal
    after: 0
    when: {segment: [energy]}
    action: escalate_to_legal
    settings: {to: lawyer, note: "summary procedure"}
  - key: verify
    after: 0
    when: {segment: [residential]}
    action: verify_address
    settings: {provider: addresscheck}
  - key: hand_over
    after: 0
    when: {segment: [residential]}
    action: hand_over
    settings: {agency: ACME Collect, format: json}
"""

HEADER = ("customer_id,name,type,language,street,postal_code,city,country,email,phone,iban,segment,invoice,"
          "invoice_date,due_date,original_amount,open_amount,currency,description")
ROWS = [
    "R1,Jan Peeters,person,nl,Kerkstraat 1,2000,Antwerpen,BE,jan@example.be,+32470123456,,residential,"
    "INV-2026-00001,2026-09-01,2026-10-01,100.00,100.00,EUR,Energy",
    "R1,Jan Peeters,person,nl,Kerkstraat 1,2000,Antwerpen,BE,jan@example.be,+32470123456,,residential,"
    "INV-2026-00002,2026-09-02,2026-10-02,50.25,50.25,EUR,Gas",
    "E2,Marie Dubois,person,fr,Rue de la Loi 44,1040,Etterbeek,BE,marie@example.be,,,energy,"
    "INV-2026-00003,2026-09-01,2026-10-01,200.00,150.50,EUR,Energy",
]


def make_workspace(root: Path, store_url: str, **webhook: Any) -> Workspace:
    init_workspace(root)
    config_path = root / "dunning.yaml"
    config: dict[str, Any] = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    # a password never goes in dunning.yaml (refused): the file names the server, the password comes
    # from DUNNING_DATABASE, which tests/usecases/notify/conftest.py sets for every test with a store
    config["database"] = make_url(store_url)._replace(password=None).render_as_string(hide_password=False)
    config["webhook"] = {"backoff": 0.01, "max_wait": 1.0, "max_attempts": 4, **webhook}
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    for path in (root / "flows").glob("*.yaml"):
        path.unlink()
    (root / "flows" / "default.yaml").write_text(FLOW, encoding="utf-8")
    (root / "flows" / "assignment.yaml").write_text("assignment:\n  default: default\n", encoding="utf-8")
    (root / "ledger" / "test.csv").write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    return open_workspace(root, environ={})


def import_and_plan(store: Store, workspace: Workspace, night: date = NIGHT) -> None:
    import_ledger(store, workspace.root / "ledger" / "test.csv", as_of=IMPORTED, reference_kind="be-ogm")
    flows, problems = load_flows(workspace.flows_dir)
    assert not [p for p in problems if p.severity == "error"], problems
    run_night(store, flows, night, creditor_country="BE", creditor_language="nl", recorded_at=RECORDED)


def case_of(store: Store, external_id: str) -> int:
    with store.begin() as conn:
        return int(conn.execute(select(cases.c.id).join(debtors, debtors.c.id == cases.c.debtor_id)
                                .where(debtors.c.external_id == external_id)).scalar_one())


def action_rows(store: Store, channel: str) -> list[Any]:
    with store.begin() as conn:
        return list(conn.execute(select(actions).where(actions.c.channel == channel).order_by(actions.c.id)))


def events(store: Store, kind: str) -> list[Any]:
    with store.begin() as conn:
        return list(conn.execute(select(case_events).where(case_events.c.kind == kind).order_by(case_events.c.id)))


def outbox_rows(store: Store) -> list[Any]:
    with store.begin() as conn:
        return list(conn.execute(select(outbox).order_by(outbox.c.id)))
