"""The workspace configuration: ``dunning.yaml``, validated at load.

Every key can be overridden from the environment as ``DUNNING_<SECTION>_<KEY>``
(``DUNNING_DATABASE``, ``DUNNING_PRINT_TRANSPORT``, ``DUNNING_CREDITOR_ADDRESS_CITY``).
Secrets (passwords, private keys, signing secrets) are never read from the file:
only from the environment (``DUNNING_EMAIL_PASSWORD``, ``DUNNING_PAYLINK_SECRET``)
or from a file the configuration points to (``paylink.secret_file``).

Errors name the file and the dotted key::

    dunning.yaml: creditor.iban: 'BE00 1234' is not a valid IBAN (invalid checksum)
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from dunning.domain.plans.mandate import creditor_identifier
from dunning.domain.plans.model import InterestPolicy, PlanError
from dunning.domain.plans.policy import BreachRule, OnMissed, PlanPolicy
from dunning.domain.writeoff import WriteOffTolerance
from dunning.errors import ConfigError

CONFIG_FILE = "dunning.yaml"
ENV_PREFIX = "DUNNING_"
LANGUAGES = ("nl", "fr", "de", "en")
# Keys that hold secrets: refused in the file, read from the environment only.
SECRET_KEYS = frozenset({"password", "secret", "token", "api_key", "private_key"})


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Address(_Section):
    street: str = Field(min_length=1)
    postal_code: str = Field(min_length=1)
    city: str = Field(min_length=1)
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166 alpha-2")


class Creditor(_Section):
    name: str = Field(min_length=1, max_length=70)
    enterprise_number: str = Field(min_length=1)
    address: Address
    iban: str
    bic: str | None = None
    reference: Literal["be-ogm", "rf"] = "rf"
    language: Literal["nl", "fr", "de", "en"] = "en"
    timezone: str = "Europe/Brussels"
    sepa_creditor_id: str | None = Field(default=None, description="SEPA creditor identifier (AT-02), for direct debit")

    @field_validator("sepa_creditor_id")
    @classmethod
    def _creditor_id(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return creditor_identifier(value)
        except PlanError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("iban")
    @classmethod
    def _iban(cls, value: str) -> str:
        try:
            return str(IBAN(value).compact)
        except SchwiftyException as exc:
            raise ValueError(f"{value!r} is not a valid IBAN ({exc})") from None

    @field_validator("bic")
    @classmethod
    def _bic(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(BIC(value).compact)
        except SchwiftyException as exc:
            raise ValueError(f"{value!r} is not a valid BIC ({exc})") from None

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Brussels") from None
        return value


_TRANSPORT = r"^(file|sftp|smtp|smtps|smpp|http|https)://.+"


class PrintConfig(_Section):
    transport: str = Field(default="file://output/print", pattern=_TRANSPORT)
    key: Path | None = Field(default=None, description="private key file for sftp://")
    known_hosts: Path | None = None
    fingerprint: str | None = Field(default=None, description="pinned SHA256 host key fingerprint")
    batch_size: int = Field(default=500, ge=1)
    margin_mm: float = Field(default=5.0, ge=0, le=20, description="unprintable border of the printer, mm")
    marks: Literal["none", "omr", "datamatrix"] = Field(
        default="none", description="inserter marks on the front of each sheet (dunning.print.assemble)"
    )


class EmailConfig(_Section):
    transport: str = Field(default="file://output/mail", pattern=_TRANSPORT)
    from_: str = Field(default="Accounts <accounts@example.com>", alias="from")
    reply_to: str | None = None
    rate_per_second: float = Field(default=10.0, gt=0)
    username: str | None = None
    dkim_key: Path | None = None
    dkim_selector: str | None = None


class SmsConfig(_Section):
    transport: str = Field(default="file://output/sms", pattern=_TRANSPORT)
    sender: str = "Accounts"
    max_segments: int = Field(default=2, ge=1, le=10)


_AMOUNT = re.compile(r"\d+(\.\d+)?")
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")


class BankConfig(_Section):
    inbox: str = Field(default="file://bank/inbox", pattern=_TRANSPORT)
    key: Path | None = None
    known_hosts: Path | None = None
    fingerprint: str | None = None
    tolerance: str | dict[str, str] = Field(
        default="0.00", description="write-off tolerance: one amount, or one per currency ({EUR: '1.00'})"
    )
    outbox: str | None = Field(
        default=None, pattern=_TRANSPORT, description="where direct debit files (pain.008) go to the bank: sftp:// or file://"
    )
    accept_test_files: bool = Field(default=False, description="reconcile files a bank marks as test data")
    test_accounts: list[str] = Field(default_factory=list, description="accounts whose files are test data")
    accounts: list[str] = Field(
        default_factory=list, description="the creditor's accounts whose statements are reconciled (default: its IBAN)"
    )

    def write_off_tolerance(self) -> WriteOffTolerance:
        """``tolerance`` as the core reads it: one amount for every currency, or one per currency."""
        return WriteOffTolerance.parse(self.tolerance)

    @field_validator("tolerance", mode="before")
    @classmethod
    def _tolerance(cls, value: object) -> object:
        # YAML gives 1.0 or 1 for an unquoted amount: read it as written, never as a float's digits.
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str):
            if not _AMOUNT.fullmatch(value.strip()):
                raise ValueError(f"{value!r} is not an amount (e.g. \"1.00\")")
            return value.strip()
        if isinstance(value, dict):
            checked: dict[str, str] = {}
            for code, amount in value.items():
                if not isinstance(code, str) or not _CURRENCY_CODE.fullmatch(code):
                    raise ValueError(f"{code!r} is not an ISO 4217 currency code (e.g. EUR)")
                text = str(amount).strip() if isinstance(amount, str | int | float) else ""
                if not _AMOUNT.fullmatch(text):
                    raise ValueError(f"{code}: {amount!r} is not an amount (e.g. \"1.00\")")
                checked[code] = text
            return checked
        return value

    @field_validator("accounts", mode="before")
    @classmethod
    def _accounts(cls, value: object) -> object:
        # DUNNING_BANK_ACCOUNTS="BE68 5390 0754 7034, BE71096123456769": a comma-separated list
        return [part for part in value.split(",") if part.strip()] if isinstance(value, str) else value


class PaylinkConfig(_Section):
    base_url: str = Field(default="https://pay.example.com/p/", pattern=r"^https?://")
    secret_file: Path | None = None
    valid_days: int = Field(default=90, ge=1)


class PaypageContact(_Section):
    """How a debtor reaches the creditor, shown on the pay page and on its error pages."""

    email: str | None = None
    phone: str | None = None
    website: str | None = None


PaymentMethod = Literal["bancontact", "ideal", "card"]
PAYMENT_METHODS: tuple[PaymentMethod, ...] = ("bancontact", "ideal", "card")


class ProviderConfig(_Section):
    """``paypage.provider``: an online payment provider behind the pay page's "pay online" button.

    ``kind: none`` (the default) offers bank transfer only. ``kind: stripe`` creates Stripe Checkout
    Sessions at ``api_base`` for ``methods``; the secret API key comes from
    ``$DUNNING_PROVIDER_SECRET_KEY`` or ``secret_key_file``, the webhook signing secret from
    ``$DUNNING_PROVIDER_WEBHOOK_SECRET`` or ``webhook_secret_file`` (never from this file). Bank lines
    whose text holds one of ``settlement_text`` are the provider's payouts: recorded as settlements,
    never matched to a debtor (the payments in them were booked when the provider confirmed each).
    """

    kind: Literal["none", "stripe"] = "none"
    api_base: str = Field(default="https://api.stripe.com", pattern=r"^https?://")
    methods: list[PaymentMethod] = Field(default_factory=lambda: list(PAYMENT_METHODS), min_length=1)
    checkout_origin: str = Field(
        default="https://checkout.stripe.com", pattern=r"^https?://[^/]+$", description="where checkouts live"
    )
    secret_key_file: Path | None = None
    webhook_secret_file: Path | None = None
    tolerance_seconds: int = Field(default=300, ge=10, le=3600, description="how old a signed webhook may be")
    settlement_text: list[str] = Field(default_factory=lambda: ["STRIPE"], description="names a payout line")
    timeout: float = Field(default=15.0, gt=0, le=120)
class PaypagePromise(_Section):
    """``paypage.promise``: the debtor may promise on the pay page to pay by a day (dunning pauses until then)."""

    enabled: bool = True
    max_days: int = Field(default=14, ge=1, le=365, description="latest day a promise may name, in days from today")
    grace_days: int = Field(
        default=3, ge=0, le=30, description="days after the promised day before the promise counts as broken"
    )


class PaypageConfig(_Section):
    """``dunning serve``: where the pay page listens and how much it takes.

    The page answers on the path of ``paylink.base_url`` (``/p/<token>``); put a reverse proxy doing
    TLS in front and list its address in ``forwarded_allow_ips`` so the client's address (for the rate
    limits) is read from ``X-Forwarded-For``.
    """

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    forwarded_allow_ips: str = Field(default="127.0.0.1", description="proxies whose X-Forwarded-* are trusted")
    workers: int = Field(default=1, ge=1, le=64)
    rate_per_address: int = Field(default=60, ge=1, description="requests a minute from one client address")
    rate_per_link: int = Field(default=20, ge=1, description="openings a minute of one pay link")
    prepare_days: int = Field(
        default=7, ge=0, le=366,
        description="the nightly flow prepares the pages of the links sent in the last N days (0: not at all)",
    )
    contact: PaypageContact = PaypageContact()
    provider: ProviderConfig = ProviderConfig()
    promise: PaypagePromise = PaypagePromise()


class DueDateWindowConfig(_Section):
    past_years: int = Field(default=10, ge=0, le=100)
    future_years: int = Field(default=2, ge=0, le=100)


class LedgerConfig(_Section):
    mapping: Path | None = Field(default=None, description="default mapping file for imports")
    invoice_pattern: str | None = Field(default=None, description="regex of the creditor's invoice numbers")
    max_close_share: Decimal = Field(
        default=Decimal("0.20"),
        ge=0,
        le=1,
        description="an import closing more than this share of the open cases (or all) is refused",
    )
    due_date_window: DueDateWindowConfig = Field(
        default_factory=lambda: DueDateWindowConfig(),
        description="due dates outside this window around the snapshot's date reject their row",
    )

    @field_validator("invoice_pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{value!r} is not a regular expression ({exc})") from None
        return value


class WebhookConfig(_Section):
    """Where the creditor's webhooks go. The signing secret comes from ``DUNNING_WEBHOOK_SECRET`` only."""

    url: str = Field(default="file://output/webhooks", pattern=r"^(file|http|https)://.+",
                     description="https:// endpoint, or file://folder for JSON files")
    timeout: float = Field(default=10.0, gt=0, description="seconds per request")
    max_attempts: int = Field(default=8, ge=1, description="attempts before a webhook counts as failed")
    backoff: float = Field(default=1.0, ge=0, description="seconds before the first retry; doubles each time")
    max_wait: float = Field(default=10.0, ge=0, description="longest pause in a run; longer waits go to the next run")


