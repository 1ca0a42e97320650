"""The destination is verified, not assumed (folder mode, real folders, the real loop).

The Dropbox company folder must exist and is never created at run time: while it is
missing (an unmounted volume) nothing is published, archived or quarantined, status and
/healthz say so, and the export resumes by itself when it is back. "Unchanged" is decided
against what really is in the destination: a file missing or different there is published
again.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from connector.app import Daemon, build_export
from connector.export import status as export_status
from connector.state import StateStore
from tests.export.conftest import citta_file, running_export, wait_for


def _outage_cfg(config_factory, **export):  # type: ignore[no-untyped-def]
    return config_factory(dropbox={"create_company_folder": False}, export=export)


def test_unmounted_volume_is_an_outage_and_the_root_is_never_recreated(
        tmp_path: Path, config_factory) -> None:
    """The finding, step by step: publish, unmount, drop, remount (AppManager took the file
    meanwhile), drop the same content again."""
    cfg = _outage_cfg(config_factory)
    export = tmp_path / "export"
    export.mkdir()
    volume = tmp_path / "Dropbox"
    company = volume / "ACME"
    company.mkdir(parents=True)
    store = StateStore(cfg.state_dir)
    with running_export(cfg) as loop:
        (export / "io_citta.dat").write_bytes(citta_file(3))
        wait_for((company / "gestionale" / "io_citta.dat").exists)
        wait_for(lambda: not (export / "io_citta.dat").exists())
        (company / "gestionale" / "io_citta.dat").unlink()  # AppManager took it

        volume.rename(tmp_path / "Dropbox.unmounted")  # the volume goes away
        (export / "io_citta.dat").write_bytes(citta_file(3))
        wait_for(lambda: loop.outage)
        assert "is not there" in str(loop.outage)
        facts = export_status.collect(cfg, store)
        assert facts["outage"] and "is not there" in facts["outage"]["reason"]
        assert any("OUTAGE since" in line for line in export_status.render(facts))
        time.sleep(1.0)  # several bursts would have run by now
        assert not volume.exists()  # never recreated
        assert (export / "io_citta.dat").read_bytes() == citta_file(3)  # waits, not archived

        (tmp_path / "Dropbox.unmounted").rename(volume)  # back, without the file
        wait_for((company / "gestionale" / "io_citta.dat").exists, timeout=30)
        wait_for(lambda: loop.outage is None)
    assert export_status.collect(cfg, store)["outage"] is None
    outcomes = [r["outcome"] for r in store.query(
        "SELECT outcome FROM export_files WHERE source = 'io_citta.dat' ORDER BY id")]
    assert outcomes == ["published", "published"]
    messages = [r["message"] for r in store.last_events("error", 5)]
    assert any(m.startswith("outage:") for m in messages)


def test_a_missing_company_folder_at_start_is_an_outage_until_it_appears(
        tmp_path: Path, config_factory) -> None:
    cfg = _outage_cfg(config_factory)
    export = tmp_path / "export"
    export.mkdir()
    (export / "io_citta.dat").write_bytes(citta_file(2))
    company = tmp_path / "Dropbox" / "ACME"
    with running_export(cfg) as loop:
        wait_for(lambda: loop.outage)
        assert not (tmp_path / "Dropbox").exists()
        company.mkdir(parents=True)  # Dropbox finished its first sync
        wait_for((company / "gestionale" / "io_citta.dat").exists, timeout=30)
    assert not (export / "io_citta.dat").exists()


def test_healthz_fails_during_the_outage(tmp_path: Path, config_factory) -> None:
    """service/health.check, which /healthz and the systemd watchdog answer from."""
    from service.health import check

    cfg = _outage_cfg(config_factory)
    (tmp_path / "export").mkdir()
    store = StateStore(cfg.state_dir)
    (loop,) = build_export(cfg, store)
    daemon = Daemon(cfg, store, loops=[loop])
    stop = threading.Event()
    daemon.start(stop)
    try:
        wait_for(lambda: loop.outage)
        health = check(daemon, timeout=60)
        assert not health.ok and "outage" in health.describe()
        assert "/ACME is not there" in health.describe()
        (tmp_path / "Dropbox" / "ACME").mkdir(parents=True)
        wait_for(lambda: check(daemon, timeout=60).ok, timeout=30)
    finally:
        stop.set()
        assert daemon.join(10)


def test_identical_content_is_unchanged_only_while_the_destination_holds_it(
        tmp_path: Path, config_factory, gestionale) -> None:
    cfg = config_factory()
    export = tmp_path / "export"
    export.mkdir()
    store = StateStore(cfg.state_dir)
    with running_export(cfg):
        (export / "io_citta.dat").write_bytes(citta_file(3))
        wait_for(lambda: not (export / "io_citta.dat").exists())
        # still there, identical: not republished
        (export / "io_citta.dat").write_bytes(citta_file(3).replace(b"\r\n", b"\n"))
        wait_for(lambda: not (export / "io_citta.dat").exists())
        # changed in the destination by someone else: published again
        (gestionale / "io_citta.dat").write_bytes(b"tampered")
        (export / "io_citta.dat").write_bytes(citta_file(3))
        wait_for(lambda: not (export / "io_citta.dat").exists())
    assert (gestionale / "io_citta.dat").read_bytes() == b"\xef\xbb\xbf" + citta_file(3)
    outcomes = [r["outcome"] for r in store.query(
        "SELECT outcome FROM export_files WHERE source = 'io_citta.dat' ORDER BY id")]
    assert outcomes == ["published", "unchanged", "published"]


def test_export_once_says_the_folder_is_missing_and_moves_nothing(
        tmp_path: Path, config_factory) -> None:
    import pytest

    from connector.app import export_once as run_once
    from connector.errors import DestinationMissing

    cfg = _outage_cfg(config_factory)
    export = tmp_path / "export"
    export.mkdir()
    (export / "io_citta.dat").write_bytes(citta_file(2))
    with pytest.raises(DestinationMissing, match="never creates it"):
        run_once(cfg, StateStore(cfg.state_dir), max_wait=10)
    assert (export / "io_citta.dat").exists() and not (tmp_path / "Dropbox").exists()
