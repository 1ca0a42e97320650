"""The contract every ERP sink keeps (connector.ports.ErpSink), run against each of them."""

from __future__ import annotations

import pickle
from pathlib import Path

from connector.errors import PermanentError
from connector.importing.journal import Journal
from connector.ports import BatchSink, ErpRef, Rendered, RenderingSink
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


# The optional abilities (connector.ports): a sink that declares one keeps its promise, and
# the journal gives each record the same outcome whichever abilities the sink has.
def test_a_batch_gives_each_record_the_outcome_of_a_write_of_its_own(
        harness: Harness, tmp_path: Path) -> None:
    """journal.write hands a batch to write_many when the sink writes batches (BatchSink),
    else writes one by one: either way a record lands once, a repeat in the same batch is
    a duplicate, a refused one is dead and written nowhere, a replay changes nothing."""
    journal = Journal(StateStore(tmp_path / "state-db"))
    recs, bad = all_records(), refused_record()
    sink = harness.open()
    try:
        first = journal.write([*recs, bad, recs[0]], sink)
        again = journal.write(recs, sink)
        if isinstance(sink, BatchSink):  # the same answers straight from write_many
            direct = sink.write_many([*recs, bad])
            assert all(isinstance(r, ErpRef) and r.duplicate for r in direct[:-1])
            assert isinstance(direct[-1], PermanentError)
    finally:
        sink.close()
    assert [a.outcome for a in first] == ["delivered"] * len(recs) + ["dead", "duplicate"]
    assert [a.outcome for a in again] == ["duplicate"] * len(recs)
    assert first[-2].error and first[-2].sink == sink.name  # the ERP's reason is kept
    for rec in recs:
        assert harness.count(rec) == 1, rec.key
    assert harness.count(bad) == 0


def test_what_its_render_step_made_elsewhere_is_written_as_rendered(
        harness: Harness) -> None:
    """A sink with a render step (RenderingSink) writes the output its own step made in
    another process as it was made, without rendering again; output of another step is not
    taken for its own. A sink without one offers the decode worker no render step."""
    sink = harness.open()
    try:
        if not isinstance(sink, RenderingSink):
            assert not hasattr(sink, "render_step")
            return
        step = sink.render_step()
        assert pickle.loads(pickle.dumps(step)) == step  # it may run in the worker process
        recs = all_records()
        stand_in = record("customers", unique_id="CF-RENDERED-ELSEWHERE")
        foreign = Rendered(lambda rec: "not ours", "not ours")
        # The first record comes with what the step made of another: taken as rendered.
        rendered = [Rendered(step, step(stand_in)), *(Rendered(step, step(r))
                                                      for r in recs[1:-1]), foreign]
        out = sink.write_many(recs, rendered)
    finally:
        sink.close()
    assert all(isinstance(r, ErpRef) and not r.duplicate for r in out)
    assert harness.count(stand_in) == 1 and harness.count(recs[0]) == 0
    for rec in recs[1:]:  # the last one rendered by the sink itself
        assert harness.count(rec) == 1, rec.key
