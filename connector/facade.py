"""The one facade of the connector: what an operator can ask of it, whoever asks.

The command line (service/commands/), the daemon (service/runner.py) and the web console
call `Connector`, never the pieces behind it: the same rules hold whichever door the work
comes in by (one process publishes and writes to the ERP: a one-shot import beside a
running daemon is handed to it; a paused part does nothing, from any door; every
operator's decision is in the actions log).

    c = Connector(cfg)
    c.status()                      # what `connector status --json` prints
    c.export_once()                 # `connector export --once`: per-file outcomes
    c.dry_run()                     # judge the export folder, publish nothing
    c.import_once()                 # `connector import --once` (handed to a running daemon)
    c.retry()                       # `connector retry`
    c.pause("export", who="mario")  # kept in the state store: the daemon honours it
    c.resume("export", who="mario")
    c.paused(); c.actions(); c.record_action("requeue", who="mario", target="orders/42")
    c.daemon()                      # the loops of `connector run`
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from connector import controls
from connector.config import Config
from connector.daemon import Daemon
from connector.state import StateStore
from connector.wiring import Loop

if TYPE_CHECKING:
    from connector.export.journal import Outcome
    from connector.extract.runner import ExtractResult
    from connector.importing.journal import JournalEntry
    from connector.importing.poller import CycleResult, Importer, StreamResult
    from connector.legacy.importer import ScanResult

# Called with the daemon's pid when a one-shot import or retry is handed to it, before
# waiting for it (the command line says so at once: the wait may be long).
HandoverNotice = Callable[[int | None], None]


@dataclass
class ExportResult:
    """What one `export --once` (or a dry run) did. `daemon_pid`: the running daemon holds
    the instance lock and publishes the folder itself (nothing was done here); `busy`:
    another one-shot command holds it; `paused`: an operator paused the export."""

    outcomes: list[Outcome] = field(default_factory=list)
    left: list[str] = field(default_factory=list)  # still being written: the next run
    dry_run: bool = False
    valid: bool = True  # dry run: every file would be published whole
    report: str = ""  # dry run: the judgement, file by file
    daemon_pid: int | None = None
    busy: str | None = None
    paused: bool = False
    held_back: dict[str, int] = field(default_factory=dict)  # source -> rows held back

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes if o.outcome == outcome)

    def summary(self) -> str:
        """The one line `connector export --once` prints."""
        from connector.export.loop import OnceResult

        return OnceResult(self.outcomes, self.left, self.held_back).counts().summary()

    @property
    def published(self) -> int:
        return self.count("published")

    @property
    def unchanged(self) -> int:
        return self.count("unchanged")

    @property
    def quarantined(self) -> int:
        return self.count("quarantined")

    @property
    def ok(self) -> bool:
        if self.dry_run:
            return self.valid
        return (self.busy is None and not self.paused and not self.quarantined
                and not self.held_back)


@dataclass
class ImportResult:
    """What one `import --once` did: the API cycle (here or by the daemon), the legacy
    folder's scan (here; the daemon's own loop scans it when it runs), or why nothing."""

    cycle: CycleResult | None = None
    legacy: ScanResult | None = None
    daemon_pid: int | None = None
    legacy_left_to_daemon: bool = False
    busy: str | None = None  # another one-shot command holds the instance lock
    refused: str | None = None  # --from-id while the daemon runs
    error: str | None = None  # the daemon did not finish it
    paused: bool = False
    unreachable: str | None = None  # the precheck's reason: AppManager cannot be reached

    @property
    def problems(self) -> bool:
        if self.busy or self.refused or self.error or self.paused or self.unreachable:
            return True
        legacy = self.legacy
        return bool((self.cycle is not None and self.cycle.problems)
                    or (legacy is not None and (legacy.quarantined or legacy.records_dead)))


@dataclass
class RetryResult:
    """What one `connector retry` did, and the dead letters left afterwards."""

    result: StreamResult | None = None
    dead_letters: list[JournalEntry] = field(default_factory=list)
    daemon_pid: int | None = None
    busy: str | None = None
    error: str | None = None
    paused: bool = False

    @property
    def problems(self) -> bool:
        r = self.result
        return bool(self.busy or self.error or self.paused or r is None or r.dead or r.failed)


class Connector:
    """The connector of one configuration (and its state store)."""

    def __init__(self, cfg: Config, *, store: StateStore | None = None) -> None:
        self.cfg = cfg
        self._store = store

    @property
    def store(self) -> StateStore:
        """Opened when first needed (`connector pause` on a fresh install creates it)."""
        if self._store is None:
            self._store = StateStore(self.cfg.state_dir)
        return self._store

    # The daemon ---------------------------------------------------------------------------
    def daemon(self, loops: list[Loop] | None = None) -> Daemon:
        """The loops of `connector run` (the ones the configuration enables), not started."""
        return Daemon(self.cfg, self.store, loops)

    # Status -------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """The facts of `connector status --json` (and /status, with the live loops)."""
        from connector import status

        return status.collect(self.cfg, self.store)

    # Export -------------------------------------------------------------------------------
    def dry_run(self) -> ExportResult:
        """Judge what the export folder holds now and publish nothing."""
        from connector.export.loop import dry_run

        out = io.StringIO()
        valid = dry_run(self.cfg, out)
        return ExportResult(dry_run=True, valid=valid, report=out.getvalue())

    def export_once(self, *, dry_run: bool = False, max_wait: float = 60.0,
                    stop: threading.Event | None = None,
                    on_outcome: Callable[[Outcome, int], None] | None = None,
                    ) -> ExportResult:
        """Publish what the export folder holds now, as the daemon would; files still
        being written after max_wait seconds are left for the next run. Publishing takes
        the instance lock: with the daemon running, it is the daemon's to do."""
        if dry_run:
            return self.dry_run()
        from connector.oslock import AlreadyRunning, InstanceLock

        if controls.is_paused(self.store, "export"):
            return ExportResult(paused=True)
        lock = InstanceLock(self.cfg.state_dir, role="export --once")
        try:
            lock.acquire()
        except AlreadyRunning as busy:
            if busy.daemon:
                return ExportResult(daemon_pid=busy.pid)
            return ExportResult(busy=str(busy))
        try:
            from connector.export.loop import publish_once
            from connector.wiring import build_publisher

            store = self.store
            done = publish_once(self.cfg, store, lambda s: build_publisher(self.cfg, store, s),
                                stop, max_wait, on_outcome)
        finally:
            lock.release()
        return ExportResult(outcomes=done.outcomes, left=done.left, held_back=done.held_back)

    def extract_once(self, **kw: Any) -> ExtractResult:
        """The SQL extraction of `export --once` (connector.extract.runner.run_once's
        keywords: mode, entities, dry_run, out)."""
        from connector.wiring import extract_once

        return extract_once(self.cfg, self.store, **kw)

    # Import -------------------------------------------------------------------------------
    def _legacy_on(self) -> bool:
        im = self.cfg.import_
        return im.legacy.enabled or im.source in ("legacy", "both")

    def import_once(self, streams: Sequence[str] | None = None, *, from_id: int | None = None,
                    wait: float = 600.0, stop: threading.Event | None = None,
                    notice: HandoverNotice | None = None,
                    precheck: Callable[[], str | None] | None = None,
                    beat: Callable[[Importer], None] | None = None) -> ImportResult:
        """One import cycle: crash leftovers and due retries, then each stream until its
        queue is drained, then the legacy folder. With the daemon running, the daemon does
        it (one process writes to the ERP) and this waits up to `wait` seconds for it.
        Done here: `precheck()` first (a reason when AppManager cannot be reached: the API
        cycle is skipped, `unreachable` says why), and `beat(importer)` once per page."""
        from connector.importing.poller import CycleResult, StreamResult
        from connector.oslock import AlreadyRunning, InstanceLock

        cfg = self.cfg
        wanted = list(streams or cfg.import_.appmanager.streams)
        if controls.is_paused(self.store, "import"):
            return ImportResult(paused=True)
        lock = InstanceLock(cfg.state_dir, role="import --once")
        try:
            lock.acquire()
        except AlreadyRunning as busy:
            if not busy.daemon:
                return ImportResult(busy=str(busy))
            if from_id is not None:
                return ImportResult(daemon_pid=busy.pid, refused=(
                    f"--from-id moves the stream's mark, which the running daemon moves "
                    f"too: stop the daemon first (process {busy.pid}; `connector service "
                    "stop`), run this, then start it again"))
            got, error = self._hand_over(busy.pid, "import", {"streams": wanted}, wait, stop,
                                         notice)
            if got is None:
                return ImportResult(daemon_pid=busy.pid, error=error)
            cycle = CycleResult(StreamResult(**got["recovered"]),
                                {k: StreamResult(**v) for k, v in got.get("streams", {}).items()})
            return ImportResult(cycle=cycle, daemon_pid=busy.pid,
                                legacy_left_to_daemon=self._legacy_on())
        try:
            return self._import_here(wanted, from_id, stop or threading.Event(), precheck,
                                     beat)
        finally:
            lock.release()

    def _import_here(self, streams: list[str], from_id: int | None, stop: threading.Event,
                     precheck: Callable[[], str | None] | None,
                     beat: Callable[[Importer], None] | None) -> ImportResult:
        from connector.wiring import build_importer, build_sink, legacy_once

        cfg, store = self.cfg, self.store
        out = ImportResult()
        sink = build_sink(cfg)
        try:
            if cfg.import_.source in ("api", "both") and precheck is not None:
                out.unreachable = precheck()
            if cfg.import_.source in ("api", "both") and out.unreachable is None:
                holder: list[Importer] = []

                def page_beat() -> None:
                    if beat is not None and holder:
                        beat(holder[0])

                importer = build_importer(cfg, store, stop, sink=sink, beat=page_beat)
                holder.append(importer)
                try:
                    if from_id is not None:
                        importer.journal.set_mark(streams[0], from_id)
                    out.cycle = importer.run_cycle(streams)
                finally:
                    importer.close()
            if self._legacy_on():
                out.legacy = legacy_once(cfg, store, stop, sink=sink)
        finally:
            sink.close()
        return out

    def retry(self, stream: str | None = None, *, wait: float = 600.0,
              stop: threading.Event | None = None,
              notice: HandoverNotice | None = None,
              beat: Callable[[StreamResult], None] | None = None) -> RetryResult:
        """Write every dead-lettered or failed record (of one stream, or all) to the ERP
        now; with the daemon running, the daemon does it. `beat(counts)` after each chunk
        written here."""
        from connector.importing.journal import journal_for
        from connector.importing.poller import Importer, StreamResult
        from connector.model import STREAMS
        from connector.oslock import AlreadyRunning, InstanceLock

        cfg = self.cfg
        streams = [stream] if stream else list(STREAMS)
        if controls.is_paused(self.store, "import"):
            return RetryResult(paused=True)
        lock = InstanceLock(cfg.state_dir, role="retry")
        out = RetryResult()
        try:
            lock.acquire()
        except AlreadyRunning as busy:
            if not busy.daemon:
                return RetryResult(busy=str(busy))
            got, error = self._hand_over(busy.pid, "retry", {"streams": streams}, wait, stop,
                                         notice)
            if got is None:
                return RetryResult(daemon_pid=busy.pid, error=error)
            out = RetryResult(result=StreamResult(**got["recovered"]), daemon_pid=busy.pid)
        else:
            from connector.wiring import build_sink

            try:
                sink = build_sink(cfg)
                try:
                    journal = journal_for(cfg, self.store)
                    res = StreamResult("retry")
                    out.result = res
                    Importer(None, journal, sink, self.store,
                             beat=(lambda: beat(res)) if beat is not None else None
                             ).redeliver(res, streams, force=True)
                finally:
                    sink.close()
            finally:
                lock.release()
        out.dead_letters = journal_for(cfg, self.store).dead_letters(stream)
        return out

    def _hand_over(self, pid: int | None, kind: str, args: dict[str, Any], wait: float,
                   stop: threading.Event | None,
                   notice: HandoverNotice | None) -> tuple[dict[str, Any] | None, str | None]:
        """Ask the running daemon to do it and wait for what it did: (result, None), or
        (None, why not)."""
        from connector.importing.handover import Handover
        from connector.oslock import probe

        if notice is not None:
            notice(pid)
        handover = Handover(self.store)
        request = handover.ask(kind, args)
        done = handover.wait(request, timeout=wait,
                             daemon_alive=lambda: probe(self.cfg.state_dir)[0], stop=stop)
        if done.error:
            return None, done.error
        return done.result or {}, None

    # Operators' controls (connector.controls) ---------------------------------------------
    def pause(self, part: str, *, who: str) -> bool:
        """Pause "export" or "import" (the legacy reader with it); False when it already
        was. The running daemon honours it within one cycle, and after a restart."""
        return controls.pause(self.store, part, who=who)

    def resume(self, part: str, *, who: str) -> bool:
        """Resume a paused part; False when it was not paused."""
        return controls.resume(self.store, part, who=who)

    def paused(self) -> dict[str, controls.Pause]:
        return controls.paused(self.store)

    def actions(self, limit: int = 50) -> list[controls.Action]:
        """The operators' actions, the most recent first."""
        return controls.actions(self.store, limit)

    def record_action(self, action: str, *, who: str, target: str = "",
                      detail: str = "") -> controls.Action:
        return controls.record_action(self.store, action, who=who, target=target,
                                      detail=detail)

