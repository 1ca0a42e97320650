"""Is every loop alive and beating? One answer for /healthz, the systemd watchdog and alerts.

A loop is healthy while its thread runs, its supervisor has not given it up nor is waiting
to restart it after a crash (`Heartbeat.alive`), and its last beat is younger than
status.heartbeat_timeout_seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from connector.app import Daemon


@dataclass(frozen=True)
class LoopHealth:
    name: str
    running: bool
    age_seconds: float
    ok: bool
    reason: str = ""
    last_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"running": self.running, "heartbeat_age_seconds": round(self.age_seconds, 3),
                "ok": self.ok, "reason": self.reason or None, "last_error": self.last_error}


@dataclass(frozen=True)
class Health:
    loops: dict[str, LoopHealth] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(lh.ok for lh in self.loops.values())

    @property
    def bad(self) -> list[LoopHealth]:
        return [lh for lh in self.loops.values() if not lh.ok]

    def describe(self) -> str:
        """One line: 'ok' or the bad loops and why."""
        if self.ok:
            return "ok"
        return "; ".join(f"{lh.name}: {lh.reason}" for lh in self.bad)


def check(daemon: Daemon, timeout: float, now: float | None = None) -> Health:
    now = time.monotonic() if now is None else now
    running = daemon.alive()
    # A loop may say it runs but cannot do its work (the export's Dropbox folder is missing).
    outages = {lp.name: getattr(lp, "outage", None) for lp in daemon.loops}
    out: dict[str, LoopHealth] = {}
    for name, hb in daemon.heartbeats.items():
        is_running = running.get(name, False)
        # A thread that has not beaten yet has only just started.
        age = max(0.0, now - hb.last) if hb.last else (0.0 if is_running else float("inf"))
        if is_running and not hb.alive and hb.extra.get("down"):
            reason = f"down ({hb.extra['down']})"  # its supervisor restarts it
        elif not is_running or not hb.alive:
            reason = "stopped" + (f" ({hb.last_error})" if hb.last_error else "")
        elif age > timeout:
            reason = f"no heartbeat for {age:.0f}s (limit {timeout:g}s)"
        elif outages.get(name):
            reason = f"outage: {outages[name]}"
        else:
            reason = ""
        out[name] = LoopHealth(name, is_running and hb.alive, age if age != float("inf") else -1.0,
                               not reason, reason, hb.last_error)
    return Health(out)
