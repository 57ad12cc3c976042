"""The email that acknowledges a debtor's dispute or question, sent at once through ``email.transport``.

Sent at once (not by the next night's dispatch): the debtor has just written and should hear back while
it is fresh, and an acknowledgement is no reminder, so it must not enter the flow's history (it would
count as a contact and push the flow's pace). It goes through the same transport and credentials as the
night's emails, by :func:`dunning.usecases.messaging.send_now.send_email_now` (a delivery row keyed
``dispute:<task>:ack:email``, sending then sent or failed, as the dispatch records), in the page's
language, to the debtor's address when there is one that does not bounce; it repeats neither the
debtor's text nor the claim (the page has both), only that the message arrived and what happens next.
Whatever the outcome, the case's timeline gets an ``acknowledgement_sent`` (or ``_failed``) event;
a failure never undoes the dispute, and the log names the case and the error kind, never the address.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Connection

from dunning.store import Store
from dunning.store.cases import insert_case_event, load_case_debtor_email
from dunning.usecases.messaging.send_now import EmailNow, SentNow, send_email_now
from dunning.usecases.outgoing.secrets import Secrets
from dunning.usecases.paypage.dispute import DisputeResult
from dunning.workspace import Workspace

__all__ = ["ACK_TEXTS", "acknowledge_by_email"]

log = logging.getLogger("dunning.paypage")

#: subject, then the body for a dispute (the case is on hold) and for a question, per language
ACK_TEXTS: Mapping[str, tuple[str, str, str]] = {
    "en": (
        "We have received your message ({creditor}, file {case})",
        "Thank you for your message of {date}. We send no further reminders for file {case} until a person "
        "from {creditor} has looked at it and answered you.",
        "Thank you for your question of {date} about file {case}. A person from {creditor} will answer you.",
    ),
    "nl": (
        "We hebben uw bericht ontvangen ({creditor}, dossier {case})",
        "Dank u voor uw bericht van {date}. We sturen voor dossier {case} geen herinneringen meer tot een "
        "medewerker van {creditor} het heeft bekeken en u heeft geantwoord.",
        "Dank u voor uw vraag van {date} over dossier {case}. Een medewerker van {creditor} antwoordt u.",
    ),
    "fr": (
        "Nous avons bien reçu votre message ({creditor}, dossier {case})",
        "Merci pour votre message du {date}. Nous n'envoyons plus de rappel pour le dossier {case} tant "
        "qu'une personne de {creditor} ne l'a pas examiné et ne vous a pas répondu.",
        "Merci pour votre question du {date} sur le dossier {case}. Une personne de {creditor} vous répondra.",
    ),
    "de": (
        "Wir haben Ihre Nachricht erhalten ({creditor}, Vorgang {case})",
        "Vielen Dank für Ihre Nachricht vom {date}. Wir senden für den Vorgang {case} keine Mahnungen mehr, "
        "bis eine Person von {creditor} sie geprüft und Ihnen geantwortet hat.",
        "Vielen Dank für Ihre Frage vom {date} zum Vorgang {case}. Eine Person von {creditor} antwortet Ihnen.",
    ),
}


def acknowledge_by_email(
    store: Store,
    workspace: Workspace,
    case_id: int,
    dispute: DisputeResult,
    language: str,
    *,
    now: datetime,
    env: Mapping[str, str],
    secrets: Secrets | None = None,
) -> str:
    """Send the acknowledgement of ``dispute``; return ``sent``, ``no_email`` or ``failed``."""
    with store.begin() as conn:
        debtor = load_case_debtor_email(conn, case_id)
    if debtor is None or not debtor.email or debtor.email_invalid:
        return "no_email"
    config = workspace.config
    subject, held, question = ACK_TEXTS.get(language, ACK_TEXTS["en"])
    values = {"creditor": config.creditor.name, "case": case_id, "date": dispute.opened_on.isoformat()}
    email = EmailNow(
        key=f"dispute:{dispute.task_id}:ack:email",
        to=debtor.email,
        subject=subject.format(**values),
        text=(held if dispute.held else question).format(**values) + f"\n\n{config.creditor.name}\n",
        language=language,
        kind="ack",
        auto_submitted="auto-replied",
    )

    def record(conn: Connection, sent: SentNow) -> None:
        insert_case_event(
            conn,
            case_id=case_id,
            on_date=dispute.opened_on,
            kind=f"acknowledgement_{sent.outcome}",
            detail={"task": dispute.task_id, "channel": "email", "status": sent.status, "message_id": sent.message_id},
            source=f"task:{dispute.task_id}",
            recorded_at=now,
        )

    sent = send_email_now(store, workspace, email, now=now, env=env, secrets=secrets, on_result=record)
    if not sent.ok:  # the dispute stands whatever the mail server does
        log.warning("acknowledgement of the dispute of case %s not sent: %s", case_id, sent.status)
    return sent.outcome
