"""``dunning serve``: the pay page under uvicorn, on the workspace's store, in one or several processes.

With ``workers`` above 1 (``--workers`` or ``paypage.workers``), uvicorn starts that many processes
sharing the port; each opens the workspace again (from :data:`WORKSPACE_ENV`, set here) and its own
store connections. What a process keeps in memory is its own: the rate limits
(:mod:`dunning.web.security`) count per process, so a client may get up to ``workers`` times
``paypage.rate_per_address`` a minute; the pages a process keeps (:mod:`dunning.usecases.paypage.claim`)
are checked against the store on every request, so a process never shows what another one changed
stale. Everything else a form needs (CSRF fields, contact codes and their hourly limit, promises,
plans, checkouts) is signed or in the store, so any process can answer any request.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from dunning.store import open_store
from dunning.web.app import create_app, page_prefix
from dunning.workspace import Workspace, open_workspace

__all__ = ["WORKSPACE_ENV", "fast_parts", "serve", "worker_app"]

#: the workspace a worker process opens (set by :func:`serve` for the processes uvicorn starts)
WORKSPACE_ENV = "DUNNING_SERVE_WORKSPACE"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def serve(workspace: Workspace, host: str | None = None, port: int | None = None, workers: int | None = None) -> None:
    """Serve the pay page of ``workspace`` until interrupted (``paypage.host``/``port``/``workers`` unless given).

    uvicorn's own access log is off: it would write each path, and a path holds a pay-link token.
    :mod:`dunning.web.security` logs each request by route name instead.
    """
    config = workspace.config.paypage
    bind_host = host or config.host
    bind_port = port or config.port
    count = workers or config.workers
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    options: dict[str, Any] = {
        "host": bind_host,
        "port": bind_port,
        "access_log": False,
        "proxy_headers": True,
        "forwarded_allow_ips": config.forwarded_allow_ips,
        "server_header": False,
        "log_level": "info",
        **fast_parts(),
    }
    store = open_store(workspace.database_url)  # migrates the store once, before any worker opens it
    log = logging.getLogger("dunning.web")
    log.info("pay page at http://%s:%d%s/<token>, %d process(es)", bind_host, bind_port, page_prefix(workspace), count)
    if count == 1:
        try:
            uvicorn.run(create_app(workspace, store), **options)
        finally:
            store.dispose()
        return
    store.dispose()
    log.info(
        "rate limits count per process: up to %d requests a minute per address, %d openings per link",
        count * config.rate_per_address,
        count * config.rate_per_link,
    )
    os.environ[WORKSPACE_ENV] = str(workspace.root)
    # a worker imports the whole application before it answers uvicorn's health check: on a busy
    # machine that takes longer than uvicorn's 5 s, after which it would start the worker again and again
    uvicorn.run("dunning.web.serve:worker_app", factory=True, workers=count, timeout_worker_healthcheck=120, **options)


def fast_parts() -> dict[str, str]:
    """uvicorn's C parts when installed (``uvicorn[standard]``): httptools parses HTTP and uvloop runs the
    event loop, about 1 ms of CPU a request less than the pure-Python h11 and asyncio; else uvicorn's own."""
    options: dict[str, str] = {}
    if importlib.util.find_spec("httptools") is not None:
        options["http"] = "httptools"
    if importlib.util.find_spec("uvloop") is not None:
        options["loop"] = "uvloop"
    return options


def worker_app() -> ASGIApp:
    """The application of one worker process: the workspace :data:`WORKSPACE_ENV` names, its own store."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    workspace = open_workspace(Path(os.environ[WORKSPACE_ENV]))
    return create_app(workspace, open_store(workspace.database_url))
