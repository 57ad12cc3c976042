"""The nightly flow end to end under Prefect's test harness, on a fresh workspace (SQLite store)."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from sqlalchemy import func, select

import pipelines.nightly as nightly_module
from dunning.errors import LedgerError, TransientDeliveryError, WorkspaceBusy
from dunning.store import open_store
from dunning.store.schema import actions, cases, debtors, ledger_imports, runs
from dunning.usecases.importing import snapshot as importing
from dunning.usecases.importing.snapshot import SnapshotRefused
from dunning.usecases.planning import night
from dunning.workspace import EXAMPLE_LEDGER, LEDGER_DROPS
from pipelines.nightly import nightly

NIGHT = "2026-11-24"


def _store_counts(workspace: Path) -> dict[str, Any]:
    store = open_store(f"sqlite:///{workspace / 'state.db'}")
    try:
        with store.begin() as conn:
            return {
                "actions": conn.execute(select(func.count()).select_from(actions)).scalar_one(),
                "keys": set(conn.execute(select(actions.c.idempotency_key)).scalars()),
                "cases": conn.execute(select(func.count()).select_from(cases)).scalar_one(),
                "imports": conn.execute(select(func.count()).select_from(ledger_imports)).scalar_one(),
                "runs": conn.execute(select(func.count()).select_from(runs)).scalar_one(),
            }
    finally:
        store.dispose()


async def _latest_artifact(key: str) -> Any:
    async with get_client() as client:
        found = await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return max(found, key=lambda a: a.created)


def test_nightly_imports_the_newest_drop_plans_and_reports(workspace: Path) -> None:
    report = nightly(workspace=str(workspace), date=NIGHT)

    assert report["run_date"] == NIGHT
    assert Path(report["ledger"]["file"]).name == "open-items.csv"
    assert report["ledger"]["accepted"] == 29 and report["ledger"]["rejected"] == 0
    counts = _store_counts(workspace)
    assert counts["cases"] == 18 and counts["imports"] == 1
    assert report["plan"]["new_actions"] == counts["actions"] > 0
    assert sum(report["plan"]["by_channel"].values()) == counts["actions"]

    artifact = asyncio.run(_latest_artifact("nightly-acme"))
    markdown = artifact.data
    assert f"Nightly run {NIGHT}" in markdown
    assert "| accepted | 29 |" in markdown and "| rejected | 0 |" in markdown
    assert f"**{counts['actions']} new actions**" in markdown
    for action, count in report["plan"]["by_action"].items():
        assert f"| {action} | {count} |" in markdown
    for channel, count in report["plan"]["by_channel"].items():
        assert f"| {channel} | {count} |" in markdown


def test_the_same_night_twice_plans_nothing_new(workspace: Path) -> None:
    first = nightly(workspace=str(workspace), date=NIGHT)
    before = _store_counts(workspace)
    second = nightly(workspace=str(workspace), date=NIGHT)
    after = _store_counts(workspace)

    assert first["plan"]["new_actions"] > 0
    assert second["ledger"]["already_imported"] is True
    assert second["plan"]["new_actions"] == 0
    assert after["keys"] == before["keys"] and after["imports"] == 1


def test_the_newest_ledger_drop_is_the_one_imported(workspace: Path) -> None:
    ledger = workspace / "ledger"
    example = ledger / "open-items.csv"
    lines = example.read_text(encoding="utf-8").splitlines()
    newer = ledger / "open-items-2026-11-25.csv"
    newer.write_text("\n".join(lines[:5]) + "\n", encoding="utf-8")  # header + 4 invoices
    os.utime(example, (1_700_000_000, 1_700_000_000))
    (ledger / "notes.yaml").write_text("not a ledger\n", encoding="utf-8")

    report = nightly(workspace=str(workspace), date=NIGHT)

    assert Path(report["ledger"]["file"]).name == newer.name
    assert report["ledger"]["accepted"] == 4


def test_no_ledger_drop_still_plans_the_night(workspace: Path) -> None:
    nightly(workspace=str(workspace), date=NIGHT)
    (workspace / "ledger" / "open-items.csv").unlink()

    report = nightly(workspace=str(workspace), date="2026-12-15")

    assert report["ledger"] is None
    assert report["plan"]["run_date"] == "2026-12-15"
    assert _store_counts(workspace)["runs"] == 2


def test_dispatch_sends_each_planned_email_once(workspace: Path) -> None:
    first = nightly(workspace=str(workspace), date=NIGHT)
    exists = importlib.util.find_spec("dunning.usecases.messaging.dispatch") is not None
    by_channel = first["plan"]["by_channel"]
    letters_planned = by_channel.get("letter", 0) + by_channel.get("registered_letter", 0)
    assert letters_planned > 0
    assert first["letters"]["rendered"] == first["letters"]["letters_sent"] == letters_planned
    assert len(list((workspace / "output" / "print").rglob("*.ready"))) == first["letters"]["batches"] > 0
    if not exists:  # before the messaging stage lands, the flow says so and still plans the night
        assert first["dispatch"] == {
            "status": "not available yet (dunning.usecases.messaging.dispatch.dispatch_messages does not exist)"
        }
        return
    mail = workspace / "output" / "mail"
    sent_first = sorted(p.name for p in mail.glob("*.eml"))
    email = next(c for c in first["dispatch"]["result"]["channels"] if c["channel"] == "email")
    assert first["dispatch"]["status"] == "available"
    assert email["due"] == first["plan"]["by_channel"]["email"] > 0
    assert email["sent"] == len(sent_first) > 0
    assert email["sent"] + email["failed"] + email["deferred"] + email["cancelled"] == email["due"]
    markdown = asyncio.run(_latest_artifact("nightly-acme")).data
    assert "### Email and SMS" in markdown and "| channel | due | sent |" in markdown
    assert "### Letters" in markdown and "| rendered | failed | print batches | letters sent | pages |" in markdown
    # the pay pages of tonight's letters and emails, prepared for the night's date (one per case and day)
    pages = first["pay_pages"]
    assert pages["day"] == NIGHT and 0 < pages["links"] <= letters_planned + email["sent"]
    assert pages["prepared"] + pages["skipped"] == pages["links"] and pages["prepared"] > 0
    assert "### Pay pages" in markdown

    second = nightly(workspace=str(workspace), date=NIGHT)

    assert sorted(p.name for p in mail.glob("*.eml")) == sent_first
    again = next(c for c in second["dispatch"]["result"]["channels"] if c["channel"] == "email")
    assert again["sent"] == 0
    assert second["letters"]["rendered"] == second["letters"]["letters_sent"] == 0
    assert second["pay_pages"]["fresh"] == pages["prepared"] and second["pay_pages"]["prepared"] == 0


def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The production waits (30 s, 2 min, 10 min) are not what is tested; the policy is."""
    for name in ("import_ledger_drop", "plan_night", "render_letter_chunk", "send_to_print_house"):
        monkeypatch.setattr(nightly_module, name, getattr(nightly_module, name).with_options(retry_delay_seconds=0))


