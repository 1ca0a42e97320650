"""Sessions, the login rate limit, and the role check handlers call.

A session is a signed cookie (itsdangerous, the key in a 0600 file under the state
directory): {"u": user, "v": the user's password version, "c": CSRF token}. Signed, not
encrypted: it holds no secret but the CSRF token, which is the browser's own. A password
change moves the user's version, so every session made before it ends.
"""

from __future__ import annotations

import os
import secrets
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.exceptions import HTTPException
from starlette.requests import Request

SESSION_COOKIE = "console_session"
LOCALE_COOKIE = "console_locale"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass
class ConsoleSettings:
    """What the console needs beyond the backend (built from console: by `settings_for`)."""

    secret: bytes
    secure_cookies: bool = False  # under TLS: cookies are Secure
    session_seconds: float = 12 * 3600
    login_attempts: int = 5
    login_window_seconds: float = 300.0
    max_body_bytes: int = 100 * 1024 * 1024
    default_locale: str | None = None
    clock: Callable[[], float] = time.monotonic  # the rate limit's (tests move it)
    status_only: bool = False  # status.http: /healthz, /status, /metrics and nothing else
    extra: dict[str, Any] = field(default_factory=dict)


def load_secret(path: Path) -> bytes:
    """The session key in `path`, made (32 random bytes, mode 0600) the first time."""
    try:
        data = path.read_bytes().strip()
        if len(data) >= 32:
            return data
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    data = secrets.token_hex(32).encode()
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    if sys.platform != "win32":
        os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return data


class SessionCodec:
    def __init__(self, secret: bytes, max_age: float) -> None:
        self._s = URLSafeTimedSerializer(secret, salt="connector-console-session")
        self.max_age = max_age

    def dumps(self, data: dict[str, Any]) -> str:
        return str(self._s.dumps(data))

    def loads(self, value: str | None) -> dict[str, Any] | None:
        if not value:
            return None
        try:
            data = self._s.loads(value, max_age=int(self.max_age))
        except BadSignature:  # also SignatureExpired
            return None
        return data if isinstance(data, dict) else None


def new_token() -> str:
    return secrets.token_urlsafe(32)


class RateLimiter:
    """At most `attempts` failures per key within `window` seconds; then refused until the
    oldest failure leaves the window. Keys: the client address and the user name, so neither
    one client trying many names nor many clients trying one name get far."""

    def __init__(self, attempts: int, window: float, clock: Callable[[], float]) -> None:
        self.attempts = attempts
        self.window = window
        self.clock = clock
        self._fails: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _trim(self, key: str, now: float) -> deque[float]:
        q = self._fails.setdefault(key, deque())
        while q and now - q[0] >= self.window:
            q.popleft()
        return q

    def retry_after(self, *keys: str) -> float:
        """Seconds until a login may be tried again for these keys (0: now)."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                q = self._trim(key, now)
                if len(q) >= self.attempts:
                    wait = max(wait, self.window - (now - q[0]))
                if not q:
                    self._fails.pop(key, None)
        return wait

    MAX_KEYS = 10000  # beyond, keys whose failures left the window are forgotten

    def fail(self, *keys: str) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                self._trim(key, now).append(now)
            if len(self._fails) > self.MAX_KEYS:  # many names tried: memory stays bounded
                for key in list(self._fails):
                    if not self._trim(key, now):
                        del self._fails[key]

    def clear(self, key: str) -> None:
        with self._lock:
            self._fails.pop(key, None)


def require_admin(request: Request) -> None:
    """403 unless the user is an administrator (the middleware refuses a viewer's actions
    already; handlers say it again where it matters)."""
    user = getattr(request.state, "user", None)
    if user is None or user.role != "admin":
        raise HTTPException(403, "administrators only")
