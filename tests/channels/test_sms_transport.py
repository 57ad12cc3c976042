"""SMS transports: a real SMPP server (smpp34), a local HTTP gateway, and the JSON-lines outbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import smpp34

from dunning.adapters.sms import (
    FileSmsTransport,
    HttpSmsGateway,
    SmppTransport,
    open_sms_transport,
    parse_receipt_text,
    read_callback_file,
)
from dunning.channels import gsm7
from dunning.channels.sms import SmsMessage, SmsSettings, build_sms
from dunning.errors import ConfigError
from dunning.ports import DeliveryStatus
from tests.channels.channel_helpers import sms_data
from tests.channels.conftest import HttpGateway, SmppServer

SETTINGS = SmsSettings("Stadtwerke", max_segments=3)


def _sms(action_id: str, phone: str = "0471 12 34 56", **changes: object) -> SmsMessage:
    return build_sms(sms_data(action_id, phone=phone, **changes), SETTINGS)  # type: ignore[arg-type]


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


# -- SMPP ----------------------------------------------------------------------------------------
def test_smpp_submits_and_delivery_receipts_map_back(smpp_server: SmppServer) -> None:
    smpp_server.undeliverable.add("32471000002")
    long_link = "https://pay.sw.example/p/" + "x" * 40
    messages = [_sms("S1", pay_link=long_link), _sms("S2", phone="0471 00 00 02", pay_link=long_link)]
    transport = open_sms_transport(f"smpp://dunning:pw@127.0.0.1:{smpp_server.port}", env={})
    assert isinstance(transport, SmppTransport)
    try:
        results = transport.send_batch(messages)
        reports = transport.collect_reports(wait=5, expected=4)
    finally:
        transport.close()

    assert [r.status for r in results] == [DeliveryStatus.SENT, DeliveryStatus.SENT]
    assert smpp_server.binds == ["dunning"]
    # With a 65-character link the Dutch reminder takes two GSM-7 segments, each with a
    # concatenation header (UDH) of 6 octets.
    assert messages[0].segments == 2 and len(results[0].provider_ids) == 2
    parts = [p for p in smpp_server.submitted if p.destination_addr == "32471123456"]
    assert [p.source_addr for p in parts] == ["Stadtwerke"] * 2
    assert [(p.data_coding, p.registered_delivery, p.esm_class & 0x40) for p in parts] == [(0, 1, 0x40)] * 2
    assert b"".join(p.short_message[6:] for p in parts) == gsm7.encode_gsm7(messages[0].text)
    assert gsm7.decode_gsm7(b"".join(p.short_message[6:] for p in parts)) == messages[0].text
    # One receipt per segment; every one maps back to its SMS through the provider id.
    assert len(reports) == 4
    assert {r.provider_id for r in reports} == set(results[0].provider_ids + results[1].provider_ids)
    states = {(r.client_ref, r.state) for r in reports}
    assert states == {(messages[0].client_ref, "delivered"), (messages[1].client_ref, "failed")}
    assert all(r.permanent_failure for r in reports if r.client_ref == messages[1].client_ref)


def test_smpp_long_ucs2_text_goes_as_concatenated_segments(smpp_server: SmppServer, tmp_path: Path) -> None:
    (tmp_path / "sms" / "en").mkdir(parents=True)
    (tmp_path / "sms" / "en" / "reminder_sms.txt.j2").write_text(
        "{{ brand_name }}: zapłać {{ total_due | money(locale) }} " + "proszę " * 8 + "{{ pay_link }}")
    sms = build_sms(sms_data("S9", locale="en_GB"), SETTINGS, templates_dir=tmp_path)
    assert sms.encoding == "UCS-2" and sms.segments == 2
    transport = SmppTransport("127.0.0.1", smpp_server.port, "dunning", "pw")
    try:
        results = transport.send_batch([sms])
        reports = transport.collect_reports(wait=5, expected=2)
    finally:
        transport.close()
    assert results[0].ok and len(results[0].provider_ids) == 2
    parts = smpp_server.submitted
    assert [p.data_coding for p in parts] == [8, 8] and all(p.esm_class & 0x40 for p in parts)
    headers = [p.short_message[:6] for p in parts]
    assert headers[0][:5] == headers[1][:5] and [h[4] for h in headers] == [2, 2] and [h[5] for h in headers] == [1, 2]
    assert "".join(p.short_message[6:].decode("utf-16-be") for p in parts) == sms.text
    assert {r.client_ref for r in reports} == {sms.client_ref}


def test_smpp_invalid_number_is_permanent_and_throttling_is_retried(smpp_server: SmppServer) -> None:
    smpp_server.reject["32471000009"] = smpp34.ESME_RINVDSTADR
    smpp_server.throttle_times["32471000003"] = 1
    sleeps = Sleeps()
    transport = SmppTransport("127.0.0.1", smpp_server.port, "dunning", "pw", sleep=sleeps, backoff=0.25)
    try:
        results = transport.send_batch([_sms("S1", phone="0471 00 00 09"), _sms("S2", phone="0471 00 00 03"),
                                        _sms("S3")])
    finally:
        transport.close()
    assert [r.status for r in results] == [DeliveryStatus.PERMANENT_FAILURE, DeliveryStatus.SENT,
                                           DeliveryStatus.SENT]
    assert results[0].code == smpp34.ESME_RINVDSTADR and "0x0000000B" in results[0].detail
    assert results[1].attempts == 2 and sleeps == [0.25]


def test_smpp_server_down_marks_the_batch_transient() -> None:
    from tests.channels.conftest import free_port

    transport = SmppTransport("127.0.0.1", free_port(), "dunning", "pw", timeout=2)
    results = transport.send_batch([_sms("S1"), _sms("S2")])
    assert [r.status for r in results] == [DeliveryStatus.TRANSIENT_FAILURE] * 2
    assert "cannot connect" in results[0].detail


def test_receipt_text_parsing() -> None:
    assert parse_receipt_text("id:abc123 sub:001 dlvrd:001 submit date:2611240900 done date:2611240901 "
                              "stat:DELIVRD err:000 text:Hello") == ("abc123", "delivered", None)
    assert parse_receipt_text("id:7 sub:001 dlvrd:000 stat:EXPIRED err:027") == ("7", "expired", "027")
    assert parse_receipt_text("just an MO message") is None


# -- HTTP gateway --------------------------------------------------------------------------------
def test_http_gateway_send_poll_and_failures(http_gateway: HttpGateway) -> None:
    state = http_gateway.state
    state.invalid_numbers.add("+32471000400")
    state.busy_times["+32471000503"] = 2
    state.undeliverable.add("+32471000404")
    sleeps = Sleeps()
    transport = open_sms_transport(http_gateway.base_url, env={"DUNNING_SMS_TOKEN": "gw-token"}, sleep=sleeps)
    assert isinstance(transport, HttpSmsGateway)
    messages = [_sms("S1"), _sms("S2", phone="0471 00 04 00"), _sms("S3", phone="0471 00 05 03"),
                _sms("S4", phone="0471 00 04 04")]
    results = transport.send_batch(messages)

    assert [r.status for r in results] == [DeliveryStatus.SENT, DeliveryStatus.PERMANENT_FAILURE,
                                           DeliveryStatus.SENT, DeliveryStatus.SENT]
    assert results[1].code == 400 and "invalid destination number" in results[1].detail
    assert results[2].attempts == 3 and len(sleeps) == 2
    posted = state.posts[0]
    assert posted == {"to": "+32471123456", "from": "Stadtwerke", "text": messages[0].text,
                      "client_ref": messages[0].client_ref, "_idempotency_key": messages[0].client_ref}

    reports = transport.poll_reports([r.provider_ids[0] for r in results if r.ok])
    states = {r.client_ref: r.state for r in reports}
    assert states == {messages[0].client_ref: "delivered", messages[2].client_ref: "delivered",
                      messages[3].client_ref: "failed"}


def test_http_gateway_503_that_persists_is_transient(http_gateway: HttpGateway) -> None:
    http_gateway.state.busy_times["+32471000503"] = 99
    transport = HttpSmsGateway(http_gateway.base_url, token="gw-token", max_attempts=2, sleep=Sleeps())
    results = transport.send_batch([_sms("S1", phone="0471 00 05 03"), _sms("S2")])
    assert results[0].status is DeliveryStatus.TRANSIENT_FAILURE and results[0].code == 503
    assert results[1].ok


def test_http_gateway_wrong_token_stops_the_batch(http_gateway: HttpGateway) -> None:
    transport = HttpSmsGateway(http_gateway.base_url, token="wrong", sleep=Sleeps())
    results = transport.send_batch([_sms("S1"), _sms("S2")])
    assert [r.status for r in results] == [DeliveryStatus.TRANSIENT_FAILURE] * 2
    assert "401" in results[0].detail and len(http_gateway.state.posts) == 0


def test_callback_file_reports(tmp_path: Path) -> None:
    path = tmp_path / "dlr.jsonl"
    path.write_text('{"id": "gw-1", "status": "delivered", "client_ref": "S1-abc"}\n'
                    "not json\n"
                    '{"id": "gw-2", "status": "undeliverable", "client_ref": "S2-def", "error": "absent"}\n')
    reports, problems = read_callback_file(path)
    assert [(r.provider_id, r.state, r.client_ref) for r in reports] == [
        ("gw-1", "delivered", "S1-abc"), ("gw-2", "failed", "S2-def")]
    assert len(problems) == 1 and "dlr.jsonl:2" in problems[0]


# -- file outbox and URLs --------------------------------------------------------------------------
def test_file_outbox_writes_each_sms_once(tmp_path: Path) -> None:
    transport = open_sms_transport("file://out/sms", env={}, base_dir=tmp_path)
    assert isinstance(transport, FileSmsTransport)
    messages = [_sms("S1"), _sms("S2", locale="fr_BE")]
    transport.send_batch(messages)
    again = transport.send_batch(messages)
    lines = [json.loads(line) for line in (tmp_path / "out" / "sms" / "outbox.jsonl").read_text().splitlines()]
    assert [line["action_id"] for line in lines] == ["S1", "S2"]
    assert lines[1]["text"] == messages[1].text
    assert "reste à payer" in lines[1]["text"] and lines[1]["to"] == "+32471123456"
    assert all("already" in r.detail for r in again)


def test_sms_urls() -> None:
    transport = open_sms_transport("smpp://dunning@smsc.example:2775", env={"DUNNING_SMPP_PASSWORD": "x"})
    assert isinstance(transport, SmppTransport) and transport.port == 2775
    with pytest.raises(ConfigError, match="DUNNING_SMPP_PASSWORD"):
        open_sms_transport("smpp://dunning@smsc.example", env={})
    with pytest.raises(ConfigError, match="scheme"):
        open_sms_transport("sms://x", env={})
