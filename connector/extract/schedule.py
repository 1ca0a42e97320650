"""When a scheduled extraction falls due: an interval or a cron expression, gated by
allowed weekdays and a daily time window (manual runs ignore the gate).

Times are local wall-clock times, as the people who run the ERP think of them. A run
that falls due outside its weekdays or window waits for the first allowed minute.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from connector.extract.cron import Cron, CronSyntaxError, parse_cron

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ScheduleSpec(Protocol):
    """What a schedule is built from (connector.config.ExtractScheduleConfig)."""

    @property
    def every_minutes(self) -> float | None: ...
    @property
    def cron(self) -> str | None: ...
    @property
    def mode(self) -> str: ...
    @property
    def weekdays(self) -> list[str]: ...
    @property
    def window(self) -> str | None: ...


@dataclass(frozen=True)
class Schedule:
    mode: str  # full | changed
    every: dt.timedelta | None = None
    cron: Cron | None = None
    weekdays: frozenset[int] = frozenset()  # ISO weekdays 1..7; empty: every day
    window: tuple[dt.time, dt.time] | None = None

    def allowed(self, now: dt.datetime) -> bool:
        if self.weekdays and now.isoweekday() not in self.weekdays:
            return False
        if self.window is None:
            return True
        start, end = self.window
        t = now.time()
        if start <= end:
            return start <= t < end
        return t >= start or t < end  # the window crosses midnight

    def next_due(self, last_run: dt.datetime | None, first_seen: dt.datetime) -> dt.datetime:
        """When the next run falls due; it may be in the past (then it is due now)."""
        if self.every is not None:
            return first_seen if last_run is None else last_run + self.every
        assert self.cron is not None
        return self.cron.next_after(last_run or first_seen)

    def is_due(self, now: dt.datetime, last_run: dt.datetime | None,
               first_seen: dt.datetime) -> bool:
        return now >= self.next_due(last_run, first_seen) and self.allowed(now)

    def next_run(self, last_run: dt.datetime | None, first_seen: dt.datetime,
                 now: dt.datetime) -> dt.datetime | None:
        """When the next run will start: due, and inside the allowed weekdays and window."""
        t = max(self.next_due(last_run, first_seen), now).replace(second=0, microsecond=0)
        for _ in range(8 * 24 * 60):  # every weekday and window comes round within 8 days
            if self.allowed(t):
                return t
            t += dt.timedelta(minutes=1)
        return None

    def describe(self) -> str:
        what = (f"every {_minutes(self.every)}" if self.every is not None
                else f"cron '{self.cron.expression if self.cron else ''}'")
        parts = [f"{self.mode} {what}"]
        if self.weekdays:
            parts.append("on " + ",".join(WEEKDAYS[d - 1] for d in sorted(self.weekdays)))
        if self.window:
            parts.append(f"between {self.window[0]:%H:%M} and {self.window[1]:%H:%M}")
        return " ".join(parts)


def _minutes(delta: dt.timedelta) -> str:
    minutes = delta.total_seconds() / 60
    return f"{minutes:g} min"


def parse_schedule(cfg: ScheduleSpec, path: str) -> tuple[Schedule | None, list[str]]:
    """Build a Schedule, or return every problem with its key path."""
    errors: list[str] = []
    every: dt.timedelta | None = None
    cron: Cron | None = None
    if (cfg.every_minutes is None) == (cfg.cron is None):
        errors.append(f"{path}: set exactly one of every_minutes or cron")
    if cfg.every_minutes is not None:
        if cfg.every_minutes <= 0:
            errors.append(f"{path}.every_minutes: must be > 0")
        else:
            every = dt.timedelta(minutes=cfg.every_minutes)
    if cfg.cron is not None:
        try:
            cron = parse_cron(cfg.cron)
        except CronSyntaxError as exc:
            errors.append(f"{path}.cron: {exc}")
    weekdays: set[int] = set()
    for i, name in enumerate(cfg.weekdays):
        key = str(name).strip().lower()[:3]
        if key not in WEEKDAYS:
            errors.append(f"{path}.weekdays[{i}]: {name!r} is not one of {', '.join(WEEKDAYS)}")
        else:
            weekdays.add(WEEKDAYS.index(key) + 1)
    window = None
    if cfg.window is not None:
        window = _parse_window(cfg.window)
        if window is None:
            errors.append(f"{path}.window: expected HH:MM-HH:MM, got {cfg.window!r}")
    if errors:
        return None, errors
    return Schedule(cfg.mode, every, cron, frozenset(weekdays), window), []


def _parse_window(text: str) -> tuple[dt.time, dt.time] | None:
    a, sep, b = text.partition("-")
    if not sep:
        return None
    try:
        start = dt.datetime.strptime(a.strip(), "%H:%M").time()
        end = dt.datetime.strptime(b.strip(), "%H:%M").time()
    except ValueError:
        return None
    return None if start == end else (start, end)
