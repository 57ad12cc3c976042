"""``dunning serve``: the pay page under uvicorn, on the workspace's store."""

from __future__ import annotations

import logging

import uvicorn

from dunning.store import open_store
from dunning.web.app import create_app, page_prefix
from dunning.workspace import Workspace

__all__ = ["serve"]


def serve(workspace: Workspace, host: str | None = None, port: int | None = None) -> None:
    """Serve the pay page of ``workspace`` until interrupted (``paypage.host``/``port`` unless given).

    uvicorn's own access log is off: it would write each path, and a path holds a pay-link token.
    :mod:`dunning.web.security` logs each request by route name instead.
    """
    config = workspace.config.paypage
    store = open_store(workspace.database_url)
    try:
        app = create_app(workspace, store)
        bind_host = host or config.host
        bind_port = port or config.port
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("dunning.web").info(
            "pay page at http://%s:%d%s/<token>", bind_host, bind_port, page_prefix(workspace)
        )
        uvicorn.run(
            app,
            host=bind_host,
            port=bind_port,
            access_log=False,
            proxy_headers=True,
            forwarded_allow_ips=config.forwarded_allow_ips,
            server_header=False,
            log_level="info",
        )
    finally:
        store.dispose()
