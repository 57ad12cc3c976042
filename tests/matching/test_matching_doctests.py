"""The examples in the matching modules' docstrings run and hold."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from dunning.domain import (
    matching,
    matching_allocation,
    matching_index,
    matching_model,
    matching_subset,
    matching_text,
)


@pytest.mark.parametrize(
    "module",
    [matching, matching_allocation, matching_index, matching_model, matching_subset, matching_text],
    ids=lambda m: m.__name__,
)
def test_docstring_examples(module: ModuleType) -> None:
    failures, _tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failures == 0
