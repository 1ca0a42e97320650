"""The export loop of the daemon: watcher -> settle gate -> pipeline bursts."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

import structlog

from connector import controls
from connector.config import Config
from connector.errors import ConnectorError, DestinationMissing, TransientError
from connector.export.housekeeping import Retention
from connector.export.journal import Outcome
from connector.export.naming import classify
from connector.export.pipeline import ExportPipeline, cleanup_staging
from connector.export.watcher import FolderWatcher, SettleGate
from connector.i18n import _
from connector.ports import Publisher
from connector.state import StateStore

log = structlog.get_logger(__name__)


def make_gate(cfg: Config) -> SettleGate:
    ex = cfg.export
    dialects = tuple((d.match, d.layout) for d in ex.dialects)
    return SettleGate(ex.watch, ex.settle_seconds, ex.done_marker,
                      skip_dirs=(ex.archive, ex.quarantine, cfg.staging_dir),
                      accept=lambda rel: classify(rel, dialects) is not None,
                      trust_mtime=not ex.polling, empty_settle_seconds=ex.empty_settle_seconds)


# Builds the publisher of dropbox.mode (connector/app.py build_publisher); it may watch the
# stop event while it waits on the network.
PublisherFactory = Callable[[threading.Event], Publisher]


def start_pipeline(cfg: Config, store: StateStore, publisher: PublisherFactory,
                   stop: threading.Event,
                   beat: Callable[[], None] = lambda: None) -> ExportPipeline:
    """The folders exist, a crashed burst's staging is gone, the publisher is up."""
    ex = cfg.export
    for d in (ex.watch, ex.archive, ex.quarantine):
        d.mkdir(parents=True, exist_ok=True)
    cleanup_staging(cfg)
    return ExportPipeline(cfg, store, publisher(stop), stop, beat)


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


OUTAGE_KEY = "export.outage"  # kv: {"since", "reason"} while the Dropbox folder is missing
OUTAGE_PROBE_SECONDS = 5.0  # how often an outage is looked at again
# kv: {"since", "at", "cycle", "held"} while an operator's pause (connector.controls) holds the
# settled files back: written by the loop at most every PAUSED_WRITE_SECONDS, so that
# `connector status` (another process) sees the daemon has looked at them and held them.
PAUSED_KEY = "export.paused"
PAUSED_WRITE_SECONDS = 1.0


