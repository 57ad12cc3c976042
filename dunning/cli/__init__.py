"""The ``dunning`` command line: thin calls of library functions.

Errors become messages and exit codes here, and only here:

====  =========================================================
code  meaning
====  =========================================================
0     done
1     done, but some records were rejected (see the report)
2     wrong usage (unknown option, missing argument)
3     configuration or workspace error
4     an input file cannot be read
5     the state store cannot be opened
6     a delivery failed
7     not found (case, batch, review item)
====  =========================================================
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from dunning.errors import (
    ConfigError,
    DeliveryError,
    DunningError,
    InputError,
    NotFound,
    StoreError,
    WorkspaceError,
)

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_CONFIG, EXIT_INPUT, EXIT_STORE, EXIT_DELIVERY, EXIT_NOT_FOUND = range(8)
_CODES: list[tuple[type[DunningError], int]] = [
    (ConfigError, EXIT_CONFIG),
    (WorkspaceError, EXIT_CONFIG),
    (InputError, EXIT_INPUT),
    (StoreError, EXIT_STORE),
    (DeliveryError, EXIT_DELIVERY),
    (NotFound, EXIT_NOT_FOUND),
]

F = TypeVar("F", bound=Callable[..., Any])


class DunningGroup(click.Group):
    """Turns DunningError into a one-line message on stderr and a meaningful exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DunningError as exc:
            code = next((c for kind, c in _CODES if isinstance(exc, kind)), EXIT_PROBLEMS)
            click.echo(f"error: {exc}", err=True)
            ctx.exit(code)


@click.group(cls=DunningGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--workspace",
    "-w",
    type=click.Path(file_okay=False),
    default=None,
    help="Workspace folder (default: $DUNNING_WORKSPACE, else the current directory).",
)
@click.version_option(package_name="dunning")
@click.pass_context
def cli(ctx: click.Context, workspace: str | None) -> None:
    """Self-hosted print-and-mail dunning factory with bank reconciliation.

    Typical night: dunning import ledger.csv && dunning run --date 2026-11-24
    """
    ctx.ensure_object(dict)
    ctx.obj["workspace"] = workspace


def main() -> None:
    sys.exit(cli.main(standalone_mode=True))


# The command modules register themselves on `cli` when imported.
from dunning.cli import commands, demo, flows, letters, messaging, notify, print_house, rates, reconcile  # noqa: E402,F401
