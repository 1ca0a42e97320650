"""Database rows -> tracciato lines, fast, with formats/ deciding every rule.

`compile_plan` maps a query's result columns onto a layout's fields, builds CHIAVE
from its template and fills COD_DITTA. `format_block` then works a block of rows
column by column with C-level builtins: a column is transposed out of the rows, its
value types are checked at once (`set(map(type, col))`), text columns are joined once to
be cleaned (| -> _, line breaks -> §) and measured (`max(map(len, col))`), number
columns are rendered with `str` and checked by one regular expression over the joined
column, and the lines are built with `map("|".join, zip(*columns))`. Only a column that
fails its quick check is worked value by value, and only a value that is not certainly
valid goes through the slow path: formats' own `Field.format`, `clean_text`, `is_valid`
and `problem`, the code the writer and the validator use. So a line is exactly what
formats would write, or its row is reported with line, field, value and rule and left
out. Working by column is why a million rows cost about as much as a plain
fetch-and-CSV (docs/PERFORMANCE.md, "SQL source").
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from formats.fieldtypes import DAT_ULT_MOD_VALUE, Field
from formats.layout import Layout
from formats.writer import clean_text

FS = "\x1f"  # joins a column's values while it is cleaned and checked as one string
_NEWLINES = re.compile(r"\r\n|\r|\n")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?")
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


class PlanError(ValueError):
    """The query's columns cannot be mapped onto the layout; the message says how to fix it."""


@dataclass(frozen=True)
class Problem:
    line: int
    column: str | None
    value: str
    rule: str

    def to_text(self) -> str:
        col = f", column {self.column}" if self.column else ""
        val = f", value '{self.value}'" if self.value else ""
        return f"line {self.line}{col}{val}: {self.rule}"


@dataclass
class Problems:
    """Every broken rule is counted; the first `limit` are kept with their details."""

    limit: int = 1000
    items: list[Problem] = field(default_factory=list)
    count: int = 0

    def add(self, line: int, column: str | None, value: str, rule: str) -> None:
        self.count += 1
        if len(self.items) < self.limit:
            self.items.append(Problem(line, column, value, rule))


@dataclass
class Plan:
    layout: Layout
    names: list[str]  # output columns, in layout order
    fields: list[Field]
    sources: list[int | str]  # per output column: result index, or a constant
    key_parts: list[tuple[str, int | str]] | None  # ("lit", text) / ("col", output index) / ("src", result index)
    truncate: bool = False
    checks: list[re.Pattern[str] | None] = field(default_factory=list)  # per output column
    warnings: list[str] = field(default_factory=list)
    warning_count: int = 0

    @property
    def keyed(self) -> bool:
        return self.key_parts is not None or "CHIAVE" in self.names

    @property
    def header(self) -> str:
        return "|".join(self.names)


