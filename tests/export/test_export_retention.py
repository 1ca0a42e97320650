"""Retention never deletes what it has not seen age (an injected clock, real folders).

The finding: after a +100-day wall-clock jump and a restart, the quarantine (the only copy
of refused files) and the archive were emptied, and nothing was logged.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from structlog.testing import capture_logs

from connector.export import status as export_status
from connector.export.housekeeping import DAY, Clock, Retention
from connector.export.journal import ExportJournal
from connector.state import StateStore


class FakeClock:
    def __init__(self) -> None:
        self.wall = time.time()
        self.mono = 1000.0
        self.boot = "boot-1"

    def clock(self) -> Clock:
        return Clock(wall=lambda: self.wall, mono=lambda: self.mono, boot=lambda: self.boot)

    def advance(self, seconds: float, wall: float | None = None) -> None:
        self.mono += seconds
        self.wall += seconds if wall is None else wall


def _populate(tmp_path: Path, store: StateStore) -> dict[str, Path]:
    old_day = tmp_path / "archive" / "2001-01-01"
    today = tmp_path / "archive" / time.strftime("%Y-%m-%d")
    for d in (old_day, today):
        d.mkdir(parents=True)
        (d / "io_art.dat").write_bytes(b"x")
    q = tmp_path / "quarantine"
    q.mkdir()
    old = q / "io_clienti.dat"
    old.write_bytes(b"refused")
    (q / "io_clienti.dat.errors.txt").write_text("io_clienti.dat: INVALID\n")
    os.utime(old, (0, 0))  # 1970: any retention by file time deletes it at once
    ExportJournal(store).quarantined("io_clienti.dat", str(old), str(old) + ".errors.txt",
                                     "line 2: bad", 1)
    return {"old_day": old_day, "today": today, "old": old}


def _left(tmp_path: Path) -> list[str]:
    return sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
                  if p.is_file() and p.parts[-2] != "state" and "state" not in p.parts)


def test_a_wall_clock_jump_and_restarts_delete_nothing(tmp_path: Path, config_factory) -> None:
    cfg = config_factory(export={"archive_days": 30, "quarantine_days": 90})
    store = StateStore(cfg.state_dir)
    _populate(tmp_path, store)
    before = _left(tmp_path)
    clock = FakeClock()
    retention = Retention(cfg, store, clock.clock())
    assert retention.run().removed == []  # first sight: age 0, whatever the names or times

    clock.advance(3600, wall=100 * DAY)  # one real hour, the wall clock says 100 days
    with capture_logs() as logs:
        step = retention.run()
    assert step.removed == [] and step.jumped is not None and step.jumped > 99 * DAY
    assert step.credited == 3600
    assert any(e["event"] == "retention: wall clock jump" for e in logs)
    assert "wall clock" in store.last_events("warning", 1)[0]["message"]

    clock.advance(3600, wall=3600)  # a restart on the same boot: the real hour counts
    assert Retention(cfg, store, clock.clock()).run().credited == 3600

    clock.boot = "boot-2"  # a reboot: the time it was down is unknown, it does not count
    clock.advance(3600, wall=200 * DAY)
    step = Retention(cfg, store, clock.clock()).run()
    assert step.removed == [] and step.credited == 0
    assert _left(tmp_path) == before


def test_what_has_aged_goes_with_a_log_line_and_the_quarantine_is_announced_first(
        tmp_path: Path, config_factory) -> None:
    cfg = config_factory(export={"archive_days": 30, "quarantine_days": 90})
    store = StateStore(cfg.state_dir)
    paths = _populate(tmp_path, store)
    clock = FakeClock()
    retention = Retention(cfg, store, clock.clock())
    retention.run()
    removed_on: dict[str, int] = {}
    announced_on: dict[str, int] = {}
    with capture_logs() as logs:
        for day in range(1, 100):
            clock.advance(DAY)
            step = retention.run()
            for p in step.removed:
                removed_on[p] = day
            for p in step.announced:
                announced_on[p] = day
            if day == 85:  # announced, not yet deleted: status says when it goes
                facts = export_status.collect(cfg, store)
                (item,) = facts["quarantined"]
                assert item["delete_on"] is not None
                text = "\n".join(export_status.render(facts))
                assert "TO BE DELETED on about" in text
    old, report = str(paths["old"]), paths["old"].with_name("io_clienti.dat.errors.txt")
    assert removed_on == {str(paths["old_day"]): 30, str(paths["today"]): 30, old: 90}
    assert announced_on == {old: 83}
    assert not report.exists()
    archive_lines = [e for e in logs if e["event"] == "archive removed by retention"]
    assert {e["folder"] for e in archive_lines} == {str(paths["old_day"]), str(paths["today"])}
    assert all(e["names"] == ["io_art.dat"] for e in archive_lines)
    assert [e["file"] for e in logs if e["event"] == "quarantined file deleted by retention"] \
        == [old]
    events = [r["message"] for r in store.query(
        "SELECT message FROM events WHERE level = 'warning' ORDER BY id")]
    assert any("will be deleted on" in m and "io_clienti.dat" in m for m in events)


def test_a_file_quarantined_later_gets_its_own_age(tmp_path: Path, config_factory) -> None:
    cfg = config_factory(export={"quarantine_days": 10})
    store = StateStore(cfg.state_dir)
    (tmp_path / "quarantine").mkdir()
    clock = FakeClock()
    retention = Retention(cfg, store, clock.clock())
    retention.run()
    clock.advance(9 * DAY)
    retention.run()
    late = tmp_path / "quarantine" / "late.dat"
    late.write_bytes(b"x")
    os.symlink("/etc/shadow", tmp_path / "quarantine" / "env.pdf")  # a quarantined link
    for _ in range(10):  # first seen at the first of these passes: ages 0 to 9 days
        assert retention.run().removed == []
        clock.advance(DAY)
    assert sorted(retention.run().removed) == sorted(
        [str(tmp_path / "quarantine" / "env.pdf"), str(late)])
    assert Path("/etc/shadow").exists()


def test_held_back_folders_left_empty_are_removed(tmp_path: Path, config_factory) -> None:
    """The rows and report of a held-back folder deleted by retention, or another emptied
    by the clerk (the fixed file dropped again): the empty folders go too; one still
    holding something, a link and `held-back` itself stay."""
    cfg = config_factory(export={"quarantine_days": 10})
    store = StateStore(cfg.state_dir)
    held = tmp_path / "quarantine" / "held-back"
    aged, emptied, kept = (held / "20261101-120000-aaaaaaaa", held / "20261102-120000-bbbbbbbb",
                           held / "20261103-120000-cccccccc")
    for d in (aged, emptied, kept):
        d.mkdir(parents=True)
    (aged / "io_citta.dat").write_bytes(b"CHIAVE\r\nx\r\n")
    (aged / "io_citta.dat.errors.txt").write_text("report\n")
    clock = FakeClock()
    retention = Retention(cfg, store, clock.clock())
    retention.run()
    assert not emptied.exists()  # nothing was ever in it to keep
    for _ in range(10):
        clock.advance(DAY)
        retention.run()
        if not kept.exists():  # held back again today, after the others aged
            kept.mkdir()
            (kept / "io_art.dat").write_bytes(b"CHIAVE\r\ny\r\n")
    assert not aged.exists()
    assert (kept / "io_art.dat").exists() and held.is_dir()
    elsewhere = tmp_path / "elsewhere" / "empty"
    elsewhere.mkdir(parents=True)
    (held / "sub").mkdir()
    os.symlink(elsewhere.parent, held / "sub" / "link")  # a linked folder: never entered
    retention.run()
    assert (held / "sub" / "link").is_symlink() and elsewhere.is_dir()
