"""Streaming camt reader: constant memory, safe against XXE, tolerant of real bank files.

:func:`iter_events` is the primitive. It parses with lxml ``iterparse``,
restricted to the few tags it acts on, and yields in document order:

* one :class:`~camt.model.MessageInfo` (message type and version, GrpHdr ids);
* per Stmt/Rpt/Ntfctn: its :class:`~camt.model.StatementHeader` (when the first
  entry starts, so the balances before the entries are known), each
  :class:`~camt.model.Entry` as soon as it is parsed, then the
  :class:`~camt.model.Statement` (balances, balance check, problems; ``entries=()``).

Each entry's element is cleared and unlinked once read, so memory does not grow
with the file. The balance proof is summed on the way.

Safety: a DOCTYPE or ENTITY declaration is refused (:class:`UnsafeXmlError`); the
parser never resolves entities, loads a DTD, uses the network or lifts libxml2's
size limits (``huge_tree`` off).

Encoding: a UTF-8 BOM is accepted (libxml2 skips it); bytes declared (or defaulted) as UTF-8 that
are not valid UTF-8 are read from there on as ISO-8859-15 (ABN AMRO, ING
Austria) with a warning. Other declared encodings are left to libxml2.
"""

from __future__ import annotations

import codecs
import dataclasses
import logging
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import IO, Any

from lxml import etree

from camt.errors import CamtError, MalformedXmlError, NotCamtError, UnreadableContentError, UnsafeXmlError
from camt.model import (
    Balance,
    BalanceCheck,
    Entry,
    MessageInfo,
    Problem,
    Statement,
    StatementHeader,
    StatementKind,
)
from camt.parse import ElementParser
from camt.values import BadValue, element_path, local_name

log = logging.getLogger(__name__)

Source = str | os.PathLike[str] | IO[bytes]
Event = MessageInfo | StatementHeader | Entry | Statement

_TAGS = ["{*}Document", "{*}AppHdr", "{*}GrpHdr", "{*}Stmt", "{*}Rpt", "{*}Ntfctn", "{*}Ntry"]
_STATEMENT_KINDS: dict[str, StatementKind] = {"Stmt": "Stmt", "Rpt": "Rpt", "Ntfctn": "Ntfctn"}
_TYPE_BY_ROOT = {
    "BkToCstmrAcctRpt": "camt.052",
    "BkToCstmrStmt": "camt.053",
    "BkToCstmrDbtCdtNtfctn": "camt.054",
}
_CAMT_NAME = re.compile(r"camt\.(05[234])\.001\.(\d{2})", re.I)
_STANDARD_NS = "urn:iso:std:iso:20022:tech:xsd:"
_DECLARED_ENCODING = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_UNSAFE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.I)
HEAD_SIZE = 65536
_KNOWN_VERSIONS = range(1, 14)


