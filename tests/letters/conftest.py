"""Shared fixture: one renderer per test session (parsed CSS and fonts are reused)."""

from __future__ import annotations

import pytest

from dunning.letters import LetterRenderer


@pytest.fixture(scope="session")
def renderer() -> LetterRenderer:
    return LetterRenderer()
