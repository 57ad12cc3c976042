"""Letters: branded, multilingual dunning letters with payment QR codes, rendered in batches.

    from dunning.letters import LetterRenderer, render_parallel, preview
    result = LetterRenderer().render_batch(letters)   # one PDF, page range per letter
    pdfs = result.split()                              # or one PDF per letter

Modules: ``model`` (what a caller fills in), ``brand`` (layouts/<brand>/brand.yaml),
``geometry`` (DIN 5008 and envelope profiles), ``qr`` (EPC, pay link, Swiss QR-bill),
``formatting`` (babel), ``render`` (batch renderer), ``preview`` and ``samples``.
"""

from typing import Any

from dunning.letters.model import (
    Charge,
    ChargeKind,
    Creditor,
    Debtor,
    Instalment,
    Invoice,
    LegalMentions,
    LetterData,
    LetterDataError,
    LetterKind,
    PlanNotice,
    PostalAddress,
    StatementEntry,
    check_letter,
)
from dunning.letters.preview import preview

# The renderer pulls in WeasyPrint (slow to import, native libraries); load it only when used,
# so that code filling in LetterData does not pay for it.
_LAZY = {
    "BatchResult": "dunning.letters.batch",
    "LetterRenderer": "dunning.letters.render",
    "RenderPool": "dunning.letters.parallel",
    "RenderedLetter": "dunning.letters.batch",
    "render_parallel": "dunning.letters.parallel",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dunning.letters' has no attribute {name!r}")

__all__ = [
    "BatchResult",
    "Charge",
    "ChargeKind",
    "Creditor",
    "Debtor",
    "Instalment",
    "Invoice",
    "LegalMentions",
    "LetterData",
    "LetterDataError",
    "LetterKind",
    "LetterRenderer",
    "PlanNotice",
    "PostalAddress",
    "RenderPool",
    "RenderedLetter",
    "StatementEntry",
    "check_letter",
    "preview",
    "render_parallel",
]
