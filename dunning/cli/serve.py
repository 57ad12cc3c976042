"""``dunning serve``: the debtor's pay page (dunning.web) on this workspace's store."""

from __future__ import annotations

import click

from dunning.cli import cli
from dunning.cli.context import get_workspace


@cli.command("serve")
@click.option("--host", default=None, help="Bind address (default: paypage.host, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: paypage.port, 8000).")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Processes (default: paypage.workers, 1); rate limits count per process.")
@click.pass_context
def serve_command(ctx: click.Context, host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the pay page behind the pay links (put a TLS reverse proxy in front; see the README)."""
    from dunning.web.serve import serve

    serve(get_workspace(ctx), host, port, workers)