def compile_plan(layout: Layout, result_columns: list[str], *, mapping: dict[str, str],
                 key_template: str | None, company: str, length_policy: str = "error") -> Plan:
    """Map result columns onto the layout; PlanError lists every problem at once."""
    problems: list[str] = []
    by_upper = {f.name.upper(): f.name for f in layout.fields}
    mapping_upper = {k.upper(): v for k, v in mapping.items()}
    template_names = _template_names(key_template, problems)
    target_of: dict[str, int] = {}  # layout field -> result index
    helpers: dict[str, int] = {}  # upper-case helper column -> result index
    for i, col in enumerate(result_columns):
        up = col.upper()
        target = mapping_upper.get(up)
        if target is not None:
            if target not in layout.field_names:
                problems.append(f"columns: {col} -> {target}: {layout.name} has no field "
                                f"{target}{_hint(target, layout)}")
                continue
        elif up in by_upper:
            target = by_upper[up]
        elif up in {n.upper() for n in template_names}:
            helpers[up] = i
            continue
        else:
            problems.append(f"query column {col!r} is not a field of {layout.name}"
                            f"{_hint(up, layout)}; rename it with AS, map it under columns:, "
                            "or drop it")
            continue
        if target in target_of:
            problems.append(f"two query columns map onto {target}")
            continue
        target_of[target] = i
    has_chiave = layout.get("CHIAVE") is not None
    if key_template is not None and not has_chiave and layout.name != "io_catalogo":
        problems.append(f"key: {layout.name} has no CHIAVE column")
    if key_template is not None and "CHIAVE" in target_of:
        problems.append("the query selects CHIAVE and key: is set too; keep one")
    if has_chiave and key_template is None and "CHIAVE" not in target_of:
        problems.append(f"{layout.name} needs a CHIAVE: set key: (e.g. "
                        "\"{COD_DITTA}§{" + _first_code(layout) + "}\") or select a CHIAVE "
                        "column")
    names: list[str] = []
    fields: list[Field] = []
    sources: list[int | str] = []
    for f in layout.fields:
        if f.name == "DAT_ULT_MOD":
            names.append(f.name)
            fields.append(f)
            sources.append(DAT_ULT_MOD_VALUE)
        elif f.name in target_of:
            names.append(f.name)
            fields.append(f)
            sources.append(target_of[f.name])
        elif f.name == "COD_DITTA":
            names.append(f.name)
            fields.append(f)
            sources.append(company)
        elif f.name == "CHIAVE" and key_template is not None:
            names.append(f.name)
            fields.append(f)
            sources.append(-1)  # filled from the key
        elif f.required:
            problems.append(f"the query has no column for the required field {f.name}")
    key_parts: list[tuple[str, int | str]] | None = None
    if key_template is not None:
        key_parts = []
        for literal, name, _spec, _conv in string.Formatter().parse(key_template):
            if literal:
                key_parts.append(("lit", literal))
            if name is None:
                continue
            if name in names and name != "CHIAVE":
                key_parts.append(("col", names.index(name)))
            elif name.upper() in helpers:
                key_parts.append(("src", helpers[name.upper()]))
            elif name.upper() in by_upper and by_upper[name.upper()] in names:
                key_parts.append(("col", names.index(by_upper[name.upper()])))
            elif mapping_upper.get(name.upper()) in names:  # a query column mapped onto a field
                key_parts.append(("col", names.index(mapping_upper[name.upper()])))
            else:
                problems.append(f"key: {{{name}}} is neither a field the query selects nor a "
                                "query column")
    if problems:
        raise PlanError("; ".join(problems))
    plan = Plan(layout, names, fields, sources, key_parts,
                truncate=length_policy == "truncate")
    plan.checks = [_column_check(f) for f in fields]
    return plan


def _template_names(template: str | None, problems: list[str]) -> list[str]:
    if template is None:
        return []
    try:
        return [n for _, n, _, _ in string.Formatter().parse(template) if n]
    except ValueError as exc:
        problems.append(f"key: {template!r} is not a valid template ({exc})")
        return []


def _hint(name: str, layout: Layout) -> str:
    close = difflib.get_close_matches(name.upper(), list(layout.field_names), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _first_code(layout: Layout) -> str:
    for f in layout.fields:
        if f.name not in ("CHIAVE", "COD_DITTA") and f.required:
            return f.name
    return "CODICE"


# ---------------------------------------------------------------------------- quick checks
_NONE = type(None)


def _column_check(f: Field) -> re.Pattern[str] | None:
    """A regex that a whole number column (values joined by FS, '.' as rendered by str)
    matches exactly when every value is already valid; None for other kinds.
    Possessive quantifiers: no backtracking, about twice as fast on long columns."""
    k = f.kind if f.typed else "C"
    if k == "I":
        one = r"-?+\d{1," + str(f.length) + "}+"
    elif k == "F":
        one = r"(?:0|-1)"
    elif k in ("D", "L"):
        whole = max(f.length - f.scale, 1)
        one = r"-?+\d{1," + str(whole) + "}+"
        if f.scale:
            one += r"(?:\.\d{1," + str(f.scale) + "}+)?+"
    else:
        return None
    if f.required:
        return re.compile(f"(?:{one})(?:\x1f(?:{one}))*+")
    return re.compile(f"(?:{one})?+(?:\x1f(?:{one})?+)*+")


_NEGATIVE_ZERO = re.compile(r"(?:^|\x1f)-0(?:\.0*)?(?:\x1f|$)")
_BLANK = re.compile(r"(?:^|\x1f)[ \t]*(?:\x1f|$)")  # an empty or all-blank value in a joined column


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    return str(v)


# ---------------------------------------------------------------------------- slow path
def slow_value(f: Field, value: Any) -> tuple[str, str | None, str | None]:
    """(text, problem, warning) for one value, by formats' own rules."""
    k = f.kind if f.typed else "C"
    if isinstance(value, bytes | bytearray | memoryview):
        return "", "binary data cannot go into a tracciato", None
    if isinstance(value, str) and k in ("Dt", "DT"):
        value = _iso_to_date(value, k) or value
    elif isinstance(value, str) and k in ("D", "L", "I", "F") and _PLAIN_NUMBER.fullmatch(value):
        value = Decimal(value) if "." in value else int(value)
    elif isinstance(value, dt.datetime) and k == "Dt" and value.time() == dt.time():
        value = value.date()
    if k in ("I", "F") and isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    try:
        text = f.format(value)
    except (ValueError, InvalidOperation) as exc:
        return "", f"{f.name}: {exc}", None
    if isinstance(value, str) or k == "C":
        text = clean_text(text)
    if f.is_valid(text):
        return text, None, None
    return text, f.problem(text) or "invalid value", None


def _iso_to_date(text: str, kind: str) -> dt.date | None:
    m = _ISO_DATE.fullmatch(text.strip())
    if m is None:
        return None
    try:
        if kind == "Dt" or m.group(4) is None:
            d = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            return d if kind == "Dt" else dt.datetime.combine(d, dt.time())
        return dt.datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4)),
                           int(m.group(5)), int(m.group(6) or 0))
    except ValueError:
        return None


