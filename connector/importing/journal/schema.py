"""The inbound journal's tables in the state store, and their one migration."""

from __future__ import annotations

import structlog

from connector.state import StateStore

log = structlog.get_logger("connector.importing.journal")

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

_JOURNAL_COLUMNS = ("key", "stream", "unique_id", "guid", "queue_id", "last_queue_id", "source",
                    "state", "duplicate_of", "seen", "attempts", "last_error", "next_retry_at",
                    "sink", "erp_ref", "received_at", "delivered_at", "updated_at")


def ensure(store: StateStore) -> None:
    """The tables (made when missing), payloads moved out of an older journal's rows."""
    store.ensure_schema("importing", _DDL)
    _move_payloads_out(store)


def _move_payloads_out(store: StateStore) -> None:
    """A journal made before payloads had their own table keeps them in a column of
    import_journal: move them over, once."""
    columns = {r["name"] for r in store.query("PRAGMA table_info(import_journal)")}
    if "payload" not in columns:
        return
    kept = ", ".join(c for c in _JOURNAL_COLUMNS if c in columns)
    # Rebuilt rather than ALTER TABLE ... DROP COLUMN, which SQLite before 3.35 lacks.
    with store.transaction() as conn:
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
