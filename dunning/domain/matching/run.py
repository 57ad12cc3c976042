"""One matching run: the state :func:`~dunning.domain.matching.match.match_payments` drives, and the rules.

:class:`MatchRun` holds the working copies of the cases a run touches and the results so far; it
classifies each transaction (``_classify``: settle, undo or ignore), orders them (booking date,
credits before undos, key), tries rules 1-3 transaction by transaction and rule 4 for the
leftovers, and undoes returns and reversals. The rules themselves are described in the docstring
of :mod:`dunning.domain.matching.match`, the public entry point and the home of the re-exports.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from decimal import Decimal

from dunning.domain.matching.allocation import WorkingCase
from dunning.domain.matching.charges import excused_charges
from dunning.domain.matching.history import PaymentHistory
from dunning.domain.matching.iban import decide_by_iban
from dunning.domain.matching.index import AmountHit, MatchIndex
from dunning.domain.matching.mistyped import mistyped_reference_candidates
from dunning.domain.matching.model import (
    Allocation,
    BankTransaction,
    Candidate,
    CreditDebit,
    EntryStatus,
    Evidence,
    Ignored,
    IgnoreReason,
    ItemKind,
    MatchConfig,
    Matched,
    MatchResult,
    OpenItem,
    PaymentRecord,
    RefKind,
    Rule,
    Suggested,
    Undone,
    Unmatched,
    WriteOff,
)
from dunning.domain.matching.subset import fits as _fits
from dunning.domain.matching.text import (
    NameScorer,
    canonical_reference,
    find_invoice_numbers,
    find_references,
    name_tokens,
    normalize_iban,
    normalize_name,
)
from dunning.domain.money import minor_unit

_ZERO = Decimal(0)
_LABEL = {RefKind.BE_OGM: "OGM", RefKind.RF: "RF reference", RefKind.OTHER: "reference"}
_CREDIT, _UNDO = 0, 1  # processing phase within one booking date


def _classify(tx: BankTransaction) -> tuple[int, Rule] | tuple[IgnoreReason, str]:
    """(phase, rule) for a transaction to process, or (reason, detail) for one to ignore."""
    if tx.status is not EntryStatus.BOOK:
        return IgnoreReason.NOT_BOOKED, f"status {tx.status}: only booked entries settle anything"
    if tx.amount == 0:
        return IgnoreReason.ZERO_AMOUNT, "amount is 0"
    if tx.credit_debit is CreditDebit.DBIT:
        if tx.return_reason:
            return _UNDO, Rule.RETURN
        if tx.reversal:
            return _UNDO, Rule.REVERSAL
        return IgnoreReason.DEBIT, "a debit is not a customer payment"
    if tx.reversal:
        return IgnoreReason.NOT_A_PAYMENT, "a credit that reverses one of our debits"
    if tx.return_reason:
        return IgnoreReason.NOT_A_PAYMENT, f"an outgoing payment coming back (reason {tx.return_reason})"
    return _CREDIT, Rule.NONE


_MAX_WINDOW = 500


def _write_off_note(w: WriteOff, tx: BankTransaction) -> str:
    """Why a write-off: ``0.35 bank charges (instructed 100.00, booked 99.65): written off``."""
    parts = []
    if w.charges:
        instructed = f"instructed {tx.original_amount}, " if tx.original_amount is not None else ""
        parts.append(f"{w.charges} bank charges ({instructed}booked {tx.amount})")
    if w.within_tolerance:
        parts.append(f"{w.within_tolerance} short, within the tolerance")
    return " and ".join(parts) + f": {w.amount} written off"


def _window(currency: str, amount: Decimal, tolerance: Decimal) -> list[Decimal]:
    """The targets ``amount`` pays within the tolerance: amount, amount + 0.01, … amount + tolerance."""
    step = Decimal(1).scaleb(-minor_unit(currency))
    # Rule 4 only suggests: a few hundred targets are plenty (a tolerance beyond that asks too much).
    return [amount + k * step for k in range(min(int(tolerance / step), _MAX_WINDOW) + 1)]


class MatchRun:
    """The state of one matching run: working copies of touched cases and the results so far."""

    def __init__(
        self,
        index: MatchIndex,
        config: MatchConfig,
        applied_keys: Collection[str],
        history: Iterable[PaymentRecord],
        undone_keys: Collection[str] = frozenset(),
    ) -> None:
        self.index = index
        self.config = config
        self.applied_keys = applied_keys
        self.work: dict[str, WorkingCase] = {}
        self.matched: list[Matched] = []
        self.suggested: list[Suggested] = []
        self.unmatched: list[Unmatched] = []
        self.ignored: list[Ignored] = []
        self.undone: list[Undone] = []
        self.records: list[PaymentRecord] = []
        self.consumed: set[str] = set()
        self.problems: list[str] = list(index.problems)
        self.history = PaymentHistory(history, undone_keys)
        self.names: dict[str, str] = {}
        self.deferred: list[tuple[BankTransaction, list[Evidence]]] = []

    # ------------------------------------------------------------------ driving

    def run(self, transactions: Iterable[BankTransaction]) -> None:
        by_key: dict[str, list[BankTransaction]] = defaultdict(list)
        for tx in transactions:
            by_key[tx.key].append(tx)
        todo: list[tuple[object, int, str, BankTransaction, Rule]] = []
        for key, copies in by_key.items():
            classified = [(tx, _classify(tx)) for tx in copies]
            if len(classified) > 1:
                # The copy that counts: an effective one if any; ties broken by content, not input order.
                classified.sort(key=lambda c: (not isinstance(c[1][0], int), repr(c[0])))
            primary_taken = False
            for tx, decision in classified:
                if isinstance(decision[0], IgnoreReason):
                    self.ignored.append(Ignored(key, decision[0], str(decision[1])))
                elif primary_taken:
                    self.ignored.append(Ignored(key, IgnoreReason.DUPLICATE, "the same key twice in this run"))
                elif key in self.applied_keys:
                    primary_taken = True
                    self.ignored.append(Ignored(key, IgnoreReason.DUPLICATE, "already applied in an earlier run"))
                else:
                    primary_taken = True
                    phase, rule = decision
                    todo.append((tx.booking_date, phase, key, tx, rule))
        todo.sort(key=lambda t: (t[0], t[1], t[2]))
        for _, phase, key, tx, rule in todo:
            self.consumed.add(key)
            if phase == _CREDIT:
                self._credit(tx)
            else:
                self._undo(tx, rule)
        self._leftovers()

    def result(self) -> MatchResult:
        cases = tuple(w.outcome() for _, w in sorted(self.work.items()))
        return MatchResult(
            matched=tuple(sorted(self.matched, key=lambda m: m.tx_key)),
            suggested=tuple(sorted(self.suggested, key=lambda s: s.tx_key)),
            unmatched=tuple(sorted(self.unmatched, key=lambda u: u.tx_key)),
            ignored=tuple(sorted(self.ignored, key=lambda i: (i.tx_key, i.reason, i.detail))),
            undone=tuple(sorted(self.undone, key=lambda u: u.tx_key)),
            cases=cases,
            records=tuple(sorted(self.records, key=lambda r: r.tx_key)),
            applied_keys=frozenset(self.consumed),
            problems=tuple(self.problems),
        )

    # ------------------------------------------------------------------ state helpers

    def _work(self, case_id: str) -> WorkingCase:
        work = self.work.get(case_id)
        if work is None:
            work = self.work[case_id] = WorkingCase(self.index.cases[case_id])
        return work

    def _open_items(self, case_id: str) -> list[tuple[OpenItem, Decimal]]:
        """The case's items with their open amounts as of now (this run's payments included)."""
        work = self.work.get(case_id)
        if work is not None:
            return [(item, work.open[item.item_id]) for item in work.items.values()]
        return [(item, item.open_amount) for item in self.index.cases[case_id].items]

    def _debtor_name(self, case_id: str) -> str:
        """The case's debtor name, normalised once per run."""
        name = self.names.get(case_id)
        if name is None:
            name = self.names[case_id] = normalize_name(self.index.cases[case_id].debtor_name or "")
        return name

    def _allowance(self, tx: BankTransaction) -> Decimal:
        """How far ``tx`` may fall short of an amount and still pay it: the bank charges it bore and the tolerance."""
        return self.config.tolerance_for(tx.currency) + excused_charges(tx)

    def _record(
        self,
        tx: BankTransaction,
        allocations: tuple[Allocation, ...] = (),
        write_offs: tuple[WriteOff, ...] = (),
        credit_case_id: str | None = None,
        credit: Decimal = _ZERO,
        unapplied: Decimal = _ZERO,
    ) -> None:
        sref = tx.structured_ref
        record = PaymentRecord(
            tx_key=tx.key,
            booking_date=tx.booking_date,
            amount=tx.amount,
            currency=tx.currency,
            end_to_end_id=tx.end_to_end,
            reference=canonical_reference(sref.value)[1] if sref is not None and sref.valid else None,
            debtor_iban=normalize_iban(tx.debtor_iban) if tx.debtor_iban else None,
            allocations=allocations,
            write_offs=write_offs,
            credit_case_id=credit_case_id,
            credit=credit,
            unapplied=unapplied,
        )
        self.records.append(record)
        self.history.add(record)

    # ------------------------------------------------------------------ outcomes

    def _apply(
        self, tx: BankTransaction, rule: Rule, case_id: str, named: Iterable[str], evidence: list[Evidence]
    ) -> None:
        case = self.index.cases[case_id]
        if case.currency != tx.currency:
            evidence.append(Evidence("currency", tx.currency, f"case {case_id} is in {case.currency}: not applied"))
            candidate = Candidate(case_id, None, 1.0, tuple(evidence))
            self._suggest(tx, rule, "the payment's currency differs from the case's", [candidate], evidence)
            return
        work = self._work(case_id)
        charges = excused_charges(tx)
        allocations, write_offs, credit = work.apply(
            tx.amount, named, self.config.allocation_order, self.config.tolerance_for(tx.currency), charges
        )
        for w in write_offs:
            evidence.append(Evidence("amount", str(tx.amount), _write_off_note(w, tx)))
        if credit > 0:
            evidence.append(Evidence("amount", str(tx.amount), f"{credit} more than owed: kept as a credit"))
        self.matched.append(Matched(tx.key, rule, case_id, tx.amount, allocations, write_offs, credit, tuple(evidence)))
        self._record(
            tx,
            allocations=allocations,
            write_offs=write_offs,
            credit_case_id=case_id if credit > 0 else None,
            credit=credit,
        )

    def _suggest(
        self,
        tx: BankTransaction,
        rule: Rule,
        reason: str,
        candidates: list[Candidate],
        evidence: list[Evidence],
    ) -> None:
        ranked = sorted(candidates, key=lambda c: (-c.score, c.case_id, c.item_id or ""))
        self.suggested.append(
            Suggested(
                tx.key,
                rule,
                tx.amount,
                tx.currency,
                reason,
                tuple(ranked[: self.config.max_candidates]),
                tuple(evidence),
            )
        )
        self._record(tx, unapplied=tx.amount)

    def _unmatched(self, tx: BankTransaction, reason: str, evidence: list[Evidence]) -> None:
        self.unmatched.append(Unmatched(tx.key, tx.amount, tx.currency, reason, tuple(evidence)))
        self._record(tx, unapplied=tx.amount)

    # ------------------------------------------------------------------ credits: the four rules

    def _credit(self, tx: BankTransaction) -> None:
        evidence: list[Evidence] = []
        if self._rule_structured(tx, evidence):
            return
        if self._rule_text(tx, evidence):
            return
        if self._rule_iban(tx, evidence):
            return
        # Rule 4 only ever suggests, so it can wait for the end of the run: then one pass
        # over the cases finds every amount the leftover payments ask about.
        self.deferred.append((tx, evidence))

    def _leftovers(self) -> None:
        """Rule 4 for the payments rules 1-3 could not place, against the cases as they are now."""
        if not self.deferred:
            return
        wanted: dict[str, set[Decimal]] = defaultdict(set)
        windows = {}
        for tx, _ in self.deferred:
            windows[tx.key] = _window(tx.currency, tx.amount, self._allowance(tx))
            wanted[tx.currency].update(windows[tx.key])
        now = {case_id: work.open for case_id, work in self.work.items()}
        table = self.index.amounts(wanted, now)
        for tx, evidence in self.deferred:
            hits = [hit for value in windows[tx.key] for hit in table.get((tx.currency, value), ())]
            if not self._rule_amount_name(tx, evidence, hits) and not self._rule_mistyped_reference(tx, evidence):
                self._unmatched(tx, "no rule identified a case", evidence)

    def _rule_mistyped_reference(self, tx: BankTransaction, evidence: list[Evidence]) -> bool:
        """Check digits that fail still name candidates for review (:mod:`dunning.domain.matching.mistyped`)."""
        candidates = mistyped_reference_candidates(tx, self.index, self._debtor_name, self.config.name_threshold)
        if not candidates:
            return False
        reason = "the reference's check digits fail: candidates from the reference, the payer's account or name"
        self._suggest(tx, Rule.STRUCTURED_REFERENCE, reason, candidates, evidence)
        return True

    def _named_in_text(self, tx: BankTransaction, case_id: str) -> list[str]:
        """Invoices of ``case_id`` whose numbers the free text names."""
        if not tx.remittance:
            return []
        named: list[str] = []
        for norm, _raw in find_invoice_numbers(tx.remittance, self.config.compiled_pattern):
            named.extend(item for cid, item in self.index.invoice_number(norm) if cid == case_id)
        return named

    def _rule_structured(self, tx: BankTransaction, evidence: list[Evidence]) -> bool:
        sref = tx.structured_ref
        if sref is None:
            return False
        kind, canonical = canonical_reference(sref.value)
        label = _LABEL[kind]
        # The reader validated the check digits (``StructuredRef.valid``, see structured_ref()).
        if not sref.valid:
            evidence.append(
                Evidence("structured_reference", sref.value, f"{label} check digits fail: not used to match")
            )
            return False
        case_ids = self.index.reference(canonical)
        if not case_ids:
            evidence.append(Evidence("structured_reference", sref.value, f"valid {label}, but no open case carries it"))
            return False
        if len(case_ids) > 1:
            candidates = [
                Candidate(cid, None, 1.0, (Evidence("structured_reference", sref.value, f"reference of {cid}"),))
                for cid in case_ids
            ]
            self._suggest(tx, Rule.STRUCTURED_REFERENCE, "several cases carry this reference", candidates, evidence)
            return True
        case_id = case_ids[0]
        evidence.append(
            Evidence("structured_reference", sref.value, f"valid {label}, the payment reference of case {case_id}")
        )
        self._apply(tx, Rule.STRUCTURED_REFERENCE, case_id, self._named_in_text(tx, case_id), evidence)
        return True

    def _rule_text(self, tx: BankTransaction, evidence: list[Evidence]) -> bool:
        if not tx.remittance:
            return False
        hits: dict[str, list[Evidence]] = defaultdict(list)
        named: dict[str, list[str]] = defaultdict(list)
        exact: set[str] = set()
        for ref in find_references(tx.remittance, self.index.has_reference):
            label = _LABEL[ref.kind]
            for case_id in self.index.reference(ref.value):
                note = f"{label} {ref.value} is the payment reference of case {case_id}"
                if ref.repair:
                    note += f" ({ref.repair})"
                else:
                    exact.add(case_id)
                hits[case_id].append(Evidence("remittance", ref.raw, note))
        for norm, raw in find_invoice_numbers(tx.remittance, self.config.compiled_pattern):
            for case_id, item_id in self.index.invoice_number(norm):
                exact.add(case_id)
                if item_id not in named[case_id]:
                    named[case_id].append(item_id)
                    hits[case_id].append(Evidence("remittance", raw, f"invoice number of {item_id} in case {case_id}"))
        if not hits:
            return False
        repaired_only = set(hits) - exact
        if len(hits) == 1:
            ((case_id, found),) = hits.items()
            evidence.extend(found)
            if case_id in repaired_only and not self._confirms(tx, case_id):
                candidate = Candidate(case_id, None, 0.9, tuple(found))
                reason = "a repaired reference, not confirmed by the amount or the payer's account"
                self._suggest(tx, Rule.TEXT_REFERENCE, reason, [candidate], evidence)
                return True
            self._apply(tx, Rule.TEXT_REFERENCE, case_id, named.get(case_id, []), evidence)
            return True
        candidates = [Candidate(cid, None, 1.0, tuple(ev)) for cid, ev in sorted(hits.items())]
        self._suggest(tx, Rule.TEXT_REFERENCE, "the text names several cases", candidates, evidence)
        return True

    def _confirms(self, tx: BankTransaction, case_id: str) -> bool:
        """A second sign that ``tx`` pays ``case_id``: a known payer account, or an amount that fits."""
        case = self.index.cases[case_id]
        if tx.debtor_iban and normalize_iban(tx.debtor_iban) in {normalize_iban(i) for i in case.debtor_ibans}:
            return True
        items = self._open_items(case_id)
        tol = self._allowance(tx)
        return _fits(tx.amount, sum((a for _, a in items), _ZERO), tol) or any(
            _fits(tx.amount, a, tol) for i, a in items if i.kind is ItemKind.PRINCIPAL
        )

    def _rule_iban(self, tx: BankTransaction, evidence: list[Evidence]) -> bool:
        """Rule 3 (see :mod:`dunning.domain.matching.iban`): a known account and an amount that fits."""
        if not tx.debtor_iban:
            return False
        case_ids = [cid for cid in self.index.iban(tx.debtor_iban) if self.index.cases[cid].currency == tx.currency]
        if not case_ids:
            return False
        cases = [(case_id, self._open_items(case_id)) for case_id in case_ids]
        decision = decide_by_iban(tx.amount, cases, self._allowance(tx))
        evidence.extend(decision.evidence)
        if decision.case_id is not None:
            self._apply(tx, Rule.DEBTOR_IBAN, decision.case_id, decision.named, evidence)
        else:
            self._suggest(tx, Rule.DEBTOR_IBAN, decision.reason, list(decision.candidates), evidence)
        return True

    def _rule_amount_name(self, tx: BankTransaction, evidence: list[Evidence], hits: list[AmountHit]) -> bool:
        cfg = self.config
        fits: dict[str, list[str | None]] = defaultdict(list)
        for case_id, item_id in hits:
            fits[case_id].append(item_id)
        if not fits:
            return False
        if not tx.debtor_name:
            evidence.append(
                Evidence("amount", str(tx.amount), f"fits open items of {len(fits)} case(s); no name to confirm")
            )
            return False
        pool = sorted(fits)
        if len(pool) > cfg.max_fuzzy_candidates:
            # A common amount: keep the cases whose debtor shares a word of the payer's name.
            words = set(name_tokens(tx.debtor_name))
            pool = [cid for cid in pool if words & set(name_tokens(self.index.cases[cid].debtor_name or ""))][
                : cfg.max_fuzzy_candidates
            ]
        candidates = []
        scorer = NameScorer(tx.debtor_name, cfg.name_threshold)
        for case_id in pool:
            score = scorer.score_normalized(self._debtor_name(case_id))
            if not score:
                continue
            ev = [Evidence("debtor_name", "payer name", f"similar to the debtor of case {case_id} ({score:.2f})")]
            fitting = fits[case_id]
            for item_id in fitting:
                what = "the open total" if item_id is None else f"the open amount of {item_id}"
                ev.append(Evidence("amount", str(tx.amount), f"equals {what}"))
            item = fitting[0] if len(fitting) == 1 else None
            candidates.append(Candidate(case_id, item, round(score, 3), tuple(ev)))
        if not candidates:
            evidence.append(
                Evidence("amount", str(tx.amount), f"fits open items of {len(fits)} case(s); no similar name")
            )
            return False
        self._suggest(tx, Rule.AMOUNT_NAME, "amount and a similar name: suggestion only", candidates, evidence)
        return True

    # ------------------------------------------------------------------ returns and reversals

    def _undo(self, tx: BankTransaction, rule: Rule) -> None:
        original, how = self.history.find_original(tx, rule)
        what = "return" if rule is Rule.RETURN else "reversal"
        if original is None:
            self.unmatched.append(
                Unmatched(
                    tx.key,
                    tx.amount,
                    tx.currency,
                    f"{what}: the payment it undoes was not found",
                    (Evidence("return_reason", tx.return_reason or "-", f"{what} of an unknown payment"),),
                )
            )
            return
        self.history.mark_undone(original)
        reopened: list[Allocation] = []
        by_case: dict[str, tuple[list[Allocation], list[WriteOff]]] = defaultdict(lambda: ([], []))
        for alloc in original.allocations:
            by_case[alloc.case_id][0].append(alloc)
        for wo in original.write_offs:
            by_case[wo.case_id][1].append(wo)
        credit_reversed = _ZERO
        touched = set(by_case)
        if original.credit_case_id is not None:
            touched.add(original.credit_case_id)
        for case_id in sorted(touched):
            if case_id not in self.index.cases:
                self.problems.append(f"{what} {tx.key}: case {case_id} of payment {original.tx_key} is gone")
                continue
            allocs, wos = by_case.get(case_id, ([], []))
            credit = original.credit if case_id == original.credit_case_id else _ZERO
            again, taken = self._work(case_id).reopen(allocs, wos, credit)
            reopened.extend(again)
            credit_reversed += taken
        fee_item: OpenItem | None = None
        fee = tx.amount - original.amount
        home = original.allocations[0].case_id if original.allocations else original.credit_case_id
        if rule is Rule.RETURN and fee > 0 and self.config.charge_return_fees and home in self.index.cases:
            assert home is not None
            principal = next((a.item_id for a in original.allocations if a.kind is ItemKind.PRINCIPAL), None)
            fee_item = OpenItem(f"return-fee:{tx.key}", ItemKind.COSTS, tx.booking_date, fee, invoice_id=principal)
            self._work(home).add_item(fee_item)
        evidence = (
            Evidence("original", original.tx_key, f"{what} linked to the payment by {how}"),
            *(
                (Evidence("return_reason", tx.return_reason, "reason code given by the bank"),)
                if tx.return_reason
                else ()
            ),
        )
        self.undone.append(
            Undone(
                tx.key,
                rule,
                original.tx_key,
                tuple(reopened),
                credit_reversed,
                original.unapplied,
                tx.return_reason,
                fee_item,
                evidence,
            )
        )
