"""The letter channel, part 1: planned letter actions → one PDF per letter, recorded once.

::

    run = render_letters(store, workspace, date(2026, 11, 2), workers=4)
    run.rendered, run.failed           # counts; run.problems names action and case, never the debtor
    sent = send_letters(store, workspace, date(2026, 11, 2))   # part 2: dunning.usecases.letters.send

Which actions: ``planned`` actions on the ``letter`` or ``registered_letter`` channel due on or before
the run date that have no ``documents`` row yet. Each becomes a :class:`~dunning.letters.LetterData`
(:func:`letter_data_for`), the letters are rendered in chunks (:func:`dunning.letters.render_parallel`),
and each PDF is written to ``output/letters/<run date>/<action id>.pdf`` (temp file + rename) and
recorded in ``documents`` (kind ``letter``, path relative to the workspace, SHA-256, pages), with the
letter's deadline in the action's ``detail.deadline`` (the one date it prints), one transaction per
chunk. A crash before the record only costs a re-render of that chunk: nothing left
the house yet, and ``send_letters`` only takes letters whose document is recorded.

A letter the renderer refuses because it cannot be printed as it is (an address line too long for
the envelope's window: :mod:`dunning.letters.printsafe`) fails its action with a ``delivery_failed``
event on the case naming the line, as a letter without postal address does; the flow's fallback follows.

How a planned action becomes a letter (kind, legal mentions, charges, no postal address): see
:mod:`dunning.usecases.letters.data`; a case charged interest has it brought up to the letter's date
first (:mod:`dunning.usecases.letters.interest`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from dunning.domain.legal import LegalPack, pack_selector
from dunning.domain.plans.holds import HeldMessage
from dunning.errors import ConfigError, StoreError
from dunning.letters import (
    LetterData,
)
from dunning.ports import Progress, write_atomic, write_atomic_many
from dunning.store import Store
from dunning.store.actions import write_action_details
from dunning.store.cases import insert_case_event
from dunning.store.deliveries import DocumentRecord, insert_document, insert_documents, load_documented_action_ids
from dunning.store.letter_actions import cancel_planned_action, fail_planned_action
from dunning.store.locks import holding_stage_lock
from dunning.store.plan_freeze import load_frozen_spans
from dunning.usecases.letters.data import (
    LETTER_CHANNELS,
    CaseData,
    LetterBuildError,
    case_data,
    has_postal_address,
    letter_data_for,
)
from dunning.usecases.letters.interest import charge_interest_to_date, interest_to_date
from dunning.usecases.letters.plan_letters import is_plan_letter
from dunning.usecases.outgoing.due import DueAction, due_action_ids, load_due_actions
from dunning.usecases.outgoing.secrets import Secrets, load_secrets
from dunning.usecases.outgoing.stale import flow_minimums, no_longer_owed
from dunning.usecases.planning.rates import workspace_rates
from dunning.usecases.plans.held_messages import held_plan_action
from dunning.workspace import Workspace

__all__ = ["DOCUMENT_KIND", "LetterProblem", "LetterRun", "render_letters", "unrendered_letter_ids"]

log = logging.getLogger(__name__)

DOCUMENT_KIND = "letter"


@dataclass(frozen=True, slots=True)
class LetterProblem:
    """A letter that was not rendered: which action and case, and why (no personal data)."""

    action_id: int
    case_id: int
    reason: str

    def __str__(self) -> str:
        return f"letter action {self.action_id} (case {self.case_id}): {self.reason}"


@dataclass
class LetterRun:
    """What one ``render_letters`` did (counts and problems; never names or addresses)."""

    run_date: date
    due: int = 0
    rendered: int = 0
    pages: int = 0
    bytes: int = 0
    cancelled: int = 0
    waiting: int = 0
    no_address: int = 0
    problems: list[LetterProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # about the run, not one letter (a brand rendered slowly)

    @property
    def failed(self) -> int:
        return len(self.problems)

    def summary(self) -> dict[str, Any]:
        return {
            "run_date": self.run_date.isoformat(), "due": self.due, "rendered": self.rendered,
            "failed": self.failed, "pages": self.pages, "bytes": self.bytes, "cancelled": self.cancelled,
            "waiting": self.waiting, "no_address": self.no_address, "problems": [str(p) for p in self.problems],
            "notes": list(self.notes),
        }


# -- rendering ------------------------------------------------------------------------------------------


def _unrendered_ids(conn: Connection, run_date: date) -> list[int]:
    ids = sorted({i for channel in LETTER_CHANNELS for i in due_action_ids(conn, channel, run_date)})
    done: set[int] = set()
    for start in range(0, len(ids), 500):
        done |= load_documented_action_ids(conn, ids[start:start + 500])
    return [i for i in ids if i not in done]


def unrendered_letter_ids(store: Store, run_date: date) -> list[int]:
    """Ids of the planned letter actions due on or before ``run_date`` without a document yet."""
    with store.begin() as conn:
        return _unrendered_ids(conn, run_date)


def _fail_action(conn: Connection, due: DueAction, reason: str, run_date: date, now: datetime) -> None:
    """No way to post it: the action fails and the next run plans its fallback (as messaging does)."""
    fail_planned_action(conn, due.action_pk, run_date)
    insert_case_event(
        conn, case_id=due.case_id, on_date=run_date, kind="delivery_failed",
        detail={"ref": due.key, "channel": due.channel, "action": due.action, "reason": f"letter failed: {reason}"},
        source=f"render:{due.channel}", recorded_at=now,
    )


_LETTER_ID = re.compile(r"^letter '(\d+)': ")


def _problem_ids(problems: Sequence[str]) -> Iterator[tuple[int | None, str]]:
    for text in problems:
        match = _LETTER_ID.match(text)
        yield (int(match.group(1)), text[match.end():]) if match else (None, text)


# Verdicts of dunning.letters.check.check_brand in this process, by brand fingerprint.
_BRAND_VERDICTS: dict[str, list[str]] = {}


def _brands_in_one_pass(workspace: Workspace, brands: set[str], run: LetterRun) -> frozenset[str]:
    """The workspace's own brands whose batch letters would differ from their previews.

    Such a brand's CSS breaks a rule the fast path relies on (README: designing a brand); its
    letters are then rendered in one pass: slower, but exactly what a preview shows. Each brand
    is checked once per change of its files (the verdict is kept in output/brand-checks.json);
    the shipped brands are checked by the test suite.
    """
    from dunning.letters.batch import DEFAULT_TEMPLATES_DIR
    from dunning.letters.check import brand_fingerprint, check_brand

    layouts = _layouts_dir(workspace)
    if layouts is None:
        return frozenset()
    record = workspace.output_dir / "brand-checks.json"
    try:
        saved: dict[str, list[str]] = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        saved = {}
    slow = set()
    for brand in sorted(b for b in brands if (layouts / b / "brand.yaml").is_file()):
        key = brand_fingerprint(layouts / brand, DEFAULT_TEMPLATES_DIR)
        verdict = _BRAND_VERDICTS.get(key, saved.get(key))
        if verdict is None:
            from dunning.letters import LetterRenderer  # WeasyPrint: only to check a changed brand

            renderer = LetterRenderer(layouts_dir=layouts)
            verdict = [f"{p.kind} {p.language}: {p.message}" for p in check_brand(brand, renderer)]
            saved[key] = verdict
            write_atomic(record, json.dumps(saved, indent=1).encode("utf-8"))
        _BRAND_VERDICTS[key] = verdict
        if verdict:
            slow.add(brand)
            note = (f"brand {brand!r}: its CSS makes batch letters differ from previews ({verdict[0]}); its letters "
                    f"are rendered in one pass, slower but exact. Run `dunning brand-check {brand}`.")
            if note not in run.notes:  # once per run, not once per load
                run.notes.append(note)
    return frozenset(slow)


def _layouts_dir(workspace: Workspace) -> Path | None:
    own = workspace.root / "layouts"
    return own if (own / workspace.config.brand / "brand.yaml").is_file() else None


@holding_stage_lock("letters")
def render_letters(store: Store, workspace: Workspace, run_date: date, *, workers: int | None = None,
                   chunk_size: int | None = None, env: Mapping[str, str] | None = None,
                   recorded_at: datetime | None = None, action_ids: Sequence[int] | None = None,
                   progress: Progress | None = None) -> LetterRun:
    """Render every due, planned, not yet rendered letter action; see the module docstring.

    ``workers`` rendering processes (default: all cores; 1 renders in this process), ``chunk_size``
    letters per rendered chunk (one WeasyPrint document; default
    :data:`dunning.letters.batch.CHUNK_SIZE`, where it is fastest).
    ``action_ids`` limits the run to these actions (a pipeline maps chunks of
    :func:`unrendered_letter_ids` over tasks); they are still checked to be due, planned and unrendered.
    ``progress(done, total)`` is called as letters are settled (rendered, failed or skipped), out of the
    letters due.

    Raises ConfigError for a missing pay-link secret or brand; a problem with one letter is
    reported in ``LetterRun.problems`` and the others go on. Re-running renders nothing new.
    """
    from dunning.letters.batch import CHUNK_SIZE
    from dunning.letters.parallel import RenderPool

    chunk_size = CHUNK_SIZE if chunk_size is None else chunk_size
    if chunk_size < 1:
        raise ConfigError("chunk_size must be at least 1")
    now = recorded_at or datetime.now(UTC)
    run = LetterRun(run_date)
    secrets = load_secrets(workspace, env)
    folder = workspace.output_dir / "letters" / run_date.isoformat()
    with store.begin() as conn:
        ids = _unrendered_ids(conn, run_date)
    if action_ids is not None:
        wanted = set(action_ids)
        ids = [i for i in ids if i in wanted]
    run.due = len(ids)
    settled = 0

    def settle(count: int) -> None:
        nonlocal settled
        settled = min(run.due, settled + count)
        if progress is not None:
            progress(settled, run.due)

    settle(0)
    # Letters are built ``load_size`` at a time (memory stays flat) and each load is cut in chunks of
    # ``chunk_size`` for the workers. One pool of workers serves the whole run, fed lazily: the next load
    # is built while the workers render the previous one, and each worker lays out its forms and shared
    # blocks once per run, not once per load.
    workers = workers or os.cpu_count() or 1
    load_size = chunk_size * workers * 4
    minimums = flow_minimums(workspace.flows_dir) if ids else {}  # the flows are read when a letter is due
    rules = _Rules(secrets, pack_selector(workspace_rates(workspace)), minimums)
    owner: dict[str, DueAction] = {}  # letter id -> its action, until its chunk is recorded
    deadline_of: dict[str, date | None] = {}

    def chunks() -> Iterator[tuple[list[LetterData], frozenset[str]]]:
        for start in range(0, len(ids), load_size):
            letters = _build_letters(store, workspace, ids[start:start + load_size], run, run_date, now, rules)
            settle(min(load_size, len(ids) - start) - len(letters))  # cancelled, waiting, no address, not built
            for letter in letters:
                owner[letter.data.letter_id] = letter.due
                deadline_of[letter.data.letter_id] = letter.data.legal.deadline
            one_pass = _brands_in_one_pass(workspace, {letter.data.brand for letter in letters}, run)
            for first in range(0, len(letters), chunk_size):
                yield [letter.data for letter in letters[first:first + chunk_size]], one_pass

    with RenderPool(workers=workers, layouts_dir=_layouts_dir(workspace)) as pool:
        for result in pool.render(chunks()):
            refused: list[tuple[DueAction, str]] = []
            for letter_id, reason in _problem_ids(result.problems):
                bad = owner.pop(str(letter_id), None) if letter_id is not None else None
                deadline_of.pop(str(letter_id), None)
                run.problems.append(LetterProblem(bad.action_pk if bad else 0, bad.case_id if bad else 0, reason))
                if bad is not None and str(letter_id) in result.unprintable:
                    refused.append((bad, reason))
            if refused:  # it would print clipped: the action fails, the case says why, a person fixes the address
                with store.begin() as conn:
                    for bad_due, why in refused:
                        _fail_action(conn, bad_due, why, run_date, now)
            pdfs = result.split() if result.letters else {}
            rendered: list[DocumentRecord] = []
            deadlines: dict[int, dict[str, Any]] = {}
            files: list[tuple[Path, bytes]] = []
            for placed in result.letters:
                due = owner.pop(placed.letter_id)
                pdf = pdfs[placed.letter_id]
                path = folder / f"{due.action_pk}.pdf"
                files.append((path, pdf))
                rendered.append(DocumentRecord(
                    action_id=due.action_pk, kind=DOCUMENT_KIND, path=path.relative_to(workspace.root).as_posix(),
                    sha256=hashlib.sha256(pdf).hexdigest(), pages=placed.page_count, recorded_at=now))
                run.pages += placed.page_count
                run.bytes += len(pdf)
                deadline = deadline_of.pop(placed.letter_id, None)
                if deadline is not None:  # the one deadline of the action, for its timeline and the pay page
                    deadlines[due.action_pk] = {**due.detail, "deadline": deadline.isoformat()}
            write_atomic_many(files)  # the chunk's PDFs on disk (durable) before their documents are recorded
            _record_documents(store, rendered, deadlines)
            run.rendered += len(rendered)
            settle(len(result.letters) + len(result.problems))
    settle(run.due)
    log.info("letters %s: %d due, %d rendered (%d pages), %d failed, %d without address", run_date, run.due,
             run.rendered, run.pages, run.failed, run.no_address)
    return run


@dataclass(frozen=True, slots=True)
class _Built:
    """A letter to render and the action it is for."""

    data: LetterData
    due: DueAction


@dataclass(frozen=True, slots=True)
class _Rules:
    """What building a letter needs besides its action and case, read once per run."""

    secrets: Secrets
    select: Callable[[str, str], LegalPack]
    minimums: Mapping[tuple[str, int], Decimal]  # flow_minimums(): a case's least amount for a letter


def _build_letters(store: Store, workspace: Workspace, chunk_ids: Sequence[int], run: LetterRun, run_date: date,
                   now: datetime, rules: _Rules) -> list[_Built]:
    """One load of letters, in one transaction: closed cases cancel, paid ones cancel, held ones wait,
    letters without postal address fail their action, interest is brought up to the letter's date."""
    select, minimums = rules.select, rules.minimums
    creditor_country = workspace.config.creditor.address.country
    letters: list[_Built] = []
    with store.begin() as conn:
        due_list = load_due_actions(conn, chunk_ids, workspace.config.creditor.language)
        by_case = case_data(conn, sorted({d.case_id for d in due_list}))
        for due in due_list:
            if due.case_status == "closed":
                cancel_planned_action(conn, due.action_pk, run_date)
                run.cancelled += 1
                continue
            if due.case_status == "on_hold" and not _plan_letter_goes(conn, due, run_date, run):
                continue
            if no_longer_owed(due, run_date, minimums) is not None:  # paid (in part) since it was planned
                cancel_planned_action(conn, due.action_pk, run_date)
                run.cancelled += 1
                continue
            case = by_case[due.case_id]
            if not has_postal_address(case):
                _fail_action(conn, due, "the debtor has no postal address", run_date, now)
                run.no_address += 1
                continue
            if case.interest_costs and due.action not in _NO_INTEREST and not is_plan_letter(due.action):
                case = _interest_up_to(conn, due, case, select(case.country or creditor_country,
                                                               "consumer" if case.consumer else "business"),
                                       run_date, now)
                by_case[due.case_id] = case
            try:
                letter = letter_data_for(due, case, workspace, rules.secrets, run_date, due.detail)
            except LetterBuildError as exc:
                run.problems.append(LetterProblem(due.action_pk, due.case_id, str(exc)))
                continue
            letters.append(_Built(letter, due))
    return letters


