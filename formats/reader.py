"""Records out of a tracciato: read_records, for files that are (meant to be) valid.

Every line is checked as it is read; the first line with an error (not a warning: see
formats.validate) raises RecordError naming the line and the field (the legacy importer relies on this for headerless AM_* files).
Values come back exactly as in the file; newlines=True turns § back into a line break
(as AMHelper's importer does) in every field but the key.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable, Iterator
from typing import BinaryIO, TextIO

from connector.errors import FormatError, RecordError
from formats.fieldtypes import SECTION, Field
from formats.layout import Layout
from formats.report import ValidationReport, excerpt
from formats.validate import (
    HARD_LINE_LIMIT,
    LineTooLong,
    _judge_header,
    decode_line,
    iter_raw_lines,
    line_limit,
)


def _lines(fp: BinaryIO | TextIO, max_line: int) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of every line; RecordError for a line beyond max_line."""
    if isinstance(fp, io.TextIOBase):
        def encoded() -> Iterator[tuple[int, bytes]]:
            n = 0
            while True:
                line = fp.readline(max_line + 1)  # bounded: never a whole line-less file
                if not line:
                    return
                n += 1
                if len(line) > max_line:
                    raise LineTooLong(max_line)
                text = line.rstrip("\n")
                if n == 1:
                    text = text.lstrip("\ufeff")
                yield n, text.encode("utf-8", errors="surrogateescape")
        raw = encoded()
    else:
        raw = iter_raw_lines(fp, max_line=max_line)  # type: ignore[arg-type]

    def bounded() -> Iterator[tuple[int, bytes]]:
        n = 0
        try:
            for n, line in raw:
                yield n, line
        except LineTooLong as exc:
            raise RecordError(f"line {n + 1}: goes on past {exc.limit:,} bytes without a line "
                              "end; the file cannot be read", line_no=n + 1) from None
    return bounded()


def _decoder(encoding: str) -> Callable[[bytes], tuple[str, str | None]]:
    if codecs.lookup(encoding).name == "utf-8":
        return decode_line

    def decode(raw: bytes) -> tuple[str, str | None]:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            return "", f"byte 0x{raw[exc.start:exc.start + 1].hex().upper()} is not {encoding}"
        return (text[:-1] if text.endswith("\r") else text), None

    return decode


def read_records(fp: BinaryIO | TextIO, layout: Layout, *, newlines: bool = False,
                 encoding: str = "utf-8") -> Iterator[dict[str, str]]:
    """Yield one dict per line (column -> text); RecordError(line_no, field) on a bad line.

    encoding applies to binary input (e.g. "cp1252" for a legacy file written by an
    ANSI program); a UTF-8 BOM is always skipped.
    """
    decode_line = _decoder(encoding)
    names: list[str]
    fields: list[Field]
    lines = _lines(fp, HARD_LINE_LIMIT if layout.header else line_limit(len(layout.fields)))
    if layout.header:
        first = next(lines, None)
        if first is None:
            raise FormatError(f"{layout.name}: the file is empty (no header row)", line_no=1)
        text, problem = decode_line(first[1])
        if problem:
            raise RecordError(f"line 1: {problem}", line_no=1)
        report = ValidationReport(layout=layout.name, max_errors=1)
        plan = _judge_header(layout, text, report)  # warnings (extra columns) are fine here
        if plan is None or not report.valid:
            v = report.violations[0]
            raise RecordError(f"line 1{', column ' + v.column if v.column else ''}: {v.rule}",
                              line_no=1, field=v.column)
        names, fields = plan.names, plan.fields
    else:
        names, fields = list(layout.field_names), list(layout.fields)
    min_fields = layout.min_fields if (not layout.header and layout.min_fields) else len(fields)
    for n, raw in lines:
        text, problem = decode_line(raw)
        if problem:
            raise RecordError(f"line {n}: {problem}", line_no=n)
        if not text:
            continue  # blank lines carry no record
        parts = text.split("|")
        if not min_fields <= len(parts) <= len(fields):
            raise RecordError(f"line {n}: {len(parts)} fields, {layout.name} has "
                              f"{len(fields)}", line_no=n)
        record: dict[str, str] = {}
        for f, name, value in zip(fields, names, parts, strict=False):
            if not f.is_valid(value):
                finding = f.check(value)  # a warning (longer than documented...) reads as is
                if finding is not None and finding.severity == "error":
                    raise RecordError(f"line {n}, field {name}: {finding.rule} (value "
                                      f"{excerpt(value)!r})", line_no=n, field=name)
            if newlines and name != layout.key and SECTION in value:
                value = value.replace(SECTION, "\n")
            record[name] = value
        yield record
