"""Dialect conversion: an ERP's own CSV export -> the canonical tracciato, streaming.

A Dialect (one `export.dialects[]` entry of connector.yaml, field for field) says how to
read the CSV (delimiter, quoting, encoding, header) and how its columns map onto the
tracciato's fields, how its dates and numbers are written, and which fields get a
constant or a template value. Errors name the CSV line and the CSV column.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import fnmatch
import io
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from connector.errors import ConfigError
from formats.fieldtypes import DAT_ULT_MOD, DAT_ULT_MOD_VALUE, Field
from formats.keys import KeyTracker
from formats.layout import CHIAVE, COD_DITTA, Layout, get_layout
from formats.report import ValidationReport, excerpt
from formats.writer import BOM, clean_text

_TRUE = {"-1", "1", "true", "yes", "y", "si", "sì", "s", "x", "vero", "t"}
_FALSE = {"0", "false", "no", "n", "falso", "f"}
_SURROGATE = re.compile("[\udc80-\udcff]")


@dataclass(frozen=True)
class Dialect:
    """How one ERP's CSV maps onto a tracciato (connector.yaml export.dialects[] 1:1)."""

    match: str  # glob on the file name, e.g. "clienti*.csv"
    layout: str  # the target tracciato, e.g. io_clifor_gen
    delimiter: str = ";"
    quotechar: str = '"'
    encoding: str = "utf-8"  # or cp1252, latin-1, ...
    header: bool = True  # False: columns are named by position, "1", "2", ...
    columns: dict[str, str] = field(default_factory=dict)  # CSV column -> tracciato field
    date_format: str = "%d/%m/%Y"
    datetime_format: str = "%d/%m/%Y %H:%M:%S"
    decimal: str = ","
    thousands: str = ""
    defaults: dict[str, str] = field(default_factory=dict)  # field -> constant or {FIELD} template

    def matches(self, filename: str) -> bool:
        base = filename.replace("\\", "/").rsplit("/", 1)[-1]
        return fnmatch.fnmatch(base.lower(), self.match.lower())


def dialect_for(filename: str, dialects: list[Dialect]) -> Dialect | None:
    """The first dialect whose glob matches the file name."""
    return next((d for d in dialects if d.matches(filename)), None)


def check_dialect(d: Dialect) -> list[str]:
    """Every problem of a dialect, as 'key: problem' (for connector check-config)."""
    problems: list[str] = []
    try:
        layout = get_layout(d.layout)
    except KeyError:
        return [f"layout: unknown tracciato {d.layout!r}"]
    if len(d.delimiter) != 1:
        problems.append("delimiter: must be one character")
    if len(d.quotechar) != 1:
        problems.append("quotechar: must be one character")
    try:
        codecs.lookup(d.encoding)
    except LookupError:
        problems.append(f"encoding: unknown encoding {d.encoding!r}")
    for src, target in d.columns.items():
        if layout.field_for(target) is None:
            problems.append(f"columns.{src}: {layout.name} has no field {target}")
    targets = list(d.columns.values())
    for t in {t for t in targets if targets.count(t) > 1}:
        problems.append(f"columns: more than one column maps onto {t}")
    for target, value in d.defaults.items():
        if layout.field_for(target) is None:
            problems.append(f"defaults.{target}: {layout.name} has no field {target}")
        for name in _placeholders(value):
            if name != "company" and layout.field_for(name) is None:
                problems.append(f"defaults.{target}: unknown placeholder {{{name}}}")
    if d.decimal not in (",", "."):
        problems.append("decimal: must be ',' or '.'")
    return problems


def _placeholders(template: str) -> list[str]:
    try:
        return [name for _, name, _, _ in string.Formatter().parse(template) if name]
    except ValueError:
        return ["<unbalanced braces>"]


# ----------------------------------------------------------------------------- conversion
@dataclass
class _Target:
    field: Field
    source: str | None  # CSV column name, None = from defaults
    source_index: int | None
    default: str | None