def _plan_letter_goes(conn: Connection, due: DueAction, run_date: date, run: LetterRun) -> bool:
    """A letter of a case on hold: only a plan letter goes, under the plan's own hold (else it waits or is
    cancelled as its email would be: :mod:`dunning.domain.plans.holds`)."""
    if not is_plan_letter(due.action):
        run.waiting += 1
        return False
    verdict = held_plan_action(conn, action_pk=due.action_pk, case_id=due.case_id, action=due.action,
                               detail=due.detail, run_date=run_date)
    if verdict == HeldMessage.WAIT:
        run.waiting += 1
    elif verdict == HeldMessage.CANCEL:
        run.cancelled += 1
    return verdict == HeldMessage.SEND


#: letters that claim nothing: their interest is not brought up to date
_NO_INTEREST = ("thank_you", "payment_plan_offer")


def _interest_up_to(conn: Connection, due: DueAction, case: CaseData, pack: LegalPack, run_date: date,
                    now: datetime) -> CaseData:
    """The case with its interest charged up to the letter's date (:mod:`dunning.usecases.letters.interest`)."""
    frozen = load_frozen_spans(conn, [due.case_id]).get(due.case_id, ())
    extra = interest_to_date(case.interest_costs, {i.number: i.open_amount for i in case.invoices}, pack, run_date,
                             frozen)
    if extra is None or not charge_interest_to_date(conn, letter_key=due.key, case_id=due.case_id, day=run_date,
                                                    extra=extra, recorded_at=now):
        return case
    return case_data(conn, [due.case_id])[due.case_id]


def _record_documents(store: Store, rendered: list[DocumentRecord],
                      deadlines: Mapping[int, Mapping[str, Any]]) -> None:
    if not rendered:
        return
    try:
        with store.begin() as conn:
            insert_documents(conn, rendered)
            write_action_details(conn, deadlines)
    except IntegrityError:
        # Another renderer recorded some of them meanwhile: record the others one by one.
        for document in rendered:
            try:
                with store.begin() as conn:
                    insert_document(conn, document)
                    if document.action_id in deadlines:
                        write_action_details(conn, {document.action_id: deadlines[document.action_id]})
            except IntegrityError:
                continue
    except Exception as exc:  # pragma: no cover - the store went away
        raise StoreError(f"cannot record {len(rendered)} letter documents: {exc}") from exc
