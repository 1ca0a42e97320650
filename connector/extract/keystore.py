"""What was last published per tracciato, and the per-key diff against it.

Two things are kept for each tracciato handed to the export pipeline:
- in the state store (`extract_last`): the row count and an order-independent
  fingerprint of the rows (the sum of one 63-bit hash per row), so a changed run knows
  in O(1) memory, without any per-row lookup, whether any row was added, changed or
  removed;
- in `<state_dir>/extract/last/`: the published file itself (a hard link to the file
  handed over, so it costs no copy; a copy where links are impossible). It holds the
  hash of every key's row, so the per-key diff (which keys were added, changed,
  removed) is computed from it when someone asks: the dry run.

The diff loads (CHIAVE, row hash) of both files into a throwaway on-disk SQLite
database and joins them, so a million keys never sit in Python memory.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from connector.fsutil import fsync_dir
from connector.state import StateStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS extract_last (
    layout TEXT PRIMARY KEY, at REAL NOT NULL, rows INTEGER NOT NULL,
    fingerprint TEXT NOT NULL, sha256 TEXT NOT NULL, mode TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS extract_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, started REAL NOT NULL, ended REAL,
    mode TEXT NOT NULL, trigger TEXT NOT NULL, entities TEXT, dry_run INTEGER NOT NULL,
    ok INTEGER, summary TEXT);
CREATE TABLE IF NOT EXISTS extract_schedule (
    job TEXT PRIMARY KEY, first_seen REAL NOT NULL, last_run REAL);
CREATE TABLE IF NOT EXISTS extract_media_files (
    name TEXT PRIMARY KEY, source TEXT NOT NULL, signature TEXT NOT NULL,
    sha256 TEXT NOT NULL, size INTEGER NOT NULL, at REAL NOT NULL);
"""


def ensure_schema(store: StateStore) -> None:
    store.ensure_schema("extract", SCHEMA)


def row_hash(line: bytes) -> int:
    """63 bits that change when the line changes (CRC-32 and Adler-32 side by side)."""
    return zlib.crc32(line) | (zlib.adler32(line) & 0x7FFFFFFF) << 32


@dataclass(frozen=True)
class Published:
    layout: str
    at: float
    rows: int
    fingerprint: int
    sha256: str
    mode: str


@dataclass
class Diff:
    added: int = 0
    changed: int = 0
    removed: int = 0
    added_keys: list[str] = field(default_factory=list)  # the first `limit` of each, sorted
    changed_keys: list[str] = field(default_factory=list)
    removed_keys: list[str] = field(default_factory=list)
    first_publish: bool = False

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)


class PublishLog:
    """The last publish of every tracciato: fingerprints in the state store, files on disk."""

    def __init__(self, store: StateStore, state_dir: Path) -> None:
        ensure_schema(store)
        self.store = store
        self.dir = state_dir / "extract" / "last"

    def last(self, layout: str) -> Published | None:
        row = self.store.query_one("SELECT * FROM extract_last WHERE layout = ?", (layout,))
        if row is None:
            return None
        return Published(row["layout"], row["at"], row["rows"], int(row["fingerprint"]),
                         row["sha256"], row["mode"])

    def last_file(self, name: str) -> Path | None:
        path = self.dir / name
        return path if path.is_file() else None

    def keep(self, handed_over: Path, name: str) -> None:
        """Remember the file just handed over (before the watcher can move it)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / f".{name}.tmp"
        tmp.unlink(missing_ok=True)
        try:
            os.link(handed_over, tmp)
        except OSError:  # another volume, or no hard links here: copy
            shutil.copyfile(handed_over, tmp)
        os.replace(tmp, self.dir / name)
        fsync_dir(self.dir)

    def record(self, layout: str, *, rows: int, fingerprint: int, sha256: str,
               mode: str) -> None:
        self.store.execute(
            "INSERT OR REPLACE INTO extract_last (layout, at, rows, fingerprint, sha256, "
            "mode) VALUES (?, ?, ?, ?, ?, ?)",
            (layout, time.time(), rows, str(fingerprint), sha256, mode))


# ---------------------------------------------------------------------------- the diff
def iter_keyed_lines(fp: IO[bytes], keyed: bool) -> Iterator[tuple[str, int, int]]:
    """(key, row hash, line number) of each data line of a tracciato we wrote.

    keyed: CHIAVE is the first column; otherwise the whole line is its own key.
    """
    fp.seek(0)
    first = True
    line_no = 0
    rest = b""
    while True:
        block = fp.read(1 << 20)
        if not block:
            break
        block = rest + block
        cut = block.rfind(b"\n") + 1
        rest = block[cut:]
        for raw in block[:cut].split(b"\r\n")[:-1]:
            line_no += 1
            if first:
                first = False
                continue  # the header
            key = raw[:raw.find(b"|")] if keyed else raw
            yield key.decode("utf-8", "replace"), row_hash(raw), line_no


def diff_files(old: IO[bytes] | None, new: IO[bytes], *, keyed: bool, limit: int) -> Diff:
    """Keys added, changed and removed from `old` (None: never published) to `new`."""
    d = Diff(first_publish=old is None)
    db = sqlite3.connect("", isolation_level=None)  # "": a private temporary on-disk database
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("CREATE TABLE new_k (k TEXT, h INTEGER, line INTEGER)")
        db.execute("CREATE TABLE old_k (k TEXT, h INTEGER, line INTEGER)")
        for table, fp in (("new_k", new), ("old_k", old)):
            if fp is None:
                continue
            db.execute("BEGIN")
            db.executemany(f"INSERT INTO {table} VALUES (?, ?, ?)", iter_keyed_lines(fp, keyed))
            db.execute("COMMIT")
            db.execute(f"CREATE INDEX {table}_k ON {table} (k, h)")
        added = "FROM new_k n WHERE NOT EXISTS (SELECT 1 FROM old_k o WHERE o.k = n.k)"
        changed = ("FROM new_k n WHERE EXISTS (SELECT 1 FROM old_k o WHERE o.k = n.k) AND NOT "
                   "EXISTS (SELECT 1 FROM old_k o WHERE o.k = n.k AND o.h = n.h)")
        removed = "FROM old_k o WHERE NOT EXISTS (SELECT 1 FROM new_k n WHERE n.k = o.k)"
        for attr, clause, col in (("added", added, "n.k"), ("changed", changed, "n.k"),
                                  ("removed", removed, "o.k")):
            count = db.execute(f"SELECT COUNT(DISTINCT {col}) {clause}").fetchone()[0]
            setattr(d, attr, count)
            if count and limit > 0:
                keys = [r[0] for r in db.execute(
                    f"SELECT DISTINCT {col} {clause} ORDER BY 1 LIMIT ?", (limit,))]
                setattr(d, f"{attr}_keys", keys)
    finally:
        db.close()
    return d
