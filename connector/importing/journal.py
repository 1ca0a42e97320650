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
- `record_page(stream, records, malformed=(), mark=None, source="api") -> list[InboundRecord]`:
  `record` for each record, `quarantine` for each malformed item and the stream's mark
  advanced to `mark`, all in ONE transaction; returns the new records, to deliver.
- `quarantine(stream, item, error, queue_id=None, source="api")`: keep a malformed item
  with its error (shown by `connector status`), it is never delivered.
- `deliver(rec, sink) -> Outcome` and `deliver_many(recs, sink) -> list[Outcome]`: write
  through the ErpSink (its optional `write_many(recs) -> list[ErpRef | Exception]` when it
  has one, for batches) and record the outcome: "delivered", "duplicate" (already there),
  "dead" (the sink raised PermanentError: dead letter, retried with backoff), "failed"
  (TransientError: stays pending, retried with backoff).
- `pending(stream=None) -> list[InboundRecord]`: journaled, never tried (a crash between
  journal and ERP write): deliver these first at start-up.
- `retry_due(stream=None, force=False, now=None) -> list[InboundRecord]`: dead letters and
  failed records whose next retry is due (all of them with force, as `connector retry`).
- `dead_letters(stream=None) -> list[JournalEntry]` (state dead, and failed pending ones),
  `quarantined(stream=None, limit=50) -> list[QuarantinedItem]`, `counts()`, `entry(key)`.
- Marks (the lastID high-water mark per stream): `mark(stream) -> int`,
  `advance_mark(stream, last_id)` (never moves back), `set_mark(stream, last_id)` (operator),
  `stream_done(stream)`, `stream_error(stream, message|None)`,
  `stream_facts() -> dict[stream, StreamFacts]`.

Records are reloaded from their journaled payload with a decoder per source: "api" uses
connector.domain.decode_record; another route registers its own with
`Journal.register_decoder(source, fn)` (fn(stream, payload) -> InboundRecord).

Backoff per record: retry_seconds * 2**(attempts-1), at most max_retry_seconds.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import structlog

from adapters.erp import ErpRef, ErpSink
from connector import metrics
from connector.domain import InboundRecord, decode_raw, decode_record
from connector.errors import AuthError, FormatError, PermanentError, TransientError
from connector.state import StateStore

log = structlog.get_logger(__name__)

Outcome = Literal["delivered", "duplicate", "dead", "failed"]
Decoder = Callable[[str, dict[str, Any]], InboundRecord]

