"""Contact details from the pay page: a new email, mobile number and preferred channel, confirmed by code.

Journey 5 of the debtor side (research/debtor-side.md): the debtor gives an email address and/or a
mobile number, says which channel they prefer (email, SMS or letter) and ticks, per channel, the
consent wording shown (:data:`CONSENT_TEXTS`, version :data:`CONSENT_VERSION`). Nothing is used yet:

1. :func:`request_contact_codes` checks the values (email-validator; phonenumbers: a mobile number,
   read in the case's country), and sends a random 6-digit code to each new value at once, through
   the workspace's own email / SMS transport (the ones ``dunning dispatch`` opens), in the page's
   language. The code is never stored, only an HMAC bound to the case, channel and value; it expires
   after :data:`CODE_MINUTES` minutes, allows :data:`MAX_TRIES` tries, and a link may send at most
   :data:`MAX_SENDS_PER_HOUR` codes an hour (a page that sends messages must not become a spam cannon).
2. :func:`confirm_contact_codes` checks the codes entered. A right one makes the value the debtor's
   confirmed contact (:mod:`dunning.store.contacts`: it wins over the ledger's, and a later ledger
   import does not overwrite it), records the consent (channel, value, wording version, when, source
   ``paypage``) and puts a ``contact_confirmed`` event on the case's timeline, which a flow can react
   to (``events: {contact_confirmed: {...}}``) like any other case event.

Logs name the case and the channel, never an address or a number.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets as random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

from email_validator import EmailNotValidError, validate_email

from dunning.adapters.sms import SmsTransport
from dunning.adapters.smtp import EmailTransport
from dunning.channels import gsm7
from dunning.channels.sms import InvalidPhoneNumber, SmsMessage, client_ref_for, normalise_phone, normalise_text
from dunning.errors import DunningError, InputError, InvalidValue, TransientDeliveryError
from dunning.store import Store
from dunning.store.cases import insert_case_event
from dunning.store.contacts import (
    CodeRecord,
    count_codes_since,
    debtor_of_case,
    insert_code,
    insert_consent,
    load_confirmed_contact,
    load_pending_codes,
    retire_pending_codes,
    save_confirmed_contact,
    set_code_state,
)
from dunning.usecases.messaging.compose import sms_settings
from dunning.usecases.messaging.send_now import EmailNow, send_email_now
from dunning.usecases.messaging.transports import open_channel_transport
from dunning.usecases.outgoing.secrets import Secrets
from dunning.workspace import Workspace

__all__ = [
    "CODE_MINUTES",
    "CONSENT_TEXTS",
    "CONSENT_VERSION",
    "MAX_SENDS_PER_HOUR",
    "MAX_TRIES",
    "PREFERRED_CHANNELS",
    "Confirmation",
    "ContactForm",
    "ContactRefused",
    "Pending",
    "SendFailed",
    "TooManySends",
    "confirm_contact_codes",
    "mask_email",
    "mask_phone",
    "pending_codes",
    "request_contact_codes",
]

log = logging.getLogger(__name__)

CODE_MINUTES = 15
MAX_TRIES = 5
MAX_SENDS_PER_HOUR = 5
PREFERRED_CHANNELS = ("email", "sms", "letter")
SOURCE = "paypage"

#: the id of the consent wording below; a changed wording gets a new id (records keep the one agreed to)
CONSENT_VERSION = "paypage-contact-2026-12"
CONSENT_TEXTS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "email": "I agree that {creditor} sends me messages about this file by email to this address.",
        "sms": "I agree that {creditor} sends me messages about this file by SMS to this mobile number.",
    },
    "nl": {
        "email": "Ik ga ermee akkoord dat {creditor} mij berichten over dit dossier per e-mail naar dit adres stuurt.",
        "sms": "Ik ga ermee akkoord dat {creditor} mij berichten over dit dossier per sms naar dit gsm-nummer stuurt.",
    },
    "fr": {
        "email": "J'accepte que {creditor} m'envoie des messages concernant ce dossier par e-mail à cette adresse.",
        "sms": "J'accepte que {creditor} m'envoie des messages concernant ce dossier par SMS à ce numéro de "
        "portable.",
    },
    "de": {
        "email": "Ich bin einverstanden, dass {creditor} mir Nachrichten zu diesem Vorgang per E-Mail an diese "
        "Adresse sendet.",
        "sms": "Ich bin einverstanden, dass {creditor} mir Nachrichten zu diesem Vorgang per SMS an diese "
        "Mobilnummer sendet.",
    },
}

#: the code's message, per language: email subject and body, SMS text
_CODE_TEXTS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "subject": "Your confirmation code: {code}",
        "body": "Your confirmation code is {code}.\n\nEnter it on the payment page of {creditor} to confirm "
        "this address. It is valid for {minutes} minutes.\n\nDid you not ask for it? Then ignore this message.",
        "sms": "{creditor}: your confirmation code is {code}. Valid for {minutes} minutes.",
    },
    "nl": {
        "subject": "Uw bevestigingscode: {code}",
        "body": "Uw bevestigingscode is {code}.\n\nVul ze in op de betaalpagina van {creditor} om dit adres te "
        "bevestigen. Ze is {minutes} minuten geldig.\n\nHebt u ze niet gevraagd? Negeer dan dit bericht.",
        "sms": "{creditor}: uw bevestigingscode is {code}. {minutes} minuten geldig.",
    },
    "fr": {
        "subject": "Votre code de confirmation : {code}",
        "body": "Votre code de confirmation est {code}.\n\nSaisissez-le sur la page de paiement de {creditor} "
        "pour confirmer cette adresse. Il est valable {minutes} minutes.\n\nVous ne l'avez pas demandé ? "
        "Ignorez ce message.",
        "sms": "{creditor} : votre code de confirmation est {code}. Valable {minutes} minutes.",
    },
    "de": {
        "subject": "Ihr Bestätigungscode: {code}",
        "body": "Ihr Bestätigungscode lautet {code}.\n\nGeben Sie ihn auf der Zahlungsseite von {creditor} ein, "
        "um diese Adresse zu bestätigen. Er ist {minutes} Minuten gültig.\n\nSie haben ihn nicht angefordert? "
        "Dann ignorieren Sie diese Nachricht.",
        "sms": "{creditor}: Ihr Bestätigungscode lautet {code}. {minutes} Minuten gültig.",
    },
}


class ContactRefused(InvalidValue):
    """The form's values cannot be used: ``problems`` maps a field to why (a word key of the page)."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("contact details refused: " + ", ".join(f"{k}={v}" for k, v in problems.items()))
        self.problems = dict(problems)


