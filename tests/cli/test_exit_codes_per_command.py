"""Every command leaves with the exit code the README promises, in the situations that should give each one.

README: 0 done; 1 done but some records were rejected; 2 wrong usage; 3 configuration or workspace error;
4 an input file cannot be read; 5 the store cannot be opened; 6 a delivery failed; 7 not found; 8 busy
(8 is proven with real concurrent processes in test_workspace_lock.py).

Each case runs on its own copy of one real workspace (the example ledger imported, two nights planned:
letters, emails and webhooks due), with the situation made by the environment overrides an operator would
use (``DUNNING_PRINT_TRANSPORT``, ``DUNNING_DATABASE``, ...): an SFTP print house or an SMTP server on a
closed port of 127.0.0.1, a database that cannot be opened, a broken dunning.yaml, a missing file.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from dunning.cli import cli
from dunning.errors import (
    EXIT_CONFIG,
    EXIT_DELIVERY,
    EXIT_INPUT,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_STORE,
    EXIT_USAGE,
)
from tests.ledger.messy import write_messy

PLANNED = "2026-11-10"  # the night with letters, emails, SMS and creditor webhooks due


def closed_port() -> int:
    """A port of 127.0.0.1 nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Case:
    command: str
    args: list[str]
    expected: int
    env: dict[str, str] = field(default_factory=dict)
    prepare: Callable[[Path], None] | None = None
    message: str = ""  # a part of the output (stderr, or stdout for a check's verdict) that says what went wrong

    @property
    def id(self) -> str:
        return f"{self.command}-{self.expected}-{'-'.join(self.args)[:40]}"


def _break_yaml(root: Path) -> None:
    (root / "dunning.yaml").write_text((root / "dunning.yaml").read_text().replace("batch_size: 500", "batch_size: [1"))


def _unknown_key(root: Path) -> None:
    (root / "dunning.yaml").write_text((root / "dunning.yaml").read_text() + "colour: blue\n")


def _no_paylink_secret(root: Path) -> None:
    (root / "secrets" / "paylink.key").unlink()


def _messy_ledger(root: Path) -> None:
    write_messy(root / "messy.csv")


def _not_camt(root: Path) -> None:
    (root / "statement.xml").write_text("this is no bank statement\n")


def _empty_maildir(root: Path) -> None:
    for part in ("new", "cur", "tmp"):
        (root / "bounces" / part).mkdir(parents=True)


def _bad_flow(root: Path) -> None:
    (root / "flows" / "broken.yaml").write_text("name: broken\nsteps: [1, 2\n")


def _pending_batch(root: Path) -> None:
    """A night whose letters were rendered but whose print batch did not reach the (closed) print house."""
    values = {"root": str(root), "closed": str(closed_port())}
    env = {key: value.format(**values) for key, value in SFTP_CLOSED.items()}
    assert invoke(root, ["letters", "--date", PLANNED, "--workers", "1"], env)[0] == EXIT_DELIVERY


STORE_CLOSED = {"DUNNING_DATABASE": "postgresql+psycopg://dunning@127.0.0.1:{closed}/dunning"}
NO_FOLDER_STORE = {"DUNNING_DATABASE": "sqlite:////proc/no-such-folder/state.db"}
SFTP_CLOSED = {"DUNNING_PRINT_TRANSPORT": "sftp://print@127.0.0.1:{closed}/inbox",
               "DUNNING_PRINT_KEY": "{root}/print_key", "DUNNING_PRINT_KNOWN_HOSTS": "{root}/known_hosts"}
SMTP_CLOSED = {"DUNNING_EMAIL_TRANSPORT": "smtp://127.0.0.1:{closed}?rate=50"}
WEBHOOK_CLOSED = {"DUNNING_WEBHOOK_URL": "http://127.0.0.1:{closed}/hook",
                  "DUNNING_WEBHOOK_SECRET": "a-webhook-secret-of-enough-length", "DUNNING_WEBHOOK_MAX_ATTEMPTS": "1"}

