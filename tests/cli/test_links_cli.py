"""`dunning links show|revoke|restore CASE` as a user runs them (SQLite and PostgreSQL), and a write-off
in the night revoking the case's links by itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dunning.cli import EXIT_NOT_FOUND, cli

LEDGER = (
    "debtor_id,name,type,country,language,email,phone,street,postal_code,city,invoice_id,due_date,amount\n"
    "T1,Jan Peeters,person,BE,nl,jan@example.be,+32470000001,Kerkstraat 1,2000,Antwerpen,I1,2026-08-01,500.00\n"
)
REVIEW = "name: quick\nversion: 1\nsteps:\n  - {key: review, day: 3, action: manual_task, settings: {title: Look}}\n"
WRITE_OFF = "name: quick\nversion: 1\nsteps:\n  - {key: wo, day: 3, action: write_off, settings: {reason: small}}\n"


def run(*args: str, workspace: Path | None = None, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    prefix = ["--workspace", str(workspace)] if workspace else []
    result = CliRunner().invoke(cli, [*prefix, *args], catch_exceptions=False, env=env)
    return result.exit_code, result.stdout, result.stderr


def planned(tmp_path: Path, store_url: str, flow: str) -> tuple[Path, dict[str, str]]:
    env = {"DUNNING_DATABASE": store_url}
    root = tmp_path / "ws"
    assert run("init", str(root), env=env)[0] == 0
    for path in (root / "flows").glob("*.yaml"):
        path.unlink()
    (root / "flows" / "quick.yaml").write_text(flow, encoding="utf-8")
    (root / "flows" / "assignment.yaml").write_text("assignment: {default: quick}\n", encoding="utf-8")
    (root / "aged.csv").write_text(LEDGER, encoding="utf-8")
    assert run("import", str(root / "aged.csv"), "--date", "2026-12-07", workspace=root, env=env)[0] == 0
    code, _, err = run("run", "--date", "2026-12-07", workspace=root, env=env)
    assert code == 0, err
    return root, env


def links(root: Path, env: dict[str, str], *args: str) -> dict[str, object]:
    code, out, err = run("links", *args, "--format", "json", workspace=root, env=env)
    assert code == 0, err
    return dict(json.loads(out))


@pytest.mark.usefixtures("store_url")
def test_links_revoke_show_and_restore(tmp_path: Path, store_url: str) -> None:
    root, env = planned(tmp_path, store_url, REVIEW)
    shown = links(root, env, "show", "1", "--date", "2026-12-08")
    assert shown["links"] == "active" and shown["revoked_on"] is None and shown["valid_until"]
    revoked = links(root, env, "revoke", "1", "--reason", "letter sent to a wrong address", "--by", "anna",
                    "--date", "2026-12-08")
    assert (revoked["links"], revoked["reason"], revoked["by"], revoked["revoked_on"]) == (
        "revoked", "letter sent to a wrong address", "anna", "2026-12-08")
    assert links(root, env, "show", "T1")["links"] == "revoked"  # by debtor id too
    code, out, _ = run("case", "1", "--format", "json", workspace=root, env=env)
    assert code == 0 and "pay links revoked by anna" in out and "letter sent to a wrong address" in out
    restored = links(root, env, "restore", "1", "--by", "anna", "--date", "2026-12-09")
    assert restored["links"] == "active"
    code, out, _ = run("case", "1", "--format", "json", workspace=root, env=env)
    assert "pay links restored by anna" in out
    code, _, err = run("links", "revoke", "999", workspace=root, env=env)
    assert code == EXIT_NOT_FOUND and "no case '999'" in err


def test_a_write_off_revokes_the_links_by_itself(tmp_path: Path, store_url: str) -> None:
    root, env = planned(tmp_path, store_url, WRITE_OFF)
    shown = links(root, env, "show", "1")
    assert (shown["links"], shown["reason"], shown["by"], shown["revoked_on"]) == (
        "revoked", "written off", "dunning", "2026-12-07")
