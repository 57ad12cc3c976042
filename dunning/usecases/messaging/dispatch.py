"""Dispatch the planned emails and SMS of a night, exactly once, and record what became of them.

::

    result = dispatch_messages(store, workspace, date(2026, 11, 24), now=datetime.now(UTC))
    result.summary()   # sent / failed / deferred per channel

Which actions: those the planner recorded as ``planned`` on the ``email`` or ``sms`` channel
(``send_email``, ``send_sms``, ``send_final_notice`` by email, ``send_pay_link``, ``thank_you``,
``payment_plan_offer``...) whose ``due_on`` is on or before the run date, oldest first. Each one
becomes a message (:mod:`dunning.usecases.messaging.compose`) sent through the transport of
``email.transport`` / ``sms.transport`` (``file://`` writes ``.eml`` files / JSON lines in the
workspace; ``smtp://``, ``smpp://``, ``https://`` talk to the real thing).

**Exactly once, with a window of one message.** Every message has a delivery row keyed
``<action key>:<channel>`` (unique); its ``external_id`` is the short action token that VERP
addresses, Message-IDs and SMS client references carry, so bounces and receipts find it. Due
actions are loaded, checked and built ``chunk_size`` at a time (memory stays flat however large the
night); then the chunk's messages are handed to the transport one at a time:

1. just before a message is handed over, its delivery is recorded as ``sending`` and committed
   (with the Message-ID or SMS client reference, the send day and, for email, the Date used);
2. the transport sends that one message;
3. right after the server answered, its result is committed, in the same transaction as the
   ``sending`` mark of the next message (n messages cost n + 1 commits): ``sent`` (the action
   becomes ``sent`` with ``outcome_on`` = the run date, the day legal periods count from; the case
   gets a ``message_sent`` event and the message's fee, if any:
   :mod:`dunning.usecases.outgoing.fees`), ``failed`` (permanent: the action becomes ``failed``
   with ``outcome_on`` and a ``delivery_failed`` event, so the next ``dunning run`` plans the
   step's fallback), or ``deferred`` (transient: the action stays ``planned`` and the next
   dispatch tries again, counting the attempt; after ``max_attempts`` it counts as failed).

Messages built but not yet handed over have no ``sending`` row, so a crash (a kill, a power cut)
leaves at most **one** delivery ``sending``: the one in flight. The next dispatch resolves it before
anything else is sent for that action, by sending the *same* message again (same bytes: the Date
and the send day, which the pay-by date and the pay link count from, are taken from the
``sending`` row, and every other part is deterministic given the case: a payment booked between
the crash and the re-send changes the amount in it, not its Message-ID; the row is flagged ``resent_after_crash`` so
a later try, after a deferral, still sends these bytes). ``pending`` rows left by earlier versions,
which marked a whole chunk before sending it, are treated the same way.

* ``file://`` transports look before they write (the ``.eml`` named after the Message-ID exists,
  or the client reference is already in ``outbox.jsonl``), so nothing is written twice;
* SMTP re-sends the one message. We accept this because it is byte-identical with the same
  ``Message-ID``, which receiving systems use to drop duplicates; the alternative (marking it
  sent) could lose a legal reminder, which is worse than one duplicate in a rare crash window;
* an HTTP SMS gateway gets the same ``Idempotency-Key`` (the client reference) and does not send
  twice; SMPP has no such key, so a crash in that window may send that one SMS twice, with the
  same client reference.

One dispatcher per workspace at a time: two concurrent dispatchers would both re-send a
``sending`` row (the unique delivery key stops them from both starting a new one: the second
stops with a StoreError).

**Guards.** A reminder of a case that was closed in the meantime is ``cancelled`` (a thank-you
still goes), and so is one no longer owed (:mod:`dunning.usecases.outgoing.stale`), also when an
earlier try was deferred (that delivery becomes ``cancelled``); a case on hold waits; a debtor
without (valid) email or phone fails the action so its fallback follows; an SMS outside the
recipient country's send window (quiet hours) waits for a later dispatch. A missing template is
reported and the action stays planned.

``progress(done, total)``, when given, is called as the due actions are dealt with (the CLI
draws a bar from it). After the SMS chunks, delivery receipts are read where the transport has
them (SMPP receipts on the same bind for up to ``receipt_wait`` seconds; HTTP gateways are polled
for every SMS still ``sent``) and applied by :func:`dunning.usecases.messaging.feedback.apply_delivery_reports`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from dunning.adapters.sms import SmsTransport
from dunning.adapters.smtp import EmailTransport
from dunning.channels.email import EmailSettings, OutgoingEmail, build_email
from dunning.channels.quiet_hours import QuietHours, next_allowed_send
from dunning.channels.sms import SmsMessage, SmsSettings, build_sms
from dunning.domain.plans.holds import HeldMessage
from dunning.domain.promise import is_promise_reminder
from dunning.errors import ConfigError, DeliveryError, PermanentDeliveryError, StoreError
from dunning.ports import DeliveryStatus, Progress, SendResult, SmsSendResult
from dunning.store import Store
from dunning.store.actions import load_action_ids_with_amount, mark_planned_action, write_action_detail
from dunning.store.cases import insert_case_event
from dunning.store.deliveries import (
    SENDING_STATES,
    DeliveryRecord,
    NewDelivery,
    cancel_deferred_delivery,
    insert_deliveries,
    load_deliveries_by_key,
    mark_delivery_sending,
    mark_sending_delivery,
    record_delivery_failed,
)
from dunning.store.locks import holding_stage_lock
from dunning.store.reminders import ReminderRecord, load_reminders
from dunning.usecases.messaging.compose import (
    brand_for,
    compose_email,
    compose_sms,
    email_settings,
    message_notice,
    sms_settings,
    templates_dir_for,
)
from dunning.usecases.messaging.feedback import (
    ReceiptResult,
    apply_delivery_reports,
    mark_email_invalid,
    outstanding_sms_ids,
)
from dunning.usecases.messaging.transports import CHANNELS, open_channel_transport, redact
from dunning.usecases.outgoing.due import DueAction, due_action_ids, load_due_actions
from dunning.usecases.outgoing.fees import WENT_OUT, book_message_fee
from dunning.usecases.outgoing.notices import NOTICE_ACTIONS
from dunning.usecases.outgoing.secrets import Secrets, load_secrets
from dunning.usecases.outgoing.stale import flow_minimums, no_longer_owed
from dunning.usecases.plans.bot import AFTER_CLOSE, PLAN_ACTIONS
from dunning.usecases.plans.held_messages import held_plan_message
from dunning.workspace import Workspace

__all__ = ["ChannelSummary", "DispatchResult", "dispatch_messages"]

log = logging.getLogger(__name__)



#: ``detail`` flag of a delivery that was left ``sending`` by a crash: it may have gone out, so every
#: later try (after a deferral too) sends the very same bytes.
RESENT_AFTER_CRASH = "resent_after_crash"


@dataclass
class ChannelSummary:
    """What one dispatch did on one channel (counts only: no personal data)."""

    channel: str
    due: int = 0
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    cancelled: int = 0
    errors: int = 0
    recovered: int = 0
    delivered: int = 0
    undelivered: int = 0


@dataclass(frozen=True)
class DispatchResult:
    """Per-channel counts and the problems (one line each, naming action and case, never the debtor)."""

    run_date: date
    channels: tuple[ChannelSummary, ...]
    problems: tuple[str, ...] = ()
    not_sent: int = 0  # messages the server did not accept this time (retried by the next dispatch; exit code 6)

    def channel(self, name: str) -> ChannelSummary:
        for summary in self.channels:
            if summary.channel == name:
                return summary
        return ChannelSummary(name)

    def rows(self) -> list[dict[str, Any]]:
        return [asdict(summary) for summary in self.channels]

    def summary(self) -> dict[str, Any]:
        return {"run_date": self.run_date.isoformat(), "channels": self.rows(), "problems": list(self.problems)}


@dataclass
class _Outgoing:
    due: DueAction
    message: OutgoingEmail | SmsMessage
    detail: dict[str, Any]
    existing: DeliveryRecord | None

    @property
    def delivery_key(self) -> str:
        return f"{self.due.key}:{self.due.channel}"


@dataclass
class _Run:
    store: Store
    run_date: date
    now: datetime
    summary: ChannelSummary
    problems: list[str] = field(default_factory=list)
    not_sent: int = 0

    def problem(self, due: DueAction, text: str) -> None:
        self.problems.append(f"{due.channel} action {due.action_pk} (case {due.case_id}, {due.action}): "
                             f"{redact(text)}")


def _event(conn: Connection, due: DueAction, kind: str, detail: dict[str, Any], run: _Run) -> None:
    insert_case_event(conn, case_id=due.case_id, on_date=run.run_date, kind=kind, detail=detail,
                      source=f"dispatch:{due.channel}", recorded_at=run.now)


def _fail(conn: Connection, due: DueAction, reason: str, run: _Run, *, exists: bool,
          detail: dict[str, Any] | None = None) -> None:
    """A permanent failure: delivery failed, action failed (fallback follows), ``delivery_failed`` event."""
    key = f"{due.key}:{due.channel}"
    failure = {**(detail or {}), "error": reason}
    if exists:
        record_delivery_failed(conn, key, detail=failure, recorded_at=run.now)
    else:
        insert_deliveries(conn, [NewDelivery(key, due.action_pk, due.channel, "failed", attempts=0,
                                             external_id=due.token_id, detail=failure, recorded_at=run.now)])
    mark_planned_action(conn, due.action_pk, status="failed", outcome_on=run.run_date)
    _event(conn, due, "delivery_failed", {"ref": due.key, "channel": due.channel, "action": due.action,
                                          "reason": f"{due.channel} failed: {redact(reason)}"}, run)
    run.summary.failed += 1
    run.problem(due, reason)


def _may_be_out(existing: DeliveryRecord | None) -> bool:
    """Handed to its transport, it may have gone (left ``sending``, or re-sent after a crash): same bytes again."""
    return existing is not None and (existing.status in SENDING_STATES or bool(existing.detail.get(RESENT_AFTER_CRASH)))


def _repair(conn: Connection, due: DueAction, existing: DeliveryRecord, run: _Run) -> bool:
    """A delivery already final while its action still says planned: bring the action in line."""
    if existing.status in ("sent", "delivered"):
        sent_on = existing.detail.get("sent_on")
        mark_planned_action(conn, due.action_pk, status=existing.status,
                            outcome_on=date.fromisoformat(sent_on) if sent_on else run.run_date)
        book_message_fee(conn, due.action_pk, on_date=run.run_date, recorded_at=run.now,
                         source=f"dispatch:{due.channel}")
        run.summary.recovered += 1
        return True
    if existing.status == "failed":
        mark_planned_action(conn, due.action_pk, status="failed", outcome_on=run.run_date)
        run.summary.recovered += 1
        return True
    return False


@dataclass(frozen=True)
class _Builder:
    """Builds one channel's messages; ``build`` raises PermanentDeliveryError or ConfigError."""

    channel: str
    workspace: Workspace
    secrets: Secrets
    templates: Path
    email: EmailSettings | None
    sms: SmsSettings | None
    minimums: Mapping[tuple[str, int], Decimal] = field(default_factory=dict)  # the flows' minimum_amount

    def build(self, due: DueAction, existing: DeliveryRecord | None, run: _Run,
              reminders: tuple[ReminderRecord, ...] = ()) -> tuple[OutgoingEmail | SmsMessage, dict[str, Any]]:
        # A sending row means the message may have gone out: build the very same one again (same
        # Date header, same pay-by date and pay link), also when that re-send was deferred since. A
        # deferred one that never was uncertain surely did not go: it is new today.
        uncertain = _may_be_out(existing)
        previous = dict(existing.detail) if existing is not None and uncertain else {}
        sent_on = date.fromisoformat(previous["sent_on"]) if "sent_on" in previous else run.run_date
        common = {"token": due.token_id, "action": due.action, "sent_on": sent_on.isoformat()}
        notice = message_notice(due, reminders, sent_on)  # worded by what the debtor received, as letters are
        if self.channel == "email":
            assert self.email is not None
            data, kind = compose_email(due, self.workspace, self.secrets, self.templates, sent_on, notice)
            sent_at = datetime.fromisoformat(previous["sent_at"]) if "sent_at" in previous else run.now
            email = build_email(data, brand_for(self.workspace), self.email, sent_at=sent_at,
                                templates_dir=self.templates)
            common["pay_by"] = data.pay_by.isoformat()  # the action's one deadline, as the email says it
            return email, {**common, "message_id": email.message_id, "template": kind, "language": email.language,
                           "sent_at": sent_at.isoformat(), "attachment": data.attachment is not None}
        assert self.sms is not None
        sms_data, kind = compose_sms(due, self.workspace, self.secrets, self.templates, sent_on, notice)
        sms = build_sms(sms_data, self.sms, templates_dir=self.templates)
        common["pay_by"] = sms_data.pay_by.isoformat()
        return sms, {**common, "client_ref": sms.client_ref, "template": kind, "language": sms_data.locale[:2],
                     "country": sms.country, "segments": sms.segments, "encoding": sms.encoding}


