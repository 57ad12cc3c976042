"""Render letters over all cores: chunks of letters go to worker processes, results come back in order."""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from dunning.letters.model import LetterData
from dunning.letters.render import CHUNK_SIZE, BatchResult, LetterRenderer

__all__ = ["render_parallel"]

_WORKER: LetterRenderer | None = None


def _init_worker(
    templates_dir: Path | None, layouts_dir: Path | None, pdf_variant: str | None, one_pass: frozenset[str]
) -> None:
    global _WORKER
    _WORKER = LetterRenderer(templates_dir, layouts_dir, pdf_variant, one_pass)


def _render_chunk(letters: list[LetterData]) -> BatchResult:
    assert _WORKER is not None, "worker not initialised"
    return _WORKER.render_batch(letters)


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

    Yields one :class:`BatchResult` per chunk, in input order. Workers are
    started with ``forkserver`` so WeasyPrint (and its native libraries) is
    imported in each worker, never inherited through a fork.
    """
    workers = workers or os.cpu_count() or 1
    chunks = [list(letters[i : i + chunk_size]) for i in range(0, len(letters), chunk_size)]
    if workers == 1:
        renderer = LetterRenderer(templates_dir, layouts_dir, pdf_variant, one_pass)
        for chunk in chunks:
            yield renderer.render_batch(chunk)
        return
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker,
        initargs=(templates_dir, layouts_dir, pdf_variant, one_pass),
    ) as pool:
        # At most two chunks per worker in flight: finished PDFs wait for the caller in
        # order, and submitting everything at once would hold them all in memory.
        pending: deque[Future[BatchResult]] = deque()
        for chunk in chunks:
            pending.append(pool.submit(_render_chunk, chunk))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
