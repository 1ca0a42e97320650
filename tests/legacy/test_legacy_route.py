"""The legacy route end to end: folder -> journal -> SQL staging tables (SQLite), files
deleted or archived only once their records are safe, bad files quarantined."""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from structlog.testing import capture_logs

from adapters.erp.sql_sink import SqlSink
from connector.app import build_legacy as build_loops
from connector.app import legacy_once as run_once
from connector.config import Config
from connector.errors import TransientError
from connector.importing.journal import Journal
from connector.legacy import status as legacy_status
from connector.legacy.loop import LegacyLoop
from connector.model import InboundRecord
from connector.ports import ErpRef
from connector.state import StateStore
from tests.legacy.samples import LEAD_NOTES_XML, LEADS_XML, customer_line, note_line, order_file


@pytest.fixture
def legacy_cfg(tmp_path: Path, config_factory: Callable[..., Config]) -> Callable[..., Config]:
    def make(**legacy: Any) -> Config:
        return config_factory(**{"import": {
            "enabled": True, "source": "legacy",
            "legacy": {"folder": str(tmp_path / "appmanager"), "settle_seconds": 0.05,
                       "scan_seconds": 0.1, **legacy},
            "erp": {"sink": "sql", "sql": {"url": f"sqlite:///{tmp_path / 'staging.sqlite'}"}}}})
    return make


def _drop(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text.encode("utf-8"))
    return path


def _count(sink: SqlSink, logical: str) -> int:
    with sink.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count())
                                .select_from(sink.schema.tables[logical])).scalar_one())


def _samples(folder: Path) -> None:
    _drop(folder, "IB_AM_ORD_ACME_1042.DAT", order_file("1042"))
    _drop(folder, "IB_AM_ORD_ACME_1043.DAT", order_file("1043"))
    _drop(folder, "IB_AM_CF_ANA_ACME_1.DAT", customer_line("C001", "501") + "\r\n"
          + customer_line("C002", "502") + "\r\n")
    _drop(folder, "IB_AM_CF_NOTE_ACME_1.DAT", note_line() + "\r\n")
    _drop(folder, "leads_data_ACME_1_1.xml", LEADS_XML)
    _drop(folder, "leads_note_ACME_1_1.xml", LEAD_NOTES_XML)
    _drop(folder, "readme.txt", "not ours")


def test_sample_files_import_into_the_staging_tables(legacy_cfg: Callable[..., Config]) -> None:
    cfg = legacy_cfg()
    sink = SqlSink(cfg.import_.erp.sql)
    sink.create_tables()
    _samples(cfg.legacy_folder)
    store = StateStore(cfg.state_dir)
    result = run_once(cfg, store, sink=sink)
    assert len(result.imported) == 6 and result.quarantined == [] and result.waiting == []
    assert sorted(p.name for p in cfg.legacy_folder.iterdir()) == ["readme.txt"]
    counts = {t: _count(sink, t) for t in ("orders", "order_rows", "customer_changes",
                                           "customer_notes", "leads", "lead_notes")}
    assert counts == {"orders": 2, "order_rows": 8, "customer_changes": 2, "customer_notes": 1,
                      "leads": 2, "lead_notes": 1}
    with sink.engine.connect() as conn:
        t = sink.schema.tables["orders"]
        src = conn.execute(sa.select(t.c.source, t.c.source_ref, t.c.nr_ord_orig)
                           .order_by(t.c.id)).all()
    assert src == [("legacy", "IB_AM_ORD_ACME_1042.DAT", "1042"),
                   ("legacy", "IB_AM_ORD_ACME_1043.DAT", "1043")]
    journal = Journal(store)
    assert {e.state for e in journal.entries()} == {"delivered"}
    assert {e.source for e in journal.entries()} == {"legacy"}

    # AppManager (or a Dropbox conflict) delivers the same file again: a no-op.
    _drop(cfg.legacy_folder, "IB_AM_ORD_ACME_1042.DAT", order_file("1042"))
    again = run_once(cfg, store, sink=sink)
    assert again.imported == ["IB_AM_ORD_ACME_1042.DAT"] and again.records_delivered == 0
    assert _count(sink, "orders") == 2 and _count(sink, "order_rows") == 8
    section = legacy_status.collect(cfg, store)
    assert section["files_imported"] == 7 and section["waiting"] == 0  # readme.txt is not ours
    sink.close()


