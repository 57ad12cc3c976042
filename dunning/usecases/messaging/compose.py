"""From a planned action in the store to the data of one email or SMS.

Used by :mod:`dunning.usecases.messaging.dispatch`. Everything here reads the store or the workspace
configuration and returns plain values; nothing is sent and nothing is written.

Decisions, with their reasons:

* **Secrets.** The pay-link secret comes from ``$DUNNING_PAYLINK_SECRET`` or the file named by
  ``paylink.secret_file``; without one, dispatch refuses to run (a link signed with a made-up key
  would be worthless and silently so). The VERP/Message-ID token secret comes from
  ``$DUNNING_VERP_SECRET``, else it is derived from the pay-link secret with HMAC under a fixed
  label (domain separation: one secret to configure, two independent keys). Either must stay the
  same for as long as bounces for sent messages may arrive.
* **Sender domains.** The Message-ID and bounce (VERP) domain is the domain of ``email.from``
  (the config has no separate keys yet): bounces then return to the From domain, which also keeps
  SPF aligned for DMARC.
* **Templates.** A flow names a template per step (``first_reminder``, ``b2b_reminder``); when the
  channel has no such template in the debtor's language, the action's standard kind is used
  (``send_email`` → ``reminder``, ``send_sms`` → ``reminder_sms``, ``send_final_notice`` →
  ``final_notice``, ``send_pay_link`` → ``pay_link``, ``thank_you`` → ``thank_you``). If neither
  exists the action is reported and left planned (a configuration problem, not a failed delivery).
* **Pay link and dates** count from ``sent_on``, the dispatch's run date (not the clock): a message
  that waited (transient failures, quiet hours) still gives the debtor the full period; a re-send
  after a crash reuses the first attempt's date (kept on the delivery), so it says exactly the same.
* **Legal notice by email.** When the planner recorded the action as the case's first legal notice
  (``detail.required_fields`` and ``detail.earliest_legal_date``), the pay-by date is the legal
  deadline computed exactly as for a letter (:func:`dunning.usecases.letters.data.legal_mentions`)
  but with the email rule: Book XIX's 14 days start the calendar day after an email is sent (the
  3rd working day after posting a letter), so the deadline is the day before the planner's
  ``earliest_legal_date``, moved later if the email goes out after its planned day. For a Belgian
  consumer (rule pack ``BE-consumer``) the email also carries the mentions of art. XIX.2 the letter
  prints: free first reminder, debtor and creditor (name, enterprise number), the invoices with
  their product or service and due date, the amount due, the period and its end, and the damages
  (``penalty_clause_amount``, the planner's figure) claimed if it stays unpaid.
* **Credit notes** are open items with a negative amount; they are listed (and deducted) as such,
  see :mod:`dunning.channels.render`. Invoice descriptions travel with the lines (the product or
  service a Book XIX reminder must name).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from sqlalchemy import Connection, select

from dunning.channels.email import Attachment, Brand, DkimKey, EmailData, EmailSettings, InvoiceLine
from dunning.channels.render import LANGUAGES, TemplateMissing, default_templates_dir
from dunning.channels.sms import SmsData, SmsSettings
from dunning.channels.tokens import action_id_for
from dunning.config import secret
from dunning.domain import paylink
from dunning.domain.money import Money
from dunning.domain.planning.actions import CATALOGUE
from dunning.domain.references import InvalidReference, parse_reference
from dunning.errors import ConfigError
from dunning.store.schema import actions, cases, debtors, documents, invoices
from dunning.usecases.reconcile.booking import cost_paid
from dunning.workspace import Workspace

__all__ = [
    "PAYLINK_SECRET_ENV",
    "VERP_SECRET_ENV",
    "DueAction",
    "Secrets",
    "compose_email",
    "compose_sms",
    "due_action_ids",
    "email_legal",
    "email_settings",
    "load_due_actions",
    "load_secrets",
    "locale_for",
    "sms_settings",
    "template_kind",
    "templates_dir_for",
]

PAYLINK_SECRET_ENV = "DUNNING_PAYLINK_SECRET"
VERP_SECRET_ENV = "DUNNING_VERP_SECRET"
_VERP_LABEL = b"dunning/verp-token/v1"
_MIN_SECRET = 16

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
#: days the debtor is given to pay, counted from the action's date, unless the step says otherwise
DEFAULT_PAY_DAYS = 14
#: a locale Babel knows for each language, when language + debtor country is not one
_FALLBACK_LOCALES = {"nl": "nl_BE", "fr": "fr_BE", "de": "de_DE", "en": "en_GB"}


@dataclass(frozen=True, slots=True)
class Secrets:
    """The keys dispatch signs with: pay-link tokens, and VERP / Message-ID action tokens."""

    paylink: bytes
    verp: bytes


def load_secrets(workspace: Workspace, env: Mapping[str, str] | None = None) -> Secrets:
    """Read the pay-link secret (required) and the VERP secret (else derived); see the module docstring."""
    environ = os.environ if env is None else env
    file = workspace.config.paylink.secret_file
    value = secret("paylink_secret", environ, workspace.path(file) if file is not None else None)
    if not value:
        raise ConfigError(
            f"no pay-link secret: set ${PAYLINK_SECRET_ENV} (at least {_MIN_SECRET} characters) or "
            f"paylink.secret_file in {workspace.config_path}"
        )
    paylink_key = value.encode("utf-8")
    if len(paylink_key) < _MIN_SECRET:
        raise ConfigError(f"${PAYLINK_SECRET_ENV} (or paylink.secret_file) is shorter than {_MIN_SECRET} bytes")
    verp_value = environ.get(VERP_SECRET_ENV)
    if verp_value:
        verp_key = verp_value.encode("utf-8")
    else:
        verp_key = hmac.new(paylink_key, _VERP_LABEL, hashlib.sha256).digest()
    return Secrets(paylink_key, verp_key)


def templates_dir_for(workspace: Workspace) -> Path:
    """The workspace's own ``templates/`` folder when it has one, else the shipped templates."""
    own = workspace.root / "templates"
    return own if (own / "email").is_dir() or (own / "sms").is_dir() else default_templates_dir()