CASES = [
    # import
    Case("import", ["import", "{root}/examples/open-items.csv", "--date", "2026-11-02"], EXIT_OK),
    # another ledger's debtors: it closes every case of the workspace, which only --allow-mass-close lets through
    Case("import", ["import", "{root}/messy.csv", "--date", "2026-11-02", "--allow-mass-close"], EXIT_PROBLEMS,
         prepare=_messy_ledger),
    Case("import", ["import", "{root}/missing.csv"], EXIT_INPUT, message="missing.csv"),
    Case("import", ["import"], EXIT_USAGE),
    Case("import", ["import", "{root}/examples/open-items.csv"], EXIT_CONFIG, prepare=_break_yaml,
         message="dunning.yaml"),
    Case("import", ["import", "{root}/examples/open-items.csv"], EXIT_STORE, env=STORE_CLOSED,
         message="cannot open the state store"),
    Case("import", ["import", "{root}/examples/open-items.csv"], EXIT_STORE, env=NO_FOLDER_STORE,
         message="cannot open the state store"),
    # run
    Case("run", ["run", "--date", "2026-11-24"], EXIT_OK),
    Case("run", ["run", "--date", "24.11.2026"], EXIT_USAGE),
    Case("run", ["run"], EXIT_CONFIG, prepare=_unknown_key, message="colour"),
    Case("run", ["run", "--date", "2026-11-24"], EXIT_INPUT, prepare=_bad_flow, message="broken.yaml"),
    Case("run", ["run"], EXIT_STORE, env=STORE_CLOSED),
    # dispatch
    Case("dispatch", ["dispatch", "--date", PLANNED, "--receipt-wait", "0"], EXIT_OK),
    Case("dispatch", ["dispatch", "--date", PLANNED, "--receipt-wait", "0", "--channel", "email"], EXIT_DELIVERY,
         env=SMTP_CLOSED, message="will be retried"),
    Case("dispatch", ["dispatch", "--channel", "fax"], EXIT_USAGE),
    Case("dispatch", ["dispatch", "--date", PLANNED], EXIT_STORE, env=STORE_CLOSED),
    # letters and deliver
    Case("letters", ["letters", "--date", PLANNED, "--workers", "1"], EXIT_OK),
    Case("letters", ["letters", "--date", PLANNED, "--workers", "1"], EXIT_DELIVERY, env=SFTP_CLOSED,
         message="not delivered"),
    Case("letters", ["letters", "--date", PLANNED], EXIT_CONFIG, prepare=_break_yaml),
    Case("deliver", ["deliver", "--date", PLANNED], EXIT_OK),
    Case("deliver", ["deliver", "--date", PLANNED], EXIT_OK, prepare=_pending_batch),  # the folder takes it
    Case("deliver", ["deliver", "--date", PLANNED], EXIT_DELIVERY, env=SFTP_CLOSED, prepare=_pending_batch,
         message="not delivered"),
    Case("deliver", ["deliver", "--date", PLANNED], EXIT_STORE, env=NO_FOLDER_STORE),
    # notify
    Case("notify", ["notify", "--date", PLANNED], EXIT_OK),
    Case("notify", ["notify", "--date", PLANNED], EXIT_DELIVERY, env=WEBHOOK_CLOSED, message="gave up"),
    Case("notify", ["notify", "--date", PLANNED], EXIT_CONFIG,
         env={"DUNNING_WEBHOOK_URL": "https://erp.example/hook"}, message="DUNNING_WEBHOOK_SECRET"),
    # reconcile
    Case("reconcile", ["reconcile", "--fetch", "--date", PLANNED], EXIT_OK),
    Case("reconcile", ["reconcile"], EXIT_USAGE),
    Case("reconcile", ["reconcile", "{root}/missing.xml"], EXIT_INPUT, message="missing.xml"),
    Case("reconcile", ["reconcile", "{root}/statement.xml"], EXIT_INPUT, prepare=_not_camt,
         message="statement.xml"),
    # acks
    Case("acks", ["acks", "--date", PLANNED], EXIT_OK),
    Case("acks", ["acks", "--date", PLANNED], EXIT_DELIVERY, env=SFTP_CLOSED, message="Connection refused"),
    # bounces
    Case("bounces", ["bounces", "{root}/bounces"], EXIT_OK, prepare=_empty_maildir),
    Case("bounces", ["bounces", "{root}/no-such-mailbox"], EXIT_INPUT, message="no-such-mailbox"),
    # cases, case
    Case("cases", ["cases"], EXIT_OK),
    Case("cases", ["cases", "--format", "xml"], EXIT_USAGE),
    Case("cases", ["cases"], EXIT_STORE, env=STORE_CLOSED),
    Case("case", ["case", "C1001"], EXIT_OK),
    Case("case", ["case", "C9999"], EXIT_NOT_FOUND, message="C9999"),
    # review
    Case("review", ["review"], EXIT_OK),
    Case("review", ["review", "accept", "999"], EXIT_NOT_FOUND, message="999"),
    Case("review", ["review", "reject", "999"], EXIT_NOT_FOUND, message="999"),
    Case("review", ["review", "refund", "999"], EXIT_NOT_FOUND, message="999"),
    Case("review", ["review", "keep", "999", "--note", "next invoice"], EXIT_NOT_FOUND, message="999"),
    Case("review", ["review", "ignore", "999"], EXIT_NOT_FOUND, message="999"),
    Case("review", ["review", "keep"], EXIT_USAGE),
    # tasks
    Case("tasks", ["tasks"], EXIT_OK),
    Case("tasks", ["tasks", "--kind", "nope"], EXIT_USAGE),
    Case("tasks", ["tasks"], EXIT_STORE, env=STORE_CLOSED),
    Case("tasks", ["tasks", "done", "999999", "--note", "x"], EXIT_NOT_FOUND, message="no task 999999"),
    Case("tasks", ["tasks", "done", "999999"], EXIT_USAGE),
    # flows check
    Case("flows check", ["flows", "check"], EXIT_OK),
    Case("flows check", ["flows", "check"], EXIT_PROBLEMS, prepare=_bad_flow),
    Case("flows check", ["flows", "check"], EXIT_CONFIG, prepare=_break_yaml),
    # preview, brand-check
    Case("preview", ["preview", "first_reminder", "--lang", "nl", "-o", "{root}/preview.pdf"], EXIT_OK),
    Case("preview", ["preview", "no_such_letter", "--lang", "nl"], EXIT_USAGE),
    Case("preview", ["preview", "first_reminder", "--lang", "nl", "--case", "999", "-o", "{root}/p.pdf"],
         EXIT_NOT_FOUND, message="999"),
    Case("brand-check", ["brand-check", "no-such-brand"], EXIT_CONFIG, message="no-such-brand"),
    # rates
    Case("rates", ["rates", "--date", PLANNED], EXIT_OK),
    Case("rates", ["rates"], EXIT_CONFIG, prepare=_break_yaml),
    # paylink verify
    Case("paylink verify", ["paylink", "verify", "not-a-token"], EXIT_PROBLEMS, message="invalid"),
    Case("paylink verify", ["paylink", "verify"], EXIT_USAGE),
    # plans
    Case("plans", ["plans", "--status", "active"], EXIT_OK),
    Case("plans", ["plans", "create", "C1001", "--count", "2", "--date", PLANNED], EXIT_OK, message="paused"),
    Case("plans", ["plans", "create", "C1001", "--count", "99", "--date", PLANNED], EXIT_INPUT,
         message="the policy allows 2 to 12"),
    Case("plans", ["plans", "create", "C9999", "--count", "2"], EXIT_NOT_FOUND, message="C9999"),
    Case("plans", ["plans", "--status", "paused"], EXIT_USAGE),
    Case("plans", ["plans", "propose", "C1001", "--date", PLANNED], EXIT_OK, message="plan(s) allowed"),
    Case("plans", ["plans", "propose", "C9999"], EXIT_NOT_FOUND, message="C9999"),
    Case("plans", ["plans", "report", "--format", "json"], EXIT_OK),
    Case("plans", ["plans", "collect", "--date", PLANNED], EXIT_OK, message="Nothing due for collection"),
    Case("plans", ["plans", "mandate", "C1001", "--iban", "BE71096123456769", "--signed-on", "2026-11-01"],
         EXIT_CONFIG, message="creditor.sepa_creditor_id"),
    Case("plans", ["plans", "mandate", "C1001", "--iban", "BE71096123456769", "--signed-on", "2026-11-01"],
         EXIT_NOT_FOUND, env={"DUNNING_CREDITOR_SEPA_CREDITOR_ID": "BE68ZZZ0123456789"}, message="C1001"),
    Case("plans", ["plans"], EXIT_CONFIG, prepare=_break_yaml),
    Case("plans", ["plans"], EXIT_STORE, env=STORE_CLOSED),
    # batches
    Case("batches", ["batches"], EXIT_OK),
    Case("batches", ["batches"], EXIT_STORE, env=STORE_CLOSED),
    Case("batches", ["batches"], EXIT_CONFIG, prepare=_break_yaml),
    # serve (it starts only when all is well: the demo's test opens a page of a running `dunning serve`)
    Case("serve", ["serve", "--port", "{closed}"], EXIT_CONFIG, prepare=_break_yaml),
    Case("serve", ["serve", "--port", "{closed}"], EXIT_CONFIG, prepare=_no_paylink_secret,
         message="cannot read the secret file"),
    Case("serve", ["serve", "--port", "{closed}"], EXIT_STORE, env=STORE_CLOSED),
]


