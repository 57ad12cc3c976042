"""Direct debit for plans: capture a mandate, and collect due instalments in pain.008 files, once each.

:func:`capture_mandate` records the debtor's signed SEPA Core mandate on an active plan (a person
enters it: ``dunning plans mandate``; capture on the pay page is a later slice).

:func:`collect` makes the collection files of a day, in three steps so nothing is lost or doubled:

1. **claim** (one transaction): the instalments due for collection (:func:`~dunning.domain.plans.
   mandate.due_collections`) are grouped by collection date; each group becomes a pain.008 document,
   built and validated in memory, and is stored as a ``sepa_files`` row (with its content) together
   with one ``sepa_collections`` row per instalment, which is unique per plan and instalment: an
   instalment is never claimed twice, whatever happens after;
2. **write**: every file not yet written goes to ``output/sepa/<name>.xml`` atomically (``.part``,
   then a rename); a file already there with the stored SHA-256 is recognised and kept (the run
   before crashed after writing it, before recording that);
3. **deliver** (when ``bank.outbox`` names a transport, e.g. ``sftp://bank/upload``): uploaded
   atomically through it, unless the bank's folder already holds it with the same SHA-256.

A crash between any two steps leaves rows the next run finishes; a re-run with nothing new due
writes nothing.
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import holidays
from sqlalchemy import Connection

from dunning.adapters.transport import transport_for
from dunning.bank.pain008 import DebitLine, Pain008Creditor, build_pain008
from dunning.config import Config
from dunning.domain.plans.mandate import (
    Collection,
    Mandate,
    checked_mandate_reference,
    creditor_identifier,
    debtor_iban,
    due_collections,
    mandate_reference,
)
from dunning.domain.plans.model import ArrangementStatus, PlanError
from dunning.errors import ConfigError, NotFound
from dunning.ports import Transport
from dunning.store import Store
from dunning.store.cases import find_case, insert_case_event
from dunning.store.locks import holding_stage_lock
from dunning.store.mandates import (
    StoredFile,
    collected_instalments,
    debtor_name_of_case,
    files_named_like,
    insert_file,
    insert_mandate,
    load_mandate,
    mandate_used,
    mark_file,
    unfinished_files,
)
from dunning.store.plans import StoredPlan, load_plan, load_plans, open_plan_of_case
from dunning.workspace import Workspace

__all__ = [
    "CollectResult",
    "CollectedFile",
    "capture_mandate",
    "collect",
    "open_bank_outbox",
    "sepa_dir",
    "target_closed_days",
]


def sepa_dir(root: Path) -> Path:
    """Where collection files are written in the workspace."""
    return root / "output" / "sepa"


def target_closed_days(around: date) -> frozenset[date]:
    """The TARGET2 closing days (New Year, Good Friday, Easter Monday, 1 May, 25/26 December) near ``around``."""
    calendar = holidays.financial_holidays("XECB", years=range(around.year - 1, around.year + 2))
    return frozenset(calendar.keys())


def _resolve_plan(conn: Connection, ident: str) -> StoredPlan:
    stored = load_plan(conn, ident)
    if stored is None:
        case = find_case(conn, ident)
        key = None if case is None else open_plan_of_case(conn, case.case_id)
        stored = None if key is None else load_plan(conn, key)
    if stored is None:
        raise NotFound(f"no plan or case with an open plan {ident!r}")
    return stored


def capture_mandate(
    store: Store,
    ident: str,
    *,
    iban: str,
    signed_on: date,
    today: date,
    config: Config,
    captured_by: str,
    consent_source: str = "paper",
    reference: str | None = None,
    bic: str | None = None,
    account_holder: str | None = None,
    recorded_at: datetime | None = None,
) -> Mandate:
    """Record the SEPA mandate signed for the plan ``ident`` (a plan key, or a case with an active plan).

    Refused when no creditor identifier is configured, the IBAN or reference is not valid, the
    signature is in the future, the plan is not active or already has a mandate.
    """
    if config.creditor.sepa_creditor_id is None:
        raise ConfigError("dunning.yaml: creditor.sepa_creditor_id: required for direct debit (e.g. BE68ZZZ0123456789)")
    creditor_identifier(config.creditor.sepa_creditor_id)
    account = debtor_iban(iban)
    if signed_on > today:
        raise PlanError(f"the mandate cannot be signed after today ({signed_on} > {today})")
    with store.begin() as conn:
        stored = _resolve_plan(conn, ident)
        plan = stored.plan
        if plan.status != ArrangementStatus.ACTIVE:
            raise PlanError(f"plan {plan.plan_id} is {plan.status.value}: a mandate needs an active plan")
        existing = load_mandate(conn, plan_key=plan.plan_id)
        if existing is not None:
            raise PlanError(f"plan {plan.plan_id} already has mandate {existing.reference}")
        ref = checked_mandate_reference(reference) if reference else mandate_reference(plan.plan_id)
        if load_mandate(conn, reference=ref) is not None:
            raise PlanError(f"mandate reference {ref} is already used")
        name = account_holder or debtor_name_of_case(conn, stored.case_id) or ""
        mandate = Mandate(
            reference=ref,
            plan_id=plan.plan_id,
            iban=account,
            debtor_name=name[:140],
            signed_on=signed_on,
            text_version=config.sepa.mandate_text_version,
            consent_source=consent_source,
            bic=bic,
        )
        moment = recorded_at or datetime.now(UTC)
        insert_mandate(conn, mandate, stored.case_id, captured_by, moment)
        insert_case_event(
            conn,
            case_id=stored.case_id,
            on_date=today,
            kind="mandate_signed",
            detail={
                "plan": plan.plan_id,
                "mandate": ref,
                "account": f"…{account[-4:]}",
                "signed_on": signed_on.isoformat(),
                "reason": f"SEPA direct debit mandate {ref} signed {signed_on.isoformat()} "
                f"(text version {mandate.text_version}, {consent_source}): instalments are collected",
            },
            source=f"plan:{plan.plan_id}",
            recorded_at=moment,
        )
    return mandate


@dataclass(frozen=True, slots=True)
class CollectedFile:
    name: str
    collection_date: date
    count: int
    control_sum: Decimal
    status: str  # prepared, written, delivered
    path: Path


@dataclass
class CollectResult:
    """What a run made (new files) and finished (files an earlier run had claimed)."""

    made: list[CollectedFile] = field(default_factory=list)
    finished: list[CollectedFile] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _creditor(config: Config) -> Pain008Creditor:
    creditor_id = config.creditor.sepa_creditor_id
    if creditor_id is None:
        raise ConfigError("dunning.yaml: creditor.sepa_creditor_id: required for direct debit (e.g. BE68ZZZ0123456789)")
    if config.sepa.pain_version == "pain.008.001.02" and not config.creditor.bic:
        raise ConfigError("dunning.yaml: creditor.bic: pain.008.001.02 needs the creditor's BIC")
    return Pain008Creditor(config.creditor.name, config.creditor.iban, creditor_id, config.creditor.bic)


def _claim(store: Store, config: Config, today: date, moment: datetime) -> list[int]:
    """Step 1: claim the due instalments and store one file per collection date; returns the file ids."""
    closed = target_closed_days(today)
    made: list[int] = []
    with store.begin() as conn:
        by_date: dict[date, list[tuple[Collection, Mandate, int, str]]] = defaultdict(list)
        for stored in load_plans(conn, status=ArrangementStatus.ACTIVE.value):
            mandate = load_mandate(conn, plan_key=stored.plan.plan_id)
            if mandate is None:
                continue
            found = due_collections(
                stored.plan,
                mandate,
                today=today,
                collected=collected_instalments(conn, stored.plan.plan_id),
                mandate_used=mandate_used(conn, mandate.reference),
                lead_days=config.sepa.lead_days,
                prenotification_days=config.sepa.prenotification_days,
                days_ahead=config.sepa.days_ahead,
                closed=closed,
            )
            for item in found:
                by_date[item.collection_date].append((item, mandate, stored.case_id, stored.plan.currency))
        creditor = _creditor(config) if by_date else None
        for on, items in sorted(by_date.items()):
            assert creditor is not None
            prefix = f"DD{today:%Y%m%d}-{on:%Y%m%d}-"
            message_id = f"{prefix}{files_named_like(conn, prefix) + 1}"
            lines = [
                DebitLine(
                    end_to_end_id=c.end_to_end_id,
                    amount=c.amount,
                    currency=currency,
                    sequence=c.sequence.value,
                    collection_date=c.collection_date,
                    mandate_reference=m.reference,
                    signed_on=m.signed_on,
                    debtor_name=m.debtor_name,
                    debtor_iban=m.iban,
                    remittance=f"{c.reference} instalment {c.number}",
                    debtor_bic=m.bic,
                )
                for c, m, _, currency in items
            ]
            xml = build_pain008(creditor, lines, message_id=message_id, created_at=moment,
                                version=config.sepa.pain_version)
            made.append(
                insert_file(
                    conn,
                    name=f"{message_id}.xml",
                    message_id=message_id,
                    collection_date=on,
                    made_on=today,
                    content=xml,
                    sha256=hashlib.sha256(xml).hexdigest(),
                    items=[(c, m.reference, case_id, currency) for c, m, case_id, currency in items],
                    recorded_at=moment,
                )
            )
    return made


def _write_local(folder: Path, item: StoredFile) -> bool:
    """Step 2: write the file atomically; False when it is already there with the same content."""
    target = folder / item.name
    data = item.content.encode("utf-8")
    if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == item.sha256:
        return False
    folder.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    with part.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(part, target)
    return True


def _deliver(transport: Transport, item: StoredFile) -> None:
    """Step 3: upload through the bank's transport unless it already holds the same file."""
    if transport.stat(item.name) is not None and transport.sha256(item.name) == item.sha256:
        return
    transport.put_bytes(item.content.encode("utf-8"), item.name)


