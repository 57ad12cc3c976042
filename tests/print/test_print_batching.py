"""Batching rules (pure): profiles, presort order, split, blank backs, sheets, envelope upgrade."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from dunning.print import (
    BatchingRules,
    BatchProblem,
    Envelope,
    PrintLetter,
    batch_number,
    plan_batches,
    profile_code_of,
    rebuild_batch,
)
from dunning.print.batching import choose_envelope, sheets_for

DAY = date(2026, 11, 24)


def letter(n: int, **kw: object) -> PrintLetter:
    base: dict[str, object] = {
        "letter_id": f"L{n:05d}",
        "case_id": f"C{n}",
        "debtor_id": f"D{n}",
        "pdf": b"",
        "page_count": 1,
        "country": "BE",
        "postal_code": "1000",
    }
    base.update(kw)
    return PrintLetter(**base)  # type: ignore[arg-type]


def test_groups_by_profile_and_sorts_by_country_then_postal_code() -> None:
    letters = [
        letter(1, postal_code="9000"),
        letter(2, postal_code="1000"),
        letter(3, country="NL", postal_code="1012 LG"),
        letter(4, country="DE", postal_code="10115"),
        letter(5, postal_code="2000", colour=True),
        letter(6, postal_code="3000", duplex=False),
        letter(7, postal_code="1000", registered=True),
        letter(8, postal_code="1000", postage_class="priority"),
        letter(9, postal_code="1050"),
    ]
    plan = plan_batches(letters, DAY, BatchingRules(home_country="BE"))
    assert not plan.problems
    by_code = {b.profile.code: [p.letter.letter_id for p in b.letters] for b in plan.batches}
    assert by_code == {
        "DK-DL-STANDARD-DOM": ["L00002", "L00009", "L00001"],  # 1000 < 1050 < 9000
        "DK-DL-STANDARD-INT": ["L00004", "L00003"],  # DE before NL
        "DC-DL-STANDARD-DOM": ["L00005"],
        "SK-DL-STANDARD-DOM": ["L00006"],
        "DK-DL-STANDARD-DOM-R": ["L00007"],
        "DK-DL-PRIORITY-DOM": ["L00008"],
    }
    # every batch holds one profile only
    for batch in plan.batches:
        assert {(p.letter.duplex, p.letter.colour, p.letter.registered) for p in batch.letters} == {
            (batch.profile.duplex, batch.profile.colour, batch.profile.registered)
        }


def test_splits_at_max_letters_and_max_sheets_and_numbers_sequences() -> None:
    letters = [letter(n, postal_code=f"{1000 + n}") for n in range(1, 8)]
    plan = plan_batches(letters, DAY, BatchingRules(max_letters=3))
    assert [len(b.letters) for b in plan.batches] == [3, 3, 1]
    assert [[p.sequence for p in b.letters] for b in plan.batches] == [[1, 2, 3], [1, 2, 3], [1]]
    assert [b.batch_id.split("-")[5] for b in plan.batches] == ["001", "002", "003"]

    heavy = [letter(n, page_count=4, postal_code=f"{1000 + n}") for n in range(1, 6)]  # 2 sheets each
    plan = plan_batches(heavy, DAY, BatchingRules(max_sheets=5))
    assert [b.total_sheets for b in plan.batches] == [4, 4, 2]


def test_blank_backs_and_sheets() -> None:
    assert sheets_for(1, duplex=True) == (1, 1)
    assert sheets_for(2, duplex=True) == (1, 0)
    assert sheets_for(5, duplex=True) == (3, 1)
    assert sheets_for(5, duplex=False) == (5, 0)
    plan = plan_batches([letter(1, page_count=3), letter(2, page_count=3, duplex=False)], DAY, BatchingRules())
    placed = {p.letter.letter_id: p for b in plan.batches for p in b.letters}
    assert (placed["L00001"].blank_pages, placed["L00001"].sheets) == (1, 2)
    assert (placed["L00002"].blank_pages, placed["L00002"].sheets) == (0, 3)


def test_letters_over_the_envelope_limit_move_to_the_larger_envelope() -> None:
    rules = BatchingRules(envelopes=(Envelope("DL", 5), Envelope("C5", 8), Envelope("C4", 60)))
    letters = [letter(1, page_count=10), letter(2, page_count=11), letter(3, page_count=17), letter(4)]
    plan = plan_batches(letters, DAY, rules)
    envelope = {p.letter.letter_id: p.envelope for b in plan.batches for p in b.letters}
    assert envelope == {"L00001": "DL", "L00002": "C5", "L00003": "C4", "L00004": "DL"}
    assert {b.profile.envelope for b in plan.batches} == {"DL", "C5", "C4"}
    assert choose_envelope("C5", 3, rules.envelopes) == Envelope("C5", 8)  # never smaller than asked


def test_bad_letters_are_problems_and_do_not_stop_the_others() -> None:
    letters = [
        letter(1),
        letter(2, page_count=0),
        letter(3, country="Belgium"),
        letter(4, envelope="B4"),
        letter(5, page_count=200),
        letter(1, postal_code="9999"),  # duplicate id
        letter(6),
    ]
    plan = plan_batches(letters, DAY, BatchingRules())
    assert [p.letter.letter_id for b in plan.batches for p in b.letters] == ["L00001", "L00006"]
    messages = {(p.letter_id, p.message) for p in plan.problems}
    assert ("L00002", "page count 0 is not a positive number") in messages
    assert ("L00003", "country 'Belgium' is not an ISO 3166 two-letter code") in messages
    assert ("L00004", "unknown envelope 'B4' (known: C4, DL)") in messages
    assert ("L00005", "100 sheets do not fit in any envelope (largest holds 60)") in messages
    assert ("L00001", "letter id appears twice in the same run") in messages


def test_batch_ids_are_deterministic_and_depend_on_the_letters() -> None:
    letters = [letter(n, postal_code=f"{1000 + n}") for n in range(1, 5)]
    first = plan_batches(letters, DAY, BatchingRules())
    again = plan_batches(list(reversed(letters)), DAY, BatchingRules())
    assert [b.batch_id for b in first.batches] == [b.batch_id for b in again.batches]
    assert first.batches[0].batch_id.startswith("P20261124-DK-DL-STANDARD-DOM-001-")
    other = plan_batches(letters[:3], DAY, BatchingRules())
    assert other.batches[0].batch_id != first.batches[0].batch_id


letters_strategy = st.lists(
    st.builds(
        lambda n, pages, duplex, country, pc: letter(
            n, page_count=pages, duplex=duplex, country=country, postal_code=pc
        ),
        st.integers(0, 10_000),
        st.integers(1, 30),
        st.booleans(),
        st.sampled_from(["BE", "NL", "DE", "FR"]),
        st.from_regex(r"[0-9]{4}", fullmatch=True),
    ),
    max_size=60,
    unique_by=lambda x: x.letter_id,
)


@settings(max_examples=60, deadline=None)
@given(letters_strategy, st.integers(1, 7))
def test_every_letter_lands_once_sorted_and_within_limits(letters: list[PrintLetter], size: int) -> None:
    plan = plan_batches(letters, DAY, BatchingRules(max_letters=size))
    placed = [p for b in plan.batches for p in b.letters]
    assert sorted(p.letter.letter_id for p in placed) == sorted(x.letter_id for x in letters)
    assert not plan.problems
    for batch in plan.batches:
        assert 1 <= len(batch.letters) <= size
        keys = [(p.letter.country, p.letter.postal_code, p.letter.letter_id) for p in batch.letters]
        assert keys == sorted(keys)
        for p in batch.letters:
            assert p.sheets <= {"DL": 5, "C4": 60}[p.envelope]
            assert (p.pages + p.blank_pages) == (2 * p.sheets if p.letter.duplex else p.sheets)
    # input order does not matter
    again = plan_batches(list(reversed(letters)), DAY, BatchingRules(max_letters=size))
    assert [b.batch_id for b in again.batches] == [b.batch_id for b in plan.batches]


def test_a_later_run_the_same_day_numbers_its_batches_after_the_earlier_ones() -> None:
    rules = BatchingRules(home_country="BE", max_letters=2)
    first = plan_batches([letter(n) for n in range(1, 4)], date(2026, 11, 24), rules)
    numbers = {b.profile.code: max(batch_number(x.batch_id) for x in first.batches) for b in first.batches}
    later = plan_batches([letter(n) for n in range(4, 7)], date(2026, 11, 24), rules, numbered_after=numbers)

    assert [batch_number(b.batch_id) for b in first.batches] == [1, 2]
    assert [batch_number(b.batch_id) for b in later.batches] == [3, 4]
    assert not {b.batch_id for b in first.batches} & {b.batch_id for b in later.batches}


@given(size=st.integers(min_value=1, max_value=7), count=st.integers(min_value=1, max_value=30),
       later_size=st.integers(min_value=1, max_value=40))
@settings(max_examples=60, deadline=None)
def test_every_batch_is_laid_out_again_from_its_stored_letters_whatever_batch_size_is_later(
    size: int, count: int, later_size: int
) -> None:
    letters = [letter(n, page_count=1 + n % 3, postal_code=str(1000 + n * 7 % 13)) for n in range(1, count + 1)]
    plan = plan_batches(letters, date(2026, 11, 24), BatchingRules(home_country="BE", max_letters=size))
    for batch in plan.batches:
        stored = [p.letter for p in batch.letters]  # what the store keeps: the id and the letters in order
        again = rebuild_batch(batch.batch_id, stored, BatchingRules(home_country="BE", max_letters=later_size))
        assert again == batch


def test_a_batch_whose_letter_changed_is_not_laid_out_again_under_its_id() -> None:
    plan = plan_batches([letter(1), letter(2)], date(2026, 11, 24), BatchingRules(home_country="BE"))
    (batch,) = plan.batches
    changed = [batch.letters[0].letter, PrintLetter(**{**vars(batch.letters[1].letter), "country": "NL"})]
    problem = rebuild_batch(batch.batch_id, changed, BatchingRules(home_country="BE"))
    assert isinstance(problem, BatchProblem)
    assert "cannot be laid out again" in problem.message


def test_a_plain_letter_does_not_fit_a_registered_batch_whose_id_merely_contains_its_profile() -> None:
    registered = PrintLetter(**{**vars(letter(1)), "registered": True})
    (batch,) = plan_batches([registered], date(2026, 11, 24), BatchingRules(home_country="BE")).batches
    assert profile_code_of(batch.batch_id) == "DK-DL-STANDARD-DOM-R"
    assert rebuild_batch(batch.batch_id, [registered], BatchingRules(home_country="BE")) == batch
    plain = rebuild_batch(batch.batch_id, [letter(1)], BatchingRules(home_country="BE"))
    assert isinstance(plain, BatchProblem) and "DK-DL-STANDARD-DOM" in plain.message
