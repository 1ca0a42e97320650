"""A hostile AppManager on 127.0.0.1: pages of raw JSON text chosen by the test (poison
items, broken envelopes), and handlers for redirects, trickling and huge answers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from adapters.appmanager.client import RESOURCES

STREAM_OF = {resource: (stream, key) for stream, (resource, key) in RESOURCES.items()}
Handler = Callable[[BaseHTTPRequestHandler, dict[str, list[str]]], None]


class HostileServer:
    """Per stream, either a list of items `(sort_id, json_text)` served AppManager's way
    (those with sort_id above lastID, up to limit), or a whole answer body (`bodies`)
    served for every request. `routes` maps a path suffix to a raw handler."""

    def __init__(self, tls: Any = None) -> None:
        self.items: dict[str, list[tuple[int, str]]] = {}
        self.bodies: dict[str, bytes] = {}
        self.routes: dict[str, Handler] = {}
        self.requests: list[str] = []
        self.closing = threading.Event()
        server = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_a: Any) -> None:
                pass

            def do_GET(self) -> None:  # stdlib name
                server._serve(self)

            def do_POST(self) -> None:  # stdlib name
                server._serve(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True,
                                                do_handshake_on_connect=False)
        self.scheme = "https" if tls is not None else "http"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.05})
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def origin(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.origin}/v1/progetti/ic.test"

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        query = parse_qs(parts.query)
        self.requests.append(h.path)
        for suffix, handler in self.routes.items():
            if parts.path.endswith(suffix):
                handler(h, query)
                return
        resource = parts.path.rsplit("/", 1)[-1]
        if resource not in STREAM_OF:
            send(h, 404, b'{"error": "no such resource"}')
            return
        stream, key = STREAM_OF[resource]
        if stream in self.bodies:
            send(h, 200, self.bodies[stream])
            return
        last = int((query.get("lastID") or ["0"])[0])
        limit = int((query.get("limit") or ["50"])[0])
        page = [text for sort_id, text in sorted(self.items.get(stream, []),
                                                 key=lambda p: p[0]) if sort_id > last][:limit]
        body = f'{{"meta":{{"limit":{limit}}},"{key}":[{",".join(page)}]}}'
        send(h, 200, body.encode("utf-8"))

    def close(self) -> None:
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def send(h: BaseHTTPRequestHandler, code: int, body: bytes,
         headers: dict[str, str] | None = None) -> None:
    h.send_response(code)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(body)))
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.end_headers()
    h.wfile.write(body)


def redirect(to: str, code: int = 302) -> Handler:
    def handler(h: BaseHTTPRequestHandler, _q: dict[str, list[str]]) -> None:
        send(h, code, b"", {"Location": to})
    return handler


def trickle(closing: threading.Event, every: float = 0.2, in_headers: bool = False) -> Handler:
    """An answer that never ends: a byte every `every` seconds (in the headers or the body),
    each byte well inside any read timeout."""
    def handler(h: BaseHTTPRequestHandler, _q: dict[str, list[str]]) -> None:
        try:
            if in_headers:
                h.wfile.write(b"HTTP/1.1 200 OK\r\n")
                while not closing.wait(every):
                    h.wfile.write(b"X")
                    h.wfile.flush()
                return
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(10**6))
            h.end_headers()
            h.wfile.write(b'{"meta":{},"testate":[')
            h.wfile.flush()
            while not closing.wait(every):
                h.wfile.write(b" ")
                h.wfile.flush()
        except OSError:
            pass  # the client hung up: what the test waits for
        finally:
            h.close_connection = True
    return handler


class Huge:
    """An answer of `size` bytes (a valid page padded with spaces), sent in 64 KB writes;
    counts what it managed to send before the client hung up."""

    def __init__(self, size: int, declare_length: bool = True) -> None:
        self.size = size
        self.declare = declare_length
        self.sent = 0

    def __call__(self, h: BaseHTTPRequestHandler, _q: dict[str, list[str]]) -> None:
        head, tail = b'{"meta":{},"testate":[', b"]}"
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        if self.declare:
            h.send_header("Content-Length", str(self.size))
        else:
            h.send_header("Connection", "close")
        h.end_headers()
        chunk = b" " * 65536
        try:
            h.wfile.write(head)
            self.sent = len(head)
            while self.sent < self.size - len(tail):
                n = min(len(chunk), self.size - len(tail) - self.sent)
                h.wfile.write(chunk[:n])
                self.sent += n
            h.wfile.write(tail)
            self.sent += len(tail)
        except OSError:
            pass
        h.close_connection = True


def wait_until(cond: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"{what} not met within {timeout}s")
