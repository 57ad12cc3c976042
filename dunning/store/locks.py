"""One writer per stage: a lock on the workspace's store that a killed process cannot leave behind.

Two ``dunning run`` (or ``letters``, ``dispatch``, ...) on one workspace at once would plan, render or send
the same things twice. Each stage's use case therefore holds the stage's lock for as long as it works; a
second caller is refused at once with who holds it and since when::

    another `dunning run` is working on this workspace since 2026-12-06 02:00:13 UTC, pid 4711

The lock lives where the state lives, so it holds across machines whenever the store does:

- **PostgreSQL**: a session-level advisory lock (``pg_try_advisory_lock``) taken on a connection kept open
  for the stage's duration. The server releases it when that connection ends, so a process killed with
  ``kill -9`` frees it as soon as its socket closes. The holder names itself in ``application_name``
  (``dunning run pid=4711 since=...``), which the refused caller reads from ``pg_stat_activity``.
- **SQLite**: an exclusive ``flock`` on ``<database file>.<stage>.lock`` beside the database. The kernel
  releases it when the holding process dies, however it dies; the file says who holds it. The file itself
  is never deleted (deleting a lock file races with the next process locking it).
- An in-memory SQLite store belongs to one process: nothing to lock.

A lock is taken over safely because nothing has to be taken over: a dead holder holds nothing.

Use cases take it with one line, :func:`holding_stage_lock`::

    @holding_stage_lock("run")
    def run_night(store: Store, ...) -> RunResult: ...

so the CLI, the Prefect pipelines and the demo are all covered by the same lock. Within one process the
lock is re-entrant per stage and store: ``dunning letters`` (render, then send) or ``dunning demo`` (every
stage) call one locked use case from another and must not refuse themselves.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import inspect
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import ParamSpec, TypeVar

from sqlalchemy import Connection, text

from dunning.errors import WorkspaceBusy
from dunning.store import Store

__all__ = ["STAGES", "Holder", "holding_stage_lock", "stage_lock", "waiting_stage_lock"]

# The stages that write, by the command a person would see in the refusal. `letters` and `deliver` share one
# lock: both upload print batches. Other writers take the lock of the stage they race with: `bounces` the
# dispatch's (both write deliveries' and actions' statuses and the debtor's email validity), `plans create`
# the run's (the run reads the plan's hold), the review decisions the reconcile's. `tasks done` takes none:
# it closes a task with one conditional update, and the run reads the outcome the next night.
STAGES = {
    "import": "import",
    "run": "run",
    "dispatch": "dispatch",
    "letters": "letters",
    "notify": "notify",
    "reconcile": "reconcile",
    "acks": "acks",
    "collect": "plans collect",  # direct debit files: one writer, or two runs would race for the same instalments
}

# The first of the two 32-bit keys of every advisory lock dunning takes ("dn" in ASCII), so that its locks
# never collide with another application's on the same database.
_PG_NAMESPACE = 0x646E


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a stage's lock, as far as the store can tell."""

    command: str
    pid: int | None
    since: datetime | None

    def describe(self) -> str:
        since = f" since {self.since.strftime('%Y-%m-%d %H:%M:%S %Z')}" if self.since else ""
        pid = f", pid {self.pid}" if self.pid is not None else ""
        return f"another `dunning {self.command}` is working on this workspace{since}{pid}"


def _stage_key(stage: str) -> int:
    """A stable signed 32-bit number for the stage (PostgreSQL's advisory lock keys are int4)."""
    return int.from_bytes(hashlib.blake2b(stage.encode(), digest_size=4).digest(), "big", signed=True)


def _check(stage: str) -> str:
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; one of {', '.join(STAGES)}")
    return STAGES[stage]


@contextmanager
def stage_lock(store: Store, stage: str) -> Iterator[None]:
    """Hold ``stage``'s lock on ``store`` for the duration of the block; raise ``WorkspaceBusy`` if taken."""
    command = _check(stage)
    if store.dialect == "postgresql":
        with _postgres_lock(store, command):
            yield
    elif store.dialect == "sqlite":
        with _sqlite_lock(store, command):
            yield
    else:  # pragma: no cover - the store opens only these two
        yield


