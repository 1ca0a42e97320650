"""Rows held back: a tracciato whose errors are confined to a few rows (export.max_bad_rows)
is published without them, and the bad rows go to quarantine/held-back/ as a file of their
own (the header included) with its report, before anything is published. A crash repeats
that step, to the same place (the folder is named after a digest of the rows), so the
rows are never lost nor held twice."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import structlog

from connector import metrics
from connector.export import formats_bridge as fb
from connector.fsutil import atomic_writer, move_durably
from connector.state import StateStore

# One burst, one logger: its lines (and notification keys) keep the pipeline's name.
log = structlog.get_logger("connector.export.pipeline")


@dataclass
class Held:
    rows: int
    path: Path  # the held-back rows, in quarantine
    report: Path


class HeldBack:
    def __init__(self, quarantine: Path, store: StateStore) -> None:
        self.quarantine = quarantine
        self.store = store

    def put(self, rel: str, tmp: Path, first: fb.Judgement, count: int,
            published_rows: int) -> Held:
        """Put the held-back rows (staged in `tmp`) and their report into quarantine.

        The folder is named after the time and a digest of the rows, and a folder with the
        same digest is reused: a repeated attempt (after a crash, or the same file dropped
        again) writes the same rows to the same place instead of a second copy."""
        h = hashlib.sha256(rel.encode("utf-8", "surrogateescape") + b"\0")
        with open(tmp, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        digest = h.hexdigest()[:8]
        base = self.quarantine / "held-back"
        folder = next((d for d in sorted(base.glob(f"*-{digest}")) if d.is_dir()),
                      base / f"{time.strftime('%Y%m%d-%H%M%S')}-{digest}")
        dest = folder / rel
        text = fb.held_report(first, rel, dest.name, published_rows)
        with atomic_writer(dest.with_name(dest.name + ".errors.txt")) as f:
            f.write(text.encode("utf-8"))
        moved = move_durably(tmp, dest.parent, dest.name, overwrite=True)
        metrics.inc("connector_rows_held_back_total", float(count),
                    help="Rows of tracciati held back in quarantine")
        log.warning("rows held back", file=rel, held_back=count, published=published_rows,
                    first_error=first.first, held=str(moved))
        self.store.record_event("warning", "export", f"{rel}: published {published_rows} rows, "
                                f"held back {count}: {first.first}")
        return Held(count, moved, moved.with_name(moved.name + ".errors.txt"))
