"""Preview one letter: the PDF and a PNG of its first page beside it (for the ``dunning preview`` CLI)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dunning.letters.model import LetterData, LetterKind
from dunning.letters.samples import sample_letter

if TYPE_CHECKING:
    from dunning.letters.render import LetterRenderer

__all__ = ["preview"]


def preview(
    template_kind: LetterKind | str,
    lang: str,
    brand: str,
    out_pdf: Path,
    letter: LetterData | None = None,
    *,
    renderer: LetterRenderer | None = None,
    dpi: int = 110,
) -> Path:
    """Write ``out_pdf`` and ``out_pdf`` with suffix ``.png`` (page 1); return the PNG's path.

    Without ``letter``, sample data of ``template_kind`` in ``lang`` is used. A given
    letter is rendered with the kind, language and brand asked for.
    """
    import dataclasses

    import pypdfium2 as pdfium

    from dunning.letters.render import LetterRenderer  # imports WeasyPrint: only when previewing

    kind = LetterKind(template_kind)
    if letter is None:
        letter = sample_letter(kind, lang, brand, letter_id="PREVIEW")
    else:
        debtor = dataclasses.replace(letter.debtor, language=lang)
        letter = dataclasses.replace(letter, kind=kind, brand=brand, debtor=debtor)
    result = (renderer or LetterRenderer()).render_batch([letter])
    if result.problems:
        raise ValueError("; ".join(result.problems))
    out_pdf = Path(out_pdf)
    out_pdf.parent.mkdir(parents=True, exist_ok=True)
    out_pdf.write_bytes(result.pdf)
    png = out_pdf.with_suffix(".png")
    document = pdfium.PdfDocument(result.pdf)
    try:
        document[0].render(scale=dpi / 72).to_pil().save(png)
    finally:
        document.close()
    return png
