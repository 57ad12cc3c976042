"""From a planned letter action in the store to the :class:`~dunning.letters.LetterData` it prints.

Used by :mod:`dunning.usecases.letters.render` (rendering) and ``dunning preview --case``. Reads the store
and the workspace configuration; writes nothing.

Decisions, with their reasons:

* **Kind**: a reminder's kind follows what the debtor actually received and when
  (:func:`dunning.domain.planning.notice_kind.notice_kind`): its first letter or email reminder is a first
  reminder whatever the step is called (``b2b_reminder`` too), a later one a second reminder, a
  final-notice step (``send_final_notice``, a ``final_notice`` or ``formal_notice`` template) a final
  notice once the debtor was reminded; the step's ``kind`` setting forces one. Earlier reminders count
  when they went out (not failed, bounced, returned or cancelled) in the case's cycle, on or before the
  letter's date, after an invoice the letter claims fell due. Other kinds come from the ``template``
  (``statement`` → account statement; ``thank_you`` → payment confirmation; ``plan_offer`` → payment
  plan). An unknown template is reported and the action stays planned (a configuration problem).
* **Only what is due** on the letter's date is claimed (:mod:`dunning.domain.planning.claim`):
  invoices not yet due are left out of the table and the total, or listed apart "for information"
  when the step says ``show_not_yet_due: true``.
* **Legal mentions** from the action's ``detail`` as the planner recorded it: the rule pack is the
  prefix of the first rule (``BE-consumer: ...`` → ``BE``); the deadline is the day before
  ``earliest_legal_date`` (costs may start that day, so the debtor has until the day before),
  and when the letter goes out later than planned, the day before the pack's earliest cost date
  counted from the real letter date if that is later (never fewer days than the law gives); the
  damages are the figure ``penalty_clause_amount`` (BE Book XIX) or ``collection_costs_amount``
  (NL WIK). Without a legal date the deadline is the letter date plus the step's ``deadline_days``
  (default 14).
* **Charges** are the case's ``add_fee`` / ``add_interest`` actions, named by the rule pack that set
  them in the debtor's language with their legal basis (a flow's ``label`` is ignored: ``flows
  check`` warns about it), interest per invoice with its rate, base and period, and the
  fees of messages that went out (booked to the case, :mod:`dunning.usecases.outgoing.fees`), less
  what bank payments already covered (oldest charge first, as costs are paid first), so the
  letter's total is what ``load_due_actions`` calls the total due. Costs charged otherwise (no
  action row) appear as one line of the remainder. A letter that carries a fee itself (``fee:``
  on the step, a Belgian regular-supply first reminder) lists it too: it is booked to the case
  the day the letter goes out, and the debtor reads it in that letter.
* **No postal address** (street, postal code or city missing): the action fails with a
  ``delivery_failed`` event, so the next ``dunning run`` plans its fallback. A closed case's letter
  is cancelled; a case on hold waits.
* The **letter date** is the run date, and the pay link counts from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from sqlalchemy import Connection

from dunning.domain.legal.texts import charge_text
from dunning.domain.owed import Owed
from dunning.domain.planning.actions import CATALOGUE
from dunning.domain.planning.claim import is_overdue
from dunning.domain.planning.notice_kind import FINAL_TEMPLATES, notice_kind
from dunning.errors import ConfigError, NotFound
from dunning.letters import (
    Charge,
    ChargeKind,
    Creditor,
    Debtor,
    Instalment,
    Invoice,
    LetterData,
    LetterKind,
    PostalAddress,
    StatementEntry,
)
from dunning.store import Store
from dunning.store.cases import (
    CaseHeaderRecord,
    LetterCaseRecord,
    OpenInvoiceRecord,
    load_case_header,
    load_letter_cases,
    load_open_invoices,
)
from dunning.store.letter_actions import (
    CostRecord,
    load_booked_message_fees,
    load_charged_costs,
    load_last_letter_action,
    load_sent_letters_of_open_cases,
)
from dunning.store.payments import CostsPaidRecord, load_costs_paid, load_received
from dunning.store.reminders import ReminderRecord, load_reminders
from dunning.usecases.letters.plan_letters import PlanLetterError, is_plan_letter, plan_letter_data
from dunning.usecases.outgoing.due import DEFAULT_PAY_DAYS, DueAction, owed_by
from dunning.usecases.outgoing.fees import MESSAGE_CHANNELS, WENT_OUT
from dunning.usecases.outgoing.legal import legal_mentions, pack_for
from dunning.usecases.outgoing.paylinks import pay_link_for
from dunning.usecases.outgoing.secrets import Secrets, load_secrets
from dunning.workspace import Workspace

__all__ = [
    "LETTER_CHANNELS",
    "CaseData",
    "LetterBuildError",
    "case_data",
    "creditor_from",
    "has_postal_address",
    "kind_for",
    "latest_letter_kinds",
    "legal_mentions",
    "letter_data_for",
    "letter_for_case",
    "letter_for_case_in",
    "reminder_kind",
]

LETTER_CHANNELS = ("letter", "registered_letter")
ZERO = Decimal("0.00")
NOTHING_PAID = CostsPaidRecord()

TEMPLATE_KINDS: Mapping[str, LetterKind] = {
    "first_reminder": LetterKind.FIRST_REMINDER,
    "second_reminder": LetterKind.SECOND_REMINDER,
    "b2b_second_reminder": LetterKind.SECOND_REMINDER,
    "b2b_reminder": LetterKind.FIRST_REMINDER,
    "reminder": LetterKind.SECOND_REMINDER,
    "contact_data": LetterKind.SECOND_REMINDER,
    "final_notice": LetterKind.FINAL_NOTICE,
    "formal_notice": LetterKind.FINAL_NOTICE,
    "statement": LetterKind.ACCOUNT_STATEMENT,
    "thank_you": LetterKind.PAYMENT_CONFIRMATION,
    "plan_offer": LetterKind.PAYMENT_PLAN,
}
#: the kinds whose wording depends on the debtor's history (chosen by notice_kind)
REMINDER_KINDS = frozenset({LetterKind.FIRST_REMINDER, LetterKind.SECOND_REMINDER, LetterKind.FINAL_NOTICE})
#: actions whose sending is a reminder the debtor received (the legal notices of the catalogue)
NOTICE_ACTIONS = tuple(name for name, spec in CATALOGUE.items() if spec.legal_notice)
ACTION_KINDS: Mapping[str, LetterKind] = {
    "send_final_notice": LetterKind.FINAL_NOTICE,
    "thank_you": LetterKind.PAYMENT_CONFIRMATION,
    "payment_plan_offer": LetterKind.PAYMENT_PLAN,
}


class LetterBuildError(ConfigError):
    """A planned letter's data cannot be put together (unknown template, missing reference...)."""




