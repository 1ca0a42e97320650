"""Pages decoded in the worker process give what decoding here gives: the same records,
the same malformed items with the same errors, the same files byte for byte; a worker
that dies, or a connector killed outright, loses nothing and leaves no process behind."""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from adapters.appmanager import sandbox_demo
from adapters.appmanager.sandbox import SandboxServer
from adapters.erp.files_render import FilesRender, render
from adapters.erp.files_sink import FilesSink
from connector.importing import decoding
from connector.importing.decoding import Decoding, PageDecoder
from connector.importing.journal import Journal
from connector.importing.poller import Importer
from connector.model import InboundRecord, Page, PageMeta, RawPage
from connector.ports import Rendered
from connector.state import StateStore
from tests.importing.conftest import Rig

REPO = Path(__file__).resolve().parents[2]

BAD_ITEMS: list[bytes] = [
    b'{"id": 1001, "unique_id": 2, "sconto_1": "NaN"}',  # non-finite number as text
    b'{"id": 1002, "unique_id": 2, "righe": [{"qta": "\\u004eaN"}]}',
    b'{"id": 1003, "unique_id": true}',  # a unique_id that is neither text nor a number
    b'{"id": 1004, "unique_id": "U", "righe": "nope"}',  # rows that are not a list
    b'{"id": 1005, "unique_id": "U5", "note": "bad \xff here"}',  # not UTF-8
    b'{"id": 1006, "unique_id": "U6", "data_ordine": "yesterday"}',
    b'[1, 2]',  # not an object
    b'{"id": "x", "unique_id": 1}',  # unreadable id
]


NOW = datetime(2026, 11, 20, 9, 30)  # the same items each time a page is built


