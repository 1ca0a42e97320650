"""A folder others drop files into: which of its files are finished, and where each one
goes when the connector is done with it. The ERP's export folder (connector/export) and
AppManager's return-file folder (connector/legacy) are both one.

- Settle (SettleGate): a file is taken only when it is finished: its size and mtime seen
  unchanged for settle_seconds (or, in done-marker mode, once `<name><marker>` exists),
  never on its first sight. An empty file waits empty_settle_seconds instead (when
  set): a writer that creates its file first and fills it later (a shell redirect, an
  ERP that opens its output and then runs its query) must not have the empty file taken.
  Temporary names that ERPs, Office, editors and the sync
  clients use are never taken (is_ignored).
- Archive by day (Inbox.archive): a file done with moves to
  `<archive>/<YYYY-MM-DD>/<its folder>/`, or is deleted when there is no archive.
- Quarantine with a report (Inbox.quarantine): a refused file moves to
  `<quarantine>/<its folder>/` beside `<name>.errors.txt`. The report is written first,
  so a crash in between leaves the file where it was (judged again, quarantined again),
  never a quarantined file that nothing explains.

Names are read, moved and removed without following links (fsutil's *_inside functions):
a link is moved as the link itself, never what it points to; a file never replaces an
older one of the same name (`name (2).ext`).
"""

from __future__ import annotations

import fnmatch
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from connector.fsutil import (
    UnsafePath,
    atomic_writer,
    fsync_dir,
    move_inside,
    open_inside,
    unique_destination,
    unlink_inside,
)

_IGNORED_GLOBS = (
    "~$*", "~*", ".~*", "*.tmp", "*.temp", "*.part", "*.partial", "*.crdownload", "*.download",
    "*.swp", "*.swx", "*~", ".*", "*.bak", "*.lock", "*.lck", "Thumbs.db", "desktop.ini",
    "*.errors.txt",
)


def is_ignored(rel: str, done_marker: str | None = None) -> bool:
    """Temporary or hidden names, and done markers themselves."""
    parts = PurePosixPath(rel).parts
    if any(p.startswith(".") for p in parts):
        return True
    base = parts[-1]
    if done_marker and base.endswith(done_marker):
        return True
    return any(fnmatch.fnmatchcase(base.lower(), g.lower()) for g in _IGNORED_GLOBS)


@dataclass
class _Seen:
    size: int
    mtime_ns: int
    seen_at: float  # monotonic time this (size, mtime) was first seen
    since: float  # from when the file is known unchanged (seen_at, or earlier by its mtime)


# A file is never taken on its first sight: its size and mtime must be seen again this much later.
CONFIRM_SECONDS = 0.1


class SettleGate:
    """Tracks pending files and says which are finished."""

    def __init__(self, root: Path, settle_seconds: float, done_marker: str | None,
                 skip_dirs: tuple[Path, ...] = (),
                 accept: Callable[[str], bool] = lambda rel: True,
                 trust_mtime: bool = True, flat: bool = False,
                 empty_settle_seconds: float | None = None) -> None:
        self.root = root
        self.settle = settle_seconds
        # None: an empty file settles like any other. Never shorter than settle_seconds.
        self.empty_settle = max(settle_seconds, empty_settle_seconds or 0.0)
        self.marker = done_marker
        self.skip_dirs = tuple(p.resolve() for p in skip_dirs)
        self.accept = accept  # files the pipeline has no use for are never pending
        # On a local disk a file has not changed since its mtime: that counts towards the
        # settle time, so a file seen late (file events arrive up to 0.5 s after the write)
        # is not held longer than needed. Writers keep the mtime current while they write,
        # and tools that preserve timestamps set them after the data. Not on network shares,
        # whose clocks may differ from ours.
        self.trust_mtime = trust_mtime
        self.flat = flat  # only the folder itself, not its subfolders
        self._seen: dict[str, _Seen] = {}
        self.settling: list[str] = []  # the names still settling at the last poll

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
        waiting: list[str] = []
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
                waiting.append(rel)
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
                waiting.append(rel)
                continue
            if now - seen.seen_at < min(CONFIRM_SECONDS, self.settle):
                waiting.append(rel)
                continue
            if self.marker:
                if (self.root / (rel + self.marker)).exists():
                    ready.append(rel)
                continue  # without its marker a file waits, however stable
            # The mtime's credit (above) is capped at settle_seconds, so an empty file is
            # watched staying empty for at least empty_settle - settle seconds of our own.
            empty = st.st_size == 0 and stat.S_ISREG(st.st_mode)  # a pipe is not "empty"
            if now - seen.since >= (self.empty_settle if empty else self.settle):
                ready.append(rel)
            else:
                waiting.append(rel)
        self.settling = sorted(waiting)
        return sorted(ready), len(waiting)

    def rescan(self) -> int:
        """Offer every file under the root (skipping archive/quarantine if they live inside)."""
        n = 0
        for dirpath, dirnames, filenames in os.walk(self.root):
            if self.flat:
                dirnames[:] = [x for x in dirnames if os.path.islink(os.path.join(dirpath, x))]
                for name in filenames + dirnames:
                    self.offer(Path(dirpath) / name)
                    n += 1
                return n
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


