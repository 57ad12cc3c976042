"""Prepared pay pages: the landing page of each link sent lately, made ahead for the day it is opened.

An opening of the landing page costs the claim's build (a dozen queries), its QR code and the template:
about 20 ms of CPU. A mailing's debtors open their links within hours, so the night that sends the
messages (or ``dunning links prepare``) makes each link's page for the day and keeps it in the store
(:mod:`dunning.store.prepared_pages`); an opening then reads one row in the statement that records the
visit, and is answered with it. The server keeps the page it made for a visit the same way.

A prepared page is served only while it is exactly what the server would make now: same day, same
claim stamp (any change to the case's rows, a payment, a letter, a revocation), same :func:`fingerprint`
(the package's code and templates, the workspace's settings, the brand, the payment provider's methods).
Anything else is made again, so a prepared page can be unused, never stale. A page with a running plan
(its instalments are not in the stamp) or opened in another language (``?lang=``) is never kept.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from dunning.domain import paylink
from dunning.errors import NotFound
from dunning.ports import Progress
from dunning.store import Store
from dunning.usecases.paypage.brand import PageBrand
from dunning.usecases.paypage.landing import landing
from dunning.workspace import Workspace

__all__ = ["PrepareReport", "fingerprint", "prepare_pages"]

PACKAGE = Path(__file__).resolve().parents[1]
#: the channels whose messages carry a pay link, and the statuses of a message that went out
LINK_CHANNELS = ("letter", "registered_letter", "email", "sms")
WENT_OUT = ("sent", "delivered")


#: the settings a page is made from (the rest, such as the database or the print house, never shows on it)
PAGE_SETTINGS = {"creditor", "brand", "paylink", "paypage", "legal", "plans", "sepa"}
#: settings of the server alone (where it listens, how many requests it takes)
SERVER_ONLY = {"host", "port", "forwarded_allow_ips", "workers", "rate_per_address", "rate_per_link"}


def _digest_files(digest: Any, root: Path) -> None:
    for path in sorted(root.rglob("*")) if root.is_dir() else ():
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
            digest.update(path.read_bytes())


@lru_cache(maxsize=1)
def _package_digest() -> str:
    """The digest of every file of the installed package (code, templates, words): a new release differs."""
    digest = hashlib.sha256()
    _digest_files(digest, PACKAGE)
    return digest.hexdigest()


def fingerprint(workspace: Workspace, brand: PageBrand, online: str | None) -> str:
    """What a page is made with besides the case: the package, the page's settings, flows, brand and provider.

    The same in every process of the same release and settings (the server's workers, ``dunning links
    prepare``), whatever else differs between them (the database URL, the server's port and limits);
    different as soon as any of them changes.
    """
    digest = hashlib.sha256(_package_digest().encode("ascii"))
    settings = workspace.config.model_dump(mode="json", include=PAGE_SETTINGS, exclude={"paypage": SERVER_ONLY})
    for part in (json.dumps(settings, sort_keys=True, default=str), repr(brand), brand.css(), repr(online)):
        digest.update(b"\0" + part.encode("utf-8"))
    for folder in (workspace.flows_dir, workspace.root / "layouts"):
        _digest_files(digest, folder)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class PrepareReport:
    """What a preparation did."""

    day: date
    links: int
    prepared: int
    #: already prepared for the day and still matching
    fresh: int
    #: expired, revoked, or of a case gone
    skipped: int
    #: pages of earlier days forgotten
    forgotten: int
    seconds: float

    def as_dict(self) -> dict[str, object]:
        return {
            "day": self.day.isoformat(), "links": self.links, "prepared": self.prepared, "fresh": self.fresh,
            "skipped": self.skipped, "forgotten": self.forgotten, "seconds": round(self.seconds, 1),
        }


def prepare_pages(
    workspace: Workspace,
    store: Store,
    today: date,
    tokens: Sequence[str],
    *,
    progress: Progress | None = None,
) -> PrepareReport:
    """Make and keep the landing page of each of ``tokens`` for ``today`` (no visit is recorded).

    A page already prepared for the day and still matching is left as it is; pages of earlier days are
    forgotten. ``progress(done, total)`` is called after each link.
    """
    from dunning.web.app import build_pages  # the pages as the server makes them

    started = time.perf_counter()
    pages = build_pages(workspace, store, today=lambda: today, now=lambda: datetime.now(UTC))
    forgotten = pages.forget_before(today)
    prepared = fresh = skipped = links = 0
    for token in tokens:
        links += 1
        try:
            found = landing(pages.reader, token, today, None, pages.fingerprint)
        except (paylink.PayLinkError, NotFound):
            skipped += 1
        else:
            if found.html is not None:
                fresh += 1
            elif found.page is not None and found.promise is not None and found.plan is not None:
                if found.plan.plan is None:  # as the server: a running plan's page is not kept
                    words = pages.words(None, found.page.language, found.page.currency)  # as a visit's
                    html = pages.landing_html(found.page, token, words, (found.promise, found.plan))
                    pages.keep(token, found.page.case_id, today, found.stamp, html.encode("utf-8"))
                    prepared += 1
                else:
                    skipped += 1
        if progress is not None:
            progress(links, len(tokens))
    return PrepareReport(today, links, prepared, fresh, skipped, forgotten, time.perf_counter() - started)