# The descriptors that hold a lock in this process (the lock file, the PostgreSQL socket). A child forked
# while one is held (the ledger reader's process pool forks) would keep it open, and with it the lock, after
# this process is killed: in the child each is pointed at /dev/null instead, which frees nothing of ours
# (closing a duplicate releases no flock, and the server sees our socket end only when every copy is gone).
_lock_fds: set[int] = set()


def _forget_locks_in_child() -> None:
    if not _lock_fds:
        return
    null = os.open(os.devnull, os.O_RDWR)
    try:
        for fd in _lock_fds:
            os.dup2(null, fd, inheritable=False)
    finally:
        os.close(null)
    _lock_fds.clear()


os.register_at_fork(after_in_child=_forget_locks_in_child)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# A refused caller asks again for this long before it says busy. On PostgreSQL a holder killed a moment ago
# still holds its advisory lock until its server backend notices the closed socket (milliseconds, more on a
# busy server); on both stores the pay page takes a stage's lock for the few milliseconds of one booking
# (:func:`waiting_stage_lock`), which must not make a nightly command that starts at that moment give up.
_GRACE_SECONDS = 2.0


def _try_postgres_lock(connection: Connection, key: int) -> bool:
    deadline = time.monotonic() + _GRACE_SECONDS
    while True:
        taken = connection.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"), {"ns": _PG_NAMESPACE, "key": key})
        connection.commit()
        if taken.scalar_one():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


@contextmanager
def _postgres_lock(store: Store, command: str) -> Iterator[None]:
    key = _stage_key(command)
    # A connection of its own, outside the pool's reuse while held: the lock is this session's.
    connection = store.engine.connect()
    try:
        name = f"dunning {command} pid={os.getpid()} since={_now().isoformat()}"
        connection.execute(text("SELECT set_config('application_name', :name, false)"), {"name": name[:63]})
        if not _try_postgres_lock(connection, key):
            raise WorkspaceBusy(_postgres_holder(connection, command, key).describe())
        socket = _socket_of(connection)
        if socket is not None:
            _lock_fds.add(socket)
        try:
            yield
        finally:
            _lock_fds.discard(socket or -1)
            connection.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), {"ns": _PG_NAMESPACE, "key": key})
            connection.execute(text("RESET application_name"))
            connection.commit()
    finally:
        connection.close()


def _socket_of(connection: Connection) -> int | None:
    fileno = getattr(connection.connection.dbapi_connection, "fileno", None)
    return int(fileno()) if callable(fileno) else None


def _postgres_holder(connection: Connection, command: str, key: int) -> Holder:
    row = connection.execute(
        text(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid::int = :ns AND l.objid::int = :key "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        {"ns": _PG_NAMESPACE, "key": key},
    ).first()
    return _parse_holder(row[0] if row else "", command)


def _parse_holder(description: str, command: str) -> Holder:
    """Read ``dunning run pid=4711 since=2026-12-06T02:00:13+00:00`` back (whatever is missing stays None)."""
    fields = dict(part.split("=", 1) for part in description.split() if "=" in part)
    pid = int(fields["pid"]) if fields.get("pid", "").isdigit() else None
    try:
        since = datetime.fromisoformat(fields["since"]) if "since" in fields else None
    except ValueError:
        since = None
    return Holder(command, pid, since)


def _sqlite_file(store: Store) -> Path | None:
    database = store.engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database)


@contextmanager
def _sqlite_lock(store: Store, command: str) -> Iterator[None]:
    database = _sqlite_file(store)
    if database is None:
        yield
        return
    path = database.with_name(f"{database.name}.{command}.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _try_sqlite_lock(fd):
            raise WorkspaceBusy(_sqlite_holder(fd, command).describe())
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "since": _now().isoformat()}).encode(), 0)
        _lock_fds.add(fd)
        try:
            yield
        finally:
            _lock_fds.discard(fd)
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _try_sqlite_lock(fd: int) -> bool:
    deadline = time.monotonic() + _GRACE_SECONDS
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


