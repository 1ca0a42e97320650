"""Poison records from a hostile AppManager (a real HTTP server on 127.0.0.1): an item
nested 3,000 levels deep, a queue id of 2**63, envelopes that are not what they claim.
Each bad item is quarantined alone; the good records of its page and every later stream
are imported; the import loop never crashes and /healthz stays ok."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.appmanager.client import AppManagerClient
from adapters.erp.files_sink import FilesSink
from connector.app import Daemon
from connector.app import build_import as import_loops
from connector.importing.decoding import MIN_BYTES, PageDecoder
from connector.importing.journal import Journal
from connector.importing.poller import Importer
from connector.model import InboundRecord
from connector.state import StateStore
from service.status_http import LiveView
from tests.importing.hostile import HostileServer, wait_until

KEY = "hostile-key-1"
DEEP = "[" * 3000 + "]" * 3000


def item(qid: int, uid: str, **extra: Any) -> str:
    return json.dumps({"id": qid, "unique_id": uid, **extra})


def deep_item(qid: int, uid: str, nested: str) -> str:
    return f'{{"id":{qid},"unique_id":"{uid}","rows":{nested}}}'


@pytest.fixture
def server() -> Iterator[HostileServer]:
    s = HostileServer()
    yield s
    s.close()


def _rig(server: HostileServer, root: Path, decoder: PageDecoder | None = None
         ) -> tuple[Importer, Journal, Path]:
    store = StateStore(root / "state")
    journal = Journal(store)
    folder = root / "erp"
    client = AppManagerClient(server.url, KEY, attempts=1, read_timeout=5)
    return (Importer(client, journal, FilesSink(folder, "json", company="ACME"), store,
                     page_size=50, decoder=decoder), journal, folder)


def _landed(folder: Path, stream: str) -> list[str]:
    return sorted(json.loads(p.read_text(encoding="utf-8"))["unique_id"]
                  for p in folder.glob(f"{stream}_*.json"))


def _poison(server: HostileServer) -> None:
    server.items["orders"] = [(1, item(1, "O1")), (2, deep_item(2, "O2", DEEP)),
                              (3, item(3, "O3"))]
    server.items["customers"] = [(1, item(1, "C1")), (2**63, item(2**63, "C2")),
                                 (3, item(3, "C3"))]
    # Envelopes that are not what they claim: numbers out of any queue's range, and a
    # top-level array nested 3,000 deep.
    server.bodies["leads"] = b'{"meta":{"maxID":1e30},"leads":[' + item(1, "L1").encode() + b"]}"
    server.bodies["lead_notes"] = DEEP.encode()
    server.items["activities"] = [(1, item(1, "A1")), (2, item(2, "A2"))]


def test_poison_items_are_quarantined_alone_and_later_streams_go_on(server: HostileServer,
                                                                    tmp_path: Path) -> None:
    _poison(server)
    importer, journal, folder = _rig(server, tmp_path)

    result = importer.run_cycle()

    assert _landed(folder, "orders") == ["O1", "O3"]
    assert _landed(folder, "customers") == ["C1", "C3"]
    assert _landed(folder, "activities") == ["A1", "A2"]  # after the refused streams
    bad = {q.stream: q for q in journal.quarantined()}
    assert "nested more than 32 levels deep" in bad["orders"].error
    assert bad["orders"].queue_id == 2  # read without decoding the depths
    assert "9223372036854775808 is out of range" in bad["customers"].error
    assert bad["customers"].queue_id is None
    assert "maxID 1000000000000000019884624838656, out of range" in result.streams["leads"].error
    assert "nested more than 34 levels deep outside its items" in result.streams["lead_notes"].error
    assert result.streams["orders"].error is None and result.streams["orders"].mark == 3
    facts = journal.stream_facts()
    assert facts["leads"].last_error and facts["activities"].last_error is None

    # The id-less item comes back at every poll (its id is above any mark): kept once.
    importer.run_cycle()
    assert len([q for q in journal.quarantined() if q.stream == "customers"]) == 1
    assert _landed(folder, "customers") == ["C1", "C3"]


def test_a_poison_item_in_a_big_page_does_not_cost_the_decode_worker(server: HostileServer,
                                                                     tmp_path: Path) -> None:
    filler = "x" * 4000
    good = [(i, item(i, f"O{i}", note=filler)) for i in range(1, 40) if i != 7]
    server.items["orders"] = [*good, (7, deep_item(7, "O7", DEEP)),
                              (40, deep_item(40, "O40", "[" * 40 + "]" * 40))]
    assert sum(len(t) for _, t in server.items["orders"]) > MIN_BYTES  # goes to the worker
    decoder = PageDecoder(FilesSink(tmp_path / "erp", "json", company="ACME").render_step())
    importer, journal, folder = _rig(server, tmp_path, decoder)
    try:
        res = importer.poll_stream("orders")
        assert decoder._pool is not None and not decoder._broken  # the worker took the page
    finally:
        importer.close()
    assert res.malformed == 2 and res.error is None and res.mark == 40
    assert _landed(folder, "orders") == sorted(f"O{i}" for i in range(1, 40) if i != 7)
    errors = sorted(q.error for q in journal.quarantined())
    assert "(id 40): item: nested more than 32 levels deep" in errors[0]
    assert "(id 7): item: nested more than 32 levels deep" in errors[1]


def test_a_record_the_journal_cannot_store_is_quarantined_alone(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state")
    journal = Journal(store)
    raw = b'{"id":5,"unique_id":"X5"}'
    # Decoded elsewhere with an id no guard saw: SQLite cannot hold it.
    beyond = InboundRecord.decoded_elsewhere("orders", 2**64, "X5", raw, 5, "X5", None)
    fine = InboundRecord.decoded_elsewhere("orders", 6, "X6", raw.replace(b"5", b"6"), 6, "X6",
                                           None)

    fresh = journal.record_page("orders", [beyond, fine], mark=6)

    assert [r.key for r in fresh] == ["orders/X6"]
    (q,) = journal.quarantined()
    assert "cannot be stored (OverflowError" in q.error and json.loads(q.payload)["id"] == 5
    assert journal.mark("orders") == 6


def test_the_daemon_import_loop_stays_up_and_healthy(server: HostileServer, tmp_path: Path,
                                                     config_factory: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _poison(server)
    monkeypatch.setenv("APPMANAGER_AUTH_KEY", KEY)
    cfg = config_factory(**{"import": {
        "enabled": True, "appmanager": {"url": server.url, "poll_seconds": 0.2, "attempts": 1},
        "erp": {"sink": "files", "path": str(tmp_path / "erp"), "format": "json"}}})
    store = StateStore(cfg.state_dir)
    daemon = Daemon(cfg, store, loops=import_loops(cfg, store))
    stop = threading.Event()
    daemon.start(stop)
    try:
        # Two cycles at least: the poison items came back and nothing changed.
        wait_until(lambda: sum("codaAttivita" in r for r in server.requests) >= 4,
                   what="two import cycles")
        health = LiveView(daemon).health()
        assert health.ok, health.describe()
        assert daemon.heartbeats["import"].last_error is None
        assert _landed(tmp_path / "erp", "activities") == ["A1", "A2"]
        assert _landed(tmp_path / "erp", "orders") == ["O1", "O3"]
    finally:
        stop.set()
        assert daemon.join(10)
