"""Rows: the claim table's body placed from a probe, not laid out per letter.

The claim table's body (``<table class="lines claims body">``: invoices, charges, total) is the
costliest part of a letter's own layer: a table, a row per line, a cell per column, a line box
per cell, about 0.6 ms per cell in WeasyPrint, a quarter of a letter. Its geometry depends on
the brand's CSS, the section's kind and language and which rows it has (an invoice row, a
charge, the total), not on what the cells say, as long as every cell's text fits on one line.

So, in the data layer, :meth:`RowCache.take` replaces the table by an empty *slot* of its
height (the same element and classes, as :mod:`dunning.letters.memo` does for shared blocks)
and keeps the cells' texts. A *probe*, the table with an ``X`` in each cell, is laid out once
per process and distinct skeleton. After the batch's layout :meth:`RowCache.place` copies the
probe's table onto the page that holds the slot, moved to the slot, with the letter's text in
each cell's text box: right-aligned amounts moved by the difference of their widths (measured
by Pango as WeasyPrint measures them). WeasyPrint draws it as any other table (rules, fonts).

The table stays in the HTML, laid out as before, when a cell would not fit on one line (a long
charge label), holds a character its font lacks, or anything but text; a body that does not
match the template's shape is never touched. ``.claims.body`` never splits over two pages, in
every layer (base.css), so previews and batches break pages alike. The tests and
``dunning brand-check`` compare every character with one-pass renderings.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import re
from dataclasses import dataclass
from typing import Any

from dunning.letters.fields import ProbeCache, plain_text, walk, with_text

__all__ = ["LetterRows", "RowCache"]

_TABLE = re.compile(r'<table class="lines claims body">(?P<body>(?:(?!</table>).)*)</table>', re.S)
_BODY = re.compile(
    r"^\s*<tbody>(?P<rows>(?:\s*<tr(?:\s[^<>]*)?>(?:<td(?:\s[^<>]*)?>[^<]*</td>)+</tr>)+)\s*</tbody>\s*$"
)
_ROW = re.compile(r"<tr(?P<attrs>(?:\s[^<>]*)?)>(?P<cells>(?:<td(?:\s[^<>]*)?>[^<]*</td>)+)</tr>")
_CELL = re.compile(r"<td(?P<attrs>(?:\s[^<>]*)?)>(?P<text>[^<]*)</td>")
_SECTION = re.compile(
    r'^<section class="(?P<cls>[^"]*)" id="[^"]*" lang="(?P<lang>[^"]*)" style="(?P<page>page: [^;"]+)'
)
_ID = "dun-rows"
_SLOT = '<table class="lines claims body memo-slot" id="{anchor}" style="height: {height:.3f}px !important"></table>'


@dataclass(slots=True)
class _Probe:
    document: Any  # kept alive: the boxes' styles belong to it
    table: Any  # the table's wrapper box
    box: tuple[float, float, float, float]  # its anchor (border box, px)
    cells: list[tuple[int, ...]]  # per cell, the path from the wrapper to its text box
    room: list[float]  # per cell, the width its text may take (px)
    align: list[float]  # per cell, 0 left, 0.5 centre, 1 right
    covered: list[frozenset[int]]  # per cell, its font's code points
    styles: list[Any]  # per cell, its text's style


@dataclass(frozen=True, slots=True)
class LetterRows:
    """A letter's claim table taken out of its HTML: its probe, the slot's anchor and the cells' texts."""

    probe: _Probe
    anchor: str
    texts: tuple[str, ...]  # cell by cell, row by row
    widths: tuple[float, ...]  # each text's width as WeasyPrint measures it (px), measured once