class _Converter:
    def __init__(self, dialect: Dialect, layout: Layout, company: str, truncate: bool) -> None:
        self.d = dialect
        self.layout = layout
        self.company = company
        self.truncate = truncate
        self.targets: list[_Target] = []

    def setup(self, source_names: list[str], report: ValidationReport) -> bool:
        index = {n.strip(): i for i, n in enumerate(source_names)}
        by_field: dict[str, _Target] = {}
        for src, target in self.d.columns.items():
            f = self.layout.field_for(target)
            if f is None:
                report.add(1, src, target, f"the dialect maps {src} onto {target}, which "
                           f"{self.layout.name} does not have")
                continue
            if src not in index:
                report.add(1, src, "", f"column {src} (mapped onto {target}) is not in the "
                           "CSV header")
                continue
            by_field[target] = _Target(f, src, index[src], None)
        defaults = dict(self.d.defaults)
        if COD_DITTA in self.layout.field_names and COD_DITTA not in by_field:
            defaults.setdefault(COD_DITTA, "{company}")
        if self.layout.key == CHIAVE and CHIAVE not in by_field and CHIAVE not in defaults:
            own = [f.name for f in self.layout.fields
                   if f.required and f.name not in (CHIAVE, COD_DITTA)]
            defaults[CHIAVE] = "§".join("{" + n + "}" for n in [COD_DITTA, *own])
        for target, value in defaults.items():
            f = self.layout.field_for(target)
            if f is not None and target not in by_field:
                by_field[target] = _Target(f, None, None, value)
        for req in self.layout.required:
            if req not in by_field:
                report.add(1, None, "", f"required field {req} has no CSV column and no "
                           "default in the dialect")
        order = {n: i for i, n in enumerate(self.layout.field_names)}
        self.targets = sorted((t for t in by_field.values() if t.field.name != DAT_ULT_MOD),
                              key=lambda t: order.get(t.field.name, len(order)))
        return report.valid

    @property
    def out_names(self) -> list[str]:
        names = [t.field.name for t in self.targets]
        if self.layout.has_dat_ult_mod:
            names.append(DAT_ULT_MOD)
        return names

    def convert_row(self, line: int, row: list[str], report: ValidationReport,
                    ) -> tuple[list[str], bool]:
        values: dict[str, str] = {}
        ok = True
        reported: set[str] = set()  # fields already reported: one problem per field
        for t in self.targets:
            if t.source_index is None:
                continue
            raw = row[t.source_index] if t.source_index < len(row) else ""
            where = t.source
            if _SURROGATE.search(raw):
                report.add(line, where, raw.encode("utf-8", "surrogateescape")
                           .decode("utf-8", "replace"),
                           f"a byte is not valid {self.d.encoding}: set the dialect's encoding "
                           "(e.g. cp1252) or save the file as UTF-8")
                ok = False
                reported.add(t.field.name)
                continue
            text, rule = self._value(t.field, raw)
            if rule:
                report.add(line, where, raw, f"{rule} (-> {t.field.name})")
                ok = False
                reported.add(t.field.name)
            values[t.field.name] = text
        failed = self._fill_defaults(values)
        for t, exc in failed:
            report.add(line, t.field.name, t.default or "", f"the dialect's default cannot be "
                       f"filled: {exc}")
            ok = False
        reported.update(t.field.name for t, _ in failed)
        out = []
        for t in self.targets:
            name = t.field.name
            text = values.get(name, "")
            if not t.field.is_valid(text):
                if self.truncate and t.field.kind == "C" and len(text) > t.field.length \
                        and not t.field.key_like:  # a key is never cut: it links records
                    report.warn(f"line {line}, column {t.source or name}: {len(text)} "
                                f"characters cut to {t.field.length}")
                    text = text[:t.field.length]
                rule = t.field.problem(text)
                if rule and name not in reported:
                    if t.source_index is not None:
                        report.add(line, t.source, text, f"{rule} (-> {name})")
                    else:
                        report.add(line, name, text, rule)
                    ok = False
            out.append(text)
        if self.layout.has_dat_ult_mod:
            out.append(DAT_ULT_MOD_VALUE)
        return out, ok

    def _fill_defaults(self, values: dict[str, str]) -> list[tuple[_Target, str]]:
        """Constants and {FIELD} templates; a template may use another default's value."""
        todo = [t for t in self.targets if t.default is not None]
        context: dict[str, str] = dict(values, company=self.company)
        errors: dict[str, str] = {}
        while todo:
            left = []
            for t in todo:
                try:
                    text = clean_text((t.default or "").format_map(context))
                except KeyError as exc:
                    errors[t.field.name] = f"no value for {exc}"
                    left.append(t)
                    continue
                except (ValueError, IndexError) as exc:
                    errors[t.field.name] = str(exc)
                    continue
                errors.pop(t.field.name, None)
                values[t.field.name] = context[t.field.name] = text
            if len(left) == len(todo):
                break
            todo = left
        return [(t, errors[t.field.name]) for t in self.targets if t.field.name in errors]

    def _value(self, f: Field, raw: str) -> tuple[str, str | None]:
        d = self.d
        if not f.typed or f.kind == "C":
            return clean_text(raw), None
        text = raw.strip()
        if text == "":
            return "", None
        k = f.kind
        if k in ("Dt", "DT"):
            formats = [d.date_format] if k == "Dt" else [d.datetime_format, d.date_format]
            for fmt in formats:
                try:
                    when = dt.datetime.strptime(text, fmt)
                except ValueError:
                    continue
                stamp = when.strftime("%d%m") + f"{when.year:04d}"
                return (stamp if k == "Dt" else stamp + when.strftime("%H%M%S")), None
            return text, (f"'{text}' is not a real date in the dialect's format "
                          f"{' or '.join(formats)}")
        if k == "F":
            low = text.lower()
            if low in _TRUE:
                return "-1", None
            if low in _FALSE:
                return "0", None
            return text, "flag must be yes/no (1/0, -1/0, true/false, si/no)"
        if d.thousands:
            text = text.replace(d.thousands, "")
        if k == "I":
            return text, None
        sep = "," if k == "D" else "."
        if d.decimal != sep:
            if sep in text:
                return text, (f"'{text}' has '{sep}' but the dialect's decimal separator is "
                              f"'{d.decimal}' (set thousands: '{sep}' if it groups thousands)")
            text = text.replace(d.decimal, sep)
        return text, None


