"""One extraction at a time per target: the connector's OS lock (connector/oslock.py) on
state_dir/<target>.lock.

The daemon's scheduler and a separate `connector export --once` process take the same
lock, so full and changed runs never overlap. The OS releases the lock when its holder
dies, so a crash never leaves a stale lock behind. Who holds it (pid, mode, trigger,
start) sits in a small JSON file beside it, for the refusal message and for status.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from connector.errors import ConnectorError
from connector.oslock import OsLock


class ExtractBusy(ConnectorError):  # a refusal, reported as one line
    """Another extraction holds the lock; this one was refused."""


class RunLock:
    """`with RunLock(state_dir).hold(mode=..., trigger=..., entities=...):` or ExtractBusy."""

    def __init__(self, state_dir: Path, target: str = "extract") -> None:
        self._lock = OsLock(state_dir / f"{target}.lock")
        self.path = self._lock.path
        self.info_path = self._lock.info_path
        self._info: dict[str, Any] = {}

    def hold(self, *, mode: str, trigger: str, entities: list[str] | None,
             dry_run: bool = False) -> RunLock:
        self._info = {"pid": os.getpid(), "mode": mode, "trigger": trigger,
                      "entities": entities, "dry_run": dry_run, "started": time.time()}
        return self

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    def acquire(self) -> None:
        if not self._lock.try_acquire(self._info):
            raise ExtractBusy(self.refusal(), holder=self.holder())

    def release(self) -> None:
        self._lock.release()

    def holder(self) -> dict[str, Any] | None:
        """Who holds the lock now, or None when nobody does."""
        return self._lock.holder()

    def refusal(self) -> str:
        info = self.holder() or {}
        what = describe_holder(info)
        return (f"another extraction is already running ({what}); full and changed runs "
                "never overlap, so this run was refused: try again when it ends "
                "(`connector status` shows it)")


def describe_holder(info: dict[str, Any]) -> str:
    if not info:
        return "holder unknown"
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("started") or 0))
    entities = info.get("entities")
    scope = ", ".join(entities) if entities else "every tracciato"
    dry = " (dry run)" if info.get("dry_run") else ""
    return (f"{info.get('mode', '?')} run of {scope}{dry}, {info.get('trigger', '?')}, "
            f"pid {info.get('pid', '?')}, started {started}")
