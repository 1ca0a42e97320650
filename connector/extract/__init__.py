"""Extraction from the ERP database: scheduled SQL queries -> tracciati in the watch folder.

`runner.run_once(cfg, store, sources, mode=..., entities=..., dry_run=..., out=...)` is
one run (connector/app.py `extract_once` gives it the adapters, for `connector export
--once`); `loop.ExtractScheduler` is the daemon's scheduler (app.py `build_extract`).
"""
