"""The compliance compiler: check a flow against a legal pack before it may be activated.

``check_flow(flow, pack)`` walks the flow's *nominal* timeline (day numbers after the due date, with
``after:`` gaps and the flow's minimum gap between contacts) for the steps that can apply to the
pack's country and debtor type, and reports:

* **error** — a cost (``add_fee``, or a message with a ``fee``) on the first legal notice where the
  first reminder must be free (Belgian and German consumers, consumers without a pack); except, where
  the pack allows it for regular-supply contracts (Book XIX), on a step limited to them with
  ``when: {regular_supply: true}`` — then **error** when a fixed fee exceeds that maximum (€7.50 plus
  the step's ``postage`` on a letter); at run time it is charged only from the 4th unpaid due date
  of a calendar year;
* **error** — a contact before the Belgian first reminder (no amicable collection step may precede
  it; a warning when only a fallback of the first reminder is such a contact, e.g. an SMS);
* **error** — a cost before any legal notice where one is required (Belgian first reminder, Dutch
  14-day letter, German default-triggering reminder);
* **error** — a cost that certainly falls inside the waiting period: before
  notice day + the least offset to the period start + 14 days (e.g. a Belgian letter's period starts at
  the earliest 3 days after posting); a **warning** when it may, depending on weekends and holidays
  (the planner then postpones it to the exact legal date at run time);
* **error/warning** — a fixed fee above what the pack can ever allow (a hard legal cap: error; a
  default that needs evidence, such as €40 B2B or €2.50 German reminder costs: warning);
* **error** — any cost in a pack that allows none; **warning** — interest in a pack without interest;
* **warning** — a first notice that only runs under a condition (costs then wait at run time), and
  steps after a step that ends the flow (they never run).

``check_flow_set(flow_set)`` checks the latest version of every flow against the packs its
assignment rules may route debtors to (``packs_for_flow``), prefixing each message with the pack code.

::

    >>> from dunning.domain.planning.flows import load_flow
    >>> from dunning.domain.legal import select_pack
    >>> flow = load_flow({"name": "x", "version": 1, "steps": [
    ...     {"day": 5, "action": "send_letter", "settings": {"fee": "10"}}]}, "flows/x.yaml")
    >>> [str(p) for p in check_flow(flow, select_pack("BE", "consumer"))]  # doctest: +ELLIPSIS
    ['flows/x.yaml: steps[0] (1): error: the first reminder to ... must be free: remove its fee']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from dunning.domain.legal.base import LegalPack
from dunning.domain.legal.spacing import check_spacing
from dunning.domain.planning.actions import CATALOGUE, PAPER_CHANNELS, Channel, action_channel, charges_fee
from dunning.domain.planning.flow_set import FlowSet
from dunning.domain.planning.flows import ActionCall, Condition, Flow, Problem, Step

__all__ = ["charge_labels", "check_flow", "check_flow_set", "packs_for_flow"]


def _may_apply(condition: Condition, pack: LegalPack) -> bool:
    """Could a debtor governed by ``pack`` meet ``condition``? Packs without a country stand for
    every country that has no pack of its own."""
    if not condition.may_match(pack.country, pack.debtor_type):
        return False
    if pack.country is None and condition.countries is not None:
        from dunning.domain.legal import ALL_PACKS

        with_packs = {p.country for p in ALL_PACKS if p.country is not None}
        return not condition.countries <= with_packs
    return True


def _fixed_fee(call: ActionCall) -> Decimal | None:
    settings: Any = call.settings
    if call.action == "add_fee":
        return settings.get("amount") if settings.get("mode") == "fixed" else None
    fee = settings.get("fee")
    return fee if isinstance(fee, Decimal) else None


def check_flow(flow: Flow, pack: LegalPack) -> list[Problem]:
    """Problems of ``flow`` for debtors governed by ``pack`` (empty list: compliant)."""
    src = flow.source or flow.ref
    problems: list[Problem] = []

    def report(where: str, message: str, severity: str = "error") -> None:
        problems.append(Problem(src, where, message, severity))

    who = pack.title
    previous: int | None = None
    last_contact: int | None = None
    notice: tuple[int, Channel, str] | None = None  # nominal day, channel, where
    terminal_at: str | None = None
    for step in flow.steps:
        if step.when is not None and not _may_apply(step.when, pack):
            continue
        where = f"steps[{step.index}] ({step.key})"
        if terminal_at is not None:
            report(where, f"comes after {terminal_at}, which ends the flow: it never runs", "warning")
        spec = CATALOGUE[step.call.action]
        if step.day is not None:
            nominal = step.day
        else:
            nominal = (previous if previous is not None else 0) + (step.after or 0)
        if spec.contact and last_contact is not None:
            nominal = max(nominal, last_contact + flow.min_contact_gap_days)
        is_first_notice = notice is None and spec.legal_notice
        if notice is None and pack.notice_must_be_first_contact:
            for depth, call in enumerate(step.call.chain()):
                call_spec = CATALOGUE[call.action]
                if call_spec.contact and not call_spec.legal_notice:
                    report(
                        where if depth == 0 else f"{where}.fallback{'.fallback' * (depth - 1)}",
                        f"{call.action} would contact the debtor before the first reminder, which must be the "
                        f"first collection step under {who} (art. XIX.2)",
                        "error" if depth == 0 else "warning",
                    )
        for depth, call in enumerate(step.call.chain()):
            call_where = where if depth == 0 else f"{where}.fallback{'.fallback' * (depth - 1)}"
            call_spec = CATALOGUE[call.action]
            if charges_fee(call.action, call.settings):
                supply_only = step.when is not None and step.when.regular_supply is True
                _check_fee(report, pack, call, call_where, nominal, notice, is_first_notice, who, supply_only)
            if call_spec.charges == "interest":
                _check_interest(report, pack, call_where, nominal, notice, who)
        if spec.legal_notice and notice is None:
            channel = action_channel(step.call.action, step.call.settings) or Channel.LETTER
            notice = (nominal, channel, where)
            if (
                step.when is not None
                and not step.when.is_certain
                and (pack.notice_before_fees or pack.first_reminder_free)
            ):
                report(
                    where,
                    "the first reminder only runs under a condition; when it does not, later costs wait "
                    "at run time until a legal notice has been sent",
                    "warning",
                )
        previous = nominal
        if spec.contact:
            last_contact = nominal
        if spec.terminal and terminal_at is None:
            terminal_at = where
    return problems


def _check_fee(
    report: Any,
    pack: LegalPack,
    call: ActionCall,
    where: str,
    nominal: int,
    notice: tuple[int, Channel, str] | None,
    is_first_notice: bool,
    who: str,
    supply_only: bool = False,
) -> None:
    if not pack.fees_allowed:
        report(where, f"no costs may be charged under {who}")
        return
    fixed = _fixed_fee(call)
    if fixed is not None and pack.max_static_fee is not None and fixed > pack.max_static_fee:
        severity = "error" if pack.max_static_fee_is_hard else "warning"
        extra = "" if pack.max_static_fee_is_hard else " without evidence of higher costs"
        report(where, f"a fee of {fixed} exceeds the most {who} allows{extra} ({pack.max_static_fee})", severity)
    if is_first_notice and pack.first_reminder_free:
        if supply_only and pack.regular_supply_fee is not None:
            _check_regular_supply_fee(report, pack, call, where, fixed)
            return
        report(where, f"the first reminder to {who} must be free: remove its fee")
        return
    if not pack.notice_before_fees:
        return
    if notice is None:
        report(where, f"a cost on day {nominal} comes before any legal notice (required first under {who})")
        return
    _check_waiting(report, pack, where, nominal, notice, "a cost")


def _check_regular_supply_fee(
    report: Any, pack: LegalPack, call: ActionCall, where: str, fixed: Decimal | None
) -> None:
    """A fee on the first reminder of regular-supply cases: at most the pack's maximum plus postage."""
    if call.action == "add_fee" or pack.regular_supply_fee is None:
        report(where, "a regular-supply reminder fee goes on the reminder itself (its fee: setting), not add_fee")
        return
    paper = action_channel(call.action, call.settings) in PAPER_CHANNELS
    postage = (call.settings.get("postage") or Decimal(0)) if paper else Decimal(0)
    most = pack.regular_supply_fee + postage
    if fixed is not None and fixed > most:
        plus = f" plus postage {postage}" if postage else (" plus postage (set postage:)" if paper else "")
        report(
            where,
            f"a fee of {fixed} on the first reminder exceeds what {pack.title} allows under a regular-supply "
            f"contract: at most {pack.regular_supply_fee}{plus}, and only from the 4th unpaid due date of a "
            "calendar year",
        )


