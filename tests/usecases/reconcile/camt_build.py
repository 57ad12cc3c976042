"""Build schema-valid camt.052 / camt.053 / camt.054 (version .001.08) files with lxml, for the tests.

xml = build_camt("054", [Payment("100.00", ref="+++000/0000/10101+++")], day=date(2026, 11, 20))
assert_valid(xml, "054")
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path

from lxml import etree

from camt.build import Payment
from camt.build import build_camt as _build
from tests.conftest import CAMT_CORPUS as CORPUS
from tests.conftest import corpus_dir

__all__ = ["ACCOUNT", "CORPUS", "Payment", "assert_valid", "build_camt", "write_camt"]

ACCOUNT = "BE68539007547034"


def build_camt(
    kind: str, payments: list[Payment], *, day: date, msg_id: str = "MSG-1", account: str = ACCOUNT
) -> bytes:
    """``camt.build.build_camt`` with the test workspace's account as the default."""
    return _build(kind, payments, day=day, msg_id=msg_id, account=account)


@cache
def _schema(kind: str) -> etree.XMLSchema:
    # The ISO schemas are part of the external corpus: without it, a test that checks its files skips.
    return etree.XMLSchema(etree.parse(str(corpus_dir() / "xsd" / f"camt.{kind}.001.08.xsd")))


def assert_valid(xml: bytes, kind: str) -> None:
    """Fail with the schema's messages unless ``xml`` is valid against the ISO XSD."""
    schema = _schema(kind)
    document = etree.fromstring(xml)
    if not schema.validate(document):
        raise AssertionError("\n".join(str(e) for e in schema.error_log))


def write_camt(
    folder: Path, name: str, kind: str, payments: list[Payment], *, day: date, msg_id: str = "MSG-1"
) -> Path:
    xml = build_camt(kind, payments, day=day, msg_id=msg_id)
    assert_valid(xml, kind)
    path = folder / name
    path.write_bytes(xml)
    return path
