"""The inbound journal: every record is stored before the ERP write, lands once, and is
never silently dropped.

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
  was rendered beside each record) and record the outcome: "delivered", "duplicate" (already there),
  "dead" (the sink raised PermanentError: dead letter, retried with backoff), "failed"
  (TransientError: stays pending, retried with backoff). The two halves on their own:
  `write(recs, sink, into, rendered) -> list[Attempt]` (the ERP writes, the journal
  untouched) and
  `save_outcomes(attempts)`; the poller writes in one thread and records the attempts with
  its next page, so only one thread writes the journal.
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

Records are reloaded from their journaled payload with a decoder per source: "api" uses
connector.model.decode_record; another route registers its own with
`Journal.register_decoder(source, fn)` (fn(stream, payload) -> InboundRecord).

Backoff per record: retry_seconds * 2**(attempts-1), at most max_retry_seconds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import structlog

from connector import metrics
from connector.errors import AuthError, FormatError, PermanentError, RecordError, TransientError
from connector.model import InboundRecord, decode_raw, decode_record
from connector.model.jsonguard import ID_MAX
from connector.ports import BatchSink, ErpRef, ErpSink, Rendered
from connector.state import StateStore, is_store_fault

if TYPE_CHECKING:
    from connector.config import Config

log = structlog.get_logger(__name__)
_stdlib_log = logging.getLogger(__name__)  # the logger structlog's calls above end in

Outcome = Literal["delivered", "duplicate", "dead", "failed"]
Decoder = Callable[[str, dict[str, Any]], InboundRecord]

_JOURNAL_TABLE = """
CREATE TABLE IF NOT EXISTS {name} (
    key TEXT PRIMARY KEY,            -- stream/unique_id: what ERP writes are idempotent on
    stream TEXT NOT NULL,
    unique_id TEXT NOT NULL,
    guid TEXT,                       -- orders: guid_test_ord, lower case
    queue_id INTEGER,                -- the first queue id it came with
    last_queue_id INTEGER,           -- the latest (a re-queued record gets a new one)
    source TEXT NOT NULL DEFAULT 'api',
    state TEXT NOT NULL,             -- pending | delivered | dead | duplicate
    duplicate_of TEXT,
    seen INTEGER NOT NULL DEFAULT 1,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_retry_at REAL,
    sink TEXT,
    erp_ref TEXT,
    received_at REAL NOT NULL,
    delivered_at REAL,
    updated_at REAL NOT NULL
);
"""
_JOURNAL_INDEXES = """
CREATE INDEX IF NOT EXISTS import_journal_state ON import_journal(state, stream);
CREATE INDEX IF NOT EXISTS import_journal_guid ON import_journal(guid);
"""
_DDL = _JOURNAL_TABLE.format(name="import_journal") + _JOURNAL_INDEXES + """
-- The item as received (JSON), written once: kept apart from the journal row so that
-- recording an outcome rewrites a small row, not the whole item (orders run to kilobytes).
CREATE TABLE IF NOT EXISTS import_payload (
    key TEXT PRIMARY KEY,            -- import_journal.key
    payload BLOB NOT NULL            -- JSON, UTF-8, exactly as received
);
CREATE TABLE IF NOT EXISTS import_quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    stream TEXT NOT NULL,
    queue_id INTEGER,
    source TEXT NOT NULL DEFAULT 'api',
    error TEXT NOT NULL,
    field TEXT,
    payload TEXT NOT NULL,
    at REAL NOT NULL
);
-- What a record was delivered with although it departs from what we know (an unknown
-- code value read as the reference connector reads it, a missing unique_id): one row per
-- warning, written with the record.
CREATE TABLE IF NOT EXISTS import_warnings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,               -- import_journal.key
    stream TEXT NOT NULL,
    queue_id INTEGER,
    warning TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS import_warnings_key ON import_warnings(key);
