"""Print batches keep their identity through interrupted uploads (issue 15, item 1), against a real sshd.

42 real letters (WeasyPrint) go to an OpenSSH SFTP server with ``print.batch_size`` 20. Each run of
``send_letters`` is "killed" at a chosen point of its upload: a :class:`Killed` exception (a BaseException,
so nothing in the code under test catches it, as nothing survives a SIGKILL) raised by a transport
wrapper partway through its N-th upload (leaving the real ``.part`` file of the cut upload on the server),
or right after a ready marker is in place (before its batch is recorded). Between runs ``batch_size``
changes and new letters arrive: once at chosen points, and at seeded random ones. At the end: every letter
sent exactly once, in exactly one batch, no batch file put in place twice, the server holding exactly the
five files of each batch, and a day's batch numbers per profile unique and consecutive. Then letters whose
PDF vanished from a pending batch: left out with the manifests exact, or the batch held when the print
house already has it.
"""

from __future__ import annotations

import json
import random
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import delete, insert, select

from dunning.adapters import transport as transport_module
from dunning.ports import Transport, UploadResult
from dunning.print import batch_number, profile_code_of
from dunning.store import Store, open_store
from dunning.store.schema import documents
from dunning.usecases.importing.snapshot import import_ledger
from dunning.usecases.letters import send as send_module
from dunning.usecases.letters.render import render_letters
from dunning.usecases.letters.send import send_letters
from dunning.workspace import Workspace, open_workspace
from tests.chaos.harness import FLOW, IMPORTED, NIGHT, ledger_csv
from tests.servers.sshd import SshdServer
from tests.usecases.letters.helpers import batch_deliveries, letter_actions, letter_deliveries, make_workspace, night

LETTERS = 42  # 84 debtors, half of them by letter
BATCH_FILES = (".pdf", ".manifest.csv", ".manifest.json", ".ticket.json", ".ready")


class Killed(BaseException):
    """The process dies here (nothing catches a BaseException in the code under test)."""


@dataclass
class Uploads:
    """Every file put in place under its final name, over all runs (a name twice is a duplicate upload)."""

    placed: Counter[str] = field(default_factory=Counter)


class KillingTransport:
    """The real SFTP transport, killed in its ``kill_in_upload``-th upload (after ``fraction`` of its bytes, the
    real ``.part`` left on the server) or right after its ``kill_after_marker``-th ready marker is in place."""

    def __init__(self, inner: Transport, server: SshdServer, uploads: Uploads, *, kill_in_upload: int | None = None,
                 fraction: float = 0.5, kill_after_marker: int | None = None) -> None:
        self.inner, self.server, self.uploads = inner, server, uploads
        self.uploads_left, self.fraction, self.markers_left = kill_in_upload, fraction, kill_after_marker

    def _maybe_cut(self, data: bytes, name: str) -> None:
        if self.uploads_left is None:
            return
        self.uploads_left -= 1
        if self.uploads_left == 0:
            cut = int(len(data) * self.fraction)
            (self.server.local_upload / f"{name}.part").write_bytes(data[:cut])
            raise Killed(f"killed after {cut} of the {len(data)} bytes of {name}")

    def put(self, local: Path, name: str, *, progress: Any = None) -> UploadResult:
        self._maybe_cut(local.read_bytes(), name)
        result = self.inner.put(local, name, progress=progress)
        self.uploads.placed[name] += 1
        return result

    def put_bytes(self, data: bytes, name: str) -> UploadResult:
        self._maybe_cut(data, name)
        result = self.inner.put_bytes(data, name)
        self.uploads.placed[name] += 1
        if name.endswith(".ready") and self.markers_left is not None:
            self.markers_left -= 1
            if self.markers_left == 0:
                raise Killed(f"killed right after the ready marker {name}, before its record")
        return result

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.inner, attribute)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory, sshd: SshdServer) -> Path:
    """A workspace with 42 letters planned and rendered, sent to the module's sshd with batch_size 20."""
    root = tmp_path_factory.mktemp("stable") / "ws"
    workspace = make_workspace(root, transport=sshd.url(sshd.remote_upload), key=sshd.client_key,
                               known_hosts=sshd.known_hosts, batch_size=20)
    for path in (root / "flows").glob("*.yaml"):
        path.unlink()
    (root / "flows" / "default.yaml").write_text(FLOW, encoding="utf-8")
    (root / "flows" / "assignment.yaml").write_text("assignment:\n  default: default\n", encoding="utf-8")
    (root / "ledger" / "chaos.csv").write_text(ledger_csv(2 * LETTERS, 15), encoding="utf-8")
    store = open_store(workspace.database_url)
    try:
        import_ledger(store, root / "ledger" / "chaos.csv", as_of=IMPORTED,
                      reference_kind=workspace.config.creditor.reference)
        night(store, workspace, NIGHT)
        assert render_letters(store, workspace, NIGHT, workers=1).rendered == LETTERS
    finally:
        store.dispose()
    return root


