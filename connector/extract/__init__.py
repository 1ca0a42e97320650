"""Extraction from the ERP database: scheduled SQL queries -> tracciati in the watch folder.

`run_once(cfg, store, mode=..., entities=..., dry_run=..., out=...) -> ExtractResult` is
what `connector export --once` calls; `loop.build_loops` is the daemon's scheduler.
"""

from connector.extract.lock import ExtractBusy
from connector.extract.runner import ExtractResult, Outcome, run_once

__all__ = ["ExtractBusy", "ExtractResult", "Outcome", "run_once"]