class LegalConfig(_Section):
    rates: Path = Field(
        default=Path("rates.yaml"),
        description="statutory interest rates added to the built-in tables (no such file: the built-in tables)",
    )


class BreachConfig(_Section):
    missed_in_a_row: int = Field(default=2, ge=1, description="consecutive missed instalments that end a plan")
    arrears_percent: Decimal = Field(default=Decimal(10), ge=0, le=100, description="... and arrears of this share")
    notice_days: int = Field(default=14, ge=0, description="days a notice before the breach gives to pay")


class PlansConfig(_Section):
    """``plans:``: the payment arrangements offered, bounded per debtor by the legal rule packs."""

    enabled: bool = True
    max_count: int = Field(default=12, description="most instalments of a plan")
    max_term_months: int = Field(default=12, description="most months from the first due date to the last")
    min_instalment: Decimal = Field(default=Decimal("25.00"), description="least amount of an instalment")
    days_offered: list[int] = Field(default_factory=lambda: [1, 15], description="days of the month offered")
    grace_days: int = Field(default=5, description="days after a due date before an instalment is missed")
    deferrals: int = Field(default=1, description="missed instalments that may be moved to the end of a plan")
    on_missed: Literal["remind", "defer", "spread"] = "defer"
    reminder_days_before: int = Field(default=3, description="days before a due date the reminder goes out")
    breach: BreachConfig = Field(default_factory=lambda: BreachConfig())
    costs_frozen: bool = Field(default=True, description="no new collection costs while a plan is kept")
    interest: Literal["frozen", "waived"] = "frozen"
    terms_version: str = Field(default="1", min_length=1, description="the version of the terms debtors accept")

    @field_validator("days_offered", mode="before")
    @classmethod
    def _days(cls, value: object) -> object:
        # DUNNING_PLANS_DAYS_OFFERED="1, 15": a comma-separated list
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> PlansConfig:
        self.policy()  # every contradiction named at once (max_count against max_term_months, days...)
        return self

    def _values(self) -> dict[str, object]:
        return {
            "enabled": self.enabled,
            "max_count": self.max_count,
            "max_term_months": self.max_term_months,
            "min_instalment": self.min_instalment,
            "days_offered": tuple(self.days_offered),
            "grace_days": self.grace_days,
            "deferrals": self.deferrals,
            "on_missed": OnMissed(self.on_missed),
            "breach": BreachRule(self.breach.missed_in_a_row, self.breach.arrears_percent, self.breach.notice_days),
            "costs_frozen": self.costs_frozen,
            "interest": InterestPolicy(self.interest),
            "terms_version": self.terms_version,
            "reminder_days_before": self.reminder_days_before,
        }

    def policy(self) -> PlanPolicy:
        """The pure policy (bounded per debtor by :func:`dunning.domain.plans.policy.bounded_policy`)."""
        try:
            return PlanPolicy(**self._values())  # type: ignore[arg-type]
        except PlanError as exc:
            raise ValueError(str(exc)) from None


