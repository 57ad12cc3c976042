"""Build one dunning SMS: text from templates, kept in GSM-7 when possible, counted and capped.

Steps for one action:

1. The phone number is parsed with ``phonenumbers`` into E.164; it must be valid and able to
   receive SMS (mobile, or "fixed line or mobile" where a country cannot tell them apart).
2. The template ``templates/sms/<lang>/<kind>.txt.j2`` is rendered, then normalised
   (:func:`normalise_text`): Babel puts no-break spaces in amounts, typographers put curly
   quotes and dashes in templates, and any one of them turns the whole SMS into UCS-2, which
   halves its length (70 instead of 160 characters).
3. The text is counted (:mod:`dunning.channels.gsm7`). If it takes more segments than the
   configured cap, the shorter variant ``<kind>.short.txt.j2`` is tried; if that is too long
   too, :class:`MessageTooLong` says by how much.

SMS texts carry no debtor name or invoice details: only the creditor, the amount, the date and
the pay link (a lost phone or a shared screen should not disclose more).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from dunning.channels import gsm7
from dunning.channels.render import default_templates_dir, language_of, render
from dunning.domain.money import Money
from dunning.errors import ConfigError, PermanentDeliveryError

__all__ = [
    "InvalidPhoneNumber",
    "MessageTooLong",
    "SmsBuildProblem",
    "SmsData",
    "SmsMessage",
    "SmsSettings",
    "build_sms",
    "build_sms_batch",
    "client_ref_for",
    "normalise_phone",
    "normalise_text",
]

_SMS_CAPABLE = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)

# Typography that has a plain GSM-7 equivalent with the same meaning.
_REPLACEMENTS = {
    **dict.fromkeys("\u00a0\u202f\u2007\u2009\u200a\u2002\u2003\u2004\u2005\u2006\u2008\u3000\t", " "),
    **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff\u00ad", ""),
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4`", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
    "\u2026": "...",
    "\u2022": "-",
}
_TRANSLATE = str.maketrans(_REPLACEMENTS)
_SENDER_ALPHA = re.compile(r"[A-Za-z0-9 .\-]{1,11}")
_SENDER_NUMBER = re.compile(r"\+?[0-9]{3,15}")


class InvalidPhoneNumber(PermanentDeliveryError):
    """No SMS can go to this number (unparseable, invalid, or a fixed line); use the fallback."""


class MessageTooLong(PermanentDeliveryError):
    """Every template variant takes more segments than allowed; shorten the template."""


@dataclass(frozen=True, slots=True)
class SmsSettings:
    """Sender id and limits; ``max_segments`` caps the cost of one SMS."""

    sender: str
    max_segments: int = 2
    fold_accents: bool = False
    default_region: str = "BE"

    def __post_init__(self) -> None:
        if not (_SENDER_ALPHA.fullmatch(self.sender) or _SENDER_NUMBER.fullmatch(self.sender)):
            raise ConfigError(
                f"sms.sender {self.sender!r}: use up to 11 letters/digits or a phone number of up to 15 digits"
            )
        if not 1 <= self.max_segments <= 10:
            raise ConfigError(f"sms.max_segments {self.max_segments}: use 1 to 10")


@dataclass(frozen=True, slots=True)
class SmsData:
    """What one SMS says, for one action.

    ``kind`` names the template (``reminder_sms``, ``final_notice``, ``pay_link``, ``thank_you``,
    as in the action catalogue). ``pay_link`` is a plain URL made elsewhere, or None when the
    step's ``include_pay_link`` is off (the templates then end the sentence without it).
    """

    action_id: str
    idempotency_key: str
    kind: str
    locale: str
    phone: str
    brand_name: str
    total_due: Money
    pay_by: date
    pay_link: str | None
    region: str | None = None
    extra: Mapping[str, object] = field(default_factory=dict)
    #: the templates' own German text in Swiss spelling (``swiss_spelling`` of :mod:`dunning.domain.wording`)
    swiss: bool = False


@dataclass(frozen=True, slots=True)
class SmsMessage:
    """An SMS ready for a transport."""

    action_id: str
    client_ref: str
    to: str
    country: str
    sender: str
    text: str
    encoding: gsm7.Encoding
    units: int
    segments: int
    variant: str


@dataclass(frozen=True, slots=True)
class SmsBuildProblem:
    """An action whose SMS could not be built, and why."""

    action_id: str
    error: Exception

    def __str__(self) -> str:
        return f"action {self.action_id}: {self.error}"


def client_ref_for(action_id: str, idempotency_key: str) -> str:
    """``A000123-5k2j...``: the reference gateways echo in delivery reports; same key, same ref."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:12]
    return f"{action_id}-{digest}"


