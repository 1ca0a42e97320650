"""The facade's export half, in process: per-file outcomes, the dry run, the pause, and the
actions log; the same calls the command line and the console make."""

from __future__ import annotations

from pathlib import Path

from connector.app import Connector
from connector.state import StateStore
from tests.export.conftest import citta_file


def test_export_once_gives_each_files_outcome(tmp_path: Path, config_factory, gestionale) -> None:
    cfg = config_factory()
    export = tmp_path / "export"
    export.mkdir()
    (export / "io_citta.dat").write_bytes(citta_file(2))
    (export / "io_clienti.dat").write_bytes(b"not a tracciato\r\n")
    c = Connector(cfg, store=StateStore(cfg.state_dir))

    judged = c.dry_run()
    assert judged.dry_run and not judged.valid
    assert "io_citta.dat: valid, 2 rows" in judged.report
    assert "io_clienti.dat: INVALID" in judged.report
    assert not (gestionale / "io_citta.dat").exists()

    done = c.export_once(max_wait=20)
    by_file = {o.source: o.outcome for o in done.outcomes}
    assert by_file == {"io_citta.dat": "published", "io_clienti.dat": "quarantined"}
    assert (done.published, done.unchanged, done.quarantined) == (1, 0, 1) and not done.ok
    assert (gestionale / "io_citta.dat").exists()
    assert c.status()["export"]["published"][0]["name"] == "io_citta.dat"


def test_a_paused_export_publishes_nothing_until_resumed(tmp_path: Path, config_factory,
                                                         gestionale) -> None:
    cfg = config_factory()
    export = tmp_path / "export"
    export.mkdir()
    (export / "io_citta.dat").write_bytes(citta_file(2))
    c = Connector(cfg)
    assert c.pause("export", who="mario") is True
    assert c.pause("export", who="luigi") is False  # already paused: not recorded again
    assert set(c.paused()) == {"export"} and c.paused()["export"].who == "mario"
    assert c.status()["paused"]["export"]["who"] == "mario"

    held = c.export_once(max_wait=5)
    assert held.paused and not held.ok and held.outcomes == []
    assert not (gestionale / "io_citta.dat").exists()

    assert c.resume("export", who="mario") is True
    assert c.resume("export", who="mario") is False
    assert c.export_once(max_wait=20).published == 1
    c.record_action("requeue", who="anna", target="orders/42", detail="from the console")
    assert [(a.action, a.who, a.target) for a in c.actions()] == [
        ("requeue", "anna", "orders/42"), ("resume", "mario", "export"),
        ("pause", "mario", "export")]
    assert c.status()["paused"] == {}
