"""Fast bulk writes: many rows in one DBAPI ``executemany``, without per-row SQL compilation.

SQLAlchemy's ``conn.execute(insert(t), rows)`` builds the bound parameters of every row
in Python, which costs more than the database itself on a million-row import. These
helpers render one statement and hand plain tuples to the driver (sqlite3 or psycopg,
which pipelines them). Values go through each column type's own bind processing, so
amounts stay exact (text on SQLite, NUMERIC on PostgreSQL) and JSON is serialised the
same way SQLAlchemy would.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Connection, Table

CHUNK = 20_000


def _placeholder(conn: Connection, column: Any) -> str:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    if conn.dialect.name == "postgresql" and isinstance(column.type, JSON):
        return f"{mark}::json"
    return mark


def _processors(conn: Connection, table: Table, names: Sequence[str]) -> list[Any]:
    return [table.c[name].type._cached_bind_processor(conn.dialect) for name in names]


def _rows(rows: Sequence[dict[str, Any]], names: Sequence[str], processors: list[Any]) -> list[tuple[Any, ...]]:
    out = []
    for row in rows:
        values = []
        for name, process in zip(names, processors, strict=True):
            value = row.get(name)
            values.append(process(value) if process is not None and value is not None else value)
        out.append(tuple(values))
    return out


def insert_many(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT every row (all rows must have the same keys)."""
    if not rows:
        return
    names = list(rows[0])
    columns = ", ".join(table.c[n].name for n in names)
    marks = ", ".join(_placeholder(conn, table.c[n]) for n in names)
    sql = f"INSERT INTO {table.name} ({columns}) VALUES ({marks})"
    processors = _processors(conn, table, names)
    cursor = conn.connection.cursor()
    try:
        for start in range(0, len(rows), CHUNK):
            cursor.executemany(sql, _rows(rows[start : start + CHUNK], names, processors))
    finally:
        cursor.close()


def update_many(conn: Connection, table: Table, key: str, rows: Sequence[dict[str, Any]]) -> None:
    """UPDATE ... SET <other keys> WHERE <key> = row[key], for every row (same keys in all rows)."""
    if not rows:
        return
    names = [n for n in rows[0] if n != key]
    assignments = ", ".join(f"{table.c[n].name} = {_placeholder(conn, table.c[n])}" for n in names)
    sql = f"UPDATE {table.name} SET {assignments} WHERE {table.c[key].name} = {_placeholder(conn, table.c[key])}"
    processors = _processors(conn, table, [*names, key])
    cursor = conn.connection.cursor()
    try:
        for start in range(0, len(rows), CHUNK):
            cursor.executemany(sql, _rows(rows[start : start + CHUNK], [*names, key], processors))
    finally:
        cursor.close()
