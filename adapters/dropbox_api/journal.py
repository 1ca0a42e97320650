"""The publisher's own tables in the state store.

dropbox_api_files: what we last published at each remote path (content hash, size, rev):
the record of the journal side, shown by status and used to explain skips.
dropbox_api_sessions: open upload sessions of large files, by destination and content
(two identical files of one burst get a session each), so a restart
after a crash (even SIGKILL) resumes the session at the offset Dropbox has instead of
sending the whole file again. Sessions live 7 days at Dropbox; we forget them after 6.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from connector.state import StateStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS dropbox_api_files (
    path_lower TEXT PRIMARY KEY,
    path_display TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    rev TEXT,
    published_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS dropbox_api_sessions (
    path_lower TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    session_id TEXT NOT NULL,
    offset INTEGER NOT NULL,
    closed INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL,
    PRIMARY KEY (path_lower, content_hash, size)
);
"""

SESSION_MAX_AGE_SECONDS = 6 * 24 * 3600.0


SessionKey = tuple[str, str, int]  # (destination path_lower, content_hash, size)


@dataclass(frozen=True)
class SessionState:
    session_id: str
    offset: int
    closed: bool


class Journal:
    def __init__(self, store: StateStore) -> None:
        self.store = store
        store.ensure_schema("dropbox_api", SCHEMA)

    # Published files ------------------------------------------------------------------
    def published_hash(self, path_lower: str) -> str | None:
        row = self.store.query_one("SELECT content_hash FROM dropbox_api_files "
                                   "WHERE path_lower = ?", (path_lower,))
        return str(row["content_hash"]) if row else None

    def record_published(self, rows: list[tuple[str, str, str, int, str | None]]) -> None:
        """rows: (path_lower, path_display, content_hash, size, rev)."""
        now = time.time()
        with self.store.transaction() as conn:
            conn.executemany(
                "INSERT INTO dropbox_api_files(path_lower, path_display, content_hash, size, "
                "rev, published_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(path_lower) DO UPDATE "
                "SET path_display = excluded.path_display, content_hash = excluded.content_hash,"
                " size = excluded.size, rev = COALESCE(excluded.rev, dropbox_api_files.rev), "
                "published_at = excluded.published_at",
                [(*r, now) for r in rows])

    def count_published(self) -> int:
        row = self.store.query_one("SELECT COUNT(*) AS n FROM dropbox_api_files")
        return int(row["n"]) if row else 0

    # Upload sessions --------------------------------------------------------------------
    def session(self, key: SessionKey) -> SessionState | None:
        row = self.store.query_one(
            "SELECT session_id, offset, closed, updated_at FROM dropbox_api_sessions "
            "WHERE path_lower = ? AND content_hash = ? AND size = ?", key)
        if row is None:
            return None
        if time.time() - float(row["updated_at"]) > SESSION_MAX_AGE_SECONDS:
            self.forget_session(key)
            return None
        return SessionState(str(row["session_id"]), int(row["offset"]), bool(row["closed"]))

    def save_session(self, key: SessionKey, state: SessionState) -> None:
        self.store.execute(
            "INSERT INTO dropbox_api_sessions(path_lower, content_hash, size, session_id, offset,"
            " closed, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(path_lower, content_hash, size) DO UPDATE "
            "SET session_id = excluded.session_id, offset = excluded.offset, "
            "closed = excluded.closed, updated_at = excluded.updated_at",
            (*key, state.session_id, state.offset, int(state.closed), time.time()))

    def forget_session(self, key: SessionKey) -> None:
        self.store.execute("DELETE FROM dropbox_api_sessions WHERE path_lower = ? AND "
                           "content_hash = ? AND size = ?", key)
