"""Assembling a night's print batches side by side: one process per core, the same files as one by one.

Assembling a batch (:func:`dunning.print.assemble.assemble_batch`) joins its letters' PDFs, paints the
inserter marks and writes the batch PDF, manifests and ticket (each file atomically, the ticket last).
It depends only on the batch and the letters' files, so batches can be assembled in any order and in
other processes; delivery stays one batch after the other, in order, in the calling process. A night
with a few thousand letters spends about a millisecond a letter here on one core, while the cores that
rendered them wait: on two cores a tenth of ``dunning letters``' wall time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from dunning.print import PlannedBatch
from dunning.print.assemble import AssembledBatch, MarkSettings, assemble_batch

__all__ = ["MIN_LETTERS_IN_PARALLEL", "BatchJob", "assemble_batches"]

#: fewer letters than this in all are assembled in this process (starting processes costs more)
MIN_LETTERS_IN_PARALLEL = 400


@dataclass(frozen=True, slots=True)
class BatchJob:
    batch: PlannedBatch
    out_dir: Path
    built_on: date


def _assemble(job: BatchJob, marks: MarkSettings | None) -> AssembledBatch:
    return assemble_batch(job.batch, job.out_dir, run_date=job.built_on, marks=marks)


def assemble_batches(
    jobs: Sequence[BatchJob],
    marks: MarkSettings | None,
    *,
    workers: int | None = None,
    min_letters: int = MIN_LETTERS_IN_PARALLEL,
) -> Iterator[AssembledBatch]:
    """The jobs' batches assembled, in the jobs' order; over ``workers`` processes (default: all cores)
    when there are two batches or more and ``min_letters`` letters in all."""
    workers = min(workers or os.cpu_count() or 1, len(jobs))
    letters = sum(len(job.batch.letters) for job in jobs)
    if workers < 2 or letters < min_letters:
        for job in jobs:
            yield _assemble(job, marks)
        return
    from dunning.letters.parallel import forkserver_context

    with ProcessPoolExecutor(max_workers=workers, mp_context=forkserver_context()) as pool:
        yield from pool.map(_assemble, jobs, [marks] * len(jobs))
