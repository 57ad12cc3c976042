"""Belgium: consumers under Book XIX of the Code of Economic Law; businesses under the Law of 2002.

Book XIX "Debts of the consumer" (Law of 4 May 2023, in force 1 Sep 2023 / 1 Dec 2023):

* the **first reminder is free** and no amicable collection step may come before it (art. XIX.2 §1);
* no cost, penalty clause or interest during **at least 14 calendar days** after it, starting the
  **third working day after posting** a letter or the **calendar day after sending** an email
  (worked example, forumforthefuture: reminder posted Mon 18-09-2023 → period starts Thu 21-09 →
  costs from Thu 05-10-2023);
* the first reminder must state the principal, the penalty-clause amount that will be claimed, the
  creditor's name and enterprise number, the product or service and its due date, the 14-day period
  and what happens when it expires (art. XIX.2 §3);
* lump-sum damages are capped on the outstanding balance: €20 up to €150; €30 + 10 % of the part
  above €150 up to €500; €65 + 5 % of the part above €500, at most €2,000 (art. XIX.4)::

      >>> from decimal import Decimal as D
      >>> [str(damages_cap(D(x))) for x in ("150", "150.01", "215", "500", "1000", "5000", "39200", "50000")]
      ['20.00', '30.00', '36.50', '65.00', '90.00', '290.00', '2000.00', '2000.00']

* interest may not exceed the rate of the Law of 2 August 2002; an SME creditor may let it run from
  the day after the reminder was sent, if still unpaid when the 14 days end (art. XIX.4 §2);
* **regular-supply contracts** (energy, telecom, newspapers...): only the reminders for **3 unpaid due
  dates per calendar year** are free; a reminder for the 4th or a later unpaid due date of the year
  may cost **at most €7.50 plus postage** (lalibre; prato.be: "from the 4th due date of the calendar
  year"). See :func:`regular_supply_reminder`.

Payment arrangements (:meth:`BelgiumConsumer.plan_law`): Book XIX's announced "stop button" lets a
consumer who asks for a plan pause amicable collection (duration unverified; research, section 2), so
no new collection costs are charged while a plan is kept.

Businesses (B2B) fall under the Law of 2 August 2002 (transposing Directive 2011/7/EU): interest at
the Belgian semester rate from the day after the due date, and €40 flat compensation per invoice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from dunning.domain.legal.base import (
    ONE_DAY,
    DebtorType,
    FeeContext,
    Figure,
    InterestTerms,
    LegalPack,
    PlanLaw,
    money,
    remaining,
)
from dunning.domain.legal.calendar import add_working_days
from dunning.domain.legal.eu import EUBusiness
from dunning.domain.legal.rates import BELGIUM_LAW_2002
from dunning.domain.planning.actions import PAPER_CHANNELS, Channel

__all__ = ["REGULAR_SUPPLY_FEE", "BelgiumBusiness", "BelgiumConsumer", "damages_cap", "regular_supply_reminder"]

_BOOK_XIX = "Code of Economic Law, Book XIX (Law of 4 May 2023), art. XIX.2-XIX.4"
_REGULAR_SUPPLY = (
    "Code of Economic Law, Book XIX, art. XIX.2 (regular-supply contracts); lalibre.be 15-06-2023; prato.be"
)
#: reminders for this many unpaid due dates per calendar year are free under a regular-supply contract
REGULAR_SUPPLY_FREE_DUE_DATES = 3
#: the most a later reminder under a regular-supply contract may cost, postage not included
REGULAR_SUPPLY_FEE = Decimal("7.50")
_BOOK_XIX_PLAN_LAW = PlanLaw(
    costs_stop=True,
    sources=(
        "Code of Economic Law, Book XIX: asking for a plan pauses amicable collection (announced; research §2)",
        "art. 1254 old Belgian Civil Code (interest before principal)",
    ),
)


def damages_cap(balance: Decimal) -> Decimal:
    """Book XIX cap on the lump-sum damages for an outstanding ``balance`` (rounded to the cent)."""
    if balance <= 150:
        return Decimal("20.00")
    if balance <= 500:
        return money(Decimal(30) + (balance - 150) * Decimal("0.10"))
    return money(min(Decimal(65) + (balance - 500) * Decimal("0.05"), Decimal(2000)))


def _band(balance: Decimal) -> str:
    if balance <= 150:
        return "€20 for a balance up to €150"
    if balance <= 500:
        return "€30 + 10 % of the balance above €150 (balance €150.01 to €500)"
    return "€65 + 5 % of the balance above €500, at most €2,000 (balance above €500)"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def regular_supply_reminder(
    concerned: Iterable[date], reminded: Iterable[date], postage: Decimal = Decimal(0)
) -> Figure:
    """The most a first reminder under a regular-supply contract may cost, and why (Book XIX).

    Per calendar year (of the due date), the reminders for the first 3 unpaid due dates are free; a
    reminder for the 4th or a later unpaid due date of that year may cost at most €7.50 plus
    ``postage`` (the postage of this reminder: zero for an email). ``concerned`` are the unpaid due
    dates this reminder is for; ``reminded`` those of the same contract that earlier reminders were
    for. Due dates are counted once each (two bills due the same day are one due date); a reminder
    only for due dates already reminded adds none and is free::

        >>> from datetime import date as d
        >>> jan, feb, mar, apr = (d(2026, m, 15) for m in (1, 2, 3, 4))
        >>> regular_supply_reminder([mar], [jan, feb]).amount
        Decimal('0.00')
        >>> figure = regular_supply_reminder([apr], [jan, feb, mar], Decimal("1.45"))
        >>> figure.amount, figure.explanation  # doctest: +NORMALIZE_WHITESPACE
        (Decimal('8.95'), '€8.95 = Book XIX regular supply: 4th unpaid due date in 2026 (2026-04-15):
          at most €7.50 plus postage €1.45')
        >>> regular_supply_reminder([d(2027, 1, 15)], [jan, feb, mar, apr]).amount  # a new year
        Decimal('0.00')
    """
    earlier = set(reminded)
    new = sorted(set(concerned) - earlier)
    if not new:
        return Figure(
            "regular_supply_fee",
            Decimal("0.00"),
            "€0.00 = Book XIX regular supply: no unpaid due date that was not reminded before: free",
            _REGULAR_SUPPLY,
        )
    counted: list[tuple[int, int, date]] = []  # (year, ordinal of the year's last new due date, that date)
    for year in sorted({due.year for due in new}):
        fresh = [due for due in new if due.year == year]
        before = sum(1 for due in earlier if due.year == year)
        counted.append((year, before + len(fresh), fresh[-1]))
    year, ordinal, due = max(counted, key=lambda c: (c[1] > REGULAR_SUPPLY_FREE_DUE_DATES, c[0]))
    which = f"{_ordinal(ordinal)} unpaid due date in {year} ({due.isoformat()})"
    if ordinal <= REGULAR_SUPPLY_FREE_DUE_DATES:
        return Figure(
            "regular_supply_fee",
            Decimal("0.00"),
            f"€0.00 = Book XIX regular supply: {which}: the reminders for the first "
            f"{REGULAR_SUPPLY_FREE_DUE_DATES} unpaid due dates of a calendar year are free",
            _REGULAR_SUPPLY,
        )
    postage = max(postage, Decimal(0))
    cap = money(REGULAR_SUPPLY_FEE + postage)
    extra = f" plus postage €{money(postage)}" if postage else " (no postage on this reminder)"
    return Figure(
        "regular_supply_fee",
        cap,
        f"€{cap} = Book XIX regular supply: {which}: at most €{REGULAR_SUPPLY_FEE}{extra}",
        _REGULAR_SUPPLY,
    )


@lru_cache(maxsize=1)
def _paper_offsets() -> tuple[int, int]:
    """Least and most calendar days to the 3rd working day after posting, over several years."""
    start = date(2024, 1, 1)
    offsets = [
        (add_working_days("BE", start + timedelta(days=i), 3) - (start + timedelta(days=i))).days
        for i in range(4 * 366)
    ]
    return min(offsets), max(offsets)


class BelgiumConsumer(LegalPack):
    code = "BE-consumer"
    country = "BE"
    debtor_type = DebtorType.CONSUMER
    title = "Belgium, consumer debts (Code of Economic Law, Book XIX)"
    sources = (
        _BOOK_XIX,
        "forumforthefuture worked example: posted 18-09-2023, period from 21-09, costs from 05-10-2023",
        "Law of 2 August 2002 (interest cap)",
    )
    first_reminder_free = True
    notice_must_be_first_contact = True
    waiting_period_days = 14
    notice_before_fees = True
    notice_before_interest = True
    max_static_fee = Decimal(2000)
    regular_supply_fee = REGULAR_SUPPLY_FEE
    notice_required_fields = (
        "principal_due",
        "penalty_clause_amount",
        "creditor_name",
        "creditor_enterprise_number",
        "product_description",
        "due_date",
        "payment_period_days",
        "period_expiry_consequence",
    )

    period_rule = "from the 3rd working day after posting, or the day after an email (art. XIX.2 §2)"

    def plan_law(self) -> PlanLaw:
        return _BOOK_XIX_PLAN_LAW

    def period_start(self, sent_on: date, channel: Channel) -> date:
        if channel in PAPER_CHANNELS:
            return add_working_days("BE", sent_on, 3)
        return sent_on + ONE_DAY

    def period_offsets(self, channel: Channel) -> tuple[int, int]:
        return _paper_offsets() if channel in PAPER_CHANNELS else (1, 1)

    def interest_start(
        self, due_date: date, notice_on: date | None, notice_channel: Channel | None, creditor_is_sme: bool
    ) -> date | None:
        if notice_on is None or notice_channel is None:
            return None
        if creditor_is_sme:
            return max(due_date + ONE_DAY, notice_on + ONE_DAY)
        return max(due_date + ONE_DAY, self.earliest_cost_date(notice_on, notice_channel))

    def fee_allowance(self, ctx: FeeContext) -> Figure:
        cap = damages_cap(ctx.principal)
        return Figure(
            "damages_cap",
            remaining(cap, ctx.fees_charged),
            f"€{cap} = Book XIX cap: {_band(ctx.principal)}; balance €{money(ctx.principal)}",
            _BOOK_XIX,
        )

    def regular_supply_allowance(self, concerned: Iterable[date], reminded: Iterable[date], postage: Decimal) -> Figure:
        return regular_supply_reminder(concerned, reminded, postage)

    def interest_terms(self) -> InterestTerms:
        return InterestTerms(
            self.rate_table(BELGIUM_LAW_2002),
            Decimal(0),
            "at most the rate of the Law of 2 August 2002 (Book XIX cap)",
            _BOOK_XIX + "; Law of 2 Aug 2002 art. 5",
        )

    def notice_figures(self, principal: Decimal, invoice_count: int) -> tuple[Figure, ...]:
        cap = damages_cap(principal)
        return (
            Figure("penalty_clause_amount", cap, f"€{cap} = Book XIX cap: {_band(principal)}", _BOOK_XIX),
            Figure("payment_period_days", Decimal(14), "14 calendar days (art. XIX.2 §2)", _BOOK_XIX),
        )


class BelgiumBusiness(EUBusiness):
    code = "BE-business"
    country = "BE"
    title = "Belgium, business debts (Law of 2 August 2002, Directive 2011/7/EU)"
    sources = ("Law of 2 August 2002 on late payment in commercial transactions, art. 5-6",)

    def interest_terms(self) -> InterestTerms:
        return InterestTerms(
            self.rate_table(BELGIUM_LAW_2002),
            Decimal(0),
            "Belgian semester rate: ECB reference rate + 8 points, rounded up to half a point",
            "Law of 2 Aug 2002 art. 5",
        )
