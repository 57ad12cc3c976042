"""Shared fixtures: the state store on SQLite and on a real PostgreSQL server.

PostgreSQL comes from ``DUNNING_TEST_DATABASE_URL`` (``setup.sh test`` starts the
local server and sets it); without it the local default below is used. A test
that asks for ``store_url`` runs once per backend; the PostgreSQL run gets a
database of its own, dropped afterwards. PostgreSQL tests never skip: a missing
server is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from dunning.store import Store, open_store

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DUNNING_SHARED_DIR", REPO.parent / "shared"))
DEFAULT_PG = "postgresql+psycopg://dunning_test:dunning_test@127.0.0.1:5432/postgres"


def postgres_admin_url() -> str:
    return os.environ.get("DUNNING_TEST_DATABASE_URL", DEFAULT_PG)


@pytest.fixture()
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    admin = make_url(postgres_admin_url())
    name = f"dunning_test_{uuid.uuid4().hex[:12]}"
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
