"""From a planned action in the store to the data of one email or SMS.

Used by :mod:`dunning.usecases.messaging.dispatch`. Everything here reads the due action
(:mod:`dunning.usecases.outgoing.due`) and the workspace configuration and returns plain values;
nothing is sent and nothing is written. What letters share with it (due actions, secrets, pay
links, legal mentions) lives in :mod:`dunning.usecases.outgoing`.

Decisions, with their reasons:

* **Secrets** (:mod:`dunning.usecases.outgoing.secrets`): without a pay-link secret dispatch refuses
  to run; the VERP/Message-ID token secret must stay the same for as long as bounces may arrive.
* **Sender domains.** The Message-ID and bounce (VERP) domain is the domain of ``email.from``
  (the config has no separate keys yet): bounces then return to the From domain, which also keeps
  SPF aligned for DMARC.
* **Templates.** A flow names a template per step (``first_reminder``, ``b2b_reminder``); when the
  channel has no such template in the debtor's language, the action's standard kind is used
  (``send_email`` → ``reminder``, ``send_sms`` → ``reminder_sms``, ``send_final_notice`` →
  ``final_notice``, ``send_pay_link`` → ``pay_link``, ``thank_you`` → ``thank_you``). If neither
  exists the action is reported and left planned (a configuration problem, not a failed delivery).
* **Wording by history.** A reminder email or SMS (``send_email``, ``send_sms``, ``send_final_notice``)
  whose step names no template, or a reminder template (``first_reminder``, ``b2b_reminder``,
  ``second_reminder``, ``final_notice``...), is worded by what the debtor actually received, with the
  letters' rule (:mod:`dunning.usecases.outgoing.notices`): a first reminder → ``reminder`` (email) /
  ``reminder_sms``; a reminder after an earlier one that went out → ``second_reminder`` /
  ``reminder_sms``; a final notice once reminded → ``final_notice``. A final-notice step that reaches a
  debtor never reminded says "reminder", never "despite our earlier reminder". A step naming a template
  of its own (not a reminder name) keeps it.
* **Pay link and dates** count from ``sent_on``, the dispatch's run date (not the clock): a message
  that waited (transient failures, quiet hours) still gives the debtor the full period; a re-send
  after a crash reuses the first attempt's date (kept on the delivery), so it says exactly the same.
* **One deadline.** Every email and SMS states the action's deadline computed exactly as its letter
  would (:func:`dunning.usecases.outgoing.legal.action_deadline`) with the channel's rule: Book
  XIX's 14 days start the calendar day after an email is sent (the 3rd working day after posting a
  letter), the WIK's the day after receipt; otherwise the step's ``deadline_days`` from the day
  after sending. It is the last day to pay, included ("by D at the latest"). For a Belgian
  consumer (rule pack ``BE-consumer``) the email also carries the mentions of art. XIX.2 the letter
  prints: free first reminder, debtor and creditor (name, enterprise number), the invoices with
  their product or service and due date, the amount due, the period and its end, and the damages
  (``penalty_clause_amount``, the planner's figure) claimed if it stays unpaid.
* **Only what is due** on the sending day is claimed (:meth:`~dunning.usecases.outgoing.due.DueAction.claim_on`):
  invoices not yet due are neither listed nor counted in the total, as in the letter.
* **Credit notes** are open items with a negative amount; they are listed (and deducted) as such,
  see :mod:`dunning.channels.render`. Invoice descriptions travel with the lines (the product or
  service a Book XIX reminder must name).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError

from dunning.channels.email import Attachment, Brand, DkimKey, EmailData, EmailSettings
from dunning.channels.render import TemplateMissing, default_templates_dir
from dunning.channels.sms import SmsData, SmsSettings
from dunning.domain.legal.base import Deadline
from dunning.domain.money import Money
from dunning.domain.planning.actions import CATALOGUE
from dunning.domain.planning.notice_kind import NoticeKind
from dunning.domain.promise import promised_day
from dunning.domain.references import InvalidReference, parse_reference
from dunning.domain.wording import swiss_spelling
from dunning.errors import ConfigError
from dunning.store.reminders import ReminderRecord
from dunning.usecases.messaging.plan_messages import PLAN_TEMPLATE, plan_email, plan_sms
from dunning.usecases.outgoing.due import DueAction
from dunning.usecases.outgoing.legal import action_deadline, legal_mentions
from dunning.usecases.outgoing.notices import history_notice_kind
from dunning.usecases.outgoing.paylinks import pay_link_for
from dunning.usecases.outgoing.secrets import Secrets
from dunning.usecases.plans.bot import PLAN_ACTIONS
from dunning.workspace import Workspace

__all__ = [
    "brand_for",
    "compose_email",
    "compose_sms",
    "email_legal",
    "email_settings",
    "locale_for",
    "message_deadline",
    "message_notice",
    "sms_settings",
    "template_kind",
    "templates_dir_for",
]

#: the standard template kind of each messaging action, per channel (used when the flow's is missing)
STANDARD_KINDS: Mapping[str, Mapping[str, str]] = {
    "email": {
        "send_email": "reminder",
        "send_final_notice": "final_notice",
        "send_pay_link": "pay_link",
        "thank_you": "thank_you",
        "payment_plan_offer": "pay_link",
    },
    "sms": {
        "send_sms": "reminder_sms",
        "send_final_notice": "final_notice",
        "send_pay_link": "pay_link",
        "thank_you": "thank_you",
        "payment_plan_offer": "pay_link",
    },
}
#: a locale Babel knows for each language, when language + debtor country is not one
_FALLBACK_LOCALES = {"nl": "nl_BE", "fr": "fr_BE", "de": "de_DE", "en": "en_GB"}


def templates_dir_for(workspace: Workspace) -> Path:
    """The workspace's own ``templates/`` folder when it has one, else the shipped templates."""
    own = workspace.root / "templates"
    return own if (own / "email").is_dir() or (own / "sms").is_dir() else default_templates_dir()