def test_a_malformed_file_goes_to_quarantine_with_its_report(
        legacy_cfg: Callable[..., Config]) -> None:
    cfg = legacy_cfg()
    sink = SqlSink(cfg.import_.erp.sql)
    sink.create_tables()
    lines = order_file().splitlines()
    lines[1] = lines[1].replace("|120|", "|12O|")  # a letter O in a quantity
    _drop(cfg.legacy_folder, "AM_ORD_ACME_7.DAT", "\r\n".join(lines))
    _drop(cfg.legacy_folder, "AM_CF_NOTE_ACME_7.DAT", note_line())
    store = StateStore(cfg.state_dir)
    result = run_once(cfg, store, sink=sink)
    assert result.quarantined == ["AM_ORD_ACME_7.DAT"] and result.imported == ["AM_CF_NOTE_ACME_7.DAT"]
    qdir = cfg.export.quarantine / "legacy"
    report = (qdir / "AM_ORD_ACME_7.DAT.errors.txt").read_text(encoding="utf-8")
    assert "line 2, field R_QTA_1, value '12O': not a decimal number" in report
    assert (qdir / "AM_ORD_ACME_7.DAT").read_text(encoding="utf-8").count("\n") == 3  # untouched
    assert _count(sink, "orders") == 0 and _count(sink, "customer_notes") == 1
    journal = Journal(store)
    assert [q.source for q in journal.quarantined()] == ["legacy"]
    assert "AM_ORD_ACME_7.DAT" in store.last_events()[0]["message"]
    section = legacy_status.collect(cfg, store)
    assert section["quarantined"] == 1
    assert any("quarantined 1" in line for line in legacy_status.render(section))
    sink.close()


def test_archive_instead_of_delete(legacy_cfg: Callable[..., Config], tmp_path: Path) -> None:
    cfg = legacy_cfg(archive=str(tmp_path / "legacy-archive"))
    sink = SqlSink(cfg.import_.erp.sql)
    sink.create_tables()
    _drop(cfg.legacy_folder, "AM_CF_ANA_ACME_1.DAT", customer_line())
    run_once(cfg, StateStore(cfg.state_dir), sink=sink)
    assert [p.name for p in (tmp_path / "legacy-archive").rglob("*.DAT")] == ["AM_CF_ANA_ACME_1.DAT"]
    sink.close()


class _FlakySink:
    """The ERP is down for the first `down` writes, then refuses one customer for good."""

    name = "flaky"

    def __init__(self, down: int) -> None:
        self.down = down
        self.landed: dict[str, int] = {}

    def write(self, record: InboundRecord) -> ErpRef:
        if self.down > 0:
            self.down -= 1
            raise TransientError("ERP database is restarting")
        if getattr(record.model, "cod_cliente", None) == "REFUSE":
            from connector.errors import PermanentError
            raise PermanentError("customer REFUSE is blocked in the ERP")
        dup = record.key in self.landed
        self.landed[record.key] = self.landed.get(record.key, 0) + 1
        return ErpRef(self.name, record.key, duplicate=dup)

    def close(self) -> None:
        pass


def test_a_file_stays_until_its_records_are_delivered_or_dead_lettered(
        legacy_cfg: Callable[..., Config]) -> None:
    cfg = legacy_cfg()
    cfg = dataclasses.replace(cfg, import_=dataclasses.replace(cfg.import_, retry_seconds=0.0))
    path = _drop(cfg.legacy_folder, "AM_CF_ANA_ACME_5.DAT",
                 customer_line("C001", "1") + "\r\n" + customer_line("REFUSE", "2") + "\r\n")
    store = StateStore(cfg.state_dir)
    sink = _FlakySink(down=1)
    first = run_once(cfg, store, sink=sink)
    assert first.waiting == ["AM_CF_ANA_ACME_5.DAT"] and path.exists()  # ERP down: kept
    second = run_once(cfg, store, sink=sink)
    assert second.imported == ["AM_CF_ANA_ACME_5.DAT"] and not path.exists()
    journal = Journal(store)
    (dead,) = journal.dead_letters()
    assert dead.state == "dead" and "blocked" in (dead.last_error or "")
    assert list(sink.landed.values()) == [1]


def test_a_file_still_being_written_is_left_for_later(legacy_cfg: Callable[..., Config]) -> None:
    cfg = legacy_cfg(settle_seconds=0.05)
    path = _drop(cfg.legacy_folder, "AM_CF_NOTE_ACME_9.DAT", note_line())

    class GrowsWhileSettling(threading.Event):
        """The sync client appends to the file during the settle wait."""

        def wait(self, timeout: float | None = None) -> bool:
            path.write_bytes((note_line() + "\r\n" + note_line(id_="701")).encode())
            return super().wait(timeout)

    sink = _FlakySink(down=0)
    result = run_once(cfg, StateStore(cfg.state_dir), GrowsWhileSettling(), sink=sink)
    assert result.unstable == ["AM_CF_NOTE_ACME_9.DAT"] and result.imported == [] and path.exists()
    assert run_once(cfg, StateStore(cfg.state_dir), sink=sink).imported == ["AM_CF_NOTE_ACME_9.DAT"]
    assert len(sink.landed) == 2


