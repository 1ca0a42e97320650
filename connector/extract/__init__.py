"""Extraction from the ERP database: scheduled SQL queries -> tracciati in the watch folder.

`run_once(cfg, store, mode=..., entities=..., dry_run=..., out=...) -> ExtractResult` is
what `connector export --once` calls; `loop.build_loops` is the daemon's scheduler.
The names below are imported on first use, so importing the package (the configuration
checks the schedules with connector.extract.schedule) does not load the database layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connector.extract.lock import ExtractBusy
    from connector.extract.runner import ExtractResult, Outcome, run_once

__all__ = ["ExtractBusy", "ExtractResult", "Outcome", "run_once"]


def __getattr__(name: str) -> Any:
    if name == "ExtractBusy":
        from connector.extract.lock import ExtractBusy

        return ExtractBusy
    if name in ("ExtractResult", "Outcome", "run_once"):
        from connector.extract import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'connector.extract' has no attribute {name!r}")
