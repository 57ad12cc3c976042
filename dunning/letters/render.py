"""Batch letter renderer: many letters per WeasyPrint document, page x of y per letter.

How it stays fast (research/letters.md section 3):

* one :class:`LetterRenderer` per process keeps the Jinja environment, the
  parsed CSS of each brand and one ``FontConfiguration`` (images are cached per batch);
* a chunk of letters becomes **one** HTML document (one ``<section>`` per
  letter), so WeasyPrint parses the stylesheets, sets up fonts and subsets
  them once per chunk instead of once per letter;
* page 1's fixed layer (letterhead, labels, footer) is a *form* laid out once per
  process and stamped under each letter (:mod:`dunning.letters.forms`): WeasyPrint
  lays out only what changes from letter to letter;
* QR codes are not images WeasyPrint handles: the form leaves an empty box of
  the code's size and the modules are drawn into it after layout, as a 1-bit image
  stamped with the form (:func:`~dunning.letters.forms.stamp_pages`);
* text blocks many letters print alike are laid out once and stamped into slots,
  a run of them into one slot (:mod:`dunning.letters.memo`);
* page 1's address and value lines and the claim table's body are not laid out per letter:
  a probe of their skeleton is laid out once, and after layout its boxes are copied onto the
  letter's page with the letter's own text, which WeasyPrint then draws as any other
  (:mod:`dunning.letters.placing`; a third of a letter's time);
* the data layer keeps few boxes: WeasyPrint costs about 0.4 ms per box and per
  line whatever it holds, so the foot's items go without their two wrappers
  (:func:`dunning.letters.pages.foot_css`) and the claim table's body takes its widths from its first row;
* Python's cycle collector pauses during a batch (:func:`_collector_paused`): at the
  default threshold it spent a fifth of the time walking WeasyPrint's boxes;
* chunks go to worker processes (:func:`dunning.letters.parallel.render_parallel`).

"Page x of y" per letter: CSS counters run over the whole document, so each
letter is its own CSS *page group* (``page: letter`` on its section and
``@page :nth(1 of letter) { counter-reset: page 1 }`` restarts the count).
The "y" is printed from a string the template sets (``string-set``); the
first pass assumes one page per letter, the renderer reads the real page
ranges back from the laid-out document (section ids are page anchors), and
only letters that came out longer are laid out again with the right total.
Their pages then replace the first-pass pages (``Document.copy``) before the
single ``write_pdf``.

Page 1 geometry: the letterhead, return line, address and info block are
absolute boxes inside a block as tall as the space above the subject (mm
positions from :mod:`dunning.letters.geometry`); the payment strip, footer
or Swiss QR-bill is a CSS footnote, so it sits at the foot of page 1 and the
text flows above it (in the data layer: absolute boxes moved to the same spot).

A bad letter (missing field, invalid IBAN or reference) is reported in
``BatchResult.problems`` and left out; the rest of the batch renders.
"""

from __future__ import annotations

import base64
import gc
import logging
import re
import string
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
import yaml
from schwifty import BIC, IBAN
from stdnum.ch import esr
from weasyprint import CSS
from weasyprint.document import Document, Page
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from dunning.domain.epc import EpcError
from dunning.domain.paylink import with_medium
from dunning.domain.references import parse_reference
from dunning.errors import ConfigError
from dunning.letters.batch import CHUNK_SIZE, DEFAULT_TEMPLATES_DIR, BatchResult, RenderedLetter
from dunning.letters.brand import Brand, load_brand
from dunning.letters.fasthtml import parsed_html
from dunning.letters.formatting import LocaleFormat, SwissLoader, locale_for, swiss_spelling, swiss_text
from dunning.letters.forms import Form, FormCache, PageStamp, QrPlacement, stamp_pages
from dunning.letters.memo import MemoBlock, MemoCache, MemoSlot, group_runs, memo_filter
from dunning.letters.model import (
    LegalMentions,
    LetterData,
    LetterDataError,
    LetterKind,
    check_letter,
    is_swiss,
    letter_epc_payload,
    payable,
)
from dunning.letters.pages import PAGE_NAMES, foot_css, page_css
from dunning.letters.placing import Placements, Taken
from dunning.letters.printsafe import UnprintableLetter, address_refusal
from dunning.letters.qr import epc_qr, link_qr, swiss_qr_bill_svg
from dunning.template_errors import template_error

