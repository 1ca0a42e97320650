"""HTTP with our rules, for AppManager and the License Manager: nothing from the network
is trusted.

- TLS is always verified (a private CA may be given; verification is never switched off).
- Timeouts: connect and read (per socket read), and a deadline for the whole exchange
  (`deadline`, seconds): a server that trickles its answer a byte at a time is cut off
  when the deadline passes, not kept alive forever by the per-read timeout. A watchdog
  timer shuts the connection's socket down at the deadline, which ends a blocked read
  in the requesting thread at once, the answer's headers included.
- Size: the answer is read in chunks and refused as soon as it passes `max_bytes`
  (decompressed size), so memory stays bounded whatever the server sends.
- Redirects are followed by hand: only to the same scheme, host and port (at most
  MAX_REDIRECTS), never elsewhere, so the authKey in the query string never travels to
  another host or over plain HTTP. A refused redirect names both URLs, secrets masked.
- Retries: connection errors, timeouts, 5xx and 429 (Retry-After honoured) through
  connector.retry; what retrying cannot fix (TLS, size, refused redirect, the deadline)
  is not retried within the call.
- Every URL and message is redacted before it reaches a log line or an exception, and
  exceptions are raised `from None` so the library's text (which holds the URL) is not
  chained into a traceback.
"""

from __future__ import annotations

import email.utils
import socket
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import requests
import requests.adapters
import structlog
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from connector.errors import (
    AuthError,
    ConnectorError,
    PermanentError,
    RateLimited,
    TransientError,
    network_reason,
)
from connector.logsetup import mask_secrets, redact
from connector.retry import retrying

log = structlog.get_logger(__name__)
T = TypeVar("T")

