"""Reading the inbound journal back: records to deliver again (crash leftovers, due
retries) decoded from their journaled payload, and what `connector status` shows (entries,
dead letters, malformed items, warnings, counts, the streams' marks)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from connector.model import InboundRecord, decode_raw, decode_record
from connector.state import StateStore

Decoder = Callable[[str, dict[str, Any]], InboundRecord]


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


_LOAD = ("SELECT j.stream, j.source, p.payload FROM import_journal AS j "
         "JOIN import_payload AS p ON p.key = j.key WHERE ")


def _load(rows: Iterable[sqlite3.Row], decoders: Mapping[str, Decoder]) -> list[InboundRecord]:
    """Records reloaded from their journaled payload, each with its source's decoder."""
    out: list[InboundRecord] = []
    for row in rows:
        decoder = decoders.get(row["source"], decode_record)
        payload = row["payload"]  # UTF-8 bytes; text in journals of the first release
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        if decoder is decode_record:  # the same decoding as when it was first received
            out.append(decode_raw(row["stream"], payload))
        else:
            out.append(decoder(row["stream"], json.loads(payload)))
    return out


def pending(store: StateStore, stream: str | None, decoders: Mapping[str, Decoder]
            ) -> list[InboundRecord]:
    sql = _LOAD + "j.state = 'pending' AND j.attempts = 0"
    params: tuple[Any, ...] = ()
    if stream is not None:
        sql += " AND j.stream = ?"
        params = (stream,)
    return _load(store.query(sql + " ORDER BY j.received_at, j.queue_id", params), decoders)


def retry_due(store: StateStore, stream: str | None, due: float | None,
              decoders: Mapping[str, Decoder]) -> list[InboundRecord]:
    """Dead letters and failed records whose next retry is at or before `due` (all of
    them when None)."""
    sql = _LOAD + "(j.state = 'dead' OR (j.state = 'pending' AND j.attempts > 0))"
    params: list[Any] = []
    if due is not None:
        sql += " AND COALESCE(j.next_retry_at, 0) <= ?"
        params.append(due)
    if stream is not None:
        sql += " AND j.stream = ?"
        params.append(stream)
    return _load(store.query(sql + " ORDER BY j.received_at, j.queue_id", params), decoders)


def entry(store: StateStore, key: str) -> JournalEntry | None:
    row = store.query_one("SELECT * FROM import_journal WHERE key = ?", (key,))
    return _entry(row) if row is not None else None


def entries(store: StateStore, stream: str | None, state: str | None) -> list[JournalEntry]:
    sql = "SELECT * FROM import_journal WHERE 1 = 1"
    params: list[Any] = []
    if stream is not None:
        sql += " AND stream = ?"
        params.append(stream)
    if state is not None:
        sql += " AND state = ?"
        params.append(state)
    return [_entry(r) for r in store.query(sql + " ORDER BY received_at", params)]


def dead_letters(store: StateStore, stream: str | None) -> list[JournalEntry]:
    """Refused records (state dead) and records whose ERP write keeps failing."""
    sql = ("SELECT * FROM import_journal WHERE (state = 'dead' OR "
           "(state = 'pending' AND attempts > 0))")
    params: tuple[Any, ...] = ()
    if stream is not None:
        sql += " AND stream = ?"
        params = (stream,)
    return [_entry(r) for r in store.query(sql + " ORDER BY received_at", params)]


def quarantined(store: StateStore, stream: str | None, limit: int) -> list[QuarantinedItem]:
    sql = "SELECT * FROM import_quarantine"
    params: tuple[Any, ...] = ()
    if stream is not None:
        sql += " WHERE stream = ?"
        params = (stream,)
    rows = store.query(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))
    return [QuarantinedItem(r["id"], r["stream"], r["queue_id"], r["source"], r["error"],
                            r["field"], r["payload"], r["at"]) for r in rows]


def warnings(store: StateStore, stream: str | None, limit: int) -> list[RecordWarning]:
    """The latest warnings on records (each record was delivered all the same)."""
    sql = "SELECT key, stream, queue_id, warning, at FROM import_warnings"
    params: tuple[Any, ...] = ()
    if stream is not None:
        sql += " WHERE stream = ?"
        params = (stream,)
    rows = store.query(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))
    return [RecordWarning(r["key"], r["stream"], r["queue_id"], r["warning"], r["at"])
            for r in rows]


def counts(store: StateStore) -> dict[str, dict[str, int]]:
    """{stream: {state: n, "failing": n, "quarantined": n, "warned": records}}."""
    out: dict[str, dict[str, int]] = {}
    for r in store.query("SELECT stream, state, attempts > 0 AS tried, COUNT(*) AS n "
                         "FROM import_journal GROUP BY stream, state, tried"):
        d = out.setdefault(r["stream"], {})
        name = "failing" if r["state"] == "pending" and r["tried"] else r["state"]
        d[name] = d.get(name, 0) + r["n"]
    for r in store.query("SELECT stream, COUNT(*) AS n FROM import_quarantine "
                         "GROUP BY stream"):
        out.setdefault(r["stream"], {})["quarantined"] = r["n"]
    for r in store.query("SELECT stream, COUNT(DISTINCT key) AS n FROM import_warnings "
                         "GROUP BY stream"):
        out.setdefault(r["stream"], {})["warned"] = r["n"]
    return out


def mark(store: StateStore, stream: str) -> int:
    row = store.query_one("SELECT last_id FROM import_marks WHERE stream = ?", (stream,))
    return int(row["last_id"]) if row else 0


def stream_facts(store: StateStore) -> dict[str, StreamFacts]:
    return {r["stream"]: StreamFacts(r["stream"], int(r["last_id"]), r["last_import_at"],
                                     r["last_error"], r["last_error_at"])
            for r in store.query("SELECT * FROM import_marks")}


def _entry(r: sqlite3.Row) -> JournalEntry:
    return JournalEntry(key=r["key"], stream=r["stream"], unique_id=r["unique_id"],
                        queue_id=r["queue_id"], last_queue_id=r["last_queue_id"],
                        source=r["source"], state=r["state"], attempts=r["attempts"],
                        last_error=r["last_error"], next_retry_at=r["next_retry_at"],
                        erp_ref=r["erp_ref"], received_at=r["received_at"],
                        delivered_at=r["delivered_at"], seen=r["seen"],
                        duplicate_of=r["duplicate_of"])
