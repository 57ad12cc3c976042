"""Prepared pay pages (:mod:`dunning.web.prepared`), on SQLite and PostgreSQL: a page made for a visit, or
ahead by ``dunning links prepare`` in another process, is served from the store without building the claim,
byte for byte what the server would make; and never once anything it was made from changed (a payment, a new
day, another release or settings), nor for a revoked link. Each opening is still a visit."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Connection, func, select, update
from starlette.testclient import TestClient

from dunning.store import Store
from dunning.store.deliveries import insert_letter_deliveries, letter_delivery_row
from dunning.store.prepared_pages import page_key
from dunning.store.schema import page_visits, paypage_prepared
from dunning.usecases.outgoing.secrets import load_secrets
from dunning.usecases.paypage.claim import PayPage, PayPageReader
from dunning.usecases.paypage.prepared import sent_links
from dunning.usecases.paypage.revoke import revoke_links
from dunning.web import prepared
from dunning.web.app import create_app
from dunning.web.forms import csrf_token
from dunning.web.prepared import prepare_pages
from dunning.workspace import Workspace
from tests.chaos.workspaces import dunning_executable
from tests.usecases.letters.helpers import LETTER_DAY, letter_actions
from tests.web.helpers import VISIT_AT, VISIT_DAY, Letter, Letters, pay_in_full

AT = datetime(2026, 11, 5, 16, 0, tzinfo=UTC)


class CountingReader(PayPageReader):
    """A reader that counts the claims it builds (a page served from the store builds none)."""

    built = 0

    def _build(self, conn: Connection, case_id: int, expires: date) -> PayPage:
        type(self).built += 1
        return super()._build(conn, case_id, expires)


def client(workspace: Workspace, store: Store, day: date = VISIT_DAY) -> TestClient:
    """A freshly started server (nothing kept in memory) that counts the claims it builds."""
    app = create_app(workspace, store, reader=CountingReader(store, workspace), today=lambda: day,
                     now=lambda: VISIT_AT)
    return TestClient(app, raise_server_exceptions=False)


def token_of(letter: Letter) -> str:
    return letter.path.split("/")[-1].split("?")[0]


def visits(store: Store, case_id: int) -> int:
    with store.begin() as conn:
        return int(conn.execute(select(func.count()).where(page_visits.c.case_id == case_id)).scalar_one())


def kept_day(store: Store, token: str) -> date | None:
    with store.begin() as conn:
        day: date | None = conn.execute(
            select(paypage_prepared.c.day).where(paypage_prepared.c.page_key == page_key(token))
        ).scalar_one_or_none()
        return day


def opened(http: TestClient, path: str) -> tuple[int, str, int]:
    """Status, body and the claims built for one opening."""
    before = CountingReader.built
    answer = http.get(path)
    return answer.status_code, answer.text, CountingReader.built - before


def test_a_page_made_for_a_visit_is_served_from_the_store_until_its_case_changes(letters: Letters) -> None:
    store, workspace, letter = letters.store, letters.workspace, letters.sent[0]
    token = token_of(letter)
    visited = visits(store, letter.case_id)
    status, first, built = opened(client(workspace, store), letter.path)
    assert (status, built) == (200, 1) and kept_day(store, token) == VISIT_DAY

    # another server (another worker, a restart): the page comes from the store, the claim is not built
    status, again, built = opened(client(workspace, store), letter.path)
    assert (status, again, built) == (200, first, 0)
    assert visits(store, letter.case_id) == visited + 2  # each opening is a visit, prepared or not

    # switching language is made live, and is not kept as the visit's page
    status, french, built = opened(client(workspace, store), letter.path.split("?")[0] + "?lang=fr")
    assert status == 200 and built == 1 and french != first
    assert opened(client(workspace, store), letter.path) == (200, first, 0)

    # the next day: made again (the offers count from the day), then kept for that day; the server's first
    # page of the day deletes the pages of earlier days
    other = token_of(letters.sent[5])
    assert opened(client(workspace, store), letters.sent[5].path)[0] == 200 and kept_day(store, other) == VISIT_DAY
    status, _, built = opened(client(workspace, store, VISIT_DAY + timedelta(days=1)), letter.path)
    assert status == 200 and built == 1 and kept_day(store, token) == VISIT_DAY + timedelta(days=1)
    assert kept_day(store, other) is None

    # a payment: never the page made before it
    pay_in_full(store, workspace, letter, letters.root)
    status, paid, built = opened(client(workspace, store), letter.path)
    assert status == 200 and built == 1 and paid != first and 'data-page="paid"' in paid
    assert opened(client(workspace, store), letter.path) == (200, paid, 0)


def test_a_page_is_not_served_after_a_new_release_or_other_settings(
    letters: Letters, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, workspace, letter = letters.store, letters.workspace, letters.sent[1]
    status, first, _ = opened(client(workspace, store), letter.path)
    assert status == 200 and opened(client(workspace, store), letter.path)[2] == 0

    # another release: the package's digest differs
    monkeypatch.setattr(prepared, "_package_digest", lambda: "another release")
    assert opened(client(workspace, store), letter.path)[2] == 1
    monkeypatch.undo()

    # other settings the page shows (the creditor's name), and settings it does not (the server's limits)
    renamed = workspace.config.model_copy(
        update={"creditor": workspace.config.creditor.model_copy(update={"name": "Another Creditor NV"})}
    )
    status, other, built = opened(client(Workspace(workspace.root, renamed), store), letter.path)
    assert status == 200 and built == 1 and "Another Creditor NV" in other
    assert opened(client(workspace, store), letter.path) == (200, first, 1)  # the first settings' page again
    limits = workspace.config.paypage.model_copy(update={"rate_per_link": 7, "workers": 4})
    limited = workspace.config.model_copy(update={"paypage": limits})
    assert opened(client(Workspace(workspace.root, limited), store), letter.path) == (200, first, 0)


def test_a_revoked_link_is_refused_even_with_a_page_prepared(letters: Letters) -> None:
    store, workspace, letter = letters.store, letters.workspace, letters.sent[2]
    assert opened(client(workspace, store), letter.path)[0] == 200
    visited = visits(store, letter.case_id)
    revoke_links(store, workspace, str(letter.case_id), reason="wrong address", by="anna", on=VISIT_DAY, at=AT)
    status, page, _ = opened(client(workspace, store), letter.path)
    assert status == 410 and 'data-page="revoked"' in page and visits(store, letter.case_id) == visited


def _letters_went_out(store: Store, letters: Letters, count: int) -> list[Letter]:
    """The print house took the first ``count`` letters still open on LETTER_DAY (their delivery rows)."""
    chosen = letters.sent[3 : 3 + count]
    ids = {a.case_id: a.id for a in letter_actions(store)}
    rows = [
        letter_delivery_row(key=f"prepared-test-{n}", action_id=ids[letter.case_id], channel="letter",
                            batch_id="B-PREPARED", sequence=n, pages=1, sent_on=LETTER_DAY, template=None,
                            recorded_at=AT)
        for n, letter in enumerate(chosen)
    ]
    with store.begin() as conn:
        insert_letter_deliveries(conn, rows)
    return chosen


def test_links_prepare_in_another_process_makes_the_pages_the_server_serves(letters: Letters) -> None:
    store, workspace = letters.store, letters.workspace
    chosen = _letters_went_out(store, letters, 3)
    tokens = sent_links(store, workspace, LETTER_DAY, VISIT_DAY)
    assert {token_of(letter) for letter in chosen} <= set(tokens)  # the very links the letters print
    assert sent_links(store, workspace, LETTER_DAY + timedelta(days=1), VISIT_DAY) == []  # none went out later

    env = {**os.environ, "DUNNING_DATABASE": store.engine.url.render_as_string(hide_password=False),
           "DUNNING_PAYPAGE_RATE_PER_LINK": "1000"}  # a setting of the server alone: the pages are the same
    run = subprocess.run(
        [dunning_executable(), "-w", str(workspace.root), "links", "prepare", "--date", VISIT_DAY.isoformat(),
         "--days", "4", "--format", "json"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["links"] == len(tokens) and report["prepared"] + report["fresh"] == len(tokens)
    assert report["day"] == VISIT_DAY.isoformat()

    server = client(workspace, store)
    for letter in chosen:
        visited = visits(store, letter.case_id)
        status, page, built = opened(server, letter.path)
        assert (status, built) == (200, 0), letter.case_id  # made by the command, not by the server
        assert visits(store, letter.case_id) == visited + 1
        with store.begin() as conn:  # what a server makes with nothing prepared, byte for byte
            conn.execute(update(paypage_prepared).where(paypage_prepared.c.page_key == page_key(token_of(letter)))
                         .values(stamp="gone"))
        assert opened(client(workspace, store), letter.path) == (200, page, 1)

    # a second preparation finds the pages fresh, makes none again, and forgets the pages of earlier days
    again = prepare_pages(workspace, store, VISIT_DAY, tokens)
    assert (again.prepared, again.fresh) == (0, len(tokens))
    # in worker processes (each with its store): the same, and what they prepare is served as it is
    many = tokens * (prepared.CHUNK // len(tokens) + 1)  # more than one chunk: the workers share them
    shared = prepare_pages(workspace, store, VISIT_DAY, many, workers=2)
    assert (shared.links, shared.prepared, shared.fresh) == (len(many), 0, len(many))
    in_workers = prepare_pages(workspace, store, VISIT_DAY + timedelta(days=2), many, workers=2)
    assert in_workers.prepared + in_workers.fresh == len(many) and in_workers.prepared >= len(tokens)
    server = client(workspace, store, VISIT_DAY + timedelta(days=2))
    assert all(opened(server, letter.path)[:3:2] == (200, 0) for letter in chosen)
    later = prepare_pages(workspace, store, VISIT_DAY + timedelta(days=3), tokens[:1])
    assert later.prepared == 1 and later.forgotten >= len(tokens)


def _unkept(store: Store, workspace: Workspace, letter: Letter) -> str:
    """The page a server shows with nothing prepared for the link (its row made unusable first)."""
    with store.begin() as conn:
        conn.execute(update(paypage_prepared).where(paypage_prepared.c.page_key == page_key(token_of(letter)))
                     .values(stamp="gone"))
    status, page, built = opened(client(workspace, store), letter.path)
    assert (status, built) == (200, 1)
    return page


@pytest.mark.parametrize("form", ["promise", "question", "plan"])
def test_after_each_form_a_debtor_posts_the_next_visit_shows_what_a_fresh_server_shows(
    letters: Letters, form: str
) -> None:
    store, workspace = letters.store, letters.workspace
    letter = letters.sent[{"promise": 6, "question": 7, "plan": 8}[form]]
    token = token_of(letter)
    server = client(workspace, store)
    status, before, _ = opened(server, letter.path)
    assert status == 200 and opened(server, letter.path)[2] == 0  # kept and served
    csrf = csrf_token(load_secrets(workspace).paylink, token)
    fields = {
        "promise": {"date": (VISIT_DAY + timedelta(days=7)).isoformat()},
        "question": {"reason": "wrong_amount", "text": "The second invoice was credited."},
        "plan": {"count": "2", "accept": "yes", "terms_version": "1", "lang": "en"},
    }[form]
    answer = server.post(f"/p/{token}/{form}", data={"csrf": csrf, **fields}, follow_redirects=False)
    assert answer.status_code in (200, 303), answer.text[:300]
    status, after, _ = opened(server, letter.path)
    assert status == 200 and after != before
    assert after == _unkept(store, workspace, letter)
    if form == "plan":  # a running plan's page is made at each opening, never kept
        assert opened(client(workspace, store), letter.path)[2] == 1