def email_settings(workspace: Workspace, secrets: Secrets) -> EmailSettings:
    """Sender settings from ``email.*`` of the config (Message-ID and bounce domain: the From domain)."""
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
        verp_secret=secrets.verp,
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


@dataclass(frozen=True)
class DueAction:
    """A planned email or SMS action with what its message needs (debtor fields are personal data)."""

    action_pk: int
    key: str
    action: str
    channel: str
    due_on: date
    settings: Mapping[str, Any]
    case_id: int
    case_status: str
    currency: str
    reference: str | None
    total_due: Decimal
    debtor_name: str
    language: str
    country: str | None
    email: str | None
    email_invalid: bool
    phone: str | None
    invoices: tuple[InvoiceLine, ...] = ()
    document: str | None = None
    #: the action's ``detail`` as the planner recorded it (rules, figures, earliest legal date)
    detail: Mapping[str, Any] = field(default_factory=dict)
    customer_number: str = ""
    consumer: bool = True
    address_lines: tuple[str, ...] = ()
    #: invoice number → its description (the product or service), for the invoices that have one
    invoice_descriptions: Mapping[str, str] = field(default_factory=dict)

    @property
    def token_id(self) -> str:
        """The short action id that travels in VERP addresses, Message-IDs and SMS client refs."""
        return action_id_for(self.key)

    @property
    def own_fee(self) -> Decimal:
        """The fee this message carries (``detail.fee``, set by the planner), while not booked yet.

        It is booked to the case when the message goes out (:mod:`dunning.usecases.outgoing.fees`),
        so the message itself asks for it: its total includes it, and its text says so.
        """
        if self.detail.get("fee_booked_on"):
            return Decimal(0)
        try:
            fee = Decimal(str(self.detail.get("fee") or 0))
        except ArithmeticError:  # decimal.InvalidOperation: not a number; the planner writes none such
            return Decimal(0)
        return fee if fee.is_finite() and fee > 0 else Decimal(0)

    @property
    def requested_template(self) -> str | None:
        value = self.settings.get("template")
        return str(value) if value else None


