"""Where things go on page 1: DIN 5008 form B, window envelopes and hybrid-mail keep-free zones.

All figures in millimetres from the top-left corner of the A4 sheet
(research/letters.md section 2):

* DIN 5008 form B: address field x 20, y 45, 85 x 45 (17.7 mm notes zone with the
  return line, then a 27.3 mm address zone of 6 lines); information block x 125,
  y 50, 75 wide; subject at 98.46; fold marks at 105 and 210; punch mark at 148.5.
  A letter with a Swiss QR-bill folds at 105 and 192 (the perforation): see
  :mod:`dunning.letters.printsafe`.
* DL / C6/5 envelope (DIN 680): window 90 x 45 mm, 20 mm from the left and 15 mm
  from the bottom, +-1 mm. The folded sheet (105 mm) can slide up to 5 mm in a
  110 mm envelope, so the sheet area that *may* show is x 19-111, y 44-96 and
  the area that *always* shows is x 21-109, y 51-89.
* Pingen (CH/DE/AT hybrid mail): address area x 22, y 60, 85.5 x 25.5; postage
  keep-free area x 20, y 40, 89.5 x 20.
* Deutsche Post E-POST: address block x 20, y 45, 85 x 45 with a 13 mm franking
  band at y 53 kept free; unprintable borders 7 mm top and bottom, 12 mm left,
  2.5 mm right.

``EnvelopeProfile.css()`` turns a profile into the CSS that places the return
line and the address; the tests read the rendered PDF back and check the
same rectangles.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "FIRST_PAGE_TOP",
    "PAGE_HEIGHT",
    "PAGE_WIDTH",
    "PROFILES",
    "EnvelopeProfile",
    "Rect",
    "profile",
]

PAGE_WIDTH = 210.0
PAGE_HEIGHT = 297.0
# Page 1 has a 10 mm top margin (it holds the "page x of y" label); the letterhead
# block starts there, so absolute positions inside it are sheet positions minus this.
FIRST_PAGE_TOP = 10.0


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height

    def contains(self, left: float, top: float, right: float, bottom: float, slack: float = 0.0) -> bool:
        """Whether the box (mm, top-left origin) lies wholly inside this rectangle."""
        return (
            left >= self.x - slack
            and right <= self.right + slack
            and top >= self.y - slack
            and bottom <= self.bottom + slack
        )

    def overlaps(self, left: float, top: float, right: float, bottom: float) -> bool:
        return left < self.right and right > self.x and top < self.bottom and bottom > self.y


@dataclass(frozen=True, slots=True)
class EnvelopeProfile:
    """Page-1 geometry for one kind of envelope or hybrid-mail provider.

    ``return_box`` holds the one-line sender (small type) and ``address_box`` the
    recipient, top-down. ``window`` is every part of the sheet that may show
    through the envelope: nothing but those two may be printed there.
    ``readable`` is the part that always shows: the recipient must fit in it.
    ``keep_free`` rectangles must stay blank (the provider prints there).
    """

    name: str
    description: str
    return_box: Rect | None
    address_box: Rect
    window: Rect
    readable: Rect
    keep_free: tuple[Rect, ...] = ()
    address_font_pt: float = 10.0
    address_line_mm: float = 4.23
    marks: bool = True  # fold and punch marks for the print house's folding machine
    fold_marks: tuple[float, ...] = (105.0, 210.0)
    # A letter with a Swiss QR-bill (the bottom 105 mm of page 1) is folded along its perforation
    # instead, never through the payment part: panels 105, 87 and 105 mm (dunning.letters.printsafe).
    qrbill_fold_marks: tuple[float, ...] = (105.0, 192.0)
    punch_mark: float = 148.5
    info_block: Rect = Rect(125.0, 50.0, 75.0, 40.0)
    subject_top: float = 98.46

    def css(self) -> str:
        """CSS placing the return line, the address and the marks inside the letterhead block."""

        def box(selector: str, rect: Rect) -> str:
            return (
                f"{selector}{{left:{rect.x}mm;top:{rect.y - FIRST_PAGE_TOP:.2f}mm;"
                f"width:{rect.width}mm;height:{rect.height}mm}}"
            )

        rules = [
            box(".address", self.address_box),
            f".address{{font-size:{self.address_font_pt}pt;line-height:{self.address_line_mm}mm}}",
            box(".info", self.info_block),
            f".first-page{{height:{self.subject_top - FIRST_PAGE_TOP:.2f}mm}}",
        ]
        if self.return_box is not None:
            rules.append(box(".return-line", self.return_box))
        else:
            rules.append(".return-line{display:none}")
        for index, y in enumerate(self.fold_marks):
            rules.append(f".fold-{index}{{top:{y - FIRST_PAGE_TOP:.2f}mm}}")
        for index, y in enumerate(self.qrbill_fold_marks):
            rules.append(f"section.ch .fold-{index}{{top:{y - FIRST_PAGE_TOP:.2f}mm}}")
        rules.append(f".punch{{top:{self.punch_mark - FIRST_PAGE_TOP:.2f}mm}}")
        if not self.marks:
            rules.append(".mark{display:none}")
        return "\n".join(rules)


DIN5008B_DL = EnvelopeProfile(
    name="din5008b-dl",
    description="DIN 5008 form B in a DL or C6/5 window envelope (DIN 680 window 90x45 mm)",
    return_box=Rect(25.0, 56.5, 80.0, 5.0),
    address_box=Rect(25.0, 62.7, 80.0, 27.3),
    window=Rect(19.0, 44.0, 92.0, 52.0),
    readable=Rect(21.0, 51.0, 88.0, 38.0),
)

PINGEN = EnvelopeProfile(
    name="pingen",
    description="Pingen hybrid mail, address left: address area x22 y60 85.5x25.5, postage area kept free",
    return_box=Rect(24.0, 60.3, 83.0, 3.5),
    address_box=Rect(24.0, 64.0, 83.0, 21.5),
    window=Rect(22.0, 60.0, 85.5, 25.5),
    readable=Rect(22.0, 60.0, 85.5, 25.5),
    keep_free=(Rect(20.0, 40.0, 89.5, 20.0),),
    address_font_pt=8.5,
    address_line_mm=3.55,
    marks=False,
)

EPOST = EnvelopeProfile(
    name="epost",
    description="Deutsche Post E-POST without cover page: franking band y53 13 mm kept free",
    return_box=Rect(25.0, 47.5, 80.0, 4.5),
    address_box=Rect(25.0, 66.5, 80.0, 23.5),
    window=Rect(20.0, 45.0, 85.0, 45.0),
    readable=Rect(20.0, 45.0, 85.0, 45.0),
    keep_free=(
        Rect(20.0, 53.0, 85.0, 13.0),
        Rect(0.0, 0.0, 210.0, 7.0),
        Rect(0.0, 290.0, 210.0, 7.0),
        Rect(0.0, 0.0, 12.0, 297.0),
        Rect(207.5, 0.0, 2.5, 297.0),
    ),
    address_font_pt=9.0,
    address_line_mm=3.9,
    marks=False,
)

PROFILES: dict[str, EnvelopeProfile] = {p.name: p for p in (DIN5008B_DL, PINGEN, EPOST)}


def profile(name: str) -> EnvelopeProfile:
    """The envelope profile called ``name``; KeyError lists the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown envelope profile {name!r}; known: {', '.join(sorted(PROFILES))}") from None
