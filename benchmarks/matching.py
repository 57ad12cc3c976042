"""Benchmark: match 100 000 bank transactions against 1 000 000 open invoices (≈ 300 000 cases).

Budget (DESIGN.md §7): under 10 s on one 2-core machine, indexes included.

Synthetic data from a seed: cases with 1-6 invoices (some with a fee), each
with an OGM or RF payment reference, invoice numbers ``INV-0000001``, debtor
IBANs and names. Transactions: exact structured references, partial payments,
references written in free text in the ways banks write them, invoice numbers
in the text, IBAN-only payments, name-and-amount payments, unknown payments,
pending entries, debits and duplicates.

Baseline: a naive matcher that scans every case for every transaction (the
O(n·m) way), run on a 1/100 × 1/100 sample and extrapolated; the indexed
matcher runs on the same sample for a like-for-like ratio.

    .venv/bin/python benchmarks/matching.py [--cases 300000] [--transactions 100000] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stdnum.iso7064 import mod_97_10

from dunning.domain.matching.match import (
    BankTransaction,
    CaseRef,
    CreditDebit,
    EntryStatus,
    ItemKind,
    MatchConfig,
    MatchIndex,
    OpenItem,
    match_payments,
    structured_ref,
)
from dunning.domain.matching.text import normalize_reference

FIRST = [
    "Jan",
    "Marie",
    "Luc",
    "Sofie",
    "Peter",
    "Anna",
    "Koen",
    "Lotte",
    "Tom",
    "Els",
    "Wim",
    "Nora",
    "Bart",
    "Eva",
    "Dirk",
    "Lien",
]
LAST = [
    "Peeters",
    "Janssens",
    "Maes",
    "Jacobs",
    "Mertens",
    "Willems",
    "Claes",
    "Goossens",
    "Wouters",
    "De",
    "Smet",
    "Dubois",
    "Lambert",
    "Dupont",
    "Martin",
    "Vermeulen",
    "Hermans",
    "Aerts",
    "Pauwels",
    "Michiels",
    "Desmet",
    "Leroy",
    "Renard",
    "Jansen",
    "Schmidt",
]
BASE = date(2026, 1, 1)


def ogm(n: int) -> str:
    body = f"{n:010d}"
    check = int(body) % 97 or 97
    digits = f"{body}{check:02d}"
    return f"+++{digits[:3]}/{digits[3:7]}/{digits[7:]}+++"


def rf(n: int) -> str:
    body = f"C{n:08d}"
    return f"RF{mod_97_10.calc_check_digits(body + 'RF')}{body}"


def make_cases(n_cases: int, n_invoices: int, rng: random.Random) -> list[CaseRef]:
    # Spread n_invoices over n_cases (1-6 each, on average n_invoices / n_cases).
    counts = [1] * n_cases
    for _ in range(n_invoices - n_cases):
        counts[rng.randrange(n_cases)] += 1
    cases = []
    inv = 0
    for c in range(n_cases):
        items = []
        for _ in range(counts[c]):
            inv += 1
            amount = Decimal(rng.randrange(1000, 500000)) / 100
            due = BASE - timedelta(days=rng.randrange(10, 400))
            items.append(OpenItem.invoice(f"I{inv}", f"INV-{inv:07d}", due, amount))
        if rng.random() < 0.1:
            items.append(OpenItem(f"F{c}", ItemKind.COSTS, BASE, Decimal("15.00")))
        ref = ogm(c + 1) if c % 10 < 7 else rf(c + 1)
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {c}"
        cases.append(CaseRef(f"C{c}", f"D{c}", "EUR", ref, (f"BE{c:014d}",), name, tuple(items)))
    return cases


def mangle_reference(ref: str, rng: random.Random) -> str:
    canonical = normalize_reference(ref)[1]
    if canonical.startswith("RF"):
        spaced = " ".join(canonical[i : i + 4] for i in range(0, len(canonical), 4))
        return rng.choice([spaced, spaced.lower(), canonical])
    d = canonical
    forms = [
        f"+++{d[:3]}/{d[3:7]}/{d[7:]}+++",
        f"***{d[:3]}/{d[3:7]}/{d[7:]}***",
        f"{d[:3]}/{d[3:7]}/{d[7:]}",
        f"{d[:3]} {d[3:7]} {d[7:]}",
        d,
        f"+++ {d[:3]} / {d[3:7]} / {d[7:]} +++",
        d.lstrip("0") or d,
    ]
    return rng.choice(forms)


def make_transactions(cases: list[CaseRef], n: int, rng: random.Random) -> list[BankTransaction]:
    txs: list[BankTransaction] = []
    kinds = (
        ["exact"] * 40
        + ["partial"] * 10
        + ["text_ref"] * 15
        + ["invoice_no"] * 10
        + ["iban"] * 10
        + ["name_amount"] * 5
        + ["unknown"] * 5
        + ["pending"] * 2
        + ["debit"] * 1
        + ["duplicate"] * 2
    )
    for i in range(n):
        kind = rng.choice(kinds)
        case = cases[rng.randrange(len(cases))]
        total = case.open_total
        invoice = rng.choice(case.invoices)
        when = BASE + timedelta(days=rng.randrange(0, 30))
        common = {"key": f"T{i}", "currency": "EUR", "booking_date": when}
        if kind == "exact":
            tx = BankTransaction(
                amount=total,
                credit_debit=CreditDebit.CRDT,
                status=EntryStatus.BOOK,
                structured_ref=structured_ref(case.payment_reference or ""),
                **common,  # type: ignore[arg-type]
            )
        elif kind == "partial":
            tx = BankTransaction(
                amount=(total / 2).quantize(Decimal("0.01")),
                credit_debit=CreditDebit.CRDT,
                status=EntryStatus.BOOK,
                structured_ref=structured_ref(case.payment_reference or ""),
                **common,  # type: ignore[arg-type]
            )
        elif kind == "text_ref":
            text = f"Betaling {mangle_reference(case.payment_reference or '', rng)} dank u"
            tx = BankTransaction(
                amount=total,
                credit_debit=CreditDebit.CRDT,
                status=EntryStatus.BOOK,
                remittance=text,
                **common,  # type: ignore[arg-type]
            )
        elif kind == "invoice_no":
            tx = BankTransaction(
                amount=invoice.open_amount,
                credit_debit=CreditDebit.CRDT,
                status=EntryStatus.BOOK,
                remittance=f"Rechnung {invoice.number} vom 12.03.",
                **common,  # type: ignore[arg-type]
            )
        elif kind == "iban":
            tx = BankTransaction(
                amount=rng.choice([total, invoice.open_amount]),
                credit_debit=CreditDebit.CRDT,
                status=EntryStatus.BOOK,
                remittance="Zahlung",
                debtor_iban=case.debtor_ibans[0],
                **common,  # type: ignore[arg-type]
            )
        elif kind == "name_amount":
            tx = BankTransaction(
                amount=invoice.open_amount,
                credit_debit=CreditDebit.CRDT,
                status=EntryStatus.BOOK,
                remittance="payment",
                debtor_name=(case.debtor_name or "").upper(),
                debtor_iban=f"NL{i:016d}",
                **common,  # type: ignore[arg-type]
            )
        elif kind == "unknown":
            tx = BankTransaction(
                amount=Decimal(rng.randrange(100, 100000)) / 100,
                credit_debit=CreditDebit.CRDT,
                status=EntryStatus.BOOK,
                remittance=f"gift {rng.randrange(10**6)}",
                debtor_name=f"{rng.choice(FIRST)} Unknown",
                **common,  # type: ignore[arg-type]
            )
        elif kind == "pending":
            tx = BankTransaction(
                amount=total,
                credit_debit=CreditDebit.CRDT,
                status=EntryStatus.PDNG,
                structured_ref=structured_ref(case.payment_reference or ""),
                **common,  # type: ignore[arg-type]
            )
        elif kind == "debit":
            tx = BankTransaction(
                amount=Decimal("12.00"),
                credit_debit=CreditDebit.DBIT,
                status=EntryStatus.BOOK,
                remittance="bank fee",
                **common,  # type: ignore[arg-type]
            )
        else:  # the same transaction again (camt.052 then camt.053)
            tx = (
                txs[rng.randrange(len(txs))]
                if txs
                else BankTransaction(
                    amount=total,
                    credit_debit=CreditDebit.CRDT,
                    status=EntryStatus.BOOK,
                    **common,  # type: ignore[arg-type]
                )
            )
        txs.append(tx)
    return txs


# ---------------------------------------------------------------------- the naive baseline


def naive_match(txs: list[BankTransaction], cases: list[CaseRef]) -> Counter[str]:
    """Scan every case for every transaction: what a first version would do."""
    counts: Counter[str] = Counter()
    for tx in txs:
        if tx.status is not EntryStatus.BOOK or tx.credit_debit is CreditDebit.DBIT:
            counts["ignored"] += 1
            continue
        text = "".join(ch for ch in tx.remittance.upper() if ch.isalnum())
        hit = None
        for case in cases:
            ref = normalize_reference(case.payment_reference or "")[1]
            if tx.structured_ref is not None and normalize_reference(tx.structured_ref.value)[1] == ref:
                hit = "structured"
            elif (ref and ref in text) or any(
                inv.number and inv.number.replace("-", "") in text for inv in case.invoices
            ):
                hit = "text"
            elif tx.debtor_iban in case.debtor_ibans and tx.amount in {i.open_amount for i in case.items}:
                hit = "iban"
            if hit:
                break
        counts[hit or "unmatched"] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=300_000)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-baseline", action="store_true", help="skip the naive baseline")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    t0 = time.perf_counter()
    cases = make_cases(args.cases, args.invoices, rng)
    txs = make_transactions(cases, args.transactions, rng)
    t_gen = time.perf_counter() - t0
    n_items = sum(len(c.items) for c in cases)
    print(
        f"data: {len(cases):,} cases, {n_items:,} open items, {len(txs):,} transactions "
        f"(generated in {t_gen:.1f} s, seed {args.seed})"
    )

    config = MatchConfig(tolerance=Decimal("0.05"), invoice_number_pattern=r"INV-?\d{7}")
    t0, c0 = time.perf_counter(), time.process_time()
    index = MatchIndex(cases)
    t_index, c_index = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    result = match_payments(txs, index, config=config)
    t_match, c_match = time.perf_counter() - t0, time.process_time() - c0
    total = t_index + t_match
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"index build: {t_index:.2f} s; matching: {t_match:.2f} s; total {total:.2f} s wall "
        f"(budget 10 s: {'OK' if total < 10 else 'OVER'})"
    )
    print(
        f"CPU time: index {c_index:.2f} s + matching {c_match:.2f} s = {c_index + c_match:.2f} s "
        "(wall above CPU means other processes shared the cores)"
    )
    print(f"throughput: {len(txs) / t_match:,.0f} tx/s (matching), {len(txs) / total:,.0f} tx/s (with index)")
    print(f"peak RSS: {rss:,.0f} MB; cases touched: {len(result.cases):,}")
    print("share per rule:")
    for name, count in sorted(result.rule_counts().items(), key=lambda kv: -kv[1]):
        print(f"  {name:<34} {count:>8,}  {100 * count / len(txs):5.1f} %")

    if args.no_baseline:
        return
    # The naive O(n·m) scan on a sample (1/1000 of the transactions × 1/100 of the cases), the
    # indexed matcher on the same sample, and the naive cost extrapolated to the full size.
    sample_cases = cases[: max(1, len(cases) // 100)]
    sample_txs = make_transactions(sample_cases, max(1, len(txs) // 1000), random.Random(args.seed + 1))
    t0 = time.perf_counter()
    naive = naive_match(sample_txs, sample_cases)
    t_naive = time.perf_counter() - t0
    t0 = time.perf_counter()
    match_payments(sample_txs, sample_cases, config=config)
    t_fast_sample = time.perf_counter() - t0
    estimate = t_naive * (len(txs) / len(sample_txs)) * (len(cases) / len(sample_cases))
    print(
        f"baseline (naive scan of every case per transaction) on {len(sample_txs):,} tx × "
        f"{len(sample_cases):,} cases: {t_naive:.2f} s ({dict(naive)})"
    )
    print(f"indexed matcher on the same sample: {t_fast_sample:.3f} s → {t_naive / t_fast_sample:,.0f}× faster")
    print(
        f"naive extrapolated to the full size: ≈ {estimate / 3600:,.1f} h → "
        f"the indexed matcher is ≈ {estimate / total:,.0f}× faster"
    )


if __name__ == "__main__":
    main()
