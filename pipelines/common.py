"""What the Prefect flows share: retry policy, optional use cases, chunking, the night's date, reports.

Nothing here decides anything about debtors, cases or payments: the flows only call library
functions (``dunning.usecases``, ``dunning.print``, ``camt``), and this module keeps the calls
uniform.

- **Retries on transient errors only.** Every task retries when, and only when, it failed with
  :class:`~dunning.errors.TransientDeliveryError` (a timeout, a dropped SFTP connection, an SMTP
  4xx). A bad ledger, an invalid flow or a bug fails at once: retrying would not fix it and would
  only delay the alert. Retrying is safe because every library call is idempotent (the store
  records each side effect under its idempotency key).
- **No Prefect caching.** Tasks run with ``NO_CACHE``: "already done" is the store's business, and
  a cached Prefect result would hide a re-run the store must see.
- **Chunks, not items.** Prefect's server records about 30 task runs per second and drops events
  beyond ~10 000 in a burst (research/prefect-sftp.md §1.7), so per-item work (letters, messages)
  is mapped over *chunks* of a few hundred ids: :func:`chunked` and :func:`map_in_chunks`.
- **Use cases that have not landed yet** are looked up with :func:`optional_function`; a flow
  reports "not available" in its summary instead of failing, and calls the function as soon as the
  module exists.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from prefect import Task, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun
from prefect.utilities.annotations import unmapped

from dunning.errors import TransientDeliveryError
from dunning.store import Store, open_store
from dunning.workspace import Workspace, open_workspace

T = TypeVar("T")
R = TypeVar("R")
P = ParamSpec("P")

#: how often a task is retried after a transient failure, and how long it waits before each retry
TRANSIENT_RETRIES = 3
TRANSIENT_RETRY_DELAYS = [30.0, 120.0, 600.0]
#: letters or messages per task: big enough to keep task runs per night in the hundreds at most
DEFAULT_CHUNK_SIZE = 500


def retry_if_transient(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Prefect ``retry_condition_fn``: retry only a :class:`TransientDeliveryError` (or a subclass)."""
    try:
        state.result(raise_on_failure=True)
    except TransientDeliveryError:
        return True
    except BaseException:  # any other failure is final
        return False
    return False


def dunning_task(name: str, *, timeout_seconds: float | None = None) -> Callable[[Callable[P, R]], Task[P, R]]:
    """``@task`` with the project's policy: transient-only retries, no caching, a readable name."""
    return task(
        name=name,
        retries=TRANSIENT_RETRIES,
        retry_delay_seconds=TRANSIENT_RETRY_DELAYS,
        retry_condition_fn=retry_if_transient,
        cache_policy=NO_CACHE,
        timeout_seconds=timeout_seconds,
    )


# ---- use cases that may not exist yet ----------------------------------------------------------


def optional_function(module: str, name: str) -> Callable[..., Any] | None:
    """``module.name`` if the module exists and defines it, else None.

    A module that exists but fails to import raises: a broken module must not pass for a
    missing one.

    >>> optional_function("dunning.usecases.planning.night", "run_night").__name__
    'run_night'
    >>> optional_function("dunning.usecases.no_such_module", "anything") is None
    True
    """
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:  # a parent package is missing
        return None
    if spec is None:
        return None
    found = getattr(importlib.import_module(module), name, None)
    return found if callable(found) else None


def step_status(function: Callable[..., Any] | None, module: str, name: str) -> str:
    """How a flow's summary names an optional step: ``"available"`` or what is missing."""
    return "available" if function is not None else f"not available yet ({module}.{name} does not exist)"


def summary_of(result: object) -> dict[str, Any]:
    """A use case's result as a plain dict (``.summary()``, a dict, or its text)."""
    summary = getattr(result, "summary", None)
    if callable(summary):
        value = summary()
        if isinstance(value, Mapping):
            return dict(value)
    if isinstance(result, Mapping):
        return dict(result)
    return {"result": "" if result is None else str(result)}


# ---- chunks ------------------------------------------------------------------------------------


def chunked(items: Sequence[T], size: int = DEFAULT_CHUNK_SIZE) -> list[list[T]]:
    """Split ``items`` into consecutive chunks of at most ``size``, in order.

    >>> chunked([1, 2, 3, 4, 5], 2)
    [[1, 2], [3, 4], [5]]
    >>> chunked([], 2)
    []
    """
    if size < 1:
        raise ValueError(f"chunk size must be at least 1, got {size}")
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


