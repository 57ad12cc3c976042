"""The examples in the module docstrings are part of the documentation: they must stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "dunning.domain.actions",
    "dunning.domain.allocation",
    "dunning.domain.interest",
    "dunning.domain.legal",
    "dunning.domain.legal.belgium",
    "dunning.domain.legal.calendar",
    "dunning.domain.legal.compliance",
    "dunning.domain.legal.netherlands",
    "dunning.domain.legal.rates",
    "dunning.ledger.values",
    "dunning.letters.qr",
    "dunning.letters.render",
    "dunning.jsonable",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
