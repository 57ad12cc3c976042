"""Print-house batches: plan, assemble, deliver exactly once, read the answers.

The cycle::

    letters (PrintLetter) ──plan_batches──► PlannedBatch ──assemble_batch──► AssembledBatch
        ──deliver_batch(transport, DeliveryLog)──► on the print house's SFTP/folder, with a ready marker
    print house's outbox CSV ──process_acknowledgements──► DeliveryEvent (accepted/printed/posted/returned)

**A letter to print** is a :class:`PrintLetter` (frozen dataclass), built by whoever rendered it:

=================  ==================================================================================
``letter_id``      unique id of the letter (the idempotency key of the letter; one batch line each)
``case_id``        the dunning case it belongs to
``debtor_id``      the debtor it goes to
``pdf``            the rendered letter: a :class:`pathlib.Path` to a PDF file, or the PDF's bytes
``page_count``     its number of pages (checked against the PDF when the batch is assembled)
``country``        ISO 3166 alpha-2 of the delivery address (``BE``); decides domestic/international
``postal_code``    the delivery address's postal code, for presorting (``1000``, ``1234 AB``)
``duplex``         print both sides (default ``True``); odd duplex letters get a blank back
``colour``         colour print (default ``False``: black and white)
``envelope``       requested envelope class (default ``"DL"``); moved to a larger class when the sheets
                   do not fit (``BatchingRules.envelopes``, default DL ≤ 5 sheets, C4 ≤ 60)
``postage_class``  the postal product, e.g. ``"standard"``, ``"priority"`` (default ``"standard"``)
``registered``     registered mail (default ``False``)
=================  ==================================================================================

Typical use::

    from dunning.print import PrintLetter, BatchingRules, plan_batches, assemble_batch, deliver_batch
    from dunning.adapters.transport import transport_for

    plan = plan_batches(letters, run_date, BatchingRules(home_country="BE", max_letters=500))
    with transport_for(cfg.print.transport, cfg.print, workspace) as t:
        for planned in plan.batches:
            batch = assemble_batch(planned, workspace.output_dir / "batches", run_date=run_date)
            deliver_batch(batch, t, delivery_log)     # delivery_log: a DeliveryLog (database-backed)

``plan.problems`` and ``batch.problems`` list the letters left out (with the reason); they never stop
the other letters.
"""

from dunning.ports import DeliveryLog, ProcessedFiles
from dunning.print.acknowledgements import (
    AckFile,
    AckProblem,
    AckStatus,
    DeliveryEvent,
    JsonProcessedFiles,
    parse_acknowledgements,
    process_acknowledgements,
    read_new_acknowledgements,
)
from dunning.print.assemble import AssembledBatch, ManifestRow, MarkSettings, assemble_batch
from dunning.print.batching import (
    BatchingRules,
    BatchPlan,
    BatchProblem,
    Envelope,
    PlannedBatch,
    PlannedLetter,
    PrintLetter,
    PrintProfile,
    batch_number,
    plan_batches,
    profile_code_of,
    rebuild_batch,
)
from dunning.print.delivery import (
    BatchConflictError,
    DeliveryReport,
    DeliveryRun,
    JsonDeliveryLog,
    deliver_batch,
    deliver_batches,
)

__all__ = [
    "AckFile",
    "AckProblem",
    "AckStatus",
    "AssembledBatch",
    "BatchConflictError",
    "BatchPlan",
    "BatchProblem",
    "BatchingRules",
    "DeliveryEvent",
    "DeliveryLog",
    "DeliveryReport",
    "DeliveryRun",
    "Envelope",
    "JsonDeliveryLog",
    "JsonProcessedFiles",
    "ManifestRow",
    "MarkSettings",
    "PlannedBatch",
    "PlannedLetter",
    "PrintLetter",
    "PrintProfile",
    "ProcessedFiles",
    "assemble_batch",
    "batch_number",
    "deliver_batch",
    "deliver_batches",
    "parse_acknowledgements",
    "plan_batches",
    "process_acknowledgements",
    "profile_code_of",
    "read_new_acknowledgements",
    "rebuild_batch",
]
