"""The action catalogue: every action a flow step (or its fallback) may name.

Each :class:`ActionSpec` documents one action: its name, what it does, the channel it uses (if it
reaches the debtor), whether it is a *contact* (counts against "at most one contact per debtor per
night"), whether it can serve as the *legal notice* (the Belgian free first reminder, the Dutch
14-day letter, the German default-triggering reminder), what it charges, whether it ends the flow,
and the schema of its settings (type, default, description). ``dunning actions`` lists
:data:`CATALOGUE`; flows are validated against it with :func:`validate_settings`::

    >>> settings, errors = validate_settings("add_fee", {"mode": "fixed", "amount": "15.00"})
    >>> settings["amount"], errors
    (Decimal('15.00'), [])
    >>> validate_settings("send_sms", {"template": 3})[1]
    [('template', 'expected text, got 3 (int)')]

Actions are only *planned* by the flow engine (:mod:`dunning.domain.planning.planner`); adapters render and
send letters, emails and SMS, call webhooks and write exports later, keyed by the planned action's
idempotency key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

__all__ = [
    "CATALOGUE",
    "ActionSpec",
    "Channel",
    "SettingSpec",
    "action_channel",
    "catalogue_rows",
    "charges_fee",
    "get_action",
    "validate_settings",
]


class Channel(StrEnum):
    """How an action reaches its recipient."""

    LETTER = "letter"
    REGISTERED_LETTER = "registered_letter"
    EMAIL = "email"
    SMS = "sms"
    PHONE = "phone"
    WEBHOOK = "webhook"
    EXPORT = "export"


#: debtor attribute a channel needs: the planner falls back when it is missing
CHANNEL_NEEDS: dict[Channel, str] = {
    Channel.LETTER: "address",
    Channel.REGISTERED_LETTER: "address",
    Channel.EMAIL: "email",
    Channel.SMS: "phone",
    Channel.PHONE: "phone",
}

PAPER_CHANNELS = frozenset({Channel.LETTER, Channel.REGISTERED_LETTER})


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """One setting of an action: ``kind`` is str, int, decimal, bool, date, choice, str_list or fee."""

    name: str
    kind: str
    description: str
    default: Any = None
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """A documented action of the catalogue."""

    name: str
    description: str
    channel: Channel | None = None
    contact: bool = False
    legal_notice: bool = False
    charges: str | None = None  # "fee", "interest" or None
    terminal: bool = False
    settings: tuple[SettingSpec, ...] = field(default=())

    def setting(self, name: str) -> SettingSpec | None:
        for spec in self.settings:
            if spec.name == name:
                return spec
        return None


def _s(name: str, kind: str, description: str, default: Any = None, **extra: Any) -> SettingSpec:
    return SettingSpec(name, kind, description, default, **extra)


def _template(default: str) -> SettingSpec:
    return _s("template", "str", "template name (per language) used to render the message", default)


_FEE = _s(
    "fee",
    "fee",
    "cost charged with this message: an amount, or 'legal_max' for the most the legal pack allows "
    "(refused on a free first reminder; postponed until the legal waiting period has ended)",
)


_POSTAGE = _s(
    "postage",
    "decimal",
    "postage of this letter, added to a fee only where the law allows it (Book XIX regular supply: at "
    "most €7.50 plus postage); ignored when the message goes by email",
    None,
    minimum=Decimal(0),
)


def _channel(default: str, *choices: str) -> SettingSpec:
    return _s("channel", "choice", "channel used", default, choices=choices)


_KIND = _s(
    "kind",
    "choice",
    "force the letter's kind; empty: chosen from what the debtor received before (a first letter is a "
    "first reminder, a later one a second reminder, a final-notice step a final notice once reminded)",
    None,
    choices=("first_reminder", "second_reminder", "final_notice"),
)
_NOT_YET_DUE = _s(
    "show_not_yet_due",
    "bool",
    "list the invoices not yet due apart, for information (they are never claimed nor charged for)",
    False,
)
_REASON = _s("reason", "str", "why (shown in the case history)", "")
_LETTER_LABEL = _s(
    "label",
    "str",
    "deprecated and ignored (flows check warns): letters name a charge by its rule pack, in the debtor's language",
    "",
)
_VIA = _s("via", "choice", "signed webhook or export file", "webhook", choices=("webhook", "export"))
_PRIORITY = _s("priority", "choice", "task priority", "normal", choices=("low", "normal", "high"))
#: a task for a person stays open until closed with `dunning tasks done ID`; these say how the flow treats it
_TASK = (
    _s("wait", "bool", "the flow waits at this step until a person closes the task (dunning tasks done)", True),
    _s("due_days", "int", "days a person has to close the task (the 'due' of dunning tasks)", 5, minimum=Decimal(0)),
)

_SPECS: tuple[ActionSpec, ...] = (
    # ---- messages to the debtor -------------------------------------------------------------
    ActionSpec(
        "send_letter",
        "Print and post a reminder letter (PDF with payment QR code) through the print house.",
        Channel.LETTER,
        contact=True,
        legal_notice=True,
        settings=(
            _template("reminder"),
            _FEE,
            _POSTAGE,
            _s("print_class", "choice", "postal class", "standard", choices=("standard", "priority")),
            _KIND,
            _NOT_YET_DUE,
        ),
    ),
    ActionSpec(
        "send_registered_letter",
        "Post a registered letter (proof of sending), e.g. a formal notice of default.",
        Channel.REGISTERED_LETTER,
        contact=True,
        legal_notice=True,
        settings=(_template("formal_notice"), _FEE, _POSTAGE, _KIND, _NOT_YET_DUE),
    ),
    ActionSpec(
        "send_email",
        "Send a reminder email with a pay link (and the letter as PDF attachment).",
        Channel.EMAIL,
        contact=True,
        legal_notice=True,
        settings=(_template("reminder"), _FEE, _s("attach_pdf", "bool", "attach the letter as PDF", True)),
    ),
    ActionSpec(
        "send_sms",
        "Send a short text message with a pay link (too short to count as a legal notice).",
        Channel.SMS,
        contact=True,
        settings=(_template("reminder_sms"), _s("include_pay_link", "bool", "append the personal pay link", True)),
    ),
    ActionSpec(
        "send_final_notice",
        "Send the last notice before hand-over: states the final deadline and what happens after it.",
        Channel.REGISTERED_LETTER,
        contact=True,
        legal_notice=True,
        settings=(
            _channel("registered_letter", "letter", "registered_letter", "email"),
            _template("final_notice"),
            _FEE,
            _POSTAGE,
            _s("deadline_days", "int", "payment deadline stated in the notice", 14, minimum=Decimal(1)),
            _KIND,
            _NOT_YET_DUE,
        ),
    ),
    ActionSpec(
        "send_pay_link",
        "Send only the personal pay link (pay now, on a date, or in instalments).",
        Channel.EMAIL,
        contact=True,
        settings=(_channel("email", "email", "sms"), _template("pay_link")),
    ),
    ActionSpec(
        "payment_plan_offer",
        "Offer an instalment plan within the creditor's bounds (accepted on the pay page).",
        Channel.EMAIL,
        contact=True,
        settings=(
            _channel("email", "letter", "email", "sms"),
            _template("plan_offer"),
            _s("max_instalments", "int", "most instalments offered", 6, minimum=Decimal(2)),
            _s("min_instalment", "decimal", "smallest instalment amount", Decimal(25), minimum=Decimal(0)),
        ),
    ),
    ActionSpec(
        "account_statement",
        "Send a statement of every open invoice, cost and interest with the legal explanation.",
        Channel.LETTER,
        contact=True,
        settings=(_channel("letter", "letter", "email"), _template("statement")),
    ),
    ActionSpec(
        "request_contact_data",
        "Ask the debtor to confirm or update email, phone or address on the pay page.",
        Channel.LETTER,
        contact=True,
        settings=(
            _channel("letter", "letter", "email", "sms"),
            _template("contact_data"),
            _s("ask_for", "str_list", "what to ask for: email, phone, address", ["email", "phone"]),
        ),
    ),
    ActionSpec(
        "thank_you",
        "Thank the debtor once the case is paid in full.",
        Channel.EMAIL,
        contact=True,
        settings=(_channel("email", "email", "sms", "letter"), _template("thank_you")),
    ),
    ActionSpec(
        "phone_call_task",
        "Put the debtor on an agent's call list (a call attempt, open until the agent closes it with "
        "`dunning tasks done`; closed as 'no answer' (--failed) it triggers the fallback).",
        Channel.PHONE,
        contact=True,
        settings=(
            _s("queue", "str", "call list", "collections"),
            _s("script", "str", "call script", ""),
            _PRIORITY,
            *_TASK,
        ),
    ),
    # ---- costs -------------------------------------------------------------------------------
    ActionSpec(
        "add_fee",
        "Charge collection costs: fixed, a percentage of the principal, or the legal maximum; the "
        "legal pack caps the amount and refuses it during the waiting period.",
        charges="fee",
        settings=(
            _s("mode", "choice", "how the fee is computed", "legal_max", choices=("legal_max", "fixed", "percent")),
            _s("amount", "decimal", "fixed amount (mode fixed)", None, minimum=Decimal(0)),
            _s("percent", "decimal", "percentage of the open principal (mode percent)", None, minimum=Decimal(0)),
            _s("minimum", "decimal", "lower bound of a percentage fee", None, minimum=Decimal(0)),
            _s("maximum", "decimal", "upper bound of a percentage fee", None, minimum=Decimal(0)),
            _s(
                "add_vat_percent",
                "decimal",
                "VAT added when the creditor cannot deduct it (NL WIK)",
                Decimal(0),
                minimum=Decimal(0),
            ),
            _LETTER_LABEL,
        ),
    ),
    ActionSpec(
        "add_interest",
        "Charge late-payment interest accrued per day on each open invoice at the pack's dated rate, "
        "split at rate changes; charges only what was not charged before.",
        charges="interest",
        settings=(
            _s(
                "max_rate",
                "decimal",
                "annual rate cap in percent (e.g. a lower contract rate)",
                None,
                minimum=Decimal(0),
            ),
            _LETTER_LABEL,
        ),
    ),
    ActionSpec(
        "waive_fees",
        "Cancel costs already charged (goodwill), wholly or up to an amount.",
        settings=(
            _s("reason", "str", "why the costs are waived", required=True),
            _s("amount", "decimal", "amount to waive (empty: all)", None, minimum=Decimal(0)),
        ),
    ),
    # ---- flow control ------------------------------------------------------------------------
    ActionSpec(
        "wait",
        "Do nothing; a marker that later 'after:' steps count from.",
        settings=(_s("note", "str", "what the pause is for", ""),),
    ),
    ActionSpec(
        "hold",
        "Put the case on hold with a typed reason (dispute, promise to pay, insolvency, deceased...).",
        settings=(
            _s(
                "kind",
                "choice",
                "type of hold",
                "manual",
                choices=("dispute", "promise_to_pay", "insolvency", "deceased", "plan_active", "manual"),
            ),
            _s("reason", "str", "why", required=True),
            _s("days", "int", "release automatically after this many days", None, minimum=Decimal(1)),
        ),
    ),
    ActionSpec("resume", "Release the case's holds and continue the flow.", settings=(_REASON,)),
    ActionSpec(
        "stop",
        "End the flow for this case (nothing more is planned in this cycle).",
        terminal=True,
        settings=(_REASON,),
    ),
    ActionSpec(
        "write_off",
        "Write the remaining balance off and close the case.",
        terminal=True,
        settings=(_s("reason", "str", "why", required=True),),
    ),
    ActionSpec(
        "manual_task",
        "Add the case to a review list for a person to decide (open until closed with `dunning tasks done`).",
        settings=(
            _s("title", "str", "what to review", required=True),
            _s("queue", "str", "review list", "review"),
            _PRIORITY,
            *_TASK,
        ),
    ),
    ActionSpec(
        "verify_address",
        "Plan an address verification (export to an address-check provider).",
        Channel.EXPORT,
        settings=(_s("provider", "str", "address-check provider", "default"),),
    ),
    ActionSpec(
        "tag_case",
        "Attach a tag to the case (for reports, segments and A/B arms).",
        settings=(_s("tag", "str", "the tag", required=True),),
    ),
    # ---- creditor and third parties ----------------------------------------------------------
    ActionSpec(
        "notify_creditor",
        "Tell the creditor's systems (signed webhook or export file).",
        Channel.WEBHOOK,
        settings=(_VIA, _s("event", "str", "event name sent", "dunning_step")),
    ),
    ActionSpec(
        "block_service",
        "Ask the creditor's systems to block the debtor's service.",
        Channel.WEBHOOK,
        settings=(_VIA, _s("service", "str", "which service", "all")),
    ),
    ActionSpec(
        "unblock_service",
        "Ask the creditor's systems to unblock the service (provisionally).",
        Channel.WEBHOOK,
        settings=(_VIA, _s("provisional", "bool", "until the payment is settled", False)),
    ),
    ActionSpec(
        "hand_over",
        "Hand the case over to a (registered) collection agency: plan an export of the file.",
        Channel.EXPORT,
        terminal=True,
        settings=(
            _s("agency", "str", "agency code", required=True),
            _s("format", "choice", "export format", "csv", choices=("csv", "json")),
            _s("include_documents", "bool", "add letters and history", True),
        ),
    ),
    ActionSpec(
        "escalate_to_legal",
        "Prepare the file for a lawyer or bailiff (court or summary procedure).",
        Channel.EXPORT,
        terminal=True,
        settings=(
            _s("to", "choice", "who receives the file", "bailiff", choices=("lawyer", "bailiff")),
            _s("note", "str", "instructions", ""),
        ),
    ),
)

#: every action by name, in catalogue order
CATALOGUE: Mapping[str, ActionSpec] = {spec.name: spec for spec in _SPECS}


def get_action(name: str) -> ActionSpec:
    """The spec of action ``name``; KeyError lists the known names."""
    try:
        return CATALOGUE[name]
    except KeyError:
        raise KeyError(f"unknown action {name!r}; known: {', '.join(CATALOGUE)}") from None


def action_channel(name: str, settings: Mapping[str, Any]) -> Channel | None:
    """The channel an action with these (validated) settings uses."""
    spec = CATALOGUE[name]
    chosen = settings.get("channel")
    if chosen is not None:
        return Channel(chosen)
    return spec.channel


def charges_fee(name: str, settings: Mapping[str, Any]) -> bool:
    """True for ``add_fee`` and for a message carrying a ``fee`` setting."""
    return CATALOGUE[name].charges == "fee" or settings.get("fee") is not None


def _convert(spec: SettingSpec, value: Any) -> Any:
    """Convert one raw (YAML) value, or raise ValueError with a message naming the value."""
    kind = spec.kind
    shown = f"{value!r} ({type(value).__name__})"
    if kind == "str":
        if not isinstance(value, str):
            raise ValueError(f"expected text, got {shown}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {shown}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected a whole number, got {shown}")
        result: Any = value
    elif kind in ("decimal", "fee"):
        if kind == "fee" and value == "legal_max":
            return value
        if isinstance(value, (bool, float)):
            raise ValueError(f"expected an exact amount (quote decimals: '12.50'), got {shown}")
        try:
            result = Decimal(str(value).strip()) if isinstance(value, int | str) else None
        except InvalidOperation:
            result = None
        if result is None or not result.is_finite():
            raise ValueError(f"expected a decimal amount, got {shown}")
        if kind == "fee" and result < 0:
            raise ValueError(f"a fee cannot be negative, got {shown}")
    elif kind == "date":
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise ValueError(f"expected a date YYYY-MM-DD, got {shown}") from None
    elif kind == "choice":
        if value not in spec.choices:
            raise ValueError(f"expected one of {', '.join(spec.choices)}, got {shown}")
        return value
    elif kind == "str_list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"expected a list of text, got {shown}")
        return tuple(value)
    else:  # pragma: no cover - catalogue error
        raise AssertionError(kind)
    if spec.minimum is not None and result < spec.minimum:
        raise ValueError(f"must be at least {spec.minimum}, got {value!r}")
    return result


#: settings that were removed, with what to do instead (a flow naming one is refused with this)
_REMOVED = {
    "include_statement": "include_statement was removed (it never added anything to the letter): remove it; "
    "plan an account_statement step to send a statement of account",
}


def validate_settings(name: str, raw: Mapping[str, Any] | None) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Check ``raw`` settings of action ``name``; return (settings with defaults, [(key, message)]).

    Unknown keys, wrong types and missing required settings are reported; valid keys are kept, so
    a caller can report every problem of a flow at once.
    """
    spec = get_action(name)
    errors: list[tuple[str, str]] = []
    result: dict[str, Any] = {}
    raw = raw or {}
    if not isinstance(raw, Mapping):
        return {s.name: s.default for s in spec.settings}, [("", f"settings must be a mapping, got {raw!r}")]
    known = {s.name for s in spec.settings}
    for key in raw:
        if key in _REMOVED:
            errors.append((str(key), _REMOVED[key]))
        elif key not in known:
            allowed = ", ".join(sorted(known)) or "none"
            errors.append((str(key), f"unknown setting of {name} (allowed: {allowed})"))
    for setting in spec.settings:
        if setting.name in raw and raw[setting.name] is not None:
            try:
                result[setting.name] = _convert(setting, raw[setting.name])
            except ValueError as exc:
                errors.append((setting.name, str(exc)))
        elif setting.required:
            errors.append((setting.name, f"{name} needs the setting {setting.name!r}"))
        else:
            result[setting.name] = setting.default
    if name == "add_fee" and not errors:
        mode = result["mode"]
        if mode == "fixed" and result.get("amount") is None:
            errors.append(("amount", "mode fixed needs an amount"))
        if mode == "percent" and result.get("percent") is None:
            errors.append(("percent", "mode percent needs a percent"))
    return result, errors


def catalogue_rows() -> list[dict[str, Any]]:
    """The catalogue as plain rows for ``dunning actions`` (a table, or JSON with ``str`` defaults)::

    >>> rows = catalogue_rows()
    >>> rows[0]["name"], rows[0]["channel"], rows[0]["settings"][0]["name"]
    ('send_letter', 'letter', 'template')
    """
    rows: list[dict[str, Any]] = []
    for spec in CATALOGUE.values():
        rows.append(
            {
                "name": spec.name,
                "description": spec.description,
                "channel": spec.channel.value if spec.channel else None,
                "contact": spec.contact,
                "legal_notice": spec.legal_notice,
                "charges": spec.charges,
                "ends_flow": spec.terminal,
                "settings": [
                    {
                        "name": s.name,
                        "type": s.kind,
                        "default": s.default
                        if s.default is None or isinstance(s.default, bool | int | str)
                        else str(s.default)
                        if not isinstance(s.default, list)
                        else list(s.default),
                        "required": s.required,
                        "choices": list(s.choices),
                        "description": s.description,
                    }
                    for s in spec.settings
                ],
            }
        )
    return rows
