"""Reading the values of a queue item: dates in the forms AppManager sends, numbers kept
with the digits they were sent with, text, and the straight-line decoder of a record's
plain fields (generated once per class).

Each reader raises RecordError naming the field when a value is not what the field takes.

Dates on the wire are not documented; `parse_wire_datetime` accepts the forms seen:
ISO 8601 with or without zone (and with 7 fractional digits, as .NET writes them),
`yyyy/mm/dd hh:mm:ss`, the .NET JSON form `/Date(1234567890000+0100)/`, and null/"".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from connector.errors import RecordError
from connector.model.records import WireDateTime, WireScalar

_NET_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_OFFSETS: dict[str, timezone] = {}  # "+0100" -> its timezone: a handful, built once each
_SLASH_DATE = re.compile(r"^(\d{4})/(\d{2})/(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_from_iso = datetime.fromisoformat


def parse_wire_datetime(value: Any, field_name: str = "date") -> datetime | None:
    """A date as AppManager may send it; None for null or "". RecordError otherwise."""
    # The two common forms first, without the checks below (this runs for every date of
    # every row): ISO 8601 as sent (Python 3.11 reads "Z" too), and .NET /Date(ms±hhmm)/.
    if type(value) is str and value:
        if "0" <= value[0] <= "9":
            try:
                return _from_iso(value)
            except ValueError:
                pass
        elif value[0] == "/":
            m = _NET_DATE.match(value)
            if m:
                return _net_date(m, value, field_name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(f"{field_name}: expected a date string, got {value!r}", field=field_name)
    text = value.strip()
    if not text:
        return None
    m = _NET_DATE.match(text)
    if m:
        return _net_date(m, value, field_name)
    m = _SLASH_DATE.match(text)
    if m:
        parts = [int(p) if p else 0 for p in m.groups()]
        try:
            return datetime(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5])
        except ValueError:
            raise RecordError(f"{field_name}: not a valid date: {value!r}",
                              field=field_name) from None
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        pass
    # .NET writes up to 7 fractional digits; Python's parser may want at most 6.
    m2 = re.match(r"^(.*T\d{2}:\d{2}:\d{2})\.(\d+)(.*)$", iso)
    if m2:
        try:
            return datetime.fromisoformat(f"{m2.group(1)}.{m2.group(2)[:6].ljust(6, '0')}"
                                          f"{m2.group(3)}")
        except ValueError:
            pass
    raise RecordError(f"{field_name}: not a date in a known form (ISO 8601, /Date(ms)/): "
                      f"{value!r}", field=field_name)


def _net_date(m: re.Match[str], value: str, field_name: str) -> datetime:
    """/Date(ms)/ or /Date(ms±hhmm)/: milliseconds since 1970 (UTC), shown in that offset.
    The epoch plus a timedelta: exact to the millisecond, and no platform limit on dates
    before 1970 (Windows has one for fromtimestamp)."""
    offset = m.group(2)
    try:
        tz = _OFFSETS.get(offset) if offset else UTC
        if tz is None:
            sign = 1 if offset[0] == "+" else -1
            hours, minutes = int(offset[1:3]), int(offset[3:5])
            tz = timezone(sign * timedelta(hours=hours, minutes=minutes))  # under 24 h
            if len(_OFFSETS) < 256:
                _OFFSETS[offset] = tz
        return (_EPOCH + timedelta(milliseconds=int(m.group(1)))).astimezone(tz)
    except (OverflowError, ValueError):
        raise RecordError(f"{field_name}: date out of range: {value!r}",
                          field=field_name) from None


def as_text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise RecordError(f"{name}: expected text, got {value!r}", field=name)
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal) and value.is_finite():  # a number, read exactly (decode_raw)
        return str(int(value)) if value == value.to_integral_value() else str(value)
    raise RecordError(f"{name}: expected text, got {type(value).__name__}", field=name)


def _decimal(value: Any, name: str) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RecordError(f"{name}: expected a number, got {value!r}", field=name)
    if isinstance(value, int | float):
        d = Decimal(str(value))
    elif isinstance(value, Decimal):  # a number, read exactly (decode_raw)
        d = value
    elif isinstance(value, str):
        try:
            d = Decimal(value.strip().replace(",", "."))
        except InvalidOperation:
            raise RecordError(f"{name}: expected a number, got {value!r}", field=name) from None
    else:
        raise RecordError(f"{name}: expected a number, got {type(value).__name__}", field=name)
    if not d.is_finite():
        raise RecordError(f"{name}: expected a finite number, got {value!r}", field=name)
    return d


def as_int(value: Any, name: str, required: bool = False) -> int | None:
    if value is None or value == "":
        if required:
            raise RecordError(f"{name}: missing", field=name)
        return None
    d = _decimal(value, name)
    if d is None or d != d.to_integral_value():
        raise RecordError(f"{name}: expected a whole number, got {value!r}", field=name)
    if d.adjusted() > 18:  # past 64 bits: int() of 9e487058 would take minutes
        raise RecordError(f"{name}: {d} is too large for a whole number", field=name)
    return int(d)


_TEXT, _DEC, _DATE, _INT, _SCALAR = range(5)
_PLANS: dict[type, list[tuple[str, int]]] = {}


def _plan(cls: type) -> list[tuple[str, int]]:
    """(field name, kind) for the plain fields of cls, computed once per class."""
    plan = _PLANS.get(cls)
    if plan is None:
        kinds = {str | None: _TEXT, str: _TEXT, Decimal | None: _DEC,
                 WireDateTime | None: _DATE, int | None: _INT, int: _INT,
                 WireScalar | None: _SCALAR}
        plan = [(f.name, kinds[f.type]) for f in msgspec.structs.fields(cls)
                if f.type in kinds]
        _PLANS[cls] = plan
    return plan


def decode_fields(cls: type, item: dict[str, Any], prefix: str,
                   skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Decode the plain fields of `cls` whose wire name equals the field name."""
    fn = _DECODERS.get((cls, skip))
    if fn is None:
        fn = _DECODERS[(cls, skip)] = _compile_decoder(cls, skip)
    return fn(item, prefix)


