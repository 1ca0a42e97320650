"""File-system steps that must survive a crash: fsync, atomic replace, safe moves."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from connector.errors import FormatError

DROPBOX_BLOCK = 4 * 1024 * 1024


def fsync_dir(path: Path, *, strict: bool = False) -> None:
    """Make a rename or create in `path` durable.

    Best effort by default (some file systems cannot fsync a folder); `strict` raises the
    OSError, for callers whose guarantee depends on it (the ERP files sink).
    """
    if os.name != "posix":
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        if strict:
            raise
        return
    try:
        os.fsync(fd)
    except OSError:
        if strict:
            raise
    finally:
        os.close(fd)


def unique_destination(path: Path) -> Path:
    """`path`, or `name (2).ext`, `name (3).ext`... so a move never overwrites an older copy."""
    if not path.exists():
        return path
    stem, suffix = path.stem, path.suffix
    n = 2
    while True:
        candidate = path.with_name(f"{stem} ({n}){suffix}")
        if not candidate.exists():
            return candidate
        n += 1


def move_durably(src: Path, dst_dir: Path, name: str | None = None, *, overwrite: bool = False) -> Path:
    """Move src into dst_dir (rename on one volume, copy+fsync+unlink across volumes)."""
    dst_dir.mkdir(parents=True, exist_ok=True)
    target = dst_dir / (name or src.name)
    if not overwrite:
        target = unique_destination(target)
    try:
        os.replace(src, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        tmp = target.with_name(f".{target.name}.moving")
        with open(src, "rb") as fin, open(tmp, "wb") as fout:
            shutil.copyfileobj(fin, fout, 1024 * 1024)
            fout.flush()
            os.fsync(fout.fileno())
        os.replace(tmp, target)
        fsync_dir(dst_dir)
        src.unlink()
        return target
    fsync_dir(dst_dir)
    return target


class AtomicFile:
    """A new file that appears under its name only complete and durable, or not at all.

    It is written under a temporary name beside `target` (hidden, or `tmp_name`), then
    commit() fsyncs it, moves it onto `target` with os.replace and fsyncs the folder;
    discard() removes it. With `mode` (e.g. 0o600 for a secret) the file has those
    permissions from its creation on, whatever the umask, never wider even briefly.
    `fp` is open for reading too (a writer may read back what it wrote).
    """

    def __init__(self, target: Path, *, mode: int | None = None,
                 tmp_name: str | None = None) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        self.target = target
        self.tmp = target.with_name(tmp_name or f".{target.name}.tmp-{os.getpid()}")
        self.mode = mode
        # A leftover of a crashed write is replaced, never reused: it may have other
        # permissions than the ones asked for.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)
        fd = os.open(self.tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | _BINARY | _CLOEXEC,
                     0o666 if mode is None else mode)
        self.fp: BinaryIO = os.fdopen(fd, "w+b")

    def commit(self) -> Path:
        try:
            self.fp.flush()
            if self.mode is not None and sys.platform != "win32":
                os.fchmod(self.fp.fileno(), self.mode)  # the umask may have narrowed it
            os.fsync(self.fp.fileno())
            self.fp.close()
            os.replace(self.tmp, self.target)
        except BaseException:
            self.discard()
            raise
        fsync_dir(self.target.parent)
        return self.target

    def discard(self) -> None:
        if not self.fp.closed:
            self.fp.close()
        with contextlib.suppress(OSError):
            os.unlink(self.tmp)


@contextlib.contextmanager
def atomic_writer(target: Path, *, mode: int | None = None,
                  tmp_name: str | None = None) -> Iterator[BinaryIO]:
    """Write `target` through an AtomicFile: committed when the block ends, discarded when
    it raises."""
    f = AtomicFile(target, mode=mode, tmp_name=tmp_name)
    try:
        yield f.fp
    except BaseException:
        f.discard()
        raise
    f.commit()


class HashingWriter:
    """A write-only file wrapper that computes sha256 and the Dropbox content_hash on the fly."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.size = 0
        self._sha = hashlib.sha256()
        self._blocks: list[bytes] = []
        self._block = hashlib.sha256()
        self._in_block = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        mv = memoryview(data)
        self.raw.write(mv)
        self._sha.update(mv)
        self.size += len(mv)
        while mv:
            room = DROPBOX_BLOCK - self._in_block
            chunk = mv[:room]
            self._block.update(chunk)
            self._in_block += len(chunk)
            mv = mv[len(chunk):]
            if self._in_block == DROPBOX_BLOCK:
                self._blocks.append(self._block.digest())
                self._block = hashlib.sha256()
                self._in_block = 0
        return len(data)

    def flush(self) -> None:
        self.raw.flush()

    def fileno(self) -> int:
        return self.raw.fileno()

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()

    @property
    def content_hash(self) -> str:
        blocks = list(self._blocks)
        if self._in_block:
            blocks.append(self._block.digest())
        return hashlib.sha256(b"".join(blocks)).hexdigest()


def copy_into(src: BinaryIO, writer: HashingWriter) -> None:
    """Stream src into a HashingWriter in 1 MiB chunks."""
    while chunk := src.read(1024 * 1024):
        writer.write(chunk)


