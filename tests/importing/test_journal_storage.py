"""How the journal stores records: payloads in their own table (an older journal is moved
over), one lookup per page, and one writer thread while the poller pages."""

from __future__ import annotations

import random
import sqlite3
import threading
from pathlib import Path

from adapters.appmanager import sandbox_demo
from connector.importing.journal import Journal
from connector.model import InboundRecord, decode_record
from connector.state import StateStore
from tests.importing.conftest import Rig

# The import_journal table as the first release created it: the payload in the row.
_OLD_JOURNAL = """
CREATE TABLE import_journal (
    key TEXT PRIMARY KEY, stream TEXT NOT NULL, unique_id TEXT NOT NULL, guid TEXT,
    queue_id INTEGER, last_queue_id INTEGER, source TEXT NOT NULL DEFAULT 'api',
    payload TEXT NOT NULL, state TEXT NOT NULL, duplicate_of TEXT,
    seen INTEGER NOT NULL DEFAULT 1, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
    next_retry_at REAL, sink TEXT, erp_ref TEXT, received_at REAL NOT NULL,
    delivered_at REAL, updated_at REAL NOT NULL);
"""


def _orders(n: int, seed: int = 3) -> list[InboundRecord]:
    rng = random.Random(seed)
    items = [sandbox_demo.demo_order(rng, rows=2) for _ in range(n)]
    for i, item in enumerate(items, start=1):
        item["id"] = i
        item["unique_id"] = 500 + i
    return [decode_record("orders", item) for item in items]


def test_a_journal_with_payloads_in_its_rows_is_moved_over(tmp_path: Path) -> None:
    old = _orders(3)
    store = StateStore(tmp_path)
    conn = sqlite3.connect(store.path)
    conn.executescript(_OLD_JOURNAL)
    conn.executemany(
        "INSERT INTO import_journal(key, stream, unique_id, queue_id, payload, state, "
        "received_at, updated_at) VALUES (?, 'orders', ?, ?, ?, ?, 1, 1)",
        [(r.key, r.unique_id, r.queue_id, r.payload_json(), state)
         for r, state in zip(old, ("pending", "delivered", "pending"), strict=True)])
    conn.commit()
    conn.close()

    journal = Journal(store)

    columns = {r["name"] for r in store.query("PRAGMA table_info(import_journal)")}
    assert "payload" not in columns
    indexes = {r["name"] for r in store.query("PRAGMA index_list(import_journal)")}
    assert {"import_journal_state", "import_journal_guid"} <= indexes
    assert journal.entry(old[1].key).state == "delivered"  # type: ignore[union-attr]
    pending = journal.pending()
    assert [r.key for r in pending] == [old[0].key, old[2].key]
    assert [r.model for r in pending] == [old[0].model, old[2].model]
    assert pending[0].payload == old[0].payload
    # Opening it again changes nothing; new records go on as before.
    Journal(store)
    assert journal.record_page("orders", _orders(5)[3:], mark=5) != []
    assert store.query_one("SELECT COUNT(*) AS n FROM import_payload")["n"] == 5


def test_a_page_with_repeats_and_twins_is_journaled_as_record_by_record(
        tmp_path: Path) -> None:
    journal = Journal(StateStore(tmp_path))
    a, b, c = _orders(3)
    assert journal.record_page("orders", [a], mark=a.queue_id) == [a]
    # b twice in one page, a again, and c re-sent under another unique_id (same guid).
    twin = decode_record("orders", {**c.payload, "id": 9, "unique_id": "other-uid"})
    fresh = journal.record_page("orders", [b, a, b, c, twin], mark=9)

    assert fresh == [b, c]
    assert journal.entry(a.key).seen == 2  # type: ignore[union-attr]
    assert journal.entry(b.key).seen == 2  # type: ignore[union-attr]
    dup = journal.entry(twin.key)
    assert dup is not None and dup.state == "duplicate" and dup.duplicate_of == c.key
    assert journal.mark("orders") == 9
    # the payload is kept as the bytes received (decode_record's records: as re-encoded)
    row = journal.store.query_one("SELECT payload FROM import_payload WHERE key = ?", (b.key,))
    assert row is not None and row["payload"] == b.payload_bytes()
    assert [r.model for r in journal.pending()] == [a.model, b.model, c.model]


def test_only_the_polling_thread_writes_the_journal(rig: Rig) -> None:
    """The ERP writer thread writes files only; the outcomes go into the journal with the
    poller's next page, so the two threads never wait for each other's write lock."""
    rig.sb.enqueue_demo("orders", 60, rows=1)
    writers: set[int] = set()
    transaction = rig.store.transaction

    def watched():  # type: ignore[no-untyped-def]
        writers.add(threading.get_ident())
        return transaction()

    rig.store.transaction = watched  # type: ignore[method-assign]
    res = rig.importer.poll_stream("orders")

    assert res.delivered == 60 and res.pages >= 6
    assert writers == {threading.get_ident()}
    states = rig.journal.counts()["orders"]
    assert states == {"delivered": 60}
    assert len(rig.files("orders_*.json")) == 60
