"""What every command needs: the workspace, its store, the run date, the output format."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

import click

from dunning.cli.output import FORMATS
from dunning.store import Store, open_store
from dunning.workspace import Workspace, open_workspace, workspace_root

FC = TypeVar("FC", bound=Callable[..., object])

format_option = click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True, help="Output format."
)


def date_option(help_text: str) -> Callable[[FC], FC]:
    return click.option(
        "--date",
        "run_date",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default=None,
        help=help_text + " (YYYY-MM-DD; default: today in the creditor's time zone).",
    )


def get_workspace(ctx: click.Context) -> Workspace:
    cached = ctx.obj.get("_workspace")
    if cached is None:
        cached = open_workspace(workspace_root(ctx.obj.get("workspace")))
        ctx.obj["_workspace"] = cached
    return cached  # type: ignore[no-any-return]


def get_store(ctx: click.Context) -> Store:
    cached = ctx.obj.get("_store")
    if cached is None:
        cached = open_store(get_workspace(ctx).database_url)
        ctx.obj["_store"] = cached
        ctx.call_on_close(cached.dispose)
    return cached  # type: ignore[no-any-return]


def resolve_date(ctx: click.Context, given: datetime | None) -> date:
    """The date given with --date, else today where the creditor is (the CLI is the only clock reader)."""
    if given is not None:
        return given.date()
    zone = ZoneInfo(get_workspace(ctx).config.creditor.timezone)
    return datetime.now(zone).date()