def normalise_phone(raw: str, default_region: str = "BE") -> tuple[str, str]:
    """Return ``(E.164 number, ISO country)`` of a number that can receive SMS.

    >>> normalise_phone("0471 12 34 56", "BE")
    ('+32471123456', 'BE')

    The error message says why the number is refused but does not repeat it (personal data).
    """
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"phone number cannot be read: {exc}") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber("phone number is not a valid number")
    if phonenumbers.number_type(number) not in _SMS_CAPABLE:
        raise InvalidPhoneNumber("phone number is not a mobile number")
    region = phonenumbers.region_code_for_number(number) or default_region
    return phonenumbers.format_number(number, PhoneNumberFormat.E164), region


def normalise_text(text: str, *, fold_accents: bool = False) -> str:
    """Replace typography that would force UCS-2 by its GSM-7 equivalent.

    No-break and thin spaces become spaces, curly quotes straight quotes, dashes hyphens and
    the ellipsis three dots; line breaks are kept, runs of spaces collapsed. With
    ``fold_accents`` a letter outside GSM-7 loses its accent (``ê`` → ``e``) while letters that
    GSM-7 has (``é``, ``ü``) are kept; letters without a decomposition (``ł``) stay and force
    UCS-2.

    >>> normalise_text("1\u202f234,50\u00a0€ – «\u2009payé\u2009»")
    '1 234,50 € - " payé "'
    """
    text = unicodedata.normalize("NFC", text).translate(_TRANSLATE)
    if fold_accents:
        folded = []
        for char in text:
            if not gsm7.is_gsm7(char):
                stripped = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
                char = stripped if stripped and gsm7.is_gsm7(stripped) else char
            folded.append(char)
        text = "".join(folded)
    lines = [re.sub(r" {2,}", " ", line).strip() for line in text.splitlines()]
    return "\n".join(lines).strip()


def _context(data: SmsData, language: str) -> dict[str, object]:
    return {
        **data.extra,
        "brand_name": data.brand_name,
        "language": language,
        "locale": data.locale,
        "total_due": data.total_due,
        "pay_by": data.pay_by,
        "pay_link": data.pay_link,
    }


def build_sms(data: SmsData, settings: SmsSettings, *, templates_dir: Path | None = None) -> SmsMessage:
    """Build the SMS of one action, or raise InvalidPhoneNumber / MessageTooLong (permanent)."""
    templates = templates_dir or default_templates_dir()
    language = language_of(data.locale)
    try:
        to, country = normalise_phone(data.phone, data.region or settings.default_region)
    except InvalidPhoneNumber as exc:
        raise InvalidPhoneNumber(f"action {data.action_id}: {exc}") from None
    context = _context(data, language)
    attempts: list[str] = []
    for variant, name in (("full", f"{language}/{data.kind}.txt.j2"),
                          ("short", f"{language}/{data.kind}.short.txt.j2")):
        if variant == "short" and not (templates / "sms" / name).is_file():
            break
        text = normalise_text(render(templates, "sms", name, context, html=False, swiss=data.swiss),
                              fold_accents=settings.fold_accents)
        counted = gsm7.count(text)
        if counted.segments <= settings.max_segments:
            return SmsMessage(
                action_id=data.action_id,
                client_ref=client_ref_for(data.action_id, data.idempotency_key),
                to=to,
                country=country,
                sender=settings.sender,
                text=text,
                encoding=counted.encoding,
                units=counted.units,
                segments=counted.segments,
                variant=variant,
            )
        forced = gsm7.non_gsm7_characters(text)
        why = f" (UCS-2 because of {', '.join(repr(c) for c in forced)})" if forced else ""
        attempts.append(f"{name}: {counted.units} {counted.unit_name} = {counted.segments} segments{why}")
    raise MessageTooLong(
        f"action {data.action_id}: SMS is longer than {settings.max_segments} segment(s): " + "; ".join(attempts)
    )


def build_sms_batch(
    items: Iterable[SmsData], settings: SmsSettings, *, templates_dir: Path | None = None
) -> tuple[list[SmsMessage], list[SmsBuildProblem]]:
    """Build a batch; one action that fails is reported and the others still build."""
    built: list[SmsMessage] = []
    problems: list[SmsBuildProblem] = []
    for data in items:
        try:
            built.append(build_sms(data, settings, templates_dir=templates_dir))
        except (PermanentDeliveryError, ConfigError) as exc:
            problems.append(SmsBuildProblem(data.action_id, exc))
    return built, problems