def test_the_loop_is_built_when_enabled_and_stops_promptly(
        legacy_cfg: Callable[..., Config], config_factory: Callable[..., Config]) -> None:
    assert build_loops(config_factory(), StateStore(config_factory().state_dir)) == []
    cfg = legacy_cfg()
    store = StateStore(cfg.state_dir)
    (loop,) = build_loops(cfg, store)
    assert isinstance(loop, LegacyLoop) and loop.name == "legacy"
    sink = _FlakySink(down=0)
    loop.make_sink = lambda: sink
    _drop(cfg.legacy_folder, "AM_CF_NOTE_ACME_3.DAT", note_line())
    stop = threading.Event()
    beats: list[int] = []
    t = threading.Thread(target=loop.run, args=(stop, lambda: beats.append(1)))
    t.start()
    for _ in range(200):
        if not (cfg.legacy_folder / "AM_CF_NOTE_ACME_3.DAT").exists():
            break
        stop.wait(0.02)
    stop.set()
    t.join(5)
    assert not t.is_alive() and beats and len(sink.landed) == 1
    assert not os.path.exists(cfg.legacy_folder / "AM_CF_NOTE_ACME_3.DAT")


def test_another_companys_files_are_left_in_place_and_logged_once(
        legacy_cfg: Callable[..., Config]) -> None:
    """As the reference connector does: a file whose COD_DITTA is another company's is
    that company's connector's. It stays in the folder untouched, is not quarantined, is
    logged once (not at every scan, nor again after a restart) and shown by status."""
    cfg = legacy_cfg()
    sink = SqlSink(cfg.import_.erp.sql)
    sink.create_tables()
    ours = _drop(cfg.legacy_folder, "IB_AM_ORD_ACME_1042.DAT", order_file("1042"))
    beta_order = _drop(cfg.legacy_folder, "IB_AM_ORD_BETA_9.DAT",
                       order_file("9").replace("ACME|", "BETA|"))
    beta_notes = _drop(cfg.legacy_folder, "IB_AM_CF_NOTE_BETA_1.DAT",
                       note_line(COD_DITTA="BETA") + "\r\n")
    before = {p: p.read_bytes() for p in (beta_order, beta_notes)}
    store = StateStore(cfg.state_dir)
    with capture_logs() as logs:
        results = [run_once(cfg, store, sink=sink) for _ in range(3)]  # each a new importer
    assert results[0].imported == [ours.name] and not ours.exists()
    for r in results:
        assert sorted(r.foreign) == sorted([beta_order.name, beta_notes.name])
        assert r.quarantined == []
    assert {p: p.read_bytes() for p in before} == before  # untouched
    left = [e for e in logs if e["event"] == "legacy file of another company left in place"]
    assert sorted(e["file"] for e in left) == sorted([beta_order.name, beta_notes.name])
    assert all(e["companies"] == ["BETA"] for e in left)
    qdir = cfg.export.quarantine / "legacy"
    assert not qdir.exists() or not list(qdir.iterdir())
    assert _count(sink, "orders") == 1 and Journal(store).quarantined() == []
    section = legacy_status.collect(cfg, store)
    assert section["other_company"] == 2 and section["waiting"] == 0
    assert section["quarantined"] == 0
    assert any("left for other companies' connectors 2" in line
               for line in legacy_status.render(section))

    # BETA's connector takes its files: forgotten, nothing left to show.
    beta_order.unlink()
    beta_notes.unlink()
    assert run_once(cfg, store, sink=sink).foreign == []
    assert legacy_status.collect(cfg, store)["other_company"] == 0
    sink.close()


def test_a_file_mixing_companies_is_quarantined(legacy_cfg: Callable[..., Config]) -> None:
    cfg = legacy_cfg()
    sink = SqlSink(cfg.import_.erp.sql)
    sink.create_tables()
    _drop(cfg.legacy_folder, "AM_CF_ANA_X_1.DAT", customer_line() + "\r\n"
          + customer_line(cod="C2", COD_DITTA="BETA") + "\r\n")
    result = run_once(cfg, StateStore(cfg.state_dir), sink=sink)
    assert result.quarantined == ["AM_CF_ANA_X_1.DAT"] and result.foreign == []
    report = (cfg.export.quarantine / "legacy" / "AM_CF_ANA_X_1.DAT.errors.txt").read_text(
        encoding="utf-8")
    assert "line 2, field COD_DITTA, value 'BETA': COD_DITTA of another company" in report
    sink.close()
