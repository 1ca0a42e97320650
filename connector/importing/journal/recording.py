"""Recording in the inbound journal: a page's records (each key once, a second identity by
guid_test_ord), its malformed items, the streams' marks. Each function works on a
connection inside the caller's transaction (connector.importing.journal.Journal)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain
from typing import Any

import structlog

from connector import metrics
from connector.errors import RecordError
from connector.model import InboundRecord
from connector.model.jsonguard import ID_MAX
from connector.state import is_store_fault

log = structlog.get_logger("connector.importing.journal")

_IN_CHUNK = 500  # keys per IN (...) list: well under SQLite's oldest variable limit (999)
_ROWS_PER_STATEMENT = 50  # rows per multi-row INSERT (11 values each: under 999 too)


def record_many(conn: sqlite3.Connection, records: Sequence[InboundRecord], source: str,
                clock: Callable[[], float]) -> list[InboundRecord]:
    """Journal records (one lookup per page, not per record); the new ones, in order.
    A key seen before only counts the sighting; an order whose guid_test_ord an earlier
    record of its stream has is stored as a duplicate of it and never delivered."""
    if not records:
        return []
    now = clock()
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


def record_all(conn: sqlite3.Connection, records: Sequence[InboundRecord], source: str,
               clock: Callable[[], float]
               ) -> tuple[list[InboundRecord], list[tuple[Any, Exception, int | None]]]:
    """(the new records, the ones that could not be stored as (item, error, queue_id)).
    The page in one go; if that fails for a reason other than the state store itself,
    record by record, each in a savepoint, so that one record nothing can store is
    quarantined alone."""
    try:
        with _savepoint(conn):
            return record_many(conn, records, source, clock), []
    except sqlite3.Error as exc:
        if is_store_fault(exc):
            raise
    except Exception as exc:  # noqa: BLE001 - found out record by record below
        log.debug("page not stored in one go; record by record", error=str(exc))
    fresh: list[InboundRecord] = []
    unstorable: list[tuple[Any, Exception, int | None]] = []
    for rec in records:
        try:
            with _savepoint(conn):
                fresh += record_many(conn, [rec], source, clock)
        except Exception as exc:  # this record's alone
            if isinstance(exc, sqlite3.Error) and is_store_fault(exc):
                raise
            why = RecordError(f"{rec.stream} item id {rec.queue_id}: cannot be stored "
                              f"({type(exc).__name__}: {exc})", field="item")
            unstorable.append((_item_of(rec), why, rec.queue_id))
    return fresh, unstorable


def quarantine(conn: sqlite3.Connection, stream: str, item: Any, error: Exception,
               queue_id: int | None, source: str, clock: Callable[[], float]) -> None:
    """Keep a malformed item with its error; the same item quarantined again is kept once."""
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
                 "payload, at) VALUES (?, ?, ?, ?, ?, ?, ?)", (*values, clock()))
    log.warning("malformed item quarantined", stream=stream, queue_id=queue_id,
                field=field, error=str(error))
    metrics.inc("connector_import_quarantined_total", help="malformed inbound items",
                stream=stream)


def advance_mark(conn: sqlite3.Connection, stream: str, last_id: int, now: float) -> None:
    """The stream's lastID mark moved up to last_id (never back)."""
    conn.execute("INSERT INTO import_marks(stream, last_id, updated_at) VALUES (?, ?, ?) "
                 "ON CONFLICT(stream) DO UPDATE SET last_id = MAX(last_id, excluded.last_id),"
                 " updated_at = excluded.updated_at", (stream, last_id, now))


def set_mark(conn: sqlite3.Connection, stream: str, last_id: int, now: float) -> None:
    """The mark put anywhere (also back), its error cleared."""
    conn.execute("INSERT INTO import_marks(stream, last_id, updated_at) VALUES (?, ?, ?) "
                 "ON CONFLICT(stream) DO UPDATE SET last_id = excluded.last_id, "
                 "updated_at = excluded.updated_at, last_error = NULL, "
                 "last_error_at = NULL", (stream, last_id, now))


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