def _excerpt(value: Any) -> str:
    text = _text(value)
    shown = text if len(text) <= 60 else text[:60] + "..."
    return shown.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")


# ---------------------------------------------------------------------------- blocks
class _Bad:
    """The rows of a block that broke a rule (left out of the file)."""

    def __init__(self) -> None:
        self.rows: set[int] = set()


def _value_by_value(plan: Plan, j: int, f: Field, col: Sequence[Any], first_line: int,
                    problems: Problems, bad: _Bad) -> list[str]:
    """The slow path for one column: every value through formats' rules."""
    out: list[str] = []
    for n, value in enumerate(col):
        text, problem, _ = slow_value(f, value)
        if problem is not None and plan.truncate and f.may_truncate and len(text) > f.length:
            plan.warning_count += 1
            if len(plan.warnings) < 1000:
                plan.warnings.append(f"line {first_line + n}, field {f.name}: {len(text)} "
                                     f"characters cut to {f.length}")
            text = text[:f.length]
            problem = f.problem(text)
        if problem is not None:
            bad.rows.add(n)
            problems.add(first_line + n, f.name, _excerpt(value), problem)
        out.append(text)
    return out


def _text_column(plan: Plan, j: int, f: Field, col: Sequence[Any], first_line: int,
                 problems: Problems, bad: _Bad) -> Sequence[str]:
    values: Sequence[str]
    try:
        FS.join(col)  # the common case, every value text: one C pass (TypeError otherwise)
    except TypeError:
        pass
    else:
        if col and max(map(len, col)) > f.length:
            return _value_by_value(plan, j, f, col, first_line, problems, bad)
        if f.required and _has_blank(col):
            return _value_by_value(plan, j, f, col, first_line, problems, bad)
        return col
    types = set(map(type, col))
    if types <= {str, _NONE}:
        values = [v or "" for v in col] if _NONE in types else list(col)
    elif types <= {int, _NONE}:  # numeric codes in a text field; str(int) never holds "None"
        values = FS.join(map(str, col)).replace("None", "").split(FS)
    else:
        return _value_by_value(plan, j, f, col, first_line, problems, bad)
    # | and line breaks are cleaned later, once per block; cleaning never makes text longer
    if values and max(map(len, values)) > f.length:
        return _value_by_value(plan, j, f, col, first_line, problems, bad)
    if f.required and (_NONE in types or _has_blank(values)):
        return _value_by_value(plan, j, f, col, first_line, problems, bad)
    return values


def _has_blank(values: Sequence[str]) -> bool:
    """Is any value empty or only spaces and tabs? (Cheap first: codes rarely hold spaces.)"""
    if not values:
        return False
    if min(map(len, values)) == 0:
        return True
    joined = FS.join(values)
    if " " not in joined and "\t" not in joined:
        return False
    return _BLANK.search(joined) is not None


def _number_column(plan: Plan, j: int, f: Field, col: Sequence[Any], first_line: int,
                   problems: Problems, bad: _Bad) -> list[str]:
    check = plan.checks[j]
    if check is None:
        return _value_by_value(plan, j, f, col, first_line, problems, bad)
    # str() of every value, checked at once by the column's regex: a number already valid
    # passes, anything else (bool, a date, an exponent, too many digits) goes value by value
    joined = FS.join(map(str, col))
    if None in col:
        joined = joined.replace("None", "")
    if check.fullmatch(joined) is None:
        return _value_by_value(plan, j, f, col, first_line, problems, bad)
    if "-0" in joined and _NEGATIVE_ZERO.search(joined):  # formats writes 0, not -0
        return _value_by_value(plan, j, f, col, first_line, problems, bad)
    if f.kind == "D" and "." in joined:
        joined = joined.replace(".", ",")
    return joined.split(FS)


