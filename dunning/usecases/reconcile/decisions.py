"""What the matcher decided about a bank file's transactions, described for the store and the report.

:class:`Decisions` gathers the matcher's result by transaction key and, for each transaction,
gives the status to record, the detail to store (rule, evidence, candidates, reasons) and the
report row (:mod:`dunning.usecases.reconcile.report`); :func:`write_off_detail` says what a
payment's write-offs were. Used by :class:`~dunning.usecases.reconcile.apply.FileRun` and the
review queue.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from dunning.domain.matching.match import (
    Evidence,
    Ignored,
    Matched,
    MatchResult,
    PaymentRecord,
    Suggested,
    Undone,
    Unmatched,
    WriteOff,
)
from dunning.store.payments import ZERO, JsonObject
from dunning.usecases.reconcile.report import ReportRow

__all__ = ["Decisions", "evidence_json", "evidence_lines", "evidence_text", "write_off_detail"]


def write_off_detail(write_offs: Sequence[WriteOff]) -> JsonObject:
    """What a payment's write-offs were: bank charges the payer paid, and what the tolerance covered."""
    charges = sum((w.charges for w in write_offs), ZERO)
    tolerance = sum((w.within_tolerance for w in write_offs), ZERO)
    parts = [f"{charges} bank charges"] if charges else []
    parts += [f"{tolerance} within the write-off tolerance"] if tolerance else []
    return {
        "amount": str(charges + tolerance),
        "bank_charges": str(charges),
        "tolerance": str(tolerance),
        "items": [w.item_id for w in write_offs],
        "reason": " and ".join(parts) + " written off",
    }


def evidence_json(items: Sequence[Evidence]) -> list[list[str]]:
    """The matcher's evidence as stored: ``[where, found, note]`` each."""
    return [[e.where, e.found, e.note] for e in items]


def evidence_lines(items: Sequence[Evidence]) -> list[str]:
    """The matcher's evidence as lines a person reads: ``where: found → note``."""
    return [f"{e.where}: {e.found} → {e.note}" for e in items]


def evidence_text(items: Sequence[Evidence]) -> str:
    """The evidence lines on one line of the report."""
    return " | ".join(evidence_lines(items))


@dataclass(frozen=True, slots=True)
class Decisions:
    """What the matcher decided about the file's transactions, by transaction key."""

    matched: dict[str, Matched]
    undone: dict[str, Undone]
    suggested: dict[str, Suggested]
    unmatched: dict[str, Unmatched]
    ignored: dict[str, Ignored]
    records: dict[str, PaymentRecord]

    @classmethod
    def of(cls, result: MatchResult) -> Decisions:
        ignored: dict[str, Ignored] = {}
        for i in result.ignored:
            ignored.setdefault(i.tx_key, i)  # the first reason the matcher gave
        return cls(
            matched={m.tx_key: m for m in result.matched},
            undone={u.tx_key: u for u in result.undone},
            suggested={s.tx_key: s for s in result.suggested},
            unmatched={u.tx_key: u for u in result.unmatched},
            ignored=ignored,
            records={r.tx_key: r for r in result.records},
        )

    def describe(self, key: str, detail: JsonObject, report: ReportRow) -> tuple[str, ReportRow]:
        """The status to record for transaction ``key``.

        ``detail`` (what is stored) gets the rule and the evidence; the returned report row, the outcome.
        """
        if key in self.matched:
            m = self.matched[key]
            rule = str(m.rule)
            detail.update(rule=rule, case=m.case_id, evidence=evidence_json(m.evidence), credit=str(m.credit))
            items = ", ".join(f"{a.item_id} {a.amount}" for a in m.allocations)
            items += "".join(f", {w.item_id} written off {w.amount}" for w in m.write_offs)
            written_off = sum((w.amount for w in m.write_offs), ZERO)
            report = dataclasses.replace(
                report,
                written_off=written_off if m.write_offs else None,
                write_off_reason=write_off_detail(m.write_offs)["reason"] if m.write_offs else "",
                outcome="matched",
                rule=rule,
                case=m.case_id,
                paid_items=items,
                credit=m.credit,
                evidence=evidence_text(m.evidence),
            )
            return "matched", report
        if key in self.undone:
            u = self.undone[key]
            rule = str(u.rule)
            detail.update(rule=rule, undoes=u.original_key, evidence=evidence_json(u.evidence))
            cases_hit = sorted({a.case_id for a in u.reopened}, key=int)
            report = dataclasses.replace(
                report,
                outcome="undone",
                rule=rule,
                case=", ".join(cases_hit),
                paid_items=", ".join(f"{a.item_id} reopened {a.amount}" for a in u.reopened),
                reason=f"undoes {u.original_key}",
                evidence=evidence_text(u.evidence),
            )
            return "matched", report
        if key in self.suggested:
            s = self.suggested[key]
            rule = str(s.rule)
            candidates = [
                {"case": c.case_id, "item": c.item_id, "score": c.score, "evidence": evidence_json(c.evidence)}
                for c in s.candidates
            ]
            detail.update(rule=rule, reason=s.reason, candidates=candidates, evidence=evidence_json(s.evidence))
            report = dataclasses.replace(
                report,
                outcome="suggested",
                rule=rule,
                reason=s.reason,
                evidence=evidence_text(s.evidence),
                case=s.candidates[0].case_id if s.candidates else "",
                candidates="; ".join(f"case {c.case_id} ({c.score:.2f})" for c in s.candidates),
            )
            return "suggested", report
        if key in self.unmatched:
            un = self.unmatched[key]
            detail.update(reason=un.reason, evidence=evidence_json(un.evidence))
            report = dataclasses.replace(
                report, outcome="unmatched", reason=un.reason, evidence=evidence_text(un.evidence)
            )
            return "unmatched", report
        if key in self.ignored:
            ig = self.ignored[key]
            detail.update(reason=f"{ig.reason}: {ig.detail}")
            report = dataclasses.replace(report, reason=f"{ig.reason}: {ig.detail}")
            return "ignored", report
        return "ignored", report
