"""Build one dunning email: text and HTML from templates, headers for bounces and deliverability.

One planned action becomes one :class:`OutgoingEmail` (the exact bytes to send, the envelope
sender and the recipients). Nothing here touches the network or the clock: the send time is a
parameter and the same input always gives the same bytes, so a re-run of the night sends the
very same message (same Message-ID, same MIME boundaries, same DKIM signature).

Decisions, with their reasons:

* **Structure.** ``multipart/alternative`` with text/plain first and text/html last (clients show
  the last part they understand); with a PDF the whole is wrapped in ``multipart/mixed``. Both
  bodies come from hand-written templates per language, not from an HTML-to-text conversion,
  so the text part reads well on its own.
* **Message-ID** ``<action-token.key-hash@domain>``: deterministic from the idempotency key, and
  it carries the signed action token, so a bounce that quotes only the original headers still
  maps back to the action without a database lookup.
* **Envelope sender (Return-Path)** ``bounces+<action-token>@<bounce domain>`` (VERP): every
  bounce is addressed to the action it is about. Keep the bounce domain under the From
  organisational domain for relaxed SPF alignment (DMARC).
* **List-Unsubscribe** (RFC 2369) with **List-Unsubscribe-Post** (RFC 8058, one click) only on
  ordinary reminders and only when a preferences URL is given; it means "no more email for
  this claim, write to me by post", not "stop the dunning". A **legal notice** (formal notice,
  "ingebrekestelling", "mise en demeure") never carries it: it is not a subscription the debtor
  can leave, and an unsubscribe button on it would misstate the debtor's rights. Gmail and
  Yahoo only require one-click unsubscribe for marketing; dunning is transactional.
* **Auto-Submitted: auto-generated** (RFC 3834) on every message, and
  ``X-Auto-Response-Suppress: OOF, AutoReply`` for Exchange: vacation replies to a robot only
  fill the bounce mailbox. Delivery status notifications are not suppressed by either header.
* **DKIM** (dkimpy, relaxed/relaxed) when a key is configured; the signature covers the
  List-Unsubscribe headers as RFC 8058 requires, and over-signs absent ones so they cannot be
  added in transit.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from email import message_from_bytes, policy
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

from dunning.channels.render import default_templates_dir, language_of, render
from dunning.channels.tokens import make_token, verp_address
from dunning.domain.money import Money
from dunning.errors import ConfigError, PermanentDeliveryError

__all__ = [
    "LEGAL_NOTICE_KINDS",
    "Attachment",
    "Brand",
    "BuildProblem",
    "DkimKey",
    "EmailData",
    "EmailSettings",
    "InvalidBrand",
    "InvalidEmailAddress",
    "InvoiceLine",
    "OutgoingEmail",
    "build_email",
    "build_emails",
    "message_id_for",
]

# Template kinds that are legal notices: no List-Unsubscribe on them (see the module docstring).
LEGAL_NOTICE_KINDS = frozenset({"final_notice", "formal_notice"})

# Headers the DKIM signature covers (absent ones are over-signed on purpose).
DKIM_HEADERS = (
    b"from", b"to", b"subject", b"date", b"message-id", b"reply-to", b"mime-version",
    b"content-type", b"list-unsubscribe", b"list-unsubscribe-post", b"auto-submitted", b"feedback-id",
)

_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


class InvalidBrand(ConfigError):
    """A brand setting that cannot go into the email (e.g. a colour that is not ``#rrggbb``)."""


class InvalidEmailAddress(PermanentDeliveryError):
    """The recipient address is not a deliverable address; retrying will not help.

    The message names the action and the reason but not the address itself (personal data
    ends up in logs); the address is kept in ``self.address`` for the operator.
    """

    def __init__(self, message: str, address: str) -> None:
        super().__init__(message)
        self.address = address


@dataclass(frozen=True, slots=True)
class Brand:
    """The creditor's look in the email: name and colours (``#rrggbb``), all passed in."""

    name: str
    primary_colour: str = "#1f4e79"
    accent_colour: str = "#e8eef5"
    text_colour: str = "#222222"
    logo_url: str | None = None
    website: str | None = None
    support_email: str | None = None
    support_phone: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise InvalidBrand("brand name is empty")
        for key in ("primary_colour", "accent_colour", "text_colour"):
            value = getattr(self, key)
            if not _COLOUR.fullmatch(value):
                # Colours go into inline CSS: anything but #rrggbb could break out of it.
                raise InvalidBrand(f"brand {self.name!r}: {key} {value!r} is not a colour like #1f4e79")
        if self.logo_url is not None and not self.logo_url.startswith("https://"):
            raise InvalidBrand(f"brand {self.name!r}: logo_url {self.logo_url!r} must be an https:// URL")


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with the email, usually the PDF letter."""

    filename: str
    content: bytes
    mime_type: str = "application/pdf"


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One open invoice as listed in the email."""

    number: str
    due_date: date
    open_amount: Money


@dataclass(frozen=True, slots=True)
class EmailData:
    """Everything one email says, for one action. ``pay_link`` is a plain URL made elsewhere."""

    action_id: str
    idempotency_key: str
    kind: str
    locale: str
    to_address: str
    debtor_name: str
    total_due: Money
    pay_by: date
    pay_link: str
    payment_reference: str | None = None
    invoices: tuple[InvoiceLine, ...] = ()
    attachment: Attachment | None = None
    preferences_url: str | None = None
    legal_notice: bool = False
    extra: Mapping[str, object] = field(default_factory=dict)
    #: the templates' own German text in Swiss spelling (``swiss_spelling`` of :mod:`dunning.domain.wording`)
    swiss: bool = False

    @property
    def is_legal_notice(self) -> bool:
        return self.legal_notice or self.kind in LEGAL_NOTICE_KINDS


@dataclass(frozen=True, slots=True)
class DkimKey:
    """A DKIM signing key: selector, signing domain and the PEM private key (RSA or Ed25519)."""

    selector: str
    domain: str
    private_key: bytes

    @classmethod
    def from_file(cls, selector: str, domain: str, path: Path) -> DkimKey:
        try:
            return cls(selector, domain, path.read_bytes())
        except OSError as exc:
            raise ConfigError(f"DKIM key file {path}: {exc.strerror}") from None


@dataclass(frozen=True, slots=True)
class EmailSettings:
    """Sender-side settings shared by all emails of one creditor."""

    from_address: str
    message_id_domain: str
    bounce_domain: str
    verp_secret: bytes
    from_name: str | None = None
    reply_to: str | None = None
    unsubscribe_mailto: str | None = None
    feedback_id: str | None = None
    dkim: DkimKey | None = None


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """A message ready for a transport: exact bytes, envelope sender, recipients."""

    action_id: str
    message_id: str
    envelope_from: str
    recipients: tuple[str, ...]
    raw: bytes
    language: str

    def parsed(self) -> EmailMessage:
        message = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass(frozen=True, slots=True)
class BuildProblem:
    """An action whose email could not be built, and why."""

    action_id: str
    error: Exception

    def __str__(self) -> str:
        return f"action {self.action_id}: {self.error}"


def _short_hash(text: str, length: int = 16) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:length]


