"""The export path end to end on real folders with the real watchdog observer."""

from __future__ import annotations

import os
import time
from pathlib import Path

from connector.export.journal import ExportJournal
from connector.state import StateStore
from tests.export.conftest import CITTA_HEADER, citta_file, running_export, wait_for


def _archived(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "archive").rglob("*") if p.is_file()]


def test_valid_file_is_published_in_canonical_form(tmp_path: Path, config_factory, gestionale) -> None:
    cfg = config_factory()
    export = tmp_path / "export"
    export.mkdir()
    # LF line ends and a BOM: accepted, and published in the canonical form (CRLF).
    body = citta_file(2).replace(b"\r\n", b"\n")
    with running_export(cfg):
        (export / "io_citta.dat").write_bytes(b"\xef\xbb\xbf" + body)
        out = wait_for(lambda: (gestionale / "io_citta.dat").exists() and gestionale / "io_citta.dat")
        wait_for(lambda: not (export / "io_citta.dat").exists())
    text = out.read_bytes()
    assert b"\r\n" in text and b"\n" not in text.replace(b"\r\n", b"")
    assert text.decode("utf-8-sig").splitlines()[0] == CITTA_HEADER
    assert "ACME§A002|ACME|A002|CITTA 2" in text.decode("utf-8-sig")
    # the source is archived by day, the run's io_info.dat is beside the tracciato
    archived = _archived(tmp_path)
    assert [p.name for p in archived] == ["io_citta.dat"]
    assert archived[0].parent.name == time.strftime("%Y-%m-%d")
    info = (gestionale / "io_info.dat").read_text(encoding="utf-8-sig")
    assert info.splitlines()[0] == "DESCRIZIONE|VALORE"
    assert "Clienti|ACME" in info
    # nothing temporary is left in the Dropbox folder or staging
    assert sorted(p.name for p in gestionale.iterdir()) == ["io_citta.dat", "io_info.dat"]
    assert not any((tmp_path / "staging").rglob("*.*"))


def test_invalid_file_is_quarantined_with_every_bad_line(tmp_path: Path, config_factory,
                                                         gestionale) -> None:
    cfg = config_factory()
    export = tmp_path / "export"
    export.mkdir()
    bad = (CITTA_HEADER + "\r\n"
           "ACME§A001|ACME|A001|ABANO|35031|PD|01011900000000\r\n"
           "ACME§A002|ACME|A002|PADOVA|35100|PD\r\n"              # line 3: missing field
           "ACME§A001|ACME|A003|ESTE|35042|PD|01011900000000\r\n"  # line 4: duplicate CHIAVE
           "ACME§A004|ACME| |ROVIGO|45100|PD|01011900000000\r\n")  # line 5: blank CODICE
    with running_export(cfg):
        (export / "io_citta.dat").write_text(bad, encoding="utf-8")
        report = wait_for(lambda: (tmp_path / "quarantine" / "io_citta.dat.errors.txt").exists()
                          and tmp_path / "quarantine" / "io_citta.dat.errors.txt")
        wait_for(lambda: (tmp_path / "quarantine" / "io_citta.dat").exists())
    text = report.read_text(encoding="utf-8")
    assert "line 3" in text and "line 4" in text and "line 5" in text
    assert "CHIAVE" in text and "CODICE is required" in text
    assert not (gestionale / "io_citta.dat").exists()
    assert not (export / "io_citta.dat").exists()
    # fix it, drop it again: it goes through
    with running_export(cfg):
        (export / "io_citta.dat").write_bytes(citta_file(3))
        wait_for(lambda: (gestionale / "io_citta.dat").exists())
    store = StateStore(cfg.state_dir)
    assert [q["source"] for q in ExportJournal(store).quarantine_list()] == []


