"""A bench workspace that owns more accounts than the creditor's IBAN (``bank.accounts``), for real files."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

import camt
from camt import CamtError, StatementHeader
from dunning.workspace import Workspace, open_workspace
from tests.usecases.reconcile.camt_build import ACCOUNT, CORPUS
from tests.usecases.reconcile.conftest import Bench


def with_accounts(bench: Bench, *accounts: str) -> Workspace:
    """Write ``bank.accounts`` (the creditor's IBAN and ``accounts``) into the bench's dunning.yaml; reopen it."""
    path = bench.root / "dunning.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["bank"]["accounts"] = [ACCOUNT, *accounts]
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return open_workspace(bench.root, environ={})


def account_of(path: Path) -> str | None:
    """The account of a bank file's first statement (IBAN, else other id); None when it names none."""
    try:
        for event in camt.iter_events(path):
            if isinstance(event, StatementHeader):
                return event.account.iban or event.account.other_id
    except CamtError:
        return None
    return None


@cache
def corpus_accounts() -> tuple[str, ...]:
    """Every account the corpus's statements are for."""
    return tuple(sorted({a for p in CORPUS.rglob("*.xml") if (a := account_of(p)) is not None}))
