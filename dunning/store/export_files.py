"""The files the notify exports write (one CSV or similar for many actions), as ``documents`` rows.

Each action's file is named before it is written (:func:`insert_unfinished_documents`, with a
placeholder ``sha256`` that says it is not confirmed yet) and confirmed once written
(:func:`confirm_documents`), so a crash in between leaves rows the next run finds and finishes
(:func:`load_unfinished_document_paths`, :func:`load_unfinished_file_actions`). The use case is
:mod:`dunning.usecases.notify.exports`; letters' documents are in :mod:`dunning.store.deliveries`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from dunning.store.schema import actions, documents

__all__ = [
    "FileActionRecord",
    "confirm_documents",
    "document_path_recorded",
    "insert_unfinished_documents",
    "load_unfinished_document_paths",
    "load_unfinished_file_actions",
]


def document_path_recorded(conn: Connection, path: str) -> bool:
    """Whether a document of any kind is recorded under ``path``."""
    return conn.execute(select(documents.c.id).where(documents.c.path == path).limit(1)).first() is not None


def insert_unfinished_documents(
    conn: Connection, action_ids: Sequence[int], *, kind: str, path: str, sha256: str, recorded_at: datetime
) -> None:
    """Name the file of each action before it is written (``sha256`` says it is not confirmed yet)."""
    if action_ids:
        conn.execute(
            insert(documents),
            [
                {
                    "action_id": action_id,
                    "kind": kind,
                    "path": path,
                    "sha256": sha256,
                    "pages": None,
                    "recorded_at": recorded_at,
                }
                for action_id in action_ids
            ],
        )


def load_unfinished_document_paths(conn: Connection, kind: str, unfinished: str) -> list[str]:
    """The distinct paths of documents of ``kind`` not confirmed yet whose actions are still planned, sorted."""
    query = (
        select(documents.c.path)
        .join(actions, actions.c.id == documents.c.action_id)
        .where(documents.c.kind == kind, documents.c.sha256 == unfinished, actions.c.status == "planned")
    )
    return sorted(set(conn.execute(query).scalars()))


@dataclass(frozen=True, slots=True)
class FileActionRecord:
    """A planned action whose document is an unconfirmed file."""

    id: int
    action: str
    idempotency_key: str
    case_id: int
    settings: dict[str, Any]


def load_unfinished_file_actions(conn: Connection, path: str, unfinished: str) -> list[FileActionRecord]:
    """The planned actions whose unconfirmed document is the file ``path``, by case and id."""
    query = (
        select(actions.c.id, actions.c.action, actions.c.idempotency_key, actions.c.case_id, actions.c.settings)
        .join(documents, documents.c.action_id == actions.c.id)
        .where(documents.c.path == path, documents.c.sha256 == unfinished, actions.c.status == "planned")
        .order_by(actions.c.case_id, actions.c.id)
    )
    return [FileActionRecord(r[0], r[1], r[2], r[3], dict(r[4] or {})) for r in conn.execute(query)]


def confirm_documents(conn: Connection, action_ids: Sequence[int], sha256: str, recorded_at: datetime) -> None:
    """The file of these actions' documents is written: record its SHA-256."""
    conn.execute(
        update(documents).where(documents.c.action_id.in_(action_ids)).values(sha256=sha256, recorded_at=recorded_at)
    )
