"""The one OS file lock of the connector, on filelock's descriptor lock.

The lock is held by an open file (flock on POSIX, LockFileEx on Windows, both through
filelock), so it goes away with its process however that ends, SIGKILL included: a crash
never leaves a stale lock. Who holds it (a small JSON object: pid and what it does) sits
in `<lock>.json` beside it, written once the lock is ours, for the refusal message and
for status; Windows locks are mandatory, so it cannot live in the locked file itself.

Two locks are built on it: the instance lock here (one connector per state folder: the
daemon, and the one-shot commands that would do the daemon's work beside it) and the
extraction's run lock (connector/extract/lock.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

from filelock import lock_descriptor, unlock_descriptor

from connector.errors import ConnectorError, StateStoreError

# World-readable: other users' tools (ps, a monitor) may read who holds it.
_MODE = 0o644


class OsLock:
    """An exclusive lock on `path`, taken without waiting."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.info_path = path.with_name(path.name + ".json")
        self._fd: int | None = None
        self._info: dict[str, Any] = {}

    @property
    def held(self) -> bool:
        """This object holds the lock."""
        return self._fd is not None

    def try_acquire(self, info: dict[str, Any]) -> bool:
        """Take the lock and record `info` as its holder; False when another holds it.
        OSError when the lock file cannot be created or the OS cannot lock it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, _MODE)
        try:
            if not lock_descriptor(fd, blocking=False):
                os.close(fd)
                return False
            _write_info(self.info_path, info)
        except BaseException:
            os.close(fd)  # closing the descriptor drops the lock too
            raise
        self._fd, self._info = fd, dict(info)
        return True

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            with contextlib.suppress(OSError):  # no stale holder for the next reader
                self.info_path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                unlock_descriptor(fd)
        finally:
            os.close(fd)

    def holder(self) -> dict[str, Any] | None:
        """Who holds the lock now: None when nobody does, {} when the holder has not yet
        said who it is (or cannot be read)."""
        if self._fd is not None:
            return dict(self._info)
        try:
            fd = os.open(self.path, os.O_RDWR)
        except OSError:
            return None  # never taken here
        try:
            if lock_descriptor(fd, blocking=False):
                unlock_descriptor(fd)
                return None
        except OSError:
            pass  # cannot tell: treat as held, as a refusal would
        finally:
            os.close(fd)
        try:
            info = json.loads(self.info_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return info if isinstance(info, dict) else {}


def _write_info(path: Path, info: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as fp:
        json.dump(info, fp)
    os.replace(tmp, path)


# ---------------------------------------------------------------- the instance lock

LOCK_NAME = "connector.lock"
DAEMON = "daemon"


class AlreadyRunning(ConnectorError):
    def __init__(self, path: Path, pid: int | None, role: str | None = None) -> None:
        who = f"process {pid}" if pid else "another process"
        if role and role != DAEMON:
            who += f", `connector {role}`"
        super().__init__(f"another connector ({who}) already runs on this state directory "
                         f"(lock {path})", path=str(path), pid=pid)
        self.path = path
        self.pid = pid
        self.role = role

    @property
    def daemon(self) -> bool:
        """The holder is the daemon (or a connector too old to say what it is)."""
        return self.role in (None, DAEMON)


def _who(info: dict[str, Any] | None) -> tuple[int | None, str | None]:
    info = info or {}
    pid, role = info.get("pid"), info.get("role")
    return (pid if isinstance(pid, int) else None), (role if isinstance(role, str) else None)


def read_holder(path: Path) -> int | None:
    """The pid of the process that holds the lock file `path`, or None."""
    return _who(OsLock(path).holder())[0]


def holder_info(state_dir: Path) -> dict[str, Any] | None:
    """Who holds the instance lock (pid, role, started_at, version), or None when nobody."""
    return OsLock(state_dir / LOCK_NAME).holder()


def probe(state_dir: Path) -> tuple[bool, int | None]:
    """(held, pid): is a connector running on this state directory, and which one."""
    info = OsLock(state_dir / LOCK_NAME).holder()
    return info is not None, _who(info)[0]


class InstanceLock:
    """One connector per state directory: the daemon (role "daemon") and the one-shot
    commands that take it too (`import --once`, `retry`, `export --once`), so that they
    never do the daemon's work beside it."""

    def __init__(self, state_dir: Path, role: str = DAEMON, version: str | None = None) -> None:
        self._lock = OsLock(state_dir / LOCK_NAME)
        self.path = self._lock.path
        self.role = role
        self.version = version

    @property
    def held(self) -> bool:
        return self._lock.held

    def acquire(self) -> None:
        try:
            # When and which version: `connector status` shows the daemon's uptime and version.
            info: dict[str, Any] = {"pid": os.getpid(), "role": self.role,
                                    "started_at": time.time()}
            if self.version:
                info["version"] = self.version
            got = self._lock.try_acquire(info)
        except OSError as exc:
            raise StateStoreError(
                f"cannot create the instance lock {self.path} ({exc.strerror or exc}): the "
                f"state folder {self.path.parent} must exist and be writable by the user the "
                "connector runs as") from None
        if not got:
            raise AlreadyRunning(self.path, *_who(self._lock.holder()))

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()
