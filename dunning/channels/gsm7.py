"""The GSM 03.38 alphabet (3GPP TS 23.038), SMS encodings and segment counting.

An SMS is sent either in the GSM 7-bit default alphabet or, as soon as one character is not
in it, entirely in UCS-2. Rules (3GPP TS 23.038 and 23.040):

* GSM-7: 160 septets in a single SMS, 153 per segment when concatenated (the 6-octet user data
  header takes 7 septets). The extension characters ``^ { } \\ [ ~ ] | €`` and form feed are
  sent as ESC + code and count **2**; a segment never splits such a pair.
* UCS-2: 70 UTF-16 code units in a single SMS, 67 per segment. A character outside the Basic
  Multilingual Plane (most emoji) is a surrogate pair and counts **2**; a segment never splits
  a pair.

    >>> count("Betaal 12,50 EUR").encoding
    'GSM-7'
    >>> count("€").units
    2
    >>> count("Płatność").encoding
    'UCS-2'

The smpplib table has ``\\``` where 0x5F is ``§`` and lacks form feed, so the table is spelt
out here from the standard.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "EXTENSION",
    "GSM7_BASIC",
    "SegmentCount",
    "count",
    "decode_gsm7",
    "encode_gsm7",
    "is_gsm7",
    "split_segments",
]

# Code points 0x00-0x7F of the default alphabet; 0x1B is the escape to the extension table.
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
assert len(GSM7_BASIC) == 128

# The extension table: character -> code after ESC (0x1B).
EXTENSION = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D,
             "]": 0x3E, "|": 0x40, "€": 0x65}

_BASIC_CODE = {char: code for code, char in enumerate(GSM7_BASIC) if code != 0x1B}
_EXTENSION_CHAR = {code: char for char, code in EXTENSION.items()}

Encoding = Literal["GSM-7", "UCS-2"]

# (single-message limit, per-segment limit) in septets or UTF-16 code units.
LIMITS: dict[str, tuple[int, int]] = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


def is_gsm7(text: str) -> bool:
    """True if every character is in the GSM-7 default alphabet or its extension table."""
    return all(char in _BASIC_CODE or char in EXTENSION for char in text)


def non_gsm7_characters(text: str) -> list[str]:
    """The characters that force UCS-2, in order of appearance, without repeats."""
    seen: dict[str, None] = {}
    for char in text:
        if char not in _BASIC_CODE and char not in EXTENSION:
            seen.setdefault(char)
    return list(seen)


def _unit_costs(text: str, encoding: Encoding) -> list[int]:
    if encoding == "GSM-7":
        return [2 if char in EXTENSION else 1 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


@dataclass(frozen=True, slots=True)
class SegmentCount:
    """How an SMS text is sent: encoding, length in units, number of segments."""

    encoding: Encoding
    units: int
    segments: int
    characters: int

    @property
    def unit_name(self) -> str:
        return "septets" if self.encoding == "GSM-7" else "UTF-16 code units"


def split_segments(text: str) -> tuple[Encoding, list[str]]:
    """Split ``text`` into the segments it will be sent as (one if it fits in a single SMS).

    Segments are filled greedily up to 153 septets (GSM-7) or 67 code units (UCS-2) without
    splitting an escape pair or a surrogate pair, which is what SMSCs do.
    """
    encoding: Encoding = "GSM-7" if is_gsm7(text) else "UCS-2"
    single, per_segment = LIMITS[encoding]
    costs = _unit_costs(text, encoding)
    if sum(costs) <= single:
        return encoding, [text]
    segments: list[str] = []
    start, used = 0, 0
    for index, cost in enumerate(costs):
        if used + cost > per_segment:
            segments.append(text[start:index])
            start, used = index, 0
        used += cost
    segments.append(text[start:])
    return encoding, segments


def count(text: str) -> SegmentCount:
    """Encoding, units and segments of ``text``; an empty text is one (empty) SMS."""
    encoding, segments = split_segments(text)
    return SegmentCount(encoding, sum(_unit_costs(text, encoding)), len(segments), len(text))


def encode_gsm7(text: str) -> bytes:
    """Unpacked GSM-7 (one octet per septet, ESC 0x1B before extension characters).

    This is what SMPP ``data_coding=0`` carries on most SMSCs. Raises ``ValueError`` naming
    the first character that has no GSM-7 code.
    """
    out = bytearray()
    for position, char in enumerate(text):
        if char in _BASIC_CODE:
            out.append(_BASIC_CODE[char])
        elif char in EXTENSION:
            out += bytes((0x1B, EXTENSION[char]))
        else:
            raise ValueError(f"character {char!r} (U+{ord(char):04X}) at position {position} is not GSM-7")
    return bytes(out)


def decode_gsm7(data: bytes) -> str:
    """Inverse of :func:`encode_gsm7`; an unknown escape code decodes as a space (as phones do)."""
    out: list[str] = []
    escaped = False
    for octet in data:
        if escaped:
            out.append(_EXTENSION_CHAR.get(octet, " "))
            escaped = False
        elif octet == 0x1B:
            escaped = True
        else:
            out.append(GSM7_BASIC[octet & 0x7F])
    return "".join(out)
