"""The reconciliation report: one row per bank transaction of a file, in CSV and Parquet.

Columns: ``outcome`` (matched, suggested, unmatched, ignored, undone), the transaction key,
booking date, amount, currency, direction, the rule that decided, the case, the invoices and
costs paid, the reason, the evidence (``where: found → note``, joined with `` | ``) and, for
suggestions, the candidates with their scores; what a matched payment left short and was
written off (``written_off``) and why (``write_off_reason``: bank charges, within the tolerance).
Amounts are strings in the CSV (exact, as written) and ``decimal128(20, 4)`` in the Parquet file,
never floats.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dunning.csvcells import safe_cells

__all__ = ["COLUMNS", "ReportRow", "write_report"]

COLUMNS = (
    "outcome",
    "key",
    "booking_date",
    "amount",
    "currency",
    "direction",
    "rule",
    "case",
    "paid_items",
    "credit",
    "reason",
    "evidence",
    "candidates",
    "payer_name",
    "remittance",
    "written_off",
    "write_off_reason",
)
_SCALE = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class ReportRow:
    outcome: str
    key: str
    booking_date: str
    amount: Decimal
    currency: str
    direction: str
    rule: str = ""
    case: str = ""
    paid_items: str = ""
    credit: Decimal | None = None
    reason: str = ""
    evidence: str = ""
    candidates: str = ""
    payer_name: str = ""
    remittance: str = ""
    written_off: Decimal | None = None  # what the payment left short and was written off (charges, tolerance)
    write_off_reason: str = ""


def _schema() -> pa.Schema:
    money = pa.decimal128(20, 4)
    return pa.schema(
        [(name, money if name in ("amount", "credit", "written_off") else pa.string()) for name in COLUMNS]
    )


def write_report(rows: Sequence[ReportRow], base: Path) -> tuple[Path, Path]:
    """Write ``base``.csv and ``base``.parquet; return both paths."""
    base.parent.mkdir(parents=True, exist_ok=True)
    csv_path, parquet_path = base.with_suffix(".csv"), base.with_suffix(".parquet")
    temp = csv_path.with_name(csv_path.name + ".part")
    with temp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow(safe_cells(
                [
                    ""
                    if getattr(row, name) is None
                    else (
                        format(getattr(row, name), "f")
                        if isinstance(getattr(row, name), Decimal)
                        else getattr(row, name)
                    )
                    for name in COLUMNS
                ]
            ))
    temp.replace(csv_path)
    columns: dict[str, list[object]] = {name: [] for name in COLUMNS}
    for row in rows:
        for name in COLUMNS:
            value = getattr(row, name)
            if isinstance(value, Decimal):
                value = value.quantize(_SCALE)
            columns[name].append(value)
    table = pa.Table.from_pydict(columns, schema=_schema())
    temp = parquet_path.with_name(parquet_path.name + ".part")
    pq.write_table(table, temp)
    temp.replace(parquet_path)
    return csv_path, parquet_path