def email_settings(workspace: Workspace, secrets: Secrets | None) -> EmailSettings:
    """Sender settings from ``email.*`` of the config (Message-ID and bounce domain: the From domain).

    Without ``secrets`` there is no VERP key: for messages that carry no action token (sent at once).
    """
    config = workspace.config.email
    name, address = parseaddr(config.from_)
    domain = address.rpartition("@")[2]
    if not address or not domain or "." not in domain:
        raise ConfigError(f"{workspace.config_path}: email.from: {config.from_!r} is not an address like "
                          "'Accounts <accounts@example.com>'")
    dkim = None
    if config.dkim_key is not None:
        if not config.dkim_selector:
            raise ConfigError(f"{workspace.config_path}: email.dkim_key needs email.dkim_selector")
        dkim = DkimKey.from_file(config.dkim_selector, domain, workspace.path(config.dkim_key))
    return EmailSettings(
        from_address=address,
        from_name=name or None,
        message_id_domain=domain,
        bounce_domain=domain,
        verp_secret=secrets.verp if secrets is not None else b"",
        reply_to=config.reply_to,
        dkim=dkim,
    )


def sms_settings(workspace: Workspace) -> SmsSettings:
    config = workspace.config
    return SmsSettings(config.sms.sender, config.sms.max_segments,
                       default_region=config.creditor.address.country)


def brand_for(workspace: Workspace) -> Brand:
    return Brand(workspace.config.creditor.name)


def locale_for(language: str, country: str | None) -> str:
    """``nl`` + ``BE`` → ``nl_BE`` when Babel knows it, else a standard locale of the language."""
    if country:
        candidate = f"{language}_{country.upper()}"
        try:
            Locale.parse(candidate)
            return candidate
        except (UnknownLocaleError, ValueError):
            pass
    return _FALLBACK_LOCALES.get(language, "en_GB")


def _template_exists(templates: Path, channel: str, language: str, kind: str) -> bool:
    suffix = ".subject.j2" if channel == "email" else ".txt.j2"
    return (templates / channel / language / f"{kind}{suffix}").is_file()


def template_kind(channel: str, action: str, requested: str | None, language: str, templates: Path) -> str:
    """The template kind to use: the step's own if it exists in this language, else the action's standard one."""
    candidates = [k for k in (requested, STANDARD_KINDS.get(channel, {}).get(action)) if k]
    for kind in candidates:
        if _template_exists(templates, channel, language, kind):
            return kind
    tried = ", ".join(f"{templates / channel / language / kind}.*" for kind in candidates) or "nothing"
    raise TemplateMissing(f"no {channel} template for action {action} in language {language!r} (looked for {tried})")


#: the actions whose message is a reminder worded by the debtor's history
REMINDER_ACTIONS = frozenset({"send_email", "send_sms", "send_final_notice"})
#: flow template names that ask for "a reminder" (the letters' reminder kinds, and the channels' standard ones)
REMINDER_TEMPLATES = frozenset({"first_reminder", "second_reminder", "reminder", "b2b_reminder",
                                "b2b_second_reminder", "final_notice", "formal_notice", "reminder_sms"})