# Reading a folder that others write ---------------------------------------------------------
# The watch folder's writers are not trusted with anything outside it: a name there may be a
# symbolic link (to /proc/self/environ, /etc/shadow), a link to a folder elsewhere, a hard
# link to a file only the service can read, a FIFO that blocks a reader forever, or a mount
# point. Everything below walks a relative path one name at a time from the folder, never
# following a link (O_NOFOLLOW on each step), and checks what it opened with fstat.

_DIRFD = (os.open in os.supports_dir_fd and os.stat in os.supports_dir_fd
          and hasattr(os, "O_NOFOLLOW") and hasattr(os, "O_DIRECTORY"))
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)
# POSIX only (looked up so the Windows build still type-checks; _DIRFD is False there).
_O_DIRECTORY: int = getattr(os, "O_DIRECTORY", 0)
_O_NOFOLLOW: int = getattr(os, "O_NOFOLLOW", 0)
_O_NONBLOCK: int = getattr(os, "O_NONBLOCK", 0)


class UnsafePath(FormatError):
    """A name in a folder we read is not a plain regular file reached without links.

    `culprit` is the relative path to move aside (the link itself, or the linked folder,
    never what it points to); `kind` says what it is: symlink, hardlink, special, mount.
    """

    def __init__(self, message: str, *, culprit: str, kind: str) -> None:
        super().__init__(message, culprit=culprit, kind=kind)
        self.culprit = culprit
        self.kind = kind


def _parts(rel: str) -> list[str]:
    parts = rel.replace("\\", "/").split("/")
    if not rel or rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise UnsafePath(f"{rel!r} is not a plain path inside the folder", culprit=rel,
                         kind="path")
    return parts


def _refuse_mode(st: os.stat_result, culprit: str, *, hard_links_ok: bool) -> None:
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePath(f"{culprit!r} is a symbolic link: only regular files are read, never "
                         "what a link points to", culprit=culprit, kind="symlink")
    if not stat.S_ISREG(st.st_mode):
        raise UnsafePath(f"{culprit!r} is not a regular file ({_kind_name(st.st_mode)})",
                         culprit=culprit, kind="special")
    if st.st_nlink > 1 and not hard_links_ok:
        raise UnsafePath(f"{culprit!r} has {st.st_nlink} hard links: a hard-linked name may be "
                         "another file of this machine, so it is not read; copy the file "
                         "into the folder instead of linking it", culprit=culprit,
                         kind="hardlink")


