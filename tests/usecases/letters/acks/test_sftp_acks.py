"""Acknowledgements read from the print house's real OpenSSH sshd over SFTP."""

from __future__ import annotations

import os
from pathlib import Path

from dunning.store import Store, open_store
from dunning.usecases.letters.acks import record_acknowledgements
from dunning.usecases.letters.render import render_letters
from dunning.usecases.letters.send import send_letters
from tests.servers.sshd import SshdServer
from tests.usecases.letters.acks.test_print_acks import ACK_DAY, HEADER
from tests.usecases.letters.helpers import LETTER_DAY, letter_actions, make_workspace, plan_letters


def test_a_returned_letter_is_read_over_sftp_once(tmp_path: Path, sftp_upload: SshdServer) -> None:
    server = sftp_upload
    workspace = make_workspace(tmp_path / "ws", transport=server.url(server.remote_upload), key=server.client_key,
                               known_hosts=server.known_hosts)
    store: Store = open_store(workspace.database_url)
    try:
        plan_letters(store, workspace)
        letter = letter_actions(store)[0]
        render_letters(store, workspace, LETTER_DAY, workers=1, action_ids=[letter.id])
        [batch] = send_letters(store, workspace, LETTER_DAY).batches
        folder = server.local_upload / "acknowledgements"
        folder.mkdir(exist_ok=True)
        owner = server.local_upload.stat()
        os.chown(folder, owner.st_uid, owner.st_gid)
        (folder / "ack.csv").write_text(HEADER + f"{batch},{letter.id},returned,2026-11-06,refused\n",
                                        encoding="utf-8")

        first = record_acknowledgements(store, workspace, on_date=ACK_DAY)
        second = record_acknowledgements(store, workspace, on_date=ACK_DAY)

        assert (first.files, first.returned, first.problems) == (1, 1, [])
        assert (second.files, second.returned) == (0, 0)
        assert {a.id: a.status for a in letter_actions(store)}[letter.id] == "returned"
    finally:
        store.dispose()
