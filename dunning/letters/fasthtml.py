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
"""

from __future__ import annotations

from functools import cache

import cssselect2
import lxml.html
from weasyprint import HTML
from weasyprint.urls import URLFetcher

__all__ = ["parsed_html"]

# What HTML.__init__ sets (WeasyPrint 6x-70).
_ATTRIBUTES = {"base_url", "etree_element", "media_type", "url_fetcher", "wrapper_element"}


@cache
def _fits(base_url: str) -> tuple[bool, str]:
    """Does this WeasyPrint's HTML hold what we set, and how does it spell ``base_url``?"""
    probe = HTML(string="<p></p>", base_url=base_url)
    return set(vars(probe)) == _ATTRIBUTES, str(probe.base_url)


def parsed_html(string: str, base_url: str, url_fetcher: URLFetcher) -> HTML:
    """``HTML(string=string, base_url=base_url, url_fetcher=url_fetcher)``, parsed by lxml."""
    fits, normalised = _fits(base_url)
    if not fits:
        return HTML(string=string, base_url=base_url, url_fetcher=url_fetcher)
    document = HTML.__new__(HTML)
    document.base_url = normalised
    document.url_fetcher = url_fetcher
    document.media_type = "print"
    document.wrapper_element = cssselect2.ElementWrapper.from_html_root(
        lxml.html.document_fromstring(string), content_language=None
    )
    document.etree_element = document.wrapper_element.etree_element
    return document
