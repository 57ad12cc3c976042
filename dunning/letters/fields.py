"""Fields: page 1's lines of one letter (address, values, pay link) placed without laying them out.

The address block and the value columns of the information block and of the payment strip
are absolute boxes of page 1 that hold one unbroken line per row (``white-space: pre``). Where
their lines go depends on the brand's CSS, the letter's layout and how many rows there are, never
on what the rows say. WeasyPrint still spends about half a millisecond on each box and each line
whatever it holds (the cascade, percentages, line boxes): a tenth to a fifth of a batch letter's
time for about ten lines.

So in the data layer (see :mod:`dunning.letters.forms`) the renderer takes these blocks out of the
letter's HTML before layout (:meth:`FieldCache.take`) and keeps their lines. A *probe*, the blocks
with their ancestors and an ``X`` on each line, is laid out once per process and distinct skeleton
(brand, page, rows, the ancestors' inline styles), like a form. After the batch's layout
:meth:`FieldCache.place` copies the probe's boxes onto the letter's first page, each block with its
ancestors below ``.first-page`` (their transform, as the foot items', is applied when painted), with
the letter's own text in their text boxes; WeasyPrint then draws them as any other text, with its own fonts,
shaping, subsets and text extraction. Only the shaping moves: WeasyPrint shapes a text box again
when it draws it (``Layout.reactivate``), and that is where the letter's text is shaped.

The pay link under its QR code wraps (``word-break: break-all``): it is broken into lines first, by
WeasyPrint's own line breaker with the style and width a first probe gives (the link on one line),
and then placed as lines like the others, its probe keeping them as they are (``white-space: pre``).

A line can be placed so only when the probe's geometry holds for it:

* every character is in the probe's font for that line (a fallback font could make the line taller
  and move the next ones): else the block stays in the HTML and is laid out as before;
* the block is plain text in the template's shape: lines separated by ``\\n``, a line possibly in
  one ``<span class="fit">``; anything else stays in the HTML;
* left-aligned text (the width of the letter's text is never measured).

A wrong guess costs time, never text: the tests and ``dunning brand-check`` compare every
character of batch letters with one-pass renderings.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import html as html_lib
import io
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import lxml.html
from fontTools.ttLib import TTFont

__all__ = ["FieldCache", "FontCoverage", "LetterFields", "ProbeCache", "plain_text", "walk", "with_text"]

P = TypeVar("P")

# A field block as the template writes it (letter.html.j2: the address and `value_lines`).
_FIELD = re.compile(
    r'<div class="(?P<cls>address|values|url)"(?P<attrs>(?: style="[^"<>]*")?)>'
    r'(?P<body>[^<]*(?:<span class="fit">[^<]*</span>[^<]*)*)</div>'
)
_FIT = re.compile(r'^<span class="fit">([^<]*)</span>$')
_PAGE = re.compile(r"page:\s*[A-Za-z0-9_-]+")
_ID = "dun-field-"
MAX_PROBES = 128  # distinct skeletons kept per process (each keeps its laid-out page)


@dataclass(frozen=True, slots=True)
class _Line:
    text: str
    fit: bool  # the line sits in a <span class="fit">


@dataclass(frozen=True, slots=True)
class _Block:
    """One field block of a letter: where it is in the section's HTML and its lines."""

    span: tuple[int, int]
    cls: str
    attrs: str
    lines: tuple[_Line, ...]
    broken: bool = False  # a wrapping block's lines, broken as WeasyPrint breaks them (probed as `pre`)

    @property
    def wraps(self) -> bool:
        """The pay link under its code: one text that WeasyPrint breaks into lines (``word-break: break-all``)."""
        return self.cls == "url"


@dataclass(slots=True)
class _Probe:
    """A laid-out skeleton: per block, its box and, per line, the path to its text box."""

    document: Any  # kept alive: the boxes' styles belong to it
    roots: list[Any]  # the boxes to copy: each block's ancestor under .first-page (one for blocks that share it)
    owners: list[int]  # per block, the index of its root
    text_paths: list[list[tuple[int, ...]]]  # per block, per line: child indexes from its root
    covered: list[list[frozenset[int]]]  # per block, per line: the code points of the line's font