def message_id_for(action_id: str, idempotency_key: str, domain: str, secret: bytes) -> str:
    """``<A000123.k3x9q2mzfa.7dq4...@mail.example>``: same key and domain, same Message-ID."""
    return f"<{make_token(action_id, secret)}.{_short_hash(idempotency_key)}@{domain}>"


def _checked_recipient(data: EmailData) -> str:
    try:
        result = validate_email(data.to_address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmailAddress(f"action {data.action_id}: recipient address is invalid: {exc}",
                                  data.to_address) from None
    if result.ascii_email is None:
        raise InvalidEmailAddress(
            f"action {data.action_id}: recipient address needs SMTPUTF8, which dunning does not send",
            data.to_address,
        )
    return result.ascii_email


def _context(data: EmailData, brand: Brand, language: str) -> dict[str, object]:
    return {
        **data.extra,
        "brand": brand,
        "language": language,
        "locale": data.locale,
        "debtor_name": data.debtor_name,
        "total_due": data.total_due,
        "pay_by": data.pay_by,
        "pay_link": data.pay_link,
        "payment_reference": data.payment_reference,
        "invoices": data.invoices,
        "has_attachment": data.attachment is not None,
        "preferences_url": None if data.is_legal_notice else data.preferences_url,
    }


def _fix_boundaries(message: EmailMessage, seed: str) -> None:
    # Random MIME boundaries would make every re-run produce different bytes (and a different
    # DKIM body hash); derive them from the idempotency key instead.
    for index, part in enumerate(message.walk()):
        if part.is_multipart():
            part.set_boundary(f"=_dunning_{seed}_{index}")


def _list_unsubscribe(data: EmailData, settings: EmailSettings) -> tuple[str | None, bool]:
    if data.is_legal_notice:
        return None, False
    uris = []
    one_click = data.preferences_url is not None and data.preferences_url.startswith("https://")
    if one_click:
        uris.append(f"<{data.preferences_url}>")
    if settings.unsubscribe_mailto:
        uris.append(f"<mailto:{settings.unsubscribe_mailto}?subject=unsubscribe%20{data.action_id}>")
    return (", ".join(uris) or None), one_click


def _dkim_sign(raw: bytes, key: DkimKey) -> bytes:
    import dkim  # dkimpy: imported here so the package works without it when DKIM is off

    try:
        signature = dkim.sign(
            raw,
            key.selector.encode("ascii"),
            key.domain.encode("ascii"),
            key.private_key,
            include_headers=list(DKIM_HEADERS),
            canonicalize=(b"relaxed", b"relaxed"),
        )
    except dkim.KeyFormatError as exc:
        raise ConfigError(f"DKIM key for {key.selector}._domainkey.{key.domain} is unusable: {exc}") from None
    return bytes(signature) + raw


def build_email(
    data: EmailData,
    brand: Brand,
    settings: EmailSettings,
    *,
    sent_at: datetime,
    templates_dir: Path | None = None,
) -> OutgoingEmail:
    """Build the message for one action; ``sent_at`` (timezone-aware) becomes the Date header.

    Raises :class:`InvalidEmailAddress` (permanent: take the fallback channel) for a bad
    recipient and :class:`~dunning.errors.ConfigError` for a missing template or bad settings.
    """
    if sent_at.tzinfo is None:
        raise ConfigError("sent_at must be timezone-aware (the Date header needs an offset)")
    templates = templates_dir or default_templates_dir()
    language = language_of(data.locale)
    recipient = _checked_recipient(data)
    context = _context(data, brand, language)
    prefix = f"{language}/{data.kind}"
    # Collapse line breaks but keep no-break spaces: "€ 1.234,50" must not wrap in a subject.
    subject = re.sub(r"[ \t\r\n]+", " ", render(templates, "email", f"{prefix}.subject.j2", context,
                                                  html=False, swiss=data.swiss)).strip()
    text = render(templates, "email", f"{prefix}.txt.j2", context, html=False, swiss=data.swiss).strip() + "\n"
    html = render(templates, "email", f"{prefix}.html.j2", context, html=True, swiss=data.swiss)

    message_id = message_id_for(data.action_id, data.idempotency_key, settings.message_id_domain,
                                settings.verp_secret)
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = formataddr((settings.from_name or brand.name, settings.from_address))
    message["To"] = formataddr((data.debtor_name, recipient))
    if settings.reply_to:
        message["Reply-To"] = settings.reply_to
    if subject.isascii():
        message["Subject"] = subject
    else:  # Python 3.11 folds "word =?utf-8?...?=" with a space too many or too few (CPython gh-144156)
        message.set_raw("Subject", Header(subject, "utf-8", header_name="Subject").encode())
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    unsubscribe, one_click = _list_unsubscribe(data, settings)
    if unsubscribe:
        message["List-Unsubscribe"] = unsubscribe
        if one_click:
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if settings.feedback_id:
        message["Feedback-ID"] = settings.feedback_id
    message.set_content(text, cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    if data.attachment is not None:
        maintype, _, subtype = data.attachment.mime_type.partition("/")
        message.add_attachment(data.attachment.content, maintype=maintype, subtype=subtype,
                               filename=data.attachment.filename)
    # After the body: set_content() drops every Content-* header set before it.
    message["Content-Language"] = language
    _fix_boundaries(message, _short_hash(data.idempotency_key, 12))

    raw = message.as_bytes(policy=policy.SMTP)
    if settings.dkim is not None:
        raw = _dkim_sign(raw, settings.dkim)
    return OutgoingEmail(
        action_id=data.action_id,
        message_id=message_id,
        envelope_from=verp_address(data.action_id, settings.verp_secret, settings.bounce_domain),
        recipients=(recipient,),
        raw=raw,
        language=language,
    )


def build_emails(
    items: Iterable[tuple[EmailData, Brand]],
    settings: EmailSettings,
    *,
    sent_at: datetime,
    templates_dir: Path | None = None,
) -> tuple[list[OutgoingEmail], list[BuildProblem]]:
    """Build a batch; an action that cannot be built is reported and the others still build.

    Configuration errors that hit every message (a missing template folder, a bad DKIM key)
    surface as problems too, one per action, so the caller decides whether to stop.
    """
    built: list[OutgoingEmail] = []
    problems: list[BuildProblem] = []
    for data, brand in items:
        try:
            built.append(build_email(data, brand, settings, sent_at=sent_at, templates_dir=templates_dir))
        except (PermanentDeliveryError, ConfigError) as exc:
            problems.append(BuildProblem(data.action_id, exc))
    return built, problems
