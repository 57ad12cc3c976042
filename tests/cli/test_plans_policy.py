"""``plans:`` in dunning.yaml: the template's policy, clear errors, and ``dunning flows check`` on it."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from dunning.cli import EXIT_CONFIG, EXIT_OK
from dunning.config import parse_config
from dunning.domain.plans.policy import BreachRule, OnMissed
from dunning.errors import ConfigError
from dunning.workspace import open_workspace
from tests.cli.test_cli import run


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    code, _, err = run("init", str(tmp_path / "ws"))
    assert code == 0, err
    return tmp_path / "ws"


def _set_plans(workspace: Path, plans: dict[str, object]) -> None:
    path = workspace / "dunning.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["plans"] = {**data["plans"], **plans}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")


def test_the_template_policy_is_read_and_keeps_every_pack(workspace: Path) -> None:
    policy = open_workspace(workspace, environ={}).config.plans.policy()
    assert (policy.max_count, policy.days_offered, policy.on_missed) == (12, (1, 15), OnMissed.DEFER)
    assert policy.breach == BreachRule(2, Decimal(10), 14) and policy.min_instalment == Decimal("25.00")
    code, out, _ = run("flows", "check", "--format", "json", workspace=workspace)
    assert code == EXIT_OK
    assert [p for p in json.loads(out)["problems"] if p["where"] == "plans"] == []


def test_flows_check_says_what_the_law_changes_in_the_policy(workspace: Path) -> None:
    _set_plans(
        workspace, {"breach": {"missed_in_a_row": 1, "arrears_percent": 0, "notice_days": 0}, "costs_frozen": False}
    )
    code, out, _ = run("flows", "check", "--format", "json", workspace=workspace)
    assert code == EXIT_OK  # warnings: the law applies by itself
    messages = [p["message"] for p in json.loads(out)["problems"] if p["where"] == "plans"]
    assert any(m.startswith("DE-consumer: breach.missed_in_a_row 1 raised to 2 (§ 498(1) BGB") for m in messages)
    assert any(m.startswith("DE-consumer: breach.arrears_percent 0 raised to 10") for m in messages)
    assert any(m.startswith("DE-consumer: breach.notice_days 0 raised to 14") for m in messages)
    assert any(m.startswith("BE-consumer: costs_frozen false overridden") for m in messages)
    assert any(m.startswith("default-consumer: costs_frozen false overridden") for m in messages)
    assert not any(m.startswith("NL-consumer") for m in messages)
    code, out, _ = run("flows", "check", workspace=workspace)
    assert "raised to 2" in out and "dunning.yaml" in out


def test_a_contradictory_policy_is_refused_naming_each_setting(workspace: Path) -> None:
    _set_plans(workspace, {"max_count": 13, "max_term_months": 6, "days_offered": [1, 31], "on_missed": "forgive"})
    code, _, err = run("flows", "check", workspace=workspace)
    assert code == EXIT_CONFIG
    assert "plans.on_missed: Input should be 'remind', 'defer' or 'spread'" in err
    _set_plans(workspace, {"on_missed": "spread"})
    code, _, err = run("flows", "check", workspace=workspace)
    assert code == EXIT_CONFIG
    assert "dunning.yaml: plans: max_count: 13 monthly instalments take 12 months, more than max_term_months: 6" in err
    assert "days_offered: 31 is not between 1 and 28" in err


def test_environment_overrides_reach_the_policy(workspace: Path) -> None:
    raw = yaml.safe_load((workspace / "dunning.yaml").read_text(encoding="utf-8"))
    config = parse_config(raw, "dunning.yaml", {"DUNNING_PLANS_DAYS_OFFERED": "5, 20", "DUNNING_PLANS_MAX_COUNT": "6"})
    assert config.plans.policy().days_offered == (5, 20) and config.plans.max_count == 6
    with pytest.raises(ConfigError, match=r"plans.breach.missed_in_a_row: .*greater than or equal to 1"):
        parse_config(raw, "dunning.yaml", {"DUNNING_PLANS_BREACH_MISSED_IN_A_ROW": "0"})
