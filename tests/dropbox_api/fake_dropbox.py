"""A Dropbox-API-compatible server of ours, for the tests and the bench.

HTTPS on 127.0.0.1 with a throwaway CA (trustme). It speaks the wire format of the
routes the publisher uses (RPC routes: JSON body; content routes: Dropbox-API-Arg
header, binary body), encoding results and errors with the SDK's own stone types, so
what the SDK decodes is what the real service sends. Files live on disk under a work
folder (a 1 GB upload costs disk, not memory); `content_hash` is verified like the real
service (4 MiB blocks, SHA-256 each, SHA-256 of the concatenation).

Names Dropbox refuses (desktop.ini, thumbs.db... and any a test adds to
`disallowed_names`) fail a commit with path/disallowed_name, as the real service does.
A content_hash is "a hash of the file content uploaded in this call" (the SDK's and the
HTTP documentation's words, for every route that takes one): an upload_session/start or
append_v2 is checked against its body, files/upload against the file, and an
upload_session/finish_batch_v2 entry, whose call uploads no content, against the hash of
nothing: the hash of a whole file there is refused with content_hash_mismatch.

Faults are scripted per route: 429 too_many_requests with Retry-After, 429
too_many_write_operations, too_many_write_operations inside a 409 (or inside a batch
entry), 5xx, a dropped connection (before or after the request took effect) and slow
responses. Every request is counted per route.

Run standalone (the bench does): python tests/dropbox_api/fake_dropbox.py --dir D
prints one JSON line {"port": ..., "ca": ...}; GET /_fake/stats returns the counters.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import os
import secrets
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme
from dropbox import files as dbx_files
from dropbox import stone_base, stone_serializers

BLOCK = 4 * 1024 * 1024
READ_PIECE = 1024 * 1024
EMPTY_CONTENT_HASH = hashlib.sha256(b"").hexdigest()  # no block: SHA-256 of nothing
DROPBOX_DISALLOWED = {"desktop.ini", "thumbs.db", ".ds_store", "icon\r", ".dropbox",
                      ".dropbox.attr"}

# Routes by wire name ("files/upload_session/append_v2") from the SDK's own route table.
ROUTES: dict[str, stone_base.Route] = {}
for _obj in vars(dbx_files).values():
    if isinstance(_obj, stone_base.Route):
        _name = "files/" + _obj.name + (f"_v{_obj.version}" if _obj.version > 1 else "")
        ROUTES[_name] = _obj


class _Hasher:
    def __init__(self) -> None:
        self.overall = hashlib.sha256()
        self.block = hashlib.sha256()
        self.pos = 0

    def update(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            take = min(BLOCK - self.pos, len(view))
            self.block.update(view[:take])
            self.pos += take
            view = view[take:]
            if self.pos == BLOCK:
                self.overall.update(self.block.digest())
                self.block = hashlib.sha256()
                self.pos = 0

    def hexdigest(self) -> str:
        o = self.overall.copy()
        if self.pos:
            o.update(self.block.digest())
        return o.hexdigest()


def file_content_hash(path: Path) -> str:
    h = _Hasher()
    with open(path, "rb") as f:
        while piece := f.read(READ_PIECE):
            h.update(piece)
    return h.hexdigest()


@dataclass
class Fault:
    """One scripted misbehaviour. `route` is a wire name or "*"; `times` how often."""

    route: str
    # rate_limit | rate_limit_text | contention_429 | contention_409 | error_409 |
    # server_error | auth | expire_token | hook | drop | slow | pass (no-op, for sequencing)
    kind: str
    times: int = 1
    retry_after: int = 1
    when: str = "before"  # before: instead of the work; after: once the work took effect
    delay: float = 0.0
    status: int = 503
    entries: list[int] = field(default_factory=list)  # batch routes: which entries fail (409)
    error: dict[str, Any] = field(default_factory=dict)  # kind error_409: the route error
    hook: Any = None  # kind hook: called before the request is handled (another client acts)
    hits: int = 0


@dataclass
class Entry:
    path_display: str
    blob: Path
    size: int
    content_hash: str
    rev: str
    id: str
    modified: dt.datetime


@dataclass
class Session:
    blob: Path
    offset: int = 0
    closed: bool = False


class ApiErrorResponse(Exception):
    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(str(body))
        self.status = status
        self.body = body
        self.headers = headers or {}


def _err409(error: dict[str, Any]) -> ApiErrorResponse:
    return ApiErrorResponse(409, {"error_summary": _summary(error), "error": error})


def _summary(error: Any) -> str:
    tags = []
    while isinstance(error, dict) and ".tag" in error:
        tags.append(error[".tag"])
        error = error.get(error[".tag"])
    return "/".join(tags) + "/..."


class FakeDropbox:
    def __init__(self, workdir: Path, app_key: str = "test-app-key",
                 app_secret: str | None = "test-app-secret") -> None:
        self.workdir = workdir
        self.blobs = workdir / "blobs"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.app_key = app_key
        self.app_secret = app_secret
        self.lock = threading.RLock()
        self.files: dict[str, Entry] = {}
        self.folders: dict[str, str] = {"": ""}  # path_lower -> display
        self.sessions: dict[str, Session] = {}
        self.refresh_tokens: set[str] = set()
        self.access_tokens: set[str] = set()
        self.expired_tokens: set[str] = set()
        self.auth_codes: dict[str, str] = {}  # code -> refresh token it yields
        self.faults: list[Fault] = []
        self.stats: Counter[str] = Counter()
        self.bytes_in = 0
        self.space_left: int | None = None  # None: unlimited
        self.disallowed_names: set[str] = set(DROPBOX_DISALLOWED)  # lower case
        self.async_moves = False
        self.jobs: dict[str, tuple[int, list[Any]]] = {}
        self.log: list[str] = []  # routes in order
        self._seq = 0
        self.ca = trustme.CA()
        self.ca_file = workdir / "fake-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        cert = self.ca.issue_cert("127.0.0.1", "localhost")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(ctx)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True,
                                            do_handshake_on_connect=False)
        self.httpd.fake = self  # type: ignore[attr-defined]
        self.port = self.httpd.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    # Life ------------------------------------------------------------------------------------
    def start(self) -> FakeDropbox:
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={
            "poll_interval": 0.1}, name="fake-dropbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def env(self) -> dict[str, str]:
        """Environment for a child process that runs the SDK against this server."""
        env = {k: v for k, v in os.environ.items()
               if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
        env.update(DROPBOX_API_HOST=self.host, DROPBOX_API_CONTENT_HOST=self.host,
                   DROPBOX_API_NOTIFY_HOST=self.host, DROPBOX_WEB_HOST=self.host)
        return env

    def issue_refresh_token(self) -> str:
        token = "rt-" + secrets.token_hex(8)
        with self.lock:
            self.refresh_tokens.add(token)
        return token

    def issue_auth_code(self) -> str:
        code = "code-" + secrets.token_hex(4)
        with self.lock:
            self.auth_codes[code] = "rt-" + secrets.token_hex(8)
        return code

    def expire_access_tokens(self) -> None:
        with self.lock:
            self.expired_tokens |= self.access_tokens
            self.access_tokens.clear()

    def add_fault(self, route: str, kind: str, **kw: Any) -> Fault:
        fault = Fault(route=route, kind=kind, **kw)
        with self.lock:
            self.faults.append(fault)
        return fault

    def reset_stats(self) -> None:
        with self.lock:
            self.stats.clear()
            self.bytes_in = 0
            self.log.clear()

    # Inspection -------------------------------------------------------------------------------
    def read(self, path: str) -> bytes:
        with self.lock:
            return self.files[path.lower()].blob.read_bytes()

    def entry(self, path: str) -> Entry | None:
        with self.lock:
            return self.files.get(path.lower())

    def listing(self, prefix: str = "") -> list[str]:
        with self.lock:
            p = prefix.lower().rstrip("/")
            return sorted(e.path_display for k, e in self.files.items()
                          if not p or k.startswith(p + "/"))

    def put_folder(self, path: str) -> None:
        """Create a folder (and its parents) as if another client had."""
        with self.lock:
            self._ensure_parents(path.rstrip("/") + "/x")

    def remove(self, path: str) -> None:
        """Delete a file or a folder tree as if another client (or AppManager) had."""
        key = path.lower().rstrip("/")
        with self.lock:
            for k in [k for k in self.files if k == key or k.startswith(key + "/")]:
                self.files.pop(k).blob.unlink(missing_ok=True)
            for k in [k for k in self.folders if k == key or k.startswith(key + "/")]:
                self.folders.pop(k)

    def put_file(self, path: str, data: bytes) -> None:
        """Seed a file as if another client had written it."""
        blob = self._new_blob()
        blob.write_bytes(data)
        with self.lock:
            self._commit(path, blob, mode="overwrite")

    # Internals --------------------------------------------------------------------------------
    def _next(self) -> int:
        with self.lock:
            self._seq += 1
            return self._seq

    def _new_blob(self) -> Path:
        return self.blobs / f"b{self._next():08d}-{secrets.token_hex(4)}"

    def take_fault(self, route: str) -> Fault | None:
        with self.lock:
            for f in self.faults:
                if f.hits < f.times and (f.route == route or f.route == "*"):
                    f.hits += 1
                    return f
        return None

    def _ensure_parents(self, path_display: str) -> None:
        parts = path_display.strip("/").split("/")[:-1]
        cur = ""
        for part in parts:
            cur = f"{cur}/{part}"
            if cur.lower() in self.files:
                raise _err409({".tag": "path", "path": {".tag": "conflict",
                                                        "conflict": {".tag": "file_ancestor"}}})
            self.folders.setdefault(cur.lower(), cur)

    def _commit(self, path: str, blob: Path, mode: str = "overwrite",
                expected_hash: str | None = None) -> Entry:
        """Put a blob at path (the caller holds the lock). Raises ApiErrorResponse-like tags."""
        size = blob.stat().st_size
        content_hash = file_content_hash(blob)
        if expected_hash is not None and expected_hash != content_hash:
            raise _CommitError({".tag": "content_hash_mismatch"})
        key = path.lower()
        if not path.startswith("/") or path.endswith("/") or "//" in path:
            raise _CommitError({".tag": "path", "path": {".tag": "malformed_path"}})
        if key in self.folders:
            raise _CommitError({".tag": "path", "path": {".tag": "conflict",
                                                         "conflict": {".tag": "folder"}}})
        if any(part.lower() in self.disallowed_names for part in path.split("/")):
            raise _CommitError({".tag": "path", "path": {".tag": "disallowed_name"}})
        old = self.files.get(key)
        if old is not None and old.content_hash == content_hash:
            blob.unlink()
            return old  # identical content: nothing written, no conflict
        if old is not None and mode == "add":
            raise _CommitError({".tag": "path", "path": {".tag": "conflict",
                                                         "conflict": {".tag": "file"}}})
        grow = size - (old.size if old else 0)
        if self.space_left is not None:
            if grow > self.space_left:
                raise _CommitError({".tag": "path", "path": {".tag": "insufficient_space"}})
            self.space_left -= grow
        try:
            self._ensure_parents(path)
        except ApiErrorResponse as exc:
            raise _CommitError(exc.body["error"]) from None
        entry = Entry(path_display=path, blob=blob, size=size, content_hash=content_hash,
                      rev=f"{self._next():015x}", id=f"id:{secrets.token_hex(8)}",
                      modified=dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None))
        if old is not None:
            old.blob.unlink(missing_ok=True)
            entry.id = old.id
        self.files[key] = entry
        return entry

    def metadata(self, entry: Entry) -> dbx_files.FileMetadata:
        name = entry.path_display.rsplit("/", 1)[-1]
        return dbx_files.FileMetadata(
            name=name, id=entry.id, client_modified=entry.modified,
            server_modified=entry.modified, rev=entry.rev, size=entry.size,
            path_lower=entry.path_display.lower(), path_display=entry.path_display,
            content_hash=entry.content_hash, is_downloadable=True)

    def folder_metadata(self, key: str) -> dbx_files.FolderMetadata:
        display = self.folders[key]
        return dbx_files.FolderMetadata(name=display.rsplit("/", 1)[-1] or "/",
                                        id=f"id:folder{abs(hash(key)) % 10**8}",
                                        path_lower=key, path_display=display)

    def _lookup(self, path: str) -> Any:
        key = path.lower().rstrip("/")
        if key in self.files:
            return self.metadata(self.files[key])
        if key in self.folders and key:
            return self.folder_metadata(key)
        return None


class _CommitError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(str(error))
        self.error = error


def _encode(validator: Any, obj: Any) -> Any:
    return stone_serializers.json_compat_obj_encode(validator, obj)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without NODELAY, Nagle plus delayed
        # ACKs add ~40 ms to every response on loopback.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    @property
    def fake(self) -> FakeDropbox:
        return self.server.fake  # type: ignore[attr-defined, no-any-return]

    # Plumbing ---------------------------------------------------------------------------------
    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None,
              content_type: str = "application/json") -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.send_header("X-Dropbox-Request-Id", secrets.token_hex(6))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(raw)

    def _drain(self, length: int) -> None:
        while length > 0:
            piece = self.rfile.read(min(READ_PIECE, length))
            if not piece:
                break
            length -= len(piece)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_GET(self) -> None:
        if self.path == "/_fake/stats":
            f = self.fake
            with f.lock:
                self._send(200, {"stats": dict(f.stats), "bytes_in": f.bytes_in,
                                 "requests": sum(f.stats.values()), "files": len(f.files)})
            return
        self._send(404, b"not found", content_type="text/plain")

    def do_POST(self) -> None:
        f = self.fake
        parsed = urllib.parse.urlsplit(self.path)
        route = parsed.path.lstrip("/")
        length = int(self.headers.get("Content-Length") or 0)
        if route == "_fake/reset_stats":
            self._drain(length)
            f.reset_stats()
            self._send(200, {})
            return
        if route.startswith("2/"):
            route = route[2:]
        with f.lock:
            f.stats[route] += 1
            f.log.append(route)
        fault = f.take_fault(route)
        if fault is not None and fault.when == "before":
            if fault.kind == "drop":
                self._drop()
                return
            if fault.kind == "slow":
                time.sleep(fault.delay)
            elif fault.kind == "hook":
                fault.hook()
            elif fault.kind == "expire_token":
                f.expire_access_tokens()  # this request now fails with expired_access_token
            elif fault.kind != "pass" and not (fault.kind == "contention_409" and fault.entries):
                self._drain(length)
                self._fault_response(fault, route)
                return
        try:
            if route == "oauth2/token":
                status, body, headers = self._token(length)
            else:
                self._check_auth(length)
                status, body, headers = self._dispatch(route, length, fault)
        except ApiErrorResponse as exc:
            status, body, headers = exc.status, exc.body, exc.headers
        except _CommitError as exc:
            status, body, headers = 409, {"error_summary": _summary(exc.error),
                                          "error": exc.error}, {}
        if fault is not None and fault.when == "after":
            if fault.kind == "drop":
                self._drop()
                return
            if fault.kind == "slow":
                time.sleep(fault.delay)
            elif fault.kind != "contention_409":
                self._fault_response(fault, route)
                return
        try:
            self._send(status, body, headers)
        except OSError:
            pass  # the client went away (timed out on a slow response)

    def _fault_response(self, fault: Fault, route: str) -> None:
        if fault.kind == "rate_limit":
            self._send(429, {"error_summary": "too_many_requests/..",
                             "error": {"reason": {".tag": "too_many_requests"},
                                       "retry_after": fault.retry_after}},
                       {"Retry-After": str(fault.retry_after)})
        elif fault.kind == "rate_limit_text":
            self._send(429, b"too_many_requests", {"Retry-After": str(fault.retry_after)},
                       content_type="text/plain")
        elif fault.kind == "contention_429":
            self._send(429, {"error_summary": "too_many_write_operations/..",
                             "error": {"reason": {".tag": "too_many_write_operations"},
                                       "retry_after": fault.retry_after}},
                       {"Retry-After": str(fault.retry_after)})
        elif fault.kind == "contention_409":
            self._send(409, {"error_summary": "path/too_many_write_operations/..",
                             "error": _contention_error(route)})
        elif fault.kind == "error_409":
            self._send(409, {"error_summary": _summary(fault.error), "error": fault.error})
        elif fault.kind == "server_error":
            self._send(fault.status, b"Service Unavailable", content_type="text/plain")
        elif fault.kind == "auth":
            self._send(401, {"error_summary": "invalid_access_token/..",
                             "error": {".tag": "invalid_access_token"}})
        else:
            raise ValueError(f"unknown fault kind {fault.kind}")

    def _check_auth(self, length: int) -> None:
        f = self.fake
        auth = self.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip()
        with f.lock:
            if token in f.access_tokens:
                return
            tag = "expired_access_token" if token in f.expired_tokens else "invalid_access_token"
        self._drain(length)  # keep the connection usable for the next request
        raise ApiErrorResponse(401, {"error_summary": f"{tag}/..", "error": {".tag": tag}})

    def _token(self, length: int) -> tuple[int, Any, dict[str, str]]:
        f = self.fake
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        grant = form.get("grant_type", [""])[0]
        client = form.get("client_id", [""])[0]
        secret = form.get("client_secret", [None])[0]
        if client != f.app_key or (secret is not None and f.app_secret is not None
                                   and secret != f.app_secret):
            return 400, {"error": "invalid_client", "error_description": "bad client"}, {}
        with f.lock:
            if grant == "refresh_token":
                if form.get("refresh_token", [""])[0] not in f.refresh_tokens:
                    return 400, {"error": "invalid_grant",
                                 "error_description": "refresh token is invalid or revoked"}, {}
                token = "at-" + secrets.token_hex(8)
                f.access_tokens.add(token)
                return 200, {"access_token": token, "expires_in": 14400,
                             "token_type": "bearer"}, {}
            if grant == "authorization_code":
                code = form.get("code", [""])[0]
                refresh = f.auth_codes.pop(code, None)
                if refresh is None:
                    return 400, {"error": "invalid_grant", "error_description": "bad code"}, {}
                f.refresh_tokens.add(refresh)
                token = "at-" + secrets.token_hex(8)
                f.access_tokens.add(token)
                return 200, {"access_token": token, "expires_in": 14400, "token_type": "bearer",
                             "refresh_token": refresh, "account_id": "dbid:fake",
                             "uid": "12345", "scope": "files.content.write"}, {}
        return 400, {"error": "unsupported_grant_type"}, {}

    def _arg(self, route: str, length: int) -> tuple[Any, int]:
        """(decoded argument, bytes of body still unread)."""
        r = ROUTES.get(route)
        if r is None:
            self._drain(length)
            raise ApiErrorResponse(404, {"error_summary": "unknown route"})
        if self.headers.get("Dropbox-API-Arg") is not None:
            raw = json.loads(self.headers["Dropbox-API-Arg"])
            rest = length
        else:
            raw = json.loads(self.rfile.read(length) or b"null")
            rest = 0
        arg = stone_serializers.json_compat_obj_decode(r.arg_type, raw, strict=False)
        return arg, rest

    def _receive(self, length: int) -> tuple[Path, str]:
        """Stream the body to a new blob, hashing as it comes."""
        f = self.fake
        blob = f._new_blob()
        h = _Hasher()
        with open(blob, "wb") as out:
            left = length
            while left > 0:
                piece = self.rfile.read(min(READ_PIECE, left))
                if not piece:
                    raise ConnectionError("client went away mid-body")
                out.write(piece)
                h.update(piece)
                left -= len(piece)
        with f.lock:
            f.bytes_in += length
        return blob, h.hexdigest()

    # Routes -----------------------------------------------------------------------------------
    def _dispatch(self, route: str, length: int,
                  fault: Fault | None) -> tuple[int, Any, dict[str, str]]:
        r = ROUTES.get(route)
        arg, rest = self._arg(route, length)
        handler = getattr(self, "_r_" + route.replace("files/", "").replace("/", "_"), None)
        if handler is None or r is None:
            self._drain(rest)
            raise ApiErrorResponse(404, {"error_summary": f"route {route} not in the fake"})
        result = handler(arg, rest, fault)
        return 200, _encode(r.result_type, result), {}

    def _r_upload_session_start(self, arg: Any, rest: int, fault: Fault | None) -> Any:
        f = self.fake
        blob, got = self._receive(rest)
        if arg.content_hash is not None and arg.content_hash != got:
            blob.unlink()
            raise _err409({".tag": "content_hash_mismatch"})
        sid = "sess-" + secrets.token_hex(10)
        with f.lock:
            f.sessions[sid] = Session(blob=blob, offset=rest, closed=bool(arg.close))
        return dbx_files.UploadSessionStartResult(session_id=sid)

    def _r_upload_session_append_v2(self, arg: Any, rest: int, fault: Fault | None) -> Any:
        f = self.fake
        part, got = self._receive(rest)
        try:
            with f.lock:
                s = f.sessions.get(arg.cursor.session_id)
                if s is None:
                    raise _err409({".tag": "not_found"})
                if s.closed:
                    raise _err409({".tag": "closed"})
                if arg.cursor.offset != s.offset:
                    raise _err409({".tag": "incorrect_offset", "correct_offset": s.offset})
                if arg.content_hash is not None and arg.content_hash != got:
                    raise _err409({".tag": "content_hash_mismatch"})
                with open(s.blob, "ab") as out, open(part, "rb") as src:
                    while piece := src.read(READ_PIECE):
                        out.write(piece)
                s.offset += rest
                s.closed = bool(arg.close)
        finally:
            part.unlink(missing_ok=True)
        return None

    def _r_upload(self, arg: Any, rest: int, fault: Fault | None) -> Any:
        f = self.fake
        blob, got = self._receive(rest)
        if arg.content_hash is not None and arg.content_hash != got:
            blob.unlink()
            raise _err409({".tag": "content_hash_mismatch"})
        with f.lock:
            try:
                entry = f._commit(arg.path, blob, mode=arg.mode._tag)
            except _CommitError:
                blob.unlink(missing_ok=True)
                raise
            return f.metadata(entry)

    def _r_upload_session_finish_batch_v2(self, arg: Any, rest: int,
                                           fault: Fault | None) -> Any:
        f = self.fake
        out = []
        failing = set(fault.entries) if fault is not None and fault.kind == "contention_409" \
            else set()
        with f.lock:
            for i, e in enumerate(arg.entries):
                if i in failing:
                    out.append(dbx_files.UploadSessionFinishBatchResultEntry.failure(
                        dbx_files.UploadSessionFinishError.too_many_write_operations))
                    continue
                out.append(self._finish_one(e))
        return dbx_files.UploadSessionFinishBatchResult(entries=out)

    def _finish_one(self, e: Any) -> Any:
        f = self.fake
        entry_cls = dbx_files.UploadSessionFinishBatchResultEntry
        err_cls = dbx_files.UploadSessionFinishError
        lookup = dbx_files.UploadSessionLookupError
        s = f.sessions.get(e.cursor.session_id)
        if s is None:
            return entry_cls.failure(err_cls.lookup_failed(lookup.not_found))
        if e.cursor.offset != s.offset:
            return entry_cls.failure(err_cls.lookup_failed(lookup.incorrect_offset(
                dbx_files.UploadSessionOffsetError(correct_offset=s.offset))))
        if not s.closed:
            return entry_cls.failure(err_cls.lookup_failed(lookup.not_closed))
        if e.content_hash is not None and e.content_hash != EMPTY_CONTENT_HASH:
            # The content uploaded in this call is none: its hash is the hash of nothing.
            return entry_cls.failure(err_cls.content_hash_mismatch)
        try:
            entry = f._commit(e.commit.path, s.blob, mode=e.commit.mode._tag)
        except _CommitError as exc:
            return entry_cls.failure(stone_serializers.json_compat_obj_decode(
                dbx_files.UploadSessionFinishError_validator, exc.error, strict=False))
        del f.sessions[e.cursor.session_id]
        return entry_cls.success(f.metadata(entry))

    def _r_get_metadata(self, arg: Any, rest: int, fault: Fault | None) -> Any:
        f = self.fake
        with f.lock:
            md = f._lookup(arg.path)
        if md is None:
            raise _err409({".tag": "path", "path": {".tag": "not_found"}})
        return md

    def _r_create_folder_v2(self, arg: Any, rest: int, fault: Fault | None) -> Any:
        f = self.fake
        key = arg.path.lower().rstrip("/")
        with f.lock:
            if key in f.files or key in f.folders:
                raise _err409({".tag": "path", "path": {".tag": "conflict",
                                                        "conflict": {".tag": "folder"}}})
            f._ensure_parents(arg.path.rstrip("/") + "/x")
            return dbx_files.CreateFolderResult(metadata=f.folder_metadata(key))

    def _r_list_folder(self, arg: Any, rest: int, fault: Fault | None) -> Any:
        f = self.fake
        key = arg.path.lower().rstrip("/")
        with f.lock:
            if key and key not in f.folders:
                what = "not_folder" if key in f.files else "not_found"
                raise _err409({".tag": "path", "path": {".tag": what}})
        return self._page(key, 0, arg.limit or 2000)

    def _r_list_folder_continue(self, arg: Any, rest: int, fault: Fault | None) -> Any:
        state = json.loads(base64.urlsafe_b64decode(arg.cursor.encode()))
        return self._page(state["key"], state["pos"], state["limit"])

    def _page(self, key: str, pos: int, limit: int) -> Any:
        f = self.fake
        with f.lock:
            children: list[Any] = []
            for k in sorted(f.folders):
                if k and k.rsplit("/", 1)[0] == key:
                    children.append(f.folder_metadata(k))
            for k in sorted(f.files):
                if k.rsplit("/", 1)[0] == key:
                    children.append(f.metadata(f.files[k]))
        page = children[pos:pos + limit]
        more = pos + limit < len(children)
        cursor = base64.urlsafe_b64encode(json.dumps(
            {"key": key, "pos": pos + limit, "limit": limit}).encode()).decode()
        return dbx_files.ListFolderResult(entries=page, cursor=cursor, has_more=more)

    def _r_move_batch_v2(self, arg: Any, rest: int, fault: Fault | None) -> Any:
        f = self.fake
        failing = set(fault.entries) if fault is not None and fault.kind == "contention_409" \
            else set()
        results = []
        with f.lock:
            for i, rp in enumerate(arg.entries):
                if i in failing:
                    results.append(dbx_files.RelocationBatchResultEntry.failure(
                        dbx_files.RelocationBatchErrorEntry.too_many_write_operations))
                    continue
                results.append(self._move_one(rp.from_path, rp.to_path))
            result = dbx_files.RelocationBatchV2Result(entries=results)
            if f.async_moves:
                job = "job-" + secrets.token_hex(6)
                f.jobs[job] = (1, results)
                return dbx_files.RelocationBatchV2Launch.async_job_id(job)
        return dbx_files.RelocationBatchV2Launch.complete(result)

    def _move_one(self, src: str, dst: str) -> Any:
        f = self.fake
        rel = dbx_files.RelocationError
        entry_cls = dbx_files.RelocationBatchResultEntry
        err_entry = dbx_files.RelocationBatchErrorEntry
        skey, dkey = src.lower().rstrip("/"), dst.lower().rstrip("/")
        if skey not in f.files and skey not in f.folders:
            return entry_cls.failure(err_entry.relocation_error(
                rel.from_lookup(dbx_files.LookupError.not_found)))
        if dkey in f.files or dkey in f.folders:
            return entry_cls.failure(err_entry.relocation_error(rel.to(
                dbx_files.WriteError.conflict(dbx_files.WriteConflictError.file))))
        try:
            f._ensure_parents(dst)
        except ApiErrorResponse:
            return entry_cls.failure(err_entry.relocation_error(rel.to(
                dbx_files.WriteError.conflict(dbx_files.WriteConflictError.file_ancestor))))
        if skey in f.files:
            e = f.files.pop(skey)
            e.path_display = dst
            f.files[dkey] = e
            return entry_cls.success(f.metadata(e))
        # a folder: move the subtree
        for k in [k for k in f.folders if k == skey or k.startswith(skey + "/")]:
            disp = f.folders.pop(k)
            f.folders[dkey + k[len(skey):]] = dst + disp[len(src.rstrip("/")):]
        for k in [k for k in f.files if k.startswith(skey + "/")]:
            e = f.files.pop(k)
            e.path_display = dst + e.path_display[len(src.rstrip("/")):]
            f.files[dkey + k[len(skey):]] = e
        return entry_cls.success(f.folder_metadata(dkey))

    def _r_move_batch_check_v2(self, arg: Any, rest: int, fault: Fault | None) -> Any:
        f = self.fake
        with f.lock:
            job = f.jobs.get(arg.async_job_id)
            if job is None:
                raise _err409({".tag": "invalid_async_job_id"})
            polls_left, results = job
            if polls_left > 0:
                f.jobs[arg.async_job_id] = (polls_left - 1, results)
                return dbx_files.RelocationBatchV2JobStatus.in_progress
            return dbx_files.RelocationBatchV2JobStatus.complete(
                dbx_files.RelocationBatchV2Result(entries=results))

    def _r_delete_v2(self, arg: Any, rest: int, fault: Fault | None) -> Any:
        f = self.fake
        key = arg.path.lower().rstrip("/")
        with f.lock:
            md = f._lookup(arg.path)
            if md is None:
                raise _err409({".tag": "path_lookup", "path_lookup": {".tag": "not_found"}})
            for k in [k for k in f.files if k == key or k.startswith(key + "/")]:
                f.files.pop(k).blob.unlink(missing_ok=True)
            for k in [k for k in f.folders if k == key or k.startswith(key + "/")]:
                f.folders.pop(k)
        return dbx_files.DeleteResult(metadata=md)


def _contention_error(route: str) -> dict[str, Any]:
    """too_many_write_operations inside the route's own 409 error."""
    if route in ("files/upload", "files/upload_session/finish"):
        return {".tag": "path", "reason": {".tag": "too_many_write_operations"},
                "upload_session_id": "sess-none"}
    return {".tag": "too_many_write_operations"}  # delete_v2, finish_batch entries, ...


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Fake Dropbox API server (tests, bench)")
    p.add_argument("--dir", required=True, type=Path)
    p.add_argument("--refresh-token", default="rt-bench")
    args = p.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    fake = FakeDropbox(args.dir)
    with fake.lock:
        fake.refresh_tokens.add(args.refresh_token)
    fake.start()
    print(json.dumps({"port": fake.port, "ca": str(fake.ca_file), "host": fake.host}),
          flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
