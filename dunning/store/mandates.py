"""SEPA mandates, collection files and collections in the store (tables in :mod:`dunning.store.schema`).

A collection file and the collections it holds are inserted in one transaction (:func:`insert_file`):
an instalment is claimed by its ``sepa_collections`` row (unique per plan and instalment), and the
file's content is kept with it, so writing and delivering the file can be finished by a later run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, insert, select, update

from dunning.domain.plans.mandate import Collection, Mandate, MandateStatus
from dunning.store.schema import cases, debtors, sepa_collections, sepa_files, sepa_mandates

__all__ = [
    "StoredCollection",
    "StoredFile",
    "collected_instalments",
    "collection_rows",
    "debtor_name_of_case",
    "files_named_like",
    "find_collection",
    "insert_file",
    "insert_mandate",
    "load_mandate",
    "load_mandates",
    "mandate_used",
    "mark_file",
    "mark_returned",
    "set_mandate_status",
    "unfinished_files",
]


@dataclass(frozen=True, slots=True)
class StoredFile:
    id: int
    name: str
    collection_date: date
    count: int
    control_sum: Decimal
    sha256: str
    content: str
    status: str
    delivered_to: str | None


@dataclass(frozen=True, slots=True)
class StoredCollection:
    end_to_end_id: str
    plan_key: str
    instalment: int
    case_id: int
    amount: Decimal
    mandate_reference: str
    status: str


def _mandate(row: object) -> Mandate:
    m = row._mapping  # type: ignore[attr-defined]
    return Mandate(
        reference=m["reference"],
        plan_id=m["plan_key"],
        iban=m["iban"],
        debtor_name=m["debtor_name"],
        signed_on=m["signed_on"],
        text_version=m["text_version"],
        consent_source=m["consent_source"],
        bic=m["bic"],
        status=MandateStatus(m["status"]),
    )


def insert_mandate(conn: Connection, mandate: Mandate, case_id: int, captured_by: str, recorded_at: datetime) -> None:
    conn.execute(
        insert(sepa_mandates).values(
            reference=mandate.reference,
            plan_key=mandate.plan_id,
            case_id=case_id,
            iban=mandate.iban,
            bic=mandate.bic,
            debtor_name=mandate.debtor_name,
            signed_on=mandate.signed_on,
            text_version=mandate.text_version,
            consent_source=mandate.consent_source,
            captured_by=captured_by,
            status=mandate.status.value,
            recorded_at=recorded_at,
        )
    )


def load_mandate(conn: Connection, *, plan_key: str | None = None, reference: str | None = None) -> Mandate | None:
    query = select(sepa_mandates)
    if plan_key is not None:
        query = query.where(sepa_mandates.c.plan_key == plan_key)
    if reference is not None:
        query = query.where(sepa_mandates.c.reference == reference)
    row = conn.execute(query).first()
    return None if row is None else _mandate(row)


def load_mandates(conn: Connection, status: MandateStatus | None = None) -> list[Mandate]:
    query = select(sepa_mandates).order_by(sepa_mandates.c.id)
    if status is not None:
        query = query.where(sepa_mandates.c.status == status.value)
    return [_mandate(row) for row in conn.execute(query)]


def set_mandate_status(conn: Connection, reference: str, status: MandateStatus) -> None:
    conn.execute(update(sepa_mandates).where(sepa_mandates.c.reference == reference).values(status=status.value))


def collected_instalments(conn: Connection, plan_key: str) -> set[int]:
    """Numbers of the plan's instalments already in a collection file (returned ones too)."""
    query = select(sepa_collections.c.instalment).where(sepa_collections.c.plan_key == plan_key)
    return {int(n) for n in conn.execute(query).scalars()}


def mandate_used(conn: Connection, reference: str) -> bool:
    """Whether a collection already went out under the mandate (the next one is RCUR)."""
    query = select(sepa_collections.c.id).where(sepa_collections.c.mandate_reference == reference).limit(1)
    return conn.execute(query).first() is not None


