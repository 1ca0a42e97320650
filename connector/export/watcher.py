"""Watching the export folder: watchdog events feed the settle gate (connector.inbox).

watchdog events are only hints that put a path on the pending list; a full rescan at
start and every `rescan_seconds` is the truth (events are lost on queue overflow and
never arrive from network shares). A pending file is ready once its size and mtime have
not changed for `settle_seconds` (or, in done-marker mode, once `<name><marker>` exists).
"""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path

import structlog
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from connector.inbox import SettleGate

log = structlog.get_logger(__name__)


class _Hints(FileSystemEventHandler):
    def __init__(self, q: queue.SimpleQueue[str]) -> None:
        self.q = q

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        for attr in ("src_path", "dest_path"):
            p = getattr(event, attr, None)
            if p:
                self.q.put(os.fsdecode(p))


class FolderWatcher:
    """Owns the watchdog observer (recreated if it dies) and feeds the SettleGate."""

    def __init__(self, gate: SettleGate, *, polling: bool, poll_interval: float) -> None:
        self.gate = gate
        self.polling = polling
        self.poll_interval = poll_interval
        self.hints: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._observer: BaseObserver | None = None

    def start(self) -> None:
        self.gate.root.mkdir(parents=True, exist_ok=True)
        obs: BaseObserver = (PollingObserver(timeout=self.poll_interval) if self.polling
                             else Observer())
        obs.schedule(_Hints(self.hints), str(self.gate.root), recursive=True)
        try:
            obs.start()
        except OSError as exc:
            # inotify limits (ENOSPC/EMFILE): the rescan still finds everything, just later.
            log.warning("file events unavailable, relying on rescans", error=str(exc),
                        folder=str(self.gate.root))
            return
        self._observer = obs

    def healthy(self) -> bool:
        return self._observer is not None and self._observer.is_alive()

    def ensure_running(self) -> None:
        if self._observer is not None and not self._observer.is_alive():
            log.warning("file observer died, restarting it", folder=str(self.gate.root))
            self.stop()
            self.start()

    def drain_hints(self, wait: float, stop: threading.Event) -> None:
        """Move queued event paths into the gate, waiting up to `wait` for the first one."""
        try:
            first = self.hints.get(timeout=wait) if wait > 0 else self.hints.get_nowait()
        except queue.Empty:
            return
        self.gate.offer(Path(first))
        while not stop.is_set():
            try:
                self.gate.offer(Path(self.hints.get_nowait()))
            except queue.Empty:
                return

    def stop(self) -> None:
        obs, self._observer = self._observer, None
        if obs is not None:
            obs.stop()
            obs.join(timeout=5)
