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
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from connector.errors import ConfigError
from formats.fieldtypes import DAT_ULT_MOD, DAT_ULT_MOD_VALUE, Field
from formats.keys import KeyTracker
from formats.layout import CHIAVE, COD_DITTA, Layout, get_layout
from formats.report import N_, ValidationReport, excerpt
from formats.validate import HARD_LINE_LIMIT, MAX_COLUMNS
from formats.writer import BOM, clean_text

CSV_LINE_LIMIT = HARD_LINE_LIMIT  # characters of one physical line of a CSV export

_TRUE = {"-1", "1", "true", "yes", "y", "si", "sì", "s", "x", "vero", "t"}
_FALSE = {"0", "false", "no", "n", "falso", "f"}
_SURROGATE = re.compile("[\udc80-\udcff]")


@dataclass(frozen=True)
class Dialect:
    """How one ERP's CSV export maps onto a tracciato."""

    # An entry of connector.yaml's export.dialects[], built as it is by the configuration;
    # each comment is the key's description in docs/reference/configuration.md.
    match: str  # glob on the dropped file name, e.g. "clienti*.csv"
    layout: str  # target tracciato, e.g. io_clifor_gen
    delimiter: str = ";"  # the CSV's field separator (quoted fields may contain it)
    quotechar: str = '"'  # the CSV's quote character
    encoding: str = "utf-8"  # the CSV's encoding, e.g. cp1252 (a UTF-8 BOM is skipped)
    # the first line names the columns; false: columns are named by position, "1", "2", ...
    header: bool = True
    columns: dict[str, str] = field(default_factory=dict)  # source column -> tracciato field
    date_format: str = "%d/%m/%Y"  # how the CSV writes dates (strftime codes)
    # how the CSV writes date-times (date-only values are accepted too)
    datetime_format: str = "%d/%m/%Y %H:%M:%S"
    decimal: str = ","  # the CSV's decimal separator
    thousands: str = ""  # the CSV's thousands separator, if any
    # tracciato field -> constant or {template}
    defaults: dict[str, str] = field(default_factory=dict)

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
                report.add(1, src, target, N_("the dialect maps {column} onto {field}, which "
                                              "{layout} does not have", column=src,
                                              field=target, layout=self.layout.name))
                continue
            if src not in index:
                report.add(1, src, "", N_("column {column} (mapped onto {field}) is not in "
                                          "the CSV header", column=src, field=target))
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
                report.add(1, None, "", N_("required field {field} has no CSV column and no "
                                           "default in the dialect", field=req))
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
        """The tracciato values of one CSV row; False when it has an error (a row error)."""
        values: dict[str, str] = {}
        # The values as the ERP wrote them (its thousands and decimal separators, its
        # dates): what a report shows, since that is what the clerk can find and fix.
        raws: dict[str, str] = {}
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
                           N_("a byte is not valid {encoding}: set the dialect's encoding "
                              "(e.g. cp1252) or save the file as UTF-8",
                              encoding=self.d.encoding), row=True)
                ok = False
                reported.add(t.field.name)
                continue
            text, rule = self._value(t.field, raw)
            if rule:
                report.add(line, where, raw, _onto(rule, t.field.name), row=True)
                ok = False
                reported.add(t.field.name)
            values[t.field.name] = text
            raws[t.field.name] = raw
        failed = self._fill_defaults(values)
        for t, exc in failed:
            report.add(line, t.field.name, t.default or "", N_("the dialect's default cannot "
                                                               "be filled: {reason}",
                                                               reason=str(exc)),
                       row=True)
            ok = False
        reported.update(t.field.name for t, _ in failed)
        out = []
        for t in self.targets:
            name = t.field.name
            text = values.get(name, "")
            where = t.source or name
            finding = None if t.field.is_valid(text) else t.field.check(text)
            if finding is not None and name not in reported:
                shown = raws.get(name, text)
                if self.truncate and t.field.may_truncate and len(text) > t.field.length:
                    report.warn(line, where, shown, _onto(N_(
                        "text is {n} characters long; {field} is documented up to {max}",
                        n=len(text), field=name, max=t.field.length), name), row=True,
                        outcome=N_("cut to {max} (export.length_policy: truncate)",
                                   max=t.field.length))
                    text = text[:t.field.length]
                elif finding.severity == "error":
                    rule = finding.rule
                    if t.source_index is not None:
                        rule = _onto(self._number_rule(t.field, shown) or rule, name)
                    report.add(line, where, shown, rule, row=True)
                    ok = False
                else:
                    rule = finding.rule if t.source_index is None else _onto(finding.rule, name)
                    report.warn(line, where, shown, rule, row=True, outcome=finding.outcome)
                    if finding.repaired is not None:
                        text = finding.repaired
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

    def _number_rule(self, f: Field, raw: str) -> str | None:
        """A number the tracciato's rules refuse, told in the ERP's own way of writing
        numbers (its thousands and decimal separators), not the tracciato's."""
        if f.kind not in ("I", "D", "L"):
            return None
        t, d = self.d.thousands, self.d.decimal
        if f.kind == "I":
            return N_("'{value}' is not a whole number as the dialect writes them (e.g. "
                      "{example})", value=raw, example=f"1{t}234" if t else "1234")
        return N_("'{value}' is not a number as the dialect writes them (e.g. {example})",
                  value=raw, example=f"1{t}234{d}56" if t else f"1234{d}56")

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
            return text, N_("'{value}' is not a real date in the dialect's format {format}",
                            value=text, format=" | ".join(formats))
        if k == "F":
            low = text.lower()
            if low in _TRUE:
                return "-1", None
            if low in _FALSE:
                return "0", None
            return text, N_("flag must be yes/no (1/0, -1/0, true/false, si/no)")
        written = text
        if d.thousands:
            text = text.replace(d.thousands, "")
        if k == "I":
            return text, None
        sep = "," if k == "D" else "."
        if d.decimal != sep:
            if sep in text:
                return text, N_("'{value}' has '{sep}' but the dialect's decimal separator is "
                                "'{decimal}' (set thousands: '{sep}' if it groups thousands)",
                                value=written, sep=sep, decimal=d.decimal)
            text = text.replace(d.decimal, sep)
        return text, None