# -- from the store to LetterData -------------------------------------------------------------------
def kind_for(template: str | None, action: str) -> LetterKind:
    """The letter kind of a step's template, else of its action; LetterBuildError for an unknown template."""
    if template:
        try:
            return TEMPLATE_KINDS[template]
        except KeyError:
            raise LetterBuildError(f"no letter template {template!r} (known: {', '.join(TEMPLATE_KINDS)})") from None
    return ACTION_KINDS.get(action, LetterKind.SECOND_REMINDER)


def _decimal(value: Any) -> Decimal | None:
    try:
        return None if value is None else Decimal(str(value))
    except InvalidOperation:
        return None


def _pay_days(settings: Mapping[str, Any]) -> int:
    days = settings.get("deadline_days")
    return int(days) if isinstance(days, int | str) and str(days).isdigit() else DEFAULT_PAY_DAYS


def creditor_from(workspace: Workspace) -> Creditor:
    config = workspace.config.creditor
    address = config.address
    return Creditor(
        name=config.name, enterprise_number=config.enterprise_number,
        address=PostalAddress(address.street, address.postal_code, address.city, address.country),
        iban=config.iban, bic=config.bic or "",
    )


@dataclass(frozen=True, slots=True)
class CaseData:
    """What a letter needs of its case beyond DueAction (debtor address, invoices, charges)."""

    debtor_pk: int
    external_id: str
    street: str
    postal_code: str
    city: str
    country: str
    consumer: bool
    invoices: tuple[Invoice, ...]
    charges: tuple[Charge, ...]
    statement: tuple[StatementEntry, ...]
    received: Decimal
    #: what the case owes; its ``total`` is the letter's total (plus a fee the letter itself carries)
    owed: Owed
    #: the case's legal-notice actions (letters, emails, final notices), whatever their status
    reminders: tuple[ReminderRecord, ...] = ()
    interest_costs: tuple[CostRecord, ...] = ()  # the case's add_interest actions, oldest first


