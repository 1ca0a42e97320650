"""The local status endpoint (status.http, off by default): /healthz, /status, /metrics.

Standard library only (ThreadingHTTPServer). It serves whatever daemon is current,
through `view()`, so a reload that replaces the Daemon needs no new server. Bind it
to 127.0.0.1: it has no authentication and is meant for a local monitor.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import structlog
from prometheus_client.core import GaugeMetricFamily

from connector import metrics
from connector import status as status_facts
from connector.app import Daemon
from service.health import Health, check

log = structlog.get_logger(__name__)


class LiveView:
    """The facts of the running daemon, as the endpoint and the runner read them."""

    def __init__(self, daemon: Daemon, started_at: float | None = None) -> None:
        self.daemon = daemon
        self.started_at = started_at or time.time()

    @property
    def timeout(self) -> float:
        return self.daemon.cfg.status.heartbeat_timeout_seconds

    def health(self) -> Health:
        return check(self.daemon, self.timeout)

    def status(self) -> dict[str, Any]:
        facts = status_facts.collect(self.daemon.cfg, self.daemon.store)
        h = self.health()
        facts["healthy"] = h.ok
        facts["summary"] = self.daemon.summary()
        facts["started_at"] = self.started_at
        facts["loops"] = {name: lh.as_dict() for name, lh in h.loops.items()}
        return facts

    def metrics(self) -> bytes:
        """The connector's metrics, then the daemon's loops as this request finds them."""
        h = self.health()
        up = GaugeMetricFamily("connector_loop_up", "1 while the loop runs and beats in time",
                               labels=["loop"])
        age = GaugeMetricFamily("connector_loop_heartbeat_age_seconds",
                                "Seconds since the loop's last beat", labels=["loop"])
        for name, lh in sorted(h.loops.items()):
            up.add_metric([name], 1 if lh.ok else 0)
            if lh.age_seconds >= 0:
                age.add_metric([name], round(lh.age_seconds, 3))
        healthy = GaugeMetricFamily("connector_healthy", "1 while every loop is healthy",
                                    value=1 if h.ok else 0)
        started = GaugeMetricFamily("connector_start_time_seconds",
                                    "Unix time the daemon started", value=self.started_at)
        return metrics.render([up, age, healthy, started])


def parse_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


class StatusServer:
    def __init__(self, address: str, view: Callable[[], LiveView]) -> None:
        self.address = address
        self._view = view
        host, port = parse_address(address)
        self._httpd = ThreadingHTTPServer((host, port), _handler_for(view))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="status-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def start(self) -> None:
        self._thread.start()
        log.info("status endpoint listening", address=self.address, port=self.port)

    def stop(self) -> None:
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(5.0)
        self._httpd.server_close()

    def close(self) -> None:
        """Release the port of a server that was bound but never started."""
        self.stop()


def _handler_for(view: Callable[[], LiveView]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "icommerce-connector"

        def do_GET(self) -> None:  # the stdlib's name
            path = self.path.split("?", 1)[0].rstrip("/") or "/"
            live = view()
            try:
                if path == "/healthz":
                    h = live.health()
                    body = {"status": "ok" if h.ok else "failing",
                            "bad": {lh.name: lh.reason for lh in h.bad},
                            "loops": {n: lh.ok for n, lh in h.loops.items()}}
                    self._send(200 if h.ok else 503, "application/json", json.dumps(body))
                elif path == "/status":
                    self._send(200, "application/json", json.dumps(live.status(), default=str))
                elif path == "/metrics":
                    self._send(200, metrics.CONTENT_TYPE, live.metrics())
                else:
                    self._send(404, "application/json",
                               json.dumps({"error": "not found",
                                           "endpoints": ["/healthz", "/status", "/metrics"]}))
            except Exception as exc:  # noqa: BLE001 - a status request must not hurt the daemon
                log.warning("status request failed", path=path, error=str(exc))
                self._send(500, "application/json", json.dumps({"error": str(exc)}))
            finally:
                live.daemon.store.close()  # the connection of this request's thread

        def _send(self, code: int, ctype: str, body: str | bytes) -> None:
            data = body if isinstance(body, bytes) else body.encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
            log.debug("status request", client=self.client_address[0], request=format % args)

    return Handler
