"""A small parser for the five standard cron fields, and "when does it fire next".

Fields: minute hour day-of-month month day-of-week, each `*`, a number, a range `a-b`,
a step `*/n` or `a-b/n`, or a comma list of those. Day-of-week 0-7 (0 and 7 are Sunday)
or mon..sun; months 1-12 or jan..dec. As in Vixie cron, when both day-of-month and
day-of-week are restricted a day matches if either does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_DAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_NO_NAMES: dict[str, int] = {}
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, _NO_NAMES), ("hour", 0, 23, _NO_NAMES), ("day of month", 1, 31, _NO_NAMES),
    ("month", 1, 12, _MONTHS), ("day of week", 0, 7, _DAYS))


class CronSyntaxError(ValueError):
    """The expression is not five valid cron fields; the message says which part is wrong."""


@dataclass(frozen=True)
class Cron:
    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday ... 6 = Saturday
    days_restricted: bool
    weekdays_restricted: bool

    def matches(self, when: dt.datetime) -> bool:
        return (when.minute in self.minutes and when.hour in self.hours
                and self._day_matches(when.date()))

    def _day_matches(self, day: dt.date) -> bool:
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = (day.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return dom or dow
        return dom and dow

    def next_after(self, when: dt.datetime) -> dt.datetime:
        """The first matching minute strictly after `when` (seconds dropped)."""
        start = when.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        day = start.date()
        for _ in range(366 * 5):  # a valid expression matches within a few years (Feb 29)
            if self._day_matches(day):
                first_day = day == start.date()
                for hour in sorted(self.hours):
                    if first_day and hour < start.hour:
                        continue
                    for minute in sorted(self.minutes):
                        if first_day and hour == start.hour and minute < start.minute:
                            continue
                        return dt.datetime.combine(day, dt.time(hour, minute), when.tzinfo)
            day += dt.timedelta(days=1)
        raise CronSyntaxError(f"{self.expression!r} never fires")


def parse_cron(expression: str) -> Cron:
    parts = expression.split()
    if len(parts) != 5:
        raise CronSyntaxError(
            f"{expression!r}: expected 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(parts)}")
    sets = [_parse_field(p, *spec) for p, spec in zip(parts, _FIELDS, strict=True)]
    weekdays = frozenset(d % 7 for d in sets[4])
    cron = Cron(expression, sets[0], sets[1], sets[2], sets[3], weekdays,
                days_restricted=parts[2] != "*", weekdays_restricted=parts[4] != "*")
    cron.next_after(dt.datetime(2000, 1, 1))  # rejects e.g. "0 0 31 2 *"
    return cron


def _parse_field(text: str, name: str, low: int, high: int,
                 names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        rng, _, step_text = item.partition("/")
        step = 1
        if step_text:
            step = _number(step_text, name, 1, high - low + 1, {})
        if rng == "*":
            start, end = low, high
        elif "-" in rng:
            a, _, b = rng.partition("-")
            start, end = _number(a, name, low, high, names), _number(b, name, low, high, names)
            if start > end:
                raise CronSyntaxError(f"{name}: range {rng!r} goes backwards")
        else:
            start = _number(rng, name, low, high, names)
            end = high if step_text else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _number(text: str, name: str, low: int, high: int, names: dict[str, int]) -> int:
    key = text.strip().lower()
    if key in names:
        return names[key]
    if not key.isdigit():
        raise CronSyntaxError(f"{name}: {text!r} is not a number"
                              + (f" or one of {', '.join(names)}" if names else ""))
    value = int(key)
    if not low <= value <= high:
        raise CronSyntaxError(f"{name}: {value} is outside {low}-{high}")
    return value
