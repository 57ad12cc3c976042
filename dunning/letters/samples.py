"""Sample letters for previews, tests and benchmarks (fictitious creditors and debtors).

Every figure a sample prints is computed by the debtor's rule pack, as a real letter's would be: the
deadline (:meth:`~dunning.domain.legal.base.LegalPack.payment_deadline`), the Book XIX damages cap or
the WIK amount of a first reminder, and a later reminder's costs and interest (the pack's fee
allowance; interest at the pack's dated rate from the day after the due date to the letter date),
each charge named by the pack in the letter's language with its legal basis. A preview never shows a
figure the law forbids (no €40 flat fee or 12.5 % interest for a German consumer).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from dunning.domain.legal import FeeContext, LegalPack, select_pack
from dunning.domain.legal.texts import charge_text
from dunning.domain.planning.actions import Channel
from dunning.domain.planning.interest import accrue
from dunning.domain.plans.references import instalment_reference
from dunning.domain.references import ogm_from_case, parse_reference, rf_from_case
from dunning.letters.model import (
    Charge,
    ChargeKind,
    Creditor,
    Debtor,
    Instalment,
    Invoice,
    LegalMentions,
    LetterData,
    LetterKind,
    PlanNotice,
    PostalAddress,
    StatementEntry,
)

__all__ = ["SAMPLE_DATE", "sample_letter", "swiss_sample_letter"]

SAMPLE_DATE = date(2026, 11, 24)

BELGIAN_CREDITOR = Creditor(
    name="Atelier Nord BV",
    enterprise_number="BE 0403.170.701",
    address=PostalAddress("Korenmarkt", "9000", "Gent", "BE", house_number="12"),
    iban="BE68 5390 0754 7034",
    bic="GKCCBEBB",
    email="facturen@ateliernord.be",
    phone="+32 9 123 45 67",
    website="www.ateliernord.be",
)
DUTCH_CREDITOR = Creditor(
    name="Noordlicht Energie B.V.",
    enterprise_number="KvK 12345678",
    address=PostalAddress("Stationsplein", "3511 ED", "Utrecht", "NL", house_number="5"),
    iban="NL91 ABNA 0417 1643 00",
    bic="ABNANL2A",
    email="debiteuren@noordlicht.nl",
    phone="+31 30 123 4567",
    website="www.noordlicht.nl",
)
GERMAN_CREDITOR = Creditor(
    name="Stadtwerke Mühlental GmbH",
    enterprise_number="HRB 12345, Amtsgericht Köln",
    address=PostalAddress("Hauptstraße", "50667", "Köln", "DE", house_number="7"),
    iban="DE89 3704 0044 0532 0130 00",
    bic="COBADEFFXXX",
    email="forderungen@stadtwerke-muehlental.de",
    phone="+49 221 123456",
    website="www.stadtwerke-muehlental.de",
    vat_number="DE123456789",
)
SWISS_CREDITOR = Creditor(
    name="Bergbahnen Alpstein AG",
    enterprise_number="CHE-123.456.789",
    address=PostalAddress("Bahnhofstrasse", "9000", "St. Gallen", "CH", house_number="1"),
    iban="CH44 3199 9123 0008 8901 2",  # a QR-IBAN (IID 31999): takes a QR reference
    email="debitoren@alpstein.ch",
    phone="+41 71 123 45 67",
)

_DEBTORS = {
    "nl": Debtor("Jan Peeters", ("Veldstraat 45 bus 2", "9000 Gent"), "BE", "nl", "K-10442"),
    "fr": Debtor("Sophie Dubois", ("Rue de la Loi 16", "1000 Bruxelles"), "BE", "fr", "K-20981"),
    "de": Debtor("Erika Mustermann", ("Lindenweg 3", "53111 Bonn"), "DE", "de", "4711-0815"),
    "en": Debtor("Oliver Smith", ("Kerkstraat 8", "2000 Antwerpen"), "BE", "en", "K-33017"),
}


def _creditor_for(language: str, country: str) -> Creditor:
    if country == "NL":
        return DUTCH_CREDITOR
    if language == "de":
        return GERMAN_CREDITOR
    return BELGIAN_CREDITOR


def sample_letter(
    kind: LetterKind | str,
    language: str,
    brand: str = "default",
    *,
    letter_id: str = "SAMPLE-1",
    case_number: int = 2026000123,
    invoices: int = 2,
    dutch: bool = False,
    pay_link: str = "https://pay.example.com/p/QzIwMjYwMDAxMjN-MjAyNzAxMzEFx9b3e6z_Rk2pL0sWq1Yt",
) -> LetterData:
    """A complete letter of ``kind`` in ``language``; ``dutch=True`` gives a Dutch creditor and debtor (WIK)."""
    kind = LetterKind(kind)
    debtor = _DEBTORS[language]
    if dutch:
        debtor = Debtor("Fam. de Vries", ("Oudegracht 210", "3511 NR  UTRECHT"), "NL", language, "NL-5521")
    creditor = _creditor_for(language, debtor.country)
    belgian = creditor is BELGIAN_CREDITOR
    reference = ogm_from_case(case_number) if belgian else rf_from_case(f"C{case_number}")
    rule_pack = {"BE": "BE", "NL": "NL", "DE": "DE"}.get(debtor.country, "")
    lines = tuple(
        Invoice(
            number=f"2026-{4100 + i:05d}",
            issued=SAMPLE_DATE - timedelta(days=75 - 7 * i),
            due=SAMPLE_DATE - timedelta(days=45 - 7 * i),
            open_amount=Decimal("129.95") + Decimal(37) * i,
            description=("Onderhoud" if language == "nl" else "") if i == 0 else "",
        )
        for i in range(invoices)
    )
    owed = sum((inv.open_amount for inv in lines), Decimal(0))
    pack = select_pack(debtor.country, "consumer")  # the sample debtors are persons
    first = kind is LetterKind.FIRST_REMINDER
    charges: tuple[Charge, ...] = ()
    if kind in (LetterKind.SECOND_REMINDER, LetterKind.FINAL_NOTICE):
        charges = _charges(pack, lines, language)
    figures = {f.name: f.amount for f in pack.notice_figures(owed, len(lines))}
    terms = pack.interest_terms()
    rate = terms.table.rate_on(SAMPLE_DATE) + terms.spread if terms is not None else None
    deadline = pack.payment_deadline(SAMPLE_DATE, Channel.LETTER, legal_notice=first)
    legal = LegalMentions(
        rule_pack=rule_pack,
        deadline=deadline.day,
        period_start=deadline.starts,
        # what the first reminder announces (a Dutch letter states the WIK amount on every reminder)
        damages_if_unpaid=(figures.get("penalty_clause_amount") if first else None)
        or figures.get("collection_costs_amount"),
        interest_rate_if_unpaid=rate if rule_pack == "BE" else None,
    )
    total = owed + sum((c.amount for c in charges), Decimal(0))
    extra: dict[str, object] = {}
    if kind is LetterKind.PAYMENT_PLAN:
        thirds = (total / 3).quantize(Decimal("0.01"))
        extra["instalments"] = tuple(
            Instalment(SAMPLE_DATE + timedelta(days=30 * (i + 1)), thirds if i < 2 else total - 2 * thirds)
            for i in range(3)
        )
    if kind is LetterKind.PLAN_INSTALMENT:  # instalment 2 of 3, with its own reference
        thirds = (total / 3).quantize(Decimal("0.01"))
        case_reference = ogm_from_case(case_number % 10**8) if belgian else reference
        reference = parse_reference(instalment_reference(case_reference.compact, 2))
        extra["plan_notice"] = PlanNotice("plan_reminder", 2, SAMPLE_DATE + timedelta(days=17), total - thirds)
        total = thirds
    if kind is LetterKind.PAYMENT_CONFIRMATION:
        extra["amount_received"] = total
        extra["received_on"] = SAMPLE_DATE - timedelta(days=2)
        total = Decimal("0.00")
    if kind is LetterKind.ACCOUNT_STATEMENT:
        entries = [StatementEntry(inv.issued, f"{inv.number}", inv.open_amount + Decimal(50), inv.number)
                   for inv in lines]
        entries.append(StatementEntry(SAMPLE_DATE - timedelta(days=20), "Betaling / Payment",
                                      Decimal(-50) * len(lines)))
        extra["statement"] = tuple(entries)
    return LetterData(
        letter_id=letter_id,
        kind=kind,
        letter_date=SAMPLE_DATE,
        creditor=creditor,
        debtor=debtor,
        case_number=f"C{case_number}",
        total=total,
        reference=reference.compact,
        invoices=lines,
        charges=charges,
        legal=legal,
        pay_link=pay_link,
        brand=brand,
        contact_name="",
        **extra,  # type: ignore[arg-type]
    )


def _charges(pack: LegalPack, lines: tuple[Invoice, ...], language: str) -> tuple[Charge, ...]:
    """A later reminder's costs and interest as the pack computes them, named by the pack."""
    owed = sum((inv.open_amount for inv in lines), Decimal(0))
    fee = pack.fee_allowance(FeeContext(principal=owed, invoice_count=len(lines), fees_charged=Decimal(0),
                                        notices_sent=2))
    out: list[Charge] = []
    if fee.amount:
        text = charge_text("fee", pack.code, fee.name, language)
        out.append(Charge(ChargeKind.FEE, fee.amount, label=text[0] if text else "", basis=text[1] if text else ""))
    terms = pack.interest_terms()
    text = charge_text("interest", pack.code, None, language)
    for invoice in lines if terms is not None else ():
        assert terms is not None
        result = accrue(invoice.open_amount, invoice.due + timedelta(days=1), SAMPLE_DATE, terms.table,
                        spread=terms.spread)
        out.extend(
            Charge(ChargeKind.INTEREST, seg.amount, label=text[0] if text else "", basis=text[1] if text else "",
                   rate=seg.rate, period_start=seg.start, period_end=seg.end, base=invoice.open_amount)
            for seg in result.segments if seg.amount > 0
        )
    return tuple(out)