@pytest.fixture()
def copy(rendered: Path, tmp_path: Path, sftp_upload: SshdServer) -> Iterator[tuple[Path, Store]]:
    root = tmp_path / "ws"
    shutil.copytree(rendered, root)
    store = open_store(open_workspace(root, environ={}).database_url)
    try:
        yield root, store
    finally:
        store.dispose()


def _set_batch_size(root: Path, size: int) -> Workspace:
    path = root / "dunning.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["print"]["batch_size"] = size
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return open_workspace(root, environ={})


def _run(monkeypatch: pytest.MonkeyPatch, store: Store, root: Path, server: SshdServer, uploads: Uploads, *,
         batch_size: int, **kill: Any) -> Any:
    """One ``send_letters`` with ``batch_size``, killed where asked; the run's result, or None when killed."""
    workspace = _set_batch_size(root, batch_size)

    def killing_transport_for(*args: Any, **kwargs: Any) -> KillingTransport:
        return KillingTransport(transport_module.transport_for(*args, **kwargs), server, uploads, **kill)

    monkeypatch.setattr(send_module, "transport_for", killing_transport_for)
    try:
        return send_letters(store, workspace, NIGHT)
    except Killed:
        return None


def _hide_documents(store: Store, count: int) -> list[dict[str, Any]]:
    """Take the last ``count`` letters' PDFs out of the store (they 'arrive' later with :func:`_restore`)."""
    with store.begin() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(documents).order_by(documents.c.action_id.desc())
                                                      .limit(count))]
        conn.execute(delete(documents).where(documents.c.action_id.in_([r["action_id"] for r in rows])))
    return rows


def _restore(store: Store, rows: list[dict[str, Any]]) -> None:
    with store.begin() as conn:
        conn.execute(insert(documents), rows)


def _assert_exactly_once(store: Store, server: SshdServer, uploads: Uploads) -> None:
    actions = letter_actions(store)
    assert len(actions) == LETTERS and all(a.status == "sent" for a in actions)  # 0 letters lost
    delivered = Counter(d.action_id for d in letter_deliveries(store))
    assert sorted(delivered) == sorted(a.id for a in actions) and set(delivered.values()) == {1}
    batches = batch_deliveries(store)
    assert all(b.status == "sent" for b in batches)
    members = Counter(i for b in batches for i in b.detail["letters"])
    assert sorted(members) == sorted(a.id for a in actions) and set(members.values()) == {1}  # 0 in two batches
    for b in batches:  # what the store says is what the print house has
        manifest = json.loads((server.local_upload / f"{b.external_id}.manifest.json").read_text())
        assert [int(row["letter_id"]) for row in manifest["letters"]] == b.detail["letters"]
    twice = {name: n for name, n in uploads.placed.items() if n > 1}
    assert twice == {}  # 0 batch files uploaded twice
    on_server = sorted(p.name for p in server.local_upload.iterdir())
    assert on_server == sorted(b.external_id + suffix for b in batches for suffix in BATCH_FILES)  # no .part
    numbers: dict[str, list[int]] = {}
    for b in batches:
        assert date.fromisoformat(b.detail["batch_run_date"]) == NIGHT
        numbers.setdefault(profile_code_of(b.external_id), []).append(batch_number(b.external_id))
    for profile, used in numbers.items():
        assert sorted(used) == list(range(1, len(used) + 1)), profile  # unique and consecutive


