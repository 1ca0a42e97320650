"""File-system steps that must survive a crash: fsync, atomic replace, safe moves."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

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


@contextlib.contextmanager
def atomic_writer(target: Path) -> Iterator[BinaryIO]:
    """Write to a hidden temp file beside target, fsync, then os.replace it in."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    f = open(tmp, "wb")  # noqa: SIM115 - closed below on every path
    try:
        yield f
        f.flush()
        os.fsync(f.fileno())
        f.close()
        os.replace(tmp, target)
        fsync_dir(target.parent)
    except BaseException:
        f.close()
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


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
        while len(mv):
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
