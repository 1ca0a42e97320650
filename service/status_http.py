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

    def metrics(self) -> str:
        h = self.health()
        lines = [metrics.render_prometheus().rstrip("\n")]
        lines += ["# HELP connector_loop_up 1 while the loop runs and beats in time",
                  "# TYPE connector_loop_up gauge"]
        lines += [f'connector_loop_up{{loop="{_esc(n)}"}} {1 if lh.ok else 0}'
                  for n, lh in sorted(h.loops.items())]
        lines += ["# HELP connector_loop_heartbeat_age_seconds Seconds since the loop's last beat",
                  "# TYPE connector_loop_heartbeat_age_seconds gauge"]
        lines += [f'connector_loop_heartbeat_age_seconds{{loop="{_esc(n)}"}} {lh.age_seconds:.3f}'
                  for n, lh in sorted(h.loops.items()) if lh.age_seconds >= 0]
        lines += ["# HELP connector_healthy 1 while every loop is healthy",
                  "# TYPE connector_healthy gauge", f"connector_healthy {1 if h.ok else 0}",
                  "# HELP connector_start_time_seconds Unix time the daemon started",
                  "# TYPE connector_start_time_seconds gauge",
                  f"connector_start_time_seconds {self.started_at:.3f}"]
        return "\n".join(line for line in lines if line) + "\n"


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


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

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
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
                    self._send(200, "text/plain; version=0.0.4; charset=utf-8", live.metrics())
                else:
                    self._send(404, "application/json",
                               json.dumps({"error": "not found",
                                           "endpoints": ["/healthz", "/status", "/metrics"]}))
            except Exception as exc:  # noqa: BLE001 - a status request must not hurt the daemon
                log.warning("status request failed", path=path, error=str(exc))
                self._send(500, "application/json", json.dumps({"error": str(exc)}))
            finally:
                live.daemon.store.close()  # the connection of this request's thread

        def _send(self, code: int, ctype: str, body: str) -> None:
            data = body.encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            log.debug("status request", client=self.client_address[0], request=format % args)

    return Handler
