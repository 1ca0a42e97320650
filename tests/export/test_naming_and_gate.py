from __future__ import annotations

import os
from pathlib import Path

import pytest

from connector.export.naming import classify
from connector.inbox import SettleGate, is_ignored


@pytest.mark.parametrize(("rel", "kind", "dest"), [
    ("io_clifor_gen.dat", "tracciato", "gestionale/io_clifor_gen.dat"),
    ("IO_ART.DAT", "tracciato", "gestionale/io_art.dat"),
    ("io_catalogo.dat", "catalog_index", "multimedia/io_catalogo.dat"),
    ("multimedia/io_catalogo.dat", "catalog_index", "multimedia/io_catalogo.dat"),
    ("io_reports.dat", "reports_index", "reports/io_reports.dat"),
    ("Libreria Kwaba [kw07].jpg", "media", "multimedia/Libreria Kwaba [kw07].jpg"),
    ("multimedia/Sedie/Foresta {1}.png", "media", "multimedia/Sedie/Foresta {1}.png"),
    ("listino.pdf", "report", "reports/listino.pdf"),
    ("reports/estratto.pdf", "report", "reports/estratto.pdf"),
    ("ordini.xlsx", "unsupported", "/ordini.xlsx"),
    ("clienti.dat", "tracciato", "gestionale/clienti.dat"),
])
def test_classify(rel: str, kind: str, dest: str) -> None:
    t = classify(rel)
    assert t is not None
    assert (t.kind, f"{t.folder}/{t.name}") == (kind, dest)


def test_classify_dialects_and_foreign_subfolders() -> None:
    t = classify("Clienti_2026.CSV", (("clienti*.csv", "io_clifor_gen"),))
    assert t is not None and (t.kind, t.name) == ("dialect", "io_clifor_gen.dat")
    assert classify("archive/2026-01-01/io_art.dat") is None


@pytest.mark.parametrize("name", ["~$io_art.dat", "io_art.dat.tmp", "io_art.dat.part", ".hidden",
                                  "io_art.dat~", "x.swp", "io_art.dat.crdownload",
                                  "io_art.dat.errors.txt", "sub/.git/x"])
def test_temporary_names_are_ignored(name: str) -> None:
    assert is_ignored(name)


def test_done_markers_are_ignored_only_in_marker_mode() -> None:
    assert is_ignored("io_art.dat.done", ".done")
    assert not is_ignored("io_art.dat", ".done")


def test_settle_gate_waits_for_stable_size_and_mtime(tmp_path: Path) -> None:
    gate = SettleGate(tmp_path, settle_seconds=1.0, done_marker=None, trust_mtime=False)
    f = tmp_path / "io_art.dat"
    f.write_bytes(b"a")
    gate.offer(f)
    assert gate.poll(now=100.0) == ([], 1)      # first sight
    assert gate.poll(now=100.5) == ([], 1)      # stable for 0.5 s only
    with open(f, "ab") as fh:
        fh.write(b"more")
    os.utime(f, ns=(0, 123456789))
    assert gate.poll(now=100.9) == ([], 1)      # changed: the clock starts again
    assert gate.poll(now=101.5) == ([], 1)
    assert gate.poll(now=102.0) == (["io_art.dat"], 0)
    f.unlink()
    assert gate.poll(now=103.0) == ([], 0)
    assert gate.pending == []


def test_settle_gate_marker_mode_and_rescan(tmp_path: Path) -> None:
    (tmp_path / "archive").mkdir()
    (tmp_path / "archive" / "io_old.dat").write_bytes(b"x")
    (tmp_path / "io_art.dat").write_bytes(b"x")
    (tmp_path / "~$io_art.dat").write_bytes(b"x")
    gate = SettleGate(tmp_path, 0.0, ".done", skip_dirs=(tmp_path / "archive",))
    gate.rescan()
    assert gate.pending == ["io_art.dat"]
    gate.poll(now=1.0)
    assert gate.poll(now=5.0) == ([], 0)        # stable but no marker
    (tmp_path / "io_art.dat.done").write_bytes(b"")
    gate.offer(tmp_path / "io_art.dat.done")
    assert gate.poll(now=6.0) == (["io_art.dat"], 0)


def test_gate_never_holds_files_the_pipeline_has_no_use_for(tmp_path: Path) -> None:
    from connector.export.naming import classify

    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_bytes(b"x")
    (tmp_path / "io_art.dat").write_bytes(b"x")
    gate = SettleGate(tmp_path, 0.0, None, accept=lambda rel: classify(rel) is not None)
    gate.rescan()
    assert gate.pending == ["io_art.dat"]


def test_settle_gate_counts_the_time_since_mtime_on_local_disks(tmp_path: Path) -> None:
    import time

    gate = SettleGate(tmp_path, settle_seconds=1.0, done_marker=None)
    old = tmp_path / "io_old.dat"
    old.write_bytes(b"x")
    os.utime(old, (time.time() - 5, time.time() - 5))  # written 5 s ago, seen only now
    fresh = tmp_path / "io_new.dat"
    fresh.write_bytes(b"x")
    gate.offer(old)
    gate.offer(fresh)
    assert gate.poll(now=50.0) == ([], 2)        # never on first sight
    assert gate.poll(now=50.05) == ([], 2)       # seen again too soon to confirm
    assert gate.poll(now=50.2) == (["io_old.dat"], 1)
    assert gate.poll(now=51.1) == (["io_new.dat", "io_old.dat"], 0)


def test_the_bridge_reads_as_much_of_a_medium_as_the_sniffer_needs() -> None:
    from connector.export import formats_bridge as fb
    from formats.media import SNIFF_BYTES

    assert fb.MEDIA_SNIFF_BYTES == SNIFF_BYTES
