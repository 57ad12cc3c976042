"""dunning.yaml: validated at load, errors naming the file and key, environment overrides."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from dunning.config import load_config, secret
from dunning.errors import ConfigError, WorkspaceError
from dunning.workspace import init_workspace, open_workspace


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    init_workspace(tmp_path / "ws")
    return tmp_path / "ws"


def _edit(workspace: Path, change: dict[str, object]) -> Path:
    path = workspace / "dunning.yaml"
    data = yaml.safe_load(path.read_text())
    for dotted, value in change.items():
        node = data
        *parents, last = dotted.split(".")
        for part in parents:
            node = node[part]
        if value is None:
            del node[last]
        else:
            node[last] = value
    path.write_text(yaml.safe_dump(data))
    return path


def test_init_writes_a_valid_workspace(workspace: Path) -> None:
    ws = open_workspace(workspace, environ={})
    assert ws.config.creditor.iban == "BE68539007547034"
    assert ws.config.creditor.reference == "be-ogm"
    assert ws.database_url == f"sqlite:///{workspace / 'state.db'}"
    assert ws.transport_dir(ws.config.print.transport) == workspace / "output" / "print"
    assert (workspace / "examples" / "open-items.csv").is_file()
    assert any((workspace / "flows").glob("*.yaml"))
    with pytest.raises(WorkspaceError, match="already a workspace"):
        init_workspace(workspace)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"creditor.iban": "BE00 1234"}, r"dunning\.yaml: creditor\.iban: 'BE00 1234' is not a valid IBAN"),
        ({"creditor.name": None}, r"dunning\.yaml: creditor\.name: required key is missing"),
        ({"creditor.reference": "ogm"}, r"dunning\.yaml: creditor\.reference: .*'be-ogm' or 'rf'"),
        ({"creditor.timezone": "Mars/Olympus"}, r"creditor\.timezone: 'Mars/Olympus' is not an IANA time zone"),
        ({"print.transport": "ftp://x"}, r"dunning\.yaml: print\.transport: .*got 'ftp://x'"),
        ({"prnt": {"transport": "file://x"}}, r"dunning\.yaml: prnt: unknown key"),
        ({"email.password": "hunter2"}, r"email\.password: secrets do not belong .* DUNNING_EMAIL_PASSWORD"),
        ({"database": "mysql://x"}, r"dunning\.yaml: database:"),
    ],
)
def test_errors_name_file_and_key(workspace: Path, change: dict[str, object], message: str) -> None:
    path = _edit(workspace, change)
    with pytest.raises(ConfigError, match=message):
        load_config(path, environ={})


def test_yaml_syntax_error_names_the_line(workspace: Path) -> None:
    path = workspace / "dunning.yaml"
    path.write_text("creditor:\n  name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"dunning\.yaml: line \d+"):
        load_config(path, environ={})


def test_environment_overrides_every_key(workspace: Path) -> None:
    env = {
        "DUNNING_DATABASE": "postgresql+psycopg://u@db/dunning",
        "DUNNING_PRINT_TRANSPORT": "sftp://p@h:22/in",
        "DUNNING_CREDITOR_ADDRESS_CITY": "Gent",
        "DUNNING_PRINT_BATCH_SIZE": "250",
        "DUNNING_EMAIL_FROM": "a@b.be",
    }
    config = load_config(workspace / "dunning.yaml", environ=env)
    assert config.database == "postgresql+psycopg://u@db/dunning"
    assert config.print.transport == "sftp://p@h:22/in"
    assert config.creditor.address.city == "Gent"
    assert config.print.batch_size == 250
    assert config.email.from_ == "a@b.be"
    with pytest.raises(ConfigError, match=r"print\.batch_size: .*got 'many'"):
        load_config(workspace / "dunning.yaml", environ={"DUNNING_PRINT_BATCH_SIZE": "many"})


def test_secrets_come_from_environment_or_file(tmp_path: Path) -> None:
    assert secret("paylink_secret", environ={"DUNNING_PAYLINK_SECRET": "s3"}) == "s3"
    file = tmp_path / "secret"
    file.write_text("from-file\n")
    assert secret("paylink_secret", environ={}, file=file) == "from-file"
    assert secret("paylink_secret", environ={}) is None


def test_not_a_workspace(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="not a dunning workspace"):
        open_workspace(tmp_path)


def test_a_password_in_the_database_url_is_refused_through_the_cli(workspace: Path) -> None:
    from click.testing import CliRunner

    from dunning.cli import EXIT_CONFIG, cli

    _edit(workspace, {"database": "postgresql+psycopg://dunning:Sup3rSecret@db.example/dunning"})

    result = CliRunner().invoke(cli, ["--workspace", str(workspace), "cases"])

    assert result.exit_code == EXIT_CONFIG
    assert "dunning.yaml: database: the URL holds a password" in result.stderr
    assert "DUNNING_DATABASE" in result.stderr
    assert "Sup3rSecret" not in result.stderr  # the refusal does not print the secret again


def test_the_password_may_come_from_the_environment(workspace: Path) -> None:
    _edit(workspace, {"database": "postgresql+psycopg://dunning@db.example/dunning"})
    url = "postgresql+psycopg://dunning:Sup3rSecret@db.example/dunning"
    assert open_workspace(workspace, environ={"DUNNING_DATABASE": url}).config.database == url
    assert open_workspace(workspace, environ={}).config.database.endswith("dunning@db.example/dunning")


def test_the_mass_close_share_is_a_fraction(workspace: Path) -> None:
    assert str(open_workspace(workspace, environ={}).config.ledger.max_close_share) == "0.20"
    _edit(workspace, {"ledger.max_close_share": 20})
    with pytest.raises(ConfigError, match=r"ledger\.max_close_share"):
        open_workspace(workspace, environ={})


def test_the_write_off_tolerance_is_one_amount_or_one_per_currency(workspace: Path) -> None:
    path = _edit(workspace, {"bank.tolerance": {"EUR": "1.00", "CHF": 0.5}})
    tolerance = load_config(path, environ={}).bank.write_off_tolerance()
    assert (tolerance.of("EUR"), tolerance.of("CHF"), tolerance.of("USD")) == (Decimal("1.00"), Decimal("0.5"), 0)
    everywhere = load_config(path, environ={"DUNNING_BANK_TOLERANCE": "0.05"}).bank.write_off_tolerance()
    assert everywhere.of("USD") == Decimal("0.05")
    for bad, message in (
        ({"eur": "1.00"}, r"bank\.tolerance: 'eur' is not an ISO 4217 currency code"),
        ({"EUR": "-1"}, r"bank\.tolerance: EUR: '-1' is not an amount"),
        ("1,00", r"bank\.tolerance: '1,00' is not an amount"),
    ):
        with pytest.raises(ConfigError, match=message):
            load_config(_edit(workspace, {"bank.tolerance": bad}), environ={})
