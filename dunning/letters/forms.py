"""Pre-printed forms: page 1's fixed layer, laid out once and stamped under every letter.

Most of what is on page 1 of a letter is the same for every letter of one brand,
creditor, language and layout: the letterhead, the fold marks, the labels of the
information block and of the payment strip, the footer with the creditor's legal
details. WeasyPrint spends about a millisecond per line box, so laying that out
again for each letter cost more than the letter's own text (research/letters.md
section 3: the per-letter cost is layout, not PDF writing).

So the template renders page 1 in two layers (``part="form"`` and ``part="data"``,
see ``templates/letters/letter.html.j2``) that keep the same boxes at the same
places. :class:`FormCache` lays out each distinct form once per process (a form
is identified by its HTML, so a new label, a missing customer number or a
debtor abroad is simply another form), and :func:`stamp_pages` puts it under
page 1 of each letter of a batch PDF as a shared Form XObject with pikepdf
(qpdf): the form's content and fonts are stored once per batch, and stamping
costs a few microseconds per page.

QR codes are stamped the same way (:func:`stamp_pages`): the form leaves an empty
box of the code's size (an anchor; the code's size is part of the form), and the
modules are drawn into it as a 1-bit image after layout, so WeasyPrint never
decodes, re-encodes or paints an image per letter, nor lays out a box for it.

The result is the same page as a one-pass rendering: the tests compare text
positions of both, and decode the QR codes from the rendered pages.
"""

from __future__ import annotations

import hashlib
import io
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pikepdf

from dunning.letters.qr import QrImage

__all__ = ["Form", "FormCache", "PageStamp", "QrPlacement", "stamp_pages"]

PT_PER_PX = 0.75  # WeasyPrint lays out in CSS px (1/96 in); PDF user space is in pt (1/72 in)

# Distinct forms kept per process; a night with more variants than this just lays some out again.
MAX_FORMS = 256


Box = tuple[float, float, float, float]  # (x1, y1, x2, y2) in CSS px from the page's top left


@dataclass(frozen=True, slots=True)
class Form:
    """A laid-out form: its cache key, its one-page PDF and the boxes of its anchors (``id`` -> box)."""

    key: str
    pdf: bytes
    anchors: dict[str, Box]


class FormCache:
    """Form HTML -> a laid-out :class:`Form`, laid out once by ``layout`` and kept (LRU, :data:`MAX_FORMS`)."""

    def __init__(self, layout: Callable[[str, str], tuple[bytes, dict[str, Box]]], size: int = MAX_FORMS) -> None:
        self._layout = layout  # (brand key, form section HTML) -> (PDF bytes of one page, its anchors)
        self._size = size
        self._forms: OrderedDict[str, Form] = OrderedDict()
        self.laid_out = 0  # how many forms this cache laid out (for tests and benchmarks)

    @staticmethod
    def key(brand: str, html: str) -> str:
        return hashlib.sha256(f"{brand}\0{html}".encode()).hexdigest()

    def form(self, brand: str, html: str) -> Form:
        """The form, laid out on first use."""
        key = self.key(brand, html)
        found = self._forms.get(key)
        if found is None:
            found = Form(key, *self._layout(brand, html))
            self.laid_out += 1
            self._forms[key] = found
            if len(self._forms) > self._size:
                self._forms.popitem(last=False)
        else:
            self._forms.move_to_end(key)
        return found


@dataclass(frozen=True, slots=True)
class QrPlacement:
    """A QR code and the box it goes in: (x1, y1, x2, y2) in CSS px from the page's top left."""

    code: QrImage
    box: Box


@dataclass(frozen=True, slots=True)
class PageStamp:
    """What goes onto one page of a batch PDF: a form under it, QR codes into its empty boxes."""

    index: int  # 0-based page in the batch PDF
    form: str | None = None  # FormCache key
    codes: tuple[QrPlacement, ...] = ()
    # Shared blocks (dunning.letters.memo): (source PDF key, its page, dx, dy in pt).
    overlays: tuple[tuple[str, int, float, float], ...] = ()