class _Cost(Protocol):
    """A cost line as :func:`_charges` reads it (a :class:`~dunning.store.actions.CostRecord`)."""

    @property
    def amount(self) -> Decimal | None: ...

    @property
    def settings(self) -> Mapping[str, Any] | None: ...


def rule_of(detail: Mapping[str, Any] | None) -> str:
    """``<pack code>:<figure>`` of a cost from the planner's record (``BE-consumer:damages_cap``), else ""."""
    detail = detail or {}
    rules = [str(r).split(":", 1)[0].strip() for r in detail.get("rules") or ()]
    figures = [str(f.get("name") or "") for f in detail.get("figures") or () if f]
    return f"{rules[0] if rules else ''}:{figures[0] if figures else ''}" if rules or figures else ""


def _charges(rows: Sequence[_Cost], owed: Decimal, paid: Decimal, kind: ChargeKind) -> list[Charge]:
    """Charge lines of one kind, the paid part taken from the oldest first; a remainder line if the
    case carries more than its actions say. A flow's ``label`` is not used: the rule pack names the
    charge in the debtor's language (:func:`named_charges`)."""
    out: list[Charge] = []
    left_paid = paid
    listed = ZERO
    for row in rows:
        amount = row.amount or ZERO
        covered = min(amount, left_paid)
        left_paid -= covered
        listed += amount - covered
        if amount - covered > 0:
            out.append(Charge(kind, amount - covered, rule=rule_of(getattr(row, "detail", None))))
    if owed > listed:
        out.append(Charge(kind, owed - listed))
    elif owed < listed:  # the case says less is owed (costs reduced by hand): trust the case
        excess = listed - owed
        trimmed = []
        for charge in reversed(out):
            cut = min(charge.amount, excess)
            excess -= cut
            if charge.amount - cut > 0:
                trimmed.append(replace(charge, amount=charge.amount - cut))
        out = list(reversed(trimmed))
    return out


def _explained_interest(rows: Sequence[CostRecord], owed: Decimal, paid: Decimal) -> list[Charge] | None:
    """Interest lines per invoice and rate: base, period and rate, from the planner's breakdown.

    The last interest action's breakdown covers all interest charged so far (the planner charges
    what accrued less what was charged before); it is used when it adds up to what the case owes.
    None otherwise (paid in part, changed by hand, no breakdown): the caller lists the amounts.
    """
    if not rows or paid > 0:
        return None
    breakdown = rows[-1].detail.get("interest") or ()
    rule = rule_of(rows[-1].detail)
    lines: list[Charge] = []
    try:
        for item in breakdown:
            for seg in item.get("segments") or ():
                amount = Decimal(str(seg["amount"]))
                if amount > 0:
                    lines.append(Charge(ChargeKind.INTEREST, amount, rate=Decimal(str(seg["rate"])),
                                        period_start=date.fromisoformat(seg["start"]),
                                        period_end=date.fromisoformat(seg["end"]),
                                        base=Decimal(str(item["base"])), rule=rule))
    except (KeyError, TypeError, ValueError, InvalidOperation):
        return None
    if not lines or sum((c.amount for c in lines), ZERO) != owed or sum((r.amount for r in rows), ZERO) != owed:
        return None
    return lines


