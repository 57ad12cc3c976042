"""A messy German ERP export, written as the ERP writes it: cp1252, semicolons, decimal comma.

Lines 4, 5, 6, 7 and 9 are broken in different ways; the others are good.
"""

from __future__ import annotations

from pathlib import Path

HEADER = "Kundennr;Name;Rechnungsnummer;Rechnungsdatum;Fälligkeitsdatum;Offener Betrag;Währung;Land;E-Mail;Telefon;Straße;PLZ;Ort;Sprache"
LINES = [
    "1001;Müller GmbH;R-2026-001;15.08.2026;15.09.2026;1.234,56;EUR;DE;info@mueller.example;030 1234567;Hauptstraße 1;10115;Berlin;Deutsch",
    "1001;Müller GmbH;R-2026-002;01.09.2026;01.10.2026;99,90;EUR;DE;info@mueller.example;030 1234567;Hauptstraße 1;10115;Berlin;Deutsch",
    "1002;Bäcker Schmidt;R-2026-003;01.09.2026;32.10.2026;50,00;EUR;DE;;;Marienplatz 2;80331;München;de",  # bad date
    "1003;;R-2026-004;01.09.2026;01.10.2026;10,00;EUR;DE;;;;;;de",  # name missing
    "1004;Jörg Weiß;R-2026-005;01.09.2026;01.10.2026;abc;EUR;DE;;;;;;de",  # amount unreadable
    "1005;Zu viele Felder;R-2026-006;01.09.2026;01.10.2026;5,00;EUR;DE;;;;;;de;extra;extra",  # too many fields
    "1006;Gut GmbH;R-2026-007;01.09.2026;01.10.2026;-20,00;EUR;Deutschland;kaputt@;+49 89 123456;Weg 3;80331;München;de",  # bad email: warning
    "1001;Müller GmbH;R-2026-001;15.08.2026;15.09.2026;1,00;EUR;DE;;;;;;de",  # duplicate invoice
    "1007;Café Zoë;R-2026-008;01.09.2026;03.11.2026;12.345,67;EUR;BE;cafe@zoe.example;0470 12 34 56;Rue Neuve 1;1000;Bruxelles;fr",
]
GOOD_INVOICES = {"R-2026-001", "R-2026-002", "R-2026-007", "R-2026-008"}
BROKEN_LINES = {4: "Fälligkeitsdatum", 5: "Name", 6: "Offener Betrag", 7: "", 9: "Rechnungsnummer"}


def write_messy(path: Path, lines: list[str] | None = None) -> Path:
    text = "\r\n".join([HEADER, *(LINES if lines is None else lines)]) + "\r\n"
    path.write_bytes(text.encode("cp1252"))
    return path
