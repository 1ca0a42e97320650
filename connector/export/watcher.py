"""Finding finished files in the export folder.

watchdog events are only hints that put a path on the pending list; a full rescan at
start and every `rescan_seconds` is the truth (events are lost on queue overflow and
never arrive from network shares). A pending file is ready once its size and mtime have
not changed for `settle_seconds` (or, in done-marker mode, once `<name><marker>` exists).
"""

from __future__ import annotations

import os
import queue
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from connector.export.naming import is_ignored

log = structlog.get_logger(__name__)


@dataclass
class _Seen:
    size: int
    mtime_ns: int
    seen_at: float  # monotonic time this (size, mtime) was first seen
    since: float  # from when the file is known unchanged (seen_at, or earlier by its mtime)


# A file is never taken on its first sight: its size and mtime must be seen again this much later.
CONFIRM_SECONDS = 0.1


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


class SettleGate:
    """Tracks pending files and says which are finished."""

    def __init__(self, root: Path, settle_seconds: float, done_marker: str | None,
                 skip_dirs: tuple[Path, ...] = (),
                 accept: Callable[[str], bool] = lambda rel: True,
                 trust_mtime: bool = True) -> None:
        self.root = root
        self.settle = settle_seconds
        self.marker = done_marker
        self.skip_dirs = tuple(p.resolve() for p in skip_dirs)
        self.accept = accept  # files the pipeline has no use for are never pending
        # On a local disk a file has not changed since its mtime: that counts towards the
        # settle time, so a file seen late (file events arrive up to 0.5 s after the write)
        # is not held longer than needed. Writers keep the mtime current while they write,
        # and tools that preserve timestamps set them after the data. Not on network shares,
        # whose clocks may differ from ours.
        self.trust_mtime = trust_mtime
        self._seen: dict[str, _Seen] = {}

    def rel(self, path: Path) -> str | None:
        try:
            rel = path.relative_to(self.root).as_posix()
        except ValueError:
            return None
        return rel

    def offer(self, path: Path) -> None:
        rel = self.rel(path)
        if rel is None:
            return
        if self.marker and rel.endswith(self.marker):
            rel = rel[: -len(self.marker)]  # a marker makes its data file a candidate
        if rel in self._seen or is_ignored(rel, self.marker) or not self.accept(rel):
            return
        now = time.monotonic()
        self._seen.setdefault(rel, _Seen(-1, -1, now, now))

    def forget(self, rel: str) -> None:
        self._seen.pop(rel, None)

    @property
    def pending(self) -> list[str]:
        return sorted(self._seen)

    def poll(self, now: float | None = None) -> tuple[list[str], int]:
        """(ready files, how many are still settling). Vanished files are dropped."""
        now = time.monotonic() if now is None else now
        ready: list[str] = []
        settling = 0
        for rel, seen in list(self._seen.items()):
            path = self.root / rel
            try:
                # The name itself: a symbolic link, a pipe or a device settles like a file and
                # goes to the pipeline, which refuses it with a report (never reads through it).
                st = os.lstat(path)
            except FileNotFoundError:
                del self._seen[rel]
                continue
            except OSError:
                settling += 1
                continue
            if stat.S_ISDIR(st.st_mode):
                del self._seen[rel]
                continue
            if (st.st_size, st.st_mtime_ns) != (seen.size, seen.mtime_ns):
                since = now
                if self.trust_mtime:
                    age = time.time() - st.st_mtime_ns / 1e9
                    if age > 0:
                        since = now - min(age, self.settle)
                self._seen[rel] = _Seen(st.st_size, st.st_mtime_ns, now, since)
                settling += 1
                continue
            if now - seen.seen_at < min(CONFIRM_SECONDS, self.settle):
                settling += 1
                continue
            if self.marker:
                if (self.root / (rel + self.marker)).exists():
                    ready.append(rel)
                continue  # without its marker a file waits, however stable
            if now - seen.since >= self.settle:
                ready.append(rel)
            else:
                settling += 1
        return sorted(ready), settling

    def rescan(self) -> int:
        """Offer every file under the root (skipping archive/quarantine if they live inside)."""
        n = 0
        for dirpath, dirnames, filenames in os.walk(self.root):
            d = Path(dirpath)
            # os.walk never descends into a linked folder; the link itself is offered, so
            # the pipeline moves it aside with a report instead of leaving it unexplained.
            dirnames[:] = [x for x in dirnames if not x.startswith(".")
                           and (d / x).resolve() not in self.skip_dirs]
            links = [x for x in dirnames if (d / x).is_symlink()]
            dirnames[:] = [x for x in dirnames if x not in links]
            for name in filenames + links:
                self.offer(d / name)
                n += 1
        return n


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
