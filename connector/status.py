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
from connector.errors import in_words
from connector.i18n import N_, _
from connector.logsetup import printable
from connector.state import StateStore
from connector.timefmt import duration, fmt_time, fmt_when


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


def daemon_facts(cfg: Config) -> dict[str, Any]:
    """Whether the daemon runs on this state folder: from the holder of the instance lock
    (connector/oslock.py), which the daemon writes when it starts."""
    from connector.oslock import DAEMON, holder_info

    info = holder_info(cfg.state_dir)
    if info is None:
        return {"running": False}
    role = info.get("role")
    started = info.get("started_at")
    return {"running": role in (None, DAEMON), "pid": info.get("pid"),
            "role": role or DAEMON, "version": info.get("version"),
            "started_at": started if isinstance(started, int | float) else None,
            "uptime_seconds": (time.time() - started) if isinstance(started, int | float)
            else None}


def paused_facts(store: StateStore) -> dict[str, dict[str, Any]]:
    """The paused parts by name (the shape of issue 14's facade: {part: {since, who}})."""
    return {part: {"since": p.since, "who": p.who}
            for part, p in controls.paused(store).items()}


def collect(cfg: Config, store: StateStore) -> dict[str, Any]:
    out: dict[str, Any] = {"company": cfg.company, "generated_at": time.time(),
                           "daemon": daemon_facts(cfg), "paused": paused_facts(store)}
    for key, module in sections():
        out[key] = module.collect(cfg, store)
    out["hints"] = _hints(cfg, out)
    out["last_errors"] = [
        {"at": r["at"], "component": r["component"], "message": in_words(r["message"]),
         "raw": r["message"]}
        for r in store.last_events("error", 5)
    ]
    return out


def _hints(cfg: Config, facts: dict[str, Any]) -> list[str]:
    """What to do about what the sections show, when the fix is plain: AppManager could not
    be reached at the bundled sandbox's URL, which answers only while the daemon runs."""
    from urllib.parse import urlsplit

    streams = (facts.get("import") or {}).get("streams") or {}
    unreachable = any("cannot reach" in (s.get("error") or "") for s in streams.values())
    url = cfg.import_.appmanager.url or ""
    sb = cfg.sandbox
    try:
        parts = urlsplit(url)
        at_sandbox = (sb.enabled and parts.port == sb.port
                      and parts.hostname in ("127.0.0.1", "localhost", "::1", sb.host))
    except ValueError:
        at_sandbox = False
    if unreachable and at_sandbox and not (facts.get("daemon") or {}).get("running"):
        return ["sandbox_not_running"]
    return []


_HINTS = {
    "sandbox_not_running": N_("AppManager could not be reached: its URL is the bundled "
                              "sandbox's, which answers only while the daemon runs (`make "
                              "run` or `connector run`, or `connector sandbox` alone)"),
}


def render_daemon(facts: dict[str, Any]) -> list[str]:
    d = facts.get("daemon") or {}
    if not d.get("running") and d.get("pid"):
        line = _("daemon: not running; `connector {role}` (process {pid}) holds the state "
                 "folder now").format(role=d.get("role"), pid=d.get("pid"))
    elif not d.get("running"):
        line = _("daemon: not running (start it with `connector run`, or as a service: "
                 "`connector service start`)")
    else:
        line = _("daemon: running, process {pid}").format(pid=d.get("pid"))
        if d.get("version"):
            line += ", " + _("version {version}").format(version=d["version"])
        if d.get("started_at"):
            line += ", " + _("up {uptime} (since {time})").format(
                uptime=duration(d.get("uptime_seconds") or 0), time=fmt_time(d["started_at"]))
    lines = [line]
    for part, p in (facts.get("paused") or {}).items():
        lines.append("  " + _("PAUSED: {part} (paused {when} by {who}; `connector resume "
                              "{part}` resumes it)").format(part=part,
                                                           when=fmt_when(p.get("since")),
                                                           who=p.get("who") or "-"))
    return lines


def render(facts: dict[str, Any]) -> str:
    lines = [*render_daemon(facts), _("company {company}").format(company=facts["company"])]
    for key, module in sections():
        if key in facts:
            lines.extend(module.render(facts[key]))
    for hint in facts.get("hints") or []:
        lines.append(_("note: {hint}").format(hint=_(_HINTS.get(hint, hint))))
    errors = facts.get("last_errors") or []
    lines.append(_("last errors:") if errors else _("last errors: none"))
    for e in errors:
        lines.append(f"  {fmt_when(e['at'])}  {e['component']}: {e['message']}")
    # File names, lines of files and records reach these lines: none reaches the terminal
    # with its control characters raw (an escape sequence, a carriage return).
    return "\n".join(printable(line) for line in "\n".join(lines).split("\n"))
