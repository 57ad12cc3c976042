"""Shared blocks: text that many letters print alike, laid out once and stamped into each letter.

Much of a letter's text is the same from one letter to the next: the subject, the
salutation, the head of the claim table, the closing. WeasyPrint costs about half a
millisecond per line or table cell however often it has seen the text, so a template
marks such a block::

    {% filter memo %}<p class="closing">{{ L.closing }}</p>{% endfilter %}

In the data layer (``part="data"``, see :mod:`dunning.letters.forms`) the renderer
then lays the block out once per process, alone on a page of the same width, and
the letter keeps only an empty *slot*: the same element with the same classes,
as tall as the block, that paints nothing. After layout the block's rendering is
stamped into its slot (:func:`dunning.letters.forms.stamp_pages`). A block is
shared once it occurs twice in a batch or was laid out before; any other block
simply prints in place, so a wrong guess costs time, never text.

Rules that keep the stamped page identical to a one-pass rendering (the tests
compare every character's position):

* a block is one element with inline content (a ``p``, an ``h1``, a table);
  its opening tag carries no ``id`` or ``style`` (else it prints in place), and it
  holds no links (a stamped block carries no link annotations);
* its layout depends only on itself, the section's classes and language and the
  brand's CSS, not on its neighbours;
* it never splits over two pages: the filter gives it the class ``memo`` in every
  part and base.css gives ``.memo`` ``break-inside: avoid``, so previews and
  batches break pages alike.

Blocks that follow one another (nothing but white space between them) form a *run*:
in every part they sit in one ``<div class="memo memo-run">``, which base.css makes
a ``flow-root`` (their margins stay inside it) that never splits. A run that many
letters share is laid out and stamped as one, into one slot: a slot costs WeasyPrint
about as much as a short line, and a letter has two runs of three or four blocks
(subject to the head of the claim table; the last paragraph to the signature). A run
that is not shared (a letter's own salutation in it) keeps its wrapper, and its
blocks are shared one by one. Content between two blocks that only one layer prints
would make the layers group them differently: templates put none there.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jinja2
import pikepdf
from markupsafe import Markup

__all__ = ["MemoBlock", "MemoCache", "MemoRun", "MemoSlot", "group_runs", "memo_filter"]

PT_PER_PX = 0.75
# Room kept above and below a block when its page is cropped (px): glyphs may reach past the line box.
_BLEED_PX = 8.0
MAX_BLOCKS = 1024  # shared blocks kept per process
_BLOCK = re.compile(r"<(?P<tag>[a-zA-Z][a-zA-Z0-9]*)(?P<attrs>(?:\s[^<>]*)?)>(?P<inner>.*)</(?P=tag)>", re.S)
_TOKEN = re.compile(r"<!--memo:(?P<key>Memo[0-9a-f]{20})-->")
_TOKEN_RUN = re.compile(r"(?:<!--memo:Memo[0-9a-f]{20}-->\s*)+")
# Outside the data layer a block is marked, so that runs of blocks get their wrapper (group_runs).
_OPEN, _CLOSE = "<!--memo{-->", "<!--}memo-->"
_MARKED = re.compile(re.escape(_OPEN) + r"((?:(?!" + re.escape(_OPEN) + r").)*?)" + re.escape(_CLOSE), re.S)
_MARKED_RUN = re.compile(r"(?:" + _MARKED.pattern + r"\s*)+", re.S)
RUN_CLASS = "memo memo-run"
# A slot's height; base.css (.memo-slot) takes away its padding, border and background.
_SLOT_STYLE = "height: {height:.3f}px !important"


@dataclass(frozen=True, slots=True)
class MemoBlock:
    """One shared block: its HTML and what its layout depends on."""

    key: str
    brand: str
    section_class: str  # the letter section's kind class ("pay", "ch", "plain")
    lang: str
    tag: str
    attrs: str
    inner: str

    def html(self, extra: str = "") -> str:
        return f"<{self.tag}{_with_class(self.attrs, 'memo')}{extra}>{self.inner}</{self.tag}>"


@dataclass(frozen=True, slots=True)
class MemoRun:
    """Shared blocks that follow one another in a letter: one wrapper, laid out and stamped as one."""

    key: str
    blocks: tuple[MemoBlock, ...]
    tag = "div"
    attrs = ' class="memo-run"'

    @classmethod
    def of(cls, blocks: Sequence[MemoBlock]) -> MemoRun:
        key = "Memo" + hashlib.sha256("\0".join(block.key for block in blocks).encode()).hexdigest()[:20]
        return cls(key, tuple(blocks))

    @property
    def brand(self) -> str:
        return self.blocks[0].brand

    @property
    def section_class(self) -> str:
        return self.blocks[0].section_class

    @property
    def lang(self) -> str:
        return self.blocks[0].lang

    def html(self, extra: str = "") -> str:
        return f'<div class="{RUN_CLASS}"{extra}>' + "".join(block.html() for block in self.blocks) + "</div>"


@dataclass(frozen=True, slots=True)
class MemoSlot:
    """Where a letter's data layer left a shared block: the slot's anchor id and the block."""

    anchor: str
    key: str


@dataclass(frozen=True, slots=True)
class _Laid:
    source: str  # key of the PDF (one page per block) that holds the block's rendering
    page: int
    box: tuple[float, float, float, float]  # the block's border box on that page, px


@jinja2.pass_context
def memo_filter(context: Any, html: str) -> Markup:
    """Jinja filter ``memo``: a shared block (see the module docstring).

    Outside the data layer it returns the block with the class ``memo``; in the data
    layer a token the renderer replaces by a slot or by the block itself. The
    template context must carry ``memos`` (a dict the renderer reads back).
    """
    match = _BLOCK.fullmatch(str(html).strip())
    if match is None or re.search(r"\s(?:id|style)\s*=", match["attrs"]):
        return Markup(html)
    tag, attrs, inner = match["tag"], match["attrs"], match["inner"]
    if re.search(rf"</?{tag}\b", inner, re.IGNORECASE):  # two elements, or one inside another of its kind
        return Markup(html)
    if _OPEN in inner:  # a block inside a block: only the outer one is shared
        inner = inner.replace(_OPEN, "").replace(_CLOSE, "")
    if context.get("part") != "data" or context.get("memos") is None:
        return Markup(f"{_OPEN}<{tag}{_with_class(attrs, 'memo')}>{inner}</{tag}>{_CLOSE}")
    brand, section_class, lang = (str(context.get(name, "")) for name in ("brand_key", "page_class", "lang"))
    identity = "\0".join((brand, section_class, lang, tag, attrs, inner))
    key = "Memo" + hashlib.sha256(identity.encode()).hexdigest()[:20]
    context["memos"].setdefault(key, MemoBlock(key, brand, section_class, lang, tag, attrs, inner))
    return Markup(f"<!--memo:{key}-->")


def group_runs(html: str) -> str:
    """A section outside the data layer with its runs of blocks wrapped (see the module docstring).

    >>> group_runs("<!--memo{--><p>a</p><!--}memo-->\\n<!--memo{--><p>b</p><!--}memo--><p>c</p>")
    '<div class="memo memo-run"><p>a</p><p>b</p></div><p>c</p>'
    """

    def wrap(match: re.Match[str]) -> str:
        blocks: list[str] = _MARKED.findall(match[0])
        if len(blocks) == 1:
            return blocks[0] + match[0][match[0].rindex(_CLOSE) + len(_CLOSE):]
        return f'<div class="{RUN_CLASS}">' + "".join(blocks) + "</div>"

    return _MARKED_RUN.sub(wrap, html)


@dataclass
class MemoCache:
    """Shared blocks laid out in this process (LRU of :data:`MAX_BLOCKS`) and the PDFs that hold them.

    ``layout(brand, sections)`` lays out one ``<section>`` per block as one document and
    returns its PDF and each page's anchors (id -> border box in px).
    """

    layout: Callable[[str, Sequence[str]], tuple[bytes, list[dict[str, tuple[float, float, float, float]]]]]
    size: int = MAX_BLOCKS
    laid_out: int = 0  # blocks this cache laid out (for tests and benchmarks)
    _blocks: OrderedDict[str, _Laid] = field(default_factory=OrderedDict)
    _sources: dict[str, bytes] = field(default_factory=dict)
    _in_place: set[str] = field(default_factory=set)  # blocks taller than a page: never shared

    def prepare(self, found: Sequence[tuple[str, dict[str, MemoBlock]]]) -> None:
        """Lay out what a batch shares (cached, or in two letters or more): runs first, then single blocks.

        ``found``: per letter, its data layer (with the filter's tokens) and its blocks.
        """
        counts: dict[str, int] = {}
        units: dict[str, MemoBlock | MemoRun] = {}
        # Per letter, its runs of tokens: the blocks' keys, and the run's key when there are two or more.
        letters: list[tuple[dict[str, MemoBlock], list[tuple[list[str], str | None]]]] = []
        for html, blocks in found:
            runs: list[tuple[list[str], str | None]] = []
            for match in _TOKEN_RUN.finditer(html):
                keys = _TOKEN.findall(match[0])
                run = MemoRun.of([blocks[key] for key in keys]) if len(keys) > 1 else None
                if run is not None:
                    counts[run.key] = counts.get(run.key, 0) + 1
                    units[run.key] = run
                runs.append((keys, run.key if run else None))
            letters.append((blocks, runs))
        needed = dict.fromkeys(key for key in counts if self._worth(key, counts[key]))  # ordered: same PDFs
        # A block counts in every letter, but is needed only where its run is not shared.
        for blocks, runs in letters:
            for keys, run_key in runs:
                in_shared_run = run_key is not None and run_key in needed
                for key in keys:
                    counts[key] = counts.get(key, 0) + 1
                    units[key] = blocks[key]
                    if not in_shared_run:
                        needed[key] = None
        by_brand: dict[str, list[MemoBlock | MemoRun]] = {}
        for key in needed:
            if key not in self._blocks and self._worth(key, counts[key]):
                by_brand.setdefault(units[key].brand, []).append(units[key])
        for brand, group in by_brand.items():
            sections = [
                f'<section class="letter {unit.section_class} layer-memo" lang="{unit.lang}" style="page: memo">'
                + unit.html(' id="' + _anchor(unit.key) + '"') + "</section>"
                for unit in group
            ]
            pdf, pages = self.layout(brand, sections)
            if len(pages) != len(group):  # a block ran over a page: that group prints in place
                self._in_place.update(unit.key for unit in group)
                continue
            source = "Memo" + hashlib.sha256(pdf).hexdigest()[:20]
            for index, unit in enumerate(group):
                self._blocks[unit.key] = _Laid(source, index, pages[index][_anchor(unit.key)])
                self.laid_out += 1
            self._sources[source] = _cropped(pdf, {i: pages[i][_anchor(u.key)] for i, u in enumerate(group)})
        for key in counts:
            if key in self._blocks:
                self._blocks.move_to_end(key)
        while len(self._blocks) > self.size:
            self._blocks.popitem(last=False)
        used = {laid.source for laid in self._blocks.values()}
        for source in [s for s in self._sources if s not in used]:
            del self._sources[source]

    def _worth(self, key: str, count: int) -> bool:
        """Share a block or run: laid out before, or in two letters of this batch and not too tall."""
        return key in self._blocks or (key not in self._in_place and count >= 2)

    def fill(self, html: str, blocks: dict[str, MemoBlock], anchor: str) -> tuple[str, list[MemoSlot]]:
        """Replace the memo tokens of a letter's data layer by slots (shared) or the blocks themselves."""
        slots: list[MemoSlot] = []

        def place(unit: MemoBlock | MemoRun) -> str | None:
            laid = self._blocks.get(unit.key)
            if laid is None:
                return None
            slot = MemoSlot(f"{anchor}-m{len(slots)}", unit.key)
            slots.append(slot)
            height = laid.box[3] - laid.box[1]
            return (
                f'<{unit.tag}{_with_class(unit.attrs, "memo memo-slot")} id="{slot.anchor}" '
                f'style="{_SLOT_STYLE.format(height=height)}"></{unit.tag}>'
            )

        def replace(match: re.Match[str]) -> str:
            keys = _TOKEN.findall(match[0])
            if len(keys) > 1:
                run = MemoRun.of([blocks[key] for key in keys])
                slot = place(run)
                if slot is not None:
                    return slot
                inner = "".join(place(run_block) or run_block.html() for run_block in run.blocks)
                return f'<div class="{RUN_CLASS}">{inner}</div>'
            return place(blocks[keys[0]]) or blocks[keys[0]].html()

        return _TOKEN_RUN.sub(replace, html), slots

    def overlay(self, slot: MemoSlot, box: tuple[float, float, float, float]) -> tuple[str, int, float, float]:
        """(source, page, dx, dy in pt) that draws a slot's block into the slot's ``box`` (px)."""
        laid = self._blocks[slot.key]
        return laid.source, laid.page, (box[0] - laid.box[0]) * PT_PER_PX, (laid.box[1] - box[1]) * PT_PER_PX

    def sources(self, keys: Iterable[str]) -> dict[str, bytes]:
        return {key: self._sources[key] for key in keys}


def _with_class(attrs: str, names: str) -> str:
    """An opening tag's attributes with ``names`` added to its class (classes are cheap to match)."""
    if re.search(r'\sclass="', attrs):
        return re.sub(r'\sclass="', f' class="{names} ', attrs, count=1)
    return f' class="{names}"{attrs}'


def _anchor(key: str) -> str:
    return "m-" + key


def _cropped(pdf: bytes, boxes: dict[int, tuple[float, float, float, float]]) -> bytes:
    """The PDF with each block's page cropped to the block (a Form XObject's BBox follows the MediaBox)."""
    with pikepdf.open(io.BytesIO(pdf)) as document:
        for index, box in boxes.items():
            page = document.pages[index]
            top = float(page.mediabox[3])
            width = float(page.mediabox[2])
            low = top - (box[3] + _BLEED_PX) * PT_PER_PX
            high = top - (box[1] - _BLEED_PX) * PT_PER_PX
            page.mediabox = pikepdf.Array([0, round(low, 3), width, round(high, 3)])
        out = io.BytesIO()
        document.save(out)
        return out.getvalue()
