"""Shared blocks (dunning.letters.memo): laid out once, stamped into each letter, printed where one pass prints."""

from __future__ import annotations

import dataclasses

import jinja2
import pypdfium2 as pdfium
import pytest

from dunning.letters import LetterKind, LetterRenderer
from dunning.letters.check import differences, one_pass_pdf, placed_text
from dunning.letters.memo import MemoBlock, group_runs, memo_filter
from dunning.letters.samples import sample_letter
from tests.letters.letters_pdf import page_text


def variants(letter, count: int, prefix: str = "M"):  # type: ignore[no-untyped-def]
    """``count`` letters like ``letter`` with their own ids, case numbers and references."""
    return [
        dataclasses.replace(
            letter, letter_id=f"{prefix}{i}", case_number=f"C{i:04d}",
            reference=f"{i + 7:010d}" + f"{(i + 7) % 97 or 97:02d}",
        )
        for i in range(count)
    ]


def page_count(pdf: bytes) -> int:
    document = pdfium.PdfDocument(pdf)
    count = len(document)
    document.close()
    return count


@pytest.mark.parametrize(
    ("kind", "language", "brand"),
    [
        (LetterKind.FIRST_REMINDER, "nl", "default"),
        (LetterKind.SECOND_REMINDER, "de", "atelier"),
        (LetterKind.FINAL_NOTICE, "fr", "atelier"),
        (LetterKind.PAYMENT_PLAN, "en", "default"),
    ],
)
def test_shared_blocks_print_where_one_pass_prints(
    renderer: LetterRenderer, kind: LetterKind, language: str, brand: str
) -> None:
    letters = variants(sample_letter(kind, language, brand), 3)
    before = renderer._memos.laid_out
    result = renderer.render_batch(letters)
    assert not result.problems
    assert renderer._memos.laid_out > before or before > 0  # blocks shared by the three letters
    for rendered, letter in zip(result.letters, letters, strict=True):
        expected_pdf = one_pass_pdf(renderer, letter, rendered.page_count)
        assert rendered.page_count == page_count(expected_pdf)
        found = placed_text(result.pdf, rendered.pages)
        expected = placed_text(expected_pdf, range(rendered.page_count))
        assert sum(len(v) for v in found.values()) > 300
        assert differences(found, expected) == []


def test_shared_blocks_on_later_pages_of_a_long_letter(renderer: LetterRenderer) -> None:
    letter = sample_letter(LetterKind.ACCOUNT_STATEMENT, "en", "default")
    assert letter.statement
    letters = variants(dataclasses.replace(letter, statement=letter.statement * 12), 2, "LONG")
    result = renderer.render_batch(letters)
    assert not result.problems
    rendered = result.letters[1]
    assert rendered.page_count >= 2
    expected_pdf = one_pass_pdf(renderer, letters[1], rendered.page_count)
    expected = placed_text(expected_pdf, range(rendered.page_count))
    assert differences(placed_text(result.pdf, rendered.pages), expected) == []
    # The closing and signature are stamped on the letter's last page, and a split letter keeps them.
    last = page_text(result.split()[letters[1].letter_id], rendered.page_count - 1)
    assert "Kind regards" in last or "Yours sincerely" in last


def test_a_block_is_laid_out_once_per_process_and_only_when_shared() -> None:
    renderer = LetterRenderer()
    base = sample_letter(LetterKind.FIRST_REMINDER, "nl", "default")
    letters = variants(base, 4)
    # One letter with its own salutation: that block occurs once and prints in place, and the run it
    # is in (subject to the head of the claim table) falls back to its blocks one by one.
    letters[3] = dataclasses.replace(letters[3], salutation="Beste Jan,")
    result = renderer.render_batch(letters)
    assert not result.problems
    first = renderer._memos.laid_out
    # Two runs (subject to table head, last paragraph to signature) and the subject, first paragraph
    # and table head of the fourth letter; not its salutation.
    assert first == 5
    data = renderer._section(letters[3], renderer._context(letters[3]), 1, "data", found := {})
    filled, slots = renderer._memos.fill(data, found, "x")
    assert len(slots) == 4 and "Beste Jan," in filled and filled.count('class="memo memo-run"') == 1
    assert "Beste Jan," in page_text(result.pdf, result.letters[3].first_page)
    assert "Geachte" in page_text(result.pdf, result.letters[0].first_page)

    renderer.render_batch(variants(base, 2, "N"))
    assert renderer._memos.laid_out == first  # the second batch reuses every block

    # A batch of one letter stamps the blocks laid out before; a new block stays in place.
    single = renderer.render_batch([dataclasses.replace(base, letter_id="ONE", salutation="Hallo,")])
    assert renderer._memos.laid_out == first
    assert "Hallo," in page_text(single.pdf, 0)


def render_filter(source: str, **context: object) -> str:
    env = jinja2.Environment(autoescape=True)
    env.filters["memo"] = memo_filter
    return env.from_string("{% filter memo %}" + source + "{% endfilter %}").render(**context)


def test_the_filter_marks_shares_or_leaves_a_block() -> None:
    # Outside the data layer: the block itself, with the class that keeps it on one page.
    closing = render_filter('<p class="closing">Regards</p>', part="all")
    assert group_runs(closing) == '<p class="memo closing">Regards</p>'
    assert group_runs(render_filter("<h1>Subject</h1>", part="form")) == '<h1 class="memo">Subject</h1>'
    # Blocks that follow one another share a wrapper; anything else between them ends the run.
    subject = render_filter("<h1>Subject</h1>", part="all")
    assert group_runs(f"{subject}\n  {closing}<p>x</p>{closing}") == (
        '<div class="memo memo-run"><h1 class="memo">Subject</h1><p class="memo closing">Regards</p></div>'
        '<p>x</p><p class="memo closing">Regards</p>'
    )
    # In the data layer: a token, and the block in the letter's collection.
    found: dict[str, MemoBlock] = {}
    token = render_filter(
        "<p>Hello <strong>you</strong></p>", part="data", memos=found, brand_key="default", page_class="pay",
        lang="en",
    )
    assert token.startswith("<!--memo:Memo") and len(found) == 1
    block = next(iter(found.values()))
    assert (block.tag, block.inner, block.brand, block.lang) == ("p", "Hello <strong>you</strong>", "default", "en")
    # Not one element, or an element with its own id or style: left as it is.
    for source in ("<p>a</p><p>b</p>", '<p style="color: red">a</p>', '<p id="x">a</p>', "plain text"):
        assert render_filter(source, part="data", memos=found) == source


def test_a_batch_pauses_the_cycle_collector_and_restores_it(renderer: LetterRenderer) -> None:
    import gc

    letter = sample_letter(LetterKind.FIRST_REMINDER, "en", "default")
    seen: list[bool] = []
    original = renderer._render_batch

    def spy(letters):  # type: ignore[no-untyped-def]
        seen.append(gc.isenabled())
        return original(letters)

    renderer._render_batch = spy  # type: ignore[method-assign]
    try:
        assert gc.isenabled()
        renderer.render_batch([letter])
        assert gc.isenabled() and seen == [False]
        gc.disable()  # a caller that runs without the collector keeps it that way
        try:
            renderer.render_batch([dataclasses.replace(letter, letter_id="GC2")])
            assert not gc.isenabled()
        finally:
            gc.enable()
    finally:
        del renderer._render_batch  # type: ignore[method-assign]
