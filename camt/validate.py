"""Optional validation of a camt file against the official ISO 20022 XSD of its version.

The XSD directory is ``xsd_dir`` if given, else ``$CAMT_XSD_DIR``, else the
project's shared corpus (``$DUNNING_SHARED_DIR/corpus/xsd`` or
``../shared/corpus/xsd`` beside the repository). Files are expected as
``camt.053.001.02.xsd`` and so on.

Files up to 64 MB are loaded and validated as a tree, so errors carry line
numbers; a larger plain ``Document`` is validated while streaming (constant
memory, but libxml2 reports no line then). A Document wrapped in an envelope
(AppHdr) is always validated as a subtree. Real bank files are often schema-invalid (placeholders, wrong
element order): the reader still reads them, validation only *reports*,
unless the caller asks for strict mode.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from camt.reader import HEAD_SIZE, Reader, Source, open_source

_CAMT_NAME = re.compile(r"camt\.05[234]\.001\.\d{2}")
_TREE_LIMIT = 64 * 1024 * 1024  # larger files are validated streaming (no line numbers in the errors)
_SAFE = {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": False}


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """``valid`` is None when no schema applies (no namespace, unknown version, no XSD found)."""

    file: str
    schema: str | None
    valid: bool | None
    errors: tuple[str, ...]


def default_xsd_dir() -> Path | None:
    candidates = []
    if os.environ.get("CAMT_XSD_DIR"):
        candidates.append(Path(os.environ["CAMT_XSD_DIR"]))
    if os.environ.get("DUNNING_SHARED_DIR"):
        candidates.append(Path(os.environ["DUNNING_SHARED_DIR"]) / "corpus" / "xsd")
    candidates.append(Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus" / "xsd")
    return next((c for c in candidates if c.is_dir()), None)


@functools.lru_cache(maxsize=16)
def _schema(path: str) -> Any:
    return etree.XMLSchema(etree.parse(path, etree.XMLParser(**_SAFE)))


def _document_namespace(stream: Any) -> tuple[str | None, bool]:
    """(namespace of the Document element, whether Document is the root)."""
    for _event, element in etree.iterparse(stream, events=("start",), tag="{*}Document", **_SAFE):
        return etree.QName(element).namespace, element.getparent() is None
    return None, True


def validate_file(source: Source, xsd_dir: str | Path | None = None) -> ValidationResult:
    """Validate ``source`` against its XSD; the first error names the line, like ``L16: Element ...``."""
    stream, name, owned = open_source(source)
    try:
        if not stream.seekable():
            return ValidationResult(name, None, None, ("stream is not seekable: not validated",))
        start = stream.tell()
        Reader(stream, name).refuse_unsafe_prolog(stream.read(HEAD_SIZE))  # same refusal as reading
        stream.seek(start)
        try:
            namespace, is_root = _document_namespace(stream)
        except etree.XMLSyntaxError as exc:
            return ValidationResult(name, None, False, (f"L{exc.lineno}: not well-formed: {exc.msg}",))
        match = _CAMT_NAME.search(namespace or "")
        if match is None:
            return ValidationResult(name, None, None, ("no camt namespace: no schema applies",))
        directory = Path(xsd_dir) if xsd_dir is not None else default_xsd_dir()
        xsd = directory / f"{match.group(0)}.xsd" if directory is not None else None
        if xsd is None or not xsd.is_file():
            return ValidationResult(name, match.group(0), None, (f"no XSD for {match.group(0)} in {directory}",))
        schema = _schema(str(xsd))
        size = stream.seek(0, os.SEEK_END) - start
        stream.seek(start)
        if is_root and size > _TREE_LIMIT:
            return _validate_streaming(stream, name, xsd.name, schema)
        tree = etree.parse(stream, etree.XMLParser(**_SAFE))
        root = tree.getroot()
        document = root if etree.QName(root).localname == "Document" else root.find(".//{*}Document")
        ok = schema.validate(document)
        errors = tuple(f"L{e.line}: {_short(e.message)}" for e in schema.error_log)
        return ValidationResult(name, xsd.name, bool(ok), errors)
    finally:
        if owned:
            stream.close()


def _validate_streaming(stream: Any, name: str, xsd_name: str, schema: Any) -> ValidationResult:
    try:
        for _event, element in etree.iterparse(stream, events=("end",), tag="{*}Ntry", schema=schema, **_SAFE):
            element.clear()
            parent = element.getparent()
            while element.getprevious() is not None:
                del parent[0]
    except etree.XMLSyntaxError as exc:
        return ValidationResult(name, xsd_name, False, (f"L?: {_short(str(exc.msg))}",))
    return ValidationResult(name, xsd_name, True, ())


def _short(message: str) -> str:
    """Drop the long ISO namespace from schema messages: ``{urn:iso:...:camt.053.001.02}Ntry`` -> ``Ntry``."""
    return re.sub(r"\{urn:iso:std:iso:20022:tech:xsd:[^}]*\}", "", message)