def named_charges(charges: Sequence[Charge], language: str, pack: str) -> tuple[Charge, ...]:
    """Each charge with the label and legal basis of the rule pack that set it, in ``language``.

    ``pack`` names a charge that carries no rule of its own (a remainder line): the debtor's pack.
    """
    named = []
    for charge in charges:
        code, _, figure = (charge.rule or f"{pack}:").partition(":")
        text = charge_text(str(charge.kind), code or pack, figure or None, language)
        named.append(charge if text is None else replace(charge, label=text[0], basis=text[1]))
    return tuple(named)


def own_fee(detail: Mapping[str, Any] | None, settings: Mapping[str, Any]) -> Charge | None:
    """The fee the letter itself carries (``detail.fee``, recorded by the nightly run), not booked yet.

    The fee is booked to the case when the letter goes out, so the letter announcing it lists it
    itself; once booked (a letter printed again), :func:`case_data` already lists it.
    """
    detail = detail or {}
    if not detail.get("fee") or detail.get("fee_booked_on"):
        return None
    amount = _decimal(detail["fee"])
    if amount is None or amount <= 0:
        return None
    return Charge(ChargeKind.FEE, amount, rule=rule_of(detail))


def case_data(conn: Connection, case_ids: list[int]) -> dict[int, CaseData]:
    """What the letters of these cases print of them: address, open invoices, costs still owed, payments."""
    found: dict[int, CaseData] = {}
    for start in range(0, len(case_ids), 500):
        chunk = case_ids[start:start + 500]
        paid = load_costs_paid(conn, chunk)
        lines: dict[int, list[OpenInvoiceRecord]] = {}
        for invoice in load_open_invoices(conn, chunk):
            lines.setdefault(invoice.case_id, []).append(invoice)
        costs: dict[tuple[int, str], list[CostRecord]] = {}
        for cost in load_charged_costs(conn, chunk):
            costs.setdefault((cost.case_id, cost.action), []).append(cost)
        for cost in load_booked_message_fees(conn, chunk, channels=MESSAGE_CHANNELS, went_out=WENT_OUT):
            costs.setdefault((cost.case_id, "add_fee"), []).append(cost)
        for key in costs:
            costs[key].sort(key=lambda c: c.due_on)
        received = load_received(conn, chunk)
        reminders = load_reminders(conn, chunk, NOTICE_ACTIONS, WENT_OUT)
        for case in load_letter_cases(conn, chunk):
            found[case.case_id] = replace(
                _case_data(case, lines.get(case.case_id, []), costs, paid.get(case.case_id, NOTHING_PAID),
                           received.get(case.case_id, ZERO)),
                reminders=tuple(reminders.get(case.case_id, ())))
    return found


def _case_data(case: LetterCaseRecord, case_lines: Sequence[OpenInvoiceRecord],
               costs: Mapping[tuple[int, str], Sequence[CostRecord]], paid: CostsPaidRecord,
               received: Decimal) -> CaseData:
    fee_costs = costs.get((case.case_id, "add_fee"), [])
    interest_costs = costs.get((case.case_id, "add_interest"), [])
    invoice_list = tuple(
        Invoice(inv.external_id, inv.invoice_date or inv.due_date, inv.due_date, inv.open_amount,
                inv.description or "")
        for inv in case_lines
    )
    owed = owed_by(sum((inv.open_amount for inv in case_lines), ZERO), case.fees_amount, case.interest_amount,
                   paid)
    fees = _charges(fee_costs, owed.fees_open, paid.fees, ChargeKind.FEE)
    interest = _explained_interest(interest_costs, owed.interest_open, paid.interest) or _charges(
        interest_costs, owed.interest_open, paid.interest, ChargeKind.INTEREST)
    statement = tuple(
        StatementEntry(inv.invoice_date or inv.due_date, inv.description or inv.external_id,
                       inv.open_amount, inv.external_id)
        for inv in case_lines
    ) + tuple(
        StatementEntry(cost.due_on, str(cost.settings.get("label") or cost.action), cost.amount)
        for cost in (*fee_costs, *interest_costs)
    ) + tuple(
        StatementEntry(max((c.due_on for c in charged), default=date.min), "Paid", -covered)
        for charged, covered in ((fee_costs, paid.fees), (interest_costs, paid.interest)) if covered > 0
    )
    return CaseData(
        debtor_pk=case.debtor_id, external_id=case.debtor_external_id, street=case.street or "",
        postal_code=case.postal_code or "", city=case.city or "",
        country=(case.country or "").upper(), consumer=(case.debtor_type or "person") == "person",
        invoices=invoice_list, charges=(*fees, *interest), statement=statement, received=received, owed=owed,
        interest_costs=tuple(interest_costs),
    )