class ExportLoop:
    name = "export"

    def __init__(self, cfg: Config, store: StateStore, publisher: PublisherFactory) -> None:
        self.cfg = cfg
        self.store = store
        self.publisher = publisher
        self.gate = make_gate(cfg)
        self.waiting: list[str] = []
        # Set while the loop runs but cannot publish (the Dropbox folder is not there):
        # /healthz fails with it (service/health.py), `connector status` shows it.
        self.outage: str | None = None
        self._outage_written = False
        self.cycles = 0  # iterations of run's loop (the paused report shows it)
        self._paused_since: float | None = None
        self._paused_written = 0.0

    def _probe(self, publisher: Publisher) -> None:
        try:
            publisher.check_destination()
        except DestinationMissing as exc:
            self._set_outage(str(exc))
        except ConnectorError as exc:
            log.debug("destination check inconclusive", error=str(exc))  # the network
        else:
            self._set_outage(None)

    def _set_outage(self, reason: str | None) -> None:
        if self._outage_written and reason == self.outage:
            return
        if reason:
            log.error("export outage: nothing is published, files wait in the export folder",
                      reason=reason)
            self.store.record_event("error", "export", f"outage: {reason}")
            self.store.put(OUTAGE_KEY, json.dumps({"since": time.time(), "reason": reason}))
        else:
            if self.outage:
                log.info("the Dropbox folder is back: export resumes", was=self.outage)
                self.store.record_event("warning", "export",
                                        "the Dropbox folder is back: export resumed")
            self.store.put(OUTAGE_KEY, None)
        self.outage = reason
        self._outage_written = True

    def _hold_if_paused(self, ready: list[str]) -> bool:
        """True while an operator paused the export: the settled files stay where they
        are (watched, not published), and the state store says so once a second."""
        if not controls.is_paused(self.store, "export"):
            if self._paused_since is not None:
                log.info("export resumed by an operator")
                self.store.put(PAUSED_KEY, None)
                self._paused_since = None
            return False
        now = time.time()
        if self._paused_since is None:
            log.info("export paused by an operator: files wait in the export folder")
            self._paused_since = now
            self._paused_written = 0.0
        if now - self._paused_written >= PAUSED_WRITE_SECONDS:
            self.store.put(PAUSED_KEY, json.dumps({"since": self._paused_since, "at": now,
                                                   "cycle": self.cycles, "held": ready}))
            self._paused_written = now
        return True

    def run(self, stop: threading.Event, beat: Callable[[], None]) -> None:
        ex = self.cfg.export
        pipeline = start_pipeline(self.cfg, self.store, self.publisher, stop, beat)
        publisher = pipeline.publisher
        hold = BurstHold(ex.batch_seconds)
        retention = Retention(self.cfg, self.store)
        watcher = FolderWatcher(self.gate, polling=ex.polling,
                                poll_interval=ex.poll_interval_seconds)
        watcher.start()
        log.info("watching export folder", folder=str(ex.watch), settle_s=ex.settle_seconds,
                 done_marker=ex.done_marker, polling=ex.polling)
        next_rescan = 0.0
        next_housekeeping = 0.0
        next_probe = 0.0
        backoff_until = 0.0
        try:
            while not stop.is_set():
                beat()
                self.cycles += 1
                now = time.monotonic()
                if now >= next_rescan:
                    self.gate.rescan()
                    watcher.ensure_running()
                    next_rescan = now + ex.rescan_seconds
                if now >= next_probe:  # an outage is seen (and its end) with no file waiting
                    was = self.outage
                    self._probe(publisher)
                    if was and not self.outage:
                        backoff_until = 0.0  # back: what waits goes at once
                    next_probe = now + (OUTAGE_PROBE_SECONDS if self.outage
                                        else ex.rescan_seconds)
                if now >= next_housekeeping:
                    try:
                        retention.run()
                    except Exception:  # housekeeping must not stop publishing
                        log.exception("retention pass failed; tried again in an hour")
                    next_housekeeping = now + 3600.0
                # Tick fast while files settle; otherwise (and while paused) sleep on the
                # event queue.
                fast = self.gate.pending and self._paused_since is None
                watcher.drain_hints(0.05 if fast else 1.0, stop)
                ready, settling = self.gate.poll()
                self.waiting = self.gate.pending
                if self._hold_if_paused(ready):
                    continue
                if now < backoff_until or not hold.release(ready, settling, now):
                    continue
                try:
                    result = pipeline.process(ready)
                except DestinationMissing as exc:
                    self._set_outage(str(exc))
                    backoff_until = next_probe = time.monotonic() + OUTAGE_PROBE_SECONDS
                    continue
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
                self._set_outage(None)
                if result.short_of_space:  # the rest waits for room: not at once again
                    backoff_until = time.monotonic() + min(60.0, max(5.0, ex.settle_seconds * 5))
                done = set(ready) - set(result.deferred)
                for rel in done:
                    self.gate.forget(rel)
        finally:
            watcher.stop()
            publisher.close()


@dataclass
class OnceCounts:
    """What `connector export --once` did: its exit code and one-line summary."""

    published: int = 0
    unchanged: int = 0
    quarantined: int = 0
    held_back: dict[str, int] = field(default_factory=dict)  # source -> rows held back

    @property
    def ok(self) -> bool:
        """Nothing refused and no row held back: everything dropped reached AppManager."""
        return not self.quarantined and not self.held_back

    def summary(self) -> str:
        line = (f"published {self.published}, unchanged {self.unchanged}, "
                f"quarantined {self.quarantined}")
        if self.held_back:
            line += (f", rows held back {sum(self.held_back.values())} (in "
                     f"{len(self.held_back)} file(s); `connector status` says where)")
        return line


@dataclass
class OnceResult:
    """What one `connector export --once` did: each file's outcome (the journal's Outcome:
    published, unchanged or quarantined), the rows held back per file, and the files left
    for the next run (still being written after max_wait)."""

    outcomes: list[Outcome] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    held_back: dict[str, int] = field(default_factory=dict)  # source -> rows held back

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes if o.outcome == outcome)

    def counts(self) -> OnceCounts:
        return OnceCounts(self.count("published"), self.count("unchanged"),
                          self.count("quarantined"), dict(self.held_back))