def test_interrupted_uploads_changing_batch_size_and_new_letters(
        copy: tuple[Path, Store], sftp_upload: SshdServer, monkeypatch: pytest.MonkeyPatch) -> None:
    root, store = copy
    server, uploads = sftp_upload, Uploads()
    later = _hide_documents(store, 12)
    # 1. 30 letters, batch_size 20: batches 001 (20 letters) and 002 (10); killed 40 % into 002's PDF
    assert _run(monkeypatch, store, root, server, uploads, batch_size=20, kill_in_upload=6, fraction=0.4) is None
    assert [(batch_number(b.external_id), b.status, len(b.detail["letters"])) for b in batch_deliveries(store)] \
        == [(1, "sent", 20), (2, "pending", 10)]
    pending = batch_deliveries(store)[1].external_id
    assert (server.local_upload / f"{pending}.pdf.part").is_file()
    # 2. 12 new letters, batch_size 7: 002 laid out again with its 10 letters, the new ones in 003 (7) and
    #    004 (5); killed right after 002's ready marker is up, before 002 is recorded sent
    _restore(store, later)
    assert _run(monkeypatch, store, root, server, uploads, batch_size=7, kill_after_marker=1) is None
    assert [(batch_number(b.external_id), b.status, len(b.detail["letters"])) for b in batch_deliveries(store)] \
        == [(1, "sent", 20), (2, "pending", 10), (3, "pending", 7), (4, "pending", 5)]
    assert batch_deliveries(store)[1].external_id == pending  # the same batch, not planned again
    # 3. batch_size 50: 002 found complete on the server (kept, recorded), 003 delivered, killed after 004's marker
    assert _run(monkeypatch, store, root, server, uploads, batch_size=50, kill_after_marker=2) is None
    assert [b.status for b in batch_deliveries(store)] == ["sent", "sent", "sent", "pending"]
    # 4. batch_size 20 again: 004 finished without uploading anything again
    last = _run(monkeypatch, store, root, server, uploads, batch_size=20)
    assert last is not None and last.problems == [] and last.recovered == 1 and len(last.batches) == 1
    _assert_exactly_once(store, server, uploads)
    assert _run(monkeypatch, store, root, server, uploads, batch_size=3).batches == []  # nothing more to send


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_killed_at_random_points_nothing_lost_or_sent_twice(
        copy: tuple[Path, Store], sftp_upload: SshdServer, monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    """Seeded kills anywhere in the uploads or after a marker, a random batch_size each run, new letters midway."""
    root, store = copy
    server, uploads, rng = sftp_upload, Uploads(), random.Random(seed)
    later = _hide_documents(store, 10)
    kills = 0
    for attempt in range(8):
        if attempt == 2:
            _restore(store, later)
        size = rng.choice((4, 7, 20, 50))
        if rng.random() < 0.3:
            kill: dict[str, Any] = {"kill_after_marker": rng.randint(1, 3)}
        else:
            kill = {"kill_in_upload": rng.randint(1, 12), "fraction": rng.choice((0.0, 0.3, 0.99, 1.0))}
        kills += _run(monkeypatch, store, root, server, uploads, batch_size=size, **kill) is None
    final = _run(monkeypatch, store, root, server, uploads, batch_size=rng.choice((4, 20)))
    assert final is not None and final.problems == []
    assert kills >= 3
    _assert_exactly_once(store, server, uploads)


def _documents(store: Store) -> dict[int, Any]:
    with store.begin() as conn:
        return {r.action_id: r for r in conn.execute(select(documents))}


def test_a_letter_whose_pdf_vanished_leaves_its_pending_batch_and_goes_later(
        copy: tuple[Path, Store], sftp_upload: SshdServer, monkeypatch: pytest.MonkeyPatch) -> None:
    root, store = copy
    server, uploads = sftp_upload, Uploads()
    assert _run(monkeypatch, store, root, server, uploads, batch_size=20, kill_in_upload=6, fraction=0.5) is None
    assert [b.status for b in batch_deliveries(store)] == ["sent", "pending", "pending"]  # 20 + 20 + 2 letters
    pending = batch_deliveries(store)[1]
    gone_file, gone_record = pending.detail["letters"][3], pending.detail["letters"][7]
    (root / _documents(store)[gone_file].path).unlink()  # the PDF vanished from the disk
    with store.begin() as conn:  # and another's record of it
        conn.execute(delete(documents).where(documents.c.action_id == gone_record))

    run = _run(monkeypatch, store, root, server, uploads, batch_size=5)
    assert run is not None and run.recovered == 2
    assert any(f"letter action {gone_file} left out of batch {pending.external_id}" in p and "cannot read" in p
               for p in run.problems), run.problems
    assert any(f"letter action {gone_record} left out of pending batch {pending.external_id}" in p
               and "no longer recorded" in p for p in run.problems), run.problems
    assert any(f"batch {pending.external_id} went without letter action(s) {min(gone_file, gone_record)}, "
               f"{max(gone_file, gone_record)}" in p and "rendered again" in p for p in run.problems), run.problems
    after = {b.external_id: b for b in batch_deliveries(store)}[pending.external_id]
    left = [i for i in pending.detail["letters"] if i not in (gone_file, gone_record)]
    assert after.status == "sent" and after.detail["letters"] == left  # same id and number, without the two
    assert set(after.detail["left_out"]) == {str(gone_file), str(gone_record)}
    manifest = json.loads((server.local_upload / f"{pending.external_id}.manifest.json").read_text())
    assert [int(row["letter_id"]) for row in manifest["letters"]] == left  # exactly what the batch holds
    ticket = json.loads((server.local_upload / f"{pending.external_id}.ticket.json").read_text())
    assert ticket["totals"]["letters"] == len(left)
    status = {a.id: a.status for a in letter_actions(store)}
    assert status[gone_file] == status[gone_record] == "planned"

    # the next run renders both again, and a new batch of the day (number 004, after 001-003) takes them
    workspace = open_workspace(root, environ={})
    assert render_letters(store, workspace, NIGHT, workers=1).rendered == 2
    again = _run(monkeypatch, store, root, server, uploads, batch_size=20)
    assert again is not None and again.problems == [] and again.letters == 2
    assert [batch_number(b) for b in again.batches] == [4]
    _assert_exactly_once(store, server, uploads)


def test_a_batch_the_print_house_has_is_held_when_a_letter_vanished(
        copy: tuple[Path, Store], sftp_upload: SshdServer, monkeypatch: pytest.MonkeyPatch) -> None:
    root, store = copy
    server, uploads = sftp_upload, Uploads()
    assert _run(monkeypatch, store, root, server, uploads, batch_size=20, kill_after_marker=2) is None
    held = batch_deliveries(store)[1]
    assert held.status == "pending" and (server.local_upload / f"{held.external_id}.ready").is_file()
    pdf = root / _documents(store)[held.detail["letters"][0]].path
    saved = pdf.read_bytes()
    pdf.unlink()

    def held_files() -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in server.local_upload.iterdir() if p.name.startswith(held.external_id)}

    files_before = held_files()
    run = _run(monkeypatch, store, root, server, uploads, batch_size=20)
    assert run is not None and held.external_id not in run.batches  # (batch 003, also pending, goes)
    assert any(f"batch {held.external_id} held: the print house already has it marked ready" in p
               for p in run.problems), run.problems
    assert held_files() == files_before and len(files_before) == 5  # nothing of it touched
    assert batch_deliveries(store)[1].status == "pending"
    # the PDF is put back: the batch is recognised on the server, recorded, and nothing is sent again
    pdf.write_bytes(saved)
    done = _run(monkeypatch, store, root, server, uploads, batch_size=20)
    assert done is not None and done.problems == [] and done.batches == [held.external_id]
    _assert_exactly_once(store, server, uploads)


def test_dunning_deliver_finishes_a_killed_upload_whatever_batch_size_is_now(
        copy: tuple[Path, Store], sftp_upload: SshdServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from dunning.cli import cli

    root, store = copy
    server, uploads = sftp_upload, Uploads()
    assert _run(monkeypatch, store, root, server, uploads, batch_size=20, kill_in_upload=8, fraction=0.7) is None
    assert [b.status for b in batch_deliveries(store)] == ["sent", "pending", "pending"]
    _set_batch_size(root, 3)
    monkeypatch.setattr(send_module, "transport_for", lambda *a, **k: KillingTransport(
        transport_module.transport_for(*a, **k), server, uploads))  # counts the uploads, kills nothing
    result = CliRunner().invoke(cli, ["-w", str(root), "deliver", "--date", NIGHT.isoformat(), "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["recovered"], summary["batches"], summary["letters_sent"], summary["problems"]) == (2, 2, 22, [])
    _assert_exactly_once(store, server, uploads)