def has_postal_address(case: CaseData) -> bool:
    return bool(case.street.strip() and case.postal_code.strip() and case.city.strip())


def letter_data_for(due: DueAction, case: CaseData, workspace: Workspace, secrets: Secrets, letter_date: date,
                    detail: Mapping[str, Any] | None) -> LetterData:
    """The LetterData of one planned letter action; LetterBuildError when it cannot be put together."""
    config = workspace.config
    if is_plan_letter(due.action):  # the plan bot's letter: one instalment (dunning.usecases.letters.plan_letters)
        try:
            return plan_letter_data(
                due, creditor=creditor_from(workspace), letter_date=letter_date, brand=config.brand,
                debtor=Debtor(due.debtor_name, (case.street, f"{case.postal_code} {case.city}".strip()),
                              case.country or config.creditor.address.country, due.language, case.external_id),
                workspace=workspace, secrets=secrets)
        except PlanLetterError as exc:
            raise LetterBuildError(str(exc)) from None
    claimed = tuple(i for i in case.invoices if is_overdue(i.due, i.open_amount, letter_date))
    later = tuple(i for i in case.invoices if i not in claimed)
    kind = kind_for(due.requested_template, due.action)
    if kind in REMINDER_KINDS:
        kind = reminder_kind(due, case, claimed, letter_date)
    if not due.reference:
        raise LetterBuildError("the case has no payment reference")
    fee = own_fee(detail, due.settings)
    country = case.country or config.creditor.address.country
    pack = pack_for(None, country, case.consumer).code
    charges = named_charges(case.charges if fee is None else (*case.charges, fee), due.language, pack)
    # The invoice and charge lines add up to this: the same total as emails, SMS and `dunning cases`,
    # less the invoices not yet due on the letter's date (never claimed).
    later_open = sum((i.open_amount for i in later), ZERO)
    total = case.owed.total - later_open + (fee.amount if fee is not None else ZERO)
    instalments: tuple[Instalment, ...] = ()
    if kind is LetterKind.PAYMENT_PLAN:
        try:
            instalments = tuple(Instalment(date.fromisoformat(str(i["due"])), Decimal(str(i["amount"])))
                                for i in due.settings.get("instalments") or ())
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            raise LetterBuildError(f"settings.instalments: {exc}") from None
        if not instalments:
            raise LetterBuildError("a payment plan letter needs settings.instalments (due, amount)")
        total = sum((i.amount for i in instalments), ZERO)
    if kind is LetterKind.PAYMENT_CONFIRMATION and case.received <= 0:
        raise LetterBuildError("a payment confirmation needs a recorded bank payment")
    if kind is LetterKind.ACCOUNT_STATEMENT:
        total = sum((e.amount for e in case.statement), ZERO)
    return LetterData(
        letter_id=str(due.action_pk),
        kind=kind,
        letter_date=letter_date,
        creditor=creditor_from(workspace),
        debtor=Debtor(due.debtor_name, (case.street, f"{case.postal_code} {case.city}".strip()),
                      case.country or config.creditor.address.country, due.language, case.external_id),
        case_number=str(due.case_id),
        total=total,
        reference=due.reference,
        currency=due.currency,
        invoices=claimed,
        not_yet_due=later if due.settings.get("show_not_yet_due") else (),
        charges=charges,
        legal=legal_mentions(detail, consumer=case.consumer, letter_date=letter_date, planned_on=due.due_on,
                             pay_days=_pay_days(due.settings), channel=due.channel,
                             country=country),
        pay_link=pay_link_for(due, workspace, secrets, letter_date),
        brand=config.brand,
        instalments=instalments,
        statement=case.statement if kind is LetterKind.ACCOUNT_STATEMENT else (),
        amount_received=case.received if kind is LetterKind.PAYMENT_CONFIRMATION else None,
    )