class TooManySends(InputError):
    """The link sent its codes for this hour; the debtor waits or enters a code already sent."""


class SendFailed(TransientDeliveryError):
    """The transport did not take the code's message (the debtor may try again later)."""


@dataclass(frozen=True, slots=True)
class ContactForm:
    """What the debtor typed (raw) and ticked."""

    email: str = ""
    phone: str = ""
    preferred: str = ""
    consent_email: bool = False
    consent_sms: bool = False


@dataclass(frozen=True, slots=True)
class Pending:
    """A code waiting to be entered: its channel and the value it was sent to, masked."""

    channel: str
    masked: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Confirmation:
    """The outcome of entered codes: channels confirmed, and per other channel why not."""

    confirmed: tuple[str, ...] = ()
    problems: Mapping[str, str] = field(default_factory=dict)  # channel → wrong, expired, locked, missing
    pending: tuple[Pending, ...] = ()


# ---- masking: the page never shows more of a value than a glance over the debtor's shoulder would ----


def mask_email(address: str) -> str:
    """``jan.peeters@example.be`` → ``j•••@e•••.be``.

    >>> mask_email("jan.peeters@example.be")
    'j•••@e•••.be'
    """
    local, _, domain = address.partition("@")
    host, dot, tld = domain.rpartition(".")
    return f"{local[:1]}•••@{host[:1]}•••{dot}{tld}"


def mask_phone(number: str) -> str:
    """``+32471123456`` → ``+32 ••• 56`` (the country code and the last two digits).

    >>> mask_phone("+32471123456")
    '+32 ••• 56'
    """
    import phonenumbers

    try:
        country = f"+{phonenumbers.parse(number).country_code} "
    except phonenumbers.NumberParseException:
        country = ""
    return f"{country}••• {number[-2:]}"


def _mask(channel: str, value: str) -> str:
    return mask_email(value) if channel == "email" else mask_phone(value)


# ---- checking the form -----------------------------------------------------------------------------