def _check_interest(
    report: Any, pack: LegalPack, where: str, nominal: int, notice: tuple[int, Channel, str] | None, who: str
) -> None:
    if pack.interest_terms() is None:
        if pack.warn_no_interest:
            report(where, f"{who} charges no interest: this step will charge nothing", "warning")
        return
    if not pack.notice_before_interest:
        return
    if notice is None:
        report(where, f"interest on day {nominal} comes before any legal notice (required first under {who})")
        return
    _check_waiting(report, pack, where, nominal, notice, "interest")


def _check_waiting(
    report: Any, pack: LegalPack, where: str, nominal: int, notice: tuple[int, Channel, str], what: str
) -> None:
    if not pack.waiting_period_days:
        return
    notice_day, channel, notice_where = notice
    least, most = pack.period_offsets(channel)
    earliest = notice_day + least + pack.waiting_period_days
    latest = notice_day + most + pack.waiting_period_days
    if nominal < earliest:
        report(
            where,
            f"{what} on day {nominal} falls inside the {pack.waiting_period_days}-day period after the "
            f"notice of {notice_where} (day {notice_day}, {channel.value}): the earliest legal day is "
            f"{earliest}",
        )
    elif nominal < latest:
        report(
            where,
            f"{what} on day {nominal} may fall inside the {pack.waiting_period_days}-day period (up to day "
            f"{latest} with weekends and holidays); it will be postponed to the legal date at run time",
            "warning",
        )


