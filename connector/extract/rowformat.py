"""Database rows -> tracciato lines, fast, with formats/ deciding every rule.

`compile_plan` maps a query's result columns onto a layout's fields, builds CHIAVE
from its template and fills COD_DITTA, then generates one small Python function per
plan that turns a row into a line. The generated code takes only the common, certainly
valid cases inline (text within its length, integers within their digits, Decimals
within precision and scale, real dates); anything else raises `_Slow`, and that row is
formatted again by the slow path: formats' own `Field.format`, `clean_text`, `is_valid`
and `problem`, the same code the writer and the validator use. So a line is either
exactly what formats would write, or the row is reported with its line, field, value
and rule. The generated code is why a million rows cost about as much as a plain
fetch-and-CSV (see docs/perf/sql_source.md).

Fields inside a line are joined with U+001F and lines with U+001E while a block is
built; the block is then cleaned in one pass (| -> _, line breaks -> §) and the
separators become | and CRLF. A block whose separators do not count up (a value held a
U+001F or U+001E) is redone row by row through the slow path.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import string
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from formats import DAT_ULT_MOD_VALUE, Field, Layout
from formats.writer import clean_text

FS, RS = "\x1f", "\x1e"
_NEWLINES = re.compile(r"\r\n|\r|\n")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?")
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


class PlanError(ValueError):
    """The query's columns cannot be mapped onto the layout; the message says how to fix it."""


class _Slow(Exception):  # noqa: N818 - control flow: "take the slow path for this row"
    pass


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
    fast: Any = None  # generated: rows -> (keys, lines joined by FS, slow row indexes)
    source: str = ""  # the generated code, for debugging
    truncate: bool = False
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
            else:
                problems.append(f"key: {{{name}}} is neither a field the query selects nor a "
                                "query column")
    if problems:
        raise PlanError("; ".join(problems))
    plan = Plan(layout, names, fields, sources, key_parts,
                truncate=length_policy == "truncate")
    plan.fast = _generate(plan)
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


# ---------------------------------------------------------------------------- fast path
def _fast_field(i: int, f: Field, var: str, src: str) -> list[str]:
    """Statements that set `var` to the text of `src`, or raise _Slow."""
    k = f.kind if f.typed else "C"
    req = f.required
    lines = [f"v = {src}"]
    none_case = "raise _Slow" if req else f"{var} = ''"
    if k == "C":
        cond = f"v.__class__ is str and len(v) <= {f.length}"
        if req:
            cond += " and v.strip(' \\t')"
        lines += [f"if {cond}: {var} = v",
                  f"elif v is None: {none_case}",
                  "else: raise _Slow"]
    elif k == "I":
        lines += ["if v.__class__ is int:",
                  f"    {var} = str(v)",
                  f"    if len({var}) > {f.length} + (v < 0): raise _Slow",
                  f"elif v is None: {none_case}",
                  "else: raise _Slow"]
    elif k == "F":
        lines += [f"if v.__class__ is int and (v == 0 or v == -1): {var} = str(v)",
                  f"elif v is None: {none_case}",
                  "else: raise _Slow"]
    elif k in ("D", "L"):
        whole = max(f.length - f.scale, 1)
        sep = "," if k == "D" else "."
        lines += ["c = v.__class__",
                  "if c is int:",
                  f"    {var} = str(v)",
                  f"    if len({var}) > {whole} + (v < 0): raise _Slow",
                  "elif c is Decimal or c is float:",
                  f"    {var} = _num(v, {whole}, {f.scale}, {sep!r})",
                  f"elif v is None: {none_case}",
                  "else: raise _Slow"]
    elif k == "Dt":
        lines += ["if v.__class__ is _date:",
                  f"    {var} = f'{{v.day:02d}}{{v.month:02d}}{{v.year:04d}}'",
                  f"elif v is None: {none_case}",
                  "else: raise _Slow"]
    else:  # DT
        lines += ["if v.__class__ is _datetime:",
                  f"    {var} = f'{{v.day:02d}}{{v.month:02d}}{{v.year:04d}}"
                  "{v.hour:02d}{v.minute:02d}{v.second:02d}'",
                  f"elif v is None: {none_case}",
                  "else: raise _Slow"]
    return lines


def _num(v: Any, whole: int, scale: int, sep: str) -> str:
    """A float/Decimal/int within precision and scale as text, or _Slow (rounding, exponent,
    NaN, infinity: formats decides those)."""
    s = repr(v) if v.__class__ is float else str(v)
    dot = s.find(".")
    if dot < 0:
        dot = len(s)
    elif len(s) - dot - 1 > scale:
        raise _Slow
    if dot - (s[0] == "-") > whole or "e" in s or "E" in s or "n" in s or "N" in s:
        raise _Slow
    return s.replace(".", sep) if sep != "." else s


