"""Letters to a real OpenSSH sshd over SFTP, and the ``dunning preview`` / ``dunning letters`` commands."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from click.testing import CliRunner
from PIL import Image

from dunning.cli import cli
from dunning.store import Store, open_store
from dunning.usecases.letters.render import render_letters
from dunning.usecases.letters.send import send_letters
from tests.servers.sshd import SshdServer
from tests.usecases.letters.helpers import (
    LETTER_DAY,
    batch_deliveries,
    first_page_text,
    letter_actions,
    make_workspace,
    plan_letters,
    printed,
)


def test_batches_go_to_the_print_house_over_sftp(tmp_path: Path, sftp_upload: SshdServer) -> None:
    server = sftp_upload
    workspace = make_workspace(tmp_path / "ws", transport=server.url(server.remote_upload), key=server.client_key,
                               known_hosts=server.known_hosts, batch_size=2)
    store: Store = open_store(workspace.database_url)
    try:
        plan_letters(store, workspace)
        count = len(letter_actions(store))
        render_letters(store, workspace, LETTER_DAY, workers=1)
        sent = send_letters(store, workspace, LETTER_DAY)
        assert sent.problems == [] and sent.letters == count
        assert len(sent.batches) >= (count + 1) // 2  # at most two letters per batch
        for batch_id in sent.batches:
            local = server.local_upload / f"{batch_id}.pdf"
            marker = (server.local_upload / f"{batch_id}.ready").read_text()
            assert f"{hashlib.sha256(local.read_bytes()).hexdigest()}  {batch_id}.pdf" in marker
            manifest = json.loads((server.local_upload / f"{batch_id}.manifest.json").read_text())
            assert 1 <= len(manifest["letters"]) <= 2
        assert {b.detail["destination"] for b in batch_deliveries(store)} == {server.url(server.remote_upload)}
        assert all(a.status == "sent" for a in letter_actions(store))
        assert send_letters(store, workspace, LETTER_DAY).letters == 0
    finally:
        store.dispose()


def _png_ok(png: Path) -> None:
    assert png.is_file() and png.stat().st_size > 10_000
    with Image.open(png) as image:
        assert image.width > 500 and image.height > image.width  # an A4 page, portrait
        assert len(image.convert("L").getcolors(maxcolors=1 << 16) or []) > 2  # not a blank page


def test_preview_with_sample_data(tmp_path: Path) -> None:
    out = tmp_path / "out" / "sample.pdf"
    result = CliRunner().invoke(cli, ["preview", "second_reminder", "--lang", "fr", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    _png_ok(out.with_suffix(".png"))


def test_preview_of_a_case_and_the_letters_command(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    store = open_store(workspace.database_url)
    try:
        plan_letters(store, workspace)
        action = letter_actions(store)[0]
    finally:
        store.dispose()
    runner = CliRunner()
    out = tmp_path / "case.pdf"
    result = runner.invoke(cli, ["-w", str(workspace.root), "preview", "first_reminder", "--lang", "nl",
                                 "--case", str(action.case_id), "--date", "2026-11-02", "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = first_page_text(out)
    assert action.name in text and printed(action.reference) in text
    _png_ok(out.with_suffix(".png"))

    result = runner.invoke(cli, ["-w", str(workspace.root), "letters", "--date", "2026-11-02", "--workers", "1",
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    count = len(letter_actions(open_store(workspace.database_url)))
    assert (summary["rendered"], summary["failed"], summary["letters_sent"]) == (count, 0, count)
    assert summary["batches"] == len(summary["batch_ids"]) >= 1 and summary["pages"] >= count
    again = json.loads(runner.invoke(cli, ["-w", str(workspace.root), "letters", "--date", "2026-11-02",
                                           "--format", "json"]).output)
    assert (again["rendered"], again["letters_sent"], again["batches"]) == (0, 0, 0)

    missing = runner.invoke(cli, ["-w", str(workspace.root), "preview", "first_reminder", "--lang", "nl",
                                  "--case", "9999", "-o", str(tmp_path / "x.pdf")])
    assert missing.exit_code == 7 and "no case 9999" in missing.output
