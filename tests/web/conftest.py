"""One workspace with rendered letters per store kind for a whole test module (rendering takes seconds)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, make_url, text

from dunning.store import open_store
from tests.conftest import postgres_admin_url
from tests.web.helpers import Letters, workspace_with_letters


def _postgres_database() -> Iterator[str]:
    admin = make_url(postgres_admin_url())
    name = f"dunning_paypage_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def letters(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Letters]:
    """The example's letters of 2 November rendered and read back, on SQLite and on PostgreSQL."""
    root = tmp_path_factory.mktemp("paypage")
    databases = _postgres_database() if request.param == "postgresql" else iter([f"sqlite:///{root / 'state.db'}"])
    url = next(databases)
    store = open_store(url)
    try:
        workspace, sent = workspace_with_letters(root / "ws", store)
        yield Letters(store, workspace, sent, root)
    finally:
        store.dispose()
        for _ in databases:  # drops the PostgreSQL database
            pass


@pytest.fixture(scope="module")
def sqlite_letters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Letters]:
    """The same on SQLite only (the browser tests: one store is enough to drive a browser)."""
    root = tmp_path_factory.mktemp("paypage-browser")
    store = open_store(f"sqlite:///{root / 'state.db'}")
    try:
        workspace, sent = workspace_with_letters(root / "ws", store)
        yield Letters(store, workspace, sent, root)
    finally:
        store.dispose()