def _onto(rule: str, field: str) -> str:
    """A rule of a CSV value, with the tracciato field it goes to."""
    return N_("{rule} (-> {field})", rule=rule, field=field)


class _TooLong(Exception):
    pass


def _bounded_lines(text: io.TextIOWrapper, limit: int) -> Iterator[str]:
    """The physical lines of the CSV, refusing one longer than `limit` characters as soon
    as that many are read (a file without line ends costs `limit`, not its size)."""
    while True:
        line = text.readline(limit + 1)
        if not line:
            return
        if len(line) > limit:
            raise _TooLong
        yield line


def _csv_rows(src: BinaryIO, d: Dialect) -> Iterator[tuple[int, list[str]]]:
    encoding = "utf-8-sig" if codecs.lookup(d.encoding).name == "utf-8" else d.encoding
    text = io.TextIOWrapper(src, encoding=encoding, errors="surrogateescape", newline="")
    reader = csv.reader(_bounded_lines(text, CSV_LINE_LIMIT), delimiter=d.delimiter,
                        quotechar=d.quotechar, strict=False)
    start = 1
    try:
        for row in reader:
            if len(row) > MAX_COLUMNS:
                raise csv.Error(f"line {start} has {len(row):,} columns; at most {MAX_COLUMNS:,} "
                                "are read")
            yield start, row
            start = reader.line_num + 1
    finally:
        text.detach()


