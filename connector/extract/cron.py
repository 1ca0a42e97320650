"""Cron expressions of the schedules, on cronsim: parse once, then "when does it fire next".

Five fields: minute hour day-of-month month day-of-week, each `*`, a number, a range `a-b`,
a step `*/n` or `a-b/n`, or a comma list of those. Day-of-week 0-7 (0 and 7 are Sunday)
or mon..sun; months 1-12 or jan..dec; cronsim's `L`, `LW` and `dow#n` work too. As in
Vixie and Debian cron, when neither day field starts with `*` a day matches if either
does. A seconds field (cronsim's sixth) is refused: schedules run at whole minutes.

cronsim does the parsing and the arithmetic. This module adds the five-field rule and
turns cronsim's one-word refusals ("Bad hour") into a line that names the field, quotes
what was written and says what fits there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cronsim import CronSim, CronSimError

# cronsim's field names (in its messages) -> ours, and what a value may be there.
_FIELDS = {
    "minute": ("minute", "0-59"),
    "hour": ("hour", "0-23"),
    "day-of-month": ("day of month", "1-31, L or LW"),
    "month": ("month", "1-12 or jan-dec"),
    "day-of-week": ("day of week", "0-7 or sun-sat, with dowL or dow#n"),
}
_ORDER = ("minute", "hour", "day-of-month", "month", "day-of-week")
_EPOCH = dt.datetime(2000, 1, 1)


class CronSyntaxError(ValueError):
    """The expression is not five valid cron fields; the message says which part is wrong."""


@dataclass(frozen=True)
class Cron:
    expression: str

    def next_after(self, when: dt.datetime) -> dt.datetime:
        """The first matching minute strictly after `when` (seconds dropped). Naive times
        are wall-clock times; an aware one gets cronsim's (Debian cron's) DST rules."""
        try:
            return next(CronSim(self.expression, when))
        except StopIteration:  # cronsim looks 50 years ahead
            raise CronSyntaxError(f"{self.expression!r} never fires") from None


def parse_cron(expression: str) -> Cron:
    parts = expression.split()
    if len(parts) != 5:
        raise CronSyntaxError(
            f"{expression!r}: expected 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(parts)}")
    try:
        cron = Cron(" ".join(parts))
        cron.next_after(_EPOCH)  # rejects e.g. "0 0 31 2 *"
    except CronSimError as exc:
        raise CronSyntaxError(_explain(parts, str(exc))) from None
    return cron


def _explain(parts: list[str], message: str) -> str:
    field = message.removeprefix("Bad ").strip()
    if field not in _ORDER:
        return f"{' '.join(parts)!r}: {message}"
    ours, fits = _FIELDS[field]
    text = parts[_ORDER.index(field)]
    if field == "day-of-month" and _valid_alone(text):
        return (f"day of month: {text!r} never comes in month {parts[3]!r}, "
                "so the expression never fires")
    return (f"{ours}: {text!r} is not valid (values {fits}; as n, a-b (a <= b), "
            "*/n or a-b/n (n >= 1), or a comma list)")


def _valid_alone(day_of_month: str) -> bool:
    """cronsim says "Bad day-of-month" both for a bad field and for a day no chosen month
    has; the field tried with every month tells the two apart."""
    try:
        CronSim(f"0 0 {day_of_month} * *", _EPOCH)
    except CronSimError:
        return False
    return True