_DECODERS: dict[tuple[type, frozenset[str]], Callable[[dict[str, Any], str], dict[str, Any]]] = {}


def _compile_decoder(cls: type, skip: frozenset[str]
                     ) -> Callable[[dict[str, Any], str], dict[str, Any]]:
    """The hot path of the import, as straight-line code generated once per class from its
    field list (names are dataclass field names, never input): the common value types are
    taken inline, anything else goes through the checking helpers, which name the field."""
    lines = ["def decode(item, prefix):", "    out = {}", "    get = item.get"]
    for name, kind in _plan(cls):
        if name in skip:
            continue
        n = repr(name)
        lines += [f"    v = get({n}, M)", "    if v is not M:"]
        if kind == _TEXT:
            lines.append(f"        out[{n}] = v if v is None or type(v) is str "
                         f"else as_text(v, prefix + {n})")
        elif kind == _DEC:
            lines += ["        t = type(v)",
                      f"        if v is None: out[{n}] = None",
                      "        elif t is float or t is int:",
                      "            d = NUM.get((t, v))",
                      f"            out[{n}] = d if d is not None else _dec_number(v, prefix + {n})",
                      f"        else: out[{n}] = _decimal(v, prefix + {n})"]
        elif kind == _DATE:
            lines.append(f"        out[{n}] = None if v is None "
                         f"else parse_wire_datetime(v, prefix + {n})")
        elif kind == _SCALAR:
            lines.append(f"        out[{n}] = v if v is None or type(v) is str or type(v) is int "
                         f"else _scalar(v, prefix + {n})")
        else:
            lines.append(f"        out[{n}] = v if v is None or type(v) is int "
                         f"else as_int(v, prefix + {n})")
    lines.append("    return out")
    namespace: dict[str, Any] = {"M": _MISSING, "NUM": _NUMBERS, "_dec_number": _dec_number,
                                 "as_text": as_text, "_scalar": _scalar,
                                 "_decimal": _decimal, "as_int": as_int,
                                 "parse_wire_datetime": parse_wire_datetime}
    exec("\n".join(lines), namespace)  # noqa: S102 - generated from our own field list
    fn: Callable[[dict[str, Any], str], dict[str, Any]] = namespace["decode"]
    return fn


_MISSING = object()
# Decimals of the numbers seen lately (prices, quantities and discounts repeat a lot):
# a lookup is several times cheaper than building a Decimal. Keyed by type, so 1 and 1.0
# stay distinct ("1" and "1.0").
_NUMBERS: dict[tuple[type, int | float], Decimal] = {}


def _dec_number(value: int | float, where: str) -> Decimal:
    d = _decimal(value, where)
    assert d is not None
    if len(_NUMBERS) >= 8192:
        _NUMBERS.clear()
    _NUMBERS[(type(value), value)] = d
    return d


def _scalar(value: Any, name: str) -> str | int:
    """A value kept as sent (text or a whole number): a flag sent as true/false is 1/0,
    another number its text; only an object or a list is refused."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | str):
        return value
    if isinstance(value, float | Decimal):
        d = Decimal(str(value)) if isinstance(value, float) else value
        if d.is_finite() and d == d.to_integral_value():
            return int(d)
        return str(value)
    raise RecordError(f"{name}: expected text or a number, got {type(value).__name__}",
                      field=name)


def require_dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RecordError(f"{where}: expected an object, got {type(value).__name__}", field=where)
    return value


def list_of(item: dict[str, Any], name: str, where: str) -> list[Any]:
    value = item.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError(f"{where}: expected a list, got {type(value).__name__}", field=where)
    return value


def queue_id_of(item: Any) -> int | None:
    """The queue id of an item, if it has a readable one (for quarantining malformed items)."""
    if not isinstance(item, dict):
        return None
    try:
        return as_int(item.get("id"), "id")
    except RecordError:
        return None
