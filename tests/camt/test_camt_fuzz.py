"""Property: whatever is done to a real camt file, ``camt`` reads it or refuses it with a CamtError.

Never another exception (``KeyError: 'Amt'``, ``decimal.InvalidOperation``, ``TypeError``), never a
hang (each reading has a hard time limit), memory bounded (the process's peak RSS stays within a
limit over the whole run). The mutations are in :mod:`tests.camt.fuzz_mutations`; the run is seeded
(``derandomize``) so CI sees the same examples every time. For a longer run:
``CAMT_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest tests/camt/test_camt_fuzz.py -q``.
"""

from __future__ import annotations

import io
import resource
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import pytest
from hypothesis import HealthCheck, given, settings

import camt
from camt import CamtError
from tests.camt.camt_helpers import camt053
from tests.camt.fuzz_mutations import EXAMPLES, mutated_files

TIME_LIMIT = 10.0  # seconds per file: the corpus files read in milliseconds; a hang is caught here
MEMORY_LIMIT_MB = 600  # the whole test process's peak RSS growth


class Hang(Exception):
    pass


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def _alarm(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_or_refuse(name: str, data: bytes) -> str:
    """'read' or 'refused'; any other exception fails the property."""
    stream = io.BytesIO(data)
    stream.name = name  # type: ignore[attr-defined]
    try:
        with time_limit(TIME_LIMIT):
            result = camt.read(stream)
            result.to_json()  # every record turned into JSON: nothing half-read hides in it
            for statement in result.statements:
                for problem in statement.problems:
                    assert problem.message and str(problem)
    except CamtError as exc:
        assert name in str(exc), f"the refusal does not name the file: {exc}"
        return "refused"
    return "read"


@pytest.fixture(scope="module")
def peak_before() -> Iterator[float]:
    before = _peak_mb()
    yield before
    grown = _peak_mb() - before
    assert grown < MEMORY_LIMIT_MB, f"peak memory grew by {grown:.0f} MB over the fuzz run"


@pytest.mark.requires_corpus
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(mutated_files())
def test_a_mutated_corpus_file_is_read_or_refused_with_a_camt_error(
    peak_before: float, named: tuple[str, bytes]
) -> None:
    name, data = named
    assert read_or_refuse(name, data) in ("read", "refused")


@pytest.mark.parametrize(
    ("amount", "reason"),
    [("9" * 30, "more than 18 digits"), ("1" * 19, "more than 18 digits"), ("12.5.0", "unreadable amount")],
)
def test_an_amount_past_the_xsd_limit_skips_its_entry_with_line_element_and_value(amount: str, reason: str) -> None:
    xml = camt053(
        f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
        "<BookgDt><Dt>2026-11-20</Dt></BookgDt><BkTxCd/></Ntry>"
    )
    (statement,) = camt.read(io.BytesIO(xml.encode())).statements
    (problem,) = statement.problems
    assert problem.entry_skipped and reason in problem.message
    assert problem.path is not None and problem.path.endswith("Ntry/Amt") and problem.line is not None
    assert problem.value is not None and problem.value.startswith(amount[:10])
    assert statement.entries == () and statement.balance_check.status == "unverifiable"


def test_a_charges_record_without_an_amount_skips_its_entry_not_the_reader() -> None:
    xml = camt053(
        '<Ntry><Amt Ccy="EUR">10.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
        "<BookgDt><Dt>2026-11-20</Dt></BookgDt><BkTxCd/>"
        "<Chrgs><Rcrd><CdtDbtInd>DBIT</CdtDbtInd></Rcrd></Chrgs></Ntry>"
    )
    (statement,) = camt.read(io.BytesIO(xml.encode())).statements
    (problem,) = statement.problems
    assert problem.entry_skipped and "charges record without an amount" in problem.message
    assert problem.path is not None and problem.path.endswith("Ntry/Chrgs/Rcrd")
