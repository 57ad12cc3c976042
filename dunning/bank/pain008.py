"""Writing a SEPA Core direct debit file (pain.008) with ``sepaxml``, checked against the ISO XSD.

``sepaxml`` builds the document (one ``PmtInf`` per sequence type and collection date, the control
sums and counts); two things it draws from the clock and chance are set here instead, so the same
collections give the same bytes: the message id and creation time (``GrpHdr/MsgId``, ``CreDtTm``) and
each ``PmtInfId`` (``<MsgId>-<n>``). The result is validated with lxml against the XSD ``sepaxml``
ships for the version (pain.008.001.02 needs BICs; .001.08, the EPC's current one, does not); a file
that fails is never written (:class:`Pain008Invalid`, naming the schema's complaints).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib import resources

from lxml import etree
from sepaxml import SepaDD

__all__ = ["DebitLine", "Pain008Creditor", "Pain008Invalid", "build_pain008", "schema_path", "validate_pain008"]


class Pain008Invalid(ValueError):
    """A built pain.008 file does not validate against its XSD (a bug or an unusable value)."""


@dataclass(frozen=True, slots=True)
class Pain008Creditor:
    name: str
    iban: str
    creditor_id: str
    bic: str | None = None


@dataclass(frozen=True, slots=True)
class DebitLine:
    """One collection: what ``sepaxml`` needs of an instalment and its mandate."""

    end_to_end_id: str
    amount: Decimal
    currency: str
    sequence: str  # FRST | RCUR
    collection_date: date
    mandate_reference: str
    signed_on: date
    debtor_name: str
    debtor_iban: str
    remittance: str
    debtor_bic: str | None = None


def schema_path(version: str) -> str:
    """The XSD ``sepaxml`` ships for ``version`` (``pain.008.001.08``)."""
    return str(resources.files("sepaxml").joinpath("schemas", f"{version}.xsd"))


@cache
def _schema(version: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(schema_path(version)))


def validate_pain008(xml: bytes, version: str) -> None:
    """Raise :class:`Pain008Invalid` unless ``xml`` is valid against the ``version`` XSD."""
    schema = _schema(version)
    if not schema.validate(etree.fromstring(xml)):
        raise Pain008Invalid("; ".join(f"line {e.line}: {e.message}" for e in schema.error_log))


def _cents(amount: Decimal) -> int:
    value = amount * 100
    if value != value.to_integral_value():
        raise Pain008Invalid(f"{amount} is not a whole number of cents")
    return int(value)


def build_pain008(
    creditor: Pain008Creditor,
    lines: Sequence[DebitLine],
    *,
    message_id: str,
    created_at: datetime,
    version: str = "pain.008.001.08",
) -> bytes:
    """The pain.008 document collecting ``lines`` (validated; see the module docstring)."""
    if not lines:
        raise Pain008Invalid("a collection file needs at least one collection")
    config: dict[str, object] = {
        "name": creditor.name,
        "IBAN": creditor.iban,
        "batch": True,
        "creditor_id": creditor.creditor_id,
        "currency": lines[0].currency,
    }
    if creditor.bic:
        config["BIC"] = creditor.bic
    document = SepaDD(config, schema=version, clean=True)
    document.msg_id = message_id
    for line in lines:
        payment: dict[str, object] = {
            "name": line.debtor_name,
            "IBAN": line.debtor_iban,
            "amount": _cents(line.amount),
            "currency": line.currency,
            "type": line.sequence,
            "collection_date": line.collection_date,
            "mandate_id": line.mandate_reference,
            "mandate_date": line.signed_on,
            "description": line.remittance,
            "endtoend_id": line.end_to_end_id,
        }
        if line.debtor_bic:
            payment["BIC"] = line.debtor_bic
        document.add_payment(payment)
    header = document._xml.find("CstmrDrctDbtInitn/GrpHdr")
    assert header is not None  # built by sepaxml's constructor
    header_fields = {child.tag: child for child in header}
    header_fields["MsgId"].text = message_id
    header_fields["CreDtTm"].text = created_at.strftime("%Y-%m-%dT%H:%M:%S")
    raw: bytes = document.export(validate=False)
    tree = etree.fromstring(raw)
    for number, node in enumerate(tree.iterfind(".//{*}PmtInfId"), start=1):
        node.text = f"{message_id}-{number}"[:35]
    xml: bytes = etree.tostring(tree, encoding="UTF-8", xml_declaration=True)
    validate_pain008(xml, version)
    return xml
