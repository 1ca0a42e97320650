"""Retention of the archive and the quarantine, in days."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import structlog

from connector.config import Config
from connector.export.journal import ExportJournal

log = structlog.get_logger(__name__)


def prune_retention(cfg: Config, journal: ExportJournal) -> None:
    ex = cfg.export
    now = time.time()
    if ex.archive_days > 0 and ex.archive.is_dir():
        cutoff = time.strftime("%Y-%m-%d", time.localtime(now - ex.archive_days * 86400))
        for day in ex.archive.iterdir():
            # Archive folders are named yyyy-mm-dd, so they compare as text.
            if day.is_dir() and len(day.name) == 10 and day.name < cutoff:
                shutil.rmtree(day, ignore_errors=True)
                log.info("archive day removed", folder=str(day), retention_days=ex.archive_days)
    if ex.quarantine_days > 0 and ex.quarantine.is_dir():
        limit = now - ex.quarantine_days * 86400
        for path in ex.quarantine.rglob("*"):
            if path.is_file() and _mtime(path) < limit:
                path.unlink(missing_ok=True)
    journal.prune_history(max(ex.archive_days, ex.quarantine_days, 30))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return time.time()