class RowCache(ProbeCache["_Probe"]):
    """Table skeleton -> its laid-out probe, laid out once by ``layout`` (LRU)."""

    def take(self, brand: str, section: str, anchor: str) -> tuple[str, LetterRows | None]:
        """The section with its claim table's body as a slot, and its rows; or the section as it is and ``None``."""
        tables = list(_TABLE.finditer(section))
        head = _SECTION.match(section)
        if len(tables) != 1 or head is None or not _BODY.match(tables[0].group("body")):
            return section, None
        table = tables[0]
        if _depth(section[: table.start()]) != 1:
            return section, None  # not a child of the section: its width may be another one than the probe's
        texts: list[str] = []
        skeleton_rows = []
        for row in _ROW.finditer(table.group("body")):
            cells = []
            for cell in _CELL.finditer(row.group("cells")):
                texts.append(html_lib.unescape(cell.group("text")))
                cells.append(f"<td{cell.group('attrs')}>X</td>")
            skeleton_rows.append(f"<tr{row.group('attrs')}>{''.join(cells)}</tr>")
        skeleton = (
            f'<section class="{head.group("cls")}" lang="{head.group("lang")}" style="{head.group("page")}">'
            f'<table class="lines claims body" id="{_ID}"><tbody>{"".join(skeleton_rows)}</tbody></table></section>'
        )
        key = hashlib.sha256(f"{brand}\0{skeleton}".encode()).hexdigest()
        probe = self._probes.get(key, lambda: self._lay_out(brand, skeleton, len(texts)))
        if probe is None:
            return section, None
        texts = [_collapsed(text, style) for text, style in zip(texts, probe.styles, strict=True)]
        widths = _fitting_widths(probe, texts)
        if widths is None:
            return section, None
        slot = _SLOT.format(anchor=anchor, height=probe.box[3] - probe.box[1])
        rows = LetterRows(probe, anchor, tuple(texts), widths)
        return section[: table.start()] + slot + section[table.end() :], rows

    def place(self, pages: Any, rows: LetterRows) -> None:
        """Put the letter's table onto the page of ``pages`` that holds its slot, moved to the slot."""
        probe = rows.probe
        for page in pages:
            box = page.anchors.get(rows.anchor)
            if box is not None:
                break
        else:  # a brand's CSS hides the slot: nothing to draw, as in a one-pass rendering
            return
        table = probe.table.deepcopy()
        table.translate(box[0] - probe.box[0], box[1] - probe.box[1])
        for path, text, width, align in zip(probe.cells, rows.texts, rows.widths, probe.align, strict=True):
            parent = table
            for index in path[:-1]:
                parent = parent.children[index]
            text_box = parent.children[path[-1]]
            if not text:
                parent.children[path[-1]] = with_text(text_box, " ")  # draws nothing, as an empty cell
                continue
            placed = with_text(text_box, text)
            placed.position_x += (text_box.width - width) * align
            placed.width = width
            parent.children[path[-1]] = placed
        root = page._page_box.children[0]
        root.children = [*root.children, table]

    def _lay_out(self, brand: str, skeleton: str, cells: int) -> _Probe | None:
        document = self._layout(brand, skeleton)
        if len(document.pages) != 1 or _ID not in document.pages[0].anchors:
            return None
        wrapper = None
        for box in walk(document.pages[0]._page_box):
            element = getattr(box, "element", None)
            if element is not None and hasattr(element, "get") and element.get("id") == _ID:
                wrapper = box
                break
        # WeasyPrint wraps a table in a block box (its margins) with the table box inside.
        if wrapper is None or not any(type(child).__name__ == "TableBox" for child in wrapper.children):
            return None
        paths, room, align, covered, styles = [], [], [], [], []
        for path, cell in _cells(wrapper):
            lines = cell.children
            if len(lines) != 1 or type(lines[0]).__name__ != "LineBox" or len(lines[0].children) != 1:
                return None
            text_box = lines[0].children[0]
            if type(text_box).__name__ != "TextBox" or text_box.text != "X" or not _plain(text_box.style):
                return None
            side = {"left": 0.0, "start": 0.0, "center": 0.5, "right": 1.0, "end": 1.0}.get(
                text_box.style["text_align_all"]
            )
            if side is None or text_box.style["direction"] != "ltr":
                return None
            paths.append((*path, 0, 0))
            room.append(float(cell.width))
            align.append(side)
            covered.append(self._fonts.codepoints(text_box))
            styles.append(text_box.style)
        if len(paths) != cells:
            return None
        return _Probe(document, wrapper, document.pages[0].anchors[_ID], paths, room, align, covered, styles)


def _fitting_widths(probe: _Probe, texts: list[str]) -> tuple[float, ...] | None:
    """Each cell's text width, if every text is in its font and fits on one line; else ``None`` (the table
    is laid out as before)."""
    for text, font in zip(texts, probe.covered, strict=True):
        if any(ord(char) not in font for char in text):
            return None
    widths = []  # measured last: measuring is the dear part
    for text, room, style in zip(texts, probe.room, probe.styles, strict=True):
        width = _width(text, style) if text else 0.0
        if width > room + 0.01:
            return None
        widths.append(width)
    return tuple(widths)


def _collapsed(text: str, style: Any) -> str:
    """The text as WeasyPrint prints it on one line: runs of white space one space, none at the ends."""
    if style["white_space"] in ("normal", "nowrap", "pre-line"):
        return re.sub(r"[ \t\n\r]+", " ", text).strip(" ")
    return text


_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^<>]*?(/?)>")
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})


def _depth(html: str) -> int:
    """How many elements are open at the end of ``html`` (a section's beginning)."""
    depth = 0
    for match in _TAG.finditer(html):
        closing, tag, self_closing = match.groups()
        if tag.lower() in _VOID or self_closing:
            continue
        depth += -1 if closing else 1
    return depth


def _cells(wrapper: Any) -> Any:
    """(path from the wrapper, cell box) of every cell, row by row."""
    for t, table in enumerate(wrapper.children):
        if type(table).__name__ != "TableBox":
            continue
        for g, group in enumerate(table.children):
            for r, row in enumerate(group.children):
                for c, cell in enumerate(row.children):
                    yield (t, g, r, c), cell


def _plain(style: Any) -> bool:
    """A cell's text: plain, not indented (an indent moves the first line only)."""
    return plain_text(style) and style["text_indent"].value == 0


def _width(text: str, style: Any) -> float:
    """The width of ``text`` on one line, as WeasyPrint's layout measures it (px)."""
    from weasyprint.text.line_break import create_layout, line_size

    layout = create_layout(text, style, None, None, 0)
    try:
        line, _ = layout.get_first_line()
        width, _ = line_size(line, style)
        return float(width)
    finally:
        layout.deactivate()