def open_bank_outbox(workspace: Workspace) -> Transport:
    """The bank's transport for collection files, as ``bank.outbox`` (with the bank's key and host checks) says."""
    config = workspace.config.bank
    if config.outbox is None:
        raise ConfigError("dunning.yaml: bank.outbox: not set")
    return transport_for(config.outbox, config, workspace)


@holding_stage_lock("collect")
def collect(
    store: Store,
    workspace: Workspace,
    *,
    today: date,
    open_outbox: Callable[[], Transport] | None = None,
    recorded_at: datetime | None = None,
) -> CollectResult:
    """Make the day's collection files and finish any an earlier run left (see the module docstring).

    ``open_outbox`` opens the bank's transport; by default :func:`open_bank_outbox` when ``bank.outbox``
    is set, else the files stay in ``output/sepa/``.
    """
    config = workspace.config
    if open_outbox is None and config.bank.outbox is not None:
        open_outbox = lambda: open_bank_outbox(workspace)  # noqa: E731
    moment = recorded_at or datetime.now(UTC)
    new_ids = set(_claim(store, config, today, moment))
    folder = sepa_dir(workspace.root)
    result = CollectResult()
    with store.begin() as conn:
        pending = unfinished_files(conn, delivering=open_outbox is not None)
    transport = open_outbox() if open_outbox is not None and pending else None
    try:
        for item in pending:
            status = item.status
            if status == "prepared":
                _write_local(folder, item)
                with store.begin() as conn:
                    mark_file(conn, item.id, "written")
                status = "written"
            if transport is not None:
                _deliver(transport, item)
                with store.begin() as conn:
                    mark_file(conn, item.id, "delivered", transport.url)
                status = "delivered"
            done = CollectedFile(item.name, item.collection_date, item.count, item.control_sum, status,
                                 folder / item.name)
            (result.made if item.id in new_ids else result.finished).append(done)
    finally:
        if transport is not None:
            transport.close()
    return result
