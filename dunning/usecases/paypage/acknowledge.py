"""The email that acknowledges a debtor's dispute or question, sent at once through ``email.transport``.

Sent at once (not by the next night's dispatch): the debtor has just written and should hear back while
it is fresh, and an acknowledgement is no reminder, so it must not enter the flow's history (it would
count as a contact and push the flow's pace). It goes through the same transport and credentials as the
night's emails (:func:`dunning.usecases.messaging.dispatch.open_channel_transport`), in the page's
language, to the debtor's address when there is one that does not bounce; it repeats neither the
debtor's text nor the claim (the page has both), only that the message arrived and what happens next.
Whatever the outcome, the case's timeline gets an ``acknowledgement_sent`` (or ``_failed``) event;
a failure never undoes the dispute, and the log names the case and the error kind, never the address.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import cast

from dunning.adapters.smtp import EmailTransport
from dunning.channels.email import OutgoingEmail
from dunning.store import Store
from dunning.store.cases import insert_case_event, load_case_debtor_email
from dunning.usecases.messaging.dispatch import open_channel_transport
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
) -> str:
    """Send the acknowledgement of ``dispute``; return ``sent``, ``no_email`` or ``failed``."""
    with store.begin() as conn:
        debtor = load_case_debtor_email(conn, case_id)
    if debtor is None or not debtor.email or debtor.email_invalid:
        return "no_email"
    config = workspace.config
    subject, held, question = ACK_TEXTS.get(language, ACK_TEXTS["en"])
    values = {"creditor": config.creditor.name, "case": case_id, "date": dispute.opened_on.isoformat()}
    sender = parseaddr(config.email.from_)[1]
    message = EmailMessage()
    message["From"] = config.email.from_
    message["To"] = debtor.email
    if config.email.reply_to:
        message["Reply-To"] = config.email.reply_to
    message["Subject"] = subject.format(**values)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid("ack", domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-replied"
    message["Content-Language"] = language
    message.set_content((held if dispute.held else question).format(**values) + f"\n\n{config.creditor.name}\n")
    outgoing = OutgoingEmail(
        action_id=f"dispute:{dispute.task_id}",
        message_id=str(message["Message-ID"]),
        envelope_from=sender,
        recipients=(debtor.email,),
        raw=message.as_bytes(),
        language=language,
    )
    outcome = "failed"
    detail = ""
    try:
        transport = cast(EmailTransport, open_channel_transport("email", workspace, env))
        try:
            [result] = transport.send_batch([outgoing])
        finally:
            transport.close()
        outcome = "sent" if result.ok else "failed"
        detail = str(result.status)
    except Exception as exc:  # the dispute stands whatever the mail server does
        detail = type(exc).__name__
        log.warning("acknowledgement of the dispute of case %s not sent: %s", case_id, detail)
    with store.begin() as conn:
        insert_case_event(
            conn,
            case_id=case_id,
            on_date=dispute.opened_on,
            kind=f"acknowledgement_{outcome}",
            detail={"task": dispute.task_id, "channel": "email", "status": detail, "message_id": outgoing.message_id},
            source=f"task:{dispute.task_id}",
            recorded_at=now,
        )
    return outcome
