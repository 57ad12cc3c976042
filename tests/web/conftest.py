"""One workspace with rendered letters per store kind for a whole test module (rendering takes seconds)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dunning.store import open_store
from tests.conftest import fresh_postgres_database
from tests.web.helpers import Letters, workspace_with_letters


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def letters(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Letters]:
    """The example's letters of 2 November rendered and read back, on SQLite and on PostgreSQL."""
    root = tmp_path_factory.mktemp("paypage")
    sqlite = iter([f"sqlite:///{root / 'state.db'}"])
    databases = fresh_postgres_database("dunning_paypage") if request.param == "postgresql" else sqlite
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
