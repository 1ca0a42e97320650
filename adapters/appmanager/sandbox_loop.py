"""The sandbox inside the daemon (sandbox.enabled): trials see orders land with nothing
else running. Given `enqueue_every` > 0 (sandbox.enqueue_every_seconds) it keeps queueing
demo orders, as agents' iPads would. connector/app.py builds it (`build_sandbox`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

from adapters.appmanager.sandbox import SandboxServer

log = structlog.get_logger(__name__)


class SandboxLoop:
    name = "sandbox"

    def __init__(self, start: Callable[[], SandboxServer], enqueue_every: float = 0.0) -> None:
        self.start = start  # a listening sandbox, or ConfigError (the port is taken)
        self.enqueue_every = enqueue_every

    def run(self, stop: threading.Event, beat: Callable[[], None]) -> None:
        server = self.start()
        every = self.enqueue_every
        next_at = time.monotonic() + every
        try:
            while not stop.wait(1.0):
                beat()
                if every > 0 and time.monotonic() >= next_at:
                    next_at = time.monotonic() + every
                    ids = server.enqueue_demo("orders", 1)
                    log.info("sandbox: an iPad sent a demo order", queue_id=ids[0])
        finally:
            server.close()
