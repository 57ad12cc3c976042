"""``python -m camt FILE [--validate] [--strict] [--xsd-dir DIR] [--json]``.

Prints a short summary of the file, or with ``--json`` the whole file as JSON
(amounts as strings). Exit codes: 0 read, 1 file refused (not camt, malformed,
unsafe, or schema-invalid with ``--strict``), 2 usage.
"""

from __future__ import annotations

import argparse
import sys

from camt import CamtError, CamtFile, read


def _summary(result: CamtFile) -> str:
    lines = [f"{result.file}: {result.message}, {len(result.statements)} statement(s)"]
    lines.extend(f"  warning: {w}" for w in result.warnings)
    if result.validation_errors is not None:
        verdict = {True: "valid", False: "INVALID", None: "not checked"}[result.schema_valid]
        lines.append(f"  schema: {verdict}")
        lines.extend(f"    {e}" for e in result.validation_errors[:5])
    for st in result.statements:
        account = st.account.iban or st.account.other_id or "?"
        check = st.balance_check
        detail = ""
        if check.status == "mismatch":
            detail = f" (difference {check.difference})"
        elif check.status == "unverifiable":
            detail = f" ({check.reason})"
        booked = sum(1 for e in st.entries if e.booked)
        lines.append(
            f"  {st.header.kind} {st.id}: account {account} {st.account.currency or ''}".rstrip()
            + f", {len(st.entries)} entries ({booked} booked,"
            f" {sum(len(e.transactions) for e in st.entries)} transactions),"
            f" credits {check.booked_credits}, debits {check.booked_debits}, balance {check.status}{detail}"
        )
        if check.explanation:
            lines.append(f"    {check.explanation}")
        lines.extend(f"    problem: {p}" for p in st.problems)
        lines.extend(f"    warning: {w}" for w in st.warnings)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m camt", description="Read an ISO 20022 camt.052/053/054 file.")
    parser.add_argument("file", help="the camt XML file")
    parser.add_argument("--json", action="store_true", help="print the whole file as JSON")
    parser.add_argument("--validate", action="store_true", help="also validate against the ISO XSD")
    parser.add_argument("--strict", action="store_true", help="refuse a schema-invalid file (implies --validate)")
    parser.add_argument("--xsd-dir", help="directory of camt.05x.001.nn.xsd files (default: the shared corpus)")
    args = parser.parse_args(argv)
    try:
        result = read(args.file, validate=args.validate, strict=args.strict, xsd_dir=args.xsd_dir)
    except CamtError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    print(result.to_json() if args.json else _summary(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
