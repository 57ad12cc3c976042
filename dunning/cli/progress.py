"""Progress of long work on a terminal: a bar with counts and time left, on stderr.

Use cases report progress through a plain callback, ``report(done, total)`` (:data:`dunning.ports.Progress`),
and know nothing of terminals. The CLI passes :func:`progress_bar`'s callback. The bar shows only where a
person watches: stderr is a terminal, the output is a table (never with ``--format json`` or ``csv``), and
``CI`` is not set. Otherwise the callback does nothing, so scripts, pipes and CI logs stay clean.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from dunning.cli.output import err_console

__all__ = ["progress_bar", "wants_progress"]


def wants_progress(fmt: str, *, environ: dict[str, str] | None = None, is_terminal: bool | None = None) -> bool:
    """Whether a person is watching: a table on a terminal, outside CI.

    >>> wants_progress("json", is_terminal=True, environ={})
    False
    >>> wants_progress("table", is_terminal=True, environ={"CI": "true"})
    False
    >>> wants_progress("table", is_terminal=True, environ={})
    True
    """
    env = os.environ if environ is None else environ
    terminal = err_console.is_terminal if is_terminal is None else is_terminal
    return fmt == "table" and terminal and not env.get("CI")


@contextmanager
def progress_bar(label: str, fmt: str) -> Iterator[Callable[[int, int], None]]:
    """A ``report(done, total)`` callback drawing one bar labelled ``label`` while the block runs."""
    if not wants_progress(fmt):
        yield lambda _done, _total: None
        return
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("left"),
               TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task(label, total=None)

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield report
