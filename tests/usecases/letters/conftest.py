"""A real OpenSSH sshd for the SFTP delivery test (the same server the print tests use)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.sshd import SshdServer, start_sshd


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdServer]:
    with start_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture()
def sftp_upload(sshd: SshdServer) -> Iterator[SshdServer]:
    """The sshd with an empty upload folder for this test."""
    for child in sshd.local_upload.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            Path(child).unlink()
    yield sshd
