"""How a moment is shown to an operator (`connector status`, /status, the CLI): local time,
to the second; "-" for never. A leaf helper every part's status may use."""

from __future__ import annotations

import time


def fmt_time(ts: float | None) -> str:
    if not ts:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def ago(ts: float | None, now: float | None = None) -> str:
    """How long ago, roughly ("3 h ago"); "-" for never."""
    from connector.i18n import _

    if not ts:
        return "-"
    secs = max(0.0, (time.time() if now is None else now) - ts)
    if secs < 60:
        return _("just now")
    if secs < 3600:
        return _("{n} min ago").format(n=int(secs // 60))
    if secs < 2 * 86400:
        return _("{n} h ago").format(n=int(secs // 3600))
    return _("{n} days ago").format(n=int(secs // 86400))


def fmt_when(ts: float | None, now: float | None = None) -> str:
    """"3 h ago (2026-11-21 23:41:42)": how long ago, then the local time."""
    if not ts:
        return "-"
    return f"{ago(ts, now)} ({fmt_time(ts)})"


def duration(secs: float) -> str:
    """An uptime in words: "2 d 3 h", "3 h 12 min", "4 min"."""
    secs = max(0, int(secs))
    d, rest = divmod(secs, 86400)
    h, rest = divmod(rest, 3600)
    m = rest // 60
    if d:
        return f"{d} d {h} h"
    if h:
        return f"{h} h {m} min"
    return f"{m} min" if m else f"{secs} s"
