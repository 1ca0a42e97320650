"""Writing the files sink's files into the ERP's import folder, none ever seen half-written,
each durable once written; and the ledger of the names landed.

Atomic: each file is written as `.~ic-<name>.<pid>.tmp` in the same folder (a dot name no
ERP glob matches), made durable, moved into place with os.replace, and the folder fsynced.
Durable: one file alone is fsynced; a batch is flushed with one syncfs(2) on Linux (one
disk flush for the whole batch instead of one per file), elsewhere with one fsync per file
from a small thread pool.

The ledger, `.connector-landed.log` in the folder: the names landed, appended after each
write, so that a name is known to have landed even once the ERP consumed (deleted) it.
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import structlog

from connector.errors import TransientError
from connector.fsutil import fsync_dir

log = structlog.get_logger(__name__)

LEDGER = ".connector-landed.log"
LEDGER_MODE = 0o600
FILE_MODE = 0o644
TMP_PREFIX = ".~ic-"

Files = list[tuple[str, bytes]]  # one record's files (name, bytes), its own file last


@dataclass(frozen=True)
class Failed:
    """A record of a batch not written: the error, and whether it was the one disk flush
    of the batch that failed (nothing of the batch was moved in then)."""

    error: OSError
    flushing: bool = False


# Per record of a batch: the names now in the folder, None when its own file was there
# already, or why it was not written.
Outcome = list[str] | Failed | None


class DurableFolder:
    """The import folder, written atomically and durably."""

    def __init__(self, path: Path, threads: int = 8) -> None:
        self.path = path
        self.threads = max(1, threads)
        self._pool: ThreadPoolExecutor | None = None

    def clean_temp_files(self) -> None:
        """Remove the temp files a crash left (older than five minutes)."""
        cutoff = time.time() - 300
        for p in self.path.glob(TMP_PREFIX + "*.tmp"):
            try:
                if p.stat().st_mtime < cutoff:
                    p.unlink()
            except OSError:
                pass

    def write_atomic(self, name: str, data: bytes, sync_dir: bool = True) -> None:
        tmp = self.path / f"{TMP_PREFIX}{name}.{os.getpid()}.tmp"
        try:
            # 0644 whatever the umask: the ERP (maybe another user) reads it, nobody else
            # may change an order before the ERP takes it.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _O_CLOEXEC, FILE_MODE)
            with open(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path / name)
        except BaseException:
            try:
                tmp.unlink()
            except OSError:
                pass
            raise
        if sync_dir:
            fsync_dir(self.path, strict=True)

    def sync(self) -> None:
        """fsync the folder (OSError when it fails)."""
        fsync_dir(self.path, strict=True)

    def write_batch(self, jobs: dict[int, Files]) -> dict[int, Outcome]:
        """Write each record's files (a file other than its own that is there already is
        skipped), the folder not fsynced yet (the caller does, once per batch)."""
        if _syncfs is not None and len(jobs) > 1:
            return self._write_batch_syncfs(jobs)
        return self._write_batch_threads(jobs)

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="files-sink")
        return self._pool

    def _write_batch_syncfs(self, jobs: dict[int, Files]) -> dict[int, Outcome]:
        """Linux: write every temp file, make them all durable with ONE syncfs(2), then
        rename each into place. Far fewer disk flushes than one fsync per file."""
        out: dict[int, Outcome] = {}
        staged: list[tuple[int, list[tuple[str, str]]]] = []
        pool = self._executor()
        # Creating files is slow on a busy disk (kernel time, without the GIL), so it
        # overlaps the caller's Python work, in two writer threads, each half the batch:
        # creations in one folder take the folder's lock in turn, so more threads only
        # spin in the kernel and switch more (measured: 8 threads cost more CPU than 2).
        todo = list(jobs.items())
        share = max(8, -(-len(todo) // min(self.threads, _STAGING_THREADS)))
        futures = [pool.submit(self._stage_many, todo[k:k + share])
                   for k in range(0, len(todo), share)]
        for fut in futures:
            for i, tmps in fut.result():
                if isinstance(tmps, OSError):
                    out[i] = Failed(tmps)
                elif tmps is None:
                    out[i] = None
                else:
                    staged.append((i, tmps))
        if not staged:
            return out
        try:
            _sync_filesystem(self.path)
        except OSError as exc:
            for i, tmps in staged:
                _unlink_all(t for t, _ in tmps)
                out[i] = Failed(exc, flushing=True)
            return out
        folder = os.fspath(self.path) + os.sep
        for i, tmps in staged:
            try:
                for tmp, name in tmps:
                    os.replace(tmp, folder + name)
            except OSError as exc:
                _unlink_all(t for t, _ in tmps)
                out[i] = Failed(exc)
                continue
            out[i] = [name for _, name in tmps]
        return out

    def _stage_many(self, jobs: list[tuple[int, Files]]
                    ) -> list[tuple[int, list[tuple[str, str]] | OSError | None]]:
        """(In a writer thread.) _stage for each record: its temp files, None when its own
        file is there already, or the OSError that stopped it."""
        out: list[tuple[int, list[tuple[str, str]] | OSError | None]] = []
        for i, files in jobs:
            try:
                out.append((i, self._stage(files)))
            except OSError as exc:
                out.append((i, exc))
        return out

    def _stage(self, files: Files) -> list[tuple[str, str]] | None:
        """(In a writer thread.) Write one record's temp files, not yet flushed; None when
        its own file is already there."""
        folder = os.fspath(self.path) + os.sep
        main = files[-1][0]
        if os.path.exists(folder + main):
            return None
        tmps: list[tuple[str, str]] = []
        pid = os.getpid()
        try:
            for name, data in files:
                if name != main and os.path.exists(folder + name):
                    continue
                tmp = f"{folder}{TMP_PREFIX}{name}.{pid}.tmp"
                tmps.append((tmp, name))
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _O_CLOEXEC, FILE_MODE)
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view):]
                finally:
                    os.close(fd)
        except BaseException:
            _unlink_all(t for t, _ in tmps)
            raise
        return tmps

    def _write_batch_threads(self, jobs: dict[int, Files]) -> dict[int, Outcome]:
        """Elsewhere: each file fsynced before its rename, by a small thread pool."""
        pool = self._executor()
        futures = [(i, pool.submit(self._write_files, files)) for i, files in jobs.items()]
        out: dict[int, Outcome] = {}
        for i, fut in futures:
            try:
                fresh = fut.result()
            except OSError as exc:
                out[i] = Failed(exc)
                continue
            out[i] = [n for n, _ in jobs[i]] if fresh else None
        return out

    def _write_files(self, files: Files) -> bool:
        """(In a writer thread.) Write one record's files unless its own file is already
        there; True when written. The folder is fsynced by the caller, once per batch."""
        if (self.path / files[-1][0]).exists():
            return False
        for name, data in files:
            if name != files[-1][0] and (self.path / name).exists():
                continue
            self.write_atomic(name, data, sync_dir=False)
        return True

    def take_back(self, names: list[str], why: OSError) -> bool:
        """Files written whose landing the ledger could not record (a full disk): removed
        again, so that the record is not delivered and its retry writes it afresh (an ERP
        that deletes what it imports would otherwise take it twice). False when the ERP
        took a file in the meantime: it is delivered, the ledger only misses its name."""
        gone = False
        for name in names:
            try:
                os.unlink(self.path / name)
            except FileNotFoundError:
                gone = True
            except OSError:
                pass
        try:
            fsync_dir(self.path, strict=True)
        except OSError:
            pass
        if gone:
            log.warning("the ERP took files whose names the ledger could not record",
                        files=names, error=why.strerror or str(why))
        return not gone

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


class Ledger:
    """The names landed in the folder (`LEDGER`), read incrementally: another process may
    append too."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LEDGER
        self._landed: set[str] = set()
        self._offset = 0

    def __contains__(self, name: str) -> bool:
        return name in self._landed

    def read(self) -> None:
        """Load the names appended since the last read. TransientError when it cannot."""
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self._offset)
                data = fh.read()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise TransientError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        end = data.rfind(b"\n") + 1  # a torn last line (crash while appending) is ignored
        for line in data[:end].decode("utf-8", "replace").splitlines():
            if line:
                self._landed.add(line)
        self._offset += end

    def append(self, names: list[str]) -> None:
        """Append the names, all or nothing: every write is checked, and a short write or
        an error (a full disk) truncates the ledger back to where it was and raises
        OSError. A line torn before (a crash mid-append) is ended first, so it never glues
        onto a name. Created 0600: the connector's own file.

        Not fsynced on purpose: the files are durable already, and the journal records
        them as delivered right after; the ledger only matters for a replay that an ERP
        which deletes imported files could otherwise turn into a second import."""
        data = "".join(n + "\n" for n in names).encode("utf-8")
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | _O_CLOEXEC, LEDGER_MODE)
        try:
            st = os.fstat(fd)
            if sys.platform != "win32" and st.st_mode & 0o077:
                try:
                    os.fchmod(fd, LEDGER_MODE)
                except OSError:
                    pass
            size = st.st_size
            if size and os.lseek(fd, size - 1, os.SEEK_SET) >= 0 and os.read(fd, 1) != b"\n":
                data = b"\n" + data
            view = memoryview(data)
            try:
                while view:
                    n = os.write(fd, view)
                    if n <= 0:
                        raise OSError(errno.EIO, "the ledger took no more bytes")
                    view = view[n:]
            except OSError:
                try:
                    os.ftruncate(fd, size)
                except OSError:
                    pass
                raise
        finally:
            os.close(fd)
        self._landed.update(names)

    def clear(self) -> None:
        self._landed.clear()


_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_STAGING_THREADS = 2


def _unlink_all(paths: Iterable[Path | str]) -> None:
    for p in paths:
        try:
            os.unlink(p)
        except OSError:
            pass


def _load_syncfs() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.syncfs
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int
    return cast(Callable[[int], int], fn)


_syncfs = _load_syncfs()


def _sync_filesystem(path: Path) -> None:
    """syncfs(2): flush all dirty data of the filesystem holding path, and wait."""
    assert _syncfs is not None
    fd = os.open(path, os.O_RDONLY)
    try:
        if _syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
    finally:
        os.close(fd)