__all__ = ["CHUNK_SIZE", "DEFAULT_TEMPLATES_DIR", "BatchResult", "LetterRenderer", "RenderedLetter"]

log = logging.getLogger(__name__)

# Layers of a letter (see letter.html.j2 and dunning.letters.forms).
PARTS = ("all", "form", "data")


def _anchor(letter_id: str) -> str:
    return "L-" + base64.b32encode(letter_id.encode("utf-8")).decode("ascii").rstrip("=")


class LetterRenderer:
    """Renders letters to PDF. Build one per process and reuse it for every chunk."""

    def __init__(
        self,
        templates_dir: Path | None = None,
        layouts_dir: Path | None = None,
        pdf_variant: str | None = None,
        one_pass: Iterable[str] = (),
    ) -> None:
        """``one_pass``: brands rendered in one pass, without forms and shared blocks (slower;
        for a brand whose CSS breaks their rules, see :mod:`dunning.letters.check`)."""
        self.one_pass = frozenset(one_pass)
        self.templates_dir = templates_dir or DEFAULT_TEMPLATES_DIR
        self.layouts_dir = layouts_dir
        self.pdf_variant = pdf_variant
        letters_dir = self.templates_dir / "letters"
        if not (letters_dir / "letter.html.j2").is_file():
            raise ConfigError(f"{letters_dir}: letter templates not found (letter.html.j2)")
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(letters_dir)),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["memo"] = memo_filter
        # The same templates in Swiss spelling ("ß" → "ss" in their own text; the data they print is untouched).
        self._env_ch = self._env.overlay(loader=SwissLoader(str(letters_dir)))
        self._labels: dict[str, dict[str, str]] = yaml.safe_load(
            (letters_dir / "labels.yaml").read_text(encoding="utf-8")
        )
        # Per country, per language: payment means and terms of the debtor's country (no Bancontact in NL).
        self._country_labels: dict[str, dict[str, dict[str, str]]] = self._labels.pop("countries", None) or {}
        self._base_css = (letters_dir / "base.css").read_text(encoding="utf-8")
        self._font_config = FontConfiguration()
        self._fetcher = URLFetcher(allowed_protocols={"data"})
        self._brands: dict[str, Brand] = {}
        self._stylesheets: dict[str, list[CSS]] = {}
        self._forms = FormCache(self._layout_form)
        # A form carries no "page x of y": the letter's own layer prints it.
        self._form_css = CSS(
            string="@page{@top-right{content:none}@top-left{content:none}}", font_config=self._font_config
        )
        self._memos = MemoCache(self._layout_memos)
        # Page 1's address and value lines and the claim table: placed after layout from probes (.placing).
        self._placed = Placements(lambda brand_key, section: self._layout(brand_key, [section], {}))
        # Shared blocks are laid out one per page, at its top, with nothing else on it.
        self._memo_css = CSS(
            string="@page memo{margin-top:0;margin-bottom:0;@top-right{content:none}@top-left{content:none}}",
            font_config=self._font_config,
        )

    # -- brands and stylesheets -------------------------------------------------------------
    def brand(self, key: str) -> Brand:
        if key not in self._brands:
            self._brands[key] = load_brand(key, self.layouts_dir)
        return self._brands[key]

    def css_text(self, brand_key: str) -> str:
        """A brand's whole stylesheet: page CSS, base CSS, envelope geometry, foot, brand CSS, variables filled."""
        brand = self.brand(brand_key)
        return brand.resolve_variables(
            "\n".join([page_css(), self._base_css, brand.envelope.css(), foot_css(), brand.css_text])
        )

    def stylesheets(self, brand_key: str) -> list[CSS]:
        """:meth:`css_text`, parsed once per brand and process."""
        if brand_key not in self._stylesheets:
            self._stylesheets[brand_key] = [
                CSS(string=self.css_text(brand_key), font_config=self._font_config, url_fetcher=self._fetcher)
            ]
        return self._stylesheets[brand_key]

    def labels_for(self, language: str, country: str) -> dict[str, str]:
        """The labels of ``language``, with the debtor's ``country``'s own terms and payment means."""
        return {**self._labels[language], **self._country_labels.get(country.upper(), {}).get(language, {})}

    # -- one letter -> HTML -------------------------------------------------------------------
    def _payment(self, letter: LetterData, fmt: LocaleFormat, reference: str) -> dict[str, Any] | None:
        amount = payable(letter)
        if amount is None or amount <= 0:
            return None
        creditor = letter.creditor
        pay: dict[str, Any] = {
            "amount": fmt.money(amount),
            "iban": IBAN(creditor.iban).formatted,
            "bic": BIC(creditor.bic).compact if creditor.bic else "",
            "pay_by": _pay_by(letter, fmt),
            "link": letter.pay_link,
            # The code carries the medium, so the pay page counts scans apart from typed links.
            "link_qr": link_qr(with_medium(letter.pay_link, "letter_qr")) if letter.pay_link else None,
            "swiss": False,
            "epc": None,
        }
        if is_swiss(creditor):
            debtor = (letter.debtor.name, letter.debtor.country, tuple(letter.debtor.address_lines))
            svg = swiss_qr_bill_svg(
                creditor, amount, letter.currency, reference.replace(" ", ""), letter.language, debtor=debtor
            )
            pay["swiss"] = True
            pay["qrbill_uri"] = "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode()
        elif letter.currency == "EUR":
            pay["epc"] = epc_qr(letter_epc_payload(letter, amount))
        return pay

    def letter_html(self, letter: LetterData, page_total: int = 1, part: str = "all") -> str:
        """The letter's ``<section>``; raises on bad data (callers use :meth:`render_batch`).

        ``part`` is ``"all"`` (the whole letter), ``"form"`` (page 1's fixed layer, the
        same for many letters: see :mod:`dunning.letters.forms`) or ``"data"`` (the rest).
        """
        return self._section(letter, self._context(letter), page_total, part)

    def _section(
        self, letter: LetterData, context: dict[str, Any], page_total: int, part: str,
        memos: dict[str, MemoBlock] | None = None,
    ) -> str:
        """The letter's section; ``memos`` collects its shared blocks (data layer, see :mod:`.memo`)."""
        if part not in PARTS:
            raise ValueError(f"part must be one of {', '.join(PARTS)}, not {part!r}")
        name = f"{letter.language}/{letter.kind.value}.html.j2"
        env = self._env_ch if context.get("swiss_spelling") else self._env
        try:
            html = env.get_template(name).render(
                context,
                memos=memos,
                part=part,
                page_total=page_total,
                anchor="form" if part == "form" else _anchor(letter.letter_id),
                page_name=("d" if part == "data" else "") + context["page_name"],
            )
        except (jinja2.TemplateSyntaxError, jinja2.UndefinedError) as exc:  # an edited template: file and line
            raise template_error(exc, self.templates_dir / "letters" / name) from None
        # The data layer keeps the filter's tokens for MemoCache.fill; the others get their runs' wrappers.
        return html if part == "data" and memos is not None else group_runs(html)

    def _context(self, letter: LetterData, *, checked: bool = False) -> dict[str, Any]:
        """Everything the templates need for one letter (QR codes included: built once per letter).

        ``checked``: the caller has already run :func:`check_letter` on it.
        """
        problems = [] if checked else check_letter(letter)
        if problems:
            raise LetterDataError("; ".join(problems))
        brand = self.brand(letter.brand)
        creditor = letter.creditor
        labels = self.labels_for(letter.language, letter.debtor.country)
        locale = locale_for(letter.language, letter.debtor.country, letter.locale)
        swiss = letter.language == "de" and swiss_spelling(locale, creditor.address.country)
        if swiss:  # the letter's own words in Swiss spelling ("ss"), the data as given
            labels = {key: swiss_text(value) if isinstance(value, str) else value for key, value in labels.items()}
        fmt = LocaleFormat(locale, letter.currency, labels, swiss=swiss)
        reference = _printed_reference(letter)
        pay = self._payment(letter, fmt, reference)
        page_kind = "plain" if pay is None else ("ch" if pay["swiss"] else "pay")
        iban = IBAN(creditor.iban).formatted
        fields = {"creditor": creditor, "iban": iban}
        address_lines = [line for line in letter.debtor.address_lines if line.strip()]
        if letter.debtor.country.upper() != creditor.address.country.upper():
            address_lines.append(fmt.country(letter.debtor.country))
        return_line = " ".join(_fill((brand.return_line,), fields)) or _return_line(letter)
        refusal = address_refusal([letter.debtor.name, *address_lines], brand.fonts["body"], brand.envelope,
                                  return_line)
        if refusal is not None:  # it would print clipped: refused, never cut off
            raise UnprintableLetter(refusal)
        legal = letter.legal
        return {
            "letter": letter,
            "creditor": creditor,
            "debtor": letter.debtor,
            "legal": legal,
            "brand": brand,
            "L": labels,
            "f": fmt,
            "pay": pay,
            "lang": letter.language,
            "brand_key": letter.brand,
            "page_name": PAGE_NAMES[page_kind],
            "page_kind": page_kind,
            "page_class": page_kind,
            "reference": reference,
            "sender_lines": _fill(brand.sender_block, fields),
            "return_line": return_line,
            "address_lines": address_lines,
            "footer": [_fill(column, fields) for column in brand.footer] or _default_footer(letter, labels, iban),
            # the running head of continuation pages (a CSS string: quotes and backslashes escaped)
            "running_head": _running_head(letter, labels),
            "rule": legal.rule_pack,
            "n": sum(1 for invoice in letter.invoices if invoice.open_amount > 0),  # credit notes are no invoices
            "period": legal.period_days,
            "total": fmt.money(letter.total),
            "deadline": fmt.date_long(legal.deadline) if legal.deadline else "",
            # NL: the presumed receipt the 14 days count from (the day before the period starts)
            "delivered": _delivered(legal, fmt),
            "damages": fmt.money(legal.damages_if_unpaid) if legal.damages_if_unpaid is not None else "",
            "rate": fmt.percent(legal.interest_rate_if_unpaid) if legal.interest_rate_if_unpaid else "",
            "received": fmt.money(letter.amount_received) if letter.amount_received is not None else "",
            "received_on": fmt.date_long(letter.received_on) if letter.received_on else "",
            "payable": fmt.money(payable(letter) or Decimal(0)),
            "swiss_spelling": swiss,
        }

    # -- many letters -> one PDF --------------------------------------------------------------
    def _layout(
        self, brand_key: str, sections: Sequence[str], cache: dict[str, Any], extra: Sequence[CSS] = ()
    ) -> Document:
        html = (
            '<!DOCTYPE html><html><head><meta charset="utf-8"><title>dunning letters</title></head><body>'
            + "".join(sections)
            + "</body></html>"
        )
        return parsed_html(html, str(self.templates_dir), self._fetcher).render(
            stylesheets=[*self.stylesheets(brand_key), *extra], font_config=self._font_config, cache=cache
        )

    def _layout_group(
        self, letters: Sequence[LetterData], sections: Sequence[str], cache: dict[str, Any]
    ) -> tuple[Document, dict[str, list[Page]]]:
        """Lay out letters of one brand in one document; return the document and each letter's pages."""
        doc = self._layout(letters[0].brand, sections, cache)
        first: dict[str, int] = {}
        for index, page in enumerate(doc.pages):
            for key in page.anchors:
                first.setdefault(key, index)
        starts = [first[_anchor(letter.letter_id)] for letter in letters]
        ends = [*starts[1:], len(doc.pages)]
        pages = {
            letter.letter_id: doc.pages[start:end] for letter, start, end in zip(letters, starts, ends, strict=True)
        }
        return doc, pages

    def _layout_memos(
        self, brand_key: str, sections: Sequence[str]
    ) -> tuple[bytes, list[dict[str, tuple[float, float, float, float]]]]:
        """Shared blocks, one section each (see :mod:`dunning.letters.memo`): the PDF and each page's anchors."""
        doc = self._layout(brand_key, sections, {}, extra=[self._memo_css])
        return bytes(doc.write_pdf(pdf_variant=self.pdf_variant)), [dict(page.anchors) for page in doc.pages]

    def _layout_form(self, brand_key: str, section: str) -> tuple[bytes, dict[str, tuple[float, float, float, float]]]:
        """Page 1's fixed layer of one form (see :mod:`dunning.letters.forms`): a one-page PDF and its anchors."""
        doc = self._layout(brand_key, [section], {}, extra=[self._form_css])
        if len(doc.pages) != 1:
            raise RuntimeError(f"a letter form came out as {len(doc.pages)} pages")
        return bytes(doc.write_pdf(pdf_variant=self.pdf_variant)), dict(doc.pages[0].anchors)

    def render_batch(self, letters: Iterable[LetterData]) -> BatchResult:
        """Render letters into one PDF, in the given order; bad letters are reported and left out.

        Each letter's own layer (``part="data"``) is laid out in one document per brand;
        page 1's fixed layer comes from :class:`~dunning.letters.forms.FormCache` and is
        stamped under it at the end.
        """
        with _collector_paused():
            return self._render_batch(letters)

    def _render_batch(self, letters: Iterable[LetterData]) -> BatchResult:
        good: list[LetterData] = []
        problems: list[str] = []
        unprintable: list[str] = []
        contexts: dict[str, dict[str, Any]] = {}
        html: dict[str, str] = {}
        forms: dict[str, Form] = {}  # letter id -> its form
        blocks: dict[str, dict[str, MemoBlock]] = {}  # letter id -> its shared blocks
        for letter in letters:
            if letter.letter_id in html:
                problems.append(f"letter {letter.letter_id!r}: duplicate letter id in the batch")
                continue
            found = check_letter(letter)
            if any(": debtor.address_lines has " in problem for problem in found):  # more than the window holds
                unprintable.append(letter.letter_id)
            if not found:
                try:  # first pass assumes one page per letter
                    context = self._context(letter, checked=True)
                    blocks[letter.letter_id] = {}
                    part = "all" if letter.brand in self.one_pass else "data"
                    html[letter.letter_id] = self._section(letter, context, 1, part, blocks[letter.letter_id])
                    if part == "data":
                        forms[letter.letter_id] = self._forms.form(
                            letter.brand, self._section(letter, context, 1, "form")
                        )
                except (EpcError, ConfigError, ValueError, KeyError) as exc:
                    html.pop(letter.letter_id, None)
                    found = [f"letter {letter.letter_id!r}: {exc}"]
                    if isinstance(exc, UnprintableLetter):
                        unprintable.append(letter.letter_id)
                else:
                    contexts[letter.letter_id] = context
            if found:
                problems.extend(found)
                log.warning("letter %s skipped: %d problem(s)", letter.letter_id, len(found))
                continue
            good.append(letter)
        if not good:
            return BatchResult(b"", (), tuple(problems), tuple(unprintable))
        self._memos.prepare([(html[letter.letter_id], blocks[letter.letter_id]) for letter in good])
        slots: dict[str, list[MemoSlot]] = {}
        taken: dict[str, Taken] = {}
        for letter in good:
            key = letter.letter_id
            html[key], slots[key] = self._memos.fill(html[key], blocks[key], _anchor(key))
            html[key] = self._take(letter, html[key], taken)

        by_brand: dict[str, list[LetterData]] = {}
        for letter in good:
            by_brand.setdefault(letter.brand, []).append(letter)
        pages: dict[str, list[Page]] = {}
        documents: list[Document] = []
        # Decoded images are shared within the batch only: a Swiss QR-bill is a new
        # data URI per letter, so a cache kept across batches would keep growing.
        cache: dict[str, Any] = {}
        for group in by_brand.values():
            doc, group_pages = self._layout_group(group, [html[letter.letter_id] for letter in group], cache)
            documents.append(doc)
            pages.update(group_pages)
            # Second pass only for letters longer than the one page assumed.
            longer = [letter for letter in group if len(group_pages[letter.letter_id]) != 1]
            if longer:
                totals = {letter.letter_id: len(group_pages[letter.letter_id]) for letter in longer}
                sections = []
                for letter in longer:
                    key, letter_blocks = letter.letter_id, dict[str, MemoBlock]()
                    part = "all" if letter.brand in self.one_pass else "data"
                    section = self._section(letter, contexts[key], totals[key], part, letter_blocks)
                    section, slots[key] = self._memos.fill(section, letter_blocks, _anchor(key))
                    sections.append(self._take(letter, section, taken))
                    if part == "data":  # its form prints "page 1 of <total>"
                        forms[key] = self._forms.form(
                            letter.brand, self._section(letter, contexts[key], totals[key], "form")
                        )
                doc2, pages2 = self._layout_group(longer, sections, cache)
                documents.append(doc2)
                for letter_id, letter_pages in pages2.items():
                    if len(letter_pages) != totals[letter_id]:  # cannot happen: the label has a fixed width
                        raise RuntimeError(f"letter {letter_id!r} changed length between layout passes")
                    pages[letter_id] = letter_pages

        for key, letter_taken in taken.items():
            self._placed.place(pages[key], letter_taken)
        ordered: list[Page] = []
        placed: list[RenderedLetter] = []
        for letter in good:
            letter_pages = pages[letter.letter_id]
            placed.append(RenderedLetter(letter.letter_id, len(ordered), len(letter_pages)))
            ordered.extend(letter_pages)
        combined = documents[0] if len(documents) == 1 else documents[0].copy(ordered)
        pdf = combined.write_pdf(pdf_variant=self.pdf_variant)
        stamps: list[PageStamp] = []
        for rendered in placed:
            key, letter_pages = rendered.letter_id, pages[rendered.letter_id]
            overlays = self._memo_overlays(letter_pages, slots[key])
            if key in forms:  # a letter rendered in one pass has nothing to stamp
                stamps.append(PageStamp(
                    rendered.first_page, forms[key].key, _qr_placements(forms[key], contexts[key]),
                    tuple(overlays.get(0, ())),
                ))
            stamps.extend(
                PageStamp(rendered.first_page + offset, overlays=tuple(found))
                for offset, found in overlays.items() if offset
            )
        form_pdfs = {form.key: form.pdf for form in forms.values()}
        sources = {**form_pdfs, **self._memos.sources({o[0] for stamp in stamps for o in stamp.overlays})}
        return BatchResult(stamp_pages(pdf, stamps, sources), tuple(placed), tuple(problems), tuple(unprintable))

    def _take(self, letter: LetterData, section: str, taken: dict[str, Taken]) -> str:
        """The letter's data layer without what is placed after layout (:mod:`dunning.letters.placing`)."""
        if letter.brand in self.one_pass or self.pdf_variant is not None:
            return section  # a one-pass brand has no data layer; a PDF variant's text is tagged as laid out
        section, taken[letter.letter_id] = self._placed.take(letter.brand, section, _anchor(letter.letter_id))
        return section

    def _memo_overlays(
        self, letter_pages: Sequence[Page], slots: Sequence[MemoSlot]
    ) -> dict[int, list[tuple[str, int, float, float]]]:
        """Per page of a letter (0-based), the shared blocks to stamp into its slots.

        A slot a brand's CSS hides has no anchor, and its block is not drawn (as in a one-pass rendering).
        """
        found: dict[int, list[tuple[str, int, float, float]]] = {}
        for slot in slots:
            for offset, page in enumerate(letter_pages):
                box = page.anchors.get(slot.anchor)
                if box is not None:
                    found.setdefault(offset, []).append(self._memos.overlay(slot, box))
                    break
        return found


