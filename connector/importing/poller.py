"""The stream poller: AppManager's export queues -> journal -> ERP sink.

One cycle (`Importer.run_cycle`):
1. deliver what a crash left journaled but unwritten (`Journal.pending`), then the dead
   letters and failed writes whose retry is due (`Journal.retry_due`);
2. for each stream in the reference order (orders, customers, customer notes, leads,
   lead notes, activities) page through the queue from the stream's lastID mark until it
   is drained. Per page: items at or below the mark are skipped (whether lastID is
   exclusive is undocumented), an id below the mark stops the stream with a clear error
   (the server went backwards: reset or restored queue), the page's records are
   journaled, its malformed items quarantined and the mark advanced in one transaction,
   and only then are the new records written to the ERP.

A stream that fails (server down after retries, ids going back, a hostile answer, ERP
refusing, even a bug) is recorded (`store.record_event`, the stream's error in `connector
status`) and the later streams still run. What is not one stream's fault ends the cycle:
a stop request (after the page in hand), the key refused, the state store failing (the
loop stops; its supervisor restarts it once the store is back).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import structlog

from connector import metrics
from connector.config import Config
from connector.errors import (
    AuthError,
    ConnectorError,
    PermanentError,
    StateStoreError,
)
from connector.importing.decoding import Decoding, PageDecoder
from connector.importing.journal import Attempt, Journal, Outcome, journal_for
from connector.importing.readahead import ReadAhead
from connector.model import STREAMS, InboundRecord, Malformed, Page, RawPage
from connector.ports import ErpSink, RawStreamFeed, Rendered, RenderingSink, StreamFeed
from connector.state import StateStore

log = structlog.get_logger(__name__)

# What the reader thread hands over: a page decoded (a feed without raw pages), a raw one,
# or one the decode worker process is decoding.
Fetched = Page | RawPage | Decoding


class IdsWentBackError(PermanentError):
    """AppManager returned a queue id below the stream's mark."""


@dataclass
class StreamResult:
    stream: str
    pages: int = 0
    fetched: int = 0
    new: int = 0
    delivered: int = 0
    duplicates: int = 0
    dead: int = 0
    failed: int = 0
    malformed: int = 0
    mark: int = 0
    error: str | None = None

    def count(self, outcomes: Iterable[Outcome]) -> None:
        for o in outcomes:
            if o == "delivered":
                self.delivered += 1
            elif o == "duplicate":
                self.duplicates += 1
            elif o == "dead":
                self.dead += 1
            else:
                self.failed += 1

    @property
    def problems(self) -> bool:
        return bool(self.dead or self.failed or self.malformed or self.error)


@dataclass
class CycleResult:
    recovered: StreamResult = field(default_factory=lambda: StreamResult("(journal)"))
    streams: dict[str, StreamResult] = field(default_factory=dict)

    @property
    def problems(self) -> bool:
        return self.recovered.problems or any(s.problems for s in self.streams.values())


_READ_AHEAD = 3  # pages read ahead of the one being decoded and journaled


def ordered(streams: Iterable[str]) -> list[str]:
    wanted = set(streams)
    return [s for s in STREAMS if s in wanted]


