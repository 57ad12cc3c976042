"""Shared fixtures: the state store on SQLite and on a real PostgreSQL server; the external camt corpus.

PostgreSQL comes from ``DUNNING_TEST_DATABASE_URL`` (``setup.sh test`` starts the
local server and sets it); without it the local default below is used. A test
that asks for ``store_url`` runs once per backend; the PostgreSQL run gets a
database of its own, dropped afterwards. PostgreSQL tests never skip: a missing
server is a failure.

The camt corpus and the ISO 20022 schemas are not part of the repository (they come from other
projects, see tests/README.md); they are read in place from ``$DUNNING_SHARED_DIR/corpus``, by
default ``../shared/corpus`` beside the clone. A test that needs them is marked
``@pytest.mark.requires_corpus`` (or calls :func:`corpus_dir`, as the camt builders do): on a
fresh clone without the corpus it skips, all such tests under one summary line; with
``DUNNING_REQUIRE_CORPUS=1`` (set by ``.ci/run``) it fails instead, so CI never skips them.

Golden files (expected outputs kept in the repository) are compared through the ``goldens`` fixture:
a test never rewrites one unless pytest runs with ``--update-goldens``; a mismatch fails with a
unified diff that names the file and says how to regenerate it on purpose.
"""

from __future__ import annotations

import difflib
import operator
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from dunning.store import Store, open_store

# rich fixes a console's width when COLUMNS is set as the console is made: the CLI's consoles are made here,
# outside any test's CliRunner(env={"COLUMNS": ...}), so each invocation gets the width it sets, whichever test
# (or pytest-xdist worker) imports the CLI first.
os.environ.pop("COLUMNS", None)
import dunning.cli.output  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DUNNING_SHARED_DIR", REPO.parent / "shared"))
CORPUS = SHARED / "corpus"
CAMT_CORPUS = CORPUS / "camt"  # the bank files, with MANIFEST.tsv
XSD_DIR = CORPUS / "xsd"  # the ISO 20022 camt schemas
REQUIRE_CORPUS = "DUNNING_REQUIRE_CORPUS"
DEFAULT_PG = "postgresql+psycopg://dunning_test:dunning_test@127.0.0.1:5432/postgres"


def corpus_present() -> bool:
    """True when both halves of the corpus are there (checked without reading a file of it)."""
    return (CAMT_CORPUS / "MANIFEST.tsv").is_file() and XSD_DIR.is_dir()


def corpus_dir() -> Path:
    """The corpus folder (``camt/`` and ``xsd/`` inside it); skips the calling test when it is missing.

    The one place that decides what a missing corpus means: a skip with the same message from the
    same line, so ``pytest -ra`` shows one line for all of them; a failure when
    ``DUNNING_REQUIRE_CORPUS=1``, so CI cannot pass by skipping.
    """
    if corpus_present():
        return CORPUS
    message = (
        f"camt corpus not found at {CORPUS} (camt/ and xsd/): get it as tests/README.md says, "
        "or point DUNNING_SHARED_DIR at the folder that holds corpus/"
    )
    if os.environ.get(REQUIRE_CORPUS) == "1":
        pytest.fail(f"{message} [{REQUIRE_CORPUS}=1 makes this a failure]", pytrace=False)
    pytest.skip(message)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("requires_corpus") is not None:
        corpus_dir()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite the golden files that differ from the output (on purpose only; review git diff after)",
    )


@dataclass(frozen=True, slots=True)
class Goldens:
    """Compares an output with its golden file; rewrites the file only when asked to (``--update-goldens``)."""

    update: bool
    updated: list[Path] = field(default_factory=list)

    def check(
        self, path: Path, actual: str, *, regenerate: str, same: Callable[[str, str], bool] = operator.eq
    ) -> None:
        """Fail with a unified diff unless ``same(expected, actual)``; ``regenerate`` says how to renew it."""
        expected = path.read_text(encoding="utf-8") if path.exists() else None
        if expected is not None and same(expected, actual):
            return
        if self.update:
            path.write_text(actual, encoding="utf-8")
            self.updated.append(path)
            return
        name = path.relative_to(REPO) if path.is_relative_to(REPO) else path
        if expected is None:
            pytest.fail(f"golden file {name} is missing; to create it on purpose: {regenerate}", pytrace=False)
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=f"{name} (expected)",
                tofile="actual output",
            )
        )
        pytest.fail(
            f"output differs from the golden file {name}:\n{diff}\n"
            f"If the new output is right (check it against the input), regenerate on purpose: {regenerate}",
            pytrace=False,
        )


_UPDATED_GOLDENS = pytest.StashKey[list[Path]]()


@pytest.fixture()
def goldens(request: pytest.FixtureRequest) -> Goldens:
    updated = request.config.stash.setdefault(_UPDATED_GOLDENS, [])
    return Goldens(update=bool(request.config.getoption("update_goldens")), updated=updated)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    updated = config.stash.get(_UPDATED_GOLDENS, [])
    if updated:
        terminalreporter.section("golden files rewritten (--update-goldens): review with git diff")
        for path in updated:
            terminalreporter.write_line(str(path.relative_to(REPO) if path.is_relative_to(REPO) else path))


def postgres_admin_url() -> str:
    return os.environ.get("DUNNING_TEST_DATABASE_URL", DEFAULT_PG)


@pytest.fixture()
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    yield from fresh_postgres_database()


def fresh_postgres_database(prefix: str = "dunning_test") -> Iterator[str]:
    """Yield the URL of a new, empty PostgreSQL database; drop it when resumed (fixtures of any scope)."""
    admin = make_url(postgres_admin_url())
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture()
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.dispose()
