"""The AppManager sandbox: the export-queue contract of appmanager-api.md over SQLite.

For trials and tests: `connector sandbox`, the daemon (sandbox.enabled) and the test suite
run it. It serves

    GET  {prefix}/v1/progetti/{project}/exportPaginazione/{codaOrdini|codaClienti|...}
         ?authKey=&format=json&count=0|1&offset=&limit=&lastID=[&statusExport=]
    POST {prefix}/v1/progetti/{project}/_sandbox/enqueue   {"stream": s, "record": {...}}
         | {"stream": s, "records": [...]} | {"stream": s, "demo": n, "rows": k}  -> {"ids": [...]}
    POST {prefix}/v1/progetti/{project}/_sandbox/requeue   {"stream": s, "id": n} -> {"id": new}
    POST {prefix}/v1/progetti/{project}/_sandbox/faults    {knob: value, ...} -> the knobs
    GET  {prefix}/v1/progetti/{project}/_sandbox/stats     -> queue sizes and request counts
    POST {anything}/getAMParam   {"AuthKeyAPI": lm_key}     -> {cod_prog, url_am, url_am_api}

Every project URL needs `authKey` (the sandbox key). Queue ids are exclusive after lastID
(`id > lastID`), ordered, paged by offset/limit. Fault knobs (`Faults`): error_rate (500),
rate_limit_rate (429 with Retry-After), reset_rate (connection reset before the answer),
latency (seconds before each answer), ignore_last_id (serve from the start: ids go
backwards; true, or a list of streams), max_limit (pages never longer than this), and `script`, one-shot faults consumed by the next GETs in order: "500",
"429", "reset", "truncate" (half a body, then reset), "timeout" (sleep `hang_seconds`),
"ok".

The Python API is `SandboxServer` (start/stop, enqueue, requeue, faults); the access log
goes to structlog at debug level with the query string redacted.
"""

from __future__ import annotations

import json
import random
import socket
import sqlite3
import ssl
import struct
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import structlog

from adapters.appmanager import sandbox_demo
from adapters.appmanager.client import RESOURCES
from connector.logsetup import redact

log = structlog.get_logger(__name__)

RESOURCE_STREAMS = {resource: (stream, key) for stream, (resource, key) in RESOURCES.items()}

