"""Flow files: the model of a dunning flow, parsed and validated from plain data (loaded YAML).

A flow file (``flows/<name>.yaml``) describes one version of a flow::

    name: default
    version: 2
    min_contact_gap_days: 1          # at least this many nights between two contacts (>= 1)
    minimum_amount: "5.00"           # below this overdue amount nothing is sent or charged (default 5.00)
    steps:
      - key: friendly                # stable key: used in idempotency keys and migrations
        day: 3                       # days after the due date of the case's oldest open invoice
        action: send_email
        settings: {template: friendly_reminder}
        when: {has_email: true}      # debtor_type, country, language, segment, min_open, max_open,
                                     # has_email, has_phone, has_address, regular_supply,
                                     # preferred_channel (email, sms, letter: said on the pay page)
        fallback:                    # if it cannot be done or fails (bounce, return, failed SMS)
          action: send_letter
          fallback: {action: manual_task, settings: {title: unreachable debtor}}
      - key: second
        after: 14                    # days after the previous step actually happened
        action: send_letter
        skip_if_late: 10             # after missed nights: skip it if it is over 10 days late
    on_paid: {action: thank_you}     # once per cycle, when a contacted case is paid in full
    events:                          # follow-ups to case events (not `on:`: YAML reads it as true)
      pay_page_visit: {after: 2, action: send_pay_link}
      visit_without_payment:         # the pay page opened, no payment booked since: one follow-up
        {after_hours: 24, action: send_pay_link}   # per flow step, however many visits
    migrations:                      # how cases on older versions move to this one
      - {from: 1, rule: map, map: {reminder_1: friendly}}

Public interface:

* :func:`load_flow` ``(data, source) -> Flow`` — raises :class:`~dunning.errors.FlowError` listing
  every :class:`Problem` (each names the file, the step and the key);
* :func:`check_flow` ``(flow, pack) -> list[Problem]`` — the compliance compiler (in
  :mod:`dunning.domain.legal.compliance`);
* :func:`~dunning.domain.planning.assignment.load_assignment` /
  :func:`~dunning.domain.planning.assignment.assign_flow` — pick a flow per debtor;
* :func:`~dunning.domain.planning.flow_set.load_flow_set` ``({source: data}) -> (FlowSet, problems)`` —
  all flow files of a workspace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from dunning.domain.legal.base import DebtorType
from dunning.domain.planning.actions import CATALOGUE, validate_settings
from dunning.domain.planning.case_state import Debtor
from dunning.errors import FlowError

if TYPE_CHECKING:
    from dunning.domain.legal.base import LegalPack

#: the event of a pay-page visit with no payment booked since (counted from the visit, in hours)
VISIT_WITHOUT_PAYMENT = "visit_without_payment"

#: a flow's ``minimum_amount`` when it names none: a reminder (and its fee) for a few cents costs more
#: in paper and goodwill than it brings in
DEFAULT_MINIMUM_AMOUNT = Decimal("5.00")

__all__ = [
    "DEFAULT_MINIMUM_AMOUNT",
    "VISIT_WITHOUT_PAYMENT",
    "ActionCall",
    "Condition",
    "EventHandler",
    "Flow",
    "Migration",
    "Problem",
    "Step",
    "check_flow",
    "load_flow",
    "parse_flow",
]

MIGRATION_RULES = ("continue", "map", "restart")
_MAX_FALLBACK_DEPTH = 5


@dataclass(frozen=True, slots=True)
class Problem:
    """A finding about a flow: ``source`` is the file, ``where`` the path to the key."""

    source: str
    where: str
    message: str
    severity: str = "error"  # "error" refuses the flow; "warning" is reported only

    def __str__(self) -> str:
        where = f": {self.where}" if self.where else ""
        return f"{self.source}{where}: {self.severity}: {self.message}"


@dataclass(frozen=True, slots=True)
class Condition:
    """A ``when:`` block; each given criterion must hold (lists mean "any of")."""

    debtor_types: frozenset[str] | None = None
    countries: frozenset[str] | None = None
    languages: frozenset[str] | None = None
    segments: frozenset[str] | None = None
    min_open: Decimal | None = None
    max_open: Decimal | None = None
    has_email: bool | None = None
    has_phone: bool | None = None
    has_address: bool | None = None
    regular_supply: bool | None = None  # every open item bills a regular-supply contract (Book XIX)
    preferred_channels: frozenset[str] | None = None  # the debtor's choice on the pay page ("" never said)

    def matches(self, debtor: Debtor, open_amount: Decimal, regular_supply: bool = False) -> bool:
        if self.regular_supply is not None and regular_supply != self.regular_supply:
            return False
        if self.debtor_types is not None and debtor.type not in self.debtor_types:
            return False
        if self.countries is not None and debtor.country.upper() not in self.countries:
            return False
        if self.languages is not None and debtor.language.lower() not in self.languages:
            return False
        if self.segments is not None and debtor.segment not in self.segments:
            return False
        if self.min_open is not None and open_amount < self.min_open:
            return False
        if self.max_open is not None and open_amount > self.max_open:
            return False
        if self.has_email is not None and debtor.has_email != self.has_email:
            return False
        if self.has_phone is not None and debtor.has_phone != self.has_phone:
            return False
        if self.preferred_channels is not None and debtor.preferred_channel not in self.preferred_channels:
            return False
        return self.has_address is None or debtor.has_address == self.has_address

    def may_match(self, country: str | None, debtor_type: str) -> bool:
        """Could a debtor of this country (None: any other country) and type match?"""
        if self.debtor_types is not None and debtor_type not in self.debtor_types:
            return False
        return not (self.countries is not None and country is not None and country not in self.countries)

    @property
    def is_certain(self) -> bool:
        """True when only country/type are tested (a step that may match surely runs)."""
        others = (self.languages, self.segments, self.min_open, self.max_open, self.has_email, self.has_phone,
                  self.preferred_channels)
        return all(v is None for v in (*others, self.has_address, self.regular_supply))


@dataclass(frozen=True, slots=True)
class ActionCall:
    """An action with its validated settings, and what to do if it fails or cannot be done."""

    action: str
    settings: Mapping[str, Any]
    fallback: ActionCall | None = None

    def chain(self) -> list[ActionCall]:
        """This call and its fallbacks, in order (index = fallback depth)."""
        calls: list[ActionCall] = []
        call: ActionCall | None = self
        while call is not None:
            calls.append(call)
            call = call.fallback
        return calls


@dataclass(frozen=True, slots=True)
class Step:
    index: int  # 0-based position in the flow
    key: str
    day: int | None  # days after the oldest open invoice's due date
    after: int | None  # days after the previous step happened
    call: ActionCall
    when: Condition | None = None
    skip_if_late: int | None = None  # catch-up: skip the step when it is more than N days late


@dataclass(frozen=True, slots=True)
class EventHandler:
    """``on: {<event kind>: {after: N, action: ..., settings: ..., fallback: ...}}``.

    ``after_hours`` (``visit_without_payment`` only): hours after the visit, instead of days.
    """

    kind: str
    after: int
    call: ActionCall
    after_hours: int | None = None


@dataclass(frozen=True, slots=True)
class Migration:
    from_version: int
    rule: str  # continue, map or restart
    mapping: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Flow:
    name: str
    version: int
    steps: tuple[Step, ...]
    description: str = ""
    min_contact_gap_days: int = 1
    #: the least overdue amount (case currency) a step runs for: below it nothing is sent or charged
    minimum_amount: Decimal = DEFAULT_MINIMUM_AMOUNT
    on_paid: ActionCall | None = None
    on_events: Mapping[str, EventHandler] = field(default_factory=dict)
    migrations: Mapping[int, Migration] = field(default_factory=dict)
    source: str = ""

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def step(self, key: str) -> Step | None:
        for step in self.steps:
            if step.key == key:
                return step
        return None


# ---- parsing ---------------------------------------------------------------------------------


class _Reader:
    """Collects problems while reading one file, so every problem is reported at once."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def error(self, where: str, message: str) -> None:
        self.problems.append(Problem(self.source, where, message))

    def mapping(self, value: Any, where: str) -> Mapping[str, Any] | None:
        if not isinstance(value, Mapping):
            self.error(where, f"expected a mapping, got {value!r}")
            return None
        return value

    def unknown(self, data: Mapping[str, Any], allowed: set[str], where: str) -> None:
        for key in data:
            if key not in allowed:
                self.error(_join(where, str(key)), f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def integer(self, value: Any, where: str, minimum: int | None = None) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(where, f"expected a whole number, got {value!r}")
            return None
        if minimum is not None and value < minimum:
            self.error(where, f"must be at least {minimum}, got {value}")
            return None
        return value


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


_CONDITION_KEYS = {
    "debtor_type",
    "country",
    "language",
    "segment",
    "min_open",
    "max_open",
    "has_email",
    "has_phone",
    "has_address",
    "regular_supply",
    "preferred_channel",
}

#: the channels a debtor can prefer on the pay page (dunning.usecases.paypage.contact)
_PREFERRED_CHANNELS = frozenset({"email", "sms", "letter"})


def _read_condition(r: _Reader, data: Any, where: str) -> Condition | None:
    block = r.mapping(data, where)
    if block is None:
        return None
    r.unknown(block, _CONDITION_KEYS, where)

    def texts(key: str, normalise: Any = str) -> frozenset[str] | None:
        if key not in block:
            return None
        value = block[key]
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(v, str) and v for v in items):
            r.error(_join(where, key), f"expected text or a list of text, got {value!r}")
            return None
        return frozenset(normalise(v) for v in items)

    types = texts("debtor_type", str.lower)
    if types is not None:
        bad = sorted(t for t in types if t not in {d.value for d in DebtorType})
        if bad:
            r.error(_join(where, "debtor_type"), f"unknown debtor type {bad[0]!r} (consumer or business)")
    preferred = texts("preferred_channel", str.lower)
    if preferred is not None and not preferred <= _PREFERRED_CHANNELS:
        r.error(_join(where, "preferred_channel"),
                f"unknown channel {sorted(preferred - _PREFERRED_CHANNELS)[0]!r} (email, sms or letter)")
    amounts: dict[str, Decimal | None] = {}
    for key in ("min_open", "max_open"):
        amounts[key] = None
        if key in block:
            value = block[key]
            try:
                if isinstance(value, bool | float) or not isinstance(value, int | str):
                    raise InvalidOperation
                amounts[key] = Decimal(str(value))
            except InvalidOperation:
                r.error(_join(where, key), f"expected an exact amount (quote decimals), got {value!r}")
    flags: dict[str, bool | None] = {}
    for key in ("has_email", "has_phone", "has_address", "regular_supply"):
        flags[key] = None
        if key in block:
            if isinstance(block[key], bool):
                flags[key] = block[key]
            else:
                r.error(_join(where, key), f"expected true or false, got {block[key]!r}")
    return Condition(
        debtor_types=types,
        countries=texts("country", str.upper),
        languages=texts("language", str.lower),
        segments=texts("segment"),
        min_open=amounts["min_open"],
        max_open=amounts["max_open"],
        has_email=flags["has_email"],
        has_phone=flags["has_phone"],
        has_address=flags["has_address"],
        regular_supply=flags["regular_supply"],
        preferred_channels=preferred,
    )


