"""Batch documents parsed by lxml with a lean user-agent stylesheet print like WeasyPrint's own."""

from __future__ import annotations

from weasyprint import HTML
from weasyprint.urls import URLFetcher

from dunning.letters.check import differences, placed_text
from dunning.letters.fasthtml import letter_ua_stylesheet, parsed_html

PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<h1>Overview</h1>
<ol><li>First item, numbered</li><li>Second item</li></ol>
<ol style="list-style-type: lower-alpha; text-transform: uppercase"><li>marker stays lower case</li></ol>
<ul><li>A bullet</li></ul>
<details open><summary>A summary</summary><p>Details</p></details>
<p>A paragraph with <q>a quotation</q>.</p>
<div style="float: footnote" class="f">A footnote that sets its own call.</div>
</body></html>"""
CSS_TEXT = ".f::footnote-call { content: '*'; } .f::footnote-marker { content: '* '; }"


def test_the_lean_sheet_is_in_use_with_this_weasyprint() -> None:
    # Without it letters still print the same, but about 5 % slower: this pins that it applies.
    lean = letter_ua_stylesheet()
    assert lean is not None
    document = parsed_html("<p>x</p>", ".", URLFetcher())
    assert document._ua_stylesheets() == [lean]


def test_lists_quotes_and_a_footnote_print_as_with_weasyprints_own_sheet() -> None:
    from weasyprint import CSS

    sheet = CSS(string=CSS_TEXT)
    fetcher = URLFetcher()
    ours = parsed_html(PAGE, ".", fetcher).write_pdf(stylesheets=[sheet])
    theirs = HTML(string=PAGE, base_url=".").write_pdf(stylesheets=[sheet])
    found, expected = placed_text(ours, [0]), placed_text(theirs, [0])
    # List markers (the "a." of an upper-cased list keeps its case), quotes and the footnote call.
    assert {"1", "2", ".", "a", "•", "*", "“"} <= set(expected)
    assert differences(found, expected) == []
