"""The legacy source loop: scan the appmanager folder every import.legacy.scan_seconds.

Polling, not file-system events: the folder is usually Dropbox-synced or on a share,
where events are unreliable, and AppManager writes files at most every few minutes.
Enabled by import.legacy.enabled, or import.source legacy / both. Dead letters of this
route are retried by the import loop (connector.importing.loop), which runs whenever
import is enabled and redelivers the journal's due records whatever their source.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

from connector import controls
from connector.config import Config
from connector.legacy.importer import LegacyImporter, ScanResult
from connector.ports import ErpSink, ReturnFileParser
from connector.state import StateStore

log = structlog.get_logger(__name__)


def enabled(cfg: Config) -> bool:
    im = cfg.import_
    return im.enabled and (im.legacy.enabled or im.source in ("legacy", "both"))


class LegacyLoop:
    name = "legacy"

    def __init__(self, cfg: Config, store: StateStore, *, make_sink: Callable[[], ErpSink],
                 parse: ReturnFileParser) -> None:
        self.cfg = cfg
        self.store = store
        self.make_sink = make_sink  # the ERP sink of import.erp (opened when the loop runs)
        self.parse = parse

    def run(self, stop: threading.Event, beat: Callable[[], None]) -> None:
        sink = self.make_sink()
        importer = LegacyImporter(self.cfg, self.store, sink, self.parse)
        log.info("legacy route watching", folder=str(importer.folder))
        try:
            while not stop.is_set():
                beat()
                # The legacy route is part of the import: paused with it.
                if controls.is_paused(self.store, "import"):
                    wait = min(self.cfg.import_.legacy.scan_seconds, 1.0)
                    if stop.wait(wait):
                        break
                    continue
                result = importer.scan(stop, beat)
                beat()
                # Files still being written: look again soon rather than a full period later.
                wait = (self.cfg.import_.legacy.settle_seconds if result.unstable
                        else self.cfg.import_.legacy.scan_seconds)
                if stop.wait(wait):
                    break
        finally:
            sink.close()


def run_once(cfg: Config, store: StateStore, sink: ErpSink, parse: ReturnFileParser,
             stop: threading.Event | None = None) -> ScanResult:
    """One scan of the folder (for `connector import --once` and tests)."""
    return LegacyImporter(cfg, store, sink, parse).scan(stop or threading.Event())
