"""The export journal in the state store: what was published, skipped, quarantined.

`export_published` holds the last publish per destination (folder, name): the content
hash that makes an identical re-drop a no-op, and what `connector status` shows.
`export_files` is the per-file history (one row per processed source file).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from connector.state import StateStore

DDL = """
CREATE TABLE IF NOT EXISTS export_published (
    folder TEXT NOT NULL, name TEXT NOT NULL, sha256 TEXT NOT NULL, content_hash TEXT NOT NULL,
    rows INTEGER, bytes INTEGER NOT NULL, published_at REAL NOT NULL, source TEXT,
    PRIMARY KEY (folder, name));
CREATE TABLE IF NOT EXISTS export_files (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, source TEXT NOT NULL,
    folder TEXT, name TEXT, outcome TEXT NOT NULL, rows INTEGER, bytes INTEGER,
    sha256 TEXT, duration_ms INTEGER, error TEXT, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS export_files_at ON export_files(at);
CREATE TABLE IF NOT EXISTS export_quarantine (
    source TEXT PRIMARY KEY, path TEXT NOT NULL, report TEXT NOT NULL, first_error TEXT,
    violations INTEGER, at REAL NOT NULL);
-- One row per quarantined file: the same source refused twice is two files
-- (`io_citta.dat`, `io_citta (2).dat`), both the only copy of what was dropped.
CREATE TABLE IF NOT EXISTS export_quarantine_files (
    path TEXT PRIMARY KEY, source TEXT NOT NULL, report TEXT NOT NULL, first_error TEXT,
    violations INTEGER, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS export_quarantine_files_source ON export_quarantine_files(source);
"""


@dataclass(frozen=True)
class Outcome:
    source: str  # relative path in the watch folder
    outcome: str  # published | unchanged | quarantined | deferred
    folder: str = ""
    name: str = ""
    rows: int | None = None
    bytes: int | None = None
    sha256: str | None = None
    content_hash: str | None = None
    duration_ms: int = 0
    error: str | None = None


class ExportJournal:
    def __init__(self, store: StateStore) -> None:
        self.store = store
        store.ensure_schema("export", DDL)

    def last_sha256(self, folder: str, name: str) -> str | None:
        row = self.store.query_one(
            "SELECT sha256 FROM export_published WHERE folder = ? AND name = ?", (folder, name))
        return row["sha256"] if row else None

    def record(self, run_id: str, outcomes: list[Outcome]) -> None:
        """One transaction for a whole burst, written after the files are in place."""
        now = time.time()
        with self.store.transaction() as conn:
            for o in outcomes:
                conn.execute(
                    "INSERT INTO export_files(run_id, source, folder, name, outcome, rows, bytes, "
                    "sha256, duration_ms, error, at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (run_id, o.source, o.folder, o.name, o.outcome, o.rows, o.bytes, o.sha256,
                     o.duration_ms, o.error, now))
                if o.outcome == "published" and o.sha256 and o.content_hash:
                    conn.execute(
                        "INSERT INTO export_published(folder, name, sha256, content_hash, rows, "
                        "bytes, published_at, source) VALUES (?,?,?,?,?,?,?,?) "
                        "ON CONFLICT(folder, name) DO UPDATE SET sha256=excluded.sha256, "
                        "content_hash=excluded.content_hash, rows=excluded.rows, "
                        "bytes=excluded.bytes, published_at=excluded.published_at, "
                        "source=excluded.source",
                        (o.folder, o.name, o.sha256, o.content_hash, o.rows, o.bytes, now,
                         o.source))
                if o.outcome == "published":
                    conn.execute("DELETE FROM export_quarantine WHERE source = ?", (o.source,))
                    conn.execute("DELETE FROM export_quarantine_files WHERE source = ?",
                                 (o.source,))

    def quarantined(self, source: str, path: str, report: str, first_error: str,
                    violations: int) -> None:
        now = time.time()
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO export_quarantine(source, path, report, first_error, violations, "
                "at) VALUES (?,?,?,?,?,?) ON CONFLICT(source) DO UPDATE SET path=excluded.path, "
                "report=excluded.report, first_error=excluded.first_error, "
                "violations=excluded.violations, at=excluded.at",
                (source, path, report, first_error, violations, now))
            conn.execute(
                "INSERT INTO export_quarantine_files(path, source, report, first_error, "
                "violations, at) VALUES (?,?,?,?,?,?) ON CONFLICT(path) DO UPDATE SET "
                "source=excluded.source, report=excluded.report, "
                "first_error=excluded.first_error, violations=excluded.violations, "
                "at=excluded.at", (path, source, report, first_error, violations, now))

    def published(self) -> list[dict[str, object]]:
        return [dict(r) for r in self.store.query(
            "SELECT folder, name, rows, bytes, sha256, content_hash, published_at, source "
            "FROM export_published ORDER BY folder, name")]

    def quarantine_list(self) -> list[dict[str, object]]:
        """Every quarantined file still to fix, newest first (with the rows of a database
        from before files were listed one by one)."""
        return [dict(r) for r in self.store.query(
            "SELECT source, path, report, first_error, violations, at FROM "
            "export_quarantine_files UNION ALL SELECT source, path, report, first_error, "
            "violations, at FROM export_quarantine q WHERE NOT EXISTS (SELECT 1 FROM "
            "export_quarantine_files f WHERE f.path = q.path) ORDER BY at DESC")]

    def prune_history(self, older_than_days: int) -> None:
        self.store.execute("DELETE FROM export_files WHERE at < ?",
                           (time.time() - older_than_days * 86400,))