def packs_for_flow(flow_set: FlowSet, name: str, packs: Iterable[LegalPack] | None = None) -> list[LegalPack]:
    """The packs whose debtors the assignment rules may put on flow ``name``.

    A rule that tests only country and debtor type assigns a pack's debtors for sure; a rule with
    other criteria (segment, amount...) only possibly, so later rules and the default still count.
    Without assignment rules every pack applies.
    """
    from dunning.domain.legal import ALL_PACKS

    candidates = list(packs if packs is not None else ALL_PACKS)
    assignment = flow_set.assignment
    if assignment is None:
        return candidates
    result: list[LegalPack] = []
    for pack in candidates:
        targets: set[str] = set()
        settled = False
        for condition, flow_name in assignment.rules:
            if not _may_apply(condition, pack):
                continue
            targets.add(flow_name)
            if condition.is_certain and (condition.countries is None or pack.country is not None):
                settled = True
                break
        if not settled:
            targets.add(assignment.default)
        if name in targets:
            result.append(pack)
    return result


def _applies(pack: LegalPack) -> Callable[[Step], bool]:
    """Whether a step may run for the debtors of ``pack`` (no ``when``, or one the pack may meet)."""
    return lambda step: step.when is None or _may_apply(step.when, pack)


def check_flow_set(flow_set: FlowSet) -> list[Problem]:
    """Check the latest version of every flow against every pack it may be used with."""
    problems: list[Problem] = []
    for flow_name in sorted({n for n, _ in flow_set.flows}):
        flow = flow_set.latest(flow_name)
        if flow is None:  # pragma: no cover - the name comes from the set
            continue
        for pack in packs_for_flow(flow_set, flow_name):
            found = check_flow(flow, pack) + check_spacing(flow, pack, _applies(pack))
            for problem in found:
                problems.append(replace(problem, message=f"[{pack.code}] {problem.message}"))
        problems.extend(charge_labels(flow))
    return problems


def charge_labels(flow: Flow) -> list[Problem]:
    """A warning for each charge ``label`` in a flow: letters no longer print it (deprecated).

    A charge is named on a letter by the rule pack that set it, in the debtor's language, with its
    legal basis (:mod:`dunning.domain.legal.texts`): one free text for every debtor would be in the
    wrong language or the wrong law for most of them.
    """
    found = []
    for step in flow.steps:
        for depth, call in enumerate(step.call.chain()):
            label = call.settings.get("label")
            if label and (call.action in ("add_fee", "add_interest") or charges_fee(call.action, call.settings)):
                where = f"steps[{step.index}] ({step.key})" + (".fallback" * depth) + ".settings.label"
                found.append(Problem(flow.source or flow.ref, where,
                                     f"label {label!r} is ignored (deprecated): letters name each charge by the "
                                     "rule pack that set it, in the debtor's language, with its legal basis",
                                     "warning"))
    return found
