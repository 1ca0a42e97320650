"""The export loop of the daemon: watcher -> settle gate -> pipeline bursts."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

import structlog

from connector.config import Config
from connector.errors import ConnectorError, TransientError
from connector.export.housekeeping import prune_retention
from connector.export.naming import classify
from connector.export.pipeline import ExportPipeline, cleanup_staging
from connector.export.watcher import FolderWatcher, SettleGate
from connector.ports import Publisher
from connector.state import StateStore

log = structlog.get_logger(__name__)


def build_publisher(cfg: Config, store: StateStore, stop: threading.Event) -> Publisher:
    if cfg.dropbox.mode == "api":
        from adapters.dropbox_api import build_publisher as build_api

        return build_api(cfg, stop, store)
    from adapters.dropbox_folder import FolderPublisher

    pub = FolderPublisher(cfg.company_folder, cfg.staging_dir)
    pub.check()
    return pub


def make_gate(cfg: Config) -> SettleGate:
    ex = cfg.export
    dialects = tuple((d.match, d.layout) for d in ex.dialects)
    return SettleGate(ex.watch, ex.settle_seconds, ex.done_marker,
                      skip_dirs=(ex.archive, ex.quarantine, cfg.staging_dir),
                      accept=lambda rel: classify(rel, dialects) is not None,
                      trust_mtime=not ex.polling)


def start_pipeline(cfg: Config, store: StateStore, stop: threading.Event,
                   beat: Callable[[], None] = lambda: None) -> ExportPipeline:
    """The folders exist, a crashed burst's staging is gone, the publisher is up."""
    ex = cfg.export
    for d in (ex.watch, ex.archive, ex.quarantine):
        d.mkdir(parents=True, exist_ok=True)
    cleanup_staging(cfg)
    return ExportPipeline(cfg, store, build_publisher(cfg, store, stop), stop, beat)


