"""Flow control for uploads: one retry policy, adaptive write concurrency, a memory budget."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import structlog
import tenacity

from adapters.dropbox_api.errors import LockContention, translate
from connector import metrics
from connector.errors import StopRequested
from connector.retry import retrying

log = structlog.get_logger(__name__)
T = TypeVar("T")

BATCH_LIMIT = 1000  # entries per finish_batch_v2 / move_batch_v2 call
# Dropbox allows one commit (finish_batch, move_batch) in flight per account; one process
# publishes one company.
COMMIT_LOCK = threading.Lock()


class AdaptiveLimit:
    """How many upload requests may run at once. Halved on write-lock contention
    (too_many_write_operations), raised by one after a run of successes (AIMD)."""

    RAISE_AFTER = 16

    def __init__(self, maximum: int) -> None:
        self.maximum = max(1, maximum)
        self.limit = self.maximum
        self._active = 0
        self._successes = 0
        self._cond = threading.Condition()
        metrics.set_gauge("connector_dropbox_api_concurrency", self.limit,
                          "Upload requests the Dropbox API publisher runs at once")

    @contextlib.contextmanager
    def slot(self, stop: threading.Event) -> Iterator[None]:
        with self._cond:
            while self._active >= self.limit:
                if stop.is_set():
                    raise StopRequested("stop requested while waiting for an upload slot")
                self._cond.wait(0.2)
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    def decrease(self, what: str) -> None:
        with self._cond:
            new = max(1, self.limit // 2)
            self._successes = 0
            if new != self.limit:
                log.warning("dropbox_concurrency_lowered", what=what, was=self.limit, now=new)
                self.limit = new
                metrics.set_gauge("connector_dropbox_api_concurrency", new)

    def success(self) -> None:
        with self._cond:
            self._successes += 1
            if self._successes >= self.RAISE_AFTER and self.limit < self.maximum:
                self.limit += 1
                self._successes = 0
                metrics.set_gauge("connector_dropbox_api_concurrency", self.limit)
                self._cond.notify_all()


class ByteBudget:
    """Bytes of file data held in memory at once across all upload workers."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._used = 0
        self._cond = threading.Condition()

    @contextlib.contextmanager
    def take(self, n: int, stop: threading.Event) -> Iterator[None]:
        n = min(n, self.capacity)
        with self._cond:
            while self._used + n > self.capacity:
                if stop.is_set():
                    raise StopRequested("stop requested while waiting for memory budget")
                self._cond.wait(0.2)
            self._used += n
        try:
            yield
        finally:
            with self._cond:
                self._used -= n
                self._cond.notify_all()


class Caller:
    """Runs SDK calls: translated errors, our retry policy, stop-aware waits."""

    def __init__(self, stop: threading.Event, attempts: int, limit: AdaptiveLimit,
                 initial: float = 0.5, maximum: float = 30.0) -> None:
        self.stop = stop
        self.attempts = attempts
        self.limit = limit
        self.initial = initial
        self.maximum = maximum

    def retry(self, what: str) -> tenacity.Retrying:
        return retrying(attempts=self.attempts, initial=self.initial, maximum=self.maximum,
                        stop=self.stop, what=what)

    def invoke(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """One try; failures come out as connector errors."""
        if self.stop.is_set():
            raise StopRequested(f"stop requested before {what}")
        metrics.inc("connector_dropbox_api_requests_total", 1.0,
                    "HTTP requests the Dropbox API publisher made", route=what)
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # translated right here, in one place
            err = translate(exc, what)
            if isinstance(err, LockContention):
                self.limit.decrease(what)
            raise err from exc

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Retried through the one policy (TransientError and RateLimited only)."""
        for attempt in self.retry(what):
            with attempt:
                return self.invoke(what, fn, *args, **kwargs)
        raise AssertionError("unreachable: tenacity reraises the last error")
