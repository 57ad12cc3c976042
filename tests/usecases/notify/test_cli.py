"""``dunning notify`` as a user runs it: JSON summary, exit code 6 when a webhook failed, nothing twice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from dunning.cli import EXIT_DELIVERY, EXIT_OK, cli
from dunning.store import Store
from tests.usecases.notify.conftest import SECRET, Receiver
from tests.usecases.notify.helpers import import_and_plan, make_workspace


@pytest.fixture
def root(tmp_path: Path, store: Store, store_url: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> Path:
    workspace = make_workspace(tmp_path / "ws", store_url, url=receiver.url)
    import_and_plan(store, workspace)
    monkeypatch.setenv("DUNNING_WEBHOOK_SECRET", SECRET)
    return workspace.root


def _notify(root: Path) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["-w", str(root), "notify", "--date", "2026-10-20", "--format", "json"])
    return result.exit_code, json.loads(result.output[result.output.index("{"):])


def test_notify_delivers_and_exports_once(root: Path, receiver: Receiver) -> None:
    code, summary = _notify(root)
    assert code == EXIT_OK
    assert (summary["webhooks"]["delivered"], summary["webhooks"]["failed"]) == (3, 0)
    assert (summary["exports"]["exported"], summary["exports"]["files_written"]) == (3, 3)
    assert all(r.verified for r in receiver.requests) and len(receiver.requests) == 3

    code, again = _notify(root)
    assert code == EXIT_OK
    assert (again["webhooks"]["posts"], again["exports"]["files_written"]) == (0, 0)
    assert len(receiver.requests) == 3

    table = CliRunner().invoke(cli, ["-w", str(root), "notify", "--date", "2026-10-20"])
    assert table.exit_code == EXIT_OK and "Notify 2026-10-20" in table.output


def test_a_failed_webhook_exits_6_and_shows_on_the_case(root: Path, receiver: Receiver) -> None:
    receiver.default = 400
    code, summary = _notify(root)
    assert code == EXIT_DELIVERY
    assert summary["webhooks"]["failed"] == 3 and len(summary["webhooks"]["problems"]) == 3
    assert summary["exports"]["exported"] == 3  # the files do not depend on the endpoint
    case = CliRunner().invoke(cli, ["-w", str(root), "case", "E2", "--format", "json"])
    timeline = json.loads(case.output[case.output.index("{"):])["timeline"]
    failed = [e for e in timeline if e["kind"] == "delivery_failed"]
    assert len(failed) == 2 and all("webhook failed: HTTP 400" in e["why"] for e in failed)

    receiver.default = 200
    code, again = _notify(root)  # failed for good: not posted again, and this run failed nothing
    assert code == EXIT_OK and again["webhooks"]["posts"] == 0


def test_notify_without_the_secret_is_a_configuration_error(root: Path, monkeypatch: pytest.MonkeyPatch,
                                                            receiver: Receiver) -> None:
    monkeypatch.delenv("DUNNING_WEBHOOK_SECRET")
    result = CliRunner().invoke(cli, ["-w", str(root), "notify", "--date", "2026-10-20"])
    assert result.exit_code == 3 and "DUNNING_WEBHOOK_SECRET" in result.output
    assert receiver.requests == [] and not (root / "output" / "exports").exists()  # checked before anything