class BurstHold:
    """Files dropped together go together: ready files wait up to `window` seconds
    while others of the same drop are still being written."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._since: float | None = None

    def release(self, ready: list[str], settling: int, now: float) -> bool:
        if not ready:
            self._since = None
            return False
        if self._since is None:
            self._since = now
        if settling and now - self._since < self.window:
            return False
        self._since = None
        return True


class ExportLoop:
    name = "export"

    def __init__(self, cfg: Config, store: StateStore) -> None:
        self.cfg = cfg
        self.store = store
        self.gate = make_gate(cfg)
        self.waiting: list[str] = []

    def run(self, stop: threading.Event, beat: Callable[[], None]) -> None:
        ex = self.cfg.export
        pipeline = start_pipeline(self.cfg, self.store, stop, beat)
        publisher = pipeline.publisher
        hold = BurstHold(ex.batch_seconds)
        watcher = FolderWatcher(self.gate, polling=ex.polling,
                                poll_interval=ex.poll_interval_seconds)
        watcher.start()
        log.info("watching export folder", folder=str(ex.watch), settle_s=ex.settle_seconds,
                 done_marker=ex.done_marker, polling=ex.polling)
        next_rescan = 0.0
        next_housekeeping = 0.0
        backoff_until = 0.0
        try:
            while not stop.is_set():
                beat()
                now = time.monotonic()
                if now >= next_rescan:
                    self.gate.rescan()
                    watcher.ensure_running()
                    next_rescan = now + ex.rescan_seconds
                if now >= next_housekeeping:
                    prune_retention(self.cfg, pipeline.journal)
                    next_housekeeping = now + 3600.0
                # Tick fast while files settle; otherwise sleep on the event queue.
                watcher.drain_hints(0.05 if self.gate.pending else 1.0, stop)
                ready, settling = self.gate.poll()
                self.waiting = self.gate.pending
                if now < backoff_until or not hold.release(ready, settling, now):
                    continue
                try:
                    result = pipeline.process(ready)
                except TransientError as exc:
                    log.error("export burst deferred", error=str(exc), files=len(ready))
                    self.store.record_event("error", "export", str(exc))
                    backoff_until = time.monotonic() + min(60.0, max(5.0, ex.settle_seconds * 5))
                    continue
                except ConnectorError as exc:
                    log.error("export burst failed", error=str(exc), files=len(ready))
                    self.store.record_event("error", "export", str(exc))
                    backoff_until = time.monotonic() + 30.0
                    continue
                done = set(ready) - set(result.deferred)
                for rel in done:
                    self.gate.forget(rel)
        finally:
            watcher.stop()
            publisher.close()


def build_loops(cfg: Config, store: StateStore) -> list[ExportLoop]:
    return [ExportLoop(cfg, store)] if cfg.export.enabled else []


def run_once(cfg: Config, store: StateStore, stop: threading.Event | None = None,
             max_wait: float = 60.0) -> tuple[int, int, int]:
    """Publish what is in the export folder now (for `connector export --once`).

    Returns (published, unchanged, quarantined). Files still being written after
    max_wait seconds are left for the next run.
    """
    stop = stop or threading.Event()
    pipeline = start_pipeline(cfg, store, stop)
    gate = make_gate(cfg)
    gate.rescan()
    # One shot: latency does not matter, so wait longer for the rest of a drop.
    hold = BurstHold(max(cfg.export.settle_seconds * 2, 1.0))
    counts = {"published": 0, "unchanged": 0, "quarantined": 0}
    deadline = time.monotonic() + max_wait
    try:
        while gate.pending and not stop.is_set() and time.monotonic() < deadline:
            ready, settling = gate.poll()
            if not hold.release(ready, settling, time.monotonic()):
                stop.wait(0.1)
                continue
            result = pipeline.process(ready)
            for o in result.outcomes:
                counts[o.outcome] = counts.get(o.outcome, 0) + 1
            for rel in set(ready) - set(result.deferred):
                gate.forget(rel)
    finally:
        pipeline.publisher.close()
    left = gate.pending
    if left:
        log.warning("files left for the next run (still being written)", files=left[:20])
    return counts["published"], counts["unchanged"], counts["quarantined"]


def dry_run(cfg: Config, out: TextIO) -> bool:
    """Judge what the export folder holds now, publish nothing; True when all of it is valid."""
    from connector.export import formats_bridge as fb
    from connector.export.journal import ExportJournal
    from connector.geocode.fill import PublishFill

    class _Null(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, b: Any) -> int:
            return len(b)

    gate = make_gate(cfg)
    gate.rescan()
    store = StateStore(cfg.state_dir)
    journal = ExportJournal(store)
    geofill = PublishFill(cfg.geocode, store)  # hashed as it would be published
    dialects = tuple((d.match, d.layout) for d in cfg.export.dialects)
    all_valid = True
    if not gate.pending:
        out.write(f"nothing to publish in {cfg.export.watch}\n")
    for rel in gate.pending:
        target = classify(rel, dialects)
        if target is None:
            continue
        if target.kind in ("media", "report", "unsupported"):
            out.write(f"{rel}: {target.kind} -> {target.folder or 'quarantine'}/{target.name}\n")
            continue
        sink = geofill.writer(_Null(), target.name)  # type: ignore[arg-type]
        with open(cfg.export.watch / rel, "rb") as fin:
            j = fb.judge(fin, sink, rel, target.kind, cfg.export, cfg.company)
        if not j.valid:
            all_valid = False
            out.write(f"{rel}: INVALID, would be quarantined ({j.count} problem(s))\n")
            out.write(j.text)
            continue
        same = journal.last_sha256(target.folder, target.name) == sink.sha256
        verdict = "unchanged, would not be republished" if same else "would be published"
        out.write(f"{rel}: valid, {j.rows} rows -> {target.folder}/{target.name} ({verdict})\n")
    return all_valid