def _prepare(due_list: list[DueAction], builder: _Builder, run: _Run, *, max_attempts: int,
             quiet_hours: Mapping[str, QuietHours] | None, timezone: str) -> list[_Outgoing]:
    """Apply the guards, build the messages; record what is settled without sending."""
    outgoing: list[_Outgoing] = []
    with run.store.begin() as conn:
        existing_by_key = load_deliveries_by_key(conn, [f"{d.key}:{d.channel}" for d in due_list])
        reminders = load_reminders(conn, sorted({d.case_id for d in due_list}), NOTICE_ACTIONS, WENT_OUT)
        for due in due_list:
            existing = existing_by_key.get(f"{due.key}:{due.channel}")
            if existing is not None and _repair(conn, due, existing, run):
                continue
            if due.case_status == "closed" and due.action != "thank_you" and due.action not in AFTER_CLOSE:
                mark_planned_action(conn, due.action_pk, status="cancelled", outcome_on=run.run_date)
                run.summary.cancelled += 1
                continue
            if due.case_status == "on_hold" and due.action in PLAN_ACTIONS:  # its own hold, not the others
                verdict = held_plan_message(conn, due, run.run_date)
                if verdict != HeldMessage.SEND:
                    run.summary.deferred += int(verdict == HeldMessage.WAIT)
                    run.summary.cancelled += int(verdict == HeldMessage.CANCEL)
                    continue
            elif due.case_status == "on_hold" and not is_promise_reminder(due.settings):  # a promise: not its reminder
                run.summary.deferred += 1
                continue
            stale = no_longer_owed(due, run.run_date, builder.minimums)  # paid (in part) since it was planned
            if stale is not None and not _may_be_out(existing):  # a deferred retry too; a sending one goes again
                mark_planned_action(conn, due.action_pk, status="cancelled", outcome_on=run.run_date)
                if existing is not None:
                    cancel_deferred_delivery(conn, existing.delivery_id, reason=stale, recorded_at=run.now)
                run.summary.cancelled += 1
                continue
            if builder.channel == "email" and (not due.email or due.email_invalid):
                _fail(conn, due, "the debtor has no usable email address", run, exists=existing is not None)
                continue
            if builder.channel == "sms" and not due.phone:
                _fail(conn, due, "the debtor has no phone number", run, exists=existing is not None)
                continue
            if existing is not None and existing.status == "deferred" and existing.attempts >= max_attempts:
                last = existing.detail.get("error", "transient failures")
                _fail(conn, due, f"gave up after {existing.attempts} attempts ({last})", run, exists=True)
                continue
            try:
                message, detail = builder.build(due, existing, run, tuple(reminders.get(due.case_id, ())))
            except PermanentDeliveryError as exc:
                _fail(conn, due, str(exc), run, exists=existing is not None)
                continue
            except ConfigError as exc:
                run.summary.errors += 1
                run.problem(due, f"not sent: {exc}")
                continue
            if isinstance(message, SmsMessage):
                allowed = next_allowed_send(run.now, message.country, quiet_hours, timezone)
                if allowed != run.now:
                    run.summary.deferred += 1
                    continue
            outgoing.append(_Outgoing(due, message, detail, existing))
    return outgoing


