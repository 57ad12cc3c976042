"""Fast bulk writes: many rows in one DBAPI ``executemany``, without per-row SQL compilation.

SQLAlchemy's ``conn.execute(insert(t), rows)`` builds the bound parameters of every row
in Python, which costs more than the database itself on a million-row import. These
helpers render one statement and hand plain tuples to the driver (sqlite3 or psycopg,
which pipelines them). Values go through each column type's own bind processing, so
amounts stay exact (text on SQLite, NUMERIC on PostgreSQL) and JSON is serialised the
same way SQLAlchemy would.

Rows may come from a generator: they are taken ``CHUNK`` at a time, so a caller can
produce a million rows lazily and memory holds one chunk.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import JSON, Connection, Date, DateTime, Table

CHUNK = 20_000

#: Values per ``IN (...)`` list in a query: far below SQLite's 32,766 bound parameters and small enough
#: for PostgreSQL to plan quickly.
IN_LIST = 500

_T = TypeVar("_T")


def in_chunks(values: Sequence[_T], size: int = IN_LIST) -> Iterator[Sequence[_T]]:
    """``values`` in slices of at most ``size``, for queries that filter with ``IN (...)``.

    >>> [list(chunk) for chunk in in_chunks([1, 2, 3, 4, 5], 2)]
    [[1, 2], [3, 4], [5]]
    """
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _placeholder(conn: Connection, column: Any) -> str:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    if conn.dialect.name == "postgresql" and isinstance(column.type, JSON):
        return f"{mark}::json"
    return mark


def _processors(conn: Connection, table: Table, names: Sequence[str]) -> list[Any]:
    processors = []
    for name in names:
        process = table.c[name].type._cached_bind_processor(conn.dialect)
        if process is not None and isinstance(table.c[name].type, Date | DateTime):
            process = _memoised(process)  # a few distinct dates for a million rows
        processors.append(process)
    return processors


def _memoised(process: Any) -> Any:
    """Remember the processed form of each date and time (only those: equal Decimals may print differently).

    A time is remembered with its zone: 12:00 UTC equals 13:00 +01:00 but is written differently.
    """
    memo: dict[Any, Any] = {}

    def run(value: Any) -> Any:
        kind = type(value)
        if kind is date:
            key: Any = value
        elif kind is datetime:
            key = (value, value.tzinfo)
        else:
            return process(value)
        result = memo.get(key)
        if result is None:
            result = memo[key] = process(value)
        return result

    return run


def _rows(rows: Sequence[Any], names: Sequence[str], processors: list[Any], plain: bool) -> list[tuple[Any, ...]]:
    """The rows as tuples in ``names`` order, each value bind-processed (None stays None).

    ``plain``: the rows already are sequences in ``names`` order, else mappings.
    """
    if plain:
        columns = [list(values) for values in zip(*rows, strict=True)] if rows else []
    else:
        columns = [[row.get(name) for row in rows] for name in names]
    for position, process in enumerate(processors):
        if process is not None:
            columns[position] = [None if value is None else process(value) for value in columns[position]]
    return list(zip(*columns, strict=True))


def _chunks(rows: Iterable[Any]) -> Iterator[list[Any]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, CHUNK)):
        yield chunk


def insert_many(
    conn: Connection,
    table: Table,
    rows: Iterable[Mapping[str, Any]] | Iterable[Sequence[Any]],
    names: Sequence[str] = (),
) -> int:
    """INSERT every row; return how many.

    Rows are mappings with the same keys in all rows, or, when ``names`` is given, sequences of
    values in that order (cheaper: no dict per row).
    """
    count = 0
    sql = processors = None
    plain = bool(names)
    names = list(names)
    cursor = conn.connection.cursor()
    try:
        for chunk in _chunks(rows):
            if sql is None:
                names = names or list(chunk[0])
                columns = ", ".join(table.c[n].name for n in names)
                marks = ", ".join(_placeholder(conn, table.c[n]) for n in names)
                sql = f"INSERT INTO {table.name} ({columns}) VALUES ({marks})"
                processors = _processors(conn, table, names)
            assert processors is not None
            cursor.executemany(sql, _rows(chunk, names, processors, plain))
            count += len(chunk)
    finally:
        cursor.close()
    return count


def update_many(conn: Connection, table: Table, key: str, rows: Iterable[Mapping[str, Any]]) -> int:
    """UPDATE ... SET <other keys> WHERE <key> = row[key], for every row (same keys in all rows); return how many."""
    count = 0
    sql = names = processors = None
    cursor = conn.connection.cursor()
    try:
        for chunk in _chunks(rows):
            if sql is None:
                names = [n for n in chunk[0] if n != key]
                assignments = ", ".join(f"{table.c[n].name} = {_placeholder(conn, table.c[n])}" for n in names)
                where = f"{table.c[key].name} = {_placeholder(conn, table.c[key])}"
                sql = f"UPDATE {table.name} SET {assignments} WHERE {where}"
                names = [*names, key]
                processors = _processors(conn, table, names)
            assert names is not None and processors is not None
            cursor.executemany(sql, _rows(chunk, names, processors, False))
            count += len(chunk)
    finally:
        cursor.close()
    return count
