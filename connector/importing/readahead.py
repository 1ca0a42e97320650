"""Reading a stream's pages ahead, in their own thread.

A raw page names its last item's queue id, so the next page (lastID = that id) can be asked
for the moment a full page has arrived, without waiting for the poller to decode and
journal it. The thread keeps up to `depth` pages ahead of the poller, so the poller, which
is the slowest stage, never waits for the server. It only reads: the stream's mark moves
with the poller's journal transactions alone, so dropping what was read ahead (a stop, an
error, a crash) only means reading it again.

The poller checks every page; when the lastID it wants next is not the one this thread
went on with (items out of id order, a last item without a readable id), `restart(last_id)`
drops what is ahead and begins again from there. A page whose next lastID is known only
once it is decoded (a feed without raw pages: `next_id` says None) is read one at a time.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")  # what a fetch returns: a page, raw or decoded


class ReadAhead(Generic[T]):
    def __init__(self, fetch: Callable[[str, int, int], T], stream: str, page_size: int,
                 next_id: Callable[[int, T], int | None], stop: threading.Event,
                 depth: int = 3) -> None:
        self._fetch = fetch
        self._stream = stream
        self._page_size = page_size
        self._next_id = next_id
        self._stop = stop
        self._depth = max(1, depth)
        self._cond = threading.Condition()
        self._ready: deque[tuple[int, T | BaseException]] = deque()
        self._want: int | None = None  # the lastID to ask for next; None: nothing to ask
        self._busy = False             # a request is in flight
        self._generation = 0           # bumped by restart: answers of older ones are dropped
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"fetch-{stream}", daemon=True)
        self._thread.start()

    def restart(self, last_id: int | None) -> None:
        """Drop what is ahead; go on from `last_id` (None: ask for nothing more)."""
        with self._cond:
            self._generation += 1
            self._ready.clear()
            self._want = last_id
            self._cond.notify_all()

    def get(self) -> tuple[int, T]:
        """The next page and the lastID it was asked with, once it is there. The fetch's
        error, if it failed. Call only when a page was asked for (restart, or a full page
        before)."""
        with self._cond:
            while not self._ready:
                if self._want is None and not self._busy:
                    raise RuntimeError("no page was asked for")
                self._cond.wait()
            asked, got = self._ready.popleft()
            self._cond.notify_all()
        if isinstance(got, BaseException):
            raise got
        return asked, got

    def close(self) -> None:
        """Stop asking; wait for a request in flight (the feed is not shared between
        threads)."""
        with self._cond:
            self._closed = True
            self._want = None
            self._cond.notify_all()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (self._want is None
                                            or len(self._ready) >= self._depth):
                    self._cond.wait()
                if self._closed:
                    return
                asked, generation = self._want, self._generation
                assert asked is not None
                self._want = None
                self._busy = True
            nxt: int | None = None
            got: T | BaseException
            try:
                fetched = self._fetch(self._stream, asked, self._page_size)
                got = fetched
                if not self._stop.is_set():
                    nxt = self._next_id(asked, fetched)
            except BaseException as exc:  # noqa: BLE001 - handed to the poller, raised there
                got = exc
            with self._cond:
                self._busy = False
                if generation == self._generation and not self._closed:
                    self._ready.append((asked, got))
                    if nxt is not None:
                        self._want = nxt
                self._cond.notify_all()
