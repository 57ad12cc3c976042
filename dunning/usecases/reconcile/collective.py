"""Collective bookings and their details: booked once, whichever file comes first (AC-08, AC-26).

A bank books the day's QR/ESR payments as one collective entry in its camt.053 and gives each
payment in a camt.054 (research/camt.md P3; the PostFinance files in ``moov/``). The reader marks
the collective entry (:attr:`~dunning.bank.read.BankLine.collective`) and every
transaction of a detailed batch (``BankLine.batch``), each with the same link keys (the entry's
bank reference, the batch's PmtInfId, the bank's package id, the booking date with NtryRef; see
:mod:`dunning.bank.read`). The rule:

* the **payments** are always booked from the details (matched, suggested or left for review
  one by one); the collective entry itself never goes to the matcher and never to the review queue;
* **details first** (camt.054, then camt.053): the collective entry finds its batch by a link key
  and is recorded as ``linked`` (``bank_transactions.detail['collective']``, status ``ignored``);
* **collective first** (camt.053, then camt.054): it is recorded as ``awaiting_details`` and its link
  keys are registered; the batch that later carries one of them books its payments and marks the
  collective ``linked`` (the transactions it stands for, and the file that brought them);
* a collective still **awaiting** its details ``COLLECTIVE_GRACE_DAYS`` after its booking date
  (the camt.054 never came: not subscribed, lost) gets one review item, so the money does not stay
  unseen; it has no payment record, so a person can only reject it (or wait: the details, when they
  come, link it and cancel the item);
* the same collective reported again (another file: a camt.052 of it, a re-delivery) shares a
  link key with the recorded one and is a duplicate; the same details again are duplicates by
  their own identities. Where both sides give a transaction count, a different count does not link.

Link keys live in ``bank_transaction_aliases`` (prefix ``coll|``, never a transaction identity):
each names the collective entry that waits for it, or the first transaction of the batch that
details it. Everything happens inside the file's one database transaction.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy import Connection

from dunning.bank.read import BankLine, BatchLink
from dunning.store.payments import (
    JsonObject,
    StoredTransaction,
    insert_aliases,
    load_ignored_transactions,
    set_transaction_detail,
    transactions_by_alias,
)
from dunning.store.review import NewReviewItem, cancel_open_reviews, insert_review_items

__all__ = ["AWAITING", "COLLECTIVE_GRACE_DAYS", "LINKED", "Collectives"]

AWAITING, LINKED = "awaiting_details", "linked"
#: Days after its booking date a collective may wait for its camt.054 before a person is asked
#: (PostFinance delivers it the same night; this covers weekends and a late delivery).
COLLECTIVE_GRACE_DAYS = 5


@dataclass(frozen=True)
class _Known:
    """A transaction a link key already names: a collective entry, or the first of a detailed batch."""

    id: int
    key: str
    detail: JsonObject

    @classmethod
    def of(cls, stored: StoredTransaction) -> _Known:
        return cls(stored.id, stored.key, stored.detail)

    @property
    def collective(self) -> JsonObject | None:
        value = self.detail.get("collective")
        return value if isinstance(value, dict) else None

    @property
    def batch(self) -> JsonObject | None:
        value = self.detail.get("batch")
        return value if isinstance(value, dict) and "transactions" in value else None


def _counts_agree(a: object, b: object) -> bool:
    return a is None or b is None or a == b


class Collectives:
    """The collective entries and detailed batches of one bank file, linked to earlier files."""

    def __init__(self, conn: Connection, file_name: str) -> None:
        self.conn = conn
        self.file_name = file_name
        self.known: dict[str, _Known] = {}
        self.state: dict[str, JsonObject] = {}  # collective line key → its detail['collective']
        self.counts: Counter[str] = Counter()
        self.warnings: list[str] = []
        self.registered: set[str] = set()

    # ---------------------------------------------------------------- before matching

    def recognise(self, lines: Sequence[BankLine]) -> list[BankLine]:
        """Decide each collective line: a duplicate of a recorded collective, linked, or awaiting details.

        A duplicate gets the recorded collective's key (the caller reports it as a duplicate).
        """
        keys = sorted({k for line in lines for link in (line.collective, line.batch) if link for k in link.keys})
        self.known = self._lookup(keys)
        out: list[BankLine] = []
        for line in lines:
            link = line.collective
            if link is None:
                out.append(line)
                continue
            hits = [self.known[k] for k in link.keys if k in self.known]
            same = next((h for h in hits if h.collective is not None), None)
            if same is not None:
                out.append(replace(line, tx=replace(line.tx, key=same.key)))
                continue
            batch = next((h for h in hits if h.batch is not None), None)
            state: JsonObject = {"state": AWAITING, **link.to_json()}
            if batch is not None and batch.batch is not None:
                if _counts_agree(link.count, batch.batch.get("count")):
                    found = {**batch.batch, "file": batch.detail.get("file")}
                    state.update(state=LINKED, **self._linked_to(found, batch.key))
                else:
                    self.warnings.append(
                        f"{self.file_name}, line {line.line}: collective booking of {link.total} announces "
                        f"{link.count} transactions, the batch {batch.key} details {batch.batch.get('count')}: "
                        "not linked"
                    )
            self.state[line.key] = state
            out.append(line)
        return out

    # ---------------------------------------------------------------- recording

    def collective_detail(self, line: BankLine) -> tuple[JsonObject, str] | None:
        """(detail['collective'], reason) for a collective line recorded now; counts it."""
        state = self.state.get(line.key)
        if line.collective is None or state is None:
            return None
        self.counts[state["state"]] += 1
        if state["state"] == LINKED:
            linked = state["linked_to"]
            reason = (
                f"collective booking of {linked['count']} transactions already booked one by one "
                f"from {linked['file']}: linked, not booked again"
            )
        else:
            reason = line.skip or "collective booking without details: awaiting its camt.054"
        return state, reason

    @staticmethod
    def batch_detail(line: BankLine, anchor: str, keys: list[str]) -> JsonObject | None:
        """detail['batch'] of a transaction of a detailed batch (the whole batch on its first one)."""
        if line.batch is None:
            return None
        if line.key != anchor:
            return {"anchor": anchor}
        return {**line.batch.to_json(), "transactions": keys}

    # ---------------------------------------------------------------- after recording

    def register(self, lines: Sequence[BankLine], tx_ids: dict[str, int]) -> None:
        """Register the link keys of what this file recorded; link collectives waiting for these details."""
        rows: list[tuple[str, int]] = []

        def add(key: str, tx_id: int) -> None:
            if key not in self.known and key not in self.registered:
                self.registered.add(key)
                rows.append((key, tx_id))

        groups: dict[int, list[BankLine]] = defaultdict(list)
        for line in lines:
            if line.collective is not None and line.key in tx_ids:
                if self.state.get(line.key, {}).get("state") == AWAITING:
                    for key in line.collective.keys:
                        add(key, tx_ids[line.key])
            elif line.batch is not None:
                groups[line.batch.number].append(line)
        for group in groups.values():
            new = [line for line in group if line.key in tx_ids]
            if not new:
                continue  # the same details again: linked (or not) when first seen
            anchor = new[0]
            link = anchor.batch
            assert link is not None
            waiting = [
                self.known[k]
                for k in link.keys
                if k in self.known
                and (self.known[k].collective or {}).get("state") == AWAITING
                and self.known[k].key not in self.state
            ]
            target = next((w for w in waiting if _counts_agree((w.collective or {}).get("count"), link.count)), None)
            if target is not None:
                self._link_waiting(target, link, anchor.key, [line.key for line in group])
            elif waiting:
                self.warnings.append(
                    f"{self.file_name}, line {anchor.line}: the batch of {link.total} details {link.count} "
                    f"transactions, the collective booking {waiting[0].key} announces "
                    f"{(waiting[0].collective or {}).get('count')}: not linked"
                )
            for key in link.keys:
                add(key, tx_ids[anchor.key])
        insert_aliases(self.conn, rows)

    def _link_waiting(self, target: _Known, link: BatchLink, anchor: str, keys: list[str]) -> None:
        collective = dict(target.collective or {})
        batch = {**link.to_json(), "transactions": keys}
        collective.update(state=LINKED, **self._linked_to(batch, anchor))
        reason = f"collective booking: its {link.count} transactions were booked one by one from {self.file_name}"
        detail = {**target.detail, "collective": collective, "reason": reason}
        set_transaction_detail(self.conn, target.id, detail)
        # Asked about it because it waited too long: the details answer that question.
        cancel_open_reviews(self.conn, target.id)
        self.state[target.key] = collective  # never link it twice in this file
        self.counts[LINKED] += 1

    def escalate(self, *, as_of: date, since: date, recorded_at: datetime) -> int:
        """One review item for each collective booked in ``[since, as_of - grace)`` still awaiting details."""
        cutoff = as_of - timedelta(days=COLLECTIVE_GRACE_DAYS)
        items: list[NewReviewItem] = []
        for row in load_ignored_transactions(self.conn, booked_from=since, booked_before=cutoff):
            detail = dict(row.detail)
            collective = detail.get("collective")
            if not isinstance(collective, dict) or collective.get("state") != AWAITING or collective.get("asked_on"):
                continue
            reason = (
                f"collective booking of {row.amount} {row.currency} ({collective.get('count') or '?'} transactions, "
                f"booked {row.booking_date.isoformat()}) still without its details after {COLLECTIVE_GRACE_DAYS} "
                "days: check the camt.054 delivery; its payments are booked when it comes"
            )
            evidence = {
                "rule": "none",
                "reason": reason,
                "amount": str(row.amount),
                "currency": row.currency,
                "candidates": [],
                "evidence": [["collective", str(collective.get("package") or ""), reason]],
            }
            items.append(NewReviewItem(row.id, None, evidence, recorded_at))
            detail["collective"] = {**collective, "asked_on": as_of.isoformat()}
            set_transaction_detail(self.conn, row.id, detail)
        insert_review_items(self.conn, items)
        return len(items)

    def _linked_to(self, batch: JsonObject, anchor: str) -> JsonObject:
        return {
            "linked_to": {
                "file": batch.get("file") or self.file_name,
                "anchor": anchor,
                "count": batch.get("count"),
                "total": batch.get("total"),
                "transactions": list(batch.get("transactions", ())),
            }
        }

    def _lookup(self, keys: Sequence[str]) -> dict[str, _Known]:
        return {found.alias: _Known.of(found.transaction) for found in transactions_by_alias(self.conn, keys)}
