"""Prefect's test harness, started once for the whole directory, and small workspaces.

Prefect reads its settings when it is first imported, so the environment is set here, before any
``prefect`` import: a throw-away ``PREFECT_HOME`` (the harness never writes to ``~/.prefect``), no
``PREFECT_API_URL`` from the outside (the harness's own server is used), quiet logs, no analytics.
The harness starts one temporary API server (SQLite, about 10 s) for the session.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

_PREFECT_HOME = tempfile.mkdtemp(prefix="dunning-prefect-home-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ.pop("PREFECT_API_URL", None)
os.environ.pop("PREFECT_API_KEY", None)
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")

import pytest  # noqa: E402
from prefect.settings import PREFECT_API_URL  # noqa: E402
from prefect.testing.utilities import prefect_test_harness  # noqa: E402

from dunning.workspace import EXAMPLE_LEDGER, LEDGER_DROPS, init_workspace  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def prefect_api() -> Iterator[str]:
    """One Prefect API server for every test here; yields its URL (for subprocesses such as ``prefect deploy``)."""
    with prefect_test_harness(server_startup_timeout=90):
        url = PREFECT_API_URL.value()
        assert url, "the harness did not set PREFECT_API_URL"
        yield str(url)
    shutil.rmtree(_PREFECT_HOME, ignore_errors=True)


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    """A fresh workspace (``dunning init``) with the example ledger dropped in ``ledger/``, on SQLite."""
    root = tmp_path / "acme"
    init_workspace(root)
    shutil.copyfile(root / EXAMPLE_LEDGER, root / LEDGER_DROPS / "open-items.csv")
    return root


@pytest.fixture(autouse=True)
def paylink_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dispatch signs pay links and VERP tokens; in production the worker's environment holds the secret."""
    monkeypatch.setenv("DUNNING_PAYLINK_SECRET", "pipelines-test-secret-0123456789")
