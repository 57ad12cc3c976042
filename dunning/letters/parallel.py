"""Render letters over all cores: chunks of letters go to worker processes, results come back in order.

:class:`RenderPool` keeps its worker processes (and in each, its renderer with the forms, shared blocks,
stylesheets and fonts it has laid out or parsed) for as many chunks as it is given, so a run that builds
its letters in several loads starts the workers and lays out each form once, not once per load.
:func:`render_parallel` is one pool for one list of letters.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from dunning.letters.batch import CHUNK_SIZE, BatchResult
from dunning.letters.model import LetterData

if TYPE_CHECKING:  # WeasyPrint: imported by the workers, not by the process handing them chunks
    from dunning.letters.render import LetterRenderer

__all__ = ["RenderPool", "forkserver_context", "render_parallel"]

_WORKER: LetterRenderer | None = None

#: a chunk of letters and the brands to render in one pass (see :class:`LetterRenderer`)
Chunk = tuple[Sequence[LetterData], frozenset[str]]


def _renderer(templates_dir: Path | None, layouts_dir: Path | None, pdf_variant: str | None) -> LetterRenderer:
    from dunning.letters.render import LetterRenderer

    return LetterRenderer(templates_dir, layouts_dir, pdf_variant)


def _init_worker(templates_dir: Path | None, layouts_dir: Path | None, pdf_variant: str | None) -> None:
    global _WORKER
    _WORKER = _renderer(templates_dir, layouts_dir, pdf_variant)


def _render_chunk(letters: list[LetterData], one_pass: frozenset[str]) -> BatchResult:
    assert _WORKER is not None, "worker not initialised"
    _WORKER.one_pass = one_pass
    return _WORKER.render_batch(letters)


def forkserver_context() -> multiprocessing.context.BaseContext:
    """The forkserver context, its server importing the renderer (WeasyPrint) once before it forks workers.

    Each worker would otherwise import WeasyPrint itself: about a second of CPU per worker, a third of
    it finding the native libraries (``ctypes.util.find_library`` runs ``ldconfig`` and ``gcc``). The
    server is a fresh single-threaded process that only imports: no fonts, layouts or connections yet,
    so what the workers inherit is what a fresh import would give them.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", "dunning.letters.render"])  # __main__: the default
    return context


class RenderPool:
    """``workers`` rendering processes (default: all cores; 1 renders in this process), kept until closed.

    ::

        with RenderPool(workers=2) as pool:
            for result in pool.render((chunk, frozenset()) for chunk in chunks):
                ...

    Workers are started with ``forkserver`` on the first chunk, so they never inherit this process's
    state (threads, connections) through a fork; the fork server imports WeasyPrint once for them all
    (:func:`forkserver_context`).
    """

    def __init__(
        self,
        *,
        workers: int | None = None,
        templates_dir: Path | None = None,
        layouts_dir: Path | None = None,
        pdf_variant: str | None = None,
    ) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._args = (templates_dir, layouts_dir, pdf_variant)
        self._local: LetterRenderer | None = None
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> RenderPool:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def render(self, chunks: Iterable[Chunk]) -> Iterator[BatchResult]:
        """One :class:`BatchResult` per chunk, in order. ``chunks`` is read lazily: at most two chunks per
        worker are in flight, so finished PDFs wait for the caller in order and the letters not yet
        needed are not built (nor held in memory) yet."""
        if self.workers == 1:
            if self._local is None:
                self._local = _renderer(*self._args)
            for letters, one_pass in chunks:
                self._local.one_pass = one_pass
                yield self._local.render_batch(letters)
            return
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=forkserver_context(), initializer=_init_worker, initargs=self._args
            )
        pending: deque[Future[BatchResult]] = deque()
        for letters, one_pass in chunks:
            pending.append(self._pool.submit(_render_chunk, list(letters), one_pass))
            if len(pending) >= 2 * self.workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def render_parallel(
    letters: Sequence[LetterData],
    *,
    workers: int | None = None,
    chunk_size: int = CHUNK_SIZE,
    templates_dir: Path | None = None,
    layouts_dir: Path | None = None,
    pdf_variant: str | None = None,
    one_pass: frozenset[str] = frozenset(),
) -> Iterator[BatchResult]:
    """Render ``letters`` in chunks of ``chunk_size`` over ``workers`` processes (default: all cores).

    Yields one :class:`BatchResult` per chunk, in input order (one :class:`RenderPool` for these letters).
    """
    chunks = ((letters[i : i + chunk_size], one_pass) for i in range(0, len(letters), chunk_size))
    with RenderPool(
        workers=workers, templates_dir=templates_dir, layouts_dir=layouts_dir, pdf_variant=pdf_variant
    ) as pool:
        yield from pool.render(chunks)
