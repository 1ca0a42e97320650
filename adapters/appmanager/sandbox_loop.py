"""The sandbox inside the daemon (sandbox.enabled): trials see orders land with nothing
else running. With sandbox.enqueue_every_seconds > 0 it keeps queueing demo orders, as
agents' iPads would."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

from adapters.appmanager.sandbox import SandboxServer
from connector.config import Config
from connector.errors import ConfigError
from connector.state import StateStore

log = structlog.get_logger(__name__)


def start_server(cfg: Config) -> SandboxServer:
    """A listening sandbox, or a ConfigError naming sandbox.port (e.g. the port is taken)."""
    sb = cfg.sandbox
    server = SandboxServer(sb.db, host=sb.host, port=sb.port, auth_key=sb.auth_key,
                           project=sb.project, seed=sb.seed)
    try:
        server.start()
    except OSError as exc:
        server.close()
        raise ConfigError([f"sandbox.port: cannot listen on {cfg.sandbox.host}:"
                           f"{cfg.sandbox.port}: {exc.strerror or exc}"]) from None
    return server


class SandboxLoop:
    name = "sandbox"

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg

    def run(self, stop: threading.Event, beat: Callable[[], None]) -> None:
        server = start_server(self.cfg)
        every = self.cfg.sandbox.enqueue_every_seconds
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


def build_loops(cfg: Config, store: StateStore) -> list[SandboxLoop]:
    return [SandboxLoop(cfg)] if cfg.sandbox.enabled else []