@dataclass(frozen=True)
class Quarantined:
    path: Path  # where the refused name is now (where it would be, when it was gone)
    report: Path  # <name>.errors.txt beside it
    moved: bool  # False: the name was gone (or swapped for a link) before it could move


class Inbox:
    """Where the files of `root` go once the connector is done with them."""

    def __init__(self, root: Path, *, quarantine: Path, archive: Path | None,
                 done_marker: str | None = None) -> None:
        self.root = root
        self.quarantine_dir = quarantine
        self.archive_dir = archive  # None: a file done with is deleted
        self.done_marker = done_marker

    def open(self, rel: str, *,
             hard_link_ok: Callable[[os.stat_result], bool] = lambda st: False,
             ) -> tuple[BinaryIO, os.stat_result]:
        """root/rel opened for reading: a regular file reached without links, or UnsafePath
        (what to quarantine and why); FileNotFoundError, PermissionError."""
        return open_inside(self.root, rel, hard_link_ok=hard_link_ok)

    def archive(self, rel: str) -> Path | None:
        """Move root/rel into today's archive folder (delete it when there is no archive),
        and its done marker away. None when it was gone already (an earlier attempt that
        crashed before its caller knew). UnsafePath when its path became a link meanwhile;
        other OSErrors as they come."""
        moved: Path | None = None
        try:
            if self.archive_dir is None:
                unlink_inside(self.root, rel)
                fsync_dir(self.root / PurePosixPath(rel).parent)
            else:
                day = time.strftime("%Y-%m-%d")
                moved = move_inside(self.root, rel,
                                    self.archive_dir / day / PurePosixPath(rel).parent)
        except (FileNotFoundError, NotADirectoryError):
            pass
        finally:
            if self.done_marker:
                unlink_inside(self.root, rel + self.done_marker)
        return moved

    def quarantine(self, rel: str, report: str, *, culprit: str | None = None,
                   copy: bool = True) -> Quarantined:
        """Move the refused name into quarantine, its report written first beside it.

        `culprit` is the name to move when it is not rel itself (the link on its path);
        copy=False: a link or a file with other names is never copied across volumes,
        only removed here. The done marker of rel goes too."""
        culprit = culprit or rel
        dest_dir = self.quarantine_dir / PurePosixPath(culprit).parent
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = unique_destination(dest_dir / PurePosixPath(culprit).name)
        report_path = dest.with_name(dest.name + ".errors.txt")
        with atomic_writer(report_path) as f:
            f.write(report.encode("utf-8"))
        moved: Path | None
        try:
            moved = move_inside(self.root, culprit, dest_dir, dest.name, overwrite=True,
                                copy=copy)
            gone = False
        except (FileNotFoundError, NotADirectoryError, UnsafePath):
            moved, gone = dest, True
        if self.done_marker:
            unlink_inside(self.root, rel + self.done_marker)
        return Quarantined(moved if moved is not None else report_path, report_path, not gone)