@dataclass(frozen=True, slots=True)
class LetterFields:
    """A letter's field blocks taken out of its HTML, to be placed on its first page after layout."""

    probe: _Probe
    blocks: tuple[_Block, ...]


class Probes(Generic[P]):
    """Laid-out probes by key, each laid out on first use and kept (the least recently used dropped past
    ``size``). A failed probe is kept too, as ``None``: that skeleton is laid out in place."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._kept: OrderedDict[str, P | None] = OrderedDict()
        self.laid_out = 0  # probes laid out (tests, benchmarks)

    def get(self, key: str, make: Callable[[], P | None]) -> P | None:
        if key in self._kept:
            self._kept.move_to_end(key)
            return self._kept[key]
        probe = make()
        self.laid_out += 1
        self._kept[key] = probe
        if len(self._kept) > self._size:
            self._kept.popitem(last=False)
        return probe


class ProbeCache(Generic[P]):
    """What the field and row caches share: how a probe is laid out, the fonts' coverage, the probes."""

    def __init__(self, layout: Callable[[str, str], Any], fonts: FontCoverage, size: int = MAX_PROBES) -> None:
        self._layout = layout  # (brand key, section HTML) -> WeasyPrint Document
        self._fonts = fonts
        self._probes: Probes[P] = Probes(size)

    @property
    def laid_out(self) -> int:
        """Probes laid out by this cache (tests, benchmarks)."""
        return self._probes.laid_out


