"""Fuzzing harness: an AppManager answer, through the code the poller runs on it.

The input's first byte picks the stream (its envelope key: testate, clienti, note, leads,
attivita); the rest is the answer's body. What must hold for ANY input:

- the envelope (adapters.appmanager.client.raw_page) is read or refused with a
  ConnectorError, nothing else;
- every item decodes to a record or to a Malformed entry (decode_item never raises), in
  this process and through the decode worker's function (decode_page never raises);
- a record is storable as the journal stores it: queue id within SQLite's range, key and
  ids UTF-8 text, payload bytes; a Malformed entry's item can be kept in quarantine;
- the files sink renders a record (JSON and the legacy tracciato form, what the decode
  worker prepares) or refuses it with a ConnectorError (a dead letter), in bounded time;
- the last item's id read ahead (RawPage.last_id) is storable or None.

Run by `make fuzz` (tests/fuzz/run.py: atheris, or Hypothesis without it); its corpus is
tests/fuzz/corpus/fuzz_page/, which `make test` replays (tests/fuzz/test_harnesses.py).
"""

from __future__ import annotations

import json
import sqlite3

from adapters.appmanager.client import raw_page
from adapters.erp.files_render import render
from connector.errors import ConnectorError
from connector.importing.decode_worker import decode_page
from connector.model import STREAMS, InboundRecord, Malformed, decode_item, jsonguard

_DB = sqlite3.connect(":memory:")


def test_one_input(data: bytes) -> None:
    if not data:
        return
    stream = STREAMS[data[0] % len(STREAMS)]
    body = data[1:]
    try:
        page = raw_page(stream, body, "fuzz")
    except ConnectorError:
        return  # refused with a clear error: what a hostile envelope gets
    assert page.last_id is None or jsonguard.storable_id(page.last_id), page.last_id
    worker = decode_page(stream, page.raws, None)
    assert len(worker) == len(page.raws)
    for i, raw in enumerate(page.raws):
        got = decode_item(stream, i, raw)
        if isinstance(got, InboundRecord):
            assert jsonguard.storable_id(got.queue_id), got.queue_id
            _DB.execute("SELECT ?, ?, ?, ?, ?", (got.key, got.unique_id, got.guid, got.queue_id,
                                                  got.payload_bytes()))
            assert worker[i] is not None and worker[i][0] == got.queue_id  # type: ignore[index]
            for fmt in ("json", "tracciato"):
                try:
                    render(got, fmt, "ACME")
                except ConnectorError:
                    pass  # refused: a dead letter with its reason
        else:
            assert isinstance(got, Malformed)
            assert got.queue_id is None or jsonguard.storable_id(got.queue_id)
            json.dumps(got.item, ensure_ascii=False, default=str)  # what quarantine keeps
            str(got.error)


if __name__ == "__main__":
    from tests.fuzz.run import main

    raise SystemExit(main(["fuzz_page"]))
