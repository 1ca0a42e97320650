"""What a hostile AppManager costs the connector: memory for a huge answer, time for a
trickling one, and the price of the depth guard on pages of the usual shape.

    python -m bench.import_hostile

1. A 200 MB answer, against the default bound (64 MB): peak RSS of a fresh process that
   asks for it, as a ratio to the same process asking for an empty page (the baseline).
   The same for a valid 60 MB page (under the bound, decoded).
2. A server trickling a byte every 0.5 s: how long the request lasts (the deadline is set
   to 3 s here; the read timeout, 30 s, never fires).
3. raw_page + decode_item on a page of 50 orders of 10 rows: with one item nested 3,000
   levels deep among them (defused) over without (the usual path), median of rounds.
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_CHILD = """
import logging, resource, sys
import structlog
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
from adapters.appmanager.client import AppManagerClient
from connector.errors import ConnectorError
c = AppManagerClient(sys.argv[1], "k", attempts=1)
try:
    page = c.fetch("orders", 0, 50)
    print("ok", len(page.items), end=" ")
except ConnectorError as e:
    print("refused:", str(e)[:60], end=" ")
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def _peak(url: str) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", _CHILD, url], capture_output=True, text=True,
                         cwd=REPO, timeout=600).stdout.strip()
    what, _, mb = out.rpartition(" ")
    return what, int(mb)


def main() -> None:
    sys.path.insert(0, str(REPO))
    from adapters.appmanager import sandbox_demo
    from adapters.appmanager.client import AppManagerClient, raw_page
    from connector.model import decode_item
    from tests.importing.hostile import HostileServer, Huge, send, trickle

    server = HostileServer()
    try:
        server.routes["/empty/exportPaginazione/codaOrdini"] = lambda h, q: send(
            h, 200, b'{"meta":{},"testate":[]}')
        server.routes["/huge/exportPaginazione/codaOrdini"] = Huge(200 * 1024 * 1024)
        item = json.dumps(sandbox_demo.demo_order(random.Random(1), rows=10))
        n = 60 * 1024 * 1024 // len(item)
        big = ('{"meta":{},"testate":[' + ",".join(
            item.replace("{", f'{{"id":{i},"unique_id":"U{i}",', 1) for i in range(1, n + 1))
            + "]}").encode()
        server.routes["/big/exportPaginazione/codaOrdini"] = lambda h, q: send(h, 200, big)
        _, baseline = _peak(server.origin + "/empty")
        print(f"baseline (an empty page): peak RSS {baseline} MB")
        for name, label in (("huge", "200 MB answer, 64 MB bound"),
                            ("big", f"{len(big) >> 20} MB valid page ({n} orders)")):
            what, mb = _peak(server.origin + f"/{name}")
            print(f"{label}: {what}; peak RSS {mb} MB, x{mb / baseline:.2f} the baseline")

        server.routes["/slow/exportPaginazione/codaOrdini"] = trickle(server.closing, every=0.5)
        client = AppManagerClient(server.origin + "/slow", "k", attempts=1, deadline=3.0)
        t = time.monotonic()
        try:
            client.fetch("orders", 0, 50)
        except Exception as exc:  # noqa: BLE001 - the figure is how long it took
            print(f"trickling server, deadline 3 s: cut off after {time.monotonic() - t:.2f} s "
                  f"({str(exc)[:50]}...)")
        client.close()
    finally:
        server.close()

    items = [item.replace("{", f'{{"id":{i},"unique_id":"U{i}",', 1) for i in range(1, 51)]
    plain = ('{"meta":{},"testate":[' + ",".join(items) + "]}").encode()
    deep = plain.replace(b'"testate":[', b'"testate":[{"id":99,"x":' + b"[" * 3000 +
                         b"]" * 3000 + b"},", 1)

    def cost(body: bytes) -> float:
        t = time.perf_counter()
        page = raw_page("orders", body)
        for i, raw in enumerate(page.raws):
            decode_item("orders", i, raw)
        return time.perf_counter() - t

    rounds = [(cost(plain), cost(deep)) for _ in range(30)]
    p, d = statistics.median(r[0] for r in rounds), statistics.median(r[1] for r in rounds)
    print(f"page of 50 orders x 10 rows ({len(plain) >> 10} KB): {p * 1000:.1f} ms; with a "
          f"3,000-deep item among them {d * 1000:.1f} ms: x{d / p:.2f}")


if __name__ == "__main__":
    main()
