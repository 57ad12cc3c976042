"""The creditor's plan policy (``plans:`` in dunning.yaml), bounded by the law of each rule pack.

A policy says which plans may be offered (most instalments and months, least instalment, days of the
month) and what happens when an instalment is missed (grace days, deferrals, the answer, the breach
rule). The law of the debtor's pack (:meth:`~dunning.domain.legal.base.LegalPack.plan_law`) is the
floor: :func:`bounded_policy` raises a breach rule the law does not allow, freezes costs where the
law stops them, and takes the law's allocation order. :func:`check_policy` says, per pack, what the
law changed, so ``dunning flows check`` can show it::

    >>> from dunning.domain.legal import select_pack
    >>> policy = PlanPolicy(breach=BreachRule(missed_in_a_row=1, arrears_percent=Decimal(0)))
    >>> bounded = bounded_policy(policy, select_pack("DE", "consumer"))
    >>> bounded.breach.missed_in_a_row, str(bounded.breach.arrears_percent), bounded.allocation
    (2, '10', ('costs', 'principal', 'interest'))
    >>> bounded_policy(policy, select_pack("BE", "consumer")).costs_frozen
    True
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from dunning.domain.legal.base import LegalPack
from dunning.domain.planning.actions import Channel
from dunning.domain.planning.flows import Problem
from dunning.domain.plans.model import InterestPolicy, PlanError
from dunning.domain.plans.references import MAX_INSTALMENTS
from dunning.domain.plans.schedule import PlanTerms, split_amount

__all__ = [
    "BoundedPolicy",
    "BreachRule",
    "OnMissed",
    "PlanPolicy",
    "bounded_policy",
    "check_policy",
    "check_terms",
    "letter_lead_days",
    "offered_counts",
    "term_months",
]


class OnMissed(StrEnum):
    """The policy's answer to an instalment still open after the grace days."""

    REMIND = "remind"  # only the grace reminder; the miss counts towards a breach
    DEFER = "defer"  # its open rest becomes a new instalment after the last (while deferrals are left)
    SPREAD = "spread"  # what is left is spread over more, smaller instalments


@dataclass(frozen=True, slots=True)
class BreachRule:
    """A plan breaks when ``missed_in_a_row`` consecutive instalments are missed *and* the arrears
    reach ``arrears_percent`` of the plan's nominal amount."""

    missed_in_a_row: int = 2
    arrears_percent: Decimal = Decimal(10)
    notice_days: int = 14  # a notice giving this many days to pay goes out before the plan ends


@dataclass(frozen=True, slots=True)
class PlanPolicy:
    """What a workspace offers and how it treats a missed instalment (defaults: the template's)."""

    enabled: bool = True
    max_count: int = 12
    max_term_months: int = 12
    min_instalment: Decimal = Decimal("25.00")
    days_offered: tuple[int, ...] = (1, 15)
    grace_days: int = 5
    deferrals: int = 1
    on_missed: OnMissed = OnMissed.DEFER
    breach: BreachRule = field(default_factory=BreachRule)
    costs_frozen: bool = True
    interest: InterestPolicy = InterestPolicy.FROZEN
    terms_version: str = "1"
    reminder_days_before: int = 3

    def __post_init__(self) -> None:
        problems = policy_errors(self)
        if problems:
            raise PlanError("; ".join(problems))


