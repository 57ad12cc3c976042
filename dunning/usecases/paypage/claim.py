"""What the pay page shows behind a link: the claim as the case's messages state it, and how to pay it.

* **The link** is the signed token the letters, emails and SMS carry (:mod:`dunning.domain.paylink`):
  a forged or garbled one is :class:`~dunning.domain.paylink.InvalidToken`, one past its day
  :class:`~dunning.domain.paylink.ExpiredToken`, one of a case whose links were revoked
  :class:`~dunning.domain.paylink.RevokedToken`; a genuine token naming no case is refused as invalid.
* **The claim** is built by the letters' own function (:func:`dunning.usecases.letters.data.letter_for_case`)
  for the day the message went out (the token's last day less ``paylink.valid_days``): the same open
  invoices, costs and interest, the same total and deadline, never summed again here. Payments booked
  since then lower it as they would lower the next letter; a case with nothing left to pay is shown paid.
* **Personal data**: the page shows the invoices, amounts and the creditor's payment details; not the
  debtor's name or address (the letter's envelope did that), so a forwarded link shows no more than
  the numbers.
* **Kept, never stale**: a page built is kept in the reader (per process, the most recent
  :data:`KEPT_PAGES` links) with the case's stamp (:func:`dunning.store.claim_stamp.load_claim_stamp`:
  every column of the case, its debtor, invoices, actions, allocations and events, and its revocation).
  Each request reads the stamp first, in one query, in the transaction that records the visit; the kept
  page is shown only when the stamp is the same, else it is built again. A payment, a new letter, a fee,
  a revocation or a ledger import changes the stamp, whoever wrote it (another process too).
* **Pay now**: the creditor's IBAN, the amount, the structured reference, and the EPC QR payload the
  letter prints (:func:`dunning.letters.model.letter_epc_payload`); for a Swiss creditor the QR-bill's
  payment part the letter prints instead (:func:`dunning.letters.qr.swiss_qr_bill_svg`, SVG), with the
  "payable by" box left blank (no debtor address on the page).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from threading import Lock

from schwifty import IBAN
from sqlalchemy import Connection

from dunning.domain import paylink
from dunning.domain.epc import EpcError
from dunning.domain.references import InvalidReference, parse_reference
from dunning.errors import NotFound
from dunning.letters import Charge, Invoice, LetterData, LetterKind
from dunning.letters.model import is_swiss, letter_epc_payload
from dunning.letters.qr import swiss_qr_bill_svg
from dunning.store import Store
from dunning.store.cases import load_case_header, load_letter_cases
from dunning.store.claim_stamp import load_claim_stamp
from dunning.store.page_flags import PageFlags
from dunning.store.payments import load_received
from dunning.store.prepared_pages import page_key
from dunning.store.visits import insert_visit
from dunning.usecases.letters.data import letter_for_case_in
from dunning.usecases.outgoing.legal import pack_for
from dunning.usecases.outgoing.secrets import Secrets, load_secrets
from dunning.usecases.paypage.charges import charge_lines
from dunning.workspace import Workspace

__all__ = ["KEPT_PAGES", "Opening", "PayPage", "PayPageReader", "record_visit"]

ZERO = Decimal("0.00")
#: how many built pages a reader keeps (the most recently shown links)
KEPT_PAGES = 20_000


@dataclass(frozen=True, slots=True)
class PayPage:
    """Everything the page shows of one case (no debtor name, no address)."""

    case_id: int
    language: str
    country: str
    currency: str
    sent_on: date
    expires: date
    invoices: tuple[Invoice, ...]
    charges: tuple[Charge, ...]
    received: Decimal
    total: Decimal
    deadline: date | None
    reference: str
    reference_compact: str
    creditor_name: str
    iban: str
    bic: str
    epc_payload: str | None
    #: the Swiss QR-bill (receipt and payment part) as SVG text, for a Swiss creditor with something to pay
    qrbill_svg: str | None = None
    #: the debtor's rule pack ("BE-consumer"), naming a charge without a rule of its own in another language
    pack: str = ""

    def charge_lines(self, language: str) -> list[str]:
        """The charges as the letter states them (label, rate, base, period, legal basis) in ``language``."""
        return charge_lines(self.charges, language, self.country, self.currency, self.pack)

    @property
    def paid(self) -> bool:
        """Nothing left to pay (paid by bank transfer, or settled in the creditor's ledger)."""
        return self.total <= 0


@dataclass(frozen=True, slots=True)
class Opening:
    """One opening of a link: the page's claim, or the prepared page that matches it, and what both came from."""

    case_id: int
    #: the claim (None when ``html`` is served instead)
    page: PayPage | None
    #: the case's page flags when the stamp's query read them (PostgreSQL), else None
    flags: PageFlags | None
    #: the case's claim stamp read now
    stamp: str
    #: the prepared page of this link for today, when it was made from exactly what is read now
    html: bytes | None = None


class PayPageReader:
    """Reads pay pages of one workspace; the pay-link secret is read once, when the server starts."""

    def __init__(self, store: Store, workspace: Workspace, secrets: Secrets | None = None) -> None:
        self.store = store
        self.workspace = workspace
        self.secrets = secrets if secrets is not None else load_secrets(workspace)
        self._kept: OrderedDict[tuple[int, date], tuple[str, PayPage]] = OrderedDict()
        self._lock = Lock()

    def case_of(self, token: str, today: date) -> paylink.TokenClaims:
        """The claims of a genuine, unexpired token; raises InvalidToken or ExpiredToken."""
        return paylink.read_token(token, self.secrets.paylink, today)

    def page(self, token: str, today: date, visit: tuple[str, datetime] | None = None) -> PayPage:
        """The page behind ``token`` on ``today``; Invalid/Expired/RevokedToken, or NotFound for a case gone.

        ``visit`` (medium, moment): record an opening of the page, in the transaction that reads the
        case's stamp. A revoked case (:mod:`dunning.usecases.paypage.revoke`) is refused before
        anything else is read of it, and its opening is not recorded.
        """
        with self.store.begin() as conn:
            return self.page_in(conn, token, today, visit)

    def page_in(self, conn: Connection, token: str, today: date, visit: tuple[str, datetime] | None = None) -> PayPage:
        """:meth:`page` in the caller's transaction ``conn``."""
        opening = self.open_in(conn, token, today, visit)
        assert opening.page is not None  # no prepared page was asked for
        return opening.page

    def open_in(
        self,
        conn: Connection,
        token: str,
        today: date,
        visit: tuple[str, datetime] | None = None,
        fingerprint: str | None = None,
    ) -> Opening:
        """:meth:`page_in` with the case's page flags when the stamp's query read them too (PostgreSQL:
        :func:`~dunning.store.claim_stamp.load_claim_stamp`, else None); or, given ``fingerprint`` (the
        server's: see :mod:`dunning.store.prepared_pages`), the link's prepared page for ``today`` when it was
        made from exactly what is read now: then the claim is not built at all."""
        claims = self.case_of(token, today)
        if not claims.case_id.isdigit():
            raise paylink.InvalidToken("pay-link token names no case of this workspace")
        case_id = int(claims.case_id)
        key = (case_id, claims.expires)
        # one transaction: the stamp, the visit, and the claim when it has to be built again
        prepared_key = page_key(token) if fingerprint is not None else None
        # on PostgreSQL it records the visit and reads the prepared page too
        stamp = load_claim_stamp(conn, case_id, visit, prepared_key)
        if stamp is None:
            raise NotFound("the pay link's case is not in this workspace")
        if stamp.revoked:
            raise paylink.RevokedToken("the pay links of this case are revoked")
        if visit is not None and not stamp.visited:
            insert_visit(conn, case_id, visit[0], visit[1])
        if fingerprint is not None and stamp.prepared is not None and stamp.prepared.matches(
            today, stamp.stamp, fingerprint
        ):
            return Opening(case_id, None, stamp.flags, stamp.stamp, stamp.prepared.html)
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None and kept[0] == stamp.stamp:
                self._kept.move_to_end(key)
                return Opening(case_id, kept[1], stamp.flags, stamp.stamp)
        # built from what is read now (on or after the stamp): if it changed meanwhile, the next
        # request's stamp differs from the one kept here and the page is built again
        page = self._build(conn, case_id, claims.expires)
        with self._lock:
            self._kept[key] = (stamp.stamp, page)
            self._kept.move_to_end(key)
            while len(self._kept) > KEPT_PAGES:
                self._kept.popitem(last=False)
        return Opening(case_id, page, stamp.flags, stamp.stamp)

    def _build(self, conn: Connection, case_id: int, expires: date) -> PayPage:
        sent_on = expires - timedelta(days=self.workspace.config.paylink.valid_days)
        header = load_case_header(conn, case_id)
        if header is None:
            raise NotFound("the pay link's case is not in this workspace")
        received = load_received(conn, [case_id]).get(case_id, ZERO)
        # A reminder's total (open invoices plus costs, the last letter's legal mentions), whatever kind
        # the last message was: a plan's instalments will get a page of their own.
        letter = letter_for_case_in(
            conn,
            self.workspace,
            case_id,
            sent_on,
            LetterKind.SECOND_REMINDER,
            env=_secret_env(self.secrets),
            header=header,
        )
        total = letter.total if header.status != "closed" else min(letter.total, ZERO)
        country = (header.country or self.workspace.config.creditor.address.country).upper()
        # a charge whose rule names no pack (":figure" or none) is named by the debtor's pack, as the letter does
        pack = self._pack(conn, case_id, country) if any(not c.rule.partition(":")[0] for c in letter.charges) else ""
        return PayPage(
            case_id=case_id,
            language=letter.language,
            country=country,
            currency=letter.currency,
            sent_on=sent_on,
            expires=expires,
            invoices=letter.invoices,
            charges=letter.charges,
            received=received,
            total=total,
            deadline=letter.legal.deadline,
            reference=_printed(letter.reference),
            reference_compact=letter.reference.replace(" ", ""),
            creditor_name=letter.creditor.name,
            iban=str(IBAN(letter.creditor.iban).formatted),
            bic=letter.creditor.bic,
            epc_payload=_epc(letter, total),
            qrbill_svg=_qrbill(letter, total),
            pack=pack,
        )

    def _pack(self, conn: Connection, case_id: int, country: str) -> str:
        """The debtor's rule pack, read only for a page with a charge that has no rule of its own."""
        debtor_type = next((c.debtor_type for c in load_letter_cases(conn, [case_id])), None)
        return pack_for(None, country, (debtor_type or "person") == "person").code


def _secret_env(secrets: Secrets) -> dict[str, str]:
    """letter_for_case reads the secret again to print its link; hand it the one already read."""
    return {"DUNNING_PAYLINK_SECRET": secrets.paylink.decode("utf-8")}


def _printed(reference: str) -> str:
    try:
        return parse_reference(reference).printed
    except InvalidReference:
        return reference


def _epc(letter: LetterData, total: Decimal) -> str | None:
    if total <= 0 or letter.currency != "EUR" or is_swiss(letter.creditor):
        return None
    try:
        return letter_epc_payload(letter, total)
    except EpcError:
        return None


def _qrbill(letter: LetterData, total: Decimal) -> str | None:
    if total <= 0 or not is_swiss(letter.creditor) or letter.currency not in ("CHF", "EUR"):
        return None
    try:
        return swiss_qr_bill_svg(
            letter.creditor, total, letter.currency, letter.reference.replace(" ", ""), letter.language
        )
    except ValueError:  # qrbill refuses what a bill cannot carry (a reference that does not fit the IBAN)
        return None


def record_visit(store: Store, case_id: int, medium: str, at: datetime) -> None:
    """Record an opening of the pay page of ``case_id`` (``medium``: see :data:`dunning.domain.paylink.MEDIUMS`)."""
    with store.begin() as conn:
        insert_visit(conn, case_id, medium, at)