def _read_call(
    r: _Reader, data: Mapping[str, Any], where: str, extra_keys: set[str], depth: int = 0
) -> ActionCall | None:
    r.unknown(data, {"action", "settings", "fallback"} | extra_keys, where)
    name = data.get("action")
    if not isinstance(name, str) or not name:
        r.error(_join(where, "action"), f"each step needs an action name, got {name!r}")
        return None
    if name not in CATALOGUE:
        r.error(_join(where, "action"), f"unknown action {name!r} (see `dunning actions`)")
        return None
    settings, errors = validate_settings(name, data.get("settings"))
    for key, message in errors:
        r.error(_join(_join(where, "settings"), key), message)
    fallback = None
    if data.get("fallback") is not None:
        fb_where = _join(where, "fallback")
        if depth >= _MAX_FALLBACK_DEPTH:
            r.error(fb_where, f"fallbacks may be chained at most {_MAX_FALLBACK_DEPTH} deep")
        else:
            block = r.mapping(data["fallback"], fb_where)
            if block is not None:
                fallback = _read_call(r, block, fb_where, set(), depth + 1)
    return ActionCall(name, MappingProxyType(settings), fallback)


_FLOW_KEYS = {
    "name",
    "version",
    "description",
    "steps",
    "min_contact_gap_days",
    "minimum_amount",
    "on_paid",
    "events",
    "migrations",
}
_STEP_KEYS = {"key", "day", "after", "when", "skip_if_late"}