def policy_errors(policy: PlanPolicy) -> list[str]:
    """What makes ``policy`` unusable on its own (each names the setting and its value)."""
    errors: list[str] = []
    if not 2 <= policy.max_count <= MAX_INSTALMENTS:
        errors.append(f"max_count: {policy.max_count} is not between 2 and {MAX_INSTALMENTS}")
    if policy.max_term_months < 1:
        errors.append(f"max_term_months: {policy.max_term_months} is not at least 1")
    elif policy.max_count - 1 > policy.max_term_months:
        errors.append(
            f"max_count: {policy.max_count} monthly instalments take {policy.max_count - 1} months, "
            f"more than max_term_months: {policy.max_term_months}"
        )
    if policy.max_count + policy.deferrals > MAX_INSTALMENTS:
        errors.append(
            f"deferrals: {policy.max_count} instalments + {policy.deferrals} deferrals exceed "
            f"{MAX_INSTALMENTS} (the instalment number has two digits in its reference)"
        )
    if policy.min_instalment <= 0:
        errors.append(f"min_instalment: {policy.min_instalment} is not above zero")
    if not policy.days_offered:
        errors.append("days_offered: offers no day of the month")
    for day in policy.days_offered:
        if not 1 <= day <= 28:
            errors.append(f"days_offered: {day} is not between 1 and 28 (days 29 to 31 are missing in some months)")
    if len(set(policy.days_offered)) != len(policy.days_offered):
        errors.append(f"days_offered: {list(policy.days_offered)} names a day twice")
    if policy.grace_days < 0:
        errors.append(f"grace_days: {policy.grace_days} is negative")
    if policy.deferrals < 0:
        errors.append(f"deferrals: {policy.deferrals} is negative")
    if policy.reminder_days_before < 0:
        errors.append(f"reminder_days_before: {policy.reminder_days_before} is negative")
    if policy.breach.missed_in_a_row < 1:
        errors.append(f"breach.missed_in_a_row: {policy.breach.missed_in_a_row} is not at least 1")
    if not 0 <= policy.breach.arrears_percent <= 100:
        errors.append(f"breach.arrears_percent: {policy.breach.arrears_percent} is not between 0 and 100")
    if policy.breach.notice_days < 0:
        errors.append(f"breach.notice_days: {policy.breach.notice_days} is negative")
    return errors


@dataclass(frozen=True, slots=True)
class BoundedPolicy:
    """The policy as it applies to one pack's debtors, with what the law changed and why."""

    policy: PlanPolicy
    pack: str
    breach: BreachRule
    costs_frozen: bool
    allocation: tuple[str, ...]
    changes: tuple[str, ...]  # one line per setting the law raised
    sources: tuple[str, ...]


def bounded_policy(policy: PlanPolicy, pack: LegalPack, term: int | None = None) -> BoundedPolicy:
    """``policy`` for the debtors of ``pack``: never below the pack's plan law.

    ``term`` is the plan's term in months (default: the policy's longest), which decides the arrears
    share where the law has a lower one for long plans (§ 498 BGB: 5 % above three years).
    """
    law = pack.plan_law()
    months = policy.max_term_months if term is None else term
    changes: list[str] = []
    rule = policy.breach
    least_percent = law.arrears_percent(months)
    if rule.missed_in_a_row < law.min_missed_in_a_row:
        changes.append(f"breach.missed_in_a_row {rule.missed_in_a_row} raised to {law.min_missed_in_a_row}")
        rule = replace(rule, missed_in_a_row=law.min_missed_in_a_row)
    if rule.arrears_percent < least_percent:
        changes.append(f"breach.arrears_percent {rule.arrears_percent} raised to {least_percent}")
        rule = replace(rule, arrears_percent=least_percent)
    if rule.notice_days < law.breach_notice_days:
        changes.append(f"breach.notice_days {rule.notice_days} raised to {law.breach_notice_days}")
        rule = replace(rule, notice_days=law.breach_notice_days)
    frozen = policy.costs_frozen
    if law.costs_stop and not frozen:
        changes.append("costs_frozen false overridden: no new collection costs while a plan is kept")
        frozen = True
    return BoundedPolicy(policy, pack.code, rule, frozen, law.allocation, tuple(changes), law.sources)


