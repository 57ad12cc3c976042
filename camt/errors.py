"""Exceptions raised by the camt reader, in one place.

::

    CamtError                 a file cannot be read as camt at all (names the file)
    ├── MalformedXmlError     not well-formed XML, or undecodable bytes (line given)
    ├── UnsafeXmlError        a DOCTYPE / ENTITY declaration (XXE, billion laughs): refused
    ├── NotCamtError          well-formed XML, but not a camt.052/053/054 message
    ├── UnreadableContentError  camt whose structure the reader cannot follow (line and element given)
    └── SchemaInvalidError    ``strict=True`` validation against the ISO XSD failed

Bad *records* (one unreadable entry amount, a malformed date, an amount past the
XSD's 18 digits, a charges record without an amount) are not exceptions: they are
reported as :class:`camt.model.Problem` on the statement (``entry_skipped`` when
the entry was left out) so the caller decides whether the file can be used.

Whatever the bytes, the reader either reads or raises a ``CamtError``: never a
``KeyError``, ``decimal.InvalidOperation`` or ``TypeError`` (a property test over
mutated corpus files, ``tests/camt/test_camt_fuzz.py``, holds it to that).

The package is standalone (lxml only), so ``CamtError`` does not derive from
dunning's exception tree; dunning wraps it where it calls the reader.
"""

from __future__ import annotations


class CamtError(Exception):
    """A camt file was refused.

    The message always names the file, and where possible the line, the element
    path and the offending value; the same facts are kept as attributes.
    """

    def __init__(
        self,
        file: str,
        reason: str,
        *,
        line: int | None = None,
        path: str | None = None,
        value: str | None = None,
    ) -> None:
        self.file = file
        self.reason = reason
        self.line = line
        self.path = path
        self.value = value
        where = file
        if line is not None:
            where += f", line {line}"
        if path:
            where += f", {path}"
        text = f"{where}: {reason}"
        if value is not None:
            text += f" (value {value!r})"
        super().__init__(text)


class MalformedXmlError(CamtError):
    """The bytes are not well-formed XML (or cannot be decoded)."""


class UnsafeXmlError(CamtError):
    """The file declares a DOCTYPE or entities; refused to rule out XXE and entity expansion."""


class NotCamtError(CamtError):
    """Well-formed XML that is not a camt.052, camt.053 or camt.054 message."""


class UnreadableContentError(CamtError):
    """Well-formed camt whose structure the reader cannot follow; names the line and element."""


class SchemaInvalidError(CamtError):
    """Strict validation against the ISO 20022 XSD failed."""
