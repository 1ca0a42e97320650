"""The geocoder's rate limit, kept in the state store so that it holds across processes.

The daemon's loop and a `connector geocode --once` started beside it share one provider
and one policy (public Nominatim: an absolute maximum of one request a second), so the
time of the next allowed request lives in a small SQLite file beside the state store
and is taken in a short IMMEDIATE transaction. That file is not fsynced: a mark lost in
a crash costs nothing, while an fsync between taking a turn and sending the request
would delay some requests and bunch them up as the provider sees them. Waits end when
the stop event is set. A provider's "come back in N seconds" (Retry-After) moves the
same mark, so every process pauses.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from connector.state import StateStore

DDL = """
CREATE TABLE IF NOT EXISTS geocode_rate (
    provider TEXT PRIMARY KEY, next_at REAL NOT NULL, paused_until REAL);
"""


FILENAME = "geocode-rate.sqlite"


def _marks(store: StateStore) -> StateStore:
    marks = StateStore(store.dir, FILENAME)
    marks.ensure_schema("geocode_rate", DDL)
    return marks


class RateLimiter:
    def __init__(self, store: StateStore, provider: str, per_second: float,
                 clock: Callable[[], float] = time.time) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be > 0")
        self.store = _marks(store)
        self.provider = provider
        # 2% wider than the limit: a request a little late on the wire must not make the
        # next one look early to the provider.
        self.interval = 1.02 / per_second
        self.clock = clock

    def acquire(self, stop: threading.Event, beat: Callable[[], None] = lambda: None) -> bool:
        """Wait for this process's turn; False when stop was set first."""
        while not stop.is_set():
            wait = self._try_take()
            if wait <= 0:
                return True
            beat()
            if stop.wait(min(wait, 5.0)):
                return False
        return False

    def _try_take(self) -> float:
        self.store.execute("PRAGMA synchronous=OFF")  # per connection, and cheap
        with self.store.transaction() as conn:
            now = self.clock()
            row = conn.execute("SELECT next_at, paused_until FROM geocode_rate WHERE provider = ?",
                               (self.provider,)).fetchone()
            next_at = float(row["next_at"]) if row else 0.0
            paused = float(row["paused_until"] or 0.0) if row else 0.0
            if next_at - now > self.interval and paused <= now:
                next_at = now  # the wall clock went back: do not wait for the old mark
            ready = max(next_at, paused)
            if now < ready:
                return ready - now
            conn.execute(
                "INSERT INTO geocode_rate(provider, next_at, paused_until) VALUES (?, ?, NULL) "
                "ON CONFLICT(provider) DO UPDATE SET next_at = excluded.next_at",
                (self.provider, now + self.interval))
            return 0.0

    def pause(self, seconds: float) -> None:
        """The provider asked us to wait: nobody asks it again before then."""
        until = self.clock() + max(0.0, seconds)
        self.store.execute("PRAGMA synchronous=OFF")
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO geocode_rate(provider, next_at, paused_until) VALUES (?, 0, ?) "
                "ON CONFLICT(provider) DO UPDATE SET paused_until = MAX(COALESCE("
                "paused_until, 0), excluded.paused_until)", (self.provider, until))

    def paused_until(self) -> float | None:
        row = self.store.query_one("SELECT paused_until FROM geocode_rate WHERE provider = ?",
                                   (self.provider,))
        value = float(row["paused_until"] or 0.0) if row else 0.0
        return value if value > self.clock() else None


def paused_until(store: StateStore, provider: str) -> float | None:
    """For status: when the provider will be asked again, if it asked us to wait."""
    row = _marks(store).query_one("SELECT paused_until FROM geocode_rate WHERE provider = ?", (provider,))
    value = float(row["paused_until"] or 0.0) if row else 0.0
    return value if value > time.time() else None
