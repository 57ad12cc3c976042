"""Acceptance cases of research/camt.md section 6 that belong to the reader (AC-01 ... AC-20).

Corpus files are named as in the research notes; files that are not in the corpus
(Austrian namespace, wrong namespace, Strd next to Ustrd, ...) are synthetic, built here.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest

import camt
from tests.camt.camt_helpers import CORPUS, balance, camt053, entry


def read_text(xml: str, name: str = "synthetic.xml") -> camt.CamtFile:
    stream = io.BytesIO(xml.encode("utf-8"))
    stream.name = name
    return camt.read(stream)


def corpus(name: str) -> camt.CamtFile:
    return camt.read(CORPUS / name)


# AC-01 detect and route ---------------------------------------------------------------------------
@pytest.mark.requires_corpus
def test_an_apphdr_envelope_is_unwrapped() -> None:
    result = corpus("prowide/camt.053.001.07.xml")
    assert result.message == "camt.053.001.07"
    assert [s.id for s in result.statements] == ["SDFSDF"]
    assert result.statements[0].account.other_id == "2345234534"


@pytest.mark.requires_corpus
def test_no_namespace_is_read_with_a_warning() -> None:
    result = corpus("bankstatementparser/camt053_no_namespace.xml")
    assert result.message == "camt.053"
    assert result.warnings == ("no namespace: message type taken from <BkToCstmrStmt>",)
    assert len(result.entries()) == 1
    assert result.statements[0].balance_check.status == "ok"


def test_austrian_namespace_is_accepted_with_a_warning() -> None:
    ns = "ISO:camt.053.001.02:APC:STUZZA:payment:003"
    result = read_text(camt053(entry("10.00"), ns=ns))
    assert result.message == "camt.053.001.02"
    assert any("non-standard namespace" in w for w in result.warnings)
    assert result.entries()[0].amount == Decimal("10.00")


def test_wrong_namespace_is_refused_naming_file_and_value() -> None:
    xml = camt053(entry("10.00"), ns="urn:iso:std:iso:20022:tech:xsd:other.054.001.02")
    with pytest.raises(camt.NotCamtError) as caught:
        read_text(xml, "unpaid-invalid.xml")
    message = str(caught.value)
    assert message.startswith("unpaid-invalid.xml, line 2, Document/@xmlns: not a camt.052/053/054 message")
    assert "other.054.001.02" in message


def test_unknown_version_is_tried_with_a_warning() -> None:
    result = read_text(camt053(entry("1.00"), ns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.14"))
    assert result.message == "camt.053.001.14"
    assert any("unknown version camt.053.001.14" in w for w in result.warnings)
    assert len(result.entries()) == 1


@pytest.mark.parametrize(
    ("xml", "error", "fragment"),
    [
        ('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"/>', camt.NotCamtError, "pain.001"),
        ("<html><body>hello</body></html>", camt.NotCamtError, "root element is <html>"),
        ("<Document><Stmt>", camt.MalformedXmlError, "not well-formed"),
        ("this is not xml", camt.MalformedXmlError, "line 1"),
        ("", camt.MalformedXmlError, "not well-formed"),
    ],
)
def test_non_camt_input_is_refused_clearly(xml: str, error: type[camt.CamtError], fragment: str) -> None:
    with pytest.raises(error) as caught:
        read_text(xml, "bank/inbox/file.xml")
    assert str(caught.value).startswith("bank/inbox/file.xml")
    assert fragment in str(caught.value)


def test_missing_file_is_a_camt_error() -> None:
    with pytest.raises(camt.CamtError, match=r"nope\.xml: cannot open the file"):
        camt.read("/nonexistent/nope.xml")


# AC-03 version differences ------------------------------------------------------------------------
@pytest.mark.requires_corpus
@pytest.mark.parametrize(
    "stem",
    [
        "dvbern/200519_camt.054_P_CH2909000000250094239_1111091335_0_2020061900081727",
        "dvbern/camt.054_P_CH2909000000250094239_1111111112_0_2022031011011199",
    ],
)
def test_v2009_and_v2019_give_the_same_entries(stem: str) -> None:
    old, new = corpus(stem + "_v2009.xml"), corpus(stem + "_v2019.xml")
    assert (old.message, new.message) == ("camt.054.001.04", "camt.054.001.08")

    def normalised(result: camt.CamtFile) -> list[dict[str, object]]:
        entries = [e.to_dict() for e in result.entries()]
        for e in entries:
            e.pop("line")
            for tx in e["transactions"]:  # type: ignore[attr-defined]
                tx.pop("uetr")  # only v2019 carries a UETR
        return entries

    assert normalised(old) == normalised(new)
    assert new.entries()[0].status == "BOOK"  # from <Sts><Cd>BOOK</Cd></Sts>
    if "1111091335" in stem:
        tx = new.entries()[0].transactions[0]
        assert tx.reference is not None and tx.reference.kind == "ch-qrr" and tx.reference.valid


# AC-04 several statements --------------------------------------------------------------------------
@pytest.mark.requires_corpus
def test_two_statements_keep_their_own_accounts() -> None:
    multi = corpus("genkgo/camt053.v2.multi.statement.xml")
    assert len(multi.statements) == 2
    assert all(s.balance_check.status == "ok" for s in multi.statements)
    lt = corpus("camt2coda/lt-dbbe-camt053-2024-03-14.xml")
    assert [s.account.other_id for s in lt.statements] == ["LT625883379695428516", "LT414319056143772570"]
    assert [s.account.iban for s in lt.statements] == [None, None]
    assert [len(s.entries) for s in lt.statements] == [14, 0]
    assert [b.amount for b in lt.statements[1].balances] == [Decimal("4801.55"), Decimal("4801.55")]


# AC-05 balance proof ------------------------------------------------------------------------------
@pytest.mark.requires_corpus
def test_postfinance_balance_with_reversals_adds_up() -> None:
    statement = corpus("dvbern/camt.053_P_CH0309000000250090342_380000000_0_2016053100163801.xml").statements[0]
    assert statement.balance_check.status == "ok"
    assert statement.balance_check.difference == 0
    assert sum(1 for e in statement.entries if e.reversal) == 2


@pytest.mark.requires_corpus
def test_postfinance_balance_gap_from_an_entry_value_dated_tomorrow_is_explained() -> None:
    name = "moov/camt.053_P_CH2909000000250094239_1110092698_0_2020112503071366.xml"
    check = corpus(name).statements[0].balance_check
    assert check.status == "mismatch"
    assert check.difference == Decimal("1537.00")
    assert check.explanation is not None and "value-dated after the closing date 2020-11-24" in check.explanation


@pytest.mark.requires_corpus
@pytest.mark.parametrize("name", ["moov/statement_1.xml", "viafintech/camt053_valid_example_with_datetime.xml"])
def test_without_opening_balance_the_balance_is_unverifiable(name: str) -> None:
    check = corpus(name).statements[0].balance_check
    assert check.status == "unverifiable"
    assert check.reason == "no opening (OPBD/PRCD) balance"


def test_balance_mismatch_reports_the_difference() -> None:
    xml = camt053(
        entry("50.00") + entry("5.25", "DBIT") + entry("7.00", status="PDNG"),
        balances=balance("OPBD", "100.00") + balance("CLBD", "155.00"),
    )
    check = read_text(xml).statements[0].balance_check
    assert check.status == "mismatch"
    assert (check.booked_credits, check.booked_debits) == (Decimal("50.00"), Decimal("5.25"))
    assert check.difference == Decimal("-10.25")  # 100 + 50 - 5.25 - 155; the PDNG entry does not count


def test_balance_proof_with_debit_balances() -> None:
    xml = camt053(entry("30.00"), balances=balance("PRCD", "20.00", "DBIT") + balance("CLBD", "10.00"))
    check = read_text(xml).statements[0].balance_check
    assert (check.status, check.opening, check.closing) == ("ok", Decimal("-20.00"), Decimal("10.00"))


# AC-06 decimal amounts ----------------------------------------------------------------------------
@pytest.mark.requires_corpus
def test_more_than_two_decimals_are_exact() -> None:
    result = corpus("genkgo/camt053.v2.five.decimals.xml")
    assert result.entries()[0].amount == Decimal("8.85")
    assert result.statements[0].balances[0].amount == Decimal("18.15")
    assert result.statements[0].balances[0].to_dict()["amount"] == "18.150"
    ron = corpus("genkgo/camt53.only-Dt-with-DtTm.xml").statements[0].balances[0]
    assert (ron.amount, ron.currency) == (Decimal("5442.09000"), "RON")


def test_three_decimal_amounts_sum_exactly() -> None:
    entries = "".join(entry(a) for a in ("0.001", "0.001", "0.001", "1000000000.0000001"))
    xml = camt053(entries, balances=balance("OPBD", "0.997") + balance("CLBD", "1000000001.0000001"))
    result = read_text(xml)
    assert result.statements[0].balance_check.status == "ok"  # float would lose the 0.0000001
    data = json.loads(result.to_json())
    assert [e["amount"] for e in data["statements"][0]["entries"]] == ["0.001", "0.001", "0.001", "1000000000.0000001"]


@pytest.mark.requires_corpus
def test_garbled_amount_is_a_located_problem_not_a_crash() -> None:
    statement = corpus("bankstatementparser/camt053_garbled_amount.xml").statements[0]
    assert statement.entries == ()
    assert statement.entry_count == 1
    (problem,) = statement.problems
    assert problem.line == 17
    assert problem.path == "Document/BkToCstmrStmt/Stmt/Ntry/Amt"
    assert problem.value == "12..34"
    assert "unreadable amount" in problem.message
    assert statement.balance_check.status == "unverifiable"


def test_one_bad_entry_does_not_stop_the_others() -> None:
    xml = camt053(entry("1.00") + entry("abc") + entry("2.00", "DBIT") + entry("3.00", "SIDEWAYS"))
    statement = read_text(xml).statements[0]
    assert [e.amount for e in statement.entries] == [Decimal("1.00"), Decimal("2.00")]
    assert [p.value for p in statement.problems] == ["abc", "SIDEWAYS"]
    assert statement.balance_check.reason == "no opening (OPBD/PRCD) balance"


# AC-07 / AC-08 batches ----------------------------------------------------------------------------
@pytest.mark.requires_corpus
def test_batch_entry_is_split_into_its_76_transactions() -> None:
    (only,) = corpus("camt2coda/lt-camt054-2024-03-12.xml").entries()
    assert len(only.transactions) == 76
    amounts = [(t.amount or Decimal(0), t.credit_debit) for t in only.transactions]
    signed = sum((a if cd == "CRDT" else -a for a, cd in amounts), Decimal(0))
    assert signed == only.amount == Decimal("217402.31")
    assert "batch_inconsistent" not in only.flags
    assert len(corpus("dvbern/camt.054-ES_P_CH0309000000250090342_38000000_0_2016052723011813.xml")
               .entries()[0].transactions) == 8  # fmt: skip


@pytest.mark.requires_corpus
def test_inconsistent_batch_is_flagged_not_fixed() -> None:
    (e,) = corpus("genkgo/camt054.v4.xml").entries()
    assert "batch_inconsistent" in e.flags
    assert [t.amount for t in e.transactions] == [Decimal("3.1"), Decimal("3.2"), Decimal("3.2")]
    assert e.amount == Decimal("200000")


@pytest.mark.requires_corpus
def test_summary_only_batch_awaits_details() -> None:
    entries = corpus("camt2coda/lt-dbbe-camt053-2024-03-14.xml").entries()
    big = next(e for e in entries if e.batch_count == 82)
    assert "awaiting_details" in big.flags
    assert [t.amount for t in big.transactions] == [Decimal("916497.65")]


# AC-09 / AC-10 amounts and FX ---------------------------------------------------------------------
@pytest.mark.requires_corpus
def test_v02_amount_comes_from_txamt_never_instdamt() -> None:
    result = corpus("moov/FI_camt_054_sample.xml.xml")
    fx = next(e for e in result.entries() if e.bank_reference == "091029NTFCTNXBCT010101")
    usd, jpy = fx.transactions
    assert (usd.amount, usd.currency, usd.amount_source) == (Decimal("500.00"), "EUR", "AmtDtls/TxAmt")
    assert (usd.instructed_amount, usd.instructed_currency) == (Decimal("750.00"), "USD")
    assert (usd.exchange_rate, usd.source_currency, usd.target_currency) == (Decimal("0.666667"), "USD", "EUR")
    assert (jpy.instructed_amount, jpy.instructed_currency) == (Decimal("79255.00"), "JPY")
    statement = corpus("moov/FI_camt_053_sample.xml.xml")
    sources = [t.amount_source for e in statement.entries() for t in e.transactions]
    assert sources.count("AmtDtls/TxAmt") == 11
    assert sources.count("Ntry/Amt") == 1  # a single TxDtls without amounts: the entry amount


@pytest.mark.requires_corpus
def test_fx_keeps_booked_and_instructed_amounts() -> None:
    entries = corpus("viafintech/camt053_valid_example_v8.xml").entries()
    eur = entries[2]
    assert (eur.amount, eur.currency) == (Decimal("20.97"), "EUR")
    (tx,) = eur.transactions
    assert (tx.instructed_amount, tx.instructed_currency, tx.exchange_rate) == (
        Decimal("19.69"),
        "CHF",
        Decimal("0.9433"),
    )
    iso = corpus("bankstatementparser/camt.053.001.02.xml").entries()[2]
    (fx,) = iso.transactions
    assert (iso.amount, iso.currency) == (Decimal("30000"), "SEK")
    assert (fx.counter_value_amount, fx.counter_value_currency, fx.exchange_rate) == (
        Decimal("3255"), "EUR", Decimal("0.1085"),
    )  # fmt: skip


# AC-11 / AC-13 charges and returns ----------------------------------------------------------------
@pytest.mark.requires_corpus
def test_all_charge_records_are_kept() -> None:
    (e,) = corpus("hbci4java/test-camt-ruecklastschrift.xml").entries()
    (tx,) = e.transactions
    assert [c.amount for c in tx.charges] == [Decimal("3.00"), Decimal("0.00")]
    postfinance = corpus("dvbern/camt.053_P_CH0309000000250090342_380000000_0_2016053100163801.xml").entries()
    first = next(e for e in postfinance if e.batch_count == 10)
    assert [(c.amount, c.credit_debit, c.included) for c in first.charges] == [
        (Decimal("5.40"), "DBIT", False), (Decimal("0.20"), "DBIT", False),
    ]  # fmt: skip


@pytest.mark.requires_corpus
def test_a_return_keeps_its_reason_instructed_amount_and_fee() -> None:
    (e,) = corpus("hbci4java/test-camt-ruecklastschrift.xml").entries()
    (tx,) = e.transactions
    assert (e.amount, e.credit_debit) == (Decimal("53.00"), "DBIT")
    assert tx.return_reason == "MS03"
    assert tx.instructed_amount == Decimal("50.00")
    assert e.bank_reference is None  # NONREF
    returns = corpus("moov/FI_camt_054_sample.xml.xml").entries()[-1]
    assert [t.return_reason for t in returns.transactions] == ["AC01", "CUST"]
    assert returns.transactions[0].return_info == ("1+TILIÄ EI LÖYDY",)
    moov = corpus("moov/200519_camt054-returns_p_ch2909000000250094239_1109800798_0_2019052023472022.xml")
    assert [t.return_reason for t in moov.entries()[0].transactions] == ["AC01"]


# AC-12 reversal -----------------------------------------------------------------------------------
@pytest.mark.requires_corpus
def test_reversal_keeps_its_own_direction() -> None:
    entries = corpus("dvbern/camt.053_P_CH0309000000250090342_380000000_0_2016053100163801.xml").entries()
    reversals = [e for e in entries if e.reversal]
    assert [(e.amount, e.credit_debit) for e in reversals] == [(Decimal("6.00"), "DBIT"), (Decimal("15.53"), "DBIT")]
    assert all(e.signed_amount < 0 for e in reversals)


# AC-14 status --------------------------------------------------------------------------------------
@pytest.mark.requires_corpus
def test_statuses_book_pdng_and_info_are_read() -> None:
    dvbern = corpus("dvbern/camt_054_Beispiel_NoCrdtBookedNotReversed.xml").entries()
    assert [e.status for e in dvbern] == ["BOOK", "PDNG", "BOOK"]
    assert [e.booked for e in dvbern] == [True, False, True]
    assert corpus("moov/FI_camt_054_sample.xml.xml").entries()[-1].status == "INFO"
    assert [e.status for e in corpus("moov/FI_camt_052_sample.xml.xml").entries()] == ["PDNG", "BOOK"]


@pytest.mark.requires_corpus
def test_missing_status_in_camt053_counts_as_booked_with_a_warning() -> None:
    statement = corpus("camt2coda/lt-dbbe-camt053-2024-03-14.xml").statements[0]
    assert all(e.status == "BOOK" and "status_missing" in e.flags for e in statement.entries)
    assert any("entry without Sts, counted as BOOK" in w for w in statement.warnings)
    assert statement.balance_check.status == "ok"


def test_missing_status_in_camt054_stays_unknown() -> None:
    xml = camt053(entry("1.00").replace("<Sts><Cd>BOOK</Cd></Sts>", ""))
    xml = xml.replace("camt.053.001.08", "camt.054.001.08").replace("BkToCstmrStmt", "BkToCstmrDbtCdtNtfctn")
    xml = xml.replace("<Stmt>", "<Ntfctn>").replace("</Stmt>", "</Ntfctn>")
    result = read_text(xml)
    assert result.statements[0].header.kind == "Ntfctn"
    (e,) = result.entries()
    assert (e.status, e.booked, e.flags) == (None, False, ("status_missing",))


# AC-15 dates ---------------------------------------------------------------------------------------
@pytest.mark.requires_corpus
def test_booking_date_given_as_datetime_is_read() -> None:
    e = corpus("bankstatementparser/camt.053.001.02.xml").entries()[0]
    assert e.booking_date is not None and e.booking_date.isoformat() == "2010-10-18"
    assert e.booking_datetime is not None and e.booking_datetime.isoformat() == "2010-10-18T13:15:00+01:00"


@pytest.mark.requires_corpus
def test_malformed_datetime_is_tolerated_with_a_warning() -> None:
    result = corpus("viafintech/camt052_valid_example_with_dates.xml")
    assert result.info.created is not None and result.info.created.date().isoformat() == "2019-08-09"
    assert any("non-standard date-time '2019-08-09T11:17:11:735'" in w for w in result.warnings)


def test_unreadable_date_is_a_problem() -> None:
    xml = camt053(entry("1.00").replace("<BookgDt><Dt>2026-11-20</Dt>", "<BookgDt><Dt>20.11.2026</Dt>"))
    statement = read_text(xml).statements[0]
    assert statement.entries == ()
    assert statement.problems[0].value == "20.11.2026"
    assert statement.problems[0].path is not None and statement.problems[0].path.endswith("Ntry/BookgDt/Dt")


# AC-16 / AC-17 / AC-18 references ----------------------------------------------------------------
def _tx_with(rmt: str, refs: str = "") -> str:
    return entry("12.50", details=f"<NtryDtls><TxDtls><Refs>{refs}</Refs><RmtInf>{rmt}</RmtInf></TxDtls></NtryDtls>")


def test_structured_and_unstructured_remittance_are_both_kept() -> None:
    rmt = (
        "<Ustrd>?REJECT?0</Ustrd><Ustrd>second line</Ustrd>"
        "<Strd><CdtrRefInf><Tp><CdOrPrtry><Prtry>ISR Reference</Prtry></CdOrPrtry></Tp>"
        "<Ref>210000000003139471430009017</Ref></CdtrRefInf><AddtlRmtInf>?REJECT?0</AddtlRmtInf></Strd>"
    )
    (tx,) = read_text(camt053(_tx_with(rmt))).entries()[0].transactions
    assert tx.remittance_lines == ("?REJECT?0", "second line")
    assert tx.remittance == "?REJECT?0 second line"
    assert tx.additional_remittance == ("?REJECT?0",)
    assert tx.reference is not None
    assert (tx.reference.kind, tx.reference.valid, tx.reference.proprietary) == ("ch-qrr", True, "ISR Reference")
    assert tx.amount == Decimal("12.50") and tx.amount_source == "Ntry/Amt"


def test_belgian_ogm_is_typed_and_checked() -> None:
    rmt = (
        "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>BBA</Issr></Tp>"
        "<Ref>090933755493</Ref></CdtrRefInf></Strd>"
    )
    (tx,) = read_text(camt053(_tx_with(rmt))).entries()[0].transactions
    assert tx.reference is not None and (tx.reference.kind, tx.reference.valid) == ("be-ogm", True)
    (text_only,) = read_text(camt053(_tx_with("<Ustrd>Factuur +++090/9337/55493+++</Ustrd>"))).entries()[0].transactions
    assert text_only.reference is None
    assert [(r.kind, r.value) for r in text_only.text_references] == [("be-ogm", "090933755493")]


@pytest.mark.requires_corpus
def test_invalid_check_digits_in_the_corpus_are_marked_invalid() -> None:
    bba = corpus("genkgo/camt053.v2.minimal.xml").entries()[0].transactions[0].reference
    assert bba is not None and (bba.kind, bba.value, bba.valid) == ("be-ogm", "4654654654654654", False)
    fi = corpus("moov/FI_camt_053_sample.xml.xml")
    rf = [t.reference for e in fi.entries() for t in e.transactions if t.reference and t.reference.kind == "rf"]
    assert {(r.value, r.valid) for r in rf} == {("RF98123456789012", False)}
    qrr = corpus("viafintech/camt053_valid_example_v8.xml").entries()[2].transactions[0].reference
    assert qrr is not None and (qrr.kind, qrr.valid) == ("ch-qrr", False)
    esr = corpus("moov/200519_camt054-ESR-ASR_P_CH2909000000250094239_1110092704_0_2019042500372179.xml")
    checks = [t.reference.valid for e in esr.entries() for t in e.transactions if t.reference]
    assert checks.count(False) == 1 and checks.count(True) == 5


@pytest.mark.requires_corpus
def test_notprovided_in_upper_or_lower_case_is_absent() -> None:
    refs = "<InstrId>notprovided</InstrId><EndToEndId>NOTPROVIDED</EndToEndId><TxId>NotProvided</TxId>"
    (tx,) = read_text(camt053(_tx_with("<Ustrd>x</Ustrd>", refs))).entries()[0].transactions
    assert (tx.instruction_id, tx.end_to_end_id, tx.transaction_id) == (None, None, None)
    statement_1 = corpus("moov/statement_1.xml")
    assert all(t.end_to_end_id is None for e in statement_1.entries() for t in e.transactions)


# AC-20 non-ASCII names, parties --------------------------------------------------------------------
@pytest.mark.requires_corpus
def test_non_ascii_names_and_parties_are_kept() -> None:
    result = corpus("moov/statement_1.xml")
    remittances = [t.remittance for e in result.entries() for t in e.transactions]
    assert (
        "Mokestis už į kliento sąskaitą pervestų lėšų, gautų iš kitų bankų, įskaitymą 2015.04.01, 2015.04.30 dienoje"
        in remittances
    )
    assert "sąskaitą" in result.to_json()
    tx = corpus("hbci4java/test-camt-ruecklastschrift.xml").entries()[0].transactions[0]
    assert (tx.debtor.name, tx.debtor.iban, tx.debtor.bic) == ("Sven Schuldner", "DES1234567890", "TESTS1234")
    assert tx.ultimate_creditor.name == "Erwin Einzieher"
    assert tx.counterparty == tx.creditor  # a debit: the other side is the creditor
    v8 = corpus("viafintech/camt053_valid_example_v8.xml").entries()[0].transactions[0]
    assert v8.debtor.name == "Jon Doe"  # v08: Dbtr/Pty/Nm