def test_slow_writer_is_published_once_and_complete(tmp_path: Path, config_factory,
                                                    gestionale) -> None:
    cfg = config_factory(export={"settle_seconds": 0.5})
    export = tmp_path / "export"
    export.mkdir()
    body = citta_file(500)
    chunks = [body[i * len(body) // 50:(i + 1) * len(body) // 50] for i in range(50)]
    with running_export(cfg):
        with open(export / "io_citta.dat", "wb") as f:
            for chunk in chunks:  # 50 chunks over about 3 seconds
                f.write(chunk)
                f.flush()
                time.sleep(0.06)
        wait_for(lambda: not (export / "io_citta.dat").exists())
    assert (gestionale / "io_citta.dat").read_bytes().count(b"\r\n") == 501
    store = StateStore(cfg.state_dir)
    rows = store.query("SELECT outcome FROM export_files WHERE source = 'io_citta.dat'")
    assert [r["outcome"] for r in rows] == ["published"]
    assert not list((tmp_path / "quarantine").glob("*"))


def test_burst_of_1000_files_is_all_published(tmp_path: Path, config_factory) -> None:
    cfg = config_factory(export={"settle_seconds": 0.3})
    export = tmp_path / "export"
    export.mkdir()
    (export / "multimedia").mkdir()
    with running_export(cfg):
        for i in range(1000):
            (export / "multimedia" / f"foto {i} [ART{i}].jpg").write_bytes(b"\xff\xd8\xff" + os.urandom(64))
        multimedia = tmp_path / "Dropbox" / "ACME" / "multimedia"
        wait_for(lambda: multimedia.is_dir() and len(list(multimedia.iterdir())) == 1000, timeout=60)
        wait_for(lambda: not list((export / "multimedia").iterdir()), timeout=30)
    assert len(_archived(tmp_path)) == 1000


def test_identical_redrop_is_republished_once_appmanager_took_the_file(
        tmp_path: Path, config_factory, gestionale) -> None:
    """AppManager deletes what it imported from gestionale (and discards a file whose MD5 it
    has seen): the same data dropped again is published again, since "unchanged" is decided
    against what really is in the destination."""
    cfg = config_factory()
    export = tmp_path / "export"
    export.mkdir()
    with running_export(cfg):
        (export / "io_citta.dat").write_bytes(citta_file(3))
        wait_for(lambda: (gestionale / "io_citta.dat").exists())
        wait_for(lambda: not (export / "io_citta.dat").exists())
        (gestionale / "io_citta.dat").unlink()
        (export / "io_citta.dat").write_bytes(citta_file(3).replace(b"\r\n", b"\n"))
        wait_for(lambda: not (export / "io_citta.dat").exists())
    assert (gestionale / "io_citta.dat").read_bytes() == b"\xef\xbb\xbf" + citta_file(3)
    store = StateStore(cfg.state_dir)
    outcomes = [r["outcome"] for r in store.query(
        "SELECT outcome FROM export_files WHERE source = 'io_citta.dat' ORDER BY id")]
    assert outcomes == ["published", "published"]
    assert len(_archived(tmp_path)) == 2


def test_done_marker_mode(tmp_path: Path, config_factory, gestionale) -> None:
    cfg = config_factory(export={"done_marker": ".done", "settle_seconds": 0.2})
    export = tmp_path / "export"
    export.mkdir()
    with running_export(cfg):
        (export / "io_citta.dat").write_bytes(citta_file(3))
        time.sleep(1.0)
        assert not (gestionale / "io_citta.dat").exists()  # stable, but no marker yet
        (export / "io_citta.dat.done").write_bytes(b"")
        wait_for(lambda: (gestionale / "io_citta.dat").exists())
        wait_for(lambda: not (export / "io_citta.dat.done").exists())
    assert not (export / "io_citta.dat").exists()
    assert not list(gestionale.glob("*.done"))


def test_files_dropped_while_stopped_are_picked_up_at_start(tmp_path: Path, config_factory,
                                                            gestionale) -> None:
    cfg = config_factory(export={"rescan_seconds": 3600})
    export = tmp_path / "export"
    export.mkdir()
    (export / "io_citta.dat").write_bytes(citta_file(3))
    (export / "listino.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    with running_export(cfg):
        wait_for(lambda: (gestionale / "io_citta.dat").exists())
        wait_for(lambda: (tmp_path / "Dropbox" / "ACME" / "reports" / "listino.pdf").exists())


def test_temporary_and_foreign_names_are_left_alone(tmp_path: Path, config_factory,
                                                    gestionale) -> None:
    cfg = config_factory()
    export = tmp_path / "export"
    export.mkdir()
    names = ["~$io_art.dat", "io_art.dat.tmp", "io_art.dat.part", ".io_art.dat.swp", "io_art.dat~"]
    with running_export(cfg):
        for n in names:
            (export / n).write_bytes(b"partial")
        (export / "io_citta.dat").write_bytes(citta_file(1))
        wait_for(lambda: (gestionale / "io_citta.dat").exists())
        time.sleep(0.5)
    assert sorted(p.name for p in export.iterdir()) == sorted(names)


def test_media_names_and_types_are_checked(tmp_path: Path, config_factory) -> None:
    cfg = config_factory()
    export = tmp_path / "export"
    export.mkdir()
    multimedia = tmp_path / "Dropbox" / "ACME" / "multimedia"
    with running_export(cfg):
        (export / "Libreria Kwaba [kw07].jpg").write_bytes(b"\xff\xd8\xffjpeg")
        (export / "Depliant [0567] {2}.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42video")
        (export / "offerta.docx").write_bytes(b"word")
        (export / "Foto [senza chiusura.jpg").write_bytes(b"\xff\xd8\xffjpeg")
        wait_for(lambda: (multimedia / "Depliant [0567] {2}.mp4").exists())
        wait_for(lambda: (tmp_path / "quarantine" / "offerta.docx.errors.txt").exists())
        wait_for(lambda: (tmp_path / "quarantine" / "Foto [senza chiusura.jpg.errors.txt").exists())
    assert (multimedia / "Libreria Kwaba [kw07].jpg").read_bytes() == b"\xff\xd8\xffjpeg"
    assert "not published" in (tmp_path / "quarantine" / "offerta.docx.errors.txt").read_text()


def test_free_space_guard_moves_nothing(tmp_path: Path, config_factory, gestionale) -> None:
    cfg = config_factory(export={"min_free_mb": 1024 * 1024 * 1024})  # a petabyte floor
    export = tmp_path / "export"
    export.mkdir()
    with running_export(cfg):
        (export / "io_citta.dat").write_bytes(citta_file(3))
        store = StateStore(cfg.state_dir)
        wait_for(lambda: store.last_events("error", 1))
    assert "not enough free space" in store.last_events("error", 1)[0]["message"]
    assert (export / "io_citta.dat").read_bytes() == citta_file(3)
    assert not gestionale.exists() or not any(gestionale.iterdir())


def test_two_sources_for_one_destination_go_in_turn(tmp_path: Path, config_factory,
                                                    gestionale) -> None:
    """io_citta.dat and IO_CITTA.DAT (and an io_info.dat of the ERP's own) in one drop."""
    from connector.app import export_once as run_once

    cfg = config_factory()
    export = tmp_path / "export"
    export.mkdir()
    (export / "io_citta.dat").write_bytes(citta_file(1))
    (export / "IO_CITTA.DAT").write_bytes(citta_file(2))
    (export / "io_info.dat").write_bytes(b"DESCRIZIONE|VALORE\r\nTracciati|1.9\r\n")
    counts = run_once(cfg, StateStore(cfg.state_dir), max_wait=20)
    assert (counts.published, counts.quarantined) == (3, 0)
    assert not list(export.iterdir())
    rows = StateStore(cfg.state_dir).query(
        "SELECT source, run_id FROM export_files WHERE outcome = 'published' ORDER BY id")
    assert sorted(r["source"] for r in rows) == ["IO_CITTA.DAT", "io_citta.dat", "io_info.dat"]
    assert len({r["run_id"] for r in rows}) == 2  # the second io_citta waited for its turn
    assert (gestionale / "io_citta.dat").read_bytes().count(b"\r\n") in (2, 3)


def test_polling_observer_for_network_shares(tmp_path: Path, config_factory, gestionale) -> None:
    cfg = config_factory(export={"polling": True, "poll_interval_seconds": 0.2,
                                 "rescan_seconds": 3600})
    export = tmp_path / "export"
    export.mkdir()
    with running_export(cfg):
        time.sleep(0.3)  # the first rescan has run: only the polling observer can see this
        (export / "io_citta.dat").write_bytes(citta_file(2))
        wait_for(lambda: (gestionale / "io_citta.dat").exists())


def test_archive_and_quarantine_inside_the_export_folder_are_not_taken_again(
        tmp_path: Path, config_factory, gestionale) -> None:
    export = tmp_path / "export"
    cfg = config_factory(export={"archive": str(export / "archive"),
                                 "quarantine": str(export / "quarantine"), "rescan_seconds": 1})
    export.mkdir()
    with running_export(cfg):
        (export / "io_citta.dat").write_bytes(citta_file(2))
        (export / "io_art.dat").write_bytes(b"not a tracciato")
        wait_for(lambda: (gestionale / "io_citta.dat").exists())
        wait_for(lambda: (export / "quarantine" / "io_art.dat").exists())
        time.sleep(1.5)  # a rescan has passed over archive/ and quarantine/
    store = StateStore(cfg.state_dir)
    outcomes = sorted(r["outcome"] for r in store.query("SELECT outcome FROM export_files"))
    assert outcomes == ["published", "quarantined"]  # each once: never taken again
