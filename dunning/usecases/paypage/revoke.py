"""Revoking a case's pay links, and restoring them: ``dunning links revoke|restore|show CASE``.

**Why.** A pay link is a signed token valid until its day (:mod:`dunning.domain.paylink`); a
signature cannot be taken back, so a revoked case is a row the page looks up by its primary key on
every request (:mod:`dunning.store.revocations`). A person revokes when a letter went to a wrong
address (the link shows the claim's numbers to whoever holds the letter) or the file left the
creditor. Every link of the case is refused from then on (the page, and every form posted to it)
with a page saying how to reach the creditor; the revocation and a restore go on the case's timeline.

**Automatically** when a case is handed over to an agency, a lawyer or a bailiff (the export is
written) or written off: :data:`dunning.domain.paylink.REVOKING_ACTIONS` says why, and the stage where
the action takes effect revokes (:mod:`dunning.usecases.notify.exports`,
:mod:`dunning.usecases.planning.night`). ``dunning links restore`` undoes either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from dunning.errors import NotFound
from dunning.store import Store
from dunning.store.cases import NewCaseEvent, find_case, insert_case_events
from dunning.store.revocations import delete_revocation, load_revocation, revoke_case_links
from dunning.workspace import Workspace

__all__ = ["LinkStatus", "link_status", "restore_links", "revoke_links"]


@dataclass(frozen=True, slots=True)
class LinkStatus:
    """Whether a case's pay links open its page, and since when and why not."""

    case_id: int
    reference: str
    revoked: bool
    revoked_on: date | None = None
    reason: str | None = None
    by: str | None = None
    #: the last day of the link a message sent today would carry
    link_valid_until: date | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "case": self.case_id,
            "reference": self.reference,
            "links": "revoked" if self.revoked else "active",
            "revoked_on": self.revoked_on.isoformat() if self.revoked_on else None,
            "reason": self.reason,
            "by": self.by,
            "valid_until": self.link_valid_until.isoformat() if self.link_valid_until else None,
        }


def _case(conn: Connection, ident: str) -> tuple[int, str]:
    found = find_case(conn, ident)
    if found is None:
        raise NotFound(f"no case {ident!r} (give its number, payment reference or debtor id)")
    return found.case_id, found.reference or ""


def link_status(store: Store, workspace: Workspace, ident: str, today: date) -> LinkStatus:
    """The state of the links of case ``ident`` (number, payment reference or debtor id); NotFound."""
    with store.begin() as conn:
        case_id, reference = _case(conn, ident)
        found = load_revocation(conn, case_id)
    if found is None:
        return LinkStatus(case_id, reference, False,
                          link_valid_until=today + timedelta(days=workspace.config.paylink.valid_days))
    return LinkStatus(case_id, reference, True, found.revoked_on, found.reason, found.by)


def revoke_links(
    store: Store, workspace: Workspace, ident: str, *, reason: str, by: str, on: date, at: datetime
) -> LinkStatus:
    """Revoke every pay link of case ``ident`` (already revoked: unchanged); NotFound."""
    with store.begin() as conn:
        case_id, _ = _case(conn, ident)
        revoke_case_links(conn, case_id, reason=reason, by=by, on=on, at=at, source="cli:links")
    return link_status(store, workspace, ident, on)


def restore_links(store: Store, workspace: Workspace, ident: str, *, by: str, on: date, at: datetime) -> LinkStatus:
    """Let the links of case ``ident`` open its page again (not revoked: unchanged); NotFound."""
    with store.begin() as conn:
        case_id, _ = _case(conn, ident)
        if delete_revocation(conn, case_id):
            insert_case_events(conn, [NewCaseEvent(case_id, on, "paylinks_restored", {"by": by, "reason": f"by {by}"},
                                                   "cli:links", at)])
    return link_status(store, workspace, ident, on)
