"""Bind parameters for the extraction queries.

A query names what it needs with `:name`; only those names are bound, and a name
nobody declared is a configuration error that names the job and the parameter.

- `:company` is the company code (COD_DITTA).
- `:today` is today's date.
- `:since_<N>` is the date N days ago (the reference connector's 180-day history is
  `:since_180`).
- Declared parameters (`extract.params`, overridden per job by `jobs[i].params`):
  `"days:N"` becomes the date N days ago, `"today"` today's date, `"int:N"` an
  integer; anything else is bound as text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

_SINCE = re.compile(r"since_(\d{1,5})")
_DAYS = re.compile(r"days:\s*(-?\d{1,5})")
_INT = re.compile(r"int:\s*(-?\d+)")


class ParamError(ValueError):
    """A query names a parameter nobody declared, or a declared value is malformed."""


def declared_value(name: str, raw: str, today: dt.date) -> Any:
    text = raw.strip()
    m = _DAYS.fullmatch(text)
    if m:
        return today - dt.timedelta(days=int(m.group(1)))
    if text == "today":
        return today
    m = _INT.fullmatch(text)
    if m:
        return int(m.group(1))
    if text.startswith(("days:", "int:")):
        raise ParamError(f"parameter {name!r}: {raw!r} is not days:N or int:N")
    return raw


def resolve_params(names: list[str], *, company: str, declared: Mapping[str, str],
                   today: dt.date | None = None) -> dict[str, Any]:
    """The value of each bind parameter the query uses."""
    day = today or dt.date.today()
    values: dict[str, Any] = {}
    missing: list[str] = []
    for name in names:
        if name in declared:
            values[name] = declared_value(name, declared[name], day)
        elif name == "company":
            values[name] = company
        elif name == "today":
            values[name] = day
        elif (m := _SINCE.fullmatch(name)) is not None:
            values[name] = day - dt.timedelta(days=int(m.group(1)))
        else:
            missing.append(name)
    if missing:
        raise ParamError(
            "the query uses " + ", ".join(f":{n}" for n in missing)
            + " but no such parameter is declared (add it to extract.params or the job's "
            "params; built in: :company, :today, :since_<days>)")
    return values
