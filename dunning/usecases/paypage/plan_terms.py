"""The terms of a plan accepted on the pay page: a PDF kept with its hash, and emailed to the debtor.

The PDF is the record of what the debtor agreed to (RDG § 13a(3) wants costs in text form before a
payment agreement; any creditor wants proof of the consent): creditor, case, each instalment with its
date, amount and own reference, what happens on a miss under the workspace's policy, the terms
version and the moment of acceptance, in the debtor's language. It is rendered with WeasyPrint from
``templates/plan_terms.html.j2``, written to ``output/plans/<plan>-terms.pdf`` and its SHA-256 recorded
on the plan's timeline (event ``plan_terms_accepted``, source ``plan:<key>``), so a later change to
the file shows. It goes out at once through the workspace's email transport, as the dispute
acknowledgement does (:func:`dunning.usecases.messaging.send_now.send_email_now`, delivery key
``plan:<plan>:terms:email``): a failure never undoes the plan.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from babel.dates import format_date
from babel.dates import format_datetime as babel_datetime
from babel.numbers import format_currency
from sqlalchemy import Connection

from dunning.channels.email import Attachment
from dunning.domain.plans.policy import PlanPolicy
from dunning.domain.references import parse_reference
from dunning.errors import InvalidValue
from dunning.store import Store
from dunning.store.cases import insert_case_event, load_case_debtor_email
from dunning.store.plans import StoredPlan
from dunning.usecases.messaging.send_now import EmailNow, SentNow, send_email_now
from dunning.workspace import Workspace

__all__ = ["TERMS_TEXTS", "TermsRecord", "keep_terms", "send_terms"]

log = logging.getLogger("dunning.paypage")
HERE = Path(__file__).resolve().parent

#: the PDF's and the email's words, per language
TERMS_TEXTS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "title": "Payment plan {plan}: terms accepted",
        "intro": "You agreed with {creditor} to pay file {case} ({total}) in {count} monthly instalments.",
        "number": "No.", "date": "Due on", "amount": "Amount", "reference": "Reference",
        "pay": "Pay each instalment with its own reference, so that it is booked to it.",
        "paused": "While you keep to the plan we send you no reminders and charge no further collection costs.",
        "miss_remind": "If an instalment is still unpaid {grace} days after its date, we remind you.",
        "miss_defer": "If an instalment is still unpaid {grace} days after its date, we move it to the end of "
        "the plan (at most {deferrals} time(s)).",
        "miss_spread": "If an instalment is still unpaid {grace} days after its date, what is left is spread "
        "over more, smaller instalments.",
        "breach": "If {missed} instalments in a row are missed and the arrears reach {percent} % of the plan, "
        "we give you {notice} days' notice to pay them; then the plan ends and the rest falls due.",
        "version": "Terms version {version}, accepted on the pay page on {when}.",
        "subject": "Your payment plan with {creditor} (file {case})",
        "body": "Thank you. You will find the terms of your payment plan attached. Your first instalment of "
        "{amount} is due on {date}, reference {reference}.",
    },
    "nl": {
        "title": "Betalingsregeling {plan}: aanvaarde voorwaarden",
        "intro": "U bent met {creditor} overeengekomen dossier {case} ({total}) in {count} maandelijkse termijnen "
        "te betalen.",
        "number": "Nr.", "date": "Vervalt op", "amount": "Bedrag", "reference": "Mededeling",
        "pay": "Betaal elke termijn met zijn eigen mededeling, zodat hij erop geboekt wordt.",
        "paused": "Zolang u de regeling nakomt, sturen we u geen herinneringen en rekenen we geen verdere "
        "invorderingskosten aan.",
        "miss_remind": "Is een termijn {grace} dagen na de vervaldag nog niet betaald, dan herinneren we u eraan.",
        "miss_defer": "Is een termijn {grace} dagen na de vervaldag nog niet betaald, dan schuiven we hem naar "
        "het einde van de regeling (hoogstens {deferrals} keer).",
        "miss_spread": "Is een termijn {grace} dagen na de vervaldag nog niet betaald, dan verdelen we het "
        "restant over meer, kleinere termijnen.",
        "breach": "Worden {missed} termijnen na elkaar gemist en bereikt de achterstand {percent} % van de "
        "regeling, dan krijgt u {notice} dagen om die te betalen; daarna eindigt de regeling en is het "
        "restant opeisbaar.",
        "version": "Voorwaarden versie {version}, aanvaard op de betaalpagina op {when}.",
        "subject": "Uw betalingsregeling met {creditor} (dossier {case})",
        "body": "Dank u. In bijlage vindt u de voorwaarden van uw betalingsregeling. Uw eerste termijn van "
        "{amount} vervalt op {date}, mededeling {reference}.",
    },
    "fr": {
        "title": "Plan de paiement {plan} : conditions acceptées",
        "intro": "Vous avez convenu avec {creditor} de payer le dossier {case} ({total}) en {count} mensualités.",
        "number": "N°", "date": "Échéance", "amount": "Montant", "reference": "Communication",
        "pay": "Payez chaque mensualité avec sa propre communication, pour qu'elle lui soit imputée.",
        "paused": "Tant que vous respectez le plan, nous ne vous envoyons aucun rappel et ne comptons aucun "
        "frais de recouvrement supplémentaire.",
        "miss_remind": "Si une mensualité reste impayée {grace} jours après son échéance, nous vous la rappelons.",
        "miss_defer": "Si une mensualité reste impayée {grace} jours après son échéance, nous la reportons à la "
        "fin du plan ({deferrals} fois au plus).",
        "miss_spread": "Si une mensualité reste impayée {grace} jours après son échéance, le solde est réparti "
        "sur des mensualités plus nombreuses et plus petites.",
        "breach": "Si {missed} mensualités de suite sont manquées et que l'arriéré atteint {percent} % du plan, "
        "vous recevez un délai de {notice} jours pour le payer ; ensuite le plan prend fin et le solde est "
        "exigible.",
        "version": "Conditions version {version}, acceptées sur la page de paiement le {when}.",
        "subject": "Votre plan de paiement avec {creditor} (dossier {case})",
        "body": "Merci. Vous trouverez en annexe les conditions de votre plan de paiement. Votre première "
        "mensualité de {amount} est due le {date}, communication {reference}.",
    },
    "de": {
        "title": "Ratenplan {plan}: angenommene Bedingungen",
        "intro": "Sie haben mit {creditor} vereinbart, den Vorgang {case} ({total}) in {count} Monatsraten zu "
        "zahlen.",
        "number": "Nr.", "date": "Fällig am", "amount": "Betrag", "reference": "Verwendungszweck",
        "pay": "Zahlen Sie jede Rate mit ihrem eigenen Verwendungszweck, damit sie ihr zugeordnet wird.",
        "paused": "Solange Sie den Plan einhalten, senden wir Ihnen keine Mahnungen und berechnen keine weiteren "
        "Inkassokosten.",
        "miss_remind": "Ist eine Rate {grace} Tage nach Fälligkeit noch offen, erinnern wir Sie daran.",
        "miss_defer": "Ist eine Rate {grace} Tage nach Fälligkeit noch offen, verschieben wir sie an das Ende "
        "des Plans (höchstens {deferrals}-mal).",
        "miss_spread": "Ist eine Rate {grace} Tage nach Fälligkeit noch offen, verteilen wir den Rest auf mehr, "
        "kleinere Raten.",
        "breach": "Bleiben {missed} Raten in Folge offen und erreicht der Rückstand {percent} % des Plans, "
        "erhalten Sie {notice} Tage Frist, ihn zu zahlen; danach endet der Plan und der Rest wird fällig.",
        "version": "Bedingungen Version {version}, angenommen auf der Zahlungsseite am {when}.",
        "subject": "Ihr Ratenplan mit {creditor} (Vorgang {case})",
        "body": "Vielen Dank. Im Anhang finden Sie die Bedingungen Ihres Ratenplans. Ihre erste Rate von "
        "{amount} ist am {date} fällig, Verwendungszweck {reference}.",
    },
}


@dataclass(frozen=True, slots=True)
class TermsRecord:
    """The kept PDF of a plan's accepted terms: where it is (relative to the workspace) and its hash."""

    path: str
    sha256: str
    terms_version: str
    accepted_at: str  # ISO 8601, UTC

    @classmethod
    def of(cls, detail: Mapping[str, Any]) -> TermsRecord:
        return cls(str(detail["path"]), str(detail["sha256"]), str(detail["terms_version"]),
                   str(detail["accepted_at"]))


