"""QR images for letters: EPC payment code, pay-link code, Swiss QR-bill payment part.

A :class:`QrImage` keeps the code's modules. In batches the letter's form leaves an
empty box of the code's size and the renderer draws the modules into it after
layout as a 1-bit image (:func:`dunning.letters.forms.stamp_pages`): WeasyPrint
never decodes or re-encodes an image. One-pass renderings (previews) embed the
same modules as a 1-pixel-per-module PNG data URI scaled by CSS
(``image-rendering: pixelated`` keeps the edges sharp). The printed size keeps
every module at or above 0.4 mm, the Swiss QR-bill minimum used as the yardstick.

Two encoders, on purpose:

* the EPC code is made with segno, whose options pin what EPC069-12 asks for
  (byte mode in UTF-8 without an ECI header, level M, no error-level boost);
* the pay-link code is a plain ASCII URL, made with zxing-cpp's C++ encoder:
  segno spends about 5 ms per code choosing the mask in Python, zxing-cpp
  0.2 ms, and a letter factory makes one per letter.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import zxingcpp
from PIL import Image
from qrbill import QRBill

from dunning.letters.model import Creditor
from dunning.letters.qrmask import make_qr

__all__ = ["MIN_MODULE_MM", "QrImage", "epc_qr", "link_qr", "structured_address", "swiss_qr_bill_svg"]

MIN_MODULE_MM = 0.4
QUIET_ZONE = 4  # modules of white border on each side (ISO/IEC 18004)


@dataclass(frozen=True, slots=True)
class QrImage:
    """A QR code to print: its modules (row by row, 1 = dark, no quiet zone) and printed size."""

    bits: bytes  # modules * modules bytes, 0 or 1
    modules: int  # symbol width in modules, without the quiet zone
    size_mm: float  # printed width including the quiet zone

    @classmethod
    def from_array(cls, dark: np.ndarray, min_size_mm: float) -> QrImage:
        modules = int(dark.shape[0])
        size = max(min_size_mm, round((modules + 2 * QUIET_ZONE) * MIN_MODULE_MM + 0.05, 1))
        return cls(dark.astype(np.uint8).tobytes(), modules, size)

    @property
    def module_mm(self) -> float:
        return self.size_mm / (self.modules + 2 * QUIET_ZONE)

    def pixels(self) -> np.ndarray:
        """The code with its quiet zone as 8-bit grey pixels, one per module (0 = dark, 255 = light)."""
        dark = np.frombuffer(self.bits, dtype=np.uint8).reshape(self.modules, self.modules)
        return np.pad(np.where(dark == 1, 0, 255).astype(np.uint8), QUIET_ZONE, constant_values=255)

    @property
    def data_uri(self) -> str:
        """The code as a 1-pixel-per-module PNG data URI (for one-pass renderings)."""
        buffer = io.BytesIO()
        Image.fromarray(self.pixels()).convert("1").save(buffer, "PNG")
        return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _image(data: str, min_size_mm: float) -> QrImage:
    # EPC069-12: error correction M, no boost, version <= 13 (checked by the payload's byte limit).
    code = make_qr(data)  # = segno.make(data, error="m", boost_error=False, encoding="utf-8", micro=False)
    dark = np.frombuffer(b"".join(bytes(row) for row in code.matrix), dtype=np.uint8)
    width = len(code.matrix)
    return QrImage.from_array(dark.reshape(width, width), min_size_mm)


def epc_qr(payload: str) -> QrImage:
    """The EPC QR code for an :func:`dunning.domain.epc.epc_payload` text, at least 28 mm wide."""
    return _image(payload, 28.0)


def link_qr(url: str) -> QrImage:
    """A plain URL code for the pay page (level M), at least 20 mm wide.

    (At 22 mm the German and French hint under it ran into the printed URL.)
    """
    if not url.isascii():
        return _image(url, 20.0)
    code = zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    pixels = np.asarray(code.to_image(scale=1, add_quiet_zones=False))
    return QrImage.from_array(pixels < 128, 20.0)


def swiss_qr_bill_svg(
    creditor: Creditor,
    amount: Decimal,
    currency: str,
    reference: str,
    language: str,
    message: str = "",
    debtor: tuple[str, str, tuple[str, ...]] | None = None,
) -> str:
    """The Swiss QR-bill receipt and payment part (210 x 105 mm) as SVG text, via ``qrbill``.

    The creditor address is passed structured (type S, the only type allowed
    from IG v2.3); ``reference`` is a QRR for a QR-IBAN or an RF otherwise,
    and qrbill checks that pairing. The debtor is left blank (the bill then
    prints an empty "payable by" box): :class:`~dunning.letters.model.Debtor`
    carries address lines, and IG v2.3 accepts structured addresses only.
    ``debtor`` (name, country, address lines) fills the "payable by" box when
    :func:`structured_address` can read the lines; otherwise it stays blank
    for the debtor to fill in, as the guidelines allow.
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
        debtor=structured_address(*debtor) if debtor else None,
    )
    out = io.StringIO()
    bill.as_svg(out, full_page=False)
    return out.getvalue()


_STREET = re.compile(r"^(?P<street>\D.*?)\s+(?P<number>\d+\s?[A-Za-z]?(?:[-/]\d+[A-Za-z]?)?)$")
_TOWN = re.compile(r"^(?:[A-Z]{2}-)?(?P<pcode>\d{4,5})\s+(?P<city>\S.*)$")
_PO_BOX = re.compile(r"^(?:Postfach|Case postale|Casella postale|CP|PO Box)\b", re.IGNORECASE)
_NAME_MAX = 70  # IG v2.3: Name, StrtNm and TwnNm up to 70 characters, PstCd and BldgNb up to 16


def structured_address(name: str, country: str, lines: tuple[str, ...]) -> dict[str, str] | None:
    """A QR-bill structured address from printed address lines, or None when they can't be read.

    The last line must be "postcode town"; the one before it "street number", a
    street without a number, or a post-office box ("Postfach 123" goes in the
    street field, as the guidelines allow). Lines before those (a "c/o" line, a
    department) are added to the name while it stays within 70 characters;
    otherwise the address is not read and the "payable by" box stays blank.

    >>> address = structured_address("Pia Rutschmann", "CH", ("Marktgasse 28", "9400 Rorschach"))
    >>> address["street"], address["house_num"], address["pcode"], address["city"]
    ('Marktgasse', '28', '9400', 'Rorschach')
    >>> structured_address("A", "CH", ("Postfach 1220", "8021 Zürich"))["street"]
    'Postfach 1220'
    >>> structured_address("Pia Rutschmann", "CH", ("c/o Meier", "Marktgasse 28", "9400 Rorschach"))["name"]
    'Pia Rutschmann, c/o Meier'
    >>> structured_address("A", "CH", ("9400 Rorschach",)) is None
    True
    """
    lines = tuple(line.strip() for line in lines if line.strip())
    if len(lines) < 2:
        return None
    *extra, street_line, town_line = lines
    town = _TOWN.match(town_line)
    full_name = ", ".join([name.strip(), *extra])
    if not town or len(full_name) > _NAME_MAX or len(street_line) > _NAME_MAX or len(town["city"]) > _NAME_MAX:
        return None
    street = None if _PO_BOX.match(street_line) else _STREET.match(street_line)
    return {
        "name": full_name,
        "street": street["street"] if street else street_line,
        "house_num": street["number"] if street else "",
        "pcode": town["pcode"],
        "city": town["city"],
        "country": country.upper(),
    }