def swiss_sample_letter(language: str = "de", brand: str = "default", letter_id: str = "SAMPLE-CH") -> LetterData:
    """A first reminder from a Swiss creditor with a QR-IBAN and a QR reference (Swiss QR-bill)."""
    from stdnum.ch import esr

    body = "21000000000313947143000901"  # 26 digits; the 27th is the mod-10 recursive check digit
    reference = body + esr.calc_check_digit(body)
    invoice = Invoice("CH-2026-881", SAMPLE_DATE - timedelta(days=60), SAMPLE_DATE - timedelta(days=30),
                      Decimal("1949.75"))
    debtor = Debtor("Pia Rutschmann", ("Marktgasse 28", "9400 Rorschach"), "CH", language, "77-310")
    return LetterData(
        letter_id=letter_id,
        kind=LetterKind.FIRST_REMINDER,
        letter_date=SAMPLE_DATE,
        creditor=SWISS_CREDITOR,
        debtor=debtor,
        case_number="CH-77310",
        total=invoice.open_amount,
        reference=reference,
        currency="CHF",
        invoices=(invoice,),
        legal=LegalMentions(rule_pack="", deadline=SAMPLE_DATE + timedelta(days=20)),
        brand=brand,
        locale="de_CH" if language == "de" else "",
    )