CREATE INDEX IF NOT EXISTS import_quarantine_item ON import_quarantine(stream, queue_id);
CREATE TABLE IF NOT EXISTS import_marks (
    stream TEXT PRIMARY KEY,
    last_id INTEGER NOT NULL DEFAULT 0,
    updated_at REAL,
    last_import_at REAL,             -- the last cycle that completed for this stream
    last_error TEXT,                 -- set while the stream is stopped (e.g. ids went back)
    last_error_at REAL
);
"""


@dataclass(frozen=True)
class JournalEntry:
    key: str
    stream: str
    unique_id: str
    queue_id: int | None
    last_queue_id: int | None
    source: str
    state: str
    attempts: int
    last_error: str | None
    next_retry_at: float | None
    erp_ref: str | None
    received_at: float
    delivered_at: float | None
    seen: int
    duplicate_of: str | None


@dataclass(frozen=True)
class QuarantinedItem:
    id: int
    stream: str
    queue_id: int | None
    source: str
    error: str
    field: str | None
    payload: str
    at: float


@dataclass(frozen=True)
class RecordWarning:
    key: str
    stream: str
    queue_id: int | None
    warning: str
    at: float


@dataclass(frozen=True)
class StreamFacts:
    stream: str
    last_id: int
    last_import_at: float | None
    last_error: str | None
    last_error_at: float | None


@dataclass(frozen=True)
class Attempt:
    """One ERP write and what came of it (recorded in the journal afterwards)."""

    record: InboundRecord
    outcome: Outcome
    ref: ErpRef | None
    error: str
    sink: str


_IN_CHUNK = 500  # keys per IN (...) list: well under SQLite's oldest variable limit (999)
_ROWS_PER_STATEMENT = 50  # rows per multi-row INSERT (11 values each: under 999 too)
_JOURNAL_COLUMNS = ("key", "stream", "unique_id", "guid", "queue_id", "last_queue_id", "source",
                    "state", "duplicate_of", "seen", "attempts", "last_error", "next_retry_at",
                    "sink", "erp_ref", "received_at", "delivered_at", "updated_at")


class Journal:
    _decoders: ClassVar[dict[str, Decoder]] = {"api": decode_record}

    def __init__(self, store: StateStore, *, retry_seconds: float = 300.0,
                 max_retry_seconds: float = 6 * 3600.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.retry_seconds = retry_seconds
        self.max_retry_seconds = max_retry_seconds
        self.clock = clock
        store.ensure_schema("importing", _DDL)
        self._move_payloads_out()

    def _move_payloads_out(self) -> None:
        """A journal made before payloads had their own table keeps them in a column of
        import_journal: move them over, once."""
        columns = {r["name"] for r in self.store.query("PRAGMA table_info(import_journal)")}
        if "payload" not in columns:
            return
        kept = ", ".join(c for c in _JOURNAL_COLUMNS if c in columns)
        # Rebuilt rather than ALTER TABLE ... DROP COLUMN, which SQLite before 3.35 lacks.
        with self.store.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO import_payload(key, payload) "
                         "SELECT key, payload FROM import_journal")
            conn.execute(_JOURNAL_TABLE.format(name="import_journal_new"))
            conn.execute(f"INSERT INTO import_journal_new({kept}) "
                         f"SELECT {kept} FROM import_journal")
            conn.execute("DROP TABLE import_journal")
            conn.execute("ALTER TABLE import_journal_new RENAME TO import_journal")
            for statement in _JOURNAL_INDEXES.split(";"):
                if statement.strip():
                    conn.execute(statement)
        log.info("import journal: payloads moved to their own table")

    @classmethod
    def register_decoder(cls, source: str, decoder: Decoder) -> None:
        cls._decoders[source] = decoder

    # Recording -------------------------------------------------------------------------
    def record(self, rec: InboundRecord, source: str = "api") -> bool:
        with self.store.transaction() as conn:
            return bool(self._record_many(conn, [rec], source))

    def _record_many(self, conn: sqlite3.Connection, records: Sequence[InboundRecord],
                     source: str) -> list[InboundRecord]:
        """Journal records (one lookup per page, not per record); the new ones, in order.
        A key seen before only counts the sighting; an order whose guid_test_ord an earlier
        record of its stream has is stored as a duplicate of it and never delivered."""
        if not records:
            return []
        now = self.clock()
        keys = [r.key for r in records]
        guids = sorted({g for g in (r.guid for r in records) if g is not None})
        known: set[str] = set()
        owner: dict[tuple[str, str], str] = {}  # (stream, guid) -> the key that holds it
        for key, guid, stream, state in _lookup(conn, keys, guids):
            known.add(key)
            if guid is not None and state != "duplicate":
                owner.setdefault((stream, guid), key)
        known.intersection_update(keys)
        fresh: list[InboundRecord] = []
        rows: list[tuple[Any, ...]] = []
        payloads: list[tuple[str, bytes]] = []
        warned: list[tuple[str, str, int, str, float]] = []
        repeats: list[tuple[float, int, str]] = []
        for rec in records:
            if rec.key in known:
                repeats.append((now, rec.queue_id, rec.key))
                log.info("record seen again", key=rec.key, queue_id=rec.queue_id,
                         correlation_id=f"record-{rec.key}")
                metrics.inc("connector_import_repeats_total", help="records queued again",
                            stream=rec.stream)
                continue
            known.add(rec.key)
            guid = rec.guid
            twin = owner.get((rec.stream, guid)) if guid is not None else None
            if guid is not None and twin is None:
                owner[(rec.stream, guid)] = rec.key
            rows.append((rec.key, rec.stream, rec.unique_id, guid, rec.queue_id, rec.queue_id,
                         source, "duplicate" if twin is not None else "pending", twin, now, now))
            payloads.append((rec.key, rec.payload_bytes()))
            if rec.warnings:
                warned.extend((rec.key, rec.stream, rec.queue_id, w, now) for w in rec.warnings)
                log.warning("record read with warnings", key=rec.key, queue_id=rec.queue_id,
                            warnings=list(rec.warnings), correlation_id=f"record-{rec.key}")
                metrics.inc("connector_import_warnings_total", len(rec.warnings),
                            help="warnings on inbound records (delivered all the same)",
                            stream=rec.stream)
            if twin is not None:
                log.info("record is a duplicate by guid_test_ord", key=rec.key, of=twin,
                         correlation_id=f"record-{rec.key}")
            else:
                fresh.append(rec)
        _insert(conn, "INSERT INTO import_journal(key, stream, unique_id, guid, queue_id, "
                "last_queue_id, source, state, duplicate_of, received_at, updated_at) VALUES ",
                rows)
        _insert(conn, "INSERT OR REPLACE INTO import_payload(key, payload) VALUES ", payloads)
        if warned:
            conn.executemany("INSERT INTO import_warnings(key, stream, queue_id, warning, at) "
                             "VALUES (?, ?, ?, ?, ?)", warned)
        if repeats:
            conn.executemany("UPDATE import_journal SET seen = seen + 1, updated_at = ?, "
                             "last_queue_id = MAX(COALESCE(last_queue_id, 0), ?) WHERE key = ?",
                             repeats)
        return fresh

    def _quarantine(self, conn: sqlite3.Connection, stream: str, item: Any, error: Exception,
                    queue_id: int | None, source: str) -> None:
        field = getattr(error, "field", None)
        try:
            payload = json.dumps(item, ensure_ascii=False, default=str)
        except (TypeError, ValueError, RecursionError):
            payload = f"<{type(item).__name__} that cannot be shown as JSON>"
        if queue_id is not None and not 0 <= queue_id <= ID_MAX:
            queue_id = None
        values = (_text(stream), queue_id, _text(source), _text(str(error)),
                  _text(field) if field is not None else None, _text(payload))
        if conn.execute("SELECT 1 FROM import_quarantine WHERE stream = ? AND queue_id IS ? "
                        "AND source = ? AND payload = ? LIMIT 1",
                        (values[0], values[1], values[2], values[5])).fetchone():
            log.info("malformed item seen again (kept once)", stream=stream,
                     queue_id=queue_id)
            return
        conn.execute("INSERT INTO import_quarantine(stream, queue_id, source, error, field, "
                     "payload, at) VALUES (?, ?, ?, ?, ?, ?, ?)", (*values, self.clock()))
        log.warning("malformed item quarantined", stream=stream, queue_id=queue_id,
                    field=field, error=str(error))
        metrics.inc("connector_import_quarantined_total", help="malformed inbound items",
                    stream=stream)

    def quarantine(self, stream: str, item: Any, error: Exception, queue_id: int | None = None,
                   source: str = "api") -> None:
        with self.store.transaction() as conn:
            self._quarantine(conn, stream, item, error, queue_id, source)

    def record_page(self, stream: str, records: Sequence[InboundRecord],
                    malformed: Iterable[tuple[Any, Exception, int | None]] = (),
                    mark: int | None = None, source: str = "api",
                    attempts: Sequence[Attempt] = ()) -> list[InboundRecord]:
        """Journal a page, quarantine its malformed items (item, error, queue_id), advance
        the stream's mark and record the outcomes of earlier writes (`attempts`, see
        `write`), atomically: one transaction, so one disk flush, per page. Returns the
        new records."""
        with self.store.transaction() as conn:
            fresh, unstorable = self._record_all(conn, records, source)
            for item, error, queue_id in chain(malformed, unstorable):
                self._quarantine(conn, stream, item, error, queue_id, source)
            if mark is not None:
                self._advance_mark(conn, stream, mark)
            self._save_outcomes(conn, attempts)
        self._log_outcomes(attempts)
        return fresh

    def _record_all(self, conn: sqlite3.Connection, records: Sequence[InboundRecord],
                    source: str
                    ) -> tuple[list[InboundRecord], list[tuple[Any, Exception, int | None]]]:
        """(the new records, the ones that could not be stored as (item, error, queue_id)).
        The page in one go; if that fails for a reason other than the state store itself,
        record by record, each in a savepoint, so that one record nothing can store is
        quarantined alone."""
        try:
            with _savepoint(conn):
                return self._record_many(conn, records, source), []
        except sqlite3.Error as exc:
            if is_store_fault(exc):
                raise
        except Exception:  # noqa: BLE001 - found out record by record below
            pass
        fresh: list[InboundRecord] = []
        unstorable: list[tuple[Any, Exception, int | None]] = []
        for rec in records:
            try:
                with _savepoint(conn):
                    fresh += self._record_many(conn, [rec], source)
            except Exception as exc:  # noqa: BLE001 - this record's alone
                if isinstance(exc, sqlite3.Error) and is_store_fault(exc):
                    raise
                why = RecordError(f"{rec.stream} item id {rec.queue_id}: cannot be stored "
                                  f"({type(exc).__name__}: {exc})", field="item")
                unstorable.append((_item_of(rec), why, rec.queue_id))
        return fresh, unstorable

    # Delivering ------------------------------------------------------------------------
    def _backoff(self, attempts: int) -> float:
        return float(min(self.max_retry_seconds,
                         self.retry_seconds * (2 ** max(0, min(attempts - 1, 30)))))

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
        """Write records to the ERP and say how each went, without touching the journal
        (the caller records the attempts: `save_outcomes`, or with the next page in
        `record_page`). A batch goes in one go to a sink that writes batches (BatchSink),
        with what was rendered beside each record (`rendered`, one per record, or empty).
        Each attempt is appended to `into` as soon as it is known, so that a caller
        interrupted by AuthError still records the ones before."""
        done = [] if into is None else into
        if isinstance(sink, BatchSink) and len(records) > 1:
            for rec, got in zip(records, sink.write_many(records, rendered), strict=True):
                done.append(self._classify(rec, sink, got))
        else:
            for rec in records:
                done.append(self._write_one(rec, sink))
        return done

    def _write_one(self, rec: InboundRecord, sink: ErpSink) -> Attempt:
        try:
            ref = sink.write(rec)
        except AuthError:
            raise
        except (PermanentError, FormatError) as exc:
            return Attempt(rec, "dead", None, str(exc), sink.name)
        except TransientError as exc:
            return Attempt(rec, "failed", None, str(exc), sink.name)
        except Exception as exc:  # noqa: BLE001 - a sink bug must not lose the record
            log.exception("ERP sink raised an unexpected error", key=rec.key)
            return Attempt(rec, "dead", None, f"internal error in sink {sink.name}: {exc!r}",
                           sink.name)
        return Attempt(rec, "duplicate" if ref.duplicate else "delivered", ref, "", sink.name)

    def _classify(self, rec: InboundRecord, sink: ErpSink, got: ErpRef | Exception) -> Attempt:
        """write_many's answer for one record, as _write_one would have returned it."""
        if isinstance(got, ErpRef):
            return Attempt(rec, "duplicate" if got.duplicate else "delivered", got, "", sink.name)
        if isinstance(got, AuthError):
            raise got
        if isinstance(got, PermanentError | FormatError):
            return Attempt(rec, "dead", None, str(got), sink.name)
        if isinstance(got, TransientError):
            return Attempt(rec, "failed", None, str(got), sink.name)
        return Attempt(rec, "dead", None, f"internal error in sink {sink.name}: {got!r}",
                       sink.name)

    def save_outcomes(self, attempts: Sequence[Attempt]) -> None:
        """Record how ERP writes went, in one transaction."""
        if not attempts:
            return
        with self.store.transaction() as conn:
            self._save_outcomes(conn, attempts)
        self._log_outcomes(attempts)

    def _save_outcomes(self, conn: sqlite3.Connection, attempts: Sequence[Attempt]) -> None:
        if not attempts:
            return
        now = self.clock()
        landed = [(a.sink, a.ref.ref if a.ref else None, now, now, a.record.key)
                  for a in attempts if a.outcome in ("delivered", "duplicate")]
        if landed:
            conn.executemany(
                "UPDATE import_journal SET state = 'delivered', sink = ?, erp_ref = ?, "
                "delivered_at = ?, updated_at = ?, last_error = NULL, next_retry_at = NULL "
                "WHERE key = ?", landed)
        for a in attempts:
            if a.outcome in ("delivered", "duplicate"):
                continue
            row = conn.execute("SELECT attempts FROM import_journal WHERE key = ?",
                               (a.record.key,)).fetchone()
            tries = (row["attempts"] if row else 0) + 1
            conn.execute(
                "UPDATE import_journal SET state = ?, attempts = ?, last_error = ?, "
                "next_retry_at = ?, updated_at = ? WHERE key = ?",
                ("dead" if a.outcome == "dead" else "pending", tries, a.error[:2000],
                 now + self._backoff(tries), now, a.record.key))

    def _log_outcomes(self, attempts: Sequence[Attempt]) -> None:
        for (stream, outcome), n in Counter((a.record.stream, a.outcome)
                                            for a in attempts).items():
            metrics.inc("connector_import_records_total", n,
                        help="inbound records by outcome", stream=stream, outcome=outcome)
        # A line per delivered record at info; below that level not even the call (this
        # runs for every record, and a dropped structlog call still costs microseconds).
        info = _stdlib_log.isEnabledFor(logging.INFO)
        for a in attempts:
            rec = a.record
            if a.outcome in ("delivered", "duplicate"):
                if info:
                    log.info(f"record {a.outcome}", stream=rec.stream, key=rec.key,
                             queue_id=rec.queue_id, sink=a.sink,
                             erp_ref=a.ref.ref if a.ref else None,
                             correlation_id=f"record-{rec.key}")
            elif a.outcome == "dead":
                log.error("ERP refused record, dead-lettered", key=rec.key,
                          queue_id=rec.queue_id, reason=a.error,
                          correlation_id=f"record-{rec.key}")
            else:
                log.warning("ERP write failed, will retry", key=rec.key, error=a.error,
                            correlation_id=f"record-{rec.key}")

    # Reading back ------------------------------------------------------------------------
    def _load(self, rows: Iterable[sqlite3.Row]) -> list[InboundRecord]:
        out: list[InboundRecord] = []
        for row in rows:
            decoder = self._decoders.get(row["source"], decode_record)
            payload = row["payload"]  # UTF-8 bytes; text in journals of the first release
            if isinstance(payload, str):
                payload = payload.encode("utf-8")
            if decoder is decode_record:  # the same decoding as when it was first received
                out.append(decode_raw(row["stream"], payload))
            else:
                out.append(decoder(row["stream"], json.loads(payload)))
        return out

    _LOAD = ("SELECT j.stream, j.source, p.payload FROM import_journal AS j "
             "JOIN import_payload AS p ON p.key = j.key WHERE ")

    def pending(self, stream: str | None = None) -> list[InboundRecord]:
        sql = self._LOAD + "j.state = 'pending' AND j.attempts = 0"
        params: tuple[Any, ...] = ()
        if stream is not None:
            sql += " AND j.stream = ?"
            params = (stream,)
        return self._load(self.store.query(sql + " ORDER BY j.received_at, j.queue_id", params))

    def retry_due(self, stream: str | None = None, force: bool = False,
                  now: float | None = None) -> list[InboundRecord]:
        sql = self._LOAD + "(j.state = 'dead' OR (j.state = 'pending' AND j.attempts > 0))"
        params: list[Any] = []
        if not force:
            sql += " AND COALESCE(j.next_retry_at, 0) <= ?"
            params.append(self.clock() if now is None else now)
        if stream is not None:
            sql += " AND j.stream = ?"
            params.append(stream)
        return self._load(self.store.query(sql + " ORDER BY j.received_at, j.queue_id", params))

    def entry(self, key: str) -> JournalEntry | None:
        row = self.store.query_one("SELECT * FROM import_journal WHERE key = ?", (key,))
        return _entry(row) if row is not None else None

    def entries(self, stream: str | None = None, state: str | None = None) -> list[JournalEntry]:
        sql = "SELECT * FROM import_journal WHERE 1 = 1"
        params: list[Any] = []
        if stream is not None:
            sql += " AND stream = ?"
            params.append(stream)
        if state is not None:
            sql += " AND state = ?"
            params.append(state)
        return [_entry(r) for r in self.store.query(sql + " ORDER BY received_at", params)]

    def dead_letters(self, stream: str | None = None) -> list[JournalEntry]:
        """Refused records (state dead) and records whose ERP write keeps failing."""
        sql = ("SELECT * FROM import_journal WHERE (state = 'dead' OR "
               "(state = 'pending' AND attempts > 0))")
        params: tuple[Any, ...] = ()
        if stream is not None:
            sql += " AND stream = ?"
            params = (stream,)
        return [_entry(r) for r in self.store.query(sql + " ORDER BY received_at", params)]

    def quarantined(self, stream: str | None = None, limit: int = 50) -> list[QuarantinedItem]:
        sql = "SELECT * FROM import_quarantine"
        params: tuple[Any, ...] = ()
        if stream is not None:
            sql += " WHERE stream = ?"
            params = (stream,)
        rows = self.store.query(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))
        return [QuarantinedItem(r["id"], r["stream"], r["queue_id"], r["source"], r["error"],
                                r["field"], r["payload"], r["at"]) for r in rows]

    def warnings(self, stream: str | None = None, limit: int = 50) -> list[RecordWarning]:
        """The latest warnings on records (each record was delivered all the same)."""
        sql = "SELECT key, stream, queue_id, warning, at FROM import_warnings"
        params: tuple[Any, ...] = ()
        if stream is not None:
            sql += " WHERE stream = ?"
            params = (stream,)
        rows = self.store.query(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))
        return [RecordWarning(r["key"], r["stream"], r["queue_id"], r["warning"], r["at"])
                for r in rows]

    def counts(self) -> dict[str, dict[str, int]]:
        """{stream: {state: n, "failing": n, "quarantined": n, "warned": records}}."""
        out: dict[str, dict[str, int]] = {}
        for r in self.store.query("SELECT stream, state, attempts > 0 AS tried, COUNT(*) AS n "
                                  "FROM import_journal GROUP BY stream, state, tried"):
            d = out.setdefault(r["stream"], {})
            name = "failing" if r["state"] == "pending" and r["tried"] else r["state"]
            d[name] = d.get(name, 0) + r["n"]
        for r in self.store.query("SELECT stream, COUNT(*) AS n FROM import_quarantine "
                                  "GROUP BY stream"):
            out.setdefault(r["stream"], {})["quarantined"] = r["n"]
        for r in self.store.query("SELECT stream, COUNT(DISTINCT key) AS n FROM import_warnings "
                                  "GROUP BY stream"):
            out.setdefault(r["stream"], {})["warned"] = r["n"]
        return out

    # Marks ---------------------------------------------------------------------------------
    def mark(self, stream: str) -> int:
        row = self.store.query_one("SELECT last_id FROM import_marks WHERE stream = ?", (stream,))
        return int(row["last_id"]) if row else 0

    def _advance_mark(self, conn: sqlite3.Connection, stream: str, last_id: int) -> None:
        conn.execute("INSERT INTO import_marks(stream, last_id, updated_at) VALUES (?, ?, ?) "
                     "ON CONFLICT(stream) DO UPDATE SET last_id = MAX(last_id, excluded.last_id),"
                     " updated_at = excluded.updated_at", (stream, last_id, self.clock()))

    def advance_mark(self, stream: str, last_id: int) -> None:
        with self.store.transaction() as conn:
            self._advance_mark(conn, stream, last_id)

    def set_mark(self, stream: str, last_id: int) -> None:
        """Operator action: put the mark anywhere (also back), e.g. after a queue reset."""
        with self.store.transaction() as conn:
            conn.execute("INSERT INTO import_marks(stream, last_id, updated_at) VALUES (?, ?, ?) "
                         "ON CONFLICT(stream) DO UPDATE SET last_id = excluded.last_id, "
                         "updated_at = excluded.updated_at, last_error = NULL, "
                         "last_error_at = NULL", (stream, last_id, self.clock()))
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
        return {r["stream"]: StreamFacts(r["stream"], int(r["last_id"]), r["last_import_at"],
                                         r["last_error"], r["last_error_at"])
                for r in self.store.query("SELECT * FROM import_marks")}


