"""The state store: one SQLite database in WAL mode under state_dir.

Each part of the connector owns its tables and declares them with
`StateStore.ensure_schema(name, ddl)`; this module only owns the connection
discipline: one connection per thread, short transactions, busy timeout.

When the database cannot be used - locked by another program past the busy timeout,
its disk full, read-only, damaged - every method raises StateStoreError, one line that
says what is wrong and what to do (a loop stops and its supervisor restarts it with
backoff; a command exits 2). A connection that failed in a transaction is dropped, so the
next call starts afresh once the fault has cleared.

The database (and with it SQLite's -wal and -shm files, which take its mode) is created
0600 whatever the umask: it holds the records' payloads.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from connector.errors import StateStoreError

T = TypeVar("T")
FILE_MODE = 0o600
# How long a call waits for a lock another program holds on the database before it gives
# up with StateStoreError (CONNECTOR_STATE_BUSY_SECONDS: longer on a slow disk, shorter in
# tests).
def _busy_default() -> float:
    try:
        return float(os.environ.get("CONNECTOR_STATE_BUSY_SECONDS", "") or 30.0)
    except ValueError:
        return 30.0


DEFAULT_BUSY_TIMEOUT = _busy_default()

_META_DDL = """
CREATE TABLE IF NOT EXISTS schema_parts (name TEXT PRIMARY KEY, applied_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, level TEXT NOT NULL,
    component TEXT NOT NULL, message TEXT NOT NULL);
"""


class StateStore:
    def __init__(self, state_dir: Path, filename: str = "connector.sqlite",
                 busy_timeout: float | None = None) -> None:
        self.dir = state_dir
        self.path = self.dir / filename
        self.busy_timeout = DEFAULT_BUSY_TIMEOUT if busy_timeout is None else busy_timeout
        self._local = threading.local()
        self._schema_lock = threading.Lock()
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            create_private_file(self.path)
        except OSError as exc:
            raise StateStoreError(describe_fault(self.path, exc)) from None
        self.ensure_schema("meta", _META_DDL)

    # Connections -------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=self.busy_timeout,
                                       isolation_level=None, check_same_thread=True)
            except sqlite3.Error as exc:
                raise StateStoreError(describe_fault(self.path, exc)) from None
            try:
                conn.row_factory = sqlite3.Row
                _ensure_wal(conn, self.path)
                conn.execute("PRAGMA synchronous=FULL")
                conn.execute("PRAGMA foreign_keys=ON")
            except BaseException:
                conn.close()
                raise
            self._local.conn = conn
        return conn

    def _guard(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except sqlite3.Error as exc:
            if not is_store_fault(exc):
                raise
            self._drop()
            raise StateStoreError(describe_fault(self.path, exc, self.busy_timeout)) from None

    def _drop(self) -> None:
        """Forget this thread's connection (after a fault: the next call opens afresh)."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error:
                pass

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; rolled back on any exception."""
        conn = self._guard(self._conn)
        self._guard(lambda: conn.execute("BEGIN IMMEDIATE"))
        try:
            yield conn
        except BaseException as exc:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                self._drop()
            if isinstance(exc, sqlite3.Error) and is_store_fault(exc):
                self._drop()
                raise StateStoreError(describe_fault(self.path, exc, self.busy_timeout)) \
                    from None
            raise
        else:
            self._guard(lambda: conn.execute("COMMIT"))

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        return self._guard(lambda: self._conn().execute(sql, params))

    def query(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        return self._guard(lambda: list(self._conn().execute(sql, params).fetchall()))

    def query_one(self, sql: str, params: Any = ()) -> sqlite3.Row | None:
        def one() -> sqlite3.Row | None:
            row: sqlite3.Row | None = self._conn().execute(sql, params).fetchone()
            return row

        return self._guard(one)

    def ensure_schema(self, name: str, ddl: str) -> None:
        """Create a part's tables once (idempotent DDL, CREATE ... IF NOT EXISTS)."""
        def apply() -> None:
            conn = self._conn()
            conn.executescript(ddl)
            conn.execute("INSERT OR REPLACE INTO schema_parts(name, applied_at) VALUES (?, ?)"
                         if name != "meta" else
                         "INSERT OR IGNORE INTO schema_parts(name, applied_at) VALUES (?, ?)",
                         (name, time.time()))

        with self._schema_lock:
            self._guard(apply)

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

    def try_record_event(self, level: str, component: str, message: str) -> bool:
        """record_event for bookkeeping inside an error path: a store that cannot take it
        (the very fault being handled, often) is logged, never raised; False then."""
        try:
            self.record_event(level, component, message)
        except (StateStoreError, sqlite3.Error) as exc:
            import structlog

            structlog.get_logger(__name__).warning("event not recorded in the state store",
                                                  component=component, error=str(exc))
            return False
        return True

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
                raise
            time.sleep(0.02)  # start-up only: no stop event exists yet