def _printed(reference: str) -> str:
    try:
        return parse_reference(reference).printed
    except InvalidValue:
        return reference


def _locale(workspace: Workspace, language: str) -> str:
    return f"{language}_{workspace.config.creditor.address.country.upper()}"


def terms_html(workspace: Workspace, stored: StoredPlan, policy: PlanPolicy, language: str, accepted_at: datetime
               ) -> str:
    """The terms as HTML in ``language`` (the PDF's source)."""
    texts = TERMS_TEXTS.get(language, TERMS_TEXTS["en"])
    locale = _locale(workspace, language)
    plan = stored.plan

    def money(amount: Decimal) -> str:
        return str(format_currency(amount, plan.currency, locale=locale))

    def say(key: str, **values: object) -> str:
        return texts[key].format(**values)

    rows = [
        {"number": i.number, "date": format_date(i.due_date, "long", locale=locale), "amount": money(i.amount),
         "reference": _printed(i.reference)}
        for i in plan.instalments
    ]
    breach = policy.breach
    zone = ZoneInfo(workspace.config.creditor.timezone)
    when = babel_datetime(accepted_at, "long", locale=locale, tzinfo=zone)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    return env.get_template("plan_terms.html.j2").render(
        language=language,
        title=say("title", plan=plan.plan_id),
        creditor=workspace.config.creditor.name,
        intro=say("intro", creditor=workspace.config.creditor.name, case=stored.case_id, total=money(plan.total),
                  count=len(plan.instalments)),
        heads=[texts["number"], texts["date"], texts["amount"], texts["reference"]],
        rows=rows,
        paragraphs=[
            texts["pay"],
            texts["paused"],
            say(f"miss_{policy.on_missed.value}", grace=policy.grace_days, deferrals=policy.deferrals),
            say("breach", missed=breach.missed_in_a_row, percent=breach.arrears_percent, notice=breach.notice_days),
        ],
        version=say("version", version=plan.terms_version, when=when),
    )


