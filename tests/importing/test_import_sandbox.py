"""The import path against the sandbox over real HTTP: streams, paging, re-queues, dead
letters, faults, malformed items, ids going backwards."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import pytest

from adapters.appmanager import sandbox_demo
from adapters.appmanager.sandbox import SandboxServer
from adapters.erp.files_sink import FilesSink
from connector import status as core_status
from connector.errors import AuthError, PermanentError
from connector.importing import status as import_status
from connector.model import STREAMS, InboundRecord, RawPage, raw_queue_id
from connector.ports import ErpRef
from tests.importing.conftest import AUTH_KEY, Rig


def test_every_stream_lands_once_with_its_identity(seeded_sandbox: SandboxServer,
                                                   tmp_path: Path) -> None:
    rig = Rig(seeded_sandbox, tmp_path)
    sizes = seeded_sandbox.store.sizes()
    assert set(sizes) == set(STREAMS)

    result = rig.importer.run_cycle()

    assert not result.problems
    for stream in STREAMS:
        docs = rig.docs(stream)
        assert len(docs) == sizes[stream], stream
        assert result.streams[stream].delivered == sizes[stream]
        for d in docs:
            assert d["stream"] == stream
            assert d["key"] == f"{stream}/{d['record']['unique_id']}"
            if d["unique_id"]:
                assert d["record"]["unique_id"] == str(d["unique_id"]).strip()
            else:  # sent without one (customer notes, activities): the content's identity
                assert d["record"]["unique_id"].startswith("fp-") and d["warnings"]
            assert isinstance(d["id"], int) and d["record"]["id"] == d["id"]
        assert rig.journal.mark(stream) == max(d["id"] for d in docs)
    orders = rig.docs("orders")
    assert isinstance(orders[0]["unique_id"], int)  # as AppManager sent it: a number
    kinds = {d["record"]["kind"] for d in orders}
    assert kinds == {"order", "offer"}
    new_customers = [d for d in orders if d["record"]["new_customer"]]
    assert len(new_customers) == 1
    assert new_customers[0]["record"]["cod_clifor"] is None
    assert new_customers[0]["record"]["new_customer"]["ragione_sociale"]
    rows = [r for d in orders for r in d["record"]["rows"]]
    assert any(r["is_descriptive"] for r in rows)
    assert any(r["details"] for r in rows)

    # A second cycle finds nothing new and changes nothing.
    before = {p.name: p.read_bytes() for p in rig.files()}
    again = rig.importer.run_cycle()
    assert sum(r.new for r in again.streams.values()) == 0
    assert {p.name: p.read_bytes() for p in rig.files()} == before
    rig.close()


def test_pages_until_the_queue_is_drained(rig: Rig) -> None:
    ids = rig.sb.enqueue_demo("orders", 83, rows=2)
    rig.importer.page_size = 7

    res = rig.importer.poll_stream("orders")

    assert res.delivered == 83
    assert res.pages >= 12  # 83 / 7 = 11.9: at least 12 pages
    assert len(rig.files("orders_*.json")) == 83
    assert rig.journal.mark("orders") == max(ids)
    assert len({d["unique_id"] for d in rig.docs("orders")}) == 83


def test_a_server_capping_the_page_size_is_still_drained_in_one_cycle(rig: Rig) -> None:
    rig.sb.enqueue_demo("orders", 45, rows=1)
    rig.sb.set_faults(max_limit=4)  # asked for 10 per page, answers 4

    res = rig.importer.poll_stream("orders")

    assert res.delivered == 45 and res.pages >= 12
    assert len(rig.files("orders_*.json")) == 45


def test_requeued_record_lands_once(rig: Rig) -> None:
    ids = rig.sb.enqueue_demo("orders", 5, rows=3)
    rig.sb.enqueue_demo("customers", 2)
    rig.importer.run_cycle()
    first = {p.name: p.read_bytes() for p in rig.files()}

    new_id = rig.sb.requeue("orders", ids[2])  # same unique_id, new queue id
    rig.sb.requeue("customers", rig.sb.store.page("customers", 0, 0, 1)[0][0])
    result = rig.importer.run_cycle()

    assert result.streams["orders"].fetched == 1
    assert result.streams["orders"].new == 0
    assert {p.name: p.read_bytes() for p in rig.files()} == first
    entry = rig.journal.entry(f"orders/{100000 + 3}")
    assert entry is not None and entry.seen == 2 and entry.last_queue_id == new_id
    assert rig.journal.mark("orders") == new_id


def test_same_guid_under_a_new_unique_id_lands_once(rig: Rig) -> None:
    order = sandbox_demo.demo_order(random.Random(5), rows=2)
    rig.sb.enqueue("orders", {**order, "unique_id": 555})
    rig.importer.run_cycle(["orders"])
    rig.sb.enqueue("orders", {**order, "unique_id": 556,
                              "guid_test_ord": order["guid_test_ord"].lower()})

    rig.importer.run_cycle(["orders"])

    assert [d["unique_id"] for d in rig.docs("orders")] == [555]
    dup = rig.journal.entry("orders/556")
    assert dup is not None and dup.state == "duplicate" and dup.duplicate_of == "orders/555"


class PickySink:
    """The files sink behind an ERP that refuses some records until told otherwise."""

    def __init__(self, inner: FilesSink) -> None:
        self.inner = inner
        self.name = inner.name
        self.refuse: set[str] = set()
        self.calls: list[str] = []

    def write(self, record: InboundRecord) -> ErpRef:
        self.calls.append(record.key)
        if record.key in self.refuse:
            raise PermanentError(f"ERP: customer {record.payload.get('cod_clifor')} is blocked")
        return self.inner.write(record)

    def close(self) -> None:
        self.inner.close()


def test_refused_record_is_dead_lettered_retried_and_lands_once(sandbox: SandboxServer,
                                                                tmp_path: Path) -> None:
    sink = PickySink(FilesSink(tmp_path / "erp", "json"))
    rig = Rig(sandbox, tmp_path, sink=sink)
    ids = sandbox.enqueue_demo("orders", 4, rows=2)
    refused = f"orders/{100000 + 2}"
    sink.refuse.add(refused)

    result = rig.importer.run_cycle(["orders"])

    assert result.problems and result.streams["orders"].dead == 1
    assert result.streams["orders"].delivered == 3
    assert rig.journal.mark("orders") == max(ids)  # the mark moved: the record is journaled
    dead = rig.journal.dead_letters()
    assert [d.key for d in dead] == [refused]
    assert "is blocked" in (dead[0].last_error or "")
    facts = import_status.collect(rig_cfg_stub(), rig.store)
    assert facts["streams"]["orders"]["dead"] == 1
    assert facts["dead_letters"][0]["reason"].startswith("ERP: customer")
    text = "\n".join(import_status.render(facts))
    assert refused in text and "is blocked" in text

    # Not due yet: the scheduled retry leaves it alone.
    assert rig.journal.retry_due() == []
    # Due (an hour later): retried, refused again, the backoff grows.
    later = dead[0].next_retry_at + 1  # type: ignore[operator]
    assert [r.key for r in rig.journal.retry_due(now=later)] == [refused]
    rig.importer.redeliver(result.recovered, force=True)
    again = rig.journal.entry(refused)
    assert again is not None and again.state == "dead" and again.attempts == 2
    # backoff doubled: retry_seconds (60) after the first refusal, 120 after the second
    assert (dead[0].next_retry_at or 0) - time.time() <= 60
    assert (again.next_retry_at or 0) - time.time() > 100

    # The ERP accepts it now: `connector retry` (force) lands it, once.
    sink.refuse.clear()
    res = rig.importer.redeliver(type(result.recovered)("retry"), force=True)
    assert res.delivered == 1
    assert rig.journal.dead_letters() == []
    assert len(rig.files("orders_*.json")) == 4
    rig.importer.redeliver(type(result.recovered)("retry"), force=True)
    assert sink.calls.count(refused) == 3
    rig.close()


def rig_cfg_stub() -> Any:
    class Cfg:
        class import_:  # noqa: N801 - mimics Config.import_
            enabled = True
            source = "api"

            class erp:  # noqa: N801
                sink = "files"

    return Cfg()


def test_server_errors_timeouts_resets_and_429_are_survived(rig: Rig) -> None:
    rig.sb.enqueue_demo("orders", 25, rows=2)
    rig.sb.fail_next("500", "503", "reset", "truncate", "timeout", "garbage", "429", "ok",
                     "429")

    res = rig.importer.poll_stream("orders")

    assert res.delivered == 25 and res.error is None
    assert len(rig.files("orders_*.json")) == 25
    served = rig.sb.stats()["faults_served"]
    assert served == ["500", "503", "reset", "truncate", "timeout", "garbage", "429", "ok",
                      "429"]
    # Retry-After (0.2 s) was honoured: the request after each 429 came no sooner.
    times = rig.sb.request_times
    assert times[7] - times[6] >= 0.19
    assert times[9] - times[8] >= 0.19


def test_random_faults_lose_nothing(rig: Rig) -> None:
    rig.sb.enqueue_demo("orders", 40, rows=1)
    rig.sb.enqueue_demo("leads", 15)
    rig.sb.set_faults(error_rate=0.15, reset_rate=0.1, rate_limit_rate=0.1, retry_after=0.01)
    for _ in range(4):  # a stream may give up for a cycle after its attempts; the next resumes
        rig.importer.run_cycle(["orders", "leads"])
    assert len(rig.files("orders_*.json")) == 40
    assert len(rig.files("leads_*.json")) == 15
    assert rig.journal.counts()["orders"] == {"delivered": 40}


def test_malformed_item_is_quarantined_and_the_rest_of_its_page_lands(rig: Rig) -> None:
    rng = random.Random(3)
    rig.sb.enqueue_demo("orders", 3, rows=2)
    bad_date = rig.sb.enqueue("orders", {**sandbox_demo.demo_order(rng, rows=2),
                                         "data_ordine": "31/02/2024 ore 10"})
    bad_row = sandbox_demo.demo_order(rng, rows=2)
    bad_row["righe"][1]["qta"] = "dodici"
    bad_qty = rig.sb.enqueue("orders", bad_row)
    no_uid = rig.sb.enqueue("orders", '{"unique_id":true,"cod_clifor":"C1"}')
    rig.sb.enqueue_demo("orders", 3, rows=2)

    res = rig.importer.poll_stream("orders")

    assert res.delivered == 6 and res.malformed == 3
    assert len(rig.files("orders_*.json")) == 6
    assert rig.journal.mark("orders") == max(bad_date, bad_qty, no_uid) + 3
    q = {item.queue_id: item for item in rig.journal.quarantined()}
    assert set(q) == {bad_date, bad_qty, no_uid}
    assert q[bad_date].field == "data_ordine" and "31/02/2024" in q[bad_date].error
    assert q[bad_qty].field == "righe[1].qta" and "dodici" in q[bad_qty].error
    assert q[no_uid].field == "unique_id"
    assert json.loads(q[bad_qty].payload)["righe"][1]["qta"] == "dodici"
    lines = "\n".join(import_status.render(import_status.collect(rig_cfg_stub(), rig.store)))
    assert "righe[1].qta" in lines and "malformed 3" in lines


def test_ids_going_backwards_stop_that_stream_only(rig: Rig) -> None:
    rig.sb.enqueue_demo("orders", 5, rows=1)
    rig.sb.enqueue_demo("customers", 2)
    rig.importer.run_cycle()
    mark = rig.journal.mark("orders")
    rig.sb.set_faults(ignore_last_id=["orders"])  # AppManager's queue "restored"
    rig.sb.enqueue_demo("orders", 1, rows=1)
    rig.sb.enqueue_demo("customers", 1)
    rig.sb.enqueue_demo("activities", 1)

    result = rig.importer.run_cycle()

    err = result.streams["orders"].error or ""
    assert "ids went backwards" in err and f"lastID was {mark}" in err
    assert result.streams["orders"].new == 0
    assert rig.journal.mark("orders") == mark
    assert result.streams["customers"].delivered == 1  # later streams still ran
    assert result.streams["activities"].delivered == 1
    events = rig.store.last_events("error")
    assert events and events[0]["component"] == "import.orders"
    assert "ids went backwards" in events[0]["message"]
    text = "\n".join(import_status.render(import_status.collect(rig_cfg_stub(), rig.store)))
    assert "STOPPED/FAILING" in text and "ids went backwards" in text

    # Fixed upstream; the next cycle goes on and clears the error.
    rig.sb.set_faults(ignore_last_id=False)
    result = rig.importer.run_cycle()
    assert result.streams["orders"].delivered == 1 and result.streams["orders"].error is None
    assert rig.journal.stream_facts()["orders"].last_error is None


def test_status_core_aggregation_includes_import(rig: Rig, config_factory: Any) -> None:
    rig.sb.enqueue_demo("orders", 2, rows=1)
    rig.importer.run_cycle(["orders"])
    cfg = config_factory()
    facts = core_status.collect(cfg, rig.store)
    assert facts["import"]["streams"]["orders"]["imported"] == 2
    assert "orders" in core_status.render(facts)


def test_license_manager_discovery_from_the_configuration(
        sandbox: SandboxServer, config_factory: Any, monkeypatch: Any) -> None:
    from connector.app import build_client

    monkeypatch.setenv("APPMANAGER_AUTH_KEY", sandbox.auth_key)
    monkeypatch.setenv("LM_KEY_FOR_TEST", sandbox.lm_key)
    cfg = config_factory(**{"import": {"enabled": True, "appmanager": {
        "url": None, "license_manager": {"url": sandbox.lm_url, "key_env": "LM_KEY_FOR_TEST"}}}})
    sandbox.enqueue_demo("leads", 2)
    client = build_client(cfg, retry_initial=0.01)
    assert client.base_url == sandbox.url
    assert len(client.fetch("leads", 0, 10).items) == 2
    client.close()
    monkeypatch.delenv("LM_KEY_FOR_TEST")
    with pytest.raises(AuthError) as exc:
        build_client(cfg)
    assert "LM_KEY_FOR_TEST" in str(exc.value)


class _DecodedPagesOnly:
    """A feed without fetch_raw: pages come decoded, the next is asked for after each."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.asked: list[int] = []

    def fetch(self, stream: str, last_id: int, limit: int, offset: int = 0) -> Any:
        self.asked.append(last_id)
        return self.client.fetch(stream, last_id, limit, offset)

    def close(self) -> None:
        self.client.close()


