"""Questions and disputes from the pay page, over HTTP (Starlette's test client) on SQLite and PostgreSQL:
the form on the page, each reason, refused forms, the acknowledgement, the task a person closes, the
hold it puts on the case and lifts (or keeps), and the nights around it."""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from dunning.domain import paylink
from dunning.store import Store
from dunning.store.schema import holds
from dunning.usecases.cases.view import case_detail
from dunning.usecases.outgoing.secrets import load_secrets
from dunning.usecases.paypage.dispute import MAX_PER_LINK, MAX_TEXT, REASONS
from dunning.usecases.planning.tasks import TaskError, finish_task, list_tasks, resume_after_dispute
from dunning.web.app import create_app
from dunning.web.forms import csrf_token
from dunning.workspace import Workspace
from tests.usecases.letters.helpers import night
from tests.web.helpers import VISIT_AT, VISIT_DAY, Letters

CLOSED_AT = datetime(2026, 11, 9, 10, 0, tzinfo=UTC)


def client(workspace: Workspace, store: Store) -> TestClient:
    app = create_app(workspace, store, today=lambda: VISIT_DAY, now=lambda: VISIT_AT)
    return TestClient(app, raise_server_exceptions=False, follow_redirects=False)


def link(workspace: Workspace, case_id: int, days: int = 60) -> str:
    """A genuine pay link of the case (another expiry day, another link: each counts on its own)."""
    return paylink.make_token(str(case_id), VISIT_DAY + timedelta(days=days), load_secrets(workspace).paylink)


def post(http: TestClient, workspace: Workspace, token: str, **fields: str) -> object:
    data = {"csrf": csrf_token(load_secrets(workspace).paylink, token), **fields}
    return http.post(f"/p/{token}/question", data=data)


def open_tasks(store: Store, case_id: int) -> list[object]:
    return [t for t in list_tasks(store, case_id=case_id) if t.dispute is not None]


def case_holds(store: Store, case_id: int) -> list[tuple[str, date | None]]:
    with store.begin() as conn:
        return [(r.kind, r.released_on) for r in conn.execute(select(holds).where(holds.c.case_id == case_id))]


def test_the_page_carries_the_form_and_each_reason_opens_a_task_held_or_not(
    letters: Letters, caplog: pytest.LogCaptureFixture
) -> None:
    store, workspace, letter = letters.store, letters.workspace, letters.sent[0]
    http = client(workspace, store)
    token = link(workspace, letter.case_id)
    page = http.get(f"/p/{token}?lang=en")
    assert page.status_code == 200
    assert f'action="/p/{token}/question"' in page.text
    assert f'value="{csrf_token(load_secrets(workspace).paylink, token)}"' in page.text
    for reason in REASONS:
        assert f'value="{reason}"' in page.text
    assert f'maxlength="{MAX_TEXT}"' in page.text
    caplog.set_level(logging.DEBUG)
    for number, reason in enumerate(REASONS):
        words = f"Private words {number}: invoice 2026-{number} was paid on 3 Nov"
        answer = post(http, workspace, link(workspace, letter.case_id, 30 + number), reason=reason, text=words,
                      lang="fr")
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"].endswith("/question?lang=fr")
        ack = http.get(answer.headers["location"])
        assert ack.status_code == 200
        held = reason != "other"
        assert f'data-held="{"yes" if held else "no"}"' in ack.text
        assert ("plus de rappel" in ack.text) is held  # the page says what happens next, in its language
        [task] = open_tasks(store, letter.case_id)
        assert (task.dispute, task.message, task.queue, task.kind) == (reason, words, "disputes", "manual")
        assert task.hold == ("on" if held else None)
        assert [k for k, released in case_holds(store, letter.case_id) if released is None] == (
            ["dispute"] if held else []
        )
        timeline = case_detail(store, str(letter.case_id)).timeline
        assert words in [e for e in timeline if e.kind == "dispute_opened"][-1].what  # shown to the person
        closed = finish_task(store, task.id, note="checked", by="agent", on_date=date(2026, 11, 9),
                             recorded_at=CLOSED_AT)
        assert closed.hold == ("lifted" if held else None)
        assert all(released is not None for _, released in case_holds(store, letter.case_id))
        assert words not in caplog.text  # personal data never logged
    assert token not in caplog.text