def _mark_sending(conn: Connection, item: _Outgoing, run: _Run) -> None:
    """Record one message as ``sending`` just before it is handed over (see the module docstring).

    Only this row is uncertain after a crash: the messages built after it have no row yet (or keep
    their ``deferred`` one), so they are not taken for sent and not counted as re-sent.
    """
    if item.existing is None:
        # IntegrityError when another dispatch took the key meanwhile: the caller says so.
        insert_deliveries(conn, [NewDelivery(item.delivery_key, item.due.action_pk, item.due.channel, "sending",
                                             attempts=1, external_id=item.due.token_id, detail=item.detail,
                                             recorded_at=run.now)])
        return
    item.detail = {**item.existing.detail, **item.detail}
    if item.existing.status in SENDING_STATES:
        run.summary.recovered += 1  # a crash left it: the same message goes again (see the docstring)
        item.detail[RESENT_AFTER_CRASH] = True  # it may be out there: every later try sends these bytes
    mark_delivery_sending(conn, item.existing.delivery_id, attempts=item.existing.attempts + 1,
                          detail=item.detail, recorded_at=run.now)


def _record_result(conn: Connection, item: _Outgoing, result: SendResult | SmsSendResult, run: _Run,
                   with_fee: set[int]) -> None:
    """Record what the transport answered for one message (its row is ``sending``)."""
    due = item.due
    outcome: dict[str, Any] = {"result": result.detail, "code": result.code}
    if isinstance(result, SmsSendResult):
        outcome["provider_ids"] = list(result.provider_ids)
    detail = {**item.detail, **outcome}
    if result.status is DeliveryStatus.SENT:
        if not mark_sending_delivery(conn, item.delivery_key, status="sent", detail=detail, recorded_at=run.now):
            return
        # outcome_on: the day the server accepted it (legal periods count from it)
        mark_planned_action(conn, due.action_pk, status="sent", outcome_on=run.run_date)
        if "pay_by" in item.detail:  # the one deadline it printed, which pacing then counts on (as for letters)
            write_action_detail(conn, due.action_pk, {**due.detail, "deadline": item.detail["pay_by"]})
        if due.action_pk in with_fee:
            book_message_fee(conn, due.action_pk, on_date=run.run_date, recorded_at=run.now,
                             source=f"dispatch:{due.channel}")
        message_id = item.detail.get("message_id") or item.detail.get("client_ref")
        _event(conn, due, "message_sent", {
            "ref": due.key, "channel": due.channel, "action": due.action,
            "template": item.detail["template"], "language": item.detail["language"],
            "message_id": message_id,
            "reason": f"{due.channel} '{item.detail['template']}' ({item.detail['language']}), {message_id}",
        }, run)
        run.summary.sent += 1
    elif result.status is DeliveryStatus.PERMANENT_FAILURE:
        _fail(conn, due, result.detail, run, exists=True, detail=detail)
        if isinstance(result, SendResult) and _address_refused(result):
            mark_email_invalid(conn, due.case_id, None)
    else:
        mark_sending_delivery(conn, item.delivery_key, status="deferred",
                              detail={**detail, "error": result.detail}, recorded_at=run.now)
        run.summary.deferred += 1
        run.not_sent += 1
        run.problem(due, f"will be retried: {result.detail}")


