"""Field types of the tracciati: their line-regex fragments, diagnostics and formatting.

One Field knows how to judge a value (`problem`) in words an ERP clerk can act on, how
to contribute to the compiled per-layout line pattern (`pattern`), and how to turn a
Python value into its canonical text (`format`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Literal

from formats.report import N_

TEXT_CAP = 4000
SECTION = "\u00a7"  # § stands for a newline inside text (§1 rule 9)
DAT_ULT_MOD = "DAT_ULT_MOD"
DAT_ULT_MOD_VALUE = "01011900000000"  # §1 rule 6: always this constant

Kind = Literal["C", "I", "D", "Dt", "DT", "F", "L"]
Severity = Literal["error", "warning"]

KIND_NAMES = {
    "C": "text", "I": "integer", "D": "decimal (comma)", "Dt": "date ddmmyyyy",
    "DT": "date-time ddmmyyyyhhmmss", "F": "flag 0/-1", "L": "decimal (dot)",
}

# Real calendar dates, leap years included, as a regex so the fast path needs no Python.
_YEAR = r"(?!0000)\d{4}"
_LEAP = r"(?:\d\d(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)"
DATE_RE = (r"(?:(?:(?:0[1-9]|1\d|2[0-8])(?:0[1-9]|1[0-2])|(?:29|30)(?:0[13-9]|1[0-2])"
           r"|31(?:0[13578]|1[02]))" + _YEAR + r"|2902" + _LEAP + ")")
TIME_RE = r"(?:[01]\d|2[0-3])[0-5]\d[0-5]\d"
_TEXT_CHARS = r"[^|\r\n]"
_NOT_BLANK = r"(?=[ \t]*[^ \t|\r\n])"


def _rep(lo: int, hi: int) -> str:
    """A regex repetition {lo,hi}."""
    return "{" + str(lo) + "," + str(hi) + "}"


@dataclass(frozen=True)
class Field:
    """One column of a tracciato."""

    name: str
    kind: Kind = "C"
    length: int = TEXT_CAP  # max characters (C, L), digits (I), precision (D)
    scale: int = 0  # D and L: digits after the separator
    required: bool = False
    typed: bool = True  # False: the spec gives no type/length; permissive C4000
    documented_length: int | None = None  # as the spec lists it (e.g. 8000 before the cap)
    # Provenance: the public sources that list or write this column, as tags (IW, DI, AMH,
    # CIB, CIC; formats/_table.py explains them). Empty for a column no layout lists.
    sources: tuple[str, ...] = ()
    # Other header names real writers use for this same column (e.g. COD_VALUTA for VALUTA);
    # Layout.field_for resolves them, the published file keeps the name as written.
    aliases: tuple[str, ...] = ()
    # The column identifies or links records (CHIAVE, NUM_REG, a code): a value longer than
    # documented is kept whole, never cut by length_policy: truncate (cutting it would break
    # the link, e.g. a due date that no longer finds its document).
    key_like: bool = False
    _full: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_full", re.compile(self.pattern()))

    # ------------------------------------------------------------------ description
    @property
    def type_code(self) -> str:
        if not self.typed:
            return "?"
        if self.kind in ("D", "L"):
            return f"{self.kind}{self.length},{self.scale}"
        if self.kind in ("C", "I"):
            return f"{self.kind}{self.length}"
        return self.kind

    def describe(self) -> str:
        req = " required" if self.required else ""
        if not self.typed:
            return f"{self.name} untyped (text up to {TEXT_CAP}){req}"
        return f"{self.name} {self.type_code} {KIND_NAMES[self.kind]}{req}"

    # ------------------------------------------------------------------ line pattern
    def value_pattern(self) -> str:
        """The regex of a non-empty valid value (no groups)."""
        k = self.kind
        if k == "C":
            return _TEXT_CHARS + _rep(1, self.length)
        if k == "I":
            return r"-?\d" + _rep(1, self.length)
        if k in ("D", "L"):
            sep = "," if k == "D" else r"\."
            whole = max(self.length - self.scale, 1)
            if self.scale == 0:
                return r"-?\d" + _rep(1, whole)
            # (?:X|) rather than (?:X)?: sre runs an alternation much faster than a
            # quantified group, and this pattern runs once per field of every line.
            return r"-?\d" + _rep(1, whole) + "(?:" + sep + r"\d" + _rep(1, self.scale) + "|)"
        if k == "Dt":
            return DATE_RE
        if k == "DT":
            return DATE_RE + TIME_RE
        return r"0|-1"  # F

    @property
    def obsolete(self) -> bool:
        """DAT_ULT_MOD: whatever a file carries, the constant is published (§1 rule 6), so
        no value of it can reach AppManager; check() repairs, never refuses, a value that
        is not a date-time."""
        return self.name == DAT_ULT_MOD

    def pattern(self) -> str:
        """The regex of the whole field as it may appear in a line."""
        if self.obsolete:
            # Only the constant or a real date-time pass unremarked (a date-time becomes
            # the constant silently, the documented rule); anything else, empty included,
            # is left to check() for its repair warning. Never an alternation with the
            # constant spelt out: the constant is a date-time too, and a field that matches
            # two ways makes a failing block backtrack through 2^lines ways (a hang).
            return "(?:" + DATE_RE + TIME_RE + ")"
        if self.kind == "C":
            if self.required:
                return _NOT_BLANK + _TEXT_CHARS + _rep(1, self.length)
            return _TEXT_CHARS + _rep(0, self.length)
        if self.required:
            return "(?:" + self.value_pattern() + ")"
        return "(?:" + self.value_pattern() + "|)"

    # ------------------------------------------------------------------ diagnostics
    def is_valid(self, value: str) -> bool:
        return self._full.fullmatch(value) is not None

    @property
    def may_truncate(self) -> bool:
        """Text that length_policy=truncate may cut: never a key or a key-like field."""
        return self.kind == "C" and not self.required and not self.key_like

    def check(self, value: str) -> Finding | None:
        """The two-severity verdict on a value the documented pattern does not match.

        None: as documented. An error: AppManager would read the value wrong or not at
        all. A warning: the value departs from the documentation the way real writers'
        values do (longer, more digits), and is published as written, or repaired.
        """
        if self._full.fullmatch(value) is not None:
            return None
        if self.obsolete:
            return self._obsolete_check(value)
        if not value.strip():
            if self.required:
                return Finding("error", N_("{field} is required and must not be empty",
                                           field=self.name))
            if self.kind == "C" or not self.typed:
                return None
            return Finding("error", N_("remove the spaces: an empty value is written as "
                                       "nothing"))
        if "\r" in value or "\n" in value:
            return Finding("error", _LINE_BREAK)
        if "|" in value:
            return Finding("error", _PIPE)
        if len(value) > TEXT_CAP:
            return Finding("error", _too_long(value))
        k = self.kind if self.typed else "C"
        if k == "C":
            return Finding("warning", N_("text is {n} characters long; {field} is documented "
                                         "up to {max}", n=len(value), field=self.name,
                                         max=self.length))
        if value != value.strip():
            return Finding("error", N_("remove the spaces around the value (no padding "
                                       "allowed)"))
        if k == "I":
            if _INT.fullmatch(value):
                return Finding("warning", N_("{n} digits; {field} is documented with at most "
                                             "{max}", n=_digits(value), field=self.name,
                                             max=self.length))
            if _COMMA_DEC.fullmatch(value):
                return Finding("warning", N_("decimals in {field}, documented as a whole number",
                                             field=self.name))
            return Finding("error", N_("must be a whole number (digits only, optional "
                                       "leading -), e.g. 12"))
        if k == "F":
            if _INT.fullmatch(value):
                return Finding("warning", N_("a flag is documented as 0 (no) or -1 (yes)"))
            return Finding("error", N_("flag must be 0 (no) or -1 (yes)"))
        if k in ("D", "L"):
            return self._decimal_check(value)
        return Finding("error", _date_problem(value, with_time=k == "DT"))

    def _obsolete_check(self, value: str) -> Finding:
        """DAT_ULT_MOD that is neither the constant nor a date-time (DI's catalog example
        writes the date 01012010; AMHelper's reader takes 8 or 14 digits): published as
        the constant, which it would be anyway. Only what breaks the line stays an error."""
        if "\r" in value or "\n" in value:
            return Finding("error", _LINE_BREAK)
        if "|" in value:
            return Finding("error", _PIPE)
        if len(value) > TEXT_CAP:
            return Finding("error", _too_long(value))
        if not value:
            what = N_("{field} is empty, not ddmmyyyyhhmmss", field=self.name)
        elif len(value) == 14 and value.isdigit():
            what = N_("{field} '{value}' is not a real date-time ddmmyyyyhhmmss",
                      field=self.name, value=value)
        else:
            shown = value if len(value) <= 40 else value[:37] + "..."
            what = N_("{field} '{value}' is not ddmmyyyyhhmmss", field=self.name, value=shown)
        return Finding("warning", what, DAT_ULT_MOD_VALUE,
                       N_("published as {value}", value=DAT_ULT_MOD_VALUE))

    def _decimal_check(self, value: str) -> Finding:
        sep = "," if self.kind == "D" else "."
        m = (_COMMA_DEC if sep == "," else _DOT_DEC).fullmatch(value) or _INT.fullmatch(value)
        repaired = None
        if m is None and self.kind == "L" and _COMMA_DEC.fullmatch(value):
            repaired = value.replace(",", ".")
            m = _DOT_DEC.fullmatch(repaired)
        if m is None:
            if self.kind == "D" and _DOT_DEC.fullmatch(value):
                return Finding("error", N_("decimal separator must be ',', not '.' (e.g. "
                                           "1234,56): Italian readers take the dot for a "
                                           "thousands separator (15000.50 would be read as "
                                           "1500050)"))
            example = "1234,56" if self.kind == "D" else "45.123456"
            return Finding("error", N_("must be a number with '{sep}' as decimal separator and "
                                       "no thousands separator (e.g. {example})", sep=sep,
                                       example=example))
        whole = max(self.length - self.scale, 1)
        text = repaired or value
        int_part, _, dec_part = text.lstrip("-").partition(sep)
        over = []
        if len(int_part) > whole:
            over.append(N_("{n} digits before the '{sep}', documented {max}",
                           n=len(int_part), sep=sep, max=whole))
        if len(dec_part) > self.scale:
            over.append(N_("{n} decimals, documented {max}", n=len(dec_part), max=self.scale))
        if repaired is not None:
            comma = N_("decimal comma in {field}, a dot-decimal field the map reads",
                       field=self.name)
            if over:
                comma = N_("{rule} ({details})", rule=comma, details=_joined(over))
            return Finding("warning", comma, repaired,
                           N_("published as {value}", value=repaired))
        if not over:  # cannot happen with the patterns above; never let a value pass unjudged
            return Finding("error", self.problem(value) or N_("not a valid value"))
        return Finding("warning", N_("{field} has {details}", field=self.name,
                                     details=_joined(over)))

    def problem(self, value: str) -> str | None:
        """None if the value is fine, else the rule it breaks, in plain words."""
        if self._full.fullmatch(value) is not None:
            return None
        if not value.strip():
            if self.required:
                return f"{self.name} is required and must not be empty"
            return None  # unreachable for well-formed patterns; kept for safety
        if "\r" in value or "\n" in value:
            return ("contains a line break; line breaks inside text must be written as "
                    f"{SECTION}")
        if "|" in value:
            return "contains |, the column separator; replace it (e.g. with _)"
        k = self.kind
        if k == "C":
            return (f"text is {len(value)} characters long; the maximum for {self.name} "
                    f"is {self.length}")
        if value != value.strip():
            return "remove the spaces around the value (no padding allowed)"
        if k == "I":
            if re.fullmatch(r"-?\d+", value):
                return f"integer has more than {self.length} digits"
            return "must be a whole number (digits only, optional leading -), e.g. 12"
        if k == "F":
            return "flag must be 0 (no) or -1 (yes)"
        if k in ("D", "L"):
            return self._decimal_problem(value)
        if k == "Dt":
            return _date_problem(value, with_time=False)
        return _date_problem(value, with_time=True)

    def _decimal_problem(self, value: str) -> str:
        sep, other = (",", ".") if self.kind == "D" else (".", ",")
        whole = max(self.length - self.scale, 1)
        example = "1234,56" if self.kind == "D" else "45.123456"
        if other in value and sep not in value:
            return (f"decimal separator must be '{sep}', not '{other}' (e.g. {example})")
        m = re.fullmatch(r"-?(\d+)(?:" + re.escape(sep) + r"(\d+))?", value)
        if m is None:
            return f"must be a number with '{sep}' as decimal separator and no thousands separator (e.g. {example})"
        if self.scale == 0 and m.group(2) is not None:
            return f"must be a whole number (no decimals allowed in {self.name})"
        if m.group(2) is not None and len(m.group(2)) > self.scale:
            return f"at most {self.scale} decimals allowed, found {len(m.group(2))}"
        return (f"at most {whole} digits before the '{sep}' allowed, found "
                f"{len(m.group(1))}")

    # ------------------------------------------------------------------ formatting
    def format(self, value: object) -> str:
        """Canonical text of a Python value; raises ValueError with a plain reason."""
        if value is None:
            return ""
        if isinstance(value, bool):
            return "-1" if value else "0"
        k = self.kind if self.typed else "C"
        if isinstance(value, str):
            return value
        if k == "Dt":
            if isinstance(value, dt.date):
                return value.strftime("%d%m") + f"{value.year:04d}"
            raise ValueError(f"expected a date, got {type(value).__name__}")
        if k == "DT":
            if isinstance(value, dt.datetime):
                return value.strftime("%d%m") + f"{value.year:04d}" + value.strftime("%H%M%S")
            if isinstance(value, dt.date):
                return value.strftime("%d%m") + f"{value.year:04d}000000"
            raise ValueError(f"expected a date-time, got {type(value).__name__}")
        if k in ("I", "F"):
            if isinstance(value, int):
                return str(value)
            if isinstance(value, Decimal | float) and value == int(value):
                return str(int(value))
            raise ValueError(f"expected an integer, got {value!r}")
        if k in ("D", "L"):
            if isinstance(value, int | float | Decimal):
                return format_decimal(value, self.scale, "," if k == "D" else ".")
            raise ValueError(f"expected a number, got {type(value).__name__}")
        if isinstance(value, dt.datetime):
            return value.strftime("%d%m") + f"{value.year:04d}" + value.strftime("%H%M%S")
        if isinstance(value, dt.date):
            return value.strftime("%d%m") + f"{value.year:04d}"
        if isinstance(value, float | Decimal):
            return format_decimal(value, None, ",")
        return str(value)


@dataclass(frozen=True)
class Finding:
    """One rule a value breaks: its severity, in plain words, and a repaired value if any."""

    severity: Severity
    rule: str
    repaired: str | None = None  # published instead of the value (a repair: a warning)
    outcome: str | None = None  # what happens to a value with a warning (None: published
    # as written)


_INT = re.compile(r"-?\d+")
_COMMA_DEC = re.compile(r"-?\d+,\d+")
_DOT_DEC = re.compile(r"-?\d+\.\d+")


def _digits(value: str) -> int:
    return len(value.lstrip("-"))


def format_decimal(value: float | int | Decimal, scale: int | None, sep: str) -> str:
    """Plain notation (never exponent), rounded half-up to `scale` decimals if longer."""
    try:
        d = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    if not d.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    exp = d.as_tuple().exponent
    if scale is not None and isinstance(exp, int) and -exp > scale:
        d = d.quantize(Decimal(1).scaleb(-scale), rounding="ROUND_HALF_UP")
    text = format(d, "f")
    if text.startswith("-") and set(text[1:]) <= {"0", "."}:
        text = text[1:]  # no negative zero
    return text.replace(".", sep)


def _date_problem(value: str, *, with_time: bool) -> str:
    want = 14 if with_time else 8
    form = "ddmmyyyyhhmmss" if with_time else "ddmmyyyy"
    example = "02012013093000" if with_time else "02012013"
    if not value.isdigit() or len(value) != want:
        if re.fullmatch(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}.*", value):
            return N_("date must be {n} digits {form} (e.g. {example}); no separators",
                      n=want, form=form, example=example)
        if not with_time and len(value) == 14 and value.isdigit():
            return N_("date must be {n} digits {form} (e.g. {example}); this column takes a "
                      "date without time", n=want, form=form, example=example)
        return N_("date must be {n} digits {form} (e.g. {example})", n=want, form=form,
                  example=example)
    day, month, year = int(value[:2]), int(value[2:4]), int(value[4:8])
    try:
        dt.date(year, month, day)
    except ValueError:
        return N_("{date} is not a real calendar date (day {day}, month {month}, year {year})",
                  date=value[:8], day=f"{day:02d}", month=f"{month:02d}", year=f"{year:04d}")
    if with_time:
        h, m, s = int(value[8:10]), int(value[10:12]), int(value[12:14])
        if h > 23 or m > 59 or s > 59:
            return N_("time {time} is not a real time of day (hhmmss)", time=value[8:])
    return N_("not a valid {form} value", form=form)


_LINE_BREAK = N_("contains a line break; line breaks inside text must be written as {mark}",
                 mark=SECTION)
_PIPE = N_("contains |, the column separator; replace it (e.g. with _)")


def _too_long(value: str) -> str:
    return N_("{n} characters long; no value may be longer than {max}", n=len(value),
              max=TEXT_CAP)


def _joined(parts: list[str]) -> str:
    """'a; b' of texts still to be translated."""
    return N_("{first}; {second}", first=parts[0], second=parts[1]) if len(parts) > 1 \
        else parts[0]


_TYPE_TOKEN = re.compile(r"^(?:(C|I)(\d+)|(D|L)(\d+),(\d+)|(Dt|DT|F)|(\?))(!?)$")


def parse_type(name: str, token: str) -> Field:
    """Build a Field from a table token such as C250!, D14,6, Dt, F, ?!."""
    m = _TYPE_TOKEN.match(token)
    if m is None:
        raise ValueError(f"bad type token {token!r} for field {name}")
    required = m.group(8) == "!"
    if m.group(1):
        n = int(m.group(2))
        if m.group(1) == "C":
            return Field(name, "C", min(n, TEXT_CAP), required=required, documented_length=n)
        return Field(name, "I", n, required=required, documented_length=n)
    if m.group(3):
        p, s = int(m.group(4)), int(m.group(5))
        return Field(name, m.group(3), p, s, required=required, documented_length=p)  # type: ignore[arg-type]
    if m.group(6):
        kind = m.group(6)
        length = {"Dt": 8, "DT": 14, "F": 2}[kind]
        return Field(name, kind, length, required=required)  # type: ignore[arg-type]
    return Field(name, "C", TEXT_CAP, required=required, typed=False)


def untyped(name: str) -> Field:
    """A column the layout does not list but accepts (extras allowed)."""
    return Field(name, "C", TEXT_CAP, typed=False)
