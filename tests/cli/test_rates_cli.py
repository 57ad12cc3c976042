"""``rates.yaml`` as a finance engineer writes it, and ``dunning rates`` / ``dunning flows check`` reading it."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from dunning.cli import EXIT_CONFIG, EXIT_PROBLEMS
from dunning.errors import ConfigError
from dunning.usecases.planning.rates import load_rates_file, workspace_rates
from dunning.workspace import open_workspace
from tests.cli.test_cli import run

RATES = """\
ECB_MRO:                       # the constant name works as well as the key
  verified_through: 2026-12-31
  periods:
    - {start: 2026-09-16, rate: "1.90", source: "ECB press release 2026-09-10"}
nl_statutory:
  verified_through: 2025-12-31
  periods:
    - {start: 2025-01-01, rate: 6, source: "Staatscourant"}
"""
HEAD = "ecb_mro:\n  verified_through: 2026-12-31\n  periods:\n"


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    code, _, err = run("init", str(tmp_path / "ws"))
    assert code == 0, err
    return tmp_path / "ws"


def test_init_writes_a_commented_rates_file_that_changes_nothing(workspace: Path) -> None:
    text = (workspace / "rates.yaml").read_text(encoding="utf-8")
    assert "ecb_mro:" in text and all(not line.strip() or line.startswith("#") for line in text.splitlines())
    ws = open_workspace(workspace, environ={})
    assert ws.config.legal.rates == Path("rates.yaml")
    assert workspace_rates(ws) == load_rates_file(workspace / "rates.yaml")
    assert load_rates_file(workspace / "rates.yaml")["ecb_mro"].verified_through == date(2026, 6, 30)


def test_rates_lists_each_table_and_warns_about_unverified_ones(workspace: Path) -> None:
    code, out, err = run("rates", "--date", "2026-11-24", "--format", "json", workspace=workspace)
    assert code == 0, err
    data = json.loads(out)
    tables = {t["table"]: t for t in data["tables"]}
    assert set(tables) == {"ecb_mro", "ecb_reference", "eu_statutory_b2b", "be_law_2002", "nl_commercial",
                           "de_base_rate", "nl_statutory"}
    assert tables["be_law_2002"]["rate"] == "10.50" and tables["be_law_2002"]["verified"] is False
    assert tables["nl_statutory"]["verified_through"] == "2024-12-31"
    assert any(w.startswith("rate table nl_statutory is not verified after 2024-12-31") for w in data["warnings"])

    (workspace / "rates.yaml").write_text(RATES, encoding="utf-8")
    code, out, err = run("rates", "--date", "2026-11-24", "--format", "json", workspace=workspace)
    assert code == 0, err
    data = json.loads(out)
    tables = {t["table"]: t for t in data["tables"]}
    assert data["file"] == str(workspace / "rates.yaml")
    assert (tables["ecb_mro"]["rate"], tables["ecb_mro"]["since"], tables["ecb_mro"]["verified"]) == (
        "1.90", "2026-09-16", True)
    assert (tables["eu_statutory_b2b"]["last_period"], tables["eu_statutory_b2b"]["last_rate"]) == (
        "2027-01-01", "9.90")
    assert tables["nl_statutory"]["rate"] == "6.00" and tables["nl_statutory"]["source"] == "Staatscourant"
    # only the tables still unverified on that day are named: the Bundesbank rate and the Dutch one
    assert [w.split(" is not")[0] for w in data["warnings"]] == ["rate table de_base_rate", "rate table nl_statutory"]
    code, out, err = run("rates", "--date", "2025-06-01", workspace=workspace)
    assert code == 0 and "nl_statutory" in out and "UNVERIFIED" not in out and "warning" not in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fr_legal:\n  verified_through: 2026-12-31\n", r"rates\.yaml: fr_legal: unknown rate table"),
        ("be_law_2002:\n  verified_through: 2026-12-31\n", r"be_law_2002: is derived from ecb_mro"),
        (
            "ecb_mro:\n  verified_through: 2026-12-31\n  periods:\n    - {start: 2026-13-01, rate: '2', source: x}\n",
            r"rates\.yaml: ecb_mro: period 1 \(line 4\): start '2026-13-01' is not a date",
        ),
        (
            HEAD + "    - {start: 2026-09-16, rate: '2,15', source: x}\n",
            r"ecb_mro: period 1 \(line 4\): rate '2,15' is not a decimal percentage",
        ),
        (
            "ecb_mro:\n  verified_through: 2026-12-31\n  periods:\n    - {start: 2026-09-16, rate: '2.0'}\n",
            r"ecb_mro: period 1 \(line 4\): source is missing",
        ),
        (
            "ecb_mro:\n  periods:\n    - {start: 2026-09-16, rate: '2.0', source: x}\n",
            r"ecb_mro: verified_through: is missing",
        ),
        (
            "ecb_mro:\n  verified_through: 2026-12-31\n  periods:\n"
            "    - {start: 2026-10-01, rate: '2.0', source: x}\n    - {start: 2026-09-16, rate: '1.9', source: x}\n",
            r"ecb_mro: period 2 \(line 5\): starts 2026-09-16, not after the period before it",
        ),
        (
            HEAD + "    - {start: 2025-06-11, rate: '2.25', source: x}\n",
            r"ecb_mro: period 1 \(line 4\): 2\.25 % from 2025-06-11 contradicts the verified figure .*override",
        ),
        ("ecb_mro:\n  verified_through: soon\n", r"ecb_mro: verified_through 'soon' is not a date"),
        ("ecb_mro:\n  verfied_through: 2026-12-31\n", r"ecb_mro: unknown field 'verfied_through'"),
        ("ecb_mro: [\n", r"rates\.yaml: line \d+: not valid YAML"),
        ("- ecb_mro\n", r"rates\.yaml: expected a mapping of rate tables"),
    ],
)
def test_a_bad_rates_file_names_the_file_table_and_entry(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "rates.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_rates_file(path)


def test_an_override_corrects_a_verified_figure(tmp_path: Path) -> None:
    path = tmp_path / "rates.yaml"
    path.write_text(
        "ecb_mro:\n  periods:\n    - {start: 2025-06-11, rate: '2.25', source: corrected, override: true}\n",
        encoding="utf-8",
    )
    tables = load_rates_file(path)
    assert tables["ecb_mro"].rate_on(date(2025, 7, 1)) == Decimal("2.25")
    assert tables["eu_statutory_b2b"].rate_on(date(2025, 7, 1)) == Decimal("10.25")


def test_every_error_of_the_file_at_once_and_commands_refuse_it(workspace: Path) -> None:
    (workspace / "rates.yaml").write_text(
        "ecb_mro:\n  verified_through: 2026-12-31\n  periods:\n    - {start: x, rate: y, source: z}\n"
        "de_base_rate:\n  verified_through: never\n",
        encoding="utf-8",
    )
    code, _, err = run("rates", workspace=workspace)
    assert code == EXIT_CONFIG
    assert "start 'x' is not a date" in err and "rate 'y' is not a decimal" in err
    assert "de_base_rate: verified_through 'never' is not a date" in err
    code, out, _ = run("flows", "check", "--format", "json", workspace=workspace)
    assert code == EXIT_PROBLEMS
    problems = json.loads(out)["problems"]
    assert any("rate 'y' is not a decimal" in p["message"] and p["file"] == "rates.yaml" for p in problems)


def test_a_configured_rates_file_must_exist_and_the_default_may_be_absent(workspace: Path) -> None:
    config = workspace / "dunning.yaml"
    text = config.read_text(encoding="utf-8")
    (workspace / "rates.yaml").unlink()
    code, _, err = run("rates", workspace=workspace)  # named in dunning.yaml: a typo must not go unnoticed
    assert code == EXIT_CONFIG and "legal.rates" in err and "rates.yaml: no such file" in err
    config.write_text(text.split("legal:")[0], encoding="utf-8")  # not configured: the built-in tables
    code, out, err = run("rates", "--date", "2026-01-01", "--format", "json", workspace=workspace)
    assert code == 0, err
    data = json.loads(out)
    assert data["file"] is None and data["warnings"][0].startswith("rate table nl_statutory")
