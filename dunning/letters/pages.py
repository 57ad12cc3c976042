"""Page CSS of letters: A4 pages, "page x of y", page 1's margins and where its foot goes.

Generated rather than written in base.css because the figures are shared: the foot's
height per page kind sets both page 1's bottom margin in the data layer (see
:mod:`dunning.letters.forms`) and the place of the data layer's foot items.
"""

from __future__ import annotations

__all__ = ["FIRST_PAGE_BOTTOM", "FOOT_HEIGHT", "PAGE_NAMES", "foot_css", "page_css"]

# Page names: a letter with the payment strip, with a Swiss QR-bill, or without payment part.
PAGE_NAMES = {"pay": "letter", "ch": "letterch", "plain": "letterplain"}
# Bottom margin of page 1 (mm); the foot (strip, footer or QR-bill) is a footnote above it.
FIRST_PAGE_BOTTOM = {"pay": 5, "ch": 0, "plain": 5}
# Height of the foot (payment strip + footer, QR-bill, footer only). The one place it is set:
# foot_css writes the .foot-in heights, and page 1's margins of the data layer follow.
FOOT_HEIGHT = {"pay": 72, "ch": 107, "plain": 30}


def page_css() -> str:
    """Page boxes. "Page x of y" and, on the left, the debtor's name and customer number are margin
    boxes from page 2 on; page 1 prints its label as a plain box of the letterhead (``.page-label``:
    a margin box costs WeasyPrint more, on every letter) and has the name in its address window."""
    label = (
        "@top-right{content:string(pglabel) counter(page) string(pgof) string(pgtotal);"
        "font-size:6.5pt;color:#666;vertical-align:bottom;padding-bottom:3mm}"
        # continuation pages also say whose letter they are: the debtor's name and customer number
        "@top-left{content:string(pgwho);font-size:6.5pt;color:#666;vertical-align:bottom;padding-bottom:3mm}"
    )
    rules = [f"@page{{size:A4;margin:20mm 20mm 22mm 25mm;{label}@footnote{{margin:0;padding:0;border:0}}}}"]
    for kind, name in PAGE_NAMES.items():
        # The data layer's page 1 keeps the foot's room as margin (its foot is an absolute box).
        rules.append(
            f"@page :nth(1 of d{name}){{counter-reset:page 1;margin-top:10mm;"
            f"margin-bottom:{FIRST_PAGE_BOTTOM[kind] + FOOT_HEIGHT[kind]}mm;@top-right{{content:none}}"
            "@top-left{content:none}}"
        )
        rules.append(
            f"@page :nth(1 of {name}){{counter-reset:page 1;margin-top:10mm;"
            f"margin-bottom:{FIRST_PAGE_BOTTOM[kind]}mm;@top-right{{content:none}}@top-left{{content:none}}}}"
        )
    return "\n".join(rules)


def foot_css() -> str:
    """The foot's height per page kind, and where the data layer's foot items go.

    Elsewhere the foot is a footnote: its bottom sits on page 1's bottom margin, 297 - 10 -
    FIRST_PAGE_BOTTOM mm below the letterhead block (``.first-page``, which starts under the
    10 mm top margin). The data layer has no ``.foot`` and ``.foot-in`` (two boxes fewer per
    letter): their items (``.foot-item``) are absolute boxes of the letterhead block, moved to
    the top left corner of ``.foot-in`` (x 25 mm, under the page's left margin) by a margin and
    a transform. Not by ``top`` or a margin: WeasyPrint moves an absolute box that starts below
    the page's content area (the data layer's page 1 keeps the foot's room as margin) to the
    next page; a transform moves it only when painted.
    """
    rules = []
    for kind in PAGE_NAMES:
        rules.append(f"section.{kind} .foot-in{{height:{FOOT_HEIGHT[kind]}mm}}")
        top = 297 - 10 - FIRST_PAGE_BOTTOM[kind] - FOOT_HEIGHT[kind]
        rules.append(f"section.{kind}.layer-data .foot-item{{margin-left:25mm;transform:translateY({top}mm)}}")
    return "\n".join(rules)
