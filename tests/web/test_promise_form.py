"""The pay page's "pay on a date" form over HTTP (Starlette's test client), on SQLite and PostgreSQL:
a good day recorded and answered 303 to the page (not another visit), days outside the window
refused with the form shown again (400), a form without its CSRF field refused (403), a second
promise not recorded, and the page saying what was promised."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from dunning.config import PaypagePromise
from dunning.domain import paylink
from dunning.store import Store, open_store
from dunning.usecases.cases.view import case_detail
from dunning.usecases.outgoing.secrets import load_secrets
from dunning.web.app import create_app
from dunning.web.forms import csrf_token
from dunning.workspace import Workspace
from tests.conftest import fresh_postgres_database
from tests.usecases.letters.helpers import LETTER_DAY, make_workspace, plan_letters
from tests.web.helpers import VISIT_AT, VISIT_DAY


@dataclasses.dataclass(frozen=True)
class Planned:
    """A planned store (the page reads the claim, no letter needs rendering) and a pay link per case."""

    store: Store
    workspace: Workspace
    paths: dict[int, str]  # case id → the link's path, as a letter's QR code carries it


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def planned(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Planned]:
    root = tmp_path_factory.mktemp("promise-form")
    databases = (
        fresh_postgres_database("dunning_promise") if request.param == "postgresql" else iter([f"sqlite:///{root}/s.db"])
    )
    store = open_store(next(databases))
    try:
        workspace = make_workspace(root / "ws")
        plan_letters(store, workspace)
        expires = LETTER_DAY + timedelta(days=workspace.config.paylink.valid_days)
        secret = load_secrets(workspace).paylink
        paths = {case: f"/p/{paylink.make_token(str(case), expires, secret)}" for case in (1, 2)}
        yield Planned(store, workspace, paths)
    finally:
        store.dispose()
        for _ in databases:  # drops the PostgreSQL database
            pass


def client(workspace: Workspace, store: Store) -> TestClient:
    app = create_app(workspace, store, today=lambda: VISIT_DAY, now=lambda: VISIT_AT)
    return TestClient(app, raise_server_exceptions=False, follow_redirects=False)


def secret(workspace: Workspace) -> bytes:
    return load_secrets(workspace).paylink


def kinds(store: Store, case_id: int, kind: str) -> list[str]:
    return [e.what + " | " + e.why for e in case_detail(store, str(case_id)).timeline if e.kind == kind]


def test_a_debtor_promises_a_day_within_the_window_and_the_page_says_so(planned: Planned) -> None:
    store, workspace, case = planned.store, planned.workspace, 1
    http = client(workspace, store)
    base = planned.paths[case]
    token = base.split("/")[-1]
    page = http.get(f"{base}?lang=en")
    assert page.status_code == 200
    # the form: a date field bounded by the window (tomorrow to 14 days ahead), with its CSRF field
    assert 'min="2026-11-06"' in page.text and 'max="2026-11-19"' in page.text
    assert f'name="csrf" value="{csrf_token(secret(workspace), token)}"' in page.text  # type: ignore[attr-defined]
    action = re.search(r'<form method="post" action="([^"]+/promise[^"]*)"', page.text)
    assert action and action.group(1) == f"{base}/promise?lang=en"
    assert http.get(f"{base}?m=q").status_code == 200  # opened by the letter's QR code: a visit
    visits_before = len(kinds(store, case, "page_visited"))
    assert visits_before == 1

    form = {"csrf": csrf_token(secret(workspace), token)}  # type: ignore[attr-defined]
    assert http.post(action.group(1), data={"date": "2026-11-12"}).status_code == 403  # no CSRF field
    for day, message in (
        ("2026-11-20", "Please choose a date no later than 19 November 2026."),
        ("2026-11-05", "Please choose a date from 6 November 2026: the date you chose has already passed."),
        ("2026-11-04", "the date you chose has already passed"),
        ("next week", "Please choose a date."),
        ("", "Please choose a date."),
    ):
        refused = http.post(action.group(1), data={**form, "date": day})
        assert refused.status_code == 400, (day, refused.text[:300])
        assert message in refused.text and 'role="alert"' in refused.text and 'aria-invalid="true"' in refused.text
        assert 'name="date"' in refused.text and "Traceback" not in refused.text
    assert kinds(store, case, "promise_made") == []  # nothing recorded

    made = http.post(action.group(1), data={**form, "date": "2026-11-12"})
    assert made.status_code == 303 and made.headers["location"] == f"{base}?lang=en"
    shown = http.get(made.headers["location"])
    assert "Thank you. You said you would pay by 12 November 2026." in shown.text
    assert "If your payment has not reached us by 15 November 2026" in shown.text  # grace: 3 days
    assert 'name="date"' not in shown.text  # one open promise per case: no form
    (entry,) = kinds(store, case, "promise_made")
    assert "promise to pay by 2026-11-12 (pay page); dunning paused until 2026-11-16" in entry
    assert len(kinds(store, case, "page_visited")) == visits_before  # the redirect is not a visit

    again = http.post(action.group(1), data={**form, "date": "2026-11-14"})  # a second promise: not recorded
    assert again.status_code == 303
    assert len(kinds(store, case, "promise_made")) == 1
    assert "pay by 12 November 2026" in http.get(again.headers["location"]).text
    # the form's address read by GET (a language link of a refused form's page) leads to the page
    back = http.get(f"{base}/promise?lang=de")
    assert back.status_code == 303 and back.headers["location"] == f"{base}?lang=de"
    assert "Sie haben zugesagt, bis zum 12. November 2026 zu zahlen." in http.get(f"{base}?lang=de").text


def test_the_form_speaks_the_pages_language_and_is_not_offered_when_switched_off(planned: Planned) -> None:
    store, workspace, case = planned.store, planned.workspace, 2
    base = planned.paths[case]
    form = {"csrf": csrf_token(secret(workspace), base.split("/")[-1]), "date": "2026-12-24"}
    refused = client(workspace, store).post(f"{base}/promise?lang=fr", data=form)
    assert refused.status_code == 400
    assert "Veuillez choisir une date au plus tard le 19 novembre 2026." in refused.text

    config = workspace.config
    off = PaypagePromise(enabled=False)
    switched_off = dataclasses.replace(
        workspace, config=config.model_copy(update={"paypage": config.paypage.model_copy(update={"promise": off})})
    )
    http = client(switched_off, store)
    assert 'name="date"' not in http.get(f"{base}?lang=fr").text
    answer = http.post(f"{base}/promise?lang=fr", data={**form, "date": "2026-11-10"})
    assert answer.status_code == 303 and kinds(store, case, "promise_made") == []