def _date_column(plan: Plan, j: int, f: Field, col: Sequence[Any], first_line: int,
                 problems: Problems, bad: _Bad) -> list[str]:
    types = set(map(type, col))
    if f.kind == "Dt" and types <= {dt.date, _NONE} and not (f.required and _NONE in types):
        return ["" if v is None else f"{v.day:02d}{v.month:02d}{v.year:04d}" for v in col]
    if f.kind == "DT" and types <= {dt.datetime, _NONE} and not (f.required and _NONE in types):
        return ["" if v is None else
                f"{v.day:02d}{v.month:02d}{v.year:04d}{v.hour:02d}{v.minute:02d}{v.second:02d}"
                for v in col]
    return _value_by_value(plan, j, f, col, first_line, problems, bad)


@dataclass
class Block:
    keys: list[str]  # CHIAVE of each good row (empty when the layout has no key)
    text: str  # the good rows as tracciato lines joined by CRLF (no final CRLF)
    rows: int
    line_nos: list[int]


RS = "\x1e"  # joins the lines of a block until the separators are swapped in


def format_block(plan: Plan, rows: Sequence[Any], first_line: int, problems: Problems) -> Block:
    """The good rows of one block as tracciato text; the bad ones reported and left out."""
    n = len(rows)
    if n == 0:
        return Block([], "", 0, [])
    cols_in = list(zip(*rows, strict=True))
    bad = _Bad()
    out: list[Sequence[str]] = []
    key_at: int | None = None
    for j, (f, src) in enumerate(zip(plan.fields, plan.sources, strict=True)):
        if isinstance(src, str):
            out.append([src] * n)
            continue
        if src == -1:
            key_at = j
            out.append([])
            continue
        k = f.kind if f.typed else "C"
        col = cols_in[src]
        if k == "C":
            out.append(_text_column(plan, j, f, col, first_line, problems, bad))
        elif k in ("Dt", "DT"):
            out.append(_date_column(plan, j, f, col, first_line, problems, bad))
        else:
            out.append(_number_column(plan, j, f, col, first_line, problems, bad))
    keys: list[str] = []
    if plan.key_parts is not None:
        pieces: list[Sequence[str]] = []
        for kind, ref in plan.key_parts:
            if kind == "lit":
                pieces.append([str(ref)] * n)
            elif kind == "col":
                pieces.append(out[int(ref)])
            else:
                pieces.append([_text(v) for v in cols_in[int(ref)]])
        keys = list(map("".join, zip(*pieces, strict=True))) if len(pieces) > 1 else \
            list(pieces[0]) if pieces else [""] * n
        if any("|" in k or "\r" in k or "\n" in k for k in keys):
            keys = [clean_text(k) for k in keys]
        if key_at is not None:
            f = plan.fields[key_at]
            if max(map(len, keys)) > f.length or _has_blank(keys):
                for i, key in enumerate(keys):
                    problem = f.problem(key)
                    if problem is not None:
                        bad.rows.add(i)
                        problems.add(first_line + i, "CHIAVE", _excerpt(key), problem)
            out[key_at] = keys
    elif "CHIAVE" in plan.names:
        keys = list(out[plan.names.index("CHIAVE")])
    line_nos = list(range(first_line, first_line + n))
    tuples: Any = zip(*out, strict=True)
    if bad.rows:
        keep = [i for i in range(n) if i not in bad.rows]
        all_rows = list(tuples)
        tuples = [all_rows[i] for i in keep]
        keys = [keys[i] for i in keep] if keys else keys
        line_nos = [line_nos[i] for i in keep]
    good = len(line_nos)
    if good == 0:
        return Block([], "", 0, [])
    text = RS.join(map(FS.join, tuples))
    if text.count(FS) != good * (len(out) - 1) or text.count(RS) != good - 1:
        # a value held one of our separators: join this block value by value instead
        return _block_by_value(plan, out, keys, bad, line_nos)
    if "|" in text or "\r" in text or "\n" in text:
        text = _NEWLINES.sub("\u00a7", text.replace("|", "_"))
    text = text.replace(FS, "|").replace(RS, "\r\n")
    return Block(keys if plan.keyed else [], text, good, line_nos)


def _block_by_value(plan: Plan, out: list[Sequence[str]], keys: list[str], bad: _Bad,
                    line_nos: list[int]) -> Block:
    lines = ["|".join(clean_text(v) for v in row)
             for i, row in enumerate(zip(*out, strict=True)) if i not in bad.rows]
    return Block(keys if plan.keyed else [], "\r\n".join(lines), len(lines), line_nos)