def load_flow(data: Any, source: str) -> Flow:
    """Read one flow from ``data`` (a loaded YAML document) found in ``source`` (file name).

    Raises FlowError whose message lists every problem, one per line, each naming the source, the
    path (e.g. ``steps[2].settings.amount``) and the offending value.
    """
    flow, problems = parse_flow(data, source)
    if problems or flow is None:
        raise FlowError("\n".join(str(p) for p in problems) or f"{source}: not a flow")
    return flow


def parse_flow(data: Any, source: str) -> tuple[Flow | None, list[Problem]]:
    """Like :func:`load_flow`, but return the problems instead of raising (flow is None if any)."""
    r = _Reader(source)
    flow = _read_flow(r, data)
    return (None if r.problems else flow), r.problems


def _read_flow(r: _Reader, data: Any) -> Flow | None:
    top = r.mapping(data, "")
    if top is None:
        return None
    r.unknown(top, _FLOW_KEYS, "")
    name = top.get("name")
    if not isinstance(name, str) or not name.strip() or "|" in name or "@" in name:
        r.error("name", f"a flow needs a name without '|' or '@', got {name!r}")
        name = "?"
    version = r.integer(top.get("version"), "version", minimum=1) or 0
    gap = 1
    if "min_contact_gap_days" in top:
        gap = r.integer(top["min_contact_gap_days"], "min_contact_gap_days", minimum=1) or 1
    minimum = _read_minimum(r, top.get("minimum_amount", DEFAULT_MINIMUM_AMOUNT))
    description = top.get("description", "")
    if not isinstance(description, str):
        r.error("description", f"expected text, got {description!r}")
        description = ""
    steps = _read_steps(r, top.get("steps"))
    on_paid = None
    if top.get("on_paid") is not None:
        block = r.mapping(top["on_paid"], "on_paid")
        on_paid = _read_call(r, block, "on_paid", set()) if block is not None else None
    handlers: dict[str, EventHandler] = {}
    if top.get("events") is not None:
        events = r.mapping(top["events"], "events")
        for kind, spec in (events or {}).items():
            where = f"events.{kind}"
            block = r.mapping(spec, where)
            if block is None:
                continue
            after = r.integer(block.get("after", 0), _join(where, "after"), minimum=0)
            hours = None
            if "after_hours" in block:
                if kind != VISIT_WITHOUT_PAYMENT:
                    r.error(_join(where, "after_hours"), f"only {VISIT_WITHOUT_PAYMENT} counts in hours; use after")
                hours = r.integer(block["after_hours"], _join(where, "after_hours"), minimum=0)
            call = _read_call(r, block, where, {"after", "after_hours"})
            if call is not None and after is not None:
                handlers[str(kind)] = EventHandler(str(kind), after, call, hours)
    migrations = _read_migrations(r, top.get("migrations"), version, {s.key for s in steps})
    return Flow(
        name=name,
        version=version,
        steps=tuple(steps),
        description=description,
        min_contact_gap_days=gap,
        minimum_amount=minimum,
        on_paid=on_paid,
        on_events=MappingProxyType(handlers),
        migrations=MappingProxyType(migrations),
        source=r.source,
    )


