"""The messaging commands as a user runs them: dispatch, bounces (Maildir and IMAP), paylink verify."""

from __future__ import annotations

import json
import mailbox
from pathlib import Path

import pytest
from click.testing import CliRunner

from dunning.cli import EXIT_CONFIG, EXIT_INPUT, EXIT_PROBLEMS, cli
from dunning.store import open_store
from tests.channels.test_bounces import TinyImapServer
from tests.usecases.messaging.helpers import SECRET, dsn_for, ledger_csv


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "ws"
    runner = CliRunner()
    assert runner.invoke(cli, ["init", str(root)]).exit_code == 0
    monkeypatch.setenv("DUNNING_WORKSPACE", str(root))
    monkeypatch.delenv("DUNNING_PAYLINK_SECRET", raising=False)
    ledger = ledger_csv(root / "ledger" / "test.csv")
    assert runner.invoke(cli, ["import", str(ledger), "--date", "2026-10-05"]).exit_code == 0
    assert runner.invoke(cli, ["run", "--date", "2026-10-08"]).exit_code == 0
    return root


def _json(output: str) -> dict:  # type: ignore[type-arg]
    return json.loads(output[output.index("{"):])  # type: ignore[no-any-return]


def test_dispatch_needs_the_secret_then_sends_once(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    (workspace / "secrets" / "paylink.key").unlink()  # `dunning init` made one; without it, dispatch refuses
    missing = runner.invoke(cli, ["dispatch", "--date", "2026-10-08"])
    assert missing.exit_code == EXIT_CONFIG and "DUNNING_PAYLINK_SECRET" in missing.output

    monkeypatch.setenv("DUNNING_PAYLINK_SECRET", SECRET)
    first = runner.invoke(cli, ["dispatch", "--date", "2026-10-08", "--channel", "email", "--format", "json"])
    assert first.exit_code == 0, first.output
    [email] = _json(first.output)["channels"]
    assert (email["channel"], email["due"], email["sent"], email["failed"]) == ("email", 4, 4, 0)
    assert len(list((workspace / "output" / "mail").glob("*.eml"))) == 4

    table = runner.invoke(cli, ["dispatch", "--date", "2026-10-08"])
    assert table.exit_code == 0 and "Dispatch 2026-10-08" in table.output
    assert len(list((workspace / "output" / "mail").glob("*.eml"))) == 4

    case = runner.invoke(cli, ["case", "D1", "--format", "json"])
    timeline = _json(case.output)["timeline"]
    assert [e["kind"] for e in timeline].count("message_sent") == 1
    assert "action:sent" in [e["kind"] for e in timeline]
    assert runner.invoke(cli, ["dispatch", "--help"]).exit_code == 0


def test_bounces_from_a_maildir_and_an_imap_folder(workspace: Path, monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    runner = CliRunner()
    monkeypatch.setenv("DUNNING_PAYLINK_SECRET", SECRET)
    assert runner.invoke(cli, ["dispatch", "--date", "2026-10-08", "--channel", "email"]).exit_code == 0
    sent = sorted((workspace / "output" / "mail").glob("*.eml"))
    box = mailbox.Maildir(str(tmp_path / "Maildir"), create=True)
    box.add(dsn_for(sent[0].read_bytes()))

    result = runner.invoke(cli, ["bounces", str(tmp_path / "Maildir"), "--date", "2026-10-09", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert _json(result.output)["hard"] == 1
    again = runner.invoke(cli, ["bounces", str(tmp_path / "Maildir"), "--format", "json"])
    assert (_json(again.output)["hard"], _json(again.output)["already_known"]) == (0, 1)

    server = TinyImapServer([dsn_for(sent[1].read_bytes())])
    try:
        monkeypatch.setenv("DUNNING_IMAP_PASSWORD", "s3cret")
        imap = runner.invoke(cli, ["bounces", f"imap://bounces@127.0.0.1:{server.port}/Bounces", "--format", "json"])
    finally:
        server.close()
    assert imap.exit_code == 0, imap.output
    assert _json(imap.output)["hard"] == 1
    store = open_store(f"sqlite:///{workspace / 'state.db'}")
    try:
        from sqlalchemy import func, select

        from dunning.store.schema import actions

        with store.begin() as conn:
            assert conn.execute(select(func.count()).select_from(actions).where(actions.c.status == "bounced")
                                ).scalar_one() == 2
    finally:
        store.dispose()
    assert runner.invoke(cli, ["bounces", str(tmp_path / "nothing-here")]).exit_code == EXIT_INPUT


def test_paylink_verify_names_the_case_and_the_expiry(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    monkeypatch.setenv("DUNNING_PAYLINK_SECRET", SECRET)
    assert runner.invoke(cli, ["dispatch", "--date", "2026-10-08", "--channel", "email"]).exit_code == 0
    text = next((workspace / "output" / "mail").glob("*.eml")).read_bytes().decode("utf-8", "replace")
    text = text.replace("=\r\n", "").replace("=3D", "=")  # quoted-printable
    link = next(w for w in text.split() if w.startswith("https://pay.example.com/p/"))

    valid = runner.invoke(cli, ["paylink", "verify", link, "--date", "2026-11-01"])
    assert valid.exit_code == 0 and "valid: case" in valid.output and "until 2027-01-06" in valid.output
    expired = runner.invoke(cli, ["paylink", "verify", link, "--date", "2027-01-07"])
    assert expired.exit_code == EXIT_PROBLEMS and "expired: case" in expired.output
    assert link.endswith("?m=e")  # the email's link says it came by email (the pay page counts visits per medium)
    token = link.removesuffix("?m=e")
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB") + "?m=e"
    invalid = runner.invoke(cli, ["paylink", "verify", tampered, "--format", "json"])
    assert invalid.exit_code == EXIT_PROBLEMS and _json(invalid.output)["status"] == "invalid"
    assert "signature" in _json(invalid.output)["reason"]