class SepaConfig(_Section):
    """``sepa:``: direct debit collections of plans (pain.008), see :mod:`dunning.domain.plans.mandate`."""

    pain_version: Literal["pain.008.001.02", "pain.008.001.08"] = "pain.008.001.08"
    lead_days: int = Field(default=1, ge=0, le=10, description="TARGET business days between the file and collection")
    prenotification_days: int = Field(default=14, ge=0, description="days after signing before the first collection")
    days_ahead: int = Field(default=0, ge=0, le=14, description="calendar days of later due dates a file also takes")
    mandate_text_version: str = Field(default="1", min_length=1, description="the mandate text debtors sign")


class Config(_Section):
    creditor: Creditor
    database: str = Field(default="sqlite:///state.db", pattern=r"^(sqlite|postgresql)(\+\w+)?://")
    brand: str = "default"
    flows: Path = Path("flows")
    print: PrintConfig = PrintConfig()
    email: EmailConfig = EmailConfig()
    sms: SmsConfig = SmsConfig()
    bank: BankConfig = BankConfig()
    paylink: PaylinkConfig = PaylinkConfig()
    paypage: PaypageConfig = PaypageConfig()
    ledger: LedgerConfig = LedgerConfig()
    webhook: WebhookConfig = WebhookConfig()
    legal: LegalConfig = LegalConfig()
    plans: PlansConfig = PlansConfig()
    sepa: SepaConfig = SepaConfig()


