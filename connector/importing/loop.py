"""The import loop the daemon runs: a cycle every import.appmanager.poll_seconds.

Each cycle first delivers crash leftovers and due retries (dead letters are retried with
backoff, import.retry_seconds doubling up to import.max_retry_seconds), then polls the
streams (when import.source is api or both). Nothing here sleeps: waits are on the stop
event, in short slices so the heartbeat stays fresh.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

from connector.config import Config
from connector.errors import StopRequested, TransientError
from connector.state import StateStore

log = structlog.get_logger(__name__)


class ImportLoop:
    name = "import"

    def __init__(self, cfg: Config, store: StateStore) -> None:
        self.cfg = cfg
        self.store = store

    def run(self, stop: threading.Event, beat: Callable[[], None]) -> None:
        from adapters.erp import build_sink
        from connector.importing.wiring import build_importer, build_journal

        cfg = self.cfg
        poll_api = cfg.import_.source in ("api", "both")
        sink = build_sink(cfg)
        importer = None
        try:
            while not stop.is_set():
                beat()
                started = time.monotonic()
                try:
                    if poll_api:
                        if importer is None:
                            importer = build_importer(cfg, self.store, stop, sink=sink, beat=beat)
                        importer.run_cycle(cfg.import_.appmanager.streams)
                    else:
                        from connector.importing.poller import Importer, StreamResult

                        Importer(None, build_journal(cfg, self.store), sink, self.store,
                                 stop=stop, beat=beat).redeliver(StreamResult("(journal)"))
                except StopRequested:
                    return
                except TransientError as exc:
                    log.warning("import cycle failed, next cycle will retry", error=str(exc))
                    self.store.record_event("error", "import", str(exc))
                wait = max(0.0, cfg.import_.appmanager.poll_seconds -
                           (time.monotonic() - started))
                end = time.monotonic() + wait
                while not stop.is_set() and (left := end - time.monotonic()) > 0:
                    beat()
                    stop.wait(min(left, 5.0))
        finally:
            if importer is not None:
                importer.close()
            sink.close()


def build_loops(cfg: Config, store: StateStore) -> list[ImportLoop]:
    if not cfg.import_.enabled:
        return []
    return [ImportLoop(cfg, store)]