def _sqlite_holder(fd: int, command: str) -> Holder:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return _parse_holder(f"pid={data.get('pid', '')} since={data.get('since', '')}", command)
    except (ValueError, OSError):
        return Holder(command, None, None)


# ---- re-entrance within a process: the decorator the use cases wear ----------------------------------------

P = ParamSpec("P")
R = TypeVar("R")

# (store identity, command) -> [depth, the ExitStack holding the real lock]. One process holds a stage's lock
# once; nested or concurrent use cases of that stage in the same process (threads of one Prefect flow) share it.
_held: dict[tuple[str, str], tuple[int, ExitStack]] = {}
_held_guard = threading.Lock()


def _identity(store: Store) -> str:
    """What makes two Store objects the same workspace store: the database file, or the server's database."""
    database = _sqlite_file(store)
    if store.dialect == "sqlite" and database is not None:
        return f"sqlite:{database.resolve()}"
    return store.engine.url.render_as_string(hide_password=True)


@contextmanager
def _reentrant_stage_lock(store: Store, stage: str) -> Iterator[None]:
    key = (_identity(store), _check(stage))
    with _held_guard:
        depth, stack = _held.get(key, (0, ExitStack()))
        if depth == 0:
            stack.enter_context(stage_lock(store, stage))  # raises WorkspaceBusy: nothing recorded
        _held[key] = (depth + 1, stack)
    try:
        yield
    finally:
        with _held_guard:
            depth, stack = _held.pop(key)
            if depth > 1:
                _held[key] = (depth - 1, stack)
            else:
                stack.close()


# One booking at a time per process for the short writers of the web (threads of one server process share
# the re-entrant stage lock, so it alone would not keep two of them apart).
_short_writers: dict[str, threading.Lock] = {stage: threading.Lock() for stage in STAGES}


@contextmanager
def waiting_stage_lock(store: Store, stage: str, *, wait: float) -> Iterator[None]:
    """Hold ``stage``'s lock for a short write, waiting up to ``wait`` seconds for it; else ``WorkspaceBusy``.

    For a writer that is not a stage but writes what a stage writes, for a moment: the pay page booking a
    payment a provider confirmed writes allocations and open amounts as ``dunning reconcile`` does, and
    two of them interleaved would allocate the same open amount twice. A caller that cannot wait longer
    (a web request) answers "try again later" on ``WorkspaceBusy``; the provider delivers its webhook again.
    """
    deadline = time.monotonic() + wait
    guard = _short_writers[_check(stage)]
    if not guard.acquire(timeout=max(wait, 0.0)):
        raise WorkspaceBusy(f"another booking in this process holds the `{STAGES[stage]}` lock")
    try:
        with ExitStack() as stack:
            while True:
                try:
                    stack.enter_context(_reentrant_stage_lock(store, stage))
                    break
                except WorkspaceBusy:
                    if time.monotonic() >= deadline:
                        raise
                    time.sleep(0.2)
            yield
    finally:
        guard.release()


def holding_stage_lock(stage: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a use case so that it holds ``stage``'s lock on its ``store`` argument while it runs.

    The use case must take the store as a parameter named ``store``. A second process calling it (or any
    use case of the same stage) on the same store meanwhile gets :class:`~dunning.errors.WorkspaceBusy`.
    """
    _check(stage)

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(function)
        if "store" not in signature.parameters:
            raise TypeError(f"{function.__qualname__} has no `store` parameter to lock")

        @functools.wraps(function)
        def locked(*args: P.args, **kwargs: P.kwargs) -> R:
            store = signature.bind_partial(*args, **kwargs).arguments["store"]
            with _reentrant_stage_lock(store, stage):
                return function(*args, **kwargs)

        return locked

    return decorate
