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
debtor abroad is simply another form), and :func:`stamp_forms` puts it under
page 1 of each letter of a batch PDF as a shared Form XObject with pikepdf
(qpdf): the form's content and fonts are stored once per batch, and stamping
costs a few microseconds per page.

The result is the same page as a one-pass rendering: the tests compare text
positions of both.
"""

from __future__ import annotations

import hashlib
import io
from collections import OrderedDict
from collections.abc import Callable, Sequence

import pikepdf

__all__ = ["FormCache", "stamp_forms"]

# Distinct forms kept per process; a night with more variants than this just lays some out again.
MAX_FORMS = 256


class FormCache:
    """Form HTML -> a one-page PDF, laid out once by ``layout`` and kept (LRU, :data:`MAX_FORMS`)."""

    def __init__(self, layout: Callable[[str, str], bytes], size: int = MAX_FORMS) -> None:
        self._layout = layout  # (brand key, form section HTML) -> PDF bytes of one page
        self._size = size
        self._forms: OrderedDict[str, bytes] = OrderedDict()
        self.laid_out = 0  # how many forms this cache laid out (for tests and benchmarks)

    @staticmethod
    def key(brand: str, html: str) -> str:
        return hashlib.sha256(f"{brand}\0{html}".encode()).hexdigest()

    def pdf(self, brand: str, html: str) -> tuple[str, bytes]:
        """The form's key and its PDF, laying it out on first use."""
        key = self.key(brand, html)
        found = self._forms.get(key)
        if found is None:
            found = self._layout(brand, html)
            self.laid_out += 1
            self._forms[key] = found
            if len(self._forms) > self._size:
                self._forms.popitem(last=False)
        else:
            self._forms.move_to_end(key)
        return key, found


def stamp_forms(pdf: bytes, stamps: Sequence[tuple[int, str]], forms: dict[str, bytes]) -> bytes:
    """Put form ``forms[key]`` under page ``index`` (0-based) for each ``(index, key)`` in ``stamps``.

    Each form becomes one Form XObject in the output, drawn first on its pages
    (``q /Form Do Q`` before the page's own content), so the letter's text lies
    on top of the form's tints and rules.
    """
    if not stamps:
        return pdf
    sources: list[pikepdf.Pdf] = []
    try:
        with pikepdf.open(io.BytesIO(pdf)) as target:
            xobjects: dict[str, pikepdf.Object] = {}
            for index, key in stamps:
                xobject = xobjects.get(key)
                if xobject is None:
                    source = pikepdf.open(io.BytesIO(forms[key]))
                    sources.append(source)
                    if len(source.pages) != 1:
                        raise ValueError(f"form {key[:12]} has {len(source.pages)} pages, expected 1")
                    xobject = target.copy_foreign(source.pages[0].as_form_xobject())
                    xobjects[key] = xobject
                # One name per form: WeasyPrint's pages may share one resource dictionary.
                name = pikepdf.Name("/DunForm" + key[:16])
                page = target.pages[index]
                page.add_resource(xobject, pikepdf.Name.XObject, name)
                page.contents_add(pikepdf.Stream(target, b"q " + bytes(name.unparse()) + b" Do Q\n"), prepend=True)
            out = io.BytesIO()
            target.save(out)
            return out.getvalue()
    finally:
        for source in sources:
            source.close()