class FieldCache(ProbeCache["_Probe"]):
    """Skeleton HTML -> its laid-out probe, laid out once by ``layout`` (LRU, :data:`MAX_PROBES`)."""

    def __init__(self, layout: Callable[[str, str], Any], fonts: FontCoverage, size: int = MAX_PROBES) -> None:
        super().__init__(layout, fonts, size)
        # first probes of skeletons with a wrapping block: (document, {block: (style, width)})
        self._wrapping: Probes[tuple[Any, dict[int, Any]]] = Probes(size)

    def take(self, brand: str, section: str) -> tuple[str, LetterFields | None]:
        """The section without its field blocks, and the blocks; or the section as it is and ``None``."""
        blocks = [_block(match) for match in _FIELD.finditer(section)]
        if not blocks or any(block is None for block in blocks):
            return section, None
        found: list[_Block] | None = [block for block in blocks if block is not None]
        if found and any(block.wraps for block in found):
            found = self._broken(brand, section, found)
        if not found:
            return section, None
        skeleton = _skeleton(section, found)
        if skeleton is None:
            return section, None
        key = hashlib.sha256(f"{brand}\0{skeleton}".encode()).hexdigest()
        probe = self._probes.get(key, lambda: self._lay_out(brand, skeleton, found))
        if probe is None or not _covered(probe, found):
            return section, None
        out, at = [], 0
        for block in found:
            out.append(section[at : block.span[0]])
            at = block.span[1]
        out.append(section[at:])
        return "".join(out), LetterFields(probe, tuple(found))

    def place(self, page: Any, fields: LetterFields) -> None:
        """Put the letter's field blocks onto its laid-out first ``page`` (a WeasyPrint ``Page``)."""
        probe = fields.probe
        root = page._page_box.children[0]  # the html box: drawn with everything it holds
        placed = [box.deepcopy() for box in probe.roots]
        for owner, paths, block in zip(probe.owners, probe.text_paths, fields.blocks, strict=True):
            for path, line in zip(paths, block.lines, strict=True):
                parent, text_box = _at(placed[owner], path)
                # a blank line draws nothing (WeasyPrint draws no blank line either)
                parent.children[path[-1]] = with_text(text_box, line.text if line.text.strip() else " ")
        root.children = [*root.children, *placed]

    def _broken(self, brand: str, section: str, blocks: list[_Block]) -> list[_Block] | None:
        """The blocks with each wrapping block's text broken into lines as WeasyPrint's layout breaks it:
        by its own line breaker, with the style and width a first probe (the block on one line) gives."""
        if any(block.wraps and len(block.lines) != 1 for block in blocks):
            return None
        skeleton = _skeleton(section, blocks)
        if skeleton is None:
            return None
        key = hashlib.sha256(f"wrap\0{brand}\0{skeleton}".encode()).hexdigest()
        styles = self._wrapping.get(key, lambda: self._lay_out_wrapping(brand, skeleton, blocks))
        if styles is None:
            return None
        out = []
        for number, block in enumerate(blocks):
            if not block.wraps:
                out.append(block)
                continue
            style, width = styles[1][number]
            lines = _broken_lines(block.lines[0].text, style, width)
            if lines is None:
                return None
            out.append(dataclasses.replace(block, lines=tuple(_Line(line, False) for line in lines), broken=True))
        return out

    def _lay_out_wrapping(
        self, brand: str, skeleton: str, blocks: Sequence[_Block]
    ) -> tuple[Any, dict[int, Any]] | None:
        """(the document, per wrapping block its text's style and its width) from the block on one line."""
        document = self._layout(brand, skeleton)
        if len(document.pages) != 1:
            return None
        found: dict[int, tuple[Any, float]] = {}
        for box in walk(document.pages[0]._page_box):
            element = getattr(box, "element", None)
            ident = element.get("id") if element is not None and hasattr(element, "get") else None
            if not (ident and ident.startswith(_ID) and type(box).__name__ == "AbsolutePlaceholder"):
                continue
            number = int(ident[len(_ID) :])
            if not blocks[number].wraps or number in found:
                continue
            paths = _text_paths(box)
            if paths is None or len(paths) != 1:
                return None
            _, text_box = _at(box, paths[0])
            if not plain_text(text_box.style) or box.style["text_align_all"] not in ("start", "left"):
                return None
            found[number] = (text_box.style, float(box.width))
        if sorted(found) != [n for n, block in enumerate(blocks) if block.wraps]:
            return None
        return document, found

    # -- probes ----------------------------------------------------------------------------
    def _lay_out(self, brand: str, skeleton: str, blocks: Sequence[_Block]) -> _Probe | None:
        """Lay the skeleton out; per block, the box to place (see :class:`_Probe`) and its lines' paths."""
        document = self._layout(brand, skeleton)
        if len(document.pages) != 1:
            return None
        found: dict[int, tuple[Any, tuple[int, ...]]] = {}  # block number -> (root box, path from it)
        for chain, path in _chains(document.pages[0]._page_box):
            element = getattr(chain[-1], "element", None)
            ident = element.get("id") if element is not None and hasattr(element, "get") else None
            if not (ident and ident.startswith(_ID) and type(chain[-1]).__name__ == "AbsolutePlaceholder"):
                continue
            # Placed from the ancestor under the letterhead block (.first-page), so that what its
            # ancestors do when painted (the foot items' transform) is done to it too.
            tops = [i for i, box in enumerate(chain) if _classes(box) & {"first-page"}]
            if len(tops) != 1 or tops[0] + 1 >= len(chain):
                return None
            top = tops[0] + 1
            found.setdefault(int(ident[len(_ID) :]), (chain[top], path[top:]))
        if sorted(found) != list(range(len(blocks))):
            return None
        roots: list[Any] = []
        owners, paths, covered = [], [], []
        for number, block in enumerate(blocks):
            root, path = found[number]
            box = _at(root, path)[1] if path else root
            if box.style["position"] != "absolute" or box.style["text_align_all"] not in ("start", "left"):
                return None
            line_paths = _text_paths(box)
            if line_paths is None or len(line_paths) != len(block.lines):
                return None
            fonts = []
            for line_path in line_paths:
                _, text_box = _at(box, line_path)
                if text_box.text != "X" or not _plain(text_box.style):
                    return None
                fonts.append(self._fonts.codepoints(text_box))
            owner = next((i for i, other in enumerate(roots) if other is root), None)
            if owner is None:
                owner = len(roots)
                roots.append(root)
            owners.append(owner)
            paths.append([(*path, *line_path) for line_path in line_paths])
            covered.append(fonts)
        # the laid-out blocks the placeholders stand for
        return _Probe(document, [getattr(root, "_box", root) for root in roots], owners, paths, covered)


