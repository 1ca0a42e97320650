"""The inbound journal: every record is stored before the ERP write, lands once, and is
never silently dropped.

The package by reason to change: schema (the tables and their migration), recording (a
page's records, malformed items and marks, on a connection), delivery (the ERP writes and
their outcomes), queries (reading back); `Journal` here holds the transactions together.

Both import routes (the AppManager poller and the legacy AM_*.DAT route) use it the same way:

    journal = Journal(store, retry_seconds=cfg.import_.retry_seconds,
                      max_retry_seconds=cfg.import_.max_retry_seconds)
    fresh = journal.record_page(stream, records, malformed=[...], mark=max_id)  # one transaction
    journal.deliver_many(fresh, sink)       # or journal.deliver(rec, sink) one by one

API (the names other parts rely on):
- `record(rec, source="api") -> bool`: store the payload; True when the record is new (its
  key was never journaled and, for orders, its guid_test_ord neither). A repeat only counts
  the sighting; a repeat by guid is stored as state "duplicate" and never delivered.
- `record_page(stream, records, malformed=(), mark=None, source="api", attempts=())
  -> list[InboundRecord]`: `record` for each record, `quarantine` for each malformed item,
  the stream's mark advanced to `mark` and the outcomes of earlier writes (`attempts`)
  recorded, all in ONE transaction; returns the new records, to deliver. A record the
  journal cannot store (whatever the reason, short of the state store failing) is
  quarantined alone and the rest of the page is journaled.
- `quarantine(stream, item, error, queue_id=None, source="api")`: keep a malformed item
  with its error (shown by `connector status`), it is never delivered. The same item
  quarantined again (a server that keeps sending an item without a usable id) is kept
  once.
- `deliver(rec, sink) -> Outcome` and `deliver_many(recs, sink, rendered=()) ->
  list[Outcome]`: write through the ErpSink (in one go when it is a BatchSink, with what
  was rendered beside each record) and record the outcome: "delivered", "duplicate"
  (already there), "dead" (the sink raised PermanentError: dead letter, retried with
  backoff), "failed" (TransientError: stays pending, retried with backoff). The two halves
  on their own: `write(recs, sink, into, rendered) -> list[Attempt]` (the ERP writes, the
  journal untouched) and `save_outcomes(attempts)`; the poller writes in one thread and
  records the attempts with its next page, so only one thread writes the journal.
- `pending(stream=None) -> list[InboundRecord]`: journaled, never tried (a crash between
  journal and ERP write): deliver these first at start-up.
- `retry_due(stream=None, force=False, now=None) -> list[InboundRecord]`: dead letters and
  failed records whose next retry is due (all of them with force, as `connector retry`).
- `dead_letters(stream=None) -> list[JournalEntry]` (state dead, and failed pending ones),
  `quarantined(stream=None, limit=50) -> list[QuarantinedItem]`, `counts()`, `entry(key)`,
  `warnings(stream=None, limit=50) -> list[RecordWarning]` (a record's `warnings`, stored
  with it when it is first journaled: it is delivered all the same).
- Marks (the lastID high-water mark per stream): `mark(stream) -> int`,
  `advance_mark(stream, last_id)` (never moves back), `set_mark(stream, last_id)` (operator),
  `stream_done(stream)`, `stream_error(stream, message|None)`,
  `stream_facts() -> dict[stream, StreamFacts]`.

Records are reloaded from their journaled payload with a decoder per source, given to
the Journal (`decoders`, source -> fn(stream, payload) -> InboundRecord); a source with
none (the API's, the legacy route's: both journal the API's JSON) is decoded with
connector.model.decode_record, the same decoding as when it was first received.

Backoff per record: retry_seconds * 2**(attempts-1), at most max_retry_seconds.
"""


from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any

import structlog

from connector.importing.journal import delivery, queries, recording, schema
from connector.importing.journal.delivery import Attempt, Outcome
from connector.importing.journal.queries import (
    Decoder,
    JournalEntry,
    QuarantinedItem,
    RecordWarning,
    StreamFacts,
)
from connector.model import InboundRecord
from connector.ports import ErpSink, Rendered
from connector.state import StateStore

if TYPE_CHECKING:
    from connector.config import Config

log = structlog.get_logger("connector.importing.journal")

__all__ = ["Attempt", "Decoder", "Journal", "JournalEntry", "Outcome", "QuarantinedItem",
           "RecordWarning", "StreamFacts", "journal_for"]


