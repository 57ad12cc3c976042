"""Grouping letters into print batches (pure: no I/O, no clock).

The rules, in the order they are applied:

1. **Sheets.** A duplex letter of *p* pages takes ⌈p/2⌉ sheets and, when *p* is odd, gets one blank
   back so the next letter starts on a fresh sheet. A simplex letter takes *p* sheets.
2. **Envelope.** A letter keeps the envelope it asked for while its sheets fit (``Envelope.max_sheets``);
   otherwise it moves to the smallest larger envelope class that holds it (DL → C4). A letter no
   envelope can hold is reported as a problem, and the others go on.
3. **Profile.** Letters are grouped by what the print house must set up differently: simplex/duplex,
   colour/black-and-white, envelope, postage class, domestic/international (against
   ``BatchingRules.home_country``) and registered mail.
4. **Order.** Inside a profile, letters are sorted by country, then postal code (so the house can
   presort for postal discounts, research/letters.md §2.7), then letter id (deterministic).
5. **Split** at ``max_letters`` letters (and ``max_sheets`` sheets if set) per batch.

Batch ids are deterministic: ``<prefix><date>-<profile>-<nnn>-<hash>`` where the hash covers the
letter ids, so planning the same letters on the same date again gives the same ids (the delivery's
idempotency key), e.g. ``P20261124-DK-DL-STANDARD-DOM-001-3f9a1c2e``.

Example::

    plan = plan_batches(letters, date(2026, 11, 24), BatchingRules(home_country="BE"))
    for batch in plan.batches: ...
    for problem in plan.problems: ...   # letters that could not be batched, with the reason
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path


@dataclass(frozen=True)
class Envelope:
    """An envelope class and how many sheets it holds (weight and thickness limits)."""

    name: str
    max_sheets: int


#: DL/C5-6 window envelope (Standardbrief-ish, 5 sheets incl. margin for inserts) and a flat C4.
DEFAULT_ENVELOPES: tuple[Envelope, ...] = (Envelope("DL", 5), Envelope("C4", 60))


@dataclass(frozen=True)
class PrintLetter:
    """One rendered letter to print and post. See :mod:`dunning.print` for the field meanings."""

    letter_id: str
    case_id: str
    debtor_id: str
    pdf: Path | bytes
    page_count: int
    country: str
    postal_code: str
    duplex: bool = True
    colour: bool = False
    envelope: str = "DL"
    postage_class: str = "standard"
    registered: bool = False


@dataclass(frozen=True)
class PrintProfile:
    """What a print house sets up per job; letters of one batch share it."""

    duplex: bool
    colour: bool
    envelope: str
    postage_class: str
    international: bool
    registered: bool

    @property
    def code(self) -> str:
        """Short, file-name-safe code, e.g. ``DK-DL-STANDARD-DOM`` or ``SC-C4-PRIORITY-INT-R``."""
        parts = [
            ("D" if self.duplex else "S") + ("C" if self.colour else "K"),
            _safe(self.envelope),
            _safe(self.postage_class),
            "INT" if self.international else "DOM",
        ]
        if self.registered:
            parts.append("R")
        return "-".join(parts)


@dataclass(frozen=True)
class PlannedLetter:
    """A letter's place in a batch: pages, blank backs, sheets and the envelope it goes into."""

    letter: PrintLetter
    sequence: int
    pages: int
    blank_pages: int
    sheets: int
    envelope: str


@dataclass(frozen=True)
class PlannedBatch:
    batch_id: str
    profile: PrintProfile
    letters: tuple[PlannedLetter, ...]

    @property
    def total_pages(self) -> int:
        """Pages in the batch PDF, blank backs included."""
        return sum(p.pages + p.blank_pages for p in self.letters)

    @property
    def total_sheets(self) -> int:
        return sum(p.sheets for p in self.letters)


@dataclass(frozen=True)
class BatchProblem:
    """A letter left out of a batch, and why."""

    letter_id: str
    message: str


@dataclass(frozen=True)
class BatchingRules:
    home_country: str = "BE"
    envelopes: tuple[Envelope, ...] = DEFAULT_ENVELOPES
    max_letters: int = 500
    max_sheets: int | None = None
    prefix: str = "P"


