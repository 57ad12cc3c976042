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
    plain = [name for name, process in zip(names, processors, strict=True) if process is None]
    if len(plain) == len(names):
        return [tuple([row.get(name) for name in names]) for row in rows]
    pairs = list(zip(names, processors, strict=True))
    return [
        tuple(
            [
                value if (value := row.get(name)) is None or process is None else process(value)
                for name, process in pairs
            ]
        )
        for row in rows
    ]


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
