"""camt: a standalone, streaming reader of ISO 20022 camt.052 / camt.053 / camt.054 bank files.

Depends on lxml only. Typical use::

    import camt

    statement_file = camt.read("2026-11-20.xml")           # whole file, small files
    for statement in statement_file.statements:
        print(statement.account.iban, statement.balance_check.status)

    for header, entry in camt.iter_entries("huge.xml"):      # constant memory
        ...

Amounts are ``Decimal`` exactly as written; see :mod:`camt.model` for the records,
:mod:`camt.references` for RF / Belgian OGM / Swiss QRR validation and
:mod:`camt.errors` for the exceptions (all subclasses of :class:`CamtError`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

from camt.errors import CamtError, MalformedXmlError, NotCamtError, SchemaInvalidError, UnsafeXmlError
from camt.model import (
    Account,
    Balance,
    BalanceCheck,
    CamtFile,
    Charge,
    Entry,
    MessageInfo,
    Party,
    Problem,
    Statement,
    StatementHeader,
    Transaction,
)
from camt.reader import Event, Reader, Source, iter_events, open_source
from camt.references import Reference

__all__ = [
    "Account",
    "Balance",
    "BalanceCheck",
    "CamtError",
    "CamtFile",
    "Charge",
    "Entry",
    "Event",
    "MalformedXmlError",
    "MessageInfo",
    "NotCamtError",
    "Party",
    "Problem",
    "Reference",
    "SchemaInvalidError",
    "Source",
    "Statement",
    "StatementHeader",
    "Transaction",
    "UnsafeXmlError",
    "iter_entries",
    "iter_events",
    "iter_statements",
    "read",
]


def iter_statements(source: Source) -> Iterator[Statement]:
    """Yield each Stmt/Rpt/Ntfctn with its entries, one statement in memory at a time."""
    entries: list[Entry] = []
    for event in iter_events(source):
        if isinstance(event, Entry):
            entries.append(event)
        elif isinstance(event, Statement):
            yield dataclasses.replace(event, entries=tuple(entries))
            entries = []


def iter_entries(source: Source) -> Iterator[tuple[StatementHeader, Entry]]:
    """Yield (statement header, entry) pairs in constant memory, whatever the file size."""
    header: StatementHeader | None = None
    for event in iter_events(source):
        if isinstance(event, StatementHeader):
            header = event
        elif isinstance(event, Entry) and header is not None:
            yield header, event


def read(
    source: Source,
    *,
    validate: bool = False,
    xsd_dir: str | Path | None = None,
    strict: bool = False,
) -> CamtFile:
    """Read a whole camt file into a :class:`CamtFile` (holds every entry: for big files use the iterators).

    ``validate``: also check the file against the ISO XSD (``xsd_dir``, default the
    corpus XSDs or ``$CAMT_XSD_DIR``); the errors land in ``CamtFile.validation_errors``.
    ``strict``: refuse a schema-invalid file with :class:`SchemaInvalidError`.
    """
    validation: tuple[str, ...] | None = None
    schema_valid: bool | None = None
    if validate or strict:
        from camt.validate import validate_file

        stream_start = None
        if not isinstance(source, str | os.PathLike) and source.seekable():
            stream_start = source.tell()
        result = validate_file(source, xsd_dir)
        validation, schema_valid = result.errors, result.valid
        if strict and result.valid is not True:
            raise SchemaInvalidError(result.file, "schema validation failed: " + "; ".join(result.errors[:3]))
        if stream_start is not None and not isinstance(source, str | os.PathLike):
            source.seek(stream_start)  # validation read the stream; read it again from where it began
    stream, name, owned = open_source(source)
    statements: list[Statement] = []
    entries: list[Entry] = []
    reader = Reader(stream, name)
    try:
        for event in reader.events():
            if isinstance(event, Entry):
                entries.append(event)
            elif isinstance(event, Statement):
                statements.append(dataclasses.replace(event, entries=tuple(entries)))
                entries = []
    finally:
        if owned:
            stream.close()
    assert reader.info is not None
    info = dataclasses.replace(reader.info, warnings=tuple(reader.file_warnings))
    return CamtFile(info, tuple(statements), validation_errors=validation, schema_valid=schema_valid)