def _send_chunk(chunk: Sequence[_Outgoing], transport: Any, run: _Run, channel: str, progress: _Progress) -> None:
    """Hand the messages over one at a time, each between two commits.

    Message *i* is ``sending`` (committed) before the transport gets it; its result and the
    ``sending`` mark of message *i + 1* are committed together right after the server answered,
    so a chunk of n messages costs n + 1 commits and a kill leaves at most one row uncertain.
    """
    try:
        with run.store.begin() as conn:
            with_fee = load_action_ids_with_amount(conn, [i.due.action_pk for i in chunk])
            _mark_sending(conn, chunk[0], run)
    except IntegrityError:
        raise _another_dispatch() from None
    for index, item in enumerate(chunk):
        results = transport.send_batch([item.message])
        if len(results) != 1:
            raise DeliveryError(f"{channel} transport answered {len(results)} results for one message; "
                                "the delivery left 'sending' is sent again by the next dispatch")
        following = chunk[index + 1] if index + 1 < len(chunk) else None
        try:
            with run.store.begin() as conn:
                _record_result(conn, item, results[0], run, with_fee)
                if following is not None:
                    _mark_sending(conn, following, run)
        except IntegrityError:
            with run.store.begin() as conn:  # keep what the server answered, then stop
                _record_result(conn, item, results[0], run, with_fee)
            raise _another_dispatch() from None
        progress.advance(1)


