"""Revoked pay links over HTTP (Starlette's test client), on SQLite and PostgreSQL: a person revokes a
case's links, the page and every form posted to it answer 410 with the "revoked" words in each language
and the creditor's contact, the timeline says so, and a restore opens the page again; a hand-over and a
write-off revoke by themselves."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from markupsafe import escape
from starlette.testclient import TestClient

from dunning.domain import paylink
from dunning.store import Store
from dunning.usecases.cases.view import case_detail
from dunning.usecases.outgoing.secrets import load_secrets
from dunning.usecases.paypage.revoke import link_status, restore_links, revoke_links
from dunning.web.app import create_app
from dunning.web.forms import csrf_token
from dunning.web.i18n import TEXTS
from dunning.workspace import Workspace
from tests.web.helpers import VISIT_AT, VISIT_DAY, Letters

AT = datetime(2026, 11, 4, 16, 0, tzinfo=UTC)


def client(workspace: Workspace, store: Store) -> TestClient:
    app = create_app(workspace, store, today=lambda: VISIT_DAY, now=lambda: VISIT_AT)
    return TestClient(app, raise_server_exceptions=False, follow_redirects=False)


def timeline(store: Store, case_id: int) -> list[tuple[str, str, str]]:
    return [(e.kind, e.what, e.why) for e in case_detail(store, str(case_id)).timeline
            if e.kind.startswith("paylinks_")]


def test_a_revoked_case_gets_the_revoked_page_everywhere_until_restored(letters: Letters) -> None:
    store, workspace, sent = letters.store, letters.workspace, letters.sent
    letter = sent[1]
    http = client(workspace, store)
    token = letter.path.split("/")[-1].split("?")[0]
    other = paylink.make_token(str(letter.case_id), VISIT_DAY + timedelta(days=90), load_secrets(workspace).paylink)
    assert http.get(letter.path).status_code == 200
    visits_before = [e for e in case_detail(store, str(letter.case_id)).timeline if e.kind == "page_visited"]

    status = revoke_links(store, workspace, str(letter.case_id), reason="letter sent to a wrong address",
                          by="anna", on=date(2026, 11, 4), at=AT)
    assert status.revoked and status.reason == "letter sent to a wrong address" and status.by == "anna"
    # the same again changes nothing (one timeline entry)
    revoke_links(store, workspace, str(letter.case_id), reason="again", by="bob", on=date(2026, 11, 4), at=AT)
    assert timeline(store, letter.case_id) == [
        ("paylinks_revoked", "pay links revoked by anna", "letter sent to a wrong address")]

    for language in ("nl", "fr", "de", "en"):
        answer = http.get(f"/p/{token}?lang={language}")
        assert answer.status_code == 410, language
        assert 'data-page="revoked"' in answer.text and f'<html lang="{language}">' in answer.text
        assert str(escape(TEXTS[language]["revoked_title"])) in answer.text
        assert TEXTS[language]["revoked_title"] != TEXTS[language]["expired_title"]
        assert "debiteuren@brabant-energie.example" in answer.text  # how to reach the creditor
        assert letter.reference not in answer.text and "IBAN" not in answer.text  # no payment details
    assert http.get(f"/p/{other}").status_code == 410  # every link of the case, not only the letter's
    # no visit is recorded for a revoked link
    assert [e for e in case_detail(store, str(letter.case_id)).timeline if e.kind == "page_visited"] == visits_before
    # every form posted to it is refused, with a valid CSRF field
    secret = load_secrets(workspace).paylink
    for form, fields in (("question", {"reason": "not_mine", "text": "Not me"}), ("promise", {"date": "2026-11-20"}),
                         ("contact", {"email": "x@example.com"}), ("online", {})):
        answer = http.post(f"/p/{token}/{form}", data={"csrf": csrf_token(secret, token), **fields})
        assert answer.status_code == 410 and 'data-page="revoked"' in answer.text, form
    for page in ("question", "contact"):
        assert http.get(f"/p/{token}/{page}").status_code == 410, page

    status = restore_links(store, workspace, str(letter.case_id), by="anna",
                           on=date(2026, 11, 5), at=AT)
    assert not status.revoked and status.link_valid_until == date(2026, 11, 5) + timedelta(
        days=workspace.config.paylink.valid_days)
    assert http.get(letter.path).status_code == 200
    assert [kind for kind, _, _ in timeline(store, letter.case_id)] == ["paylinks_revoked", "paylinks_restored"]
    assert link_status(store, workspace, letter.reference, VISIT_DAY).case_id == letter.case_id  # by reference too

