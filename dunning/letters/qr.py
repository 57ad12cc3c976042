"""QR images for letters: EPC payment code, pay-link code, Swiss QR-bill payment part.

Codes are embedded as 1-pixel-per-module PNG data URIs and scaled with CSS
(``image-rendering: pixelated`` keeps the edges sharp in the PDF). A PNG of
a few hundred bytes costs WeasyPrint far less than parsing an SVG path per
letter (research/letters.md, section 1.2 and 3). The printed size keeps every
module at or above 0.4 mm, the Swiss QR-bill minimum used as the yardstick.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal

import segno
from qrbill import QRBill

from dunning.letters.model import Creditor

__all__ = ["MIN_MODULE_MM", "QrImage", "epc_qr", "link_qr", "swiss_qr_bill_svg"]

MIN_MODULE_MM = 0.4
QUIET_ZONE = 4  # modules of white border on each side (ISO/IEC 18004)


@dataclass(frozen=True, slots=True)
class QrImage:
    data_uri: str
    modules: int  # symbol width in modules, without the quiet zone
    size_mm: float  # printed width including the quiet zone

    @property
    def module_mm(self) -> float:
        return self.size_mm / (self.modules + 2 * QUIET_ZONE)


def _image(data: str, min_size_mm: float) -> QrImage:
    # EPC069-12: error correction M, no boost, version <= 13 (checked by the payload's byte limit).
    code = segno.make(data, error="m", boost_error=False, encoding="utf-8", micro=False)
    modules = int(code.symbol_size(border=0)[0])
    size = max(min_size_mm, round((modules + 2 * QUIET_ZONE) * MIN_MODULE_MM + 0.05, 1))
    return QrImage(code.png_data_uri(scale=1, border=QUIET_ZONE), modules, size)


def epc_qr(payload: str) -> QrImage:
    """The EPC QR code for an :func:`dunning.domain.epc.epc_payload` text, at least 28 mm wide."""
    return _image(payload, 28.0)


def link_qr(url: str) -> QrImage:
    """A plain URL code for the pay page, at least 22 mm wide."""
    return _image(url, 22.0)


def swiss_qr_bill_svg(
    creditor: Creditor,
    amount: Decimal,
    currency: str,
    reference: str,
    language: str,
    message: str = "",
) -> str:
    """The Swiss QR-bill receipt and payment part (210 x 105 mm) as SVG text, via ``qrbill``.

    The creditor address is passed structured (type S, the only type allowed
    from IG v2.3); ``reference`` is a QRR for a QR-IBAN or an RF otherwise,
    and qrbill checks that pairing. The debtor is left blank (the bill then
    prints an empty "payable by" box): :class:`~dunning.letters.model.Debtor`
    carries address lines, and IG v2.3 accepts structured addresses only.
    """
    address = creditor.address
    bill = QRBill(
        account=creditor.iban,
        creditor={
            "name": creditor.name,
            "street": address.street,
            "house_num": address.house_number,
            "pcode": address.postal_code,
            "city": address.city,
            "country": address.country,
        },
        amount=str(amount),
        currency=currency,
        reference_number=reference,
        additional_information=message,
        language=language if language in ("de", "fr", "it", "en") else "de",
    )
    out = io.StringIO()
    bill.as_svg(out, full_page=False)
    return out.getvalue()