def insert_file(
    conn: Connection,
    *,
    name: str,
    message_id: str,
    collection_date: date,
    made_on: date,
    content: bytes,
    sha256: str,
    items: Sequence[tuple[Collection, str, int, str]],
    recorded_at: datetime,
) -> int:
    """Store a prepared file and claim its collections (``items``: collection, mandate, case id, currency)."""
    row = conn.execute(
        insert(sepa_files).values(
            name=name,
            message_id=message_id,
            collection_date=collection_date,
            made_on=made_on,
            count=len(items),
            control_sum=sum((c.amount for c, *_ in items), Decimal("0.00")),
            sha256=sha256,
            content=content.decode("utf-8"),
            status="prepared",
            recorded_at=recorded_at,
        )
    ).inserted_primary_key
    file_id = int(row[0]) if row is not None else 0
    conn.execute(
        insert(sepa_collections),
        [
            {
                "end_to_end_id": c.end_to_end_id,
                "file_id": file_id,
                "mandate_reference": mandate,
                "plan_key": c.plan_id,
                "instalment": c.number,
                "case_id": case_id,
                "amount": c.amount,
                "currency": currency,
                "sequence": c.sequence.value,
                "collection_date": c.collection_date,
                "status": "collected",
            }
            for c, mandate, case_id, currency in items
        ],
    )
    return file_id


def files_named_like(conn: Connection, prefix: str) -> int:
    """How many files have a name starting with ``prefix`` (to number the next one)."""
    names = conn.execute(select(sepa_files.c.name).where(sepa_files.c.name.startswith(prefix))).scalars()
    return len(list(names))


def unfinished_files(conn: Connection, *, delivering: bool) -> list[StoredFile]:
    """Files not yet written (or, when ``delivering``, not yet delivered), oldest first."""
    statuses = ("prepared", "written") if delivering else ("prepared",)
    query = select(sepa_files).where(sepa_files.c.status.in_(statuses)).order_by(sepa_files.c.id)
    return [
        StoredFile(
            int(r["id"]), r["name"], r["collection_date"], int(r["count"]), r["control_sum"], r["sha256"],
            r["content"], r["status"], r["delivered_to"],
        )
        for r in conn.execute(query).mappings()
    ]


def mark_file(conn: Connection, file_id: int, status: str, delivered_to: str | None = None) -> None:
    values: dict[str, object] = {"status": status}
    if delivered_to is not None:
        values["delivered_to"] = delivered_to
    conn.execute(update(sepa_files).where(sepa_files.c.id == file_id).values(**values))


def find_collection(conn: Connection, end_to_end_id: str) -> StoredCollection | None:
    row = conn.execute(select(sepa_collections).where(sepa_collections.c.end_to_end_id == end_to_end_id)).first()
    if row is None:
        return None
    return StoredCollection(
        row.end_to_end_id, row.plan_key, int(row.instalment), int(row.case_id), row.amount, row.mandate_reference,
        row.status,
    )


def mark_returned(conn: Connection, end_to_end_id: str, reason: str | None, on: date, transaction: str) -> None:
    conn.execute(
        update(sepa_collections)
        .where(sepa_collections.c.end_to_end_id == end_to_end_id)
        .values(status="returned", return_reason=reason, returned_on=on, return_transaction=transaction)
    )


def debtor_name_of_case(conn: Connection, case_id: int) -> str | None:
    """The name of the case's debtor (the account holder a mandate is signed by, by default)."""
    query = select(debtors.c.name).join(cases, cases.c.debtor_id == debtors.c.id).where(cases.c.id == case_id)
    name: str | None = conn.execute(query).scalar()
    return name


def collection_rows(conn: Connection) -> list[tuple[date, str, Decimal]]:
    """(collection date, status, amount) of every collection, for the plans report."""
    query = select(sepa_collections.c.collection_date, sepa_collections.c.status, sepa_collections.c.amount)
    return [(row[0], row[1], row[2]) for row in conn.execute(query)]