def _another_dispatch() -> StoreError:
    return StoreError("another dispatch is sending the same messages right now (a delivery key is already "
                      "taken); run one dispatch per workspace at a time")


@dataclass
class _Progress:
    """Counts the due actions dealt with (sent, failed, settled by a guard) for the ``progress`` callback."""

    report: Progress | None
    total: int
    done: int = 0

    def advance(self, count: int) -> None:
        if count <= 0:
            return
        self.done += count
        if self.report is not None:
            self.report(self.done, self.total)


def _address_refused(result: SendResult) -> bool:
    """A 550/551/553 at RCPT means the mailbox does not exist (not a policy or content refusal)."""
    return result.code in (550, 551, 553) and result.detail.startswith("recipient refused")


def _outstanding(store: Store) -> list[str]:
    with store.begin() as conn:
        return outstanding_sms_ids(conn)


def _receipts(transport: Any, run: _Run, wait: float) -> ReceiptResult | None:
    """Read delivery receipts where the transport can: SMPP on its bind, HTTP gateways by polling.

    Only SMS still ``sent`` (no final receipt yet) are waited for; SMPP stops reading as soon as
    one receipt per outstanding segment is in, or after ``wait`` seconds.
    """
    ids = _outstanding(run.store)
    if not ids:
        return None
    if hasattr(transport, "collect_reports"):
        reports = transport.collect_reports(wait=wait, expected=len(ids))
    elif hasattr(transport, "poll_reports"):
        reports = transport.poll_reports(ids)
    else:
        return None
    return apply_delivery_reports(run.store, reports, on_date=run.run_date, recorded_at=run.now)


