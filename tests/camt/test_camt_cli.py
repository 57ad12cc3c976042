"""``python -m camt``: exit codes 0 / 1 / 2, the JSON shape, the human summary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.camt.camt_helpers import CORPUS, REPO, XSD_DIR


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "camt", *args], capture_output=True, text=True, cwd=REPO)


@pytest.mark.requires_corpus
def test_json_output() -> None:
    path = CORPUS / "viafintech/camt053_valid_example_v8.xml"
    done = run(str(path), "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["file"], data["message"]) == (str(path), "camt.053.001.08")
    (statement,) = data["statements"]
    assert statement["account"]["iban"] == "CH1111111111111111111"
    second = statement["entries"][1]
    assert (second["amount"], second["currency"], second["status"]) == ("88.85", "CHF", "BOOK")
    ref = second["transactions"][0]["reference"]
    assert (ref["kind"], ref["value"], ref["valid"]) == ("rf", "RF38000000000000000000552", True)


@pytest.mark.requires_corpus
def test_summary_with_validation() -> None:
    path = CORPUS / "moov/camt.053_P_CH2909000000250094239_1110092698_0_2020112503071366.xml"
    done = run(str(path), "--validate", "--xsd-dir", str(XSD_DIR))
    assert done.returncode == 0, done.stderr
    assert "camt.053.001.04, 1 statement(s)" in done.stdout
    assert "schema: valid" in done.stdout
    assert "balance mismatch (difference 1537.00)" in done.stdout


@pytest.mark.requires_corpus
def test_strict_refuses_a_schema_invalid_file() -> None:
    path = CORPUS / "viafintech/camt053_valid_example.xml"
    assert run(str(path), "--validate").returncode == 0
    done = run(str(path), "--strict", "--xsd-dir", str(XSD_DIR))
    assert done.returncode == 1
    assert done.stderr.startswith(f"refused: {path}: schema validation failed: L62:")


def test_refused_file_exits_1_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "not-camt.xml"
    bad.write_text("<html/>")
    done = run(str(bad), "--json")
    assert done.returncode == 1
    assert done.stdout == ""
    assert str(bad) in done.stderr


def test_usage_error_exits_2() -> None:
    assert run().returncode == 2
    assert run("--no-such-option", "x.xml").returncode == 2
