"""verify_signature as a receiver calls it: whatever arrives, only SignatureError; never an empty secret."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dunning.channels.webhook import SignatureError, signature_header, verify_signature

BODY = b'{"id":"dn_1","type":"notify_creditor"}'
NOW = 1_795_999_260
GOOD = signature_header("s3cret", 1_795_999_200, BODY)


def test_a_good_signature_is_accepted() -> None:
    assert verify_signature(GOOD, BODY, "s3cret", now=NOW) == 1_795_999_200


@pytest.mark.parametrize(
    "header",
    [
        "t=1795999200,v1=é" + "0" * 63,  # non-ASCII v1: was TypeError from hmac.compare_digest
        "t=1795999200,v1=ünïcödé",
        "t=1795999200,v1=" + "A" * 64,  # upper-case hex is not what we send
        "t=١٧٩٥٩٩٩٢٠٠,v1=" + "0" * 64,  # Arabic-Indic digits: int() reads them, we do not
        "t=1_795_999_200,v1=" + "0" * 64,
        "t=" + "9" * 5000 + ",v1=" + "0" * 64,  # beyond int()'s digit limit: was ValueError inside
        "t=1795999200",
        "v1=" + "0" * 64,
        "garbage",
        ",,,",
        "",
    ],
)
def test_a_bad_header_raises_only_signature_error(header: str) -> None:
    with pytest.raises(SignatureError):
        verify_signature(header, BODY, "s3cret", now=NOW)


def test_a_header_in_bytes_is_read_and_a_non_ascii_one_refused() -> None:
    assert verify_signature(GOOD.encode(), BODY, "s3cret", now=NOW) == 1_795_999_200
    with pytest.raises(SignatureError, match="not ASCII"):
        verify_signature("t=1795999200,v1=é".encode(), BODY, "s3cret", now=NOW)


def test_an_empty_secret_is_refused_even_with_a_signature_made_with_it() -> None:
    forged = signature_header("", 1_795_999_200, BODY)
    with pytest.raises(SignatureError, match="empty secret"):
        verify_signature(forged, BODY, "", now=NOW)


def test_a_body_given_as_text_is_refused_with_a_signature_error() -> None:
    with pytest.raises(SignatureError, match="raw bytes"):
        verify_signature(GOOD, BODY.decode(), "s3cret", now=NOW)  # type: ignore[arg-type]


@settings(max_examples=500, deadline=None)
@given(header=st.text(max_size=300), body=st.binary(max_size=200))
def test_any_header_gives_a_verdict_or_signature_error(header: str, body: bytes) -> None:
    with contextlib.suppress(SignatureError):
        verify_signature(header, body, "s3cret", now=NOW)