def _entry(r: sqlite3.Row) -> JournalEntry:
    return JournalEntry(key=r["key"], stream=r["stream"], unique_id=r["unique_id"],
                        queue_id=r["queue_id"], last_queue_id=r["last_queue_id"],
                        source=r["source"], state=r["state"], attempts=r["attempts"],
                        last_error=r["last_error"], next_retry_at=r["next_retry_at"],
                        erp_ref=r["erp_ref"], received_at=r["received_at"],
                        delivered_at=r["delivered_at"], seen=r["seen"],
                        duplicate_of=r["duplicate_of"])


def _lookup(conn: sqlite3.Connection, keys: Sequence[str], guids: Sequence[str]
            ) -> Iterable[tuple[str, str | None, str, str]]:
    """(key, guid, stream, state) of the journaled records with one of these keys or one of
    these guids: one statement per page (each statement hands the GIL over and back)."""
    step = _IN_CHUNK // 2
    for i in range(0, max(len(keys), len(guids)), step):
        k, g = keys[i:i + step], guids[i:i + step]
        sql = ("SELECT key, guid, stream, state FROM import_journal WHERE key IN ({})"
               .format(", ".join("?" * len(k))))
        if g:
            sql += " OR guid IN ({})".format(", ".join("?" * len(g)))
        yield from conn.execute(sql, (*k, *g))