@dataclass(frozen=True)
class BatchPlan:
    batches: tuple[PlannedBatch, ...]
    problems: tuple[BatchProblem, ...] = field(default_factory=tuple)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "", text).upper() or "X"


def sheets_for(pages: int, duplex: bool) -> tuple[int, int]:
    """(sheets, blank pages to add) for a letter of ``pages`` pages.

    >>> sheets_for(3, duplex=True)
    (2, 1)
    >>> sheets_for(3, duplex=False)
    (3, 0)
    """
    if duplex:
        return math.ceil(pages / 2), pages % 2
    return pages, 0


def choose_envelope(requested: str, sheets: int, envelopes: tuple[Envelope, ...]) -> Envelope | str:
    """The envelope a letter of ``sheets`` sheets goes into, or a message saying why none fits."""
    by_name = {e.name: e for e in envelopes}
    wanted = by_name.get(requested)
    if wanted is None:
        return f"unknown envelope {requested!r} (known: {', '.join(sorted(by_name))})"
    if sheets <= wanted.max_sheets:
        return wanted
    larger = sorted((e for e in envelopes if e.max_sheets > wanted.max_sheets), key=lambda e: e.max_sheets)
    for envelope in larger:
        if sheets <= envelope.max_sheets:
            return envelope
    biggest = max(e.max_sheets for e in envelopes)
    return f"{sheets} sheets do not fit in any envelope (largest holds {biggest})"


def postal_sort_key(letter: PrintLetter) -> tuple[str, str, str]:
    """Country, then postal code without spaces (upper case), then letter id."""
    return (letter.country.upper(), re.sub(r"\s+", "", letter.postal_code).upper(), letter.letter_id)


def _check(letter: PrintLetter) -> str | None:
    if not letter.letter_id:
        return "letter has no letter id"
    if letter.page_count < 1:
        return f"page count {letter.page_count} is not a positive number"
    if not re.fullmatch(r"[A-Za-z]{2}", letter.country or ""):
        return f"country {letter.country!r} is not an ISO 3166 two-letter code"
    return None


def plan_batches(
    letters: Iterable[PrintLetter],
    run_date: date,
    rules: BatchingRules,
    *,
    numbered_after: Mapping[str, int] | None = None,
) -> BatchPlan:
    """Group, sort and split letters into batches; bad letters become problems, not exceptions.

    ``numbered_after`` gives, per profile code, the highest batch number already made for ``run_date``
    (by an earlier run the same day), so numbers go on where they stopped instead of starting at 001 again.
    """
    if rules.max_letters < 1:
        raise ValueError(f"max_letters must be at least 1, got {rules.max_letters}")
    problems: list[BatchProblem] = []
    groups: dict[PrintProfile, list[tuple[PrintLetter, int, int, int, str]]] = {}
    seen: set[str] = set()
    for letter in letters:
        message = _check(letter)
        if message is None and letter.letter_id in seen:
            message = "letter id appears twice in the same run"
        if message is None:
            sheets, blanks = sheets_for(letter.page_count, letter.duplex)
            chosen = choose_envelope(letter.envelope, sheets, rules.envelopes)
            if isinstance(chosen, str):
                message = chosen
        if message is not None:
            problems.append(BatchProblem(letter.letter_id, message))
            continue
        assert isinstance(chosen, Envelope)
        seen.add(letter.letter_id)
        profile = PrintProfile(
            duplex=letter.duplex,
            colour=letter.colour,
            envelope=chosen.name,
            postage_class=letter.postage_class,
            international=letter.country.upper() != rules.home_country.upper(),
            registered=letter.registered,
        )
        groups.setdefault(profile, []).append((letter, letter.page_count, blanks, sheets, chosen.name))

    batches: list[PlannedBatch] = []
    for profile in sorted(groups, key=lambda p: p.code):
        members = sorted(groups[profile], key=lambda m: postal_sort_key(m[0]))
        first = (numbered_after or {}).get(profile.code, 0) + 1
        for number, chunk in enumerate(_split(members, rules), start=first):
            planned = tuple(
                PlannedLetter(letter, seq, pages, blanks, sheets, envelope)
                for seq, (letter, pages, blanks, sheets, envelope) in enumerate(chunk, start=1)
            )
            digest = hashlib.sha256("\n".join(p.letter.letter_id for p in planned).encode()).hexdigest()
            batch_id = f"{_safe(rules.prefix)}{run_date:%Y%m%d}-{profile.code}-{number:03d}-{digest[:8]}"
            batches.append(PlannedBatch(batch_id, profile, planned))
    return BatchPlan(tuple(batches), tuple(problems))