def map_in_chunks(work: Task[..., T], ids: Sequence[Any], size: int = DEFAULT_CHUNK_SIZE, **fixed: Any) -> list[T]:
    """Run ``work(chunk, **fixed)`` once per chunk of ``ids`` as mapped task runs; results in order.

    One task run per chunk: 100 000 letters in chunks of 500 are 200 task runs, well inside what
    a Prefect server records without dropping events. Must be called inside a flow. A chunk that
    fails makes this raise after the other chunks finished (each chunk is idempotent, so a re-run
    of the flow redoes only what is missing).
    """
    chunks = chunked(ids, size)
    if not chunks:
        return []
    constant: dict[str, Any] = {key: unmapped(value) for key, value in fixed.items()}
    futures = work.map(chunks, **constant)
    futures.wait()
    return [future.result() for future in futures]


# ---- workspace, store, date --------------------------------------------------------------------


def load_workspace(workspace: str | Path) -> Workspace:
    """Open the workspace a flow parameter names (an absolute or relative folder)."""
    return open_workspace(Path(workspace).expanduser().resolve())


@contextmanager
def workspace_store(workspace: str | Path) -> Iterator[tuple[Workspace, Store]]:
    """The workspace and its store, disposed afterwards (each task opens its own: tasks may run elsewhere)."""
    opened = load_workspace(workspace)
    store = open_store(opened.database_url)
    try:
        yield opened, store
    finally:
        store.dispose()


def night_date(given: str | None, timezone: str, now: datetime | None = None) -> date:
    """The date a flow works for: ``given`` (YYYY-MM-DD), else today in the creditor's time zone.

    The flow boundary is the only place that reads the clock; the library gets the date.

    >>> night_date("2026-11-24", "Europe/Brussels")
    datetime.date(2026, 11, 24)
    >>> night_date(None, "Europe/Brussels", datetime(2026, 11, 24, 23, 30, tzinfo=UTC))
    datetime.date(2026, 11, 25)
    """
    if given:
        try:
            return date.fromisoformat(given.strip())
        except ValueError:
            raise ValueError(f"date {given!r} is not YYYY-MM-DD") from None
    moment = now if now is not None else datetime.now(UTC)
    return moment.astimezone(ZoneInfo(timezone)).date()


# ---- reports -----------------------------------------------------------------------------------


def workspace_slug(workspace: Workspace) -> str:
    """The workspace folder's name in lowercase letters, digits and dashes (for artifact keys and event resources).

    >>> from types import SimpleNamespace
    >>> workspace_slug(SimpleNamespace(root=Path("/srv/Acme_Energy")))
    'acme-energy'
    """
    return re.sub(r"[^a-z0-9]+", "-", workspace.root.name.lower()).strip("-") or "workspace"


def artifact_key(kind: str, workspace: Workspace) -> str:
    """A Prefect artifact key (lowercase letters, digits, dashes) per flow and workspace."""
    return f"{kind}-{workspace_slug(workspace)}"[:100]


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A markdown table; ``|`` in cells is escaped. An empty table says so.

    >>> print(markdown_table(["what", "count"], [["imported rows", 29]]))
    | what | count |
    |---|---|
    | imported rows | 29 |
    """
    if not rows:
        return "_none_"
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines.extend("| " + " | ".join(_cell(v) for v in row) + " |" for row in rows)
    return "\n".join(lines)


def counts_table(title: str, counts: Mapping[str, object]) -> str:
    """A two-column table of counts under a heading."""
    return f"### {title}\n\n" + markdown_table([title.lower(), "count"], [[k, v] for k, v in counts.items()])


def result_markdown(result: Mapping[str, Any], limit: int = 50) -> str:
    """A use case's summary as markdown: scalars in one table, lists of rows as tables, lists of text as bullets.

    >>> print(result_markdown({"run_date": "2026-11-24", "channels": [{"channel": "email", "sent": 3}]}))
    | what | value |
    |---|---|
    | run_date | 2026-11-24 |
    <BLANKLINE>
    | channel | sent |
    |---|---|
    | email | 3 |
    """
    scalars = [[key, value] for key, value in result.items() if not isinstance(value, list | tuple | dict)]
    parts = [markdown_table(["what", "value"], scalars)] if scalars else []
    for key, value in result.items():
        if isinstance(value, dict) and value and all(isinstance(v, Mapping) for v in value.values()):
            headers = list(dict.fromkeys(k for v in value.values() for k in v))
            rows = [[name, *(v.get(h, "") for h in headers)] for name, v in value.items()]
            parts.append(markdown_table([key, *headers], rows))
        elif isinstance(value, dict) and value:
            parts.append(markdown_table([key, "value"], [[k, v] for k, v in value.items()]))
        elif isinstance(value, list | tuple) and value:
            if all(isinstance(item, Mapping) for item in value):
                headers = list(dict.fromkeys(k for item in value for k in item))
                parts.append(markdown_table(headers, [[item.get(h, "") for h in headers] for item in value]))
            else:
                shown = [f"- {_cell(item)}" for item in value[:limit]]
                more = [f"- … and {len(value) - limit} more"] if len(value) > limit else []
                parts.append(f"{key}:\n\n" + "\n".join(shown + more))
    return "\n\n".join(parts)