_DDL = """
CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    stream TEXT NOT NULL,
    unique_id TEXT NOT NULL,
    body TEXT NOT NULL,            -- the item as JSON, without its queue id
    enqueued_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_stream ON queue(stream, id);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass
class Faults:
    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after: float = 1.0
    reset_rate: float = 0.0
    latency: float = 0.0
    hang_seconds: float = 5.0
    ignore_last_id: bool | list[str] = False  # True: every stream; or these streams
    max_limit: int = 0  # >0: the server answers at most this many items, whatever limit says
    script: list[str] = field(default_factory=list)
    seed: int = 1

    def update(self, knobs: dict[str, Any]) -> None:
        for k, v in knobs.items():
            if k not in self.__dataclass_fields__:
                raise ValueError(f"unknown fault knob {k!r}")
            setattr(self, k, list(v) if k == "script" else v)


class SandboxStore:
    """The queues, in SQLite. One connection guarded by a lock (the server is threaded)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                                     timeout=30.0)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_DDL)
        self._lock = threading.Lock()

    def _next_unique(self, stream: str) -> int:
        return self._count(f"unique:{stream}")

    def _count(self, name: str) -> int:
        self._conn.execute("INSERT INTO counters(name, value) VALUES (?, 1) ON CONFLICT(name) "
                           "DO UPDATE SET value = value + 1", (name,))
        row = self._conn.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return int(row[0])

    def next_start(self) -> int:
        """Count a start of the sandbox on this database: 1, 2, ... (its demo data is drawn
        from a seed of its own, so a restart does not send the same device guids again)."""
        with self._lock:
            return self._count("starts")

    def enqueue_many(self, stream: str, records: Iterable[dict[str, Any] | str]) -> list[int]:
        """Queue items as iPads would. A dict without the key unique_id gets one (orders: a
        number, other streams: a string, as AppManager sends them); one with unique_id null
        or "" is sent so. A str is stored as is (raw JSON: how tests send malformed
        items)."""
        if stream not in RESOURCES:
            raise ValueError(f"unknown stream {stream!r}")
        ids: list[int] = []
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for rec in records:
                    if isinstance(rec, str):
                        body, uid = rec, str(uuid.uuid4())
                    else:
                        rec = {k: v for k, v in rec.items() if k != "id"}
                        if "unique_id" not in rec:
                            n = self._next_unique(stream)
                            rec["unique_id"] = 100000 + n if stream == "orders" else f"U{n:08d}"
                        uid = "" if rec["unique_id"] is None else str(rec["unique_id"])
                        rec = {"unique_id": rec.pop("unique_id"), **rec}
                        body = json.dumps(rec, ensure_ascii=False, separators=(",", ":"))
                    cur = self._conn.execute(
                        "INSERT INTO queue(stream, unique_id, body, enqueued_at) "
                        "VALUES (?, ?, ?, ?)", (stream, uid, body, time.time()))
                    ids.append(int(cur.lastrowid or 0))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return ids

    def requeue(self, stream: str, queue_id: int) -> int:
        """The same record (same unique_id and content) queued again under a new id."""
        with self._lock:
            row = self._conn.execute("SELECT unique_id, body FROM queue WHERE stream = ? AND "
                                     "id = ?", (stream, queue_id)).fetchone()
            if row is None:
                raise KeyError(f"no {stream} item with id {queue_id}")
            cur = self._conn.execute("INSERT INTO queue(stream, unique_id, body, enqueued_at) "
                                     "VALUES (?, ?, ?, ?)", (stream, row[0], row[1], time.time()))
            return int(cur.lastrowid or 0)

    def page(self, stream: str, last_id: int, offset: int, limit: int) -> list[tuple[int, str]]:
        with self._lock:
            return [(int(r[0]), r[1]) for r in self._conn.execute(
                "SELECT id, body FROM queue WHERE stream = ? AND id > ? ORDER BY id "
                "LIMIT ? OFFSET ?", (stream, last_id, limit, offset))]

    def stats(self, stream: str, last_id: int) -> tuple[int, int]:
        """(items after last_id, highest id of the stream)."""
        with self._lock:
            n = self._conn.execute("SELECT COUNT(*) FROM queue WHERE stream = ? AND id > ?",
                                   (stream, last_id)).fetchone()[0]
            top = self._conn.execute("SELECT COALESCE(MAX(id), 0) FROM queue WHERE stream = ?",
                                     (stream,)).fetchone()[0]
        return int(n), int(top)

    def sizes(self) -> dict[str, int]:
        with self._lock:
            return {r[0]: int(r[1]) for r in self._conn.execute(
                "SELECT stream, COUNT(*) FROM queue GROUP BY stream")}

    def is_empty(self) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM queue LIMIT 1").fetchone() is None

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sandbox: SandboxServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away (killed, timed out) is part of the game here.
        log.debug("sandbox: connection ended abruptly", client=str(client_address))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
        log.debug("sandbox request", line=redact(format % args))

    # Plumbing -------------------------------------------------------------------------
    def _send(self, status: int, body: bytes | str, headers: dict[str, str] | None = None) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps({"error": message}), headers)

    def _reset(self) -> None:
        """Drop the connection with a TCP reset."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw or b"{}")

    def _route(self) -> tuple[str | None, str, dict[str, list[str]]]:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        path = parts.path.rstrip("/")
        marker = "/v1/progetti/"
        if marker not in path:
            return None, path, query
        project, _, rest = path.split(marker, 1)[1].partition("/")
        return project, rest, query

    def _authorised(self, project: str | None, query: dict[str, list[str]]) -> bool:
        sb = self.server.sandbox
        if project != sb.project:
            self._error(404, f"unknown project {project!r}")
            return False
        if (query.get("authKey") or [""])[0] != sb.auth_key:
            self._error(401, "authKey not valid")
            return False
        return True

    # GET ------------------------------------------------------------------------------
    def do_GET(self) -> None:  # stdlib name
        sb = self.server.sandbox
        project, rest, query = self._route()
        if not self._authorised(project, query):
            return
        if rest == "_sandbox/stats":
            self._send(200, json.dumps({"queues": sb.store.sizes(), "requests": sb.requests}))
            return
        head, _, resource = rest.partition("/")
        if head != "exportPaginazione" or resource not in RESOURCE_STREAMS:
            self._error(404, f"no such resource {rest!r}")
            return
        with sb.lock:
            sb.requests += 1
            sb.request_times.append(time.monotonic())
        if self._apply_faults():
            return
        stream, list_key = RESOURCE_STREAMS[resource]

        def num(name: str, default: int) -> int:
            value = (query.get(name) or [""])[0]
            return int(value) if value.strip().lstrip("-").isdigit() else default

        rewind = sb.faults.ignore_last_id
        last_id = 0 if (rewind is True or (isinstance(rewind, list) and stream in rewind)) \
            else max(0, num("lastID", 0))
        count, offset, limit = num("count", 0), max(0, num("offset", 0)), num("limit", 0)
        limit = limit if limit > 0 else 1000
        if sb.faults.max_limit > 0:
            limit = min(limit, sb.faults.max_limit)
        total, max_id = sb.store.stats(stream, last_id)
        head_json = json.dumps({"meta": {"limit": 0 if count else limit, "maxID": max_id,
                                         "offset": offset, "total_count": total},
                                "cod_progetto": sb.project, "last_data_import": None,
                                "last_id": last_id or None})
        if count == 1:
            self._send(200, head_json[:-1] + f',"{list_key}":null}}')
            return
        items = sb.store.page(stream, last_id, offset, limit)
        parts = [f'{{"id":{qid},{body[1:]}' if body.startswith("{") and body != "{}"
                 else (f'{{"id":{qid}}}' if body == "{}" else body) for qid, body in items]
        self._send(200, head_json[:-1] + f',"{list_key}":[' + ",".join(parts) + "]}")

    def _apply_faults(self) -> bool:
        """True when a fault answered (or dropped) this request."""
        sb = self.server.sandbox
        with sb.lock:
            faults = sb.faults
            kind = faults.script.pop(0) if faults.script else None
            if kind is None:
                r = sb.rng.random()
                if r < faults.reset_rate:
                    kind = "reset"
                elif r < faults.reset_rate + faults.error_rate:
                    kind = "500"
                elif r < faults.reset_rate + faults.error_rate + faults.rate_limit_rate:
                    kind = "429"
            latency, hang, retry_after = faults.latency, faults.hang_seconds, faults.retry_after
            if kind:
                sb.faults_served.append(kind)
        if latency > 0:
            sb.closing.wait(latency)  # injected latency; cut short when the server stops
        if kind in (None, "ok"):
            return False
        if kind == "500":
            self._error(500, "sandbox: injected server error")
        elif kind == "503":
            self._error(503, "sandbox: injected unavailable")
        elif kind == "429":
            self._error(429, "sandbox: slow down", {"Retry-After": f"{retry_after:g}"})
        elif kind == "reset":
            self._reset()
        elif kind == "truncate":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"meta":{"limit":')
            self._reset()
        elif kind == "timeout":
            sb.closing.wait(hang)
            self.close_connection = True
            return True
        elif kind == "garbage":
            self._send(200, "<html>proxy error</html>")
        else:
            return False
        return True

    # POST -----------------------------------------------------------------------------
    def do_POST(self) -> None:  # stdlib name
        sb = self.server.sandbox
        project, rest, query = self._route()
        try:
            body = self._body()
        except (ValueError, UnicodeDecodeError):
            self._error(400, "body is not JSON")
            return
        if project is None and rest.endswith("/getAMParam"):
            if not isinstance(body, dict) or body.get("AuthKeyAPI") != sb.lm_key:
                self._error(401, "AuthKeyAPI not valid")
                return
            self._send(200, json.dumps({"cod_prog": sb.project, "url_am": sb.url,
                                        "url_am_api": sb.url.rsplit("/", 1)[0]}))
            return
        if not self._authorised(project, query):
            return
        try:
            if rest == "_sandbox/enqueue":
                stream = body["stream"]
                if "demo" in body:
                    ids = sb.enqueue_demo(stream, int(body["demo"]), rows=int(body.get("rows", 4)))
                else:
                    records = body["records"] if "records" in body else [body["record"]]
                    ids = sb.store.enqueue_many(stream, records)
                self._send(200, json.dumps({"ids": ids}))
            elif rest == "_sandbox/requeue":
                self._send(200, json.dumps({"id": sb.store.requeue(body["stream"],
                                                                   int(body["id"]))}))
            elif rest == "_sandbox/faults":
                with sb.lock:
                    sb.faults.update(body)
                    self._send(200, json.dumps(asdict(sb.faults)))
            else:
                self._error(404, f"no such resource {rest!r}")
        except (KeyError, ValueError, TypeError) as exc:
            self._error(400, f"bad request: {exc}")


class SandboxServer:
    """The sandbox as a Python object: `with SandboxServer(db) as sb: sb.url ...`."""

    def __init__(self, db_path: Path, *, host: str = "127.0.0.1", port: int = 0,
                 auth_key: str = "sandbox-key", project: str = "ic.acme",
                 lm_key: str = "sandbox-lm-key", seed: bool = True, prefix: str = "/api",
                 rng_seed: int = 1, tls: ssl.SSLContext | None = None) -> None:
        self.store = SandboxStore(Path(db_path))
        self.host, self.port = host, port
        self.auth_key, self.project, self.lm_key = auth_key, project, lm_key
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.tls = tls  # serve https with this server-side context
        self.closing = threading.Event()
        self.faults = Faults()
        self.lock = threading.Lock()
        self.rng = random.Random(rng_seed)
        # Demo data is reproducible for a given database and start, and differs from one
        # start to the next: the same seed after a restart would send the same device guids
        # again, which the connector rightly takes for the same orders.
        self.starts = self.store.next_start()
        self.demo_rng = random.Random(f"{rng_seed + 1}:{self.starts}")
        self.requests = 0
        self.request_times: list[float] = []
        self.faults_served: list[str] = []
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        if seed and self.store.is_empty():
            for stream, rec in sandbox_demo.seed_set(self.demo_rng, project):
                self.store.enqueue_many(stream, [rec])

    @property
    def url(self) -> str:
        """The project base URL: what import.appmanager.url points at."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}{self.prefix}/v1/progetti/{self.project}"

    @property
    def lm_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}/lmAPI/v1"

    def start(self) -> SandboxServer:
        self.closing.clear()
        self._httpd = _Server((self.host, self.port), _Handler)
        if self.tls is not None:
            self._httpd.socket = self.tls.wrap_socket(self._httpd.socket, server_side=True)
        self._httpd.sandbox = self
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.2},
                                        name="appmanager-sandbox", daemon=True)
        self._thread.start()
        log.info("AppManager sandbox listening", url=self.url)
        return self

    def stop(self) -> None:
        self.closing.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def close(self) -> None:
        self.stop()
        self.store.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # What iPads (and tests) do --------------------------------------------------------
    def enqueue(self, stream: str, record: dict[str, Any] | str) -> int:
        return self.store.enqueue_many(stream, [record])[0]

    def enqueue_demo(self, stream: str, n: int, rows: int = 4) -> list[int]:
        with self.lock:
            recs = [sandbox_demo.demo_records(stream, self.demo_rng, self.project, rows=rows)
                    for _ in range(n)]
        return self.store.enqueue_many(stream, recs)

    def requeue(self, stream: str, queue_id: int) -> int:
        return self.store.requeue(stream, queue_id)

    def set_faults(self, **knobs: Any) -> None:
        with self.lock:
            self.faults.update(knobs)

    def fail_next(self, *kinds: str) -> None:
        with self.lock:
            self.faults.script.extend(kinds)

    def stats(self) -> dict[str, Any]:
        return {"queues": self.store.sizes(), "requests": self.requests,
                "faults_served": list(self.faults_served)}


def serve_forever(server: SandboxServer, stop: threading.Event) -> None:
    """Run until stop is set (the `connector sandbox` command and the daemon loop)."""
    server.start()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.close()


__all__ = ["Faults", "SandboxServer", "SandboxStore", "serve_forever"]