#: the template of each notice kind, per channel, best first (a workspace's own templates may lack the first)
NOTICE_TEMPLATES: Mapping[str, Mapping[NoticeKind, tuple[str, ...]]] = {
    "email": {NoticeKind.FIRST_REMINDER: ("reminder",), NoticeKind.SECOND_REMINDER: ("second_reminder", "reminder"),
              NoticeKind.FINAL_NOTICE: ("final_notice",)},
    "sms": {NoticeKind.FIRST_REMINDER: ("reminder_sms",), NoticeKind.SECOND_REMINDER: ("reminder_sms",),
            NoticeKind.FINAL_NOTICE: ("final_notice",)},
}


def message_notice(due: DueAction, reminders: tuple[ReminderRecord, ...], sent_on: date) -> NoticeKind | None:
    """The notice kind of a reminder message going out on ``sent_on`` (None: not one worded by history)."""
    requested = due.requested_template
    if due.action not in REMINDER_ACTIONS or (requested is not None and requested not in REMINDER_TEMPLATES):
        return None
    claimed, _later, _total = due.claim_on(sent_on)
    return history_notice_kind(action_pk=due.action_pk, action=due.action, settings=due.settings, on=sent_on,
                               reminders=reminders,
                               claimed_due=[line.due_date for line in claimed if line.open_amount.amount > 0])


def _kind_for(channel: str, due: DueAction, notice: NoticeKind | None, templates: Path) -> str:
    if notice is None:
        return template_kind(channel, due.action, due.requested_template, due.language, templates)
    for kind in NOTICE_TEMPLATES[channel][notice]:
        if _template_exists(templates, channel, due.language, kind):
            return kind
    return template_kind(channel, due.action, due.requested_template, due.language, templates)


def _printed_reference(reference: str | None) -> str | None:
    if not reference:
        return None
    try:
        return parse_reference(reference).printed
    except InvalidReference:
        return reference


#: the rule pack whose first notice must carry the Book XIX mentions (art. XIX.2 §3)
BOOK_XIX_PACK = "BE-consumer"
#: the rule pack whose first notice must be the WIK's 14-day letter (art. 6:96 lid 6 BW), by email too
WIK_PACK = "NL-consumer"


def _is_first_notice(detail: Mapping[str, Any]) -> bool:
    """The planner marks the case's first legal notice with its required fields and its legal date."""
    return bool(detail.get("required_fields")) and bool(detail.get("earliest_legal_date"))


def _applied_packs(detail: Mapping[str, Any]) -> set[str]:
    """The rule packs the planner names in the action's rules (``BE-consumer: ...`` → ``BE-consumer``)."""
    return {str(rule).split(":", 1)[0].strip() for rule in detail.get("rules") or ()}


def message_deadline(due: DueAction, workspace: Workspace, sent_on: date) -> Deadline:
    """The action's one deadline, as its letter would print it (:func:`action_deadline`).

    A promise's reminder states the day the debtor promised (:mod:`dunning.usecases.planning.promises`).
    """
    promised = promised_day(due.settings)
    if promised is not None:
        return Deadline(day=promised, starts=sent_on, days=max((promised - sent_on).days + 1, 1), minimum_days=0,
                        rule=f"the day the debtor promised to pay by ({promised.isoformat()})",
                        source="promise to pay on the pay page")
    return action_deadline(due.detail, country=due.country or workspace.config.creditor.address.country,
                           consumer=due.consumer, sent_on=sent_on, channel=due.channel, pay_days=due.pay_days)


def email_legal(due: DueAction, workspace: Workspace, sent_on: date) -> tuple[date, dict[str, object] | None]:
    """The deadline of an email sent on ``sent_on`` and, for a consumer's first notice, its legal mentions: Book XIX
    for a Belgian consumer (``kind`` "BE"), the WIK's 14-day notice for a Dutch one ("NL").

    Both come from the planner's record of the action (see the module docstring); the mentions are
    None when the action is not the case's first legal notice, so ordinary reminders are unchanged.
    """
    deadline = message_deadline(due, workspace, sent_on).day
    if not _is_first_notice(due.detail):
        return deadline, None
    mentions = legal_mentions(due.detail, consumer=due.consumer, letter_date=sent_on, planned_on=due.due_on,
                              pay_days=due.pay_days, channel=due.channel,
                              country=due.country or workspace.config.creditor.address.country)
    packs = _applied_packs(due.detail)
    if mentions.damages_if_unpaid is None or not packs & {BOOK_XIX_PACK, WIK_PACK}:
        return deadline, None
    if BOOK_XIX_PACK not in packs:  # the WIK's 14-day notice: the period and the exact costs after it
        return deadline, {"kind": "NL", "deadline": deadline, "rate": mentions.interest_rate_if_unpaid,
                          "damages": Money.of(mentions.damages_if_unpaid, due.currency)}
    creditor = workspace.config.creditor
    address = creditor.address
    return deadline, {
        "kind": "BE",
        "deadline": deadline,
        "period_days": mentions.period_days,
        "damages": Money.of(mentions.damages_if_unpaid, due.currency),
        "rate": mentions.interest_rate_if_unpaid,
        "creditor_name": creditor.name,
        "enterprise_number": creditor.enterprise_number,
        "creditor_address": f"{address.street}, {address.postal_code} {address.city}",
        "debtor_name": due.debtor_name,
        "customer_number": due.customer_number,
        "debtor_address": ", ".join(due.address_lines),
    }


