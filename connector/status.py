"""What `connector status`, /status and the service STATUS= line show: facts read
from the state store, gathered from each part of the connector.

Each part's status module has `collect(cfg, store) -> dict` and `render(section) ->
list[str]`; `sections()` lists them, by plain import, in the order they are shown.
"""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any

from connector import controls
from connector.config import Config
from connector.i18n import _
from connector.logsetup import printable
from connector.state import StateStore
from connector.timefmt import fmt_time


def sections() -> tuple[tuple[str, ModuleType], ...]:
    """The parts, in the order shown. Imported when status is first asked for, not when
    the daemon starts (its start-up time; the status endpoint imports this module)."""
    from connector import dropbox_status
    from connector.export import status as export_status
    from connector.extract import status as extract_status
    from connector.geocode import status as geocode_status
    from connector.importing import status as import_status
    from connector.legacy import status as legacy_status

    return (("export", export_status), ("dropbox_api", dropbox_status),
            ("import", import_status), ("legacy", legacy_status),
            ("extract", extract_status), ("geocode", geocode_status))


def collect(cfg: Config, store: StateStore) -> dict[str, Any]:
    out: dict[str, Any] = {"company": cfg.company, "generated_at": time.time()}
    out["paused"] = {part: {"since": p.since, "who": p.who}
                     for part, p in controls.paused(store).items()}
    for key, module in sections():
        out[key] = module.collect(cfg, store)
    out["last_errors"] = [
        {"at": r["at"], "component": r["component"], "message": r["message"]}
        for r in store.last_events("error", 5)
    ]
    return out


def render(facts: dict[str, Any]) -> str:
    lines = [f"company {facts['company']}"]
    for part, p in (facts.get("paused") or {}).items():
        lines.append(_("PAUSED {part} since {since} by {who} (`connector resume {part}`)")
                     .format(part=part, since=fmt_time(p.get("since")), who=p.get("who")))
    for key, module in sections():
        if key in facts:
            lines.extend(module.render(facts[key]))
    errors = facts.get("last_errors") or []
    lines.append("last errors:" if errors else "last errors: none")
    for e in errors:
        lines.append(f"  {fmt_time(e['at'])}  {e['component']}: {e['message']}")
    # File names, lines of files and records reach these lines: none reaches the terminal
    # with its control characters raw (an escape sequence, a carriage return).
    return "\n".join(printable(line) for line in "\n".join(lines).split("\n"))