def _dispatch_channel(run: _Run, channel: str, due_ids: Sequence[int], workspace: Workspace, secrets: Secrets,
                      templates: Path, env: Mapping[str, str], *, given: Any, chunk_size: int, max_attempts: int,
                      receipt_wait: float, quiet_hours: Mapping[str, QuietHours] | None,
                      progress: _Progress) -> None:
    """One channel: chunk by chunk load, guard and build; then send one by one; then receipts.

    Only one chunk of messages is held in memory; the transport is opened when the first message
    is ready (or when SMS receipts are awaited) and closed at the end unless it was given.
    """
    config = workspace.config
    run.summary.due = len(due_ids)
    # SMS transports other than the file may have receipts for earlier SMS even on a night with nothing due.
    receipts_possible = channel == "sms" and (given is not None or urlsplit(config.sms.transport).scheme != "file")
    if not due_ids and not (receipts_possible and _outstanding(run.store)):
        return
    builder = _Builder(channel, workspace, secrets, templates,
                       email_settings(workspace, secrets) if channel == "email" else None,
                       sms_settings(workspace) if channel == "sms" else None, flow_minimums(workspace.flows_dir))
    transport: Any = given
    try:
        for start in range(0, len(due_ids), chunk_size):
            with run.store.begin() as conn:
                due_list = load_due_actions(conn, due_ids[start:start + chunk_size], config.creditor.language)
            chunk = _prepare(due_list, builder, run, max_attempts=max_attempts, quiet_hours=quiet_hours,
                             timezone=config.creditor.timezone)
            progress.advance(len(due_list) - len(chunk))  # settled without sending (guards, repairs)
            if not chunk:
                continue
            if transport is None:
                transport = open_channel_transport(channel, workspace, env)
            _send_chunk(chunk, transport, run, channel, progress)
        if receipts_possible:
            if transport is None:
                transport = open_channel_transport(channel, workspace, env)
            receipts = _receipts(transport, run, receipt_wait)
            if receipts is not None:
                run.summary.delivered += receipts.delivered
                run.summary.undelivered += receipts.failed
                run.problems.extend(receipts.problems)
    finally:
        if given is None and transport is not None:
            transport.close()


