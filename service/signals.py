"""Signals and stop requests, recorded for the main loop to act on (gunicorn's rule).

A handler only appends the signal to an inbox and writes a byte to a wakeup socket,
so the main loop's `wait()` returns at once. It never logs, never takes a lock and
never sets the stop event itself: the main loop does all of that. The one exception
is the "hurry up" path: a second SIGINT while a stop is already under way ends the
process at once with exit code 130, which is what an operator pressing Ctrl-C twice
expects.

The Windows service's SvcStop, which runs on another thread, posts the same TERM
request through `post()`, so both platforms stop along one path.
"""

from __future__ import annotations

import collections
import os
import select
import signal
import socket
import threading
from types import FrameType
from typing import Any

# What the main loop is asked to do; signal numbers differ across platforms, these do not.
STOP = "stop"
RELOAD = "reload"

EXIT_INTERRUPTED = 130


class SignalInbox:
    def __init__(self) -> None:
        self._pending: collections.deque[str] = collections.deque()
        self._rsock, self._wsock = socket.socketpair()
        self._rsock.setblocking(False)
        self._wsock.setblocking(False)
        self._stop_requested = False
        self.reason = ""  # what asked for the last stop: SIGTERM, SIGINT, "service stop"
        self._previous: dict[int, Any] = {}

    # Handlers ---------------------------------------------------------------------
    def install(self) -> bool:
        """Install the handlers; False (and nothing done) when not on the main thread."""
        if threading.current_thread() is not threading.main_thread():
            return False
        wanted = [signal.SIGTERM, signal.SIGINT]
        if hasattr(signal, "SIGHUP"):
            wanted.append(signal.SIGHUP)
        for signum in wanted:
            self._previous[signum] = signal.signal(signum, self._on_signal)
        return True

    def restore(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGINT and self._stop_requested:
            os._exit(EXIT_INTERRUPTED)  # Ctrl-C twice: the operator wants out now
        if signum in (signal.SIGTERM, signal.SIGINT):
            self._stop_requested = True
            self.reason = signal.Signals(signum).name
            self._pending.append(STOP)
        else:
            self._pending.append(RELOAD)
        self._wake()

    # Other threads (Windows SvcStop, tests) -----------------------------------------
    def post(self, what: str, reason: str = "stop requested") -> None:
        if what == STOP:
            self._stop_requested = True
            self.reason = reason
        self._pending.append(what)
        self._wake()

    def _wake(self) -> None:
        try:
            self._wsock.send(b"\0")
        except OSError:
            pass  # the buffer is full: the main loop is awake anyway

    # The main loop -------------------------------------------------------------------
    def wait(self, timeout: float) -> list[str]:
        """Return the requests received, waiting up to `timeout` seconds for the first."""
        if not self._pending:
            try:
                select.select([self._rsock], [], [], max(0.0, timeout))
            except InterruptedError:
                pass
        try:
            while self._rsock.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        out: list[str] = []
        while self._pending:
            out.append(self._pending.popleft())
        return out

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    def close(self) -> None:
        self.restore()
        self._rsock.close()
        self._wsock.close()
