"""``prefect deploy --all`` accepts prefect.yaml, and the bank-file event triggers the bank deployment.

Deployed for real against the harness's API server (the same path a production deploy takes: the
CLI reads the file, imports each entrypoint, creates the deployments, schedules and automations),
then read back through the API. The trigger test emits the event and waits for the automation to
create a flow run of the bank deployment: no worker runs it, the run is only scheduled.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

from pipelines.bank_statements import BANK_FILE_ARRIVED, emit_bank_file_arrived

REPO = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).parent / "prefect")


def _prefect(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([PREFECT, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"prefect {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def deployed(prefect_api: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """prefect.yaml deployed with ``prefect --no-prompt deploy --all``; the deployments by name."""
    from dunning.workspace import init_workspace

    workspace = tmp_path_factory.mktemp("deploy") / "acme"
    init_workspace(workspace)
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_api,
        "DUNNING_CHECKOUT": str(REPO),
        "DUNNING_WORKSPACE": str(workspace),
    }
    _prefect(["work-pool", "create", "dunning-process", "--type", "process", "--overwrite"], env)
    _prefect(["--no-prompt", "deploy", "--all"], env)
    with get_client(sync_client=True) as client:
        deployments = {d.name: d for d in client.read_deployments()}
    return {"workspace": workspace, "deployments": deployments}


@pytest.mark.slow
def test_prefect_deploy_accepts_every_deployment(deployed: dict[str, Any]) -> None:
    deployments = deployed["deployments"]
    assert set(deployments) >= {"nightly", "bank-statements", "acknowledgements"}
    for name, deployment in deployments.items():
        assert deployment.work_pool_name == "dunning-process"
        expected = {"workspace": str(deployed["workspace"]), "date": None}
        if name == "acknowledgements":
            expected["bounce_source"] = None
        assert deployment.parameters == expected
        assert deployment.pull_steps == [
            {"prefect.deployments.steps.set_working_directory": {"directory": str(REPO)}}
        ]
        assert deployment.enforce_parameter_schema


@pytest.mark.slow
def test_schedules_are_in_the_creditors_time_zone(deployed: dict[str, Any]) -> None:
    crons = {
        name: sorted((s.schedule.cron, s.schedule.timezone, s.active) for s in d.schedules)  # type: ignore[union-attr]
        for name, d in deployed["deployments"].items()
    }
    assert crons["nightly"] == [("0 2 * * *", "Europe/Brussels", True)]
    assert crons["bank-statements"] == [
        ("*/15 6-21 * * 1-5", "Europe/Brussels", True),
        ("0 22 * * 1-5", "Europe/Brussels", True),
    ]
    assert crons["acknowledgements"] == [("5 * * * *", "Europe/Brussels", True)]


@pytest.mark.slow
def test_two_nightly_runs_of_a_workspace_never_overlap(deployed: dict[str, Any]) -> None:
    """The deployment's concurrency limit became a global limit of 1 that queues the second run."""
    nightly = deployed["deployments"]["nightly"]
    limit = nightly.global_concurrency_limit
    assert limit is not None and limit.limit == 1 and limit.active
    assert nightly.concurrency_options is not None
    assert nightly.concurrency_options.collision_strategy.value == "ENQUEUE"


async def _runs_of(deployment_id: Any) -> list[Any]:
    async with get_client() as client:
        return await client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
        )


async def _automations() -> list[Any]:
    async with get_client() as client:
        return list(await client.read_automations())


@pytest.mark.slow
def test_a_bank_file_event_schedules_a_bank_statements_run(deployed: dict[str, Any], tmp_path: Path) -> None:
    bank = deployed["deployments"]["bank-statements"]
    automations = [a for a in asyncio.run(_automations()) if a.name.startswith("bank-statements")]
    assert len(automations) == 1
    assert automations[0].trigger.expect == {BANK_FILE_ARRIVED}
    scheduled_before = {run.id for run in asyncio.run(_runs_of(bank.id)) if run.auto_scheduled}

    statement = tmp_path / "2026-11-24.xml"
    statement.write_bytes(b"<Document/>")
    event = emit_bank_file_arrived(statement, deployed["workspace"])
    assert event is not None and event.payload["file_name"] == "2026-11-24.xml"
    assert event.resource.id == "dunning.bank-inbox.acme"

    deadline = time.monotonic() + 30
    triggered: list[Any] = []
    while time.monotonic() < deadline and not triggered:
        time.sleep(0.5)
        triggered = [
            run for run in asyncio.run(_runs_of(bank.id)) if run.id not in scheduled_before and not run.auto_scheduled
        ]
    assert triggered, "the automation did not create a bank-statements run within 30 s"
    assert triggered[0].parameters["workspace"] == str(deployed["workspace"])
