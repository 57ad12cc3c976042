"""Finding payment references and invoice numbers in what banks and debtors write.

Structured references (check digits by python-stdnum):

* Belgian OGM/VCS: 12 digits, the last two = first ten mod 97 (97 for 0)
  (``stdnum.be.ogm_vcs``). Debtors and banks write it ``+++010/8068/17183+++``,
  ``***010/8068/17183***``, ``010/8068/17183``, ``010 8068 17183``,
  ``010806817183``, with stray spaces (``+++ 010 / 8068 / 17183 +++``), and
  banks drop leading zeros (``10806817183``).
* ISO 11649 RF: ``RF`` + 2 check digits + 1-21 letters/digits, mod 97-10
  (``stdnum.iso11649``), written in groups of four, lower or upper case.

Repairs (restored leading zeros, for a whole number of 7-11 digits) are
*candidates*: the matcher only trusts a repaired reference that validates,
equals a reference it issued, and is confirmed by the amount or the payer's IBAN.

    >>> [r.value for r in find_references("Rechnung +++010/8068/17183+++ danke")]
    ['010806817183']
    >>> [(r.value, r.repair) for r in find_references("ogm 10806817183")]
    [('010806817183', 'leading zeros restored')]
    >>> [r.value for r in find_references("pay ref rf18 5390 0754 7034 thanks")]
    ['RF18539007547034']
    >>> normalize_reference("+++010/8068/17183+++")
    (<RefKind.BE_OGM: 'be-ogm'>, '010806817183', True)
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from stdnum import iso11649
from stdnum.be import ogm_vcs
from stdnum.ch import esr

from dunning.domain.matching.model import RefKind, StructuredRef

__all__ = [
    "PUNCTUATION",
    "NameScorer",
    "TextReference",
    "canonical_reference",
    "check_digits_valid",
    "find_invoice_numbers",
    "find_references",
    "name_similarity",
    "name_tokens",
    "normalize_iban",
    "normalize_invoice_number",
    "normalize_name",
    "normalize_reference",
    "structured_ref",
    "with_valid_check_digits",
]

_OGM_LENGTH = 12
_QRR_LENGTH = 27
_RF_MAX_BODY = 21
_MAX_GROUPS_PER_REF = 6  # 010/8068/17183 is 3 groups; allow stray splits, not whole sentences
_MIN_REPAIR_DIGITS = 7  # shorter numbers (dates, house numbers) are not taken for a zero-stripped OGM
_DIGITS = re.compile(r"\d+")
# What may stand between the digit groups of one written OGM: spaces, slashes, the
# +++ / *** markers, dots and dashes (a few of them, not a whole word).
_OGM_GAP = re.compile(r"[\s/+*.\-]{0,6}")
_RF_START = re.compile(r"(?<![A-Za-z0-9])R\s?F\s?(\d)\s?(\d)", re.IGNORECASE)
_RF_BODY = re.compile(r"(?:[ \t]{0,2}[0-9A-Za-z]){1,21}")
_NON_ALNUM = re.compile(r"[^0-9A-Z]")
_WORD = re.compile(r"[0-9A-Za-z]+(?:[-/._][0-9A-Za-z]+)*")
_OGM_CLEAN = str.maketrans("", "", " +/*.-\t\n")
# The separators people put in invoice numbers (translate table that drops them).
PUNCTUATION = str.maketrans("", "", " -/._#:\t")


Accept = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class TextReference:
    """A reference found in free text: its kind, canonical value, the raw text and any repair."""

    kind: RefKind
    value: str
    raw: str
    repair: str | None = None


def canonical_reference(value: str) -> tuple[RefKind, str]:
    """(kind, canonical value) of a reference, without checking its check digits (cheap).

    OGM → its 12 digits; RF → upper case without spaces; anything else → upper
    case letters and digits only, kind ``OTHER``.
    """
    compact = "".join(value.split()).upper()
    if compact.startswith("RF"):
        return RefKind.RF, compact
    digits = compact.translate(_OGM_CLEAN)
    if len(digits) == _OGM_LENGTH and digits.isdigit():
        return RefKind.BE_OGM, digits
    return RefKind.OTHER, _NON_ALNUM.sub("", compact)


def check_digits_valid(kind: RefKind, canonical: str) -> bool:
    """Whether the check digits of a canonical reference hold (python-stdnum); ``OTHER`` is unknown: True."""
    if kind is RefKind.RF:
        return bool(iso11649.is_valid(canonical))
    if kind is RefKind.BE_OGM:
        return bool(ogm_vcs.is_valid(canonical))
    return True


def with_valid_check_digits(kind: RefKind, canonical: str) -> str | None:
    """The reference with its check digits recomputed from its body (a payer who mistyped them).

    OGM: the first 10 digits, then their mod 97 (97 for 0); RF: ``RF`` + ISO 7064 mod 97-10 + body.
    None for other kinds, or a body that cannot carry check digits.
    """
    if kind is RefKind.BE_OGM and len(canonical) == _OGM_LENGTH and canonical.isdigit():
        body = canonical[:10]
        return f"{body}{int(body) % 97 or 97:02d}"
    if kind is RefKind.RF and len(canonical) > 4 and canonical[4:].isalnum():
        body = canonical[4:]
        digits = "".join(str(int(c, 36)) for c in body + "RF00")
        return f"RF{98 - int(digits) % 97:02d}{body}"
    return None


def normalize_reference(value: str) -> tuple[RefKind, str, bool]:
    """Return (kind, canonical value, check digits valid) of a reference as a creditor prints it."""
    kind, canonical = canonical_reference(value)
    return kind, canonical, check_digits_valid(kind, canonical)


def structured_ref(value: str, issuer: str | None = None) -> StructuredRef:
    """Build a :class:`StructuredRef` from a CdtrRefInf value, validating its check digits.

    ``issuer`` is camt's ``Tp/Issr``: under ``BBA`` (the Belgian bankers' scheme)
    the value must be an OGM and under ``ISO`` an RF reference, or it is
    invalid. A 27-digit reference is a Swiss QR/ISR reference, checked with
    ``stdnum.ch.esr`` (mod 10 recursive).

    >>> structured_ref("RF18 5390 0754 7034")
    StructuredRef(kind=<RefKind.RF: 'rf'>, value='RF18539007547034', valid=True)
    >>> structured_ref("4654654654654654", issuer="BBA").valid
    False
    """
    kind, canonical, valid = normalize_reference(value)
    scheme = (issuer or "").strip().upper()
    if scheme == "BBA" and kind is not RefKind.BE_OGM:
        return StructuredRef(RefKind.BE_OGM, canonical, False)
    if scheme == "ISO" and kind is not RefKind.RF:
        return StructuredRef(RefKind.RF, canonical, False)
    if kind is RefKind.OTHER and len(canonical) == _QRR_LENGTH and canonical.isdigit():
        valid = bool(esr.is_valid(canonical))
    return StructuredRef(kind, canonical, valid)


def _ogm_candidates(text: str, taken: list[tuple[int, int]], accept: Accept) -> Iterator[TextReference]:
    # Digits inside an RF reference already found are not an OGM as well.
    groups = [
        (m.start(), m.end(), m.group())
        for m in _DIGITS.finditer(text)
        if not any(start <= m.start() < end for start, end in taken)
    ]
    runs: list[list[tuple[int, int, str]]] = []
    for group in groups:
        if runs and _OGM_GAP.fullmatch(text, runs[-1][-1][1], group[0]):
            runs[-1].append(group)
        else:
            runs.append([group])
    for run in runs:
        for i in range(len(run)):
            digits = ""
            for j in range(i, min(len(run), i + _MAX_GROUPS_PER_REF)):
                digits += run[j][2]
                if len(digits) > _OGM_LENGTH:
                    break
                # A window must use whole groups: 10 digits inside 16 are another number.
                raw = text[run[i][0] : run[j][1]]
                if len(digits) == _OGM_LENGTH:
                    if accept(digits) and ogm_vcs.is_valid(digits):
                        yield TextReference(RefKind.BE_OGM, digits, raw)
                elif len(digits) >= _MIN_REPAIR_DIGITS and i == 0 and j == len(run) - 1:
                    # Banks that store the reference as a number drop its leading zeros. Only a
                    # whole run of digits is repaired, and the matcher wants a second sign too.
                    padded = digits.rjust(_OGM_LENGTH, "0")
                    if accept(padded) and ogm_vcs.is_valid(padded):
                        yield TextReference(RefKind.BE_OGM, padded, raw, "leading zeros restored")


def _rf_candidates(text: str, accept: Accept) -> Iterator[tuple[TextReference, tuple[int, int]]]:
    for start in _RF_START.finditer(text):
        body = _RF_BODY.match(text, start.end())
        if body is None:
            continue
        chunks = body.group().upper().split()
        check = start.group(1) + start.group(2)
        # Try the longest run of whole chunks first: the next word may be glued on.
        for n in range(len(chunks), 0, -1):
            candidate = "RF" + check + "".join(chunks[:n])
            if len(candidate) - 4 <= _RF_MAX_BODY and accept(candidate) and iso11649.is_valid(candidate):
                end = body.end()
                while end > start.end() and "".join(text[start.end() : end].upper().split()) != "".join(chunks[:n]):
                    end -= 1
                yield TextReference(RefKind.RF, candidate, text[start.start() : end].strip()), (start.start(), end)
                break


def _any(_value: str) -> bool:
    return True


def find_references(text: str, accept: Accept = _any) -> list[TextReference]:
    """Every OGM and RF reference with valid check digits in ``text``, in order of appearance.

    ``accept`` filters canonical candidates *before* their check digits are
    computed; the matcher passes "is one of our references", which keeps
    python-stdnum off the hot path for text that names none.
    """
    if not text:
        return []
    found: list[TextReference] = []
    seen: set[str] = set()
    taken: list[tuple[int, int]] = []
    if "f" in text or "F" in text:
        for ref, span in _rf_candidates(text, accept):
            taken.append(span)
            if ref.value not in seen:
                seen.add(ref.value)
                found.append(ref)
    for ref in _ogm_candidates(text, taken, accept):
        if ref.value not in seen:
            seen.add(ref.value)
            found.append(ref)
    return found


def normalize_invoice_number(number: str) -> str:
    """Invoice numbers compare on upper-case letters and digits: ``re-1001`` = ``RE 1001`` = ``RE1001``."""
    upper = number.upper().translate(PUNCTUATION)  # fast path for the usual separators
    return upper if upper.isalnum() and upper.isascii() else _NON_ALNUM.sub("", upper)


def find_invoice_numbers(text: str, pattern: re.Pattern[str] | None) -> list[tuple[str, str]]:
    """(normalised number, raw text) of every possible invoice number in ``text``.

    With the creditor's ``pattern``, its matches (group ``number`` if the pattern
    names one); without, every word that holds a digit and has 4+ characters.
    """
    if not text:
        return []
    out: list[tuple[str, str]] = []
    if pattern is not None:
        for m in pattern.finditer(text):
            raw = m.group("number") if "number" in pattern.groupindex else m.group()
            out.append((normalize_invoice_number(raw), raw))
    else:
        for m in _WORD.finditer(text):
            raw = m.group()
            norm = normalize_invoice_number(raw)
            if len(norm) >= 4 and any(c.isdigit() for c in norm):
                out.append((norm, raw))
    return out


def normalize_iban(iban: str) -> str:
    return "".join(iban.split()).upper()


# Legal forms say nothing about who paid: "Peeters BV" is "Peeters".
_LEGAL_FORMS = frozenset(
    {"bv", "nv", "sa", "srl", "sprl", "bvba", "vof", "cv", "comm", "gmbh", "ag", "kg", "ohg", "mbh", "ug"}
    | {"ev", "ltd", "llc", "plc", "inc", "co", "sarl", "sas", "sasu", "eurl"}
)


def normalize_name(name: str) -> str:
    """Lower case, no accents or punctuation, no legal form, words sorted.

    >>> normalize_name("Peeters, Jan")
    'jan peeters'
    >>> normalize_name("Müller GmbH & Co. KG")
    'muller'
    """
    if name.isascii():
        ascii_only = name.casefold()
    else:
        folded = unicodedata.normalize("NFKD", name)
        ascii_only = "".join(c for c in folded if not unicodedata.combining(c)).casefold()
    words = re.findall(r"[a-z0-9]+", ascii_only)
    return " ".join(sorted(w for w in words if w not in _LEGAL_FORMS))


def name_tokens(name: str) -> list[str]:
    """The words of a normalised name that are long enough to look up (3+ letters)."""
    return [w for w in normalize_name(name).split() if len(w) >= 3]


def name_similarity(a: str, b: str) -> float:
    """Similarity in [0, 1] of two names after :func:`normalize_name` (difflib ratio)."""
    na, nb = normalize_name(a), normalize_name(b)
    if not na or not nb:
        return 0.0
    # difflib's ratio is not quite symmetric; ``a`` (the payer) is the sequence it indexes, as in NameScorer.
    return difflib.SequenceMatcher(None, nb, na, autojunk=False).ratio()


class NameScorer:
    """Scores many names against one payer name; cheap upper bounds skip hopeless ones.

    Gives the same number as :func:`name_similarity` whenever it reaches ``threshold``
    (difflib's ``real_quick_ratio`` and ``quick_ratio`` bound ``ratio`` from above).
    """

    def __init__(self, name: str, threshold: float) -> None:
        self.threshold = threshold
        self.normalized = normalize_name(name)
        self._matcher = difflib.SequenceMatcher(None, autojunk=False)
        self._matcher.set_seq2(self.normalized)  # difflib caches what it learns about seq2

    def score(self, other: str) -> float:
        """The similarity of ``other`` to the payer name, or 0.0 when it is below the threshold."""
        return self.score_normalized(normalize_name(other))

    def score_normalized(self, normalized: str) -> float:
        """:meth:`score` of a name already passed through :func:`normalize_name`."""
        if not normalized or not self.normalized:
            return 0.0
        m = self._matcher
        m.set_seq1(normalized)
        if m.real_quick_ratio() < self.threshold or m.quick_ratio() < self.threshold:
            return 0.0
        ratio = m.ratio()
        return ratio if ratio >= self.threshold else 0.0