class _Prefixed:
    """A byte stream whose first bytes were already read (to sniff the prolog)."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if self._head:
            chunk = self._head if size < 0 else self._head[:size]
            self._head = self._head[len(chunk) :]
            return chunk
        return self._rest.read(size)


class _Utf8OrLatin9:
    """Feeds UTF-8 to the parser; from the first byte that is not UTF-8 on, decodes as ISO-8859-15.

    While the bytes are valid they are passed through unchanged (only checked), holding back
    an incomplete sequence at a chunk end so a fallback never follows half a character.
    """

    def __init__(self, raw: _Prefixed, on_fallback: Callable[[int], None]) -> None:
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._held = b""
        self._latin9 = False
        self._offset = 0
        self._on_fallback = on_fallback

    def read(self, size: int = -1) -> bytes:
        while True:
            chunk = self._raw.read(size if size > 0 else 65536)
            if self._latin9:
                return chunk.decode("iso-8859-15").encode("utf-8")
            data = self._held + chunk
            try:
                self._decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                self._latin9 = True
                self._on_fallback(self._offset + exc.start)
                self._held = b""
                return data.decode("iso-8859-15").encode("utf-8")
            pending = len(self._decoder.getstate()[0])
            out, self._held = data[: len(data) - pending], data[len(data) - pending :]
            self._offset += len(out)
            if out or not chunk:
                return out


@dataclass
class _StatementState:
    """What the reader accumulates for the statement being read (no entries are kept)."""

    kind: StatementKind
    element: Any
    header: StatementHeader | None = None
    balances: list[Balance] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    credits: Decimal = Decimal(0)
    debits: Decimal = Decimal(0)
    entry_count: int = 0
    rejected: int = 0
    currencies: set[str] = field(default_factory=set)
    by_value_date: dict[date, Decimal] = field(default_factory=dict)


def source_name(source: Source) -> str:
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    return str(getattr(source, "name", "<stream>"))


class Reader:
    """One pass over one camt file; use :func:`iter_events` or :func:`camt.read` rather than this."""

    def __init__(self, stream: IO[bytes], file: str) -> None:
        self.stream = stream
        self.file = file
        self.file_warnings: list[str] = []
        self.info: MessageInfo | None = None
        self._namespace: str | None = None
        self._document: Any = None
        self._msg_def_idr: str | None = None
        self._parser: ElementParser | None = None
        self._statement: _StatementState | None = None

    # -- public -------------------------------------------------------------------------------------
    def events(self) -> Iterator[Event]:
        head = self.stream.read(HEAD_SIZE)
        self.refuse_unsafe_prolog(head)
        data: Any = _Prefixed(head, self.stream)
        declared = _DECLARED_ENCODING.search(head[:512])
        encoding = declared.group(1).decode("ascii").lower().replace("_", "-") if declared else "utf-8"
        if not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and encoding in ("utf-8", "utf8"):
            data = _Utf8OrLatin9(data, self._encoding_fallback)
        parser = etree.iterparse(
            data,
            events=("start", "end"),
            tag=_TAGS,
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
        first = True
        element: Any = None
        try:
            for event, element in parser:
                if first:
                    self._refuse_doctype(element)
                    first = False
                yield from self._handle(event, element)
        except etree.XMLSyntaxError as exc:
            line = exc.lineno if exc.lineno else None
            raise MalformedXmlError(self.file, f"not well-formed XML: {exc.msg}", line=line) from None
        except CamtError:
            raise
        except _UNEXPECTED as exc:
            # A structure no rule foresaw: refused by name and place, never a bare KeyError/TypeError.
            raise self._unreadable(exc, element) from exc
        if self._document is None:
            root = getattr(parser, "root", None)
            name = local_name(root) if root is not None else "?"
            raise NotCamtError(self.file, f"no ISO 20022 Document element (root element is <{name}>)")
        if self.info is None:
            yield self._message_info(None)

    # -- events -------------------------------------------------------------------------------------
    def _handle(self, event: str, element: Any) -> Iterator[Event]:
        name = local_name(element)
        if event == "start":
            if name == "Document" and self._document is None:
                self._start_document(element)
            elif name in _STATEMENT_KINDS and self._is_statement(element):
                if self.info is None:
                    yield self._message_info(element.getparent())
                self._statement = _StatementState(_STATEMENT_KINDS[name], element)
            elif (
                name == "Ntry"
                and self._statement is not None
                and self._statement.header is None
                and element.getparent() is self._statement.element
            ):
                yield self._read_header(self._statement)
            return
        if name == "Ntry":
            state = self._statement
            if state is not None and element.getparent() is state.element:
                entry = self._read_entry(state, element)
                if entry is not None:
                    yield entry
                element.clear()
                parent = element.getparent()
                while element.getprevious() is not None:
                    del parent[0]
        elif name in _STATEMENT_KINDS and self._statement is not None and element is self._statement.element:
            yield self._finish_statement(self._statement)
            self._statement = None
            element.clear()
            element.getparent().remove(element)
        elif name == "GrpHdr" and self.info is None and self._document is not None:
            yield self._message_info(element.getparent(), element)
            element.clear()
        elif name == "AppHdr":
            found = element.find(".//{*}MsgDefIdr")
            self._msg_def_idr = found.text.strip() if found is not None and found.text else None

    def _start_document(self, document: Any) -> None:
        self._document = document
        namespace = etree.QName(document).namespace
        self._namespace = namespace
        if namespace is not None and _CAMT_NAME.search(namespace) is None:
            raise NotCamtError(
                self.file,
                "not a camt.052/053/054 message: unknown namespace",
                line=document.sourceline,
                path="Document/@xmlns",
                value=namespace,
            )

    def _is_statement(self, element: Any) -> bool:
        parent = element.getparent()
        return parent is not None and parent.getparent() is self._document and self._document is not None

    def _message_info(self, message_root: Any, group_header: Any = None) -> MessageInfo:
        namespace = self._namespace
        root_name = re.sub(r"V\d+$", "", local_name(message_root)) if message_root is not None else None
        match = _CAMT_NAME.search(namespace or "") or _CAMT_NAME.search(self._msg_def_idr or "")
        if match is not None:
            message = f"camt.{match.group(1)}.001.{match.group(2)}"
            version = int(match.group(2))
            if version not in _KNOWN_VERSIONS:
                self._warn(f"unknown version {message}: read as the nearest known version")
        elif root_name in _TYPE_BY_ROOT:
            message = _TYPE_BY_ROOT[root_name]
        else:
            raise NotCamtError(
                self.file,
                "not a camt.052/053/054 message",
                path="Document/" + (root_name or ""),
                value=root_name,
            )
        if namespace is None:
            self._warn("no namespace: message type taken from " + ("AppHdr" if match else f"<{root_name}>"))
        elif not namespace.startswith(_STANDARD_NS + "camt."):
            self._warn(f"non-standard namespace {namespace!r}, read as {message}")
        if root_name is not None and root_name in _TYPE_BY_ROOT and _TYPE_BY_ROOT[root_name] != message[:8]:
            self._warn(f"<{root_name}> inside a {message} namespace")
        known_version = int(message[-2:]) if message[-2:].isdigit() else None
        self._parser = ElementParser(
            namespace, treat_missing_status_as_booked=message.startswith("camt.053"), version=known_version
        )
        message_id = created = additional = None
        if group_header is not None:
            k = self._parser.index(group_header)
            message_id = self._parser.text(k.get("MsgId"))
            created = self._parser.datetime_text(k.get("CreDtTm"))
            additional = self._parser.text(k.get("AddtlInf"))
            self.file_warnings.extend(self._parser.warnings)
            self._parser.warnings.clear()
        self.info = MessageInfo(
            file=self.file,
            message=message,
            namespace=namespace,
            message_id=message_id,
            created=created,
            additional_info=additional,
            warnings=tuple(self.file_warnings),
        )
        return self.info

    # -- statements ---------------------------------------------------------------------------------
    def _read_header(self, state: _StatementState) -> StatementHeader:
        parser = self._require_parser()
        state.header = parser.header(state.element, state.kind)
        for bal in parser.children(state.element, "Bal"):
            self._read_balance(state, bal)
        self._drain_warnings(state)
        return state.header

    def _read_balance(self, state: _StatementState, bal: Any) -> None:
        try:
            state.balances.append(self._require_parser().balance(bal))
        except BadValue as exc:
            state.problems.append(self._problem(exc))
        except _UNEXPECTED as exc:
            state.problems.append(self._problem(BadValue(f"balance cannot be read ({_describe(exc)})", bal, None)))

    def _read_entry(self, state: _StatementState, element: Any) -> Entry | None:
        parser = self._require_parser()
        state.entry_count += 1
        try:
            entry = parser.entry(element)
        except _RECORD_ERRORS as exc:
            bad = exc if isinstance(exc, BadValue) else BadValue(f"cannot be read ({_describe(exc)})", element, None)
            state.rejected += 1
            state.problems.append(dataclasses.replace(self._problem(bad, "entry skipped: "), entry_skipped=True))
            log.warning("%s: entry at line %s skipped: %s", self.file, element.sourceline, bad.message)
            return None
        finally:
            self._drain_warnings(state)
        if entry.status == "BOOK":
            if entry.credit_debit == "CRDT":
                state.credits += entry.amount
            else:
                state.debits += entry.amount
            if entry.currency:
                state.currencies.add(entry.currency)
            if entry.value_date is not None:
                sums = state.by_value_date
                sums[entry.value_date] = sums.get(entry.value_date, Decimal(0)) + entry.signed_amount
        return entry

    def _finish_statement(self, state: _StatementState) -> Statement:
        if state.header is None:
            self._read_header(state)
        else:
            late = self._require_parser().children(state.element, "Bal")
            if late:
                state.warnings.append("balances after the entries")
            for bal in late:
                self._read_balance(state, bal)
        assert state.header is not None
        return Statement(
            header=state.header,
            balances=tuple(state.balances),
            balance_check=balance_check(state.balances, state),
            entry_count=state.entry_count,
            problems=tuple(state.problems),
            warnings=tuple(state.warnings),
        )

    # -- helpers ------------------------------------------------------------------------------------
    def _require_parser(self) -> ElementParser:
        if self._parser is None:
            raise NotCamtError(self.file, "statement outside a camt message")
        return self._parser

    def _problem(self, exc: BadValue, prefix: str = "") -> Problem:
        path = element_path(exc.element) if exc.element is not None else None
        return Problem(prefix + exc.message, exc.line, path, exc.value)

    def _drain_warnings(self, state: _StatementState) -> None:
        parser = self._require_parser()
        if parser.warnings:
            state.warnings.extend(parser.warnings)
            parser.warnings.clear()

    def _unreadable(self, exc: BaseException, element: Any) -> UnreadableContentError:
        line = path = None
        try:
            line = element.sourceline if element is not None else None
            path = element_path(element) if element is not None else None
        except (AttributeError, TypeError, ValueError):  # an element lxml could not describe
            pass
        return UnreadableContentError(self.file, f"cannot be read as camt ({_describe(exc)})", line=line, path=path)

    def _warn(self, message: str) -> None:
        self.file_warnings.append(message)
        log.warning("%s: %s", self.file, message)

    def _encoding_fallback(self, offset: int) -> None:
        message = f"declared UTF-8 but byte {offset} is not UTF-8: read as ISO-8859-15"
        self._warn(message)
        if self._statement is not None:
            self._statement.warnings.append(message)

    def refuse_unsafe_prolog(self, head: bytes) -> None:
        """Raise UnsafeXmlError when the first bytes declare a DOCTYPE or ENTITY."""
        match = _UNSAFE.search(head)
        if match is not None:
            line = head.count(b"\n", 0, match.start()) + 1
            raise UnsafeXmlError(
                self.file,
                f"refused: the file declares a {match.group(1).decode().upper()} (XXE / entity expansion risk)",
                line=line,
            )

    def _refuse_doctype(self, element: Any) -> None:
        info = element.getroottree().docinfo
        if info.internalDTD is not None or info.doctype or info.system_url:
            raise UnsafeXmlError(self.file, "refused: the file declares a DOCTYPE (XXE / entity expansion risk)")


#: Exceptions a malformed file can provoke in the reading code; turned into a Problem or a CamtError.
_UNEXPECTED: tuple[type[Exception], ...] = (
    ArithmeticError,
    LookupError,
    ValueError,
    TypeError,
    AttributeError,
    RecursionError,
    etree.LxmlError,
)
_RECORD_ERRORS: tuple[type[Exception], ...] = (BadValue, *_UNEXPECTED)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    if len(text) > 120:
        text = text[:120] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def balance_check(balances: list[Balance], state: _StatementState) -> BalanceCheck:
    """Opening (OPBD, else PRCD) + booked credits - booked debits == closing (CLBD), exactly."""
    by_type: dict[str, Balance] = {}
    for bal in balances:
        by_type.setdefault(bal.type, bal)
    opening = by_type.get("OPBD") or by_type.get("PRCD")
    closing = by_type.get("CLBD")
    credits, debits = state.credits, state.debits
    reason = None
    if opening is None or closing is None:
        reason = "no opening (OPBD/PRCD) balance" if opening is None else "no closing (CLBD) balance"
    elif state.rejected:
        reason = f"{state.rejected} unreadable entr{'y' if state.rejected == 1 else 'ies'}"
    elif opening.currency != closing.currency or state.currencies - {closing.currency}:
        reason = "entries and balances in different currencies"
    if reason is not None or opening is None or closing is None:
        return BalanceCheck(
            "unverifiable",
            opening=opening.signed if opening else None,
            closing=closing.signed if closing else None,
            booked_credits=credits,
            booked_debits=debits,
            reason=reason,
        )
    difference = opening.signed + state.credits - state.debits - closing.signed
    if difference == 0:
        return BalanceCheck("ok", opening.signed, closing.signed, credits, debits, difference)
    explanation = None
    if closing.date is not None:
        later = sum((v for d, v in state.by_value_date.items() if d > closing.date), Decimal(0))
        if later == difference:
            explanation = (
                f"booked entries value-dated after the closing date {closing.date.isoformat()} "
                f"account for the difference: the closing balance excludes them"
            )
    return BalanceCheck(
        "mismatch", opening.signed, closing.signed, credits, debits, difference, explanation=explanation
    )


def open_source(source: Source) -> tuple[IO[bytes], str, bool]:
    """(byte stream, name for messages, whether we opened it and must close it)."""
    name = source_name(source)
    if isinstance(source, str | os.PathLike):
        try:
            return open(source, "rb"), name, True  # closed by the caller
        except OSError as exc:
            raise CamtError(name, f"cannot open the file: {exc.strerror}") from None
    return source, name, False


def iter_events(source: Source) -> Iterator[Event]:
    """Stream a camt file: MessageInfo, then per statement its header, entries and the closing Statement.

    Raises a :class:`~camt.errors.CamtError` subclass naming the file when the file is refused.
    """
    stream, name, owned = open_source(source)
    try:
        yield from Reader(stream, name).events()
    finally:
        if owned:
            stream.close()
