"""A tracciato published without its held-back rows, not yet taken by AppManager, must not
lose its rows to the next publish of the same file.

AppManager reads `gestionale/io_x.dat` when it next runs; a file published meanwhile
under the same name replaces it. When the clerk drops the fixed held-back rows (a file of
a few rows) before AppManager has taken the earlier publish, publishing them as they are
would throw away every good row of the earlier one. So:

- a publish that held rows back keeps its own copy of what it published, in
  `<state_dir>/export/partial/<folder>/<name>`;
- the next publish of that destination asks the publisher whether the destination still
  holds exactly that copy (unconsumed). If it does, the new file is merged into it: the
  new file's rows win by the layout's key (`CHIAVE`; the whole line for the few layouts
  without one), the earlier rows the new file does not carry are kept; one complete file
  is published. If AppManager has taken it, the new file is published as it is;
- the copy is dropped once a publish of that destination holds nothing back, and
  replaced by the merged file while rows are still held back.

With AppManager loading incrementally by CHIAVE (the default) the merged file is exactly
what the two files read one after the other would give. The copy of a new publish is
written beside the current one (`.next`) before publishing and takes its place after, so
a crash at any point leaves a copy that matches the destination.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import structlog

from connector.fsutil import HashingWriter, atomic_writer, copy_into
from connector.ports import Publisher, PublishItem
from formats.layout import layout_for_filename

log = structlog.get_logger("connector.export.pipeline")

BOM = b"\xef\xbb\xbf"
NEXT = ".next"


class _Null:
    def write(self, data: bytes | bytearray | memoryview) -> int:
        return len(data)

    def flush(self) -> None:
        pass


def item_of(path: Path, folder: str, name: str) -> PublishItem:
    """The publish item of a file already written (its hashes read back)."""
    w = HashingWriter(_Null())  # type: ignore[arg-type]
    with open(path, "rb") as f:
        copy_into(f, w)
    return PublishItem(path, folder, name, w.size, w.sha256, w.content_hash)


class PartialCopies:
    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir / "export" / "partial"

    def _path(self, folder: str, name: str) -> Path:
        return self.root / folder / name

    def unconsumed(self, publisher: Publisher, folder: str, name: str) -> Path | None:
        """Our copy of the earlier partial publish, when the destination still holds it."""
        cur = self._path(folder, name)
        for path in (cur, cur.with_name(cur.name + NEXT)):
            if not path.is_file():
                continue
            if (folder, name) in publisher.holding([item_of(path, folder, name)]):
                return path
        return None

    def prepare(self, published: Path, folder: str, name: str) -> None:
        """Before publishing a file that holds rows back: its copy, fsynced, as `.next`."""
        nxt = self._path(folder, name + NEXT)
        nxt.parent.mkdir(parents=True, exist_ok=True)
        with atomic_writer(nxt, mode=0o600) as out, open(published, "rb") as src:
            while chunk := src.read(1 << 20):
                out.write(chunk)

    def commit(self, folder: str, name: str) -> None:
        """Published: the `.next` copy is now the one the destination holds."""
        cur = self._path(folder, name)
        nxt = cur.with_name(cur.name + NEXT)
        if nxt.exists():
            os.replace(nxt, cur)

    def drop(self, folder: str, name: str) -> None:
        """Published with nothing held back: no copy is needed any more."""
        cur = self._path(folder, name)
        for path in (cur, cur.with_name(cur.name + NEXT)):
            path.unlink(missing_ok=True)


def _lines(path: Path) -> Iterator[bytes]:
    """The lines of a canonical file (CRLF, a BOM before the header), without their ends."""
    with open(path, "rb") as f:
        first = True
        for line in f:
            if first:
                line = line.removeprefix(BOM)
                first = False
            line = line.rstrip(b"\r\n")
            if line:
                yield line


def merge(base: Path, new: Path, out: HashingWriter, name: str) -> int:
    """Write `base` updated by `new` (both canonical files of tracciato `name`) to `out`,
    in the canonical form with `new`'s header; the number of rows written.

    `new`'s rows first, then those of `base` whose key `new` does not carry. A column of
    `base` that `new` lacks is dropped, one `new` has and `base` lacks is left empty in
    `base`'s rows (the header is `new`'s: the ERP's current columns)."""
    new_lines = _lines(new)
    header = next(new_lines, b"")
    cols = header.split(b"|")
    layout = layout_for_filename(name)
    key = layout.key.encode() if layout is not None and layout.key else None
    k = cols.index(key) if key is not None and key in cols else None
    out.write(BOM + header + b"\r\n")
    seen: set[bytes] = set()
    rows = 0
    for line in new_lines:
        seen.add(line.split(b"|")[k] if k is not None else line)
        out.write(line + b"\r\n")
        rows += 1
    base_lines = _lines(base)
    base_cols = next(base_lines, b"").split(b"|")
    where = {c: i for i, c in enumerate(base_cols)}
    pick = None if base_cols == cols else [where.get(c) for c in cols]
    for line in base_lines:
        if pick is not None:
            values = line.split(b"|")
            line = b"|".join(values[i] if i is not None and i < len(values) else b""
                             for i in pick)
        ident = line.split(b"|")[k] if k is not None else line
        if ident in seen:
            continue
        out.write(line + b"\r\n")
        rows += 1
    return rows
