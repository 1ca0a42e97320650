"""One connector per state directory: an exclusive lock on <state_dir>/connector.lock.

The lock is held by the open file itself (fcntl.flock on POSIX, msvcrt.locking on
Windows), so it goes away with the process however it ends, SIGKILL included; the
file's text is the holder's pid and role ("daemon", or the one-shot command that holds it:
`connector import --once`, `retry`, `export --once` take it too, so that they never do
the daemon's work beside it), for the message a second one prints.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from connector.errors import ConnectorError, StateStoreError

LOCK_NAME = "connector.lock"
# Windows locks are mandatory: lock a byte well past the pid text so others can read it.
_WIN_LOCK_OFFSET = 1 << 20


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


def _holder(path: Path) -> tuple[int | None, str | None]:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None, None
    pid = int(lines[0].strip()) if lines and lines[0].strip().isdigit() else None
    role = lines[1].strip() if len(lines) > 1 and lines[1].strip() else None
    return pid, role


def read_holder(path: Path) -> int | None:
    """The pid written in a lock file, or None."""
    return _holder(path)[0]


def probe(state_dir: Path) -> tuple[bool, int | None]:
    """(held, pid): is a connector running on this state directory, and which one."""
    path = state_dir / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False, None
    try:
        try:
            _lock(fd)
        except OSError:
            return True, read_holder(path)
        _unlock(fd)
        return False, None
    finally:
        os.close(fd)


class InstanceLock:
    def __init__(self, state_dir: Path, role: str = DAEMON) -> None:
        self.path = state_dir / LOCK_NAME
        self.role = role
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StateStoreError(
                f"cannot create the instance lock {self.path} ({exc.strerror or exc}): the "
                f"state folder {self.path.parent} must exist and be writable by the user the "
                "connector runs as") from None
        try:
            _lock(fd)
        except OSError:
            os.close(fd)
            raise AlreadyRunning(self.path, *_holder(self.path)) from None
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n{self.role}\n".encode())
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)  # no stale pid for the next reader
            _unlock(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


if sys.platform == "win32":
    import msvcrt

    def _lock(fd: int) -> None:
        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int) -> None:
        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
