"""Room to stage a burst: files are staged as far as the staging volume's free space
allows above export.min_free_mb; the rest waits in the export folder for the next burst,
and `connector status` says why (SPACE_KEY in the state store)."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import structlog

from connector.config import Config
from connector.errors import TransientError
from connector.export.naming import Target
from connector.state import StateStore

# One burst, one logger: its lines (and notification keys) keep the pipeline's name.
log = structlog.get_logger("connector.export.pipeline")
MB = 1024 * 1024
SPACE_KEY = "export.space"  # kv: files waiting for room to be staged (status shows them)


def room(cfg: Config) -> int:
    """Bytes that may be staged now: the staging volume's free space above the floor."""
    free = shutil.disk_usage(cfg.staging_dir).free
    return max(0, free - cfg.export.min_free_mb * MB)


def report_space(cfg: Config, store: StateStore, short: list[str], asked: int,
                 some_done: bool) -> None:
    """Say what waits for room (log, events, status) and why; clear it once all fit."""
    if not short:
        if store.get(SPACE_KEY):
            store.put(SPACE_KEY, None)
        return
    free = shutil.disk_usage(cfg.staging_dir).free
    text = (f"not enough free space to stage {len(short)} of {asked} file(s) in "
            f"{cfg.staging_dir}: {free // MB} MB free, the floor is "
            f"{cfg.export.min_free_mb} MB (export.min_free_mb); they wait in the export "
            f"folder for the next burst: {', '.join(short[:10])}"
            f"{', ...' if len(short) > 10 else ''}")
    store.put(SPACE_KEY, json.dumps({"at": time.time(), "files": short[:50],
                                          "waiting": len(short), "free_mb": free // MB,
                                          "floor_mb": cfg.export.min_free_mb}))
    if not some_done:
        raise TransientError(text + "; nothing was moved")
    log.warning("burst staged in part: not enough free space", waiting=len(short),
                free_mb=free // MB, floor_mb=cfg.export.min_free_mb, files=short[:20])
    store.record_event("warning", "export", text)


def space_needed(watch: Path, rel: str, target: Target | None) -> int:
    """Room to stage a file: media as they are; a tracciato's canonical form (CRLF, BOM)
    can be up to twice its source."""
    try:
        size = os.lstat(watch / rel).st_size
    except OSError:
        return 0
    if target is None or target.kind in ("media", "report", "unsupported"):
        return size
    return 2 * size + 3