def _checked(form: ContactForm, region: str) -> dict[str, str]:
    """``{channel: normalised value}``, or ContactRefused naming each field at fault."""
    problems: dict[str, str] = {}
    values: dict[str, str] = {}
    if form.email:
        try:
            result = validate_email(form.email, check_deliverability=False)
        except EmailNotValidError:
            problems["email"] = "email_invalid"
        else:
            if result.ascii_email is None:  # dunning sends no SMTPUTF8 mail
                problems["email"] = "email_not_ascii"
            else:
                values["email"] = result.ascii_email
        if "email" not in problems and not form.consent_email:
            problems["consent_email"] = "consent_missing"
    if form.phone:
        try:
            values["sms"], _ = normalise_phone(form.phone, region)
        except InvalidPhoneNumber as exc:
            problems["phone"] = "phone_not_mobile" if "not a mobile" in str(exc) else "phone_invalid"
        if "phone" not in problems and not form.consent_sms:
            problems["consent_sms"] = "consent_missing"
    if not form.email and not form.phone:
        problems["email"] = "nothing_given"
    if form.preferred not in PREFERRED_CHANNELS:
        problems["preferred"] = "preferred_missing"
    elif form.preferred != "letter" and not (form.email if form.preferred == "email" else form.phone):
        problems["preferred"] = "preferred_without_value"
    if problems:
        raise ContactRefused(problems)
    return values


def _code_key(secrets: Secrets) -> bytes:
    return hmac.new(secrets.paylink, b"dunning/contact-code/v1", hashlib.sha256).digest()


def _code_hash(key: bytes, case_id: int, channel: str, value: str, code: str) -> str:
    message = f"{case_id}|{channel}|{value}|{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


# ---- sending ---------------------------------------------------------------------------------------


def _code_email(workspace: Workspace, code_id: int, to: str, code: str, language: str) -> EmailNow:
    texts = _CODE_TEXTS[language]
    body = texts["body"].format(code=code, creditor=workspace.config.creditor.name, minutes=CODE_MINUTES)
    return EmailNow(key=f"contact:{code_id}:email", to=to, subject=texts["subject"].format(code=code),
                    text=body + "\n", language=language, kind="contact")


def _code_sms(workspace: Workspace, code_id: int, to: str, code: str, language: str) -> SmsMessage:
    settings = sms_settings(workspace)
    text = normalise_text(_CODE_TEXTS[language]["sms"].format(
        code=code, creditor=workspace.config.creditor.name, minutes=CODE_MINUTES), fold_accents=settings.fold_accents)
    counted = gsm7.count(text)
    number, country = normalise_phone(to, settings.default_region)
    return SmsMessage(f"C{code_id}", client_ref_for(f"C{code_id}", f"contact:{code_id}"), number, country,
                      settings.sender, text, counted.encoding, counted.units, counted.segments, "full")


def _send_sms(workspace: Workspace, message: SmsMessage, env: Mapping[str, str], given: SmsTransport | None) -> bool:
    transport: Any = given if given is not None else open_channel_transport("sms", workspace, env)
    try:
        result = transport.send_batch([message])[0]
    except DunningError:
        return False
    finally:
        if given is None:
            transport.close()
    return bool(result.ok)


# ---- the two steps -----------------------------------------------------------------------------------


def request_contact_codes(
    store: Store,
    workspace: Workspace,
    secrets: Secrets,
    case_id: int,
    form: ContactForm,
    *,
    language: str,
    region: str,
    now: datetime,
    env: Mapping[str, str] = os.environ,
    transports: Mapping[str, EmailTransport | SmsTransport] | None = None,
    make_code: Callable[[], str] | None = None,
) -> tuple[Pending, ...]:
    """Check the form and send a code to each new value; the codes now waiting, masked.

    ``region`` is the country a national mobile number is read in (the case's). Raises ContactRefused
    (the fields at fault), TooManySends (the link's hourly limit) or SendFailed (a transport refused:
    nothing was confirmed, the debtor may try again). ``transports`` replace the configured ones (tests).
    """
    values = _checked(form, region)
    language = language if language in _CODE_TEXTS else "en"
    key = _code_key(secrets)
    with store.begin() as conn:
        if count_codes_since(conn, case_id, now - timedelta(hours=1)) + len(values) > MAX_SENDS_PER_HOUR:
            raise TooManySends(f"case {case_id}: {MAX_SENDS_PER_HOUR} codes an hour at most")
        retire_pending_codes(conn, case_id)
        sent: list[tuple[int, str, str, str]] = []
        for channel, value in values.items():
            code = make_code() if make_code is not None else f"{random.randbelow(10**6):06d}"
            code_id = insert_code(conn, case_id=case_id, channel=channel, value=value,
                                  preferred_channel=form.preferred, text_version=CONSENT_VERSION,
                                  code_hash=_code_hash(key, case_id, channel, value, code), sent_at=now,
                                  expires_at=now + timedelta(minutes=CODE_MINUTES))
            sent.append((code_id, channel, value, code))
    failed = False
    for code_id, channel, value, code in sent:
        given = (transports or {}).get(channel)
        if channel == "email":
            ok = send_email_now(store, workspace, _code_email(workspace, code_id, value, code, language), now=now,
                                env=env, secrets=secrets, transport=cast(EmailTransport | None, given)).ok
        else:
            ok = _send_sms(workspace, _code_sms(workspace, code_id, value, code, language), env,
                           cast(SmsTransport | None, given))
        if ok:
            log.info("contact code sent for case %s by %s", case_id, channel)
        else:
            log.warning("contact code for case %s by %s was not accepted by the transport", case_id, channel)
            with store.begin() as conn:
                set_code_state(conn, code_id, status="failed", tries=0)
            failed = True
    if failed:
        raise SendFailed(f"case {case_id}: a confirmation code could not be sent")
    return pending_codes(store, case_id, now)


