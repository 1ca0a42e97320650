"""The extraction's part of `connector status`: running now, last runs, last publishes,
when each scheduled job runs next."""

from __future__ import annotations

import json
import time
from typing import Any

from connector.config import Config
from connector.extract.keystore import ensure_schema
from connector.extract.lock import RunLock, describe_holder
from connector.i18n import _
from connector.state import StateStore


def _fmt(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


def collect(cfg: Config, store: StateStore) -> dict[str, Any]:
    if not cfg.extract.enabled:
        return {"enabled": False}
    ensure_schema(store)
    holder = RunLock(cfg.state_dir).holder()
    runs = [
        {"started": r["started"], "ended": r["ended"], "mode": r["mode"], "trigger": r["trigger"],
         "dry_run": bool(r["dry_run"]), "ok": None if r["ok"] is None else bool(r["ok"]),
         "summary": json.loads(r["summary"]) if r["summary"] else {}}
        for r in store.query("SELECT * FROM extract_runs ORDER BY id DESC LIMIT 5")]
    published = [{"layout": r["layout"], "at": r["at"], "rows": r["rows"], "mode": r["mode"]}
                 for r in store.query("SELECT layout, at, rows, mode FROM extract_last "
                                      "ORDER BY layout")]
    jobs: list[dict[str, Any]] = []
    try:
        from connector.extract.loop import ExtractScheduler

        sched = ExtractScheduler(cfg, store)
        for job in sched.jobs:
            nxt = sched.next_run(job)
            jobs.append({"job": job.name, "schedule": job.schedule.describe() if job.schedule else "",
                         "next_due": nxt.timestamp() if nxt else None})
    except Exception as exc:  # noqa: BLE001 - status must render even with a bad section
        jobs.append({"job": "?", "schedule": f"cannot read the schedules: {exc}",
                     "next_due": None})
    return {"enabled": True, "running": holder, "runs": runs, "published": published,
            "jobs": jobs}


def render(section: dict[str, Any]) -> list[str]:
    if not section.get("enabled"):
        return [_("extract: disabled")]
    lines = [_("extract:")]
    running = section.get("running")
    lines.append("  " + (_("running now: {what}").format(what=describe_holder(running))
                         if running is not None else _("running now: nothing")))
    for r in section.get("runs", [])[:3]:
        state = _("running") if r["ok"] is None else (_("ok") if r["ok"] else _("FAILED"))
        dry = " " + _("dry-run") if r["dry_run"] else ""
        counts = ", ".join(f"{k} {v.get('status')}" for k, v in r["summary"].items())
        lines.append(f"  {_fmt(r['started'])} {r['mode']}{dry} ({r['trigger']}): {state}"
                     + (f" - {counts}" if counts else ""))
    for p in section.get("published", []):
        lines.append("  " + _("last publish {layout}: {rows} rows at {at} ({mode})").format(
            layout=p["layout"], rows=p["rows"], at=_fmt(p["at"]), mode=p["mode"]))
    for j in section.get("jobs", []):
        lines.append("  " + _("schedule {job}: {schedule}; next {next}").format(
            job=j["job"], schedule=j["schedule"], next=_fmt(j["next_due"])))
    return lines