class Importer:
    def __init__(self, feed: StreamFeed | None, journal: Journal, sink: ErpSink,
                 store: StateStore, *,
                 page_size: int = 50, stop: threading.Event | None = None,
                 beat: Callable[[], None] | None = None,
                 decoder: PageDecoder | None = None) -> None:
        self.feed = feed
        self.journal = journal
        self.sink = sink
        self.store = store
        self.page_size = page_size
        self.stop = stop or threading.Event()
        self.beat = beat or (lambda: None)
        self.decoder = decoder
        self.current: StreamResult | None = None  # what is in hand: a progress bar reads it

    def close(self) -> None:
        if self.feed is not None:
            self.feed.close()
        if self.decoder is not None:
            self.decoder.close()

    # One cycle ----------------------------------------------------------------------
    def run_cycle(self, streams: Sequence[str] = STREAMS, retry: bool = True) -> CycleResult:
        result = CycleResult()
        if retry:
            self.redeliver(result.recovered, streams)
        for stream in ordered(streams):
            if self.stop.is_set():
                break
            res = result.streams[stream] = StreamResult(stream)
            try:
                self.poll_stream(stream, res)
            except (AuthError, StateStoreError):
                raise
            except Exception as exc:  # one stream's failure is its own
                if isinstance(exc, ConnectorError):
                    res.error = str(exc)
                    log.error("import stream failed", stream=stream, error=res.error)
                else:  # a bug met on hostile input: the traceback, and the next stream
                    res.error = f"unexpected error: {type(exc).__name__}: {exc}"[:2000]
                    log.exception("import stream failed", stream=stream, error=res.error)
                self.store.record_event("error", f"import.{stream}", res.error)
                self.journal.stream_error(stream, res.error)
                metrics.inc("connector_import_stream_failures_total",
                            help="import cycles of a stream that failed", stream=stream)
        if self.decoder is not None:
            self.decoder.release_if_idle()  # a backlog caught up: no process kept for nothing
        return result

    def redeliver(self, res: StreamResult, streams: Sequence[str] = STREAMS,
                  force: bool = False) -> StreamResult:
        """Crash leftovers first, then due (or, with force, all) dead letters and failures."""
        self.current = res
        wanted = set(streams)
        todo = [r for r in self.journal.pending() if r.stream in wanted]
        todo += [r for r in self.journal.retry_due(force=force) if r.stream in wanted]
        for chunk in _chunks(todo, 200):
            if self.stop.is_set():
                break
            res.count(self.journal.deliver_many(chunk, self.sink))
            self.beat()
        return res

    def poll_stream(self, stream: str, res: StreamResult | None = None) -> StreamResult:
        """Page through one stream until its queue is drained. A small pipeline of three
        threads: a reader keeps up to _READ_AHEAD pages ahead (connector.importing.
        readahead: page N+1 is asked for, with lastID = page N's last id, as soon as N has
        arrived) and hands each to the decode worker process when there is one
        (connector.importing.decoding); this thread takes each page decoded (or decodes
        it), checks its ids and journals it (mark moved past it, and the outcomes of the
        writes before recorded, in one transaction); the ERP writer thread writes what was
        journaled. Reading ahead only
        reads: the stored mark moves with the journal alone, so a crash, a failed journal
        write or a stop request only drops what was read ahead (read again from the mark
        next time). A crash leaves journaled records pending, delivered at the next
        start."""
        res = self.current = res or StreamResult(stream)
        feed = self.feed
        if feed is None:
            raise ConnectorError("no AppManager feed configured (import.source is legacy)")
        mark = self.journal.mark(stream)
        page_size = self.page_size

        def next_id(asked: int, got: Fetched) -> int | None:
            raw = got.raw if isinstance(got, Decoding) else got
            if not isinstance(raw, RawPage):  # decoded: its last id is known once read
                return None
            return _next_last_id([raw.last_id], asked, raw.raw_count, raw.meta.total_count,
                                 page_size)

        # A feed that can hand over a page undecoded (with its last id) is read ahead while
        # the pages before are decoded and journaled.
        # With a decode worker, each page is handed to it as soon as it is read.
        fetch: Callable[[str, int, int], Fetched] = feed.fetch
        if isinstance(feed, RawStreamFeed):
            fetch = feed.fetch_raw
            if self.decoder is not None:
                fetch = self.decoder.reading(feed.fetch_raw)
        reader = ReadAhead(fetch, stream, page_size, next_id, self.stop, depth=_READ_AHEAD)
        reader.restart(mark)
        writer = ThreadPoolExecutor(1, thread_name_prefix=f"deliver-{stream}")
        # The ERP writer thread only writes; what came of each write is recorded by this
        # thread, with the next page's journal transaction: one writer of the journal (no
        # waiting on each other's locks) and one disk flush per page.
        delivering: Future[list[Attempt]] | None = None
        backlog: list[InboundRecord] = []
        beside: list[Rendered | None] = []  # what was rendered of each, elsewhere
        try:
            while True:
                asked, got = reader.get()
                res.pages += 1
                ahead = next_id(asked, got)
                page, rendered = _decoded(got)
                fresh_items, fresh_bad, top = _after_mark(stream, page, mark)
                if not fresh_items and not fresh_bad:
                    break
                res.fetched += len(fresh_items)
                res.malformed += len(fresh_bad)
                nxt = _next_last_id([top] if top is not None else [], mark, page.raw_count,
                                    page.meta.total_count, self.page_size)
                if nxt != ahead:  # read ahead from another id (the last item was not the
                    reader.restart(nxt)  # top one, or it is malformed): dropped, asked again
                # One batch in the ERP writer at a time; what is journaled meanwhile waits
                # in the backlog and goes as the next batch (fewer disk flushes per record).
                written: list[Attempt] = []
                if delivering is not None and (delivering.done()
                                               or len(backlog) >= 4 * self.page_size):
                    written = delivering.result()
                    delivering = None
                new = self.journal.record_page(
                    stream, fresh_items,
                    malformed=[(m.item, m.error, m.queue_id) for m in fresh_bad],
                    mark=top, attempts=written)
                res.count(a.outcome for a in written)
                res.new += len(new)
                if top is not None:
                    mark = top
                backlog.extend(new)
                beside.extend(_rendered_for(new, page.items, rendered))
                if delivering is None and backlog:
                    delivering = writer.submit(self.journal.write, backlog, self.sink, None,
                                               beside)
                    backlog, beside = [], []
                self.beat()
                if nxt is None or self.stop.is_set():  # what was read ahead is dropped
                    break
            if delivering is not None:
                written = delivering.result()
                delivering = None
                self.journal.save_outcomes(written)
                res.count(a.outcome for a in written)
            if backlog:
                res.count(self.journal.deliver_many(backlog, self.sink, beside))
                backlog, beside = [], []
        finally:
            reader.close()
            writer.shutdown(wait=True)  # an ERP write in progress finishes
            if delivering is not None and delivering.done() and not delivering.exception():
                self.journal.save_outcomes(delivering.result())  # recorded even on the way out
        res.mark = mark
        self.journal.stream_done(stream)
        metrics.mark_success(f"import_{stream}")
        metrics.set_gauge("connector_import_mark", mark, help="lastID mark per stream",
                          stream=stream)
        # Info when something came or went; an idle cycle (every poll_seconds, per stream)
        # is debug: info lines mean something happened.
        busy = res.new or res.delivered or res.dead or res.failed or res.malformed
        (log.info if busy else log.debug)("import stream done", stream=stream,
                                          pages=res.pages, new=res.new,
                                          delivered=res.delivered, dead=res.dead,
                                          malformed=res.malformed, mark=mark)
        return res