class FontCoverage:
    """The code points of the font a text box is drawn in, read from the font file once per font."""

    def __init__(self) -> None:
        self._fonts: dict[bytes, frozenset[int]] = {}

    def codepoints(self, text_box: Any) -> frozenset[int]:
        from weasyprint.text.ffi import harfbuzz
        from weasyprint.text.fonts import get_hb_object_data, get_pango_font_hb_face

        layout = copy.copy(text_box.pango_layout)
        layout.text = "X"
        layout.reactivate(text_box.style)
        try:
            line, _ = layout.get_first_line()
            font = line.runs[0].data.item.analysis.font
            face = get_pango_font_hb_face(font)
            data = get_hb_object_data(face)
            index = int(harfbuzz.hb_face_get_index(face))
        finally:
            layout.deactivate()
        digest = hashlib.sha256(data).digest() + index.to_bytes(4, "big")
        if digest not in self._fonts:
            with TTFont(io.BytesIO(data), fontNumber=index, lazy=True) as ttf:
                self._fonts[digest] = frozenset(ttf.getBestCmap() or {})
        return self._fonts[digest]


def with_text(text_box: Any, text: str) -> Any:
    """A copy of a probe's text box holding ``text``: WeasyPrint shapes it when it draws it."""
    new = text_box.copy_with_text(text)
    layout = copy.copy(text_box.pango_layout)
    layout.text = text
    new.pango_layout = layout
    return new


def _block(match: re.Match[str]) -> _Block | None:
    lines = []
    for raw in match.group("body").split("\n"):
        fit = _FIT.match(raw)
        text = fit.group(1) if fit else raw
        if "<" in text:
            return None
        lines.append(_Line(html_lib.unescape(text), fit is not None))
    return _Block(match.span(), match.group("cls"), match.group("attrs"), tuple(lines))


class _NoDictionaries:
    """What WeasyPrint's line breaker reads of a layout context: hyphenation dictionaries (none here)."""

    def __init__(self) -> None:
        self.dictionaries: dict[Any, Any] = {}


def _broken_lines(text: str, style: Any, width: float) -> list[str] | None:
    """``text`` broken into lines ``width`` px wide by WeasyPrint's own line breaker, as its layout breaks
    a block's one text (``None`` for text that its layout would also change, e.g. collapse spaces in)."""
    from weasyprint.text.line_break import split_first_line

    if not text or text != text.strip() or "  " in text or "\n" in text or style["hyphens"] == "auto":
        return None
    lines, rest = [], text
    while rest:
        _, length, resume, *_ = split_first_line(rest, style, _NoDictionaries(), width, 0, True)
        encoded = rest.encode()
        lines.append(encoded[:length].decode())
        if resume is None:
            break
        rest = encoded[resume:].decode()
    return lines if all(lines) else None


