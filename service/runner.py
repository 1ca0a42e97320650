"""The process life of `connector run` (minimal form; service/ grows it)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import structlog

from connector.app import Daemon
from connector.config import load_config
from connector.logsetup import configure_logging


def run_daemon(config_path: str | Path | None, debug: bool = False) -> int:
    cfg = load_config(config_path)
    configure_logging("debug" if debug else cfg.log.level, cfg.log.dir, cfg.log.format,
                      cfg.log.max_bytes, cfg.log.backups)
    log = structlog.get_logger("connector")
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    daemon = Daemon(cfg)
    daemon.start(stop)
    log.info("connector started", config=str(cfg.source_path), loops=[lp.name for lp in daemon.loops])
    while not stop.wait(1.0):
        pass
    log.info("stopping")
    daemon.join(cfg.service.stop_deadline_seconds)
    log.info("stopped")
    return 0
