"""Retention of the archive and the quarantine, counted in time the connector has seen pass.

The wall clock is not trusted with deletions: after a +100-day jump (a bad NTP answer, a
VM restored from a snapshot, a hand-set date) a retention by file times or folder names
would empty the quarantine, the only copy of refused files. So:
- each archive day folder and each quarantined file is recorded the first time the
  connector sees it, with an age of 0;
- each pass adds to every age the time that really passed since the previous pass, by
  the monotonic clock (across a restart on the same boot as well; after a reboot, or
  where the boot cannot be told, the time the connector was not running does not count);
- a wall clock that moved differently from the monotonic one is logged as a jump and
  changes nothing; the history rows of the journal are pruned only in passes without one;
- a quarantined file is first announced ("to be deleted on <date>", in the log, the
  events and `connector status`) for NOTICE_DAYS of seen time before it is deleted;
- every deletion is logged with what it deletes.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from connector.config import Config
from connector.export.journal import ExportJournal
from connector.state import StateStore

log = structlog.get_logger(__name__)

DAY = 86400.0
NOTICE_DAYS = 7  # a quarantined file is announced this long before it is deleted
JUMP_TOLERANCE = 300.0  # seconds the two clocks may drift apart between passes
LAST_PASS_KEY = "export.retention.last_pass"

DDL = """
CREATE TABLE IF NOT EXISTS export_retention (
    path TEXT PRIMARY KEY, area TEXT NOT NULL, first_seen REAL NOT NULL,
    age REAL NOT NULL DEFAULT 0, notice_from REAL);
"""


def _boot_id() -> str | None:
    """Identifies this boot (Linux), so a restart can count the time it was stopped."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


@dataclass
class Clock:
    wall: Callable[[], float] = time.time
    mono: Callable[[], float] = time.monotonic
    boot: Callable[[], str | None] = field(default=_boot_id)


@dataclass(frozen=True)
class Pass:
    credited: float  # seconds added to every age
    jumped: float | None  # the wall clock's jump against the monotonic one, if any
    removed: list[str]
    announced: list[str]