def test_a_transient_failure_is_retried_and_nothing_is_duplicated(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worst moment to fail: run_night committed its actions, then the connection dropped."""
    reference = tmp_path / "reference"
    from dunning.workspace import init_workspace

    init_workspace(reference)
    (reference / LEDGER_DROPS / "open-items.csv").write_bytes((reference / EXAMPLE_LEDGER).read_bytes())
    nightly(workspace=str(reference), date=NIGHT)
    expected = _store_counts(reference)

    real_run_night = night.run_night
    calls: list[str] = []

    def flaky_run_night(*args: Any, **kwargs: Any) -> night.RunResult:
        result = real_run_night(*args, **kwargs)
        calls.append("run")
        if len(calls) == 1:
            raise TransientDeliveryError("connection reset after the commit")
        return result

    monkeypatch.setattr(night, "run_night", flaky_run_night)
    _fast_retries(monkeypatch)

    report = nightly(workspace=str(workspace), date=NIGHT)

    assert calls == ["run", "run"]
    counts = _store_counts(workspace)
    assert counts["actions"] == expected["actions"] > 0
    assert len(counts["keys"]) == counts["actions"]
    assert report["plan"]["new_actions"] == 0  # the retry found everything already planned


def test_a_letter_chunk_that_fails_once_is_retried_and_each_letter_is_posted_once(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A render chunk dies after writing its PDFs (a lost connection): the retry redoes only what is missing."""
    from dunning.usecases.letters import render as letters_usecase

    real_render = letters_usecase.render_letters
    calls: list[int] = []

    def flaky_render(*args: Any, **kwargs: Any) -> Any:
        result = real_render(*args, **kwargs)
        calls.append(result.rendered)
        if len(calls) == 1:
            raise TransientDeliveryError("connection reset after the chunk was recorded")
        return result

    monkeypatch.setattr(nightly_module, "render_letters", flaky_render)
    _fast_retries(monkeypatch)

    report = nightly(workspace=str(workspace), date=NIGHT)

    by_channel = report["plan"]["by_channel"]
    planned = by_channel.get("letter", 0) + by_channel.get("registered_letter", 0)
    assert len(calls) == 2 and calls[0] == planned > 0 and calls[1] == 0  # the retry found every PDF made
    assert report["letters"]["letters_sent"] == planned
    pdfs = list((workspace / "output" / "letters").rglob("*.pdf"))
    assert len(pdfs) == planned
    manifests = list((workspace / "output" / "print").rglob("*.manifest.csv"))
    letter_rows = sum(len(m.read_text(encoding="utf-8").splitlines()) - 1 for m in manifests)
    assert letter_rows == planned  # every letter in exactly one delivered batch


def test_a_non_transient_failure_is_not_retried(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []

    def broken_import(store: Any, path: Path, **kwargs: Any) -> importing.ImportResult:
        calls.append(path)
        raise LedgerError(f"{path}: header line 1 has no column for 'amount'")

    monkeypatch.setattr(importing, "import_ledger", broken_import)
    _fast_retries(monkeypatch)

    state = nightly(workspace=str(workspace), date=NIGHT, return_state=True)

    assert state.is_failed()
    with pytest.raises(LedgerError, match="no column for 'amount'"):
        state.result()
    assert len(calls) == 1
    assert _store_counts(workspace)["actions"] == 0  # a failed import stops the night before planning


def test_invalid_date_parameter_fails_with_the_value(workspace: Path) -> None:
    state = nightly(workspace=str(workspace), date="24/11/2026", return_state=True)
    assert state.is_failed()
    with pytest.raises(ValueError, match="'24/11/2026' is not YYYY-MM-DD"):
        state.result()


def test_the_command_line_entry_prints_the_summary(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nightly_module.main(["--workspace", str(workspace), "--date", NIGHT])
    printed = json.loads(capsys.readouterr().out)
    assert printed["run_date"] == NIGHT and printed["plan"]["new_actions"] == _store_counts(workspace)["actions"]


def test_the_night_records_print_house_answers_before_it_plans(workspace: Path) -> None:
    """A letter returned since last night fails before planning, so its fallback is planned the same night."""
    first = nightly(workspace=str(workspace), date=NIGHT)
    assert first["acknowledgements"]["files"] == 0
    manifest = next((workspace / "output" / "print").glob("*.manifest.csv"))
    row = manifest.read_text(encoding="utf-8").splitlines()[1].split(",")
    batch_id, letter_id, case_id = row[0], row[2], int(row[3])
    answers = workspace / "output" / "print" / "acknowledgements" / "answers.csv"
    answers.write_text(
        f"batch_id,letter_id,status,date,reason\n{batch_id},{letter_id},returned,2026-11-25,addressee unknown\n",
        encoding="utf-8",
    )

    second = nightly(workspace=str(workspace), date="2026-11-25")

    assert second["acknowledgements"]["returned"] == 1
    store = open_store(f"sqlite:///{workspace / 'state.db'}")
    try:
        with store.begin() as conn:
            returned = conn.execute(select(actions.c.status).where(actions.c.id == int(letter_id))).scalar_one()
            planned_tonight = conn.execute(
                select(func.count())
                .select_from(actions)
                .where(
                    actions.c.case_id == case_id,
                    actions.c.run_date == dt.date(2026, 11, 25),
                    actions.c.fallback_depth > 0,
                )
            ).scalar_one()
    finally:
        store.dispose()
    assert returned == "returned"
    assert planned_tonight >= 1  # the returned letter's fallback, planned the night the answer came


def test_the_night_is_refused_while_another_process_plans_this_workspace(workspace: Path) -> None:
    """The pipelines call the same locked use cases as the CLI: one writer per stage, however it is started."""
    holder_script = (
        "import sys, time\n"
        "from dunning.store import open_store\n"
        "from dunning.store.locks import stage_lock\n"
        "with stage_lock(open_store(sys.argv[1]), 'run'):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(120)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", holder_script, f"sqlite:///{workspace / 'state.db'}"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        state = nightly(workspace=str(workspace), date=NIGHT, return_state=True)
        assert state.is_failed()
        with pytest.raises(WorkspaceBusy, match=rf"another `dunning run` is working .* pid {holder.pid}$"):
            state.result()
        assert _store_counts(workspace)["actions"] == 0
    finally:
        holder.kill()
        holder.wait(timeout=30)
    state = nightly(workspace=str(workspace), date=NIGHT, return_state=True)
    assert state.is_completed() and _store_counts(workspace)["actions"] > 0


# --- drops that must never be imported (issue 16, item 8) ------------------------------------------


def _open_cases(url: str) -> dict[str, int]:
    store = open_store(url)
    try:
        with store.begin() as conn:
            return {
                "open_cases": conn.execute(
                    select(func.count()).select_from(cases).where(cases.c.status != "closed")
                ).scalar_one(),
                "imports": conn.execute(select(func.count()).select_from(ledger_imports)).scalar_one(),
                "actions": conn.execute(select(func.count()).select_from(actions)).scalar_one(),
            }
    finally:
        store.dispose()


def _real_ledger(workspace: Path, target: Path) -> Path:
    """The creditor's own export: the example's rows under other debtor and invoice numbers."""
    lines = (workspace / EXAMPLE_LEDGER).read_text(encoding="utf-8").splitlines()
    rows = [line.replace("INV-2026-2", "INV-2026-3").replace("C1", "R1", 1) for line in lines[1:]]
    target.write_text("\n".join([lines[0], *rows]) + "\n", encoding="utf-8")
    return target


@pytest.fixture()
def fresh(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``dunning init`` as a user runs it (nothing in ``ledger/``), on SQLite and on PostgreSQL."""
    from click.testing import CliRunner

    from dunning.cli import cli

    root = tmp_path / "acme"
    monkeypatch.setenv("DUNNING_DATABASE", store_url)
    result = CliRunner().invoke(cli, ["init", str(root)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return root


def _import_by_hand(workspace: Path, path: Path, *args: str) -> tuple[int, str]:
    from click.testing import CliRunner

    from dunning.cli import cli

    result = CliRunner().invoke(
        cli, ["--workspace", str(workspace), "import", str(path), "--date", "2026-11-20", *args], catch_exceptions=False
    )
    return result.exit_code, result.stderr


def test_init_leaves_no_example_in_the_drop_folder(fresh: Path, store_url: str) -> None:
    assert (fresh / EXAMPLE_LEDGER).is_file() and not EXAMPLE_LEDGER.startswith(f"{LEDGER_DROPS}/")
    assert [p.name for p in (fresh / LEDGER_DROPS).iterdir()] == []

    report = nightly(workspace=str(fresh), date=NIGHT)

    assert report["ledger"] is None and _open_cases(store_url)["open_cases"] == 0


def test_a_stale_file_in_the_drop_folder_after_a_manual_import_is_not_imported(fresh: Path, store_url: str) -> None:
    """The incident: the example sat in ledger/, a real ledger was imported by hand, the night took the example."""
    stale = fresh / LEDGER_DROPS / "open-items.csv"
    stale.write_bytes((fresh / EXAMPLE_LEDGER).read_bytes())
    os.utime(stale, (1_700_000_000, 1_700_000_000))  # there long before the manual import
    code, err = _import_by_hand(fresh, _real_ledger(fresh, fresh / "real-export.csv"))
    assert code == 0, err
    before = _open_cases(store_url)
    assert before["open_cases"] == 18 and before["imports"] == 1

    report = nightly(workspace=str(fresh), date=NIGHT)

    assert Path(report["ledger"]["file"]).name == "open-items.csv"
    assert "older than the last import (real-export.csv" in report["ledger"]["skipped"]
    after = _open_cases(store_url)
    assert after["open_cases"] == 18 and after["imports"] == 1  # no real case closed, no made-up debtor added
    store = open_store(store_url)
    try:
        with store.begin() as conn:
            debtors_dunned = set(
                conn.execute(
                    select(debtors.c.external_id).join(cases, cases.c.debtor_id == debtors.c.id)
                    .join(actions, actions.c.case_id == cases.c.id)
                ).scalars()
            )
    finally:
        store.dispose()
    assert debtors_dunned and all(d.startswith("R1") for d in debtors_dunned)  # no letter to the example's debtors
    markdown = asyncio.run(_latest_artifact("nightly-acme")).data
    assert "older than the last import" in markdown


def test_a_drop_imported_before_under_another_name_is_skipped(fresh: Path, store_url: str) -> None:
    real = _real_ledger(fresh, fresh / "real-export.csv")
    assert _import_by_hand(fresh, real)[0] == 0
    copy = fresh / LEDGER_DROPS / "export-again.csv"
    copy.write_bytes(real.read_bytes())  # newer than the import, same content

    report = nightly(workspace=str(fresh), date=NIGHT)

    assert report["ledger"]["skipped"] == "already imported (same content): nothing changed"
    assert _open_cases(store_url)["imports"] == 1


def test_a_new_drop_that_would_close_most_cases_stops_the_night(fresh: Path, store_url: str) -> None:
    real = _real_ledger(fresh, fresh / "real-export.csv")
    assert _import_by_hand(fresh, real)[0] == 0
    wrong = fresh / LEDGER_DROPS / "open-items-2026-11-24.csv"
    wrong.write_text(real.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")  # header only

    state = nightly(workspace=str(fresh), date=NIGHT, return_state=True)

    assert state.is_failed()
    with pytest.raises(SnapshotRefused, match="no data rows"):
        state.result()
    after = _open_cases(store_url)
    assert after["open_cases"] == 18 and after["imports"] == 1 and after["actions"] == 0  # nothing planned on it

    nobody_left = fresh / LEDGER_DROPS / "open-items-2026-11-25.csv"
    nobody_left.write_text(
        real.read_text(encoding="utf-8").splitlines()[0] + "\n"
        + "\n".join(real.read_text(encoding="utf-8").splitlines()[1:3]) + "\n",
        encoding="utf-8",
    )
    state = nightly(workspace=str(fresh), date=NIGHT, return_state=True)
    with pytest.raises(SnapshotRefused, match=r"would close 17 of 18 open cases \(94%"):
        state.result()
    assert _open_cases(store_url)["open_cases"] == 18
