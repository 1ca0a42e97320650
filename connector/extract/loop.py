"""The daemon's extraction scheduler: runs each job when its schedule says so.

Every `tick_seconds` the loop asks each scheduled job whether it is due (interval or
cron, allowed weekdays, time window; see schedule.py). The due jobs run together, full
ones first, as one run per mode through `run_once` (trigger "scheduler"), under the
same lock a manual `connector export --once` takes: if a manual run holds it, the
scheduled run waits for the next tick. A run that cannot reach the database is retried
after `RETRY_SECONDS` rather than at every tick. The time of each job's last run is
kept in the state store, so a restart neither repeats nor forgets a run.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog

from connector.config import Config
from connector.errors import ConfigError, ConnectorError, TransientError
from connector.extract.jobs import Job, all_jobs, validated
from connector.extract.keystore import ensure_schema
from connector.extract.lock import ExtractBusy
from connector.state import StateStore

if TYPE_CHECKING:
    from connector.extract.runner import ExtractSources

log = structlog.get_logger(__name__)

RETRY_SECONDS = 300.0


class ExtractScheduler:
    name = "extract"

    def __init__(self, cfg: Config, store: StateStore, sources: ExtractSources | None = None,
                 clock: Callable[[], dt.datetime] = dt.datetime.now) -> None:
        self.cfg = cfg
        self.store = store
        self.sources = sources  # None: the schedule is only looked at (connector status)
        self.clock = clock
        self.jobs = [j for j in all_jobs(cfg) if j.schedule is not None]
        self._retry_at: dict[str, float] = {}
        ensure_schema(store)

    def run(self, stop: threading.Event, beat: Callable[[], None]) -> None:
        log.info("extract scheduler started",
                 jobs={j.name: j.schedule.describe() for j in self.jobs if j.schedule})
        while not stop.is_set():
            beat()
            self.tick(stop, beat)
            stop.wait(self.cfg.extract.tick_seconds)

    # ------------------------------------------------------------------ state
    def _times(self, job: Job, now: dt.datetime,
               remember: bool = True) -> tuple[dt.datetime | None, dt.datetime]:
        """(last run, first seen by the scheduler); the first sight is recorded (a cron job
        runs at its next time after that, an interval job at once)."""
        row = self.store.query_one("SELECT first_seen, last_run FROM extract_schedule "
                                   "WHERE job = ?", (job.name,))
        if row is None:
            if remember:
                self.store.execute("INSERT OR IGNORE INTO extract_schedule (job, first_seen) "
                                   "VALUES (?, ?)", (job.name, now.timestamp()))
            return None, now
        last = dt.datetime.fromtimestamp(row["last_run"]) if row["last_run"] else None
        return last, dt.datetime.fromtimestamp(row["first_seen"])

    def next_run(self, job: Job, now: dt.datetime | None = None) -> dt.datetime | None:
        if job.schedule is None:
            return None
        now = now or self.clock()
        last, first_seen = self._times(job, now, remember=False)  # status only looks
        return job.schedule.next_run(last, first_seen, now)

    def due(self, now: dt.datetime) -> dict[str, list[str]]:
        """Mode -> names of the jobs due now."""
        out: dict[str, list[str]] = {}
        for job in self.jobs:
            assert job.schedule is not None
            if self._retry_at.get(job.name, 0.0) > time.time():
                continue
            last, first_seen = self._times(job, now)
            if job.schedule.is_due(now, last, first_seen):
                out.setdefault(job.schedule.mode, []).append(job.name)
        return out

    # ------------------------------------------------------------------ one tick
    def tick(self, stop: threading.Event, beat: Callable[[], None] | None = None) -> None:
        from connector.extract.runner import run_once

        assert self.sources is not None, "a scheduler that runs jobs is given their sources"
        now = self.clock()
        due = self.due(now)
        for mode in ("full", "changed"):
            names = due.get(mode)
            if not names or stop.is_set():
                continue
            try:
                result = run_once(self.cfg, self.store, self.sources, mode=mode, entities=names,
                                  out=None, trigger="scheduler", stop=stop, beat=beat)
            except ExtractBusy as exc:
                log.info("scheduled extraction postponed: another run holds the lock",
                         jobs=names, holder=str(exc))
                return
            except ConfigError:
                raise  # the supervisor stops this loop and reports it
            except ConnectorError as exc:
                log.error("scheduled extraction failed", jobs=names, error=str(exc))
                self.store.record_event("error", "extract", f"scheduled {mode} run: {exc}")
                transient = set(names) if isinstance(exc, TransientError) else set()
            else:
                log.info("scheduled extraction done", mode=mode, jobs=names, ok=result.ok)
                transient = {o.name for o in result.outcomes if o.transient}
            finished = self.clock().timestamp()
            for n in names:
                if n in transient:  # e.g. the database is down: again soon, not every tick
                    self._retry_at[n] = time.time() + RETRY_SECONDS
                    log.warning("scheduled extraction will be retried", job=n,
                                retry_in_s=RETRY_SECONDS)
                    continue
                self._retry_at.pop(n, None)
                self.store.execute("UPDATE extract_schedule SET last_run = ? WHERE job = ?",
                                   (finished, n))


def build_loops(cfg: Config, store: StateStore,
                sources: ExtractSources) -> list[ExtractScheduler]:
    """The scheduler, when extraction is enabled and some job has a schedule."""
    if not cfg.extract.enabled:
        return []
    validated(cfg)
    scheduler = ExtractScheduler(cfg, store, sources)
    return [scheduler] if scheduler.jobs else []