def _generate(plan: Plan) -> Any:
    """Source of `fast_block(rows) -> (keys, lines, slow row indexes)`, compiled once per plan.

    Constants and helpers are bound as default arguments, so every name in the loop is
    a local; a row that leaves the fast path raises _Slow and is only marked.
    """
    body: list[str] = []
    parts: list[str] = []
    consts: dict[str, Any] = {}
    key_index: int | None = None
    for j, (f, src) in enumerate(zip(plan.fields, plan.sources, strict=True)):
        var = f"a{j}"
        if isinstance(src, str):
            consts[f"k{j}"] = src
            parts.append(f"k{j}")
        elif src == -1:
            key_index = j
            parts.append("key")
        else:
            body += _fast_field(j, f, var, f"r[{src}]")
            parts.append(var)
    if plan.key_parts is not None:
        key_terms = []
        for n, (kind, ref) in enumerate(plan.key_parts):
            if kind == "lit":
                consts[f"lit{n}"] = ref
                key_terms.append(f"lit{n}")
            elif kind == "col":
                key_terms.append(parts[int(ref)] if int(ref) != key_index else "''")
            else:
                key_terms.append(f"_text(r[{ref}])")
        body.append("key = f'" + "".join("{" + t + "}" for t in key_terms) + "'")
        if key_index is not None:
            f = plan.fields[key_index]
            body.append(f"if not key.strip(' \\t') or len(key) > {f.length}: raise _Slow")
    elif "CHIAVE" in plan.names:
        body.append(f"key = {parts[plan.names.index('CHIAVE')]}")
    else:
        body.append("key = ''")
    line = "f'" + "\\x1f".join("{" + p + "}" for p in parts) + "'"
    helpers = {"_Slow": _Slow, "Decimal": Decimal, "_num": _num, "_date": dt.date,
               "_datetime": dt.datetime, "_text": _text, **consts}
    args = ", ".join(f"{name}={name}" for name in helpers)
    code = [f"def fast_block(rows, {args}):",
            "    keys = []; lines = []; slow = []",
            "    ka = keys.append; la = lines.append",
            "    for n, r in enumerate(rows):",
            "        try:"]
    code += [f"            {ln}" for ln in body]
    code += ["        except _Slow:",
             "            slow.append(n); ka(''); la(''); continue",
             "        ka(key)",
             f"        la({line})",
             "    return keys, lines, slow"]
    src_code = "\n".join(code) + "\n"
    plan.source = src_code
    env: dict[str, Any] = dict(helpers)
    exec(compile(src_code, f"<extract plan {plan.layout.name}>", "exec"), env)  # noqa: S102
    return env["fast_block"]


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


def slow_row(plan: Plan, row: Any, line: int, problems: Problems) -> tuple[str, str] | None:
    """The (key, line) of a row by the slow path; None when the row breaks a rule."""
    texts: list[str] = []
    bad = False
    key_col: int | None = None
    for j, (f, src) in enumerate(zip(plan.fields, plan.sources, strict=True)):
        if isinstance(src, str):
            texts.append(src)
            continue
        if src == -1:
            key_col = j
            texts.append("")
            continue
        text, problem, _ = slow_value(f, row[src])
        if problem is not None and plan.truncate and f.kind == "C" and len(text) > f.length:
            plan.warning_count += 1
            if len(plan.warnings) < 1000:
                plan.warnings.append(f"line {line}, field {f.name}: {len(text)} characters cut "
                                     f"to {f.length}")
            text = text[:f.length]
            problem = f.problem(text)
        if problem is not None:
            bad = True
            problems.add(line, f.name, _excerpt(row[src]), problem)
        texts.append(text)
    key = ""
    if plan.key_parts is not None:
        pieces = []
        for kind, ref in plan.key_parts:
            if kind == "lit":
                pieces.append(str(ref))
            elif kind == "col":
                pieces.append(texts[int(ref)])
            else:
                pieces.append(clean_text(_text(row[int(ref)])))
        key = clean_text("".join(pieces))
        if key_col is not None:
            f = plan.fields[key_col]
            problem = f.problem(key)
            if problem is not None:
                bad = True
                problems.add(line, "CHIAVE", _excerpt(key), problem)
            texts[key_col] = key
    elif "CHIAVE" in plan.names:
        key = texts[plan.names.index("CHIAVE")]
    if bad:
        return None
    line_text = "|".join(texts)
    return key or line_text, line_text


def _excerpt(value: Any) -> str:
    text = _text(value)
    shown = text if len(text) <= 60 else text[:60] + "..."
    return shown.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")


# ---------------------------------------------------------------------------- blocks
def format_block(plan: Plan, rows: list[Any], first_line: int,
                 problems: Problems) -> tuple[list[str], list[str], list[int]]:
    """(keys, lines, line numbers) of the good rows of one block, lines without CRLF."""
    keys, chunks, slow_at = plan.fast(rows)
    block = RS.join(chunks)
    expected_fs = (len(rows) - len(slow_at)) * (len(plan.names) - 1)
    if block.count(FS) != expected_fs or block.count(RS) != len(rows) - 1:
        slow_at = list(range(len(rows)))  # a value held a separator: redo every row
        lines = [""] * len(rows)
    else:
        dirty = "|" in block or "\r" in block or "\n" in block
        if dirty:
            block = _NEWLINES.sub("\u00a7", block.replace("|", "_"))
            keys = [clean_text(k) for k in keys]
        lines = block.replace(FS, "|").split(RS)
        if not plan.keyed:
            keys = lines  # no CHIAVE and no key template: a row is its own key
    line_nos = list(range(first_line, first_line + len(rows)))
    if slow_at:
        good_keys: list[str] = []
        good_lines: list[str] = []
        good_nos: list[int] = []
        slow = set(slow_at)
        for n, row in enumerate(rows):
            if n in slow:
                res = slow_row(plan, row, first_line + n, problems)
                if res is None:
                    continue
                k, ln = res
            else:
                k, ln = keys[n], lines[n]
            good_keys.append(k)
            good_lines.append(ln)
            good_nos.append(first_line + n)
        return good_keys, good_lines, good_nos
    return keys, lines, line_nos
