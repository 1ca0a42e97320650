"""How a moment is shown to an operator (`connector status`, /status, the CLI): local time,
to the second; "-" for never. A leaf helper every part's status may use."""

from __future__ import annotations

import time


def fmt_time(ts: float | None) -> str:
    if not ts:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