def compose_email(due: DueAction, workspace: Workspace, secrets: Secrets, templates: Path,
                  sent_on: date, notice: NoticeKind | None = None) -> tuple[EmailData, str]:
    """The EmailData of one action sent on ``sent_on`` and the template kind; raises TemplateMissing/ConfigError.

    ``notice``: the reminder's kind by the debtor's history (:func:`message_notice`), which chooses the wording.
    """
    if due.action in PLAN_ACTIONS:  # the plan bot's messages: the instalment's own figures
        return plan_email(due, workspace, secrets, sent_on, locale_for(due.language, due.country)), PLAN_TEMPLATE
    kind = _kind_for("email", due, notice, templates)
    attachment = None
    if due.document and due.settings.get("attach_pdf", True):
        path = workspace.path(due.document)
        try:
            mime_type = "application/pdf" if path.suffix.lower() == ".pdf" else "application/octet-stream"
            attachment = Attachment(path.name, path.read_bytes(), mime_type)
        except OSError as exc:
            raise ConfigError(f"action {due.action_pk}: attachment {path} cannot be read ({exc.strerror})") from None
    spec = CATALOGUE.get(due.action)
    claimed, _later, claimed_total = due.claim_on(sent_on)  # only what is overdue the day it goes out
    deadline, legal = email_legal(due, workspace, sent_on)
    extra: dict[str, object] = {"invoice_descriptions": dict(due.invoice_descriptions)}
    if legal is not None:
        extra["legal"] = legal
    if due.own_fee:
        extra["own_fee"] = Money.of(due.own_fee, due.currency)
    data = EmailData(
        action_id=due.token_id,
        idempotency_key=due.key,
        kind=kind,
        locale=locale_for(due.language, due.country),
        to_address=due.email or "",
        debtor_name=due.debtor_name,
        total_due=Money.of(claimed_total + due.own_fee, due.currency),
        pay_by=deadline,
        pay_link=pay_link_for(due, workspace, secrets, sent_on, "email"),
        payment_reference=_printed_reference(due.reference),
        invoices=claimed,
        attachment=attachment,
        legal_notice=bool(spec and spec.legal_notice),
        extra=extra,
        swiss=swiss_spelling(locale_for(due.language, due.country), workspace.config.creditor.address.country),
    )
    return data, kind


def compose_sms(due: DueAction, workspace: Workspace, secrets: Secrets, templates: Path,
                sent_on: date, notice: NoticeKind | None = None) -> tuple[SmsData, str]:
    """The SmsData of one action sent on ``sent_on`` and the template kind; raises TemplateMissing/ConfigError."""
    if due.action in PLAN_ACTIONS:
        return plan_sms(due, workspace, secrets, sent_on, locale_for(due.language, due.country)), PLAN_TEMPLATE
    kind = _kind_for("sms", due, notice, templates)
    include_link = due.settings.get("include_pay_link", True) is not False
    _claimed, _later, claimed_total = due.claim_on(sent_on)
    data = SmsData(
        action_id=due.token_id,
        idempotency_key=due.key,
        kind=kind,
        locale=locale_for(due.language, due.country),
        phone=due.phone or "",
        brand_name=workspace.config.creditor.name,
        total_due=Money.of(claimed_total + due.own_fee, due.currency),
        pay_by=message_deadline(due, workspace, sent_on).day,
        pay_link=pay_link_for(due, workspace, secrets, sent_on, "sms") if include_link else None,
        region=(due.country or workspace.config.creditor.address.country).upper(),
        swiss=swiss_spelling(locale_for(due.language, due.country), workspace.config.creditor.address.country),
    )
    return data, kind
