"""A store whose first migration was interrupted opens again: on SQLite all migrations land in one
transaction, or none (a `dunning import` killed while it made the tables of a new workspace left some tables
and no revision, and every later command failed with "table ... already exists")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, event, inspect

from dunning.errors import StoreError
from dunning.store import MIGRATIONS, open_store

HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()


@pytest.mark.parametrize("fail_at", [1, 5, 30])
def test_an_upgrade_that_fails_half_way_leaves_nothing_and_the_next_open_migrates(
    tmp_path: Path, fail_at: int
) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    made: list[str] = []

    def fail_later(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("CREATE TABLE"):
            made.append(statement)
            if len(made) == fail_at:
                raise RuntimeError("the process dies here")

    event.listen(Engine, "before_cursor_execute", fail_later)
    try:
        with pytest.raises((RuntimeError, StoreError)):
            open_store(url)
    finally:
        event.remove(Engine, "before_cursor_execute", fail_later)
    assert len(made) == fail_at
    probe = open_store(url, migrate_schema=False)
    assert inspect(probe.engine).get_table_names() == []  # nothing of the half-made schema is left
    probe.dispose()

    store = open_store(url)
    assert store.revision() == HEAD
    assert "outbox" in inspect(store.engine).get_table_names()
    store.dispose()


KILLED = textwrap.dedent(
    """
    import os, signal, sys
    from sqlalchemy import Engine, event
    from dunning.store import open_store
    made = []
    def die(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("CREATE TABLE"):
            made.append(statement)
            if len(made) == int(sys.argv[2]):
                os.kill(os.getpid(), signal.SIGKILL)
    event.listen(Engine, "before_cursor_execute", die)
    open_store(sys.argv[1])
    """
)


def test_a_process_killed_while_it_makes_a_new_stores_tables_leaves_a_store_the_next_command_opens(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    child = subprocess.run([sys.executable, "-c", KILLED, url, "12"], capture_output=True, text=True)
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert os.path.exists(tmp_path / "state.db")
    store = open_store(url)
    assert store.revision() == HEAD
    store.dispose()
