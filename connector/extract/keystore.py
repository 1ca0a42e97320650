"""The key-hash store: for each tracciato, a hash of every published row, by CHIAVE.

A run loads the new (CHIAVE, hash) pairs into a temporary table as rows stream past,
so a million rows never sit in memory; the diff against the last publish is then
three indexed SQL joins. Only a publish moves the stored snapshot forward (a dry run
or a refused file never does).

The tables live in the state store (declared with ensure_schema); the bulk work goes
through a connection of our own so it never holds the store's per-thread connection
in a long transaction.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from connector.state import StateStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS extract_keys (
    layout TEXT NOT NULL, chiave TEXT NOT NULL, hash BLOB NOT NULL,
    PRIMARY KEY (layout, chiave)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS extract_published (
    layout TEXT PRIMARY KEY, at REAL NOT NULL, rows INTEGER NOT NULL,
    sha256 TEXT NOT NULL, mode TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS extract_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, started REAL NOT NULL, ended REAL,
    mode TEXT NOT NULL, trigger TEXT NOT NULL, entities TEXT, dry_run INTEGER NOT NULL,
    ok INTEGER, summary TEXT);
CREATE TABLE IF NOT EXISTS extract_schedule (
    job TEXT PRIMARY KEY, first_seen REAL NOT NULL, last_run REAL);
CREATE TABLE IF NOT EXISTS extract_media (
    name TEXT PRIMARY KEY, source TEXT NOT NULL, sha256 TEXT NOT NULL,
    size INTEGER NOT NULL, at REAL NOT NULL);
"""


def ensure_schema(store: StateStore) -> None:
    store.ensure_schema("extract", SCHEMA)


@dataclass
class Diff:
    added: int = 0
    changed: int = 0
    removed: int = 0
    added_keys: list[str] = field(default_factory=list)  # the first `limit` of each, sorted
    changed_keys: list[str] = field(default_factory=list)
    removed_keys: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, list[int]]] = field(default_factory=list)  # CHIAVE, lines
    first_publish: bool = False

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)


class KeyStore:
    """One connection to the state database, for the bulk key work of one run."""

    def __init__(self, store: StateStore) -> None:
        ensure_schema(store)
        self.conn = sqlite3.connect(store.path, timeout=30.0, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA temp_store=FILE")
        self._n = 0

    def close(self) -> None:
        self.conn.close()

    def snapshot(self, layout: str) -> Snapshot:
        self._n += 1
        return Snapshot(self.conn, layout, f"extract_new_{self._n}")


class Snapshot:
    """The (CHIAVE, hash, line) of one tracciato being built, in a temporary table."""

    def __init__(self, conn: sqlite3.Connection, layout: str, table: str) -> None:
        self.conn = conn
        self.layout = layout
        self.table = table
        self.rows = 0
        conn.execute(f"CREATE TEMP TABLE {table} (chiave TEXT NOT NULL, hash BLOB NOT NULL, "
                     "line INTEGER NOT NULL)")
        self._indexed = False

    def add(self, batch: Iterable[tuple[str, bytes, int]]) -> None:
        self.conn.execute("BEGIN")
        try:
            cur = self.conn.executemany(f"INSERT INTO temp.{self.table} VALUES (?, ?, ?)", batch)
            self.rows += max(cur.rowcount, 0)
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _index(self) -> None:
        if not self._indexed:
            self.conn.execute(f"CREATE INDEX temp.{self.table}_k ON {self.table} (chiave, hash)")
            self._indexed = True

    def diff(self, limit: int) -> Diff:
        self._index()
        t, lay = self.table, self.layout
        c = self.conn
        d = Diff()
        d.first_publish = c.execute("SELECT 1 FROM extract_published WHERE layout = ?",
                                    (lay,)).fetchone() is None
        added = (f"FROM temp.{t} n WHERE NOT EXISTS (SELECT 1 FROM extract_keys k "
                 "WHERE k.layout = ? AND k.chiave = n.chiave)")
        changed = (f"FROM temp.{t} n JOIN extract_keys k ON k.layout = ? "
                   "AND k.chiave = n.chiave WHERE k.hash != n.hash")
        removed = (f"FROM extract_keys k WHERE k.layout = ? AND NOT EXISTS "
                   f"(SELECT 1 FROM temp.{t} n WHERE n.chiave = k.chiave)")
        d.added = c.execute(f"SELECT COUNT(DISTINCT n.chiave) {added}", (lay,)).fetchone()[0]
        d.changed = c.execute(f"SELECT COUNT(DISTINCT n.chiave) {changed}", (lay,)).fetchone()[0]
        d.removed = c.execute(f"SELECT COUNT(*) {removed}", (lay,)).fetchone()[0]
        if limit > 0:
            d.added_keys = [r[0] for r in c.execute(
                f"SELECT DISTINCT n.chiave {added} ORDER BY 1 LIMIT ?", (lay, limit))]
            d.changed_keys = [r[0] for r in c.execute(
                f"SELECT DISTINCT n.chiave {changed} ORDER BY 1 LIMIT ?", (lay, limit))]
            d.removed_keys = [r[0] for r in c.execute(
                f"SELECT k.chiave {removed} ORDER BY 1 LIMIT ?", (lay, limit))]
        d.duplicates = [(k, [int(x) for x in str(lines).split(",")]) for k, lines in c.execute(
            f"SELECT chiave, group_concat(line) FROM temp.{t} GROUP BY chiave "
            "HAVING COUNT(*) > 1 ORDER BY chiave LIMIT 1000")]
        return d

    def commit(self, *, rows: int, sha256: str, mode: str) -> None:
        """The file was handed to the publish pipeline: this snapshot is now the last publish."""
        self._index()
        t, lay = self.table, self.layout
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            c.execute(f"DELETE FROM extract_keys WHERE layout = ? AND NOT EXISTS "
                      f"(SELECT 1 FROM temp.{t} n WHERE n.chiave = extract_keys.chiave)", (lay,))
            c.execute(f"INSERT OR REPLACE INTO extract_keys (layout, chiave, hash) "
                      f"SELECT ?, n.chiave, n.hash FROM temp.{t} n LEFT JOIN extract_keys k "
                      "ON k.layout = ? AND k.chiave = n.chiave "
                      "WHERE k.hash IS NULL OR k.hash != n.hash", (lay, lay))
            c.execute("INSERT OR REPLACE INTO extract_published (layout, at, rows, sha256, mode) "
                      "VALUES (?, ?, ?, ?, ?)", (lay, time.time(), rows, sha256, mode))
        except BaseException:
            c.execute("ROLLBACK")
            raise
        c.execute("COMMIT")

    def drop(self) -> None:
        self.conn.execute(f"DROP TABLE IF EXISTS temp.{self.table}")