def importer_for(cfg: Config, store: StateStore, feed: StreamFeed | None, sink: ErpSink, *,
                 stop: threading.Event | None = None,
                 beat: Callable[[], None] | None = None) -> Importer:
    """The importer of the configuration's import section, reading `feed` (None: it only
    delivers what the journal holds, as for the legacy route) into `sink`. Big pages are
    decoded in the decode worker process when import.decode_worker is on and the sink has
    a render step to run there: any other sink would decode each record's model here
    again."""
    decoder = None
    if feed is not None and cfg.import_.decode_worker and isinstance(sink, RenderingSink):
        decoder = PageDecoder(sink.render_step())
    return Importer(feed, journal_for(cfg, store), sink, store,
                    page_size=cfg.import_.appmanager.page_size, stop=stop, beat=beat,
                    decoder=decoder)


def _decoded(got: Fetched) -> tuple[Page, tuple[Rendered | None, ...]]:
    """The page, and what was rendered beside its records (one per `page.items`, or empty
    when nothing was)."""
    if isinstance(got, Decoding):
        return got.result()
    if isinstance(got, RawPage):
        return got.decode(), ()
    return got, ()


def _rendered_for(new: Sequence[InboundRecord], items: Sequence[InboundRecord],
                  rendered: Sequence[Rendered | None]) -> list[Rendered | None]:
    """What was rendered beside each of `new`, records of the page's `items` in their
    order (the journal returns the new ones as a subsequence of the records it was given)."""
    if not rendered:
        return [None] * len(new)
    out: list[Rendered | None] = []
    j = 0
    for rec in new:
        while items[j] is not rec:
            j += 1
        out.append(rendered[j])
        j += 1
    return out


def _after_mark(stream: str, page: Page, mark: int
                ) -> tuple[list[InboundRecord], list[Malformed], int | None]:
    """The page's items past the mark (each id once), its malformed ones, the top id.
    IdsWentBackError when any id is below the mark."""
    ids = [r.queue_id for r in page.items] + [m.queue_id for m in page.malformed
                                              if m.queue_id is not None]
    below = [i for i in ids if i < mark]
    if below:
        raise IdsWentBackError(
            f"{stream}: AppManager returned id {min(below)} although lastID was {mark} (ids "
            f"went backwards: was the AppManager queue reset or restored?); the {stream} "
            "stream is stopped, other streams go on. Check the AppManager project, then "
            f"reset the mark with `connector import --once --stream {stream} --from-id N`")
    seen: set[int] = set()
    items: list[InboundRecord] = []
    for r in page.items:
        if r.queue_id > mark and r.queue_id not in seen:
            seen.add(r.queue_id)
            items.append(r)
    bad: list[Malformed] = []
    for m in page.malformed:
        if m.queue_id is None or (m.queue_id > mark and m.queue_id not in seen):
            if m.queue_id is not None:
                seen.add(m.queue_id)
            bad.append(m)
    return items, bad, (max(seen) if seen else None)


def _next_last_id(ids: Iterable[int | None], mark: int, raw_count: int,
                  total_count: int | None, page_size: int) -> int | None:
    """The lastID of the next page to ask for: the top id past the mark, when the page
    says there is more (a full page, or a server capping the limit below total_count)."""
    top = max((i for i in ids if i is not None and i > mark), default=None)
    if top is None:  # nothing past the mark (or only id-less items): nothing to advance past
        return None
    more = raw_count >= page_size or (total_count is not None and total_count > raw_count)
    return top if more else None


def _chunks(items: list[InboundRecord], n: int) -> Iterable[list[InboundRecord]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]
