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
import multiprocessing
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dunning.domain import paylink
from dunning.errors import NotFound
from dunning.ports import Progress
from dunning.store import Store
from dunning.usecases.paypage.brand import PageBrand
from dunning.usecases.paypage.landing import landing
from dunning.workspace import Workspace

if TYPE_CHECKING:
    from dunning.web.app import _PayPageApp

__all__ = ["PrepareReport", "fingerprint", "prepare_pages"]

PACKAGE = Path(__file__).resolve().parents[1]
#: the channels whose messages carry a pay link, and the statuses of a message that went out
LINK_CHANNELS = ("letter", "registered_letter", "email", "sms")
WENT_OUT = ("sent", "delivered")


#: the settings a page is made from (the rest, such as the database or the print house, never shows on it)
PAGE_SETTINGS = {"creditor", "brand", "paylink", "paypage", "legal", "plans", "sepa"}
#: settings of the server alone (where it listens, how many requests it takes)
SERVER_ONLY = {"host", "port", "forwarded_allow_ips", "workers", "rate_per_address", "rate_per_link", "prepare_days"}


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


#: links a worker process prepares per task (a progress step; small enough to share the work out evenly)
CHUNK = 100


def prepare_pages(
    workspace: Workspace,
    store: Store,
    today: date,
    tokens: Sequence[str],
    *,
    workers: int = 1,
    progress: Progress | None = None,
) -> PrepareReport:
    """Make and keep the landing page of each of ``tokens`` for ``today`` (no visit is recorded).

    A page already prepared for the day and still matching is left as it is; pages of earlier days are
    forgotten. ``workers`` > 1: that many processes (each opens the store again) share the links.
    ``progress(done, total)`` is called as links are done.
    """
    from dunning.web.app import build_pages  # the pages as the server makes them

    started = time.perf_counter()
    pages = build_pages(workspace, store, today=lambda: today, now=lambda: datetime.now(UTC))
    forgotten = pages.forget_before(today)
    if workers > 1 and len(tokens) > CHUNK:
        counts = _in_processes(workspace, store, today, tokens, workers, progress)
    else:
        counts = _prepare(pages, today, tokens, progress)
    return PrepareReport(today, len(tokens), *counts, forgotten, time.perf_counter() - started)


def _prepare(
    pages: _PayPageApp, today: date, tokens: Sequence[str], progress: Progress | None = None
) -> tuple[int, int, int]:
    """Prepare ``tokens`` in this process: (prepared, fresh, skipped)."""
    prepared = fresh = skipped = 0
    for done, token in enumerate(tokens, 1):
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
            progress(done, len(tokens))
    return prepared, fresh, skipped


def _in_processes(
    workspace: Workspace, store: Store, today: date, tokens: Sequence[str], workers: int, progress: Progress | None
) -> tuple[int, int, int]:
    """Prepare ``tokens`` in ``workers`` fresh processes (spawned: nothing of this one's connections shared)."""
    url = store.engine.url.render_as_string(hide_password=False)
    chunks = [list(tokens[start : start + CHUNK]) for start in range(0, len(tokens), CHUNK)]
    totals = [0, 0, 0]
    done = 0
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        results = pool.map(_prepare_chunk, repeat(workspace), repeat(url), repeat(today), chunks)
        for chunk, counts in zip(chunks, results, strict=True):
            totals = [a + b for a, b in zip(totals, counts, strict=True)]
            done += len(chunk)
            if progress is not None:
                progress(done, len(tokens))
    return totals[0], totals[1], totals[2]


def _prepare_chunk(workspace: Workspace, url: str, today: date, tokens: list[str]) -> tuple[int, int, int]:
    """One worker process's task: :func:`_prepare` with the process's own store and pages."""
    key = (url, today)
    if key not in _WORKER_PAGES:  # once per worker process, not per chunk
        from dunning.store import open_store
        from dunning.web.app import build_pages

        _WORKER_PAGES[key] = build_pages(
            workspace, open_store(url), today=lambda: today, now=lambda: datetime.now(UTC)
        )
    return _prepare(_WORKER_PAGES[key], today, tokens)


#: in a worker process: its pages (store, reader, templates) per store and day
_WORKER_PAGES: dict[tuple[str, date], _PayPageApp] = {}
