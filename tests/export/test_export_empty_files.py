"""An empty file is not taken at the normal settle time (issue 18, Camel's
readLockMinLength): an ERP that creates its output first and writes it later (a shell
redirect, a program that opens the file and then runs its query) must not have the empty
file published or quarantined. It is taken only after `export.empty_settle_seconds` of
staying empty; then it is refused as any empty tracciato is."""

from __future__ import annotations

import os
import time
from pathlib import Path

from connector.inbox import SettleGate
from connector.state import StateStore
from tests.export.conftest import citta_file, running_export, wait_for

JPEG = b"\xff\xd8\xff" + b"\x00" * 64


def test_an_empty_file_waits_the_longer_settle(tmp_path: Path) -> None:
    gate = SettleGate(tmp_path, settle_seconds=1.0, done_marker=None, trust_mtime=False,
                      empty_settle_seconds=30.0)
    empty, full = tmp_path / "io_art.dat", tmp_path / "io_citta.dat"
    empty.write_bytes(b"")
    full.write_bytes(b"x")
    gate.offer(empty)
    gate.offer(full)
    assert gate.poll(now=100.0) == ([], 2)
    assert gate.poll(now=101.5) == (["io_citta.dat"], 1)  # the normal file: 1 s
    gate.forget("io_citta.dat")
    assert gate.poll(now=129.9) == ([], 1)  # empty: still waiting
    assert gate.poll(now=130.0) == (["io_art.dat"], 0)


def test_an_empty_file_filled_later_settles_as_usual(tmp_path: Path) -> None:
    gate = SettleGate(tmp_path, settle_seconds=1.0, done_marker=None, trust_mtime=False,
                      empty_settle_seconds=30.0)
    f = tmp_path / "io_art.dat"
    f.write_bytes(b"")
    gate.offer(f)
    assert gate.poll(now=100.0) == ([], 1)
    assert gate.poll(now=110.0) == ([], 1)
    f.write_bytes(b"CHIAVE\r\n")
    assert gate.poll(now=120.0) == ([], 1)  # changed: the clock starts again
    assert gate.poll(now=121.0) == (["io_art.dat"], 0)


def test_an_old_empty_file_gets_no_credit_beyond_the_normal_settle(tmp_path: Path) -> None:
    """On a local disk the time since the mtime counts, but for an empty file only up to
    settle_seconds: the connector itself must see it stay empty."""
    gate = SettleGate(tmp_path, settle_seconds=1.0, done_marker=None, empty_settle_seconds=30.0)
    f = tmp_path / "io_art.dat"
    f.write_bytes(b"")
    os.utime(f, (time.time() - 3600, time.time() - 3600))  # created an hour ago
    gate.offer(f)
    assert gate.poll(now=100.0) == ([], 1)
    assert gate.poll(now=100.5) == ([], 1)  # a non-empty file this old would go now
    assert gate.poll(now=128.9) == ([], 1)
    assert gate.poll(now=129.0) == (["io_art.dat"], 0)


def test_a_marker_says_an_empty_file_is_done(tmp_path: Path) -> None:
    gate = SettleGate(tmp_path, 0.0, ".done", empty_settle_seconds=30.0)
    (tmp_path / "io_art.dat").write_bytes(b"")
    (tmp_path / "io_art.dat.done").write_bytes(b"")
    gate.rescan()
    gate.poll(now=1.0)
    assert gate.poll(now=1.2) == (["io_art.dat"], 0)


def test_the_daemon_waits_for_the_erp_to_fill_its_file(tmp_path: Path, config_factory,
                                                      gestionale: Path) -> None:
    cfg = config_factory(export={"settle_seconds": 0.2, "empty_settle_seconds": 3600})
    export = tmp_path / "export"
    (export / "multimedia").mkdir(parents=True)
    with running_export(cfg):
        (export / "io_citta.dat").write_bytes(b"")  # the ERP opens its output...
        (export / "multimedia" / "foto.jpg").write_bytes(JPEG)  # ...beside another file
        # The image, seen with the empty file, is published long after the normal settle
        # time has passed for both: the empty file is still there, untouched.
        wait_for(lambda: (gestionale.parent / "multimedia" / "foto.jpg").exists())
        wait_for(lambda: not (export / "multimedia" / "foto.jpg").exists())
        assert (export / "io_citta.dat").read_bytes() == b""
        assert not list((tmp_path / "quarantine").rglob("*"))
        (export / "io_citta.dat").write_bytes(citta_file(3))  # ...and writes it later
        wait_for(lambda: (gestionale / "io_citta.dat").exists())
        wait_for(lambda: not (export / "io_citta.dat").exists())
    assert (gestionale / "io_citta.dat").read_bytes() == b"\xef\xbb\xbf" + citta_file(3)
    store = StateStore(cfg.state_dir)
    rows = store.query("SELECT outcome FROM export_files WHERE source = 'io_citta.dat'")
    assert [r["outcome"] for r in rows] == ["published"]
    assert not list((tmp_path / "quarantine").rglob("*"))


def test_a_file_left_empty_is_refused_after_the_longer_settle(tmp_path: Path, config_factory,
                                                              gestionale: Path) -> None:
    cfg = config_factory(export={"settle_seconds": 0.1, "empty_settle_seconds": 0.5})
    export = tmp_path / "export"
    export.mkdir()
    with running_export(cfg):
        (export / "io_citta.dat").write_bytes(b"")
        wait_for(lambda: (tmp_path / "quarantine" / "io_citta.dat.errors.txt").exists())
    assert not (gestionale / "io_citta.dat").exists()