_DDL = """
CREATE TABLE IF NOT EXISTS import_journal (
    key TEXT PRIMARY KEY,            -- stream/unique_id: what ERP writes are idempotent on
    stream TEXT NOT NULL,
    unique_id TEXT NOT NULL,
    guid TEXT,                       -- orders: guid_test_ord, lower case
    queue_id INTEGER,                -- the first queue id it came with
    last_queue_id INTEGER,           -- the latest (a re-queued record gets a new one)
    source TEXT NOT NULL DEFAULT 'api',
    payload TEXT NOT NULL,           -- the item as received, JSON
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
CREATE INDEX IF NOT EXISTS import_journal_state ON import_journal(state, stream);
CREATE INDEX IF NOT EXISTS import_journal_guid ON import_journal(guid);
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
class StreamFacts:
    stream: str
    last_id: int
    last_import_at: float | None
    last_error: str | None
    last_error_at: float | None


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

    @classmethod
    def register_decoder(cls, source: str, decoder: Decoder) -> None:
        cls._decoders[source] = decoder

    # Recording -------------------------------------------------------------------------
    def record(self, rec: InboundRecord, source: str = "api") -> bool:
        with self.store.transaction() as conn:
            return self._record(conn, rec, source)

    def _record(self, conn: sqlite3.Connection, rec: InboundRecord, source: str) -> bool:
        now = self.clock()
        row = conn.execute("SELECT key FROM import_journal WHERE key = ?", (rec.key,)).fetchone()
        if row is not None:
            conn.execute("UPDATE import_journal SET seen = seen + 1, updated_at = ?, "
                         "last_queue_id = MAX(COALESCE(last_queue_id, 0), ?) WHERE key = ?",
                         (now, rec.queue_id, rec.key))
            log.info("record seen again", key=rec.key, queue_id=rec.queue_id,
                     correlation_id=f"record-{rec.key}")
            metrics.inc("connector_import_repeats_total", help="records queued again",
                        stream=rec.stream)
            return False
        guid = rec.guid
        twin = None
        if guid is not None:
            twin = conn.execute("SELECT key FROM import_journal WHERE guid = ? AND stream = ? "
                                "AND state != 'duplicate' LIMIT 1",
                                (guid, rec.stream)).fetchone()
        state = "duplicate" if twin is not None else "pending"
        conn.execute(
            "INSERT INTO import_journal(key, stream, unique_id, guid, queue_id, last_queue_id, "
            "source, payload, state, duplicate_of, received_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (rec.key, rec.stream, rec.unique_id, guid, rec.queue_id, rec.queue_id, source,
             rec.payload_json(),
             state, twin["key"] if twin is not None else None, now, now))
        if twin is not None:
            log.info("record is a duplicate by guid_test_ord", key=rec.key, of=twin["key"],
                     correlation_id=f"record-{rec.key}")
            return False
        return True

    def _quarantine(self, conn: sqlite3.Connection, stream: str, item: Any, error: Exception,
                    queue_id: int | None, source: str) -> None:
        field = getattr(error, "field", None)
        try:
            payload = json.dumps(item, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            payload = repr(item)
        conn.execute("INSERT INTO import_quarantine(stream, queue_id, source, error, field, "
                     "payload, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (stream, queue_id, source, str(error), field, payload, self.clock()))
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
                    mark: int | None = None, source: str = "api") -> list[InboundRecord]:
        """Journal a page, quarantine its malformed items (item, error, queue_id) and
        advance the stream's mark, atomically. Returns the new records."""
        fresh: list[InboundRecord] = []
        with self.store.transaction() as conn:
            for rec in records:
                if self._record(conn, rec, source):
                    fresh.append(rec)
            for item, error, queue_id in malformed:
                self._quarantine(conn, stream, item, error, queue_id, source)
            if mark is not None:
                self._advance_mark(conn, stream, mark)
        return fresh

    # Delivering ------------------------------------------------------------------------
    def _backoff(self, attempts: int) -> float:
        return float(min(self.max_retry_seconds,
                         self.retry_seconds * (2 ** max(0, min(attempts - 1, 30)))))

    def _write(self, rec: InboundRecord, sink: ErpSink) -> tuple[Outcome, ErpRef | None, str]:
        try:
            ref = sink.write(rec)
        except AuthError:
            raise
        except (PermanentError, FormatError) as exc:
            return "dead", None, str(exc)
        except TransientError as exc:
            return "failed", None, str(exc)
        except Exception as exc:  # noqa: BLE001 - a sink bug must not lose the record
            log.exception("ERP sink raised an unexpected error", key=rec.key)
            return "dead", None, f"internal error in sink {sink.name}: {exc!r}"
        return ("duplicate" if ref.duplicate else "delivered"), ref, ""

    def deliver(self, rec: InboundRecord, sink: ErpSink) -> Outcome:
        return self.deliver_many([rec], sink)[0]

    def deliver_many(self, records: Sequence[InboundRecord], sink: ErpSink) -> list[Outcome]:
        """Write each record, then record all outcomes in one transaction. A crash in
        between only repeats writes, which the sink answers with duplicate=True."""
        results: list[tuple[InboundRecord, Outcome, ErpRef | None, str]] = []
        try:
            write_many = getattr(sink, "write_many", None)
            if write_many is not None and len(records) > 1:
                for rec, got in zip(records, write_many(records), strict=True):
                    results.append((rec, *self._classify(rec, sink, got)))
            else:
                for rec in records:
                    outcome, ref, error = self._write(rec, sink)
                    results.append((rec, outcome, ref, error))
        finally:
            self._save_outcomes(results, sink)
        return [r[1] for r in results]

    def _classify(self, rec: InboundRecord, sink: ErpSink, got: ErpRef | Exception
                  ) -> tuple[Outcome, ErpRef | None, str]:
        """write_many's answer for one record, as _write would have returned it."""
        if isinstance(got, ErpRef):
            return ("duplicate" if got.duplicate else "delivered"), got, ""
        if isinstance(got, AuthError):
            raise got
        if isinstance(got, PermanentError | FormatError):
            return "dead", None, str(got)
        if isinstance(got, TransientError):
            return "failed", None, str(got)
        return "dead", None, f"internal error in sink {sink.name}: {got!r}"

    def _save_outcomes(self, results: list[tuple[InboundRecord, Outcome, ErpRef | None, str]],
                       sink: ErpSink) -> None:
        if not results:
            return
        now = self.clock()
        with self.store.transaction() as conn:
            for rec, outcome, ref, error in results:
                if outcome in ("delivered", "duplicate"):
                    conn.execute(
                        "UPDATE import_journal SET state = 'delivered', sink = ?, erp_ref = ?, "
                        "delivered_at = ?, updated_at = ?, last_error = NULL, "
                        "next_retry_at = NULL WHERE key = ?",
                        (sink.name, ref.ref if ref else None, now, now, rec.key))
                    continue
                row = conn.execute("SELECT attempts FROM import_journal WHERE key = ?",
                                   (rec.key,)).fetchone()
                attempts = (row["attempts"] if row else 0) + 1
                conn.execute(
                    "UPDATE import_journal SET state = ?, attempts = ?, last_error = ?, "
                    "next_retry_at = ?, updated_at = ? WHERE key = ?",
                    ("dead" if outcome == "dead" else "pending", attempts, error[:2000],
                     now + self._backoff(attempts), now, rec.key))
        for rec, outcome, ref, error in results:
            metrics.inc("connector_import_records_total", help="inbound records by outcome",
                        stream=rec.stream, outcome=outcome)
            if outcome in ("delivered", "duplicate"):
                log.info(f"record {outcome}", stream=rec.stream, key=rec.key,
                         queue_id=rec.queue_id, sink=sink.name, erp_ref=ref.ref if ref else None,
                         correlation_id=f"record-{rec.key}")
            elif outcome == "dead":
                log.error("ERP refused record, dead-lettered", key=rec.key,
                          queue_id=rec.queue_id, reason=error, correlation_id=f"record-{rec.key}")
            elif outcome == "failed":
                log.warning("ERP write failed, will retry", key=rec.key, error=error,
                            correlation_id=f"record-{rec.key}")

    # Reading back ------------------------------------------------------------------------
    def _load(self, rows: Iterable[sqlite3.Row]) -> list[InboundRecord]:
        out: list[InboundRecord] = []
        for row in rows:
            decoder = self._decoders.get(row["source"], decode_record)
            if decoder is decode_record:  # the same decoding as when it was first received
                out.append(decode_raw(row["stream"], row["payload"].encode("utf-8")))
            else:
                out.append(decoder(row["stream"], json.loads(row["payload"])))
        return out

    def pending(self, stream: str | None = None) -> list[InboundRecord]:
        sql = ("SELECT stream, source, payload FROM import_journal "
               "WHERE state = 'pending' AND attempts = 0")
        params: tuple[Any, ...] = ()
        if stream is not None:
            sql += " AND stream = ?"
            params = (stream,)
        return self._load(self.store.query(sql + " ORDER BY received_at, queue_id", params))

    def retry_due(self, stream: str | None = None, force: bool = False,
                  now: float | None = None) -> list[InboundRecord]:
        sql = ("SELECT stream, source, payload FROM import_journal WHERE "
               "(state = 'dead' OR (state = 'pending' AND attempts > 0))")
        params: list[Any] = []
        if not force:
            sql += " AND COALESCE(next_retry_at, 0) <= ?"
            params.append(self.clock() if now is None else now)
        if stream is not None:
            sql += " AND stream = ?"
            params.append(stream)
        return self._load(self.store.query(sql + " ORDER BY received_at, queue_id", params))

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

    def counts(self) -> dict[str, dict[str, int]]:
        """{stream: {state: n, "failing": n, "quarantined": n}}."""
        out: dict[str, dict[str, int]] = {}
        for r in self.store.query("SELECT stream, state, attempts > 0 AS tried, COUNT(*) AS n "
                                  "FROM import_journal GROUP BY stream, state, tried"):
            d = out.setdefault(r["stream"], {})
            name = "failing" if r["state"] == "pending" and r["tried"] else r["state"]
            d[name] = d.get(name, 0) + r["n"]
        for r in self.store.query("SELECT stream, COUNT(*) AS n FROM import_quarantine "
                                  "GROUP BY stream"):
            out.setdefault(r["stream"], {})["quarantined"] = r["n"]
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