def _qr_placements(form: Form, context: dict[str, Any]) -> tuple[QrPlacement, ...]:
    """The letter's QR codes and the boxes its form left for them on page 1.

    The boxes are anchors of the form (``form-epc``, ``form-link``: see the ``qr_code`` macro
    of letter.html.j2); a box a brand's CSS hides has no anchor, and its code is not drawn.
    """
    pay = context.get("pay") or {}
    placements = []
    for slot, code in (("epc", pay.get("epc")), ("link", pay.get("link_qr"))):
        box = form.anchors.get(f"form-{slot}")
        if code is not None and box is not None:
            placements.append(QrPlacement(code, box))
    return tuple(placements)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a batch is laid out.

    WeasyPrint allocates a few hundred thousand small objects per batch (boxes, styles),
    and at the default threshold (700 allocations) the collector walks them again and
    again: about a fifth of a batch's CPU time. Paused for the batch, it collects what
    the batch left behind in one pass afterwards. (Only raising the threshold was as
    fast, but let the process grow: cyclic garbage waited long in the oldest generation.)
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _fill(lines: Iterable[str], fields: dict[str, Any]) -> list[str]:
    """Brand text lines with the creditor's fields filled in.

    A line whose fields are all empty is left out (so "BIC {creditor.bic}" disappears for a
    creditor without BIC); a line with some empty fields keeps the others, without the gaps
    ("{street} {house_number}, {postal_code} {city}" with no house number).

    >>> from types import SimpleNamespace as NS
    >>> creditor = NS(bic=None, street="Kunstlaan 21", number="", city="Brussel", name="Brabant NV", vat="")
    >>> _fill(["BIC {c.bic}", "{c.street} {c.number}, {c.city}", "{c.name} — {c.vat}"], {"c": creditor})
    ['Kunstlaan 21, Brussel', 'Brabant NV']
    """
    formatter = string.Formatter()
    out = []
    for line in lines:
        values = [formatter.get_field(name, (), fields)[0] for _, name, _, _ in formatter.parse(line) if name]
        filled = [value for value in values if value is not None and str(value).strip()]
        if not line.strip() or (values and not filled):
            continue
        text = "".join(
            literal + ("" if name is None else _text(formatter.get_field(name, (), fields)[0]))
            for literal, name, _, _ in formatter.parse(line)
        )
        text = re.sub(r"\s+,", ",", re.sub(r"\s{2,}", " ", text)).strip(" ,·—-")
        out.append(text)
    return out


