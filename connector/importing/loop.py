"""The import loop the daemon runs: a cycle every import.appmanager.poll_seconds.

Each cycle first delivers crash leftovers and due retries (dead letters are retried with
backoff, import.retry_seconds doubling up to import.max_retry_seconds), then polls the
streams (when import.source is api or both). Nothing here sleeps: waits are on the stop
event, in short slices so the heartbeat stays fresh.

Between cycles it does what one-shot commands ask of the daemon (connector.importing.
handover): `connector import --once` and `connector retry` run beside the daemon hand
their work to it, so that only this process writes to the ERP.

The loop is given how to open its ERP sink and its AppManager feed (connector/app.py
builds them from the configuration); it imports no adapter.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable

import structlog

from connector import controls
from connector.config import Config
from connector.errors import AuthError, StateStoreError, StopRequested, TransientError
from connector.importing.handover import Handover, Request
from connector.importing.poller import Importer, StreamResult, importer_for
from connector.model import STREAMS
from connector.ports import ErpSink, StreamFeed
from connector.state import StateStore

log = structlog.get_logger(__name__)
# The one-shot command prints it after "the daemon did not finish it: ".
PAUSED_ERROR = "import is paused (connector resume import)"


class ImportLoop:
    name = "import"

    def __init__(self, cfg: Config, store: StateStore, *, make_sink: Callable[[], ErpSink],
                 make_feed: Callable[[threading.Event], StreamFeed]) -> None:
        self.cfg = cfg
        self.store = store
        self.make_sink = make_sink  # the ERP sink of import.erp (opened when the loop runs)
        self.make_feed = make_feed  # the AppManager client (it may ask the License Manager)

    def _importer(self, sink: ErpSink, stop: threading.Event,
                  beat: Callable[[], None]) -> Importer:
        return importer_for(self.cfg, self.store, self.make_feed(stop), sink, stop=stop,
                            beat=beat)

    def run(self, stop: threading.Event, beat: Callable[[], None]) -> None:
        cfg = self.cfg
        poll_api = cfg.import_.source in ("api", "both")
        sink = self.make_sink()
        handover = Handover(self.store)
        importer = None
        was_paused = False
        try:
            while not stop.is_set():
                beat()
                started = time.monotonic()
                paused = controls.is_paused(self.store, "import")
                if paused != was_paused:
                    log.info("import paused by an operator" if paused else
                             "import resumed by an operator")
                    was_paused = paused
                try:
                    if paused:  # no poll, no delivery: the ERP is left alone
                        pass
                    elif poll_api:
                        if importer is None:
                            importer = self._importer(sink, stop, beat)
                        importer.run_cycle(cfg.import_.appmanager.streams)
                    else:
                        importer_for(cfg, self.store, None, sink, stop=stop,
                                     beat=beat).redeliver(StreamResult("(journal)"))
                except StopRequested:
                    return
                except TransientError as exc:
                    log.warning("import cycle failed, next cycle will retry", error=str(exc))
                    self.store.record_event("error", "import", str(exc))
                # Paused: look again every second, so a resume is seen at once.
                period = min(1.0, cfg.import_.appmanager.poll_seconds) if paused else \
                    cfg.import_.appmanager.poll_seconds
                wait = max(0.0, period - (time.monotonic() - started))
                end = time.monotonic() + wait
                while not stop.is_set():  # asked at least once between two cycles
                    beat()
                    request = handover.take()
                    if request is not None and controls.is_paused(self.store, "import"):
                        handover.finish(request.id, error=PAUSED_ERROR)
                        continue
                    if request is not None:
                        if importer is None and poll_api:
                            importer = self._importer(sink, stop, beat)
                        self._serve(handover, request, importer, sink, stop, beat)
                        continue
                    if (left := end - time.monotonic()) <= 0:
                        break
                    stop.wait(min(left, 1.0))
        finally:
            if importer is not None:
                importer.close()
            sink.close()

    def _serve(self, handover: Handover, request: Request, importer: Importer | None,
               sink: ErpSink, stop: threading.Event, beat: Callable[[], None]) -> None:
        """Do what a one-shot command asked (an import cycle, or a retry of the dead
        letters) and leave the result for it."""
        log.info("doing what a one-shot command asked", kind=request.kind, args=request.args)
        asdict = dataclasses.asdict
        streams = [s for s in request.args.get("streams") or STREAMS if s in STREAMS]
        try:
            if request.kind == "import" and importer is not None:
                result = importer.run_cycle(streams)
                out = {"recovered": asdict(result.recovered),
                       "streams": {k: asdict(v) for k, v in result.streams.items()}}
            elif request.kind in ("import", "retry"):
                plain = importer_for(self.cfg, self.store, None, sink, stop=stop, beat=beat)
                res = plain.redeliver(StreamResult(request.kind), streams,
                                      force=request.kind == "retry")
                out = {"recovered": asdict(res), "streams": {}}
            else:
                handover.finish(request.id, error=f"unknown request {request.kind!r}")
                return
        except (StopRequested, AuthError, StateStoreError) as exc:
            try:
                handover.finish(request.id, error=f"the daemon could not do it: {exc}")
            except StateStoreError:
                pass
            raise
        except Exception as exc:  # told to the command, the loop goes on
            log.exception("a one-shot command's request failed", kind=request.kind)
            handover.finish(request.id, error=f"{type(exc).__name__}: {exc}")
            return
        handover.finish(request.id, out)