def invoke(root: Path, args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["-w", str(root), *args], env={"CI": "1", **(env or {})},
                                catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def planned_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("exit-codes") / "ws"
    assert invoke(root, ["init", str(root)])[0] == 0
    # A creditor webhook with the first reminder, so `notify` has one due on PLANNED (the flow's later steps
    # wait for the messages before them, which this fixture never sends).
    flow = root / "flows" / "default.yaml"
    text = flow.read_text(encoding="utf-8")
    step = "  - key: tell_the_erp\n    after: 0\n    action: notify_creditor\n\n"
    flow.write_text(text.replace("  - key: sms_nudge\n", step + "  - key: sms_nudge\n", 1), encoding="utf-8")
    for args in (["import", str(root / "examples" / "open-items.csv"), "--date", "2026-11-02"],
                 ["run", "--date", "2026-11-02"], ["run", "--date", PLANNED]):
        code, _, err = invoke(root, args)
        assert code == 0, err
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / "print_key")], check=True)
    (root / "known_hosts").write_text(
        "127.0.0.1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n")
    return root


def test_every_command_of_the_readme_is_covered() -> None:
    commands = {"import", "run", "dispatch", "letters", "deliver", "notify", "reconcile", "acks", "bounces",
                "cases", "case", "review", "tasks", "flows check", "preview", "brand-check", "rates", "paylink verify",
                "batches", "plans", "serve"}
    assert {case.command for case in CASES} == commands


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_exit_code(planned_workspace: Path, tmp_path: Path, case: Case) -> None:
    root = tmp_path / "ws"
    shutil.copytree(planned_workspace, root)
    if case.prepare is not None:
        case.prepare(root)
    values = {"root": str(root), "closed": str(closed_port())}
    args = [arg.format(**values) for arg in case.args]
    env = {key: value.format(**values) for key, value in case.env.items()}
    code, out, err = invoke(root, args, env)
    assert code == case.expected, f"dunning {' '.join(args)}: exit {code}, stderr:\n{err[-1500:]}"
    assert "Traceback" not in err
    if case.message:
        assert case.message in " ".join((err + out).split()), err[-1500:]