def _running_head(letter: LetterData, labels: dict[str, str]) -> str:
    """Whose letter a continuation page is: "Erika Muster · Customer number C1001", for a CSS string."""
    number = letter.debtor.customer_number
    head = letter.debtor.name + (f" · {labels['customer_number']} {number}" if number else "")
    return _css_text(head)


def _delivered(legal: LegalMentions, fmt: LocaleFormat) -> str:
    """NL: the presumed receipt the WIK's 14 days count from (the day before the period starts)."""
    if legal.period_start is None or legal.rule_pack != "NL":
        return ""
    return fmt.date_long(legal.period_start - timedelta(days=1))


def _css_text(value: str) -> str:
    """``value`` for a CSS string in quotes: backslashes, quotes and line breaks escaped."""
    return value.replace("\\", "\\\\").replace("'", "\\'").replace('"', '\\"').replace("\n", " ")


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _pay_by(letter: LetterData, fmt: LocaleFormat) -> str:
    """The payment block's deadline, in the words of the body: "uiterlijk op D", never "vóór D"."""
    if letter.kind is LetterKind.PAYMENT_PLAN and letter.instalments:
        return fmt.deadline(letter.instalments[0].due)
    if letter.kind is LetterKind.PLAN_INSTALMENT and letter.plan_notice is not None:
        # a missed instalment's past due date is no deadline: the body asks to pay it now
        due = letter.plan_notice.due
        return fmt.deadline(due) if due >= letter.letter_date else ""
    return fmt.deadline(letter.legal.deadline) if letter.legal.deadline else ""


def _printed_reference(letter: LetterData) -> str:
    compact = letter.reference.replace(" ", "")
    if is_swiss(letter.creditor) and compact.isdigit() and len(compact) == 27:
        return str(esr.format(compact))
    return parse_reference(letter.reference).printed


def _return_line(letter: LetterData) -> str:
    address = letter.creditor.address
    parts = [letter.creditor.name, *address.lines()]
    if letter.debtor.country.upper() != address.country.upper():
        parts.append(address.country.upper())
    return " · ".join(parts)


def _default_footer(letter: LetterData, labels: dict[str, str], iban: str) -> list[list[str]]:
    creditor = letter.creditor
    legal = [f"{labels['enterprise_number']} {creditor.enterprise_number}"]
    if creditor.vat_number:
        legal.append(f"{labels['vat']} {creditor.vat_number}")
    bank = [f"IBAN {iban}"] + ([f"BIC {creditor.bic}"] if creditor.bic else [])
    contact = [x for x in (creditor.website, creditor.email, creditor.phone) if x]
    return [[creditor.name, *creditor.address.lines()], legal, bank, contact]