def _split(
    members: list[tuple[PrintLetter, int, int, int, str]], rules: BatchingRules
) -> list[list[tuple[PrintLetter, int, int, int, str]]]:
    chunks: list[list[tuple[PrintLetter, int, int, int, str]]] = []
    current: list[tuple[PrintLetter, int, int, int, str]] = []
    sheets = 0
    for member in members:
        too_many_letters = len(current) >= rules.max_letters
        too_many_sheets = rules.max_sheets is not None and sheets + member[3] > rules.max_sheets
        if current and (too_many_letters or too_many_sheets):
            chunks.append(current)
            current, sheets = [], 0
        current.append(member)
        sheets += member[3]
    if current:
        chunks.append(current)
    return chunks


def profile_code_of(batch_id: str) -> str:
    """The print profile code a batch id was made for (``<prefix><date>-<code>-<nnn>-<hash>``).

    >>> profile_code_of("P20261124-DK-DL-STANDARD-DOM-R-002-3f9a1c2e")
    'DK-DL-STANDARD-DOM-R'
    """
    return batch_id.split("-", 1)[1].rsplit("-", 2)[0]


def batch_number(batch_id: str) -> int:
    """The running number of a batch within its date and profile.

    >>> batch_number("P20261124-DK-DL-STANDARD-DOM-002-3f9a1c2e")
    2
    """
    return int(batch_id.rsplit("-", 2)[-2])


def rebuild_batch(batch_id: str, letters: Sequence[PrintLetter], rules: BatchingRules) -> PlannedBatch | BatchProblem:
    """The batch recorded as ``batch_id`` with ``letters`` in their recorded order, exactly as it was planned.

    A batch is fixed when it is made: its id, members and order are stored before anything is uploaded. To
    finish an interrupted delivery the batch is laid out again from what was stored, never planned again
    (planning depends on ``batch_size`` and on which other letters are waiting, which may have changed).
    The same letters give the same sheets, blank backs and envelopes; a letter whose PDF or page count no
    longer allows that is a problem, and the caller must not deliver a different batch under the same id.
    """
    planned: list[PlannedLetter] = []
    profiles: set[str] = set()
    for sequence, letter in enumerate(letters, start=1):
        message = _check(letter)
        if message is None:
            sheets, blanks = sheets_for(letter.page_count, letter.duplex)
            chosen = choose_envelope(letter.envelope, sheets, rules.envelopes)
            if isinstance(chosen, str):
                message = chosen
        if message is not None:
            return BatchProblem(letter.letter_id, f"batch {batch_id} cannot be laid out again: {message}")
        assert isinstance(chosen, Envelope)
        profile = PrintProfile(
            duplex=letter.duplex,
            colour=letter.colour,
            envelope=chosen.name,
            postage_class=letter.postage_class,
            international=letter.country.upper() != rules.home_country.upper(),
            registered=letter.registered,
        )
        profiles.add(profile.code)
        planned.append(PlannedLetter(letter, sequence, letter.page_count, blanks, sheets, chosen.name))
    # Exactly the batch's profile: "-DK-DL-STANDARD-DOM-" is also part of a registered ("...-DOM-R-") batch's id.
    if len(profiles) != 1 or next(iter(profiles)) != profile_code_of(batch_id):
        return BatchProblem(batch_id, f"batch {batch_id} cannot be laid out again: its letters now need print "
                            f"profiles {sorted(profiles)}")
    return PlannedBatch(batch_id, profile, tuple(planned))