def env_keys(model: type[BaseModel] = Config, prefix: str = ENV_PREFIX) -> dict[str, tuple[str, ...]]:
    """Map every overridable environment variable to its key path in the config.

    >>> env_keys()["DUNNING_CREDITOR_ADDRESS_CITY"]
    ('creditor', 'address', 'city')
    """
    keys: dict[str, tuple[str, ...]] = {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        var = prefix + name.rstrip("_").upper()
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for sub_var, path in env_keys(annotation, var + "_").items():
                keys[sub_var] = (key, *path)
        else:
            keys[var] = (key,)
    return keys


def _apply_env(raw: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    for var, path in env_keys().items():
        if var in environ:
            node = raw
            for part in path[:-1]:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = {}
                    node[part] = child
                node = child
            node[path[-1]] = environ[var]
    return raw


def _find_secrets(node: object, path: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            dotted = f"{path}.{key}" if path else str(key)
            if str(key).lower() in SECRET_KEYS and value not in (None, ""):
                found.append(dotted)
            found.extend(_find_secrets(value, dotted))
    return found


def _url_password(url: str) -> str | None:
    """The password in a URL's ``user:password@`` part, if any (an unparsable URL has none)."""
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def _without_password(url: str) -> str:
    """``url`` with its password replaced by ``***`` (the message must not repeat the secret)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _describe(error: Mapping[str, Any]) -> str:
    dotted = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return f"{dotted}: unknown key"
    if error["type"] == "missing":
        return f"{dotted}: required key is missing"
    value = error.get("input")
    shown = "" if isinstance(value, dict | list) or value is None or repr(value) in message else f" (got {value!r})"
    return f"{dotted}: {message}{shown}"


def parse_config(raw: object, source: str, environ: Mapping[str, str] | None = None) -> Config:
    """Validate a loaded YAML document (plus environment overrides) into a Config."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the file must hold a mapping of keys, not {type(raw).__name__}")
    secrets = _find_secrets(raw)
    if secrets:
        names = ", ".join(secrets)
        hint = ", ".join(ENV_PREFIX + key.replace(".", "_").upper() for key in secrets)
        raise ConfigError(f"{source}: {names}: secrets do not belong in the config file; set {hint} instead")
    database = raw.get("database")
    if isinstance(database, str) and _url_password(database):
        shown = _without_password(database)
        raise ConfigError(
            f"{source}: database: the URL holds a password ({shown}); secrets do not belong in the config "
            f"file: keep '{shown}' there, or nothing, and set the full URL with the password in "
            f"{ENV_PREFIX}DATABASE in the environment"
        )
    merged = _apply_env(dict(raw), os.environ if environ is None else environ)
    try:
        return Config.model_validate(merged)
    except ValidationError as exc:
        lines = [f"{source}: {_describe(error)}" for error in exc.errors()]
        raise ConfigError("\n".join(lines)) from None


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate ``dunning.yaml`` at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file; run 'dunning init' to create a workspace") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    return parse_config(raw, str(path), environ)


def secret(name: str, environ: Mapping[str, str] | None = None, file: Path | None = None) -> str | None:
    """A secret from ``DUNNING_<NAME>`` in the environment, else from ``file``, else None."""
    env = os.environ if environ is None else environ
    value = env.get(ENV_PREFIX + name.upper())
    if value:
        return value
    if file is not None:
        try:
            return file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"{file}: cannot read the secret file ({exc.strerror}); create it or set {ENV_PREFIX}{name.upper()}"
            ) from None
    return None