def _read_minimum(r: _Reader, raw: Any) -> Decimal:
    """``minimum_amount``: an exact, non-negative amount (quoted decimals: ``"5.00"``); 0 turns it off."""
    if isinstance(raw, Decimal):
        return raw
    if isinstance(raw, (bool, float)) or not isinstance(raw, int | str):
        r.error("minimum_amount", f"expected an exact amount (quote decimals: '5.00'), got {raw!r}")
        return DEFAULT_MINIMUM_AMOUNT
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0:
        r.error("minimum_amount", f"expected an amount of zero or more, got {raw!r}")
        return DEFAULT_MINIMUM_AMOUNT
    return value


def _read_steps(r: _Reader, raw: Any) -> list[Step]:
    if not isinstance(raw, list) or not raw:
        r.error("steps", f"a flow needs a non-empty list of steps, got {raw!r}")
        return []
    steps: list[Step] = []
    seen: dict[str, int] = {}
    last_day: int | None = None
    for index, item in enumerate(raw):
        where = f"steps[{index}]"
        block = r.mapping(item, where)
        if block is None:
            continue
        key = block.get("key", str(index + 1))
        if isinstance(key, int) and not isinstance(key, bool):
            key = str(key)
        if not isinstance(key, str) or not key or "|" in key:
            r.error(_join(where, "key"), f"a step key must be text without '|', got {key!r}")
            key = f"?{index}"
        if key in seen:
            r.error(_join(where, "key"), f"duplicate step key {key!r} (also steps[{seen[key]}])")
        seen[key] = index
        where = f"steps[{index}] ({key})"
        day = after = None
        if ("day" in block) == ("after" in block):
            r.error(where, "give exactly one of 'day' (after the due date) or 'after' (after the previous step)")
        elif "day" in block:
            # Counted from the due date: a negative day would dun (and charge) before the debt is due.
            day = r.integer(block["day"], _join(where, "day"), minimum=0)
            if day is not None and last_day is not None and day < last_day:
                r.error(_join(where, "day"), f"day {day} comes before an earlier step's day {last_day}")
            if day is not None:
                last_day = day
        else:
            after = r.integer(block["after"], _join(where, "after"), minimum=0)
        when = _read_condition(r, block["when"], _join(where, "when")) if "when" in block else None
        call = _read_call(r, block, where, _STEP_KEYS)
        if call is not None:
            late = None
            if "skip_if_late" in block:
                late = r.integer(block["skip_if_late"], _join(where, "skip_if_late"), minimum=0)
            steps.append(Step(index, key, day, after, call, when, late))
    return steps


