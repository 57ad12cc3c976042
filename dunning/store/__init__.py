"""The state store: SQLAlchemy 2 on SQLite (default) or PostgreSQL, migrated by Alembic.

    >>> store = open_store("sqlite:///:memory:")
    >>> with store.begin() as conn:
    ...     conn.execute(select(func.count()).select_from(debtors)).scalar_one()
    0

``open_store`` brings the schema to the newest migration before returning.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool, StaticPool

from dunning.errors import StoreError
from dunning.store.schema import (
    actions,
    allocations,
    bank_files,
    bank_transactions,
    case_events,
    cases,
    debtors,
    deliveries,
    documents,
    holds,
    invoices,
    ledger_imports,
    metadata,
    outbox,
    page_visits,
    review_items,
    runs,
)

__all__ = [
    "Store",
    "actions",
    "allocations",
    "bank_files",
    "bank_transactions",
    "case_events",
    "cases",
    "debtors",
    "deliveries",
    "documents",
    "func",
    "holds",
    "invoices",
    "ledger_imports",
    "metadata",
    "open_store",
    "outbox",
    "page_visits",
    "review_items",
    "runs",
    "select",
]

MIGRATIONS = Path(__file__).parent / "migrations"


def _alembic_config(connection: Connection) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@dataclass(frozen=True)
class Store:
    """An open store. Use ``begin()`` for one transaction: all of it lands or none."""

    engine: Engine

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            yield connection

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def revision(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def dispose(self) -> None:
        self.engine.dispose()


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        if ":memory:" in url or url.rstrip("/") in ("sqlite:", "sqlite+pysqlite:"):
            engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
        else:
            path = url.split(":///", 1)[-1]
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


# The advisory lock key of migrations on PostgreSQL ("dn", "mi"): two processes opening a fresh store at once
# (two `dunning import` on a new workspace) must not both create the tables.
_MIGRATION_LOCK = (0x646E, 0x6D69)


@contextmanager
def _one_migrator(store: Store) -> Iterator[None]:
    """Hold, waiting for it, the right to migrate this store: a flock beside a SQLite file (the kernel frees it
    when a holder dies), or a transaction-level advisory lock on PostgreSQL (taken in :func:`migrate`)."""
    database = store.engine.url.database
    if store.dialect != "sqlite" or not database or ":memory:" in database:
        yield
        return
    fd = os.open(f"{database}.migrate.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def migrate(store: Store) -> None:
    """Upgrade the schema to the newest migration (a no-op when it is current).

    One process at a time: a second one waits, then finds the schema current (Alembic reads the revision
    again inside the upgrade).
    """
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    if store.revision() == head:
        return
    database = store.engine.url.database or ""
    if store.dialect == "sqlite" and database and ":memory:" not in database:
        with _one_migrator(store):
            _migrate_sqlite_atomically(store)
        return
    with store.engine.begin() as connection:
        if store.dialect == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"),
                               {"ns": _MIGRATION_LOCK[0], "key": _MIGRATION_LOCK[1]})
        command.upgrade(_alembic_config(connection), "head")


def _migrate_sqlite_atomically(store: Store) -> None:
    """Run the migrations on SQLite in ONE transaction: all of them land, or none.

    Python's sqlite3 module commits before each CREATE or ALTER on its own, so a process killed in the middle
    of an upgrade (the first ``dunning import`` on a new workspace, killed) left some tables made and the
    revision not recorded, and every later command failed with "table ... already exists". SQLite itself
    can roll DDL back: the connection is put in autocommit mode (the driver begins nothing) and the
    transaction is begun explicitly, as SQLAlchemy's pysqlite notes describe.
    """
    engine = create_engine(store.engine.url, poolclass=NullPool, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: object) -> None:
        _sqlite_pragmas(dbapi_connection, record)
        dbapi_connection.isolation_level = None  # the driver begins and commits nothing by itself

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), "head")
    finally:
        engine.dispose()


def open_store(url: str, *, migrate_schema: bool = True) -> Store:
    """Open (and by default migrate) the store at ``url``; errors say which URL failed."""
    shown = url.split("@")[-1] if "@" in url else url  # never print a password
    try:
        store = Store(_make_engine(url))
        if migrate_schema:
            migrate(store)
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        raise StoreError(f"cannot open the state store {shown}: {exc.__class__.__name__}: {reason}") from None
    except OSError as exc:  # the SQLite file's folder cannot be made or opened
        raise StoreError(f"cannot open the state store {shown}: {exc.strerror or exc}: {exc.filename}") from None
    return store