def _csv_rows(src: BinaryIO, d: Dialect) -> Iterator[tuple[int, list[str]]]:
    encoding = "utf-8-sig" if codecs.lookup(d.encoding).name == "utf-8" else d.encoding
    text = io.TextIOWrapper(src, encoding=encoding, errors="surrogateescape", newline="")
    reader = csv.reader(text, delimiter=d.delimiter, quotechar=d.quotechar, strict=False)
    start = 1
    try:
        for row in reader:
            yield start, row
            start = reader.line_num + 1
    finally:
        text.detach()


def convert(src: BinaryIO, dst: BinaryIO, dialect: Dialect, *, company: str,
            length_policy: str = "error", max_errors: int = 1000) -> ValidationReport:
    """Turn an ERP CSV into the canonical tracciato; discard dst unless report.valid."""
    layout = get_layout(dialect.layout)
    problems = check_dialect(dialect)
    if problems:
        raise ConfigError([f"dialect {dialect.match}: {p}" for p in problems])
    if length_policy not in ("error", "truncate"):
        raise ValueError("length_policy must be 'error' or 'truncate'")
    report = ValidationReport(layout=layout.name, max_errors=max_errors)
    conv = _Converter(dialect, layout, company, length_policy == "truncate")
    seekable = _seekable(src)
    rows = _csv_rows(src, dialect)
    if dialect.header:
        first = next(rows, None)
        if first is None:
            report.add(0, None, "", "the file is empty: the dialect expects a header row")
            return report
        names = first[1]
    else:
        names = []
    try:
        keys = KeyTracker()
        key_pos: int | None = None
        pending: list[tuple[int, list[str]]] = []
        if not dialect.header:
            first_row = next(rows, None)
            if first_row is None:
                report.add(0, None, "", "the file is empty")
                return report
            names = [str(i + 1) for i in range(len(first_row[1]))]
            pending = [first_row]
        if not conv.setup(names, report):
            return report
        out_names = conv.out_names
        if layout.key in out_names:
            key_pos = out_names.index(layout.key)  # type: ignore[arg-type]
        dst.write(BOM)
        if layout.header:
            dst.write(("|".join(out_names) + "\r\n").encode("utf-8"))
        buf: list[str] = []
        for line, row in _chain(pending, rows):
            if not any(c.strip() for c in row):
                continue  # blank CSV lines carry nothing
            report.rows += 1
            values, _ = conv.convert_row(line, row, report)
            if key_pos is not None and values[key_pos]:
                keys.add(values[key_pos], line)
            buf.append("|".join(values))
            if len(buf) >= 512:
                dst.write(("\r\n".join(buf) + "\r\n").encode("utf-8"))
                buf.clear()
        if buf:
            dst.write(("\r\n".join(buf) + "\r\n").encode("utf-8"))
    except csv.Error as exc:
        report.add(0, None, "", f"the CSV cannot be read: {exc}")
        return report
    if keys.needs_confirmation and key_pos is not None:
        if seekable:
            repeats = keys.confirm(_keys_again(src, dialect, conv, names, key_pos))
        else:
            repeats = keys.unconfirmed()
        for line, key, first_line in repeats:
            where = f"CSV line {first_line}" if first_line else "an earlier row"
            report.add(line, layout.key, key, f"{layout.key} {excerpt(key, 40)} repeats the one "
                       f"of {where}; every row needs its own {layout.key}")
    report.sort()
    return report


def _keys_again(src: BinaryIO, d: Dialect, conv: _Converter, names: list[str],
                key_pos: int) -> Iterator[tuple[int, str]]:
    src.seek(0)
    scratch = ValidationReport(layout=None, max_errors=0)
    rows = _csv_rows(src, d)
    if d.header:
        next(rows, None)
    for line, row in rows:
        if not any(c.strip() for c in row):
            continue
        values, _ = conv.convert_row(line, row, scratch)
        if values[key_pos]:
            yield line, values[key_pos]


def _chain(first: list[tuple[int, list[str]]], rest: Iterator[tuple[int, list[str]]]
           ) -> Iterator[tuple[int, list[str]]]:
    yield from first
    yield from rest


def _seekable(src: BinaryIO) -> bool:
    try:
        return bool(src.seekable()) and src.tell() == 0
    except (AttributeError, OSError, ValueError):
        return False