class Journal:
    def __init__(self, store: StateStore, *, retry_seconds: float = 300.0,
                 max_retry_seconds: float = 6 * 3600.0,
                 clock: Callable[[], float] = time.time,
                 decoders: Mapping[str, Decoder] | None = None) -> None:
        self.store = store
        self._decoders: Mapping[str, Decoder] = dict(decoders or {})
        self.retry_seconds = retry_seconds
        self.max_retry_seconds = max_retry_seconds
        self.clock = clock
        schema.ensure(store)

    # Recording -------------------------------------------------------------------------
    def record(self, rec: InboundRecord, source: str = "api") -> bool:
        with self.store.transaction() as conn:
            return bool(recording.record_many(conn, [rec], source, self.clock))

    def quarantine(self, stream: str, item: Any, error: Exception, queue_id: int | None = None,
                   source: str = "api") -> None:
        with self.store.transaction() as conn:
            recording.quarantine(conn, stream, item, error, queue_id, source, self.clock)

    def record_page(self, stream: str, records: Sequence[InboundRecord],
                    malformed: Iterable[tuple[Any, Exception, int | None]] = (),
                    mark: int | None = None, source: str = "api",
                    attempts: Sequence[Attempt] = ()) -> list[InboundRecord]:
        """Journal a page, quarantine its malformed items (item, error, queue_id), advance
        the stream's mark and record the outcomes of earlier writes (`attempts`, see
        `write`), atomically: one transaction, so one disk flush, per page. Returns the
        new records."""
        with self.store.transaction() as conn:
            fresh, unstorable = recording.record_all(conn, records, source, self.clock)
            for item, error, queue_id in chain(malformed, unstorable):
                recording.quarantine(conn, stream, item, error, queue_id, source, self.clock)
            if mark is not None:
                recording.advance_mark(conn, stream, mark, self.clock())
            self._save_outcomes(conn, attempts)
        delivery.log_outcomes(attempts)
        return fresh

    # Delivering ------------------------------------------------------------------------
    def _backoff(self, attempts: int) -> float:
        return delivery.backoff(attempts, self.retry_seconds, self.max_retry_seconds)

    def deliver(self, rec: InboundRecord, sink: ErpSink) -> Outcome:
        return self.deliver_many([rec], sink)[0]

    def deliver_many(self, records: Sequence[InboundRecord], sink: ErpSink,
                     rendered: Sequence[Rendered | None] = ()) -> list[Outcome]:
        """Write each record, then record all outcomes in one transaction. A crash in
        between only repeats writes, which the sink answers with duplicate=True."""
        done: list[Attempt] = []
        try:
            self.write(records, sink, done, rendered)
        finally:
            self.save_outcomes(done)
        return [a.outcome for a in done]

    def write(self, records: Sequence[InboundRecord], sink: ErpSink,
              into: list[Attempt] | None = None,
              rendered: Sequence[Rendered | None] = ()) -> list[Attempt]:
        """The ERP writes, the journal untouched (delivery.write)."""
        return delivery.write(records, sink, into, rendered)

    def save_outcomes(self, attempts: Sequence[Attempt]) -> None:
        """Record how ERP writes went, in one transaction."""
        if not attempts:
            return
        with self.store.transaction() as conn:
            self._save_outcomes(conn, attempts)
        delivery.log_outcomes(attempts)

    def _save_outcomes(self, conn: Any, attempts: Sequence[Attempt]) -> None:
        if attempts:
            delivery.save_outcomes(conn, attempts, self.clock(), self._backoff)

    # Reading back ------------------------------------------------------------------------
    def pending(self, stream: str | None = None) -> list[InboundRecord]:
        return queries.pending(self.store, stream, self._decoders)

    def retry_due(self, stream: str | None = None, force: bool = False,
                  now: float | None = None) -> list[InboundRecord]:
        due = None if force else (self.clock() if now is None else now)
        return queries.retry_due(self.store, stream, due, self._decoders)

    def entry(self, key: str) -> JournalEntry | None:
        return queries.entry(self.store, key)

    def entries(self, stream: str | None = None, state: str | None = None) -> list[JournalEntry]:
        return queries.entries(self.store, stream, state)

    def dead_letters(self, stream: str | None = None) -> list[JournalEntry]:
        """Refused records (state dead) and records whose ERP write keeps failing."""
        return queries.dead_letters(self.store, stream)

    def quarantined(self, stream: str | None = None, limit: int = 50) -> list[QuarantinedItem]:
        return queries.quarantined(self.store, stream, limit)

    def warnings(self, stream: str | None = None, limit: int = 50) -> list[RecordWarning]:
        """The latest warnings on records (each record was delivered all the same)."""
        return queries.warnings(self.store, stream, limit)

    def counts(self) -> dict[str, dict[str, int]]:
        """{stream: {state: n, "failing": n, "quarantined": n, "warned": records}}."""
        return queries.counts(self.store)

    # Marks ---------------------------------------------------------------------------------
    def mark(self, stream: str) -> int:
        return queries.mark(self.store, stream)

    def advance_mark(self, stream: str, last_id: int) -> None:
        with self.store.transaction() as conn:
            recording.advance_mark(conn, stream, last_id, self.clock())

    def set_mark(self, stream: str, last_id: int) -> None:
        """Operator action: put the mark anywhere (also back), e.g. after a queue reset."""
        with self.store.transaction() as conn:
            recording.set_mark(conn, stream, last_id, self.clock())
        log.warning("import mark set by hand", stream=stream, last_id=last_id)

    def stream_done(self, stream: str) -> None:
        """A cycle of this stream completed: note the time, clear its error."""
        now = self.clock()
        self.store.execute(
            "INSERT INTO import_marks(stream, last_id, last_import_at) VALUES (?, 0, ?) "
            "ON CONFLICT(stream) DO UPDATE SET last_import_at = excluded.last_import_at, "
            "last_error = NULL, last_error_at = NULL", (stream, now))

    def stream_error(self, stream: str, message: str | None) -> None:
        now = self.clock()
        self.store.execute(
            "INSERT INTO import_marks(stream, last_id, last_error, last_error_at) "
            "VALUES (?, 0, ?, ?) ON CONFLICT(stream) DO UPDATE SET "
            "last_error = excluded.last_error, last_error_at = excluded.last_error_at",
            (stream, message, now if message else None))

    def stream_facts(self) -> dict[str, StreamFacts]:
        return queries.stream_facts(self.store)


def journal_for(cfg: Config, store: StateStore) -> Journal:
    """The journal with import.retry_seconds and import.max_retry_seconds."""
    return Journal(store, retry_seconds=cfg.import_.retry_seconds,
                   max_retry_seconds=cfg.import_.max_retry_seconds)