def convert(src: BinaryIO, dst: BinaryIO, dialect: Dialect, *, company: str,
            length_policy: str = "error", max_errors: int = 1000, strict: bool = False,
            hold: Collection[int] = (), held: BinaryIO | None = None) -> ValidationReport:
    """Turn an ERP CSV into the canonical tracciato; discard dst unless report.valid.

    hold: CSV rows (by the line they start on) copied to `held` as CSV rows of the same
    dialect, after the header, instead of being converted (report.held maps each to its
    row in `held`): the second pass of a file whose errors are row errors.
    """
    layout = get_layout(dialect.layout)
    problems = check_dialect(dialect)
    if problems:
        raise ConfigError([f"dialect {dialect.match}: {p}" for p in problems])
    if length_policy not in ("error", "truncate"):
        raise ValueError("length_policy must be 'error' or 'truncate'")
    report = ValidationReport(layout=layout.name, max_errors=max_errors, strict=strict)
    conv = _Converter(dialect, layout, company, length_policy == "truncate")
    seekable = _seekable(src)
    hold = frozenset(hold)
    keys = KeyTracker(size_hint=_size_of(src) if seekable else None)
    key_pos: int | None = None
    names: list[str] = []
    held_out = _HeldCsv(held, dialect) if hold and held is not None else None
    try:
        rows = _csv_rows(src, dialect)
        pending: list[tuple[int, list[str]]] = []
        if dialect.header:
            first = next(rows, None)
            if first is None:
                report.add(0, None, "", N_("the file is empty: the dialect expects a header "
                                           "row"))
                return report
            names = first[1]
            if held_out is not None:
                held_out.header = names
        else:
            first_row = next(rows, None)
            if first_row is None:
                report.add(0, None, "", N_("the file is empty"))
                return report
            names = [str(i + 1) for i in range(len(first_row[1]))]
            pending = [first_row]
        if not conv.setup(names, report):
            return report
        out_names = conv.out_names
        if layout.key in out_names:
            key_pos = out_names.index(layout.key)
        dst.write(BOM)
        if layout.header:
            dst.write(("|".join(out_names) + "\r\n").encode("utf-8"))
        buf: list[str] = []
        for line, row in _chain(pending, rows):
            if not any(c.strip() for c in row):
                continue  # blank CSV lines carry nothing
            if line in hold and held_out is not None:
                report.held[line] = held_out.write(row)
                continue
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
        report.add(0, None, "", N_("the CSV cannot be read: {reason}", reason=str(exc)))
        return report
    except _TooLong:
        report.add(0, None, "", N_("a line goes on past {n:,} characters without a line end: "
                                   "a CSV export line is never that long (are the line ends "
                                   "missing?); the rest of the file was not read",
                                   n=CSV_LINE_LIMIT))
        return report
    finally:
        if held_out is not None:
            held_out.close()
    if keys.needs_confirmation and key_pos is not None:
        if seekable:
            repeats = keys.confirm(_keys_again(src, dialect, conv, key_pos, hold))
        else:
            repeats = keys.unconfirmed()
        for line, key, first_line in repeats:
            if first_line:
                again = N_("{key} {value} repeats the one of CSV line {first}; every row needs "
                           "its own {key}", key=layout.key, value=excerpt(key, 40),
                           first=first_line)
            else:
                again = N_("{key} {value} repeats the one of an earlier row; every row needs "
                           "its own {key}", key=layout.key, value=excerpt(key, 40))
            report.add(line, layout.key, key, again, row=True)
    return report


class _HeldCsv:
    """Held-back CSV rows, written in the dialect they came in (ready to fix and drop again)."""

    def __init__(self, fp: BinaryIO, d: Dialect) -> None:
        encoding = "utf-8-sig" if codecs.lookup(d.encoding).name == "utf-8" else d.encoding
        self.text = io.TextIOWrapper(fp, encoding=encoding, errors="surrogateescape",
                                     newline="")
        self.writer = csv.writer(self.text, delimiter=d.delimiter, quotechar=d.quotechar,
                                 lineterminator="\r\n")
        self.header: list[str] | None = None
        self.rows = 0

    def write(self, row: list[str]) -> int:
        """Write one row; its row number in the held file (the header is row 1)."""
        if self.rows == 0 and self.header is not None:
            self.writer.writerow(self.header)
        self.writer.writerow(row)
        self.rows += 1
        return self.rows + (1 if self.header is not None else 0)

    def close(self) -> None:
        self.text.flush()
        self.text.detach()


def _keys_again(src: BinaryIO, d: Dialect, conv: _Converter, key_pos: int,
                skip: frozenset[int]) -> Iterator[tuple[int, str]]:
    src.seek(0)
    scratch = ValidationReport(layout=None, max_errors=0)
    rows = _csv_rows(src, d)
    if d.header:
        next(rows, None)
    for line, row in rows:
        if not any(c.strip() for c in row) or line in skip:
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


def _size_of(src: BinaryIO) -> int | None:
    try:
        end = src.seek(0, 2)
        src.seek(0)
        return int(end)
    except (OSError, ValueError):
        return None
