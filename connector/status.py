"""What `connector status`, /status and the service STATUS= line show: facts read
from the state store, gathered from each part of the connector.

A provider module has `collect(cfg, store) -> dict` and `render(section) -> list[str]`.
"""

from __future__ import annotations

import importlib
import time
from typing import Any

from connector.config import Config
from connector.logsetup import printable
from connector.state import StateStore
from connector.timefmt import fmt_time  # also taken from here by connector.export.status

PROVIDERS = (
    ("export", "connector.export.status"),
    ("dropbox_api", "connector.dropbox_status"),
    ("import", "connector.importing.status"),
    ("legacy", "connector.legacy.status"),
    ("extract", "connector.extract.status"),
    ("geocode", "connector.geocode.status"),
)


def _provider(module_name: str) -> Any | None:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None
        raise


def collect(cfg: Config, store: StateStore) -> dict[str, Any]:
    out: dict[str, Any] = {"company": cfg.company, "generated_at": time.time()}
    for key, module_name in PROVIDERS:
        mod = _provider(module_name)
        if mod is not None:
            out[key] = mod.collect(cfg, store)
    out["last_errors"] = [
        {"at": r["at"], "component": r["component"], "message": r["message"]}
        for r in store.last_events("error", 5)
    ]
    return out


def render(facts: dict[str, Any]) -> str:
    lines = [f"company {facts['company']}"]
    for key, module_name in PROVIDERS:
        if key in facts:
            mod = _provider(module_name)
            if mod is not None:
                lines.extend(mod.render(facts[key]))
    errors = facts.get("last_errors") or []
    lines.append("last errors:" if errors else "last errors: none")
    for e in errors:
        lines.append(f"  {fmt_time(e['at'])}  {e['component']}: {e['message']}")
    # File names, lines of files and records reach these lines: none reaches the terminal
    # with its control characters raw (an escape sequence, a carriage return).
    return "\n".join(printable(line) for line in "\n".join(lines).split("\n"))