def test_a_feed_without_read_ahead_pages_the_same(rig: Rig) -> None:
    ids = rig.sb.enqueue_demo("orders", 23, rows=1)
    feed = _DecodedPagesOnly(rig.client)
    rig.importer.feed = feed
    rig.importer.page_size = 5

    res = rig.importer.poll_stream("orders")

    assert res.delivered == 23 and len(rig.files("orders_*.json")) == 23
    assert feed.asked == [0, *sorted(ids)[4::5]]  # each lastID the top of the page before
    assert rig.journal.mark("orders") == max(ids)


def test_a_stop_request_ends_after_the_page_in_hand(rig: Rig) -> None:
    ids = sorted(rig.sb.enqueue_demo("orders", 30, rows=1))
    rig.importer.page_size = 10
    journal_page = rig.journal.record_page

    def record_then_stop(*args: Any, **kwargs: Any) -> Any:
        fresh = journal_page(*args, **kwargs)
        rig.importer.stop.set()  # while page 2 is already being read ahead
        return fresh

    rig.journal.record_page = record_then_stop  # type: ignore[method-assign]
    res = rig.importer.poll_stream("orders")

    assert res.delivered == 10 and rig.journal.mark("orders") == ids[9]
    assert len(rig.files("orders_*.json")) == 10  # the page read ahead is not journaled
    rig.importer.stop.clear()
    rig.journal.record_page = journal_page  # type: ignore[method-assign]
    assert rig.importer.poll_stream("orders").delivered == 20  # read again from the mark


