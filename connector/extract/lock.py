"""One extraction at a time per target: an OS file lock in state_dir.

The daemon's scheduler and a separate `connector export --once` process take the same
lock, so full and changed runs never overlap. The OS releases the lock when its holder
dies, so a crash never leaves a stale lock behind. Who holds it (pid, mode, trigger,
start) sits in a small JSON file beside it, for the refusal message and for status.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from connector.errors import ConnectorError


class ExtractBusy(ConnectorError):  # noqa: N818 - a refusal, reported as one line
    """Another extraction holds the lock; this one was refused."""


def _try_lock(fp: IO[bytes]) -> bool:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            fp.seek(0)  # the lock covers byte 0 of the (empty) lock file in every process
            msvcrt.locking(fp.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fp.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _unlock(fp: IO[bytes]) -> None:
    if sys.platform == "win32":  # pragma: no cover
        import msvcrt

        fp.seek(0)
        msvcrt.locking(fp.fileno(), msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fp.fileno(), fcntl.LOCK_UN)


class RunLock:
    """`with RunLock(state_dir).hold(mode=..., trigger=..., entities=...):` or ExtractBusy."""

    def __init__(self, state_dir: Path, target: str = "extract") -> None:
        self.path = state_dir / f"{target}.lock"
        self.info_path = state_dir / f"{target}.lock.json"
        self._fp: IO[bytes] | None = None
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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fp = open(self.path, "a+b")  # noqa: SIM115 - held open for the lock's lifetime
        if not _try_lock(fp):
            fp.close()
            raise ExtractBusy(self.refusal(), holder=self.holder())
        self._fp = fp
        tmp = self.info_path.with_name(self.info_path.name + ".tmp")
        tmp.write_text(json.dumps(self._info), encoding="utf-8")
        os.replace(tmp, self.info_path)

    def release(self) -> None:
        if self._fp is None:
            return
        try:
            self.info_path.unlink(missing_ok=True)
        finally:
            _unlock(self._fp)
            self._fp.close()
            self._fp = None

    def holder(self) -> dict[str, Any] | None:
        """Who holds the lock now, or None when nobody does."""
        if self._fp is not None:
            return dict(self._info)
        try:
            with open(self.path, "a+b") as fp:
                if _try_lock(fp):
                    _unlock(fp)
                    return None
        except OSError:
            return None
        try:
            info: dict[str, Any] = json.loads(self.info_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # held, but the holder is still writing who it is
        return info

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
