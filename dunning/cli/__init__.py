"""The ``dunning`` command line: thin calls of library functions.

Errors become messages and exit codes here, and only here (:func:`error_exit`, with the codes
that :mod:`dunning.errors` gives each branch of its tree):

====  ================================================================================
code  meaning
====  ================================================================================
0     done
1     done, but some records were rejected (see the report)
2     wrong usage (unknown option, missing argument)
3     configuration or workspace error
4     an input file cannot be read, or is refused as a whole (a ledger snapshot closing too many cases)
5     the state store cannot be opened
6     a delivery failed
7     not found (case, batch, review item, task)
8     another process is working on the same stage of this workspace
====  ================================================================================
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from camt import CamtError
from dunning.errors import (
    EXIT_BUSY,
    EXIT_CONFIG,
    EXIT_DELIVERY,
    EXIT_INPUT,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_STORE,
    EXIT_USAGE,
    DunningError,
    exit_code,
)

__all__ = [
    "EXIT_BUSY",
    "EXIT_CONFIG",
    "EXIT_DELIVERY",
    "EXIT_INPUT",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_PROBLEMS",
    "EXIT_STORE",
    "EXIT_USAGE",
    "DunningGroup",
    "cli",
    "error_exit",
    "main",
]

F = TypeVar("F", bound=Callable[..., Any])


def error_exit(error: DunningError | CamtError) -> tuple[str, int]:
    """The one-line message and the exit code for an error that reached the command line.

    The codes are :data:`dunning.errors.EXIT_CODES`; a camt error (the camt package knows nothing
    of dunning) is an input that cannot be read.
    """
    code = EXIT_INPUT if isinstance(error, CamtError) else exit_code(error)
    return f"error: {error}", code


_WORKSPACE_FLAGS = ("-w", "--workspace")


def workspace_first(args: list[str]) -> list[str]:
    """``args`` with a ``-w/--workspace DIR`` given after the command moved before it.

    So ``dunning cases -w acme`` works like ``dunning -w acme cases`` (as the README promises for
    every command and sub-command); nothing after ``--`` is touched.

        >>> workspace_first(["review", "accept", "3", "-w", "acme", "--case", "7"])
        ['-w', 'acme', 'review', 'accept', '3', '--case', '7']
        >>> workspace_first(["cases", "--workspace=acme"])
        ['--workspace=acme', 'cases']
    """
    moved: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            rest.extend(args[index:])
            break
        if arg in _WORKSPACE_FLAGS and index + 1 < len(args):
            moved.extend(args[index : index + 2])
            index += 2
            continue
        if arg.startswith("--workspace="):
            moved.append(arg)
        else:
            rest.append(arg)
        index += 1
    return moved + rest


class DunningGroup(click.Group):
    """Turns DunningError (and camt's CamtError) into a one-line message on stderr and its exit code.

    ``-w/--workspace`` is accepted after the command too (:func:`workspace_first`).

    The top-level group imports a command's module only when that command runs (:data:`COMMAND_MODULES`):
    all of them together import pandas, alembic, Prefect's flows and more, seconds of start-up that
    ``dunning letters`` (or any one command) has no use for. ``--help`` and a name not in the table
    import them all.
    """

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if self is cli and cmd_name not in self.commands:
            module = COMMAND_MODULES.get(cmd_name)
            if module is not None:
                importlib.import_module(f"dunning.cli.{module}")
            if cmd_name not in self.commands:
                _import_all_commands()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        if self is cli:
            _import_all_commands()
        return super().list_commands(ctx)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if ctx.parent is None:  # the top-level group: sub-groups (review, flows...) get args already moved
            args = workspace_first(list(args))
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (DunningError, CamtError) as exc:
            message, code = error_exit(exc)
            click.echo(message, err=True)
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


# The command modules register themselves on `cli` when imported; which module holds which command
# (a command missing here still works: its name makes every module be imported).
COMMAND_MODULES: dict[str, str] = {
    "init": "commands",
    "import": "commands",
    "cases": "commands",
    "case": "commands",
    "demo": "demo",
    "run": "flows",
    "flows": "flows",
    "actions": "flows",
    "letters": "letters",
    "preview": "letters",
    "brand-check": "letters",
    "links": "links",
    "dispatch": "messaging",
    "bounces": "messaging",
    "paylink": "messaging",
    "notify": "notify",
    "plans": "plans_debit",  # plans_debit adds its sub-commands to the group plans defines
    "batches": "print_house",
    "deliver": "print_house",
    "acks": "print_house",
    "rates": "rates",
    "reconcile": "reconcile",
    "review": "reconcile",
    "serve": "serve",
    "tasks": "tasks",
}


def _import_all_commands() -> None:
    for module in sorted(set(COMMAND_MODULES.values()) | {"plans"}):
        importlib.import_module(f"dunning.cli.{module}")
