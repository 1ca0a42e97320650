"""The one folder inbox (connector/inbox.py) the export folder and the legacy folder share:
archive by day, quarantine with a report written first, names never overwritten, links
moved as links; the settle gate's flat mode."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from connector.fsutil import UnsafePath
from connector.inbox import Inbox, SettleGate


def _inbox(tmp_path: Path, archive: bool = True, marker: str | None = None) -> Inbox:
    root = tmp_path / "in"
    root.mkdir()
    return Inbox(root, quarantine=tmp_path / "q", archive=tmp_path / "a" if archive else None,
                 done_marker=marker)


def test_archive_by_day_keeps_the_folder_never_overwrites_and_takes_the_marker(
        tmp_path: Path) -> None:
    box = _inbox(tmp_path, marker=".done")
    day = time.strftime("%Y-%m-%d")
    (box.root / "multimedia").mkdir()
    for _ in range(2):
        (box.root / "multimedia" / "a.jpg").write_bytes(b"x")
        (box.root / "multimedia" / "a.jpg.done").write_bytes(b"")
        box.archive("multimedia/a.jpg")
    kept = sorted(p.relative_to(tmp_path / "a").as_posix() for p in (tmp_path / "a").rglob("*.jpg"))
    assert kept == [f"{day}/multimedia/a (2).jpg", f"{day}/multimedia/a.jpg"]
    assert list((box.root / "multimedia").iterdir()) == []  # the markers went too
    assert box.archive("multimedia/a.jpg") is None  # gone already: nothing to do


def test_without_an_archive_a_file_done_with_is_deleted(tmp_path: Path) -> None:
    box = _inbox(tmp_path, archive=False)
    (box.root / "AM_ORD_ACME_1.DAT").write_bytes(b"x")
    assert box.archive("AM_ORD_ACME_1.DAT") is None
    assert list(box.root.iterdir()) == [] and not (tmp_path / "a").exists()


def test_quarantine_writes_the_report_beside_the_file_and_keeps_older_ones(
        tmp_path: Path) -> None:
    box = _inbox(tmp_path)
    for text in ("first", "second"):
        (box.root / "io_art.dat").write_bytes(text.encode())
        q = box.quarantine("io_art.dat", f"{text} report\n")
        assert q.moved and q.path.read_bytes() == text.encode()
        assert q.report == q.path.with_name(q.path.name + ".errors.txt")
        assert q.report.read_text() == f"{text} report\n"
    assert sorted(p.name for p in (tmp_path / "q").iterdir()) == [
        "io_art (2).dat", "io_art (2).dat.errors.txt", "io_art.dat", "io_art.dat.errors.txt"]


def test_a_crash_before_the_move_leaves_the_file_and_a_report_the_retry_replaces(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The report is written first: interrupted there, the file is still in the folder (to
    be judged again), and the next attempt reuses the same place (no 'name (2)')."""
    import connector.inbox as inbox_module

    box = _inbox(tmp_path)
    (box.root / "io_art.dat").write_bytes(b"bad")

    def crash(*_a: object, **_kw: object) -> None:
        raise KeyboardInterrupt  # stands in for the process dying here

    real = inbox_module.move_inside
    monkeypatch.setattr(inbox_module, "move_inside", crash)
    with pytest.raises(KeyboardInterrupt):
        box.quarantine("io_art.dat", "old report\n")
    assert (box.root / "io_art.dat").exists()
    assert (tmp_path / "q" / "io_art.dat.errors.txt").read_text() == "old report\n"
    monkeypatch.setattr(inbox_module, "move_inside", real)
    q = box.quarantine("io_art.dat", "new report\n")
    assert q.moved and q.path == tmp_path / "q" / "io_art.dat"
    assert sorted(p.name for p in (tmp_path / "q").iterdir()) == [
        "io_art.dat", "io_art.dat.errors.txt"]
    assert q.report.read_text() == "new report\n"


def test_a_link_is_opened_never_and_moved_as_itself(tmp_path: Path) -> None:
    box = _inbox(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("password=hunter2")
    os.symlink(secret, box.root / "io_art.dat")
    with pytest.raises(UnsafePath) as err:
        box.open("io_art.dat")
    q = box.quarantine("io_art.dat", "a link\n", culprit=err.value.culprit, copy=False)
    assert q.moved and q.path.is_symlink() and os.readlink(q.path) == str(secret)
    assert secret.read_text() == "password=hunter2"  # what it points to is untouched
    assert list(box.root.iterdir()) == []


def test_a_name_gone_before_its_move_is_reported_as_not_moved(tmp_path: Path) -> None:
    box = _inbox(tmp_path)
    q = box.quarantine("AM_ORD_ACME_1.DAT", "gone\n")
    assert not q.moved


def test_the_flat_gate_looks_at_the_folder_only_and_offers_links(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "AM_ORD_ACME_1.DAT").write_bytes(b"x")
    (tmp_path / "AM_ORD_ACME_2.DAT").write_bytes(b"x")
    os.symlink(tmp_path / "sub", tmp_path / "AM_ORD_ACME_3.DAT")
    gate = SettleGate(tmp_path, 0.0, None, trust_mtime=False, flat=True)
    gate.rescan()
    assert gate.pending == ["AM_ORD_ACME_2.DAT", "AM_ORD_ACME_3.DAT"]
    assert gate.poll(now=1.0) == ([], 2) and gate.settling == gate.pending
    assert gate.poll(now=2.0) == (["AM_ORD_ACME_2.DAT", "AM_ORD_ACME_3.DAT"], 0)
    assert gate.settling == []
