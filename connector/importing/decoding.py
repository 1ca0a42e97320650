"""Decoding pages in a worker process: a second interpreter, so a second GIL.

The import path is bound by Python's global interpreter lock, not by the CPU: decoding
each item into the model and rendering what the sink writes from it take most of it. A
page read ahead (connector.importing.readahead) is handed to one worker process at once,
which decodes its items and runs the sink's render step on each (the files sink: the
files' names and bytes; connector.ports.RenderingSink); it sends back, per item, only what
the poller and the journal need (queue id, unique_id, guid, id and unique_id as sent) and
the rendered output, never the model. The poller journals the page with the item texts it
already holds, and the sink writes what was rendered, which travels beside each record
(connector.ports.Rendered), never inside it; a record's model is decoded again in this
process only if something asks for it.

Only big pages go there (MIN_BYTES): for a few records a process hop costs more than it
saves, so a connector that keeps up with its agents never starts the worker; one catching
up with a backlog does, and stops it after the first import cycle that had no big page.

A malformed item is decoded again here, to quarantine it with the same error as before. If
the worker process cannot be started, dies, fails, or takes over RESULT_TIMEOUT for a page,
that page and every later one are decoded here (a warning is logged once); nothing is lost
or decoded differently. The worker's side is connector.importing.decode_worker: it ignores
SIGINT and SIGTERM (Ctrl-C and a service stop reach the whole process group: the connector
stops it when done) and ends with the connector, even one killed outright.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import structlog

from connector.importing.decode_worker import Decoded, decode_page, start_worker
from connector.model import InboundRecord, Malformed, Page, RawPage, decode_item
from connector.ports import Render, Rendered

log = structlog.get_logger(__name__)

MIN_BYTES = 64 * 1024  # a page smaller than this is decoded in this process
RESULT_TIMEOUT = 60.0  # seconds for a page (it takes milliseconds): a stuck worker is left


@dataclass(frozen=True)
class Decoding:
    """A raw page whose items the worker process is decoding."""

    raw: RawPage
    future: Future[list[Decoded]]
    render: Render | None
    source: PageDecoder

    def result(self) -> tuple[Page, tuple[Rendered | None, ...]]:
        """The page decoded, and beside its records (one entry per `page.items`, in order)
        what the render step made of each (None: nothing rendered)."""
        try:
            results = self.future.result(timeout=RESULT_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - decoded here instead, as without a worker
            self.source.give_up(exc)
            return self.raw.decode(), ()
        decoded: list[InboundRecord | Malformed] = []
        rendered: list[Rendered | None] = []
        stream, render = self.raw.stream, self.render
        for i, (raw, r) in enumerate(zip(self.raw.raws, results, strict=True)):
            if r is None:
                item = decode_item(stream, i, raw)
                decoded.append(item)
                if isinstance(item, InboundRecord):
                    rendered.append(None)
                continue
            queue_id, unique_id, guid, sent_id, sent_uid, output, warnings = r
            decoded.append(InboundRecord.decoded_elsewhere(
                stream, queue_id, unique_id, raw, sent_id, sent_uid, guid, warnings))
            rendered.append(Rendered(render, output)
                            if output is not None and render is not None else None)
        return self.raw.page(decoded), tuple(rendered)


class PageDecoder:
    """One worker process that decodes raw pages (started on first use, stopped by close).
    `render` is the sink's render step (picklable), or None."""

    def reading(self, fetch_raw: Callable[[str, int, int], RawPage]
                ) -> Callable[[str, int, int], RawPage | Decoding]:
        """`fetch_raw`, each page it fetches handed to the worker at once."""
        def fetch(stream: str, last_id: int, limit: int) -> RawPage | Decoding:
            return self.submit(fetch_raw(stream, last_id, limit))
        return fetch

    def __init__(self, render: Render | None = None) -> None:
        self.render = render
        self._pool: ProcessPoolExecutor | None = None
        self._broken = False
        self._lock = threading.Lock()
        self._used = False  # a page went to the worker since the last release_if_idle

    def submit(self, page: RawPage) -> RawPage | Decoding:
        """The page, with its decoding under way in the worker (as is when unavailable)."""
        if sum(len(r) for r in page.raws) < MIN_BYTES:
            return page
        with self._lock:
            if self._broken:
                return page
            try:
                if self._pool is None:
                    # spawn, not fork: this process has threads (fork copies their locks)
                    self._pool = ProcessPoolExecutor(
                        1, mp_context=multiprocessing.get_context("spawn"),
                        initializer=start_worker)
                fut = self._pool.submit(decode_page, page.stream, page.raws, self.render)
                self._used = True
            except (BrokenProcessPool, OSError, RuntimeError) as exc:
                self._give_up(exc)
                return page
        return Decoding(page, fut, self.render, self)

    def give_up(self, exc: BaseException) -> None:
        """The worker failed (died, raised, or stuck): decode here from now on."""
        with self._lock:
            self._give_up(exc)

    def _give_up(self, exc: BaseException) -> None:
        if not self._broken:
            self._broken = True
            log.warning("decode worker process unavailable: decoding in this process",
                        error=f"{type(exc).__name__}: {exc}")
        pool, self._pool = self._pool, None
        if pool is not None:  # not waited for: it may be stuck (it ends with this process)
            pool.shutdown(wait=False, cancel_futures=True)

    def release_if_idle(self) -> None:
        """Stop the worker if no page went to it since the last call (one call per import
        cycle: a connector that has caught up does not keep the process)."""
        with self._lock:
            used, self._used = self._used, False
            if used or self._pool is None:
                return
            pool, self._pool = self._pool, None
        pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