def _read_migrations(r: _Reader, raw: Any, version: int, keys: set[str]) -> dict[int, Migration]:
    result: dict[int, Migration] = {}
    if raw is None:
        return result
    if not isinstance(raw, list):
        r.error("migrations", f"expected a list, got {raw!r}")
        return result
    for index, item in enumerate(raw):
        where = f"migrations[{index}]"
        block = r.mapping(item, where)
        if block is None:
            continue
        r.unknown(block, {"from", "rule", "map"}, where)
        old = r.integer(block.get("from"), _join(where, "from"), minimum=1)
        if old is not None and old >= version:
            r.error(_join(where, "from"), f"migrates from version {old}, which is not older than {version}")
        rule = block.get("rule")
        if rule not in MIGRATION_RULES:
            r.error(_join(where, "rule"), f"expected one of {', '.join(MIGRATION_RULES)}, got {rule!r}")
            continue
        mapping: dict[str, str] = {}
        if rule == "map":
            raw_map = r.mapping(block.get("map"), _join(where, "map"))
            for old_key, new_key in (raw_map or {}).items():
                if str(new_key) not in keys:
                    r.error(_join(where, f"map.{old_key}"), f"maps to unknown step {new_key!r}")
                mapping[str(old_key)] = str(new_key)
        if old is not None:
            result[old] = Migration(old, rule, MappingProxyType(mapping))
    return result


def check_flow(flow: Flow, pack: LegalPack) -> list[Problem]:
    """The compliance compiler: problems of ``flow`` under ``pack`` (see legal.compliance)."""
    from dunning.domain.legal.compliance import check_flow as _check

    return _check(flow, pack)