class Retention:
    """One per running export loop: `run()` once at start and about hourly."""

    def __init__(self, cfg: Config, store: StateStore, clock: Clock | None = None) -> None:
        self.cfg = cfg
        self.store = store
        self.clock = clock or Clock()
        self.journal = ExportJournal(store)
        store.ensure_schema("export_retention", DDL)
        self._last: tuple[float, float] | None = None  # (wall, mono) of this process's last pass

    def run(self) -> Pass:
        wall, mono, boot = self.clock.wall(), self.clock.mono(), self.clock.boot()
        credited, jumped = self._elapsed(wall, mono, boot)
        self._last = (wall, mono)
        self.store.put(LAST_PASS_KEY, json.dumps({"wall": wall, "mono": mono, "boot": boot}))
        ex = self.cfg.export
        seen = self._inventory()
        with self.store.transaction() as conn:
            conn.execute("UPDATE export_retention SET age = age + ?", (credited,))
            conn.executemany(
                "INSERT INTO export_retention(path, area, first_seen, age) VALUES (?, ?, ?, 0) "
                "ON CONFLICT(path) DO NOTHING", [(p, a, wall) for p, a in seen.items()])
            known = [r[0] for r in conn.execute("SELECT path FROM export_retention")]
            gone = [(p,) for p in known if p not in seen]
            conn.executemany("DELETE FROM export_retention WHERE path = ?", gone)
        removed: list[str] = []
        announced: list[str] = []
        if ex.archive_days > 0:
            removed += self._prune_archive(ex.archive_days * DAY)
        if ex.quarantine_days > 0:
            more, announced = self._prune_quarantine(ex.quarantine_days * DAY, wall)
            removed += more
        self._remove_empty_folders()
        if jumped is None and credited > 0:
            self.journal.prune_history(max(ex.archive_days, ex.quarantine_days, 30))
        return Pass(credited, jumped, removed, announced)

    def _remove_empty_folders(self) -> None:
        """Held-back folders left empty (their rows and report deleted by retention, or
        taken out by the clerk to fix and drop again), bottom up; never `held-back`
        itself, never through a link. Nothing is in them to lose."""
        root = self.cfg.export.quarantine / "held-back"
        if not root.is_dir() or root.is_symlink():
            return
        for dirpath, dirnames, filenames in os.walk(root, topdown=False):
            here = Path(dirpath)
            if here == root or filenames or os.path.islink(here):
                continue
            if any(os.path.lexists(here / d) for d in dirnames):
                continue  # a subfolder still there (not empty, or a link)
            try:
                here.rmdir()
            except OSError:
                continue  # something arrived meanwhile, or not ours to remove
            log.info("empty held-back folder removed by retention", folder=str(here))

    # How much time passed ---------------------------------------------------------------------
    def _elapsed(self, wall: float, mono: float, boot: str | None) -> tuple[float, float | None]:
        if self._last is not None:
            last_wall, last_mono = self._last
        else:
            raw = self.store.get(LAST_PASS_KEY)
            last = json.loads(raw) if raw else None
            if not last:
                return 0.0, None
            if boot is None or last.get("boot") != boot:
                if wall < float(last["wall"]) - JUMP_TOLERANCE:
                    self._jump(wall - float(last["wall"]), "is earlier than at the last pass")
                    return 0.0, wall - float(last["wall"])
                log.info("retention: the time the connector was not running does not count",
                         stopped_s=round(max(0.0, wall - float(last["wall"]))))
                return 0.0, None
            last_wall, last_mono = float(last["wall"]), float(last["mono"])
        real = max(0.0, mono - last_mono)
        skew = (wall - last_wall) - real
        if abs(skew) > max(JUMP_TOLERANCE, 0.01 * real):
            self._jump(skew, "moved differently from the monotonic clock")
            return real, skew
        return real, None

    def _jump(self, skew: float, what: str) -> None:
        text = (f"the wall clock {what} by {skew / DAY:+.1f} days: retention counts only the "
                "time the connector saw pass, so nothing is deleted for it")
        log.warning("retention: wall clock jump", skew_s=round(skew), detail=text)
        self.store.record_event("warning", "export", text)

    # What there is -----------------------------------------------------------------------------
    def _inventory(self) -> dict[str, str]:
        """path -> area: each archive day folder, each quarantined file (its report goes
        with it); never following a link (a quarantined link is an entry of its own)."""
        out: dict[str, str] = {}
        ex = self.cfg.export
        if ex.archive.is_dir():
            for day in os.scandir(ex.archive):
                out[os.path.abspath(day.path)] = "archive"
        if ex.quarantine.is_dir():
            for dirpath, dirnames, filenames in os.walk(ex.quarantine):
                links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
                dirnames[:] = [d for d in dirnames if d not in links]
                names = set(filenames) | set(links)
                for name in names:
                    if name.endswith(".errors.txt") and name[:-len(".errors.txt")] in names:
                        continue  # the report of a file: deleted with it
                    if name.startswith(".") and name.endswith((".tmp", ".moving")) or \
                            ".tmp-" in name:
                        continue  # a write in progress
                    out[os.path.abspath(os.path.join(dirpath, name))] = "quarantine"
        return out

    # What goes ---------------------------------------------------------------------------------
    def _prune_archive(self, keep: float) -> list[str]:
        rows = self.store.query("SELECT path, age, first_seen FROM export_retention "
                                "WHERE area = 'archive' AND age >= ?", (keep,))
        removed = []
        for r in rows:
            path = Path(r["path"])
            files = _files_in(path)
            _remove(path)
            self.store.execute("DELETE FROM export_retention WHERE path = ?", (r["path"],))
            removed.append(str(path))
            log.info("archive removed by retention", folder=str(path), files=len(files),
                     names=files[:50], more=max(0, len(files) - 50),
                     kept_days=round(float(r["age"]) / DAY, 1),
                     retention_days=self.cfg.export.archive_days)
        return removed

    def _prune_quarantine(self, keep: float, wall: float) -> tuple[list[str], list[str]]:
        notice = min(float(NOTICE_DAYS) * DAY, keep)
        announced = []
        for r in self.store.query("SELECT path, age FROM export_retention WHERE area = "
                                  "'quarantine' AND notice_from IS NULL AND age >= ?",
                                  (keep - notice,)):
            self.store.execute("UPDATE export_retention SET notice_from = ? WHERE path = ?",
                               (r["age"], r["path"]))
            on = _date(wall + max(keep - float(r["age"]), notice))
            announced.append(r["path"])
            log.warning("quarantined file will be deleted by retention", file=r["path"],
                        on=on, retention_days=self.cfg.export.quarantine_days)
            self.store.record_event("warning", "export", f"quarantined {r['path']} will be "
                                    f"deleted on {on} (export.quarantine_days)")
        removed = []
        for r in self.store.query("SELECT path, age, notice_from FROM export_retention WHERE "
                                  "area = 'quarantine' AND notice_from IS NOT NULL AND age >= ? "
                                  "AND age - notice_from >= ?", (keep, notice)):
            path = Path(r["path"])
            _remove(path)
            report = path.with_name(path.name + ".errors.txt")
            if report != path:
                report.unlink(missing_ok=True)
            self.store.execute("DELETE FROM export_retention WHERE path = ?", (r["path"],))
            removed.append(str(path))
            log.warning("quarantined file deleted by retention", file=str(path),
                        kept_days=round(float(r["age"]) / DAY, 1),
                        retention_days=self.cfg.export.quarantine_days)
        return removed, announced


def deletion_dates(cfg: Config, store: StateStore) -> dict[str, float]:
    """For `connector status`: quarantined path -> about when it will be deleted (the files
    already announced; the date moves later if the connector is stopped meanwhile)."""
    try:
        store.ensure_schema("export_retention", DDL)
        rows = store.query("SELECT path, age, notice_from FROM export_retention "
                           "WHERE area = 'quarantine' AND notice_from IS NOT NULL")
    except Exception:  # noqa: BLE001 - status shows what it can
        return {}
    raw = store.get(LAST_PASS_KEY)
    last: dict[str, Any] = json.loads(raw) if raw else {}
    now = float(last.get("wall") or time.time())
    keep = cfg.export.quarantine_days * DAY
    notice = min(float(NOTICE_DAYS) * DAY, keep)
    return {r["path"]: now + max(0.0, keep - float(r["age"]),
                                 notice - (float(r["age"]) - float(r["notice_from"])))
            for r in rows}


def _files_in(path: Path) -> list[str]:
    if path.is_symlink() or not path.is_dir():
        return [path.name]
    return sorted(os.path.relpath(os.path.join(d, f), path)
                  for d, _dirs, files in os.walk(path) for f in files)


def _remove(path: Path) -> None:
    """Delete a name; a folder without following links inside it (rmtree does not)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _date(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(ts))