def reminder_kind(due: DueAction, case: CaseData, claimed: Sequence[Invoice], letter_date: date) -> LetterKind:
    """The kind of a reminder from the debtor's history (see the module docstring)."""
    own = next((r for r in case.reminders if r.action_id == due.action_pk), None)
    cycle = own.cycle if own is not None else max((r.cycle for r in case.reminders), default=1)
    reminded_on = [r.went_out_on for r in case.reminders
                   if r.action_id != due.action_pk and r.cycle == cycle and r.went_out_on is not None
                   and TEMPLATE_KINDS.get(r.template or "", LetterKind.SECOND_REMINDER) in REMINDER_KINDS]
    final = due.action == "send_final_notice" or (due.requested_template or "") in FINAL_TEMPLATES
    forced = due.settings.get("kind")
    chosen = notice_kind(final=final, on=letter_date, reminded_on=reminded_on,
                         claimed_due=[i.due for i in claimed if i.open_amount > 0],
                         forced=str(forced) if forced else None)
    return LetterKind(chosen.value)


def letter_for_case(store: Store, workspace: Workspace, case_id: int, letter_date: date,
                    kind: LetterKind | str = LetterKind.FIRST_REMINDER,
                    env: Mapping[str, str] | None = None) -> LetterData:
    """A letter of ``kind`` for case ``case_id`` as it stands, as render_letters would build it (for previews).

    Uses the case's latest letter action for the legal mentions when it has one. Raises NotFound
    (StoreError) for an unknown case.
    """
    with store.begin() as conn:
        return letter_for_case_in(conn, workspace, case_id, letter_date, kind, env)


def letter_for_case_in(conn: Connection, workspace: Workspace, case_id: int, letter_date: date,
                       kind: LetterKind | str = LetterKind.FIRST_REMINDER,
                       env: Mapping[str, str] | None = None, header: CaseHeaderRecord | None = None) -> LetterData:
    """:func:`letter_for_case` in the caller's transaction (the pay page reads it with the case's stamp).

    ``header``: the case's header when the caller read it in ``conn`` already (not read again).
    """
    secrets = load_secrets(workspace, env)
    if header is None or header.case_id != case_id:
        header = load_case_header(conn, case_id)
    if header is None:
        raise NotFound(f"no case {case_id}")
    last = load_last_letter_action(conn, case_id, LETTER_CHANNELS)
    case = case_data(conn, [case_id])[case_id]
    language = (header.language or workspace.config.creditor.language).lower()
    due = DueAction(
        action_pk=0, key=f"preview:{case_id}", action="send_letter", channel="letter",
        due_on=last.due_on if last else letter_date, settings={"template": LetterKind(kind).value},
        case_id=case_id, case_status=header.status, currency=header.currency, reference=header.reference,
        total_due=ZERO, debtor_name=header.debtor_name, language=language, country=header.country, email=None,
        email_invalid=False, phone=None,
    )
    kind_value = LetterKind(kind)
    letter = letter_data_for(due, case, workspace, secrets, letter_date, last.detail if last else None)
    return letter if letter.kind is kind_value else _with_kind(letter, kind_value)


def _with_kind(letter: LetterData, kind: LetterKind) -> LetterData:
    return replace(letter, kind=kind)


def latest_letter_kinds(store: Store) -> dict[int, LetterKind]:
    """The kind of the last letter each open case was sent, by case id (for previews in another brand)."""
    latest: dict[int, LetterKind] = {}
    with store.begin() as conn:
        for sent in load_sent_letters_of_open_cases(conn, LETTER_CHANNELS):
            latest.setdefault(sent.case_id, kind_for(sent.template, sent.action))
    return latest