def _skeleton(section: str, blocks: Sequence[_Block]) -> str | None:
    """The probe: the section with only the field blocks (an ``X`` a line) and their ancestors."""
    try:
        root = lxml.html.fragment_fromstring(section)
    except (lxml.etree.ParserError, ValueError):
        return None
    fields = [el for el in root.iter("div") if el.get("class") in ("address", "values", "url")]
    if len(fields) != len(blocks) or root.tag != "section":
        return None
    keep = set()
    for number, (element, block) in enumerate(zip(fields, blocks, strict=True)):
        text = "".join(element.itertext())
        if text != ("" if block.broken else "\n").join(line.text for line in block.lines):
            return None  # the two readings disagree: leave it to WeasyPrint
        for child in list(element):
            element.remove(child)
        element.text = None
        element.set("id", f"{_ID}{number}")
        last = None
        for index, line in enumerate(block.lines):
            sep = "\n" if index else ""
            if line.fit:
                span = lxml.html.Element("span", {"class": "fit"})
                span.text = "X"
                if last is None:
                    element.text = (element.text or "") + sep
                else:
                    last.tail = (last.tail or "") + sep
                element.append(span)
                last = span
            elif last is None:
                element.text = (element.text or "") + sep + "X"
            else:
                last.tail = (last.tail or "") + sep + "X"
        if block.broken:  # its lines as broken: the probe keeps them as they are
            element.set("style", "; ".join(filter(None, [element.get("style"), "white-space: pre"])))
        keep.add(element)
        keep.update(element.iterancestors())
    for element in list(root.iter()):
        if (
            element is root
            or element in keep
            or any(a in keep and a.get("id", "").startswith(_ID) for a in element.iterancestors())
        ):
            continue
        parent = element.getparent()
        if parent is not None:
            parent.remove(element)  # its tail (white space between blocks) goes with it
    for element in root.iter():
        if element not in keep or element.get("id", "").startswith(_ID):
            continue
        if (element.text or "").strip():
            return None  # an ancestor with text of its own: its layout may depend on it
        element.text = None
        element.tail = None
    root.attrib.pop("id", None)
    page = _PAGE.search(root.get("style", ""))
    if page:
        root.set("style", page.group(0))
    else:
        root.attrib.pop("style", None)
    return str(lxml.html.tostring(root, encoding="unicode"))


def walk(box: Any) -> Any:
    """Every box under ``box`` (itself first), depth first."""
    yield box
    for child in getattr(box, "children", None) or ():
        yield from walk(child)


def _chains(box: Any, chain: tuple[Any, ...] = (), path: tuple[int, ...] = ()) -> Any:
    """Every box under ``box`` with the boxes above it and the child indexes that lead to it."""
    chain = (*chain, box)
    yield chain, path
    for index, child in enumerate(getattr(box, "children", None) or ()):
        yield from _chains(child, chain, (*path, index))


def _classes(box: Any) -> set[str]:
    element = getattr(box, "element", None)
    return set((element.get("class") or "").split()) if element is not None and hasattr(element, "get") else set()


def _text_paths(block: Any) -> list[tuple[int, ...]] | None:
    """Per line box of ``block``, the path to its one text box (``None`` if a line has another shape)."""
    paths: list[tuple[int, ...]] = []
    for index, line in enumerate(block.children):
        texts = _texts(line, (index,)) if type(line).__name__ == "LineBox" else None
        if texts is None or len(texts) != 1:
            return None
        paths.append(texts[0])
    return paths


def _texts(box: Any, path: tuple[int, ...]) -> list[tuple[int, ...]] | None:
    """Paths to the text boxes in a line (through inline boxes), or ``None`` if it holds anything else."""
    out = []
    for index, child in enumerate(getattr(box, "children", None) or ()):
        if type(child).__name__ == "TextBox":
            if child.text.strip():
                out.append((*path, index))
        elif type(child).__name__ == "InlineBox":
            inner = _texts(child, (*path, index))
            if inner is None:
                return None
            out.extend(inner)
        else:
            return None
    return out


def _at(box: Any, path: tuple[int, ...]) -> tuple[Any, Any]:
    parent = box
    for index in path[:-1]:
        parent = parent.children[index]
    return parent, parent.children[path[-1]]


def plain_text(style: Any) -> bool:
    """Text WeasyPrint draws from its text alone: no spacing, decoration or transform."""
    return (
        style["letter_spacing"] in ("normal", 0)
        and style["word_spacing"] == 0
        and style["text_decoration_line"] == "none"
        and style["text_transform"] == "none"
    )


def _plain(style: Any) -> bool:
    """A field's line: plain text that never wraps."""
    return plain_text(style) and style["white_space"] in ("pre", "nowrap")


def _covered(probe: _Probe, blocks: Sequence[_Block]) -> bool:
    return all(
        all(ord(char) in font for char in line.text)
        for fonts, block in zip(probe.covered, blocks, strict=True)
        for font, line in zip(fonts, block.lines, strict=True)
    )
