"""The geocoder's rate limit, kept in the state store so that it holds across processes.

The daemon's loop and a `connector geocode --once` started beside it share one provider
and one policy (public Nominatim: an absolute maximum of one request a second), so the
time of the next allowed request lives in a small SQLite file beside the state store
and is taken in a short IMMEDIATE transaction. That file is not fsynced: a mark lost in
a crash costs nothing, while an fsync between taking a turn and sending the request
would delay some requests and bunch them up as the provider sees them. Waits end when
the stop event is set. A provider's "come back in N seconds" (Retry-After) moves the
same mark, so every process pauses.

The guarantee, exact and testable without timing: two requests this limiter grants, in
this process or another on the same machine, are at least `interval` apart on `clock`.
The spacing is measured on the monotonic clock (system-wide on Linux, macOS and Windows,
so shared between processes; a wall-clock step cannot bunch requests), read inside the
transaction that moves the mark, so grants are serialised by the database lock and each
one is at or after the previous mark. A mark left by an earlier boot (or by an older
version, which stored wall-clock time) lies far ahead and is dropped. A pause asked by the
provider is wall-clock time: it outlives a reboot and `status` shows it as a time of day.
Both clocks and the wait are injectable: tests drive a fake clock and assert the spacing
of what was granted, not wall time.
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


def _wait(stop: threading.Event, seconds: float) -> bool:
    """Sleep until `seconds` have passed or stop is set; True when stopped."""
    return stop.wait(seconds)


class RateLimiter:
    def __init__(self, store: StateStore, provider: str, per_second: float,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time,
                 sleep: Callable[[threading.Event, float], bool] = _wait) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be > 0")
        self.store = _marks(store)
        self.provider = provider
        # 2% wider than the limit: a request a little late on the wire must not make the
        # next one look early to the provider.
        self.interval = 1.02 / per_second
        self.clock = clock
        self.wall = wall
        self.sleep = sleep
        self.last_granted_at: float | None = None  # on `clock`: what tests check the spacing of

    def acquire(self, stop: threading.Event, beat: Callable[[], None] = lambda: None) -> bool:
        """Wait for this process's turn; False when stop was set first."""
        while not stop.is_set():
            wait = self._try_take()
            if wait <= 0:
                return True
            beat()
            if self.sleep(stop, min(wait, 5.0)):
                return False
        return False

    def _try_take(self) -> float:
        self.store.execute("PRAGMA synchronous=OFF")  # per connection, and cheap
        with self.store.transaction() as conn:
            now = self.clock()
            wall = self.wall()
            row = conn.execute("SELECT next_at, paused_until FROM geocode_rate WHERE provider = ?",
                               (self.provider,)).fetchone()
            next_at = float(row["next_at"]) if row else 0.0
            paused = float(row["paused_until"] or 0.0) if row else 0.0
            if next_at - now > self.interval:
                # Only a mark of another boot (or a wall-clock mark of an older version) can
                # lie further ahead than one interval: it says nothing about the last request.
                next_at = now
            pause_left = paused - wall if paused > wall else 0.0
            wait = max(next_at - now, pause_left)
            if wait > 0:
                return wait
            conn.execute(
                "INSERT INTO geocode_rate(provider, next_at, paused_until) VALUES (?, ?, NULL) "
                "ON CONFLICT(provider) DO UPDATE SET next_at = excluded.next_at",
                (self.provider, now + self.interval))
            self.last_granted_at = now
            return 0.0

    def pause(self, seconds: float) -> None:
        """The provider asked us to wait: nobody asks it again before then."""
        until = self.wall() + max(0.0, seconds)
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
        return value if value > self.wall() else None


def paused_until(store: StateStore, provider: str) -> float | None:
    """For status: when the provider will be asked again, if it asked us to wait."""
    row = _marks(store).query_one("SELECT paused_until FROM geocode_rate WHERE provider = ?", (provider,))
    value = float(row["paused_until"] or 0.0) if row else 0.0
    return value if value > time.time() else None