def pending_codes(store: Store, case_id: int, now: datetime) -> tuple[Pending, ...]:
    """The codes of the case still to be entered (not expired, tries left), masked."""
    with store.begin() as conn:
        codes = load_pending_codes(conn, case_id)
    return tuple(Pending(c.channel, _mask(c.channel, c.value), c.expires_at) for c in codes
                 if c.expires_at > now and c.tries < MAX_TRIES)


def confirm_contact_codes(
    store: Store,
    secrets: Secrets,
    case_id: int,
    codes: Mapping[str, str],
    *,
    now: datetime,
    today: date,
) -> Confirmation:
    """Check the codes entered (``{channel: code}``) against those pending for the case.

    Each channel stands alone: a right code confirms its value (see the module docstring), a wrong
    one costs a try (the last try locks it), an expired one is ``expired``. Codes are compared in
    constant time.
    """
    key = _code_key(secrets)
    confirmed: list[str] = []
    problems: dict[str, str] = {}
    with store.begin() as conn:
        pending = load_pending_codes(conn, case_id)
        debtor_id = debtor_of_case(conn, case_id)
        if not pending or debtor_id is None:
            return Confirmation(problems={"code": "missing"})
        for code in pending:
            entered = "".join(ch for ch in codes.get(code.channel, "") if ch.isdigit())
            outcome = _check_code(key, code, entered, now)
            if outcome == "right":
                set_code_state(conn, code.id, status="confirmed", tries=code.tries + 1)
                _confirm(conn, code, debtor_id, now, today)
                confirmed.append(code.channel)
            elif outcome == "expired":
                set_code_state(conn, code.id, status="expired", tries=code.tries)
                problems[code.channel] = "expired"
            elif outcome == "missing":
                problems[code.channel] = "missing"
            else:
                tries = code.tries + 1
                locked = tries >= MAX_TRIES
                set_code_state(conn, code.id, status="locked" if locked else "pending", tries=tries)
                problems[code.channel] = "locked" if locked else "wrong"
    for channel in confirmed:
        log.info("contact confirmed for case %s by %s", case_id, channel)
    return Confirmation(tuple(confirmed), problems, pending_codes(store, case_id, now))


def _check_code(key: bytes, code: CodeRecord, entered: str, now: datetime) -> str:
    if code.tries >= MAX_TRIES:
        return "locked"
    if now >= code.expires_at:
        return "expired"
    if not entered:
        return "missing"
    expected = _code_hash(key, code.case_id, code.channel, code.value, entered)
    return "right" if hmac.compare_digest(expected, code.code_hash) else "wrong"


def _confirm(conn: Any, code: CodeRecord, debtor_id: int, now: datetime, today: date) -> None:
    """The value becomes the debtor's, the consent is recorded, the case's timeline says so."""
    preferred = code.preferred_channel
    if preferred not in ("letter", code.channel):
        known = load_confirmed_contact(conn, debtor_id)  # the other channel confirmed earlier?
        has_other = known is not None and (known.email if preferred == "email" else known.phone)
        preferred = preferred if has_other else None
    save_confirmed_contact(conn, debtor_id, channel=code.channel, value=code.value, preferred_channel=preferred,
                           at=now)
    insert_consent(conn, debtor_id=debtor_id, case_id=code.case_id, channel=code.channel, value=code.value,
                   text_version=code.text_version, given_at=now, source=SOURCE)
    what = "email address" if code.channel == "email" else "mobile number"
    detail = {"channel": code.channel, "preferred": preferred, "consent": code.text_version,
              "reason": f"new {what} confirmed on the pay page with a one-time code"}
    insert_case_event(conn, case_id=code.case_id, on_date=today, kind="contact_confirmed", detail=detail,
                      source=SOURCE, recorded_at=now)
