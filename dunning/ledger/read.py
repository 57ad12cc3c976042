"""Reading a ledger file into a table of strings, with its source line numbers.

CSV: the encoding (UTF-8 with or without BOM, else cp1252, else Latin-1) and the
delimiter (``;`` ``,`` tab ``|``) are detected unless the mapping names them.
XLSX (openpyxl) and Parquet (pyarrow) are read as they are. Every cell becomes a
string (empty when missing) so one set of value readers handles all formats.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dunning.errors import LedgerError
from dunning.ledger.mapping import Mapping

DELIMITERS = ";,\t|"


@dataclass(frozen=True)
class RawTable:
    """A ledger file as strings: ``frame`` has the file's headers plus ``_line``."""

    path: Path
    sha256: str
    frame: pd.DataFrame
    format: str
    encoding: str | None
    delimiter: str | None
    bad_lines: tuple[tuple[int, str, tuple[str, ...]], ...]  # (line, reason, fields) of lines pandas refused


def detect_encoding(data: bytes) -> str:
    """``utf-8-sig`` for a BOM, ``utf-8`` when it decodes, else ``cp1252``, else ``latin-1``."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    for encoding in ("utf-8", "cp1252"):
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    return "latin-1"


def detect_delimiter(text_head: str) -> str:
    """The delimiter of a CSV text, judged on its first lines."""
    lines = [line for line in text_head.splitlines() if line.strip()][:20]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in DELIMITERS}
        return max(counts, key=lambda d: counts[d]) if max(counts.values()) else ","


def _as_strings(frame: pd.DataFrame) -> pd.DataFrame:
    def cell(value: object) -> str:
        if value is None or (isinstance(value, float) and value != value):
            return ""
        if isinstance(value, pd.Timestamp):
            return str(value.strftime("%Y-%m-%d")) if value == value.normalize() else str(value.isoformat())
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value).strip()

    return pd.DataFrame({str(col): frame[col].map(cell) for col in frame.columns}, index=frame.index)


_SKIPPING = re.compile(r"Skipping line (\d+): (.*)")
_TOO_LONG_FIRST_ROW = "Length of header or names does not match length of data"


def _split_line(data: bytes, encoding: str, line: int, delimiter: str) -> tuple[str, ...]:
    """The fields of one physical line, so a refused line can still name its invoice."""
    text = data.decode(encoding, errors="replace").splitlines()
    if not 0 < line <= len(text):
        return ()
    return tuple(next(csv.reader([text[line - 1]], delimiter=delimiter), []))


def _read_csv(
    path: Path, data: bytes, mapping: Mapping
) -> tuple[pd.DataFrame, str, str, list[tuple[int, str, tuple[str, ...]]]]:
    encoding = mapping.encoding or detect_encoding(data)
    try:
        head = data[:65536].decode(encoding, errors="replace")
    except LookupError:
        raise LedgerError(f"{path}: unknown encoding {encoding!r}") from None
    if mapping.skip_rows:
        head = "\n".join(head.splitlines()[mapping.skip_rows :])
    delimiter = mapping.delimiter or detect_delimiter(head)
    bad: list[tuple[int, str, tuple[str, ...]]] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            frame = pd.read_csv(
                io.BytesIO(data),
                sep=delimiter,
                encoding=encoding,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,
                skiprows=mapping.skip_rows,
                on_bad_lines="warn",
                engine="c",
                index_col=False,  # a row with one field too many is a bad line, never an index
            )
        except UnicodeDecodeError as exc:
            raise LedgerError(f"{path}: cannot be decoded as {encoding} ({exc.reason} at byte {exc.start})") from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
            raise LedgerError(f"{path}: not a readable CSV file ({exc})") from None
    for warning in caught:
        for match in _SKIPPING.finditer(str(warning.message)):
            line = int(match.group(1)) + mapping.skip_rows
            bad.append((line, match.group(2).strip(), _split_line(data, encoding, line, delimiter)))
    # Source line of each row: header line + 1 + rows before it + newlines inside quoted cells.
    embedded = pd.Series(0, index=frame.index)
    for column in frame.columns:
        embedded = embedded + frame[column].str.count("\n").fillna(0).astype(int)
    skipped_before = pd.Series(0, index=frame.index)
    if bad:
        # pandas numbers rows without the skipped lines; shift each row by the bad lines above it.
        bad_lines = sorted(line for line, _, _ in bad)
        lines = mapping.skip_rows + 2 + frame.index.to_series() + embedded.shift(fill_value=0).cumsum()
        shift = [0] * len(frame)
        passed = 0
        for position, line in enumerate(lines.tolist()):
            while passed < len(bad_lines) and bad_lines[passed] <= line + passed:
                passed += 1
            shift[position] = passed
        skipped_before = pd.Series(shift, index=frame.index)
    frame["_line"] = (
        mapping.skip_rows + 2 + frame.index.to_series() + embedded.shift(fill_value=0).cumsum() + skipped_before
    )
    if len(frame) and any(_TOO_LONG_FIRST_ROW in str(w.message) for w in caught):
        # pandas trims the fields beyond the header on the first data row only (later rows are
        # refused as bad lines above): refuse that row too, so every row is treated alike.
        first = int(frame["_line"].iloc[0])
        fields = _split_line(data, encoding, first, delimiter)
        bad.append((first, f"expected {len(frame.columns) - 1} fields, saw {len(fields)}", fields))
        bad.sort()
        frame = frame.iloc[1:]
    return frame, encoding, delimiter, bad


def read_table(path: Path, mapping: Mapping) -> RawTable:
    """Read ``path`` (CSV, TSV, TXT, XLSX, Parquet) into strings with line numbers."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LedgerError(f"{path}: no such file") from None
    except OSError as exc:
        raise LedgerError(f"{path}: cannot be read ({exc.strerror})") from None
    sha256 = hashlib.sha256(data).hexdigest()
    suffix = path.suffix.lower()
    encoding: str | None = None
    delimiter: str | None = None
    bad: list[tuple[int, str, tuple[str, ...]]] = []
    if suffix in (".xlsx", ".xlsm") or data.startswith(b"PK\x03\x04"):
        kind = "xlsx"
        try:
            frame = pd.read_excel(
                io.BytesIO(data),
                sheet_name=mapping.sheet or 0,
                dtype=object,
                header=mapping.skip_rows,
                engine="openpyxl",
            )
        except Exception as exc:  # openpyxl raises many types for a broken workbook
            raise LedgerError(f"{path}: not a readable XLSX workbook ({exc})") from None
        frame = _as_strings(frame)
        frame["_line"] = mapping.skip_rows + 2 + frame.index.to_series()
    elif suffix == ".parquet" or data.startswith(b"PAR1"):
        kind = "parquet"
        try:
            frame = _as_strings(pd.read_parquet(io.BytesIO(data)))
        except Exception as exc:  # pyarrow raises ArrowInvalid and others
            raise LedgerError(f"{path}: not a readable Parquet file ({exc})") from None
        frame["_line"] = frame.index.to_series() + 1  # Parquet has rows, not lines: row numbers from 1
    else:
        kind = "csv"
        frame, encoding, delimiter, bad = _read_csv(path, data, mapping)
    del data  # the rows are in the frame now
    frame.columns = [str(c).strip() for c in frame.columns]
    data_columns = [c for c in frame.columns if c != "_line"]
    if not data_columns or all(c.startswith("Unnamed") for c in data_columns):
        raise LedgerError(f"{path}: no header row found")
    empty = (frame[data_columns] == "").all(axis=1)
    if empty.any():  # copying a big frame costs its size again: only when there are blank rows to drop
        frame = frame[~empty].reset_index(drop=True)
    return RawTable(path, sha256, frame, kind, encoding, delimiter, tuple(bad))
