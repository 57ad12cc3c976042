"""make_qr gives exactly segno's symbol (matrix, version, error level, mask), without segno's mask loop."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
import segno
from hypothesis import given, settings
from hypothesis import strategies as st

from dunning.domain.epc import EpcPayment, epc_payload
from dunning.letters import qrmask
from dunning.letters.qrmask import make_qr

# Level M byte-mode capacity per version (ISO/IEC 18004 Table 7): a payload of exactly that length fills it.
BYTE_CAPACITY_M = {
    1: 14,
    2: 26,
    3: 42,
    4: 62,
    5: 84,
    6: 106,
    7: 122,
    8: 152,
    9: 180,
    10: 213,
    11: 251,
    12: 287,
    13: 331,
}

EPC_LINES = [
    [
        "BCD",
        "002",
        "1",
        "SCT",
        "GKCCBEBB",
        "Atelier Nord BV",
        "BE68539007547034",
        "EUR123.45",
        "",
        "+++123/4567/89002+++",
        "",
    ],
    [
        "BCD",
        "002",
        "1",
        "SCT",
        "COBADEFFXXX",
        "Müller & Söhne Großhandel GmbH",
        "DE89370400440532013000",
        "EUR1234.56",
        "",
        "RF18539007547034",
        "",
    ],
    [
        "BCD",
        "002",
        "1",
        "SCT",
        "",
        "Brasserie Été SARL",
        "FR1420041010050500013M02606",
        "EUR9.99",
        "GDSV",
        "",
        "Facture 2026-0412 / client 884213, merci !",
    ],
]

# Strings where segno's N3 search order matters (a match 4 or 6 modules after a counted one is skipped):
# counting every 1011101 match independently picks a different mask for these.
N3_ORDER_CASES = [
    "10111110100010100101011101110000101",
    "01001001010111100111011011011111101110",
    "0101001101110111010110110000010110111101",
    "\\#H[k<~E=d]gT)5b*s>-P#^DNdNL.5\r.%-\x0cM\x0b\t|h",
]


def segno_reference(data: str) -> segno.QRCode:
    return segno.make(data, error="m", boost_error=False, encoding="utf-8", micro=False)


def assert_same(data: str) -> segno.QRCode:
    expected = segno_reference(data)
    got = make_qr(data)
    assert got.version == expected.version
    assert got.error == expected.error
    assert got.mask == expected.mask
    assert got.matrix == expected.matrix
    assert got == expected
    return got


@pytest.mark.parametrize("lines", EPC_LINES, ids=["ogm", "rf", "text"])
def test_epc_payload_lines(lines: list[str]) -> None:
    assert_same("\n".join(lines))


@pytest.mark.parametrize("reference", ["+++123/4567/89002+++", "RF18 5390 0754 7034", ""])
def test_epc_payload_from_domain(reference: str) -> None:
    payment = EpcPayment(
        name="Atelier Nord BV",
        iban="BE68 5390 0754 7034",
        amount=Decimal("149.90"),
        bic="GKCCBEBB",
        reference=reference,
    )
    assert_same(epc_payload(payment))


@pytest.mark.parametrize("version", sorted(BYTE_CAPACITY_M))
def test_versions_1_to_13(version: int) -> None:
    rng = random.Random(version)
    data = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ,.-/äöü") for _ in range(BYTE_CAPACITY_M[version]))
    data = data.encode()[: BYTE_CAPACITY_M[version]].decode(errors="ignore")  # umlauts are 2 bytes
    assert int(assert_same(data).version) == version


def test_every_mask_is_reached() -> None:
    rng = random.Random(7)
    masks = set()
    for _ in range(120):
        data = "".join(rng.choice("abcdefghijXYZ0123€") for _ in range(rng.randint(1, 90)))
        masks.add(assert_same(data).mask)
    assert masks == set(range(8))


@pytest.mark.parametrize("data", N3_ORDER_CASES)
def test_n3_search_order(data: str) -> None:
    assert_same(data)


@pytest.mark.parametrize("data", ["", "0", "HELLO WORLD", "1" * 40])
def test_other_modes(data: str) -> None:
    assert_same(data)


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=300), st.text(max_size=75))
)
def test_random_text(data: str) -> None:
    assert_same(data)


def test_fast_path_skips_segnos_mask_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    data = "\n".join(EPC_LINES[1])
    expected = segno_reference(data)
    assert qrmask._fast_path_works()
    original = segno.encoder.find_and_apply_best_mask

    def no_evaluation(matrix, width, height, proposed_mask=None):  # type: ignore[no-untyped-def]
        if proposed_mask is None:
            raise AssertionError("segno evaluated the masks itself")
        return original(matrix, width, height, proposed_mask)

    monkeypatch.setattr(segno.encoder, "find_and_apply_best_mask", no_evaluation)
    got = make_qr(data)
    assert (got.matrix, got.mask, got.version) == (expected.matrix, expected.mask, expected.version)
    with pytest.raises(AssertionError, match="evaluated"):
        segno_reference(data)


def test_falls_back_to_segno_when_internals_do_not_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qrmask, "_fast_path_works", lambda: False)
    monkeypatch.setattr(qrmask, "_fast", None)  # would raise if used
    data = "\n".join(EPC_LINES[0])
    assert make_qr(data) == segno_reference(data)


def test_self_check_fails_on_changed_internals(monkeypatch: pytest.MonkeyPatch) -> None:
    qrmask._fast_path_works.cache_clear()
    monkeypatch.delattr(qrmask.encoder, "get_data_mask_functions")
    qrmask._constants.cache_clear()
    try:
        assert not qrmask._fast_path_works()
    finally:
        monkeypatch.undo()
        qrmask._fast_path_works.cache_clear()
        qrmask._constants.cache_clear()
    assert qrmask._fast_path_works()
