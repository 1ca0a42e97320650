"""The AppManager client against hostile servers on 127.0.0.1: redirects to another host or
from https to http (never followed, the authKey never sent there), answers far bigger than
allowed (refused while streaming, memory bounded), and servers that trickle a byte at a
time (cut off by the request deadline, not kept alive by the per-read timeout)."""

from __future__ import annotations

import gzip
import json
import ssl
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from adapters.appmanager.client import AppManagerClient
from adapters.appmanager.license_manager import discover
from adapters.erp.files_sink import FilesSink
from connector.errors import PermanentError, TransientError
from connector.importing.journal import Journal
from connector.importing.poller import Importer
from connector.state import StateStore
from tests.importing.hostile import HostileServer, Huge, redirect, send, trickle

KEY = "s3cret-hostile-KEY"
ORDERS = "/exportPaginazione/codaOrdini"


def item(qid: int, uid: str) -> str:
    return json.dumps({"id": qid, "unique_id": uid})


@pytest.fixture
def servers() -> Iterator[list[HostileServer]]:
    made: list[HostileServer] = []
    yield made
    for s in made:
        s.close()


def _server(servers: list[HostileServer], tls: ssl.SSLContext | None = None) -> HostileServer:
    s = HostileServer(tls)
    servers.append(s)
    return s


def _client(url: str, **kw: object) -> AppManagerClient:
    return AppManagerClient(url, KEY, attempts=2, retry_initial=0.01, retry_max=0.02,
                            read_timeout=5, **kw)  # type: ignore[arg-type]


def test_a_redirect_to_another_host_is_refused_and_the_key_never_goes_there(servers) -> None:
    home, elsewhere = _server(servers), _server(servers)
    elsewhere.items["orders"] = [(1, item(1, "STOLEN"))]
    for target in (elsewhere.url + ORDERS + f"?authKey={KEY}",  # another port
                   f"http://localhost:{home.port}/v1/progetti/ic.test{ORDERS}"):  # another name
        home.routes[ORDERS] = redirect(target)
        client = _client(home.url)
        with pytest.raises(PermanentError) as err:
            client.fetch("orders", 0, 50)
        client.close()
        msg = str(err.value)
        assert "refused a redirect" in msg and KEY not in msg
        assert f"from {home.url}{ORDERS}?authKey=***" in msg
        assert f"to {target.replace(KEY, '***')}" in msg
    assert elsewhere.requests == []


def test_an_https_to_http_redirect_is_refused(servers, tmp_path: Path) -> None:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    secure, plain = _server(servers, ctx), _server(servers)
    secure.items["orders"] = [(1, item(1, "O1"))]
    client = _client(secure.url, ca_bundle=ca_file)
    assert [r.unique_id for r in client.fetch("orders", 0, 50).items] == ["O1"]  # TLS is fine

    secure.routes[ORDERS] = redirect(plain.url + ORDERS + f"?authKey={KEY}", 301)
    with pytest.raises(PermanentError, match=r"refused a redirect .* from https://127\.0\.0\.1"):
        client.fetch("orders", 0, 50)
    client.close()
    assert plain.requests == []


def test_a_same_origin_redirect_is_followed_a_bounded_number_of_times(servers,
                                                                      tmp_path: Path) -> None:
    s = _server(servers)
    s.items["orders"] = [(1, item(1, "O1")), (2, item(2, "O2"))]
    moved = s.url.replace("ic.test", "ic.moved")
    s.routes["/ic.moved" + ORDERS] = lambda h, q: send(  # the new home answers
        h, 200, b'{"meta":{},"testate":[' + item(1, "O1").encode() + b"]}")
    s.routes["/ic.test" + ORDERS] = redirect(moved + ORDERS + f"?authKey={KEY}&lastID=0", 307)
    store = StateStore(tmp_path / "state")
    importer = Importer(_client(s.url), Journal(store),
                        FilesSink(tmp_path / "erp", "json", company="ACME"), store)
    res = importer.poll_stream("orders")
    assert res.delivered == 1 and [p.name for p in (tmp_path / "erp").glob("orders_*")] == [
        "orders_O1.json"]

    s.routes["/ic.test" + ORDERS] = redirect(s.url + ORDERS)  # to itself, forever
    client = _client(s.url)
    with pytest.raises(PermanentError, match="more than 5 redirects"):
        client.fetch("orders", 0, 50)
    client.close()


@pytest.mark.parametrize("declared", [True, False])
def test_a_huge_answer_is_refused_while_streaming_with_memory_bounded(servers,
                                                                      declared: bool) -> None:
    s = _server(servers)
    huge = Huge(200 * 1024 * 1024, declare_length=declared)
    s.routes[ORDERS] = huge
    client = _client(s.url, max_bytes=4 * 1024 * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(PermanentError, match="more than the 4 MB allowed"):
            client.fetch("orders", 0, 50)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        client.close()
    assert peak < 3 * 4 * 1024 * 1024, peak  # never the whole answer
    assert huge.sent < 100 * 1024 * 1024  # the connector hung up long before the end
    assert len(s.requests) == 1  # not asked again: a bigger answer is no transient fault


def test_a_compressed_answer_is_bounded_by_its_decompressed_size(servers) -> None:
    s = _server(servers)
    bomb = gzip.compress(b'{"meta":{},"testate":[' + b" " * (100 * 1024 * 1024) + b"]}", 9)
    s.routes[ORDERS] = lambda h, q: send(h, 200, bomb, {"Content-Encoding": "gzip"})
    client = _client(s.url, max_bytes=1024 * 1024)
    with pytest.raises(PermanentError, match="passed 1048576 bytes"):
        client.fetch("orders", 0, 50)
    client.close()


@pytest.mark.parametrize("in_headers", [False, True], ids=["body", "headers"])
def test_a_trickling_server_is_cut_off_by_the_request_deadline(servers, in_headers: bool) -> None:
    s = _server(servers)
    # A byte every 0.1 s: the 5 s read timeout never fires. Without a deadline, the call
    # would last as long as the server likes (it stops only when the test ends).
    s.routes[ORDERS] = trickle(s.closing, every=0.1, in_headers=in_headers)
    client = _client(s.url, deadline=1.0)
    with pytest.raises(TransientError, match=r"no complete answer to codaOrdini .* within 1 s"):
        client.fetch("orders", 0, 50)
    client.close()
    assert len(s.requests) == 1  # not retried at once: the next cycle tries again


def test_a_trickling_stream_does_not_hold_back_the_others(servers, tmp_path: Path) -> None:
    s = _server(servers)
    s.routes[ORDERS] = trickle(s.closing, every=0.1)
    s.items["customers"] = [(1, item(1, "C1"))]
    store = StateStore(tmp_path / "state")
    importer = Importer(_client(s.url, deadline=1.0), Journal(store),
                        FilesSink(tmp_path / "erp", "json", company="ACME"), store)
    result = importer.run_cycle(["orders", "customers"])
    assert "within 1 s" in (result.streams["orders"].error or "")
    assert result.streams["customers"].delivered == 1


def test_license_manager_redirect_elsewhere_is_refused(servers) -> None:
    lm, elsewhere = _server(servers), _server(servers)
    lm.routes["/getAMParam"] = redirect(elsewhere.origin + "/getAMParam", 307)
    with pytest.raises(PermanentError, match="refused a redirect for getAMParam"):
        discover(lm.origin, "LM-KEY-123", attempts=1)
    assert elsewhere.requests == []
