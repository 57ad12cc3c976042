"""``dunning notify``: the creditor's webhooks and the third-party export files of a night, each once.

One call for the CLI and the nightly flow: :func:`dunning.usecases.notify.exports.write_exports` first
(local files, nothing can be down), then :func:`dunning.usecases.notify.webhooks.deliver_webhooks`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from dunning.ports import Progress, WebhookTransport
from dunning.store import Store
from dunning.store.locks import holding_stage_lock
from dunning.usecases.notify.exports import ExportResult, write_exports
from dunning.usecases.notify.webhooks import OutboxResult, deliver_webhooks, webhook_secret
from dunning.workspace import Workspace

__all__ = ["NotifyResult", "notify"]


@dataclass(frozen=True)
class NotifyResult:
    webhooks: OutboxResult
    exports: ExportResult

    @property
    def delivery_failed(self) -> bool:
        """A webhook failed for good in this run, or an export file could not be written."""
        return self.webhooks.counts.failed > 0 or self.exports.failed > 0

    def summary(self) -> dict[str, Any]:
        return {"run_date": self.webhooks.run_date.isoformat(), "webhooks": self.webhooks.summary(),
                "exports": self.exports.summary()}


@holding_stage_lock("notify")
def notify(store: Store, workspace: Workspace, run_date: date, *, now: datetime, env: Mapping[str, str],
           transport: WebhookTransport | None = None, sleep: Callable[[float], None] | None = None,
           progress: Progress | None = None) -> NotifyResult:
    """Write the due export files, then deliver the pending webhooks (see both modules for the rules).

    ``progress(done, total)`` counts the webhooks settled (posted, or left waiting) out of those due.

    The configuration is checked first: a missing ``DUNNING_WEBHOOK_SECRET`` for an http(s)
    ``webhook.url`` raises ConfigError before anything is written or posted.
    """
    if transport is None:
        webhook_secret(workspace, env)
    exports = write_exports(store, workspace, run_date, now=now)
    options: dict[str, Any] = {} if sleep is None else {"sleep": sleep}
    webhooks = deliver_webhooks(store, workspace, run_date, now=now, env=env, transport=transport,
                                progress=progress, **options)
    return NotifyResult(webhooks, exports)