def create_private_file(path: Path) -> None:
    """Create a database file 0600 (whatever the umask) before SQLite does - SQLite gives
    its -wal and -shm files the database's mode - and take group and others' access away
    from one made before."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    try:
        if sys.platform != "win32" and os.fstat(fd).st_mode & 0o077:
            try:
                os.fchmod(fd, FILE_MODE)
            except OSError:
                pass  # not ours to change (another owner): left as it is
    finally:
        os.close(fd)
    for extra in ("-wal", "-shm"):
        p = path.with_name(path.name + extra)
        try:
            if sys.platform != "win32" and p.stat().st_mode & 0o077:
                os.chmod(p, FILE_MODE)
        except OSError:
            pass


def is_store_fault(exc: sqlite3.Error) -> bool:
    """A fault of the database or its disk (locked, full, read-only, I/O, damaged), not of
    the statement (an IntegrityError, a bad parameter are the caller's to handle)."""
    return isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError


def describe_fault(path: Path, exc: BaseException, busy_timeout: float | None = None) -> str:
    """One line: what is wrong with the state store and what to do."""
    text = str(exc)
    low = text.lower()
    where = f"the state store {path}"
    if "locked" in low or "busy" in low:
        wait = f" for more than {busy_timeout:g} s" if busy_timeout is not None else ""
        return (f"{where} is locked by another program{wait} ({text}): close the program "
                "holding it (an sqlite3 shell, a backup or antivirus tool, a second "
                "connector on a copy of the same folder); the connector goes on by itself "
                "once it is released")
    if "full" in low or getattr(exc, "errno", None) == 28:
        return (f"the disk holding {where} is full ({text}): free some space; the connector "
                "goes on by itself once there is room")
    if "readonly" in low or "read-only" in low or isinstance(exc, PermissionError) \
            or getattr(exc, "errno", None) in (1, 13, 30):
        return (f"{where} cannot be written ({text}): the file and its folder "
                f"{path.parent} must be writable by the user the connector runs as (also "
                "for SQLite's -wal and -shm files beside it); check the permissions and that "
                "the disk is not mounted read-only")
    if "not a database" in low or "malformed" in low:
        return (f"{where} is damaged ({text}): stop the connector, keep a copy of the file, "
                f"then recover what it holds with `sqlite3 {path.name} .recover | sqlite3 "
                f"recovered.sqlite` and put recovered.sqlite in its place, or move the file "
                "aside to start with an empty state (the ERP sinks' own ledgers still keep "
                "records from landing twice)")
    if "unable to open" in low or "cannot open" in low or isinstance(exc, OSError):
        return (f"cannot open {where} ({text}): the folder {path.parent} must exist and be "
                "writable by the user the connector runs as")
    if "disk i/o" in low:
        return (f"disk I/O error on {where} ({text}): check the disk (dmesg, SMART) and "
                "its free space")
    return f"{where} failed: {text}"
