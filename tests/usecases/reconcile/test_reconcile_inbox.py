"""The bank inbox: a folder and a real OpenSSH SFTP server, ZIPs, and unsafe archives refused."""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from dunning.bank.inbox import expand_zip, fetch_inbox
from dunning.bank.read import BankFileRefused
from dunning.usecases.reconcile.run import reconcile_files, reconcile_inbox
from dunning.workspace import open_workspace
from tests.servers.sshd import SshdServer
from tests.usecases.reconcile.camt_build import Payment, build_camt, write_camt
from tests.usecases.reconcile.conftest import BANK_DAY, Bench


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _statements(bench: Bench) -> tuple[bytes, bytes]:
    first = build_camt("053", [Payment("66.94", ref=bench.reference(2), bank_ref="Z-1")], day=BANK_DAY, msg_id="A")
    second = build_camt("054", [Payment("727.65", ref=bench.reference(5), bank_ref="Z-2")], day=BANK_DAY, msg_id="B")
    return first, second


def test_fetch_from_a_folder_with_a_zip_archives_and_reconciles_once(bench: Bench) -> None:
    inbox = bench.root / "bank" / "inbox"
    first, second = _statements(bench)
    _zip(inbox / "day.zip", {"stmt/2026-10-27.xml": first, "ntf.xml": second})
    (inbox / "dup-of-member.xml").write_bytes(first)  # the same statement, delivered once more on its own
    (inbox / "upload.xml.part").write_bytes(b"<half")  # still being uploaded: left alone

    result = reconcile_inbox(bench.store, bench.workspace, as_of=BANK_DAY)

    statuses = sorted((f.file, f.status) for f in result.files)
    assert statuses == [
        ("day.zip!ntf.xml", "processed"),
        ("day.zip!stmt/2026-10-27.xml", "processed"),
        ("dup-of-member.xml", "already_processed"),
    ]
    assert result.summary()["cases_paid"] == [2, 5]
    assert sorted(p.name for p in inbox.iterdir()) == ["upload.xml.part"]
    archive = bench.root / "bank" / "archive"
    assert sorted(p.name for p in archive.iterdir()) == ["day.zip", "dup-of-member.xml"]
    assert list((bench.root / "bank" / "received").iterdir()) == []
    # Nothing new: nothing happens; the same ZIP delivered again is recognised by its members.
    assert reconcile_inbox(bench.store, bench.workspace, as_of=BANK_DAY).files == ()
    _zip(inbox / "day.zip", {"stmt/2026-10-27.xml": first, "ntf.xml": second})
    again = reconcile_inbox(bench.store, bench.workspace, as_of=BANK_DAY)
    assert {f.status for f in again.files} == {"already_processed"}
    assert sorted(p.name for p in archive.iterdir()) == ["day.1.zip", "day.zip", "dup-of-member.xml"]


def test_fetch_over_sftp_from_a_real_sshd(bench: Bench, sshd: SshdServer) -> None:
    upload = sshd.local_upload
    archive = upload.parent / "archive"
    for folder in (upload, archive):
        for child in folder.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    first, second = _statements(bench)
    _zip(upload / "statements.zip", {"a.xml": first, "b.xml": second})
    if os.geteuid() == 0:
        shutil.chown(upload / "statements.zip", sshd.username, sshd.username)
    workspace = open_workspace(
        bench.root,
        environ={
            "DUNNING_BANK_INBOX": sshd.url(sshd.remote_upload),
            "DUNNING_BANK_KEY": str(sshd.client_key),
            "DUNNING_BANK_KNOWN_HOSTS": str(sshd.known_hosts),
        },
    )
    staged = fetch_inbox(workspace)
    assert [p.name for p in staged] == ["statements.zip"]
    assert list(upload.iterdir()) == [] and [p.name for p in archive.iterdir()] == ["statements.zip"]
    result = reconcile_files(bench.store, workspace, staged, as_of=BANK_DAY)
    assert [f.status for f in result.files] == ["processed", "processed"]
    assert result.summary()["cases_paid"] == [2, 5]


def test_unsafe_zips_are_refused_with_a_clear_error(bench: Bench, tmp_path: Path) -> None:
    traversal = _zip(tmp_path / "evil.zip", {"../../etc/cron.d/x.xml": b"<x/>"})
    with pytest.raises(BankFileRefused, match=r"evil\.zip!\.\./\.\./etc/cron\.d/x\.xml: a path outside"):
        expand_zip(traversal, tmp_path)
    bomb = _zip(tmp_path / "bomb.zip", {"statement.xml": b"<" + b"\0" * (4 << 20)})
    with pytest.raises(BankFileRefused, match=r"bomb\.zip!statement\.xml: inflates \d+×"):
        expand_zip(bomb, tmp_path)
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as nested:
        nested.writestr("a.xml", b"<x/>")
    nested_zip = _zip(tmp_path / "nested.zip", {"inner.bin": inner.getvalue()})
    with pytest.raises(BankFileRefused, match="a ZIP inside a ZIP"):
        expand_zip(nested_zip, tmp_path)
    not_zip = tmp_path / "broken.zip"
    not_zip.write_bytes(b"PK\x03\x04garbage")
    # Through reconcile_files: refused files are named, a good one next to them goes through.
    good = write_camt(tmp_path, "good.xml", "054", [Payment("66.94", ref=bench.reference(2))], day=BANK_DAY)
    result = reconcile_files(bench.store, bench.workspace, [traversal, bomb, not_zip, good], as_of=BANK_DAY)
    assert [f.status for f in result.files] == ["refused", "refused", "refused", "processed"]
    assert "evil.zip" in (result.files[0].error or "") and "broken.zip" in (result.files[2].error or "")
    assert not (tmp_path.parent / "etc").exists()
