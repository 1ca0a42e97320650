"""Hand a generated file to the export pipeline: atomically into the watch folder.

The file is written as `<name>.part` (the watcher never takes *.part), fsynced, then
renamed onto its final name with os.replace, so the watcher only ever sees a complete
file. From there the export pipeline validates, stages and publishes it like any file
the ERP drops.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from connector.fsutil import fsync_dir


class PartFile:
    """A `.part` file in the watch folder that becomes `name` on publish()."""

    def __init__(self, folder: Path, name: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.target = folder / name
        self.part = folder / f"{name}.part"
        self.fp: IO[bytes] = open(self.part, "w+b")  # noqa: SIM115 - closed by publish/discard

    def publish(self) -> Path:
        self.fp.flush()
        os.fsync(self.fp.fileno())
        self.fp.close()
        os.replace(self.part, self.target)
        fsync_dir(self.target.parent)
        return self.target

    def discard(self) -> None:
        if not self.fp.closed:
            self.fp.close()
        self.part.unlink(missing_ok=True)


@contextlib.contextmanager
def part_file(folder: Path, name: str) -> Iterator[PartFile]:
    """Discards the .part on any exception; the caller calls publish() or discard()."""
    pf = PartFile(folder, name)
    try:
        yield pf
    except BaseException:
        pf.discard()
        raise
    if not pf.fp.closed:
        pf.discard()


def drop_bytes(folder: Path, name: str, data: bytes) -> Path:
    with part_file(folder, name) as pf:
        pf.fp.write(data)
        return pf.publish()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