MAX_REDIRECTS = 5
# AppManager's biggest plausible page (50 orders of 100 rows of about 1 KB each) is a few
# MB; 64 MB is ten times that, and what decoding it costs stays a few hundred MB of memory.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_DEADLINE = 60.0  # below the loops' heartbeat timeout (120 s): a stuck call is not a hung loop
_CHUNK = 64 * 1024
_REDIRECTS = (301, 302, 303, 307, 308)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _site(url: str) -> str:
    """The URL without its query (which may carry the key): what the operator checks."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1  # unreadable: matches nothing
    if port is None:
        port = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


# The deadline watchdog --------------------------------------------------------------------
class _Deadline:
    """One exchange's deadline: at `at` (monotonic) the connection in use is shut down."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.expired = False
        self._conn: Any = None
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._arm(seconds)

    def _arm(self, seconds: float) -> None:
        self._timer = threading.Timer(max(0.0, seconds), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def attach(self, conn: Any) -> None:
        with self._lock:
            self._conn = conn
            late = self.expired
        if late:
            self._shutdown()

    def _expire(self) -> None:
        with self._lock:
            if self._timer is None:
                return  # finished meanwhile
            self.expired = True
        if not self._shutdown():
            with self._lock:  # still connecting (bounded by the connect timeout): look again
                if self._timer is not None:
                    self._arm(0.05)

    def _shutdown(self) -> bool:
        with self._lock:
            conn = self._conn
        sock = getattr(conn, "sock", None)
        if sock is None:
            return False
        try:
            # The plain socket's shutdown, also under TLS: it ends a read blocked in another
            # thread at once, without touching the TLS object that thread is using.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass
        return True

    def left(self) -> float:
        return self.at - time.monotonic()

    def cancel(self) -> None:
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()


_active = threading.local()  # the deadline of the exchange this thread is making


def _attach(conn: Any) -> None:
    deadline: _Deadline | None = getattr(_active, "deadline", None)
    if deadline is not None:
        deadline.attach(conn)


class _DeadlineHTTPPool(HTTPConnectionPool):
    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        _attach(conn)
        return conn


class _DeadlineHTTPSPool(HTTPSConnectionPool):
    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        _attach(conn)
        return conn


_POOLS = {"http": _DeadlineHTTPPool, "https": _DeadlineHTTPSPool}


class _Adapter(requests.adapters.HTTPAdapter):
    """requests' adapter whose connection pools report each connection they hand out to
    the exchange's deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


class _Stop(Exception):  # not an error of ours: carries one out of the retry loop
    """What retrying cannot fix: ends the retry loop, re-raised as `error` by `call`."""

    def __init__(self, error: ConnectorError) -> None:
        super().__init__(str(error))
        self.error = error


class HttpJson:
    """requests with our rules: timeouts and a deadline, verified TLS, a size bound,
    same-origin redirects only, retries, redacted errors."""

    def __init__(self, *, what: str, connect_timeout: float = 5.0, read_timeout: float = 30.0,
                 attempts: int = 5, ca_bundle: Path | str | None = None,
                 stop: threading.Event | None = None, retry_initial: float = 0.5,
                 retry_max: float = 30.0, secrets: tuple[str, ...] = (),
                 session: requests.Session | None = None,
                 max_bytes: int = DEFAULT_MAX_BYTES,
                 deadline: float = DEFAULT_DEADLINE) -> None:
        self.what = what
        self.timeout = (connect_timeout, read_timeout)
        self.verify: str | bool = str(ca_bundle) if ca_bundle else True
        self.attempts = max(1, attempts)
        self.stop = stop
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.max_bytes = max(1, int(max_bytes))
        self.deadline = max(0.001, float(deadline))
        self._secrets = tuple(s for s in secrets if s)
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", "icommerce-connector")
        adapter = _Adapter()
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def clean(self, text: str) -> str:
        return mask_secrets(redact(text), self._secrets)

    def call(self, method: str, url: str, decode: Callable[[bytes], T], *,
             params: Mapping[str, Any] | None = None, json_body: Any = None, shown: str) -> T:
        """One request with retries; returns what `decode` makes of the answer's body (a
        200). `decode` runs inside the attempt: a TransientError from it (an answer that is
        not JSON, say a proxy's error page) is retried like a failed request. `shown` names
        the call in logs and errors (never with secrets)."""
        try:
            for attempt in retrying(attempts=self.attempts, initial=self.retry_initial,
                                    maximum=self.retry_max, stop=self.stop,
                                    what=f"{self.what} {shown}"):
                with attempt:
                    return decode(self._once(method, url, params, json_body, shown))
        except _Stop as stop:
            raise stop.error from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, method: str, url: str, params: Mapping[str, Any] | None, json_body: Any,
              shown: str) -> bytes:
        started = time.monotonic()
        deadline = _Deadline(self.deadline)
        _active.deadline = deadline
        resp: requests.Response | None = None
        body = b""
        try:
            resp = self._follow(method, url, params, json_body, shown, deadline)
            code = resp.status_code
            if code == 200:
                body = self._read(resp, shown, deadline)
        except requests.exceptions.RequestException as exc:
            if deadline.expired:
                raise self._too_slow(shown) from None
            if isinstance(exc, requests.exceptions.SSLError):
                # Not retried: an untrusted certificate does not fix itself in seconds (the
                # next cycle tries again). Verification is never switched off.
                raise _Stop(PermanentError(f"{self.what}: TLS verification failed for "
                                           f"{shown}: {self.clean(str(exc))}")) from None
            if isinstance(exc, requests.Timeout):
                raise TransientError(f"{self.what}: no answer within {self.timeout[1]:g} s "
                                     f"for {shown}") from None
            # In words, with where: urllib3's text (pools, retries, Caused by...) goes to
            # the debug log only.
            log.debug("http connection failed", call=self.what, request=shown,
                      error=self.clean(f"{type(exc).__name__}: {exc}"))
            raise TransientError(f"{self.what}: cannot reach {self.clean(_site(url))} "
                                 f"({network_reason(exc)}) for {shown}") from None
        finally:
            _active.deadline = None
            deadline.cancel()
            if resp is not None:
                resp.close()
        if deadline.expired:
            raise self._too_slow(shown)
        log.debug("http", call=self.what, request=shown, status=code,
                  ms=round((time.monotonic() - started) * 1000, 1))
        if code == 429:
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            raise RateLimited(f"{self.what}: rate limited (HTTP 429) on {shown}",
                              retry_after=retry_after)
        if code >= 500:
            raise TransientError(f"{self.what}: server error HTTP {code} on {shown}")
        if code in (401, 403):
            raise _Stop(AuthError(f"{self.what}: the key was refused (HTTP {code}) on {shown}; "
                                  "check the environment variable that holds it"))
        if code in _REDIRECTS:
            raise _Stop(PermanentError(f"{self.what}: more than {MAX_REDIRECTS} redirects for "
                                       f"{shown}"))
        if code != 200:
            raise _Stop(PermanentError(f"{self.what}: HTTP {code} on {shown}"))
        return body

    def _follow(self, method: str, url: str, params: Mapping[str, Any] | None, json_body: Any,
                shown: str, deadline: _Deadline) -> requests.Response:
        """The answer, after same-origin redirects (a refused one raises)."""
        first = origin(url)
        current = url
        for hop in range(MAX_REDIRECTS + 1):
            timeout = (min(self.timeout[0], max(0.001, deadline.left())), self.timeout[1])
            resp = self.session.request(method, current, params=params, json=json_body,
                                        timeout=timeout, verify=self.verify,
                                        allow_redirects=False, stream=True)
            location = resp.headers.get("Location")
            if resp.status_code not in _REDIRECTS or not location or hop == MAX_REDIRECTS:
                return resp
            target = urljoin(resp.url or current, location)
            resp.close()
            if origin(target) != first:
                raise _Stop(PermanentError(
                    f"{self.what}: refused a redirect for {shown} from "
                    f"{self.clean(resp.url or current)} to {self.clean(target)}: the "
                    "connector follows redirects only to the same scheme, host and port, so "
                    "the key never goes elsewhere; correct the configured URL"))
            log.info("following a redirect", call=self.what, request=shown,
                     to=self.clean(target))
            # The server's own URL from here on (it names its query itself); a 303, and a
            # 301/302 after a POST, become a GET without body, as browsers and requests do.
            params = None
            if resp.status_code == 303 or (resp.status_code in (301, 302) and method == "POST"):
                method, json_body = "GET", None
            current = target
        raise AssertionError("unreachable")  # pragma: no cover

    def _read(self, resp: requests.Response, shown: str, deadline: _Deadline) -> bytes:
        """The body, read in chunks: refused past max_bytes (counted after decompression)."""
        declared = resp.headers.get("Content-Length", "")
        if declared.strip().isdigit() and int(declared) > self.max_bytes:
            raise _Stop(self._too_big(shown, f"declares {int(declared)} bytes"))
        chunks: list[bytes] = []
        size = 0
        for chunk in resp.iter_content(_CHUNK):
            size += len(chunk)
            if size > self.max_bytes:
                raise _Stop(self._too_big(shown, f"passed {self.max_bytes} bytes"))
            chunks.append(chunk)
            if deadline.expired:
                break
        return b"".join(chunks)

    def _too_big(self, shown: str, how: str) -> PermanentError:
        mb = self.max_bytes / (1024 * 1024)
        return PermanentError(f"{self.what}: the answer to {shown} {how}, more than the "
                              f"{mb:g} MB allowed (import.appmanager.max_answer_mb); lower "
                              "import.appmanager.page_size, or raise the limit if the pages "
                              "really are that big")

    def _too_slow(self, shown: str) -> _Stop:
        return _Stop(TransientError(
            f"{self.what}: no complete answer to {shown} within {self.deadline:g} s "
            "(import.appmanager.request_deadline_seconds): the server is too slow or "
            "trickling; tried again at the next cycle"))

    def close(self) -> None:
        self.session.close()
