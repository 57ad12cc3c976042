"""WeasyPrint documents parsed by lxml: the same tree, about fifty times faster to parse.

WeasyPrint parses HTML with tinyhtml5, in pure Python: about 1.6 ms of a letter's 28.
lxml's parser (libxml2, in C) reads the same batch in 0.03 ms a letter, and its
elements follow the ElementTree API that WeasyPrint and cssselect2 walk.
:func:`parsed_html` builds WeasyPrint's ``HTML`` object around such a tree: it sets
the attributes ``HTML.__init__`` sets after parsing. Should a WeasyPrint release set
others, it falls back to ``HTML(string=...)``.

Our templates write well-formed HTML (every element closed, no implied tags), where
both parsers build the same tree; the tests and ``dunning brand-check`` compare every
character of batch letters (lxml) with one-pass renderings (tinyhtml5).

The document also gets a leaner user-agent stylesheet. WeasyPrint's own styles the
``::marker``, ``::footnote-call``, ``::footnote-marker`` and ``::note-*`` pseudo-elements
of *every* element (``::marker { ... }``), so WeasyPrint computes six styles per element
that a letter never shows: about 5 % of a letter's time, and a third of the objects the
cycle collector then frees. :func:`letter_ua_stylesheet` keeps ``::marker`` for the
elements that are list items in HTML (``li``, ``summary``) and drops the others: a
letter's only footnote, the foot of page 1, sets its own call and marker (base.css).
A brand that floats something else into a footnote differs from its one-pass preview,
and ``dunning brand-check`` says so.
"""

from __future__ import annotations

import re
from functools import cache

import cssselect2
import lxml.html
from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher

__all__ = ["letter_ua_stylesheet", "parsed_html"]

# The rules of WeasyPrint's html5_ua.css (61-70) that style a pseudo-element of every element.
_EVERY_ELEMENT = re.compile(
    r"^::(?P<pseudo>marker|footnote-call|footnote-marker|note-call|note-marker|note-callback)"
    r"(?P<body> \{[^{}]*\})$",
    re.M,
)
_EXPECTED = {"marker", "footnote-call", "footnote-marker", "note-call", "note-marker", "note-callback"}


@cache
def letter_ua_stylesheet() -> CSS | None:
    """WeasyPrint's user-agent stylesheet without its every-element pseudo rules (module docstring).

    None when WeasyPrint's sheet no longer has exactly those rules: letters then use it as it is.
    """
    from weasyprint.html import UA, UA_COUNTER_STYLE

    if {match["pseudo"] for match in _EVERY_ELEMENT.finditer(UA)} != _EXPECTED:
        return None

    def scoped(match: re.Match[str]) -> str:
        return f"li::marker, summary::marker{match['body']}" if match["pseudo"] == "marker" else ""

    return CSS(string=_EVERY_ELEMENT.sub(scoped, UA), counter_style=UA_COUNTER_STYLE)


class _LetterHTML(HTML):  # type: ignore[misc]  # WeasyPrint ships no type hints
    """An ``HTML`` document with :func:`letter_ua_stylesheet` as its user-agent stylesheet."""

    def _ua_stylesheets(self, forms: bool = False) -> list[CSS]:
        from weasyprint.html import UA_FORM_STYLESHEET

        lean = letter_ua_stylesheet()
        if lean is None:
            return list(super()._ua_stylesheets(forms))
        return [lean, UA_FORM_STYLESHEET] if forms else [lean]


# What HTML.__init__ sets (WeasyPrint 6x-70).
_ATTRIBUTES = {"base_url", "etree_element", "media_type", "url_fetcher", "wrapper_element"}


@cache
def _fits(base_url: str) -> tuple[bool, str]:
    """Does this WeasyPrint's HTML hold what we set, and how does it spell ``base_url``?"""
    probe = HTML(string="<p></p>", base_url=base_url)
    return set(vars(probe)) == _ATTRIBUTES, str(probe.base_url)


def parsed_html(string: str, base_url: str, url_fetcher: URLFetcher) -> HTML:
    """``HTML(string=string, base_url=base_url, url_fetcher=url_fetcher)``, parsed by lxml, with
    :func:`letter_ua_stylesheet` as its user-agent stylesheet."""
    fits, normalised = _fits(base_url)
    if not fits:
        return HTML(string=string, base_url=base_url, url_fetcher=url_fetcher)
    document = _LetterHTML.__new__(_LetterHTML)
    document.base_url = normalised
    document.url_fetcher = url_fetcher
    document.media_type = "print"
    document.wrapper_element = cssselect2.ElementWrapper.from_html_root(
        lxml.html.document_fromstring(string), content_language=None
    )
    document.etree_element = document.wrapper_element.etree_element
    return document
