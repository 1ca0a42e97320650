"""One-shot import work handed to the running daemon, through the state store.

`connector import --once` and `connector retry` beside a running daemon used to do the
daemon's work a second time, at the same moment: the ERP's import program ran twice for
most records, concurrently. Now a one-shot command takes the instance lock; when the
daemon holds it, the command asks the daemon instead (`ask`), and waits (`wait`) for the
daemon's import loop, which looks for requests between its cycles (`take`), to do the
work and leave its result (`finish`). One process writes to the ERP, whoever asked.

The table is the state store's, so asking needs nothing but the store both already use
(no port, no credentials). A request nobody takes (the daemon stopped meanwhile) is
withdrawn by the waiting command; one older than STALE_SECONDS is dropped by the daemon.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connector.errors import ConnectorError
from connector.state import StateStore

STALE_SECONDS = 3600.0
_DDL = """
CREATE TABLE IF NOT EXISTS daemon_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,              -- import | retry
    args TEXT NOT NULL,              -- JSON
    asked_by INTEGER,                -- the asking command's pid
    asked_at REAL NOT NULL,
    taken_at REAL,
    done_at REAL,
    result TEXT,                     -- JSON
    error TEXT
);
"""


@dataclass(frozen=True)
class Request:
    id: int
    kind: str
    args: dict[str, Any]
    asked_at: float
    taken_at: float | None
    done_at: float | None
    result: dict[str, Any] | None
    error: str | None


def _request(row: Any) -> Request:
    return Request(row["id"], row["kind"], json.loads(row["args"]), row["asked_at"],
                   row["taken_at"], row["done_at"],
                   json.loads(row["result"]) if row["result"] else None, row["error"])


class Handover:
    def __init__(self, store: StateStore) -> None:
        self.store = store
        store.ensure_schema("handover", _DDL)

    def ask(self, kind: str, args: dict[str, Any]) -> int:
        cur = self.store.execute("INSERT INTO daemon_requests(kind, args, asked_by, asked_at) "
                                 "VALUES (?, ?, ?, ?)",
                                 (kind, json.dumps(args), os.getpid(), time.time()))
        return int(cur.lastrowid or 0)

    def take(self) -> Request | None:
        """(In the daemon.) The oldest request not taken yet, now taken; None when there is
        none (a read, no write, in the usual case)."""
        if self.store.query_one("SELECT id FROM daemon_requests WHERE taken_at IS NULL "
                                "LIMIT 1") is None:
            return None
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM daemon_requests WHERE taken_at IS NULL AND asked_at < ?",
                         (time.time() - STALE_SECONDS,))
            row = conn.execute("SELECT * FROM daemon_requests WHERE taken_at IS NULL "
                               "ORDER BY id LIMIT 1").fetchone()
            if row is None:
                return None
            conn.execute("UPDATE daemon_requests SET taken_at = ? WHERE id = ?",
                         (time.time(), row["id"]))
        return _request(row)

    def finish(self, request_id: int, result: dict[str, Any] | None = None,
               error: str | None = None) -> None:
        self.store.execute("UPDATE daemon_requests SET done_at = ?, result = ?, error = ? "
                           "WHERE id = ?", (time.time(), json.dumps(result)
                                            if result is not None else None, error, request_id))

    def wait(self, request_id: int, *, timeout: float, daemon_alive: Callable[[], bool],
             stop: threading.Event | None = None, poll: float = 0.2) -> Request:
        """(In the command.) The request once the daemon has done it. ConnectorError when
        the daemon stopped before taking it (withdrawn), or took longer than `timeout`."""
        stop = stop or threading.Event()
        end = time.monotonic() + timeout
        store = self.store
        while True:
            row = store.query_one("SELECT * FROM daemon_requests WHERE id = ?", (request_id,))
            if row is None:
                raise ConnectorError("the request to the daemon was dropped (it was older "
                                     f"than {STALE_SECONDS:g} s)")
            req = _request(row)
            if req.done_at is not None:
                store.execute("DELETE FROM daemon_requests WHERE id = ?", (request_id,))
                return req
            if req.taken_at is None and not daemon_alive():
                store.execute("DELETE FROM daemon_requests WHERE id = ? AND taken_at IS NULL",
                              (request_id,))
                raise ConnectorError("the daemon stopped before it took the request; run the "
                                     "command again")
            if stop.is_set():
                raise ConnectorError("interrupted while waiting; the daemon does what was "
                                     "asked anyway (`connector status` shows the outcome)")
            if time.monotonic() > end:
                what = "finish" if req.taken_at is not None else "take"
                raise ConnectorError(f"the running daemon did not {what} the request within "
                                     f"{timeout:g} s; it goes on by itself (`connector status` "
                                     "shows the outcome; is its import loop up?)")
            stop.wait(poll)
