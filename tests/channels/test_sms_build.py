"""SMS text: GSM-7 vs UCS-2, segment counting, normalisation, caps, E.164, quiet hours."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dunning.channels import gsm7
from dunning.channels.quiet_hours import QuietHours, SendWindow, is_allowed, next_allowed_send
from dunning.channels.sms import (
    InvalidPhoneNumber,
    MessageTooLong,
    SmsSettings,
    build_sms,
    build_sms_batch,
    normalise_phone,
    normalise_text,
)
from dunning.errors import ConfigError
from tests.channels.channel_helpers import sms_data

SETTINGS = SmsSettings("Stadtwerke", max_segments=2)
BRUSSELS = ZoneInfo("Europe/Brussels")


def test_plain_text_is_gsm7_one_septet_per_character() -> None:
    counted = gsm7.count("Betaal 149,90 EUR via https://pay.ex/p/8fK2x")
    assert (counted.encoding, counted.units, counted.segments) == ("GSM-7", 44, 1)


def test_euro_sign_counts_two_septets_and_stays_gsm7() -> None:
    assert gsm7.count("€").units == 2
    assert gsm7.count("149,90 €").units == 9
    assert gsm7.count("[x]{y}|~^\\").units == 18  # 8 extension characters x 2, plus x and y
    # 80 euro signs are 160 septets: still one SMS; one more and it needs two segments.
    assert gsm7.count("€" * 80).segments == 1
    assert gsm7.count("€" * 80 + "x").segments == 2
    assert gsm7.encode_gsm7("@€é§") == b"\x00\x1b\x65\x05\x5f"


def test_a_single_letter_outside_gsm7_forces_ucs2() -> None:
    counted = gsm7.count("Płatność 149,90 zł")
    assert counted.encoding == "UCS-2"
    assert counted.units == 18  # UTF-16 code units, one per character here
    # é, ü, ß, Ç are in GSM-7 and do not switch the encoding; ç and ł do.
    assert gsm7.count("éüßÇ").encoding == "GSM-7"
    assert gsm7.count("ç").encoding == "UCS-2"


def test_ucs2_counts_utf16_code_units_and_segments_at_70_and_67() -> None:
    assert gsm7.count("ł" * 70).segments == 1
    assert gsm7.count("ł" * 71).segments == 2
    assert gsm7.count("ł" * 134).segments == 2
    assert gsm7.count("ł" * 135).segments == 3
    # An emoji outside the BMP is a surrogate pair: 2 units, never split across segments.
    assert gsm7.count("😀").units == 2
    encoding, segments = gsm7.split_segments("ł" * 66 + "😀" + "ł" * 3)
    assert encoding == "UCS-2" and [len(s.encode("utf-16-be")) // 2 for s in segments] == [66, 5]


def test_gsm7_segments_are_153_and_never_split_an_escape() -> None:
    assert gsm7.count("a" * 160).segments == 1
    assert gsm7.count("a" * 161).segments == 2
    assert gsm7.count("a" * 306).segments == 2
    assert gsm7.count("a" * 307).segments == 3
    encoding, segments = gsm7.split_segments("a" * 152 + "€" + "b" * 10)
    assert encoding == "GSM-7"
    assert segments[0] == "a" * 152 and segments[1].startswith("€")


@given(st.text(alphabet=gsm7.GSM7_BASIC.replace("\x1b", "") + "".join(gsm7.EXTENSION), max_size=400))
def test_gsm7_round_trip_and_segments_fit(text: str) -> None:
    assert gsm7.decode_gsm7(gsm7.encode_gsm7(text)) == text
    _encoding, segments = gsm7.split_segments(text)
    assert "".join(segments) == text
    limit = 160 if len(segments) == 1 else 153
    assert all(len(gsm7.encode_gsm7(s)) <= limit for s in segments)


def test_normalisation_keeps_babel_amounts_and_typography_in_gsm7() -> None:
    raw = "Rappel\u00a0: 1\u202f234,50\u00a0€ – «\u2009payez\u2009» aujourd’hui…"
    assert gsm7.count(raw).encoding == "UCS-2"
    clean = normalise_text(raw)
    assert clean == "Rappel : 1 234,50 € - \" payez \" aujourd'hui..."
    assert gsm7.count(clean).encoding == "GSM-7"
    # Accent folding only touches letters GSM-7 lacks; ł has no decomposition and stays.
    assert normalise_text("Fête à Noël, garçon, Łódź", fold_accents=True) == "Fete à Noel, garcon, Łodz"


@pytest.mark.parametrize("locale", ["nl_BE", "fr_BE", "de_BE", "en_GB"])
@pytest.mark.parametrize("kind", ["reminder_sms", "final_notice", "pay_link", "thank_you"])
def test_every_template_is_one_gsm7_segment_for_a_typical_claim(locale: str, kind: str) -> None:
    """A Babel amount, a date and a 33-character pay link: one segment, no UCS-2 surprise."""
    sms = build_sms(sms_data(locale=locale, kind=kind), SETTINGS)
    assert sms.encoding == "GSM-7", sms.text
    assert (sms.segments, sms.variant) == (1, "full"), sms.text
    assert "\u00a0" not in sms.text and "\u202f" not in sms.text
    assert sms.to == "+32471123456" and sms.country == "BE"
    if kind != "thank_you":
        assert "https://pay.sw.example/p/8fK2xQ7a" in sms.text
    if kind in ("reminder_sms", "final_notice"):
        without = build_sms(sms_data(locale=locale, kind=kind, pay_link=None), SETTINGS)
        assert "https://" not in without.text and "None" not in without.text
        assert without.text.rstrip().endswith((".", "SMS.", "message.", "ignorieren."))


def test_too_long_falls_back_to_the_short_variant_then_errors(tmp_path: Path) -> None:
    one_segment = replace(SETTINGS, max_segments=1)
    long_link = "https://pay.sw.example/p/" + "x" * 60
    sms = build_sms(sms_data(pay_link=long_link), one_segment)
    assert sms.variant == "short" and sms.segments == 1
    with pytest.raises(MessageTooLong, match=r"S000001: SMS is longer than 1 segment\(s\).*short"):
        build_sms(sms_data(pay_link="https://pay.sw.example/p/" + "x" * 160), one_segment)

    # A template with a character outside GSM-7 says which one forced UCS-2.
    (tmp_path / "sms" / "en").mkdir(parents=True)
    (tmp_path / "sms" / "en" / "reminder_sms.txt.j2").write_text("Zapłać {{ pay_link }} " + "x" * 60)
    with pytest.raises(MessageTooLong, match="UCS-2 because of 'ł'"):
        build_sms(sms_data(locale="en_GB"), one_segment, templates_dir=tmp_path)


def test_phone_numbers_to_e164_and_landlines_refused() -> None:
    assert normalise_phone("0471 12 34 56", "BE") == ("+32471123456", "BE")
    assert normalise_phone("06-12345678", "NL") == ("+31612345678", "NL")
    assert normalise_phone("+49 151 12345678", "BE") == ("+4915112345678", "DE")
    with pytest.raises(InvalidPhoneNumber, match="not a mobile"):
        normalise_phone("030 1234567", "DE")
    with pytest.raises(InvalidPhoneNumber, match="cannot be read"):
        normalise_phone("call me", "BE")
    with pytest.raises(InvalidPhoneNumber, match="not a valid number"):
        normalise_phone("0471 12", "BE")


def test_batch_reports_bad_numbers_and_goes_on() -> None:
    built, problems = build_sms_batch(
        [sms_data("S1"), sms_data("S2", phone="02 123 45 67"), sms_data("S3", phone="+31 6 12345678")], SETTINGS)
    assert [s.action_id for s in built] == ["S1", "S3"]
    assert [p.action_id for p in problems] == ["S2"]
    assert "S2" in str(problems[0]) and "02 123" not in str(problems[0])
    assert built[0].client_ref == build_sms(sms_data("S1"), SETTINGS).client_ref


def test_sender_id_is_checked() -> None:
    with pytest.raises(ConfigError, match=r"sms\.sender"):
        SmsSettings("Stadtwerke Köln GmbH")


def test_quiet_hours_per_country() -> None:
    # Sunday 23:40 in Brussels: next Monday 08:00.
    sunday_night = datetime(2026, 11, 22, 23, 40, tzinfo=BRUSSELS)
    assert next_allowed_send(sunday_night, "BE") == datetime(2026, 11, 23, 8, 0, tzinfo=BRUSSELS)
    # Tuesday 10:00 is fine as it is.
    tuesday = datetime(2026, 11, 24, 10, 0, tzinfo=BRUSSELS)
    assert next_allowed_send(tuesday, "BE") == tuesday
    # Netherlands allows until 21:00; Belgium stops at 20:00.
    evening = datetime(2026, 11, 24, 20, 30, tzinfo=BRUSSELS)
    assert next_allowed_send(evening, "NL") == evening
    assert next_allowed_send(evening, "BE") == datetime(2026, 11, 25, 8, 0, tzinfo=BRUSSELS)
    # The time zone of the recipient counts: 08:30 in Brussels is 07:30 in London.
    morning = datetime(2026, 11, 24, 8, 30, tzinfo=BRUSSELS)
    assert next_allowed_send(morning, "GB") == datetime(2026, 11, 24, 9, 0, tzinfo=BRUSSELS)
    # The answer keeps the caller's time zone, and DST is respected (29 March 2026: clocks forward).
    utc = datetime(2026, 3, 29, 5, 0, tzinfo=ZoneInfo("UTC"))
    assert next_allowed_send(utc, "BE") == datetime(2026, 3, 30, 6, 0, tzinfo=ZoneInfo("UTC"))


def test_quiet_hours_with_holidays_and_custom_windows() -> None:
    christmas = QuietHours("Europe/Brussels", (SendWindow(frozenset(range(5)), datetime(1, 1, 1, 9).time(),
                                                          datetime(1, 1, 1, 17).time()),),
                           holidays=frozenset({date(2026, 12, 25)}))
    eve = datetime(2026, 12, 24, 18, 0, tzinfo=BRUSSELS)
    assert next_allowed_send(eve, "BE", {"BE": christmas}) == datetime(2026, 12, 28, 9, 0, tzinfo=BRUSSELS)
    assert not is_allowed(eve, christmas)
    with pytest.raises(ConfigError, match="start must be before"):
        SendWindow(frozenset({0}), datetime(1, 1, 1, 18).time(), datetime(1, 1, 1, 8).time())
    with pytest.raises(ConfigError, match="timezone-aware"):
        next_allowed_send(datetime(2026, 1, 1, 12), "BE")


def test_module_examples() -> None:
    """The examples in the docstrings of the channel modules are true."""
    import doctest

    from dunning.channels import bounces, quiet_hours, sms, tokens

    for module in (gsm7, quiet_hours, sms, bounces, tokens):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__