def stamp_pages(pdf: bytes, stamps: Sequence[PageStamp], forms: dict[str, bytes]) -> bytes:
    """Stamp forms, shared blocks and QR codes onto the pages of a batch PDF.

    ``forms`` holds the PDFs of the forms and of the shared blocks, by key. Each
    form page becomes one Form XObject in the output, drawn first on its pages
    (``q /Form Do Q`` before the page's own content), so the letter's text lies on
    top of the form's tints and rules; a shared block is drawn the same way, moved
    into its slot. Each QR code becomes a 1-bit image drawn into its box. A stamped
    page gets its own resource dictionary (WeasyPrint shares one among all pages),
    so a letter split out of the batch carries only its own forms, blocks and codes.
    """
    if not stamps:
        return pdf
    opened: dict[str, pikepdf.Pdf] = {}  # source PDFs by key
    try:
        with pikepdf.open(io.BytesIO(pdf)) as target:
            xobjects: dict[tuple[str, int], pikepdf.Object] = {}

            def xobject(key: str, index: int) -> pikepdf.Object:
                found = xobjects.get((key, index))
                if found is None:
                    if key not in opened:
                        opened[key] = pikepdf.open(io.BytesIO(forms[key]))
                    found = target.copy_foreign(opened[key].pages[index].as_form_xobject())
                    xobjects[(key, index)] = found
                return found

            for stamp in stamps:
                page = target.pages[stamp.index]
                resources = _own_resources(target, page)
                content = []
                if stamp.form is not None:
                    resources.XObject["/DunForm" + stamp.form[:16]] = xobject(stamp.form, 0)
                    if (count := len(opened[stamp.form].pages)) != 1:
                        raise ValueError(f"form {stamp.form[:12]} has {count} pages, expected 1")
                    content.append(f"q /DunForm{stamp.form[:16]} Do Q")
                for number, (key, index, dx, dy) in enumerate(stamp.overlays):
                    resources.XObject[f"/DunMemo{number}"] = xobject(key, index)
                    content.append(f"q 1 0 0 1 {dx:.3f} {dy:.3f} cm /DunMemo{number} Do Q")
                if stamp.codes:
                    top = float(page.mediabox[3])
                    for number, placed in enumerate(stamp.codes):
                        resources.XObject[f"/DunQr{number}"] = _qr_image(target, placed.code)
                        x1, y1, x2, y2 = (value * PT_PER_PX for value in placed.box)
                        size = f"{x2 - x1:.3f} 0 0 {y2 - y1:.3f}"
                        content.append(f"q {size} {x1:.3f} {top - y2:.3f} cm /DunQr{number} Do Q")
                page.contents_add(pikepdf.Stream(target, ("\n".join(content) + "\n").encode("ascii")), prepend=True)
            out = io.BytesIO()
            target.save(out)
            return out.getvalue()
    finally:
        for source in opened.values():
            source.close()


def _own_resources(pdf: pikepdf.Pdf, page: pikepdf.Page) -> pikepdf.Dictionary:
    """Give ``page`` a resource dictionary of its own (shallow: fonts etc. stay shared) and return it."""
    shared = page.obj.get("/Resources", pikepdf.Dictionary())
    own = pikepdf.Dictionary(dict(shared.items()))
    old = shared.get("/XObject", pikepdf.Dictionary())
    own.XObject = pikepdf.Dictionary(dict(old.items()))
    page.obj.Resources = pdf.make_indirect(own)
    resources: pikepdf.Dictionary = page.obj.Resources
    return resources


def _qr_image(pdf: pikepdf.Pdf, code: QrImage) -> pikepdf.Stream:
    """A QR code with its quiet zone as a 1-bit grey image, one sample per module (1 = light)."""
    light = code.pixels() > 127
    image = pikepdf.Stream(pdf, np.packbits(light, axis=1).tobytes())
    image.Type = pikepdf.Name.XObject
    image.Subtype = pikepdf.Name.Image
    image.Width = image.Height = light.shape[0]
    image.ColorSpace = pikepdf.Name.DeviceGray
    image.BitsPerComponent = 1
    image.Interpolate = False
    return image
