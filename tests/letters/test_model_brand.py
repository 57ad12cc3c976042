from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest

from dunning.errors import ConfigError
from dunning.letters import LegalMentions, LetterKind, check_letter
from dunning.letters.brand import load_brand
from dunning.letters.formatting import LocaleFormat, locale_for
from dunning.letters.geometry import PROFILES, profile
from dunning.letters.samples import sample_letter


def test_sample_letters_are_clean() -> None:
    for kind in LetterKind:
        for lang in ("nl", "fr", "de", "en"):
            assert check_letter(sample_letter(kind, lang)) == []


def test_belgian_first_reminder_needs_its_mandatory_figures() -> None:
    letter = sample_letter(LetterKind.FIRST_REMINDER, "fr", letter_id="X1")
    bare = dataclasses.replace(letter, legal=LegalMentions(rule_pack="BE"))
    problems = " | ".join(check_letter(bare))
    assert "'X1'" in problems and "legal.deadline" in problems and "legal.damages_if_unpaid" in problems


def test_dutch_letter_needs_the_wik_amount() -> None:
    letter = sample_letter(LetterKind.FIRST_REMINDER, "nl", dutch=True)
    bare = dataclasses.replace(letter, legal=LegalMentions(rule_pack="NL"))
    assert any("WIK" in p for p in check_letter(bare))


def test_check_names_field_and_value() -> None:
    letter = sample_letter(LetterKind.SECOND_REMINDER, "de", letter_id="X2")
    assert any("total 1 differs" in p for p in check_letter(dataclasses.replace(letter, total=Decimal(1))))
    odd = dataclasses.replace(letter, debtor=dataclasses.replace(letter.debtor, language="it"))
    assert any("debtor.language 'it'" in p for p in check_letter(odd))
    many = dataclasses.replace(letter, debtor=dataclasses.replace(letter.debtor, address_lines=("a",) * 5))
    assert any("5 lines" in p for p in check_letter(many))


def test_locales_and_formats() -> None:
    assert locale_for("nl", "NL") == "nl_NL" and locale_for("fr", "BE") == "fr_BE"
    assert locale_for("en", "XX") == "en_GB"
    assert LocaleFormat("fr_BE", "EUR", {}).money(Decimal("1234.5")) == "1\u202f234,50\u00a0€"
    assert LocaleFormat("de_DE", "EUR", {}).money(Decimal("7.5")) == "7,50\u00a0€"


def test_both_brands_load_and_differ() -> None:
    default, atelier = load_brand("default"), load_brand("atelier")
    assert default.colours["primary"] != atelier.colours["primary"]
    assert default.fonts["body"] != atelier.fonts["body"]
    assert default.envelope.name == "din5008b-dl" and atelier.envelope.name == "pingen"
    assert default.logo_uri.startswith("data:image/svg+xml;base64,") and default.logo_uri != atelier.logo_uri
    assert "var(" not in default.resolve_variables("a{color:var(--primary)}")


def write_brand(tmp_path: Path, text: str) -> Path:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "brand.yaml").write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("name: X\ncolours: {primary: red}\n", "colours.primary"),
        ("name: X\nenvelope: c4\n", "envelope"),
        ("name: X\nlogo: missing.svg\n", "logo"),
        ("name: X\nsender_block: ['{debtor.name}']\n", "sender_block[0]"),
        ("name: X\nfooter: 3\n", "footer"),
        ("name: X\ncolour: {}\n", "colour"),
        ("colours: {}\n", "name"),
    ],
)
def test_brand_errors_name_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    layouts = write_brand(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_brand("x", layouts)
    assert "brand.yaml" in str(info.value) and f": {key}:" in str(info.value)


def test_unknown_brand_and_profile() -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_brand("nope")
    with pytest.raises(KeyError, match="din5008b-dl"):
        profile("c4")


def test_profiles_keep_address_inside_window() -> None:
    for envelope in PROFILES.values():
        box = envelope.address_box
        assert envelope.window.contains(box.x, box.y, box.right, box.bottom, slack=0.01)
        for zone in envelope.keep_free:
            assert not zone.overlaps(box.x, box.y, box.right, box.bottom), envelope.name