def _chunks(values: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def due_action_ids(conn: Connection, channel: str, run_date: date) -> list[int]:
    """Ids of the planned actions on ``channel`` due on or before ``run_date``, oldest first."""
    query = (
        select(actions.c.id)
        .where(actions.c.status == "planned", actions.c.channel == channel, actions.c.due_on <= run_date)
        .order_by(actions.c.due_on, actions.c.id)
    )
    return [row.id for row in conn.execute(query)]


def load_due_actions(conn: Connection, action_ids: list[int], creditor_language: str) -> list[DueAction]:
    """The actions ``action_ids`` (still planned) with their case, debtor, open invoices and document."""
    query = (
        select(
            actions.c.id, actions.c.idempotency_key, actions.c.action, actions.c.channel, actions.c.due_on,
            actions.c.settings, actions.c.detail, actions.c.case_id,
            cases.c.status.label("case_status"), cases.c.currency, cases.c.reference, cases.c.open_amount,
            cases.c.fees_amount, cases.c.interest_amount,
            debtors.c.name, debtors.c.language, debtors.c.country, debtors.c.email, debtors.c.email_invalid,
            debtors.c.phone, debtors.c.external_id.label("customer_number"), debtors.c.debtor_type,
            debtors.c.street, debtors.c.postal_code, debtors.c.city,
        )
        .join(cases, cases.c.id == actions.c.case_id)
        .join(debtors, debtors.c.id == cases.c.debtor_id)
        .where(actions.c.id.in_(action_ids), actions.c.status == "planned")
        .order_by(actions.c.due_on, actions.c.id)
    )
    rows = list(conn.execute(query)) if action_ids else []
    case_ids = sorted({row.case_id for row in rows})
    paid_costs = cost_paid(conn, case_ids)
    lines: dict[int, list[InvoiceLine]] = {}
    descriptions: dict[int, dict[str, str]] = {}
    for chunk in _chunks(case_ids):
        for inv in conn.execute(
            select(invoices.c.case_id, invoices.c.external_id, invoices.c.due_date, invoices.c.open_amount,
                   invoices.c.currency, invoices.c.description)
            .where(invoices.c.case_id.in_(chunk), invoices.c.status == "open")
            .order_by(invoices.c.due_date, invoices.c.external_id)
        ):
            lines.setdefault(inv.case_id, []).append(
                InvoiceLine(inv.external_id, inv.due_date, Money.of(inv.open_amount, inv.currency)))
            if inv.description:
                descriptions.setdefault(inv.case_id, {})[inv.external_id] = inv.description
    docs: dict[int, str] = {}
    action_ids = [row.id for row in rows]
    for chunk in _chunks(action_ids):
        for doc in conn.execute(select(documents.c.action_id, documents.c.path).where(
                documents.c.action_id.in_(chunk))):
            docs[doc.action_id] = doc.path
    due = []
    for row in rows:
        language = (row.language or creditor_language).lower()
        due.append(DueAction(
            action_pk=row.id,
            key=row.idempotency_key,
            action=row.action,
            channel=row.channel,
            due_on=row.due_on,
            settings=dict(row.settings or {}),
            case_id=row.case_id,
            case_status=row.case_status,
            currency=row.currency,
            reference=row.reference,
            # Credit notes are open items with a negative amount, so open_amount is already net of them.
            # Fees and interest as charged, less what bank payments already covered (costs are paid first).
            total_due=row.open_amount
            + max(row.fees_amount - paid_costs[(row.case_id, "fees")], Decimal(0))
            + max(row.interest_amount - paid_costs[(row.case_id, "interest")], Decimal(0)),
            debtor_name=row.name,
            language=language if language in LANGUAGES else creditor_language,
            country=row.country,
            email=row.email,
            email_invalid=bool(row.email_invalid),
            phone=row.phone,
            invoices=tuple(lines.get(row.case_id, ())),
            document=docs.get(row.id),
            detail=dict(row.detail or {}),
            customer_number=row.customer_number or "",
            consumer=(row.debtor_type or "person") == "person",
            address_lines=tuple(part for part in (
                (row.street or "").strip(), f"{row.postal_code or ''} {row.city or ''}".strip()) if part),
            invoice_descriptions=descriptions.get(row.case_id, {}),
        ))
    return due


def _pay_days(due: DueAction) -> int:
    days = due.settings.get("deadline_days")
    return int(days) if isinstance(days, int | str) and str(days).isdigit() else DEFAULT_PAY_DAYS


def pay_link_for(due: DueAction, workspace: Workspace, secrets: Secrets, sent_on: date) -> str:
    """``paylink.base_url`` + a token for the case, valid ``paylink.valid_days`` from the day it is sent."""
    config = workspace.config.paylink
    try:
        token = paylink.make_token(str(due.case_id), sent_on + timedelta(days=config.valid_days), secrets.paylink)
        return paylink.pay_link(config.base_url, token)
    except paylink.PayLinkError as exc:
        raise ConfigError(f"pay link for case {due.case_id}: {exc}") from None


def _printed_reference(reference: str | None) -> str | None:
    if not reference:
        return None
    try:
        return parse_reference(reference).printed
    except InvalidReference:
        return reference


#: the rule pack whose first notice must carry the Book XIX mentions (art. XIX.2 §3)
BOOK_XIX_PACK = "BE-consumer"


def _is_first_notice(detail: Mapping[str, Any]) -> bool:
    """The planner marks the case's first legal notice with its required fields and its legal date."""
    return bool(detail.get("required_fields")) and bool(detail.get("earliest_legal_date"))


def _applied_packs(detail: Mapping[str, Any]) -> set[str]:
    """The rule packs the planner names in the action's rules (``BE-consumer: ...`` → ``BE-consumer``)."""
    return {str(rule).split(":", 1)[0].strip() for rule in detail.get("rules") or ()}


def email_legal(due: DueAction, workspace: Workspace, sent_on: date) -> tuple[date | None, dict[str, object] | None]:
    """The legal deadline of an email sent on ``sent_on`` and, for a Belgian consumer, its Book XIX mentions.

    Both come from the planner's record of the action (see the module docstring); ``(None, None)``
    when the action is not the case's first legal notice, so ordinary reminders are unchanged.
    """
    if not _is_first_notice(due.detail):
        return None, None
    # Imported here: letters_data builds on this module (DueAction, pay links).
    from dunning.usecases.letters.data import legal_mentions

    mentions = legal_mentions(due.detail, consumer=due.consumer, letter_date=sent_on, planned_on=due.due_on,
                              pay_days=_pay_days(due), channel=due.channel)
    if BOOK_XIX_PACK not in _applied_packs(due.detail) or mentions.damages_if_unpaid is None:
        return mentions.deadline, None
    creditor = workspace.config.creditor
    address = creditor.address
    return mentions.deadline, {
        "deadline": mentions.deadline,
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
                  sent_on: date) -> tuple[EmailData, str]:
    """The EmailData of one action sent on ``sent_on`` and the template kind; raises TemplateMissing/ConfigError."""
    kind = template_kind("email", due.action, due.requested_template, due.language, templates)
    attachment = None
    if due.document and due.settings.get("attach_pdf", True):
        path = workspace.path(due.document)
        try:
            mime_type = "application/pdf" if path.suffix.lower() == ".pdf" else "application/octet-stream"
            attachment = Attachment(path.name, path.read_bytes(), mime_type)
        except OSError as exc:
            raise ConfigError(f"action {due.action_pk}: attachment {path} cannot be read ({exc.strerror})") from None
    spec = CATALOGUE.get(due.action)
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
        total_due=Money.of(due.total_due + due.own_fee, due.currency),
        pay_by=deadline or sent_on + timedelta(days=_pay_days(due)),
        pay_link=pay_link_for(due, workspace, secrets, sent_on),
        payment_reference=_printed_reference(due.reference),
        invoices=due.invoices,
        attachment=attachment,
        legal_notice=bool(spec and spec.legal_notice),
        extra=extra,
    )
    return data, kind


def compose_sms(due: DueAction, workspace: Workspace, secrets: Secrets, templates: Path,
                sent_on: date) -> tuple[SmsData, str]:
    """The SmsData of one action sent on ``sent_on`` and the template kind; raises TemplateMissing/ConfigError."""
    kind = template_kind("sms", due.action, due.requested_template, due.language, templates)
    include_link = due.settings.get("include_pay_link", True) is not False
    data = SmsData(
        action_id=due.token_id,
        idempotency_key=due.key,
        kind=kind,
        locale=locale_for(due.language, due.country),
        phone=due.phone or "",
        brand_name=workspace.config.creditor.name,
        total_due=Money.of(due.total_due + due.own_fee, due.currency),
        pay_by=sent_on + timedelta(days=_pay_days(due)),
        pay_link=pay_link_for(due, workspace, secrets, sent_on) if include_link else None,
        region=(due.country or workspace.config.creditor.address.country).upper(),
    )
    return data, kind