def keep_terms(
    store: Store, workspace: Workspace, stored: StoredPlan, policy: PlanPolicy, language: str, *, accepted_at: datetime
) -> TermsRecord:
    """Render the accepted terms to PDF, write them under ``output/plans/`` and record their SHA-256."""
    from weasyprint import HTML  # heavy: loaded when a plan is accepted, not when the page starts

    pdf = bytes(HTML(string=terms_html(workspace, stored, policy, language, accepted_at)).write_pdf())
    folder = workspace.output_dir / "plans"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{stored.plan.plan_id}-terms.pdf"
    target.write_bytes(pdf)
    record = TermsRecord(str(target.relative_to(workspace.root)), hashlib.sha256(pdf).hexdigest(),
                         stored.plan.terms_version, accepted_at.isoformat())
    with store.begin() as conn:
        insert_case_event(
            conn,
            case_id=stored.case_id,
            on_date=stored.plan.created_on,
            kind="plan_terms_accepted",
            detail={"plan": stored.plan.plan_id, "path": record.path, "sha256": record.sha256,
                    "terms_version": record.terms_version, "accepted_at": record.accepted_at,
                    "language": language, "via": "pay page"},
            source=f"plan:{stored.plan.plan_id}",
            recorded_at=accepted_at,
        )
    return record


def send_terms(
    store: Store,
    workspace: Workspace,
    stored: StoredPlan,
    terms: TermsRecord,
    language: str,
    *,
    now: datetime,
    env: Mapping[str, str],
) -> str:
    """Email the terms PDF to the debtor at once; return ``sent``, ``no_email`` or ``failed`` (see the docstring)."""
    with store.begin() as conn:
        debtor = load_case_debtor_email(conn, stored.case_id)
    if debtor is None or not debtor.email or debtor.email_invalid:
        return "no_email"
    config = workspace.config
    texts = TERMS_TEXTS.get(language, TERMS_TEXTS["en"])
    plan = stored.plan
    first = plan.instalments[0]
    locale = _locale(workspace, language)
    body = texts["body"].format(amount=format_currency(first.amount, plan.currency, locale=locale),
                                date=format_date(first.due_date, "long", locale=locale),
                                reference=_printed(first.reference))
    pdf = (workspace.root / terms.path).read_bytes()
    email = EmailNow(
        key=f"plan:{plan.plan_id}:terms:email",
        to=debtor.email,
        subject=texts["subject"].format(creditor=config.creditor.name, case=stored.case_id),
        text=f"{body}\n\n{config.creditor.name}\n",
        language=language,
        kind="plan",
        auto_submitted="auto-replied",
        attachments=(Attachment(f"{plan.plan_id}-terms.pdf", pdf),),
    )

    def record(conn: Connection, sent: SentNow) -> None:
        detail = sent.status if sent.ok or not sent.detail else f"{sent.status}: {sent.detail}"
        insert_case_event(
            conn,
            case_id=stored.case_id,
            on_date=plan.created_on,
            kind=f"plan_terms_{sent.outcome}",
            detail={"plan": plan.plan_id, "channel": "email", "status": detail, "message_id": sent.message_id},
            source=f"plan:{plan.plan_id}",
            recorded_at=now,
        )

    sent = send_email_now(store, workspace, email, now=now, env=env, on_result=record)
    if not sent.ok:  # the plan stands whatever the mail server does
        log.warning("terms of the plan of case %s not emailed: %s", stored.case_id, sent.status)
    return sent.outcome