def test_refused_forms_empty_or_overlong_text_no_csrf_and_a_second_one_while_one_is_open(letters: Letters) -> None:
    store, workspace, letter = letters.store, letters.workspace, letters.sent[1]
    http = client(workspace, store)
    token = link(workspace, letter.case_id)
    assert http.post(f"/p/{token}/question", data={"reason": "not_mine"}).status_code == 403  # no CSRF field
    other = link(workspace, letter.case_id, 61)
    forged = http.post(f"/p/{token}/question", data={"csrf": csrf_token(load_secrets(workspace).paylink, other),
                                                     "reason": "not_mine"})
    assert forged.status_code == 403
    empty_question = post(http, workspace, token, reason="other", text="  ")
    assert empty_question.status_code == 400 and 'data-page="dispute-error"' in empty_question.text
    assert post(http, workspace, token, reason="", text="hello").status_code == 400
    assert post(http, workspace, token, reason="bogus", text="hello").status_code == 400
    overlong = post(http, workspace, token, reason="wrong_amount", text="x" * (MAX_TEXT + 1))
    assert overlong.status_code == 400
    assert open_tasks(store, letter.case_id) == []
    # a dispute without words is fine: the reason says it
    assert post(http, workspace, token, reason="not_mine", text="").status_code == 303
    second = post(http, workspace, token, reason="wrong_amount", text="and the amount")
    assert second.status_code == 409
    assert 'data-page="dispute-sent"' in second.text
    assert len(open_tasks(store, letter.case_id)) == 1


def test_one_link_sends_at_most_its_limit(letters: Letters) -> None:
    store, workspace, letter = letters.store, letters.workspace, letters.sent[2]
    http = client(workspace, store)
    token = link(workspace, letter.case_id)
    for _ in range(MAX_PER_LINK):
        assert post(http, workspace, token, reason="other", text="a question").status_code == 303
        [task] = open_tasks(store, letter.case_id)
        finish_task(store, task.id, note="answered", by="agent", on_date=VISIT_DAY, recorded_at=CLOSED_AT)
    over = post(http, workspace, token, reason="other", text="one more")
    assert over.status_code == 429 and 'data-page="dispute-limit"' in over.text
    another = link(workspace, letter.case_id, 62)
    assert post(http, workspace, another, reason="other", text="new link").status_code == 303


def test_a_disputed_case_gets_nothing_at_night_until_its_task_is_closed_then_resumes(letters: Letters) -> None:
    store, workspace = letters.store, letters.workspace
    letter = letters.sent[3]
    http = client(workspace, store)
    assert post(http, workspace, link(workspace, letter.case_id), reason="wrong_amount", text="").status_code == 303
    [task] = open_tasks(store, letter.case_id)

    def night_for_case(day: date) -> tuple[list[str], str]:
        result = night(store, workspace, day)
        status = case_detail(store, str(letter.case_id)).summary.status
        return [a["action"] for a in result.planned if a["case"] == letter.case_id], status

    later = [date(2026, 11, 20), date(2026, 12, 10), date(2027, 1, 5)]
    assert night_for_case(later[0]) == ([], "on_hold")
    assert night_for_case(later[1]) == ([], "on_hold")
    with pytest.raises(TaskError):  # only a dispute keeps a hold (not a question, not a flow's task)
        finish_task(store, _question_task(store, letters), note="x", by="a", on_date=later[1],
                    recorded_at=CLOSED_AT, keep_hold=True)
    finish_task(store, task.id, note="amount explained", by="agent", on_date=later[1], recorded_at=CLOSED_AT,
                keep_hold=True)
    assert night_for_case(later[1] + timedelta(days=1)) == ([], "on_hold")  # kept on hold by the person
    resume_after_dispute(store, task.id, by="agent", on_date=later[2], recorded_at=CLOSED_AT)
    with pytest.raises(TaskError):
        resume_after_dispute(store, task.id, by="agent", on_date=later[2], recorded_at=CLOSED_AT)
    _, status = night_for_case(later[2])
    assert status == "open"  # dunning resumes where the flow was
    timeline = [e.kind for e in case_detail(store, str(letter.case_id)).timeline]
    assert {"dispute_opened", "task_done", "dispute_hold_lifted"} <= set(timeline)


def _question_task(store: Store, letters: Letters) -> int:
    letter = letters.sent[5]
    http = client(letters.workspace, store)
    token = link(letters.workspace, letter.case_id)
    assert post(http, letters.workspace, token, reason="other", text="?").status_code == 303
    [task] = open_tasks(store, letter.case_id)
    return int(task.id)


def test_the_acknowledgement_page_names_no_debtor_and_no_text(letters: Letters) -> None:
    store, workspace, letter = letters.store, letters.workspace, letters.sent[4]
    http = client(workspace, store)
    token = link(workspace, letter.case_id)
    assert post(http, workspace, token, reason="already_paid", text="Paid by my bank on 4 Nov").status_code == 303
    ack = http.get(f"/p/{token}/question")
    assert "Paid by my bank" not in ack.text and letter.debtor_name not in ack.text
    assert re.search(r'data-page="dispute-sent"', ack.text)
