"""The pay page keeps the claims it built and is never stale (on SQLite and PostgreSQL): the same app shows
a case's page again from what it kept while nothing changed, and after a new letter, a bank payment, a
revocation and its restore it shows exactly what a freshly started server shows."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from starlette.testclient import TestClient

from dunning.store import Store
from dunning.store.letter_actions import mark_planned_action_sent
from dunning.usecases.paypage.claim import PayPageReader
from dunning.usecases.paypage.revoke import restore_links, revoke_links
from dunning.web.app import create_app
from dunning.workspace import Workspace
from tests.usecases.letters.helpers import letter_actions, mark_messages_sent, night
from tests.web.helpers import VISIT_AT, VISIT_DAY, Letters, pay_in_full

AT = datetime(2026, 11, 5, 16, 0, tzinfo=UTC)


def client(workspace: Workspace, store: Store) -> TestClient:
    app = create_app(workspace, store, today=lambda: VISIT_DAY, now=lambda: VISIT_AT)
    return TestClient(app, raise_server_exceptions=False)


def total(html: str) -> str:
    found = re.search(r'id="total">([^<]+)<', html)
    return found.group(1) if found else "paid"


def shown(http: TestClient, path: str) -> tuple[int, str]:
    answer = http.get(path)
    return answer.status_code, answer.text


def test_a_kept_page_is_shown_while_nothing_changes_and_built_again_after_each_change(letters: Letters) -> None:
    store, workspace, sent = letters.store, letters.workspace, letters.sent
    letter = sent[0]
    token = letter.path.split("/")[-1].split("?")[0]
    reader = PayPageReader(store, workspace)
    first = reader.page(token, VISIT_DAY)
    assert reader.page(token, VISIT_DAY) is first  # kept: not built again
    kept_app = client(workspace, store)  # one server for the whole story: it keeps what it built
    status, before = shown(kept_app, letter.path)
    assert status == 200 and shown(kept_app, letter.path) == (200, before)

    def same_as_a_fresh_server(previous: str) -> str:
        """The kept server shows what a server started now shows, and not what it showed before."""
        now = shown(kept_app, letter.path)
        assert now == shown(client(workspace, store), letter.path)
        assert now[1] != previous
        return now[1]

    # a new letter: the print house posted the first, the next nights plan the flow's next letter and its costs
    letters_before = [a.id for a in letter_actions(store) if a.case_id == letter.case_id]
    with store.begin() as conn:
        for action_id in letters_before:
            mark_planned_action_sent(conn, action_id, date(2026, 11, 2))
    for day in (date(2026, 11, 9), date(2026, 11, 30)):
        night(store, workspace, day)
        mark_messages_sent(store)
    assert [a.id for a in letter_actions(store) if a.case_id == letter.case_id] != letters_before
    after_letter = same_as_a_fresh_server(before)
    assert reader.page(token, VISIT_DAY) is not first

    # a bank payment of what the letter asked
    pay_in_full(store, workspace, letter, letters.root)
    paid = same_as_a_fresh_server(after_letter)
    assert total(paid) != total(after_letter) != total(before)

    # a revocation: refused at once, and a restore shows the claim as it stands
    revoke_links(store, workspace, str(letter.case_id), reason="wrong address", by="anna", on=VISIT_DAY, at=AT)
    status, revoked = shown(kept_app, letter.path)
    assert status == 410 and 'data-page="revoked"' in revoked
    restore_links(store, workspace, str(letter.case_id), by="anna", on=VISIT_DAY, at=AT + timedelta(minutes=1))
    assert shown(kept_app, letter.path) == (200, paid) == shown(client(workspace, store), letter.path)
