"""Contact details from the pay page (issue 18, item 5): checked, confirmed by a code the workspace's own
transports really send, a consent per channel, a ``contact_confirmed`` event, and later messages go to the
confirmed address; on SQLite and PostgreSQL, through the use case and through HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from dunning.domain import paylink
from dunning.domain.legal.base import DebtorType
from dunning.domain.planning.case_state import Debtor
from dunning.domain.planning.flows import load_flow
from dunning.errors import FlowError
from dunning.store import open_store
from dunning.store.cases import (
    load_case_debtor_email,
    load_case_events,
    load_plannable_cases,
    mark_debtor_email_invalid,
)
from dunning.store.contacts import debtor_of_case, load_confirmed_contact, load_consents
from dunning.store.schema import contact_codes, debtors, deliveries
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.outgoing.secrets import load_secrets
from dunning.usecases.paypage.contact import (
    CONSENT_VERSION,
    MAX_SENDS_PER_HOUR,
    MAX_TRIES,
    ContactForm,
    ContactRefused,
    TooManySends,
    confirm_contact_codes,
    request_contact_codes,
)
from dunning.web.app import create_app
from dunning.web.forms import csrf_token
from tests.channels.conftest import SmtpServer, smtp_server
from tests.conftest import fresh_postgres_database
from tests.web.contact_helpers import Planned, code_from_mail, emailed_code, planned_workspace, texted_code
from tests.web.helpers import VISIT_AT, VISIT_DAY

PUBLIC = "https://pay.example.com"
__all__ = ["smtp_server"]  # the real aiosmtpd fixture of the channel tests


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def planned(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Planned]:
    root = tmp_path_factory.mktemp("contact")
    sqlite = iter([f"sqlite:///{root / 'state.db'}"])
    databases = fresh_postgres_database("dunning_contact") if request.param == "postgresql" else sqlite
    store = open_store(next(databases))
    try:
        yield planned_workspace(root / "ws", store)
    finally:
        store.dispose()
        for _ in databases:
            pass


def _request(planned: Planned, case_id: int, form: ContactForm, minutes: int = 0) -> None:
    request_contact_codes(planned.store, planned.workspace, load_secrets(planned.workspace), case_id, form,
                          language="nl", region="BE", now=VISIT_AT + timedelta(minutes=minutes), env={})


def _confirm(planned: Planned, case_id: int, codes: dict[str, str], minutes: int = 1):  # type: ignore[no-untyped-def]
    return confirm_contact_codes(planned.store, load_secrets(planned.workspace), case_id, codes,
                                 now=VISIT_AT + timedelta(minutes=minutes), today=VISIT_DAY)


def test_a_new_email_and_mobile_are_confirmed_by_code_and_win_over_the_ledger(planned: Planned) -> None:
    store, case_id = planned.store, planned.no_email[0]
    form = ContactForm(email="Nieuw.Adres@Example.org", phone="+32 471 12 34 56", preferred="sms",
                       consent_email=True, consent_sms=True)
    _request(planned, case_id, form)
    mail_code = emailed_code(planned.workspace, "Nieuw.Adres@example.org")  # the domain is normalised
    sms_code = texted_code(planned.workspace, "+32471123456")
    with store.begin() as conn:
        stored = list(conn.execute(select(contact_codes).where(contact_codes.c.case_id == case_id)))
    assert {row.channel for row in stored} == {"email", "sms"}
    assert all(mail_code not in row.code_hash and len(row.code_hash) == 64 for row in stored)  # only an HMAC

    wrong_sms = str((int(sms_code) + 1) % 10**6).zfill(6)
    result = _confirm(planned, case_id, {"email": mail_code, "sms": wrong_sms})
    assert result.confirmed == ("email",)
    assert result.problems == {"sms": "wrong"}
    assert [p.channel for p in result.pending] == ["sms"]
    assert result.pending[0].masked == "+32 ••• 56"
    with store.begin() as conn:
        debtor_id = debtor_of_case(conn, case_id)
        assert debtor_id is not None
        email = load_case_debtor_email(conn, case_id)
        contact = load_confirmed_contact(conn, debtor_id)
    assert email is not None and email.email == "Nieuw.Adres@example.org" and not email.email_invalid
    assert contact is not None and contact.phone is None and contact.preferred_channel is None  # sms not yet

    result = _confirm(planned, case_id, {"sms": sms_code[:3] + " " + sms_code[3:]}, minutes=2)
    assert result.confirmed == ("sms",) and not result.problems and not result.pending
    with store.begin() as conn:
        contact = load_confirmed_contact(conn, debtor_id)
        consents = load_consents(conn, [debtor_id])
        events = load_case_events(conn, case_id, kinds=("contact_confirmed",))
    assert contact is not None and contact.phone == "+32471123456" and contact.preferred_channel == "sms"
    assert [(c.channel, c.value, c.text_version, c.source) for c in consents] == [
        ("email", "Nieuw.Adres@example.org", CONSENT_VERSION, "paypage"),
        ("sms", "+32471123456", CONSENT_VERSION, "paypage")]
    assert [c.given_at for c in consents] == [VISIT_AT + timedelta(minutes=1), VISIT_AT + timedelta(minutes=2)]
    assert [(e.on_date, e.detail["channel"], e.detail["preferred"]) for e in events] == [
        (VISIT_DAY, "email", None), (VISIT_DAY, "sms", "sms")]

    # the night sees an email and a phone now; a later ledger import (the debtor still without email
    # there) does not take them away
    import_ledger(store, planned.workspace.root / "examples" / "open-items.csv", as_of=VISIT_DAY,
                  reference_kind=planned.workspace.config.creditor.reference)
    with store.begin() as conn:
        row = next(r for r in load_plannable_cases(conn) if r.id == case_id)
        email = load_case_debtor_email(conn, case_id)
    assert (row.email, row.phone, row.preferred_channel) == ("Nieuw.Adres@example.org", "+32471123456", "sms")
    assert email is not None and email.email == "Nieuw.Adres@example.org"

    # the confirmed address bounces: its own flag is set, the ledger's (empty) email keeps its own
    with store.begin() as conn:
        mark_debtor_email_invalid(conn, debtor_id)
        email = load_case_debtor_email(conn, case_id)
        ledger_flag = conn.execute(select(debtors.c.email_invalid).where(debtors.c.id == debtor_id)).scalar_one()
    assert email is not None and email.email_invalid and not ledger_flag


def test_a_flow_can_branch_on_the_channel_the_debtor_prefers() -> None:
    step = {"key": "nudge", "day": 3, "action": "send_sms", "settings": {"template": "reminder_sms"},
            "when": {"preferred_channel": ["sms"]}}
    flow = load_flow({"name": "t", "version": 1, "steps": [step]}, "t.yaml")
    when = flow.steps[0].when
    assert when is not None and not when.is_certain
    debtor = Debtor("D1", DebtorType.CONSUMER, "BE", has_phone=True)
    assert not when.matches(debtor, Decimal("10"))
    assert when.matches(replace(debtor, preferred_channel="sms"), Decimal("10"))
    step["when"] = {"preferred_channel": "fax"}
    with pytest.raises(FlowError, match="unknown channel 'fax'"):
        load_flow({"name": "t", "version": 1, "steps": [step]}, "t.yaml")


def test_a_code_expires_locks_after_its_tries_and_a_link_sends_few_codes(planned: Planned) -> None:
    case_id = planned.case_ids[0]
    form = ContactForm(email="later@example.org", preferred="email", consent_email=True)
    _request(planned, case_id, form)
    code = emailed_code(planned.workspace, "later@example.org")
    expired = _confirm(planned, case_id, {"email": code}, minutes=16)
    assert expired.confirmed == () and expired.problems == {"email": "expired"}

    _request(planned, case_id, form, minutes=17)
    code = emailed_code(planned.workspace, "later@example.org")
    wrong = str((int(code) + 1) % 10**6).zfill(6)
    outcomes = [_confirm(planned, case_id, {"email": wrong}, minutes=18).problems["email"] for _ in range(MAX_TRIES)]
    assert outcomes == ["wrong"] * (MAX_TRIES - 1) + ["locked"]
    assert _confirm(planned, case_id, {"email": code}, minutes=19).problems == {"code": "missing"}  # even right

    for minute in range(20, 20 + MAX_SENDS_PER_HOUR - 2):
        _request(planned, case_id, form, minutes=minute)
    with pytest.raises(TooManySends):
        _request(planned, case_id, form, minutes=30)
    _request(planned, case_id, form, minutes=61)  # an hour after the first: the link may send again
    with planned.store.begin() as conn:
        debtor_id = debtor_of_case(conn, case_id)
        assert debtor_id is not None
        assert load_confirmed_contact(conn, debtor_id) is None


@pytest.mark.parametrize(("form", "problems"), [
    (ContactForm(email="not-an-address", preferred="email", consent_email=True), {"email": "email_invalid"}),
    (ContactForm(phone="+32 2 555 12 12", preferred="sms", consent_sms=True), {"phone": "phone_not_mobile"}),
    (ContactForm(phone="12", preferred="sms", consent_sms=True), {"phone": "phone_invalid"}),
    (ContactForm(email="a@example.org", preferred="email"), {"consent_email": "consent_missing"}),
    (ContactForm(email="a@example.org", preferred="sms", consent_email=True), {"preferred": "preferred_without_value"}),
    (ContactForm(preferred="letter"), {"email": "nothing_given"}),
])
def test_values_that_cannot_be_used_are_refused_field_by_field(
    planned: Planned, form: ContactForm, problems: dict[str, str]
) -> None:
    with pytest.raises(ContactRefused) as refused:
        _request(planned, planned.case_ids[1], form)
    assert refused.value.problems == problems


# ---- through HTTP ----------------------------------------------------------------------------------


def _client(planned: Planned) -> TestClient:
    app = create_app(planned.workspace, planned.store, today=lambda: VISIT_DAY, now=lambda: VISIT_AT)
    return TestClient(app, base_url=PUBLIC)


def test_the_form_over_http_refuses_bad_values_wrong_codes_and_forms_without_csrf(planned: Planned) -> None:
    case_id = planned.case_ids[2]
    token = planned.link(case_id)
    client = _client(planned)
    csrf = csrf_token(load_secrets(planned.workspace).paylink, token)
    page = client.get(f"/p/{token}/contact?lang=en")
    assert page.status_code == 200
    assert 'name="csrf"' in page.text and "Email address" in page.text
    assert client.get(f"/p/{token}?lang=en").text.count(f"{token}/contact") == 1  # the pay page links to it
    expired = paylink.make_token(str(case_id), VISIT_DAY - timedelta(days=1), load_secrets(planned.workspace).paylink)
    assert client.get(f"/p/{expired}/contact").status_code == 410

    bad = client.post(f"/p/{token}/contact?lang=en", data={"csrf": csrf, "email": "jan@", "preferred": "email",
                                                             "consent_email": "yes"})
    assert bad.status_code == 400
    assert "This email address is not valid" in bad.text and 'aria-invalid="true"' in bad.text
    phone = client.post(f"/p/{token}/contact?lang=fr", data={"csrf": csrf, "phone": "123", "preferred": "sms",
                                                               "consent_sms": "yes"})
    assert phone.status_code == 400 and "Ce numéro n&#39;est pas valable" in phone.text
    assert client.post(f"/p/{token}/contact", data={"email": "a@example.org"}).status_code == 403
    assert client.post(f"/p/{token}/contact/confirm", data={"code_email": "123456"}).status_code == 403

    sent = client.post(f"/p/{token}/contact?lang=en", data={"csrf": csrf, "email": "http@example.org",
                                                              "preferred": "email", "consent_email": "yes"})
    assert sent.status_code == 200
    assert "h•••@e•••.org" in sent.text and "http@example.org" not in sent.text  # masked once sent
    code = emailed_code(planned.workspace, "http@example.org")
    wrong = str((int(code) + 1) % 10**6).zfill(6)
    answer = client.post(f"/p/{token}/contact/confirm?lang=en", data={"csrf": csrf, "code_email": wrong})
    assert answer.status_code == 400 and "This code is not right" in answer.text
    for _ in range(MAX_TRIES - 2):
        client.post(f"/p/{token}/contact/confirm", data={"csrf": csrf, "code_email": wrong})
    locked = client.post(f"/p/{token}/contact/confirm?lang=en", data={"csrf": csrf, "code_email": wrong})
    assert locked.status_code == 429 and "Too many wrong tries" in locked.text

    client.post(f"/p/{token}/contact?lang=en", data={"csrf": csrf, "email": "http@example.org",
                                                      "preferred": "email", "consent_email": "yes"})
    code = emailed_code(planned.workspace, "http@example.org")
    later = create_app(planned.workspace, planned.store, today=lambda: VISIT_DAY,
                       now=lambda: VISIT_AT + timedelta(minutes=20))
    expired = TestClient(later, base_url=PUBLIC).post(f"/p/{token}/contact/confirm?lang=en",
                                                       data={"csrf": csrf, "code_email": code})
    assert expired.status_code == 400 and "This code has expired" in expired.text

    client.post(f"/p/{token}/contact?lang=en", data={"csrf": csrf, "email": "http@example.org",
                                                      "preferred": "email", "consent_email": "yes"})
    code = emailed_code(planned.workspace, "http@example.org")
    done = client.post(f"/p/{token}/contact/confirm?lang=en", data={"csrf": csrf, "code_email": code})
    assert done.status_code == 200
    assert "Your email address is confirmed" in done.text

    form = {"csrf": csrf, "email": "again@example.org", "preferred": "email", "consent_email": "yes"}
    for _ in range(MAX_SENDS_PER_HOUR - 3):  # three codes went out above
        assert client.post(f"/p/{token}/contact?lang=en", data=form).status_code == 200
    busy = client.post(f"/p/{token}/contact?lang=en", data=form)
    assert busy.status_code == 429 and "We have sent too many codes for this link" in busy.text


def test_the_code_goes_through_a_real_smtp_server_and_the_next_dispatch_writes_to_the_new_address(
    planned: Planned, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    from dunning.usecases.cases.view import case_detail
    from dunning.usecases.messaging.dispatch import dispatch_messages
    from tests.usecases.letters.helpers import night

    case_id = planned.no_email[1]
    token = planned.link(case_id)
    url = f"smtp://{smtp_server.host}:{smtp_server.port}?starttls=off&rate=1000"
    workspace = planned.with_transport(DUNNING_EMAIL_TRANSPORT=url)
    client = TestClient(create_app(workspace, planned.store, today=lambda: VISIT_DAY, now=lambda: VISIT_AT),
                        base_url=PUBLIC)
    csrf = csrf_token(load_secrets(workspace).paylink, token)
    smtp_server.recorder.refuse["gone@example.org"] = "550 5.1.1 no such user"
    refused = client.post(f"/p/{token}/contact?lang=en", data={"csrf": csrf, "email": "gone@example.org",
                                                                 "preferred": "email", "consent_email": "yes"})
    assert refused.status_code == 503 and "We could not send the code just now" in refused.text
    sent = client.post(f"/p/{token}/contact?lang=de", data={"csrf": csrf, "email": "smtp@example.org",
                                                              "preferred": "email", "consent_email": "yes"})
    assert sent.status_code == 200
    [received] = smtp_server.recorder.messages
    assert received.rcpt_tos == ["smtp@example.org"]
    with planned.store.begin() as conn:  # each code's email recorded as the night's dispatch records its own
        rows = list(conn.execute(select(deliveries).where(deliveries.c.idempotency_key.like("contact:%:email"))
                                 .order_by(deliveries.c.id)))
    assert [(r.status, r.attempts) for r in rows[-2:]] == [("failed", 1), ("sent", 1)]
    assert rows[-1].detail["message_id"] == message_from_bytes(received.content, policy=policy.default)["Message-ID"]
    code = code_from_mail(received.content)
    assert b"Ihr Best" in received.content  # in the language of the page
    done = client.post(f"/p/{token}/contact/confirm?lang=de", data={"csrf": csrf, "code_email": code})
    assert done.status_code == 200

    timeline = case_detail(planned.store, str(case_id)).timeline
    assert [e.why for e in timeline if e.kind == "contact_confirmed"] == [
        "new email address confirmed on the pay page with a one-time code"]

    # the flow reacts to contact_confirmed (send the pay link) and dispatch sends it to the new address
    night(planned.store, workspace, VISIT_DAY)
    dispatch_messages(planned.store, workspace, VISIT_DAY, channels=("email",), now=VISIT_AT, env={})
    to_new = [m for m in smtp_server.recorder.messages[1:] if m.rcpt_tos == ["smtp@example.org"]]
    assert len(to_new) == 1
    assert b"/p/" in to_new[0].content  # the pay link