def _kind_name(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a file"


@contextlib.contextmanager
def _parent_fd(root: Path, parts: list[str]) -> Iterator[tuple[int, int]]:
    """(fd of the folder holding parts[-1], st_dev of root), reached without following links."""
    fd = os.open(root, os.O_RDONLY | _O_DIRECTORY | _CLOEXEC)
    try:
        dev = os.fstat(fd).st_dev
        for i, name in enumerate(parts[:-1]):
            culprit = "/".join(parts[:i + 1])
            try:
                nfd = os.open(name, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _CLOEXEC,
                              dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                    st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                    _refuse_mode(st, culprit, hard_links_ok=True)
                raise
            os.close(fd)
            fd = nfd
            if os.fstat(fd).st_dev != dev:
                raise UnsafePath(f"{culprit!r} is another file system mounted inside the folder",
                                 culprit=culprit, kind="mount")
        yield fd, dev
    finally:
        os.close(fd)


def _check_path_walk(root: Path, parts: list[str]) -> None:
    """Without dir_fd (Windows): no component may be a link or a junction (best effort)."""
    cur = root
    for i, name in enumerate(parts[:-1]):
        cur = cur / name
        st = os.lstat(cur)
        reparse = int(getattr(st, "st_file_attributes", 0)) & 0x400  # a junction, a link
        if stat.S_ISLNK(st.st_mode) or reparse:
            raise UnsafePath(f"{'/'.join(parts[:i + 1])!r} is a link to a folder elsewhere",
                             culprit="/".join(parts[:i + 1]), kind="symlink")


def lstat_inside(root: Path, rel: str) -> os.stat_result:
    """The stat of root/rel itself (never of what a link points to); UnsafePath when a folder
    on the way is a link; FileNotFoundError when it is gone."""
    parts = _parts(rel)
    if not _DIRFD:
        _check_path_walk(root, parts)
        return os.lstat(root.joinpath(*parts))
    with _parent_fd(root, parts) as (pfd, _dev):
        return os.stat(parts[-1], dir_fd=pfd, follow_symlinks=False)


def open_inside(root: Path, rel: str, *,
                hard_link_ok: Callable[[os.stat_result], bool] = lambda st: False,
                ) -> tuple[BinaryIO, os.stat_result]:
    """Open root/rel for reading only if it is a regular file inside root, reached without
    links, on root's file system, with one name (or one `hard_link_ok` accepts).

    Raises UnsafePath (what to quarantine and why), or FileNotFoundError/PermissionError.
    """
    parts = _parts(rel)
    if not _DIRFD:
        _check_path_walk(root, parts)
        path = root.joinpath(*parts)
        before = os.lstat(path)
        _refuse_mode(before, rel, hard_links_ok=hard_link_ok(before))
        f = open(path, "rb")  # noqa: SIM115 - returned to the caller
        st = os.fstat(f.fileno())
        if (st.st_dev, st.st_ino) != (before.st_dev, before.st_ino):
            f.close()
            raise UnsafePath(f"{rel!r} was replaced while being opened", culprit=rel,
                             kind="symlink")
        return f, st
    with _parent_fd(root, parts) as (pfd, dev):
        before = os.stat(parts[-1], dir_fd=pfd, follow_symlinks=False)
        _refuse_mode(before, rel, hard_links_ok=hard_link_ok(before))
        try:
            # O_NONBLOCK: a FIFO swapped in after the check must not block the open.
            fd = os.open(parts[-1], os.O_RDONLY | _O_NOFOLLOW | _O_NONBLOCK | _CLOEXEC
                         | getattr(os, "O_NOCTTY", 0), dir_fd=pfd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EMLINK):
                raise UnsafePath(f"{rel!r} is a symbolic link: only regular files are read",
                                 culprit=rel, kind="symlink") from None
            raise
    try:
        st = os.fstat(fd)
        _refuse_mode(st, rel, hard_links_ok=hard_link_ok(st))
        if (st.st_dev, st.st_ino) != (before.st_dev, before.st_ino) or st.st_dev != dev:
            raise UnsafePath(f"{rel!r} was replaced while being opened, or is on another "
                             "file system", culprit=rel, kind="mount")
        if _O_NONBLOCK:
            _set_blocking(fd)
        return os.fdopen(fd, "rb"), st
    except BaseException:
        os.close(fd)
        raise


def _set_blocking(fd: int) -> None:
    """Clear O_NONBLOCK again for the reads that follow (POSIX)."""
    setter = getattr(os, "set_blocking", None)
    if setter is not None:
        setter(fd, True)


def move_inside(root: Path, rel: str, dst_dir: Path, name: str | None = None, *,
                overwrite: bool = False, copy: bool = True) -> Path | None:
    """Move the name root/rel (whatever it is, never following it) into dst_dir.

    On one volume it is a rename of the name itself: a symbolic link moves as a link. Across
    volumes a regular file is copied (from a descriptor opened without following links) and
    unlinked; a link is recreated as a link. With copy=False, or for anything that is not a
    regular file or a link, nothing is copied across volumes: the name is only removed from
    root, and None is returned (the content stays wherever its other names are).
    """
    parts = _parts(rel)
    dst_dir.mkdir(parents=True, exist_ok=True)
    target = dst_dir / (name or parts[-1])
    if not overwrite:
        target = unique_destination(target)
    if not _DIRFD:
        _check_path_walk(root, parts)
        src = root.joinpath(*parts)
        try:
            os.replace(src, target)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            return _move_across(src, None, parts[-1], target, copy)
        fsync_dir(dst_dir)
        return target
    with _parent_fd(root, parts) as (pfd, _dev):
        dfd = os.open(dst_dir, os.O_RDONLY | _O_DIRECTORY | _CLOEXEC)
        try:
            try:
                os.rename(parts[-1], target.name, src_dir_fd=pfd, dst_dir_fd=dfd)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                return _move_across(None, pfd, parts[-1], target, copy)
            os.fsync(dfd)
        finally:
            os.close(dfd)
    return target


def _move_across(src: Path | None, pfd: int | None, name: str, target: Path,
                 copy: bool) -> Path | None:
    where: dict[str, int] = {"dir_fd": pfd} if pfd is not None else {}
    ref: str | Path = name if pfd is not None else (src or Path(name))
    st = os.stat(ref, follow_symlinks=False, **where)
    tmp = target.with_name(f".{target.name}.moving")
    moved: Path | None = None
    if stat.S_ISLNK(st.st_mode):
        tmp.unlink(missing_ok=True)
        os.symlink(os.readlink(ref, **where), tmp)
        moved = target
    elif copy and stat.S_ISREG(st.st_mode):
        fd = os.open(ref, os.O_RDONLY | _O_NOFOLLOW | _CLOEXEC | _BINARY,
                     **where)
        with os.fdopen(fd, "rb") as fin, open(tmp, "wb") as fout:
            shutil.copyfileobj(fin, fout, 1024 * 1024)
            fout.flush()
            os.fsync(fout.fileno())
        moved = target
    if moved is not None:
        os.replace(tmp, target)
        fsync_dir(target.parent)
    os.unlink(ref, **where)
    return moved


def unlink_inside(root: Path, rel: str) -> None:
    """Remove the name root/rel (not what it points to); nothing when it is gone."""
    try:
        parts = _parts(rel)
        if not _DIRFD:
            _check_path_walk(root, parts)
            root.joinpath(*parts).unlink(missing_ok=True)
            return
        with _parent_fd(root, parts) as (pfd, _dev):
            os.unlink(parts[-1], dir_fd=pfd)
    except (FileNotFoundError, NotADirectoryError, UnsafePath):
        pass
