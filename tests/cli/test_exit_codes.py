"""Every error the library raises on purpose is in dunning.errors' tree and leaves the CLI with its code."""

from __future__ import annotations

import importlib
import pkgutil
import re
from typing import TypeVar

import click
import pytest
from click.testing import CliRunner

import dunning
from camt import CamtError, MalformedXmlError
from dunning import errors
from dunning.cli import DunningGroup
from dunning.errors import EXIT_CODES, DunningError, category, exit_code

E = TypeVar("E", bound=BaseException)


def _import_all_of_dunning() -> None:
    """Import every module, so each error class defined beside its code exists as a subclass.

    Alembic's migration scripts run only inside Alembic and raise nothing of ours: skipped.
    """
    for module in pkgutil.walk_packages(dunning.__path__, "dunning."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)


def _subclasses(kind: type[DunningError]) -> set[type[DunningError]]:
    found: set[type[DunningError]] = set()
    for sub in kind.__subclasses__():
        found.add(sub)
        found |= _subclasses(sub)
    return found


_import_all_of_dunning()
ALL_ERRORS = sorted(
    (kind for kind in _subclasses(DunningError) if kind.__module__.startswith("dunning.")),
    key=lambda kind: f"{kind.__module__}.{kind.__qualname__}",
)


def _instance(kind: type[E], message: str) -> E:
    """An instance whose text is ``message``, whatever the class's own constructor wants."""
    error = kind.__new__(kind)
    Exception.__init__(error, message)
    return error


def _cli_raising(error: BaseException) -> click.Group:
    @click.group(cls=DunningGroup)
    def group() -> None:
        """A stand-in for the dunning command line."""

    @group.command()
    def fail() -> None:
        raise error

    return group


def test_the_library_raises_the_errors_the_tree_lists() -> None:
    assert len(ALL_ERRORS) >= 30  # the walk found the errors beside their code, not only dunning.errors'


@pytest.mark.parametrize("kind", ALL_ERRORS, ids=lambda kind: kind.__qualname__)
def test_every_error_is_in_the_tree_and_has_a_category(kind: type[DunningError]) -> None:
    listed = re.search(rf"\b{kind.__qualname__}\b", errors.__doc__ or "")
    assert listed, f"{kind.__module__}.{kind.__qualname__} is not in the tree of dunning.errors' docstring"
    assert category(kind) is not DunningError, f"{kind.__qualname__} falls in no category of EXIT_CODES"
    assert EXIT_CODES[category(kind)] not in (errors.EXIT_OK, errors.EXIT_PROBLEMS, errors.EXIT_USAGE)


@pytest.mark.parametrize("kind", ALL_ERRORS, ids=lambda kind: kind.__qualname__)
def test_the_cli_turns_every_error_into_its_message_and_exit_code(kind: type[DunningError]) -> None:
    error = _instance(kind, "what went wrong")
    result = CliRunner().invoke(_cli_raising(error), ["fail"])
    assert result.exit_code == exit_code(error)
    assert result.stderr == "error: what went wrong\n"


@pytest.mark.parametrize("kind", [CamtError, MalformedXmlError])
def test_a_camt_error_is_an_input_that_cannot_be_read(kind: type[CamtError]) -> None:
    result = CliRunner().invoke(_cli_raising(kind("statement.xml", "not camt")), ["fail"])
    assert result.exit_code == errors.EXIT_INPUT
    assert result.stderr == "error: statement.xml: not camt\n"


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        (errors.ConfigError, 3),
        (errors.WorkspaceError, 3),
        (errors.InputError, 4),
        (errors.LedgerError, 4),
        (errors.FlowError, 4),
        (errors.InvalidValue, 4),
        (errors.StoreError, 5),
        (errors.DeliveryError, 6),
        (errors.TransientDeliveryError, 6),
        (errors.PermanentDeliveryError, 6),
        (errors.NotFound, 7),
        (errors.WorkspaceBusy, 8),
    ],
)
def test_the_readme_codes_of_each_category(kind: type[DunningError], code: int) -> None:
    assert exit_code(kind("x")) == code


def test_domain_value_errors_are_still_value_errors() -> None:
    from dunning.channels.webhook import SignatureError
    from dunning.domain.legal.rate_updates import RateUpdateError
    from dunning.domain.money import CurrencyMismatch, InvalidAmount

    for kind in (SignatureError, RateUpdateError, InvalidAmount, CurrencyMismatch):
        assert issubclass(kind, ValueError)
        assert issubclass(kind, errors.InvalidValue)
