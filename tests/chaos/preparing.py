"""Preparing the crash harness's template workspaces: wired to the test servers, imported, planned, with bank
files paying about half the cases."""

from __future__ import annotations

import json
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from camt.build import Payment, build_camt
from tests.chaos.runs import run_cli
from tests.chaos.servers import SMS_TOKEN, Servers
from tests.chaos.workspaces import (
    ACCOUNT,
    FLOW,
    PAID_ON,
    PLAN_AGREED,
    PLAN_FIRST_DUE,
    Database,
    Workspace,
    command_steps,
    daytime_zone,
    dunning_executable,
    ledger_csv,
)


@dataclass
class Setup:
    debtors: int = 60
    batch_size: int = 20
    workers: int = 1
    database: str = "sqlite"
    admin_url: str | None = None
    seed: int = 15
    latency: float = 0.05  # seconds the SMTP server, SMS gateway and webhook receiver take to answer


def make_template(root: Path, servers: Servers, setup: Setup, database: Database, *, stage: str) -> Workspace:
    """A workspace wired to ``servers``; ``stage`` 'fresh' (ledger only), 'imported', 'planned' (imported,
    planned, and bank files written), or 'plans' (the whole first night run, then a plan agreed for every
    case, see :func:`agree_plans`)."""
    subprocess.run([dunning_executable(), "init", str(root)], check=True, capture_output=True)
    config_path = root / "dunning.yaml"
    config: dict[str, Any] = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    sshd = servers.sshd
    config["creditor"]["timezone"] = daytime_zone()
    config["print"] = {
        "transport": sshd.url(sshd.remote_upload),
        "key": str(sshd.client_key),
        "known_hosts": str(sshd.known_hosts),
        "batch_size": setup.batch_size,
    }
    # No ?rate= in the URL (the form most users write); the rate comes from email.rate_per_second.
    config["email"]["transport"] = f"smtp://127.0.0.1:{servers.smtp.port}"
    config["email"]["rate_per_second"] = 1000
    config["sms"]["transport"] = servers.gateway_url
    config["webhook"] = {"url": servers.receiver.url, "timeout": 5, "max_attempts": 3, "backoff": 0.05, "max_wait": 1}
    url = database.new_url()  # a PostgreSQL URL carries its password: it goes in the environment, never the file
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    for path in (root / "flows").glob("*.yaml"):
        path.unlink()
    (root / "flows" / "default.yaml").write_text(FLOW, encoding="utf-8")
    (root / "flows" / "assignment.yaml").write_text("assignment:\n  default: default\n", encoding="utf-8")
    (root / "ledger" / "chaos.csv").write_text(ledger_csv(setup.debtors, setup.seed), encoding="utf-8")
    for example in (root / "ledger").glob("open-items*"):
        example.unlink()
    env = {"DUNNING_WEBHOOK_SECRET": servers.receiver.secret, "DUNNING_SMS_TOKEN": SMS_TOKEN}
    if url:
        env["DUNNING_DATABASE"] = url
    ws = Workspace(root, url, env)
    if stage in ("imported", "planned"):
        for args in command_steps("night", ws, setup.workers)[: 1 if stage == "imported" else 2]:
            record = run_cli(ws, args)
            if record.exit_code != 0:
                raise RuntimeError(f"preparing: dunning {args[0]} exited {record.exit_code}: {record.stderr_tail}")
    if stage == "planned":
        write_bank_files(ws, setup.seed)
    if stage == "plans":
        for args in command_steps("night", ws, setup.workers):
            record = run_cli(ws, args)
            if record.exit_code != 0:
                raise RuntimeError(f"preparing: dunning {args[0]} exited {record.exit_code}: {record.stderr_tail}")
        agree_plans(ws)
    return ws


def agree_plans(ws: Workspace) -> int:
    """A plan of two monthly instalments for every open case (as a clerk would with ``dunning plans create``);
    the cases the plan policy refuses (an instalment under plans.min_instalment) keep their flow. Returns how
    many plans were agreed."""
    agreed = 0
    for row in ws.sql("SELECT id FROM cases WHERE status = 'open' ORDER BY id"):
        record = run_cli(ws, ["plans", "create", str(row.id), "--count", "2", "--day", str(PLAN_FIRST_DUE.day),
                              "--start", PLAN_FIRST_DUE.isoformat(), "--date", PLAN_AGREED.isoformat(),
                              "--by", "chaos"])
        agreed += record.exit_code == 0
    if not agreed:
        raise RuntimeError("preparing: no plan could be agreed")
    return agreed


def write_bank_files(ws: Workspace, seed: int) -> list[tuple[str, str]]:
    """Pay about half the cases in full: a camt.054 with each payment, the camt.053 with them all again."""
    rng = random.Random(seed + 1)
    rows = ws.sql("SELECT reference, open_amount FROM cases ORDER BY id")
    paid = [(str(r.reference), f"{float(r.open_amount):.2f}") for r in rows if rng.random() < 0.5]
    payments = [
        Payment(amount, ref=ref, bank_ref=f"CHAOS-{i:05d}", end_to_end=f"E2E-{i:05d}")
        for i, (ref, amount) in enumerate(paid)
    ]
    folder = ws.root / "bank" / "chaos"
    folder.mkdir(parents=True, exist_ok=True)
    half = len(payments) // 2
    (folder / "a-camt054-1.xml").write_bytes(
        build_camt("054", payments[:half], day=PAID_ON, account=ACCOUNT, msg_id="CHAOS-054-1")
    )
    (folder / "b-camt054-2.xml").write_bytes(
        build_camt("054", payments[half:], day=PAID_ON, account=ACCOUNT, msg_id="CHAOS-054-2")
    )
    (folder / "c-camt053.xml").write_bytes(
        build_camt("053", payments, day=PAID_ON, account=ACCOUNT, msg_id="CHAOS-053")
    )
    (folder / "paid.json").write_text(json.dumps(paid))
    return paid
