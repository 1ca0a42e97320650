"""The contract every ERP sink keeps (connector.ports.ErpSink), run against each of them."""

from __future__ import annotations

from pathlib import Path

from connector.importing.journal import Journal
from connector.ports import ErpRef
from connector.state import StateStore
from tests.sinks.conftest import Harness
from tests.sinks.records import all_records, record, refused_record


def test_each_stream_lands_once_and_a_replay_is_a_no_op(harness: Harness) -> None:
    sink = harness.open()
    try:
        for rec in all_records():
            first = sink.write(rec)
            assert isinstance(first, ErpRef) and not first.duplicate, rec.key
            again = sink.write(rec)
            assert again.duplicate, rec.key
            assert harness.count(rec) == 1, rec.key
    finally:
        sink.close()
    # After a restart (a new sink on the same ERP), still a no-op.
    sink = harness.open()
    try:
        for rec in all_records():
            assert sink.write(rec).duplicate, rec.key
            assert harness.count(rec) == 1, rec.key
    finally:
        sink.close()


def test_a_refused_record_lands_in_the_dead_letter(harness: Harness, tmp_path: Path) -> None:
    journal = Journal(StateStore(tmp_path / "state-db"), retry_seconds=60)
    good, bad = record("customer_notes"), refused_record()
    sink = harness.open()
    try:
        assert journal.record_page("customers", [bad, good], source="api") == [bad, good]
        assert journal.deliver_many([bad, good], sink) == ["dead", "delivered"]
    finally:
        sink.close()
    dead = journal.dead_letters()
    assert [d.key for d in dead] == [bad.key]
    assert dead[0].state == "dead" and dead[0].last_error  # the ERP's reason is kept
    assert harness.count(bad) == 0  # nothing half-written
    assert harness.count(good) == 1
    # Retrying the dead letter later is refused again, still not written.
    sink = harness.open()
    try:
        assert journal.deliver_many(journal.retry_due(force=True), sink) == ["dead"]
    finally:
        sink.close()
    assert harness.count(bad) == 0


def test_a_crash_between_the_erp_write_and_the_journal_leaves_no_duplicate(
        harness: Harness, tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state-db")
    journal = Journal(store)
    order = record("orders")
    assert journal.record(order)
    sink = harness.open()
    sink.write(order)  # the ERP got it... and the process dies before the journal knows
    sink.close()
    store.close()

    journal = Journal(StateStore(tmp_path / "state-db"))  # restart
    pending = journal.pending()
    assert [r.key for r in pending] == [order.key]
    sink = harness.open()
    try:
        assert journal.deliver_many(pending, sink) == ["duplicate"]
    finally:
        sink.close()
    entry = journal.entry(order.key)
    assert entry is not None and entry.state == "delivered"
    assert harness.count(order) == 1
