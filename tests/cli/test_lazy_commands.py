"""The top-level command group imports only the module of the command that runs (dunning.cli.COMMAND_MODULES)."""

from __future__ import annotations

import subprocess
import sys

import click

from dunning.cli import COMMAND_MODULES, cli


def test_every_command_is_in_the_table_under_its_own_module() -> None:
    """A command missing from the table still works, but makes every command module be imported again."""
    names = cli.list_commands(click.Context(cli))  # imports them all
    assert set(names) == set(COMMAND_MODULES)
    for name in names:
        command = cli.commands[name]
        module = command.callback.__module__ if command.callback else ""
        expected = f"dunning.cli.{COMMAND_MODULES[name]}"
        assert module == expected or (name == "plans" and module == "dunning.cli.plans"), (name, module)


def test_dunning_letters_does_not_import_pandas_nor_weasyprint_in_its_own_process() -> None:
    """The command hands chunks to render workers: WeasyPrint is theirs; pandas belongs to other commands."""
    code = (
        "import sys, click\n"
        "from dunning.cli import cli\n"
        "assert cli.get_command(click.Context(cli), 'letters') is not None\n"
        "import dunning.letters.parallel, dunning.usecases.letters.render, dunning.usecases.letters.send\n"
        "print(sorted(m for m in ('pandas', 'weasyprint', 'prefect', 'dunning.cli.demo') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
