"""The state store: one SQLite database in WAL mode under state_dir.

Each part of the connector owns its tables and declares them with
`StateStore.ensure_schema(name, ddl)`; this module only owns the connection
discipline: one connection per thread, short transactions, busy timeout.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connector.errors import ConnectorError

_META_DDL = """
CREATE TABLE IF NOT EXISTS schema_parts (name TEXT PRIMARY KEY, applied_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, level TEXT NOT NULL,
    component TEXT NOT NULL, message TEXT NOT NULL);
"""


class StateStore:
    def __init__(self, state_dir: Path, filename: str = "connector.sqlite") -> None:
        self.dir = state_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / filename
        self._local = threading.local()
        self._schema_lock = threading.Lock()
        self.ensure_schema("meta", _META_DDL)

    # Connections -------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None,
                                       check_same_thread=True)
            except sqlite3.Error as exc:
                raise ConnectorError(f"cannot open state store {self.path}: {exc}") from exc
            conn.row_factory = sqlite3.Row
            _ensure_wal(conn, self.path)
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; rolled back on any exception."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        return self._conn().execute(sql, params)

    def query(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        return list(self._conn().execute(sql, params).fetchall())

    def query_one(self, sql: str, params: Any = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._conn().execute(sql, params).fetchone()
        return row

    def ensure_schema(self, name: str, ddl: str) -> None:
        """Create a part's tables once (idempotent DDL, CREATE ... IF NOT EXISTS)."""
        with self._schema_lock:
            conn = self._conn()
            conn.executescript(ddl)
            conn.execute("INSERT OR REPLACE INTO schema_parts(name, applied_at) VALUES (?, ?)"
                         if name != "meta" else
                         "INSERT OR IGNORE INTO schema_parts(name, applied_at) VALUES (?, ?)",
                         (name, time.time()))

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # Small shared facts --------------------------------------------------------------
    def get(self, key: str, default: str | None = None) -> str | None:
        row = self.query_one("SELECT value FROM kv WHERE key = ?", (key,))
        return row["value"] if row else default

    def put(self, key: str, value: str | None) -> None:
        self.execute("INSERT INTO kv(key, value, updated_at) VALUES (?, ?, ?) "
                     "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
                     "updated_at = excluded.updated_at", (key, value, time.time()))

    def record_event(self, level: str, component: str, message: str) -> None:
        """Errors and warnings that `connector status` shows (the last few per component)."""
        self.execute("INSERT INTO events(at, level, component, message) VALUES (?, ?, ?, ?)",
                     (time.time(), level, component, message[:2000]))
        self.execute("DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - 500")

    def last_events(self, level: str = "error", limit: int = 5) -> list[sqlite3.Row]:
        return self.query("SELECT at, component, message FROM events WHERE level = ? "
                          "ORDER BY id DESC LIMIT ?", (level, limit))


def _ensure_wal(conn: sqlite3.Connection, path: Path) -> None:
    """Switch a new database to WAL (the mode is stored in the file, so once is enough).

    Switching needs the database to itself and SQLite does not wait for that (no busy
    handler), so connections opened at the same moment on a new file retry briefly.
    """
    deadline = time.monotonic() + 30.0
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise ConnectorError(f"cannot open state store {path}: {exc}") from exc
            time.sleep(0.02)  # start-up only: no stop event exists yet