class _ReversedPages:
    """Each page's items in reverse id order: the last item is not the top one."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.asked: list[int] = []

    def fetch(self, stream: str, last_id: int, limit: int, offset: int = 0) -> Any:
        raise AssertionError("fetch_raw is used when a feed has it")

    def fetch_raw(self, stream: str, last_id: int, limit: int, offset: int = 0) -> Any:
        self.asked.append(last_id)
        page = self.client.fetch_raw(stream, last_id, limit, offset)
        raws = page.raws[::-1]
        return RawPage(stream, raws, raw_queue_id(raws[-1]) if raws else None, page.meta)

    def close(self) -> None:
        self.client.close()


def test_a_read_ahead_from_the_wrong_id_is_asked_again(rig: Rig) -> None:
    ids = sorted(rig.sb.enqueue_demo("orders", 12, rows=1))
    feed = _ReversedPages(rig.client)
    rig.importer.feed = feed
    rig.importer.page_size = 5

    res = rig.importer.poll_stream("orders")

    assert res.delivered == 12 and len(rig.files("orders_*.json")) == 12
    assert rig.journal.mark("orders") == ids[-1]
    # the pages were asked for from each page's top id, in order; what was read ahead
    # from a page's last (lowest) id (up to three pages) is dropped and asked again from
    # the top, and nothing is asked from below the mark
    assert [a for a in feed.asked if a in (0, ids[4], ids[9])] == [0, ids[4], ids[9]]
    assert set(feed.asked) <= {0, *ids}



def test_a_record_with_an_unknown_code_is_delivered_with_its_warning_in_status(rig: Rig) -> None:
    """A row with a unit type the reference connector does not know is read as the
    primary unit: the order lands, and the warning is logged, counted, journaled and
    shown by `connector status` (even when the page went through the decode worker)."""
    item = sandbox_demo.demo_order(random.Random(8), rows=2)
    item["righe"][1]["tipo_um"] = "7"
    qid = rig.sb.enqueue("orders", item)
    rig.sb.enqueue_demo("orders", 2, rows=2)

    res = rig.importer.poll_stream("orders")

    assert (res.delivered, res.malformed) == (3, 0)
    (doc,) = [d for d in rig.docs("orders") if d["id"] == qid]
    assert doc["record"]["rows"][1]["uom"] == "primary"
    assert doc["warnings"] == ["righe[1].tipo_um: unknown unit-of-measure type '7', read as 1 "
                               "(the primary unit)"]
    (w,) = rig.journal.warnings()
    assert (w.key, w.queue_id) == (f"orders/{doc['record']['unique_id']}", qid)
    assert rig.journal.counts()["orders"]["warned"] == 1
    section = import_status.collect(rig_cfg_stub(), rig.store)
    assert section["streams"]["orders"]["warned"] == 1
    lines = "\n".join(import_status.render(section))
    assert "with warnings 1" in lines and "unknown unit-of-measure type '7'" in lines


def test_demo_orders_sent_after_a_sandbox_restart_are_new_orders(tmp_path: Path) -> None:
    """`enqueue demo:20` after a restart of the sandbox (same database) must make new
    orders, not repeats of the first start's device guids (the connector would drop them
    as duplicates of the earlier orders)."""
    db = tmp_path / "sandbox.sqlite"
    results = []
    for _ in range(2):
        with SandboxServer(db, auth_key=AUTH_KEY, seed=False) as sb:
            sb.enqueue_demo("orders", 20, rows=2)
            rig = Rig(sb, tmp_path)
            results.append(rig.importer.poll_stream("orders"))
            docs = rig.docs("orders")
            rig.close()
    assert [(r.new, r.delivered, r.duplicates) for r in results] == [(20, 20, 0), (20, 20, 0)]
    assert len(docs) == 40
    assert len({d["record"]["guid_test_ord"] for d in docs}) == 40


def test_the_sandbox_sends_a_record_without_unique_id_as_such(sandbox: SandboxServer,
                                                              tmp_path: Path) -> None:
    """unique_id null or "" is sent so (the library allows it on these streams); only a
    record without the key gets one. Such a record lands once, also when re-queued."""
    rig = Rig(sandbox, tmp_path)
    a = sandbox.enqueue("activities", {**sandbox_demo.demo_activity(random.Random(1)),
                                       "unique_id": None})
    b = sandbox.enqueue("customer_notes", {**sandbox_demo.demo_customer_note(random.Random(2)),
                                           "unique_id": ""})
    sandbox.requeue("activities", a)
    sandbox.requeue("customer_notes", b)
    result = rig.importer.run_cycle(streams=("customer_notes", "activities"))
    for stream in ("customer_notes", "activities"):
        (doc,) = rig.docs(stream)
        assert doc["record"]["unique_id"].startswith("fp-") and doc["warnings"]
        assert doc["key"] == f"{stream}/{doc['record']['unique_id']}"
        assert result.streams[stream].delivered == 1 and result.streams[stream].fetched == 2
        (entry,) = rig.journal.entries(stream)
        assert entry.seen == 2  # the re-queued copy was recognised
    rig.close()