def check_policy(policy: PlanPolicy, packs: Iterable[LegalPack], source: str = "dunning.yaml") -> list[Problem]:
    """What the law of each pack changes in ``policy`` (warnings; the law applies by itself)."""
    problems: list[Problem] = []
    if not policy.enabled:
        return problems
    for pack in packs:
        bounded = bounded_policy(policy, pack)
        for change in bounded.changes:
            problems.append(
                Problem(source, "plans", f"{pack.code}: {change} ({'; '.join(bounded.sources)})", "warning")
            )
        credit_after = pack.plan_law().paid_deferral_is_credit_after_months
        if credit_after is not None and not bounded.costs_frozen and policy.max_term_months > credit_after:
            problems.append(
                Problem(
                    source,
                    "plans",
                    f"{pack.code}: a plan that charges costs and runs over {credit_after} months is a paid deferral, "
                    "consumer credit (§§ 491(2) no. 3, 506 BGB): set costs_frozen: true or give the credit "
                    "information the law requires",
                    "warning",
                )
            )
    return problems


def term_months(count: int) -> int:
    """The months a plan of ``count`` monthly instalments runs from the first due date to the last."""
    return count - 1


def offered_counts(policy: PlanPolicy, total: Decimal) -> tuple[int, ...]:
    """The instalment counts the policy offers for ``total`` (each instalment at least the minimum).

    >>> offered_counts(PlanPolicy(max_count=6, min_instalment=Decimal(50)), Decimal("180.00"))
    (2, 3)
    """
    if not policy.enabled:
        return ()
    return tuple(
        n
        for n in range(2, policy.max_count + 1)
        if term_months(n) <= policy.max_term_months and split_amount_floor(total, n) >= policy.min_instalment
    )


def split_amount_floor(total: Decimal, count: int) -> Decimal:
    """The smallest instalment of ``total`` in ``count`` (zero when it cannot be split)."""
    try:
        return min(split_amount(total, count))
    except PlanError:
        return Decimal(0)


def check_terms(policy: PlanPolicy, terms: PlanTerms, total: Decimal, by_creditor: bool = False) -> None:
    """Refuse ``terms`` the policy does not allow for ``total``, naming each broken setting.

    A creditor (``by_creditor``) may choose a day of the month the policy does not offer the debtor.
    """
    errors: list[str] = []
    if not policy.enabled:
        errors.append("plans are not enabled (plans.enabled: false)")
    if terms.count < 2 or terms.count > policy.max_count:
        errors.append(f"{terms.count} instalments: the policy allows 2 to {policy.max_count}")
    elif term_months(terms.count) > policy.max_term_months:
        errors.append(
            f"{terms.count} instalments run {term_months(terms.count)} months; at most {policy.max_term_months} allowed"
        )
    elif split_amount_floor(total, terms.count) < policy.min_instalment:
        errors.append(
            f"{total} in {terms.count} instalments gives {split_amount_floor(total, terms.count)}, "
            f"below the minimum instalment {policy.min_instalment}"
        )
    if by_creditor:
        if not 1 <= terms.day_of_month <= 28:
            errors.append(f"day {terms.day_of_month} is not between 1 and 28")
    elif terms.day_of_month not in policy.days_offered:
        offered = ", ".join(str(d) for d in policy.days_offered)
        errors.append(f"day {terms.day_of_month} is not offered (days offered: {offered})")
    if errors:
        raise PlanError("; ".join(errors))


_LEAD_DAYS: dict[str, int] = {}


def letter_lead_days(pack: LegalPack) -> int:
    """The most calendar days from posting a letter to the day the pack counts it as received, over two years
    of calendars (Book XIX: the 3rd working day after posting, up to 6 days over weekends and holidays; WIK:
    the 2nd day after posting without Sundays, Mondays and holidays). A plan reminder by letter is posted
    that much earlier than an email, so it is in hand ``reminder_days_before`` days before the due date.

    >>> from dunning.domain.legal import select_pack
    >>> letter_lead_days(select_pack("BE", "consumer"))
    6
    """
    if pack.code not in _LEAD_DAYS:
        start = date(2026, 1, 1)
        days = (start + timedelta(days=i) for i in range(731))
        _LEAD_DAYS[pack.code] = max((pack.period_start(day, Channel.LETTER) - day).days for day in days)
    return _LEAD_DAYS[pack.code]