def _insert(conn: sqlite3.Connection, head: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """INSERT rows with one statement per _ROWS_PER_STATEMENT rows: each statement runs
    with the GIL released, and taking it back can wait for a busy thread, so fewer
    statements (not executemany's one per row) keep the journal from waiting."""
    for i in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[i:i + _ROWS_PER_STATEMENT]
        marks = "(" + ", ".join("?" * len(chunk[0])) + ")"
        conn.execute(head + ", ".join([marks] * len(chunk)), list(chain.from_iterable(chunk)))


@contextlib.contextmanager
def _savepoint(conn: sqlite3.Connection) -> Iterator[None]:
    """A nested transaction: what the block wrote is undone if it raises."""
    conn.execute("SAVEPOINT journal_part")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK TO journal_part")
        conn.execute("RELEASE journal_part")
        raise
    conn.execute("RELEASE journal_part")


def _text(value: str) -> str:
    """Text SQLite can store: a lone surrogate (which no UTF-8 encoder takes) escaped."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def _item_of(rec: InboundRecord) -> Any:
    """A record that could not be journaled, as its quarantine entry keeps it."""
    try:
        raw = rec.payload_bytes()
    except Exception:  # noqa: BLE001 - nothing readable: say so
        return f"<{rec.stream} record {rec.key}: payload unreadable>"
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return raw.decode("utf-8", "replace")


def journal_for(cfg: Config, store: StateStore) -> Journal:
    """The journal with import.retry_seconds and import.max_retry_seconds."""
    return Journal(store, retry_seconds=cfg.import_.retry_seconds,
                   max_retry_seconds=cfg.import_.max_retry_seconds)