def publish_once(cfg: Config, store: StateStore, publisher: PublisherFactory,
                 stop: threading.Event | None = None, max_wait: float = 60.0,
                 on_outcome: Callable[[Outcome, int], None] | None = None) -> OnceResult:
    """Publish what is in the export folder now (for `connector export --once`). Files
    still being written after max_wait seconds are left for the next run.
    `on_outcome(outcome, files_left)` hears of each file as it is done (the command's
    outcome lines and progress bar)."""
    stop = stop or threading.Event()
    pipeline = start_pipeline(cfg, store, publisher, stop)
    gate = make_gate(cfg)
    gate.rescan()
    # One shot: latency does not matter, so wait longer for the rest of a drop.
    hold = BurstHold(max(cfg.export.settle_seconds * 2, 1.0))
    result = OnceResult()
    deadline = time.monotonic() + max_wait
    try:
        while gate.pending and not stop.is_set() and time.monotonic() < deadline:
            ready, settling = gate.poll()
            if not hold.release(ready, settling, time.monotonic()):
                stop.wait(0.1)
                continue
            burst = pipeline.process(ready)
            result.outcomes.extend(o for o in burst.outcomes if o.outcome != "deferred")
            result.held_back.update(burst.held_back)
            for rel in set(ready) - set(burst.deferred):
                gate.forget(rel)
            if on_outcome is not None:
                for o in burst.outcomes:
                    on_outcome(o, len(gate.pending))
    finally:
        pipeline.publisher.close()
    result.left = gate.pending
    if result.left:
        log.warning("files left for the next run (still being written)", files=result.left[:20])
    return result


def run_once(cfg: Config, store: StateStore, publisher: PublisherFactory,
             stop: threading.Event | None = None, max_wait: float = 60.0,
             on_outcome: Callable[[Outcome, int], None] | None = None) -> OnceCounts:
    """publish_once's counts."""
    return publish_once(cfg, store, publisher, stop, max_wait, on_outcome).counts()


def dry_run(cfg: Config, out: TextIO) -> bool:
    """Judge what the export folder holds now, publish nothing; True when all of it is valid."""
    from connector.export import formats_bridge as fb
    from connector.export.journal import ExportJournal
    from connector.fsutil import UnsafePath, open_inside
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
    from connector.export.status import scan_watch

    if not gate.pending:
        out.write(f"nothing to publish in {cfg.export.watch}\n")
    for item in scan_watch(cfg)[1]:
        out.write(_("{file}: ignored, in a subfolder (only files at the top of the export "
                    "folder, multimedia/ and reports/ are taken)").format(file=item["file"])
                  + "\n")
    for rel in gate.pending:
        target = classify(rel, dialects)
        if target is None:
            continue
        try:
            fin, _st = open_inside(cfg.export.watch, rel)
        except UnsafePath as exc:
            all_valid = False
            out.write(f"{rel}: REFUSED, would be quarantined: {exc}\n")
            continue
        except OSError as exc:
            out.write(f"{rel}: cannot be read now ({exc.strerror or exc})\n")
            continue
        with fin:
            if target.kind in ("media", "report", "unsupported"):
                problem = (fb.media_content_problem(target.name, fin.read(fb.MEDIA_SNIFF_BYTES))
                           if target.kind != "unsupported" else None)
                if problem:
                    all_valid = False
                    out.write(f"{rel}: INVALID, would be quarantined: {problem}\n")
                    continue
                out.write(f"{rel}: {target.kind} -> {target.folder or 'quarantine'}/"
                          f"{target.name}\n")
                continue
            sink = geofill.writer(_Null(), target.name)  # type: ignore[arg-type]
            j = fb.judge(fin, sink, rel, target.kind, cfg.export, cfg.company)
        if not j.valid:
            all_valid = False
            hold = fb.lines_to_hold(j, cfg.export)
            if hold:
                out.write(f"{rel}: {len(hold)} bad row(s) would be held back in quarantine, the "
                          f"other {max(j.rows - len(hold), 0)} published ({j.count} problem(s))\n")
            else:
                out.write(f"{rel}: INVALID, would be quarantined ({j.count} problem(s))\n")
            out.write(j.text)
            continue
        same = journal.last_sha256(target.folder, target.name) == sink.sha256
        verdict = "unchanged, would not be republished" if same else "would be published"
        warned = f", {j.warnings} warning(s)" if j.warnings else ""
        out.write(f"{rel}: valid, {j.rows} rows{warned} -> {target.folder}/{target.name} "
                  f"({verdict})\n")
        if j.warnings:
            out.write(j.text)
    return all_valid
