"""Pay in instalments on the pay page over HTTP (Starlette's test client), on SQLite and PostgreSQL, with the
terms emailed through a real aiosmtpd on 127.0.0.1: the plans offered, one agreed (the same use case as
``dunning plans create``: flow paused), the terms PDF kept with its hash and readable, the schedule with
the next instalment's own QR code instead of the claim's, and the refusals (form 400, case 409, CSRF 403)."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pypdf
import yaml
from sqlalchemy import select

from dunning.domain import paylink
from dunning.domain.plans.model import ArrangementStatus, CreatedVia
from dunning.domain.references import parse_reference
from dunning.store import Store
from dunning.store.schema import deliveries
from dunning.usecases.cases.view import case_detail
from dunning.usecases.plans.create import list_plans
from dunning.web.forms import csrf_token
from dunning.workspace import open_workspace
from tests.channels.conftest import SmtpServer, smtp_server
from tests.usecases.messaging.helpers import FIRST_NIGHT, case_of, make_workspace
from tests.web.helpers import page_client

__all__ = ["smtp_server"]  # the real aiosmtpd fixture of the channel tests

CREDITOR_ID = "BE68ZZZ0123456789"
DAY = FIRST_NIGHT + timedelta(days=2)
NOW = datetime(2026, 10, 10, 9, 0, tzinfo=UTC)


def _delivery(store: Store, key: str) -> str:
    """The Message-ID of the delivery recorded sent under ``key`` (as the night's dispatch records its own)."""
    with store.begin() as conn:
        [row] = conn.execute(select(deliveries).where(deliveries.c.idempotency_key == key,
                                                      deliveries.c.status == "sent"))
    return str(row.detail["message_id"])


def _qr_texts(html: str) -> list[str]:
    return re.findall(r'<figure class="qr"[^>]*>', html)


def test_a_debtor_agrees_a_plan_on_the_page_and_gets_its_terms(
    store: Store, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    workspace = make_workspace(tmp_path / "ws", email_transport=f"smtp://{smtp_server.host}:{smtp_server.port}"
                               "?starttls=off&rate=1000")
    http, secrets = page_client(store, workspace, today=DAY, now=NOW)
    case_id = case_of(store, "D1")  # Jan Peeters, 100.00, Dutch
    token = paylink.make_token(str(case_id), DAY + timedelta(days=workspace.config.paylink.valid_days), secrets.paylink)
    csrf = csrf_token(secrets.paylink, token)

    # the page links to the plans; the plan page offers the policy's counts with each instalment's date
    page = http.get(f"/p/{token}?lang=en")
    assert page.status_code == 200 and 'id="plan-link"' in page.text and "Pay in instalments" in page.text
    offer = http.get(f"/p/{token}/plan?lang=en")
    assert offer.status_code == 200
    counts = [int(c) for c in re.findall(r'name="count" value="(\d+)"', offer.text)]
    assert counts and counts[0] == 2 and max(counts) <= 4  # 100.00 at 25.00 at least per instalment
    assert "2 instalments of 50,00 €" in offer.text.replace("\xa0", " ").replace("\u202f", " ")
    assert 'name="terms_version" value="1"' in offer.text and 'id="plan-accept"' in offer.text
    assert "Each instalment falls due on day 1 of the month." in offer.text  # no payment history: the first day
    assert "Elke termijn vervalt op dag 1" in http.get(f"/p/{token}/plan?lang=nl").text
    assert all(http.get(f"/p/{token}/plan?lang={lang}").status_code == 200 for lang in ("fr", "de"))

    # refusals of the form: no CSRF 403, terms not ticked 400, an unoffered count 400; nothing made
    base = {"csrf": csrf, "count": "2", "accept": "yes", "terms_version": "1", "lang": "en"}
    assert http.post(f"/p/{token}/plan", data={**base, "csrf": "forged"}).status_code == 403
    no_terms = http.post(f"/p/{token}/plan", data={k: v for k, v in base.items() if k != "accept"})
    assert no_terms.status_code == 400 and "Please accept the terms" in no_terms.text
    assert http.post(f"/p/{token}/plan", data={**base, "terms_version": "0"}).status_code == 400
    wrong = http.post(f"/p/{token}/plan", data={**base, "count": "11"})
    assert wrong.status_code == 400 and "Please choose one of the plans" in wrong.text
    assert list_plans(store) == []

    # agreed: the same plan `dunning plans create` makes, made by the debtor, the flow paused
    made = http.post(f"/p/{token}/plan", data={**base, "lang": "fr"})
    assert made.status_code == 303
    assert made.headers["location"] == f"/p/{token}/plan?lang=fr&made=sent"
    [stored] = list_plans(store)
    plan = stored.plan
    assert stored.case_id == case_id and plan.status is ArrangementStatus.ACTIVE
    assert plan.created_via is CreatedVia.PAY_PAGE and [i.amount for i in plan.instalments] == [
        plan.total / 2, plan.total / 2]
    timeline = case_detail(store, str(case_id)).timeline
    kinds = [e.kind for e in timeline]
    assert "plan_created" in kinds and "plan_terms_accepted" in kinds and "plan_terms_sent" in kinds

    # the terms PDF: kept under output/plans with the hash on the plan's timeline, readable, in French
    [accepted] = [e for e in _events(store, case_id) if e.kind == "plan_terms_accepted"]
    pdf_path = workspace.root / accepted.detail["path"]
    assert accepted.detail["path"] == f"output/plans/{plan.plan_id}-terms.pdf"
    pdf = pdf_path.read_bytes()
    assert accepted.detail["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert accepted.source == f"plan:{plan.plan_id}" and accepted.detail["terms_version"] == "1"
    text = " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages).split())
    assert "Plan de paiement" in text and workspace.config.creditor.name in text
    assert all(parse_reference(i.reference).printed in text for i in plan.instalments)
    assert "1 novembre 2026 50,00 €" in text and "1 décembre 2026 50,00 €" in text
    assert "nous la reportons à la fin du plan (1 fois au plus)" in text and "délai de 14 jours" in text
    assert "Conditions version 1, acceptées sur la page de paiement le 10 octobre 2026, 11:00:00" in text

    # emailed at once to the debtor, with the same PDF attached
    [mail] = smtp_server.recorder.messages
    assert mail.rcpt_tos == ["jan.peeters@example.be"]
    message = message_from_bytes(mail.content, policy=policy.default)
    assert str(message["Subject"]).startswith("Votre plan de paiement")
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content() == pdf
    [emailed] = [e for e in _events(store, case_id) if e.kind == "plan_terms_sent"]
    assert emailed.detail["message_id"] == message["Message-ID"] == _delivery(store, f"plan:{plan.plan_id}:terms:email")

    # the page now shows the schedule and instalment 1's QR code, not the whole claim's
    schedule = http.get(f"/p/{token}/plan?lang=fr&made=sent")
    assert schedule.status_code == 200 and "Votre plan de paiement est convenu" in schedule.text
    assert 'data-instalment="1"' in schedule.text and schedule.text.count('data-status="next"') == 1
    page = http.get(f"/p/{token}?lang=en")
    assert 'id="plan-schedule"' in page.text and 'id="pay-heading"' not in page.text
    assert _qr_texts(page.text) == ['<figure class="qr" id="plan-qr" data-instalment="1">']
    for lang, words in (("nl", "Uw termijnen"), ("de", "Ihre Raten"), ("fr", "Vos mensualités")):
        shown = http.get(f"/p/{token}?lang={lang}")
        assert shown.status_code == 200 and words in shown.text

    # a second plan is refused (409) and nothing more is made or sent
    again = http.post(f"/p/{token}/plan", data=base)
    assert again.status_code == 409 and "already has a payment plan" in again.text
    assert len(list_plans(store)) == 1 and len(smtp_server.recorder.messages) == 1


def test_refusals_of_the_case_are_shown_never_a_trace(store: Store, tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    config_path = workspace.root / "dunning.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["plans"]["min_instalment"] = "60.00"  # 100.00 in two is too little per instalment: nothing to offer
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    workspace = open_workspace(workspace.root, environ={})
    http, secrets = page_client(store, workspace, today=DAY, now=NOW)

    def link(external_id: str) -> tuple[str, str]:
        expires = DAY + timedelta(days=workspace.config.paylink.valid_days)
        token = paylink.make_token(str(case_of(store, external_id)), expires, secrets.paylink)
        return token, csrf_token(secrets.paylink, token)

    # a disputed case is on hold: no plan until a person answered
    token, csrf = link("D2")
    assert http.post(f"/p/{token}/question", data={"csrf": csrf, "reason": "wrong_amount", "text": "x",
                                                   "lang": "en"}).status_code == 303
    held = http.get(f"/p/{token}/plan?lang=en")
    assert held.status_code == 200 and 'data-refused="held"' in held.text and 'name="count"' not in held.text
    posted = http.post(f"/p/{token}/plan", data=_agree(csrf))
    assert posted.status_code == 409 and "on hold while a person looks" in posted.text
    assert 'id="plan-link"' not in http.get(f"/p/{token}?lang=en").text

    # outside the policy: no plan offered, none made
    token, csrf = link("D1")
    assert 'id="plan-link"' not in http.get(f"/p/{token}?lang=en").text
    policy = http.get(f"/p/{token}/plan?lang=en")
    assert policy.status_code == 200 and 'data-refused="policy"' in policy.text
    outside = http.post(f"/p/{token}/plan", data=_agree(csrf))
    assert outside.status_code == 409 and "cannot be offered for this amount" in outside.text

    # a closed case: refused, 409, no trace
    token, csrf = link("D3")
    with store.begin() as conn:
        from dunning.store.schema import cases

        conn.execute(cases.update().where(cases.c.id == case_of(store, "D3")).values(status="closed"))
    closed = http.post(f"/p/{token}/plan", data=_agree(csrf))
    assert closed.status_code == 409 and "cannot be paid in instalments any more" in closed.text
    assert "Traceback" not in closed.text and list_plans(store) == []


def _agree(csrf: str) -> dict[str, str]:
    return {"csrf": csrf, "count": "2", "accept": "yes", "terms_version": "1", "lang": "en"}


def _events(store: Store, case_id: int) -> list:  # type: ignore[type-arg]
    from dunning.store.cases import load_case_events

    with store.begin() as conn:
        return load_case_events(conn, case_id)


def test_a_debtor_gives_a_sepa_mandate_for_the_plan_on_the_page(store: Store, tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    config_path = workspace.root / "dunning.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["creditor"]["sepa_creditor_id"] = CREDITOR_ID
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    workspace = open_workspace(workspace.root, environ={})
    http, secrets = page_client(store, workspace, today=DAY, now=NOW)
    case_id = case_of(store, "D1")
    token = paylink.make_token(str(case_id), DAY + timedelta(days=workspace.config.paylink.valid_days),
                               secrets.paylink)
    csrf = csrf_token(secrets.paylink, token)
    # no plan yet: no mandate form, and a posted one is refused (409)
    assert 'id="mandate-iban"' not in http.get(f"/p/{token}/plan?lang=en").text
    form = {"csrf": csrf, "iban": "BE71 0961 2345 6769", "holder": "", "consent": "yes", "mandate_version": "1",
            "lang": "en"}
    assert http.post(f"/p/{token}/plan/mandate", data=form).status_code == 409
    assert http.post(f"/p/{token}/plan", data=_agree(csrf)).status_code == 303
    page = http.get(f"/p/{token}/plan?lang=en")
    assert 'id="mandate-iban"' in page.text and 'name="mandate_version" value="1"' in page.text
    # refused: forged CSRF 403, no consent 400, a bad IBAN 400; nothing recorded
    assert http.post(f"/p/{token}/plan/mandate", data={**form, "csrf": "x"}).status_code == 403
    no_consent = http.post(f"/p/{token}/plan/mandate", data={k: v for k, v in form.items() if k != "consent"})
    assert no_consent.status_code == 400 and "tick the box" in no_consent.text
    bad = http.post(f"/p/{token}/plan/mandate", data={**form, "iban": "BE71 0961 2345 6760"})
    assert bad.status_code == 400 and "This IBAN is not valid" in bad.text
    assert "mandate_signed" not in [e.kind for e in _events(store, case_id)]
    # given: recorded as `dunning plans mandate` records it, the page names it by the account's last digits
    signed = http.post(f"/p/{token}/plan/mandate", data=form)
    assert signed.status_code == 303 and signed.headers["location"].endswith("&mandate=signed")
    [event] = [e for e in _events(store, case_id) if e.kind == "mandate_signed"]
    assert event.detail["account"] == "…6769" and "pay_page" in event.detail["reason"]
    assert "BE71" not in str(event.detail)
    done = http.get(signed.headers["location"])
    assert "ending 6769" in done.text and 'id="mandate-iban"' not in done.text
    assert http.post(f"/p/{token}/plan/mandate", data=form).status_code == 409  # one mandate per plan