def _page(n: int = 40, bad: bool = True, seed: int = 5) -> RawPage:
    rng = random.Random(seed)
    raws: list[bytes] = []
    for i in range(n):
        item = sandbox_demo.demo_order(rng, rows=6, new_customer=i % 7 == 0,
                                       offer=i % 5 == 0, now=NOW)
        if i % 9 == 4:  # read with a warning, which comes back from the worker too
            item["righe"][0]["tipo_um"] = "7"
        raws.append(msgspec.json.encode({**item, "id": i + 1,
                                         "unique_id": rng.choice([5000 + i, f" U-{i} "])}))
        if bad and i % 5 == 2:
            raws.append(BAD_ITEMS[(i // 5) % len(BAD_ITEMS)])
    return RawPage("orders", tuple(raws), n, PageMeta(total_count=n))


def _facts(page: Page) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    items = [(r.queue_id, r.unique_id, r.key, r.guid, r.sent_id, r.sent_unique_id,
              r.payload_bytes(), r.warnings) for r in page.items]
    bad = [(m.queue_id, str(m.error), m.error.field, m.item) for m in page.malformed]
    return items, bad


def _decoded_by_a_worker(fmt: str, raw: RawPage
                         ) -> tuple[Page, tuple[Rendered | None, ...]]:
    """`raw` decoded by a worker of its own for a files sink in `fmt`, and what was
    rendered beside each record there."""
    d = PageDecoder(FilesRender(fmt, "ACME"))
    try:
        pending = d.submit(raw)
        assert isinstance(pending, Decoding)
        return pending.result()
    finally:
        d.close()


def _decode(got: RawPage | Decoding) -> Page:
    """The page, decoded here or by the worker."""
    return got.result()[0] if isinstance(got, Decoding) else got.decode()


@pytest.fixture
def decoder() -> Any:
    d = PageDecoder(FilesRender("json", "ACME"))
    yield d
    d.close()


@pytest.mark.parametrize("fmt", ["json", "tracciato"])
def test_a_page_decoded_in_the_worker_is_the_page_decoded_here(fmt: str) -> None:
    raw = _page()
    assert sum(len(r) for r in raw.raws) >= decoding.MIN_BYTES
    here = raw.decode()
    assert len(here.malformed) == 8 and len(here.items) == 40  # the test has both kinds
    assert sum(1 for r in here.items if r.warnings) == 4
    there, rendered = _decoded_by_a_worker(fmt, raw)
    assert _facts(there) == _facts(here)
    assert (there.raw_count, there.meta) == (here.raw_count, here.meta)
    assert len(rendered) == len(there.items)  # beside each record, not inside it
    for a, b, r in zip(there.items, here.items, rendered, strict=True):
        assert a.decoded is None and r is not None  # no model came back
        assert r.step == FilesRender(fmt, "ACME")
        assert r.output == render(b, fmt, "ACME")  # what the sink writes, byte for byte
        assert a.model == b.model  # decoded again here only when asked for


def test_the_sink_writes_what_was_rendered_and_renders_what_was_not(tmp_path: Path,
                                                                   decoder: PageDecoder) -> None:
    pending = decoder.submit(_page(bad=False))
    assert isinstance(pending, Decoding)
    page, rendered = pending.result()
    sink = FilesSink(tmp_path / "erp", "json", company="ACME")
    other = FilesSink(tmp_path / "erp2", "tracciato", company="ACME")  # another render step
    try:
        refs = sink.write_many(page.items, rendered)
        refs2 = other.write_many(page.items, rendered)
    finally:
        sink.close()
        other.close()
    assert all(not isinstance(r, Exception) for r in refs + refs2)
    here = _page(bad=False).decode().items
    for rec in here:
        for name, data in render(rec, "json", "ACME"):
            assert (tmp_path / "erp" / name).read_bytes() == data
        for name, data in render(rec, "tracciato", "ACME"):
            assert (tmp_path / "erp2" / name).read_bytes() == data


def test_a_small_page_is_decoded_here_without_starting_the_worker(decoder: PageDecoder
                                                                  ) -> None:
    small = _page(n=3, bad=False)
    assert decoder.submit(small) is small
    assert decoder._pool is None


def test_a_worker_that_dies_loses_nothing(decoder: PageDecoder) -> None:
    first = decoder.submit(_page(seed=1))
    assert isinstance(first, Decoding)
    first.result()
    pool = decoder._pool
    assert pool is not None
    for pid in list(pool._processes):  # the OOM killer, say
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # submitting again finds the pool broken
        nxt = decoder.submit(_page(seed=2))
        if not isinstance(nxt, Decoding):
            break
        assert _facts(_decode(nxt)) == _facts(_page(seed=2).decode())
        time.sleep(0.05)
    assert _facts(_decode(decoder.submit(_page(seed=3)))) == _facts(_page(seed=3).decode())


def test_a_stuck_worker_is_left_and_the_pages_decoded_here(
        decoder: PageDecoder, monkeypatch: pytest.MonkeyPatch) -> None:
    first = decoder.submit(_page(seed=1))
    assert isinstance(first, Decoding)
    first.result()
    pool = decoder._pool
    assert pool is not None
    (pid,) = pool._processes
    os.kill(pid, signal.SIGSTOP)  # stuck
    try:
        monkeypatch.setattr(decoding, "RESULT_TIMEOUT", 0.5)
        started = time.monotonic()
        page = decoder.submit(_page(seed=2))
        assert isinstance(page, Decoding)
        assert _facts(_decode(page)) == _facts(_page(seed=2).decode())
        assert time.monotonic() - started < 5
        later = _page(seed=3)
        assert decoder.submit(later) is later  # no longer sent to the worker
        decoder.close()  # does not wait for the stuck worker
    finally:
        os.kill(pid, signal.SIGKILL)


def test_a_failure_inside_the_worker_is_decoded_here(decoder: PageDecoder,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    raw = _page(seed=4)
    pending = decoder.submit(raw)
    assert isinstance(pending, Decoding)
    pending.result()

    class Failed:
        def result(self, timeout: float | None = None) -> Any:
            raise RuntimeError("the worker raised")

    broken = Decoding(raw, Failed(), decoder.render, decoder)  # type: ignore[arg-type]
    page, rendered = broken.result()
    assert _facts(page) == _facts(raw.decode()) and rendered == ()


def test_the_worker_ends_when_the_connector_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "hold.py"
    script.write_text(
        "import sys, time\n"
        "from tests.importing.test_decode_worker import _page\n"
        "from adapters.erp.files_render import FilesRender\n"
        "from connector.importing.decoding import PageDecoder\n"
        "if __name__ == '__main__':\n"
        "    d = PageDecoder(FilesRender('json', 'ACME'))\n"
        "    d.submit(_page()).result()\n"
        "    print(*d._pool._processes, flush=True)\n"
        "    time.sleep(120)\n", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script)], cwd=REPO, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert proc.stdout is not None
        worker = int(proc.stdout.readline().split()[0])
        os.kill(worker, 0)  # alive
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(worker):
        time.sleep(0.05)
    assert not _alive(worker), "the worker outlived the connector"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ")[1][0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


def test_an_import_through_the_worker_lands_every_order_once(sandbox: SandboxServer,
                                                             tmp_path: Path) -> None:
    sandbox.enqueue_demo("orders", 120, rows=8)
    bad = sandbox.enqueue("orders", {"unique_id": "BAD", "sconto_1": "NaN"})
    sandbox.enqueue_demo("orders", 30, rows=8)
    rig = Rig(sandbox, tmp_path, page_size=40)
    rig.importer.decoder = PageDecoder(rig.sink.render_step())
    try:
        res = rig.importer.poll_stream("orders")
        assert rig.importer.decoder._pool is not None  # the pages went through the worker
    finally:
        rig.importer.close()
        rig.close()
    assert (res.new, res.delivered, res.malformed) == (150, 150, 1)
    docs = rig.docs("orders")
    assert len(docs) == 150 and len({d["unique_id"] for d in docs}) == 150
    journal = Journal(StateStore(tmp_path / "state"))
    assert {e.state for e in journal.entries("orders")} == {"delivered"}
    (q,) = journal.quarantined("orders")
    assert q.queue_id == bad and q.field == "sconto_1"
    # the same import without the worker writes the same files
    sandbox2 = tmp_path / "again"
    rig2 = Rig(sandbox, sandbox2, page_size=40)
    rig2.importer = Importer(rig2.client, Journal(rig2.store), rig2.sink, rig2.store,
                             page_size=40)
    try:
        rig2.importer.poll_stream("orders")
    finally:
        rig2.close()
    assert {p.name: p.read_bytes() for p in rig.files()} == {
        p.name: p.read_bytes() for p in rig2.files()}


def test_a_record_decoded_elsewhere_decodes_its_model_only_when_asked() -> None:
    raw = _page(n=1, bad=False).raws[0]
    (here,) = _page(n=1, bad=False).decode().items
    rec = InboundRecord.decoded_elsewhere("orders", here.queue_id, here.unique_id, raw,
                                          here.sent_id, here.sent_unique_id, "the-guid")
    assert rec == here and rec.key == here.key and rec.payload_bytes() == raw
    assert rec.guid == "the-guid"  # as the worker computed it: the model is not decoded
    assert rec.decoded is None
    assert rec.model == here.model and rec.decoded is not None


def test_the_worker_serves_the_files_sink_only_and_can_be_switched_off(
        sandbox: SandboxServer, import_cfg: Any, tmp_path: Path) -> None:
    from connector.app import build_importer

    cfg = import_cfg(sandbox)
    store = StateStore(tmp_path / "state")
    files = FilesSink(tmp_path / "erp", "json", company="ACME")

    class SqlLike:  # a sink without a render step decodes each model itself
        name = "sql"

        def write(self, record: InboundRecord) -> Any: ...

        def close(self) -> None: ...

    try:
        with_files = build_importer(cfg, store, sink=files)
        assert with_files.decoder is not None
        assert with_files.decoder.render == files.render_step()
        with_files.close()
        other = build_importer(cfg, store, sink=SqlLike())  # type: ignore[arg-type]
        assert other.decoder is None
        other.close()
        off = dataclasses.replace(cfg, import_=dataclasses.replace(cfg.import_,
                                                                   decode_worker=False))
        switched_off = build_importer(off, store, sink=files)
        assert switched_off.decoder is None
        switched_off.close()
    finally:
        files.close()
        store.close()


def test_the_worker_stops_after_a_cycle_without_big_pages(sandbox: SandboxServer,
                                                         tmp_path: Path) -> None:
    rig = Rig(sandbox, tmp_path, page_size=40)
    decoder = rig.importer.decoder = PageDecoder(rig.sink.render_step())
    try:
        sandbox.enqueue_demo("orders", 60, rows=8)  # a backlog: big pages
        rig.importer.run_cycle(["orders"])
        assert decoder._pool is not None
        (first,) = decoder._pool._processes
        sandbox.enqueue_demo("orders", 60, rows=8)  # still catching up: kept
        rig.importer.run_cycle(["orders"])
        assert decoder._pool is not None and first in decoder._pool._processes
        sandbox.enqueue_demo("orders", 2, rows=2)  # keeping up: one small page
        rig.importer.run_cycle(["orders"])
        assert decoder._pool is None  # a cycle without a big page: the worker is stopped
        assert not _alive(first)
        sandbox.enqueue_demo("orders", 60, rows=8)  # the next backlog starts another
        rig.importer.run_cycle(["orders"])
        assert decoder._pool is not None and first not in decoder._pool._processes
    finally:
        rig.importer.close()
        rig.close()
    assert len(rig.docs("orders")) == 182


def test_a_record_the_sink_cannot_represent_is_refused_as_without_the_worker(
        tmp_path: Path) -> None:
    raw = _page(n=20, bad=False)
    long_note = {**msgspec.json.decode(raw.raws[3]), "note": "x" * 5000}
    raws = (*raw.raws[:3], msgspec.json.encode(long_note), *raw.raws[4:])
    page = RawPage("orders", raws, 20, raw.meta)
    there, rendered = _decoded_by_a_worker("tracciato", page)
    assert rendered[3] is None  # the worker's render failed: left to the sink
    assert all(r is not None for i, r in enumerate(rendered) if i != 3)
    results = []
    for folder, items, beside in (("worker", there.items, rendered),
                                  ("here", page.decode().items, ())):
        sink = FilesSink(tmp_path / folder, "tracciato", company="ACME")
        try:
            results.append([str(r) if isinstance(r, Exception) else r.ref
                            for r in sink.write_many(items, beside)])
        finally:
            sink.close()
    assert results[0] == results[1]
    assert "field FILLER5: text is 5000 characters long" in results[0][3]
    assert all(r.endswith(".DAT") for i, r in enumerate(results[0]) if i != 3)