@holding_stage_lock("dispatch")
def dispatch_messages(
    store: Store,
    workspace: Workspace,
    run_date: date,
    *,
    channels: Sequence[str] = CHANNELS,
    now: datetime,
    env: Mapping[str, str] = os.environ,
    email_transport: EmailTransport | None = None,
    sms_transport: SmsTransport | None = None,
    chunk_size: int = 100,
    max_attempts: int = 5,
    receipt_wait: float = 0.0,
    quiet_hours: Mapping[str, QuietHours] | None = None,
    templates_dir: Path | None = None,
    progress: Progress | None = None,
) -> DispatchResult:
    """Send every planned email/SMS due on or before ``run_date``; see the module docstring.

    ``now`` (timezone-aware) is the send time: the email Date header and the moment quiet hours
    are checked against. Transports given as arguments are used as they are and not closed
    (tests, and callers that keep an SMPP bind open for receipts); otherwise they are opened from
    the configuration and closed at the end. ``progress(done, total)`` is called as the due
    actions of all channels are dealt with (sent, failed or settled without sending). Raises
    ConfigError for a missing secret or a bad transport URL; everything that concerns one message
    is counted and reported instead.
    """
    if now.tzinfo is None:
        raise ConfigError("dispatch needs a timezone-aware 'now'")
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        raise ConfigError(f"unknown messaging channel {unknown[0]!r}: use {' or '.join(CHANNELS)}")
    if chunk_size < 1 or max_attempts < 1:
        raise ConfigError("chunk_size and max_attempts must be at least 1")
    secrets = load_secrets(workspace, env)
    templates = templates_dir or templates_dir_for(workspace)
    summaries: list[ChannelSummary] = []
    problems: list[str] = []
    with store.begin() as conn:
        due_by_channel = {channel: due_action_ids(conn, channel, run_date) for channel in channels}
    counter = _Progress(progress, sum(len(ids) for ids in due_by_channel.values()))
    if progress is not None:
        progress(0, counter.total)
    not_sent = 0
    for channel in channels:
        run = _Run(store, run_date, now, ChannelSummary(channel))
        summaries.append(run.summary)
        _dispatch_channel(run, channel, due_by_channel[channel], workspace, secrets, templates, env,
                          given=email_transport if channel == "email" else sms_transport,
                          chunk_size=chunk_size, max_attempts=max_attempts, receipt_wait=receipt_wait,
                          quiet_hours=quiet_hours, progress=counter)
        problems.extend(run.problems)
        not_sent += run.not_sent
        log.info("dispatch %s %s: %d due, %d sent, %d failed, %d deferred, %d errors", run_date, channel,
                 run.summary.due, run.summary.sent, run.summary.failed, run.summary.deferred, run.summary.errors)
    return DispatchResult(run_date, tuple(summaries), tuple(problems), not_sent)
