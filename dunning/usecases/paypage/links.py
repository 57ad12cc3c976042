"""Pay links for people who test or support the page: a case's link, and the same link on this machine."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit, urlunsplit

from dunning.domain.paylink import with_medium
from dunning.letters import LetterKind
from dunning.store import Store
from dunning.usecases.letters.data import letter_for_case
from dunning.workspace import Workspace

__all__ = ["case_pay_link", "local_link"]


def case_pay_link(
    store: Store, workspace: Workspace, case_id: int, sent_on: date, env: dict[str, str] | None = None
) -> str:
    """The link a letter sent on ``sent_on`` prints in its QR code for case ``case_id``; NotFound if none."""
    letter = letter_for_case(store, workspace, case_id, sent_on, LetterKind.SECOND_REMINDER, env)
    return with_medium(letter.pay_link, "letter_qr")


def local_link(workspace: Workspace, link: str) -> str:
    """``link`` on the server ``dunning serve`` starts here (``paypage.host``/``port``), for a demo or a check."""
    config = workspace.config.paypage
    host = "127.0.0.1" if config.host in ("0.0.0.0", "::") else config.host
    parts = urlsplit(link)
    return urlunsplit(("http", f"{host}:{config.port}", parts.path, parts.query, ""))
